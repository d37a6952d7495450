"""Metrics as pure functions of a :class:`~analysis.counts.CountTable`, with scikit-learn's conventions.

Each function measures the whole table it is given: to measure one split, pass ``counts.where(split="dev")``.
Confusion matrices have true classes as rows and predicted classes as columns; a ratio whose denominator is zero
takes ``zero_division`` (0 by default) instead of raising; averages over classes use the classes present in the
table's true or predicted labels, as scikit-learn does when ``labels`` is not given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from analysis.counts import CountTable

if TYPE_CHECKING:
    import pandas as pd

Normalize = Literal["true", "pred", "all"] | None


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix: ``matrix[i, j]`` counts examples of class ``labels[i]`` predicted as ``labels[j]``."""

    labels: tuple[str, ...]
    matrix: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.matrix, index=pd.Index(self.labels, name="true"),
                            columns=pd.Index(self.labels, name="predicted"))


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def confusion_matrix(counts: CountTable, *, weighted: bool = False, normalize: Normalize = None) -> Confusion:
    """The confusion matrix of the table's labeled examples.

    Parameters
    ----------
    weighted : bool
        Sum example weights instead of counting examples.
    normalize : {'true', 'pred', 'all'} or None
        Divide by the row sums (recall per class), the column sums, or the total; empty rows or columns give 0.
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be 'true', 'pred', 'all' or None, not {normalize!r}")
    m = counts.matrix(weighted=weighted)
    if normalize == "true":
        m = _divide(m, m.sum(axis=1, keepdims=True), 0.0)
    elif normalize == "pred":
        m = _divide(m, m.sum(axis=0, keepdims=True), 0.0)
    elif normalize == "all":
        m = _divide(m, m.sum(), 0.0)
    return Confusion(counts.classes, m)


def _present(m: np.ndarray) -> np.ndarray:
    """Classes that occur as a true or a predicted label."""
    return (m.sum(axis=0) + m.sum(axis=1)) > 0


def error_count(counts: CountTable) -> int:
    """The labeled examples predicted wrong."""
    m = counts.matrix()
    return int(m.sum() - np.trace(m))


def accuracy(counts: CountTable, *, weighted: bool = False) -> float | None:
    """Share of labeled examples predicted right (weighted by example weight if asked); None without any."""
    m = counts.matrix(weighted=weighted)
    total = m.sum()
    return float(np.trace(m) / total) if total else None


def error_rate(counts: CountTable, *, weighted: bool = False) -> float | None:
    """1 - accuracy: the share of labeled examples (or of their weight) that are mistakes."""
    m = counts.matrix(weighted=weighted)
    total = m.sum()
    return float((total - np.trace(m)) / total) if total else None


def per_class(counts: CountTable, *, zero_division: float = 0.0) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class present in the table.

    Returns
    -------
    DataFrame
        Index ``class``; columns ``precision``, ``recall``, ``f1``, ``support`` (true examples), ``predicted``.
    """
    import pandas as pd

    scores = class_scores(counts, zero_division=zero_division)
    return pd.DataFrame(scores, index=pd.Index(scores.pop("class"), name="class"))


def class_scores(counts: CountTable, *, zero_division: float = 0.0) -> dict[str, np.ndarray | list[str]]:
    """:func:`per_class` as plain arrays (no pandas): ``class`` (the classes present) and one array per column."""
    scores = _scores(counts, zero_division)
    return {"class": [c for c, keep in zip(counts.classes, scores.pop("present"), strict=True) if keep], **scores}


def _scores(counts: CountTable, zero_division: float) -> dict[str, np.ndarray]:
    """Per-class precision, recall, f1, support and predicted, for the classes ``present`` in the table."""
    m = counts.matrix()
    tp = np.diag(m).astype(float)
    predicted, support = m.sum(axis=0), m.sum(axis=1)
    present = _present(m)
    scores = {"precision": _divide(tp, predicted, zero_division), "recall": _divide(tp, support, zero_division),
              "f1": _divide(2 * tp, predicted + support, zero_division), "support": support,
              "predicted": predicted}
    return {"present": present} | {name: values[present] for name, values in scores.items()}


def f1_score(counts: CountTable, *, average: Literal["macro", "micro", "weighted"] = "macro",
             zero_division: float = 0.0) -> float | None:
    """F1 averaged over classes as scikit-learn's ``f1_score(average=...)``; None without labeled examples."""
    table = _scores(counts, zero_division)
    if not table["present"].any():
        return None
    if average == "macro":
        return float(table["f1"].mean())
    if average == "weighted":
        total = table["support"].sum()
        return float((table["f1"] * table["support"]).sum() / total) if total else float(zero_division)
    if average == "micro":
        return accuracy(counts)
    raise ValueError(f"average must be 'macro', 'micro' or 'weighted', not {average!r}")


def most_confused(counts: CountTable, *, top: int = 10) -> pd.DataFrame:
    """The off-diagonal (true, predicted) pairs with the most examples, largest first.

    Columns ``true``, ``predicted``, ``count`` and ``share_of_errors``.
    """
    m = counts.matrix()
    off = m.copy()
    np.fill_diagonal(off, 0)
    errors = off.sum()
    i, j = np.nonzero(off)
    import pandas as pd

    frame = pd.DataFrame({"true": [counts.classes[a] for a in i], "predicted": [counts.classes[b] for b in j],
                          "count": off[i, j]})
    frame["share_of_errors"] = frame["count"] / errors if errors else 0.0
    return frame.sort_values(["count", "true", "predicted"], ascending=[False, True, True]).head(top).reset_index(
        drop=True)
