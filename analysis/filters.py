"""A slice filter: a conjunction of predicates on the columns a slice is made of, rendered to parameterized SQL.

A predicate is ``{column, op, value}``: ``op`` is ``"="`` (the column's value as text equals ``value``; ``None``
means missing) or ``"range"`` (``value`` is ``[low, high]``: ``low <= x < high``, either end ``None`` for
unbounded; numbers, or ISO dates for a date column). ``column`` is a metadata column of the file, ``y_true``,
``y_pred``, ``confidence``, or a tag of the tag store: ``tag:<category>`` or ``tag:mislabeled`` (``yes`` / ``no``
for reviewed examples, missing for the others). The same predicates come out of slice discovery
(:mod:`analysis.slices`), go to the CLI's JSON, the app's address and every page's queries.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from analysis.counts import CountTable
from analysis.errors import ErrorscopeError
from analysis.normalize import numeric_type
from analysis.view import RESERVED, ident

if TYPE_CHECKING:
    from analysis.load import Predictions

OPS = ("=", "range")
#: The derived columns every file has (``confidence`` only with ``p_*`` columns).
DERIVED = ("y_true", "y_pred", "confidence")
TAG_PREFIX = "tag:"
MISLABELED = "tag:mislabeled"
#: The name of the in-memory tags table joined with the view (:func:`tags_table`).
TAGS = "__tags"
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")


@dataclass(frozen=True)
class Predicate:
    """One condition of a slice (module docstring)."""

    column: str
    op: str
    value: object

    def to_dict(self) -> dict:
        value = list(self.value) if self.op == "range" else self.value
        return {"column": self.column, "op": self.op, "value": value}

    @property
    def label(self) -> str:
        """``stroke = thick``, ``age 28 to 37``, ``age < 28``."""
        if self.op == "=":
            return f"{self.column} = {'(missing)' if self.value is None else self.value}"
        return f"{self.column} {range_label(*self.value)}"


def number_text(x: object) -> str:
    """A bound as a reader wants it: ``28``, ``123456``, ``0.0625``, ``1.235e-05``."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{float(x):.4g}"
    return str(x)


def range_label(low: object, high: object) -> str:
    """``< 28``, ``28 to 37``, ``>= 52`` (high end excluded)."""
    if low is None:
        return f"< {number_text(high)}"
    if high is None:
        return f">= {number_text(low)}"
    return f"{number_text(low)} to {number_text(high)}"


def kind_of(sql_type: str) -> str:
    """``number``, ``date``, ``boolean`` or ``text`` for an engine type."""
    if numeric_type(sql_type):
        return "number"
    if sql_type.upper() in DATE_TYPES:
        return "date"
    return "boolean" if sql_type.upper() == "BOOLEAN" else "text"


def slice_columns_of(preds: Predictions) -> list[str]:
    """Every column a predicate may name: the metadata, the derived columns (:data:`DERIVED`)."""
    meta = [m for m in preds.columns.metadata if m.lower() not in RESERVED]
    derived = [c for c in DERIVED if c != "confidence" or preds.columns.probs]
    return meta + derived


def _check_column(preds: Predictions, column: str, categories: Sequence[str]) -> None:
    if column == MISLABELED or column.startswith(TAG_PREFIX) and column[len(TAG_PREFIX):] in categories:
        return
    known = slice_columns_of(preds)
    if column not in known:
        tags = [TAG_PREFIX + c for c in categories] + [MISLABELED]
        raise ErrorscopeError(f"{preds.path}: no column {column!r} to slice by; the columns are "
                              f"{', '.join(known + tags)}")


def predicate(preds: Predictions, raw: object, categories: Sequence[str] = ()) -> Predicate:
    """A predicate from its dict form, checked against the file (and the tag store's ``categories``)."""
    if not isinstance(raw, Mapping) or set(raw) != {"column", "op", "value"}:
        raise ErrorscopeError(f"a slice predicate is {{column, op, value}}, got {raw!r}")
    column, op, value = raw["column"], raw["op"], raw["value"]
    if not isinstance(column, str) or op not in OPS:
        raise ErrorscopeError(f"a predicate needs a column name and an op among {', '.join(OPS)}, got {raw!r}")
    _check_column(preds, column, categories)
    if op == "range":
        ok = isinstance(value, list | tuple) and len(value) == 2 and value != [None, None] and all(
            v is None or isinstance(v, str) or isinstance(v, numbers.Real) and not isinstance(v, bool)
            and math.isfinite(v) for v in value)
        if not ok:
            raise ErrorscopeError(f"a range predicate's value is [low, high] (either may be null), got {value!r}")
        value = tuple(value)
    elif value is not None and not isinstance(value, str):
        raise ErrorscopeError(f"an '=' predicate's value is text or null, got {value!r}")
    return Predicate(column, op, value)


def parse_filter(preds: Predictions, text: str | Iterable, categories: Sequence[str] = ()) -> tuple[Predicate, ...]:
    """A filter from JSON text (or a list of dicts): ``[{"column": "stroke", "op": "=", "value": "thick"}]``."""
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ErrorscopeError(f"a slice filter is a JSON list of predicates: {exc}") from None
    if not isinstance(text, list):
        raise ErrorscopeError("a slice filter is a list of {column, op, value} predicates")
    return tuple(predicate(preds, p, categories) for p in text)


def filter_json(predicates: Iterable[Predicate]) -> str:
    return json.dumps([p.to_dict() for p in predicates], separators=(",", ":"))


def filter_label(predicates: Iterable[Predicate]) -> str:
    return " and ".join(p.label for p in predicates)


def tags_table(tags: pd.DataFrame | None, categories: Sequence[str]) -> pd.DataFrame:
    """The tag store's frame as the table joined under :data:`TAGS`: ``__tid``, ``__reviewed``, ``__t0``... (one
    per category, in order) and ``__tm`` (mislabeled); every name prefixed, so none shadows a column of the view."""
    tags = tags if tags is not None else pd.DataFrame({"id": [], "reviewed": [], "mislabeled": []})
    out = pd.DataFrame({"__tid": tags["id"].astype(object), "__reviewed": tags["reviewed"].astype(bool),
                        "__tm": tags["mislabeled"].astype(bool)})
    for i, c in enumerate(categories):
        out[f"__t{i}"] = tags[c].astype(bool) if c in tags else False
    return out


def tag_value_sql(column: str, categories: Sequence[str]) -> str:
    """``yes`` / ``no`` for a reviewed example, NULL for the others, over :data:`TAGS` joined on ``__tid``."""
    flag = "__tm" if column == MISLABELED else f"__t{list(categories).index(column[len(TAG_PREFIX):])}"
    return f"CASE WHEN __reviewed THEN CASE WHEN {flag} THEN 'yes' ELSE 'no' END END"


def value_sql(preds: Predictions, column: str) -> str:
    """A column of the view as the text an ``=`` predicate compares with."""
    if column in DERIVED:
        return ident(column) if column != "confidence" else f"CAST({ident(column)} AS VARCHAR)"
    return f"CAST({ident(column)} AS VARCHAR)"


def range_sql(preds: Predictions, column: str) -> tuple[str, str]:
    """The column and the cast of a bound for a range predicate."""
    if column in DERIVED:
        return ident(column), "CAST(? AS DOUBLE)"
    kind = kind_of(preds.source.typed[column])
    if kind == "date":
        return f"CAST({ident(column)} AS DATE)", "CAST(? AS DATE)"
    return f"CAST({ident(column)} AS DOUBLE)", "CAST(? AS DOUBLE)"


def condition_sql(preds: Predictions, p: Predicate, categories: Sequence[str]) -> tuple[str, list[object]]:
    """One predicate as a condition on the view and its parameters."""
    if p.column.startswith(TAG_PREFIX):
        inner = tag_value_sql(p.column, categories)
        cond = f"{inner} IS NULL" if p.value is None else f"{inner} = ?"
        return (f"id IN (SELECT __tid FROM {TAGS} WHERE {cond})" if p.value is not None
                else f"id NOT IN (SELECT __tid FROM {TAGS} WHERE __reviewed)"), ([] if p.value is None else [p.value])
    if p.op == "=":
        expr = value_sql(preds, p.column)
        return (f"{expr} IS NULL", []) if p.value is None else (f"{expr} = ?", [p.value])
    expr, bound = range_sql(preds, p.column)
    low, high = p.value
    parts, params = [], []
    if low is not None:
        parts.append(f"{expr} >= {bound}")
        params.append(low)
    if high is not None:
        parts.append(f"{expr} < {bound}")
        params.append(high)
    return "(" + " AND ".join(parts) + ")", params


@dataclass(frozen=True)
class FilterSQL:
    """A filter rendered for :meth:`Predictions.query`: a condition on ``preds``, its parameters, its tables."""

    where: str
    params: tuple
    frames: dict


def filter_sql(preds: Predictions, predicates: Sequence[Predicate], *, tags: pd.DataFrame | None = None,
               categories: Sequence[str] = ()) -> FilterSQL:
    """The conjunction of ``predicates`` as SQL (``TRUE`` for none); ``tags`` (the tag store's frame) is needed
    for a ``tag:`` predicate."""
    conds, params = ["TRUE"], []
    for p in predicates:
        sql, ps = condition_sql(preds, p, categories)
        conds.append(sql)
        params += ps
    uses_tags = any(p.column.startswith(TAG_PREFIX) for p in predicates)
    frames = {TAGS: tags_table(tags, categories)} if uses_tags else {}
    return FilterSQL(" AND ".join(conds), tuple(params), frames)


def filtered_counts(preds: Predictions, where: FilterSQL) -> CountTable:
    """The count table (split, true, predicted) of the rows that pass a filter: one grouped query over the view."""
    if where.where == "TRUE":
        return preds.counts
    rows = preds.query(f"SELECT split, y_true, y_pred, count(*) AS n, sum(weight) AS w FROM preds "
                       f"WHERE {where.where} GROUP BY split, y_true, y_pred", list(where.params), frames=where.frames)
    entries = zip(rows["split"], [None if v is None or v != v else v for v in rows["y_true"]], rows["y_pred"],
                  rows["n"], rows["w"], strict=True)
    return CountTable.from_rows(("split", "y_true", "y_pred"), entries, classes=preds.classes,
                                weighted=preds.counts.weighted)
