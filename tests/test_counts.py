"""The count table: named keys, filtering and grouping, and confusion matrices per key against scikit-learn."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from analysis import CountTable, load_predictions
from analysis.normalize import SPLITS, natural_key

KEYS = ("split", "y_true", "y_pred")


def small() -> CountTable:
    return CountTable.from_rows(KEYS, [("dev", "a", "b", 1, 2.0), ("test", "a", "a", 2, 2.0),
                                       ("train", None, "a", 4, 4.0), ("dev", "a", "b", 3, 1.0)],
                                classes=("a", "b"), weighted=True)


def test_repeated_keys_add_up():
    t = small()
    assert t.keys == KEYS and len(t.n) == 3
    dev = t.where(split="dev")
    assert (dev.rows, dev.w.tolist()) == (4, [3.0])
    assert t.rows == 10


def test_bad_rows_and_keys_are_refused():
    with pytest.raises(ValueError, match="needs 3 key values"):
        CountTable.from_rows(KEYS, [("dev", "a", 1, 1.0)], classes=("a",), weighted=False)
    with pytest.raises(ValueError, match="distinct"):
        CountTable.from_rows(("split", "split"), [], classes=(), weighted=False)
    with pytest.raises(KeyError, match="no key 'slice'"):
        small().where(slice="x")


def test_the_table_cannot_be_changed():
    t = small()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.keys = ("split",)
    with pytest.raises(ValueError):
        t.n[0] = 99
    with pytest.raises(ValueError):
        t.column("split")[0] = "test"


def test_where_takes_values_collections_and_several_keys():
    t = small()
    assert t.where(split=["dev", "test"]).rows == 6
    assert t.where(split={"dev", "test"}, y_pred="a").rows == 2
    assert t.where(split="nope").rows == 0 and t.where(split="nope").matrix().sum() == 0
    assert t.where(y_true=None).rows == 4 == t.rows - t.labeled().rows
    assert t.where().rows == t.rows


def test_by_orders_splits_as_splits_and_classes_naturally():
    t = CountTable.from_rows(KEYS, [(s, c, c or "2", 1, 1.0) for s in ("test", "dev", "train", "train_dev")
                                    for c in ("10", "2", "cat", None)], classes=("2", "10", "cat"), weighted=False)
    assert [s for s, _ in t.by("split")] == list(SPLITS) == list(t.splits)
    assert t.values("y_true") == ("2", "10", "cat", None)
    assert [(c, sub.rows) for c, sub in t.by("y_pred")] == [("2", 8), ("10", 4), ("cat", 4)]


def test_by_split_on_the_demo_adds_up_to_the_whole(demo_path):
    counts = load_predictions(demo_path).counts
    parts = list(counts.by("split"))
    assert [s for s, _ in parts] == ["train", "train_dev", "dev", "test"]
    assert sum(sub.rows for _, sub in parts) == counts.rows
    np.testing.assert_array_equal(sum(sub.matrix() for _, sub in parts), counts.matrix())


def _keyed_table(df: pd.DataFrame, keys: tuple[str, ...], classes) -> CountTable:
    groups = df.groupby(list(keys), dropna=False).size()
    return CountTable.from_rows(keys, [(*k, int(n), float(n)) for k, n in groups.items()], classes=classes,
                                weighted=False)


def test_a_slice_key_and_a_second_model_on_mnist(mnist_path):
    df = pd.read_csv(mnist_path, dtype={"y_true": str, "y_pred": str})
    probs = df[[f"p_{i}" for i in range(10)]].to_numpy()
    runner_up = np.argsort(probs, axis=1)[:, -2].astype(str)
    # a second model: the first one, except that it takes the runner-up class when it is unsure
    df["y_pred_b"] = np.where(probs.max(axis=1) < 0.9, runner_up, df["y_pred"])
    df["slice"] = np.where(df["id"] % 3 == 0, "thirds", "others")
    classes = tuple(sorted(set(df.y_true) | set(df.y_pred) | set(df.y_pred_b), key=natural_key))
    t = _keyed_table(df, ("slice", "y_true", "y_pred", "y_pred_b"), classes)
    assert t.values("slice") == ("others", "thirds")
    for value, sub in t.by("slice"):
        rows = df[df["slice"] == value]
        for pred in ("y_pred", "y_pred_b"):
            expected = skm.confusion_matrix(rows.y_true, rows[pred], labels=list(classes))
            np.testing.assert_array_equal(sub.matrix(pred=pred), expected)
            np.testing.assert_array_equal(t.where(slice=value).matrix(pred=pred), expected)
    # the two models' matrices differ, but each counts every row of the slice once
    thirds = t.where(slice="thirds")
    difference = thirds.matrix(pred="y_pred") - thirds.matrix(pred="y_pred_b")
    assert np.abs(difference).sum() > 0 and difference.sum() == 0
