"""The Slices page in headless Chromium: a click on a discovered slice filters Review to that slice's mistakes."""

from __future__ import annotations

from analysis import error_count, load_predictions
from analysis.slices import find_slices
from tests.conftest import DEMO
from tests.e2e.conftest import GRID, ROW_PX, cell, editor, go, header_index, poll, settled_box, wait_idle


def test_a_clicked_slice_filters_review_to_its_mistakes(page, demo_server):
    preds = load_predictions(DEMO / "digits.csv")
    top = find_slices(preds, "dev").slices[0]  # position = off-centre: the demo's planted difficulty
    assert top.label == "position = off-centre"
    go(page, demo_server, "Slices")
    table = page.locator(GRID).first
    table.locator("#glide-cell-1-0").wait_for(state="attached")
    assert cell(table, 1, 0) == top.label
    box = settled_box(table)
    page.mouse.click(box["x"] + 15, box["y"] + ROW_PX + ROW_PX // 2)  # the first row's selection box
    banner = page.get_by_text("Slice: position = off-centre")
    banner.wait_for()
    wait_idle(page)

    page.get_by_role("link", name="Review the mistakes in this slice").click()
    page.get_by_role("heading", name="Review mistakes").wait_for()
    assert banner.is_visible()
    grid = editor(page)
    progress = page.get_by_text(f"Reviewed 0 of {top.errors} sampled examples")
    progress.wait_for()
    column = header_index(page, "position")
    assert [cell(grid, column, row) for row in range(top.errors)] == ["off-centre"] * top.errors
    assert grid.locator(f"#glide-cell-0-{top.errors}").count() == 0  # nothing beyond the slice's mistakes

    page.reload()  # the slice is in the address: a reload keeps it
    progress.wait_for()
    page.get_by_role("button", name="Clear slice").click()
    errors = error_count(preds.counts.where(split="dev"))
    poll(lambda: page.get_by_text(f"Reviewed 0 of {errors} sampled examples").count() > 0,
         what="the whole split's mistakes after clearing the slice")
    assert page.get_by_text("Slice: position = off-centre").count() == 0
