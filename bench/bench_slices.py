"""Benchmark slice discovery (``analysis.slices.find_slices``) against the ``sliceline`` package; write
bench/SLICES.md.

Run from the project folder::

    python bench/bench_slices.py [--runs 3] [--sliceline-rows 100000 1000000] [--sliceline-levels 1 2 3]

Files (cached in bench/data/):

- ``slices_1M.parquet``: 1,000,000 rows, 8 categorical columns of 5..22 values (110 in all), errors at a 0.1 base
  rate with two planted slices: ``m0 = a1 and m1 = b2`` (two predicates, error 0.5) and ``m2 = c3`` (one
  predicate, error 0.3); its first 100,000 rows are ``slices_100k.parquet``;
- ``preds_10M_meta.parquet``: the 10M-row file of ``make bench`` (bench/gen.py, the same rows) with 8 metadata
  columns added (uniform categorical values, from their own seed), so the other benchmarks' files stay as they are.

Every measurement is a whole process under ``/usr/bin/time -v`` (peak RSS); errorscope's figure is the median of
``--runs`` runs and times ``find_slices`` apart from reading the file (``load_predictions``); sliceline's times
``Slicefinder.fit`` on the columns already in memory, once per setting (it is slow), with its address space capped
at ``--sliceline-cap-gb`` so that it cannot take the machine's memory. Both use alpha 0.95, k 10 and a minimum
support of 1% of the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import gen  # noqa: E402

SIZES = (5, 8, 10, 12, 15, 18, 20, 22)  # 110 values in all
NAMES = [f"m{i}" for i in range(len(SIZES))]
PREFIX = "abcdefgh"
PLANTED = [{"m0": "a1", "m1": "b2"}, {"m2": "c3"}]
TOP = 10
ALPHA = 0.95


def planted_table(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    codes = [rng.integers(0, k, rows) for k in SIZES]
    p = np.full(rows, 0.1)
    p[codes[2] == 3] = 0.3
    p[(codes[0] == 1) & (codes[1] == 2)] = 0.5
    wrong = rng.random(rows) < p
    y_true = rng.integers(0, 2, rows)
    y_pred = np.where(wrong, 1 - y_true, y_true)
    cols = {"id": pa.array(np.arange(rows)), "y_true": pa.array(y_true.astype(str)),
            "y_pred": pa.array(y_pred.astype(str))}
    for name, prefix, k, c in zip(NAMES, PREFIX, SIZES, codes, strict=True):
        cols[name] = pa.array([f"{prefix}{v}" for v in range(k)]).take(pa.array(c))
    return pa.table(cols)


def planted_files() -> dict[str, Path]:
    DATA.mkdir(exist_ok=True)
    out = {"1M": DATA / "slices_1M.parquet", "100k": DATA / "slices_100k.parquet"}
    if not out["1M"].exists():
        table = planted_table(1_000_000)
        pq.write_table(table, out["1M"])
        pq.write_table(table.slice(0, 100_000), out["100k"])
    return out


def meta_10m() -> Path:
    """The 10M file of ``make bench`` with 8 metadata columns, chunk by chunk."""
    path = DATA / "preds_10M_meta.parquet"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    writer = None
    try:
        for index in range(10):
            table = gen.chunk_table(index, gen.CHUNK)
            rng = np.random.default_rng([gen.SEED, index, 1])
            for name, prefix, k in zip(NAMES, PREFIX, SIZES, strict=True):
                table = table.append_column(name, pa.array([f"{prefix}{v}" for v in range(k)]).take(
                    pa.array(rng.integers(0, k, gen.CHUNK))))
            writer = writer or pq.ParquetWriter(str(tmp), table.schema, compression="snappy")
            writer.write_table(table, row_group_size=gen.CHUNK)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, path)
    return path


# --- the measured processes -------------------------------------------------------------------------------------

def child_errorscope(path: str, levels: int, split: str) -> dict:
    from analysis.load import load_predictions
    from analysis.slices import find_slices

    start = time.perf_counter()
    preds = load_predictions(path)
    loaded, cpu = time.perf_counter(), time.process_time()
    found = find_slices(preds, split, NAMES, max_predicates=levels, alpha=ALPHA, top=TOP)
    done = time.perf_counter()
    return {"load_s": loaded - start, "slices_s": done - loaded, "cpu_s": time.process_time() - cpu,
            "top": [[{p.column: p.value for p in s.predicates}, s.score] for s in found.slices]}


def child_sliceline(path: str, levels: int) -> dict:
    from sliceline.slicefinder import Slicefinder

    table = pq.read_table(path, columns=["y_true", "y_pred", *NAMES])
    x = np.column_stack([table[n].to_numpy(zero_copy_only=False) for n in NAMES])
    errors = (table["y_true"].to_numpy(zero_copy_only=False) != table["y_pred"].to_numpy(zero_copy_only=False))
    start, cpu = time.perf_counter(), time.process_time()
    finder = Slicefinder(alpha=ALPHA, k=TOP, max_l=levels, min_sup=max(10, int(np.ceil(0.01 * len(x)))),
                         verbose=False)
    finder.fit(x, errors.astype(float))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    top = [[{n: v for n, v in zip(NAMES, row, strict=True) if v is not None}, s["slice_score"]]
           for row, s in zip(finder.top_slices_, finder.top_slices_statistics_, strict=True)]
    return {"slices_s": seconds, "cpu_s": cpu, "top": top}


def measure(args: list[str], cap_gb: float | None = None) -> dict:
    """One child process under /usr/bin/time -v: its JSON answer and peak RSS (MiB), or its failure."""
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--child", *args]
    if cap_gb:
        cmd = ["prlimit", f"--as={int(cap_gb * 2**30)}", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    out = {"rss_mib": int(rss.group(1)) / 1024 if rss else None, "ok": proc.returncode == 0}
    if proc.returncode == 0:
        out |= json.loads(proc.stdout.strip().splitlines()[-1])
    else:
        out["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
    return out


def median_of(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["ok"]]
    if not ok:
        return runs[-1]
    out = dict(ok[0])
    for key in ("load_s", "slices_s", "cpu_s"):
        if key in out:
            out[key] = statistics.median(r[key] for r in ok)
    out["rss_mib"] = max(r["rss_mib"] or 0 for r in ok)
    out["runs"] = len(ok)
    return out


def planted_rank(top: list) -> list[int | None]:
    keys = [t[0] for t in top]
    return [keys.index(p) + 1 if p in keys else None for p in PLANTED]


def same_top(a: list, b: list) -> bool:
    return len(a) == len(b) and bool(np.allclose([t[1] for t in a], [t[1] for t in b], atol=1e-6))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--sliceline-rows", nargs="+", default=["100k", "1M"])
    parser.add_argument("--sliceline-levels-1m", type=int, nargs="+", default=[1, 2],
                        help="sliceline's levels at 1M rows (3 takes minutes and many GB)")
    parser.add_argument("--sliceline-cap-gb", type=float, default=14.0)
    parser.add_argument("--skip-10m", action="store_true")
    parser.add_argument("--rerun-sliceline", nargs=2, metavar=("ROWS", "LEVELS"),
                        help="measure one sliceline setting again (100k or 1M) into the last results")
    args = parser.parse_args()
    if args.child:
        kind, path, levels, *rest = args.child
        answer = (child_errorscope(path, int(levels), rest[0] if rest else "dev") if kind == "errorscope"
                  else child_sliceline(path, int(levels)))
        print(json.dumps(answer))
        return 0

    files = planted_files()
    last = DATA / "slices_last.json"
    if args.rerun_sliceline:  # one sliceline setting again (say with a higher cap), the other figures kept
        size, levels = args.rerun_sliceline[0], int(args.rerun_sliceline[1])
        saved = json.loads(last.read_text())
        for r in saved["results"]:
            if r["file"] == size and r["levels"] == levels:
                r["sliceline"] = measure(["sliceline", str(files[size]), str(levels)], args.sliceline_cap_gb)
                r["sliceline"]["cap_gb"] = args.sliceline_cap_gb
                print(json.dumps(r["sliceline"])[:300], file=sys.stderr)
        last.write_text(json.dumps(saved))
        args.runs = saved["runs"]
        write_report(saved["results"], saved["big"], args)
        return 0
    results = []
    for size in ("100k", "1M"):
        for levels in args.levels:
            mine = median_of([measure(["errorscope", str(files[size]), str(levels)]) for _ in range(args.runs)])
            ref = None
            if size in args.sliceline_rows and (size != "1M" or levels in args.sliceline_levels_1m):
                ref = measure(["sliceline", str(files[size]), str(levels)], args.sliceline_cap_gb)
            results.append({"file": size, "levels": levels, "errorscope": mine, "sliceline": ref})
            print(json.dumps(results[-1])[:400], file=sys.stderr, flush=True)
    big = None
    if not args.skip_10m:
        path = meta_10m()
        big = [median_of([measure(["errorscope", str(path), str(levels), "train"]) for _ in range(args.runs)])
               for levels in args.levels]
        print(json.dumps(big)[:400], file=sys.stderr, flush=True)
    last.write_text(json.dumps({"results": results, "big": big, "runs": args.runs}))
    write_report(results, big, args)
    return 0


def _fmt(r: dict | None, key: str, digits: int = 2) -> str:
    if r is None:
        return "not run"
    if not r["ok"]:
        return f"failed ({r.get('error', '?')})"
    return f"{r[key]:.{digits}f}" + (f" (cap {r['cap_gb']:g} GiB)" if key == "rss_mib" and "cap_gb" in r else "")


def write_report(results: list[dict], big: list[dict] | None, args) -> None:
    load = os.getloadavg()[0]
    lines = [
        "# Slice discovery benchmark", "",
        f"Run on {date.today().isoformat()}, {platform.system()} {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {load:.1f} at the end: the machine was shared, figures are noisy), Python "
        f"{platform.python_version()}. `python bench/bench_slices.py` wrote this file; see its docstring for the "
        f"files and the method. errorscope: median of {args.runs} runs; sliceline: one run per setting.", "",
        "## 1M rows, two planted slices (8 categorical columns, 110 values)", "",
        "Targets: both planted slices in the top 3; at most 5 s and 1 GiB up to 3 predicates. Time of "
        "`find_slices` after the file is read (wall clock, and the CPU time of all the process's threads: on a "
        "shared machine the wall clock waits for other work); peak RSS of the whole process (the read included).", "",
        "| rows | predicates | errorscope s | CPU s | read s | peak MiB | planted ranks | "
        "sliceline s | CPU s | peak MiB | same top 10 scores |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        mine, ref = r["errorscope"], r["sliceline"]
        ranks = planted_rank(mine["top"]) if mine["ok"] else ["?"]
        same = ("yes" if same_top(mine["top"], ref["top"]) else "NO") if ref and ref["ok"] and mine["ok"] else "-"
        lines.append(f"| {r['file']} | {r['levels']} | {_fmt(mine, 'slices_s')} | {_fmt(mine, 'cpu_s')} | "
                     f"{_fmt(mine, 'load_s')} | {_fmt(mine, 'rss_mib', 0)} | {', '.join(str(x) for x in ranks)} | "
                     f"{_fmt(ref, 'slices_s')} | {_fmt(ref, 'cpu_s')} | {_fmt(ref, 'rss_mib', 0)} | {same} |")
    lines += ["", "Planted ranks: the rank of `m0 = a1 and m1 = b2` and of `m2 = c3` in the top 10 (a single "
              "predicate cannot hold the two-predicate slice, so it is absent at 1 predicate)."]
    if big:
        lines += ["", "## 10M rows (bench/gen.py's file with 8 metadata columns), train split (7M rows)", "",
                  "Target: at most 30 s and 2 GiB.", "",
                  "| predicates | slices s | CPU s | read s | peak MiB | slices found |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for levels, r in zip(args.levels, big, strict=True):
            lines.append(f"| {levels} | {_fmt(r, 'slices_s')} | {_fmt(r, 'cpu_s')} | {_fmt(r, 'load_s')} | "
                         f"{_fmt(r, 'rss_mib', 0)} | "
                         f"{len(r.get('top', []))} |")
    (BENCH / "SLICES.md").write_text("\n".join(lines) + "\n")
    print(BENCH / "SLICES.md", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
