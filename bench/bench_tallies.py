"""Benchmark the tallies: 100,000 tagged examples joined with a 100,000-row predictions file.

Run from the project folder::

    python bench/bench_tallies.py [--rows 100000] [--repeats 5]

Writes a synthetic predictions CSV (all rows in ``dev``, 12% mistakes, ten classes) and a temporary tag store
in which every example is reviewed and tagged (five categories, about 10% mislabeled), then prints a markdown
table of medians. The budget is 0.5 s for ``tally()``. The baselines, measured in the same run, are the two
parts no implementation can skip: reading the tags (``TagStore.tags``) and one DuckDB scan of the file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.engine.duckdb import connect  # noqa: E402
from analysis.load import load_predictions  # noqa: E402
from analysis.normalize import literal  # noqa: E402
from analysis.tags import TagStore, open_store  # noqa: E402
from analysis.tallies import tally  # noqa: E402

BUDGET_S = 0.5
DATASET = "bench"
CATEGORIES = ["blurry", "occluded", "wrong_crop", "ambiguous", "rare_class"]


def write_predictions(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 10, rows)
    wrong = rng.random(rows) < 0.12
    y_pred = np.where(wrong, (y_true + rng.integers(1, 10, rows)) % 10, y_true)
    pd.DataFrame({"id": [f"e{i:07d}" for i in range(rows)], "split": "dev", "y_true": y_true,
                  "y_pred": y_pred}).to_csv(path, index=False)


def tag_everything(store: TagStore, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for name in CATEGORIES:
        store.add_category(DATASET, name)
    ticks = rng.random((rows, len(CATEGORIES))) < 0.3
    mislabeled = rng.random(rows) < 0.1
    store.merge(DATASET, ({"id": f"e{i:07d}", "mislabeled": bool(mislabeled[i]),
                           "categories": dict(zip(CATEGORIES, map(bool, ticks[i]), strict=True))}
                          for i in range(rows)))


def median_s(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: file cache, imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="rows of the file, all tagged (default 100000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "predictions.csv"
        write_predictions(path, args.rows)
        preds = load_predictions(path)
        store = open_store(Path(folder) / "tags.db", user="bench", synchronous="NORMAL")
        start = time.perf_counter()
        tag_everything(store, args.rows)
        setup = time.perf_counter() - start
        result = tally(preds, store, DATASET)
        assert result.reviewed_errors == result.errors, "every mistake is tagged"

        def scan() -> None:
            con = connect()
            try:
                con.execute(f"SELECT count(*) FROM read_csv({literal(str(path))})").fetchone()
            finally:
                con.close()

        measured = median_s(lambda: tally(preds, store, DATASET), args.repeats)
        read_tags = median_s(lambda: store.tags(DATASET), args.repeats)
        scan_file = median_s(scan, args.repeats)
        store.close()
    floor = read_tags + scan_file
    print(f"tallies over {args.rows:,} tagged examples and a {args.rows:,}-row CSV "
          f"(median of {args.repeats}; tagging them took {setup:.1f} s)\n")
    print("| operation | median (ms) | vs. baseline |")
    print("| --- | ---: | ---: |")
    print(f"| `tally()` | {measured * 1000:.0f} | {measured / floor:.2f}x |")
    print(f"| baseline: `TagStore.tags()` | {read_tags * 1000:.0f} | |")
    print(f"| baseline: one DuckDB scan of the file | {scan_file * 1000:.0f} | |")
    print(f"| baseline: both | {floor * 1000:.0f} | 1.00x |")
    verdict = "within" if measured < BUDGET_S else "OVER"
    print(f"\n`tally()`: {measured:.3f} s, {verdict} the {BUDGET_S} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
