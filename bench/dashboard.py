"""Dashboard benchmark: a real `errorscope app` on a large Parquet file, driven by headless Chromium.

Measures, and writes to bench/DASHBOARD.md:
- page open to confusion matrix visible, the first time (a new server and a new browser, median of ROUNDS
  rounds) and once cached (median of the later opens in new tabs of the same browser, OPENS per round);
- the server's peak memory: the peaks (VmHWM) of `errorscope app` and the Streamlit server it starts, summed
  (an upper bound: the two peaks need not coincide);
- the review page: the server-side time of the rerun after a tag edit (the page's own timing, "Page ran in N ms",
  read from the sidebar), median over several edits.

Usage: python bench/dashboard.py [FILE] (default bench/data/preds_10M.parquet, made by bench/run.py).
"""

from __future__ import annotations

import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))

from run import read_through  # noqa: E402

from analysis.normalize import literal  # noqa: E402
from analysis.tags import open_store  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, Server, editor, header_index, tick  # noqa: E402

ROUNDS = 3
OPENS = 3
EDITS = 7


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of the process tree under ``pid`` (the CLI and the Streamlit server it starts)."""
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]
    total = 0
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        total += int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return total / 1024


def open_confusion(page, url: str) -> float:
    """Seconds from navigation to the matrix's first cell on screen."""
    start = time.perf_counter()
    page.goto(f"{url}/confusion")
    page.locator("[data-testid=stDataFrame]").first.locator("#glide-cell-1-0").wait_for(state="attached",
                                                                                     timeout=120_000)
    return time.perf_counter() - start


def server_ms(page) -> float:
    text = page.locator("[data-testid=stSidebar]").get_by_text(re.compile(r"Page ran in \d+ ms")).inner_text()
    return float(re.search(r"(\d+) ms", text).group(1))


def one_round(p, path: Path, tmp: Path, *, review: bool) -> dict:
    """A fresh server and a fresh browser: the first open, OPENS cached opens, and (with ``review``) tag edits."""
    read_through(path)
    db = tmp / "tags.db"
    db.unlink(missing_ok=True)
    with open_store(db) as store:
        store.add_category(path.stem, "blurry")
    server = Server(["app", str(path), "--dataset", path.stem], db, tmp).start()
    out: dict = {}
    try:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # the first open: a cold server and a browser that has never seen the app
        context = browser.new_context()
        out["first"] = open_confusion(context.new_page(), server.url)
        # later opens: the server's caches and the browser's HTTP cache are warm, as when a user comes back to
        # the dashboard; each open is a new tab, so a new Streamlit session
        out["cached"] = [open_confusion(context.new_page(), server.url) for _ in range(OPENS)]
        context.close()
        if review:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            start = time.perf_counter()
            page.goto(f"{server.url}/review")
            grid = editor(page)
            page.wait_for_selector(IDLE)
            out["review_open"] = time.perf_counter() - start
            column = header_index(page, "blurry")
            out["edits"] = []
            for row in range(EDITS):
                tick(page, grid, column, row)
                page.get_by_text(f"Reviewed {row + 1} of").wait_for(timeout=60_000)
                page.wait_for_selector(IDLE)
                out["edits"].append(server_ms(page))
        browser.close()
        out["rss"] = peak_rss_mib(server.proc.pid)
    finally:
        server.stop()
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    path = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "bench" / "data" / "preds_10M.parquet").resolve()
    rows_in_file = duckdb.sql(f"SELECT count(*) FROM {literal(str(path))}").fetchall()[0][0]  # Parquet: metadata
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        rounds = [one_round(p, path, Path(tmp), review=r == ROUNDS - 1) for r in range(ROUNDS)]
    firsts = [r["first"] for r in rounds]
    cached = [t for r in rounds for t in r["cached"]]
    rss = max(r["rss"] for r in rounds)
    edits, review_open = rounds[-1]["edits"], rounds[-1]["review_open"]
    first, cached_median = statistics.median(firsts), statistics.median(cached)

    rows = [
        (f"open to confusion matrix, first time (median of {ROUNDS})", f"{first:.2f} s", "<= 4 s", first <= 4),
        (f"open to confusion matrix, cached (median of {len(cached)})", f"{cached_median:.2f} s", "<= 1.5 s",
         cached_median <= 1.5),
        ("server peak RSS", f"{rss:,.0f} MiB", "<= 1,536 MiB", rss <= 1536),
        (f"review: server time of a tag edit's rerun (median of {EDITS})", f"{statistics.median(edits):.0f} ms",
         "<= 300 ms", statistics.median(edits) <= 300),
        ("review page open, first time (sample drawn)", f"{review_open:.2f} s", "", None),
    ]
    lines = [
        "# Dashboard benchmark", "",
        f"Measured {date.today()} with `python bench/dashboard.py` on `{path.name}` ({rows_in_file:,} rows, "
        f"{path.stat().st_size / 2**20:,.0f} MiB), headless Chromium against a real `errorscope app` server.", "",
        f"Machine: {platform.machine()}, {__import__('os').cpu_count()} cores; Python {platform.python_version()}.", "",
        "| what | measured | target | result |", "| --- | ---: | --- | --- |",
    ]
    for what, value, target, ok in rows:
        lines.append(f"| {what} | {value} | {target} | {'' if ok is None else 'PASS' if ok else 'MISS'} |")
    lines += ["", f"Each round starts a new server and a new browser. First opens: "
              f"{', '.join(f'{t:.2f}' for t in firsts)} s. Cached opens: {', '.join(f'{t:.2f}' for t in cached)} s. "
              f"Edit reruns: {', '.join(f'{t:.0f}' for t in edits)} ms (the page's own timing, shown in the sidebar).",
              "", "The server never holds the file's rows: the review page reads only its sample (a DuckDB query "
              "over the split's mistakes, ordered by a hash of the id, with a LIMIT) and a confusion cell's examples "
              "come a page at a time (LIMIT/OFFSET), hence the peak memory above."]
    out = ROOT / "bench" / "DASHBOARD.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
