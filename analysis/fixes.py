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


def _tagged(preds: Predictions, store: TagStore, dataset: str) -> pd.DataFrame:
    """Per (split, given, corrected, predicted) of the examples tagged mislabeled: examples and summed weights.

    Only the tagged rows come back, and with no example tagged the file is not read at all: the rest of the
    corrected table is the file's own count table.
    """
    fixes = _fixes(store, dataset)
    if fixes.empty:
        return pd.DataFrame({c: [] for c in ("split", "y_true", "fixed", "y_pred", "n", "w")})
    sql = ("SELECT p.split, p.y_true, CASE WHEN p.y_true IS NOT NULL AND f.label IS NOT NULL THEN f.label "
           "ELSE p.y_true END AS fixed, p.y_pred, count(*) AS n, sum(p.weight) AS w "
           "FROM preds p JOIN __fixes f ON f.id = p.id GROUP BY ALL")
    return preds.query(sql, frames={"__fixes": fixes})


def _corrected(preds: Predictions, tagged: pd.DataFrame) -> CountTable:
    """The file's count table with the tagged examples moved from their given to their corrected class (an entry
    they leave empty stays with a count of 0, which no metric sees)."""
    counts = preds.counts
    labels = {v for v in tagged["fixed"] if isinstance(v, str)}
    classes = tuple(sorted(set(preds.classes) | labels, key=natural_key))
    given = [v if isinstance(v, str) else None for v in tagged["y_true"]]
    fixed = [v if isinstance(v, str) else None for v in tagged["fixed"]]
    rows = [*zip(*(counts.column(k) for k in counts.keys), counts.n, counts.w, strict=True),
            *zip(tagged["split"], given, tagged["y_pred"], -tagged["n"], -tagged["w"], strict=True),
            *zip(tagged["split"], fixed, tagged["y_pred"], tagged["n"], tagged["w"], strict=True)]
    return CountTable.from_rows(counts.keys, rows, classes=classes, weighted=counts.weighted)


def corrected_counts(preds: Predictions, store: TagStore, dataset: str) -> CountTable:
    """The count table with each example's true class replaced by the corrected label the tag store holds.

    An example changes when it is tagged mislabeled with a corrected label (ids joined in the engine); a corrected
    label that is not a class of the file joins ``classes``. Unlabeled examples stay unlabeled.
    """
    return _corrected(preds, _tagged(preds, store, dataset))


def fixes_explained(preds: Predictions, store: TagStore, dataset: str) -> pd.DataFrame:
    """Per split: how much of the error the confirmed label errors explain, and the metrics before and after.

    Returns
    -------
    DataFrame
        One row per split: ``split``, ``errors`` (under the given labels), ``confirmed_label_errors`` (examples
        tagged mislabeled that are mistakes under their given label), ``explained`` (their share of the errors, a
        floor on the label noise among them; None without errors), ``noise_floor`` (their share of the split's
        labeled examples: no model's error against these labels falls below it), then ``accuracy``, ``error_rate`` and
        ``macro_f1`` with ``corrected_`` twins computed on the corrected labels (:func:`corrected_counts`).
    """
    tagged = _tagged(preds, store, dataset)
    fixed = _corrected(preds, tagged)
    confirmed = tagged[tagged["y_true"].notna() & (tagged["y_true"] != tagged["y_pred"])].groupby("split")["n"].sum()
    rows = []
    for split, before in preds.counts.by("split"):
        after = measure(fixed.where(split=split), COMPARED)
        metrics = measure(before, ("labeled", "errors", *COMPARED))
        found = int(confirmed.get(split, 0))
        rows.append({"split": split, "errors": metrics["errors"], "confirmed_label_errors": found,
                     "explained": found / metrics["errors"] if metrics["errors"] else None,
                     "noise_floor": found / metrics["labeled"] if metrics["labeled"] else None,
                     **{name: metrics[name] for name in COMPARED},
                     **{f"corrected_{name}": after[name] for name in COMPARED}})
    return pd.DataFrame(rows)
