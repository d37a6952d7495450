"""Comparing two files by path: files in the same order take one positional join that also counts each file's
groups; the result equals loading each file and joining them, and any bad file gets the message its load gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import load_predictions
from analysis.cli import main
from analysis.compare import _aligned, compare_files, compare_predictions, report
from tests.conftest import DEMO

A_PATH, B_PATH = DEMO / "digits.csv", DEMO / "digits_b.csv"


def _ordinary(a, b):
    return compare_predictions(load_predictions(a), load_predictions(b))


def _assert_same(fast, slow) -> None:
    assert report(fast) == report(slow)
    assert (fast.only_a, fast.only_b) == (slow.only_a, slow.only_b)
    for x, y in ((fast.a, slow.a), (fast.b, slow.b), (fast, slow)):
        assert x.counts.classes == y.counts.classes and x.counts.weighted == y.counts.weighted
        assert x.counts.splits == y.counts.splits and x.counts.rows == y.counts.rows
        for (split, got), (_, want) in zip(x.counts.by("split"), y.counts.by("split"), strict=True):
            keys = [k for k in got.keys if k != "split"]
            for true, pred in zip(keys[:1] * (len(keys) - 1), keys[1:], strict=True):
                assert np.array_equal(got.matrix(true=true, pred=pred), want.matrix(true=true, pred=pred)), split
                assert np.allclose(got.matrix(weighted=True, true=true, pred=pred),
                                   want.matrix(weighted=True, true=true, pred=pred)), split


@pytest.fixture(scope="module")
def parquet_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    paths = folder / "a.parquet", folder / "b.parquet"
    for src, dst in zip((A_PATH, B_PATH), paths, strict=True):
        frame = pd.read_csv(src, dtype={"y_true": str, "y_pred": str})
        frame["id"] = frame["id"].str[1:].astype("int64")  # integer ids, as written: the join by position
        frame.to_parquet(dst)
    return paths


def test_files_in_the_same_order_take_one_join_and_give_what_the_loads_give(parquet_pair):
    for a, b in ((A_PATH, B_PATH), parquet_pair):
        fast = _aligned(a, b)
        assert fast is not None
        slow = _ordinary(a, b)
        _assert_same(fast, slow)
        _assert_same(compare_files(a, b), slow)


def test_files_in_another_order_take_the_ordinary_way(tmp_path):
    frame = pd.read_csv(B_PATH, dtype=str, keep_default_na=False).sample(frac=1.0, random_state=1)
    frame.to_csv(tmp_path / "b.csv", index=False)
    assert _aligned(A_PATH, tmp_path / "b.csv") is None
    _assert_same(compare_files(A_PATH, tmp_path / "b.csv"), _ordinary(A_PATH, tmp_path / "b.csv"))


#: Changes to a file (column -> (row, value)), each a problem its load or the join refuses.
BAD = {
    "blank prediction": {"y_pred": (3, "")},
    "negative weight": {"weight": (5, "-1")},
    "probabilities off 1": {"p_0": (7, "0.9")},
    "non-numeric probability": {"p_1": (2, "abc")},
    "unknown split": {"split": (4, "holdout")},
    "blank id": {"id": (6, "")},
    "duplicate id": {"id": (9, "d0001")},
    "another true label": {"y_true": (0, "9")},
    "fewer rows": {},
}


@pytest.mark.parametrize("which", ["a", "b"])
@pytest.mark.parametrize("problem", list(BAD))
def test_a_bad_file_is_refused_with_the_message_of_the_ordinary_way(tmp_path, problem, which, capsys):
    frame = pd.read_csv(A_PATH if which == "a" else B_PATH, dtype=str, keep_default_na=False)
    for column, (row, value) in BAD[problem].items():
        frame.iloc[row, frame.columns.get_loc(column)] = value
    if problem == "fewer rows":
        frame = frame.iloc[:-3]
    bad = tmp_path / f"{which}.csv"
    frame.to_csv(bad, index=False)
    a, b = (bad, B_PATH) if which == "a" else (A_PATH, bad)
    with pytest.raises(ValueError) as expected:
        _ordinary(a, b)
    with pytest.raises(type(expected.value)) as got:
        compare_files(a, b)
    assert str(got.value) == str(expected.value)
    if problem == "blank prediction":  # the command line's one line
        assert main(["compare", str(a), str(b)]) == 2
        assert capsys.readouterr().err == f"error: {expected.value}\n"
