"""Label issues of multi-label data (one binary task per class), with missing labels left out.

cleanlab's multi-label score (``cleanlab.multilabel_classification.rank.get_label_quality_scores``) scores each
class one-vs-rest, self-confidence being the probability the model gives the class's given label (for a binary
class its normalized margin is the same number), then aggregates an example's class scores by an exponential
moving average over them sorted from the highest down (``alpha`` 0.8). cleanlab's format has no "unknown": a missing
label counts as negative. Here the classes whose label is missing are left out of an example's average, so that
with nothing missing the score is cleanlab's exactly (tests/test_tasks.py checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis.errors import ErrorscopeError
from analysis.masked import positive_class
from analysis.normalize import SPLITS, split_name
from analysis.tasks import TaskSet

if TYPE_CHECKING:
    import pandas as pd

#: cleanlab's default forgetting factor of the moving average.
ALPHA = 0.8


def moving_average(scores: np.ndarray, *, alpha: float = ALPHA) -> np.ndarray:
    """Each row's exponential moving average over its scores sorted from the highest down, NaN (missing) left out;
    NaN for a row without any score.

    >>> moving_average(np.array([[0.1, 0.2, 0.3], [0.9, np.nan, 0.5]]), alpha=0.5).round(4).tolist()
    [0.175, 0.7]
    """
    ordered = -np.sort(-scores, axis=1)  # descending, NaN last
    ema = ordered[:, 0].copy()
    for column in ordered.T[1:]:
        present = ~np.isnan(column)
        ema[present] = alpha * column[present] + (1 - alpha) * ema[present]
    return ema


def class_scores(tasks: TaskSet, *, split: str = "dev") -> pd.DataFrame:
    """Each example's one-vs-rest self-confidence per class (a column per task, NaN where its label is missing), in
    the file's order of ids; every task must be binary with probabilities."""
    import pandas as pd

    canonical = split_name(split)
    if canonical is None:
        raise ErrorscopeError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    columns = {}
    for name, preds in tasks.tasks.items():
        if positive_class(preds) is None:
            raise ErrorscopeError(f"{tasks.path}: task {name!r} is not a binary task with probabilities (classes "
                                  f"{', '.join(preds.classes)}); multi-label scores need one p_<task> per class")
        if canonical not in preds.splits:
            continue
        got = preds.query("SELECT id, CASE WHEN y_true IS NULL THEN NULL ELSE p_given END AS p_given FROM preds "
                          "WHERE split = ? ORDER BY row", [canonical])
        columns[name] = pd.Series(got["p_given"].to_numpy(float), index=got["id"])
    if not columns:
        raise ErrorscopeError(f"{tasks.path}: no split {split!r}")
    return pd.concat(columns, axis=1, sort=False)  # ids in the order they first appear


def multilabel_issues(tasks: TaskSet, *, split: str = "dev", alpha: float = ALPHA) -> pd.DataFrame:
    """Examples ranked by their multi-label quality score, most likely mislabeled first.

    Columns ``rank``, ``id``, ``score`` (cleanlab's aggregate over the labeled classes), ``labeled`` (classes with
    a label), ``worst`` (the class whose given label the model believes least) and ``worst_score`` (its score).
    """
    scores = class_scores(tasks, split=split)
    values = scores.to_numpy()
    labeled = (~np.isnan(values)).sum(axis=1)
    keep = labeled > 0
    values, ids = values[keep], scores.index[keep]
    worst = np.nanargmin(values, axis=1)
    import pandas as pd

    names = np.array(scores.columns, dtype=object)
    frame = pd.DataFrame({"id": ids, "score": moving_average(values, alpha=alpha), "labeled": labeled[keep],
                          "worst": names[worst], "worst_score": values[np.arange(len(values)), worst]})
    frame = frame.sort_values(["score", "id"], kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame
