"""The summary of a predictions file: per-split metrics and the gap decomposition, as plain data."""

from __future__ import annotations

from dataclasses import asdict

from analysis.gaps import gaps_from_counts
from analysis.load import Predictions
from analysis.metrics import split_metrics
from analysis.normalize import SPLITS


def summarize(preds: Predictions, *, human: float | None = None) -> dict:
    """The summary as a JSON-ready dict: ``rows``, ``classes``, ``splits`` (by canonical name) and ``gaps``.

    Errors are fractions; a metric that cannot be computed (no weights, no labeled rows) is None.
    """
    counts = preds.counts
    splits = {}
    for split in counts.splits:
        row = asdict(split_metrics(counts, split))
        del row["split"]
        splits[split] = row
    gaps = gaps_from_counts(counts, human=human).to_dict()
    gaps["human_error"] = gaps.pop("human")
    for level in SPLITS:
        del gaps[level]
    return {"file": str(preds.path), "rows": preds.rows, "classes": list(preds.classes), "splits": splits,
            "gaps": gaps}
