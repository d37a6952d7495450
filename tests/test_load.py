"""The loader: the input format, and a clear error for each bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import InputError, load_predictions, measure
from analysis.cli import main

GOOD = "id,y_true,y_pred\n1,a,a\n2,b,a\n"


def refused(path, *patterns):
    with pytest.raises(InputError) as info:
        load_predictions(path)
    message = str(info.value)
    assert str(path) in message
    for pattern in patterns:
        assert pattern in message, message
    return message


# --- what the format accepts --------------------------------------------------------------------------------


def test_aliases_are_case_insensitive(write):
    preds = load_predictions(write("p.csv", "ID,Label,Prediction,Split\n1,a,a,TRAIN\n2,b,a,Validation\n"))
    cm = preds.columns
    assert (cm.id, cm.y_true, cm.y_pred, cm.split) == ("ID", "Label", "Prediction", "Split")
    assert preds.splits == ("train", "dev")


@pytest.mark.parametrize("spelling,canonical", [("train-dev", "train_dev"), ("traindev", "train_dev"),
                                                ("val", "dev"), ("valid", "dev"), ("validation", "dev"),
                                                (" Test ", "test")])
def test_split_aliases(write, spelling, canonical):
    preds = load_predictions(write("p.csv", f"y_true,y_pred,split\na,a,{spelling}\n"))
    assert preds.splits == (canonical,)
    assert preds.query("SELECT DISTINCT split FROM preds")["split"].tolist() == [canonical]


def test_no_split_column_means_all_dev(write):
    assert load_predictions(write("p.csv", GOOD)).splits == ("dev",)


def test_labels_compare_as_text_so_1_and_1_0_are_one_class(write):
    # y_true is read as integers, y_pred as floats (a blank makes pandas write 1.0)
    preds = load_predictions(write("p.csv", "y_true,y_pred\n1,1.0\n2,1.0\n10,10.0\n2,2.5\n"))
    assert preds.classes == ("1", "2", "2.5", "10")
    assert measure(preds.counts.where(split="dev"))["errors"] == 2


def test_string_labels_1_0_match_integer_labels(write):
    preds = load_predictions(write("p.csv", "y_true,y_pred\n1,x1.0\n1,1.0\n"))
    assert set(preds.classes) == {"1", "x1.0"}
    assert measure(preds.counts.where(split="dev"))["errors"] == 1  # "1.0" predicted for true 1 is right


def test_prediction_is_the_argmax_of_probabilities(write):
    preds = load_predictions(write("p.csv", "y_true,p_cat,p_dog\ncat,0.9,0.1\ncat,0.2,0.8\ndog,0.3,0.7\n"))
    rows = preds.query("SELECT y_true, y_pred, confidence FROM preds ORDER BY row")
    assert rows["y_pred"].tolist() == ["cat", "dog", "dog"]
    assert rows["confidence"].tolist() == pytest.approx([0.9, 0.8, 0.7])


def test_probabilities_within_tolerance_are_accepted(write):
    # real models stray a hair: 1.00001 sums and -1e-9 values
    preds = load_predictions(write("p.csv", "y_true,y_pred,p_a,p_b\na,a,1.00001,-0.000000001\n"))
    assert preds.rows == 1


def test_unlabeled_rows(write):
    preds = load_predictions(write("p.csv", "id,y_true,y_pred\n1,a,a\n2,,b\n3,b,b\n"))
    m = measure(preds.counts.where(split="dev"))
    assert (m["rows"], m["labeled"]) == (3, 2)


def test_without_id_the_row_number_is_the_id(write):
    preds = load_predictions(write("p.csv", "y_true,y_pred\na,a\nb,a\n"))
    assert preds.query("SELECT id FROM preds ORDER BY row")["id"].tolist() == ["0", "1"]


def test_weights_and_metadata(write):
    preds = load_predictions(write("p.csv", "id,y_true,y_pred,weight,city\n1,a,b,10,Oslo\n2,a,a,1,Rome\n"))
    assert preds.counts.weighted
    assert measure(preds.counts.where(split="dev"))["weighted_error_rate"] == pytest.approx(10 / 11)
    assert preds.columns.metadata == ("city",)
    assert preds.query("SELECT city FROM preds ORDER BY row")["city"].tolist() == ["Oslo", "Rome"]


def test_parquet_gives_the_same_counts_as_csv(tmp_path, mnist_path):
    parquet = tmp_path / "mnist.parquet"
    pd.read_csv(mnist_path).to_parquet(parquet)
    a, b = load_predictions(mnist_path), load_predictions(parquet)
    assert a.classes == b.classes
    assert (a.counts.matrix() == b.counts.matrix()).all()
    assert b.format == "parquet"


def test_real_imdb_file_with_sums_of_1_00001(imdb_path):
    preds = load_predictions(imdb_path)
    assert preds.classes == ("negative", "positive")
    assert preds.rows == 25_000


# --- each bad input: a clear error naming file, column, rows and fix; nothing loaded ---------------------


def test_missing_file(tmp_path):
    refused(tmp_path / "nope.csv", "no such file")


def test_a_folder(tmp_path):
    refused(tmp_path, "is a folder")


def test_empty_file(write):
    refused(write("p.csv", ""), "empty")


def test_header_only(write):
    refused(write("p.csv", "id,y_true,y_pred\n"), "no rows")


def test_no_true_label_column(write):
    refused(write("p.csv", "id,guess\n1,a\n"), "no true-label column", "y_true")


def test_neither_prediction_nor_probabilities(write):
    refused(write("p.csv", "id,y_true\n1,a\n"), "no predictions", "y_pred", "p_<class>")


def test_non_numeric_probability(write):
    refused(write("p.csv", "y_true,p_a,p_b\na,0.5,0.5\na,high,0.5\n"), "'p_a'", "'high'", "line 3", "numbers")


def test_negative_probability(write):
    refused(write("p.csv", "y_true,p_a,p_b\na,0.5,0.5\na,-0.5,1.5\n"), "negative", "line 3", "[0, 1]")


def test_probabilities_not_summing_to_1(write):
    refused(write("p.csv", "y_true,p_a,p_b\na,0.5,0.5\na,0.9,0.9\na,3,4\n"), "above 1", "line 4")
    refused(write("q.csv", "y_true,p_a,p_b\na,0.5,0.5\na,0.9,0.9\n"), "do not sum to 1", "line 3", "logits")


def test_class_without_probability_column(write):
    refused(write("p.csv", "y_true,p_a,p_b\na,0.5,0.5\nc,0.5,0.5\n"), "'c'", "p_c", "line 3")


def test_duplicate_ids(write):
    refused(write("p.csv", "id,y_true,y_pred\n7,a,a\n8,a,a\n7,b,a\n"), "duplicate id '7'", "lines 2, 4", "unique")


def test_blank_id(write):
    refused(write("p.csv", "id,y_true,y_pred\n7,a,a\n,a,a\n"), "blank", "line 3")


def test_blank_prediction(write):
    refused(write("p.csv", "id,y_true,y_pred\n7,a,a\n8,a,\n"), "'y_pred' is blank", "line 3")


def test_unknown_split_lists_the_accepted_ones(write):
    refused(write("p.csv", "y_true,y_pred,split\na,a,dev\na,a,holdout\n"), "'holdout'", "line 3",
            "train, train_dev, dev, test")


def test_negative_weight(write):
    refused(write("p.csv", "y_true,y_pred,weight\na,a,1\na,a,-2\n"), "'weight' is negative", "line 3")


@pytest.mark.parametrize(("weights", "lines"), [
    (["1", "inf"], "line 3"), (["1", "Infinity"], "line 3"), (["1e308", "1e308"], "lines 2, 3"),
])
def test_infinite_weights_and_sums_that_overflow_are_refused(write, weights, lines):
    rows = "".join(f"a,{'ab'[i % 2]},{w}\n" for i, w in enumerate(weights))
    refused(write("p.csv", "y_true,y_pred,weight\n" + rows + "b,b,1\n"), "'weight' is infinite or so large", lines,
            "give finite weights")


@pytest.mark.parametrize(("header", "expected"), [
    ("id,y_pred,y_pred,y_true", "names the column 'y_pred' twice"),
    ("id,y_true,Y_TRUE,y_pred", "names the column 'y_true' as 'y_true' and 'Y_TRUE'"),
    ("id,y_true,y_pred,city,City", "names the column 'city' as 'city' and 'City'"),
])
def test_a_column_named_twice_is_refused(write, header, expected):
    refused(write("p.csv", header + "\n1,a,b,a" + ",x" * (header.count(",") - 3) + "\n"), expected,
            "give every column a name of its own")


def test_a_parquet_column_named_twice_in_two_cases_is_refused(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"y_true": ["a"], "Y_TRUE": ["b"], "y_pred": ["a"]}).to_parquet(path)
    refused(path, "as 'y_true' and 'Y_TRUE'")


@pytest.mark.parametrize("columns", [20_000, 100_000])
def test_an_absurdly_wide_file_is_refused_early_with_a_short_message(write, columns):
    header = "id,y_true,y_pred," + ",".join(f"m{i}" for i in range(columns - 3))
    message = refused(write("p.csv", header + "\n1,a,a" + ",0" * (columns - 3) + "\n"),
                      f"the header has {columns:,} columns, more than the 10,000 errorscope reads")
    assert len(message) < 400


def test_a_thousand_classes_stay_well_within_the_width_limit(write):
    classes = [f"c{i}" for i in range(1000)]
    header = "id,y_true," + ",".join(f"p_{c}" for c in classes)
    row = "1,c0,1" + ",0" * 999
    assert len(load_predictions(write("p.csv", f"{header}\n{row}\n")).classes) == 1000


def test_non_numeric_weight(write):
    refused(write("p.csv", "y_true,y_pred,weight\na,a,1\na,a,heavy\n"), "'weight'", "'heavy'", "line 3")


def test_corrupt_parquet(write):
    refused(write("p.parquet", b"PAR1 this is not really parquet"), "not a readable Parquet file")


def test_truncated_parquet(tmp_path, mnist_path):
    good = tmp_path / "good.parquet"
    pd.read_csv(mnist_path).to_parquet(good)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused(bad, "not a readable Parquet file")


def test_csv_row_with_extra_fields(write):
    refused(write("p.csv", "id,y_true,y_pred\n1,a,a\n2,a,a,extra\n3,b,b\n"), "line 3", "4 fields", "header has 3")


def test_csv_row_with_extra_fields_far_down(write):
    body = "".join(f"{i},a,a\n" for i in range(30_000))
    refused(write("p.csv", "id,y_true,y_pred\n" + body + "30000,a,a,extra\n"), "line 30002", "4 fields")


def test_not_utf8(write):
    refused(write("p.csv", "id,y_true,y_pred\n1,caf\xe9,a\n".encode("latin-1")), "not UTF-8")


def test_unknown_column_override(write):
    with pytest.raises(InputError, match="no column 'gold'"):
        load_predictions(write("p.csv", GOOD), columns={"y_true": "gold"})


def test_column_override(write):
    preds = load_predictions(write("p.csv", "gold,guess\na,a\nb,a\n"), columns={"y_true": "gold", "y_pred": "guess"})
    assert measure(preds.counts.where(split="dev"))["errors"] == 1


def test_an_override_takes_its_column_from_the_guessed_roles(write):
    # "label" is an alias of y_true; given as y_pred, y_true must come from "target", not "label" again
    preds = load_predictions(write("p.csv", "target,label\na,a\nb,a\n"), columns={"y_pred": "label"})
    assert (preds.columns.y_true, preds.columns.y_pred) == ("target", "label")
    assert measure(preds.counts.where(split="dev"))["errors"] == 1


def test_one_column_cannot_have_two_roles(write):
    with pytest.raises(InputError, match="'guess' cannot have two roles"):
        load_predictions(write("p.csv", "gold,guess\na,a\n"), columns={"y_true": "guess", "y_pred": "guess"})


def test_nan_and_inf_labels_sort_as_text_every_time():
    from analysis.normalize import natural_key

    labels = ["10", "nan", "2", "inf", "1", "cat"]
    assert sorted(labels, key=natural_key) == ["1", "2", "10", "cat", "inf", "nan"]
    assert sorted(reversed(labels), key=natural_key) == ["1", "2", "10", "cat", "inf", "nan"]


def test_non_numeric_value_far_down_a_numeric_column(write):
    body = "".join("a,0.5,0.5\n" for _ in range(30_000))
    refused(write("p.csv", "y_true,p_a,p_b\n" + body + "a,zz,0.5\n"), "'p_a'", "'zz'", "line 30002")


@pytest.mark.parametrize("ids", [["-3", "1", "3", "1"], ["10", "99999999999", "10", "5"], ["a", "b", "a", "c"],
                                 ["3", "1", "1", "0"], ["-2", "0", "0", "1"], ["7", "90000000", "7", "-5"]])
def test_duplicate_ids_dense_sparse_and_text(write, ids):
    body = "".join(f"{i},a,a\n" for i in ids)
    repeated = next(i for n, i in enumerate(ids) if i in ids[:n])
    refused(write("p.csv", "id,y_true,y_pred\n" + body), f"duplicate id '{repeated}'", "1 duplicate in all")
    unique = "".join(f"{i},a,a\n" for i in dict.fromkeys(ids))
    assert load_predictions(write("q.csv", "id,y_true,y_pred\n" + unique)).rows == len(set(ids))


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_repeat_among_ids_that_span_a_range_is_found(tmp_path, suffix):
    # 0..n-1 shuffled, then one id written twice in place of another: still n ids between 0 and n-1.
    rng = np.random.default_rng(5)
    ids = rng.permutation(100_000)
    frame = pd.DataFrame({"id": ids, "y_true": "a", "y_pred": "a"})
    path = tmp_path / f"p.{suffix}"
    write_frame(frame, path)
    assert load_predictions(path).rows == 100_000
    ids[70_000] = ids[123]
    write_frame(frame.assign(id=ids), path)
    where = "lines 125, 70002" if suffix == "csv" else "rows 124, 70001"
    refused(path, f"duplicate id '{ids[123]}'", "1 duplicate in all", where)


def test_repeats_that_keep_the_count_and_the_range_are_found(tmp_path):
    # The CSV scan compares the sum of the ids' hashes with that of lo..hi: k ids replaced by repeats of others
    # keep n, lo and hi, and must still be refused.
    rng = np.random.default_rng(11)
    path = tmp_path / "p.csv"
    for case in range(20):
        ids = rng.permutation(1_000) + 500
        inner = rng.choice(np.flatnonzero((ids != 500) & (ids != 1_499)), size=1 + case % 3, replace=False)
        ids[inner] = rng.choice(np.delete(ids, inner), size=len(inner))
        assert (ids.min(), ids.max(), len(ids)) == (500, 1_499, 1_000)
        pd.DataFrame({"id": ids, "y_true": "a", "y_pred": "a"}).to_csv(path, index=False)
        refused(path, "duplicate id", "make every id unique")


def write_frame(frame, path):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)


@pytest.mark.parametrize(("column", "values", "expected", "where"), [
    ("id", ["u", None, "w"], "'id' is blank", "row 2"),
    ("id", pd.array([7, None, 9], dtype="Int64"), "'id' is blank", "row 2"),
    ("id", [7, 8, 7], "duplicate id '7'", "rows 1, 3"),
    ("id", ["u", "v", "u"], "duplicate id 'u'", "rows 1, 3"),
    ("y_pred", ["a", "b", None], "'y_pred' is blank", "row 3"),
    ("weight", [1.0, -2.0, 1.0], "'weight' is negative", "row 2"),
    ("weight", [1.0, float("inf"), 1.0], "'weight' is infinite", "row 2"),
    ("split", ["dev", "test", "holdout"], "unknown split 'holdout'", "row 3"),
    ("p_a", [0.5, -0.5, 0.5], "is negative", "row 2"),
    ("p_a", [0.5, 0.9, 0.5], "do not sum to 1", "row 2"),
])
def test_bad_parquet_rows_are_named(tmp_path, column, values, expected, where):
    frame = pd.DataFrame({"id": ["u", "v", "w"], "split": "dev", "y_true": "a", "y_pred": ["a", "b", "a"],
                          "p_a": 0.5, "p_b": 0.5, "weight": 1.0})
    path = tmp_path / "p.parquet"
    frame.assign(**{column: values}).to_parquet(path)
    refused(path, expected, where)


def test_running_out_of_memory_says_so(tmp_path, monkeypatch, mnist_path):
    import analysis.engine.duckdb

    monkeypatch.setattr(analysis.engine.duckdb, "MEMORY_LIMIT", "1MB")
    parquet = tmp_path / "mnist.parquet"
    pd.read_csv(mnist_path).to_parquet(parquet, row_group_size=10_000)
    refused(parquet, "ran out of memory", "ERRORSCOPE_MEMORY_LIMIT")


def test_a_message_naming_the_columns_stays_short(write):
    header = ",".join(f"{'long_name_' * 20}{i}" for i in range(5000))
    message = refused(write("p.csv", header + "\n" + ",".join("0" * 5000) + "\n"), "no true-label column",
                      "and 4,980 more")
    assert len(message) < 2000


def test_duckdb_reads_a_file_uri_and_refuses_a_remote_one(demo_path, capsys):
    """DuckDB reads local files: a file:// URI is its path; a remote URI is refused, saying to use Spark."""
    assert load_predictions(demo_path.as_uri()).counts.rows == load_predictions(demo_path).counts.rows
    for uri in ("s3a://bucket/preds.parquet", "hdfs://namenode:8020/preds.csv"):
        with pytest.raises(InputError, match="DuckDB reads files on this machine only; read it where it lies with "
                                             "--engine spark"):
            load_predictions(uri)
        assert main(["summary", uri]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {uri}: DuckDB reads") and err.count("\n") == 1
