"""Distribution checks between two splits: the tests against scipy, the verdicts on real data, the bad inputs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import ErrorscopeError, load_predictions
from analysis.cli import main
from analysis.shift import MAX_CATEGORIES, chi2_from_counts, shift, shift_columns
from analysis.splits import dev_size_needed

ADULT = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "adult" / "adult_predictions.csv"
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


@pytest.fixture(scope="module")
def adult() -> tuple:
    if not ADULT.is_file():
        if os.environ.get("ERRORSCOPE_REQUIRE_BENCHMARKS") == "1":
            pytest.fail(f"the real benchmark file {ADULT.name} is missing")
        pytest.skip("the Adult benchmark is not here (expected beside the project in shared/benchmarks/adult/)")
    return load_predictions(ADULT), pd.read_csv(ADULT, keep_default_na=False)


def counts_of(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = pd.concat([a.value_counts().rename("a"), b.value_counts().rename("b")], axis=1).fillna(0)
    return table.index.to_numpy(), table["a"].to_numpy(int), table["b"].to_numpy(int)


@pytest.mark.parametrize(("a", "b"), [("dev", "test"), ("train", "dev")])  # scipy's exact, then asymptotic p
def test_the_ks_test_of_each_number_is_scipys_ks_2samp(adult, a, b):
    preds, frame = adult
    found = {c.column: c for c in shift(preds, a=a, b=b, columns=NUMERIC, domain=False).columns}
    for column in NUMERIC:
        x, y = frame.loc[frame["split"] == a, column], frame.loc[frame["split"] == b, column]
        expected = stats.ks_2samp(x, y)
        assert found[column].statistic == pytest.approx(expected.statistic, abs=1e-12)
        assert found[column].raw_p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_from_counts_is_scipys_test_with_rare_categories_merged(adult):
    _, frame = adult
    x, y = (frame.loc[frame["split"] == s] for s in ("dev", "test"))
    _, na, nb = counts_of(x["sex"], y["sex"])  # no rare category: the plain test
    assert chi2_from_counts(na, nb) == pytest.approx(tuple(stats.chi2_contingency([na, nb])[:2]))
    _, na, nb = counts_of(x["native_country"], y["native_country"])  # dozens of countries seen a few times
    table = np.array([na, nb])
    rare = (np.outer(table.sum(1), table.sum(0)) / table.sum()).min(axis=0) < 5
    assert rare.sum() > 5
    merged = np.column_stack([table[:, ~rare], table[:, rare].sum(axis=1)])
    assert chi2_from_counts(na, nb) == pytest.approx(tuple(stats.chi2_contingency(merged)[:2]))


@pytest.fixture(scope="module")
def adult_dev_test(adult):
    return shift(adult[0], a="dev", b="test")


def test_adult_dev_and_test_come_from_one_distribution(adult, adult_dev_test):
    found = adult_dev_test
    assert not found.flagged
    assert found.domain is not None and 0.45 < found.domain.auc < 0.55 and not found.domain.flagged
    assert 0.45 < found.domain.baseline_auc < 0.55
    assert found.domain.sample["dev"] + found.domain.sample["test"] == pytest.approx(10_000, rel=0.05)
    assert {c.column for c in found.columns} == set(shift_columns(adult[0]))
    assert all(c.p_value == min(1.0, c.raw_p_value * (len(found.columns) + 1)) for c in found.columns)


def test_the_sql_counts_give_the_statistics_of_the_rows(adult, adult_dev_test):
    _, frame = adult
    x, y = (frame.loc[frame["split"] == s] for s in ("dev", "test"))
    for c in adult_dev_test.columns:
        if c.column in NUMERIC:
            assert c.statistic == pytest.approx(stats.ks_2samp(x[c.column], y[c.column]).statistic, abs=1e-12)
            pooled = np.sqrt(((len(x) - 1) * x[c.column].var() + (len(y) - 1) * y[c.column].var())
                             / (len(x) + len(y) - 2))
            assert c.effect == pytest.approx((y[c.column].mean() - x[c.column].mean()) / pooled, rel=1e-9)
        elif c.column in frame.columns:
            share = pd.concat([x[c.column].value_counts(normalize=True), y[c.column].value_counts(normalize=True)],
                              axis=1).fillna(0)
            change = share.iloc[:, 1] - share.iloc[:, 0]
            assert c.distance == pytest.approx(change.abs().sum() / 2, abs=1e-12)
            assert c.effect == pytest.approx(change[c.category], abs=1e-12)
            assert abs(c.effect) == pytest.approx(change.abs().max(), abs=1e-12)


@pytest.mark.parametrize("written", ["csv text", "parquet text", "parquet float"])
def test_the_confidence_is_the_views_however_the_classes_are_written(tmp_path, written):
    """The column tests pick each row's confidence by its predicted class as written (each written form normalized
    once): the numbers are the normalized view's, with dev's classes written plainly and test's as ``01``, ``1.0``,
    `` 1``, ``+2``... (or as floats), so that a form left unmatched would change test's sample."""
    rng = np.random.default_rng(2)
    n = 600
    split = np.where(np.arange(n) % 2, "test", "dev")
    frame = pd.DataFrame({"y_true": rng.choice(["1", "2", "3"], size=n), "split": split})
    forms = {1: ["1", "01", "1.0", " 1"], 2: ["2", "+2", "2.00"], 3: ["3", "3.", "003"]}
    predicted = rng.integers(1, 4, size=n)
    frame["y_pred"] = [forms[c][0] if s == "dev" else forms[c][rng.integers(1, len(forms[c]))]
                       for c, s in zip(predicted, split, strict=True)]
    if written == "parquet float":
        frame["y_pred"] = predicted.astype(float)
    for k, column in enumerate(rng.dirichlet(np.ones(3), size=n).T, start=1):
        frame[f"p_{k}"] = column
    path = tmp_path / ("p.csv" if written == "csv text" else "p.parquet")
    frame.to_csv(path, index=False) if written == "csv text" else frame.to_parquet(path, index=False)
    preds = load_predictions(path)
    view = preds.query("SELECT split, confidence FROM preds")
    x, y = (view.loc[view["split"] == s, "confidence"].to_numpy() for s in ("dev", "test"))
    assert len(x) + len(y) == n and not np.isnan(np.concatenate([x, y])).any()
    found = shift(preds, a="dev", b="test", columns=["confidence"], domain=False).columns[0]
    expected = stats.ks_2samp(x, y)
    assert (found.statistic, found.raw_p_value) == (expected.statistic, expected.pvalue)
    assert found.effect_text.startswith(f"mean {x.mean():.4g} → {y.mean():.4g}")


def test_a_split_sorted_by_one_column_is_flagged_with_that_column_first(adult, tmp_path):
    _, frame = adult
    rows = frame[frame["split"] == "train"].head(3000).sort_values("age", kind="stable")
    rows = rows.assign(split=np.where(np.arange(len(rows)) < len(rows) // 2, "dev", "test"))
    rows.to_csv(tmp_path / "sorted.csv", index=False)
    found = shift(load_predictions(tmp_path / "sorted.csv"), a="dev", b="test", permutations=1)
    assert found.flagged
    assert found.columns[0].column == "age" and found.columns[0].flagged
    assert found.domain.auc >= 0.95 and found.domain.flagged
    assert next(iter(found.domain.importance)) == "age"


@pytest.fixture(scope="module")
def demo_preds(request):
    return load_predictions(request.config.rootpath / "demo_data" / "digits.csv")


def test_demo_train_dev_and_dev_differ_in_the_shifted_properties(demo_preds):
    found = shift(demo_preds, a="train_dev", b="dev")
    assert found.flagged and found.domain.flagged and found.domain.auc > 0.9
    assert {c.column for c in found.columns[:2]} == {"noise", "stroke"}
    stroke = next(c for c in found.columns if c.column == "stroke")
    assert stroke.category in {"normal", "thick"} and abs(stroke.effect) > 0.4
    assert not any(c.flagged for c in found.columns if c.column in ("y_true", "y_pred"))


def test_demo_dev_and_test_are_not_flagged(demo_preds):
    found = shift(demo_preds, a="dev", b="test")
    assert not found.flagged and not found.domain.flagged
    assert found.domain.importance == {}  # nothing to explain when the classifier cannot tell them apart


def test_no_false_alarms_over_random_splits(tmp_path):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame
    frame = data[[c for c in data.columns if c.startswith("mean")]].rename(columns=lambda c: c.replace(" ", "_"))
    frame.insert(0, "y_true", data["target"])
    frame.insert(1, "y_pred", data["target"])
    rng = np.random.default_rng(0)
    flagged = 0
    for i in range(100):
        frame["split"] = np.where(rng.permutation(len(frame)) < len(frame) // 2, "dev", "test")
        frame.to_parquet(tmp_path / "split.parquet", index=False)
        found = shift(load_predictions(tmp_path / "split.parquet"), a="dev", b="test", permutations=0, seed=i)
        assert found.domain is not None and len(found.columns) == 12
        flagged += found.flagged
    assert flagged <= 5


def test_large_splits_get_scipys_asymptotic_ks_test(write):
    rng = np.random.default_rng(1)
    n = 25_000  # beyond 10,000 rows a split, scipy's p-value is the asymptotic one
    x = np.round(rng.normal(size=n) + np.where(np.arange(n) % 2, 0.05, 0.0), 9)
    x[::7] = np.round(x[::7], 1)  # ties too
    split = np.where(np.arange(n) % 2, "test", "dev")
    frame = pd.DataFrame({"y_true": "a", "y_pred": "a", "split": split, "x": x})
    path = write("many.csv", frame.to_csv(index=False))
    found = shift(load_predictions(path), a="dev", b="test", columns=["x"], domain=False)
    expected = stats.ks_2samp(x[split == "dev"], x[split == "test"])
    assert found.columns[0].statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert found.columns[0].raw_p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert found.domain is None and found.columns[0].flagged


def test_columns_left_out_say_why(write):
    rows = ["id,split,y_true,y_pred,note,score"]
    rows += [f"{i},{'dev' if i % 2 else 'test'},a,a,note {i},{'' if i % 2 == 0 else i}"
             for i in range(2 * MAX_CATEGORIES + 100)]
    found = shift(load_predictions(write("p.csv", "\n".join(rows))), a="dev", b="test", domain=False)
    assert set(found.skipped) == {"note", "score"}
    assert "distinct values" in found.skipped["note"] and "no value" in found.skipped["score"]
    assert [c.column for c in found.columns] == ["y_pred", "y_true"]


def test_two_constant_columns_differ_without_a_finite_effect(write, capsys):
    rows = ["split,y_true,y_pred,level"] + [f"{'dev' if i < 50 else 'test'},a,a,{1 + (i >= 50)}" for i in range(100)]
    path = write("p.csv", "\n".join(rows))
    found = shift(load_predictions(path), a="dev", b="test", permutations=0)
    level = found.columns[0]
    assert level.column == "level" and level.flagged and level.statistic == 1.0 and level.effect == np.inf
    assert main(["shift", str(path), "--a", "dev", "--b", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["columns"][0]["effect"] is None


def test_a_tiny_split_gets_no_domain_classifier(write):
    rows = ["split,y_true,y_pred,x"] + [f"{'dev' if i < 10 else 'test'},a,a,{i % 7}" for i in range(60)]
    found = shift(load_predictions(write("p.csv", "\n".join(rows))), a="dev", b="test")
    assert found.domain is None and "fewer than 20 rows" in found.skipped["domain classifier"]
    with pytest.raises(ErrorscopeError, match="no split 'train'"):
        shift(load_predictions(write("p.csv", "\n".join(rows))), a="train", b="test")
    assert {c.column for c in found.columns} == {"x", "y_true", "y_pred"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"a": "dev", "b": "dev"}, "two different splits"), ({"a": "dev", "b": "holdout"}, "unknown split"),
    ({"columns": ["nope"]}, "no column 'nope'"),
    ({"columns": []}, "at least one column"), ({"sample": 5}, "at least 20"), ({"alpha": 1.5}, "alpha"),
    ({"permutations": -1}, "permutations"),
])
def test_bad_input_is_refused(demo_preds, kwargs, message):
    with pytest.raises(ErrorscopeError, match=message):
        shift(demo_preds, **{"a": "dev", "b": "test", **kwargs})


def test_cli_shift_json_and_errors(demo_path, capsys):
    assert main(["shift", str(demo_path), "--a", "dev", "--b", "test", "--columns", "stroke", "noise", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["flagged"] is False and 0.3 < out["domain_auc"] < 0.7 and 0.3 < out["baseline_auc"] < 0.7
    assert [c["column"] for c in out["columns"]] == sorted(["stroke", "noise"], key=lambda c: -next(
        x["distance"] for x in out["columns"] if x["column"] == c))
    assert set(out["columns"][0]) >= {"column", "test", "p_value", "effect", "flagged"}
    assert main(["shift", str(demo_path), "--a", "dev", "--b", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown split 'nope'") and err.count("\n") == 1


def test_cli_splits(demo_path, capsys):
    assert main(["splits", str(demo_path), "--human-error", "1%", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["split"] for s in out["splits"]] == ["train", "train_dev", "dev", "test"]
    assert {g["gap"]: g["real"] for g in out["gaps"]}["dev_overfitting"] is False
    assert out["rule_of_thumb"]["shares"]["dev"] == 0.15
    assert main(["splits", str(demo_path), "--difference", "2%", "--power", "90%", "--json"]) == 0
    needed = json.loads(capsys.readouterr().out)["dev_size_needed"]
    assert needed["examples"] == math.ceil(dev_size_needed(0.02, error=needed["error"], power=0.9))
    assert needed["error"] == pytest.approx(35 / 300)  # the demo's dev error
    assert main(["splits", str(demo_path)]) == 0
    assert "within the noise" in capsys.readouterr().out
    assert main(["splits", str(demo_path), "--difference", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: the difference must be")
