"""The summary of a predictions file: per-split metrics and the gap decomposition, as plain data."""

from __future__ import annotations

from analysis.gaps import gaps_from_counts
from analysis.load import Predictions
from analysis.normalize import SPLITS
from analysis.registry import measure

#: The metrics of each split in the summary, by their :data:`~analysis.registry.METRICS` names.
SUMMARY_METRICS = ("rows", "labeled", "errors", "error_rate", "accuracy", "macro_f1", "weighted_error_rate")


def summarize(preds: Predictions, *, human: float | None = None) -> dict:
    """The summary as a JSON-ready dict: ``rows``, ``classes``, ``splits`` (by canonical name) and ``gaps``.

    Errors are fractions; a metric that cannot be computed (no weights, no labeled rows) is None.
    """
    splits = {split: measure(table, SUMMARY_METRICS) for split, table in preds.counts.by("split")}
    gaps = gaps_from_counts(preds.counts, human=human).to_dict()
    gaps["human_error"] = gaps.pop("human")
    for level in SPLITS:
        del gaps[level]
    return {"file": str(preds.path), "rows": preds.rows, "classes": list(preds.classes), "splits": splits,
            "gaps": gaps}
