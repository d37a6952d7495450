"""The metric registry: each metric against scikit-learn per split, its direction, and its display format."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn import metrics as skm

from analysis import METRICS, CountTable, load_predictions, measure
from analysis.registry import FORMATS, shown_for


def _sklearn(part: pd.DataFrame) -> dict:
    """Each registered metric of the rows ``part``, computed by scikit-learn (or by counting)."""
    t, p, w = part.y_true, part.y_pred, part.get("weight")
    return {
        "rows": len(part), "labeled": len(part), "errors": int((t != p).sum()),
        "error_rate": 1 - skm.accuracy_score(t, p), "accuracy": skm.accuracy_score(t, p),
        "macro_f1": skm.f1_score(t, p, average="macro", zero_division=0),
        "weighted_f1": skm.f1_score(t, p, average="weighted", zero_division=0),
        "weighted_error_rate": None if w is None else 1 - skm.accuracy_score(t, p, sample_weight=w),
    }


@pytest.mark.parametrize("name", ["demo", "mnist"])
def test_every_metric_equals_sklearn_per_split(request, name):
    path = request.getfixturevalue(f"{name}_path")
    counts = load_predictions(path).counts
    df = pd.read_csv(path, dtype={"y_true": str, "y_pred": str})
    if "split" not in df:
        df["split"] = "dev"
    for split, table in counts.by("split"):
        expected = _sklearn(df[df.split == split])
        assert set(expected) == set(METRICS), "a registered metric has no scikit-learn check"
        ours = measure(table)
        for metric, value in expected.items():
            assert ours[metric] == pytest.approx(value, abs=1e-12), (split, metric)


def test_higher_is_better():
    directions = {name: m.higher_is_better for name, m in METRICS.items()}
    assert directions == {"rows": None, "labeled": None, "errors": False, "error_rate": False, "accuracy": True,
                          "macro_f1": True, "weighted_f1": True, "weighted_error_rate": False}
    # a perfect model beats a worse one by every score, in the direction the registry gives
    rows = [("dev", "a", "a", 5, 1.0), ("dev", "b", "b", 5, 1.0)]
    perfect = CountTable.from_rows(("split", "y_true", "y_pred"), rows, classes=("a", "b"), weighted=True)
    worse = CountTable.from_rows(("split", "y_true", "y_pred"), [*rows, ("dev", "a", "b", 2, 3.0)],
                                 classes=("a", "b"), weighted=True)
    for m in METRICS.values():
        if m.is_score:
            assert (m(perfect) > m(worse)) == m.higher_is_better, m.name


def test_names_formats_and_weights():
    assert all(name == m.name and m.format in FORMATS and m.label for name, m in METRICS.items())
    assert [m.name for m in METRICS.values() if m.needs_weights] == ["weighted_error_rate"]
    unweighted = CountTable.from_rows(("split", "y_true", "y_pred"), [("dev", "a", "b", 1, 1.0)], classes=("a", "b"),
                                      weighted=False)
    assert METRICS["weighted_error_rate"](unweighted) is None
    assert [m.name for m in shown_for(unweighted)] == [n for n in METRICS if n != "weighted_error_rate"]
    assert METRICS["errors"].text(unweighted) == "1" and METRICS["macro_f1"].text(unweighted) == "0.0000"
    empty = unweighted.where(split="test")
    assert measure(empty, ["rows", "error_rate", "accuracy", "macro_f1"]) == {
        "rows": 0, "error_rate": None, "accuracy": None, "macro_f1": None}
    assert METRICS["accuracy"].text(empty) == "-"
