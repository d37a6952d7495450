"""The review sample and the open of a large file: seconds at 2M rows (CSV and Parquet), medians of 5 runs.

    python bench/bench_review.py        # writes bench/REVIEW.md

The sample is drawn in the engine (DuckDB orders the split's mistakes by the hash of seed and id and keeps the
first n). Read from the file, each sample is a scan of it; the app reads the split's rows once (``split_rows``)
and draws every later sample from them in memory (``review_sample(..., rows=...)``).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import generate  # noqa: E402

from analysis import load_predictions  # noqa: E402
from analysis.review import review_sample, split_rows  # noqa: E402

ROWS = 2_000_000
RUNS = 5


def median_seconds(work) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    lines = [f"# Review sample at {ROWS:,} rows", "", f"Median of {RUNS} runs, seconds, on a machine of 2 cores shared "
             "with other work (noisy). Samples of the dev split (200,000 rows).", "",
             "| file | open (scan + checks) | sample read from the file | split read once | sample from memory | "
             "stratified, from memory | 100 + 50 correct, from memory |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for path in generate(ROWS, quiet=False):
        lines.append(row(path))
        print(lines[-1], flush=True)
    (Path(__file__).with_name("REVIEW.md")).write_text("\n".join(lines) + "\n")


def row(path: Path) -> str:
    """The table's row of one file."""
    preds = load_predictions(path)
    rows = split_rows(preds, "dev")
    cells = [median_seconds(lambda p=path: load_predictions(p)),
             median_seconds(lambda: review_sample(preds, split="dev", n=100)),
             median_seconds(lambda: split_rows(preds, "dev")),
             median_seconds(lambda: review_sample(preds, split="dev", n=100, rows=rows)),
             median_seconds(lambda: review_sample(preds, split="dev", n=100, stratify=True, rows=rows)),
             median_seconds(lambda: review_sample(preds, split="dev", n=100, correct=50, rows=rows))]
    size = f"{path.stat().st_size / 2**20:,.0f} MiB"
    return f"| {path.suffix[1:]} ({size}) | " + " | ".join(f"{c:.2f}" for c in cells) + " |"


if __name__ == "__main__":
    main()
