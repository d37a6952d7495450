"""Read a predictions file (CSV or Parquet) into a validated :class:`Predictions`.

DuckDB reads the file where it lies, out of core: one scan both validates it and builds the count table, and the
per-example views (the mistakes of a split, one page at a time) are filtered queries over the same file. Nothing
is half-loaded: any problem raises :class:`~analysis.errors.InputError` before a :class:`Predictions` exists.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from analysis.columns import ColumnMap, detect_columns
from analysis.counts import CountTable, aggregate_sql
from analysis.errors import ErrorscopeError, InputError
from analysis.normalize import (
    FLOAT_TYPE,
    INTEGER_TYPE,
    SPLIT_ALIASES,
    SPLITS,
    label_sql,
    literal,
    natural_key,
    split_name,
)

if TYPE_CHECKING:
    import pandas as pd

#: How far probabilities may stray outside [0, 1], and a row's sum from 1, before the file is refused.
PROB_TOLERANCE = 0.01
#: Memory DuckDB may use before it spills to disk; ERRORSCOPE_MEMORY_LIMIT (e.g. "2GB") raises it.
MEMORY_LIMIT = os.environ.get("ERRORSCOPE_MEMORY_LIMIT", "512MB")
SHOWN_ROWS = 5



def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with errorscope's settings (spilling to the system's temp folder)."""
    spill = os.path.join(tempfile.gettempdir(), "errorscope-duckdb")
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": spill})
    con.execute("SET parquet_metadata_cache = true")  # the queries of one load read a Parquet footer once
    return con


def ident(name: str) -> str:
    """``name`` quoted as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, eq=False)
class Predictions:
    """A validated predictions file: its column roles, classes and count table, and queries for its rows.

    Build one with :func:`load_predictions`. It holds no open connection and pickles cheaply.
    """

    path: Path
    format: str
    columns: ColumnMap
    names: tuple[str, ...]
    types: tuple[str, ...]
    counts: CountTable

    @property
    def classes(self) -> tuple[str, ...]:
        return self.counts.classes

    @property
    def rows(self) -> int:
        return self.counts.rows

    @property
    def splits(self) -> tuple[str, ...]:
        return self.counts.splits

    @property
    def folder(self) -> Path:
        return self.path.parent

    def view_sql(self) -> str:
        """A SELECT giving every row with normalized columns.

        ``row`` (1-based position in the file), ``id`` (text), ``split`` (canonical), ``y_true`` (text or NULL),
        ``y_pred``, ``weight``, ``confidence`` (probability of the predicted class, NULL without ``p_*``),
        ``text``, ``image``, then the metadata columns under their own names.
        """
        return _view_sql(self.path, self.format, self.columns, dict(zip(self.names, self.types, strict=True)))

    def query(self, sql: str, params: Sequence[object] = (), *, frames: Mapping[str, object] | None = None
              ) -> pd.DataFrame:
        """Run ``sql``, in which ``preds`` names the normalized view (see :meth:`view_sql`).

        ``frames`` are small in-memory tables (pandas or Arrow: tags, ids) to join with it, each under its name.
        """
        con = connect()
        try:
            for name, frame in (frames or {}).items():
                con.register(name, frame)
            con.execute(f"CREATE TEMP VIEW preds AS {self.view_sql()}")
            return con.execute(sql, list(params)).df()
        except duckdb.Error as exc:
            raise InputError(f"{self.path}: {_first_line(exc)}") from exc
        finally:
            con.close()


def check_split(preds: Predictions, split: str) -> str:
    """The canonical name of ``split`` (aliases such as ``val`` accepted), refusing one the file lacks."""
    if not isinstance(split, str):
        raise ErrorscopeError(f"split must be a string such as 'dev', got {split!r}")
    canonical = split_name(split)
    if canonical is None:
        raise ErrorscopeError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if canonical not in preds.splits:
        raise ErrorscopeError(f"{preds.path}: no split {split!r}; the file has {', '.join(preds.splits)}")
    return canonical


def load_predictions(path: str | os.PathLike, *, columns: Mapping[str, str | None] | None = None) -> Predictions:
    """Read and validate a predictions file.

    Parameters
    ----------
    path : str or path
        A CSV (UTF-8, header row, comma-separated) or Parquet file; see the input format in the README.
    columns : mapping, optional
        Role -> column name (or None) for roles whose column the names do not reveal, e.g. ``{"y_true": "gold"}``.

    Returns
    -------
    Predictions

    Raises
    ------
    InputError
        Naming the file, the column, the first offending rows and what to do.
    """
    path = Path(path)
    fmt = _check_path(path)
    con = connect()
    try:
        names, types = _describe(con, path, fmt)
        cmap = detect_columns(names, columns, source=str(path))
        typed = dict(zip(names, types, strict=True))
        counts = _scan(con, path, fmt, cmap, typed)
    finally:
        con.close()
    return Predictions(path, fmt, cmap, tuple(names), tuple(types), counts)


def file_columns(path: str | os.PathLike) -> tuple[str, ...]:
    """The column names of a CSV or Parquet file (reads only its header or schema)."""
    path = Path(path)
    con = connect()
    try:
        return tuple(_describe(con, path, _check_path(path))[0])
    finally:
        con.close()


def _check_path(path: Path) -> str:
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


def _reader_sql(path: Path, fmt: str, *, numbered: bool = True) -> str:
    """The table function reading the file; ``numbered=False`` leaves out Parquet's row numbers, which slow a scan
    that does not need them by a fifth."""
    if fmt == "parquet":
        return f"read_parquet({literal(str(path))}, file_row_number = {str(numbered).lower()})"
    return (f"read_csv({literal(str(path))}, delim = ',', quote = '\"', escape = '\"', header = true, "
            "strict_mode = true, null_padding = false, encoding = 'utf-8')")


def _row_sql(fmt: str) -> str:
    return "(file_row_number + 1)" if fmt == "parquet" else "row_number() OVER ()"


def _where(fmt: str, rows: Sequence[int]) -> str:
    """How a message names rows: file lines for a CSV (the header is line 1), rows for Parquet."""
    if fmt == "csv":
        return "line" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r + 1) for r in rows)
    return "row" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r) for r in rows)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]


def _describe(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> tuple[list[str], list[str]]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {_reader_sql(path, fmt)}").fetchall()
    except duckdb.Error as exc:
        raise _read_error(path, fmt, exc) from exc
    names = [r[0] for r in rows if not (fmt == "parquet" and r[0] == "file_row_number")]
    types = [r[1] for r in rows if not (fmt == "parquet" and r[0] == "file_row_number")]
    if fmt == "csv" and len(names) == 1 and "," not in names[0] and _first_byte(path) in (b"", b"\n"):
        raise InputError(f"{path}: the file is empty; it needs a header row and one row per example")
    return names, types


def _first_byte(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(1)


def _read_error(path: Path, fmt: str, exc: BaseException) -> InputError:
    """A clear message for a file DuckDB could not read."""
    text = str(exc)
    if isinstance(exc, duckdb.OutOfMemoryException):
        return InputError(f"{path}: ran out of memory reading it (limit {MEMORY_LIMIT}); set ERRORSCOPE_MEMORY_LIMIT "
                          "higher (e.g. 2GB), or write the file with smaller row groups")
    if fmt == "parquet":
        return InputError(f"{path}: not a readable Parquet file ({_first_line(exc)}); write it again or use CSV")
    line = re.search(r"CSV Error on Line: (\d+)", text)
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if line and fields:
        return InputError(f"{path}: line {line.group(1)} has {fields.group(2)} fields but the header has "
                          f"{fields.group(1)}; quote values that contain commas")
    if "not utf-8" in text.lower() or "unicode" in text.lower():
        where = f" (line {line.group(1)})" if line else ""
        return InputError(f"{path}: the file is not UTF-8{where}; save it as UTF-8 and load it again")
    found = _diagnose_csv(path)
    if found:
        return InputError(f"{path}: {found}")
    return InputError(f"{path}: could not read the CSV: {_first_line(exc)}")


def _diagnose_csv(path: Path) -> str | None:
    """Find the first line of a CSV that breaks the format (used only after DuckDB failed to read it)."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                return "the file is empty; it needs a header row and one row per example"
            for row in reader:
                if len(row) != len(header):
                    return (f"line {reader.line_num} has {len(row)} fields but the header has {len(header)}; "
                            "quote values that contain commas")
    except UnicodeDecodeError:
        return "the file is not UTF-8; save it as UTF-8 and load it again"
    except csv.Error as exc:
        return f"not a valid CSV: {exc}"
    return None


def _prob_exprs(cmap: ColumnMap) -> list[str]:
    return [f"CAST({ident(col)} AS DOUBLE)" for _, col in _sorted_probs(cmap)]


def _sorted_probs(cmap: ColumnMap) -> list[tuple[str, str]]:
    return sorted(cmap.probs.items(), key=lambda kv: natural_key(kv[0]))


def _pred_sql(cmap: ColumnMap, typed: Mapping[str, str]) -> str:
    if cmap.y_pred is not None:
        return label_sql(ident(cmap.y_pred), typed[cmap.y_pred])
    classes = ", ".join(literal(c) for c, _ in _sorted_probs(cmap))
    probs = ", ".join(_prob_exprs(cmap))
    return f"[{classes}][list_position([{probs}], greatest({probs}))]"


def _weight_sql(cmap: ColumnMap) -> str:
    return f"CAST({ident(cmap.weight)} AS DOUBLE)" if cmap.weight else "1.0"


def _raw_split_sql(cmap: ColumnMap, column: str | None = None) -> str:
    """The split as written, trimmed and lower-cased (``column`` names it when it is not the file's own)."""
    return f"lower(trim(CAST({ident(column or cmap.split)} AS VARCHAR)))" if cmap.split else "'dev'"


def _id_sql(cmap: ColumnMap, typed: Mapping[str, str], fmt: str) -> str:
    if cmap.id is None:
        return f"CAST({_row_sql(fmt)} - 1 AS VARCHAR)"
    return label_sql(ident(cmap.id), typed[cmap.id])


def _base_sql(path: Path, fmt: str, cmap: ColumnMap, typed: Mapping[str, str], *, numbered: bool = False) -> str:
    """The rows with raw split text, normalized labels and numeric weight (validation runs on this).

    ``numbered`` adds ``row``, the 1-based position in the file, which only error messages need: on a CSV it is a
    window over the whole file.
    """
    cols = [f"{_row_sql(fmt)} AS row"] if numbered else []
    cols += [
        f"{_id_sql(cmap, typed, fmt)} AS id",
        f"{_raw_split_sql(cmap)} AS raw_split",
        f"{label_sql(ident(cmap.y_true), typed[cmap.y_true])} AS y_true",
        f"{_pred_sql(cmap, typed)} AS y_pred",
        f"{_weight_sql(cmap)} AS weight",
    ]
    for i, expr in enumerate(_prob_exprs(cmap)):
        cols.append(f"{expr} AS __p{i}")
    return f"SELECT {', '.join(cols)} FROM {_reader_sql(path, fmt, numbered=numbered or cmap.id is None)}"


def _raw_sql(path: Path, fmt: str, cmap: ColumnMap, typed: Mapping[str, str]) -> str:
    """The columns the scan needs, as written: ``__s``, ``__t``, ``__y``, ``weight``, ``__id``, ``__p0``..."""
    raw = [
        (ident(cmap.split) if cmap.split else "'dev'") + " AS __s",
        f"{ident(cmap.y_true)} AS __t",
        (ident(cmap.y_pred) if cmap.y_pred else _pred_sql(cmap, typed)) + " AS __y",
        f"{_weight_sql(cmap)} AS weight",
        f"{ident(cmap.id) if cmap.id else 'NULL'} AS __id",
        *(f"{expr} AS __p{i}" for i, expr in enumerate(_prob_exprs(cmap))),
    ]
    return f"SELECT {', '.join(raw)} FROM {_reader_sql(path, fmt, numbered=False)}"


def _grouped_sql(cmap: ColumnMap, typed: Mapping[str, str], raw: str, extras: Sequence[str],
                 merge: Sequence[str]) -> str:
    """The count table with validation counts, grouped first on the ``raw`` columns, then on normalized labels.

    Normalizing labels (text, ``1.0`` -> ``1``) on every row costs more than the grouping itself, so it runs on
    the few distinct raw values instead. ``extras`` are aggregates over the rows; ``merge`` combines them across
    the raw groups that normalize to the same labels.
    """
    inner = aggregate_sql(f"({raw})", {"__s": "__s", "__t": "__t", "__y": "__y"}, extras)
    pred = label_sql("__y", typed[cmap.y_pred]) if cmap.y_pred else "__y"
    outer = [
        f"{_raw_split_sql(cmap, '__s')} AS raw_split",
        f"{label_sql('__t', typed[cmap.y_true])} AS y_true",
        f"{pred} AS y_pred",
        "sum(n) AS n", "sum(w) AS w", *merge,
    ]
    return f"SELECT {', '.join(outer)} FROM ({inner}) GROUP BY ALL"


def _view_sql(path: Path, fmt: str, cmap: ColumnMap, typed: Mapping[str, str]) -> str:
    split = "'dev'"
    if cmap.split:
        cases = " ".join(f"WHEN {literal(raw)} THEN {literal(canon)}" for raw, canon in SPLIT_ALIASES.items())
        split = f"CASE {_raw_split_sql(cmap)} {cases} END"
    confidence = "NULL"
    if cmap.probs:
        confidence = f"greatest({', '.join(_prob_exprs(cmap))})"
        if cmap.y_pred is not None:
            pred = label_sql(ident(cmap.y_pred), typed[cmap.y_pred])
            cases = " ".join(f"WHEN {literal(c)} THEN {expr}"
                             for (c, _), expr in zip(_sorted_probs(cmap), _prob_exprs(cmap), strict=True))
            confidence = f"CASE {pred} {cases} END"
    cols = [
        f"{_row_sql(fmt)} AS row",
        f"{_id_sql(cmap, typed, fmt)} AS id",
        f"{split} AS split",
        f"{label_sql(ident(cmap.y_true), typed[cmap.y_true])} AS y_true",
        f"{_pred_sql(cmap, typed)} AS y_pred",
        f"{_weight_sql(cmap)} AS weight",
        f"{confidence} AS confidence",
        (f"CAST({ident(cmap.text)} AS VARCHAR)" if cmap.text else "NULL") + " AS text",
        (f"CAST({ident(cmap.image)} AS VARCHAR)" if cmap.image else "NULL") + " AS image",
    ]
    reserved = {"row", "id", "split", "y_true", "y_pred", "weight", "confidence", "text", "image"}
    cols += [ident(m) for m in cmap.metadata if m.lower() not in reserved]
    return f"SELECT {', '.join(cols)} FROM {_reader_sql(path, fmt)}"


def _scan(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, cmap: ColumnMap,
          typed: Mapping[str, str]) -> CountTable:
    """Validate the file and build its count table: a CSV in one scan (it is slow to read twice), Parquet in a few
    narrow ones (each reads only its columns).

    Besides the count table, the checks need the rows whose probabilities are blank, not numbers or do not sum to
    1, the bounds of every probability column, and the blank, smallest and largest ids. On a CSV all of these
    ride in the grouped scan, and integer ids that form a range are checked for repeats there too
    (:func:`_ids_are_a_range`); other ids take a second scan. On Parquet, bounds and null counts come from the
    file's statistics without reading a column, the probability sums from a plain scan of the ``p_*`` columns
    (faster than the same count inside the GROUP BY) and repeats from a scan of the ids. Only when a check fails
    do further queries find the first offending rows.
    """
    _check_numeric(con, path, fmt, cmap, typed)
    raw = _raw_sql(path, fmt, cmap, typed)
    k = len(cmap.probs)
    ps = [f"__p{i}" for i in range(k)]
    extras = ["count(*) FILTER (WHERE weight IS NULL OR isnan(weight)) AS bad_w", "min(weight) AS min_w"]
    merge = ["sum(bad_w) AS bad_w", "min(min_w) AS min_w"]
    # Whole-file aggregates as (name, aggregate, how to merge it across groups); first those that Parquet
    # statistics answer.
    stats = [(f"{fn}{p}", f"{fn}({p})", fn) for p in ps for fn in ("min", "max")]
    integer_ids = cmap.id is not None and INTEGER_TYPE.match(typed[cmap.id])
    if integer_ids:
        stats += [("null_id", "count(*) - count(__id)", "sum"), ("min_id", "min(__id)", "min"),
                  ("max_id", "max(__id)", "max")]
    else:
        blank_id = "FALSE"
        if cmap.id is not None:
            blank_id = "__id IS NULL" + (" OR trim(__id) = ''" if typed[cmap.id] == "VARCHAR" else "")
        extras.append(f"count(*) FILTER (WHERE {blank_id}) AS null_id")
        merge.append("sum(null_id) AS null_id")
    sums = [("bad_p", f"count(*) FILTER (WHERE NOT coalesce(abs({' + '.join(ps)} - 1) <= {PROB_TOLERANCE}, false))",
             "sum")] if k else []
    if fmt == "csv":
        whole_file = stats + sums + ([("id_hash", "sum(hash(__id))", "sum")] if integer_ids else [])
        extras += [f"{agg} AS {name}" for name, agg, _ in whole_file]
        merge += [f"{fn}({name}) AS {name}" for name, _, fn in whole_file]
        plain = []
    else:
        plain = [aggs for aggs in (stats, sums) if aggs]
    try:
        groups = _columns(con.execute(_grouped_sql(cmap, typed, raw, extras, merge)))
        for aggs in plain:
            groups |= _columns(con.execute(f"SELECT {', '.join(f'{a} AS {n}' for n, a, _ in aggs)} FROM ({raw})"))
    except duckdb.Error as exc:
        raise _scan_error(path, fmt, exc) from exc
    if not groups["n"]:
        raise InputError(f"{path}: the file has a header but no rows; add one row per example")
    numbered = _base_sql(path, fmt, cmap, typed, numbered=True)

    def rows_where(cond: str) -> list[int]:
        return [r[0] for r in con.execute(
            f"SELECT row FROM ({numbered}) WHERE {cond} ORDER BY row LIMIT {SHOWN_ROWS}").fetchall()]

    def offending(cond: str, what: str, fix: str) -> InputError:
        return InputError(f"{path}: {what} at {_where(fmt, rows_where(cond))}; {fix}")

    if sum(groups["null_id"]):
        raise offending("id IS NULL", f"column {cmap.id!r} is blank", "give every example an id")
    if None in groups["y_pred"]:
        column = cmap.y_pred or "p_*"
        raise offending("y_pred IS NULL", f"column {column!r} is blank", "every example needs a prediction")
    if sum(groups["bad_w"]):
        raise offending("weight IS NULL OR isnan(weight)", f"column {cmap.weight!r} is blank",
                        "give every example a weight (1 for the usual)")
    if min(groups["min_w"]) < 0:
        raise offending("weight < 0", f"column {cmap.weight!r} is negative", "weights must be >= 0")
    if k:
        _check_probs(groups, rows_where, offending, cmap, ps)

    unknown = sorted(set(groups["raw_split"]) - set(SPLIT_ALIASES) - {None})
    if unknown or None in groups["raw_split"]:
        value = unknown[0] if unknown else None
        cond = f"raw_split = {literal(value)}" if value else "raw_split IS NULL OR raw_split = ''"
        shown = repr(value) if value else "blank"
        raise offending(cond, f"column {cmap.split!r} has the unknown split {shown}",
                        f"use one of {', '.join(SPLITS)} (also accepted: train-dev, traindev, val, valid, "
                        "validation)")

    labels = (set(groups["y_true"]) - {None}) | set(groups["y_pred"])
    if k:
        missing = sorted(labels - set(cmap.probs), key=natural_key)
        if missing:
            col = cmap.y_true
            raise offending(f"y_true = {literal(missing[0])} OR y_pred = {literal(missing[0])}",
                            f"class {missing[0]!r} (in {col!r} or the predictions) has no p_{missing[0]} column",
                            "add one p_<class> column per class")
        labels |= set(cmap.probs)
    classes = tuple(sorted(labels, key=natural_key))

    if cmap.id is not None and not ("id_hash" in groups and _ids_are_a_range(con, groups)):
        dup = con.execute(_duplicates_sql(path, fmt, cmap, typed, groups, integer_ids)).fetchone()[0]
        if dup:
            first = con.execute(f"SELECT id FROM ({numbered}) GROUP BY id HAVING count(*) > 1 "
                                f"ORDER BY min(row) LIMIT 1").fetchone()[0]
            raise offending(f"id = {literal(first)}", f"duplicate id {first!r} in column {cmap.id!r} "
                            f"({dup} duplicate{'s' if dup > 1 else ''} in all)", "make every id unique")

    entries = zip(map(SPLIT_ALIASES.get, groups["raw_split"]), groups["y_true"], groups["y_pred"], groups["n"],
                  groups["w"], strict=True)
    return CountTable.from_groups(entries, classes, weighted=cmap.weight is not None)


def _columns(result: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """A small query result as lists by column name, NULL as None (no pandas needed)."""
    names = [d[0] for d in result.description]
    rows = result.fetchall()
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _ids_are_a_range(con: duckdb.DuckDBPyConnection, groups: Mapping[str, list]) -> bool:
    """Whether the integer ids are lo..hi, each once, so that the scan for duplicates can be skipped.

    n ids between lo and hi = lo + n - 1 are those numbers each once exactly when none is repeated; then the sum
    of their hashes (taken in the main scan) equals that of lo..hi, while ids with a repeat match it only through a
    collision of 64-bit hashes, about one chance in 2**64. Row numbers and most dataset indexes are such ranges.
    """
    lo, hi, n = min(groups["min_id"]), max(groups["max_id"]), sum(groups["n"])
    if hi - lo + 1 != n or lo < -(2**63) or hi >= 2**63 - 1:
        return False
    return con.execute(f"SELECT sum(hash(range)) FROM range({lo}, {hi + 1})").fetchone()[0] == sum(groups["id_hash"])


def _duplicates_sql(path: Path, fmt: str, cmap: ColumnMap, typed: Mapping[str, str], groups: Mapping[str, list],
                    integer_ids: bool) -> str:
    """A query counting the rows whose id an earlier row has.

    Integer ids in a dense range (as row numbers are) set one bit each in a bitmap, which is several times faster
    and smaller than hashing them; other ids are counted distinct (integers as they are, text as normalized).
    """
    if not integer_ids:
        return f"SELECT count(*) - count(DISTINCT id) FROM ({_base_sql(path, fmt, cmap, typed)})"
    col = ident(cmap.id)
    lo, hi = int(min(groups["min_id"])), int(max(groups["max_id"]))
    if hi - lo < 8 * sum(groups["n"]):
        return (f"SELECT count(*) - bit_count(bitstring_agg({col} - {lo}, 0, {hi - lo})) "
                f"FROM {_reader_sql(path, fmt, numbered=False)}")
    return f"SELECT count(*) - count(DISTINCT {col}) FROM {_reader_sql(path, fmt, numbered=False)}"


def _check_numeric(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, cmap: ColumnMap,
                   typed: Mapping[str, str]) -> None:
    """Probability and weight columns must be numbers: name the first rows that are not."""
    numeric = [(col, "probability") for _, col in _sorted_probs(cmap)]
    if cmap.weight:
        numeric.append((cmap.weight, "weight"))
    for col, what in numeric:
        if INTEGER_TYPE.match(typed[col]) or FLOAT_TYPE.match(typed[col]):
            continue
        c = ident(col)
        bad = con.execute(
            f"SELECT row, v FROM (SELECT {_row_sql(fmt)} AS row, CAST({c} AS VARCHAR) AS v "
            f"FROM {_reader_sql(path, fmt)}) WHERE v IS NOT NULL AND trim(v) <> '' AND TRY_CAST(v AS DOUBLE) IS NULL "
            f"ORDER BY row LIMIT {SHOWN_ROWS}").fetchall()
        if bad:
            raise InputError(f"{path}: column {col!r} has the non-numeric {what} {bad[0][1]!r} at "
                             f"{_where(fmt, [r[0] for r in bad])}; it must hold numbers")


def _check_probs(groups: Mapping[str, list], rows_where, offending, cmap: ColumnMap, ps: list[str]) -> None:
    tol = PROB_TOLERANCE
    cols = ", ".join(col for _, col in _sorted_probs(cmap))
    lows = [v for p in ps for v in groups[f"min{p}"] if v is not None]
    highs = [v for p in ps for v in groups[f"max{p}"] if v is not None]
    if min(lows, default=0.0) < -tol:
        raise offending(f"least({', '.join(ps)}) < {-tol}", f"a probability ({cols}) is negative",
                        "probabilities must lie in [0, 1]")
    if max(highs, default=1.0) > 1 + tol:
        raise offending(f"greatest({', '.join(ps)}) > {1 + tol}", f"a probability ({cols}) is above 1",
                        "probabilities must lie in [0, 1]")
    if sum(groups["bad_p"]):
        blank = " OR ".join(f"{p} IS NULL OR isnan({p})" for p in ps)
        if rows_where(blank):
            raise offending(blank, f"a probability ({cols}) is blank", "give every p_<class> column a number")
        raise offending(f"abs({' + '.join(ps)} - 1) > {tol}", f"the probabilities ({cols}) do not sum to 1",
                        "give each row's p_<class> values summing to 1 (softmax outputs, not logits)")


def _scan_error(path: Path, fmt: str, exc: BaseException) -> InputError:
    text = str(exc)
    conv = re.search(r"""converting column "(.*?)"\. Could not convert string "(.*?)" to '(\w+)'""", text)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if conv and line:
        column, value, sql_type = conv.groups()
        return InputError(f"{path}: column {column!r} has {value!r} at line {line.group(1)} where the rows above "
                          f"hold {sql_type.lower()} values; fix that value")
    return _read_error(path, fmt, exc)
