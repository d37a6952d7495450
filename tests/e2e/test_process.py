"""Stopping `errorscope app` stops the Streamlit server it started (no browser needed)."""

from __future__ import annotations

import os
import signal
import socket

import pytest

from tests.e2e.conftest import Server, poll


def _refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_errorscope_app_stops_the_server(tmp_path, demo_path, sig):
    # a runner started with SIGINT ignored (a background job of a script) would pass that on to the server it starts
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server = Server(["app", str(demo_path)], tmp_path / "tags.db", tmp_path).start()  # polls the health check
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        server.proc.send_signal(sig)  # to the errorscope process only, as a service manager or Ctrl+C in a shell
        poll(lambda: _refused(server.url), timeout=30, what="the port to refuse connections")
        assert server.proc.wait(timeout=30) == 0
    finally:
        server.stop()
        try:  # a server left running by a failure: the errorscope process is gone, its group may not be
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
