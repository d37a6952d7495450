"""Likely label errors: a ranked review queue of a split, each example's suggested label, and cleanlab's flags.

Everything is computed by the engine over the file where it lies (:mod:`analysis.view`); only the top rows and
K x K tables come back. A split's rows are copied once into an engine-side table, its labeled rows scored by a view
over it, then:

1. one grouped query gives each given class's count and mean probability (its confident threshold) and how many
   of its examples each other class outscores;
2. one grouped query with the thresholds as literals counts the confident joint; it is calibrated and turned into
   prune counts on the K x K table (:mod:`analysis.confident`);
3. window functions pick, for each (given k, true j) with a prune count m, the m examples labeled k with the
   largest margin ``p_j - p_k`` (ties by file order), as cleanlab's ``prune_by_noise_rate`` does; those whose
   given label is still the argmax after adding 1e-6 to it are dropped, as cleanlab drops them;
4. the top rows by the method's score come back.

The scores are those of cleanlab's ``get_label_quality_scores``; lower means more likely mislabeled.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analysis import confident, exact
from analysis.engine import open_engine
from analysis.errors import ErrorscopeError, InputError
from analysis.load import Predictions, check_split
from analysis.normalize import label_sql, literal, split_sql
from analysis.rankings import DEFAULT_METHOD, METHODS, RANKINGS
from analysis.view import argmax_sql, class_literals, ident, prob_exprs, view_sql

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_METHOD", "METHODS", "LabelIssues", "label_issues"]

_RAW = "__label_raw"
_SPLIT = "__label_split"
_TOP = "__label_top"
_FLAGGED = "__label_flagged"


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
    pairs : DataFrame
        ``given``, ``suggested``, ``estimated``: the calibrated joint's off-diagonal counts, largest first.
    issues : DataFrame
        Most likely error first: the normalized view's columns, then ``given``, ``suggested`` (the class of the
        highest probability), ``score`` (the method's label-quality score; lower = more likely wrong),
        ``flagged`` (bool) and ``rank`` (1-based).
    """

    split: str
    method: str
    flagged: int
    estimated_errors: int
    pairs: pd.DataFrame
    issues: pd.DataFrame


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


def _split_filter(engine, preds: Predictions, split: str) -> str:
    """The condition on the raw split column that selects ``split``.

    In a Parquet file, the split column alone is read at little cost; naming its raw values that normalize to
    ``split`` (``"split" IN ('dev', 'val')``) lets the reader skip the other columns of the rows of other splits.
    A CSV is not read twice: its condition normalizes each row's split.
    """
    column = preds.columns.split
    if column is None:
        return "true" if split == "dev" else "false"
    if preds.format == "parquet":
        found = engine.frame(f"SELECT __s FROM (SELECT DISTINCT {ident(column)} AS __s FROM "
                             f"{engine.table(preds.source, numbered=False)}) WHERE {split_sql('__s')} = ?", [split])
        if all(isinstance(v, str) for v in found["__s"]):
            return f"{ident(column)} IN ({', '.join(literal(v) for v in found['__s']) or 'NULL'})"
    return f"{split_sql(ident(column))} = {literal(split)}"


def _copy(engine, preds: Predictions, split: str) -> None:
    """Read the split's rows once into an engine-side table (``__label_raw``, the file's columns and ``__row``),
    and map each distinct given (and predicted) label to its class, normalized on the distinct values as the
    load's scan does (normalizing every row would cost more than reading the file)."""
    source, cm = preds.source, preds.columns
    engine.frame(f"CREATE TEMP TABLE {_RAW} AS SELECT * FROM {engine.table(source)} WHERE "
                 f"{_split_filter(engine, preds, split)}")
    index = "CASE __label " + " ".join(f"WHEN {literal(c)} THEN {i}" for i, (c, _) in enumerate(source.probs))
    for name, column in (("__given", cm.y_true), ("__predicted", cm.y_pred)):
        if column is not None:
            engine.frame(f"CREATE TEMP TABLE {name} AS SELECT __raw, __label, {index} END AS __index FROM "
                         f"(SELECT {ident(column)} AS __raw, {label_sql(ident(column), source.typed[column])} "
                         f"AS __label FROM (SELECT DISTINCT {ident(column)} FROM {_RAW}))")


def _work_sql(preds: Predictions) -> str:
    """A table of the split's labeled rows, computed once from the one copy of the split (``__label_raw``), with
    ``__given`` (class index), the ``__p*`` clipped to [0, 1] (the loader
    accepts rounding up to 0.01 outside; cleanlab accepts none), ``__pg`` (the given class's clipped probability),
    ``__other`` (the highest probability of another class), ``__wrong`` (the prediction is not the given label) and
    ``__issue`` (the given label is not the argmax once raised by 1e-6); the scores are computed where ranked."""
    source, cm = preds.source, preds.columns
    k = len(source.probs)
    clipped = ", ".join(f"least(greatest({p}, 0.0), 1.0) AS __p{j}" for j, p in enumerate(prob_exprs(source)))
    own = "CASE __given " + " ".join(f"WHEN {j} THEN __p{j}" for j in range(k)) + " END"
    others = ", ".join(f"CASE WHEN __given = {j} THEN -1.0 ELSE __p{j} END" for j in range(k))
    other = f"greatest({others})" if k > 1 else "-1.0"
    first_other = "CASE " + " ".join(f"WHEN __given <> {j} AND __p{j} = __other THEN {j}" for j in range(k)) + " END"
    raised = f"__pg + {confident.EPSILON!r}"
    issue = f"(__other > {raised} OR (__other = {raised} AND {first_other} < __given))"
    if cm.y_pred is not None:
        pred, join = "pr.__label", f"LEFT JOIN __predicted pr ON pr.__raw = r.{ident(cm.y_pred)}"
    else:
        ps = prob_exprs(source)
        pred, join = argmax_sql(ps, class_literals(source)), ""
    return (f"CREATE TEMP TABLE {_SPLIT} AS SELECT *, {issue} AS __issue FROM "
            f"(SELECT *, {own} AS __pg, {other} AS __other FROM (SELECT r.__row, g.__index AS __given, "
            f"{pred} IS DISTINCT FROM g.__label AS __wrong, {clipped} FROM {_RAW} r "
            f"JOIN __given g ON g.__raw = r.{ident(cm.y_true)} {join} WHERE g.__index IS NOT NULL))")


def _class_stats(engine, k: int) -> pd.DataFrame:
    """Per given class: ``n``, ``mean`` (of its own probability, from its exact sum: alike on every engine) and
    ``above{j}`` (examples where ``p_j`` beats it)."""
    above = ", ".join(f"count(*) FILTER (WHERE __p{j} - __pg > 0) AS above{j}" for j in range(k))
    stats = engine.frame(f"SELECT __given, count(*) AS n, sum(__pg) AS pg, {', '.join(exact.sums('__pg', 'pg'))}, "
                         f"{above} FROM {_SPLIT} GROUP BY __given")
    stats["mean"] = np.array(exact.totals(stats, "pg")) / stats["n"].to_numpy(float)
    return stats


def _joint_counts(engine, limits: np.ndarray) -> np.ndarray:
    """The confident joint's counts ``[given, true]``, each probability compared with its class's limit."""
    k = len(limits)
    conf = [f"__p{j} >= {float(limits[j])!r}" for j in range(k)]
    many = " + ".join(f"CAST({c} AS INTEGER)" for c in conf)
    argmax = argmax_sql([f"__p{j}" for j in range(k)], [str(j) for j in range(k)])
    first = "CASE " + " ".join(f"WHEN {c} THEN {j}" for j, c in enumerate(conf)) + " END"
    rows = engine.frame(f"SELECT __given, CASE WHEN __many > 1 THEN {argmax} ELSE {first} END AS __true, "
                        f"count(*) AS n FROM (SELECT *, {many} AS __many FROM {_SPLIT}) WHERE __many > 0 "
                        "GROUP BY ALL")
    counts = np.zeros((k, k), dtype=np.int64)
    counts[rows["__given"].astype(int), rows["__true"].astype(int)] = rows["n"].astype(np.int64)
    return counts


def _flag(engine, prune: np.ndarray, stats: pd.DataFrame, min_examples: int = 1) -> None:
    """Write the flagged rows into the engine-side table ``__label_flagged`` (cleanlab's prune_by_noise_rate).

    For a pair whose count does not exceed the examples that class j outscores, only those compete (the others
    have a margin <= 0 and rank after them), which keeps the window small; otherwise the whole class does. An
    example that no other class outscores competes only in such a whole class.
    """
    k = len(prune)
    sizes = dict(zip(stats["__given"].astype(int), stats["n"].astype(int), strict=True))
    above = {int(g): row for g, row in zip(stats["__given"], stats.to_dict("records"), strict=True)}
    pairs = [(g, j, int(prune[g, j]), int(prune[g, j]) <= int(above[g][f"above{j}"]))
             for g in range(k) for j in range(k)
             if g != j and prune[g, j] > 0 and sizes.get(g, 0) > min_examples]
    if not pairs:
        engine.frame(f"CREATE TEMP TABLE {_FLAGGED} AS SELECT __row FROM {_SPLIT} WHERE false")
        return
    values = ", ".join(f"({g}, {j}, {m}, {str(pos).lower()})" for g, j, m, pos in pairs)
    whole = sorted({g for g, _, _, pos in pairs if not pos})
    compete = "s.__other > s.__pg" + (f" OR s.__given IN ({', '.join(map(str, whole))})" if whole else "")
    p_j = "CASE q.j " + " ".join(f"WHEN {j} THEN s.__p{j}" for j in range(k)) + " END"
    engine.frame(
        f"CREATE TEMP TABLE {_FLAGGED} AS SELECT DISTINCT __row FROM ("
        f"SELECT s.__row, s.__issue, row_number() OVER (PARTITION BY q.g, q.j ORDER BY {p_j} - s.__pg DESC, "
        f"s.__row) AS r, q.m FROM {_SPLIT} s JOIN (VALUES {values}) AS q(g, j, m, pos) ON s.__given = q.g "
        f"WHERE ({compete}) AND (NOT q.pos OR {p_j} - s.__pg > 0)) WHERE r <= m AND __issue")


def _confident_learning(engine, k: int) -> tuple[int, int, np.ndarray]:
    """Flag the split's label issues in the engine; the flagged count, the estimate and the calibrated joint."""
    stats = _class_stats(engine, k)
    counts = np.zeros(k, dtype=np.int64)
    means = np.zeros(k)
    counts[stats["__given"].astype(int)] = stats["n"].astype(np.int64)
    means[stats["__given"].astype(int)] = stats["mean"].astype(float)
    limits = confident.thresholds(means, counts) - 1e-6
    joint = confident.calibrate(confident.confident_joint(_joint_counts(engine, limits)), counts)
    _flag(engine, confident.prune_counts(joint), stats)
    flagged = int(engine.frame(f"SELECT count(*) AS n FROM {_FLAGGED}")["n"].iloc[0])
    return flagged, confident.estimated_errors(joint, counts), joint


def _pairs(joint: np.ndarray, classes: list[str]) -> pd.DataFrame:
    import pandas as pd

    rows = [(classes[g], classes[t], int(joint[g, t])) for g in range(len(classes)) for t in range(len(classes))
            if g != t and joint[g, t] > 0]
    rows.sort(key=lambda r: -r[2])
    return pd.DataFrame(rows, columns=["given", "suggested", "estimated"]).astype(
        {"given": object, "suggested": object, "estimated": "int64"})


def _top(engine, preds: Predictions, method: str, top: int | None, include_correct: bool) -> pd.DataFrame:
    """The ``top`` rows by the method, with the normalized view's columns (computed for those rows alone)."""
    score, flag_first = RANKINGS[method]
    order = ("flagged DESC, " if flag_first else "") + "score, __row"
    k = len(preds.source.probs)
    suggested = argmax_sql([f"__p{j}" for j in range(k)], class_literals(preds.source))
    engine.frame(f"CREATE TEMP TABLE {_TOP} AS SELECT __row, {suggested} AS suggested, {_score_sql(score, k)} AS "
                 f"score, __row IN (SELECT __row FROM {_FLAGGED}) AS flagged FROM {_SPLIT} "
                 + ("" if include_correct else "WHERE __wrong ")
                 + f"ORDER BY {order}" + ("" if top is None else f" LIMIT {int(top)}"))
    rows = view_sql(preds.source, f"(SELECT * FROM {_RAW} WHERE __row IN (SELECT __row FROM {_TOP}))")
    return engine.frame(f"SELECT v.*, v.y_true AS given, t.suggested, t.score, t.flagged "
                        f"FROM ({rows}) v JOIN {_TOP} t ON t.__row = v.row ORDER BY "
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
    classes = [c for c, _ in preds.source.probs]
    with open_engine(preds.engine) as engine:
        try:
            _copy(engine, preds, split)
            engine.frame(_work_sql(preds))
            flagged, estimated, joint = _confident_learning(engine, len(classes))
            issues = _top(engine, preds, method, top, include_correct)
        except InputError as exc:
            raise InputError(f"{preds.path}: {exc}") from exc
    issues["flagged"] = issues["flagged"].astype(bool)
    issues["rank"] = np.arange(1, len(issues) + 1, dtype=np.int64)
    return LabelIssues(split, method, flagged, estimated, _pairs(joint, classes), issues.reset_index(drop=True))
