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
        csv_path, pq_path = gen.generate(rows, csv="csv" in args.formats, parquet="parquet" in args.formats)
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
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
