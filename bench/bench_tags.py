"""Benchmark the tag store: one edit (commit included) and reading 100,000 tagged examples.

Run from the project folder::

    python bench/bench_tags.py [--edits 500] [--examples 100000]

Prints a markdown table. Each store figure comes with a baseline measured in the same run on the same kind
of file: for an edit, a bare one-row SQLite upsert committed with the same pragmas; for ``tags()``, a plain
``fetchall`` of the examples table (the part no store can avoid).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.tags import open_store  # noqa: E402

CATEGORIES = ["blurry", "occluded", "wrong_crop", "ambiguous", "rare_class"]
DATASET = "bench"


@dataclass(frozen=True)
class Timing:
    """Times of one operation, in milliseconds: wall clock (median, p95), CPU (median), baseline (median)."""

    name: str
    median_ms: float
    p95_ms: float
    cpu_ms: float
    baseline_ms: float

    @classmethod
    def of(cls, name: str, times: tuple[list[float], list[float]], baseline: list[float]) -> Timing:
        wall, cpu = times
        return cls(
            name, statistics.median(wall), _p95(wall), statistics.median(cpu), statistics.median(baseline)
        )

    def row(self) -> str:
        return (
            f"| {self.name} | {self.median_ms:.2f} | {self.p95_ms:.2f} | {self.cpu_ms:.2f} "
            f"| {self.baseline_ms:.2f} | {self.median_ms / self.baseline_ms:.1f}x |"
        )


def _times(call: Callable[[int], object], repeats: int, warmup: int = 10) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of ``repeats`` calls, after ``warmup`` untimed ones."""
    for i in range(warmup):
        call(-1 - i)
    wall, cpu = [], []
    for i in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call(i)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def bench_edit(folder: Path, synchronous: str, edits: int) -> Timing:
    """Median and p95 of one ``edit`` call, alternating the kinds of edit the app makes."""
    store = open_store(folder / f"edit_{synchronous}.db", user="bench", synchronous=synchronous)  # type: ignore[arg-type]
    for name in CATEGORIES:
        store.add_category(DATASET, name)
    rng = random.Random(0)

    def one(i: int) -> None:
        example = str(rng.randrange(2000))
        kind = i % 3
        if kind == 0:
            store.edit(DATASET, example, categories={rng.choice(CATEGORIES): rng.random() < 0.7})
        elif kind == 1:
            store.edit(DATASET, example, note=f"note {i}")
        else:
            store.edit(DATASET, example, mislabeled=rng.random() < 0.5)

    times = _times(one, edits)
    store.close()
    baseline, _ = _bare_upserts(folder / f"bare_{synchronous}.db", synchronous, edits)
    return Timing.of(f"edit, synchronous={synchronous}", times, baseline)


def _bare_upserts(path: Path, synchronous: str, edits: int) -> tuple[list[float], list[float]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, note TEXT)")

    def one(i: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO t VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET note = excluded.note",
            (str(i % 2000), f"note {i}"),
        )
        conn.execute("COMMIT")

    try:
        return _times(one, edits)
    finally:
        conn.close()


def bench_tags(folder: Path, examples: int, repeats: int = 5) -> tuple[Timing, float]:
    """Time ``tags()`` over ``examples`` tagged examples, five categories; also the merge that made them."""
    store = open_store(folder / "read.db", user="bench")
    for name in CATEGORIES:
        store.add_category(DATASET, name)
    rng = random.Random(1)
    rows = [
        {
            "id": f"img_{i:07d}",
            "categories": {name: rng.random() < 0.3 for name in CATEGORIES},
            "mislabeled": rng.random() < 0.05,
            "note": "looks like a 7" if rng.random() < 0.1 else None,
        }
        for i in range(examples)
    ]
    start = time.perf_counter()
    store.merge(DATASET, rows)
    merge_s = time.perf_counter() - start
    frame = store.tags(DATASET)
    assert len(frame) == examples, len(frame)
    times = _times(lambda _i: store.tags(DATASET), repeats, warmup=1)
    store.close()

    conn = sqlite3.connect(folder / "read.db")
    baseline, _ = _times(lambda _i: conn.execute("SELECT * FROM examples").fetchall(), repeats, warmup=1)
    conn.close()
    name = f"tags(), {examples:,} examples x {len(CATEGORIES)} categories"
    return Timing.of(name, times, baseline), merge_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=500, help="timed edits per sync level (default 500)")
    parser.add_argument("--examples", type=int, default=100_000, help="examples for tags() (default 100,000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="errorscope-bench-") as tmp:
        folder = Path(tmp)
        timings = [bench_edit(folder, "FULL", args.edits), bench_edit(folder, "NORMAL", args.edits)]
        read, merge_s = bench_tags(folder, args.examples)
        timings.append(read)
    print(f"tag store benchmark: {args.edits} edits per sync level; files in {tempfile.gettempdir()}\n")
    print("| operation | median ms | p95 ms | median CPU ms | baseline ms | median / baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for timing in timings:
        print(timing.row())
    print(
        "\nBaselines, same run: edit = a bare one-row upsert + commit with the same pragmas; "
        "tags() = a plain fetchall of the examples table.\n"
        f"tags() was timed 5 times (p95 = slowest). Writing the {args.examples:,} examples with one merge() "
        f"took {merge_s:.2f} s. CPU time is less sensitive to other load on the machine than wall time."
    )


if __name__ == "__main__":
    main()
