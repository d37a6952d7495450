"""Masked metrics of a multi-task file: each task measured on the examples where its label exists, then across tasks.

The cost of the multi-task method sums the loss only over the labeled (example, task) pairs,
``J = 1/m sum_i sum_j L(p_j(i), y_j(i))`` over the pairs where ``y_j(i)`` exists, ``m`` the number of examples
(:func:`masked_loss`). Per task, the count-table metrics (:mod:`analysis.registry`) already leave unlabeled rows
out; :func:`scores_of` adds what needs the probabilities (AUROC, average precision, log loss), from one query
over the file of every task's labels and probabilities. Averages over tasks (macro) skip the tasks without labels
instead of counting them as 0; micro pools every labeled pair.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from analysis.counts import CountTable
from analysis.engine import open_engine
from analysis.load import Predictions
from analysis.metrics import class_scores
from analysis.normalize import label_text
from analysis.registry import Value, measure
from analysis.source import Cut, Source, text_columns
from analysis.summary import summarize
from analysis.view import ident

if TYPE_CHECKING:
    from analysis.tasks import TaskSet

#: Probabilities are clipped to [EPS, 1 - EPS] before the log, as scikit-learn's ``log_loss`` does for doubles.
EPS = float(np.finfo(np.float64).eps)
#: What a task's metric of a split without labels shows (never a 0).
NO_LABELS = "no labels"
#: The metrics averaged over tasks (macro) and pooled over labeled pairs (micro, the count-table ones).
ACROSS = ("error_rate", "accuracy", "macro_f1")


@dataclass(frozen=True)
class TaskScores:
    """One task's labeled count and coverage, and its scores over the labeled rows (None where they cannot be
    computed: AUROC and average precision need a binary task with probabilities and both classes labeled)."""

    task: str
    rows: int
    labeled: int
    coverage: float | None
    auroc: float | None
    average_precision: float | None
    log_loss: float | None
    loss_sum: float | None

    @classmethod
    def of(cls, preds: Predictions, auroc: float | None = None, average_precision: float | None = None,
           loss_sum: float | None = None, given: int = 0) -> TaskScores:
        """A task's scores: its labeled count and coverage from its count table (``preds``), with the ranking
        scores and the log loss summed over ``given`` rows."""
        labeled = preds.counts.labeled().rows
        return cls(preds.source.task or "", preds.rows, labeled, labeled / preds.rows if preds.rows else None, auroc,
                   average_precision, loss_sum / given if loss_sum is not None else None, loss_sum)

    def to_dict(self) -> dict:
        out = asdict(self)
        del out["task"], out["loss_sum"]
        return out


def _read_columns(tasks: Sequence[Predictions]) -> tuple[Source, list[tuple[str, list[str]]]]:
    """One read of the file for every task: a source whose cut selects each task's true label (NULL on the rows of
    other tasks) and its ``p_*`` columns as doubles, each distinct expression once; per task the names of its label
    and probability columns."""
    first = tasks[0].source
    exprs: dict[str, str] = {}
    pinned: set[str] = set()
    plan = []
    for preds in tasks:
        source = preds.source
        cut = source.cut or Cut("", tuple((n, ident(n), n) for n in source.names))
        by_name = {name: expr for name, expr, _ in cut.columns}
        label = by_name[source.columns.y_true]
        if cut.where:
            label = f"CASE WHEN {cut.where} THEN {label} END"
        probs = [f"CAST({by_name[col]} AS DOUBLE)" for _, col in source.probs]
        plan.append((exprs.setdefault(label, f"__c{len(exprs)}"), [exprs.setdefault(e, f"__c{len(exprs)}")
                                                                     for e in probs]))
        pinned |= ({cut.origin(n) for n in text_columns(source.columns)} - {None}) | set(cut.pinned)
    read = Cut("", tuple((alias, expr, None) for expr, alias in exprs.items()), pinned=tuple(sorted(pinned)))
    return replace(first, cut=read), plan


def _labeled_probabilities(tasks: Sequence[Predictions]) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Per task, its labeled rows' ``p_*`` columns (an array per class in the file's order) and the column of each
    row's given label (-1 for a class without one), from one query over the file for all tasks. Labels are read as
    written and normalized in Python on their few distinct values, by the same rule as in SQL."""
    import pandas as pd

    source, plan = _read_columns(tasks)
    with open_engine(tasks[0].engine) as engine:
        got = engine.arrays(f"SELECT * FROM {engine.table(source, numbered=False)}")
    out = []
    for preds, (label, probs) in zip(tasks, plan, strict=True):
        codes, raw = pd.factorize(got[label])
        column = {c: i for i, (c, _) in enumerate(preds.source.probs)}
        given = np.array([-2 if v is None else column.get(v, -1) for v in map(label_text, raw)] + [-2])[codes]
        labeled = given != -2  # code -1 (a missing value) takes the last entry
        out.append(([got[p][labeled].astype(float, copy=False) for p in probs], given[labeled]))
    return out


def ranking_scores(pos: np.ndarray, p: np.ndarray) -> tuple[float, float] | None:
    """AUROC and average precision of scores ``p`` for the labels ``pos`` (booleans), ties as scikit-learn's
    ``roc_auc_score`` and ``average_precision_score`` treat them; None without both classes.

    >>> ranking_scores(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8]))
    (0.75, 0.8333333333333333)
    """
    return sorted_ranking_scores(np.sort(p[pos]), np.sort(p[~pos]))


def sorted_ranking_scores(positive: np.ndarray, negative: np.ndarray) -> tuple[float, float] | None:
    """:func:`ranking_scores` from the positives' scores and the negatives', each sorted."""
    if not len(positive) or not len(negative):
        return None
    # per positive: the negatives scored below it, and at or below it (ties counted half in the AUROC)
    below, upto = _below(positive, negative)
    auroc = float(np.sum(below + upto)) / (2 * len(positive) * len(negative))
    # per positive: the positives scored at or above it (the first of its ties counts them all)
    run = np.empty(len(positive), dtype=bool)
    run[0] = True
    np.not_equal(positive[1:], positive[:-1], out=run[1:])
    above = len(positive) - np.maximum.accumulate(np.where(run, np.arange(len(positive)), 0))
    return auroc, float(np.mean(above / (above + len(negative) - below)))


def _below(values: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``values`` (sorted), how many of ``others`` (sorted) lie below it, and at or below it: a binary
    search of the fewer among the more (when ``others`` are fewer, each is counted in the gap it falls in)."""
    if len(values) <= len(others):
        return np.searchsorted(others, values, "left"), np.searchsorted(others, values, "right")
    # another lies below values[j] when fewer than j + 1 values lie at or below it
    size = len(values) + 1
    return (np.cumsum(np.bincount(np.searchsorted(values, others, "right"), minlength=size))[:-1],
            np.cumsum(np.bincount(np.searchsorted(values, others, "left"), minlength=size))[:-1])


def positive_class(preds: Predictions) -> str | None:
    """The positive class of a binary task with probabilities (the second in natural order), else None."""
    classes = preds.classes
    if len(classes) != 2 or set(classes) - set(preds.columns.probs):
        return None
    return classes[1]


def task_scores(preds: Predictions) -> TaskScores:
    """The masked scores of one task (``preds``, one task's predictions or a single-task file)."""
    return scores_of([preds])[0]


def scores_of(tasks: Sequence[Predictions]) -> list[TaskScores]:
    """The masked scores of the tasks of one file, their probabilities read in one query; the sorts of the ranking
    scores run in threads (NumPy sorts without the interpreter's lock)."""
    scored = [p for p in tasks if p.columns.probs and p.counts.labeled().rows]
    read = dict(zip(map(id, scored), _labeled_probabilities(scored), strict=True)) if scored else {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(lambda p: _scores(p, *read.get(id(p), (None, None))), tasks))


def _scores(preds: Predictions, probs: list[np.ndarray] | None, column: np.ndarray | None) -> TaskScores:
    if probs is None or column is None:
        return TaskScores.of(preds)
    positive = positive_class(preds)
    at = None if positive is None else [c for c, _ in preds.source.probs].index(positive)
    return TaskScores.of(preds, *ranked_scores(probs, column, at))


def ranked_scores(probs: list[np.ndarray], column: np.ndarray, at: int | None
                  ) -> tuple[float | None, float | None, float | None, int]:
    """AUROC and average precision of the class of ``probs[at]`` (None without ``at`` or without both classes),
    the log loss summed over the rows whose given class has a probability (None without any) and their number;
    ``probs`` holds the labeled rows' probabilities of each class, ``column`` each row's given class (an index into
    ``probs``, -1 for a class without one)."""
    loss, given = loss_sum([p[column == i] for i, p in enumerate(probs)])
    ranks = None
    if at is not None:
        keep = ~np.isnan(probs[at])
        ranks = (ranking_scores(column == at, probs[at]) if keep.all() else
                 ranking_scores(column[keep] == at, probs[at][keep]))
    auroc, ap = ranks or (None, None)
    return auroc, ap, loss, given


def loss_sum(given: list[np.ndarray]) -> tuple[float | None, int]:
    """The log loss summed over rows, and their number, from each class's rows' probabilities of that class (in the
    file's order; NaN left out), summed class by class; None without rows."""
    kept = [g[~np.isnan(g)] if np.isnan(g).any() else g for g in given]
    rows = sum(map(len, kept))
    if not rows:
        return None, 0
    return float(sum(-np.log(clipped, out=clipped).sum() for clipped in (np.clip(g, EPS, 1 - EPS) for g in kept))), rows


def positive_scores(counts: CountTable, positive: str | None) -> dict[str, float | None]:
    """Precision, recall and F1 of the ``positive`` class (scikit-learn's binary average), None without it or
    without labels; on a table pooling binary tasks, scikit-learn's multi-label ``average="micro"``."""
    table = class_scores(counts)
    if positive is None or positive not in table["class"] or not counts.labeled().rows:
        return dict.fromkeys(("precision", "recall", "f1"))
    at = table["class"].index(positive)
    return {k: float(table[k][at]) for k in ("precision", "recall", "f1")}


def masked_loss(scores: list[TaskScores], examples: int) -> float | None:
    """The method's ``J``: the log loss summed over the labeled (example, task) pairs, divided by the examples."""
    sums = [s.loss_sum for s in scores if s.loss_sum is not None]
    return sum(sums) / examples if sums and examples else None


def macro(values: list[Value]) -> float | None:
    """The mean over the tasks that have a value (a task without labels is left out, not counted as 0)."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def summarize_tasks(tasks: TaskSet, *, human: float | None = None) -> dict:
    """The summary of a multi-task file: the pooled summary of every labeled pair, and ``tasks`` (per task its
    ``labeled``, ``coverage``, ``auroc``, ``average_precision``, ``log_loss``, ``splits`` and ``gaps``),
    ``masked_loss``, ``macro`` and ``micro``."""
    first = next(iter(tasks.tasks.values()))
    pooled = Predictions(first.source, tasks.counts, first.engine)
    out = summarize(pooled, human=human)
    out["examples"] = tasks.examples
    scores = list(tasks.scores.values()) if tasks.scores is not None else scores_of(list(tasks.tasks.values()))
    per_task = {}
    for s, (name, preds) in zip(scores, tasks.tasks.items(), strict=True):
        single = summarize(preds, human=human)
        per_task[name] = {**s.to_dict(), **positive_scores(preds.counts, positive_class(preds)),
                          "splits": single["splits"], "gaps": single["gaps"]}
    out["tasks"] = per_task
    out["masked_loss"] = masked_loss(scores, tasks.examples)
    names = (*ACROSS, "precision", "recall", "f1", "auroc", "average_precision", "log_loss")
    values = [per_task[n] | measure(p.counts, ACROSS) for n, p in tasks.tasks.items()]
    out["macro"] = {k: macro([v[k] for v in values]) for k in names}
    positives = {positive_class(p) for p in tasks.tasks.values()}
    shared = positives.pop() if len(positives) == 1 else None
    out["micro"] = measure(tasks.counts, ACROSS) | positive_scores(tasks.counts, shared)
    return out


def task_rows(summary: dict) -> list[dict]:
    """The tasks side by side, from :func:`summarize_tasks`: per task its ``labeled`` count, ``coverage``, the error
    of each split (:data:`NO_LABELS` where the task has no label in it), ``auroc``, ``average_precision`` and
    ``log_loss`` (None where they cannot be computed)."""
    splits = list(dict.fromkeys(s for t in summary["tasks"].values() for s in t["splits"]))
    rows = []
    for name, t in summary["tasks"].items():
        errors = {s: t["splits"][s]["error_rate"] if t["splits"].get(s, {}).get("labeled") else NO_LABELS
                  for s in splits}
        rows.append({"task": name, "labeled": t["labeled"], "coverage": t["coverage"], "errors": errors,
                     **{k: t[k] for k in ("auroc", "average_precision", "log_loss")}})
    return rows
