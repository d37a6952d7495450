"""The confusion matrix at 20 classes and the one-at-a-time review, in Chromium against a real server."""

from __future__ import annotations

import pytest

from analysis import confusion_matrix, load_predictions
from analysis.review import review_sample
from analysis.tags import open_store
from tests import many_classes
from tests.conftest import DEMO
from tests.e2e.conftest import Server, cell, click_matrix_cell, editor, go, header_index, wait_idle
from tests.e2e.test_dashboard import add_category


@pytest.fixture(scope="module")
def news(browser, tmp_path_factory):
    """The dashboard on a 20 Newsgroups-like file (long class names), with its own tag database."""
    folder = tmp_path_factory.mktemp("news")
    path = many_classes.write(folder / "news.csv", many_classes.NEWSGROUPS, 4000)
    server = Server(["app", str(path)], folder / "tags.db", folder).start()
    yield server, load_predictions(path)
    server.stop()


def test_twenty_classes_fit_the_page_and_a_cell_opens_its_review(page, news):
    server, preds = news
    go(page, server, "Confusion matrix")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    box = chart.bounding_box()
    assert box["x"] + box["width"] <= 1400  # the viewport: every column is on the page
    names = [t.strip() for t in page.locator(".js-plotly-plot .ytick text").all_text_contents()]
    assert names == list(preds.classes)  # every row, each name whole (comp.os.ms-windows.misc is 23 characters)
    m = confusion_matrix(preds.counts.where(split="dev")).matrix
    labels = list(preds.classes)
    true, pred = labels.index("comp.graphics"), labels.index("comp.os.ms-windows.misc")
    click_matrix_cell(page, len(labels), true, pred)
    page.get_by_role("heading", name=f"True {labels[true]}, predicted {labels[pred]}").wait_for()
    page.get_by_role("button", name=f"Review and tag these {int(m[true, pred])} mistakes").click()
    page.get_by_role("heading", name="Review mistakes").wait_for()
    wait_idle(page)
    page.get_by_text(f"Reviewed 0 of {int(m[true, pred])} sampled examples").wait_for()
    grid = editor(page)
    assert (cell(grid, header_index(page, "true"), 0), cell(grid, header_index(page, "predicted"), 0)) == (
        "comp.graphics", "comp.os.ms-windows.misc")


def press(page, key: str) -> None:
    """A key, once the page has run and its shortcut buttons are drawn (a key sent during a run may be lost)."""
    wait_idle(page)
    page.get_by_role("button", name="Next").wait_for()
    page.keyboard.press(key)


def test_ten_examples_reviewed_by_keyboard_alone_are_all_tagged_after_a_reload(page, browser, tmp_path):
    server = Server(["demo"], tmp_path / "tags.db", tmp_path).start()
    try:
        go(page, server, "Review")
        add_category(page, "blurry")
        add_category(page, "thin stroke")
        page.get_by_text("One at a time", exact=True).click()
        page.get_by_text("Example 1 of").wait_for()
        total = int(page.get_by_text("Example 1 of").inner_text().split(" of ")[1].split()[0])
        for n in range(10):  # 2: tick "thin stroke"; J: next; each key once the page shows the step before
            press(page, "2")
            page.get_by_text(f"Reviewed {n + 1} of {total} sampled examples").wait_for()
            press(page, "j")
            page.get_by_text(f"Example {n + 2} of {total}").wait_for()
        press(page, "m")  # the 11th: mislabeled, then undone by U
        page.get_by_text(f"Reviewed 11 of {total}").wait_for()
        press(page, "u")
        page.get_by_text(f"Reviewed 10 of {total}").wait_for()

        page.reload()
        wait_idle(page)
        page.get_by_text(f"Reviewed 10 of {total} sampled examples").wait_for()
        preds = load_predictions(DEMO / "digits.csv")
        first = review_sample(preds, split="dev", n=100)["id"].head(10).tolist()
        with open_store(server.db) as store:
            tags = store.tags("digits-demo").set_index("id")
        assert sorted(tags.index[tags["thin stroke"]]) == sorted(first)
        assert not tags["blurry"].any() and not tags["mislabeled"].any()
        assert tags["reviewed"].sum() == 10
    finally:
        server.stop()


CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_the_pairs_beside_a_ten_class_matrix_show_every_column_at_1400_px(page, browser, tmp_path):
    """CIFAR-10's names: the pairs table beside the matrix needs no sideways scroll (its counts were cut off)."""
    path = many_classes.write(tmp_path / "cifar.csv", CIFAR, 3000)
    server = Server(["app", str(path)], tmp_path / "tags.db", tmp_path).start()
    try:
        go(page, server, "Confusion matrix")
        page.get_by_role("heading", name="Most confused pairs").wait_for()
        scroller = page.locator("[data-testid=stDataFrame] .dvn-scroller").first
        scroller.wait_for()
        assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth"), "the pairs table scrolls sideways"
        box = page.locator("[data-testid=stDataFrame]").first.bounding_box()
        assert box["x"] + box["width"] <= 1400
    finally:
        server.stop()
