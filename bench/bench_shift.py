"""Benchmark the distribution checks on 10M rows with 8 metadata columns (not part of ``make test``).

Run from the project folder::

    python bench/bench_shift.py [--runs 3] [--formats csv parquet]

The file is ``bench/data/preds_10M_meta.parquet`` (bench/bench_slices.py: the 10M rows of bench/gen.py with 8
categorical metadata columns; the model's confidence is the number column, with millions of distinct values) and
``preds_10M_meta.csv``, written from it once when missing. Every measurement is a whole process, the commands
alternating within each run, median of ``--runs``: ``errorscope summary FILE --json`` (the baseline), ``errorscope
shift FILE --no-domain --json`` (the per-column tests of train-dev against dev) and ``errorscope shift FILE --json``
(with the domain classifier on its default sample; by default on the Parquet file only, ``--domain-on``).
Wall-clock and CPU (user + system) seconds of the child, which load disturbs less. Writes bench/SHIFT.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
PARQUET = DATA / "preds_10M_meta.parquet"
COMMANDS = {"summary": ["summary"], "tests": ["shift", "--no-domain"], "domain": ["shift"]}


def files(formats: list[str]) -> list[Path]:
    if not PARQUET.exists():
        sys.path.insert(0, str(BENCH))
        from bench_slices import meta_10m

        meta_10m()
    out = []
    if "parquet" in formats:
        out.append(PARQUET)
    if "csv" in formats:
        csv = PARQUET.with_suffix(".csv")
        if not csv.exists():
            import pyarrow.csv as pacsv
            import pyarrow.parquet as pq

            source, tmp = pq.ParquetFile(PARQUET), csv.with_name(csv.name + ".tmp")
            options = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=64 * 1024)
            with pacsv.CSVWriter(str(tmp), source.schema_arrow, write_options=options) as writer:
                for group in range(source.num_row_groups):
                    writer.write_table(source.read_row_group(group))
            os.replace(tmp, csv)
        out.append(csv)
    return out


def run(command: list[str], path: Path) -> tuple[float, float, dict]:
    """Wall-clock and CPU seconds of one ``errorscope`` process, and its JSON."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "analysis.cli", command[0], str(path), *command[1:], "--json"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["csv", "parquet"])
    parser.add_argument("--domain-on", nargs="+", default=["parquet"], choices=["csv", "parquet"],
                        help="formats also run with the domain classifier (on a CSV it reads the file once more: "
                             "about a minute of CPU, which would take the run past 5 minutes)")
    args = parser.parse_args()
    paths = files(args.formats)
    load = os.getloadavg()[0]
    lines = ["# Distribution checks: speed", "",
             f"10,000,000 rows, 8 categorical metadata columns and the confidence (`{PARQUET.name}`, "
             f"bench/bench_shift.py); train-dev (about 1M rows) against dev (about 1M). Whole processes, the three "
             f"commands alternating, "
             f"median of {args.runs} runs; wall-clock and CPU (user + system) seconds; `nproc` = {os.cpu_count()}, "
             f"load average at start {load:.1f}.", "",
             "| file | summary: wall / CPU (s) | column tests: wall / CPU (s) | ratio wall / CPU "
             "| with the domain classifier: wall / CPU (s) | sample (train-dev + dev) | flagged |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for path in paths:
        wall, cpu = ({k: [] for k in COMMANDS} for _ in range(2))
        for _ in range(args.runs):
            for name, command in COMMANDS.items():
                if name == "domain" and path.suffix[1:] not in args.domain_on:
                    continue
                w, c, out = run(command, path)
                wall[name].append(w)
                cpu[name].append(c)
                found = out
            print(f"{path.name}: " + ", ".join(f"{k} {wall[k][-1]:.2f} s ({cpu[k][-1]:.2f} CPU)" for k in wall
                                               if wall[k]), flush=True)
        w = {k: statistics.median(v) for k, v in wall.items() if v}
        c = {k: statistics.median(v) for k, v in cpu.items() if v}
        domain, sample = "not run (--domain-on)", "-"
        if "domain" in w:
            domain = f"{w['domain']:.2f} / {c['domain']:.2f}"
            sample = " + ".join(f"{n:,}" for n in found["domain_sample"].values())
        flagged = ", ".join(col["column"] for col in found["columns"] if col["flagged"]) or "none"
        lines.append(f"| {path.suffix[1:]} | {w['summary']:.2f} / {c['summary']:.2f} | {w['tests']:.2f} / "
                     f"{c['tests']:.2f} | {w['tests'] / w['summary']:.2f}x / {c['tests'] / c['summary']:.2f}x | "
                     f"{domain} | {sample} | {flagged} |")
        print(lines[-1], flush=True)
    lines += ["", f"Load average at the end {os.getloadavg()[0]:.1f}."]
    (BENCH / "SHIFT.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
