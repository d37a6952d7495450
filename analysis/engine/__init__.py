"""The engine seam: what errorscope asks of the engine that reads a predictions file.

An engine reads a file where it lies and runs SQL over it; everything it is given is engine-neutral SQL
(:mod:`analysis.view`, :mod:`analysis.checks`), except the table expression of the file, which it makes itself.
DuckDB (:mod:`analysis.engine.duckdb`) is the embedded default; Spark (:mod:`analysis.engine.spark`) runs the
same SQL on a local Spark or a cluster. An engine is opened for a piece of work and
closed after it (``with open_engine() as engine: ...``); nothing of it is kept in a :class:`Predictions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from analysis.checks import Aggregate
    from analysis.source import Source

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    """The operations an engine provides; each raises :class:`~analysis.errors.InputError` for a file it cannot
    read, naming the file."""

    name: str

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def describe(self, path: Path, fmt: str) -> tuple[list[str], list[str]]:
        """The column names and the engine's types of a file (reads its header or schema only)."""

    def table(self, source: Source, *, numbered: bool = True) -> str:
        """A table expression of the file's rows, with their 1-based position ``__row`` when ``numbered``."""

    def grouped(self, source: Source, aggregates: Sequence[Aggregate]) -> list[Aggregate]:
        """Which ``aggregates`` ride in the grouped scan (those with ``whole_file`` may run apart), plus any the
        engine itself needs for :meth:`duplicate_ids`."""

    def scan(self, source: Source, sql: str, apart: Sequence[Aggregate], raw: str) -> dict[str, list]:
        """Run the grouped scan ``sql`` and the aggregates left out of it (``apart``, each ``whole_file``) over
        ``raw``; the results by column. ``sql`` None: the groups were counted elsewhere, only ``apart`` runs."""

    def fetch(self, sql: str) -> dict[str, list]:
        """A small query's result by column."""

    def duplicate_ids(self, source: Source, groups: Mapping[str, list]) -> int:
        """How many rows repeat an id of an earlier row (``groups``: the scan's result)."""

    def arrays(self, sql: str) -> dict[str, np.ndarray]:
        """A large query's result as one NumPy array per column (NULL as NaN in a column of numbers, None in one of
        text), without a DataFrame's copies."""

    def register(self, name: str, columns: Mapping[str, np.ndarray]) -> None:
        """A small table of NumPy ``columns`` under ``name``, for the queries after (values written into SQL text
        take long to plan: thousands of them, most of a second)."""

    def frame(self, sql: str, params: Sequence[object] = (), *, frames: Mapping[str, object] | None = None,
              views: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Run ``sql`` with ``frames`` (small pandas or Arrow tables) and ``views`` (name -> query) under their
        names; an error is an :class:`~analysis.errors.InputError` with the engine's first line."""


def open_engine(name: str = "duckdb") -> Engine:
    """A new engine by name (one of :data:`ENGINES`)."""
    if name == "duckdb":
        from analysis.engine.duckdb import DuckDB

        return DuckDB()
    if name == "spark":  # pyspark is an optional extra: imported only when asked for
        from analysis.engine.spark import Spark

        return Spark()
    raise ValueError(f"unknown engine {name!r}; engines are {', '.join(ENGINES)}")
