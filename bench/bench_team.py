"""Benchmark the two tag stores side by side: SQLite (a file) and PostgreSQL (a server shared by a team).

Run from the project folder::

    python bench/bench_team.py [--postgres postgresql://user@host/db] [--edits 300] [--examples 100000]

Without ``--postgres``, a throwaway local cluster is started (PostgreSQL must be installed; see
tests/postgres_server.py) and stopped at the end. Prints a markdown table of medians: one edit (commit
included), a sheet-sized merge, reading every example's tags, and a team of 4 processes making 500 edits each
on the same 500 examples at once.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.tags import open_store  # noqa: E402
from tests import postgres_server  # noqa: E402
from tests.conftest import postgres_schema_url  # noqa: E402

DATASET = "bench"
TEAM = """
import sys, time
from analysis.tags import open_store
store = open_store(sys.argv[1], user=f"p{sys.argv[2]}")
sys.stdin.readline()
for i in range(500):
    store.edit("bench", f"e{i}", categories={f"c{sys.argv[2]}": True}, note=f"p{sys.argv[2]} {i}")
print(time.time(), flush=True)
"""


def _ms(seconds: list[float]) -> str:
    return f"{1000 * statistics.median(seconds):.1f}"


def bench(target: str, edits: int, examples: int) -> dict[str, str]:
    with open_store(target, user="bench") as store:
        store.add_category(DATASET, "blurry")
        times = []
        for i in range(edits):
            start = time.perf_counter()
            store.edit(DATASET, f"x{i}", categories={"blurry": True}, note=f"n{i}")
            times.append(time.perf_counter() - start)
        rows = [{"id": f"m{i}", "categories": {"blurry": True}, "note": "imported"} for i in range(examples)]
        start = time.perf_counter()
        store.merge(DATASET, rows)
        merge = time.perf_counter() - start
        reads = []
        for _ in range(3):
            start = time.perf_counter()
            frame = store.tags(DATASET)
            reads.append(time.perf_counter() - start)
        assert len(frame) == edits + examples
        for p in range(4):
            store.add_category(DATASET, f"c{p}")
    team = _team(target)
    return {"edit (ms, median)": _ms(times), f"merge of {examples:,} rows (s)": f"{merge:.1f}",
            f"tags() of {edits + examples:,} examples (s, median of 3)": f"{statistics.median(reads):.2f}",
            "4 processes x 500 edits at once (s)": f"{team:.1f}"}


def _team(target: str) -> float:
    children = [subprocess.Popen([sys.executable, "-c", TEAM, target, str(p)], cwd=ROOT, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True) for p in range(4)]
    time.sleep(5)  # let the four import and connect before the start
    start = time.time()
    for child in children:
        child.stdin.write("go\n"), child.stdin.flush()  # type: ignore[union-attr]
    ends = [float(child.communicate()[0]) for child in children]
    return max(ends) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL server (default: a throwaway local cluster)")
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--examples", type=int, default=100_000)
    args = parser.parse_args()
    folder = None
    server = args.postgres
    if server is None:
        server, folder = postgres_server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = {"SQLite (file)": bench(str(Path(tmp) / "tags.db"), args.edits, args.examples),
                       "PostgreSQL (local server)": bench(postgres_schema_url(server, f"bench{time.time()}"),
                                                          args.edits, args.examples)}
    finally:
        if folder is not None:
            postgres_server.stop(folder)
    names = list(next(iter(results.values())))
    print("| store | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for store, figures in results.items():
        print(f"| {store} | " + " | ".join(figures[n] for n in names) + " |")


if __name__ == "__main__":
    main()
