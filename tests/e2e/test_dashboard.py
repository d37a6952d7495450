"""The whole workflow in headless Chromium against a real `errorscope demo` server and its SQLite tag store."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from analysis import confusion_matrix, load_predictions
from analysis.tags import open_store
from tests.conftest import DEMO
from tests.e2e.conftest import (
    GRID,
    Server,
    cell,
    click_matrix_cell,
    editor,
    go,
    header_index,
    open_page,
    poll,
    select,
    tick,
    type_into,
    wait_idle,
)

DATASET = "digits-demo"


def tags_in(db) -> pd.DataFrame:
    """The tags as the database has them, read by a separate connection."""
    with open_store(db) as store:
        return store.tags(DATASET)


def add_category(page, name: str) -> None:
    expander = page.locator("[data-testid=stExpander]").first
    expander.wait_for()
    field = page.get_by_placeholder("e.g. blurry")
    if expander.locator("details[open]").count() == 0:
        expander.locator("summary").click()
    field.fill(name)
    page.get_by_role("button", name="Add", exact=True).click()
    page.locator(GRID).first.locator("[role=columnheader]", has_text=name).wait_for(state="attached")


def test_overview_shows_the_demo_metrics(page, demo_server):
    open_page(page, demo_server.url)
    page.get_by_role("heading", name="Overview").wait_for()
    preds = load_predictions(DEMO / "digits.csv")
    dev = confusion_matrix(preds.counts.where(split="dev")).matrix
    error = 100 * (1 - dev.trace() / dev.sum())
    metrics = page.locator("[data-testid=stMetric]").all_inner_texts()
    dev_metric = next(text for text in metrics if text.startswith("Dev error"))
    assert f"{error:.2f}%" in dev_metric


def test_confusion_matrix_click_through_to_examples(page, demo_server):
    go(page, demo_server, "Confusion matrix")
    preds = load_predictions(DEMO / "digits.csv")
    m = confusion_matrix(preds.counts.where(split="dev")).matrix
    labels, last = preds.classes, len(preds.classes) - 1
    true = next(i for i in range(last) if m[i, last] > 0)
    click_matrix_cell(page, len(labels), true, last)
    page.get_by_role("heading", name=f"True {labels[true]}, predicted {labels[last]}").wait_for()
    images = page.locator("[data-testid=stImage] img")
    poll(lambda: images.count() == m[true, last], what=f"{m[true, last]} example images")
    assert page.get_by_text(f"{m[true, last]} mistake").first.is_visible()


def test_tag_survives_reload_and_restart_and_is_counted(page, browser, tmp_path):
    server = Server(["demo"], tmp_path / "tags.db", tmp_path).start()
    try:
        go(page, server, "Review")
        add_category(page, "blurry")
        grid = editor(page)
        example = cell(grid, 0, 0)
        column = header_index(page, "blurry")
        assert cell(grid, column, 0) == "false"
        tick(page, grid, column, 0)
        poll(lambda: not tags_in(server.db).empty, what="the tag in the database")
        assert tags_in(server.db).set_index("id").loc[example, "blurry"]

        # a note that a spreadsheet would run as a formula, and a corrected label, on the second row
        second = cell(grid, 0, 1)
        type_into(page, grid, header_index(page, "note"), 1, '=HYPERLINK("http://x") smudged')
        poll(lambda: second in set(tags_in(server.db)["id"]), what="the note in the database")
        closer = page.get_by_test_id("stSelectbox").filter(has_text="Look closer at")
        poll(lambda: closer.locator("input").input_value() == second, what="the closer look on the row just edited")
        select(page, grid, header_index(page, "corrected label"), 1)
        page.keyboard.press("Enter")
        page.keyboard.type("7")
        page.keyboard.press("Enter")
        poll(lambda: tags_in(server.db).set_index("id").loc[second, "corrected_label"] == "7",
             what="the corrected label in the database")
        saved = tags_in(server.db).set_index("id").loc[second]
        assert saved["note"] == '=HYPERLINK("http://x") smudged' and saved["reviewed"]
        assert saved["mislabeled"]  # saved with the corrected label, in the same edit

        page.reload()
        grid = editor(page)
        assert cell(grid, 0, 0) == example
        poll(lambda: cell(grid, column, 0) == "true", what="the tick after a reload")
        assert cell(grid, header_index(page, "note"), 1) == '=HYPERLINK("http://x") smudged'

        server.stop()
        server.start()
        go(page, server, "Review")
        grid = editor(page)
        poll(lambda: cell(grid, column, 0) == "true", what="the tick after a restart")

        go(page, server, "Tallies")
        with page.expect_download() as info:
            page.get_by_role("button", name="Tallies (CSV)").click()
        download = info.value
        assert download.suggested_filename == "digits-demo-tallies.csv"
        rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
        dev = {r["category"]: r for r in rows if r["split"] == "dev"}
        assert dev["blurry"]["count"] == "1"
        assert dev["mislabeled"]["count"] == "1"  # the corrected label counts as a label error
        m = confusion_matrix(load_predictions(DEMO / "digits.csv").counts.where(split="dev")).matrix
        assert float(dev["blurry"]["share"]) == pytest.approx(0.5)  # one of the two reviewed mistakes
        assert float(dev["blurry"]["ceiling"]) == pytest.approx((m.sum() - m.trace()) / m.sum() / 2)

        with page.expect_download() as info:
            page.get_by_role("button", name="Tagged sheet (CSV)").click()
        assert info.value.suggested_filename == "digits-demo-sheet.csv"
        sheet = {r["id"]: r for r in csv.DictReader(io.StringIO(info.value.path().read_text(encoding="utf-8")))}
        assert sheet[example]["blurry"] == "1"
        assert sheet[second]["note"] == "'=HYPERLINK(\"http://x\") smudged"  # neutralized: not a formula
        assert sheet[second]["corrected_label"] == "7"

        # a bad upload: the error shows, the open data and the tag stay
        go(page, server, "Data")
        page.get_by_text("Upload", exact=True).click()
        bad = tmp_path / "bad.csv"
        bad.write_text("id,y_true,y_pred\n1,a,a\n1,b,a\n")
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(bad))
        alert = page.locator("[data-testid=stAlertContentError]")
        alert.wait_for()
        assert "duplicate id '1'" in alert.inner_text()
        assert page.get_by_text("The data set that was open stays open").is_visible()
        assert page.locator("[data-testid=stSidebar]").get_by_text(DATASET).is_visible()
        assert tags_in(server.db).set_index("id").loc[example, "blurry"]
    finally:
        server.stop()


def test_the_next_edit_does_not_write_back_earlier_ones(page, tmp_path):
    # Another session of the same user undoes a tick this grid saved; its next save must leave that undo in place.
    server = Server(["demo"], tmp_path / "tags.db", tmp_path).start()
    try:
        go(page, server, "Review")
        add_category(page, "blurry")
        grid = editor(page)
        first, second = cell(grid, 0, 0), cell(grid, 0, 1)
        column = header_index(page, "blurry")
        tick(page, grid, column, 0)
        poll(lambda: first in set(tags_in(server.db)["id"]), what="the first tick in the database")
        with open_store(server.db) as other:  # another session of the same person: one undoes one's own edits
            assert other.undo(DATASET) is not None
        assert first not in set(tags_in(server.db)["id"])

        tick(page, grid, column, 1)
        poll(lambda: second in set(tags_in(server.db)["id"]), what="the second tick in the database")
        saved = tags_in(server.db).set_index("id")
        assert saved.loc[second, "blurry"]
        assert first not in saved.index  # the undone tick was not written back
    finally:
        server.stop()


def test_an_uploaded_file_stays_open_after_a_change_of_page_and_a_reload(page, tmp_path):
    upload = tmp_path / "pets.csv"
    upload.write_text("id,y_true,y_pred\n1,cat,cat\n2,cat,dog\n3,dog,dog\n")
    server = Server(["demo"], tmp_path / "tags.db", tmp_path).start()
    try:
        go(page, server, "Data")
        page.get_by_text("Upload", exact=True).click()
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(upload))
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("pets", exact=True).wait_for()  # named at once, before any change of page
        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Overview", exact=True).click()
        page.get_by_role("heading", name="Overview").first.wait_for()
        poll(lambda: "dataset=pets" in page.url, what="the file in the address after a change of page")
        page.reload()
        wait_idle(page)
        sidebar.get_by_text("pets", exact=True).wait_for()
        assert not sidebar.get_by_text("digits-demo", exact=True).count()
    finally:
        server.stop()
