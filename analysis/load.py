"""Read a predictions file (CSV or Parquet) into a validated :class:`Predictions`.

The engine reads the file where it lies, out of core: one scan both checks it (:mod:`analysis.checks`) and
builds the count table, and the per-example views (the mistakes of a split, one page at a time) are filtered
queries over the same file (:mod:`analysis.view`). Nothing is half-loaded: any problem raises
:class:`~analysis.errors.InputError` before a :class:`Predictions` exists.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from analysis import checks, exact
from analysis.counts import CountTable
from analysis.diagnose import where
from analysis.engine import Engine, open_engine
from analysis.errors import ErrorscopeError, InputError
from analysis.normalize import SPLIT_ALIASES, SPLITS, literal, numeric_type, split_name, split_sql
from analysis.source import Source, check_names, file_format, location, make_source, written_names
from analysis.view import checked_sql, ident, kept_sql, labels_sql, mistakes_sql, raw_sql, view_sql

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: How many offending rows a message names.
SHOWN_ROWS = 5


@dataclass(frozen=True, eq=False)
class Predictions:
    """A validated predictions file: its source, classes and count table, and queries for its rows.

    Build one with :func:`load_predictions`. It holds no open connection and pickles cheaply (the kept mistakes
    of a file up to :data:`analysis.engine.duckdb.KEEP_MAX_BYTES`: a few MiB a million rows).
    """

    source: Source
    counts: CountTable
    engine: str = "duckdb"
    #: The rows of the mistakes as read (a superset: :func:`analysis.view.kept_sql`), kept by the open's scan for
    #: review samples drawn without reading the file again (:mod:`analysis.review`); None when not kept.
    mistakes: pa.Table | None = field(default=None, repr=False)
    #: Each probability column's lowest and highest value, as the load's scan found them
    #: (:func:`analysis.checks.bounds`); empty when not known.
    bounds: tuple[tuple[float | None, float | None], ...] = ()

    path = property(lambda self: self.source.path)
    format = property(lambda self: self.source.format)
    columns = property(lambda self: self.source.columns)
    names = property(lambda self: self.source.names)
    types = property(lambda self: self.source.types)
    folder = property(lambda self: self.source.folder)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.counts.classes

    @property
    def rows(self) -> int:
        return self.counts.rows

    @property
    def splits(self) -> tuple[str, ...]:
        return self.counts.splits

    def query(self, sql: str, params: Sequence[object] = (), *, frames: Mapping[str, object] | None = None
              ) -> pd.DataFrame:
        """Run ``sql``, in which ``preds`` names the normalized view of every row (:func:`analysis.view.view_sql`:
        ``row``, ``id``, ``split``, ``y_true``, ``y_pred``, ``weight``, ``confidence``, ``p_given``, ``text``,
        ``image``, then the metadata columns).

        ``mistakes`` names the same view's rows of the labeled mistakes (:func:`analysis.view.mistakes_sql`): from
        the rows the open kept (:attr:`mistakes`), else from the file, so that a query of them reads no correct row
        of a CSV the open kept them of, and only the label columns of the others on Parquet.

        ``frames`` are small in-memory tables (pandas or Arrow: tags, ids) to join with it, each under its name.
        """
        with open_engine(self.engine) as engine:
            table = engine.table(self.source)
            kept = {} if self.mistakes is None else {"__kept": self.mistakes}
            try:
                return engine.frame(sql, params, frames={**(frames or {}), **kept},
                                    views={"preds": view_sql(self.source, table),
                                           "mistakes": mistakes_sql(self.source, "__kept" if kept else table)})
            except InputError as exc:
                raise InputError(f"{self.path}: {exc}") from exc


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


def load_predictions(path: str | os.PathLike, *, columns: Mapping[str, str | None] | None = None,
                     engine: str = "duckdb", progress: Callable[[float], None] | None = None,
                     keep_mistakes: bool = False) -> Predictions:
    """Read and validate a predictions file.

    Parameters
    ----------
    path : str or path
        A CSV (UTF-8, header row, comma-separated) or Parquet file; see the input format in the README.
    columns : mapping, optional
        Role -> column name (or None) for roles whose column the names do not reveal, e.g. ``{"y_true": "gold"}``.
    engine : str
        The engine that reads the file (:data:`analysis.engine.ENGINES`).
    progress : callable, optional
        Called about every 0.2 s, from another thread, with how far the load is (0 to 1, never lower than before):
        on a CSV the share of its bytes read, else the engine's estimate when it can tell; then with 1 when done.
    keep_mistakes : bool, default False
        Keep the rows of the mistakes of a CSV from the same scan (:attr:`Predictions.mistakes`), so that review
        samples and the rows of a confusion cell read no pass over the file (bench/REVIEW.md); it costs the open
        about a third more CPU time.

    Returns
    -------
    Predictions

    Raises
    ------
    InputError
        Naming the file, the column, the first offending rows and what to do.
    """
    path = location(path, engine)
    with open_engine(engine) as eng, _watching(_progress_of(eng, path, file_format(path)), progress):
        return _scan(eng, open_source(eng, path, columns), keep=keep_mistakes)


def _bytes_read() -> int | None:
    """Bytes this process has read so far (Linux's ``rchar`` in /proc/self/io), None where it cannot tell."""
    try:
        with open("/proc/self/io", "rb") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(b"rchar:"))
    except (OSError, StopIteration, ValueError):
        return None


def _progress_of(eng: Engine, path: Path, fmt: str) -> Callable[[], float | None] | None:
    """How far a load is (0 to 1): on a CSV, the bytes read since it began over the file's size (the engine's own
    estimate of a CSV under-reports); else the engine's estimate (None when it cannot tell)."""
    start, size = _bytes_read(), path.stat().st_size if isinstance(path, Path) and path.is_file() else 0
    if fmt == "csv" and start is not None and size:
        return lambda: min((_bytes_read() - start) / size, 0.99)  # a second pass (repeated ids) stays at 99 %
    return getattr(eng, "progress", None)


def open_source(engine: Engine, path: str | os.PathLike, columns: Mapping[str, str | None] | None = None) -> Source:
    """The file's :class:`~analysis.source.Source` (its columns' roles), from its header or schema only."""
    path = location(path, engine.name)
    fmt = file_format(path)
    return make_source(path, fmt, *_schema(engine, path, fmt), columns)


def load_grouped(engine: Engine, sources: Sequence[Source], groups: Sequence[Mapping[str, list]], *,
                 unique_ids: bool = False, scanned: Sequence[dict[str, list]] | None = None) -> Iterator[Predictions]:
    """Each file's :class:`Predictions` from its grouped counts taken by another query (one that reads several
    files, or several tasks of one file, at once): ``raw_split``, ``y_true``, ``y_pred``, ``n`` and ``w`` as
    :func:`analysis.view.labels_sql` gives them. Each source in turn is scanned for its checks' aggregates
    (:func:`scan_aggregates`, unless ``scanned`` holds them) and checked as a load checks it: the first that fails
    raises when it is reached. ``unique_ids``: every source after the first has the first's
    ids, row by row (its check of repeats suffices)."""
    for i, (source, counted) in enumerate(zip(sources, groups, strict=True)):
        found = scan_aggregates(engine, [source])[0] if scanned is None else scanned[i]
        specs = _whole_file(engine, source)
        yield _checked(engine, source, dict(counted) | found, specs, unique_ids and i > 0)


def scan_aggregates(engine: Engine, sources: Sequence[Source]) -> list[dict[str, list]]:
    """The aggregates every check of each source reads (:func:`analysis.checks.aggregates`), for sources whose
    grouped counts were taken elsewhere: plain scans, as the engine runs them apart from a grouped scan."""
    found = []
    for source in sources:
        _check_numeric(engine, source)
        found.append(engine.scan(source, None, _whole_file(engine, source),
                                 raw_sql(source, engine.table(source, numbered=False))))
    return found


def _whole_file(engine: Engine, source: Source) -> list[checks.Aggregate]:
    """Every aggregate of the checks, and those the engine adds, as plain (not grouped) aggregates."""
    specs = checks.aggregates(source)
    return [replace(a, whole_file=a.whole_file or "rows")
            for a in [*specs, *(a for a in engine.grouped(source, specs) if a not in specs)]]


@contextmanager
def load_split(path: str | os.PathLike, split: str, *, columns: Mapping[str, str | None] | None = None,
               engine: str = "duckdb", extend: Callable[[Source, str], str | None] | None = None):
    """Read and validate one split of a file alone: one read copies the split's rows (every column, and ``__row``,
    the file's row) into an engine-side table, and the load's checks and count table run over that table, so a
    problem in another split's rows is not seen. Yields the open engine and the split's :class:`Predictions`, whose
    queries must run on that engine (the table lives as long as it does).

    ``extend``, given the file's source and the split's rows (a table expression), may give a query of those rows
    with more columns of the caller's, to keep instead, computed in the same read (None: the rows as they are).

    A file without rows of ``split``, or an engine that cannot keep rows, is loaded whole instead (the split then
    named as the file's other queries expect, or refused with what the file holds).
    """
    with open_engine(engine) as eng:
        source = open_source(eng, path, columns)
        canonical = split_name(split) if isinstance(split, str) else None
        if canonical is not None and hasattr(eng, "keep"):
            kept, rows = eng.keep(source, split_where(eng, source, canonical), extend)
            if rows:
                yield eng, _scan(eng, kept)
                return
        yield eng, _scan(eng, source)


def split_where(engine: Engine, source: Source, split: str) -> str:
    """The condition on the file's raw split column that selects the canonical ``split``.

    In a Parquet file, the split column alone is read at little cost; naming its raw values that normalize to
    ``split`` (``"split" IN ('dev', 'val')``) lets the reader skip the other columns of the rows of other splits.
    On a CSV, which is not read twice, the condition normalizes each row's split.
    """
    return split_wheres(engine, source, (split,))[split]


def split_wheres(engine: Engine, source: Source, splits: Sequence[str]) -> dict[str, str]:
    """:func:`split_where` of each of ``splits``, from one look at the split column."""
    column = source.columns.split
    if column is None:
        return {s: "true" if s == "dev" else "false" for s in splits}
    if source.format == "parquet" or source.table:  # normalized on the distinct values, not on every row
        found = engine.fetch(f"SELECT __s, {split_sql('__s')} AS __split FROM (SELECT DISTINCT "
                             f"{ident(column)} AS __s FROM {engine.table(source, numbered=False)})")
        raw = {s: [v for v, n in zip(found["__s"], found["__split"], strict=True) if n == s] for s in splits}
        if all(isinstance(v, str) for values in raw.values() for v in values):
            return {s: f"{ident(column)} IN ({', '.join(literal(v) for v in raw[s]) or 'NULL'})" for s in splits}
    return {s: f"{split_sql(ident(column))} = {literal(s)}" for s in splits}


@contextmanager
def _watching(measure: Callable[[], float | None] | None, progress: Callable[[float], None] | None):
    """Report ``measure`` to ``progress`` about every 0.2 s from a thread while the body runs, never lower than
    before, and 1 when it ends without error."""
    if progress is None or measure is None:
        yield
        return
    done = threading.Event()
    shown = [0.0]

    def watch() -> None:
        while not done.wait(0.2):
            value = measure()
            if value is not None and value >= shown[0]:
                shown[0] = value
                progress(value)

    thread = threading.Thread(target=watch, daemon=True, name="errorscope-progress")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    progress(1.0)


def estimated_rows(path: str | os.PathLike) -> int | None:
    """About how many rows a predictions file has, without reading it: a Parquet file's row count from its footer;
    a CSV's size over the mean length of its first lines (None when it cannot tell)."""
    path = Path(path)
    try:
        if file_format(path) == "parquet":
            import duckdb

            with duckdb.connect() as con:
                return int(con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)]).fetchone()[0])
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
        lines = head.count(b"\n")
        return max(0, round(path.stat().st_size / (len(head) / lines)) - 1) if lines > 1 else None
    except Exception:  # an estimate only: the load itself says what is wrong with a file
        return None


def _schema(eng: Engine, path: Path, fmt: str) -> tuple[list[str], list[str]]:
    """The file's column names and types, after refusing a header too wide to read or naming a column twice."""
    check_names(path, written_names(path, fmt))  # before the engine reads a row: a 100,000-column sniff is costly
    names, types = eng.describe(path, fmt)
    check_names(path, names)
    return names, types


def file_columns(path: str | os.PathLike, *, engine: str = "duckdb") -> tuple[str, ...]:
    """The column names of a CSV or Parquet file (reads only its header or schema)."""
    path = location(path, engine)
    fmt = file_format(path)
    with open_engine(engine) as eng:
        return tuple(_schema(eng, path, fmt)[0])


def _scan(engine: Engine, source: Source, *, unique_ids: bool = False, keep: bool = False) -> Predictions:
    """Check the file and build its count table in one grouped scan (plus what the engine runs apart); when asked
    to ``keep`` them and the engine can (:meth:`~analysis.engine.duckdb.DuckDB.keeps_mistakes`), the same scan
    keeps the rows of the mistakes (:func:`analysis.view.kept_sql`) in :attr:`Predictions.mistakes`.

    ``unique_ids``: the ids were found unique already (another task of the same rows), so they are not checked again.
    """
    _check_numeric(engine, source)
    specs = checks.aggregates(source)
    grouped = engine.grouped(source, specs)
    raw = raw_sql(source, engine.table(source, numbered=False))
    sql = labels_sql(source, raw, [f"{a.sql} AS {a.name}" for a in grouped],
                     [f"{a.merge}({a.name}) AS {a.name}" for a in grouped])
    apart = [a for a in specs if a not in grouped]
    if keep and getattr(engine, "keeps_mistakes", lambda _: False)(source):  # the same scan keeps the mistakes' rows
        kept = raw_sql(source, engine.table(source), kept=True)
        keeping = labels_sql(source, kept, [*(f"{a.sql} AS {a.name}" for a in grouped), f"{kept_sql(source)} AS kept"],
                             [*(f"{a.merge}({a.name}) AS {a.name}" for a in grouped), "flatten(list(kept)) AS kept"])
        groups = engine.scan(source, keeping, apart, raw, plain=sql)
    else:
        groups = engine.scan(source, sql, apart, raw)
    mistakes = groups.pop("kept", None)
    return replace(_checked(engine, source, groups, [*specs, *grouped], unique_ids), mistakes=mistakes)


def _checked(engine: Engine, source: Source, groups: dict[str, list], specs: list[checks.Aggregate],
             unique_ids: bool = False) -> Predictions:
    """The file's predictions from the scan's ``groups`` (its count table, its probabilities' bounds), after every
    check (the first that fails raises)."""
    if not groups["n"]:
        raise InputError(f"{source.path}: the file has a header but no rows; add one row per example")
    if source.columns.weight and "w_high" in groups:
        groups["w"] = exact.totals(groups, "w")  # the same on every engine, whatever order it added them in
    scan = _checked_scan(engine, source, groups, specs, unique_ids)
    for check in checks.checks(source):
        failure = check.failure(scan)
        if failure:
            condition, message = failure
            raise InputError(f"{source.path}: {message} at {where(source.format, scan.rows(condition))}; {check.fix}")
    entries = zip(map(SPLIT_ALIASES.get, groups["raw_split"]), groups["y_true"], groups["y_pred"], groups["n"],
                  groups["w"], strict=True)
    counts = CountTable.from_rows(("split", "y_true", "y_pred"), entries, classes=checks.classes(source, scan),
                                  weighted=source.columns.weight is not None)
    return Predictions(source, counts, engine.name, bounds=checks.bounds(source, scan))


def _checked_scan(engine: Engine, source: Source, groups: dict[str, list], specs: list[checks.Aggregate],
                  unique_ids: bool = False) -> checks.Scan:
    """The scan's result with the queries a failing check asks for (the offending rows, the first repeated id)."""
    numbered = checked_sql(source, engine.table(source))

    def rows(condition: str) -> list[int]:
        return engine.fetch(f"SELECT row FROM ({numbered}) WHERE {condition} ORDER BY row LIMIT {SHOWN_ROWS}")["row"]

    def first_duplicate() -> tuple[str, int] | None:
        repeats = 0 if unique_ids else engine.duplicate_ids(source, groups)
        if not repeats:
            return None
        first = engine.fetch(f"SELECT id FROM (SELECT id, min(row) AS first FROM ({numbered}) GROUP BY id "
                             "HAVING count(*) > 1) ORDER BY first LIMIT 1")["id"][0]
        return first, repeats

    return checks.Scan(groups, specs, rows, first_duplicate)


def _check_numeric(engine: Engine, source: Source) -> None:
    """Probability and weight columns must be numbers: name the first rows that are not."""
    numeric = [(col, "probability") for _, col in source.probs]
    if source.columns.weight:
        numeric.append((source.columns.weight, "weight"))
    for col, what in numeric:
        if numeric_type(source.typed[col]):
            continue
        bad = engine.fetch(
            f"SELECT row, v FROM (SELECT __row AS row, CAST({ident(col)} AS VARCHAR) AS v "
            f"FROM {engine.table(source)}) WHERE v IS NOT NULL AND trim(v) <> '' AND TRY_CAST(v AS DOUBLE) IS NULL "
            f"ORDER BY row LIMIT {SHOWN_ROWS}")
        if bad["row"]:
            raise InputError(f"{source.path}: column {col!r} has the non-numeric {what} {bad['v'][0]!r} at "
                             f"{where(source.format, bad['row'])}; it must hold numbers")
