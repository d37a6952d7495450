"""Likely label errors against cleanlab, the reference, on the real benchmark files and the demo; the fixes applied."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cleanlab.count import num_label_issues
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.metrics import accuracy_score

from analysis import ErrorscopeError, load_predictions
from analysis.fixes import corrected_counts, fixes_explained
from analysis.label_issues import DEFAULT_METHOD, METHODS, label_issues, split_label_issues
from analysis.metrics import accuracy
from tests.test_cli import run

SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


def _arrays(path, split: str | None = None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The labeled rows (of one split) as cleanlab takes them: class indexes in p_* order, probabilities in [0, 1]."""
    frame = pd.read_csv(path, dtype={"id": str, "y_true": str, "y_pred": str})
    if split is not None:
        frame = frame[frame["split"] == split]
    frame = frame[frame["y_true"].notna()].reset_index(drop=True)
    columns = [c for c in frame.columns if c.startswith("p_")]
    labels = frame["y_true"].map({c[2:]: i for i, c in enumerate(columns)}).to_numpy()
    return frame, labels, np.clip(frame[columns].to_numpy(float), 0, 1)


def _check_against_cleanlab(preds, frame: pd.DataFrame, labels: np.ndarray, probs: np.ndarray, split: str) -> None:
    classes = np.array([c for c, _ in preds.source.probs], dtype=object)
    flags = find_label_issues(labels, probs)
    for method in SCORES:
        found = label_issues(preds, split=split, method=method)
        assert found.flagged == int(flags.sum())
        assert found.estimated_errors == num_label_issues(labels, probs, estimation_method="off_diagonal_calibrated")
        issues = found.issues.set_index("id").loc[frame["id"]]
        expected = get_label_quality_scores(labels, probs, method=method)
        np.testing.assert_allclose(issues["score"].to_numpy(float), expected, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(issues["flagged"].to_numpy(bool), flags)
        np.testing.assert_array_equal(issues["suggested"].to_numpy(object), classes[probs.argmax(axis=1)])
        assert (issues["given"] == frame.set_index("id")["y_true"]).all()
        assert found.issues["rank"].tolist() == list(range(1, len(frame) + 1))


@pytest.mark.parametrize("name", ["mnist", "imdb"])
def test_scores_flags_and_estimate_equal_cleanlab(name, request):
    path = request.getfixturevalue(f"{name}_path")
    frame, labels, probs = _arrays(path)
    _check_against_cleanlab(load_predictions(path), frame, labels, probs, "dev")


def test_a_parquet_copy_gives_the_same(mnist_path, tmp_path):
    frame, labels, probs = _arrays(mnist_path)
    copy = tmp_path / "mnist.parquet"
    pq.write_table(pa.Table.from_pandas(pd.read_csv(mnist_path, dtype={"id": str, "y_true": str, "y_pred": str}),
                                        preserve_index=False), copy)
    _check_against_cleanlab(load_predictions(copy), frame, labels, probs, "dev")


def test_each_split_of_the_demo_against_cleanlab_on_its_rows(demo_path):
    preds = load_predictions(demo_path)
    for split in preds.splits:
        frame, labels, probs = _arrays(demo_path, split)
        _check_against_cleanlab(preds, frame, labels, probs, split)


def test_pairs_come_from_the_calibrated_joint(mnist_path):
    from cleanlab.count import compute_confident_joint

    frame, labels, probs = _arrays(mnist_path)
    joint = compute_confident_joint(labels, probs)
    pairs = label_issues(load_predictions(mnist_path)).pairs
    expected = {(str(g), str(t)): int(joint[g, t]) for g in range(10) for t in range(10) if g != t and joint[g, t]}
    assert dict(zip(zip(pairs["given"], pairs["suggested"], strict=True), pairs["estimated"], strict=True)) == expected
    assert pairs["estimated"].is_monotonic_decreasing


def test_ranking_top_and_include_correct(mnist_path):
    preds = load_predictions(mnist_path)
    full = label_issues(preds, method="flag_then_margin")
    head = label_issues(preds, method="flag_then_margin", top=30)
    pd.testing.assert_frame_equal(head.issues, full.issues.head(30))
    flagged = full.issues["flagged"]
    assert flagged.iloc[:full.flagged].all() and not flagged.iloc[full.flagged:].any()
    assert full.issues["score"].iloc[:full.flagged].is_monotonic_increasing
    wrong = label_issues(preds, method="self_confidence", include_correct=False, top=50).issues
    assert (wrong["given"] != wrong["y_pred"]).all() and wrong["score"].is_monotonic_increasing
    assert wrong["rank"].tolist() == list(range(1, 51))
    columns = ["row", "id", "split", "y_true", "y_pred", "weight", "confidence", "p_given", "text", "image"]
    assert list(head.issues.columns) == [*columns, "given", "suggested", "score", "flagged", "rank"]
    assert DEFAULT_METHOD in METHODS


def test_flagged_rows_ranked_alone_when_they_fill_the_top(mnist_path):
    """A flag-first method ranks the flagged rows alone when they fill the top: the same head as the whole
    ranking's, at and around the flagged count."""
    preds = load_predictions(mnist_path)
    for method in ("flag_then_margin", "flag_then_self_confidence"):
        full = label_issues(preds, method=method)
        assert full.flagged == 15
        for top in (10, 15, 16):
            head = label_issues(preds, method=method, top=top)
            assert head.flagged == full.flagged
            pd.testing.assert_frame_equal(head.issues, full.issues.head(top))
        assert label_issues(preds, method=method, top=16).issues["flagged"].tolist() == [True] * 15 + [False]


def test_bad_inputs_are_clear_errors(write, mnist_path):
    no_probs = load_predictions(write("p.csv", "id,y_true,y_pred\n1,a,a\n2,b,a\n"))
    with pytest.raises(ErrorscopeError, match="label issues need p_<class> probability columns"):
        label_issues(no_probs)
    preds = load_predictions(mnist_path)
    with pytest.raises(ErrorscopeError, match="no split 'test'"):
        label_issues(preds, split="test")
    with pytest.raises(ErrorscopeError, match="unknown method 'loss'"):
        label_issues(preds, method="loss")
    for top in (0, -3, 2.5, True):
        with pytest.raises(ErrorscopeError, match="top must be a whole number >= 1"):
            label_issues(preds, top=top)


def _tag_the_flips(store, demo_path) -> pd.DataFrame:
    flips = pd.read_csv(demo_path.parent / "mislabeled.csv", dtype=str)
    store.merge("digits", [{"id": i, "mislabeled": True, "corrected_label": t}
                           for i, t in zip(flips["id"], flips["true_label"], strict=True)])
    store.edit("digits", "d0001", note="looked at, fine")  # reviewed, not mislabeled: no change
    return flips


def test_corrected_counts_equal_sklearn_with_the_fixes(store, demo_path):
    flips = _tag_the_flips(store, demo_path)
    preds = load_predictions(demo_path)
    fixed = corrected_counts(preds, store, "digits")
    frame = pd.read_csv(demo_path, dtype={"id": str, "y_true": str, "y_pred": str})
    frame["fixed"] = frame["id"].map(dict(zip(flips["id"], flips["true_label"], strict=True))).fillna(frame["y_true"])
    assert fixed.rows == preds.rows
    for split, rows in frame.groupby("split"):
        assert accuracy(fixed.where(split=split)) == pytest.approx(accuracy_score(rows["fixed"], rows["y_pred"]))
    table = fixes_explained(preds, store, "digits").set_index("split")
    for split, rows in frame.groupby("split"):
        flipped = rows[rows["id"].isin(flips["id"])]
        errors = int((rows["y_true"] != rows["y_pred"]).sum())
        assert table.loc[split, "errors"] == errors
        assert table.loc[split, "confirmed_label_errors"] == int((flipped["y_true"] != flipped["y_pred"]).sum())
        assert table.loc[split, "explained"] == pytest.approx(table.loc[split, "confirmed_label_errors"] / errors)
        labeled = int(rows["y_true"].notna().sum())
        assert table.loc[split, "noise_floor"] == pytest.approx(table.loc[split, "confirmed_label_errors"] / labeled)
        assert table.loc[split, "accuracy"] == pytest.approx(accuracy_score(rows["y_true"], rows["y_pred"]))
        assert table.loc[split, "corrected_accuracy"] == pytest.approx(accuracy_score(rows["fixed"], rows["y_pred"]))
        assert table.loc[split, "corrected_error_rate"] == pytest.approx(1 - table.loc[split, "corrected_accuracy"])


def test_a_corrected_label_outside_the_classes_joins_them(store, write):
    preds = load_predictions(write("p.csv", "id,y_true,y_pred\n1,a,a\n2,b,a\n3,a,b\n"))
    store.edit("t", "2", mislabeled=True, corrected_label="c")
    store.edit("t", "3", mislabeled=True)  # no corrected label: the given one stays
    fixed = corrected_counts(preds, store, "t")
    assert fixed.classes == ("a", "b", "c")
    assert fixed.matrix().tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 0]]


def test_command_line_json_csv_and_text(mnist_path):
    out = json.loads(run("label-issues", mnist_path, "--top", "5", "--json").stdout)
    api = label_issues(load_predictions(mnist_path), top=5)
    assert (out["split"], out["method"], out["flagged"], out["estimated_errors"]) == (
        "dev", DEFAULT_METHOD, api.flagged, api.estimated_errors)
    assert [i["id"] for i in out["issues"]] == api.issues["id"].tolist()
    assert set(out["issues"][0]) == {"id", "given", "suggested", "score", "flagged"}
    csv = run("label-issues", mnist_path, "--method", "self_confidence", "--top", "3", "--csv").stdout
    assert csv.splitlines()[0] == "rank,id,given,suggested,score,flagged" and len(csv.splitlines()) == 4
    text = run("label-issues", mnist_path, "--split", "validation", "--top", "2").stdout
    assert "flagged by confident learning" in text and api.issues["id"].iloc[0] in text


def test_command_line_csv_neutralizes_formulas(write):
    path = write("p.csv", "id,y_true,p_a,p_b\n=1+2,a,0.1,0.9\n2,b,0.2,0.8\n3,a,0.9,0.1\n")
    assert "'=1+2" in run("label-issues", path, "--csv").stdout


@pytest.mark.parametrize("args", [["--top", "0"], ["--method", "loss"], ["--split", "test"], ["--split", "nope"]])
def test_command_line_bad_input_exits_2_with_one_error_line(mnist_path, args):
    proc = run("label-issues", mnist_path, *args, ok=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and len(proc.stderr.splitlines()) == 1


def test_command_line_without_probabilities(write):
    proc = run("label-issues", write("p.csv", "id,y_true,y_pred\n1,a,a\n"), ok=False)
    assert proc.returncode == 2 and "label issues need p_<class> probability columns" in proc.stderr


def test_each_split_of_a_parquet_file_with_split_aliases(demo_path, tmp_path):
    frame = pd.read_csv(demo_path, dtype={"id": str, "y_true": str, "y_pred": str})
    frame["split"] = frame["split"].replace({"dev": " Val", "train_dev": "train-dev"})
    copy = tmp_path / "demo.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), copy)
    preds = load_predictions(copy)
    for split in preds.splits:
        rows, labels, probs = _arrays(demo_path, split)
        _check_against_cleanlab(preds, rows, labels, probs, split)


def test_reading_the_split_alone_gives_what_the_whole_load_gives(mnist_path, demo_path, tmp_path):
    copy = tmp_path / "copy.parquet"
    pq.write_table(pa.Table.from_pandas(pd.read_csv(demo_path, dtype={"id": str, "y_true": str, "y_pred": str}),
                                        preserve_index=False), copy)
    for file in (mnist_path, demo_path, copy):
        preds = load_predictions(file)
        for split in preds.splits:
            whole, alone = label_issues(preds, split=split), split_label_issues(file, split=split)
            assert (alone.split, alone.flagged, alone.estimated_errors, alone.estimated_pairs) == (
                whole.split, whole.flagged, whole.estimated_errors, whole.estimated_pairs)
            assert alone.ranked == whole.ranked


def test_probabilities_within_bounds_give_what_clipped_ones_give(mnist_path, imdb_path, tmp_path):
    """Only the probability columns whose bounds, as the load found them, cross [0, 1] are clipped (MNIST's lie
    within; IMDB's reach 1.00001): the split read alone (its own bounds) and the file read where it lies (the
    file's, from the Parquet statistics) must rank alike, and the bounds are the columns' own."""
    for file in (mnist_path, imdb_path):
        frame = pd.read_csv(file, dtype={"id": str, "y_true": str, "y_pred": str})
        copy = tmp_path / f"{file.stem}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), copy)
        preds = load_predictions(copy)
        columns = [c for _, c in preds.source.probs]
        assert preds.bounds == tuple(zip(frame[columns].min(), frame[columns].max(), strict=True))
        whole, alone = label_issues(preds, method="self_confidence"), split_label_issues(
            copy, method="self_confidence")
        assert (alone.flagged, alone.estimated_pairs, alone.ranked) == (whole.flagged, whole.estimated_pairs,
                                                                       whole.ranked)
    probs = frame[[c for c in frame.columns if c.startswith("p_")]].to_numpy(float)
    assert probs.max() > 1  # IMDB's, clipped on both paths


def _two_splits(rows: int = 80, seed: int = 0) -> pd.DataFrame:
    """A small file of three classes whose train and dev rows alternate, with noisy out-of-sample probabilities."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(3) * 0.7, rows)
    given = np.where(rng.random(rows) < 0.2, rng.integers(0, 3, rows), probs.argmax(axis=1))
    frame = pd.DataFrame({"id": [f"e{i}" for i in range(rows)], "split": ["train", "dev"] * (rows // 2),
                          "y_true": np.array(["a", "b", "c"])[given]})
    for j, c in enumerate("abc"):
        frame[f"p_{c}"] = probs[:, j].round(6)
    return frame


def _save(frame: pd.DataFrame, path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


BAD = {"a probability above 1": ("p_a", 1.7), "a class without probability": ("y_true", "z"),
       "a negative probability": ("p_b", -0.5)}
CASES = [("a probability above 1", ".csv"), ("a class without probability", ".parquet"),
         ("a negative probability", ".csv")]


@pytest.mark.parametrize(("bad", "suffix"), CASES)
def test_a_bad_row_in_another_split_is_not_the_concern_of_label_issues(tmp_path, suffix, bad):
    clean, broken = _two_splits(), _two_splits()
    column, value = BAD[bad]
    broken[column] = broken[column].astype(object)
    broken.loc[10, column] = value  # a train row
    _save(clean, tmp_path / f"clean{suffix}")
    _save(broken, tmp_path / f"broken{suffix}")
    assert run("summary", tmp_path / f"broken{suffix}", ok=False).returncode == 2
    found = run("label-issues", tmp_path / f"broken{suffix}", "--top", "15", "--json").stdout
    assert found == run("label-issues", tmp_path / f"clean{suffix}", "--top", "15", "--json").stdout
    assert json.loads(found)["issues"]


@pytest.mark.parametrize(("bad", "suffix"), [*CASES, ("a probability above 1", ".parquet")])
def test_a_bad_row_in_the_split_gives_the_error_of_summary(tmp_path, suffix, bad):
    frame = _two_splits()
    column, value = BAD[bad]
    frame[column] = frame[column].astype(object)
    frame.loc[41, column] = value  # a dev row: its 21st, the file's 42nd (line 43 of a CSV)
    _save(frame, path := tmp_path / f"bad{suffix}")
    summary, ranked = run("summary", path, ok=False), run("label-issues", path, "--split", "dev", ok=False)
    assert ranked.returncode == summary.returncode == 2
    assert ranked.stderr == summary.stderr and len(ranked.stderr.splitlines()) == 1
    assert ("line 43" if suffix == ".csv" else "row 42") in ranked.stderr


WRITTEN = {  # each of the classes "1", "2", "3" written two ways, and two ways of leaving a label blank
    "text": ([["1", "+1"], [" 2", "02"], ["3.0", "3"]], ["", None]),
    "int": ([[1, 1], [2, 2], [3, 3]], [None, None]),
    "float": ([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], [float("nan"), None]),
}


@pytest.mark.parametrize(("form", "suffix"), [("text", ".parquet"), ("text", ".csv"), ("int", ".parquet"),
                                              ("float", ".parquet"), ("int", ".csv")])
def test_labels_written_in_any_form_find_their_class(tmp_path, form, suffix):
    """Each row's class, as :func:`class_index_sql` computes it (a label written as its class is named matched as
    written, the others normalized), is the class the loader gives it; and the split's copy (which matches labels
    written as their class is named on its own, and updates the others after) ranks alike, with or without the
    correct predictions."""
    from analysis.engine import open_engine
    from analysis.load import open_source
    from analysis.normalize import label_text
    from analysis.view import class_index_sql

    frame = _two_splits(rows=160).rename(columns={"p_a": "p_1", "p_b": "p_2", "p_c": "p_3"})
    spellings, blanks = WRITTEN[form]
    given = frame["y_true"].map({"a": 0, "b": 1, "c": 2})
    frame["y_true"] = pd.Series([blanks[i % 2] if i % 9 == 0 else spellings[g][i % 2] for i, g in enumerate(given)],
                                dtype=object)  # every ninth row unlabeled
    _save(frame, path := tmp_path / f"labels{suffix}")
    with open_engine("duckdb") as engine:
        source = open_source(engine, path)
        found = engine.fetch(f"SELECT __row, {class_index_sql(source, 'y_true')} AS i FROM {engine.table(source)} "
                             "ORDER BY __row")["i"]
    expected = [None if label_text(v) is None else ["1", "2", "3"].index(label_text(v)) for v in frame["y_true"]]
    assert found == expected and None in found and len(set(found)) == 4
    dev = frame[(frame["split"] == "dev") & frame["y_true"].map(label_text).notna()]
    labels = dev["y_true"].map(lambda v: int(label_text(v)) - 1).to_numpy()
    flags = find_label_issues(labels, dev[["p_1", "p_2", "p_3"]].to_numpy(float))
    whole, alone = label_issues(load_predictions(path)), split_label_issues(path)
    assert alone.ranked == whole.ranked and alone.flagged == whole.flagged == int(flags.sum()) > 0
    assert sorted(alone.issues["id"][alone.issues["flagged"]]) == sorted(dev["id"][flags])
    wrong = split_label_issues(path, include_correct=False)
    assert wrong.ranked == label_issues(load_predictions(path), include_correct=False).ranked
    assert 0 < len(wrong.ranked["id"]) < len(alone.ranked["id"])
