"""The input checks as data: what each computes in the load's scan, when it fails, its message and its fix.

A load runs every :class:`Aggregate` of :func:`aggregates` in its scan of the file (the engine decides which run
grouped and which in a plain scan), then tries each :class:`Check` of :func:`checks` in order. The first that
fails names its first offending rows (a query only then) and raises one :class:`~analysis.errors.InputError`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from analysis.normalize import INTEGER_TYPE, SPLIT_ALIASES, SPLITS, blank_sql, literal, natural_key
from analysis.source import Source
from analysis.view import balanced_sum

#: How far probabilities may stray outside [0, 1], and a row's sum from 1, before the file is refused.
PROB_TOLERANCE = 0.01
#: Up to this many ``p_*`` columns, each one's bounds are an aggregate of its own (a Parquet file's statistics hold
#: them); beyond, the bounds of all are taken at once, which keeps a thousand-class scan small.
BOUNDS_PER_COLUMN = 64
_MERGE = {"sum": sum, "min": min, "max": max}


@dataclass(frozen=True)
class Aggregate:
    """One aggregate over the scan's raw columns (:func:`analysis.view.raw_sql`).

    ``merge`` combines its values across groups (``sum``, ``min`` or ``max``); ``whole_file`` is None for an
    aggregate that rides in the grouped scan, else how an engine may answer it without grouping: ``"stats"``
    (bounds and null counts, which Parquet statistics hold) or ``"rows"`` (a plain scan).
    """

    name: str
    sql: str
    merge: str = "sum"
    whole_file: str | None = None


@dataclass
class Scan:
    """What the load's scan found: ``groups``, each aggregate per (raw split, true, predicted) group.

    ``rows(condition)`` gives the first rows meeting a condition over :func:`analysis.view.checked_sql`, and
    ``first_duplicate()`` the first repeated id with the number of repeats (or None): queries run only when asked.
    """

    groups: dict[str, list]
    aggregates: list[Aggregate]
    rows: Callable[[str], list[int]] = field(repr=False)
    first_duplicate: Callable[[], tuple[str, int] | None] = field(repr=False)

    def total(self, name: str) -> Any:
        spec = next(a for a in self.aggregates if a.name == name)
        values = [v for v in self.groups[name] if v is not None]
        return _MERGE[spec.merge](values) if values else None


@dataclass(frozen=True)
class Check:
    """One input check: ``found`` returns what offends (anything but None and False) or None/False when it passes.

    ``rows`` is the SQL condition, over :func:`analysis.view.checked_sql`, that picks the offending rows, and
    ``message`` says what is wrong; each is a function of what was found where it depends on it.
    """

    name: str
    found: Callable[[Scan], Any]
    rows: str | Callable[[Any], str]
    message: str | Callable[[Any], str]
    fix: str

    def failure(self, scan: Scan) -> tuple[str, str] | None:
        """(condition, message) when the check fails on ``scan``, else None."""
        value = self.found(scan)
        if value is None or value is False or value == 0:
            return None
        return (self.rows(value) if callable(self.rows) else self.rows,
                self.message(value) if callable(self.message) else self.message)


def integer_ids(source: Source) -> bool:
    return source.columns.id is not None and bool(INTEGER_TYPE.match(source.typed[source.columns.id]))


def _ps(source: Source) -> list[str]:
    return [f"__p{i}" for i in range(len(source.probs))]


def aggregates(source: Source) -> list[Aggregate]:
    """Every aggregate the checks read, computed in the load's scan."""
    out = [Aggregate("bad_w", "count(*) FILTER (WHERE weight IS NULL OR isnan(weight))"),
           Aggregate("min_w", "min(weight)", "min")]
    cm = source.columns
    if integer_ids(source):
        out += [Aggregate("null_id", "count(*) - count(__id)", "sum", "stats"),
                Aggregate("min_id", "min(__id)", "min", "stats"), Aggregate("max_id", "max(__id)", "max", "stats")]
    else:
        blank = "FALSE"
        if cm.id is not None:
            blank = blank_sql("__id", source.typed[cm.id])
        out.append(Aggregate("null_id", f"count(*) FILTER (WHERE {blank})"))
    ps = _ps(source)
    if len(ps) <= BOUNDS_PER_COLUMN:  # Parquet statistics answer these without reading a value
        out += [Aggregate(f"{fn}_p{i}", f"{fn}({p})", fn, "stats") for i, p in enumerate(ps) for fn in ("min", "max")]
    elif ps:
        out += [Aggregate("min_p", f"min(least({', '.join(ps)}))", "min", "rows"),
                Aggregate("max_p", f"max(greatest({', '.join(ps)}))", "max", "rows")]
    if ps:
        out += [Aggregate("bad_p", f"count(*) FILTER (WHERE NOT coalesce(abs({balanced_sum(_ps(source))} - 1) <= "
                                   f"{PROB_TOLERANCE}, false))", "sum", "rows")]
    return out


def checks(source: Source) -> list[Check]:
    """The checks of a scanned file, in the order their messages are given."""
    cm = source.columns
    out = [
        Check("blank id", lambda s: s.total("null_id"), "id IS NULL", f"column {cm.id!r} is blank",
              "give every example an id"),
        Check("blank prediction", lambda s: None in s.groups["y_pred"], "y_pred IS NULL",
              f"column {cm.y_pred or 'p_*'!r} is blank", "every example needs a prediction"),
        Check("blank weight", lambda s: s.total("bad_w"), "weight IS NULL OR isnan(weight)",
              f"column {cm.weight!r} is blank", "give every example a weight (1 for the usual)"),
        Check("negative weight", lambda s: s.total("min_w") < 0, "weight < 0", f"column {cm.weight!r} is negative",
              "weights must be >= 0"),
        Check("weight too large", _weight_overflow, lambda share: f"weight > {share!r}",
              f"column {cm.weight!r} is infinite or so large that the weights' sum overflows",
              f"give finite weights whose sum stays below {sys.float_info.max:.3g} (rescale them)"),
    ]
    if source.probs:
        out += _probability_checks(source)
    out += [
        Check("unknown split", _unknown_split,
              lambda v: f"raw_split = {literal(v)}" if v else "raw_split IS NULL OR raw_split = ''",
              lambda v: f"column {cm.split!r} has the unknown split {repr(v) if v else 'blank'}",
              f"use one of {', '.join(SPLITS)} (also accepted: train-dev, traindev, val, valid, validation)"),
        Check("class without probability", lambda s: _classes_without_probability(source, s),
              lambda v: f"y_true = {literal(v)} OR y_pred = {literal(v)}",
              lambda v: f"class {v!r} (in {cm.y_true!r} or the predictions) has no p_{v} column",
              "add one p_<class> column per class"),
        Check("duplicate id", lambda s: cm.id is not None and s.first_duplicate(), lambda v: f"id = {literal(v[0])}",
              lambda v: f"duplicate id {v[0]!r} in column {cm.id!r} ({v[1]} duplicate{'s' if v[1] > 1 else ''} in all)",
              "make every id unique"),
    ]
    return out


def _probability_checks(source: Source) -> list[Check]:
    ps, tol = _ps(source), PROB_TOLERANCE
    cols = ", ".join(col for _, col in source.probs)
    blank = " OR ".join(f"{p} IS NULL OR isnan({p})" for p in ps)
    return [
        Check("negative probability", lambda s: _bound(source, s, min) < -tol,
              f"least({', '.join(ps)}) < {-tol}", f"a probability ({cols}) is negative",
              "probabilities must lie in [0, 1]"),
        Check("probability above 1", lambda s: _bound(source, s, max) > 1 + tol,
              f"greatest({', '.join(ps)}) > {1 + tol}", f"a probability ({cols}) is above 1",
              "probabilities must lie in [0, 1]"),
        Check("blank probability", lambda s: bool(s.total("bad_p") and s.rows(blank)), blank,
              f"a probability ({cols}) is blank", "give every p_<class> column a number"),
        Check("probabilities off 1", lambda s: s.total("bad_p"), f"abs({balanced_sum(ps)} - 1) > {tol}",
              f"the probabilities ({cols}) do not sum to 1",
              "give each row's p_<class> values summing to 1 (softmax outputs, not logits)"),
    ]


def bounds(source: Source, scan: Scan) -> tuple[tuple[float | None, float | None], ...]:
    """Each probability column's lowest and highest value as the scan found them (those of all the columns for
    each, past :data:`BOUNDS_PER_COLUMN` columns); None where the column holds no number."""
    k = len(source.probs)
    if k <= BOUNDS_PER_COLUMN:
        return tuple((scan.total(f"min_p{i}"), scan.total(f"max_p{i}")) for i in range(k))
    return ((scan.total("min_p"), scan.total("max_p")),) * k


def _bound(source: Source, scan: Scan, fn: Callable) -> float:
    """The least (``min``) or greatest (``max``) probability of every column (:func:`bounds`)."""
    side = 0 if fn is min else 1
    return fn((b[side] for b in bounds(source, scan) if b[side] is not None), default=0.0)


def _weight_overflow(scan: Scan) -> float | None:
    """When the summed weights are not finite, the share of the largest double that some row's weight exceeds."""
    if math.isfinite(sum(scan.groups["w"])):
        return None
    return sys.float_info.max / sum(scan.groups["n"])


def _unknown_split(scan: Scan) -> str | None:
    """The first unknown split name, ``""`` for a blank one, None when every split is known."""
    raw = set(scan.groups["raw_split"])
    unknown = sorted(raw - set(SPLIT_ALIASES) - {None, ""})
    if unknown:
        return unknown[0]
    return "" if None in raw or "" in raw else None


def _labels(scan: Scan) -> set[str]:
    """The classes the scan found as true labels or predictions."""
    return (set(scan.groups["y_true"]) - {None}) | set(scan.groups["y_pred"])


def _classes_without_probability(source: Source, scan: Scan) -> str | None:
    if not source.probs:
        return None
    missing = sorted(_labels(scan) - set(source.columns.probs), key=natural_key)
    return missing[0] if missing else None


def classes(source: Source, scan: Scan) -> tuple[str, ...]:
    """Every class of a file that passed its checks, naturally sorted: labels, predictions and ``p_*`` columns."""
    return tuple(sorted(_labels(scan) | set(source.columns.probs), key=natural_key))


