"""The limits on what errorscope reads from a user's files: the longest line, the widest file, the largest upload.

Every read of user input is bounded by one of these, and a file beyond a limit is refused with a message that
names the limit, before it is read whole.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Final

from analysis.errors import ErrorscopeError

#: The longest line (in bytes for a predictions file, characters for a sheet) errorscope reads; DuckDB's own
#: ``max_line_size`` is set to it, and the sheet reader and the CSV diagnosis stop at it.
MAX_LINE_BYTES: Final = 2 * 1024 * 1024
#: The most columns a predictions file or a tag sheet may have (a thousand classes with their ``p_*`` columns
#: are far below it).
MAX_COLUMNS: Final = 10_000
#: The largest file the app accepts as an upload, in megabytes (Streamlit's ``server.maxUploadSize``, its default).
MAX_UPLOAD_MB: Final = 200


def size_text(count: int) -> str:
    """A byte count as people read it.

    >>> size_text(MAX_LINE_BYTES), size_text(512)
    ('2 MiB', '512 bytes')
    """
    if count >= 2**20 and count % 2**20 == 0:
        return f"{count // 2**20:,} MiB"
    return f"{count:,} bytes"


def line_too_long(line: int) -> str:
    """The message for a line over :data:`MAX_LINE_BYTES`."""
    return (f"line {line} is longer than {size_text(MAX_LINE_BYTES)}, the longest line errorscope reads; "
            "keep long texts in files of their own and give their paths")


def too_wide(columns: int) -> str:
    """The message for a header of more than :data:`MAX_COLUMNS` columns."""
    return (f"the header has {columns:,} columns, more than the {MAX_COLUMNS:,} errorscope reads; "
            "keep one p_<class> column per class and move other data to a file of its own")


def bounded_lines(fh: IO[str], name: str) -> Iterator[str]:
    """The lines of a text file, refusing (ErrorscopeError naming ``name``) a line over :data:`MAX_LINE_BYTES`.

    A line is never held longer than the limit, however long it is in the file.

    >>> import io
    >>> list(bounded_lines(io.StringIO("a,b\\n1,2"), "t.csv"))
    ['a,b\\n', '1,2']
    """
    number = 0
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise ErrorscopeError(f"{name}: {line_too_long(number)}")
        yield line


def bounded_csv(fh: IO[str], name: str, **options: object) -> Iterator[list[str]]:
    """``csv.reader`` over :func:`bounded_lines`: no line held longer than :data:`MAX_LINE_BYTES`, and a field as
    long as a line (the ``csv`` module's field limit is raised to it, process-wide)."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    return csv.reader(bounded_lines(fh, name), **options)
