"""Benchmark the summary of a multi-task file against a single-task summary of as many rows.

Run from the project folder (not part of ``make test``)::

    python bench/bench_tasks.py [--rows 1000000] [--tasks 12] [--runs 5]

Two synthetic Parquet files of ``--rows`` rows (cached in bench/data/): a wide file of ``--tasks`` binary tasks
(``T``, ``p_T`` per task, a fifth of the labels blank, four splits) and a single-task file (``y_true``, ``p_1``,
``p_0``, the same splits). Whole processes, alternating, median of ``--runs`` after one warm-up:

- ``single``: ``errorscope summary SINGLE --json``;
- ``tasks``: ``errorscope summary WIDE --json`` (per task: count table, splits, gaps, AUROC, average precision,
  log loss; the masked loss J; macro and micro);
- ``one task``: ``errorscope summary WIDE --task T0 --json``.

In process, the parts of ``tasks``: ``load_tasks`` (one scan and its checks per task) and the masked scores (one
grouped query per task). Writes bench/TASKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
ERRORSCOPE = Path(sys.executable).parent / "errorscope"
SPLITS = np.array(["train", "train_dev", "dev", "test"])


def _task(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels (NaN for a fifth, missing) and a probability of 1 that agrees with them about 90% of the time."""
    y = (rng.random(n) < 0.2).astype(float)
    p = np.clip(np.where(y == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)), 0, 1)
    y[rng.random(n) < 0.2] = np.nan
    return y, p


def make_files(rows: int, tasks: int) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    wide, single = DATA / f"tasks_{rows}x{tasks}.parquet", DATA / f"single_{rows}.parquet"
    rng = np.random.default_rng(0)
    base = {"id": np.arange(rows), "split": SPLITS[rng.integers(0, 4, rows)]}
    if not wide.exists():
        cols = dict(base)
        for t in range(tasks):
            y, cols[f"p_T{t}"] = _task(rng, rows)
            cols[f"T{t}"] = pa.array(y, from_pandas=True)  # NaN written as null: a blank label
        pq.write_table(pa.table(cols), wide)
    if not single.exists():
        y, p = _task(rng, rows)
        pq.write_table(pa.table({**base, "y_true": pa.array(y, from_pandas=True), "p_1": p, "p_0": 1 - p}), single)
    return wide, single


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def in_process(wide: Path, runs: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from analysis.masked import task_scores
    from analysis.tasks import load_tasks

    load, scores = [], []
    for _ in range(runs):
        start = time.perf_counter()
        tasks = load_tasks(wide)
        load.append(time.perf_counter() - start)
        start = time.perf_counter()
        for preds in tasks.tasks.values():
            task_scores(preds)
        scores.append(time.perf_counter() - start)
    return {"load_tasks": statistics.median(load), "masked scores": statistics.median(scores)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    wide, single = make_files(args.rows, args.tasks)
    contenders = {"single": [str(ERRORSCOPE), "summary", str(single), "--json"],
                  "tasks": [str(ERRORSCOPE), "summary", str(wide), "--json"],
                  "one task": [str(ERRORSCOPE), "summary", str(wide), "--task", "T0", "--json"]}
    for cmd in contenders.values():
        timed(cmd)  # warm-up: the file in the page cache
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.runs):
        for name, cmd in contenders.items():
            times[name].append(timed(cmd))
    medians = {name: statistics.median(t) for name, t in times.items()}
    parts = in_process(wide, args.runs)
    base = medians["single"]
    lines = ["# Multi-task summary benchmark", "",
             f"`python bench/bench_tasks.py --rows {args.rows} --tasks {args.tasks} --runs {args.runs}`: synthetic "
             f"Parquet files of {args.rows:,} rows; the wide one has {args.tasks} binary tasks with a fifth of the "
             "labels blank. Whole processes, alternating, median of the runs after one warm-up (2 cores shared "
             "with other work: noisy).", "",
             "| contender | median (s) | runs (s) | vs single |", "| --- | ---: | --- | ---: |"]
    for name, t in times.items():
        lines.append(f"| {name} | {medians[name]:.2f} | {', '.join(f'{v:.2f}' for v in t)} | "
                     f"{medians[name] / base:.2f}x |")
    lines += ["", "In process (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()) + ".", "",
              f"Target: the {args.tasks}-task summary in at most 3x the single-task one: "
              f"{'met' if medians['tasks'] <= 3 * base else 'missed'} ({medians['tasks'] / base:.2f}x)."]
    (BENCH / "TASKS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
