"""The count table: examples and summed weights per (split, true class, predicted class).

Every metric, confusion matrix and gap is a cheap function of this small table, so the one expensive step, grouping
the rows of a file, happens once, in :func:`aggregate_sql`, which any SQL engine can run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.columns import SPLITS


def aggregate_sql(source: str, keys: dict[str, str], extras: Sequence[str] = ()) -> str:
    """One ``GROUP BY`` over ``source`` (a table expression): ``n`` rows and ``w`` summed weight per key.

    ``keys`` maps output names to SQL expressions over the source, which must have a ``weight`` column;
    ``extras`` are further aggregate expressions (``min(x) AS x_min``) computed in the same scan.
    """
    selected = [f"{expr} AS {name}" for name, expr in keys.items()]
    selected += ["count(*) AS n", "sum(weight) AS w", *extras]
    return f"SELECT {', '.join(selected)} FROM {source} GROUP BY ALL"


@dataclass(frozen=True)
class CountTable:
    """Counts per (split, y_true, y_pred).

    Attributes
    ----------
    frame : DataFrame
        Columns ``split``, ``y_true`` (``None`` for unlabeled rows), ``y_pred``, ``n`` (int) and ``w`` (float,
        the summed weights; equal to ``n`` when the file has no weights).
    classes : tuple of str
        Every class, naturally sorted (numbers numerically).
    weighted : bool
        Whether the file had a weight column.
    """

    frame: pd.DataFrame
    classes: tuple[str, ...]
    weighted: bool = False

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits present, in the order train, train_dev, dev, test."""
        present = set(self.frame["split"])
        return tuple(s for s in SPLITS if s in present)

    @property
    def rows(self) -> int:
        return int(self.frame["n"].sum())

    def select(self, split: str | None = None) -> CountTable:
        """The table of one split (all splits when ``split`` is None)."""
        if split is None:
            return self
        return CountTable(self.frame[self.frame["split"] == split], self.classes, self.weighted)

    def labeled(self) -> pd.DataFrame:
        """The rows with a true label."""
        return self.frame[self.frame["y_true"].notna()]

    def matrix(self, *, weighted: bool = False) -> np.ndarray:
        """Confusion counts (or summed weights), rows true class, columns predicted, in ``classes`` order."""
        index = {c: i for i, c in enumerate(self.classes)}
        k = len(self.classes)
        lab = self.labeled()
        flat = lab["y_true"].map(index).to_numpy(int) * k + lab["y_pred"].map(index).to_numpy(int)
        values = lab["w" if weighted else "n"].to_numpy(float)
        out = np.bincount(flat, weights=values, minlength=k * k).reshape(k, k)
        return out if weighted else out.astype(np.int64)
