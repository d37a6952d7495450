"""Exact sums of doubles (analysis.exact): the summed weights are the correctly rounded sum of the weights, whatever
order the engine adds them in, and a weight too large for the exact parts falls back to the engine's own sum."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import load_predictions
from analysis.exact import LIMIT
from analysis.metrics import confusion_matrix
from analysis.slices import error_by_slice


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 200_000
    return pd.DataFrame({"id": np.arange(n), "split": rng.choice(["dev", "test"], n),
                         "y_true": rng.choice(list("abc"), n), "y_pred": rng.choice(list("abc"), n),
                         "weight": rng.random(n) * 10 ** rng.uniform(-3, 6, n),
                         "group": rng.choice(["x", "y"], n)})


def _weighted(preds, split: str) -> np.ndarray:
    return confusion_matrix(preds.counts.where(split=split), weighted=True).matrix


def test_weighted_cells_are_the_correctly_rounded_sums_in_any_row_order(frame, tmp_path):
    paths = []
    for i, rows in enumerate((frame, frame.sample(frac=1, random_state=1))):
        paths.append(tmp_path / f"w{i}.parquet")
        rows.to_parquet(paths[-1], row_group_size=10_000)
    a, b = (load_predictions(p) for p in paths)
    for split in ("dev", "test"):
        expected = frame[frame["split"] == split].groupby(["y_true", "y_pred"])["weight"].agg(math.fsum)
        got = _weighted(a, split)
        labels = list(confusion_matrix(a.counts.where(split=split)).labels)
        for (t, p), value in expected.items():
            assert got[labels.index(t), labels.index(p)] == value
        assert np.array_equal(_weighted(b, split), got)  # shuffled rows: the same bits
    slices = error_by_slice(a, "dev", ["group"])
    rows = frame[frame["split"] == "dev"]
    for value, part in rows.groupby("group"):
        wrong = part["weight"].where(part["y_true"] != part["y_pred"], 0.0)
        found = slices.loc[slices["value"] == value, "weighted_error"].item()
        assert found == math.fsum(wrong) / math.fsum(part["weight"])


def test_a_weight_beyond_the_exact_range_uses_the_engines_sum(write):
    path = write("big.csv", f"id,y_true,y_pred,weight\n1,a,a,{LIMIT * 4!r}\n2,a,a,0.1\n3,a,b,0.2\n")
    matrix = _weighted(load_predictions(path), "dev")
    assert matrix[0, 0] == pytest.approx(LIMIT * 4 + 0.1, rel=1e-15) and matrix[0, 1] == 0.2
