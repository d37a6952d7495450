"""Review samples of mistakes drawn without a pass over the file: from the rows the open of a CSV keeps, or from a
filtered read of a Parquet file. Each must equal the sample drawn from the split's rows read from the file."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis.engine.duckdb as duckdb_engine
from analysis import load_predictions
from analysis.review import count_mistakes, examples, review_sample, split_mistakes, split_rows

OPTIONS = [{}, {"seed": 7, "n": 30}, {"stratify": True, "n": 25}, {"true_class": 0}, {"pred_class": -1},
           {"exclude_ids": "half"}]


def check_samples(preds, split: str, options_list=OPTIONS) -> None:
    """Every kind of sample of mistakes equals the one drawn from the split's rows (the file read through the view)."""
    rows = split_rows(preds, split)
    mistakes = rows.loc[rows["y_true"] != rows["y_pred"], "id"].tolist()
    for options in options_list:
        options = dict(options)
        for role in ("true_class", "pred_class"):
            if role in options:
                options[role] = preds.classes[options[role]]
        if options.get("exclude_ids") == "half":
            options["exclude_ids"] = mistakes[::2]
        got = review_sample(preds, split=split, **options)
        expected = review_sample(preds, split=split, rows=rows, **options)
        assert len(got), options
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=str(options))
    # the kept rows hold every mistake of the split and nothing else, each as the file's view has it
    kept = split_mistakes(preds, split).sort_values("row").reset_index(drop=True)
    wrong = rows[rows["y_true"] != rows["y_pred"]].sort_values("row").reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, wrong, check_dtype=False)
    assert len(kept) == count_mistakes(preds, split)


@pytest.mark.parametrize("name", ["mnist_path", "imdb_path"])
def test_a_csv_keeps_its_mistakes_and_samples_them_as_the_file_does(name, request):
    path = request.getfixturevalue(name)
    assert load_predictions(path).mistakes is None  # kept only when asked (the app asks)
    preds = load_predictions(path, keep_mistakes=True)
    assert preds.mistakes is not None and 0 < preds.mistakes.num_rows < preds.rows
    check_samples(preds, preds.splits[0])


def test_parquet_samples_its_mistakes_from_a_filtered_read(adult_path):
    preds = load_predictions(adult_path, keep_mistakes=True)
    assert preds.mistakes is None  # nothing kept: the mistakes are read with a filter when a sample asks
    check_samples(preds, "test")


def test_labels_written_apart_that_normalize_alike_are_no_mistakes(write):
    rows = ["1,dev,1,1.0", "2,dev, cat,cat", "3,dev,cat,dog", "4,dev,,dog", "6,DEV,2,3",
            "7,val,TRUE,1", "8,dev,x,y", "9,test,cat,dog"]
    preds = load_predictions(write("mixed.csv", "id,split,y_true,y_pred\n" + "\n".join(rows) + "\n"),
                             keep_mistakes=True)
    sample = review_sample(preds, split="dev", n=100)
    assert sorted(sample["id"]) == ["3", "6", "8"]
    pd.testing.assert_frame_equal(sample, review_sample(preds, split="dev", n=100, rows=split_rows(preds, "dev")))


def test_predictions_from_probabilities_and_no_id_column(write):
    text = ("split,y_true,p_cat,p_dog\n" + "dev,cat,0.9,0.1\ndev,cat,0.2,0.8\ndev,dog,0.6,0.4\ndev,dog,0.3,0.7\n"
            "test,dog,0.5,0.5\n")
    preds = load_predictions(write("probs.csv", text), keep_mistakes=True)
    assert preds.mistakes is not None
    sample = review_sample(preds, split="dev")
    assert sorted(sample["id"]) == ["1", "2"] and sorted(sample["row"]) == [2, 3]  # ids: the 0-based row numbers
    assert sample.set_index("id").loc["1", "confidence"] == pytest.approx(0.8)
    pd.testing.assert_frame_equal(sample, review_sample(preds, split="dev", rows=split_rows(preds, "dev")))
    assert review_sample(preds, split="test")["id"].tolist() == ["4"]  # a tie goes to the first class, cat


def test_a_csv_too_large_to_keep_samples_from_the_file(mnist_path, monkeypatch):
    monkeypatch.setattr(duckdb_engine, "KEEP_MAX_ROWS", 100)
    preds = load_predictions(mnist_path, keep_mistakes=True)
    assert preds.mistakes is None
    check_samples(preds, preds.splits[0], OPTIONS[:2])


def test_the_rows_of_an_off_diagonal_cell_come_from_the_kept_mistakes(mnist_path):
    preds = load_predictions(mnist_path, keep_mistakes=True)
    rows = split_rows(preds, preds.splits[0])
    wrong = rows[rows["y_true"] != rows["y_pred"]]
    true, pred = wrong.groupby(["y_true", "y_pred"]).size().idxmax()  # the largest cell off the diagonal
    cell = examples(preds, split=preds.splits[0], true_class=true, pred_class=pred, limit=1000)
    expected = wrong[(wrong["y_true"] == true) & (wrong["y_pred"] == pred)].sort_values(
        ["confidence", "row"], ascending=[False, True])
    assert cell["row"].tolist() == expected["row"].tolist() and len(cell) > 1
