"""The per-example side of error analysis: a reproducible sample of mistakes to review and the rows of one
confusion-matrix cell.

Everything here is a filtered query over the predictions file (DuckDB reads it where it lies), so a review
sample of a split never loads the whole file; a sample of mistakes reads the view ``mistakes``
(:meth:`analysis.load.Predictions.query`), kept by the open of a CSV.

The sample is the ``n`` mistakes with the smallest hash of ``f"{seed}:{id}"`` (MD5, hexadecimal, ties by id).
It depends only on the ids and the seed: the same ids come out whatever the order of the file, and when a
newer model's predictions of the same examples are opened, every id of the old sample that is still a mistake
stays in the new one.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from analysis.errors import ErrorscopeError
from analysis.filters import FilterSQL
from analysis.load import Predictions, check_split
from analysis.metrics import error_count
from analysis.normalize import label_text, natural_key
from analysis.tags import categories_of

if TYPE_CHECKING:
    from analysis.tags import TagStore

__all__ = [
    "count_mistakes",
    "examples",
    "review_sample",
    "split_mistakes",
    "split_rows",
    "tagged_ids",
]

def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ErrorscopeError(f"{what} must be a whole number, got {value!r}")
    if value < 0:
        raise ErrorscopeError(f"{what} must be >= 0, got {value}")
    return int(value)


def _label(value: object, what: str, noun: str = "a class label") -> str:
    """A class label (or an id) as the view has it, by the one rule of :mod:`analysis.normalize`."""
    label = label_text(value) if isinstance(value, str | bytes | numbers.Number) else None
    if label is None:
        raise ErrorscopeError(f"{what} must be {noun}, got {value!r}")
    return label


def _class(preds: Predictions, value: object, what: str) -> str:
    label = _label(value, what)
    if label not in preds.classes:
        shown = ", ".join(preds.classes[:20]) + (", ..." if len(preds.classes) > 20 else "")
        raise ErrorscopeError(f"{preds.path}: no class {label!r} ({what}); the classes are {shown}")
    return label


def _id_frame(ids: Iterable[object], what: str) -> pd.DataFrame:
    if isinstance(ids, str | bytes):
        raise ErrorscopeError(f"{what} must be a collection of ids, not one string")
    out = [_label(value, what, "example ids") for value in ids]  # as the view normalizes the id column
    return pd.DataFrame({"id": pd.Series(list(dict.fromkeys(out)), dtype=object)})


def count_mistakes(preds: Predictions, split: str = "dev", *, true_class: object = None,
                   pred_class: object = None) -> int:
    """How many labeled examples of a split are predicted wrong, from the count table (no scan of the file).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = path.write_text("id,y_true,y_pred\\n1,a,a\\n2,a,b\\n3,b,a\\n4,,a\\n")
    >>> from analysis.load import load_predictions
    >>> count_mistakes(load_predictions(path)), count_mistakes(load_predictions(path), true_class="a")
    (2, 1)
    """
    conditions = {"split": check_split(preds, split)}
    if true_class is not None:
        conditions["y_true"] = _class(preds, true_class, "true_class")
    if pred_class is not None:
        conditions["y_pred"] = _class(preds, pred_class, "pred_class")
    return error_count(preds.counts.where(**conditions))


def _allocate(n: int, sizes: Mapping[str, int]) -> dict[str, int]:
    """Split ``n`` across groups in proportion to their sizes (largest remainders), never above a size.

    >>> _allocate(10, {"a": 50, "b": 30, "c": 20})
    {'a': 5, 'b': 3, 'c': 2}
    >>> _allocate(4, {"a": 1, "b": 1, "c": 1})
    {'a': 1, 'b': 1, 'c': 1}
    >>> _allocate(2, {"a": 1, "b": 1, "c": 1})
    {'a': 1, 'b': 1, 'c': 0}
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    exact = {k: n * v / total for k, v in sizes.items()}
    quota = {k: int(math.floor(x)) for k, x in exact.items()}
    left = n - sum(quota.values())
    order = sorted(sizes, key=lambda k: (-(exact[k] - quota[k]), -sizes[k], natural_key(k)))
    for k in order[:left]:
        quota[k] += 1
    return quota


def split_rows(preds: Predictions, split: str = "dev") -> pd.DataFrame:
    """Every labeled row of a split (the view's columns), read in one pass over the file.

    Kept by a caller that draws many samples with correct predictions mixed in (the app), it is the ``rows`` of
    :func:`review_sample`, which then reads nothing from the file (bench/REVIEW.md).
    """
    split = check_split(preds, split)
    return preds.query("SELECT * FROM preds WHERE split = ? AND y_true IS NOT NULL", [split])


def split_mistakes(preds: Predictions, split: str = "dev") -> pd.DataFrame:
    """Every labeled mistake of a split (the view's columns), from the rows the open of a CSV kept, else read with
    a filter on the label columns (Parquet): no pass over a CSV, and well under a second at 2 million rows.

    A sample of mistakes alone (no ``correct``) may take them as its ``rows`` (:func:`review_sample` reads them
    itself when not given): a caller that draws many samples (the app) keeps them.
    """
    split = check_split(preds, split)
    return preds.query("SELECT * FROM mistakes WHERE split = ?", [split])


def review_sample(preds: Predictions, *, split: str = "dev", n: int = 100, seed: int = 0,
                  stratify: bool = False, correct: int = 0, true_class: object = None,
                  pred_class: object = None, ids: Iterable[object] | None = None,
                  exclude_ids: Iterable[object] | None = None, rows: pd.DataFrame | None = None,
                  where: FilterSQL | None = None) -> pd.DataFrame:
    """A reproducible random sample of the mistakes of a split, to review and tag.

    Parameters
    ----------
    preds : Predictions
        The predictions file.
    split : str, default "dev"
        The split to sample (aliases such as ``val`` accepted).
    n : int, default 100
        How many mistakes (labeled rows with ``y_true != y_pred``); all of them when there are fewer.
    seed : int, default 0
        Another seed gives another sample. Each row's place is the MD5 of ``f"{seed}:{id}"``.
    stratify : bool, default False
        Allocate ``n`` across true classes in proportion to their mistakes (largest remainders), and take
        each class's share in hash order.
    correct : int, default 0
        Also take this many correctly predicted examples, drawn the same way (mislabels hide there too).
    true_class, pred_class : optional
        Only rows of this true (predicted) class.
    ids : iterable of str, optional
        Only rows with these ids (for example the ids tagged with a category: :func:`tagged_ids`).
    exclude_ids : iterable of str, optional
        Leave these ids out (for example those already reviewed).
    rows : DataFrame, optional
        The split's rows as :func:`split_rows` returns them: the sample is drawn from them, in memory, and the
        file is not read. The same sample as without them. Without ``correct``, the split's mistakes
        (:func:`split_mistakes`, read when not given) do as well.
    where : FilterSQL, optional
        Only rows of a slice (:func:`analysis.filters.filter_sql`).

    Returns
    -------
    DataFrame
        The view's columns (``row``, ``id``, ``split``, ``y_true``, ``y_pred``, ``weight``, ``confidence``,
        ``text``, ``image``, metadata) and a bool column ``correct``, in sample order: ``n`` mistakes and
        ``correct`` correct predictions at most, mixed in hash order.

    Raises
    ------
    ErrorscopeError
        For a split the file lacks, ``n`` or ``correct`` below 0, or a class the file lacks.
    """
    split = check_split(preds, split)
    n = _count(n, "n")
    correct = _count(correct, "correct")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ErrorscopeError(f"seed must be a whole number, got {seed!r}")
    where, params, frames = _filters(preds, split, true_class, pred_class, ids, exclude_ids, where)
    if rows is None and not correct:
        rows = split_mistakes(preds, split)
    table = "preds"
    if rows is not None:
        if len(rows) and set(rows["split"].unique()) != {split}:
            raise ErrorscopeError(f"rows must be the {split!r} split's rows (split_rows), not those of "
                                  f"{', '.join(map(str, rows['split'].unique()))}")
        table, frames = "__rows", {**frames, "__rows": rows}
    base = (f"SELECT *, y_true = y_pred AS __c, md5(CAST(? AS VARCHAR) || ':' || id) AS __h "
            f"FROM {table} WHERE {' AND '.join(where)}")
    params = [int(seed), *params]
    if stratify:
        out = _stratified(preds, base, params, frames, n, correct)
    else:
        sql = (f"WITH base AS ({base}), "
               "picked AS (SELECT * FROM (SELECT * FROM base WHERE NOT __c ORDER BY __h, id LIMIT ?) "
               "UNION ALL SELECT * FROM (SELECT * FROM base WHERE __c ORDER BY __h, id LIMIT ?)) "
               "SELECT * EXCLUDE (__h) FROM picked ORDER BY __h, id")
        out = preds.query(sql, [*params, n, correct], frames=frames)
    flags = out.pop("__c").astype(bool)
    out["correct"] = flags
    return out.reset_index(drop=True)


def _filters(preds: Predictions, split: str, true_class: object, pred_class: object,
             ids: Iterable[object] | None, exclude_ids: Iterable[object] | None, slice_: FilterSQL | None = None
             ) -> tuple[list[str], list[object], dict[str, pd.DataFrame]]:
    """The conditions on the view for a sample, their parameters and the id tables they join."""
    where = ["split = ?", "y_true IS NOT NULL"]
    params: list[object] = [split]
    frames: dict[str, pd.DataFrame] = {}
    if slice_ is not None:
        where.append(f"({slice_.where})")
        params += slice_.params
        frames |= slice_.frames
    if true_class is not None:
        where.append("y_true = ?")
        params.append(_class(preds, true_class, "true_class"))
    if pred_class is not None:
        where.append("y_pred = ?")
        params.append(_class(preds, pred_class, "pred_class"))
    if ids is not None:
        frames["__keep"] = _id_frame(ids, "ids")
        where.append("id IN (SELECT id FROM __keep)")
    if exclude_ids is not None:
        frames["__drop"] = _id_frame(exclude_ids, "exclude_ids")
        where.append("id NOT IN (SELECT id FROM __drop)")
    return where, params, frames


def _stratified(preds: Predictions, base: str, params: list[object], frames: dict[str, pd.DataFrame], n: int,
                correct: int) -> pd.DataFrame:
    """``n`` mistakes and ``correct`` correct predictions, each allocated across true classes by size."""
    sizes = preds.query(f"SELECT __c, y_true, count(*) AS k FROM ({base}) GROUP BY ALL", params, frames=frames)
    quotas = []
    for is_correct, wanted in ((False, n), (True, correct)):
        part = sizes[sizes["__c"] == is_correct]
        alloc = _allocate(wanted, dict(zip(part["y_true"], part["k"].astype(int), strict=True)))
        quotas += [(is_correct, cls, k) for cls, k in alloc.items() if k]
    frames = {**frames, "__quota": pd.DataFrame(quotas, columns=["__c", "y_true", "k"]).astype(
        {"__c": bool, "y_true": object, "k": "int64"})}
    # ranked on the narrow columns of the groups with a quota only, then joined back by row: the window over
    # every column of every row took twice as long at 200,000 rows
    sql = (f"WITH base AS ({base}), "
           "ranked AS (SELECT b.row, b.__c, b.y_true, "
           "row_number() OVER (PARTITION BY b.__c, b.y_true ORDER BY b.__h, b.id) AS __r "
           "FROM base b SEMI JOIN __quota q ON q.__c = b.__c AND q.y_true = b.y_true) "
           "SELECT b.* EXCLUDE (__h) FROM base b JOIN ranked r ON r.row = b.row "
           "JOIN __quota q ON q.__c = r.__c AND q.y_true = r.y_true "
           "WHERE r.__r <= q.k ORDER BY b.__h, b.id")
    return preds.query(sql, params, frames=frames)


def examples(preds: Predictions, *, split: str | None = None, true_class: object, pred_class: object,
             limit: int = 50, offset: int = 0, where: FilterSQL | None = None) -> pd.DataFrame:
    """The rows of one confusion-matrix cell, one page at a time, most confident first.

    Parameters
    ----------
    split : str, optional
        One split; all splits when None.
    true_class, pred_class
        The cell: rows with this true and this predicted class.
    limit, offset : int
        The page: at most ``limit`` rows after skipping ``offset``. The cell's size is the matrix's count.
    where : FilterSQL, optional
        Only rows of a slice (:func:`analysis.filters.filter_sql`).

    Returns
    -------
    DataFrame
        The view's columns, by confidence (highest first; file order without ``p_*`` columns or on ties).
    """
    conds, params = ["y_true = ?", "y_pred = ?"], [_class(preds, true_class, "true_class"),
                                                   _class(preds, pred_class, "pred_class")]
    if split is not None:
        conds.append("split = ?")
        params.append(check_split(preds, split))
    if where is not None:
        conds.append(f"({where.where})")
        params += where.params
    limit = _count(limit, "limit")
    offset = _count(offset, "offset")
    table = "preds" if params[0] == params[1] else "mistakes"  # off the diagonal: no pass over a CSV's other rows
    return preds.query(f"SELECT * FROM {table} WHERE {' AND '.join(conds)} ORDER BY confidence DESC NULLS LAST, row "
                       "LIMIT ? OFFSET ?", [*params, limit, offset], frames=where.frames if where else None)


def tagged_ids(store: TagStore, dataset: str, *, category: str | None = None, reviewed: bool | None = None,
               mislabeled: bool | None = None) -> list[str]:
    """Ids of a dataset's tagged examples, for the ``ids`` and ``exclude_ids`` of :func:`review_sample`.

    Parameters
    ----------
    category : str, optional
        Only examples ticked with this category.
    reviewed, mislabeled : bool, optional
        Only examples with this flag.

    Raises
    ------
    ErrorscopeError
        For a category the dataset does not have.
    """
    tags = store.tags(dataset)
    keep = pd.Series(True, index=tags.index)
    if category is not None:
        categories = categories_of(tags)
        if category not in categories:
            known = ", ".join(repr(c) for c in categories) or "none yet"
            raise ErrorscopeError(f"dataset {dataset!r} has no category {category!r} (it has: {known})")
        keep &= tags[category].astype(bool)
    if reviewed is not None:
        keep &= tags["reviewed"] == reviewed
    if mislabeled is not None:
        keep &= tags["mislabeled"] == mislabeled
    return tags.loc[keep, "id"].tolist()
