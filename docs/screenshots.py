"""Take a screenshot of each page of the real app on the demo data, into docs/ (`make screenshots`).

Starts `errorscope demo` on a free port with a fresh tag database, adds two error categories and tags a few
mistakes (through the tag store, as another session would), then visits each page in headless Chromium.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_predictions, review_sample  # noqa: E402
from analysis.demo import demo_config  # noqa: E402
from analysis.label_issues import label_issues  # noqa: E402
from analysis.tags import open_store  # noqa: E402
from tests import many_classes  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Server, click_matrix_cell, go, wait_idle  # noqa: E402

PAGES = [("Overview", "overview"), ("Confusion matrix", "confusion"), ("Review", "review"),
         ("Label issues", "label_issues"), ("Slices", "slices"), ("Tallies", "tallies"), ("Gaps", "gaps"),
         ("Shift", "shift"), ("Data", "data"), ("Compare", "compare"), ("Runs", "runs")]
#: The real runs table the Runs page shows (beside the project; the page is skipped without it).
RUNS = ROOT.parent / "shared" / "benchmarks" / "runs" / "runs.csv"


def seed_tags(db: Path) -> None:
    config = demo_config()
    preds = load_predictions(config["path"])
    dataset = config["dataset"]
    with open_store(db) as store:
        for name in ("thick strokes", "looks like another digit", "faint or broken"):
            store.add_category(dataset, name)
        for split in ("dev", "test"):
            for i, example in enumerate(review_sample(preds, split=split, n=20, seed=0)["id"]):
                cats = {"thick strokes": i % 2 == 0, "looks like another digit": i % 3 == 0,
                        "faint or broken": i % 7 == 0}
                store.edit(dataset, example, categories=cats, mislabeled=i % 5 == 0)
            for _, issue in label_issues(preds, split=split, top=3).issues.iterrows():  # confirmed in the queue
                store.edit(dataset, issue["id"], mislabeled=True, corrected_label=issue["suggested"], reviewed=True)


def main() -> None:
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(["demo"], Path(tmp) / "tags.db", Path(tmp))
        seed_tags(server.db)
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1300})
                for link, name in PAGES:
                    if name == "runs" and not RUNS.is_file():
                        continue
                    go(page, server, link)
                    if name == "compare":  # the examples the second demo model broke
                        page.get_by_role("button", name=re.compile(r"^only A right")).click()
                        page.locator("[data-testid=stImage]").first.wait_for()
                    if name == "runs":
                        shutil.copy(RUNS, Path(tmp) / "runs.csv")
                        page.get_by_label("Path of a runs table").fill("runs.csv")
                        page.get_by_role("button", name="Open").click()
                        page.get_by_label("Thresholds, one per line").fill("time<=15000")
                        page.get_by_text("Optimizing and satisficing").click()
                        page.get_by_text("107 of 289").wait_for()
                    if name == "confusion":  # show the examples of a cell: true 6, predicted 1
                        click_matrix_cell(page, 10, 6, 1)
                        page.locator("[data-testid=stImage]").first.wait_for()
                    shoot(page, out / f"{name}.png")
                    if name == "review":  # and one example at a time, as the keys review it
                        page.get_by_text("One at a time", exact=True).click()
                        page.get_by_text("Example 1 of").wait_for()
                        wait_idle(page)
                        page.get_by_role("button", name="Next").wait_for()
                        page.keyboard.press("j")
                        page.get_by_text("Example 2 of").wait_for()
                        shoot(page, out / "review_one.png")
                news_matrix(page, Path(tmp), out)
                browser.close()
        finally:
            server.stop()


def shoot(page, path: Path) -> None:
    """A screenshot once the page and its charts are drawn."""
    wait_idle(page)
    page.wait_for_load_state("networkidle")
    for chart in page.locator("[data-testid=stPlotlyChart]").all():  # drawn after the script ran
        chart.locator(".main-svg").first.wait_for(state="attached")
    page.screenshot(path=str(path))
    print(f"docs/{path.name}")


def news_matrix(page, tmp: Path, out: Path) -> None:
    """The confusion matrix of a 20 Newsgroups-like file (synthetic predictions), grouped by name prefix."""
    path = many_classes.write(tmp / "newsgroups.csv", many_classes.NEWSGROUPS, 4000)
    server = Server(["app", str(path)], tmp / "news.db", tmp).start()
    try:
        go(page, server, "Confusion matrix")
        page.get_by_test_id("stSelectbox").filter(has_text="Order classes").locator("input").click()
        page.get_by_role("option", name="grouped by name prefix").click()
        wait_idle(page)
        page.get_by_text("Hover a cell").wait_for()
        page.mouse.move(0, 0)
        shoot(page, out / "confusion_20.png")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
