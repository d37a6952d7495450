"""Texts kept in a second file (``id`` and ``text`` columns), joined to the predictions on ``id``.

For predictions files without a ``text`` column: the review shows each example's text from the second file, read
where it lies for the ids on the page only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analysis.engine.duckdb import DuckDB, reader_sql
from analysis.errors import InputError
from analysis.normalize import label_sql, label_text
from analysis.source import file_format

__all__ = ["read_texts"]


def read_texts(path: str | os.PathLike, ids: Iterable[object]) -> dict[str, str]:
    """The text of each of ``ids`` that the file at ``path`` (CSV or Parquet, columns ``id`` and ``text``) holds.

    Ids match as the predictions' do (``7``, ``7.0`` and ``"7"`` are the same id); an id the file lacks, or whose
    text is blank, is left out; of an id repeated in the file, the first row's text.

    Raises
    ------
    InputError
        Naming the file, when it cannot be read or lacks an ``id`` or ``text`` column.
    """
    path = Path(path)
    fmt = file_format(path)
    wanted = pd.DataFrame({"id": pd.Series([t for t in map(_id, ids) if t is not None], dtype=object)})
    with DuckDB() as eng:
        names, types = eng.describe(path, fmt)
        missing = [c for c in ("id", "text") if c not in names]
        if missing:
            raise InputError(f"{path}: a texts file needs the columns id and text; it lacks {', '.join(missing)} "
                             f"(it has {', '.join(names[:20])})")
        kind = dict(zip(names, types, strict=True))["id"]
        sql = (f"SELECT id, first(text ORDER BY __n) AS text FROM (SELECT {label_sql('id', kind)} AS id, "
               f"CAST(text AS VARCHAR) AS text, row_number() OVER () AS __n FROM {reader_sql(path, fmt)}) "
               "WHERE id IN (SELECT id FROM __ids) GROUP BY id")
        found = eng.frame(sql, frames={"__ids": wanted})
    return {i: t for i, t in zip(found["id"], found["text"], strict=True) if isinstance(t, str)}


def _id(value: object) -> str | None:
    return label_text(value) if isinstance(value, str | int | float) else None
