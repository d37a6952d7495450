"""Benchmark the summary of a multi-task file against a single-task summary of as many rows.

Run from the project folder (not part of ``make test``)::

    python bench/bench_tasks.py [--rows 1000000] [--tasks 12] [--runs 3]

Two synthetic files of ``--rows`` rows (cached in bench/data/), each as Parquet and as CSV: a wide file of
``--tasks`` binary tasks (``T``, ``p_T`` per task, a fifth of the labels blank, four splits) and a single-task
file (``y_true``, ``p_1``, ``p_0``, the same splits). Whole processes, alternating, median of ``--runs`` after one
warm-up, wall-clock time and CPU time (user + sys, which other work on the machine disturbs less):

- ``single``: ``errorscope summary SINGLE --json``;
- ``tasks``: ``errorscope summary WIDE --json`` (per task: count table, splits, gaps, AUROC, average precision,
  log loss; the masked loss J; macro and micro);
- ``one task``: ``errorscope summary WIDE --task T0 --json`` (Parquet only).

In process (Parquet), the parts of ``tasks``: ``load_tasks`` (one read of each task's label and probability,
counted, checked and scored from the arrays: analysis/wide.py) and ``summarize_tasks`` (the summaries from the
count tables). Writes bench/TASKS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
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
    for path in (wide, single):  # the same rows as CSV (blank labels as empty cells)
        if not path.with_suffix(".csv").exists():
            pcsv.write_csv(pq.read_table(path), path.with_suffix(".csv"))
    return wide, single


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU time (user + sys) of a whole process."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def in_process(wide: Path, runs: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from analysis.masked import summarize_tasks
    from analysis.tasks import load_tasks

    load, summary = [], []
    for _ in range(runs):
        start = time.perf_counter()
        tasks = load_tasks(wide)
        load.append(time.perf_counter() - start)
        start = time.perf_counter()
        summarize_tasks(tasks)
        summary.append(time.perf_counter() - start)
    return {"load_tasks": statistics.median(load), "summarize_tasks": statistics.median(summary)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    wide, single = make_files(args.rows, args.tasks)
    summary = [str(ERRORSCOPE), "summary"]
    contenders = {"single": [*summary, str(single), "--json"], "tasks": [*summary, str(wide), "--json"],
                  "one task": [*summary, str(wide), "--task", "T0", "--json"],
                  "single CSV": [*summary, str(single.with_suffix(".csv")), "--json"],
                  "tasks CSV": [*summary, str(wide.with_suffix(".csv")), "--json"]}
    for cmd in contenders.values():
        timed(cmd)  # warm-up: the file in the page cache
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    load = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, cmd in contenders.items():
            times[name].append(timed(cmd))
    load = max(load, os.getloadavg()[0])
    wall = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
    cpu = {name: statistics.median(c for _, c in t) for name, t in times.items()}
    parts = in_process(wide, args.runs)
    lines = ["# Multi-task summary benchmark", "",
             f"`python bench/bench_tasks.py --rows {args.rows} --tasks {args.tasks} --runs {args.runs}`: synthetic "
             f"files of {args.rows:,} rows, Parquet and CSV; the wide one has {args.tasks} binary tasks with a fifth "
             "of the labels blank. Whole processes, alternating, median of the runs after one warm-up; CPU is "
             f"user + sys. {os.cpu_count()} cores, load average up to {load:.1f} during the runs.", "",
             "| contender | median (s) | runs (s) | vs single | CPU median (s) | CPU vs single |",
             "| --- | ---: | --- | ---: | ---: | ---: |"]
    for name, t in times.items():
        base = "single CSV" if name.endswith("CSV") else "single"
        lines.append(f"| {name} | {wall[name]:.2f} | {', '.join(f'{w:.2f}' for w, _ in t)} | "
                     f"{wall[name] / wall[base]:.2f}x | {cpu[name]:.2f} | {cpu[name] / cpu[base]:.2f}x |")
    ratio = wall["tasks"] / wall["single"]
    lines += ["", "In process, Parquet (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()) + ".", "",
              f"Target: the {args.tasks}-task summary in at most 3x the single-task one (Parquet): "
              f"{'met' if ratio <= 3 else 'missed'} ({ratio:.2f}x wall-clock, "
              f"{cpu['tasks'] / cpu['single']:.2f}x CPU); CSV: {wall['tasks CSV'] / wall['single CSV']:.2f}x."]
    (BENCH / "TASKS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
