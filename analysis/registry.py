"""The metric registry: every single-number metric of a count table, with its label, direction and display format.

The summary, the command line and the dashboard list metrics from :data:`METRICS` rather than naming them, so a
metric added here shows everywhere.

>>> from analysis.counts import CountTable
>>> t = CountTable.from_rows(("split", "y_true", "y_pred"), [("dev", "a", "a", 3, 3.0), ("dev", "a", "b", 1, 1.0)],
...                          classes=("a", "b"), weighted=False)
>>> METRICS["error_rate"](t), METRICS["error_rate"].text(t)
(0.25, '25.00%')
>>> measure(t)["errors"], measure(t)["weighted_error_rate"]
(1, None)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from analysis.counts import CountTable
from analysis.metrics import accuracy, error_count, error_rate, f1_score

Value = float | int | None
DisplayFormat = Literal["percent", "count", "ratio"]


@dataclass(frozen=True)
class Format:
    """How to show a number: multiplied by ``scale``, with ``digits`` decimals and a ``suffix``; a dash if None.

    >>> FORMATS["percent"].text(0.0712), FORMATS["count"].text(1797), FORMATS["ratio"].text(None)
    ('7.12%', '1,797', '-')
    """

    scale: float
    digits: int
    suffix: str = ""

    def text(self, value: Value) -> str:
        """``value`` shown in this format."""
        return "-" if value is None else f"{self.scale * value:,.{self.digits}f}{self.suffix}"


#: One format per kind of number: fractions as percentages, counts of examples, scores between 0 and 1.
FORMATS: Mapping[DisplayFormat, Format] = MappingProxyType({
    "percent": Format(100.0, 2, "%"), "count": Format(1, 0), "ratio": Format(1, 4)})

percent = FORMATS["percent"].text


@dataclass(frozen=True)
class Metric:
    """One single-number metric of an (already filtered) count table.

    Attributes
    ----------
    name : str
        Its key in :data:`METRICS` and in the JSON summary.
    label : str
        Its name for people, lower case (``"macro F1"``).
    compute : callable
        The value of a :class:`~analysis.counts.CountTable`: a number, or None where undefined.
    higher_is_better : bool or None
        The direction of a score; None for a size (``rows``), which is no score.
    format : {'percent', 'count', 'ratio'}
        How to show it (a key of :data:`FORMATS`).
    needs_weights : bool
        Whether it is only defined for a file with a weight column (None otherwise).
    """

    name: str
    label: str
    compute: Callable[[CountTable], Value]
    higher_is_better: bool | None
    format: DisplayFormat
    needs_weights: bool = False

    def __call__(self, counts: CountTable) -> Value:
        """The metric of ``counts``; None for a metric that needs weights on an unweighted table."""
        return None if self.needs_weights and not counts.weighted else self.compute(counts)

    def text(self, counts: CountTable) -> str:
        """The value of ``counts``, shown in the metric's format."""
        return FORMATS[self.format].text(self(counts))

    @property
    def is_score(self) -> bool:
        """Whether the metric ranks models (it has a direction)."""
        return self.higher_is_better is not None


def _registry(metrics: Iterable[Metric]) -> Mapping[str, Metric]:
    return MappingProxyType({m.name: m for m in metrics})


#: Every metric, in the order tables show them.
METRICS: Mapping[str, Metric] = _registry([
    Metric("rows", "rows", lambda t: t.rows, None, "count"),
    Metric("labeled", "labeled", lambda t: t.labeled().rows, None, "count"),
    Metric("errors", "errors", error_count, False, "count"),
    Metric("error_rate", "error", error_rate, False, "percent"),
    Metric("accuracy", "accuracy", accuracy, True, "percent"),
    Metric("macro_f1", "macro F1", f1_score, True, "ratio"),
    Metric("weighted_f1", "support-weighted F1", lambda t: f1_score(t, average="weighted"), True, "ratio"),
    Metric("weighted_error_rate", "weighted error", lambda t: error_rate(t, weighted=True), False, "percent",
           needs_weights=True),
])


def shown_for(counts: CountTable) -> list[Metric]:
    """The metrics worth showing for ``counts``: all, but those that need weights only for a weighted file."""
    return [m for m in METRICS.values() if counts.weighted or not m.needs_weights]


def measure(counts: CountTable, names: Iterable[str] | None = None) -> dict[str, Value]:
    """The value of each metric (all of :data:`METRICS`, or those named), by name."""
    return {name: METRICS[name](counts) for name in (METRICS if names is None else names)}
