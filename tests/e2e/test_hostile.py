"""The real server against hostile uploads: a huge single line costs bounded memory, the message names the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Server, go

UPLOAD_MB = 60


def _streamlit_pid(server: Server) -> int:
    """The Streamlit process that ``errorscope demo`` started (its only child)."""
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def _memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_a_single_line_upload_is_refused_in_bounded_memory(page, tmp_path):
    huge = tmp_path / "one-line.csv"
    with huge.open("w") as fh:
        fh.write("id,y_true,y_pred")
        fh.write(",x" * (UPLOAD_MB * 2**19))
    server = Server(["demo"], tmp_path / "tags.db", tmp_path).start()
    try:
        go(page, server, "Data")
        pid = _streamlit_pid(server)
        environ = dict(v.split("=", 1) for v in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in v)
        uploads = Path(environ["ERRORSCOPE_UPLOAD_DIR"])
        before = _memory_mb(pid, "VmRSS")
        page.get_by_text("Upload", exact=True).click()
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(huge))
        alert = page.locator("[data-testid=stAlertContentError]")
        alert.wait_for(timeout=60_000)
        assert "line 1 is longer than 2 MiB" in alert.inner_text().replace("\\", "")
        grew = _memory_mb(pid, "VmHWM") - before
        print(f"server peak grew by {grew:.0f} MB for a {UPLOAD_MB} MB upload")
        assert grew < 3 * UPLOAD_MB  # Streamlit holds the upload itself (about twice its size); errorscope adds
        assert [p.name for p in uploads.glob("*/*")] == ["one-line.csv"]  # no copy of it, reads 2 MiB of its line
    finally:
        server.stop()
    assert not uploads.exists()  # the run's uploads are deleted when it stops
