"""The Shift page and the Gaps page's noise warning in headless Chromium against a real `errorscope demo` server:
the numbers shown are those of analysis.shift and analysis.splits on the demo file."""

from __future__ import annotations

from analysis import load_predictions
from analysis.shift import shift
from analysis.splits import split_advice
from tests.conftest import DEMO
from tests.e2e.conftest import go, wait_idle


def test_shift_page_shows_the_demo_data_mismatch(page, demo_server, tmp_path):
    preds = load_predictions(DEMO / "digits.csv")
    expected = shift(preds, a="train_dev", b="dev")
    go(page, demo_server, "Shift")
    page.get_by_text("Train-dev and Dev differ").wait_for(timeout=90_000)  # the domain classifier runs first
    metric = page.get_by_test_id("stMetric").filter(has_text="Domain classifier AUC")
    assert f"{expected.domain.auc:.3f}" in metric.inner_text()
    assert "noise" in page.get_by_text("The classifier relies most on").inner_text()
    page.get_by_role("link", name="Error by slice of stroke").wait_for()  # the category column that differs most
    page.screenshot(path=tmp_path / "shift.png", full_page=True)

    page.get_by_test_id("stSelectbox").filter(has_text="Split A").click()  # dev against test: one distribution
    page.get_by_role("option", name="Dev", exact=True).click()
    wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Split B").click()
    page.get_by_role("option", name="Test", exact=True).click()
    page.get_by_text("No difference found between Dev and Test").wait_for(timeout=90_000)


def test_gaps_page_warns_of_a_gap_within_the_noise_and_links_to_the_shift_check(page, demo_server):
    noisy = split_advice(load_predictions(DEMO / "digits.csv").counts, human=0.01).noisy()
    assert [g.gap for g in noisy] == ["dev_overfitting"]
    go(page, demo_server, "Gaps")
    warning = page.get_by_text("Dev overfitting (", exact=False).first
    warning.wait_for()
    assert "is within the noise" in warning.inner_text()
    assert f"{100 * noisy[0].smallest:.2f} pp" in page.get_by_test_id("stAlert").filter(
        has_text="within the noise").inner_text()
    page.get_by_role("link", name="How dev differs from train-dev").click()
    page.get_by_role("heading", name="Shift").first.wait_for()


def test_shift_page_says_the_slice_is_not_applied(page, demo_server, tmp_path):
    from urllib.parse import quote

    from tests.e2e.conftest import open_page

    chosen = '[{"column":"stroke","op":"=","value":"thick"}]'
    open_page(page, f"{demo_server.url}/shift?slice={quote(chosen)}")
    notice = page.get_by_test_id("stAlert").filter(has_text="is not applied here")
    notice.wait_for(timeout=60_000)
    assert "stroke = thick" in notice.inner_text() and "whole splits" in notice.inner_text()
    page.get_by_text("Train-dev and Dev differ").wait_for(timeout=90_000)  # the checks of the whole splits
    page.screenshot(path=tmp_path / "shift_slice.png", full_page=True)
