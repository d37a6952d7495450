"""The frames a tag store returns, built from what its queries hand over.

:meth:`TagStore.tags` reads the examples as column aggregates (numbers comma-separated, texts as JSON arrays),
several times faster to parse than one Python tuple per row; :func:`tags_frame` turns them into the frame.
:func:`history_frame` does the same for the rows of the history.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

#: The columns of TagStore.history().
HISTORY_COLUMNS = ("change_id", "id", "field", "old", "new", "user", "at", "kind", "undone")


def texts(values: Iterable[str | None]) -> pd.Series:
    """A text column that keeps None for missing values (object dtype, whatever pandas' string default)."""
    return pd.Series(list(values), dtype=object)


def timestamps(epoch_ms: np.ndarray) -> pd.Series:
    """Epoch milliseconds (int64 minimum = missing) as UTC timestamps."""
    return pd.Series(epoch_ms.astype(np.int64).view("datetime64[ms]")).dt.tz_localize("UTC")


def tags_frame(chunks: list[tuple], ticks: list[tuple[int, str]], categories: Mapping[str, int]) -> pd.DataFrame:
    """Build the tags frame from aggregated chunks of examples and the ticks of each category.

    Parameters
    ----------
    chunks : list of tuple
        Per chunk of examples, in this order: the keys, ``reviewed``, ``mislabeled`` and ``updated_at`` (epoch
        milliseconds, int64 minimum for none), each comma-separated, then JSON arrays of the ids, corrected
        labels, notes and ``updated_by``.
    ticks : list of (int, str)
        Per category id, the comma-separated keys of the examples it tags.
    categories : mapping of str to int
        The category columns, in order, and their ids.
    """

    def numbers(position: int, dtype: type) -> np.ndarray:
        parts = [np.fromstring(chunk[position], dtype=np.int64, sep=",") for chunk in chunks]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    def strings(position: int) -> list[str | None]:
        return list(itertools.chain.from_iterable(json.loads(chunk[position]) for chunk in chunks))

    keys = numbers(0, np.int64)
    data: dict[str, object] = {
        "id": texts(strings(4)),
        "reviewed": numbers(1, bool),
        "mislabeled": numbers(2, bool),
        "corrected_label": texts(strings(5)),
        "note": texts(strings(6)),
        "updated_by": texts(strings(7)),
        "updated_at": timestamps(numbers(3, np.int64)),
    }
    order = np.argsort(keys)
    for name, category_id in categories.items():
        data[name] = _ticked(keys, order, [text for cid, text in ticks if cid == category_id])
    frame = pd.DataFrame(data)
    if not pd.Index(frame["id"]).is_monotonic_increasing:  # the queries hand the rows over in id order; be sure
        frame = frame.sort_values("id", kind="stable", ignore_index=True)
    return frame


def _ticked(keys: np.ndarray, order: np.ndarray, tagged: list[str]) -> np.ndarray:
    """Which of ``keys`` (sorted by ``order``) are among the comma-separated keys of ``tagged[0]``, if any."""
    column = np.zeros(len(keys), dtype=bool)
    if tagged and len(keys):
        wanted = np.fromstring(tagged[0], dtype=np.int64, sep=",")
        positions = order[np.searchsorted(keys, wanted, sorter=order).clip(0, len(keys) - 1)]
        column[positions[keys[positions] == wanted]] = True
    return column


def history_frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """Build the history frame from rows of (change id, example id, field, is a category, is a flag, old, new,
    user, epoch milliseconds, kind, undone)."""
    records = [
        (cid, eid, name, _flag(old, is_cat or is_flag), _flag(new, is_cat or is_flag), who, at, kind, bool(undone))
        for cid, eid, name, is_cat, is_flag, old, new, who, at, kind, undone in rows
    ]
    frame = pd.DataFrame({name: texts(r[i] for r in records) for i, name in enumerate(HISTORY_COLUMNS)})
    frame["change_id"] = frame["change_id"].astype("int64")
    frame["undone"] = frame["undone"].astype(bool)
    frame["at"] = timestamps(np.array(frame["at"].tolist(), dtype=np.int64))
    return frame


def _flag(value: object, is_flag: object) -> object:
    return bool(value) if is_flag and value is not None else value
