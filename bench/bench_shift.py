"""Benchmark the distribution checks on 10M rows with 8 metadata columns (not part of ``make test``).

Run from the project folder::

    python bench/bench_shift.py [--rows 10000000] [--runs 3]

The file is bench/gen.py's predictions plus 8 metadata columns (two continuous numbers, two integers, and
categories of 3, 12, 60 and 1,000 values), with dev drawn a little differently from train-dev; it is written once,
as CSV and Parquet, into bench/data/. In one process, alternating, median of ``--runs``: the summary
(``load_predictions`` + ``summarize``, the baseline), the per-column tests (``shift(..., domain=False)`` of
train-dev against dev, the file already loaded) and the whole check with the domain classifier on its default
sample. Writes bench/SHIFT.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from gen import CHUNK, DATA, chunk_table  # noqa: E402

from analysis import load_predictions, summarize  # noqa: E402
from analysis.shift import shift  # noqa: E402


def with_metadata(index: int, rows: int) -> pa.Table:
    table = chunk_table(index, rows)
    rng = np.random.default_rng([7, index])
    dev = np.asarray(table["split"].to_pylist()) == "dev"
    cats = {"region": 3, "device": 12, "site": 60, "store": 1_000}
    columns = {
        "amount": np.round(rng.lognormal(3.0, 1.0, rows) * np.where(dev, 1.05, 1.0), 4),
        "latency": np.round(rng.gamma(2.0, 50.0, rows), 3),
        "age": rng.integers(18, 90, rows),
        "items": rng.poisson(np.where(dev, 3.2, 3.0)),
    }
    for name, k in cats.items():
        columns[name] = pa.array([f"{name}{v}" for v in rng.zipf(1.5, rows) % k])
    for name, values in columns.items():
        table = table.append_column(name, pa.array(values) if not isinstance(values, pa.Array) else values)
    return table


def generate(rows: int) -> tuple[Path, Path]:
    stem = DATA / f"shift_{rows // 1_000_000}M" if rows % 1_000_000 == 0 else DATA / f"shift_{rows}"
    csv_path, pq_path = stem.with_suffix(".csv"), stem.with_suffix(".parquet")
    if csv_path.exists() and pq_path.exists():
        return csv_path, pq_path
    DATA.mkdir(parents=True, exist_ok=True)
    schema = with_metadata(0, 1).schema
    tmp_csv, tmp_pq = csv_path.with_name(csv_path.name + ".tmp"), pq_path.with_name(pq_path.name + ".tmp")
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=64 * 1024)
    with pacsv.CSVWriter(str(tmp_csv), schema, write_options=options) as c, \
            pq.ParquetWriter(str(tmp_pq), schema, compression="snappy") as p:
        for index in range((rows + CHUNK - 1) // CHUNK):
            table = with_metadata(index, min(CHUNK, rows - index * CHUNK))
            c.write_table(table)
            p.write_table(table, row_group_size=CHUNK)
    os.replace(tmp_csv, csv_path)
    os.replace(tmp_pq, pq_path)
    return csv_path, pq_path


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"], choices=["csv", "parquet"])
    args = parser.parse_args()
    lines = ["# Distribution checks: speed", "",
             f"{args.rows:,} rows, 8 metadata columns (bench/bench_shift.py); train-dev against dev; in one process, "
             f"alternating, median of {args.runs} runs; `nproc` = {os.cpu_count()}, load average at start "
             f"{os.getloadavg()[0]:.1f}.", "",
             "| file | summary (s) | per-column tests (s) | ratio | with the domain classifier (s) | sample "
             "| flagged |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for path in (p for p in generate(args.rows) if p.suffix[1:] in args.formats):
        times = {"summary": [], "tests": [], "domain": []}
        for _ in range(args.runs):
            t, preds = timed(load_predictions, path)
            t2, _ = timed(summarize, preds)
            times["summary"].append(t + t2)
            t, _ = timed(shift, preds, a="train_dev", b="dev", domain=False)
            times["tests"].append(t)
            t, found = timed(shift, preds, a="train_dev", b="dev")
            times["domain"].append(t)
            print(f"{path.name}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        sample = " + ".join(f"{n:,}" for n in found.domain.sample.values())
        flagged = ", ".join(c.column for c in found.columns if c.flagged) or "none"
        lines.append(f"| {path.suffix[1:]} | {med['summary']:.2f} | {med['tests']:.2f} | "
                     f"{med['tests'] / med['summary']:.2f}x | {med['domain']:.2f} | {sample} | {flagged} |")
        print(lines[-1], flush=True)
    (BENCH / "SHIFT.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
