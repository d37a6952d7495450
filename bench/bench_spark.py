"""Spark against DuckDB on the benchmark files: start-up, load time per size, per-row cost, and where a cluster wins.

Run from the project folder (needs ``pip install 'errorscope[spark]'`` and Java 17)::

    python bench/bench_spark.py [--runs 3] [--sizes 1000000 10000000] [--master local[*]]

One process: Spark's start-up (the JVM and the session) is timed once, then each file is loaded (the load's
grouped scan and its checks: what ``errorscope summary`` does) by each engine, alternating, ``--runs`` times after
one warm-up; each figure is the median. Per-row costs and fixed costs come from the two sizes (a straight line
through the medians); the break-even file size for a cluster of N machines follows from them on paper (see
bench/SPARK.md). Prints a JSON record.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import gen  # noqa: E402

from analysis import load_predictions  # noqa: E402
from analysis.engine import spark  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def line(loads: list[dict], fmt: str, engine: str) -> tuple[float, float]:
    """(fixed seconds, seconds per row) of an engine on a format: the straight line through its smallest and
    largest file's medians."""
    points = sorted((e["rows"], e[f"{engine}_s"]) for e in loads if e["format"] == fmt)
    (n0, t0), (n1, t1) = points[0], points[-1]
    per_row = (t1 - t0) / (n1 - n0)
    return t0 - per_row * n0, per_row


def break_even(record: dict, machines=(2, 4, 8, 16, 32, 64)) -> list[dict]:
    """On paper: the rows (and file size) past which Spark on N machines like this one beats DuckDB on one.

    DuckDB on one machine takes ``a_d + b_d n``; Spark on N machines ``S + a_s + b_s n / N``, its per-row work
    shared by N times the executors (the scan is split by file ranges; what is shuffled is one row per group)
    and ``S`` its start-up when a process starts it. Spark wins past ``n = (S + a_s - a_d) / (b_d - b_s / N)``,
    never when ``b_s / N >= b_d``.
    """
    out = []
    for fmt in sorted({e["format"] for e in record["loads"]}):
        a_d, b_d = line(record["loads"], fmt, "duckdb")
        a_s, b_s = line(record["loads"], fmt, "spark")
        b_s = max(b_s, 0.0)  # a per-row cost lost in the runs' spread: taken as none, the most favourable to Spark
        per_byte = statistics.median(e["bytes"] / e["rows"] for e in record["loads"] if e["format"] == fmt)
        for started in (False, True):
            fixed = a_s + (record["spark_start_s"] if started else 0.0) - a_d
            for n in machines:
                gain = b_d - b_s / n
                rows = fixed / gain if gain > 0 else None
                out.append({"format": fmt, "machines": n, "with_start": started,
                            "duckdb_ns_per_row": b_d * 1e9, "spark_ns_per_row": b_s * 1e9,
                            "rows": rows and max(rows, 0.0), "gib": rows and max(rows, 0.0) * per_byte / 2**30})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--data", type=Path, default=gen.DATA, help="folder of the generated files")
    args = parser.parse_args()
    gen.DATA = args.data
    record: dict = {"runs": args.runs, "master": args.master}
    record["spark_start_s"] = timed(lambda: spark.session(master=args.master))
    record["spark_first_query_s"] = timed(lambda: spark.session().sql("SELECT 1").collect())
    record["loads"] = []
    for rows in args.sizes:
        gen.generate(rows, csv="csv" in args.formats, parquet="parquet" in args.formats)
        csv_path, pq_path = gen.paths(rows)
        for fmt, path in (("parquet", pq_path), ("csv", csv_path)):
            if fmt not in args.formats:
                continue
            times: dict[str, list[float]] = {"duckdb": [], "spark": []}
            for run in range(args.runs + 1):
                for engine in times:
                    took = timed(lambda e=engine, p=path: load_predictions(p, engine=e))
                    if run:  # the first is a warm-up (page cache, JIT)
                        times[engine].append(took)
            entry = {"rows": rows, "format": fmt, "bytes": path.stat().st_size,
                     **{f"{e}_s": statistics.median(t) for e, t in times.items()},
                     **{f"{e}_all_s": t for e, t in times.items()}}
            record["loads"].append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
    spark.stop()
    if len(args.sizes) > 1:
        record["break_even"] = break_even(record)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
