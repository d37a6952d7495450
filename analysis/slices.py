"""Error by slice, and SliceLine's discovery of the slices where a model fails, computed by the engine.

A **slice column** is a column of the view seen as a few values: metadata as it is (text, booleans, numbers with
few values), numbers in quantile bins, dates by month or year; and derived ones: the true and predicted class, a
confidence bin, and the tag store's tags (each category and ``mislabeled``: ``yes`` / ``no`` for reviewed
examples). Every value is a :class:`~analysis.filters.Predicate`, so a slice is a filter any page can apply.

:func:`error_by_slice` gives each value's examples, errors, error rate with its 95% Wilson interval, share of the
split's errors and lift, in one grouped query. :func:`find_slices` ranks conjunctions of up to ``max_predicates``
values by SliceLine's score (Sagadeeva and Boehm, SIGMOD 2021)::

    score = alpha * (slice error / overall error - 1) - (1 - alpha) * (n / slice size - 1)

level by level, each level one grouped query per combination of columns over a small table of value codes held by
the engine (never a one-hot matrix in memory); a value or a combination whose upper bound on the score (the paper's
bound, with the split's row count) cannot reach the top ``k`` is pruned before the next level. The answer is the
top ``k`` of all slices of at least ``min_support`` rows with a positive score.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from analysis import exact
from analysis.engine import open_engine
from analysis.errors import ErrorscopeError, InputError
from analysis.filters import (
    MISLABELED,
    TAG_PREFIX,
    TAGS,
    FilterSQL,
    Predicate,
    kind_of,
    number_text,
    range_label,
    slice_columns_of,
    tag_value_sql,
    tags_table,
)
from analysis.load import Predictions, check_split
from analysis.normalize import literal, natural_key
from analysis.tallies import wilson_interval
from analysis.view import ident, view_sql

#: A column with more distinct values than this is refused when named, left out when every column is sliced.
MAX_VALUES = 1000
#: Numbers with at most this many distinct values are sliced by value, others in quantile bins.
FEW_VALUES = 10
BINS = 5
#: The confidence bins' edges (probability of the predicted class).
CONFIDENCE_EDGES = (0.5, 0.7, 0.9, 0.99)


@dataclass(frozen=True)
class SliceColumn:
    """A column seen as a few values: ``sql`` gives each row's value (text) over the view (and the tags)."""

    name: str
    sql: str
    #: (label, low, high) of each bin, in order, for a binned column; empty for one sliced by value.
    bins: tuple[tuple[str, object, object], ...] = ()

    def predicate(self, value: str | None) -> Predicate:
        for label, low, high in self.bins:
            if label == value:
                return Predicate(self.name, "range", (low, high))
        return Predicate(self.name, "=", value)

    def order(self, values: Sequence[str | None]) -> list[str | None]:
        """``values`` in reading order: bins low to high, others naturally, missing last."""
        rank = {label: i for i, (label, _, _) in enumerate(self.bins)}
        return sorted(values, key=lambda v: (v is None, rank.get(v, 0), natural_key(str(v))))


def _binned(name: str, expr: str, edges: Sequence[object], labels: Sequence[str] | None = None,
            cast: str = "CAST({} AS DOUBLE)") -> SliceColumn:
    """Bins ``(-inf, e1), [e1, e2), ..., [ek, inf)`` of ``expr`` (a number or a date)."""
    bounds = [None, *edges, None]
    bins = tuple((labels[i] if labels else range_label(lo, hi), lo, hi)
                 for i, (lo, hi) in enumerate(itertools.pairwise(bounds)))
    cases = " ".join(f"WHEN {expr} < {cast.format(literal(str(hi)))} THEN {literal(label)}"
                     for label, _, hi in bins[:-1])
    return SliceColumn(name, f"CASE WHEN {expr} IS NULL THEN NULL {cases} ELSE {literal(bins[-1][0])} END", bins)


def _date_bins(name: str, low: date, high: date) -> SliceColumn:
    """Months (years when the dates span more than three years) from ``low`` to ``high``."""
    yearly = (high.year - low.year) * 12 + high.month - low.month >= 36
    starts, labels = [], []
    y, m = low.year, (1 if yearly else low.month)
    while (y, m) <= (high.year, high.month):
        starts.append(date(y, m, 1))
        labels.append(f"{y}" if yearly else f"{y}-{m:02d}")
        y, m = (y + 1, m) if yearly else (y + (m == 12), m % 12 + 1)
    expr = f"CAST({ident(name)} AS DATE)"
    column = _binned(name, expr, [d.isoformat() for d in starts[1:]], labels, "CAST({} AS DATE)")
    bins = list(column.bins)
    bins[0] = (bins[0][0], starts[0].isoformat(), bins[0][2])
    end = date(y, m, 1).isoformat()  # the period after the last one starts where the data ends
    bins[-1] = (bins[-1][0], bins[-1][1], end)
    return SliceColumn(name, column.sql, tuple(bins))


@dataclass(frozen=True)
class Context:
    """What the slice queries need beyond the file: the rows' filter and the tag store's frame."""

    where: FilterSQL | None = None
    tags: pd.DataFrame | None = None
    categories: tuple[str, ...] = ()

    def frames(self) -> dict:
        frames = dict(self.where.frames) if self.where else {}
        if self.tags is not None:
            frames[TAGS] = tags_table(self.tags, self.categories)
        return frames


def _tag_columns(ctx: Context) -> list[str]:
    if ctx.tags is None:
        return []
    return [TAG_PREFIX + c for c in ctx.categories] + [MISLABELED]


def _names(preds: Predictions, columns: Sequence[str] | None, ctx: Context, *, tags: bool = True) -> list[str]:
    """``columns`` checked, or every column (with the tags when ``tags``)."""
    known = slice_columns_of(preds) + _tag_columns(ctx)
    if columns is None:
        return [c for c in known if tags or not c.startswith(TAG_PREFIX)]
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ErrorscopeError(f"{preds.path}: no column {unknown[0]!r} to slice by; the columns are "
                              f"{', '.join(known)}")
    return list(dict.fromkeys(columns))


@contextmanager
def _rows(preds: Predictions, split: str, names: Sequence[str], ctx: Context) -> Iterator:
    """An engine holding the labeled rows of ``split`` (within the filter) as the table ``__rows``: the columns
    ``names`` under their names (tags as ``yes`` / ``no``), ``__err`` (0 or 1) and ``__w``; yields a function
    running SQL over it. The file is read once, its labels normalized once."""
    with open_engine(preds.engine) as engine:
        def run(sql: str, params: Sequence[object] = (), **kw) -> pd.DataFrame:
            try:
                return engine.frame(sql, params, **kw)
            except InputError as exc:
                raise InputError(f"{preds.path}: {exc}") from exc

        cols = "".join(f"{tag_value_sql(n, ctx.categories) if n.startswith(TAG_PREFIX) else ident(n)} AS "
                       f"{ident(n)}, " for n in names)
        join = f" LEFT JOIN {TAGS} ON id = __tid" if ctx.tags is not None else ""
        where = f" AND {ctx.where.where}" if ctx.where else ""
        run(f"CREATE TEMP TABLE __rows AS SELECT {cols}CASE WHEN y_true = y_pred THEN 0 ELSE 1 END AS __err, "
            f"weight AS __w FROM preds{join} WHERE split = ? AND y_true IS NOT NULL{where}",
            [split, *(ctx.where.params if ctx.where else ())], frames=ctx.frames(),
            views={"preds": view_sql(preds.source, engine.table(preds.source))})
        yield run


def slice_columns(preds: Predictions, split: str = "dev", columns: Sequence[str] | None = None, *,
                  context: Context = Context()) -> tuple[list[SliceColumn], dict[str, str]]:
    """The slice columns of a split (every column a predicate may name, or ``columns``), and those left out with
    why.

    Raises
    ------
    ErrorscopeError
        For an unknown column, or a named one with more than :data:`MAX_VALUES` values.
    """
    split = check_split(preds, split)
    names = _names(preds, columns, context)
    with _rows(preds, split, names, context) as run:
        return _profile(run, preds, names, named=columns is not None)


def _profile(run, preds: Predictions, names: Sequence[str], *, named: bool
             ) -> tuple[list[SliceColumn], dict[str, str]]:
    """The slice columns of ``__rows``, from one query: distinct values, quantiles of numbers, spans of dates."""
    kinds = {c: ("tag" if c.startswith(TAG_PREFIX) else "derived" if c in ("y_true", "y_pred", "confidence")
                 else kind_of(preds.source.typed[c])) for c in names}
    raw = {c: f"CAST({ident(c)} AS VARCHAR)" for c in names}
    stats = ["count(*) AS n"]
    for i, c in enumerate(names):
        stats.append(f"approx_count_distinct({raw[c]}) AS d{i}")
        if kinds[c] == "number":
            x = f"CAST({ident(c)} AS DOUBLE)"
            stats += [f"quantile_cont({x}, {q / BINS}) AS q{i}_{q}" for q in range(1, BINS)]
            stats.append(f"min({x}) AS lo{i}")
        elif kinds[c] == "date":
            stats += [f"min(CAST({ident(c)} AS DATE)) AS lo{i}", f"max(CAST({ident(c)} AS DATE)) AS hi{i}"]
    profile = run(f"SELECT {', '.join(stats)} FROM __rows").iloc[0]
    out, skipped = [], {}
    for i, c in enumerate(names):
        distinct = int(profile[f"d{i}"] or 0)
        kind = kinds[c]
        if c == "confidence":
            out.append(_binned(c, ident(c), CONFIDENCE_EDGES))
        elif kind == "number" and distinct > FEW_VALUES:
            out.append(_number_bins(run, c, profile, i))
        elif kind == "date" and profile[f"lo{i}"] is not None and not pd.isna(profile[f"lo{i}"]):
            out.append(_date_bins(c, pd.Timestamp(profile[f"lo{i}"]).date(), pd.Timestamp(profile[f"hi{i}"]).date()))
        elif distinct > MAX_VALUES:
            reason = f"about {distinct:,} distinct values (at most {MAX_VALUES:,} can be sliced)"
            if named:
                raise ErrorscopeError(f"{preds.path}: column {c!r} has {reason}; bin it, or leave it out")
            skipped[c] = reason
        elif distinct == 0:
            skipped[c] = "no values in this split"
        else:
            out.append(SliceColumn(c, raw[c]))
    return out, skipped


def _number_bins(run, column: str, profile: pd.Series, i: int) -> SliceColumn:
    """Quantile bins of a number; when one value holds most rows (a capital gain of 0), that value and the rest."""
    x = f"CAST({ident(column)} AS DOUBLE)"
    low = float(profile[f"lo{i}"])
    edges = sorted({float(profile[f"q{i}_{q}"]) for q in range(1, BINS)} - {low})
    if edges:
        return _binned(column, x, edges)
    above = float(run(f"SELECT min({x}) AS e FROM __rows WHERE {x} > ?", [low])["e"][0])
    column_bins = _binned(column, x, [above])
    first = (f"= {number_text(low)}", None, above)
    return SliceColumn(column, column_bins.sql.replace(literal(column_bins.bins[0][0]), literal(first[0]), 1),
                       (first, column_bins.bins[1]))


def _base(columns: Sequence[SliceColumn]) -> str:
    """``__rows`` as ``c0``... (each slice column's value), ``err`` and ``w``."""
    return f"SELECT {''.join(f'{c.sql} AS c{i}, ' for i, c in enumerate(columns))}__err AS err, __w AS w FROM __rows"


def _grouped_sql(columns: Sequence[SliceColumn]) -> str:
    """Examples, errors and weights per value of each column: one grouped query (``GROUPING SETS``)."""
    names = [f"c{i}" for i in range(len(columns))]
    which = " ".join(f"WHEN GROUPING({n}) = 0 THEN {i}" for i, n in enumerate(names))
    value = " ".join(f"WHEN GROUPING({n}) = 0 THEN {n}" for n in names)
    sets = ", ".join(f"({n})" for n in names)
    weights = ", ".join([*exact.sums("w", "w"), *exact.sums("w * err", "we")])
    return (f"SELECT CASE {which} END AS col, CASE {value} END AS value, count(*) AS n, sum(err) AS e, "
            f"sum(w) AS w, sum(w * err) AS we, {weights} FROM ({_base(columns)}) GROUP BY GROUPING SETS ({sets})")


def error_by_slice(preds: Predictions, split: str = "dev", columns: Sequence[str] | None = None, *,
                   context: Context = Context()) -> pd.DataFrame:
    """The error of each value of each slice column of a split.

    Returns
    -------
    DataFrame
        One row per (column, value), columns in reading order: ``column``, ``value`` (``None`` = missing),
        ``predicate`` (a :class:`~analysis.filters.Predicate`), ``examples``, ``errors``, ``error_rate``,
        ``low`` and ``high`` (its 95% Wilson interval), ``share_of_errors`` (of the split's errors), ``lift``
        (error rate over the split's), and ``weighted_error`` when the file has weights.
    """
    split = check_split(preds, split)
    names = _names(preds, columns, context)
    frame_cols = ["column", "value", "predicate", "examples", "errors", "error_rate", "low", "high",
                  "share_of_errors", "lift"] + (["weighted_error"] if preds.counts.weighted else [])
    with _rows(preds, split, names, context) as run:
        cols, _ = _profile(run, preds, names, named=columns is not None)
        totals = run("SELECT count(*) AS n, sum(__err) AS e FROM __rows").iloc[0]
        rows = run(_grouped_sql(cols)) if cols else None
    total_n, total_e = int(totals["n"]), int(totals["e"] or 0)
    out = []
    for i, col in enumerate(cols):
        part = rows[rows["col"] == i]
        stats = {_none(v): (int(n), int(e), w, we) for v, n, e, w, we in zip(
            part["value"], part["n"], part["e"], exact.totals(part, "w"), exact.totals(part, "we"), strict=True)}
        for value in col.order(list(stats)):
            n, e, w, we = stats[value]
            low, high = wilson_interval(e, n)
            row = {"column": col.name, "value": value, "predicate": col.predicate(value), "examples": n,
                   "errors": e, "error_rate": e / n, "low": low, "high": high,
                   "share_of_errors": e / total_e if total_e else 0.0,
                   "lift": (e / n) / (total_e / total_n) if total_e else float("nan")}
            if preds.counts.weighted:
                row["weighted_error"] = we / w if w else float("nan")
            out.append(row)
    return pd.DataFrame(out, columns=frame_cols)


def _none(value: object) -> object:
    return None if value is None or value != value else value


# --- SliceLine ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    """A discovered slice: its predicates, size, errors, error rate and SliceLine score."""

    predicates: tuple[Predicate, ...]
    size: int
    errors: int
    score: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.size

    @property
    def label(self) -> str:
        return " and ".join(p.label for p in self.predicates)

    def to_dict(self) -> dict:
        return {"predicates": [p.to_dict() for p in self.predicates], "size": self.size, "errors": self.errors,
                "error_rate": self.error_rate, "score": self.score}


@dataclass(frozen=True)
class Slices:
    """The top slices of a split, best first, with the split's size and error rate."""

    split: str
    rows: int
    errors: int
    alpha: float
    min_support: int
    slices: list[Slice]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.errors / self.rows if self.rows else 0.0

    def to_dict(self) -> dict:
        return {"split": self.split, "rows": self.rows, "error_rate": self.error_rate, "alpha": self.alpha,
                "min_support": self.min_support, "slices": [s.to_dict() for s in self.slices],
                "skipped_columns": self.skipped}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"slice": [s.label for s in self.slices], "size": [s.size for s in self.slices],
                             "errors": [s.errors for s in self.slices],
                             "error_rate": [s.error_rate for s in self.slices],
                             "score": [s.score for s in self.slices]})


def score(size: np.ndarray, errors: np.ndarray, *, n: int, error_rate: float, alpha: float) -> np.ndarray:
    """SliceLine's score of slices of ``size`` rows holding ``errors`` mistakes, among ``n`` rows.

    >>> round(float(score(np.array([100]), np.array([50]), n=1000, error_rate=0.1, alpha=0.95)[0]), 4)
    3.35
    """
    size = np.asarray(size, dtype=float)
    return alpha * ((np.asarray(errors) / size) / error_rate - 1) - (1 - alpha) * (n / size - 1)


def score_bound(size: np.ndarray, errors: np.ndarray, *, n: int, error_rate: float, alpha: float,
                min_support: int) -> np.ndarray:
    """The largest score a slice within one of at most ``size`` rows and ``errors`` mistakes can have (SliceLine's
    upper bound: the score at the slice sizes min support, the errors, and the size, with every row of it wrong up
    to ``errors``)."""
    size, errors = np.asarray(size, dtype=float), np.asarray(errors, dtype=float)
    best = np.full(len(size), -np.inf)
    for s in (np.full(len(size), float(min_support)), np.maximum(errors, min_support), size):
        s = np.minimum(s, size)
        ok = s > 0
        value = alpha * (np.minimum(s, errors) / np.where(ok, s, 1) / error_rate - 1) - (1 - alpha) * (
            n / np.where(ok, s, 1) - 1)
        best = np.maximum(best, np.where(ok, value, -np.inf))
    return best


def _check_options(max_predicates: int, min_support: int | None, alpha: float, top: int) -> None:
    if isinstance(max_predicates, bool) or not isinstance(max_predicates, int) or not 1 <= max_predicates <= 3:
        raise ErrorscopeError(f"max_predicates must be 1, 2 or 3, got {max_predicates!r}")
    if min_support is not None and (isinstance(min_support, bool) or not isinstance(min_support, int)
                                    or min_support < 1):
        raise ErrorscopeError(f"min_support must be a whole number >= 1, got {min_support!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1:
        raise ErrorscopeError(f"alpha must be in (0, 1], got {alpha!r}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ErrorscopeError(f"top must be a whole number >= 1, got {top!r}")


def default_support(rows: int) -> int:
    """1% of the rows, at least 10 (SliceLine's usual choice)."""
    return max(10, math.ceil(0.01 * rows))


def find_slices(preds: Predictions, split: str = "dev", columns: Sequence[str] | None = None, *,
                max_predicates: int = 3, min_support: int | None = None, alpha: float = 0.95, top: int = 10,
                context: Context = Context()) -> Slices:
    """The ``top`` slices of a split by SliceLine's score (module docstring), best first.

    Parameters
    ----------
    columns : list of str, optional
        The slice columns (default: all but the tags, those with too many values left out and listed in
        ``skipped``). Tags are named, not taken by default: reviewers look mostly at mistakes, so the examples
        tagged or reviewed err far more than the rest whatever they hold.
    max_predicates : int, default 3
        Conjunctions of at most this many column values.
    min_support : int, optional
        The fewest rows a slice may have (default :func:`default_support` of the split's labeled rows).
    alpha : float, default 0.95
        Weight of the error against the size in the score.
    """
    _check_options(max_predicates, min_support, alpha, top)
    split = check_split(preds, split)
    names = _names(preds, columns, context, tags=False)
    with _rows(preds, split, names, context) as run:
        cols, skipped = _profile(run, preds, names, named=columns is not None)
        totals = run("SELECT count(*) AS n, sum(__err) AS e FROM __rows").iloc[0]
        n, e = int(totals["n"]), int(totals["e"] or 0)
        sigma = min_support or default_support(n)
        result = Slices(split, n, e, alpha, sigma, [], skipped)
        if not cols or e == 0:
            return result
        return _search(run, cols, run(_grouped_sql(cols)), result, max_predicates, top)


def _search(run, cols: list[SliceColumn], level1: pd.DataFrame, result: Slices, max_predicates: int,
            top: int) -> Slices:
    """SliceLine's lattice, level by level: a slice is a key ``((column index, value), ...)`` with its size and
    errors; the children of a level are counted only from parents whose score bound can still reach the top."""
    n, sigma, alpha, rate = result.rows, result.min_support, result.alpha, result.error_rate
    level1 = level1.assign(value=[_none(v) for v in level1["value"]])
    level1 = level1[level1["value"].notna() & (level1["n"] >= sigma) & (level1["e"] > 0)]
    found = [(((int(c), v),), int(size), int(er)) for c, v, size, er in
             zip(level1["col"], level1["value"], level1["n"], level1["e"], strict=True)]
    best = _top(found, n=n, rate=rate, alpha=alpha, k=top)

    def alive(stats: list) -> list:
        """The slices whose bound beats the top k's last score (zero while the top k is not full)."""
        if not stats:
            return []
        floor = best[-1][3] if len(best) >= top else 0.0
        bound = score_bound(np.array([s[1] for s in stats]), np.array([s[2] for s in stats]), n=n, error_rate=rate,
                            alpha=alpha, min_support=sigma)
        return [stats[i] for i in np.nonzero(bound > floor)[0]]

    parents, level = alive(found), 1
    codes = _encode(run, cols, parents) if max_predicates > 1 and parents else {}
    while level < max_predicates and parents:
        level += 1
        live = {key for key, _, _ in parents}
        combos = _combos(cols, live, level)
        if not combos:
            break
        rows = run(_level_sql(combos, live, codes, sigma))
        values = {c: {k: v for v, k in codes[c].items()} for c in codes}
        stats = []
        for r in zip(rows["combo"], *(rows[f"a{m}"] for m in range(level)), rows["n"], rows["e"], strict=True):
            combo = combos[int(r[0])]
            key = tuple((c, values[c][int(code)]) for c, code in zip(combo, r[1:1 + level], strict=True))
            if all(sub in live for sub in itertools.combinations(key, level - 1)):  # every parent still alive
                stats.append((key, int(r[-2]), int(r[-1])))
        found += stats
        best = _top(found, n=n, rate=rate, alpha=alpha, k=top)
        parents = alive(stats)
    slices = [Slice(tuple(cols[c].predicate(v) for c, v in key), size, er, sc) for key, size, er, sc in best]
    return Slices(result.split, n, result.errors, alpha, sigma, slices, result.skipped)


def _encode(run, cols: list[SliceColumn], parents: list) -> dict[int, dict]:
    """``__codes``: a small integer per value of the live one-value slices (others NULL), column ``k<i>`` for
    column ``i``, with ``err``; the codes by column and value."""
    codes: dict[int, dict] = {}
    for key, _, _ in parents:
        (c, v), = key
        codes.setdefault(c, {})[v] = len(codes.get(c, {}))
    encode = ", ".join(
        f"CAST(CASE c{c} {' '.join(f'WHEN {literal(str(v))} THEN {k}' for v, k in values.items())} "
        f"END AS SMALLINT) AS k{c}" for c, values in sorted(codes.items()))
    run(f"CREATE TEMP TABLE __codes AS SELECT {encode}, err FROM ({_base(cols)})")
    return codes


def _combos(cols: list[SliceColumn], live: set, level: int) -> list[tuple[int, ...]]:
    """The combinations of ``level`` columns each of whose sub-combinations has a live slice (never a true and a
    predicted class together: that is a cell of the confusion matrix, not a slice)."""
    shapes = {tuple(c for c, _ in key) for key in live}
    used = sorted({c for shape in shapes for c in shape})
    cell = {i for i, c in enumerate(cols) if c.name in ("y_true", "y_pred")}
    return [combo for combo in itertools.combinations(used, level)
            if not (len(cell) == 2 and cell <= set(combo))
            and all(sub in shapes for sub in itertools.combinations(combo, level - 1))]


def _level_sql(combos: list[tuple[int, ...]], live: set, codes: dict[int, dict], sigma: int) -> str:
    """Size and errors of every slice of each combination of columns, among the live values, of ``sigma`` rows
    or more with an error: one grouped query per combination."""
    active: dict[int, set] = {}
    for key in live:
        for c, v in key:
            active.setdefault(c, set()).add(codes[c][v])
    parts = []
    for j, combo in enumerate(combos):
        conds = " AND ".join(f"k{c} IN ({', '.join(map(str, sorted(active[c])))})" for c in combo)
        sel = ", ".join(f"k{c} AS a{m}" for m, c in enumerate(combo))
        parts.append(f"SELECT {j} AS combo, {sel}, count(*) AS n, sum(err) AS e FROM __codes WHERE {conds} "
                     f"GROUP BY {', '.join(f'k{c}' for c in combo)} HAVING count(*) >= {sigma} AND sum(err) > 0")
    return " UNION ALL ".join(parts)


def _top(found: list, *, n: int, rate: float, alpha: float, k: int) -> list:
    """The ``k`` best of ``found`` ((key, size, errors)) with a positive score, as (key, size, errors, score);
    ties by fewer predicates, then by the key's text."""
    if not found:
        return []
    sizes = np.array([s for _, s, _ in found], dtype=float)
    errs = np.array([e for _, _, e in found], dtype=float)
    scores = score(sizes, errs, n=n, error_rate=rate, alpha=alpha)
    order = sorted((i for i in range(len(found)) if scores[i] > 0),
                   key=lambda i: (-scores[i], len(found[i][0]), str(found[i][0])))
    return [(*found[i], float(scores[i])) for i in order[:k]]
