"""Benchmark ``errorscope summary FILE --json`` against a floor and a naive baseline; write bench/RESULTS.md.

Run from the project folder (``make bench``, ``make bench-large``)::

    python bench/run.py [--large] [--runs 5] [--sizes 1000000 10000000]

Every contender runs as a whole process (interpreter start-up and imports included), the contenders of one
file size alternate round by round, and each figure is the median of ``--runs`` timed runs after one warm-up.
Peak RSS is the largest maximum resident set size of the timed runs, from ``/usr/bin/time -v`` when it exists,
otherwise from ``getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process per run.

Contenders, on synthetic files from bench/gen.py (cached in bench/data/):

- ``summary``: ``errorscope summary FILE --json``;
- ``floor``: a process that only reads the file into memory with pyarrow (``pyarrow.csv.read_csv`` for the
  CSV, ``pyarrow.parquet.read_table`` for Parquet), the least any reader of the whole file must do;
- ``naive``: ``pandas.read_csv``, labels cast to str, then ``sklearn.metrics.confusion_matrix`` per split. It
  takes over a minute on 10M rows, so it runs ``--naive-runs-large`` times (default 2, no warm-up) at 10M rows
  and more.

With ``--large``, ``summary`` also runs on a 100M-row Parquet file (no floor: reading it whole would take more
memory than the target allows).

A run that fails (non-zero exit) is recorded, not fatal: the table counts it and its targets are missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import gen  # noqa: E402

TIME = "/usr/bin/time"
LARGE_ROWS = 100_000_000
SIZES = (1_000_000, 10_000_000)
#: Sizes from which the naive baseline gets fewer runs.
NAIVE_FEW_FROM = 10_000_000
#: The raw measurements of the last run (``--report-only`` renders RESULTS.md from them again).
LAST_RUN = BENCH / "data" / "last-run.json"

FLOOR_CSV = "import sys, pyarrow.csv as c; print(c.read_csv(sys.argv[1]).num_rows)"
FLOOR_PARQUET = "import sys, pyarrow.parquet as p; print(p.read_table(sys.argv[1]).num_rows)"
NAIVE = """\
import sys
import pandas as pd
from sklearn.metrics import confusion_matrix
df = pd.read_csv(sys.argv[1])
y_true = df["y_true"].astype(str)
y_pred = df["y_pred"].astype(str)
labels = sorted(set(y_true) | set(y_pred))
total = 0
for split, rows in df.groupby("split").indices.items():
    total += int(confusion_matrix(y_true.iloc[rows], y_pred.iloc[rows], labels=labels).sum())
print(total)
"""
#: Runs a command and writes its wall and CPU seconds and peak RSS (KiB) to a file (when /usr/bin/time is missing).
WRAPPER = """\
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:]).returncode
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as fh:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    fh.write(f"{seconds} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
sys.exit(code)
"""


@dataclass
class Contender:
    """One command on one file, and what its runs measured."""

    name: str
    path: Path
    fmt: str
    rows: int
    cmd: list[str]
    runs: int
    warmup: int = 1
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    #: The last line of stderr of each failed run (warm-ups included).
    failures: list[str] = field(default_factory=list)
    #: Peak RSS (KiB) of the failed runs, up to the failure.
    failed_rss_kib: list[int] = field(default_factory=list)
    checked: bool = False
    attempts: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def rss_mib(self) -> float:
        return max(self.rss_kib) / 1024 if self.rss_kib else float("nan")


def errorscope_cmd() -> list[str]:
    script = Path(sys.executable).parent / "errorscope"
    if script.is_file():
        return [str(script)]
    found = shutil.which("errorscope")
    return [found] if found else [sys.executable, "-m", "analysis.cli"]


def relative(path: Path) -> str:
    return os.path.relpath(path, ROOT)


def run_once(cmd: list[str]) -> tuple[float, float, int, str, str | None]:
    """Run ``cmd`` from the project folder: wall and CPU (user + system) seconds, peak RSS in KiB, stdout and,
    if it failed, why."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report"
        if os.access(TIME, os.X_OK):
            full = [TIME, "-v", "-o", str(report), *cmd]
        else:
            full = [sys.executable, "-c", WRAPPER, str(report), *cmd]
        start = time.perf_counter()
        done = subprocess.run(full, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        text = report.read_text()
    failure = None
    if done.returncode != 0:
        failure = f"exit status {done.returncode}: {why(done.stderr)}"
    if full[0] == TIME:
        fields = {key.strip(): value.strip() for key, _, value in
                  (line.rpartition(":") for line in text.splitlines()) if key}
        rss = int(fields["Maximum resident set size (kbytes)"])
        cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    else:
        wall, cpu_text, rss_text = text.split()
        seconds, cpu, rss = float(wall), float(cpu_text), int(rss_text)
    return seconds, cpu, rss, done.stdout, failure


def read_through(path: Path) -> None:
    """Read ``path`` once (untimed), so that every run starts with the file in the page cache: this machine's memory
    reclaim pages out file data left idle for a few seconds, which made a run after a long one read from disk."""
    with path.open("rb", buffering=0) as fh:
        buffer = bytearray(16 << 20)
        while fh.readinto(buffer):
            pass


def why(stderr: str) -> str:
    """The telling line of a failed run's stderr: the exception of a traceback, an ``error:`` line, or the last."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    telling = [line for line in lines if re.match(r"^(error:|[\w.]*(Error|Exception)\b)", line)]
    line = (telling or lines or ["no message"])[-1]
    return line if len(line) <= 200 else line[:197] + "..."


def check_output(c: Contender, stdout: str) -> None:
    """Each contender must have read every row (checked on its first run)."""
    if c.name == "summary":
        got = json.loads(stdout)["rows"]
    else:
        got = int(stdout.split()[-1])
    if got != c.rows:
        raise RuntimeError(f"{c.name} on {relative(c.path)} counted {got:,} rows, expected {c.rows:,}")


def measure(contenders: list[Contender]) -> None:
    """Run the contenders round-robin (rotating who goes first), warm-ups first."""
    rounds = max(c.warmup + c.runs for c in contenders)
    for r in range(rounds):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for c in order:
            # A contender with fewer runs takes part in the last rounds, so the others have warmed the cache.
            first = rounds - (c.warmup + c.runs)
            if r < first:
                continue
            read_through(c.path)
            seconds, cpu, rss, stdout, failure = run_once(c.cmd)
            c.attempts += 1
            warm = r - first < c.warmup
            if failure:
                c.failures.append(failure)
                c.failed_rss_kib.append(rss)
            else:
                if not c.checked:
                    check_output(c, stdout)
                    c.checked = True
                if not warm:
                    c.seconds.append(seconds)
                    c.rss_kib.append(rss)
                    c.cpu.append(cpu)
            print(f"  {c.name:<8}{relative(c.path):<32}{seconds:8.2f} s{cpu:7.2f} s CPU{rss / 1024:5.0f} MiB"
                  f"{'  (warm-up)' if warm else ''}{'  FAILED ' + failure if failure else ''}",
                  file=sys.stderr, flush=True)


def contenders_for(rows: int, runs: int, naive_runs_large: int) -> list[Contender]:
    csv_path, pq_path = gen.generate(rows)
    py = sys.executable
    few = rows >= NAIVE_FEW_FROM
    summary = errorscope_cmd() + ["summary"]
    return [
        Contender("summary", csv_path, "csv", rows, [*summary, relative(csv_path), "--json"], runs),
        Contender("summary", pq_path, "parquet", rows, [*summary, relative(pq_path), "--json"], runs),
        Contender("floor", csv_path, "csv", rows, [py, "-c", FLOOR_CSV, relative(csv_path)], runs),
        Contender("floor", pq_path, "parquet", rows, [py, "-c", FLOOR_PARQUET, relative(pq_path)], runs),
        Contender("naive", csv_path, "csv", rows, [py, "-c", NAIVE, relative(csv_path)],
                  naive_runs_large if few else runs, warmup=0 if few else 1),
    ]


def find(results: list[Contender], name: str, rows: int, fmt: str) -> Contender | None:
    return next((c for c in results if (c.name, c.rows, c.fmt) == (name, rows, fmt)), None)


def table(results: list[Contender]) -> list[str]:
    lines = ["| file | rows | format | contender | runs | median s | CPU s | peak RSS MiB | x floor "
             "| naive / this |",
             "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in results:
        floor = find(results, "floor", c.rows, c.fmt)
        naive = find(results, "naive", c.rows, "csv")
        x_floor = f"{c.median / floor.median:.2f}" if floor and floor.seconds and c.seconds else "-"
        vs_naive = f"{naive.median / c.median:.1f}" if naive and naive.seconds and c.seconds else "-"
        runs = str(len(c.seconds)) + (f" ({len(c.failures)} failed)" if c.failures else "")
        median = f"{c.median:.2f}" if c.seconds else "failed"
        rss = f"{c.rss_mib:,.0f}" if c.rss_kib else "-"
        cpu = f"{statistics.median(c.cpu):.2f}" if c.cpu else "-"
        lines.append(f"| {c.path.name} | {c.rows:,} | {c.fmt} | {c.name} | {runs} | {median} | {cpu} | "
                     f"{rss} | {x_floor} | {vs_naive} |")
    return lines


def failures(results: list[Contender]) -> list[str]:
    """A note per contender with failed runs (a failed run counts against every target of its contender)."""
    return [f"- {c.name} on {c.path.name} failed {len(c.failures)} of {c.attempts} "
            f"runs (warm-up included): {'; '.join(sorted(set(c.failures)))}" for c in results if c.failures]


def verdict(ok: bool, *contenders: Contender) -> str:
    if any(c.failures for c in contenders):
        return "MISS (runs failed)"
    return "PASS" if ok else "MISS"


def targets(results: list[Contender], large: bool) -> list[str]:
    lines = []

    def row(what: str, criterion: str, measured: str, ok: bool, c: Contender) -> None:
        lines.append(f"| {what} | {criterion} | {measured} | {verdict(ok, c)} |")

    def rss_row(what: str, c: Contender, limit_mib: int, prefix: str = "") -> None:
        limit = f"{limit_mib // 1024} GiB" if limit_mib % 1024 == 0 else f"{limit_mib} MiB"
        row(what, f"{prefix}peak RSS <= {limit}", f"{c.rss_mib:,.0f} MiB", c.rss_mib <= limit_mib, c)

    big = 10_000_000
    s_csv, floor = find(results, "summary", big, "csv"), find(results, "floor", big, "csv")
    naive = find(results, "naive", big, "csv")
    if s_csv and floor and naive:
        ratio, speedup = s_csv.median / floor.median, naive.median / s_csv.median
        row("summary, 10M-row CSV", "time <= 0.75 x floor",
            f"{ratio:.2f} x floor ({s_csv.median:.2f} s vs {floor.median:.2f} s)", ratio <= 0.75, s_csv)
        row("summary, 10M-row CSV", ">= 50 x faster than naive",
            f"{speedup:.1f} x ({naive.median:.1f} s vs {s_csv.median:.2f} s)", speedup >= 50, s_csv)
        rss_row("summary, 10M-row CSV", s_csv, 512)
    s_pq = find(results, "summary", big, "parquet")
    if s_pq:
        row("summary, 10M-row Parquet", "whole process <= 0.8 s", f"{s_pq.median:.2f} s", s_pq.median <= 0.8, s_pq)
        rss_row("summary, 10M-row Parquet", s_pq, 512)
    huge = find(results, "summary", LARGE_ROWS, "parquet")
    if huge and not huge.seconds:
        peak = max(huge.failed_rss_kib, default=0) / 1024
        lines.append(f"| summary, 100M-row Parquet | completes, peak RSS <= 2 GiB; time per row <= that at 10M | "
                     f"did not complete: {len(huge.failures)} of {huge.attempts} runs failed (peak RSS "
                     f"{peak:,.0f} MiB before failing) | MISS |")
    elif huge and s_pq:
        per_row, per_row_10m = huge.median / huge.rows, s_pq.median / s_pq.rows
        rss_row("summary, 100M-row Parquet", huge, 2048, "completes, ")
        row("summary, 100M-row Parquet", "time per row <= that at 10M",
            f"{per_row * 1e9:.1f} ns vs {per_row_10m * 1e9:.1f} ns ({huge.median:.2f} s)", per_row <= per_row_10m,
            huge)
    elif not large:
        lines.append("| summary, 100M-row Parquet | completes, peak RSS <= 2 GiB; time per row <= that at "
                     "10M | not run (`make bench-large`) | - |")
    return ["| target | criterion | measured | result |", "| --- | --- | --- | --- |", *lines]


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem_text = f"{memory:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        mem_text = "unknown"
    return {"cores": str(os.cpu_count()), "memory": mem_text, "cpu": cpu,
            "os": f"{platform.system()} {platform.release()}"}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("duckdb", "pandas", "pyarrow", "scikit-learn", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:  # never lose a long run's measurements to a missing package
            out[dist] = "not installed"
    return out


def code_state() -> dict[str, str]:
    """Which code ran: the commit, whether analysis/ differs from it, and a hash of analysis/ as it is."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    state = {"analysis": digest.hexdigest()[:12], "commit": "unknown", "dirty": ""}
    try:
        state["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                         text=True, check=True).stdout.strip()
        state["dirty"] = subprocess.run(["git", "status", "--porcelain", "--", "analysis"], cwd=ROOT,
                                        capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return state


def save(results: list[Contender], meta: dict) -> None:
    """Keep the raw measurements (bench/data/ is not committed)."""
    LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**asdict(c), "path": relative(c.path)} for c in results]
    LAST_RUN.write_text(json.dumps({"meta": meta, "results": rows}, indent=1))


def restore() -> tuple[list[Contender], dict]:
    data = json.loads(LAST_RUN.read_text())
    return [Contender(**{**row, "path": ROOT / row["path"]}) for row in data["results"]], data["meta"]


def report(results: list[Contender], meta: dict) -> str:
    """RESULTS.md. ``meta``: ``large``, ``load`` (start, end), ``date``, ``machine`` and ``versions``."""
    m, v, load = meta["machine"], meta["versions"], meta["load"]
    code, code_end = meta["code"]
    code_line = f"Code: commit {code['commit']}" + (" with uncommitted changes in analysis/" if code["dirty"] else "")
    code_line += f" (analysis/ hash {code['analysis']})."
    if code_end["analysis"] != code["analysis"]:
        code_line += (f" **analysis/ changed during the run (hash {code_end['analysis']} at the end): these "
                      "figures mix two versions; run it again.**")
    naive_large = [c for c in results if c.name == "naive" and c.rows >= NAIVE_FEW_FROM]
    notes = [
        "- Each row is a whole process (start-up and imports included), the median of the timed runs after "
        "one warm-up; the contenders of one size alternate, round by round. Before each run the file is read "
        "once, untimed, so every run finds it in the page cache. Peak RSS is the largest of the "
        "timed runs. `CPU s` is the median user + system time (all threads), less sensitive than the wall "
        "time to other work on the machine.",
        "- `floor`: a process that only reads the file with pyarrow (`pyarrow.csv.read_csv` for the CSV, "
        "`pyarrow.parquet.read_table` for Parquet); `x floor` divides by the floor of the same file.",
        "- `naive`: `pandas.read_csv`, labels cast to `str`, `sklearn.metrics.confusion_matrix` per split; "
        "`naive / this` divides the naive time on the CSV of the same rows by this row's time.",
    ]
    if naive_large:
        runs = ", ".join(f"{len(c.seconds)} at {c.rows // 1_000_000}M rows" for c in naive_large)
        notes.append(f"- The naive baseline is slow, so it ran fewer times there, without a warm-up "
                     f"({runs}).")
    notes.append(f"- Load average (1 min) at the start and end of the run: {load[0]} and {load[1]}; other "
                 "work on the machine inflates the times.")
    lines = [
        "# Benchmarks: `errorscope summary`",
        "",
        f"Measured {meta['date']} with `python bench/run.py{' --large' if meta['large'] else ''}` "
        f"(`make bench{'-large' if meta['large'] else ''}`).",
        "",
        code_line,
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory']} of memory, {m['os']}.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        "Files (bench/gen.py, seeded, cached in bench/data/): 10 classes \"0\"..\"9\", splits train (70%), "
        "train_dev, dev, test (10% each), `id`, `y_true`, `y_pred`, `p_0`..`p_9` (summing to 1), `weight`.",
        "",
        "## Results",
        "",
        *table(results),
        "",
        *notes,
        *failures(results),
        "",
        "## Targets",
        "",
        *targets(results, meta["large"]),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also a 100M-row Parquet file")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per contender (default 5)")
    parser.add_argument("--naive-runs-large", type=int, default=2,
                        help="timed runs of the naive baseline at 10M rows and more (default 2)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="row counts (default 1M 10M)")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md", help="default bench/RESULTS.md")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: write the report of the last run (bench/data/last-run.json)")
    args = parser.parse_args()

    if args.report_only:
        results, meta = restore()
        text = report(results, meta)
        args.output.write_text(text)
        print(text)
        return 0
    load_start = f"{os.getloadavg()[0]:.2f}"
    code_start = code_state()
    results: list[Contender] = []
    for rows in args.sizes:
        contenders = contenders_for(rows, args.runs, args.naive_runs_large)
        print(f"{rows:,} rows", file=sys.stderr, flush=True)
        measure(contenders)
        results += contenders
    if args.large:
        pq_path = gen.generate(LARGE_ROWS, csv=False)[0]
        huge = Contender("summary", pq_path, "parquet", LARGE_ROWS,
                         [*errorscope_cmd(), "summary", relative(pq_path), "--json"], args.runs)
        print(f"{LARGE_ROWS:,} rows", file=sys.stderr, flush=True)
        measure([huge])
        results.append(huge)
    meta = {"large": args.large, "load": [load_start, f"{os.getloadavg()[0]:.2f}"],
            "date": date.today().isoformat(), "machine": machine(), "versions": versions(),
            "code": [code_start, code_state()]}
    save(results, meta)
    text = report(results, meta)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
