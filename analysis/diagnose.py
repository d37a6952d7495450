"""Engine and parser errors turned into clear messages: the file, where in it, and what to do."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from analysis.errors import ErrorscopeError, InputError
from analysis.limits import MAX_COLUMNS, bounded_csv, too_wide


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (engines add context lines a user does not need)."""
    return str(exc).strip().splitlines()[0]


def where(fmt: str, rows: Sequence[int]) -> str:
    """How a message names rows: file lines for a CSV (the header is line 1), 1-based rows for Parquet.

    >>> where("csv", [1, 4]), where("parquet", [2])
    ('lines 2, 5', 'row 2')
    """
    if fmt == "csv":
        return "line" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r + 1) for r in rows)
    return "row" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r) for r in rows)


def read_error(path: Path, fmt: str, exc: BaseException, *, out_of_memory: bool = False,
               memory_limit: str = "") -> InputError:
    """A clear message for a file the engine could not read."""
    text = str(exc)
    if out_of_memory:
        return InputError(f"{path}: ran out of memory reading it (limit {memory_limit}); set "
                          "ERRORSCOPE_MEMORY_LIMIT higher (e.g. 2GB), or write the file with smaller row groups")
    if fmt == "parquet":
        return InputError(f"{path}: not a readable Parquet file ({first_line(exc)}); write it again or use CSV")
    line = re.search(r"CSV Error on Line: (\d+)", text)
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if line and fields:
        return InputError(f"{path}: line {line.group(1)} has {fields.group(2)} fields but the header has "
                          f"{fields.group(1)}; quote values that contain commas")
    if "not utf-8" in text.lower() or "unicode" in text.lower():
        at = f" (line {line.group(1)})" if line else ""
        return InputError(f"{path}: the file is not UTF-8{at}; save it as UTF-8 and load it again")
    found = diagnose_csv(path)
    if found:
        return InputError(f"{path}: {found}")
    return InputError(f"{path}: could not read the CSV: {first_line(exc)}")


def scan_error(path: Path, fmt: str, exc: BaseException, **kwargs: object) -> InputError:
    """A clear message for a read that failed part-way, such as a value the column's type cannot hold."""
    text = str(exc)
    conv = re.search(r"""converting column "(.*?)"\. Could not convert string "(.*?)" to '(\w+)'""", text)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if conv and line:
        column, value, sql_type = conv.groups()
        return InputError(f"{path}: column {column!r} has {value!r} at line {line.group(1)} where the rows above "
                          f"hold {sql_type.lower()} values; fix that value")
    return read_error(path, fmt, exc, **kwargs)  # type: ignore[arg-type]


def spark_read_error(scheme: str | None, text: str, first: str) -> str:
    """What to say of a file Spark could not read, from its error's ``text`` (``first``: its first line); ``scheme``
    is the file's URI scheme (None for a local path).

    >>> spark_read_error("gs", 'UnsupportedFileSystemException: No FileSystem for scheme "gs"', "")[:49]
    'this Spark has no file system for gs:// URIs; add'
    """
    if scheme and re.search(r"No FileSystem for scheme|ClassNotFoundException: Class \S+FileSystem not found", text):
        add = ('the hadoop-aws package to Spark (e.g. PYSPARK_SUBMIT_ARGS="--packages '
               'org.apache.hadoop:hadoop-aws:<its Hadoop version> pyspark-shell")' if scheme.startswith("s3")
               else f"the Hadoop connector of {scheme}:// to Spark's jars")
        return f"this Spark has no file system for {scheme}:// URIs; add {add} or copy the file here first"
    if "PATH_NOT_FOUND" in text or "FileNotFoundException" in text:
        return "no such file; give the path or URI of a CSV or Parquet file (or a folder of Parquet files)"
    if "Malformed" in text or "MALFORMED" in text:
        return ("a row does not match the types of the first rows (or has the wrong number of fields); fix that "
                "row or quote values that contain commas")
    return f"Spark could not read it: {first}"


def diagnose_csv(path: Path) -> str | None:
    """Find the first line of a CSV that breaks the format (used only after the engine failed to read it).

    No line is held longer than :data:`analysis.limits.MAX_LINE_BYTES`, and a field may be as long as a line.
    """
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = bounded_csv(fh, str(path), strict=True)
            header = next(reader, None)
            if not header:
                return "the file is empty; it needs a header row and one row per example"
            if len(header) > MAX_COLUMNS:
                return too_wide(len(header))
            for row in reader:
                if len(row) != len(header):
                    return (f"line {reader.line_num} has {len(row)} fields but the header has {len(header)}; "
                            "quote values that contain commas")
    except UnicodeDecodeError:
        return "the file is not UTF-8; save it as UTF-8 and load it again"
    except ErrorscopeError as exc:  # a line over the limit
        return str(exc).removeprefix(f"{path}: ")
    except csv.Error as exc:
        return f"not a valid CSV at line {reader.line_num}: {exc}"
    return None
