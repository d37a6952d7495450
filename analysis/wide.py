"""A wide multi-task file's binary tasks counted and scored from one read of each task's two columns.

The ordinary load groups each task's rows in the engine (:func:`analysis.load._scan`), then
:func:`analysis.masked.scores_of` reads every task's labels and probabilities again for its ranking scores. For the
common wide file, binary tasks written as a label column ``T`` with ``p_T`` (doubles) and no ``pred_T``, without
weights, :func:`count_wide` reads a task's label and probability once, as Arrow arrays: NumPy counts its (split,
true, predicted) groups, which the load's checks then judge as they judge any scan's
(:func:`analysis.load.load_grouped`), and computes its masked scores from the same arrays; the scores' sorts run in
threads while the engine reads the next task (bench/TASKS.md).

Labels are normalized on their distinct values (:func:`analysis.normalize.label_text`) and splits in SQL on theirs,
by the rules of every other read. A file this path cannot judge (a blank or NaN probability, a split column of many
values, an engine without Arrow) returns None: it is loaded the ordinary way, whose checks name the offending rows.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from analysis.checks import PROB_TOLERANCE
from analysis.errors import InputError
from analysis.load import Predictions, scan_aggregates
from analysis.masked import TaskScores, loss_sum, sorted_ranking_scores
from analysis.normalize import label_text, literal, natural_key, raw_split_sql
from analysis.source import TEXT, Source, ident

#: More raw split values than this, and the file is loaded the ordinary way (its check names the unknown one).
MAX_SPLIT_VALUES = 64
#: More distinct labels than this in a task, and the file is loaded the ordinary way (its check names the class).
MAX_CLASSES = 100
#: The classes of a wide binary task, as its cut names its probability columns (``p_1`` first, then ``p_0``).
CLASSES = ("1", "0")


@dataclass(frozen=True)
class Counted:
    """One task's (split, true, predicted) groups as a grouped scan gives them (``raw_split``, ``y_true``,
    ``y_pred``, ``n``, ``w``), and its masked scores over the labeled rows (AUROC, average precision, the summed log
    loss and the rows it sums over), as :func:`analysis.masked.scores_of` computes them."""

    groups: dict[str, list]
    auroc: float | None
    average_precision: float | None
    loss_sum: float | None
    given: int
    #: The checks' aggregates of the task's own columns (:func:`_aggregates`); the file's others are every task's.
    aggregates: dict[str, list]

    def scores(self, preds: Predictions) -> TaskScores:
        """The task's :class:`~analysis.masked.TaskScores`, once its checks passed (``preds``)."""
        return TaskScores.of(preds, self.auroc, self.average_precision, self.loss_sum, self.given)


def _simple(source: Source) -> bool:
    """Whether a task's cut is a wide binary task this path reads: ``p_1`` a double column, ``p_0`` computed from
    it, no predicted class column, no weight, a split column of text (or none)."""
    cut, cm = source.cut, source.columns
    if cut is None or cm.y_pred is not None or cm.weight is not None or set(cm.probs) != set(CLASSES):
        return False
    if cut.origin(cm.probs["1"]) is None or cut.origin(cm.probs["0"]) is not None:
        return False
    return source.typed[cm.probs["1"]] == "DOUBLE" and (cm.split is None or source.typed[cm.split] == TEXT)


def count_wide(eng, sources: Sequence[Source]) -> tuple[list[Counted], list[dict[str, list]]] | None:
    """Each task's :class:`Counted`, from one read of its label and probability columns, and each task's checks'
    aggregates (:func:`task_aggregates`; the engine's scan of the first task runs while threads count and sort the
    first tasks). None when a task is not one this path reads (:func:`_simple`) or its file holds what only the
    ordinary load's checks can name."""
    if not sources or not hasattr(eng, "arrow") or not all(map(_simple, sources)):
        return None
    split = _split_codes(eng, sources[0])
    if split is None:
        return None
    codes, raw_splits = split
    workers = os.cpu_count() or 1
    out: list[Counted | None] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: deque = deque()
        for i, source in enumerate(sources):  # the engine reads a task while the threads count the ones before
            cm = source.columns
            try:
                label = ident(cm.y_true)  # a blank double as NaN: one array of numbers
                label = f"coalesce({label}, 'NaN'::DOUBLE)" if source.typed[cm.y_true] == "DOUBLE" else label
                read = eng.arrow(f"SELECT {label} AS t, {ident(cm.probs['1'])} AS p "
                                 f"FROM {eng.table(source, numbered=False)}")
            except InputError:  # the ordinary load reads the file again and says what is wrong with it
                return None
            running.append(pool.submit(_counted, codes, raw_splits, read))
            if i + 1 == min(workers, len(sources)):
                (first,) = scan_aggregates(eng, sources[:1])
            if len(running) > workers:
                out.append(running.popleft().result())
        out += [f.result() for f in running]
    if None in out:
        return None
    return out, task_aggregates(first, out) or scan_aggregates(eng, sources)


def task_aggregates(first: dict[str, list], counted: Sequence[Counted]) -> list[dict[str, list]] | None:
    """Each task's check aggregates (:func:`analysis.load.scan_aggregates`) from the engine's of the first task
    (``first``): a task's own from its arrays, the file's (ids, weights) as the first's. None when the first's own
    differ from what its arrays give (the engine must then compute every task's)."""
    own = counted[0].aggregates
    if any(first.get(name) != value for name, value in own.items()):
        return None
    shared = {name: value for name, value in first.items() if name not in own}
    return [first, *(shared | c.aggregates for c in counted[1:])]


def _split_codes(eng, source: Source) -> tuple[np.ndarray | int, list[str]] | None:
    """Each row's split as a small code into the raw splits (as :func:`analysis.normalize.raw_split_sql` gives
    them); a file without a split column is all ``dev`` (code 0)."""
    column = source.columns.split
    if column is None:
        return 0, [eng.fetch(f"SELECT {raw_split_sql(None)} AS s")["s"][0]]
    table = eng.table(source, numbered=False)
    found = eng.fetch(f"SELECT DISTINCT {ident(column)} AS v, {raw_split_sql(ident(column))} AS s FROM {table}")
    if len(found["v"]) > MAX_SPLIT_VALUES:
        return None
    cases = " ".join(f"WHEN {ident(column)} IS NULL THEN {i}" if v is None else f"WHEN {ident(column)} = "
                     f"{literal(v)} THEN {i}" for i, v in enumerate(found["v"]))
    codes = eng.arrow(f"SELECT CAST(CASE {cases} END AS UTINYINT) AS c FROM {table}").column("c")
    if codes.null_count:
        return None
    return _numbers(codes, np.uint8), found["s"]


def _numbers(column, dtype: type) -> np.ndarray:
    """An Arrow column of numbers without nulls as a NumPy array, from its buffer (pyarrow's own conversion imports
    pandas, which this path otherwise does without)."""
    array = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    size = np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * size)


def _counted(codes: np.ndarray | int, raw_splits: list[str], read) -> Counted | None:
    """A task's groups and scores from its arrays (label ``t``, probability of class 1 ``p``)."""
    column = read.column("p")
    if column.null_count:
        return None
    p = _numbers(column, np.float64)
    if np.isnan(p).any():
        return None
    found = _labels(read.column("t"))
    if found is None:
        return None
    classes, label, one, zero = found
    # class 1 where its probability is the greatest (p >= 1 - p, ties to p_1, the first column): for a double p,
    # 1 - p is exact from 0.5 up (Sterbenz) and rounds to at least 0.5 below it, so this is p >= 0.5
    key = (np.asarray(codes, dtype=np.int32) * (len(classes) + 1) + label) * 2 + (p < 0.5)
    found = np.bincount(key, minlength=len(raw_splits) * (len(classes) + 1) * 2)
    groups: dict[str, list] = {"raw_split": [], "y_true": [], "y_pred": [], "n": [], "w": []}
    for k in np.flatnonzero(found):
        s, rest = divmod(int(k), (len(classes) + 1) * 2)
        groups["raw_split"].append(raw_splits[s])
        groups["y_true"].append(classes[rest // 2 - 1] if rest // 2 else None)
        groups["y_pred"].append(CLASSES[rest % 2])
        groups["n"].append(int(found[k]))
        groups["w"].append(float(found[k]))
    positive, negative = p[one], p[zero]
    loss, given = loss_sum([positive, np.subtract(1, negative)])  # in the file's order, before the sorts
    positive.sort()
    negative.sort()
    return Counted(groups, *(sorted_ranking_scores(positive, negative) or (None, None)), loss, given,
                   _aggregates(p))


def _labels(column) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None:
    """A task's classes (its labels normalized, naturally sorted), each row's class as 1 + its index (0 where the
    label is missing), and which rows are labeled ``1`` and ``0``; None beyond :data:`MAX_CLASSES`.

    Labels are normalized on their distinct values; a column of doubles holding only 0, 1 and NaN (a blank, read
    so) needs no look-up."""
    if column.type == "double":
        v = _numbers(column, np.float64)
        one, zero = v == 1, v == 0
        if np.count_nonzero(one) + np.count_nonzero(zero) + np.count_nonzero(np.isnan(v)) == len(v):
            classes = [c for c, rows in (("0", zero), ("1", one)) if rows.any()]
            label = zero.view(np.int8) + one.view(np.int8) * np.int8(len(classes))  # "1" is the last class
            return classes, label, one, zero
    encoded = column.combine_chunks().dictionary_encode(null_encoding="encode")
    labels = [label_text(v) for v in encoded.dictionary.to_pylist()]
    classes = sorted({c for c in labels if c is not None}, key=natural_key)
    if len(classes) > MAX_CLASSES:
        return None
    at = np.array([classes.index(c) if c is not None else -1 for c in labels], dtype=np.int8)
    label = at[_numbers(encoded.indices, np.int32)]
    one, zero = (label == (classes.index(c) if c in classes else -2) for c in CLASSES)
    return classes, label + 1, one, zero


def _aggregates(p: np.ndarray) -> dict[str, list]:
    """The checks' aggregates of a task's own columns (:func:`analysis.checks.aggregates` over ``__p0``, its
    ``p_1``, and ``__p1``, its ``p_0 = 1 - p_1``), as the SQL computes them, from its probabilities (no NaN).

    ``1 - p`` rounds monotonically, so its bounds are ``1 - max(p)`` and ``1 - min(p)``; for ``p`` in [-1, 2] the
    sum ``p + (1 - p)`` is 1 to within 2**-52, so no row is off 1 and the rows need no second pass.
    """
    lo, hi = float(p.min()), float(p.max())
    off = 0 if -1 <= lo and hi <= 2 else int(np.count_nonzero(~(np.abs((p + (1 - p)) - 1) <= PROB_TOLERANCE)))
    return {"min_p0": [lo], "max_p0": [hi], "min_p1": [1 - hi], "max_p1": [1 - lo], "bad_p": [off]}
