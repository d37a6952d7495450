"""Likely label errors: a ranked review queue of a split, each example's suggested label, and cleanlab's flags.

Everything is computed by the engine over the file where it lies (:mod:`analysis.view`); only the top rows and
K x K tables come back, as plain lists (the command line's JSON needs no pandas). One pass over the file copies the
split's rows into an engine-side table with the columns the passes read (:func:`scored_sql`: each row's given class,
its probability and the highest; the load's own copy of the split when it made one, :func:`split_label_issues`),
then:

1. one grouped query gives each given class's count and mean probability (its confident threshold) and how many
   of its examples each other class outscores;
2. one grouped query with the thresholds as literals counts the confident joint; it is calibrated and turned into
   prune counts on the K x K table (:mod:`analysis.confident`);
3. window functions pick, for each (given k, true j) with a prune count m, the m examples labeled k with the
   largest margin ``p_j - p_k`` (ties by file order), as cleanlab's ``prune_by_noise_rate`` does; those whose
   given label is still the argmax after adding 1e-6 to it are dropped, as cleanlab drops them;
4. the top rows by the method's score come back (from the flagged rows alone when the method ranks them first
   and they fill the top).

The scores are those of cleanlab's ``get_label_quality_scores``; lower means more likely mislabeled.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from analysis import confident, exact
from analysis.diagnose import first_line
from analysis.engine import open_engine
from analysis.errors import ErrorscopeError, InputError
from analysis.load import Predictions, check_split, load_split, split_where
from analysis.normalize import label_sql, literal, numeric_type
from analysis.rankings import DEFAULT_METHOD, METHODS, RANKINGS
from analysis.source import ident
from analysis.view import argmax_sql, class_index_sql, class_literals, prob_exprs, view_sql

if TYPE_CHECKING:
    import pandas as pd

    from analysis.source import Source

__all__ = ["DEFAULT_METHOD", "METHODS", "LabelIssues", "label_issues", "split_label_issues"]

_SCORED = "__label_split"
_TOP = "__label_top"
_FLAGGED = "__label_flagged"
_PAIRS = "__label_pairs"


@dataclass(frozen=True)
class LabelIssues:
    """The likely label errors of one split.

    Attributes
    ----------
    split, method : str
        The split and the ranking method.
    flagged : int
        Examples of the split that confident learning flags (cleanlab's ``find_label_issues``, default filter).
    estimated_errors : int
        The estimated number of label errors: the off-diagonal of the calibrated confident joint (cleanlab's
        ``num_label_issues(..., estimation_method="off_diagonal_calibrated")``).
    estimated_pairs : tuple
        ``(given, suggested, estimated)``: the calibrated joint's off-diagonal counts, largest first.
    ranked : dict
        :attr:`issues` by column, as plain lists (what the command line prints, without importing pandas).
    pairs, issues : DataFrame
        The same as tables. ``issues``: most likely error first, the normalized view's columns, then ``given``,
        ``suggested`` (the class of the highest probability), ``score`` (the method's label-quality score; lower =
        more likely wrong), ``flagged`` (bool) and ``rank`` (1-based).
    """

    split: str
    method: str
    flagged: int
    estimated_errors: int
    estimated_pairs: tuple[tuple[str, str, int], ...]
    ranked: dict[str, list]

    @cached_property
    def pairs(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(list(self.estimated_pairs), columns=["given", "suggested", "estimated"]).astype(
            {"given": object, "suggested": object, "estimated": "int64"})

    @cached_property
    def issues(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.ranked).astype({"flagged": bool, "rank": "int64"})


def _check(preds: Predictions, split: str, method: str, top: int | None) -> str:
    if not preds.columns.probs:
        raise ErrorscopeError(f"{preds.path}: label issues need p_<class> probability columns (one per class, "
                              "out-of-sample probabilities)")
    if method not in RANKINGS:
        raise ErrorscopeError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1):
        raise ErrorscopeError(f"top must be a whole number >= 1, got {top!r}")
    return check_split(preds, split)


def _score_sql(score: str, k: int) -> str:
    """A score of cleanlab's ``get_label_quality_scores`` (or ``ensemble``, their mean) as SQL over ``__pg``,
    ``__other`` and ``__p*``."""
    ent = " + ".join(f"(CASE WHEN __p{j} = 0 THEN 0.0 ELSE __p{j} * ln(__p{j}) END)" for j in range(k))
    entropy = f"(-({ent}) / {math.log(k)!r})" if k > 1 else "0.0"
    weighted = f"({entropy} / greatest(__pg, {confident.EPSILON!r}))"
    scores = {"self_confidence": "__pg", "normalized_margin": "((__pg - __other + 1) / 2)",
              "confidence_weighted_entropy": f"(ln({weighted} + 1) / greatest({weighted}, {confident.EPSILON!r}))"}
    scores["ensemble"] = f"(({' + '.join(scores.values())}) / 3)"
    return scores[score]


def _fetch(engine, sql, *args):
    """Run ``sql`` (or call it with the engine and ``args``); its result by column, without pandas (the command line
    does not import it), an engine's error as an :class:`InputError` with its first line."""
    try:
        return sql(engine, *args) if callable(sql) else engine.fetch(sql)
    except InputError:
        raise
    except Exception as exc:  # the engine's own error types (DuckDB's, Spark's)
        raise InputError(first_line(exc)) from exc


def _clipped(p: str, lo: float | None, hi: float | None) -> str:
    """``p`` clipped to [0, 1] on the sides its bounds (:attr:`Predictions.bounds`; unknown: both) cross."""
    if lo is not None and lo < 0:
        p = f"greatest({p}, 0.0)"
    return f"least({p}, 1.0)" if hi is not None and hi > 1 else p


def _other_sql(k: int) -> str:
    """The highest probability of a class other than the given one."""
    if k == 1:
        return "-1.0"
    return "greatest(" + ", ".join(f"CASE WHEN __given = {j} THEN -1.0 ELSE __p{j} END" for j in range(k)) + ")"


def scored_sql(source: Source, rows: str, *, wrong: bool = False, given: str | None = None) -> str:
    """``rows`` (a table expression of the split's rows as written) with the columns the passes read: ``__given``
    (the position of the given label's class, NULL for an unlabeled row), ``__pg`` and ``__highest`` (that class's
    probability and the highest, as written: :func:`_work` clips them; not ``__top``, which the load's view of a
    file without predictions computes) and, with ``wrong``, ``__wrong`` (the prediction is not the given label).
    ``given``: the expression of ``__given`` (default :func:`class_index_sql`)."""
    cm, ps = source.columns, prob_exprs(source)
    own = _own_sql(ps, "__given")
    wrong_sql = f", {_wrong_sql(source, '__given')} AS __wrong" if wrong else ""
    return (f"SELECT *, {own} AS __pg, greatest({', '.join(ps)}) AS __highest{wrong_sql} FROM "
            f"(SELECT *, {given or class_index_sql(source, cm.y_true)} AS __given FROM {rows})")


def _own_sql(ps: list[str], given: str) -> str:
    """The probability of the class at position ``given`` among ``ps`` (a list read by index: faster than a CASE
    of K branches)."""
    return f"[{', '.join(ps)}][{given} + 1]"


def _wrong_sql(source: Source, given: str) -> str:
    """Whether the prediction (``y_pred``, else the argmax) is not the class at position ``given``."""
    ps = prob_exprs(source)
    pred = (class_index_sql(source, source.columns.y_pred) if source.columns.y_pred is not None
            else argmax_sql(ps, [str(j) for j in range(len(ps))]))
    return f"{pred} IS DISTINCT FROM {given}"


def _written_class_sql(source: Source) -> str | None:
    """DuckDB: the position of a text label written exactly as its class is named, NULL for any other, by a cast
    to an ENUM of the class names: on a Parquet file's dictionary-encoded text, one look-up per distinct value
    instead of a comparison per row. :func:`_match_rest` then gives the other labels their class. None for a
    label column that is not text."""
    if source.typed[source.columns.y_true] != "VARCHAR":
        return None
    names = ", ".join(literal(c) for c, _ in source.probs)
    return f"CAST(enum_code(TRY_CAST({ident(source.columns.y_true)} AS ENUM({names}))) AS INTEGER)"


def _match_rest(engine, source: Source, table: str, *, wrong: bool) -> None:
    """After a copy made with :func:`_written_class_sql`: give the rows whose label it did not match their class as
    :func:`class_index_sql` finds it (``" 3"``, ``"3.0"``), with their ``__pg`` (and ``__wrong``). Their distinct
    labels are found first (none in most files: the normalizing is planned only when some are left)."""
    if _written_class_sql(source) is None:
        return
    column = source.columns.y_true
    col = ident(column)
    left = _fetch(engine, f"SELECT DISTINCT {col} FROM {table} WHERE __given IS NULL AND {col} IS NOT NULL AND "
                  f"{label_sql(col, source.typed[column])} IS NOT NULL")[column]
    if not left:
        return
    found = (f"SELECT {col} AS __raw, {class_index_sql(source, column)} AS __pos FROM "
             f"(VALUES {', '.join(f'({literal(v)})' for v in left)}) AS t({col})")
    fixed = f"__given = m.__pos, __pg = {_own_sql(prob_exprs(source), 'm.__pos')}"
    if wrong:
        fixed += f", __wrong = {_wrong_sql(source, 'm.__pos')}"
    _fetch(engine, f"UPDATE {table} SET {fixed} FROM ({found}) AS m "
           f"WHERE m.__pos IS NOT NULL AND {table}.{col} = m.__raw")


def _scorable(source: Source) -> bool:
    """Whether :func:`scored_sql` can run over the file's rows before they are checked (its probabilities are
    numbers), so that the load's copy of a split computes it (:func:`split_label_issues`)."""
    return (source.columns.y_true is not None and bool(source.probs)
            and all(numeric_type(source.typed[c]) for _, c in source.probs))


def _work(preds: Predictions, table: str, *, wrong: bool) -> str:
    """The labeled rows of ``table`` (:func:`scored_sql`'s columns) with ``__p0``... as the passes read them: each
    probability clipped to [0, 1] where its bounds, as the load found them in the file or the split, cross it (all
    when not known; the loader accepts rounding up to 0.01 outside, cleanlab none), and ``__pg`` and ``__top`` (the
    highest) where any class's do: the bounds are known only after the copy, and clipping in it would cost every
    row."""
    k = len(preds.source.probs)
    bounds = preds.bounds or [(-math.inf, math.inf)] * k
    ps = ", ".join(f"{_clipped(p, *b)} AS __p{j}" for j, (p, b) in enumerate(zip(prob_exprs(preds.source), bounds,
                                                                                    strict=True)))
    lows, highs = [lo for lo, _ in bounds if lo is not None], [hi for _, hi in bounds if hi is not None]
    either = (min(lows, default=None), max(highs, default=None))  # the bounds of any class's probability
    return (f"(SELECT __row, __given, {_clipped('__pg', *either)} AS __pg, {_clipped('__highest', *either)} AS __top"
            f"{', __wrong' if wrong else ''}, {ps} FROM {table} WHERE __given IS NOT NULL)")


def _issue_sql(k: int) -> str:
    """Whether the given label is not the argmax once raised by 1e-6, as cleanlab tests it (ties to the first
    other class in the file's order), over ``__given``, ``__pg``, ``__top`` and ``__p*`` (the highest probability
    of another class is ``__top`` wherever it exceeds ``__pg``)."""
    first_other = "CASE " + " ".join(f"WHEN __given <> {j} AND __p{j} = __top THEN {j}" for j in range(k)) + " END"
    raised = f"__pg + {confident.EPSILON!r}"
    return (f"CASE WHEN __top > {raised} THEN true WHEN __top = {raised} THEN {first_other} < __given "
            "ELSE false END")  # the tie test on ties alone


def _class_stats(engine, work: str, k: int) -> dict[int, dict]:
    """Per given class: ``n``, ``mean`` (of its own probability, from its exact sum: alike on every engine) and
    ``above{j}`` (examples where ``p_j`` beats it, counted among those some class beats: a few of the rows)."""
    found = _fetch(engine, f"SELECT __given, count(*) AS n, sum(__pg) AS pg, {', '.join(exact.sums('__pg', 'pg'))} "
                   f"FROM {work} GROUP BY __given")
    found["mean"] = [t / n for t, n in zip(exact.totals(found, "pg"), found["n"], strict=True)]
    stats = {int(g): {name: values[i] for name, values in found.items()} for i, g in enumerate(found["__given"])}
    above = _fetch(engine, f"SELECT __given, {', '.join(f'count_if(__p{j} > __pg) AS above{j}' for j in range(k))} "
                   f"FROM {work} WHERE __top > __pg GROUP BY __given")
    for row in stats.values():
        row.update({f"above{j}": 0 for j in range(k)})
    for i, g in enumerate(above["__given"]):
        stats[int(g)].update({f"above{j}": above[f"above{j}"][i] for j in range(k)})
    return stats


def _joint_counts(engine, work: str, limits: np.ndarray) -> np.ndarray:
    """The confident joint's counts ``[given, true]``, each probability compared with its class's limit."""
    k = len(limits)
    conf = [f"__p{j} >= {float(limits[j])!r}" for j in range(k)]
    many = " + ".join(f"CAST({c} AS INTEGER)" for c in conf)
    argmax = argmax_sql([f"__p{j}" for j in range(k)], [str(j) for j in range(k)], "__top")
    first = "CASE " + " ".join(f"WHEN {c} THEN {j}" for j, c in enumerate(conf)) + " END"
    rows = _fetch(engine, f"SELECT __given, CASE WHEN __many > 1 THEN {argmax} ELSE {first} END AS __true, "
                   f"count(*) AS n FROM (SELECT *, {many} AS __many FROM {work}) GROUP BY ALL")
    counts = np.zeros((k, k), dtype=np.int64)
    for g, t, n in zip(rows["__given"], rows["__true"], rows["n"], strict=True):
        if t is not None:  # no class reaches its limit (not filtered out in the query: that computes __many twice)
            counts[int(g), int(t)] = int(n)
    return counts


def _flag(engine, work: str, prune: np.ndarray, stats: dict[int, dict], min_examples: int = 1) -> None:
    """Write the flagged rows into the engine-side table ``__label_flagged`` (cleanlab's prune_by_noise_rate).

    For a pair whose count does not exceed the examples that class j outscores, only those compete (the others
    have a margin <= 0 and rank after them), which keeps the window small; otherwise the whole class does. An
    example that no other class outscores competes only in such a whole class.
    """
    k = len(prune)
    pairs = [(g, j, int(prune[g, j]), int(prune[g, j]) <= int(stats[g][f"above{j}"]))
             for g in range(k) for j in range(k)
             if g != j and prune[g, j] > 0 and g in stats and int(stats[g]["n"]) > min_examples]
    if not pairs:
        _fetch(engine, f"CREATE TEMP TABLE {_FLAGGED} AS SELECT __row FROM {work} WHERE false")
        return
    given, true, count, within = (np.array(column) for column in zip(*pairs, strict=True))
    given, true = given.astype(np.int32), true.astype(np.int32)  # INTEGER: Spark's element_at takes no BIGINT
    engine.register(_PAIRS, {"g": given, "j": true, "pair": given * k + true, "m": count, "pos": within})
    whole = sorted(set(given[~within].tolist()))
    compete = "__top > __pg" + (f" OR __given IN ({', '.join(map(str, whole))})" if whole else "")
    probs = ", ".join(f"__p{j}" for j in range(k))
    _fetch(engine,  # the margin computed before the window, which then sorts a few narrow columns, partitioned
                    # by one integer per (given, true) pair (faster than by two columns); the issue test on the
                    # competing rows alone
        f"CREATE TEMP TABLE {_FLAGGED} AS SELECT DISTINCT __row FROM ("
        f"SELECT __row, __issue, m, row_number() OVER (PARTITION BY pair ORDER BY __margin DESC, __row) AS r FROM ("
        f"SELECT s.__row, s.__issue, q.pair, q.m, q.pos, s.__ps[q.j + 1] - s.__pg AS __margin FROM ("
        f"SELECT __row, __given, __pg, [{probs}] AS __ps, {_issue_sql(k)} AS __issue FROM {work} WHERE {compete}) s "
        f"JOIN {_PAIRS} AS q ON s.__given = q.g) "
        "WHERE NOT pos OR __margin > 0) WHERE r <= m AND __issue")


def _confident_learning(engine, work: str, k: int) -> tuple[int, int, np.ndarray]:
    """Flag the split's label issues in the engine; the flagged count, the estimate and the calibrated joint."""
    stats = _class_stats(engine, work, k)
    counts = np.zeros(k, dtype=np.int64)
    means = np.zeros(k)
    for g, row in stats.items():
        counts[g], means[g] = int(row["n"]), float(row["mean"])
    limits = confident.thresholds(means, counts) - 1e-6
    joint = confident.calibrate(confident.confident_joint(_joint_counts(engine, work, limits)), counts)
    _flag(engine, work, confident.prune_counts(joint), stats)
    flagged = int(_fetch(engine, f"SELECT count(*) AS n FROM {_FLAGGED}")["n"][0])
    return flagged, confident.estimated_errors(joint, counts), joint


def _pairs(joint: np.ndarray, classes: list[str]) -> tuple[tuple[str, str, int], ...]:
    rows = [(classes[g], classes[t], int(joint[g, t])) for g in range(len(classes)) for t in range(len(classes))
            if g != t and joint[g, t] > 0]
    return tuple(sorted(rows, key=lambda r: -r[2]))


def _top(engine, preds: Predictions, method: str, top: int | None, include_correct: bool, table: str, work: str,
         flagged: int) -> dict[str, list]:
    """The ``top`` rows of ``work`` by the method, with the normalized view's columns (computed for those rows
    alone, read from ``table``). A method that ranks the ``flagged`` rows first ranks them alone when they fill
    the top."""
    score, flag_first = RANKINGS[method]
    k = len(preds.source.probs)
    suggested = argmax_sql([f"__p{j}" for j in range(k)], class_literals(preds.source), "__top")
    probs = ", ".join(f"__p{j}" for j in range(k))  # the suggested label computed for the top rows alone
    if flag_first and include_correct and top is not None and flagged >= top:  # a flagged row's other is its top
        ranked = f"__top AS __other, true AS flagged FROM {work} WHERE __row IN (SELECT __row FROM {_FLAGGED})"
        order = "score, __row"
    else:
        ranked = (f"{_other_sql(k)} AS __other, __row IN (SELECT __row FROM {_FLAGGED}) AS flagged FROM {work}"
                  + ("" if include_correct else " WHERE __wrong"))
        order = ("flagged DESC, " if flag_first else "") + "score, __row"
    _fetch(engine, f"CREATE TEMP TABLE {_TOP} AS SELECT __row, {suggested} AS suggested, score, flagged FROM ("
           f"SELECT __row, {probs}, __top, {_score_sql(score, k)} AS score, flagged FROM (SELECT __row, {probs}, "
           f"__given, __pg, __top, {ranked}) ORDER BY {order}" + ("" if top is None else f" LIMIT {int(top)}") + ")")
    scored = "__given, __pg, __highest" + ("" if include_correct else ", __wrong")
    view = view_sql(preds.source, f"(SELECT * EXCLUDE ({scored}) FROM {table} "
                                  f"WHERE __row IN (SELECT __row FROM {_TOP}))")
    return _fetch(engine, f"SELECT v.*, v.y_true AS given, t.suggested, t.score, t.flagged "
                  f"FROM ({view}) v JOIN {_TOP} t ON t.__row = v.row ORDER BY "
                  + ("t.flagged DESC, " if flag_first else "") + "t.score, t.__row")


def label_issues(preds: Predictions, *, split: str = "dev", method: str = DEFAULT_METHOD, top: int | None = None,
                 include_correct: bool = True) -> LabelIssues:
    """The likely label errors of a split's labeled examples, most likely first.

    Parameters
    ----------
    preds : Predictions
        A file with ``p_<class>`` columns holding out-of-sample probabilities.
    split : str, default "dev"
        The split (aliases such as ``val`` accepted); confident learning runs on its labeled rows alone.
    method : str, default :data:`DEFAULT_METHOD`
        One of :data:`METHODS`.
    top : int, optional
        At most this many examples (all when None).
    include_correct : bool, default True
        False leaves out the examples whose given label equals the prediction (``y_pred``).

    Returns
    -------
    LabelIssues
        The flagged count and the estimate cover every labeled example of the split, whatever ``top`` and
        ``include_correct``; ``issues[score]`` is lower for a more likely error.

    Raises
    ------
    ErrorscopeError
        Without ``p_*`` columns, for an unknown split or method, or ``top`` below 1.
    """
    split = _check(preds, split, method, top)
    with open_engine(preds.engine) as engine:
        return _label_issues(engine, preds, split, method, top, include_correct)


def split_label_issues(path, *, split: str = "dev", method: str = DEFAULT_METHOD, top: int | None = None,
                       include_correct: bool = True, engine: str = "duckdb") -> LabelIssues:
    """:func:`label_issues` of one split of a file, reading and checking that split's rows alone
    (:func:`analysis.load.load_split`, whose copy of them computes :func:`scored_sql` as it reads them): a problem
    in another split's rows is not its concern."""
    wrong = not include_correct

    def extend(source: Source, rows: str) -> str | None:
        return (scored_sql(source, rows, wrong=wrong, given=_written_class_sql(source)) if _scorable(source)
                else None)

    with load_split(path, split, engine=engine, extend=extend) as (eng, preds):
        split = _check(preds, split, method, top)
        scored = preds.source.table if _scorable(preds.source) else None
        if scored is not None:
            _match_rest(eng, preds.source, scored, wrong=wrong)
        return _label_issues(eng, preds, split, method, top, include_correct, scored)


def _label_issues(engine, preds: Predictions, split: str, method: str, top: int | None,
                  include_correct: bool, scored: str | None = None) -> LabelIssues:
    """The label issues of ``split``, from ``scored``, a table of its rows with :func:`scored_sql`'s columns (when
    None, one read of the file makes it)."""
    classes = [c for c, _ in preds.source.probs]
    wrong = not include_correct
    try:
        if scored is None:
            where = _fetch(engine, split_where, preds.source, split)
            rows = f"(SELECT * FROM {engine.table(preds.source)} WHERE {where})"
            _fetch(engine, f"CREATE TEMP TABLE {_SCORED} AS {scored_sql(preds.source, rows, wrong=wrong)}")
            scored = _SCORED
        work = _work(preds, scored, wrong=wrong)
        flagged, estimated, joint = _confident_learning(engine, work, len(classes))
        issues = _top(engine, preds, method, top, include_correct, scored, work, flagged)
    except InputError as exc:
        raise InputError(f"{preds.path}: {exc}") from exc
    issues["flagged"] = [bool(v) for v in issues["flagged"]]
    issues["rank"] = list(range(1, len(issues["flagged"]) + 1))
    return LabelIssues(split, method, flagged, estimated, _pairs(joint, classes), issues)
