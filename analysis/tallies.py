"""Tallies: which cause explains what share of a split's mistakes, from the reviewed examples' tags.

For each error category, the share of the reviewed mistakes it tags, a 95% Wilson score interval for that
share (the sample is small: about 100 reviewed mistakes), and the ceiling: the share times the split's error
rate, the most that fixing every mistake of that kind could lower the error. An example may be tagged with
several categories, so the shares may sum to more than 1.

The tags (a small frame) are joined with the split's rows in DuckDB, in one query over the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from analysis.errors import ErrorscopeError
from analysis.load import Predictions
from analysis.metrics import error_count, error_rate
from analysis.normalize import split_name
from analysis.review import check_split
from analysis.tags import categories_of

if TYPE_CHECKING:
    from analysis.tags import TagStore

__all__ = ["CategoryTally", "Tallies", "tallies_side_by_side", "tally", "tally_splits", "wilson_interval"]

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959964


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``k / n``.

    Parameters
    ----------
    k : int
        Successes (examples with the category), ``0 <= k <= n``.
    n : int
        Trials (reviewed examples).
    z : float, default 1.959964
        Normal quantile; the default gives a 95% interval.

    Returns
    -------
    (float, float)
        Lower and upper bound, within [0, 1]. With ``n == 0`` nothing is known: ``(0.0, 1.0)``.

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(10, 100)]
    [0.0552, 0.1744]
    >>> [round(x, 4) for x in wilson_interval(0, 20)]
    [0.0, 0.1611]
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if isinstance(k, bool) or isinstance(n, bool) or int(k) != k or int(n) != n:
        raise ValueError(f"k and n must be whole numbers, got k={k!r}, n={n!r}")
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if z <= 0:
        raise ValueError(f"z must be > 0, got {z}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


@dataclass(frozen=True)
class CategoryTally:
    """One category's count among the reviewed mistakes of a split.

    ``share`` is ``count / reviewed`` (0 when nothing is reviewed), ``share_low``/``share_high`` its 95%
    Wilson interval, and ``ceiling`` = ``share * error_rate`` (None when the split has no labeled examples).
    """

    category: str
    count: int
    share: float
    share_low: float
    share_high: float
    ceiling: float | None

    @classmethod
    def of(cls, category: str, count: int, reviewed: int, error_rate: float | None) -> CategoryTally:
        share = count / reviewed if reviewed else 0.0
        low, high = wilson_interval(count, reviewed)
        ceiling = share * error_rate if error_rate is not None else None
        return cls(category, int(count), share, low, high, ceiling)


@dataclass(frozen=True)
class Tallies:
    """The tallies of one split.

    Attributes
    ----------
    split : str
    errors : int
        Mistakes in the split (labeled examples predicted wrong).
    error_rate : float or None
        ``errors`` over the labeled examples; None without any.
    reviewed_errors : int
        Reviewed examples that are mistakes in this split: the denominator of every share.
    categories : list of CategoryTally
        Every category of the dataset, by count (largest first), ties by name.
    mislabeled : CategoryTally
        The same numbers for the examples whose label is wrong.
    unexplained : CategoryTally
        The same numbers for the reviewed mistakes that no category explains: no category ticked and not
        mislabeled (named ``unexplained``). A large share says a cause is missing from the categories.
    reviewed_correct : int
        Reviewed examples predicted right in this split.
    mislabeled_among_correct : int
        Those of them marked mislabeled.
    """

    split: str
    errors: int
    error_rate: float | None
    reviewed_errors: int
    categories: list[CategoryTally]
    mislabeled: CategoryTally
    reviewed_correct: int
    mislabeled_among_correct: int
    unexplained: CategoryTally

    def to_dict(self) -> dict:
        """The JSON shape of ``errorscope tallies --json``."""
        mislabeled = asdict(self.mislabeled)
        del mislabeled["category"]
        return {
            "split": self.split,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "reviewed_errors": self.reviewed_errors,
            "categories": [asdict(c) for c in self.categories],
            "mislabeled": mislabeled,
            "reviewed_correct": self.reviewed_correct,
            "mislabeled_among_correct": self.mislabeled_among_correct,
            "unexplained": {k: v for k, v in asdict(self.unexplained).items() if k != "category"},
        }

    @property
    def rows(self) -> list[CategoryTally]:
        """The categories, then the mislabeled and the unexplained rows."""
        return [*self.categories, self.mislabeled, self.unexplained]

    def to_frame(self) -> pd.DataFrame:
        """One row per category, then one named ``mislabeled`` and one ``unexplained``; columns as
        :class:`CategoryTally`."""
        rows = [asdict(c) for c in self.rows]
        columns = ["category", "count", "share", "share_low", "share_high", "ceiling"]
        return pd.DataFrame(rows, columns=columns)


def _reviewed_tags(store: TagStore, dataset: str) -> tuple[list[str], pa.Table]:
    """The dataset's categories and a table of its reviewed examples: ``id``, ``mislabeled``, ``c0``...

    An Arrow table, which DuckDB scans without converting Python objects (three times faster to join than a
    pandas frame of object columns at 100,000 tags).
    """
    tags = store.tags(dataset)
    categories = categories_of(tags)
    keep = tags["reviewed"].to_numpy(dtype=bool)
    columns = {"id": pa.array(tags["id"].to_numpy(dtype=object)[keep], type=pa.string()),
               "mislabeled": pa.array(tags["mislabeled"].to_numpy(dtype=bool)[keep])}
    for i, name in enumerate(categories):
        columns[f"c{i}"] = pa.array(tags[name].to_numpy(dtype=bool)[keep])
    return categories, pa.table(columns)


def tally_splits(preds: Predictions, store: TagStore, dataset: str, splits: Sequence[str]) -> list[Tallies]:
    """The tallies of several splits (as :func:`tally`), reading the tags once and the file once."""
    splits = [check_split(preds, split) for split in splits]
    categories, frame = _reviewed_tags(store, dataset)
    sums = ", ".join(f"count(*) FILTER (WHERE t.c{i}) AS c{i}" for i in range(len(categories)))
    explained = " OR ".join(["t.mislabeled", *(f"t.c{i}" for i in range(len(categories)))])
    sql = ("SELECT p.split, p.y_true = p.y_pred AS correct, count(*) AS n, "
           f"count(*) FILTER (WHERE t.mislabeled) AS mislabeled, count(*) FILTER (WHERE NOT ({explained})) "
           f"AS unexplained{', ' + sums if sums else ''} "
           "FROM (SELECT id, split, y_true, y_pred FROM preds) p JOIN __tags t ON t.id = p.id "
           f"WHERE p.y_true IS NOT NULL AND p.split IN ({', '.join('?' * len(splits))}) GROUP BY ALL")
    groups = preds.query(sql, list(splits), frames={"__tags": frame})
    found = {(split, bool(correct)): row for (split, correct), row in groups.set_index(["split", "correct"]).iterrows()}
    out = []
    for split in splits:
        table = preds.counts.where(split=split)
        errors, rate = error_count(table), error_rate(table)
        wrong, right = found.get((split, False)), found.get((split, True))
        reviewed = int(wrong["n"]) if wrong is not None else 0
        counts = [int(wrong[f"c{i}"]) if wrong is not None else 0 for i in range(len(categories))]
        tallied = [CategoryTally.of(name, count, reviewed, rate)
                   for name, count in zip(categories, counts, strict=True)]
        tallied.sort(key=lambda c: (-c.count, c.category.casefold(), c.category))
        mislabeled = int(wrong["mislabeled"]) if wrong is not None else 0
        out.append(Tallies(
            split=split,
            errors=errors,
            error_rate=rate,
            reviewed_errors=reviewed,
            categories=tallied,
            mislabeled=CategoryTally.of("mislabeled", mislabeled, reviewed, rate),
            reviewed_correct=int(right["n"]) if right is not None else 0,
            mislabeled_among_correct=int(right["mislabeled"]) if right is not None else 0,
            unexplained=CategoryTally.of("unexplained", int(wrong["unexplained"]) if wrong is not None else 0,
                                         reviewed, rate),
        ))
    return out


def tally(preds: Predictions, store: TagStore, dataset: str, *, split: str = "dev") -> Tallies:
    """Count which error categories explain what share of a split's reviewed mistakes.

    Parameters
    ----------
    preds : Predictions
        The model's predictions; a tagged example counts in the split its row is in.
    store : TagStore
        The tag store.
    dataset : str
        Dataset name of the tags.
    split : str, default "dev"
        The split to tally (aliases such as ``val`` accepted).

    Returns
    -------
    Tallies
        Only reviewed examples count; tags of ids not in the file are left out.

    Raises
    ------
    ErrorscopeError
        For a split the file does not have.
    """
    return tally_splits(preds, store, dataset, [split])[0]


def tallies_side_by_side(preds: Predictions, store: TagStore, dataset: str,
                         splits: Sequence[str] = ("dev", "test")) -> pd.DataFrame:
    """The tallies of several splits in one table, for comparing where each cause matters.

    Splits the file lacks are left out (an error if none is left).

    Returns
    -------
    DataFrame
        Index ``category`` (the categories ordered by their count in the first split, then ``mislabeled`` and
        ``unexplained``);
        for each split the columns ``<split>_count``, ``<split>_share``, ``<split>_share_low``,
        ``<split>_share_high`` and ``<split>_ceiling``. ``frame.attrs["reviewed_errors"]`` and
        ``frame.attrs["error_rate"]`` hold each split's denominators.
    """
    if isinstance(splits, str):
        splits = (splits,)
    wanted = []
    for split in splits:
        canonical = split_name(split)
        if canonical is None:
            check_split(preds, split)  # raises, naming the accepted splits
        if canonical in preds.splits and canonical not in wanted:
            wanted.append(canonical)
    if not wanted:
        raise ErrorscopeError(f"{preds.path}: none of the splits {', '.join(map(str, splits))} is in the "
                              f"file (it has {', '.join(preds.splits)})")
    results = tally_splits(preds, store, dataset, wanted)
    frames = []
    for result in results:
        frame = result.to_frame().set_index("category")
        frames.append(frame.add_prefix(f"{result.split}_"))
    table = pd.concat(frames, axis=1)
    table = table.loc[[c.category for c in results[0].categories] + ["mislabeled", "unexplained"]]
    table.index.name = "category"
    table.attrs["reviewed_errors"] = {r.split: r.reviewed_errors for r in results}
    table.attrs["error_rate"] = {r.split: r.error_rate for r in results}
    return table
