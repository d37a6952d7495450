"""Every read of user input is bounded: a file with one huge line costs no more memory than a small one.

Each run is a real ``errorscope`` process; its peak resident memory is read with ``getrusage`` by a
wrapper process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("errorscope")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "analysis.cli"]
LINE_MB = 80
#: The peak of a process reading a tiny file is near 100 MB (Python, DuckDB, pandas); an 80 MB line read whole
#: (as a str, then split) cost several times its size before the reads were bounded.
PEAK_MB = 300


def _peak_run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI in a child whose peak memory alone is measured (a wrapper reports its own child's peak)."""
    code = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", code, *COMMAND, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)
    *lines, peak_kb = proc.stderr.splitlines()
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, "\n".join(lines)), int(peak_kb) / 1024


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("huge")
    with (folder / "line.csv").open("w") as fh:  # one line of 80 MB, no newline
        fh.write("id,y_true,y_pred")
        fh.write(",x" * (LINE_MB * 2**19))
    with (folder / "field.csv").open("w") as fh:  # a valid CSV whose one text field is 80 MB
        fh.write("id,y_true,y_pred,text\n1,a,a,")
        fh.write("x" * (LINE_MB * 2**20))
        fh.write("\n2,a,b,short\n")
    (folder / "preds.csv").write_text("id,y_true,y_pred\n1,a,a\n2,a,b\n")
    with (folder / "sheet.csv").open("w") as fh:
        fh.write("id,note\n1,")
        fh.write("x" * (LINE_MB * 2**20))
        fh.write("\n")
    return folder


@pytest.mark.parametrize(("args", "expected"), [
    (["summary", "line.csv"], "line.csv: line 1 is longer than 2 MiB, the longest line errorscope reads"),
    (["summary", "field.csv"], "field.csv: line 2 is longer than 2 MiB, the longest line errorscope reads"),
    (["tags", "import", "preds.csv", "sheet.csv", "--db", "t.db", "--dataset", "d"],
     "sheet.csv: line 2 is longer than 2 MiB, the longest line errorscope reads"),
])
def test_one_huge_line_is_refused_with_its_limit_in_bounded_memory(huge, args, expected):
    proc, peak_mb = _peak_run(args, huge)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.splitlines()[-1]  # after the progress line of a file over 50 MB
    assert last.startswith("error: ") and expected in last, proc.stderr
    print(f"{args[0]} {args[1]}: peak {peak_mb:.0f} MB")
    assert peak_mb < PEAK_MB, f"peak {peak_mb:.0f} MB"
