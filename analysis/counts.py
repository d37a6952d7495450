"""The count table: examples and summed weights per (split, true class, predicted class).

Every metric, confusion matrix and gap is a cheap function of this small table, so the one expensive step, grouping
the rows of a file, happens once, in :func:`aggregate_sql`, which any SQL engine can run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.normalize import SPLITS


def aggregate_sql(source: str, keys: dict[str, str], extras: Sequence[str] = ()) -> str:
    """One ``GROUP BY`` over ``source`` (a table expression): ``n`` rows and ``w`` summed weight per key.

    ``keys`` maps output names to SQL expressions over the source, which must have a ``weight`` column;
    ``extras`` are further aggregate expressions (``min(x) AS x_min``) computed in the same scan.
    """
    selected = [f"{expr} AS {name}" for name, expr in keys.items()]
    selected += ["count(*) AS n", "sum(weight) AS w", *extras]
    return f"SELECT {', '.join(selected)} FROM {source} GROUP BY ALL"


@dataclass(frozen=True, eq=False)
class CountTable:
    """Counts per (split, y_true, y_pred): one entry per combination present, as parallel numpy arrays.

    Attributes
    ----------
    split, y_true, y_pred : ndarray of object
        The canonical split and the two classes of each entry; ``y_true`` is ``None`` for unlabeled rows.
    n : ndarray of int64
        Examples per entry.
    w : ndarray of float64
        Summed weights per entry (equal to ``n`` when the file has no weights).
    classes : tuple of str
        Every class, naturally sorted (numbers numerically).
    weighted : bool
        Whether the file had a weight column.
    """

    split: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    n: np.ndarray
    w: np.ndarray
    classes: tuple[str, ...]
    weighted: bool = False

    @classmethod
    def from_groups(cls, groups: Iterable[tuple[str, str | None, str, int, float]], classes: tuple[str, ...],
                    weighted: bool) -> CountTable:
        """Build from (split, y_true, y_pred, n, w) tuples, adding up repeated keys."""
        totals: dict[tuple, list] = {}
        for split, true, pred, n, w in groups:
            entry = totals.setdefault((split, true, pred), [0, 0.0])
            entry[0] += int(n)
            entry[1] += float(w)
        keys = list(totals)
        column = [np.array([k[i] for k in keys], dtype=object) for i in range(3)]
        return cls(*column, np.array([v[0] for v in totals.values()], dtype=np.int64),
                   np.array([v[1] for v in totals.values()], dtype=np.float64), classes, weighted)

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits present, in the order train, train_dev, dev, test."""
        present = set(self.split)
        return tuple(s for s in SPLITS if s in present)

    @property
    def rows(self) -> int:
        return int(self.n.sum())

    def _where(self, keep: np.ndarray) -> CountTable:
        return CountTable(self.split[keep], self.y_true[keep], self.y_pred[keep], self.n[keep], self.w[keep],
                          self.classes, self.weighted)

    def select(self, split: str | None = None) -> CountTable:
        """The table of one split (all splits when ``split`` is None)."""
        return self if split is None else self._where(self.split == split)

    def labeled(self) -> CountTable:
        """The entries with a true label."""
        return self._where(np.array([t is not None for t in self.y_true], dtype=bool))

    def matrix(self, *, weighted: bool = False) -> np.ndarray:
        """Confusion counts (or summed weights), rows true class, columns predicted, in ``classes`` order."""
        index = {c: i for i, c in enumerate(self.classes)}
        k = len(self.classes)
        lab = self.labeled()
        flat = np.array([index[t] * k + index[p] for t, p in zip(lab.y_true, lab.y_pred, strict=True)], dtype=int)
        values = (lab.w if weighted else lab.n).astype(float)
        out = np.bincount(flat, weights=values, minlength=k * k).reshape(k, k)
        return out if weighted else out.astype(np.int64)
