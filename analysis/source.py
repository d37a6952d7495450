"""A predictions file: where it lies, its format, its columns with their engine types, and each column's role."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse
from urllib.request import url2pathname

from analysis.columns import ColumnMap, detect_columns
from analysis.errors import ErrorscopeError, InputError
from analysis.limits import MAX_COLUMNS, bounded_csv, too_wide


def ident(name: str) -> str:
    """``name`` quoted as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class Uri(str):
    """A file or folder named by a URI (``s3a://``, ``hdfs://``, ``gs://``, ``abfss://``, ``file://`` ...), kept as
    written: the Spark engine hands it to Spark, which reads it where it lies."""

    @property
    def scheme(self) -> str:
        return _SCHEME.match(self).group(1).lower()

    @property
    def name(self) -> str:
        return self.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> Uri:
        return Uri(self.rstrip("/").rsplit("/", 1)[0])

    @property
    def suffixes(self) -> list[str]:
        return PurePosixPath(self.name).suffixes


def location(path: str | os.PathLike, engine: str = "duckdb") -> Path | Uri:
    """Where a predictions file lies: a local path, or a URI that the Spark engine reads as it is.

    DuckDB reads local files only: a ``file://`` URI becomes its local path, other schemes are refused with what
    to do instead.
    """
    if isinstance(path, (Path, Uri)):
        return path
    found = _SCHEME.match(os.fspath(path))
    if not found:
        return Path(path)
    if engine == "spark":
        return Uri(path)
    if found.group(1).lower() == "file":
        return Path(url2pathname(urlparse(os.fspath(path)).path))
    raise InputError(f"{path}: DuckDB reads files on this machine only; read it where it lies with --engine spark "
                     "(pip install 'errorscope[spark]'; s3a:// also needs Spark's hadoop-aws package), or copy it "
                     "here first")


#: The type of columns read as text whatever their values look like: labels are text (no type guessed from a
#: sample), and so are splits, texts and image paths.
TEXT = "VARCHAR"


@dataclass(frozen=True)
class Cut:
    """One task's rows of a multi-task file (:mod:`analysis.tasks`): a projection of the file's columns to the
    columns of a single-task file, and the condition that keeps the task's rows.

    ``columns`` holds (name, SQL expression over the file's columns, the file's column it copies or None); the
    engine applies the cut after numbering the file's rows, so ``__row`` stays the file's row. ``pinned`` names
    more of the file's columns that a CSV reader must read as text (labels the cut computes from).
    """

    task: str
    columns: tuple[tuple[str, str, str | None], ...]
    where: str | None = None
    pinned: tuple[str, ...] = ()

    def origin(self, name: str) -> str | None:
        """The file's column that ``name`` copies (None for a computed column)."""
        return next((o for n, _, o in self.columns if n == name), None)

    def sql(self, table: str, *, numbered: bool) -> str:
        """``table`` (the file's rows) cut to this task."""
        cols = (["__row"] if numbered else []) + [f"{expr} AS {ident(name)}" for name, expr, _ in self.columns]
        return f"(SELECT {', '.join(cols)} FROM {table}{f' WHERE {self.where}' if self.where else ''})"


@dataclass(frozen=True)
class Source:
    """A predictions file and what it holds; no data is read beyond its header or schema.

    ``types`` are the engine's types of ``names``; on a CSV, the columns in :meth:`text_columns` are read as text.
    ``table`` names an engine-side table that holds the rows already read (with ``__row``, the file's row), which
    the engine then reads instead of the file (:func:`analysis.load.load_split`); None reads the file.
    """

    path: Path
    format: str
    names: tuple[str, ...]
    types: tuple[str, ...]
    columns: ColumnMap
    cut: Cut | None = None
    table: str | None = None

    @property
    def task(self) -> str | None:
        """The task of a multi-task file this source is cut to (None for a single-task file)."""
        return self.cut.task if self.cut else None

    @cached_property
    def typed(self) -> dict[str, str]:
        """Each column's type by name."""
        return dict(zip(self.names, self.types, strict=True))

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def probs(self) -> list[tuple[str, str]]:
        """(class, column) of each ``p_*`` column, in the file's order (the order of argmax ties)."""
        return list(self.columns.probs.items())

    def read_types(self) -> dict[str, str]:
        """The types a CSV reader must give: text for :func:`text_columns`, and the id column's type as described
        (sniffed again with the label columns pinned, a column of ``"\t1"`` may come out as text instead)."""
        types = dict.fromkeys(text_columns(self.columns), TEXT)
        if self.format == "csv" and self.columns.id is not None:
            types.setdefault(self.columns.id, self.typed[self.columns.id])
        if self.cut is None:
            return types
        cut = {self.cut.origin(n): t for n, t in types.items() if self.cut.origin(n) is not None}
        return cut | dict.fromkeys(self.cut.pinned, TEXT)



def text_columns(cm: ColumnMap) -> tuple[str, ...]:
    """The columns a CSV reader must read as text: the labels, the split, the text and the image."""
    return tuple(c for c in (cm.y_true, cm.y_pred, cm.split, cm.text, cm.image) if c is not None)


def file_format(path: Path | Uri) -> str:
    """``"csv"`` or ``"parquet"`` (by suffix or magic bytes), refusing what cannot be a predictions file.

    A URI is not opened here: it is a CSV when its name ends in ``.csv``, else Parquet (a file, or a folder of the
    part files Spark writes).
    """
    if isinstance(path, Uri):
        return "csv" if ".csv" in [s.lower() for s in path.suffixes] else "parquet"
    if not path.exists():
        raise InputError(f"{path}: no such file; give the path of a CSV or Parquet file of predictions")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give the path of a CSV or Parquet file inside it")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty; it needs a header row and one row per example")
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    with path.open("rb") as fh:
        if fh.read(4) == b"PAR1":
            return "parquet"
    return "csv"


def csv_header(path: Path) -> list[str]:
    """A CSV's header as written (an engine may rename repeated names), reading no further than its first record.

    Empty when the first record cannot be parsed: the engine's read then says what is wrong.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return next(bounded_csv(fh, str(path)), [])
    except ErrorscopeError as exc:  # a header line over the limit
        raise InputError(str(exc)) from None
    except (UnicodeDecodeError, csv.Error):
        return []


def written_names(path: Path, fmt: str) -> list[str]:
    """The column names a CSV's header writes (engines rename repeated ones), before an engine reads the file.

    Empty for Parquet, whose footer the engine reads cheaply, and when they cannot be read: the engine's read then
    says what is wrong.
    """
    if fmt != "csv" or isinstance(path, Uri):  # a Parquet footer's names come with the engine's schema
        return []
    return csv_header(path)


def check_names(path: Path, names: Sequence[str]) -> None:
    """Refuse a header wider than :data:`~analysis.limits.MAX_COLUMNS` or naming a column twice.

    Columns are matched case-insensitively, so ``y_true`` and ``Y_TRUE`` are one name; a repeated name would
    be read from one of its columns without a word.
    """
    if len(names) > MAX_COLUMNS:
        raise InputError(f"{path}: {too_wide(len(names))}")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        first = names[seen.setdefault(name.strip().casefold(), i)]
        if seen[name.strip().casefold()] != i:
            same = "twice" if first == name else f"as {first!r} and {name!r}"
            raise InputError(f"{path}: the header names the column {first!r} {same} (names are matched "
                             "case-insensitively); give every column a name of its own")


def make_source(path: str | os.PathLike, fmt: str, names: list[str], types: list[str],
                overrides: Mapping[str, str | None] | None = None, cut: Cut | None = None) -> Source:
    """The :class:`Source` of a file whose schema an engine has read; CSV label columns become text.

    With a ``cut``, ``names`` and ``types`` are those of the cut's columns.
    """
    path = location(path)
    where = f"{path} [task {cut.task}]" if cut else str(path)
    cmap = detect_columns(names, overrides, source=where)
    text = set(text_columns(cmap)) if fmt == "csv" else set()
    return Source(path, fmt, tuple(names), tuple(TEXT if n in text else t for n, t in zip(names, types, strict=True)),
                  cmap, cut)
