"""Multi-task and multi-label files: which layout a file has, and each task's rows as a single-task file.

Two layouts hold several tasks (README, "Several tasks"):

- **wide**: one row per example; per task ``T`` a true-label column ``T`` (blank = missing) with ``p_T``, the
  probability of the class ``1`` (binary tasks), and/or ``pred_T``, the predicted class; the other columns (id,
  split, weight, text, image, metadata) are the example's. A wide file has no ``y_true`` column.
- **long**: one row per (example, task), with a ``task`` column and the single-task columns (``y_true``,
  ``y_pred``, ``p_<class>``...).

Each task becomes a :class:`~analysis.load.Predictions` over a :class:`~analysis.source.Cut` of the file: the
same normalized view as a single-task file, so every page and command works per task. :class:`TaskSet` holds
them, with one count table keyed by ``task``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.columns import ALIASES, ColumnMap, shown_names
from analysis.counts import CountTable
from analysis.engine import Engine, open_engine
from analysis.errors import ErrorscopeError, InputError
from analysis.load import Predictions, _scan, _schema, load_grouped
from analysis.normalize import literal, natural_key
from analysis.source import Cut, Source, file_format, ident, location, make_source
from analysis.view import id_sql

if TYPE_CHECKING:
    from analysis.masked import TaskScores
    from analysis.wide import Counted

#: Name of the task column of a long file (compared case-insensitively).
TASK_COLUMN = "task"
#: Prefixes of a wide task's companion columns: its probability of class 1 and its predicted class.
PROB_PREFIX, PRED_PREFIX = "p_", "pred_"
#: The roles a wide file's tasks share (the example's own columns).
SHARED_ROLES = ("id", "split", "weight", "text", "image")


@dataclass(frozen=True)
class WideTask:
    """A task of a wide file: its true-label column and its companions (None where absent)."""

    name: str
    prob: str | None
    pred: str | None


@dataclass(frozen=True)
class Layout:
    """How a file holds its tasks: ``kind`` is ``"single"``, ``"wide"`` or ``"long"``."""

    kind: str
    task_column: str | None = None
    wide: tuple[WideTask, ...] = ()


def _by_lower(names: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        out.setdefault(name.lower(), name)
    return out


def wide_tasks(names: Sequence[str], labels: Sequence[str] | None = None, *, source: str = "the file"
               ) -> tuple[WideTask, ...]:
    """The tasks of a wide file: each column ``T`` with a ``p_T`` or ``pred_T`` column (``labels``: those columns).

    >>> [t.name for t in wide_tasks(["id", "NR-AR", "p_NR-AR", "SR-p53", "pred_SR-p53"])]
    ['NR-AR', 'SR-p53']
    """
    lower = _by_lower(names)
    chosen = list(labels) if labels is not None else [
        n for n in names if not re.match(f"^({PROB_PREFIX}|{PRED_PREFIX})", n, re.IGNORECASE)]
    tasks = []
    for name in chosen:
        if name not in names:
            raise InputError(f"{source}: no column {name!r} to use as a task's labels; columns are "
                             f"{shown_names(names)}")
        prob, pred = lower.get(f"{PROB_PREFIX}{name}".lower()), lower.get(f"{PRED_PREFIX}{name}".lower())
        if prob is None and pred is None:
            if labels is not None:
                raise InputError(f"{source}: task column {name!r} has no {PROB_PREFIX}{name} or {PRED_PREFIX}{name} "
                                 "column; add the task's probability of class 1 or its predicted class")
            continue
        tasks.append(WideTask(name, prob, pred))
    return tuple(tasks)


def detect_layout(names: Sequence[str], columns: Mapping[str, str | None] | None = None,
                  labels: Sequence[str] | None = None, *, source: str = "the file") -> Layout:
    """Which layout a file has, by its column names.

    ``columns`` may name the long layout's ``task`` column (``{"task": "assay"}``; None: no task column) and
    ``labels`` a wide file's task label columns, for files whose names do not follow the convention.

    >>> detect_layout(["id", "task", "y_true", "p_0", "p_1"]).kind, detect_layout(["y_true", "p_a", "p_b"]).kind
    ('long', 'single')
    """
    columns = dict(columns or {})
    if "task" in columns:
        task = columns["task"]
        if task is not None and task not in names:
            raise InputError(f"{source}: no column {task!r} to use as task; columns are {shown_names(names)}")
    else:
        task = _by_lower(names).get(TASK_COLUMN)
    if task is not None:
        return Layout("long", task_column=task)
    if labels is not None:
        return Layout("wide", wide=wide_tasks(names, labels, source=source))
    lower = _by_lower(names)
    has_truth = columns.get("y_true") is not None or any(a in lower for a in ALIASES["y_true"])
    found = () if has_truth else wide_tasks(names, source=source)
    return Layout("wide", wide=found) if found else Layout("single")


def _wide_cut(task: WideTask, names: Sequence[str], typed: Mapping[str, str], layout: Layout,
              source: str) -> tuple[Cut, list[str], list[str]]:
    """The cut of one wide task: the example's columns, ``y_true``, ``y_pred`` and ``p_1``, ``p_0``."""
    owned = {c for t in layout.wide for c in (t.name, t.prob, t.pred) if c}
    shared = [n for n in names if n not in owned]
    stray = [n for n in shared if n.lower().startswith((PROB_PREFIX, PRED_PREFIX))
             or n.lower() in ("y_pred", *ALIASES["y_pred"])]
    if stray:
        raise InputError(f"{source}: column {stray[0]!r} belongs to no task of this wide file (tasks are "
                         f"{shown_names([t.name for t in layout.wide])}); name it {PROB_PREFIX}<task> or "
                         f"{PRED_PREFIX}<task> after a task's label column, or drop it")
    cols = [(n, ident(n), n) for n in shared] + [("y_true", ident(task.name), task.name)]
    types = [typed[n] for n in shared] + [typed[task.name]]
    if task.pred:
        cols.append(("y_pred", ident(task.pred), task.pred))
        types.append(typed[task.pred])
    if task.prob:  # class 1 first: a probability of exactly 0.5 predicts 1, as ``p >= 0.5`` does
        kind = typed[task.prob]
        cols += [("p_1", ident(task.prob), task.prob),
                 ("p_0", f"CAST(1 - TRY_CAST({ident(task.prob)} AS DOUBLE) AS {kind})", None)]
        types += [kind, kind]
    return Cut(task.name, tuple(cols)), [c[0] for c in cols], types


def task_sql(column: str) -> str:
    """A long file's task name: the column's text, trimmed; NULL when blank. Task names are names, as a wide file's
    column names are, not labels: ``007`` and ``7`` are two tasks (the label rule would make them one class)."""
    return f"nullif(trim(CAST({ident(column)} AS VARCHAR)), '')"


def _long_cut(task: str, names: Sequence[str], typed: Mapping[str, str], column: str) -> tuple[Cut, list[str],
                                                                                               list[str]]:
    """The cut of one task of a long file: its rows, without the task column."""
    kept = [n for n in names if n != column]
    where = f"{task_sql(column)} = {literal(task)}"
    cut = Cut(task, tuple((n, ident(n), n) for n in kept), where, pinned=(column,))  # a CSV's names read as text
    return cut, kept, [typed[n] for n in kept]


@dataclass(frozen=True, eq=False)
class TaskSet:
    """A multi-task file: each task's :class:`~analysis.load.Predictions` (in the file's order) and ``examples``,
    the number of examples (rows of a wide file, distinct ids of a long one). Build one with :func:`load_tasks`."""

    path: Path
    layout: str
    tasks: Mapping[str, Predictions]
    examples: int
    #: Each task's masked scores when the load computed them from the arrays it read (:mod:`analysis.wide`), else
    #: None (:func:`analysis.masked.scores_of` reads them).
    scores: Mapping[str, TaskScores] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.tasks)

    def task(self, name: str) -> Predictions:
        """One task's predictions, refusing a task the file lacks."""
        if name not in self.tasks:
            raise ErrorscopeError(f"{self.path}: no task {name!r}; the file has {shown_names(self.names)}")
        return self.tasks[name]

    @cached_property
    def counts(self) -> CountTable:
        """Every task's count table in one, keyed by ``task``, ``split``, ``y_true``, ``y_pred``."""
        rows = [(name, *(c[i] for c in p.counts.columns), p.counts.n[i], p.counts.w[i])
                for name, p in self.tasks.items() for i in range(len(p.counts.n))]
        classes = sorted({c for p in self.tasks.values() for c in p.classes}, key=natural_key)
        weighted = any(p.counts.weighted for p in self.tasks.values())
        return CountTable.from_rows(("task", "split", "y_true", "y_pred"), rows, classes=classes, weighted=weighted)


def file_layout(path: str | os.PathLike, columns: Mapping[str, str | None] | None = None,
                labels: Sequence[str] | None = None, *, engine: str = "duckdb") -> Layout:
    """The layout of a file, reading only its header or schema."""
    path = location(path, engine)
    fmt = file_format(path)
    with open_engine(engine) as eng:
        names, _ = _schema(eng, path, fmt)
    return detect_layout(names, columns, labels, source=str(path))


def load_tasks(path: str | os.PathLike, *, columns: Mapping[str, str | None] | None = None,
               labels: Sequence[str] | None = None, task: str | None = None, engine: str = "duckdb") -> TaskSet:
    """Read and validate a multi-task file, each task as :func:`~analysis.load.load_predictions` reads a file.

    ``columns`` maps roles to columns as for a single-task file, plus ``task`` for a long file's task column;
    ``labels`` lists a wide file's task label columns when they cannot be told by their companions' names;
    ``task`` reads that task only.

    Raises
    ------
    InputError
        For a file with a single task, or a task that fails an input check (named in the message).
    """
    path = location(path, engine)
    fmt = file_format(path)
    columns = dict(columns or {})
    with open_engine(engine) as eng:
        names, types = _schema(eng, path, fmt)
        layout = detect_layout(names, columns, labels, source=str(path))
        if layout.kind == "single":
            raise InputError(f"{path}: one task only (no {TASK_COLUMN} column, no wide task columns with "
                             f"{PROB_PREFIX}<task> or {PRED_PREFIX}<task> companions); load it as a single-task file")
        typed = dict(zip(names, types, strict=True))
        columns.pop("task", None)
        if layout.kind == "wide":
            overrides = {r: c for r, c in columns.items() if r in SHARED_ROLES}
            cuts = [_wide_cut(t, names, typed, layout, str(path)) for t in layout.wide]
        else:
            overrides = columns
            cuts = [_long_cut(t, names, typed, layout.task_column)
                    for t in _long_task_names(eng, path, fmt, typed, layout.task_column)]
        if task is not None:
            found = [c[0].task for c in cuts]
            if task not in found:
                raise ErrorscopeError(f"{path}: no task {task!r}; the file has {shown_names(found)}")
            cuts = [c for c in cuts if c[0].task == task]
        sources = [make_source(path, fmt, n, t, overrides, c) for c, n, t in cuts]
        share = getattr(eng, "share", None)  # an engine that can parse a CSV once for every task
        if share is not None:
            share(sources)
        # one task alone is scanned as a single-task file is: the arrays pay off when several share the read
        loaded = _load_wide(eng, sources) if layout.kind == "wide" and len(sources) > 1 else None
        counted, loaded = loaded or (None, None)
        tasks: dict[str, Predictions] = {}
        for (cut, _, _), source in zip(cuts, sources, strict=True):
            unique = layout.kind == "wide" and bool(tasks)  # a wide file's tasks share its ids: checked once
            try:
                tasks[cut.task] = next(loaded) if loaded else _scan(eng, source, unique_ids=unique)
            except InputError as exc:
                raise _in_task(exc, cut, path) from None
        examples = _examples(eng, tasks, layout)
    scores = {n: c.scores(p) for (n, p), c in zip(tasks.items(), counted, strict=True)} if counted else None
    return TaskSet(path, layout.kind, tasks, examples, scores)


def _load_wide(eng: Engine, sources: Sequence[Source]) -> tuple[list[Counted], Iterator[Predictions]] | None:
    """A wide file's tasks counted and scored from their arrays (:mod:`analysis.wide`), and their loads, checked
    in order as they are taken; None for a file that path does not read."""
    from analysis.wide import count_wide  # its threads and scores: not for a single-task file

    found = count_wide(eng, sources)
    if found is None:
        return None
    counted, scanned = found
    return counted, load_grouped(eng, sources, [c.groups for c in counted], unique_ids=True, scanned=scanned)


def _in_task(exc: InputError, cut: Cut, path: Path) -> InputError:
    """A task's input error naming the task and the file's columns (not the cut's)."""
    message = str(exc)
    for name, _, origin in cut.columns:
        if origin is not None and origin != name:
            message = message.replace(repr(name), repr(origin))
    if cut.task and f"[task {cut.task}]" not in message:
        message = message.replace(f"{path}:", f"{path} [task {cut.task}]:", 1)
    return InputError(message)


def _long_task_names(eng: Engine, path: Path, fmt: str, typed: Mapping[str, str], column: str) -> list[str]:
    """A long file's tasks in the order of their first rows; a blank task is refused."""
    bare = Source(path, fmt, tuple(typed), tuple(typed.values()), ColumnMap(y_true=column))
    found = eng.fetch(f"SELECT {task_sql(column)} AS task, min(__row) AS first FROM {eng.table(bare)} GROUP BY 1 "
                      "ORDER BY 2")
    if None in found["task"]:
        row = found["first"][found["task"].index(None)]
        raise InputError(f"{path}: column {column!r} is blank at row {row}; give every row its task")
    return found["task"]


def _examples(eng: Engine, tasks: Mapping[str, Predictions], layout: Layout) -> int:
    """The number of examples: a wide file's rows, a long file's distinct ids (without ids, its largest task's rows)."""
    first = next(iter(tasks.values())).source
    if layout.kind == "wide" or first.columns.id is None:
        return max(p.rows for p in tasks.values())
    every = replace(first, cut=Cut("", first.cut.columns))  # the rows of all tasks
    found = eng.fetch(f"SELECT count(DISTINCT {id_sql(first)}) AS n FROM {eng.table(every, numbered=False)}")
    return int(found["n"][0])
