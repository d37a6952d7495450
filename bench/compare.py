"""Compare ``errorscope summary`` of this checkout with an earlier commit, run for run; print a Markdown table.

Run from the project folder, after ``python bench/gen.py 10000000``::

    python bench/compare.py 727fdc6 [--runs 5] [--files bench/data/preds_10M.parquet bench/data/preds_10M.csv]

The earlier commit is checked out into a temporary git worktree and run with this environment's packages. The two
alternate run by run after one warm-up each, with the file read once before each file's runs, so that the
machine's drift (large here from minute to minute) falls on both alike; medians of wall and CPU time, largest RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FILES = [BENCH / "data" / "preds_10M.parquet", BENCH / "data" / "preds_10M.csv"]


def run(tree: Path, path: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one summary run of the code in ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", sys.executable, "-m", "analysis.cli", "summary",
                           str(path), "--json"], env=env, cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{tree}: summary failed: {proc.stderr.strip()[-400:]}")
    user, system, rss = proc.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), int(rss) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the earlier commit")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=Path, nargs="+", default=FILES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base], cwd=ROOT, check=True)
        try:
            trees = {args.base: base, "this checkout": ROOT}
            print("| file | code | median wall s | median CPU s | peak RSS MiB | wall runs |")
            print("| --- | --- | ---: | ---: | ---: | --- |")
            for path in args.files:
                path = path.resolve()
                with path.open("rb") as fh:  # into the page cache
                    while fh.read(1 << 24):
                        pass
                times: dict[str, list] = {name: [] for name in trees}
                for round_ in range(args.runs + 1):
                    for name, tree in trees.items():
                        result = run(tree, path)
                        if round_:
                            times[name].append(result)
                for name, results in times.items():
                    walls = [r[0] for r in results]
                    print(f"| {path.name} | {name} | {statistics.median(walls):.2f} | "
                          f"{statistics.median(r[1] for r in results):.2f} | {max(r[2] for r in results):.0f} | "
                          f"{', '.join(f'{w:.2f}' for w in walls)} |")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
