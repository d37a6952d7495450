"""Benchmark ``errorscope compare A B --json`` against ``errorscope summary A --json``; write bench/COMPARE.md.

Run from the project folder (``make bench`` runs it)::

    python bench/bench_compare.py [--runs 5] [--shuffled-runs 3] [--rows 10000000]

A is bench/gen.py's Parquet file of ``--rows`` rows, B the second model's predictions of the same examples
(``gen.py --model b``: 40% of A's mistakes fixed, 4% of its right answers broken, same ids in the same order).
Both commands run as whole processes (start-up and imports included), alternating run by run after one warm-up
each, both files read once before each run so that they are in the page cache; medians of the wall and CPU
times, largest peak RSS (bench/run.py's ``run_once``). The target: compare takes at most 2.5 x the time of
summary, with a peak RSS of at most 1.5 GiB. Then, with ``--shuffled-runs``, the same against B's rows in another
order (a copy made once in bench/data, ``*_shuffled.parquet``), which take a hash join: measured, no target.
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


def shuffled(path: Path) -> Path:
    """A copy of ``path`` with its rows in another (fixed) order, made once next to it: B in another order than A."""
    out = path.with_name(f"{path.stem}_shuffled.parquet")
    if not out.exists():
        import duckdb

        part = out.with_suffix(".part")
        with duckdb.connect(config={"memory_limit": "2GB"}) as con:
            con.execute(f"COPY (SELECT * FROM read_parquet('{path}') ORDER BY hash(id + 1)) TO '{part}' "
                        "(FORMAT parquet)")
        part.rename(out)
    return out


def alternate(commands: dict[str, list[str]], runs: int, files: list[Path], *, warmup: bool) -> dict[str, dict]:
    """Each command ``runs`` times, alternating round by round (after an untimed round when ``warmup``), the files
    read through before each run: wall and CPU seconds and peak RSS (MiB) of each run."""
    results: dict[str, dict[str, list]] = {name: {"wall": [], "cpu": [], "rss": []} for name in commands}
    for round_ in range(runs + warmup):
        for name, cmd in commands.items():
            for path in files:
                read_through(path)
            wall, cpu, rss, out, failure = run_once(cmd)
            if failure:
                raise SystemExit(f"{name} failed: {failure}")
            if name.startswith("compare"):
                json.loads(out)["splits"]["dev"]["table"]  # the output is the comparison
            if round_ >= warmup:
                results[name]["wall"].append(wall)
                results[name]["cpu"].append(cpu)
                results[name]["rss"].append(rss / 1024)
            print(f"{name} run {round_}: {wall:.2f} s, {rss / 1024:.0f} MiB", file=sys.stderr, flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shuffled-runs", type=int, default=3, help="runs of the files in another order (0: none)")
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    a = gen.generate(args.rows, csv=False)[0]
    b = gen.generate(args.rows, csv=False, model="b")[0]
    summary = [*errorscope_cmd(), "summary", relative(a), "--json"]
    load = [os.getloadavg()[0]]
    results = alternate({"summary": summary,
                         "compare": [*errorscope_cmd(), "compare", relative(a), relative(b), "--json"]},
                        args.runs, [a, b], warmup=True)
    other = None
    if args.shuffled_runs:
        other = shuffled(b)
        results |= {f"{k} (B in another order)": v for k, v in alternate(
            {"summary": summary, "compare": [*errorscope_cmd(), "compare", relative(a), relative(other), "--json"]},
            args.shuffled_runs, [a, other], warmup=False).items()}
    load.append(os.getloadavg()[0])
    (BENCH / "COMPARE.md").write_text(report(results, args, a, b, other, load))
    print((BENCH / "COMPARE.md").read_text())
    return 0


def report(results: dict, args, a: Path, b: Path, other: Path | None, load: list[float]) -> str:
    med = {name: statistics.median(r["wall"]) for name, r in results.items()}
    cpu = {name: statistics.median(r["cpu"]) for name, r in results.items()}
    rss = {name: max(r["rss"]) for name, r in results.items()}
    ratio, cpu_ratio = med["compare"] / med["summary"], cpu["compare"] / cpu["summary"]
    m, v = machine(), versions()
    lines = [
        "# Benchmark: `errorscope compare`",
        "",
        f"Measured {date.today().isoformat()} with `python bench/bench_compare.py --runs {args.runs} "
        f"--shuffled-runs {args.shuffled_runs}`.",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory']} of memory, {m['os']}; load average (1 min) "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end: other work on the machine inflates and "
        "scatters the times.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        f"Files: `{relative(a)}` (A) and `{relative(b)}` (B), {args.rows:,} rows each, the same ids in the same "
        "order (bench/gen.py)"
        + (f"; `{relative(other)}`, B's rows in another order." if other else "."),
        "",
        "Whole processes, start-up and imports included, alternating run by run (the files in the same order after "
        "one untimed round each); medians of the wall and CPU (user + system) times, the largest peak RSS.",
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
    ]
    if other:
        s, c = "summary (B in another order)", "compare (B in another order)"
        lines.append(f"| (no target) B in another order | {med[c] / med[s]:.2f} x ({med[c]:.2f} s vs {med[s]:.2f} s; "
                     f"CPU {cpu[c] / cpu[s]:.2f} x), peak RSS {rss[c]:,.0f} MiB | - |")
    lines += [
        "",
        "What compare does with files of the same ids in the same order: it reads both files' schemas, looks at "
        "their first 1,000 ids, then joins them by position in one streaming pass that counts the comparison's "
        "groups and each file's own (split, true, predicted) groups at once. Each file's other checks run as in a "
        "load (bounds from the Parquet statistics, the probability sums in a plain scan), and A's ids are checked "
        "for repeats; B's ids, equal to A's row by row, need no such search. So it reads each file about as often "
        "as summary reads one, and its floor is about twice summary's time. The paired bootstrap of the accuracy "
        "resamples the four cells of the disagreement table.",
        "",
        "Files in another order load one by one (as summary does) and join on the id by a hash join, B's side "
        "carrying only its id, prediction and a hash of its split and label, A's its id, weight and a hash code of "
        "its (split, label, prediction) that a small scan of A's labels names; within DuckDB's 512 MB it spills "
        "to disk.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
