"""Which files a shared server may open for its users: those under a data root, and the ones it was started with.

A path typed into the app is resolved (symlinks followed) before it is compared, so ``..`` and links cannot lead
out; the message for a path outside names only the path and the root, never anything read from the file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from analysis.errors import InputError

_UNSAFE = re.compile(r"[^\w.\- ]+")
#: Longest file name an upload is stored under (most file systems allow 255 bytes).
MAX_NAME_CHARS = 100


def confine(path: str | os.PathLike[str], root: str | os.PathLike[str], also: Iterable[str | os.PathLike[str]] = ()
            ) -> Path:
    """The resolved ``path`` when it lies under ``root`` or is one of ``also``; else an InputError.

    >>> try:
    ...     confine("/etc/passwd", "/srv/data")
    ... except InputError as exc:
    ...     print(str(exc).split(";")[0])
    /etc/passwd: outside the data folder /srv/data
    """
    given = Path(path).expanduser()
    target = given.resolve() if given.is_absolute() else (Path(root).resolve() / given).resolve()
    base = Path(root).resolve()
    if target.is_relative_to(base) or target in {Path(a).resolve() for a in also}:
        return target
    raise InputError(f"{given}: outside the data folder {base}; open files under it (the server's --data-root)")


def upload_path(folder: str | os.PathLike[str], name: str) -> Path:
    """Where an uploaded file of ``name`` is stored in ``folder``: a short, plain file name with its suffix.

    >>> len(upload_path("/tmp/u", "a" * 300 + ".csv").name)
    104
    >>> upload_path("/tmp/u", "my predictions (1).csv").name
    'my predictions 1.csv'
    """
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("", stem).strip(" .")[:MAX_NAME_CHARS] or "upload"
    suffix = _UNSAFE.sub("", suffix)[:10]
    return Path(folder) / (f"{stem}.{suffix}" if suffix else stem)


def upload_folder() -> Path:
    """A new private folder for an upload: under ``ERRORSCOPE_UPLOAD_DIR`` (which ``errorscope app`` makes and
    deletes when it stops) or else the system's temp folder."""
    parent = os.environ.get("ERRORSCOPE_UPLOAD_DIR") or None
    return Path(tempfile.mkdtemp(prefix="errorscope-upload-", dir=parent))
