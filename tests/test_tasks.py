"""Multi-task files: the wide and long layouts, masked metrics against scikit-learn on Tox21, the masked loss, the
CLI's --task, and the bad inputs of the new layouts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from analysis.errors import ErrorscopeError, InputError
from analysis.load import load_predictions
from analysis.masked import ranking_scores, scores_of, summarize_tasks, task_scores
from analysis.metrics import confusion_matrix
from analysis.tasks import detect_layout, load_tasks
from tests.conftest import TOX21, _benchmark
from tests.test_cli import run


@pytest.fixture(scope="module")
def wide_path():
    return _benchmark("tox21_predictions.csv", TOX21)


@pytest.fixture(scope="module")
def wide(wide_path):
    return load_tasks(wide_path)


@pytest.fixture(scope="module")
def frame(wide_path):
    return pd.read_csv(wide_path)


@pytest.fixture(scope="module")
def summary(wide):
    return summarize_tasks(wide)


@pytest.fixture(scope="module")
def long_summary():
    return summarize_tasks(load_tasks(_benchmark("tox21_long.csv", TOX21)))


def test_layouts_by_name():
    assert detect_layout(["id", "Task", "y_true", "p_0", "p_1"]).task_column == "Task"
    wide = detect_layout(["id", "NR-AR", "p_NR-AR", "SR-HSE", "pred_SR-HSE", "smiles"])
    assert [(t.name, t.prob, t.pred) for t in wide.wide] == [("NR-AR", "p_NR-AR", None),
                                                             ("SR-HSE", None, "pred_SR-HSE")]
    assert detect_layout(["id", "y_true", "p_cat", "cat"]).kind == "single"  # a true-label column: one task
    assert detect_layout(["id", "task", "y_true", "y_pred"], {"task": None}).kind == "single"
    assert detect_layout(["gold", "guess", "id"], labels=[]).kind == "wide"
    with pytest.raises(InputError, match="'gold' has no p_gold or pred_gold"):
        detect_layout(["gold", "guess"], labels=["gold"])


def test_labeled_count_is_each_tasks_non_blank_count(wide, frame, summary):
    assert wide.layout == "wide" and wide.examples == len(frame) == 7831
    assert len(wide.names) == 12
    for task in wide.names:
        entry = summary["tasks"][task]
        assert entry["labeled"] == frame[task].notna().sum()
        assert entry["coverage"] == pytest.approx(frame[task].notna().mean(), abs=1e-15)
    assert wide.counts.labeled().rows == frame[list(wide.names)].notna().sum().sum() == 77946


def test_each_task_equals_scikit_learn_on_its_labeled_rows(wide, frame, summary):
    for task in wide.names:
        rows = frame[frame[task].notna()]
        y, p = rows[task].astype(int).to_numpy(), rows[f"p_{task}"].to_numpy()
        pred = (p >= 0.5).astype(int)
        entry, preds = summary["tasks"][task], wide.task(task)
        assert confusion_matrix(preds.counts).matrix.tolist() == skm.confusion_matrix(y, pred).tolist()
        assert entry["auroc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
        assert entry["average_precision"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
        assert entry["log_loss"] == pytest.approx(skm.log_loss(y, p), abs=1e-12)
        assert entry["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
        assert entry["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
        assert entry["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
        assert entry["splits"]["dev"]["error_rate"] == pytest.approx(1 - skm.accuracy_score(y, pred), abs=1e-12)
    expected = json.loads((TOX21 / "expected.json").read_text())
    assert {t: round(v["auroc"], 6) for t, v in summary["tasks"].items()} == expected["auroc_oof"]


def test_ranking_scores_with_tied_scores_equal_scikit_learn(wide, frame):
    for task in wide.names:
        rows = frame[frame[task].notna()]
        y, p = rows[task].astype(int).to_numpy(), rows[f"p_{task}"].round(2).to_numpy()  # ~100 values: many ties
        auroc, ap = ranking_scores(y == 1, p)
        assert auroc == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
        assert ap == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert ranking_scores(np.array([True, True]), np.array([0.2, 0.9])) is None  # one class only


def test_every_tasks_scores_from_one_read_equal_each_tasks_own(wide):
    together = scores_of(list(wide.tasks.values()))
    assert [s.task for s in together] == list(wide.names)
    assert together == [task_scores(p) for p in wide.tasks.values()]


def test_macro_and_micro_over_tasks_use_present_labels_only(wide, frame, summary):
    names = list(wide.names)
    y = frame[names].to_numpy()  # NaN where missing
    p = frame[[f"p_{t}" for t in names]].to_numpy()
    aurocs = [skm.roc_auc_score(y[~np.isnan(y[:, j]), j], p[~np.isnan(y[:, j]), j]) for j in range(len(names))]
    assert summary["macro"]["auroc"] == pytest.approx(np.mean(aurocs), abs=1e-12)
    labeled = ~np.isnan(y)
    truth, pred = y[labeled].astype(int), (p[labeled] >= 0.5).astype(int)  # every labeled pair pooled
    assert summary["micro"]["error_rate"] == pytest.approx(1 - skm.accuracy_score(truth, pred), abs=1e-12)
    assert summary["micro"]["f1"] == pytest.approx(skm.f1_score(truth, pred), abs=1e-12)


def test_masked_loss_is_the_methods_cost(frame, summary):
    names = list(summary["tasks"])
    total = 0.0
    for task in names:  # J = 1/m sum_i sum_j L(p_j(i), y_j(i)) over the labeled pairs only
        rows = frame[frame[task].notna()]
        p1 = rows[f"p_{task}"].to_numpy()
        given = np.where(rows[task].to_numpy() == 1, p1, 1 - p1)
        total += -np.log(np.clip(given, np.finfo(float).eps, 1 - np.finfo(float).eps)).sum()
    assert summary["masked_loss"] == pytest.approx(total / len(frame), rel=1e-12)


def test_wide_and_long_files_give_the_same_numbers(summary, long_summary):
    assert list(long_summary["tasks"]) == list(summary["tasks"])
    assert long_summary["examples"] == summary["examples"]
    for task, entry in summary["tasks"].items():
        other = long_summary["tasks"][task]
        assert other["splits"] == entry["splits"]
        for key in ("labeled", "coverage", "precision", "recall", "f1"):
            assert other[key] == entry[key], (task, key)
        for key in ("auroc", "average_precision", "log_loss"):
            assert other[key] == pytest.approx(entry[key], abs=1e-12), (task, key)
    assert long_summary["masked_loss"] == pytest.approx(summary["masked_loss"], rel=1e-12)
    assert long_summary["micro"] == summary["micro"]


def test_a_tasks_rows_are_its_view(wide, frame):
    preds = wide.task("SR-p53")
    got = preds.query("SELECT id, y_true, y_pred, confidence FROM preds ORDER BY row")
    assert got["id"].tolist() == frame["id"].tolist()
    assert got["y_true"].isna().sum() == frame["SR-p53"].isna().sum()
    p = frame["p_SR-p53"]
    assert got["y_pred"].tolist() == np.where(p >= 0.5, "1", "0").tolist()
    assert np.allclose(got["confidence"], np.maximum(p, 1 - p), atol=1e-15)
    assert "smiles" in preds.columns.metadata and "p_NR-AR" not in preds.names


@pytest.fixture(scope="module")
def split_file(tmp_path_factory):
    """Two tasks over three splits; task b has no label at all in test, task c none anywhere."""
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"id": range(n), "split": np.repeat(["train", "dev", "test"], n // 3),
                          "a": rng.integers(0, 2, n).astype(float), "p_a": rng.random(n),
                          "b": rng.integers(0, 2, n).astype(float), "p_b": rng.random(n),
                          "c": np.nan, "pred_c": rng.integers(0, 2, n)})
    frame.loc[frame["split"] == "test", "b"] = np.nan
    path = tmp_path_factory.mktemp("tasks") / "splits.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_task_without_labels_in_a_split_says_no_labels(split_file):
    tasks = load_tasks(split_file)
    summary = summarize_tasks(tasks)
    b, c = summary["tasks"]["b"], summary["tasks"]["c"]
    assert b["splits"]["test"]["labeled"] == 0 and b["splits"]["test"]["error_rate"] is None
    assert b["splits"]["dev"]["error_rate"] is not None
    assert c["labeled"] == 0 and c["coverage"] == 0 and c["auroc"] is None and c["log_loss"] is None
    assert summary["macro"]["auroc"] == pytest.approx(np.mean([summary["tasks"][t]["auroc"] for t in "ab"]))
    text = run("summary", split_file).stdout
    row_b = next(line for line in text.splitlines() if line.startswith("b "))
    assert row_b.split()[-4:-3] == ["labels"] or "no labels" in row_b
    row_c = next(line for line in text.splitlines() if line.startswith("c "))
    assert row_c.count("no labels") == 3 and " 0 " in row_c


def test_summary_json_adds_tasks(wide_path):
    out = json.loads(run("summary", wide_path, "--json").stdout)
    entry = out["tasks"]["NR-AhR"]
    assert {"labeled", "coverage", "auroc", "average_precision", "log_loss", "splits"} <= set(entry)
    assert out["masked_loss"] > 0 and out["rows"] == 7831 * 12
    single = json.loads(run("summary", wide_path, "--json", "--task", "NR-AhR").stdout)
    assert single["splits"] == entry["splits"] and "tasks" not in single


def test_the_cli_takes_a_task_where_it_takes_a_split(wide_path, wide, frame):
    got = json.loads(run("confusion", wide_path, "--task", "SR-MMP", "--json").stdout)
    rows = frame[frame["SR-MMP"].notna()]
    assert got["matrix"] == skm.confusion_matrix(rows["SR-MMP"].astype(int), rows["p_SR-MMP"] >= 0.5).tolist()
    issues = json.loads(run("label-issues", wide_path, "--task", "SR-MMP", "--top", "3", "--json").stdout)
    assert len(issues["issues"]) == 3 and issues["issues"][0]["id"] in set(rows["id"])
    every = json.loads(run("label-issues", wide_path, "--top", "3", "--json").stdout)  # no task: multi-label
    from analysis.multilabel import multilabel_issues

    ranked = multilabel_issues(wide)
    assert [i["id"] for i in every["issues"]] == ranked["id"].head(3).tolist()


@pytest.mark.parametrize("args, message", [
    (("confusion", "{wide}"), "holds several tasks; pick one with --task"),
    (("confusion", "{wide}", "--task", "NR-XX"), "no task 'NR-XX'"),
    (("summary", "{single}", "--task", "a"), "one task only"),
])
def test_cli_refuses_a_wrong_task(args, message, wide_path, demo_path):
    proc = run(*(a.format(wide=wide_path, single=demo_path) for a in args), ok=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ") and message in proc.stderr


def test_bad_multi_task_files(write):
    blank = write("blank.csv", "id,task,y_true,y_pred\n1,a,0,0\n2,,1,1\n")
    with pytest.raises(InputError, match=r"column 'task' is blank at row 2"):
        load_tasks(blank)
    stray = write("stray.csv", "id,t1,p_t1,p_other\n1,0,0.2,0.3\n")
    with pytest.raises(InputError, match="'p_other' belongs to no task"):
        load_tasks(stray)
    stray_pred = write("stray_pred.csv", "id,t1,p_t1,pred_t2\n1,0,0.2,1\n")
    with pytest.raises(InputError, match="'pred_t2' belongs to no task"):
        load_tasks(stray_pred)
    bad = write("bad.csv", "id,t1,p_t1\n1,0,0.2\n2,1,high\n")
    with pytest.raises(InputError, match=r"\[task t1\].*non-numeric probability 'high'"):
        load_tasks(bad)
    repeated = write("repeat.csv", "id,task,y_true,y_pred\n1,a,0,0\n1,a,1,1\n1,b,1,1\n")
    with pytest.raises(InputError, match=r"\[task a\]"):
        load_tasks(repeated)
    with pytest.raises(InputError, match="one task only"):
        load_tasks(write("one.csv", "y_true,y_pred\n0,1\n"))
    with pytest.raises(ErrorscopeError, match="no task 'z'"):
        load_tasks(write("ok.csv", "id,t1,p_t1\n1,0,0.2\n"), task="z")
    assert bad.read_text() == "id,t1,p_t1\n1,0,0.2\n2,1,high\n"  # nothing was changed


def test_a_csv_of_several_tasks_parsed_once_counts_and_refuses_as_each_task_alone(wide, wide_path, write):
    alone = load_tasks(wide_path, task="SR-p53").task("SR-p53").counts  # one task: the file read for it alone
    shared = wide.task("SR-p53").counts
    cells = [dict(zip(zip(*t.columns, strict=True), t.n.tolist(), strict=True)) for t in (shared, alone)]
    assert cells[0] == cells[1] and len(cells[0]) > 4
    bad = {"id,t1,p_t1,t2,p_t2\n1,0,0.2,1,0.9\n2,1,0.7,0,high\n":
           r"\[task t2\]: column 'p_t2' has the non-numeric probability 'high' at line 3",
           "id,t1,p_t1,t2,p_t2\n1,0,0.2,1,0.9\n1,1,0.7,0,0.3\n": r"\[task t1\]: duplicate id '1'.* at lines 2, 3",
           'id,t1,p_t1,t2,p_t2\n1,0,0.2,1,0.9\n2,1,0.7,0,0.3\n3,1,0.7,0,0.3\n4,1,0.7,0,"0.3,9\n':
           "not a valid CSV at line 5"}
    for i, (text, message) in enumerate(bad.items()):
        with pytest.raises(InputError, match=message):
            load_tasks(write(f"bad{i}.csv", text))


def test_nan_in_a_parquet_float_label_is_a_missing_label(tmp_path):
    """NaN (not null) in a float label column, as pandas writes a blank: missing, as a blank is, in either layout."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    y, p = [1.0, np.nan, 0.0, 1.0], [0.9, 0.2, 0.3, 0.6]
    single, nulls, wide = tmp_path / "nan.parquet", tmp_path / "null.parquet", tmp_path / "wide.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3, 4], "y_true": pa.array(y, from_pandas=False), "p_1": p,
                             "p_0": [1 - v for v in p]}), single)
    pq.write_table(pa.table({"id": [1, 2, 3, 4], "y_true": pa.array(y, from_pandas=True), "p_1": p,
                             "p_0": [1 - v for v in p]}), nulls)
    pq.write_table(pa.table({"id": [1, 2, 3, 4], "a": pa.array(y, from_pandas=False), "p_a": p}), wide)
    assert pa.compute.is_nan(pq.read_table(single)["y_true"]).to_pylist()[1]  # really NaN, not null
    loaded, blank = load_predictions(single), load_predictions(nulls)
    assert (loaded.rows, loaded.counts.labeled().rows) == (4, 3)
    assert confusion_matrix(loaded.counts).matrix.tolist() == confusion_matrix(blank.counts).matrix.tolist()
    scores = task_scores(load_tasks(wide).task("a"))
    assert (scores.labeled, scores.coverage) == (3, 0.75)
    assert scores.auroc == pytest.approx(skm.roc_auc_score([1, 0, 1], [0.9, 0.3, 0.6]), abs=1e-12)


def test_long_file_task_names_are_trimmed_text(write):
    """Task names are names (as a wide file's column names), not labels: '007' and '7' are two tasks."""
    path = write("names.csv", "id,task,y_true,p_0,p_1\n1,007,0,0.8,0.2\n2,007,1,0.3,0.7\n1, 7 ,1,0.6,0.4\n"
                              "2,7,0,0.4,0.6\n3,7,,0.5,0.5\n")
    tasks = load_tasks(path)
    assert tasks.names == ("007", "7") and [p.rows for p in tasks.tasks.values()] == [2, 3]
    scores = scores_of(list(tasks.tasks.values()))  # one read of the file, each task's rows by its name
    assert [(s.labeled, s.auroc) for s in scores] == [(2, 1.0), (2, 0.0)]


def test_long_file_without_convention_names(write):
    path = write("assay.csv", "mol,assay,gold,guess\nm1,x,0,0\nm2,x,1,0\nm1,y,1,1\nm2,y,,1\n")
    tasks = load_tasks(path, columns={"task": "assay", "y_true": "gold", "y_pred": "guess", "id": "mol"})
    assert tasks.names == ("x", "y") and tasks.examples == 2
    assert task_scores(tasks.task("y")).labeled == 1 and tasks.task("x").counts.labeled().rows == 2
    assert load_predictions(path, columns={"y_true": "gold", "y_pred": "guess"}).rows == 4  # still a single file


def test_multilabel_scores_are_cleanlabs_when_nothing_is_missing(wide, frame):
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    from analysis.multilabel import class_scores, moving_average, multilabel_issues

    names = list(wide.names)
    scores = class_scores(wide)
    assert list(scores.index) == frame["id"].tolist() and list(scores.columns) == names
    complete = frame[frame[names].notna().all(axis=1)]
    assert len(complete) > 1000
    y = complete[names].to_numpy(int)
    probs = complete[[f"p_{t}" for t in names]].to_numpy()
    reference = get_label_quality_scores([list(np.flatnonzero(row)) for row in y], probs)
    ours = moving_average(scores.loc[complete["id"]].to_numpy())
    assert np.allclose(ours, reference, rtol=0, atol=1e-12)

    issues = multilabel_issues(wide).set_index("id")
    assert len(issues) == frame[names].notna().any(axis=1).sum()
    assert issues.loc[complete["id"], "score"].to_numpy() == pytest.approx(reference, abs=1e-12)
    missing = frame[frame[names].isna().any(axis=1) & frame[names].notna().any(axis=1)].iloc[0]
    kept = [t for t in names if missing[t] == missing[t]]  # the labeled classes only, each one-vs-rest
    own = [missing[f"p_{t}"] if missing[t] == 1 else 1 - missing[f"p_{t}"] for t in kept]
    expected = get_label_quality_scores([list(np.flatnonzero([missing[t] for t in kept]))], np.array([[
        missing[f"p_{t}"] for t in kept]]))[0]
    assert issues.loc[missing["id"], "score"] == pytest.approx(expected, abs=1e-12)
    assert issues.loc[missing["id"], "worst_score"] == pytest.approx(min(own), abs=1e-15)
    assert issues.loc[missing["id"], "labeled"] == len(kept)


def test_multi_class_tasks_in_a_long_and_a_wide_file(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    probs = rng.dirichlet([1, 1, 1], n)
    truth = np.array([rng.choice(3, p=p) for p in probs]).astype(object)
    truth[rng.random(n) < 0.3] = None  # missing labels
    colour = pd.DataFrame({"id": range(n), "task": "colour", "y_true": truth,
                           **{f"p_{c}": probs[:, i] for i, c in enumerate("012")}})
    size = pd.DataFrame({"id": range(n), "task": "size", "y_true": rng.integers(0, 2, n), "p_0": 0.5, "p_1": 0.5,
                         "p_2": 0.0})
    path = tmp_path / "long.parquet"
    pd.concat([colour, size]).to_parquet(path)
    tasks = load_tasks(path)
    assert tasks.names == ("colour", "size") and tasks.examples == n
    labeled = colour[colour["y_true"].notna()]
    y = labeled["y_true"].astype(int).to_numpy()
    p = labeled[["p_0", "p_1", "p_2"]].to_numpy()
    got = confusion_matrix(tasks.task("colour").counts).matrix
    assert got.tolist() == skm.confusion_matrix(y, p.argmax(axis=1), labels=[0, 1, 2]).tolist()
    scores = task_scores(tasks.task("colour"))
    assert scores.labeled == len(labeled) and scores.auroc is None  # not binary: no single AUROC
    assert scores.log_loss == pytest.approx(skm.log_loss(y, p, labels=[0, 1, 2]), abs=1e-12)

    wide = tmp_path / "wide.csv"
    pd.DataFrame({"id": range(n), "colour": truth, "pred_colour": probs.argmax(axis=1)}).to_csv(wide, index=False)
    from_wide = load_tasks(wide)
    assert confusion_matrix(from_wide.task("colour").counts).matrix.tolist() == got.tolist()
    assert task_scores(from_wide.task("colour")).log_loss is None  # no probabilities
