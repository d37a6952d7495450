"""Tallies: shares of the reviewed mistakes per category, their Wilson intervals and ceilings."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import ErrorscopeError, load_predictions
from analysis.review import review_sample
from analysis.tallies import CategoryTally, tallies_side_by_side, tally, tally_splits, wilson_interval

# dev: 7 labeled, 4 mistakes (a1, a3, a5, a6), a7 unlabeled; test: 2 labeled, 1 mistake (a8)
PREDICTIONS = """id,split,y_true,y_pred
a1,dev,cat,dog
a2,dev,cat,cat
a3,dev,dog,cat
a4,dev,dog,dog
a5,dev,bird,cat
a6,dev,cat,dog
a7,dev,,cat
a8,test,cat,dog
a9,test,dog,dog
a10,dev,bird,bird
"""


@pytest.fixture
def preds(write):
    return load_predictions(write("p.csv", PREDICTIONS))


@pytest.fixture
def tagged(store):
    for name in ("dark", "blurry", "occluded"):
        store.add_category("pets", name)
    store.edit("pets", "a1", categories={"blurry": True, "dark": True})     # a mistake with two causes
    store.edit("pets", "a3", categories={"blurry": True}, mislabeled=True)
    store.edit("pets", "a5", reviewed=True)                                # reviewed, no cause found yet
    store.edit("pets", "a6", categories={"dark": True}, reviewed=False)    # not reviewed: left out
    store.edit("pets", "a2", mislabeled=True)                              # a correct prediction, mislabeled
    store.edit("pets", "a4", reviewed=True)
    store.edit("pets", "a8", categories={"occluded": True})                # test split
    store.edit("pets", "zz", categories={"blurry": True})                  # not in the file: left out
    return store


# --- the Wilson interval -----------------------------------------------------------------------------------


@pytest.mark.parametrize("k,n,low,high", [
    (10, 100, 0.0552, 0.1744),
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I, method 3
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (2, 3, 0.2077, 0.9385),
])
def test_wilson_interval_known_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(5, 5)
    assert high == 1.0 and low == pytest.approx(0.5655, abs=5e-5)
    narrower = wilson_interval(10, 100, z=1.0)
    assert narrower[0] > 0.0552 and narrower[1] < 0.1744
    for bad in [(3, 2), (-1, 5), (1.5, 3)]:
        with pytest.raises(ValueError):
            wilson_interval(*bad)


# --- tallies ------------------------------------------------------------------------------------------------


def test_tallies_by_hand(preds, tagged):
    result = tally(preds, tagged, "pets")
    assert (result.split, result.errors, result.reviewed_errors) == ("dev", 4, 3)
    assert result.error_rate == pytest.approx(4 / 7)
    assert [(c.category, c.count) for c in result.categories] == [("blurry", 2), ("dark", 1), ("occluded", 0)]
    blurry, dark, occluded = result.categories
    assert blurry == CategoryTally("blurry", 2, 2 / 3, *wilson_interval(2, 3), ceiling=pytest.approx(8 / 21))
    assert (blurry.share_low, blurry.share_high) == pytest.approx((0.2077, 0.9385), abs=5e-5)
    assert dark.share == pytest.approx(1 / 3) and dark.ceiling == pytest.approx(4 / 21)
    assert occluded.share == 0.0 and occluded.ceiling == 0.0 and occluded.share_high > 0.5
    assert result.mislabeled == CategoryTally("mislabeled", 1, 1 / 3, *wilson_interval(1, 3),
                                              ceiling=pytest.approx(4 / 21))
    assert (result.reviewed_correct, result.mislabeled_among_correct) == (2, 1)
    # a5 is reviewed with no category and a right label: no category explains it
    assert result.unexplained == CategoryTally("unexplained", 1, 1 / 3, *wilson_interval(1, 3),
                                               ceiling=pytest.approx(4 / 21))
    assert result.to_frame()["category"].tolist() == ["blurry", "dark", "occluded", "mislabeled", "unexplained"]


def test_unexplained_without_categories_counts_every_reviewed_mistake_not_mislabeled(preds, store):
    store.edit("pets", "a1", reviewed=True)
    store.edit("pets", "a3", mislabeled=True)
    result = tally(preds, store, "pets")
    assert (result.reviewed_errors, result.unexplained.count, result.mislabeled.count) == (2, 1, 1)


def test_tallies_of_another_split_and_aliases(preds, tagged):
    test = tally(preds, tagged, "pets", split="test")
    assert (test.errors, test.error_rate, test.reviewed_errors) == (1, 0.5, 1)
    assert [(c.category, c.count, c.share, c.ceiling) for c in test.categories] == [
        ("occluded", 1, 1.0, 0.5), ("blurry", 0, 0.0, 0.0), ("dark", 0, 0.0, 0.0)]
    assert (test.reviewed_correct, test.mislabeled.count) == (0, 0)
    assert tally(preds, tagged, "pets", split="val") == tally(preds, tagged, "pets")
    assert tally_splits(preds, tagged, "pets", ["val", "test"]) == [tally(preds, tagged, "pets"), test]


def test_nothing_reviewed_gives_zero_shares(preds, store):
    store.add_category("pets", "blurry")
    result = tally(preds, store, "pets")
    assert (result.errors, result.reviewed_errors) == (4, 0)
    assert result.categories == [CategoryTally("blurry", 0, 0.0, 0.0, 1.0, 0.0)]
    assert result.mislabeled == CategoryTally("mislabeled", 0, 0.0, 0.0, 1.0, 0.0)
    assert tally(preds, store, "unknown dataset").categories == []


def test_ties_sort_by_name(preds, store):
    for name in ("zeta", "Alpha", "beta"):
        store.add_category("pets", name)
    store.edit("pets", "a1", categories={"zeta": True, "Alpha": True, "beta": True})
    assert [c.category for c in tally(preds, store, "pets").categories] == ["Alpha", "beta", "zeta"]


def test_to_dict_has_the_json_shape(preds, tagged):
    data = tally(preds, tagged, "pets").to_dict()
    assert list(data) == ["split", "errors", "error_rate", "reviewed_errors", "categories", "mislabeled",
                          "reviewed_correct", "mislabeled_among_correct", "unexplained"]
    assert data["categories"][0] == {"category": "blurry", "count": 2, "share": pytest.approx(2 / 3),
                                     "share_low": pytest.approx(0.2077, abs=5e-5),
                                     "share_high": pytest.approx(0.9385, abs=5e-5),
                                     "ceiling": pytest.approx(8 / 21)}
    assert set(data["mislabeled"]) == {"count", "share", "share_low", "share_high", "ceiling"}
    assert data["mislabeled"]["count"] == 1


def test_side_by_side(preds, tagged):
    table = tallies_side_by_side(preds, tagged, "pets")
    assert table.index.tolist() == ["blurry", "dark", "occluded", "mislabeled", "unexplained"]
    assert table["dev_count"].tolist() == [2, 1, 0, 1, 1]
    assert table["test_count"].tolist() == [0, 0, 1, 0, 0]
    assert table["test_ceiling"].tolist() == [0.0, 0.0, 0.5, 0.0, 0.0]
    assert table.loc["blurry", "dev_share"] == pytest.approx(2 / 3)
    assert table.attrs["reviewed_errors"] == {"dev": 3, "test": 1}
    only_dev = tallies_side_by_side(preds, tagged, "pets", splits=("dev", "train"))  # no train: left out
    assert [c for c in only_dev.columns if c.endswith("_count")] == ["dev_count"]
    with pytest.raises(ErrorscopeError, match="none of the splits train is in the file"):
        tallies_side_by_side(preds, tagged, "pets", splits=("train",))
    with pytest.raises(ErrorscopeError, match="unknown split 'holdout'"):
        tallies_side_by_side(preds, tagged, "pets", splits=("dev", "holdout"))


def test_unknown_split_is_refused(preds, tagged):
    with pytest.raises(ErrorscopeError, match="no split 'train'; the file has dev, test"):
        tally(preds, tagged, "pets", split="train")


def test_tallies_on_the_demo_data_match_pandas(demo_path, demo_config, store):
    """Tag the first 20 mistakes and 5 correct ones of a review sample; count the same with pandas."""
    preds = load_predictions(demo_path)
    dataset = demo_config["dataset"]
    for name in ("thick", "noisy", "faint"):
        store.add_category(dataset, name)
    sample = review_sample(preds, n=20, correct=5)
    for i, row in enumerate(sample.itertuples()):
        store.edit(dataset, row.id, categories={"thick": row.stroke == "thick", "noisy": row.noise > 0.05,
                                                "faint": False}, mislabeled=i % 4 == 0)
    result = tally(preds, store, dataset)

    frame = pd.read_csv(demo_path, dtype={"id": str, "y_true": str, "y_pred": str})
    dev = frame[frame["split"] == "dev"]
    tags = store.tags(dataset).merge(frame[["id", "split", "y_true", "y_pred"]], on="id")
    wrong = tags[(tags["split"] == "dev") & (tags["y_true"] != tags["y_pred"])]
    right = tags[(tags["split"] == "dev") & (tags["y_true"] == tags["y_pred"])]
    error_rate = (dev["y_true"] != dev["y_pred"]).mean()
    assert (result.errors, result.reviewed_errors, result.reviewed_correct) == (
        int((dev["y_true"] != dev["y_pred"]).sum()), 20, 5)
    assert result.error_rate == pytest.approx(error_rate)
    expected = {name: int(wrong[name].sum()) for name in ("thick", "noisy", "faint")}
    assert {c.category: c.count for c in result.categories} == expected
    assert [c.count for c in result.categories] == sorted(expected.values(), reverse=True)
    for c in result.categories:
        assert c.share == pytest.approx(expected[c.category] / 20)
        assert c.ceiling == pytest.approx(expected[c.category] / 20 * error_rate)
        assert (c.share_low, c.share_high) == wilson_interval(expected[c.category], 20)
    assert result.mislabeled.count == int(wrong["mislabeled"].sum())
    assert result.mislabeled_among_correct == int(right["mislabeled"].sum())
