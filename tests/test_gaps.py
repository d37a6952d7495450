from __future__ import annotations

import pytest

from analysis import ErrorscopeError, decompose, gaps_from_counts, load_predictions
from analysis.gaps import advice_for


def test_seed_example():
    g = decompose(human=0.04, train=0.07, train_dev=0.10, dev=0.12, test=0.12)
    assert g.avoidable_bias == pytest.approx(0.03)
    assert g.variance == pytest.approx(0.03)
    assert g.data_mismatch == pytest.approx(0.02)
    assert g.dev_overfitting == pytest.approx(0.0)
    assert g.largest in ("avoidable_bias", "variance")  # a tie (3 points each), broken by float rounding
    assert g.advice == advice_for(g.largest) and g.advice


def test_no_largest_gap_when_no_gap_is_positive():
    g = decompose(train=0.50, dev=0.0)
    assert g.variance == pytest.approx(-0.5)
    assert g.largest is None and g.advice == ()


def test_largest_gap_and_its_advice():
    g = decompose(human=0.01, train=0.02, train_dev=0.03, dev=0.10, test=0.11)
    assert g.largest == "data_mismatch"
    assert g.advice == advice_for("data_mismatch")
    assert any("like dev" in tip for tip in g.advice)


def test_missing_human_error_leaves_avoidable_bias_unknown():
    g = decompose(train=0.07, train_dev=0.10, dev=0.12, test=0.13)
    assert g.avoidable_bias is None
    assert g.variance == pytest.approx(0.03)


def test_without_train_dev_variance_spans_dev_and_mismatch_is_unknown():
    g = decompose(human=0.01, train=0.05, dev=0.15)
    assert g.variance == pytest.approx(0.10)
    assert g.data_mismatch is None and g.dev_overfitting is None
    assert g.largest == "variance"


def test_nothing_known():
    g = decompose()
    assert g.known == {} and g.largest is None and g.advice == ()


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_error_outside_0_1_is_refused(bad):
    with pytest.raises(ErrorscopeError, match="fraction between 0 and 1"):
        decompose(train=bad)


def test_from_a_file_of_all_splits(write):
    rows = ["split,y_true,y_pred"]
    # train 1/10 wrong, train_dev 2/10, dev 4/10, test 5/10
    for split, wrong in [("train", 1), ("train-dev", 2), ("val", 4), ("test", 5)]:
        rows += [f"{split},a,{'b' if i < wrong else 'a'}" for i in range(10)]
    preds = load_predictions(write("p.csv", "\n".join(rows) + "\n"))
    g = gaps_from_counts(preds.counts, human=0.05)
    assert (g.train, g.train_dev, g.dev, g.test) == pytest.approx((0.1, 0.2, 0.4, 0.5))
    assert (g.avoidable_bias, g.variance, g.data_mismatch, g.dev_overfitting) == pytest.approx((0.05, 0.1, 0.2, 0.1))
    assert g.largest == "data_mismatch"


def test_each_gap_spans_the_errors_it_was_computed_from():
    full = decompose(human=0.01, train=0.02, train_dev=0.03, dev=0.10, test=0.11)
    assert [full.span(n) for n in ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting")] == \
        [("human", "train"), ("train", "train_dev"), ("train_dev", "dev"), ("dev", "test")]
    no_train_dev = decompose(train=0.02, dev=0.10)
    assert no_train_dev.span("variance") == ("train", "dev")
    assert no_train_dev.variance == pytest.approx(0.08)
