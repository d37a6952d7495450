"""The review sample and the open of a large file: seconds at 2M rows (CSV and Parquet), medians of 5 runs.

    python bench/bench_review.py        # writes bench/REVIEW.md (about 2-3 minutes)

A sample of mistakes reads the view ``mistakes``: on a CSV, the rows the open's scan kept (so the open is timed
with and without keeping them, alternately); on Parquet, a read filtered on the label columns. "First" is the
first sample after a fresh open; "later", another seed's; the app keeps the split's mistakes (``split_mistakes``)
for the samples after the first. With correct predictions mixed in, the split's rows are
read once (``split_rows``) and the later samples drawn from them in memory. CPU time (user + sys of every thread)
is given beside the wall-clock time: a loaded machine disturbs it less.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import generate  # noqa: E402

from analysis import load_predictions  # noqa: E402
from analysis.review import review_sample, split_mistakes, split_rows  # noqa: E402

ROWS = 2_000_000
RUNS = 5


def timed(work, *args, **kwargs) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu


def mixed_first(preds, seed: int, holder: dict) -> None:
    """The first sample with correct predictions: the split's rows read, then drawn from."""
    holder["rows"] = split_rows(preds, "dev")
    review_sample(preds, split="dev", n=100, correct=50, seed=seed, rows=holder["rows"])


def median(pairs: list[tuple[float, float]]) -> str:
    return f"{statistics.median(p[0] for p in pairs):.2f} ({statistics.median(p[1] for p in pairs):.2f})"


def opened(path: Path, keep: bool):
    return load_predictions(path, keep_mistakes=keep)


def row(path: Path) -> str:
    """The table's row of one file."""
    plain, keeping, first, later, kept_later, stratified, mixed, mixed_later = ([] for _ in range(8))
    for run in range(RUNS):
        plain.append(timed(opened, path, keep=False))
        keeping.append(timed(opened, path, keep=True))
        preds = opened(path, keep=True)
        first.append(timed(review_sample, preds, split="dev", n=100, seed=run))
        later.append(timed(review_sample, preds, split="dev", n=100, seed=run + 100))
        mistakes = split_mistakes(preds, "dev")  # kept by the app: the next samples read nothing
        kept_later.append(timed(review_sample, preds, split="dev", n=100, seed=run + 200, rows=mistakes))
        stratified.append(timed(review_sample, preds, split="dev", n=100, seed=run, stratify=True))
        holder: dict = {}
        mixed.append(timed(mixed_first, preds, run, holder))
        mixed_later.append(timed(review_sample, preds, split="dev", n=100, correct=50, seed=run + 100,
                                 rows=holder["rows"]))
    kept = opened(path, keep=True).mistakes
    size = f"{path.stat().st_size / 2**20:,.0f} MiB"
    kept_text = f"{kept.num_rows:,} rows, {kept.nbytes / 2**20:.0f} MiB" if kept is not None else "none"
    cells = [median(plain), median(keeping), kept_text, median(first), median(later), median(kept_later),
             median(stratified),
             median(mixed), median(mixed_later)]
    return f"| {path.suffix[1:]} ({size}) | " + " | ".join(cells) + " |"


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"# Review sample at {ROWS:,} rows", "",
             f"Median of {RUNS} runs, seconds of wall-clock time (CPU time in brackets), machine of {os.cpu_count()} "
             f"cores, load average {load:.1f} at the start. Samples of 100 mistakes of the dev split (200,000 rows, "
             "about 24,000 mistakes). The open is timed without and with keeping the mistakes' rows, alternately "
             "(only a CSV keeps them; on Parquet both columns time the same open).", "",
             "| file | open | open, keeping the mistakes | kept | first sample | later sample | later, from the "
             "split's mistakes in memory (the app) | stratified | 100 + 50 correct, first (reads the split) | "
             "100 + 50 correct, later |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for path in generate(ROWS, quiet=False):
        lines.append(row(path))
        print(lines[-1], flush=True)
    (Path(__file__).with_name("REVIEW.md")).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
