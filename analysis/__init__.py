"""errorscope's analysis core: load predictions, count, measure, decompose the error, and keep the tags.

Names are imported on first use, so that a command that needs only the loader and the metrics (``errorscope
summary``) does not pay for the tag store, the sheet or pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "columns": ["ColumnMap", "detect_columns", "guess_roles"],
    "compare": ["Comparison", "compare_files", "compare_predictions", "mcnemar", "paired_bootstrap"],
    "counts": ["CountTable"],
    "errors": ["ErrorscopeError", "InputError", "TagError"],
    "export": ["export_sheet", "import_sheet", "sheet_csv", "write_sheet"],
    "gaps": ["Gaps", "advice_for", "decompose", "gaps_from_counts"],
    "normalize": ["SPLITS", "label_text", "natural_key", "split_name"],
    "load": ["Predictions", "file_columns", "load_predictions"],
    "metrics": ["Confusion", "accuracy", "confusion_matrix", "error_count", "error_rate", "f1_score",
                "most_confused", "per_class"],
    "registry": ["METRICS", "Metric", "measure"],
    "images": ["resolve_image"],
    "fixes": ["corrected_counts", "fixes_explained"],
    "label_issues": ["DEFAULT_METHOD", "METHODS", "LabelIssues", "label_issues"],
    "review": ["count_mistakes", "examples", "review_sample", "tagged_ids"],
    "shift": ["ColumnShift", "DomainCheck", "Shift", "shift_columns"],  # the function: analysis.shift.shift
    "splits": ["SplitAdvice", "dev_size_needed", "rule_of_thumb", "split_advice"],
    "slices": ["Slice", "Slices", "error_by_slice", "find_slices"],
    "filters": ["Predicate", "filter_sql", "parse_filter"],
    "runs": ["choose", "parse_objective", "parse_threshold", "read_runs", "runs_report"],
    "sampler": ["parse_param", "sample"],
    "summary": ["summarize"],
    "tags": ["SQLiteTagStore", "TagStore", "default_db_path", "open_store"],
    "tasks": ["TaskSet", "load_tasks"],
    "masked": ["summarize_tasks", "task_scores"],
    "multilabel": ["multilabel_issues"],
    "tallies": ["CategoryTally", "Tallies", "tallies_side_by_side", "tally", "tally_splits", "wilson_interval"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"analysis.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors
    from analysis.columns import ColumnMap, detect_columns, guess_roles  # noqa: F401
    from analysis.compare import Comparison, compare_files, compare_predictions, mcnemar, paired_bootstrap  # noqa: F401
    from analysis.counts import CountTable  # noqa: F401
    from analysis.errors import ErrorscopeError, InputError, TagError  # noqa: F401
    from analysis.export import export_sheet, import_sheet, sheet_csv, write_sheet  # noqa: F401
    from analysis.filters import Predicate, filter_sql, parse_filter  # noqa: F401
    from analysis.fixes import corrected_counts, fixes_explained  # noqa: F401
    from analysis.gaps import Gaps, advice_for, decompose, gaps_from_counts  # noqa: F401
    from analysis.images import resolve_image  # noqa: F401
    from analysis.label_issues import DEFAULT_METHOD, METHODS, LabelIssues, label_issues  # noqa: F401
    from analysis.load import Predictions, file_columns, load_predictions  # noqa: F401
    from analysis.masked import summarize_tasks, task_scores  # noqa: F401
    from analysis.metrics import (  # noqa: F401
        Confusion,
        accuracy,
        confusion_matrix,
        error_count,
        error_rate,
        f1_score,
        most_confused,
        per_class,
    )
    from analysis.multilabel import multilabel_issues  # noqa: F401
    from analysis.normalize import SPLITS, label_text, natural_key, split_name  # noqa: F401
    from analysis.registry import METRICS, Metric, measure  # noqa: F401
    from analysis.review import count_mistakes, examples, review_sample, tagged_ids  # noqa: F401
    from analysis.runs import choose, parse_objective, parse_threshold, read_runs, runs_report  # noqa: F401
    from analysis.sampler import parse_param, sample  # noqa: F401
    from analysis.shift import ColumnShift, DomainCheck, Shift, shift_columns  # noqa: F401
    from analysis.slices import Slice, Slices, error_by_slice, find_slices  # noqa: F401
    from analysis.splits import SplitAdvice, dev_size_needed, rule_of_thumb, split_advice  # noqa: F401
    from analysis.summary import summarize  # noqa: F401
    from analysis.tags import SQLiteTagStore, TagStore, default_db_path, open_store  # noqa: F401
    from analysis.tallies import CategoryTally, Tallies, tallies_side_by_side, tally, tally_splits, wilson_interval  # noqa: F401
    from analysis.tasks import TaskSet, load_tasks  # noqa: F401
