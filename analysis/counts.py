"""The count table: examples and summed weights per combination of named keys (split, true class, predicted class...).

Every metric, confusion matrix and gap is a cheap function of this small table, so the one expensive step, grouping
the rows of a file, happens once, in the load's grouped scan (:func:`analysis.view.labels_sql`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.normalize import SPLITS, natural_key


def _frozen(values: Iterable, dtype) -> np.ndarray:
    out = np.array(list(values), dtype=dtype)
    out.setflags(write=False)
    return out


def _order(key: str, value: object) -> tuple:
    """Sort key of a key's values: splits in :data:`SPLITS` order, other values naturally, ``None`` last."""
    if value is None:
        return (2,)
    if key == "split" and value in SPLITS:
        return (0, SPLITS.index(value))
    return (1, natural_key(str(value)))


@dataclass(frozen=True, eq=False)
class CountTable:
    """Examples and summed weights per combination of key values: one entry per combination present.

    Attributes
    ----------
    keys : tuple of str
        The names of the key columns, e.g. ``("split", "y_true", "y_pred")``.
    columns : tuple of ndarray of object
        One read-only array per key: the key's value in each entry (``y_true`` is ``None`` for unlabeled rows).
    n : ndarray of int64
        Examples per entry.
    w : ndarray of float64
        Summed weights per entry (equal to ``n`` when the file has no weights).
    classes : tuple of str
        Every class, naturally sorted (numbers numerically).
    weighted : bool
        Whether the file had a weight column.

    Examples
    --------
    >>> t = CountTable.from_rows(("split", "y_true", "y_pred"),
    ...                          [("dev", "a", "a", 3, 3.0), ("dev", "a", "b", 1, 1.0), ("train", "b", "b", 2, 2.0)],
    ...                          classes=("a", "b"), weighted=False)
    >>> t.rows, t.splits, t.where(split="dev").rows
    (6, ('train', 'dev'), 4)
    >>> t.where(split="dev").matrix().tolist()
    [[3, 1], [0, 0]]
    """

    keys: tuple[str, ...]
    columns: tuple[np.ndarray, ...]
    n: np.ndarray
    w: np.ndarray
    classes: tuple[str, ...]
    weighted: bool = False

    def __post_init__(self) -> None:
        if len(set(self.keys)) != len(self.keys) or len(self.columns) != len(self.keys):
            raise ValueError(f"keys must be distinct names, one per column; got {self.keys!r}")
        if any(len(c) != len(self.n) for c in (*self.columns, self.w)):
            raise ValueError("every column must have one value per entry")

    @classmethod
    def from_rows(cls, keys: Sequence[str], rows: Iterable[tuple], *, classes: Sequence[str],
                  weighted: bool) -> CountTable:
        """Build from rows ``(*key values, n, w)``, one value per key in ``keys``; repeated keys add up."""
        keys = tuple(keys)
        totals: dict[tuple, list] = {}
        for row in rows:
            if len(row) != len(keys) + 2:
                raise ValueError(f"a row needs {len(keys)} key values, n and w; got {row!r}")
            entry = totals.setdefault(tuple(row[:-2]), [0, 0.0])
            entry[0] += int(row[-2])
            entry[1] += float(row[-1])
        columns = tuple(_frozen((k[i] for k in totals), object) for i in range(len(keys)))
        return cls(keys, columns, _frozen((v[0] for v in totals.values()), np.int64),
                   _frozen((v[1] for v in totals.values()), np.float64), tuple(classes), weighted)

    def column(self, key: str) -> np.ndarray:
        """The value of ``key`` in each entry."""
        try:
            return self.columns[self.keys.index(key)]
        except ValueError:
            raise KeyError(f"the count table has no key {key!r}; its keys are {', '.join(self.keys)}") from None

    def values(self, key: str) -> tuple:
        """The distinct values of ``key`` present, in order: splits as :data:`SPLITS`, others naturally, None last."""
        return tuple(sorted(set(self.column(key)), key=lambda v: _order(key, v)))

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits present, in the order train, train_dev, dev, test."""
        return self.values("split")

    @property
    def rows(self) -> int:
        """Examples in the table."""
        return int(self.n.sum())

    def _keep(self, keep: np.ndarray) -> CountTable:
        return CountTable(self.keys, tuple(_frozen(c[keep], object) for c in self.columns),
                          _frozen(self.n[keep], np.int64), _frozen(self.w[keep], np.float64), self.classes,
                          self.weighted)

    def where(self, **conditions: object) -> CountTable:
        """The entries whose keys have the given values: a value, or any of a collection of values.

        >>> t = CountTable.from_rows(("split", "y_true", "y_pred"), [("dev", "a", "b", 1, 1.0),
        ...     ("test", "a", "a", 2, 2.0), ("train", None, "a", 4, 4.0)], classes=("a", "b"), weighted=False)
        >>> t.where(split="dev").rows, t.where(split=["dev", "test"], y_pred="a").rows
        (1, 2)
        """
        keep = np.ones(len(self.n), dtype=bool)
        for key, wanted in conditions.items():
            accepted = set(wanted) if isinstance(wanted, Collection) and not isinstance(wanted, str) else {wanted}
            keep &= np.fromiter((v in accepted for v in self.column(key)), dtype=bool, count=len(self.n))
        return self._keep(keep)

    def by(self, key: str) -> Iterator[tuple[object, CountTable]]:
        """Each value of ``key`` (in :meth:`values` order) with the table of its entries."""
        for value in self.values(key):
            yield value, self.where(**{key: value})

    def labeled(self) -> CountTable:
        """The entries with a true label."""
        return self._keep(np.fromiter((t is not None for t in self.column("y_true")), dtype=bool,
                                      count=len(self.n)))

    def matrix(self, *, weighted: bool = False, true: str = "y_true", pred: str = "y_pred") -> np.ndarray:
        """Confusion counts (or summed weights), rows true class, columns predicted, in ``classes`` order.

        ``true`` and ``pred`` name the keys holding the two classes (``pred="y_pred_b"`` for a second model);
        entries without a ``true`` class are left out.
        """
        index = {c: i for i, c in enumerate(self.classes)}
        k = len(self.classes)
        t, p = self.column(true), self.column(pred)
        lab = np.fromiter((v is not None for v in t), dtype=bool, count=len(t))
        flat = np.array([index[a] * k + index[b] for a, b in zip(t[lab], p[lab], strict=True)], dtype=int)
        values = (self.w if weighted else self.n)[lab].astype(float)
        out = np.bincount(flat, weights=values, minlength=k * k).reshape(k, k)
        return out if weighted else out.astype(np.int64)
