"""Every label type right: files whose label columns differ in type or spelling give scikit-learn's numbers.

Each case is written as a CSV and as a Parquet file from the same pandas frame, loaded, and compared with
scikit-learn's metrics on the frame's own columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from analysis import load_predictions
from analysis.metrics import accuracy as our_accuracy
from analysis.metrics import f1_score as our_f1


def written(tmp_path, frame: pd.DataFrame, fmt: str):
    path = tmp_path / f"p.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def same_as_sklearn(preds, y_true, y_pred, labels) -> None:
    """Our classes are scikit-learn's labels as text, and the matrix, accuracy and macro F1 are its own."""
    assert len(preds.classes) == len(labels)
    expected = confusion_matrix(y_true, y_pred, labels=labels)
    np.testing.assert_array_equal(preds.counts.matrix(), expected)
    assert our_accuracy(preds.counts) == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert our_f1(preds.counts) == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-12)


FORMATS = pytest.mark.parametrize("fmt", ["csv", "parquet"])


@FORMATS
def test_boolean_truth_against_0_1_predictions(tmp_path, fmt):
    # scikit-learn's test_confusion_matrix_pandas_nullable: 2 classes, accuracy 6/9
    truth = np.array([1, 0, 0, 1, 0, 1, 1, 0, 1])
    frame = pd.DataFrame({"y_true": pd.Series(truth, dtype="boolean"),
                          "y_pred": pd.Series([0, 0, 1, 1, 0, 1, 1, 1, 1], dtype="int64")})
    preds = load_predictions(written(tmp_path, frame, fmt))
    assert preds.classes == ("0", "1")
    same_as_sklearn(preds, truth, frame["y_pred"].to_numpy(), [0, 1])
    assert our_accuracy(preds.counts) == pytest.approx(6 / 9)


@FORMATS
def test_true_and_true_spelled_differently_are_one_class(tmp_path, fmt):
    frame = pd.DataFrame({"y_true": ["True", "False", "True", "False"], "y_pred": ["true", "false", "false", "TRUE"]})
    preds = load_predictions(written(tmp_path, frame, fmt))
    truth, pred = frame["y_true"].str.lower(), frame["y_pred"].str.lower()
    same_as_sklearn(preds, truth, pred, ["false", "true"])


@FORMATS
def test_boolean_labels_with_p_false_p_true(tmp_path, fmt):
    rng = np.random.default_rng(3)
    p_true = rng.uniform(size=50).round(3)
    frame = pd.DataFrame({"y_true": rng.uniform(size=50) < 0.5, "p_False": 1 - p_true, "p_True": p_true})
    preds = load_predictions(written(tmp_path, frame, fmt))
    pred = frame[["p_False", "p_True"]].to_numpy().argmax(axis=1).astype(bool)
    same_as_sklearn(preds, frame["y_true"].to_numpy(), pred, [False, True])


def test_1_50_as_number_and_as_text_is_one_class(tmp_path):
    frame = pd.DataFrame({"y_true": [1.5, 2.0, 1.5, 3.25], "y_pred": ["1.50", "2", "2.0", "3.250"]})
    preds = load_predictions(written(tmp_path, frame, "parquet"))
    assert preds.classes == ("1.5", "2", "3.25")
    # scikit-learn calls float labels continuous: compare as the numbers' text
    same_as_sklearn(preds, ["1.5", "2", "1.5", "3.25"], ["1.5", "2", "2", "3.25"], ["1.5", "2", "3.25"])


def test_1_50_in_a_csv_column_of_numbers_and_one_of_text(write):
    path = write("p.csv", "y_true,y_pred\n1.50,1.5\n2,x\n1.5,1.50\n2.0,2\n")
    preds = load_predictions(path)
    same_as_sklearn(preds, ["1.5", "2", "1.5", "2"], ["1.5", "x", "1.5", "2"], ["1.5", "2", "x"])


@FORMATS
def test_a_label_column_of_numbers_then_text_far_down(tmp_path, fmt):
    rng = np.random.default_rng(7)
    truth = [str(v) for v in rng.integers(0, 3, 25_001)]
    truth[-1] = "other"
    pred = [str(v) for v in rng.integers(0, 3, 25_001)]
    preds = load_predictions(written(tmp_path, pd.DataFrame({"y_true": truth, "y_pred": pred}), fmt))
    same_as_sklearn(preds, truth, pred, ["0", "1", "2", "other"])


@FORMATS
def test_a_thousand_classes_with_probabilities(tmp_path, fmt):
    rng = np.random.default_rng(11)
    k, n = 1000, 1500
    p = rng.dirichlet(np.full(k, 0.05), size=n).round(8)
    truth = np.where(rng.uniform(size=n) < 0.6, p.argmax(axis=1), rng.integers(0, k, n))
    frame = pd.DataFrame(p, columns=[f"p_{c}" for c in range(k)])
    frame.insert(0, "y_true", truth)
    preds = load_predictions(written(tmp_path, frame, fmt))
    assert len(preds.classes) == k
    same_as_sklearn(preds, truth, p.argmax(axis=1), list(range(k)))
    given = preds.query("SELECT p_given FROM preds ORDER BY row")["p_given"].to_numpy()
    np.testing.assert_allclose(given, p[np.arange(n), truth])


@FORMATS
def test_argmax_ties_go_to_the_first_column_in_the_file(tmp_path, fmt):
    # columns in the file: p_b before p_a, p_10 before p_9; numpy's argmax takes the first of equal maxima
    p = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25], [0.1, 0.6, 0.3, 0.0]])
    names = ["b", "a", "10", "9"]
    frame = pd.DataFrame(p, columns=[f"p_{c}" for c in names])
    frame.insert(0, "y_true", ["a", "10", "9", "a"])
    preds = load_predictions(written(tmp_path, frame, fmt))
    expected = [names[i] for i in p.argmax(axis=1)]
    assert expected == ["b", "10", "b", "a"]
    assert preds.query("SELECT y_pred FROM preds ORDER BY row")["y_pred"].tolist() == expected
    same_as_sklearn(preds, frame["y_true"], expected, ["9", "10", "a", "b"])


def test_two_probability_columns_of_one_class_are_refused(write):
    from analysis import InputError

    with pytest.raises(InputError, match=r"column 'p_1.0' names the class '1', as 'p_1' does"):
        load_predictions(write("p.csv", "y_true,p_1,p_1.0\n1,0.5,0.5\n"))


@FORMATS
@pytest.mark.parametrize(("k", "value", "expected"), [(3, -0.5, "is negative"), (3, 1.5, "is above 1"),
                                                      (70, -0.5, "is negative"), (70, 1.5, "is above 1")])
def test_probability_bounds_with_few_and_many_classes(tmp_path, fmt, k, value, expected):
    """Each column's bounds up to BOUNDS_PER_COLUMN classes, all columns' at once beyond: the same refusal."""
    from analysis import InputError
    from analysis.checks import BOUNDS_PER_COLUMN

    assert (k > BOUNDS_PER_COLUMN) == (k == 70)
    p = np.full((4, k), 1 / k)
    p[2, 1] = value  # the bounds are checked before the sums
    frame = pd.DataFrame(p, columns=[f"p_{c}" for c in range(k)])
    frame.insert(0, "y_true", [0, 1, 2, 0])
    path = written(tmp_path, frame, fmt)
    with pytest.raises(InputError, match=expected) as info:
        load_predictions(path)
    assert ("line 4" if fmt == "csv" else "row 3") in str(info.value)
