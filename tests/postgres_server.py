"""A throwaway PostgreSQL server for the tests: a new cluster in a temporary folder, on 127.0.0.1 only.

Used by tests/conftest.py (when no server is given) and by .ci/run::

    python3 tests/postgres_server.py start   # prints: <url> <folder>
    python3 tests/postgres_server.py stop <folder>

Only the standard library: CI calls it before the project's environment exists. PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

USER = "errorscope"  # the cluster's superuser; trust authentication, so no password


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (on PATH, else Debian's newest), or None when PostgreSQL is not here."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(f.split("/")[-2]))
    return Path(folders[-1]) if folders and Path(folders[-1], "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def start() -> tuple[str, Path]:
    """Start a new cluster; return its URL and its folder (give the folder to :func:`stop`)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb)")
    folder = Path(tempfile.mkdtemp(prefix="errorscope-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
    data, port = folder / "data", _free_port()
    _run([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--no-sync", "-E", "UTF8",
          "--locale=C"])
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=60"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"])
    return f"postgresql://{USER}@127.0.0.1:{port}/postgres", folder


def stop(folder: Path) -> None:
    """Stop the cluster started in ``folder`` and delete it."""
    bin_dir = binaries()
    if bin_dir is not None and (folder / "data" / "postmaster.pid").exists():
        _run([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"])
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["start"]:
        url, where = start()
        print(url, where)
    elif sys.argv[1:2] == ["stop"] and len(sys.argv) == 3:
        stop(Path(sys.argv[2]))
    else:
        sys.exit("usage: postgres_server.py start | stop FOLDER")
