"""Benchmark the ranking of likely label errors: precision against the crowd, and speed on 10M rows.

Run from the project folder (not part of ``make test``)::

    python bench/bench_label_issues.py [--runs 11] [--big bench/data/preds_10M.parquet] [--skip-speed]

Precision: on the MNIST and IMDB test sets of Northcutt et al. (2021), with their crowd verdicts
(``../shared/benchmarks/label-errors/``), how many of the top 20 and top 100 of each method have the verdict
``label_error``. cleanlab's own self-confidence ranking (``get_label_quality_scores``) is the reference row. Only
the examples cleanlab flagged in 2021 were shown to the crowd, so this measures precision, not recall.

Speed: whole processes, alternating, median of ``--runs``: ``errorscope label-issues FILE --split dev --top 1000
--json`` against ``errorscope summary FILE --json``, wall time, CPU time (user + system, which other load on the
machine disturbs less) and peak RSS from ``/usr/bin/time -v``; beside them, cleanlab's
``find_label_issues`` and ``get_label_quality_scores`` on the first million dev rows of the same file, arrays in
memory (the loading is not timed).

Writes bench/LABEL_ISSUES.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LABEL_ERRORS = ROOT.parent / "shared" / "benchmarks" / "label-errors"
CUTS = (20, 100)
DATASETS = ("mnist", "imdb")
ERRORSCOPE = Path(sys.executable).parent / "errorscope"


def precision(dataset: str) -> dict[str, dict[int, int]]:
    """Crowd-confirmed label errors in the top 20 and top 100 of each method, and of cleanlab's reference."""
    from cleanlab.rank import get_label_quality_scores

    from analysis.label_issues import METHODS, label_issues
    from analysis.load import load_predictions

    path = LABEL_ERRORS / f"{dataset}_test_predictions.csv"
    crowd = pd.read_csv(LABEL_ERRORS / f"{dataset}_mturk.csv", dtype={"id": str})
    confirmed = set(crowd.loc[crowd["verdict"] == "label_error", "id"])
    preds = load_predictions(path)
    out = {}
    for method in METHODS:
        ids = label_issues(preds, method=method, top=max(CUTS)).issues["id"].tolist()
        out[method] = {cut: len(confirmed & set(ids[:cut])) for cut in CUTS}
    frame = pd.read_csv(path, dtype={"id": str, "y_true": str})
    columns = [c for c in frame.columns if c.startswith("p_")]
    index = {c[2:]: i for i, c in enumerate(columns)}
    scores = get_label_quality_scores(frame["y_true"].map(index).to_numpy(),
                                      np.clip(frame[columns].to_numpy(float), 0, 1))
    order = frame["id"].to_numpy()[np.argsort(scores, kind="stable")]
    out["cleanlab self_confidence (reference)"] = {cut: len(confirmed & set(order[:cut])) for cut in CUTS}
    return out


def _timed(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", proc.stderr).group(1))
              for kind in ("User", "System"))
    return wall, cpu, rss


def speed(big: Path, runs: int) -> dict[str, tuple[float, float, float]]:
    """Median wall and CPU time and largest peak RSS of each command, run alternately after one warm-up each."""
    commands = {"summary": [str(ERRORSCOPE), "summary", str(big), "--json"],
                "label-issues": [str(ERRORSCOPE), "label-issues", str(big), "--split", "dev", "--top", "1000",
                                 "--json"]}
    for cmd in commands.values():
        _timed(cmd)
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(_timed(cmd))
    return {name: (statistics.median(t for t, _, _ in got), statistics.median(c for _, c, _ in got),
                   max(r for _, _, r in got)) for name, got in times.items()}


def cleanlab_speed(big: Path, rows: int = 1_000_000) -> tuple[int, float]:
    """cleanlab's seconds for flags plus scores on the first ``rows`` dev rows of the file, arrays in memory."""
    import duckdb
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    con = duckdb.connect()
    columns = [f"p_{c}" for c in range(10)]
    frame = con.execute(f"SELECT y_true, {', '.join(columns)} FROM read_parquet('{big}') WHERE split = 'dev' "
                        f"LIMIT {rows}").df()
    labels = frame["y_true"].astype(int).to_numpy()
    probs = np.ascontiguousarray(np.clip(frame[columns].to_numpy(float), 0, 1))
    start = time.perf_counter()
    find_label_issues(labels, probs)
    get_label_quality_scores(labels, probs)
    return len(labels), time.perf_counter() - start


def report(table: dict[str, dict[str, dict[int, int]]], fast: dict | None, clean: tuple[int, float] | None) -> str:
    lines = ["# Likely label errors: benchmark", "",
             "Crowd-confirmed label errors (verdict `label_error`) among the top 20 and top 100 of each ranking, "
             "on the test sets of Northcutt et al. (2021); `bench/bench_label_issues.py` writes this file.", "",
             "| method | MNIST top 20 | MNIST top 100 | IMDB top 20 | IMDB top 100 |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for method in table["mnist"]:
        cells = [str(table[d][method][c]) for d in DATASETS for c in CUTS]
        lines.append(f"| {method} | {' | '.join(cells)} |")
    if fast:
        (s_time, s_cpu, s_rss), (l_time, l_cpu, l_rss) = fast["summary"], fast["label-issues"]
        lines += ["", "| command (10M-row Parquet, whole process) | median time | median CPU time | peak RSS |",
                  "| --- | ---: | ---: | ---: |",
                  f"| `errorscope summary --json` | {s_time:.2f} s | {s_cpu:.2f} s | {s_rss:,.0f} MiB |",
                  f"| `errorscope label-issues --split dev --top 1000 --json` | {l_time:.2f} s | {l_cpu:.2f} s | "
                  f"{l_rss:,.0f} MiB |",
                  "", f"label-issues / summary: {l_time / s_time:.2f}x in time, {l_cpu / s_cpu:.2f}x in CPU time "
                  f"(target: 1.5x, peak RSS at most 1 GiB); {os.cpu_count()} cores, load average "
                  f"{os.getloadavg()[0]:.1f} at the end."]
    if clean:
        lines += ["", f"cleanlab `find_label_issues` + `get_label_quality_scores` on {clean[0]:,} dev rows "
                  f"(arrays already in memory): {clean[1]:.2f} s."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)  # the ratio moves by 0.05 between runs of 5 here
    parser.add_argument("--big", type=Path, default=BENCH / "data" / "preds_10M.parquet")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    table = {d: precision(d) for d in DATASETS}
    fast = clean = None
    if not args.skip_speed:
        fast = speed(args.big, args.runs)
        clean = cleanlab_speed(args.big)
    text = report(table, fast, clean)
    (BENCH / "LABEL_ISSUES.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
