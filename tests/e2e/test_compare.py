"""The Compare and Runs pages in headless Chromium against a real `errorscope demo` server: the demo model against
the second demo model, a click on "only A right" showing exactly those examples; the real runs table's best run
under a time threshold."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from tests.conftest import DEMO
from tests.e2e.conftest import go, wait_idle
from tests.test_runs import runs_path  # noqa: F401  (the real runs table, or a skip with its reason)


def shot(page, path: Path) -> None:
    """A screenshot of the whole page, to look at (the app scrolls inside its own frame: a tall window shows it;
    `make screenshots` takes docs/compare.png and docs/runs.png)."""
    page.set_viewport_size({"width": 1400, "height": 2600})
    wait_idle(page)
    page.screenshot(path=str(path))


def test_compare_the_demo_models_and_open_only_a_right(page, demo_server, tmp_path):
    read = {"dtype": {"id": str, "y_true": str, "y_pred": str}}
    a, b = pd.read_csv(DEMO / "digits.csv", **read), pd.read_csv(DEMO / "digits_b.csv", **read)
    both = a.merge(b[["id", "y_pred"]], on="id", suffixes=("", "_b"))
    dev = both[both["split"] == "dev"]
    only_a = dev[(dev["y_pred"] == dev["y_true"]) & (dev["y_pred_b"] != dev["y_true"])]["id"].tolist()
    assert only_a, "the demo models should disagree somewhere on dev"

    go(page, demo_server, "Compare")
    button = page.get_by_role("button", name=f"only A right: {len(only_a)}")
    button.wait_for()
    page.get_by_text("McNemar exact p").wait_for()
    button.click()
    page.get_by_role("heading", name=f"Only A right: {len(only_a)} examples").wait_for()
    wait_idle(page)
    for example in only_a:
        page.get_by_text(example, exact=True).first.wait_for()
    row = dev.set_index("id").loc[only_a[0]]
    page.get_by_text(f"A {row['y_pred']}, B {row['y_pred_b']}", exact=False).first.wait_for()
    shot(page, tmp_path / "compare.png")


def test_runs_page_picks_the_best_run_under_a_threshold(page, demo_server, runs_path, tmp_path):  # noqa: F811
    shutil.copy(runs_path, Path(demo_server.cwd) / "runs.csv")  # under the server's data root, its folder
    go(page, demo_server, "Runs")
    page.get_by_label("Path of a runs table").fill("runs.csv")
    page.get_by_role("button", name="Open").click()
    wait_idle(page)
    page.get_by_text("lda-045", exact=True).first.wait_for()  # no threshold yet: the best perplexity overall
    page.get_by_label("Thresholds, one per line").fill("time<=15000")
    page.get_by_text("Optimizing and satisficing").click()  # leaving the box applies it
    page.get_by_text("107 of 289").wait_for()
    page.get_by_test_id("stMetricValue").filter(has_text="lda-187").wait_for()
    page.get_by_text("Next, a finer search").wait_for()
    wait_idle(page)
    shot(page, tmp_path / "runs.png")
