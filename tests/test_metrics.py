"""Every metric against scikit-learn, on real prediction files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from analysis import accuracy, confusion_matrix, error_rate, f1_score, load_predictions, measure, per_class
from analysis.normalize import natural_key


def _frame(path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"y_true": str, "y_pred": str, "id": str}, keep_default_na=False)
    if "split" not in df:
        df["split"] = "dev"
    return df


@pytest.fixture(params=["mnist", "imdb", "demo"])
def case(request):
    path = request.getfixturevalue(f"{request.param}_path")
    return load_predictions(path), _frame(path)


def _splits(df):
    return [None, *sorted(df["split"].unique())]


def _table(counts, split):
    """The count table of one split (all of it when ``split`` is None)."""
    return counts if split is None else counts.where(split=split)


def test_confusion_matches_sklearn(case):
    preds, df = case
    labels = sorted(set(df.y_true) | set(df.y_pred), key=natural_key)
    for split in _splits(df):
        part = df if split is None else df[df.split == split]
        for normalize in (None, "true", "pred", "all"):
            ours = confusion_matrix(_table(preds.counts, split), normalize=normalize)
            theirs = skm.confusion_matrix(part.y_true, part.y_pred, labels=labels, normalize=normalize)
            assert list(ours.labels) == labels
            np.testing.assert_allclose(ours.matrix, theirs, atol=1e-12)


def test_weighted_confusion_matches_sklearn(demo_path):
    preds, df = load_predictions(demo_path), _frame(demo_path)
    labels = list(preds.classes)
    for split in _splits(df):
        part = df if split is None else df[df.split == split]
        ours = confusion_matrix(_table(preds.counts, split), weighted=True)
        theirs = skm.confusion_matrix(part.y_true, part.y_pred, labels=labels, sample_weight=part.weight)
        np.testing.assert_allclose(ours.matrix, theirs)
        weighted_error = 1 - skm.accuracy_score(part.y_true, part.y_pred, sample_weight=part.weight)
        assert error_rate(_table(preds.counts, split), weighted=True) == pytest.approx(weighted_error, abs=1e-12)


def test_scores_match_sklearn(case):
    preds, df = case
    for split in _splits(df):
        part = df if split is None else df[df.split == split]
        t, p = part.y_true, part.y_pred
        table = _table(preds.counts, split)
        assert accuracy(table) == pytest.approx(skm.accuracy_score(t, p), abs=1e-12)
        assert error_rate(table) == pytest.approx(1 - skm.accuracy_score(t, p), abs=1e-12)
        for average in ("macro", "micro", "weighted"):
            expected = skm.f1_score(t, p, average=average, zero_division=0)
            assert f1_score(table, average=average) == pytest.approx(expected, abs=1e-12)
        scores = per_class(table)
        labels = list(scores.index)
        assert labels == sorted(set(t) | set(p), key=natural_key)
        prec, rec, f1, support = skm.precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
        np.testing.assert_allclose(scores["precision"], prec, atol=1e-12)
        np.testing.assert_allclose(scores["recall"], rec, atol=1e-12)
        np.testing.assert_allclose(scores["f1"], f1, atol=1e-12)
        np.testing.assert_array_equal(scores["support"], support)


def test_split_metrics_counts(case):
    preds, df = case
    for split in df.split.unique():
        part = df[df.split == split]
        m = measure(preds.counts.where(split=split))
        assert m["rows"] == m["labeled"] == len(part)
        assert m["errors"] == int((part.y_true != part.y_pred).sum())
        assert m["error_rate"] == pytest.approx(m["errors"] / len(part), abs=1e-15)


def test_zero_division_gives_zero_not_a_crash(write):
    # class "c" is predicted but never true, class "b" is true but never predicted
    path = write("p.csv", "y_true,y_pred\na,a\nb,c\nb,a\n")
    preds = load_predictions(path)
    table = per_class(preds.counts)
    assert table.loc["c", "precision"] == 0.0 and table.loc["c", "recall"] == 0.0
    assert table.loc["b", "precision"] == 0.0
    expected = skm.f1_score(["a", "b", "b"], ["a", "c", "a"], average="macro", zero_division=0)
    assert f1_score(preds.counts) == pytest.approx(expected)
    assert confusion_matrix(preds.counts, normalize="pred").matrix[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_unlabeled_rows_are_counted_but_left_out_of_metrics(write):
    path = write("p.csv", "y_true,y_pred\na,a\n,b\nb,a\n,a\n")
    preds = load_predictions(path)
    m = measure(preds.counts.where(split="dev"))
    assert (m["rows"], m["labeled"], m["errors"]) == (4, 2, 1)
    assert m["error_rate"] == 0.5
