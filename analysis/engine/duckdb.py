"""The embedded default engine: DuckDB reads CSV and Parquet where they lie, out of core.

What is DuckDB's own lives here: the readers, Parquet's statistics and row numbers, and the fast ways to find
repeated ids (a sum of hashes for integer ids that form a range, a bitmap for dense ones).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from analysis.checks import Aggregate, integer_ids
from analysis.diagnose import first_line, read_error, scan_error
from analysis.errors import InputError
from analysis.limits import MAX_LINE_BYTES
from analysis.normalize import literal
from analysis.view import id_sql, ident

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from analysis.source import Source

#: Memory DuckDB may use before it spills to disk; ERRORSCOPE_MEMORY_LIMIT (e.g. "2GB") raises it.
MEMORY_LIMIT = os.environ.get("ERRORSCOPE_MEMORY_LIMIT", "512MB")


#: A CSV up to this size and about this many rows keeps its mistakes' rows in memory from the open (bench/REVIEW.md:
#: what it costs); one of mostly mistakes may still not fit, and is then scanned again without them.
KEEP_MAX_BYTES, KEEP_MAX_ROWS = 512 * 2**20, 3_000_000
#: Integer ids spanning up to this many values are checked for repeats in a bitmap (16 MiB at most, or a byte a row).
BITMAP_BITS = 2**27


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with errorscope's settings (spilling to the system's temp folder)."""
    spill = os.path.join(tempfile.gettempdir(), "errorscope-duckdb")
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": spill})
    con.execute("SET parquet_metadata_cache = true")  # the queries of one load read a Parquet footer once
    # A Parquet scan reads each page as it decodes it, not a whole row group's columns ahead: ahead, the reads fill
    # the memory limit, and each eviction hands the pages back to the system to be faulted in again (summary of the
    # 10M-row file: 0.77 s and 380 MiB before, 0.61 s and 160 MiB after)
    con.execute("SET disable_parquet_prefetching = true")
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false; "  # for query_progress()
                "SET progress_bar_time = 200")
    return con


def reader_sql(path: Path, fmt: str, *, numbered: bool = False, types: Mapping[str, str] | None = None) -> str:
    """DuckDB's table function reading the file; on a CSV, ``types`` pins the types of some columns.

    ``numbered`` asks Parquet for its row numbers, which slow a scan that does not need them by a fifth.
    """
    if fmt == "parquet":
        return f"read_parquet({literal(str(path))}, file_row_number = {str(numbered).lower()})"
    pinned = ", ".join(f"{literal(c)}: {literal(t)}" for c, t in (types or {}).items())
    return (f"read_csv({literal(str(path))}, delim = ',', quote = '\"', escape = '\"', header = true, "
            f"strict_mode = true, null_padding = false, encoding = 'utf-8', max_line_size = {MAX_LINE_BYTES}"
            f"{f', types = {{{pinned}}}' if pinned else ''})")


def _columns(result: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """A small query result as lists by column name, NULL as None (no pandas needed)."""
    names = [d[0] for d in result.description]
    rows = result.fetchall()
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


class DuckDB:
    """An open DuckDB connection and what errorscope asks of it (:class:`analysis.engine.Engine`)."""

    name = "duckdb"

    def __init__(self) -> None:
        self.con = connect()
        self._shared: dict[Path, str] = {}

    def __enter__(self) -> DuckDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.con.close()

    def _error(self, path: Path, fmt: str, exc: duckdb.Error, *, scanning: bool = False) -> InputError:
        oom = isinstance(exc, duckdb.OutOfMemoryException)
        make = scan_error if scanning else read_error
        return make(path, fmt, exc, out_of_memory=oom, memory_limit=MEMORY_LIMIT)

    def describe(self, path: Path, fmt: str) -> tuple[list[str], list[str]]:
        try:
            rows = self.con.execute(f"DESCRIBE SELECT * FROM {reader_sql(path, fmt)}").fetchall()
        except duckdb.Error as exc:
            raise self._error(path, fmt, exc) from exc
        names, types = [r[0] for r in rows], [r[1] for r in rows]
        if fmt == "parquet":  # the names as written: DuckDB renames a repeated one, which the loader refuses
            written = _parquet_names(self.con, path)
            names = written if len(written) == len(names) else names
        if fmt == "csv" and len(names) == 1 and "," not in names[0] and _first_byte(path) in (b"", b"\n"):
            raise InputError(f"{path}: the file is empty; it needs a header row and one row per example")
        return names, types

    def share(self, sources: Sequence[Source]) -> None:
        """Parse a CSV once for the queries of several sources of it (a multi-task file's tasks): its rows, numbered,
        in a temporary table that :meth:`table` then gives for each (a Parquet file is cheap to read again)."""
        first = sources[0]
        if first.format != "csv" or len(sources) < 2:
            return
        types = {k: v for s in sources for k, v in s.read_types().items()}
        read = reader_sql(first.path, "csv", types=types)
        name = f"__shared{len(self._shared)}"
        try:
            self.con.execute(f"CREATE TEMP TABLE {name} AS SELECT *, row_number() OVER () AS __row FROM {read}")
        except duckdb.Error as exc:
            raise self._error(first.path, "csv", exc, scanning=True) from exc
        self._shared[first.path] = name

    def table(self, source: Source, *, numbered: bool = True) -> str:
        if source.table:
            return source.table if numbered else f"(SELECT * EXCLUDE (__row) FROM {source.table})"
        if source.path in self._shared and source.format == "csv":
            read = self._shared[source.path]  # numbered already
            return source.cut.sql(read, numbered=numbered) if source.cut else read
        read = reader_sql(source.path, source.format, numbered=numbered, types=source.read_types())
        if numbered and source.format == "parquet":
            read = f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS __row FROM {read})"
        elif numbered:
            read = f"(SELECT *, row_number() OVER () AS __row FROM {read})"
        return source.cut.sql(read, numbered=numbered) if source.cut else read

    def keep(self, source: Source, where: str, extend: Callable[[Source, str], str | None] | None = None,
             name: str = "__kept") -> tuple[Source, int]:
        """Copy the rows of the file that meet ``where`` (its columns and ``__row``, with the columns ``extend`` adds:
        :func:`analysis.load.load_split`) into an engine-side table, in one read; the source returned reads that
        table instead of the file, and the number of rows copied. The rows are numbered, so they are copied in any
        order (faster: the threads need not merge their parts in the file's order)."""
        rows = f"(SELECT * FROM {self.table(source)} WHERE {where})"
        query = (extend and extend(source, rows)) or f"SELECT * FROM {rows}"
        try:
            self.con.execute("SET preserve_insertion_order = false")
            copied = self.con.execute(f"CREATE TEMP TABLE {ident(name)} AS {query}").fetchone()[0]
        except duckdb.Error as exc:
            raise self._error(source.path, source.format, exc, scanning=True) from exc
        finally:
            self.con.execute("RESET preserve_insertion_order")
        return replace(source, table=ident(name)), copied

    def scan(self, source: Source, sql: str, apart: Sequence[Aggregate], raw: str, plain: str | None = None
             ) -> dict[str, list]:
        """On Parquet, bounds and null counts come from the file's statistics and the row checks from a plain
        scan of their columns (faster than inside the GROUP BY); on a CSV, which is slow to read twice, the
        grouped ``sql`` holds them all and nothing runs ``apart`` (with ``sql`` None, all run in one plain scan); a
        copy in a table (:meth:`keep`) has no statistics, and all those ``apart`` run in one plain scan of it.
        The kept mistakes come as ``kept``, an Arrow table (:meth:`keeps_mistakes`); when they do not fit in memory
        (a file of mostly mistakes), the scan ``plain`` (without them) runs instead."""
        try:
            groups = self._kept_scan(sql) if plain else None
            if groups is None:
                sql = plain or sql
                groups = _columns(self.con.execute(sql)) if sql is not None else {}
            kinds = ("stats", "rows") if source.format == "parquet" and not source.table else (None,)
            for kind in kinds:
                rest = [a for a in apart if kind is None or a.whole_file == kind]
                if rest:
                    groups |= self.fetch(f"SELECT {', '.join(f'{a.sql} AS {a.name}' for a in rest)} FROM ({raw})")
        except duckdb.Error as exc:
            raise self._error(source.path, source.format, exc, scanning=True) from exc
        return groups

    def _kept_scan(self, sql: str) -> dict[str, list] | None:
        """The grouped scan with its ``kept`` lists as one Arrow table (not Python objects); None when out of memory."""
        try:
            self.con.execute(f"CREATE TEMP TABLE __scan AS {sql}")
            groups = _columns(self.con.execute("SELECT * EXCLUDE (kept) FROM __scan"))
            groups["kept"] = self.con.sql("SELECT unnest(flatten(list(kept)), recursive := true) FROM __scan"
                                          ).to_arrow_table()
            return groups
        except duckdb.OutOfMemoryException:
            return None
        finally:
            self.con.execute("DROP TABLE IF EXISTS __scan")

    def keeps_mistakes(self, source: Source) -> bool:
        """Whether the load's scan keeps the rows of the mistakes (``kept``, an Arrow table among the scan's
        results): for a single-task CSV up to :data:`KEEP_MAX_BYTES`, so that a review sample reads nothing
        (a Parquet file's mistakes are read when asked for, quickly: :func:`analysis.load.mistake_rows`)."""
        from analysis.load import estimated_rows

        if source.format != "csv" or source.cut is not None or source.path.stat().st_size > KEEP_MAX_BYTES:
            return False
        return (estimated_rows(source.path) or 0) <= KEEP_MAX_ROWS

    def grouped(self, source: Source, aggregates: Sequence[Aggregate]) -> list[Aggregate]:
        """The aggregates the grouped scan computes: all on a CSV, plus the sum of integer ids' hashes there."""
        if source.format == "parquet":
            return [a for a in aggregates if a.whole_file is None]
        if integer_ids(source):
            return [*aggregates, Aggregate("id_hash", "sum(hash(__id))", "sum", "rows")]
        return list(aggregates)

    def fetch(self, sql: str) -> dict[str, list]:
        return _columns(self.con.execute(sql))

    def progress(self) -> float | None:
        """How far the running query is, 0 to 1, as DuckDB estimates it (None when unknown); called from another
        thread while the query runs."""
        value = self.con.query_progress()
        return min(value / 100, 1.0) if value >= 0 else None

    def duplicate_ids(self, source: Source, groups: Mapping[str, list]) -> int:
        if "id_hash" in groups and self._ids_are_a_range(groups):
            return 0
        return self.con.execute(self._duplicates_sql(source, groups)).fetchone()[0]

    def _ids_are_a_range(self, groups: Mapping[str, list]) -> bool:
        """Whether the integer ids are lo..hi, each once, so that the scan for duplicates can be skipped.

        n ids between lo and hi = lo + n - 1 are those numbers each once exactly when none is repeated; then the
        sum of their hashes (taken in the main scan) equals that of lo..hi, while ids with a repeat match it only
        through a collision of 64-bit hashes, about one chance in 2**64. Row numbers and most dataset indexes are
        such ranges.
        """
        lo, hi, n = min(groups["min_id"]), max(groups["max_id"]), sum(groups["n"])
        if hi - lo + 1 != n or lo < -(2**63) or hi >= 2**63 - 1:
            return False
        found = self.con.execute(f"SELECT sum(hash(range)) FROM range({lo}, {hi + 1})").fetchone()[0]
        return found == sum(groups["id_hash"])

    def _duplicates_sql(self, source: Source, groups: Mapping[str, list]) -> str:
        """Integer ids in a dense range (as row numbers are), or in a range of up to :data:`BITMAP_BITS` (one split's
        ids among a file's), set one bit each in a bitmap, several times faster than hashing them; other ids are
        counted distinct (integers as they are, text normalized)."""
        read = self.table(source, numbered=False)
        if not integer_ids(source):
            return f"SELECT count(*) - count(DISTINCT {id_sql(source)}) FROM {read}"
        col = ident(source.columns.id)
        lo, hi = int(min(groups["min_id"])), int(max(groups["max_id"]))
        if hi - lo < max(8 * sum(groups["n"]), BITMAP_BITS):
            return f"SELECT count(*) - bit_count(bitstring_agg({col} - {lo}, 0, {hi - lo})) FROM {read}"
        return f"SELECT count(*) - count(DISTINCT {col}) FROM {read}"

    def arrays(self, sql: str) -> dict[str, np.ndarray]:
        try:
            got = self.con.execute(sql).fetchnumpy()
        except duckdb.Error as exc:
            raise InputError(first_line(exc)) from exc
        return {name: _unmasked(values) for name, values in got.items()}

    def register(self, name: str, columns: Mapping[str, np.ndarray]) -> None:
        self.con.register(name, dict(columns))

    def arrow(self, sql: str) -> pa.Table:
        """A large query's result as an Arrow table (cheaper to take than NumPy arrays: :mod:`analysis.wide`)."""
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise InputError(first_line(exc)) from exc

    def frame(self, sql: str, params: Sequence[object] = (), *, frames: Mapping[str, object] | None = None,
              views: Mapping[str, str] | None = None) -> pd.DataFrame:
        try:
            for name, value in (frames or {}).items():
                self.con.register(name, value)
            for name, query in (views or {}).items():
                self.con.execute(f"CREATE TEMP VIEW {ident(name)} AS {query}")
            return self.con.execute(sql, list(params)).df()
        except duckdb.Error as exc:
            raise InputError(first_line(exc)) from exc


def _unmasked(values: np.ndarray) -> np.ndarray:
    """A fetched column with its NULLs (a masked array's masked entries) as NaN or None."""
    if not isinstance(values, np.ma.MaskedArray):
        return np.asarray(values)
    if values.dtype.kind == "f":
        return values.filled(np.nan)
    out = np.ma.getdata(values).astype(object)
    out[np.ma.getmaskarray(values)] = None  # not filled(None), which fills with the dtype's default
    return out


def _parquet_names(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The top-level column names of a Parquet file as its footer writes them (a nested column's children skipped)."""
    rows = con.execute("SELECT name, num_children FROM parquet_schema(?)", [str(path)]).fetchall()
    names, i = [], 1

    def past(j: int) -> int:  # the index after the subtree at j
        end = j + 1
        for _ in range(rows[j][1] or 0):
            end = past(end)
        return end

    while i < len(rows):
        names.append(rows[i][0])
        i = past(i)
    return names


def _first_byte(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(1)
