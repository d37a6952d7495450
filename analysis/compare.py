"""Two models' predictions of the same examples, side by side: where B wins and loses against A, and whether the
difference is more than noise.

The two files are joined on the example id inside the engine, into one small count table keyed by (split, true
class, A's prediction, B's prediction); every metric of either model, the disagreement table, McNemar's test, the
paired bootstrap and the per-class differences are functions of it. The rows of one disagreement cell (say "only A
right") are a filtered join of the two files' normalized views, a page at a time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis import exact
from analysis.counts import CountTable
from analysis.engine import Engine, open_engine
from analysis.errors import ErrorscopeError, InputError
from analysis.load import Predictions, check_split, load_grouped, load_predictions, open_source
from analysis.normalize import INTEGER_TYPE, SPLIT_ALIASES, label_sql, natural_key, numeric_type, raw_split_sql
from analysis.registry import measure
from analysis.source import Source
from analysis.summary import SUMMARY_METRICS
from analysis.view import ident, keyed_sql, view_sql

if TYPE_CHECKING:
    import pandas as pd

#: The four cells of the disagreement table, in its order, with their names for people.
CELLS = {"both_right": "both right", "only_a": "only A right", "only_b": "only B right", "both_wrong": "both wrong"}
#: The metrics whose difference (B - A) gets a paired bootstrap interval.
DIFFERENCE_METRICS = ("accuracy", "error_rate", "macro_f1")
KEYS = ("split", "y_true", "y_pred_a", "y_pred_b")


class CoverageError(ErrorscopeError):
    """The two files do not hold the same examples (``only_a`` and ``only_b`` ids, ``shared`` by both)."""

    def __init__(self, message: str, *, only_a: int, only_b: int, shared: int):
        super().__init__(message)
        self.only_a, self.only_b, self.shared = only_a, only_b, shared


@dataclass(frozen=True, eq=False)
class Comparison:
    """Two predictions files of the same examples, joined on their ids.

    ``counts`` has the keys ``split``, ``y_true``, ``y_pred_a``, ``y_pred_b`` (unlabeled rows have ``y_true``
    None); ``only_a`` and ``only_b`` count the ids one file has and the other lacks (left out of ``counts``).
    """

    a: Predictions
    b: Predictions
    counts: CountTable
    only_a: int = 0
    only_b: int = 0

    @property
    def splits(self) -> tuple[str, ...]:
        return self.counts.splits

    def model(self, which: str, split: str | None = None) -> CountTable:
        """The ordinary count table (``split``, ``y_true``, ``y_pred``) of model ``"a"`` or ``"b"`` on the compared
        rows, of one split or all."""
        table = self.counts if split is None else self.counts.where(split=split)
        pred = table.column(f"y_pred_{which}")
        rows = zip(table.column("split"), table.column("y_true"), pred, table.n, table.w, strict=True)
        return CountTable.from_rows(("split", "y_true", "y_pred"), rows, classes=table.classes,
                                    weighted=table.weighted)


def compare_predictions(a: Predictions, b: Predictions, *, shared: bool = False) -> Comparison:
    """Join two validated predictions files of the same examples on their ids, in the engine.

    Parameters
    ----------
    a, b : Predictions
        The baseline (A) and the challenger (B); ids follow the id rule (without an id column, the row number).
    shared : bool
        Compare on the ids both files hold when they differ, instead of refusing.

    Raises
    ------
    CoverageError
        When the files do not hold the same ids (and ``shared`` is false), or share none.
    InputError
        When a shared example has another split or true label in B than in A.
    """
    sa, sb = a.source, b.source
    ca, cb = sa.columns, sb.columns
    integer = _same_id_type(sa, sb) and INTEGER_TYPE.match(sa.typed[ca.id])
    alike = all(c is None and d is None or c is not None and d is not None
                and sa.typed[c] == sb.typed[d] for c, d in ((ca.split, cb.split), (ca.y_true, cb.y_true)))
    with open_engine(a.engine) as engine:
        groups = None
        if engine.name == "duckdb" and _in_step(engine, sa, sb):
            # files written in the same order (the usual export of one evaluation set) join by position in one
            # streaming pass; ids equal as written are equal by the id rule; any other order: the hash join
            groups = _grouped(engine, sa, sb, "POSITIONAL JOIN", raw_id=True)
            if sum(groups["misaligned"]):
                groups = None
        if groups is None and alike:  # B's split and label as A's (their hashes): only its prediction to carry
            groups = _grouped(engine, sa, sb, "FULL OUTER JOIN", raw_id=bool(integer), lean=True)
            if sum(groups["misaligned"]):
                groups = None
        if groups is None:
            groups = _grouped(engine, sa, sb, "FULL OUTER JOIN", raw_id=bool(integer))
    return _comparison(a, b, groups, shared)


def compare_files(path_a: str | os.PathLike, path_b: str | os.PathLike, *, shared: bool = False,
                  engine: str = "duckdb") -> Comparison:
    """Load two predictions files and compare them, as :func:`compare_predictions` compares loaded ones.

    Files of the same ids in the same order (the usual case) need fewer passes with DuckDB: their positional join
    also gives each file's count table, and B's ids, equal to A's row by row, need no search for repeats of their
    own; every other check runs as in a load. Any other pair of files, and any problem, takes the ordinary way
    (each file loaded, then joined), so that a bad file is refused with the load's message.
    """
    if engine == "duckdb":
        try:
            cmp = _aligned(Path(path_a), Path(path_b))
        except ErrorscopeError:  # a bad file: the ordinary way below says what is wrong, as a load says it
            cmp = None
        if cmp is not None:
            return cmp
    a, b = (load_predictions(p, engine=engine) for p in (path_a, path_b))
    return compare_predictions(a, b, shared=shared)


def _aligned(path_a: Path, path_b: Path) -> Comparison | None:
    """Two files compared in one positional join that also counts each file's groups; None when their ids are not
    the same in the same order."""
    with open_engine("duckdb") as engine:
        sa, sb = open_source(engine, path_a), open_source(engine, path_b)
        if not _in_step(engine, sa, sb):
            return None
        groups = _grouped(engine, sa, sb, "POSITIONAL JOIN", raw_id=True)
        if sum(groups["misaligned"]):
            return None
        names = ("raw_split", "y_true", "y_pred", "n", "w", "w_high", "w_low", "w_far")  # as a load's scan names them
        a, b = load_grouped(engine, [sa, sb], [{k: groups[c] for k, c in zip(names, columns, strict=True)}
                                               for columns in (("sa", "ta", "ya", "n", "w", "w_high", "w_low", "w_far"),
                                                               ("sb", "tb", "yb", "n", "wb", "wb_high", "wb_low",
                                                                "wb_far"))],
                            unique_ids=True)  # B's ids are A's, row by row, which A's load checked
    return _comparison(a, b, groups, shared=False)


def _same_id_type(a: Source, b: Source) -> bool:
    return a.columns.id is not None and b.columns.id is not None and a.typed[a.columns.id] == b.typed[b.columns.id]


#: How many first ids of two files :func:`_in_step` compares.
FIRST_IDS = 1000


def _in_step(engine: Engine, a: Source, b: Source) -> bool:
    """Whether two files may hold the same ids in the same order (worth a join by position): both without ids, or
    with ids of one type whose first :data:`FIRST_IDS` are equal row by row (a cheap look at their first rows)."""
    if a.columns.id is None and b.columns.id is None:
        return True
    if not _same_id_type(a, b):
        return False
    first = [f"SELECT {ident(s.columns.id)} AS k FROM {engine.table(s, numbered=False)} LIMIT {FIRST_IDS}"
             for s in (a, b)]
    return not engine.fetch(f"SELECT count(*) FILTER (WHERE x.k IS DISTINCT FROM y.k) AS n FROM ({first[0]}) x "
                            f"POSITIONAL JOIN ({first[1]}) y")["n"][0]


def _grouped(engine: Engine, a: Source, b: Source, join: str, raw_id: bool, lean: bool = False) -> dict[str, list]:
    """The joined count table of two files: ``sa``, ``sb``, ``ta``, ``tb``, ``ya``, ``yb`` (each file's split,
    true label and prediction), ``in_a``, ``in_b``, ``n``, ``w`` and ``wb`` (A's and B's weights), ``misaligned``.

    ``lean``: :func:`_lean_join`, for files whose splits and labels are alike; else ``misaligned`` counts the rows
    whose keys differ."""
    ca, cb = a.columns, b.columns
    sides = [keyed_sql(s, engine.table(s, numbered=s.columns.id is None), raw_id=raw_id) for s in (a, b)]
    if lean:
        inner = _lean_join(*sides)
    else:
        inner = ("SELECT x.__s AS sa, x.__t AS ta, y.__s AS sb, y.__t AS tb, x.__y AS ya, y.__y AS yb, "
                 "x.__k IS NOT NULL AS in_a, y.__k IS NOT NULL AS in_b, count(*) AS n, sum(x.__w) AS w, "
                 f"sum(y.__w) AS wb, {', '.join([*exact.sums('x.__w', 'w'), *exact.sums('y.__w', 'wb')])}, "
                 "count(*) FILTER (WHERE x.__k IS DISTINCT FROM y.__k) AS misaligned "
                 f"FROM ({sides[0]}) x {join} ({sides[1]}) y{' ON x.__k = y.__k' if 'OUTER' in join else ''} "
                 "GROUP BY ALL")
    outer = [f"{raw_split_sql('sa')} AS sa", f"{raw_split_sql('sb')} AS sb",
             f"{label_sql('ta', a.typed[ca.y_true])} AS ta", f"{label_sql('tb', b.typed[cb.y_true])} AS tb",
             (label_sql("ya", a.typed[ca.y_pred]) if ca.y_pred else "ya") + " AS ya",
             (label_sql("yb", b.typed[cb.y_pred]) if cb.y_pred else "yb") + " AS yb",
             "in_a", "in_b", "sum(n) AS n", "sum(w) AS w", "sum(wb) AS wb", *exact.merged("w"), *exact.merged("wb"),
             "sum(misaligned) AS misaligned"]
    try:
        return engine.fetch(f"SELECT {', '.join(outer)} FROM ({inner}) GROUP BY ALL")
    except Exception as exc:  # an engine error: name both files
        raise InputError(f"{a.path} and {b.path}: cannot join the files on their ids: {exc}") from exc


def _lean_join(a: str, b: str) -> str:
    """The hash join of two keyed files (:func:`analysis.view.keyed_sql`) whose splits and labels are alike.

    B's side carries only its key, prediction and a hash of its split and label (a smaller hash table); A's side
    its key, weight, that hash and a code of its (split, label, prediction): a hash, named by a small scan of A's
    labels, so that the joined rows group by a number and B's prediction rather than by four strings.
    ``misaligned`` counts the shared rows whose (split, label) hashes differ, and the rows of a code that two
    (split, label, prediction) share (a collision of 64-bit hashes); B's weights are not summed."""
    code = "hash(__s, __t, __y)"
    joined = ("SELECT x.__g AS g, y.__y AS yb, x.__k IS NOT NULL AS in_a, y.__k IS NOT NULL AS in_b, count(*) AS n, "
              f"sum(x.__w) AS w, {', '.join(exact.sums('x.__w', 'w'))}, "
              "count(*) FILTER (WHERE x.__k IS NOT NULL AND y.__k IS NOT NULL AND x.__h <> y.__h) "
              f"AS misaligned FROM (SELECT __k, __w, {code} AS __g, hash(__s, __t) AS __h FROM ({a})) x "
              f"FULL OUTER JOIN (SELECT __k, __y, hash(__s, __t) AS __h FROM ({b})) y ON x.__k = y.__k GROUP BY ALL")
    codes = (f"SELECT g, sa, ta, ya, count(*) OVER (PARTITION BY g) AS shared FROM (SELECT DISTINCT {code} AS g, "
             f"__s AS sa, __t AS ta, __y AS ya FROM ({a}))")
    return ("SELECT c.sa, c.ta, c.sa AS sb, c.ta AS tb, c.ya, j.yb, j.in_a, j.in_b, j.n, j.w, NULL AS wb, "
            "j.w_high, j.w_low, j.w_far, NULL AS wb_high, NULL AS wb_low, NULL AS wb_far, "
            f"j.misaligned + (coalesce(c.shared, 1) - 1) * j.n AS misaligned FROM ({joined}) j "
            f"LEFT JOIN ({codes}) c ON j.g = c.g")


def _comparison(a: Predictions, b: Predictions, groups: dict[str, list], shared: bool) -> Comparison:
    groups["w"] = exact.totals(groups, "w")
    rows = list(zip(*(groups[c] for c in ("sa", "sb", "ta", "tb", "ya", "yb", "in_a", "in_b", "n", "w")),
                    strict=True))
    only_a = sum(r[8] for r in rows if r[6] and not r[7])
    only_b = sum(r[8] for r in rows if r[7] and not r[6])
    both = [r for r in rows if r[6] and r[7]]
    n_shared = sum(r[8] for r in both)
    if (only_a or only_b) and (not shared or not n_shared):
        what = (f"{a.path} has {a.rows:,} examples and {b.path} {b.rows:,}: {n_shared:,} ids are in both, "
                f"{only_a:,} only in A, {only_b:,} only in B")
        fix = ("compare predictions of the same examples" if not n_shared
               else "compare predictions of the same examples, or compare on the shared ids (--shared)")
        raise CoverageError(f"the files do not hold the same examples: {what}; {fix}", only_a=only_a,
                            only_b=only_b, shared=n_shared)
    for index, what in ((0, "split"), (2, "true label")):
        differ = sum(r[8] for r in both if r[index] != r[index + 1])
        if differ:
            raise InputError(f"{b.path}: {differ:,} of the {n_shared:,} examples it shares with {a.path} have "
                             f"another {what} there; compare predictions of the same examples with the same "
                             f"{what}s")
    entries = [(SPLIT_ALIASES[r[0]], r[2], r[4], r[5], r[8], r[9]) for r in both]
    classes = sorted(set(a.classes) | set(b.classes), key=natural_key)
    counts = CountTable.from_rows(KEYS, entries, classes=classes, weighted=a.counts.weighted)
    return Comparison(a, b, counts, only_a, only_b)


# --- the statistics of one split ----------------------------------------------------------------------------

@dataclass(frozen=True)
class McNemar:
    """McNemar's test of two models on the same examples: ``statistic`` is the continuity-corrected chi-squared
    and ``p_value`` its p-value; ``exact_p_value`` is the exact binomial test's (two-sided)."""

    statistic: float | None
    p_value: float | None
    exact_p_value: float | None


def mcnemar(only_a: int, only_b: int) -> McNemar:
    """McNemar's test from the two discordant counts (A right and B wrong, B right and A wrong).

    Equals statsmodels' ``mcnemar(table, exact=False, correction=True)`` and ``mcnemar(table, exact=True)``.

    >>> r = mcnemar(59, 121)
    >>> round(r.statistic, 3), f"{r.p_value:.3g}", f"{r.exact_p_value:.3g}"
    (20.672, '5.45e-06', '4.43e-06')
    """
    n = only_a + only_b
    if n == 0:
        return McNemar(None, None, 1.0)
    statistic = (abs(only_a - only_b) - 1) ** 2 / n
    exact = min(1.0, 2 * _binomial_half_cdf(min(only_a, only_b), n))
    return McNemar(float(statistic), math.erfc(math.sqrt(statistic / 2)), exact)  # chi-squared, 1 degree


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), k <= n / 2: the terms from k down, in logs. Each is the one above times
    i / (n - i + 1) <= 1, so that past 64 sqrt(n) of them (a factor below exp(-8000)) they no longer count. Here
    rather than scipy, whose import alone costs a compare a second."""
    count = min(k + 1, 64 * math.isqrt(n) + 64)
    i = np.arange(k, k - count, -1, dtype=np.float64)
    steps = np.log(i[:-1]) - np.log(n - i[:-1] + 1)  # log(term(i - 1) / term(i))
    top = math.lgamma(n + 1) - n * math.log(2) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return math.fsum(np.exp(top + np.concatenate(([0.0], np.cumsum(steps)))))


def disagreement(table: CountTable) -> dict[str, int]:
    """The labeled examples both models got right, only A, only B, and neither (keys of :data:`CELLS`)."""
    out = dict.fromkeys(CELLS, 0)
    for t, ya, yb, n in zip(table.column("y_true"), table.column("y_pred_a"), table.column("y_pred_b"), table.n,
                            strict=True):
        if t is not None:
            out[_cell(t == ya, t == yb)] += int(n)
    return out


def _cell(right_a: bool, right_b: bool) -> str:
    return ("both_right" if right_b else "only_a") if right_a else ("only_b" if right_b else "both_wrong")


def _metric_of(matrices: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` of each of a stack of confusion matrices (R x K x K, rows true), as scikit-learn computes it."""
    total = matrices.sum(axis=(1, 2))
    right = np.trace(matrices, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "accuracy":
            return right / total
        if metric == "error_rate":
            return 1 - right / total
        tp = np.diagonal(matrices, axis1=1, axis2=2)
        support, predicted = matrices.sum(axis=2), matrices.sum(axis=1)
        f1 = np.where(support + predicted > 0, 2 * tp / np.maximum(support + predicted, 1), 0.0)
        present = (support + predicted) > 0
        return (f1 * present).sum(axis=1) / present.sum(axis=1)


def paired_bootstrap(table: CountTable, *, metric: str = "accuracy", resamples: int = 2000, level: float = 0.95,
                     seed: int = 0) -> tuple[float, float, float]:
    """The difference B - A of ``metric`` on the labeled examples of ``table`` and its paired bootstrap interval.

    Resampling examples with replacement, each keeping both models' predictions, is resampling the counts of the
    table's (true, A, B) cells from a multinomial: the same percentile interval as a bootstrap over the rows, at
    the cost of the few cells (unweighted counts). Accuracy and the error rate need only the four cells of the
    disagreement table (each model right or wrong); the macro F1 needs them all.

    Returns
    -------
    (value, low, high)
    """
    if metric not in DIFFERENCE_METRICS:
        raise ErrorscopeError(f"unknown metric {metric!r} for the difference; use one of "
                              f"{', '.join(DIFFERENCE_METRICS)}")
    labeled = table.labeled()
    if not labeled.rows:
        raise ErrorscopeError("no labeled examples to compare")
    index = {c: i for i, c in enumerate(labeled.classes)}
    t, ya, yb = (np.array([index[v] for v in labeled.column(c)]) for c in ("y_true", "y_pred_a", "y_pred_b"))
    if metric == "macro_f1":
        k, cells_a, cells_b = len(index), t * len(index) + ya, t * len(index) + yb
    else:  # accuracy counts only right and wrong: a 2 x 2 matrix of one true row (right, wrong) per model, so
        k, cells_a, cells_b = 2, (ya != t).astype(int), (yb != t).astype(int)  # four cells to resample
    # the cells merged and in one order whatever order the engine grouped them in, so that a seed gives one interval
    merged, where = np.unique(cells_a * k * k + cells_b, return_inverse=True)
    cells_a, cells_b = merged // (k * k), merged % (k * k)
    n = np.bincount(where.ravel(), weights=labeled.n.astype(float), minlength=len(merged))

    def difference(counts: np.ndarray) -> np.ndarray:  # counts: R x cells
        def stack(cells: np.ndarray) -> np.ndarray:
            onehot = np.zeros((len(cells), k * k))
            onehot[np.arange(len(cells)), cells] = 1
            return (counts @ onehot).reshape(-1, k, k)

        return _metric_of(stack(cells_b), metric) - _metric_of(stack(cells_a), metric)

    value = float(difference(n[None, :])[0])
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(int(n.sum()), n / n.sum(), size=resamples).astype(float)
    low, high = np.quantile(difference(draws), [(1 - level) / 2, (1 + level) / 2])
    return value, float(low), float(high)


def split_report(cmp: Comparison, split: str, *, metric: str = "accuracy", seed: int = 0) -> dict:
    """One split of the comparison as JSON-ready data: ``rows``, ``a`` and ``b`` (their metrics, as in the
    summary), ``table``, ``mcnemar`` and ``difference`` (``metric``, ``value`` = b - a, ``low``, ``high``)."""
    table = cmp.counts.where(split=split)
    cells = disagreement(table)
    test = mcnemar(cells["only_a"], cells["only_b"])
    if table.labeled().rows:
        value, low, high = paired_bootstrap(table, metric=metric, seed=seed)
    else:
        value = low = high = None
    return {"rows": table.rows, "a": measure(cmp.model("a", split), SUMMARY_METRICS),
            "b": measure(cmp.model("b", split), SUMMARY_METRICS), "table": cells,
            "mcnemar": {"statistic": test.statistic, "p_value": test.p_value, "exact_p_value": test.exact_p_value},
            "difference": {"metric": metric, "value": value, "low": low, "high": high}}


def report(cmp: Comparison, *, splits: Sequence[str] | None = None, metric: str = "accuracy", seed: int = 0) -> dict:
    """The comparison as JSON-ready data (``errorscope compare --json``): ``a``, ``b`` (the files), ``only_a``,
    ``only_b`` (ids one file lacks, left out) and ``splits``, keyed by split (:func:`split_report`)."""
    chosen = cmp.splits if splits is None else [check_split(cmp.a, s) for s in splits]
    return {"a": str(cmp.a.path), "b": str(cmp.b.path), "only_a": cmp.only_a, "only_b": cmp.only_b,
            "splits": {s: split_report(cmp, s, metric=metric, seed=seed) for s in chosen}}


def per_class(cmp: Comparison, split: str) -> pd.DataFrame:
    """Per true class: examples, each model's recall (the share of the class it got right) and B - A; the classes
    where B got worse first. Columns ``class``, ``support``, ``recall_a``, ``recall_b``, ``difference``,
    ``fixed`` (A wrong, B right) and ``broken`` (A right, B wrong)."""
    import pandas as pd

    table = cmp.counts.where(split=split).labeled()
    stats: dict[str, list[int]] = {}
    for t, ya, yb, n in zip(table.column("y_true"), table.column("y_pred_a"), table.column("y_pred_b"), table.n,
                            strict=True):
        s = stats.setdefault(t, [0, 0, 0, 0, 0])
        s[0] += n
        s[1] += n * (ya == t)
        s[2] += n * (yb == t)
        s[3] += n * (ya != t and yb == t)
        s[4] += n * (ya == t and yb != t)
    frame = pd.DataFrame([(c, *v) for c, v in stats.items()],
                         columns=["class", "support", "right_a", "right_b", "fixed", "broken"])
    frame["recall_a"] = frame["right_a"] / frame["support"]
    frame["recall_b"] = frame["right_b"] / frame["support"]
    frame["difference"] = frame["recall_b"] - frame["recall_a"]
    frame = frame.sort_values(["difference", "support"], ascending=[True, False], kind="stable")
    return frame[["class", "support", "recall_a", "recall_b", "difference", "fixed", "broken"]].reset_index(drop=True)


def _condition(cell: str) -> str:
    if cell not in CELLS:
        raise ErrorscopeError(f"unknown cell {cell!r}; use one of {', '.join(CELLS)}")
    right_a, right_b = cell in ("both_right", "only_a"), cell in ("both_right", "only_b")
    return (f"(a.y_pred {'=' if right_a else '<>'} a.y_true) AND "
            f"(coalesce(b.y_pred, '') {'=' if right_b else '<>'} a.y_true)")


def _joined(cmp: Comparison, sql: str, params: Sequence[object]) -> pd.DataFrame:
    """Run ``sql`` over the two files' normalized views, ``a`` and ``b`` (:func:`analysis.view.view_sql`)."""
    with open_engine(cmp.a.engine) as engine:
        views = {name: view_sql(p.source, engine.table(p.source)) for name, p in (("a", cmp.a), ("b", cmp.b))}
        return engine.frame(sql, params, views=views)


def cell_examples(cmp: Comparison, *, split: str, cell: str, limit: int = 50, offset: int = 0) -> pd.DataFrame:
    """The labeled examples of one disagreement cell (a key of :data:`CELLS`) of a split, a page at a time.

    "only_b" are the examples B fixed, "only_a" those it broke. Columns: A's view (``y_pred`` and ``confidence``
    are A's) with ``y_pred_b`` and ``confidence_b``; in file order.
    """
    split = check_split(cmp.a, split)
    sql = ("SELECT a.*, b.y_pred AS y_pred_b, b.confidence AS confidence_b FROM a JOIN b ON a.id = b.id "
           f"WHERE a.split = ? AND a.y_true IS NOT NULL AND {_condition(cell)} ORDER BY a.row LIMIT ? OFFSET ?")
    return _joined(cmp, sql, [split, int(limit), int(offset)])


def slice_columns(cmp: Comparison) -> tuple[str, ...]:
    """A's metadata columns, the slices one can compare the models on."""
    from analysis.view import RESERVED

    return tuple(m for m in cmp.a.columns.metadata if m.lower() not in RESERVED)


#: A numeric metadata column with more distinct values than this is sliced into BINS ranges of equal counts.
MAX_VALUES, BINS = 20, 5


def per_slice(cmp: Comparison, split: str, column: str) -> pd.DataFrame:
    """Per value of A's metadata ``column`` (as text; a numeric column of many values in five ranges of equal
    counts, "0.12 to 0.31"): examples, each model's accuracy and B - A, where B got worse first. Columns
    ``value``, ``rows``, ``accuracy_a``, ``accuracy_b``, ``difference``, ``fixed``, ``broken``."""
    if column not in slice_columns(cmp):
        raise ErrorscopeError(f"{cmp.a.path}: no metadata column {column!r} to slice by; its metadata columns are "
                              f"{', '.join(slice_columns(cmp)) or 'none'}")
    split = check_split(cmp.a, split)
    right_a, right_b = "(a.y_pred = a.y_true)", "coalesce(b.y_pred = a.y_true, false)"
    rows = (f"SELECT a.{ident(column)} AS v, {right_a} AS ra, {right_b} AS rb FROM a JOIN b ON a.id = b.id "
            "WHERE a.split = ? AND a.y_true IS NOT NULL")
    numeric = numeric_type(cmp.a.types[cmp.a.names.index(column)])
    if numeric and _joined(cmp, f"SELECT count(DISTINCT v) AS k FROM ({rows})", [split])["k"][0] > MAX_VALUES:
        rows = f"SELECT ntile({BINS}) OVER (ORDER BY v) AS bin, * FROM ({rows}) WHERE v IS NOT NULL"
        value, key = "printf('%.4g to %.4g', min(v), max(v))", "bin"
    else:
        value, key = "CAST(v AS VARCHAR)", "CAST(v AS VARCHAR)"
    sql = (f"SELECT {value} AS value, count(*) AS rows, avg(CAST(ra AS DOUBLE)) AS accuracy_a, "
           "avg(CAST(rb AS DOUBLE)) AS accuracy_b, count(*) FILTER (WHERE NOT ra AND rb) AS fixed, "
           f"count(*) FILTER (WHERE ra AND NOT rb) AS broken FROM ({rows}) GROUP BY {key}")
    frame = _joined(cmp, sql, [split])
    frame["difference"] = frame["accuracy_b"] - frame["accuracy_a"]
    frame = frame.sort_values(["difference", "rows"], ascending=[True, False], kind="stable")
    return frame[["value", "rows", "accuracy_a", "accuracy_b", "difference", "fixed", "broken"]].reset_index(drop=True)


def significance(p_value: float | None, level: float = 0.05) -> str:
    """A sentence on a McNemar p-value for people."""
    if p_value is None or math.isnan(p_value):
        return "the models never disagree here: no difference to test"
    if p_value < level:
        return f"the difference is unlikely to be noise (p = {p_value:.2g} < {level:g})"
    return f"the difference could be noise (p = {p_value:.2g} >= {level:g})"

