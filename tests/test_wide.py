"""A wide file's binary tasks counted and scored from their arrays (analysis.wide) give what each task's own scan
and the masked scores' read give (the ordinary load), on Tox21 and on files made to hold every kind of label, split
and probability; a bad file gets the ordinary load's exact message."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

import analysis.tasks as tasks_module
from analysis.engine import open_engine
from analysis.errors import InputError
from analysis.load import scan_aggregates
from analysis.masked import ranking_scores, summarize_tasks
from analysis.tasks import load_tasks
from analysis.wide import count_wide, task_aggregates
from tests.conftest import TOX21, _benchmark


def _ordinary(path, **kwargs):
    """The file loaded the ordinary way: each task's own scan, the scores read again."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks_module, "_load_wide", lambda *_: None)
        return load_tasks(path, **kwargs)


def _same(path) -> dict:
    fast, ordinary = load_tasks(path), _ordinary(path)
    assert fast.scores is not None and ordinary.scores is None  # each path taken
    got, want = summarize_tasks(fast), summarize_tasks(ordinary)
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
    for name in fast.names:
        a, b = fast.task(name).counts, ordinary.task(name).counts
        assert a.classes == b.classes and _cells(a) == _cells(b)
    return got


def _cells(counts) -> dict:
    return dict(zip(zip(*counts.columns, strict=True), zip(counts.n.tolist(), counts.w.tolist(), strict=True),
                    strict=True))


def _table(rng, n: int) -> pa.Table:
    """Four binary tasks: float labels with nulls (one all blank in test), integer labels, text labels written
    several ways, and probabilities at the edges (0, 0.5, 1, within the tolerance outside [0, 1])."""
    split = rng.choice(["train", " Dev", "test", "train_dev", "val"], n)
    a = np.where(rng.random(n) < 0.2, np.nan, (rng.random(n) < 0.3).astype(float))
    a[split == "test"] = np.nan
    p_a = rng.random(n)
    p_a[:6] = [0.0, 0.5, 1.0, -0.005, 1.004, 0.5]
    b = pa.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 2, n)).tolist(), pa.int64())
    c = pa.array(rng.choice(["1", "0", " 1 ", "1.0", "false", "", None], n).tolist(), pa.string())
    return pa.table({"id": np.arange(n) * 3, "split": split, "a": pa.array(a, from_pandas=True), "p_a": p_a,
                     "b": b, "p_b": rng.random(n).round(2), "c": c, "p_c": rng.random(n),
                     "d": pa.array(np.full(n, np.nan), from_pandas=True), "p_d": rng.random(n)})


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide")
    table = _table(np.random.default_rng(3), 3000)
    pq.write_table(table, folder / "made.parquet")
    pcsv.write_csv(table, folder / "made.csv")
    no_split = table.drop_columns(["split"])
    pq.write_table(no_split, folder / "nosplit.parquet")
    return folder


def test_tox21_from_arrays_equals_the_ordinary_load_and_scikit_learn(tmp_path):
    path = _benchmark("tox21_predictions.csv", TOX21)
    summary = _same(path)
    as_parquet = tmp_path / "tox21.parquet"  # float labels with nulls, as Parquet writes them
    pq.write_table(pcsv.read_csv(path), as_parquet)
    assert {**_same(as_parquet), "file": None} == {**summary, "file": None}
    frame = pcsv.read_csv(path).to_pandas()
    for task, entry in summary["tasks"].items():
        rows = frame[frame[task].notna()]
        y, p = rows[task].astype(int), rows[f"p_{task}"]
        assert entry["auroc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
        assert entry["average_precision"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
        assert entry["log_loss"] == pytest.approx(skm.log_loss(y, p), abs=1e-12)


@pytest.mark.parametrize("name", ["made.parquet", "made.csv", "nosplit.parquet"])
def test_every_kind_of_label_split_and_edge_probability(made, name):
    summary = _same(made / name)
    assert summary["tasks"]["d"]["labeled"] == 0 and summary["tasks"]["d"]["auroc"] is None
    if name != "nosplit.parquet":
        assert summary["tasks"]["a"]["splits"]["test"]["labeled"] == 0  # "no labels", not 0 %


def test_the_checks_aggregates_from_arrays_are_the_engines(made):
    for name in ("made.parquet", "made.csv"):
        loaded = _ordinary(made / name)
        sources = [p.source for p in loaded.tasks.values()]
        with open_engine() as eng:
            if name.endswith(".csv"):
                eng.share(sources)
            counted, scanned = count_wide(eng, sources)
            engines = scan_aggregates(eng, sources)
            assert task_aggregates(engines[0], counted) == engines == scanned  # from the arrays, not the fallback


@pytest.mark.parametrize("change, message", [
    (lambda t: t.set_column(3, "p_a", pa.array([1.5] + t["p_a"].to_pylist()[1:])), "is negative"),
    (lambda t: t.set_column(3, "p_a", pa.array([None] + t["p_a"].to_pylist()[1:], pa.float64())), "is blank"),
    (lambda t: t.set_column(3, "p_a", pa.array([float("nan")] + t["p_a"].to_pylist()[1:])), "(p_1, p_0)"),
    (lambda t: t.set_column(2, "a", pa.array([2.0] + t["a"].to_pylist()[1:])), "class '2'"),
    (lambda t: t.set_column(1, "split", pa.array(["holdout"] + t["split"].to_pylist()[1:])), "unknown split"),
    (lambda t: t.set_column(0, "id", pa.array([3] + t["id"].to_pylist()[1:])), "duplicate id '3'"),
    (lambda t: t.set_column(0, "id", pa.array([None] + t["id"].to_pylist()[1:], pa.int64())), "is blank"),
])
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_bad_file_gets_the_ordinary_loads_message(tmp_path, change, message, fmt):
    table = change(_table(np.random.default_rng(5), 200))
    path = tmp_path / f"bad.{fmt}"
    (pq.write_table if fmt == "parquet" else pcsv.write_csv)(table, path)
    written = path.read_bytes()
    with pytest.raises(InputError) as fast:
        load_tasks(path)
    with pytest.raises(InputError) as ordinary:
        _ordinary(path)
    assert str(fast.value) == str(ordinary.value) and message in str(fast.value)
    assert path.read_bytes() == written  # nothing was changed


def test_ranking_scores_with_many_ties_equal_scikit_learn():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 300))
        y = rng.random(n) < rng.random()
        p = rng.random(n).round(int(rng.integers(0, 3)))
        got = ranking_scores(y, p)
        if y.all() or not y.any():
            assert got is None
            continue
        assert got[0] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
        assert got[1] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
