"""The label-issue queue in headless Chromium against a real `errorscope demo` server and its SQLite tag store:
a suggested label confirmed by its key survives a reload and shows in Review, in Tallies and in the corrected
metrics."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sklearn.metrics import accuracy_score

from analysis import load_predictions
from analysis.label_issues import label_issues
from tests.conftest import DEMO
from tests.e2e.conftest import cell, editor, go, poll, wait_idle
from tests.e2e.test_dashboard import tags_in


def press_until(page, key: str, done) -> None:
    """Press a button's shortcut key until ``done()``: a key pressed while the page still renders is lost, and
    nothing was saved then (checked before each new press)."""
    for _ in range(3):
        page.keyboard.press(key)
        try:
            poll(done, timeout=6, what=f"the effect of the key {key!r}")
            return
        except AssertionError:
            continue
    raise AssertionError(f"the key {key!r} had no effect")


@pytest.fixture(scope="module")
def queue():
    preds = load_predictions(DEMO / "digits.csv")
    return preds, label_issues(preds, split="dev", top=200, include_correct=False).issues


def test_confirm_by_key_then_review_tallies_and_corrected_metrics(page, demo_server, queue):
    preds, issues = queue
    first, second = issues.iloc[0], issues.iloc[1]
    go(page, demo_server, "Label issues")
    page.get_by_text(f"id {first['id']}", exact=False).first.wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Mislabeled").wait_for()
    press_until(page, "m", lambda: first["id"] in set(tags_in(demo_server.db)["id"]))  # "Mislabeled"
    saved = tags_in(demo_server.db).set_index("id").loc[first["id"]]
    assert saved["mislabeled"] and saved["reviewed"] and saved["corrected_label"] == first["suggested"]

    page.reload()
    wait_idle(page)
    page.get_by_text(f"id {second['id']}", exact=False).first.wait_for()  # the queue moved on to the next
    assert page.get_by_text(re.compile(rf"id {re.escape(first['id'])}(\s|$)")).count() == 0

    go(page, demo_server, "Review")
    wait_idle(page)
    page.locator("[data-testid=stSelectbox]").filter(has_text="Tagged with").locator("input").click()
    page.keyboard.type("mislabeled")  # the box filters its options as one types
    page.keyboard.press("Enter")
    wait_idle(page)
    grid = editor(page)
    poll(lambda: cell(grid, 0, 0) == first["id"], what="the confirmed example in the review grid")

    go(page, demo_server, "Tallies")
    with page.expect_download() as info:
        page.get_by_role("button", name="Tallies (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text(encoding="utf-8"))))
    dev = {r["category"]: r for r in rows if r["split"] == "dev"}
    assert dev["mislabeled"]["count"] == "1"

    go(page, demo_server, "Overview")
    page.get_by_role("heading", name="With the confirmed label fixes").wait_for()
    rows = preds.query("SELECT id, y_true, y_pred FROM preds WHERE split = 'dev' AND y_true IS NOT NULL")
    fixed = rows["y_true"].where(rows["id"] != first["id"], first["suggested"])
    expected = 100 * accuracy_score(fixed, rows["y_pred"])
    table = page.locator("[data-testid=stDataFrame]").nth(1)
    table.locator("#glide-cell-0-0").wait_for(state="attached")
    headers = [h.strip() for h in table.locator("[role=columnheader]").all_inner_texts()]
    column = headers.index("accuracy, fixed (%)")
    dev_row = [cell(table, 0, r) for r in range(4)].index("Dev")
    assert float(cell(table, column, dev_row)) == pytest.approx(expected, abs=0.005)
