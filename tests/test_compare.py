"""Two models on the same examples: the join, the disagreement table, McNemar (against statsmodels), the paired
bootstrap's coverage, per-class and per-slice differences, the rows of a cell, and files that do not match."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import load_predictions
from analysis.cli import main
from analysis.compare import (
    CoverageError,
    cell_examples,
    compare_predictions,
    disagreement,
    mcnemar,
    paired_bootstrap,
    per_class,
    per_slice,
    report,
)
from analysis.counts import CountTable
from analysis.errors import InputError
from analysis.summary import summarize
from tests.conftest import DEMO

A_PATH, B_PATH = DEMO / "digits.csv", DEMO / "digits_b.csv"
READ = {"dtype": {"id": str, "y_true": str, "y_pred": str}}


@pytest.fixture(scope="module")
def frames() -> pd.DataFrame:
    a, b = pd.read_csv(A_PATH, **READ), pd.read_csv(B_PATH, **READ)
    return a.merge(b[["id", "y_pred"]], on="id", suffixes=("_a", "_b"))


@pytest.fixture(scope="module")
def cmp():
    return compare_predictions(load_predictions(A_PATH), load_predictions(B_PATH))


def _cells(frame: pd.DataFrame) -> dict[str, int]:
    ra, rb = frame["y_pred_a"] == frame["y_true"], frame["y_pred_b"] == frame["y_true"]
    return {"both_right": int((ra & rb).sum()), "only_a": int((ra & ~rb).sum()), "only_b": int((~ra & rb).sum()),
            "both_wrong": int((~ra & ~rb).sum())}


def test_mcnemar_matches_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    r = mcnemar(59, 121)  # the table [[101, 59], [121, 33]]
    assert r.statistic == pytest.approx(20.672, abs=5e-4)
    assert r.p_value == pytest.approx(5.45e-6, rel=2e-3)
    assert r.exact_p_value == pytest.approx(4.43e-6, rel=2e-3)
    rng = np.random.default_rng(3)
    cases = [(59, 121), (0, 5), (7, 7), (1, 0), (480_000, 481_500), *rng.integers(0, 400, size=(20, 2)).tolist()]
    for b, c in cases:
        table = [[100, b], [c, 30]]
        ours = mcnemar(b, c)
        if b + c:
            assert ours.statistic == pytest.approx(sm_mcnemar(table, exact=False, correction=True).statistic)
            assert ours.p_value == pytest.approx(sm_mcnemar(table, exact=False, correction=True).pvalue)
        assert ours.exact_p_value == pytest.approx(sm_mcnemar(table, exact=True).pvalue)


def _pair_table(right_a: np.ndarray, right_b: np.ndarray) -> CountTable:
    """Two binary classifiers' outcomes as a count table: true class 1, predicted 1 when right."""
    rows = [("dev", "1", "1" if a else "0", "1" if b else "0", 1, 1.0) for a, b in zip(right_a, right_b, strict=True)]
    return CountTable.from_rows(("split", "y_true", "y_pred_a", "y_pred_b"), rows, classes=("0", "1"),
                                weighted=False)


def test_paired_bootstrap_covers_the_true_difference_95_percent_of_the_time():
    """1,000 simulated pairs of correlated models on 400 examples: the 95% interval holds the true difference
    (0.86 - 0.82 = 0.04) in 93-97% of them."""
    rng = np.random.default_rng(12)
    n, p_a, p_b, covered = 400, 0.82, 0.86, 0
    for i in range(1000):
        latent = rng.random(n)  # shared difficulty makes the two models' mistakes correlated, as real ones are
        noise = rng.random(n) < 0.3
        right_a = np.where(noise, rng.random(n) < p_a, latent < p_a)
        right_b = np.where(noise, rng.random(n) < p_b, latent < p_b)
        _, low, high = paired_bootstrap(_pair_table(right_a, right_b), resamples=1000, seed=i)
        covered += low <= p_b - p_a <= high
    assert 930 <= covered <= 970, covered


def test_paired_bootstrap_matches_scipy_on_the_demo(cmp, frames):
    """The multinomial resampling of the cells is the bootstrap over examples: scipy's paired percentile interval
    of the accuracy difference on the same rows agrees to resampling noise."""
    from scipy.stats import bootstrap

    dev = frames[frames["split"] == "dev"]
    ra = (dev["y_pred_a"] == dev["y_true"]).to_numpy(float)
    rb = (dev["y_pred_b"] == dev["y_true"]).to_numpy(float)
    ref = bootstrap((ra, rb), lambda x, y: y.mean() - x.mean(), paired=True, method="percentile",
                    n_resamples=4000, random_state=0).confidence_interval
    value, low, high = paired_bootstrap(cmp.counts.where(split="dev"), resamples=4000)
    assert value == pytest.approx(rb.mean() - ra.mean())
    assert low == pytest.approx(ref.low, abs=0.004) and high == pytest.approx(ref.high, abs=0.004)


def test_table_and_metrics_match_pandas(cmp, frames):
    assert cmp.only_a == cmp.only_b == 0 and cmp.counts.rows == len(frames)
    summary_a, summary_b = summarize(load_predictions(A_PATH)), summarize(load_predictions(B_PATH))
    result = report(cmp)
    for split, part in frames.groupby("split"):
        r = result["splits"][split]
        assert r["table"] == _cells(part)
        assert r["a"] == summary_a["splits"][split] and r["b"] == summary_b["splits"][split]
        m = r["mcnemar"]
        assert m["exact_p_value"] == mcnemar(r["table"]["only_a"], r["table"]["only_b"]).exact_p_value
        d = r["difference"]
        assert d["value"] == pytest.approx(r["b"]["accuracy"] - r["a"]["accuracy"])
        assert d["low"] <= d["value"] <= d["high"]
    assert disagreement(cmp.counts.where(split="test")) == _cells(frames[frames["split"] == "test"])


def test_the_interval_does_not_depend_on_the_order_of_the_cells(cmp):
    table = cmp.counts.where(split="dev")
    order = np.arange(len(table.n))[::-1]
    reversed_table = CountTable(table.keys, tuple(c[order] for c in table.columns), table.n[order], table.w[order],
                                table.classes, table.weighted)
    assert paired_bootstrap(reversed_table, seed=3) == paired_bootstrap(table, seed=3)


def test_macro_f1_difference_matches_scikit_learn(cmp, frames):
    from sklearn.metrics import f1_score

    test = frames[frames["split"] == "test"]
    value, low, high = paired_bootstrap(cmp.counts.where(split="test"), metric="macro_f1", resamples=200)
    expected = (f1_score(test["y_true"], test["y_pred_b"], average="macro")
                - f1_score(test["y_true"], test["y_pred_a"], average="macro"))
    assert value == pytest.approx(expected) and low < value < high


def test_per_class_and_per_slice_put_where_b_got_worse_first(cmp, frames):
    dev = frames[frames["split"] == "dev"]
    got = per_class(cmp, "dev").set_index("class")
    for cls, part in dev.groupby("y_true"):
        assert got.loc[cls, "support"] == len(part)
        assert got.loc[cls, "recall_b"] - got.loc[cls, "recall_a"] == pytest.approx(
            (part["y_pred_b"] == cls).mean() - (part["y_pred_a"] == cls).mean())
        cells = _cells(part)
        assert (got.loc[cls, "fixed"], got.loc[cls, "broken"]) == (cells["only_b"], cells["only_a"])
    assert list(got["difference"]) == sorted(got["difference"])
    slices = per_slice(cmp, "test", "stroke").set_index("value")
    test = frames[frames["split"] == "test"]
    for value, part in test.groupby("stroke"):
        assert slices.loc[value, "rows"] == len(part)
        assert slices.loc[value, "accuracy_b"] == pytest.approx((part["y_pred_b"] == part["y_true"]).mean())
        assert slices.loc[value, "fixed"] == _cells(part)["only_b"]
    noise = per_slice(cmp, "test", "noise")  # a numeric column of many values: five ranges of equal counts
    assert len(noise) == 5 and noise["rows"].sum() == len(test) and set(noise["rows"]) <= {119, 120}
    assert noise["fixed"].sum() == _cells(test)["only_b"]
    with pytest.raises(ValueError, match="no metadata column 'nope'"):
        per_slice(cmp, "test", "nope")


@pytest.mark.parametrize("cell", ["only_a", "only_b", "both_wrong"])
def test_cell_examples_are_the_rows_of_the_cell(cmp, frames, cell):
    test = frames[frames["split"] == "test"]
    ra, rb = test["y_pred_a"] == test["y_true"], test["y_pred_b"] == test["y_true"]
    mask = {"only_a": ra & ~rb, "only_b": ~ra & rb, "both_wrong": ~ra & ~rb}[cell]
    got = cell_examples(cmp, split="test", cell=cell, limit=1000)
    assert list(got["id"]) == list(test.loc[mask, "id"])
    assert list(got["y_pred_b"]) == list(test.loc[mask, "y_pred_b"])
    page = cell_examples(cmp, split="test", cell=cell, limit=3, offset=2)
    assert list(page["id"]) == list(test.loc[mask, "id"])[2:5]
    with pytest.raises(ValueError, match="unknown cell"):
        cell_examples(cmp, split="test", cell="everything")


def _write_subset(tmp_path, drop: int, shuffle: bool = False, **changes) -> object:
    """B's file without its first ``drop`` rows, with ``column=(row, value)`` changes; in another order when
    ``shuffle`` (then the files are joined on a hash of the ids, not by position)."""
    frame = pd.read_csv(B_PATH, dtype=str, keep_default_na=False)
    frame = frame.iloc[drop:].copy()
    for column, (row, value) in changes.items():
        frame.iloc[row, frame.columns.get_loc(column)] = value
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=0)
    path = tmp_path / "b.csv"
    frame.to_csv(path, index=False)
    return path


def test_files_of_other_examples_are_refused_with_the_counts_or_compared_on_the_shared_ids(tmp_path, capsys):
    a = load_predictions(A_PATH)
    b = load_predictions(_write_subset(tmp_path, 100))
    with pytest.raises(CoverageError, match=r"1,697 ids are in both, 100 only in A, 0 only in B") as info:
        compare_predictions(a, b)
    assert (info.value.only_a, info.value.only_b, info.value.shared) == (100, 0, 1697)
    shared = compare_predictions(a, b, shared=True)
    assert shared.counts.rows == 1697 and shared.only_a == 100
    assert main(["compare", str(A_PATH), str(b.path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: the files do not hold the same examples")
    assert "--shared" in err
    assert main(["compare", str(A_PATH), str(b.path), "--shared", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["only_a"] == 100 and sum(s["rows"] for s in out["splits"].values()) == 1697


@pytest.mark.parametrize("shuffle", [False, True])
def test_files_that_disagree_on_a_label_or_a_split_are_refused(tmp_path, cmp, shuffle):
    a = load_predictions(A_PATH)
    label = pd.read_csv(A_PATH, dtype=str).loc[0, "y_true"]
    other = str((int(label) + 1) % 10)
    with pytest.raises(InputError, match="1 of the 1,797 examples it shares .* another true label"):
        compare_predictions(a, load_predictions(_write_subset(tmp_path, 0, shuffle, y_true=(0, other))))
    split = pd.read_csv(A_PATH, dtype=str).loc[0, "split"]
    with pytest.raises(InputError, match="another split"):
        compare_predictions(a, load_predictions(_write_subset(tmp_path, 0, shuffle,
                                                              split=(0, "dev" if split != "dev" else "test"))))
    same = compare_predictions(a, load_predictions(_write_subset(tmp_path, 0, shuffle, split=(0, f" {split} "))))
    assert disagreement(same.counts) == disagreement(cmp.counts)  # " dev " is dev: written otherwise, not another


def test_no_shared_ids_is_refused_even_with_shared(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("id,y_true,y_pred\nx1,1,1\nx2,0,1\n", encoding="utf-8")
    with pytest.raises(CoverageError, match="0 ids are in both"):
        compare_predictions(load_predictions(A_PATH), load_predictions(path), shared=True)


def test_ids_join_by_the_id_rule_and_integer_ids_as_written(tmp_path):
    """Text ids "007" and integer ids 7 are one example (the id rule); Parquet integer ids join as written."""
    (tmp_path / "a.csv").write_text('id,y_true,y_pred\n"007",1,1\n"8",0,1\n"9",1,0\n', encoding="utf-8")
    (tmp_path / "b.csv").write_text("id,y_true,y_pred\n9,1,1\n7,1,0\n8,0,0\n", encoding="utf-8")
    cmp = compare_predictions(load_predictions(tmp_path / "a.csv"), load_predictions(tmp_path / "b.csv"))
    assert disagreement(cmp.counts) == {"both_right": 0, "only_a": 1, "only_b": 2, "both_wrong": 0}
    pd.DataFrame({"id": [1, 2, 3], "y_true": ["1", "0", "1"], "y_pred": ["1", "1", "0"]}).to_parquet(
        tmp_path / "a.parquet")
    pd.DataFrame({"id": [3, 1, 2], "y_true": ["1", "1", "0"], "y_pred": ["1", "0", "0"]}).to_parquet(
        tmp_path / "b.parquet")
    cmp = compare_predictions(load_predictions(tmp_path / "a.parquet"), load_predictions(tmp_path / "b.parquet"))
    assert disagreement(cmp.counts) == {"both_right": 0, "only_a": 1, "only_b": 2, "both_wrong": 0}


def test_cli_json_has_the_documented_shape(capsys):
    assert main(["compare", str(A_PATH), str(B_PATH), "--split", "val", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["splits"]) == ["dev"]
    dev = out["splits"]["dev"]
    assert set(dev) == {"rows", "a", "b", "table", "mcnemar", "difference"}
    assert set(dev["table"]) == {"both_right", "only_a", "only_b", "both_wrong"}
    assert set(dev["mcnemar"]) == {"statistic", "p_value", "exact_p_value"}
    assert set(dev["difference"]) == {"metric", "value", "low", "high"}
    assert main(["compare", str(A_PATH), str(B_PATH), "--split", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown split 'nope'")
    assert main(["compare", str(A_PATH), str(B_PATH)]) == 0
    text = capsys.readouterr().out
    assert "McNemar" in text and "only A right" in text
