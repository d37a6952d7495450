"""Metrics with the confirmed label fixes applied: the tag store's corrected labels in place of the given ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis.counts import CountTable
from analysis.load import Predictions
from analysis.normalize import label_text, natural_key
from analysis.registry import measure

if TYPE_CHECKING:
    from analysis.tags import TagStore

__all__ = ["corrected_counts", "fixes_explained"]

#: The metrics shown before and after the fixes.
COMPARED = ("accuracy", "error_rate", "macro_f1")


def _fixes(store: TagStore, dataset: str) -> pd.DataFrame:
    """The examples tagged mislabeled: ``id`` and ``label`` (the corrected label by the one label rule, or None)."""
    tags = store.tags(dataset)
    tags = tags[tags["mislabeled"].astype(bool)]
    labels = [label_text(v) if isinstance(v, str) and v.strip() else None for v in tags["corrected_label"]]
    return pd.DataFrame({"id": pd.Series(tags["id"].astype(str).tolist(), dtype=object),
                         "label": pd.Series(labels, dtype=object)})


def _grouped(preds: Predictions, store: TagStore, dataset: str) -> pd.DataFrame:
    """Per (split, given, corrected, predicted, tagged mislabeled): examples and summed weights, in one scan."""
    sql = ("SELECT p.split, p.y_true, CASE WHEN p.y_true IS NOT NULL AND f.label IS NOT NULL THEN f.label "
           "ELSE p.y_true END AS fixed, p.y_pred, f.id IS NOT NULL AS mislabeled, count(*) AS n, "
           "sum(p.weight) AS w FROM preds p LEFT JOIN __fixes f ON f.id = p.id GROUP BY ALL")
    return preds.query(sql, frames={"__fixes": _fixes(store, dataset)})


def _table(groups: pd.DataFrame, true: str, preds: Predictions) -> CountTable:
    labels = {v for v in groups[true] if isinstance(v, str)}
    classes = tuple(sorted(set(preds.classes) | labels, key=natural_key))
    rows = zip(groups["split"], [v if isinstance(v, str) else None for v in groups[true]], groups["y_pred"],
               groups["n"], groups["w"], strict=True)
    return CountTable.from_rows(("split", "y_true", "y_pred"), rows, classes=classes, weighted=preds.counts.weighted)


def corrected_counts(preds: Predictions, store: TagStore, dataset: str) -> CountTable:
    """The count table with each example's true class replaced by the corrected label the tag store holds.

    An example changes when it is tagged mislabeled with a corrected label (ids joined in the engine); a corrected
    label that is not a class of the file joins ``classes``. Unlabeled examples stay unlabeled.
    """
    return _table(_grouped(preds, store, dataset), "fixed", preds)


def fixes_explained(preds: Predictions, store: TagStore, dataset: str) -> pd.DataFrame:
    """Per split: how much of the error the confirmed label errors explain, and the metrics before and after.

    Returns
    -------
    DataFrame
        One row per split: ``split``, ``errors`` (under the given labels), ``confirmed_label_errors`` (examples
        tagged mislabeled that are mistakes under their given label), ``explained`` (their share of the errors, a
        floor on the label noise among them; None without errors), then ``accuracy``, ``error_rate`` and
        ``macro_f1`` with ``corrected_`` twins computed on the corrected labels (:func:`corrected_counts`).
    """
    groups = _grouped(preds, store, dataset)
    fixed = _table(groups, "fixed", preds)
    confirmed = groups[groups["mislabeled"].astype(bool) & groups["y_true"].notna()
                       & (groups["y_true"] != groups["y_pred"])].groupby("split")["n"].sum()
    rows = []
    for split, before in preds.counts.by("split"):
        after = measure(fixed.where(split=split), COMPARED)
        metrics = measure(before, ("errors", *COMPARED))
        found = int(confirmed.get(split, 0))
        rows.append({"split": split, "errors": metrics["errors"], "confirmed_label_errors": found,
                     "explained": found / metrics["errors"] if metrics["errors"] else None,
                     **{name: metrics[name] for name in COMPARED},
                     **{f"corrected_{name}": after[name] for name in COMPARED}})
    return pd.DataFrame(rows)
