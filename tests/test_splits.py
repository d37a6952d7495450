"""The split advisor: errors with intervals, whether each gap is beyond the noise, the dev size a difference needs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import ErrorscopeError, load_predictions
from analysis.splits import dev_size_needed, gap_p_value, rule_of_thumb, smallest_difference, split_advice


def closed_form(d: float, p1: float, alpha: float, power: float) -> float:
    """Fleiss' sample size per group for two proportions, written out with scipy's normal quantiles."""
    p2 = p1 + d
    pbar = (p1 + p2) / 2
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return (za * np.sqrt(2 * pbar * (1 - pbar)) + zb * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / d**2


def exact_power(n: int, p1: float, p2: float, alpha: float) -> float:
    """The power of the pooled two-proportion z-test with n per group, summed over the binomial outcomes."""
    za = stats.norm.ppf(1 - alpha / 2)
    ks = [np.arange(max(0, int(n * p - 10 * np.sqrt(n))), min(n, int(n * p + 10 * np.sqrt(n))) + 1) for p in (p1, p2)]
    k1, k2 = np.meshgrid(*ks, indexing="ij")
    pooled = (k1 + k2) / (2 * n)
    se = np.sqrt(pooled * (1 - pooled) * 2 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        reject = np.abs(k2 / n - k1 / n) > za * se
    weights = np.outer(stats.binom.pmf(ks[0], n, p1), stats.binom.pmf(ks[1], n, p2))
    return float((weights * reject).sum())


@pytest.mark.parametrize(("d", "error", "alpha", "power"), [(0.02, 0.10, 0.05, 0.80), (0.01, 0.05, 0.01, 0.90),
                                                             (0.05, 0.30, 0.10, 0.80)])
def test_dev_size_is_the_closed_form_and_reaches_its_power(d, error, alpha, power):
    n = dev_size_needed(d, error=error, alpha=alpha, power=power)
    assert n == pytest.approx(closed_form(d, error, alpha, power), rel=1e-12)
    assert exact_power(math.ceil(n), error, error + d, alpha) == pytest.approx(power, abs=0.02)


def test_dev_size_near_one_takes_the_difference_below():
    assert dev_size_needed(0.05, error=0.98) == pytest.approx(dev_size_needed(0.05, error=0.93), rel=1e-12)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"difference": 0.0, "error": 0.1}, "difference"), ({"difference": 1.5, "error": 0.1}, "difference"),
    ({"difference": 0.01, "error": 1.2}, "error"), ({"difference": 0.01, "error": 0.1, "alpha": 0.0}, "confidence"),
    ({"difference": 0.01, "error": 0.1, "power": 1.0}, "power"), ({"difference": 0.6, "error": 0.5}, "no error"),
])
def test_dev_size_refuses_bad_input(kwargs, message):
    difference = kwargs.pop("difference")
    with pytest.raises(ErrorscopeError, match=message):
        dev_size_needed(difference, **kwargs)


def test_rule_of_thumb_by_size():
    assert rule_of_thumb(5_000)["shares"] == {"train": 0.7, "dev": 0.15, "test": 0.15}
    assert rule_of_thumb(10_000_000)["shares"] == {"train": 0.98, "dev": 0.01, "test": 0.01}
    middle = rule_of_thumb(200_000)
    assert middle["sizes"]["dev"] == middle["sizes"]["test"] == 10_000
    assert sum(middle["sizes"].values()) == 200_000
    for rows in (10_000, 66_667, 1_000_000):  # no jump where one regime gives way to the next
        below, above = rule_of_thumb(rows - 1)["sizes"]["dev"], rule_of_thumb(rows + 1)["sizes"]["dev"]
        assert abs(above - below) <= 1
    with pytest.raises(ErrorscopeError, match="at least one row"):
        rule_of_thumb(0)


@pytest.fixture(scope="module")
def demo(request):
    path = request.config.rootpath / "demo_data" / "digits.csv"
    return load_predictions(path), pd.read_csv(path)


def test_split_errors_and_intervals_match_the_file(demo):
    preds, frame = demo
    advice = split_advice(preds.counts, human=0.01)
    for s in advice.splits:
        rows = frame[frame["split"] == s.split]
        errors = int((rows["y_true"] != rows["y_pred"]).sum())
        assert (s.rows, s.errors) == (len(rows), errors)
        low, high = stats.binomtest(errors, len(rows)).proportion_ci(method="wilson")
        assert (s.low, s.high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))


def test_each_gap_is_real_exactly_when_larger_than_the_noise(demo):
    preds, frame = demo
    advice = split_advice(preds.counts, human=0.01)
    by_gap = {g.gap: g for g in advice.gaps}
    assert set(by_gap) == {"avoidable_bias", "variance", "data_mismatch", "dev_overfitting"}
    for g in advice.gaps:
        assert g.real == (abs(g.value) > g.smallest) == (g.p_value < 0.05)
    assert by_gap["data_mismatch"].real and not by_gap["dev_overfitting"].real
    assert [g.gap for g in advice.noisy()] == ["dev_overfitting"]
    # the two-proportion z-test is Pearson's chi-squared test of the 2 x 2 table
    rows = {s: frame[frame["split"] == s] for s in ("dev", "test")}
    table = [[int((r["y_true"] != r["y_pred"]).sum()), int((r["y_true"] == r["y_pred"]).sum())] for r in rows.values()]
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert by_gap["dev_overfitting"].p_value == pytest.approx(expected, rel=1e-9)


def test_without_train_dev_variance_spans_train_to_dev(write):
    rows = ["id,split,y_true,y_pred"] + [f"{i},{'train' if i < 400 else 'dev'},a,{'b' if i % 10 == 0 else 'a'}"
                                          for i in range(800)]
    advice = split_advice(load_predictions(write("p.csv", "\n".join(rows))).counts)
    assert [(g.gap, g.low, g.high) for g in advice.gaps] == [("variance", "train", "dev")]
    assert not advice.gaps[0].real and advice.gaps[0].value == 0


def test_smallest_difference_with_power_adds_its_quantile():
    plain, powered = smallest_difference(0.1, 1000, 1000), smallest_difference(0.1, 1000, 1000, power=0.8)
    assert powered / plain == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / stats.norm.ppf(0.975))
    assert gap_p_value(0, 10, 0, 10) == 1.0


def test_cli_summary_says_which_gaps_are_within_the_noise(capsys):
    from analysis.cli import main

    path = Path(__file__).resolve().parent.parent / "demo_data" / "digits.csv"
    noisy = split_advice(load_predictions(path).counts).noisy()
    assert [g.gap for g in noisy] == ["dev_overfitting"]
    assert main(["summary", str(path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "within the noise" in line]
    assert lines == [f"dev overfitting ({100 * noisy[0].value:+.2f} pp) is within the noise: at the sizes of dev and "
                     f"test a gap below {100 * noisy[0].smallest:.2f} pp cannot be told from zero "
                     f"(p = {noisy[0].p_value:.2g}; errorscope splits)"]
