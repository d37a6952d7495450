"""Browser tests: a real `errorscope` server on a free port, driven by Playwright in Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
GRID = "[data-testid=stDataFrame]"
#: Height of a grid row in the app (app.widgets.ROW_PX; tests/test_app.py checks they agree).
ROW_PX = 35


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _need_browser() -> None:
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = "Chromium is not installed (apt-get install -y chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[test]')"
    if problem:
        if os.environ.get("ERRORSCOPE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required but {problem}")
        pytest.skip(problem)


def poll(condition, *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Call ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An `errorscope` dashboard process; `start()` again after `stop()` is a restart on the same database."""

    def __init__(self, args: list[str], db: Path, cwd: Path):
        self.args, self.db, self.cwd = args, db, cwd
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> Server:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "ERRORSCOPE_DB": str(self.db)}
        self.log = open(self.cwd / f"server-{port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "analysis.cli", *self.args, "--port", str(port)],
                                     cwd=self.cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {(self.cwd / self.log.name).read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        try:
            poll(healthy, timeout=60, interval=0.2, what="the server's health check")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo_server(browser, tmp_path_factory):
    """The dashboard on the demo data, with its own empty tag database."""
    folder = tmp_path_factory.mktemp("demo-server")
    server = Server(["demo"], folder / "tags.db", folder).start()
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


def open_page(page, url: str) -> None:
    """Go to ``url`` and wait until the script has run."""
    page.goto(url)
    wait_idle(page)


def wait_idle(page) -> None:
    page.wait_for_selector(IDLE, timeout=30_000)


# --- driving the pages, as a user does (the grids are canvases: cells are reached by position and keys) ---


#: Each page's heading, where it is not the name of its link.
HEADINGS = {"Review": "Review mistakes", "Gaps": "Bias and variance", "Label issues": "Likely label errors"}


def go(page, server, name: str) -> None:
    """Open a page from the sidebar, as a user does."""
    open_page(page, server.url)
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=HEADINGS.get(name, name)).first.wait_for()


def editor(page):
    grid = page.locator(GRID).first
    grid.wait_for()
    grid.locator("#glide-cell-0-0").wait_for(state="attached")
    return grid


def cell(grid, column: int, row: int) -> str:
    return grid.locator(f"#glide-cell-{column}-{row}").inner_text()


def header_index(page, name: str) -> int:
    """Position of a column in the review grid (the hidden accessible table has the header names)."""
    names = page.locator(GRID).first.locator("[role=columnheader]").all_inner_texts()
    return [n.strip() for n in names].index(name)


def settled_box(locator) -> dict:
    """The element's box once it has stopped moving (an expander closing above it shifts it)."""
    last = None

    def still() -> dict | None:
        nonlocal last
        box = locator.bounding_box()
        steady = box is not None and box == last
        last = box
        return box if steady else None

    return poll(still, timeout=10, interval=0.2, what="the element to stop moving")


def select(page, grid, column: int, row: int) -> None:
    """Select a cell: click the first cell of ``row`` (the grid is a canvas), then move right to ``column``,
    one key at a time, each once the grid shows the selection it led to (a key sent before may be lost)."""
    wait_idle(page)
    box = settled_box(grid)
    page.mouse.click(box["x"] + 20, box["y"] + ROW_PX * (row + 1) + ROW_PX // 2)
    selected(grid, 0, row)
    for col in range(1, column + 1):
        page.keyboard.press("ArrowRight")
        selected(grid, col, row)


def selected(grid, column: int, row: int) -> None:
    grid.locator(f"#glide-cell-{column}-{row}[aria-selected=true]").wait_for(state="attached", timeout=10_000)


def tick(page, grid, column: int, row: int) -> None:
    select(page, grid, column, row)
    page.keyboard.press("Space")


def type_into(page, grid, column: int, row: int, text: str) -> None:
    """Open a text cell's editor, type, and commit with Enter."""
    select(page, grid, column, row)
    page.keyboard.press("Enter")
    page.locator("textarea").first.fill(text)
    page.keyboard.press("Enter")


def click_matrix_cell(page, k: int, true: int, pred: int) -> None:
    """Click the cell (row ``true``, column ``pred``) of the confusion page's k x k heatmap, at its centre."""
    area = page.locator(".js-plotly-plot .nsewdrag").first
    area.wait_for()
    box = settled_box(area)
    page.mouse.move(box["x"] + (pred + 0.5) * box["width"] / k, box["y"] + (true + 0.5) * box["height"] / k)
    page.mouse.down()
    page.mouse.up()
