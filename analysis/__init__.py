"""errorscope's analysis core: load predictions, count, measure, decompose the error, and keep the tags."""

from __future__ import annotations

from analysis.columns import SPLITS, ColumnMap, detect_columns, natural_key
from analysis.counts import CountTable
from analysis.errors import ErrorscopeError, InputError, TagError
from analysis.export import export_sheet, import_sheet, sheet_csv, write_sheet
from analysis.gaps import Gaps, advice_for, decompose, gaps_from_counts
from analysis.load import Predictions, load_predictions
from analysis.metrics import (
    Confusion,
    SplitMetrics,
    accuracy,
    confusion_matrix,
    error_rate,
    f1_score,
    most_confused,
    per_class,
    split_metrics,
)
from analysis.review import count_mistakes, examples, resolve_image, review_sample, tagged_ids
from analysis.summary import summarize
from analysis.tallies import CategoryTally, Tallies, tallies_side_by_side, tally, wilson_interval

__all__ = [
    "SPLITS", "ColumnMap", "Confusion", "CountTable", "ErrorscopeError", "Gaps", "InputError", "Predictions",
    "SplitMetrics", "TagError", "accuracy", "advice_for", "confusion_matrix", "decompose", "detect_columns",
    "error_rate", "f1_score", "gaps_from_counts", "load_predictions", "most_confused", "natural_key", "per_class",
    "split_metrics", "summarize",
    # review, tallies and the tag sheet
    "CategoryTally", "Tallies", "count_mistakes", "examples", "export_sheet", "import_sheet", "resolve_image",
    "review_sample", "sheet_csv", "tagged_ids", "tallies_side_by_side", "tally", "wilson_interval",
    "write_sheet",
]
