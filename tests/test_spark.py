"""The Spark engine against DuckDB: the same numbers from the same SQL, on the demo, MNIST and a 1M-row file.

One local Spark (local[2]) serves the whole run (the ``spark_session`` fixture); files are split into 4 MB
partitions so that a CSV's row numbers are counted across several of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from analysis import InputError, load_predictions
from analysis.cli import main
from analysis.label_issues import label_issues
from analysis.metrics import confusion_matrix
from analysis.review import review_sample
from analysis.shift import shift
from analysis.slices import error_by_slice
from analysis.summary import summarize
from bench.gen import chunk_table
from tests.conftest import DEMO, ROOT, TOX21

pytestmark = pytest.mark.usefixtures("spark_session")


def _both(path, **kwargs):
    return load_predictions(path, **kwargs), load_predictions(path, engine="spark", **kwargs)


def _close(a, b) -> bool:
    """Equal, except that floats may differ in the last bits: the shift check's moments (means, variances) are
    sums of doubles that each engine adds in its own order."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_close, a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=0)
    return type(a) is type(b) and a == b


def _same_counts(duck, spark) -> None:
    """Summary, classes and every split's confusion matrix equal, summed weights included (analysis.exact)."""
    assert spark.engine == "spark"
    assert summarize(spark, human=0.01) == summarize(duck, human=0.01)
    entries = [dict(zip(zip(*p.counts.columns, strict=True), p.counts.n.tolist(), strict=True))
               for p in (duck, spark)]
    assert entries[1] == entries[0]
    assert spark.classes == duck.classes and spark.splits == duck.splits
    for split in duck.splits:
        for weighted in (False, True):
            a = confusion_matrix(duck.counts.where(split=split), weighted=weighted)
            b = confusion_matrix(spark.counts.where(split=split), weighted=weighted)
            assert b.labels == a.labels
            np.testing.assert_array_equal(b.matrix, a.matrix)


def _same_issues(duck, spark, split: str) -> None:
    """The same issues and scores (the default ranking's margins: +, -, / of the same doubles on both engines)."""
    a, b = label_issues(duck, split=split), label_issues(spark, split=split)
    assert (b.flagged, b.estimated_errors) == (a.flagged, a.estimated_errors)
    assert b.pairs.equals(a.pairs)
    assert b.issues["id"].tolist() == a.issues["id"].tolist()
    assert b.issues["suggested"].tolist() == a.issues["suggested"].tolist()
    assert b.issues["flagged"].tolist() == a.issues["flagged"].tolist()
    np.testing.assert_array_equal(b.issues["score"].to_numpy(float), a.issues["score"].to_numpy(float))
    assert b.issues["row"].astype(int).tolist() == a.issues["row"].astype(int).tolist()


def test_demo_summary_confusion_label_issues_and_rows(demo_path):
    duck, spark = _both(demo_path)
    _same_counts(duck, spark)
    _same_issues(duck, spark, "train")
    sql = "SELECT row, id, split, y_true, y_pred, confidence FROM preds WHERE y_true <> y_pred ORDER BY row"
    a, b = duck.query(sql), spark.query(sql)
    assert b["id"].tolist() == a["id"].tolist() and b["row"].astype(int).tolist() == a["row"].astype(int).tolist()
    np.testing.assert_array_equal(b["confidence"].to_numpy(float), a["confidence"].to_numpy(float))
    # a sample of mistakes reads the view of the mistakes (DuckDB's from the rows its open keeps when asked)
    duck = load_predictions(demo_path, keep_mistakes=True)
    assert duck.mistakes is not None
    sampled = [review_sample(p, split="dev", n=30)["id"].tolist() for p in (duck, spark)]
    assert sampled[0] == sampled[1] and len(sampled[0]) == 30


def test_mnist_benchmark(mnist_path):
    duck, spark = _both(mnist_path)
    _same_counts(duck, spark)
    _same_issues(duck, spark, "dev")


@pytest.mark.parametrize(("rows", "fmt"), [(1_000_000, "parquet"), (200_000, "csv")])
def test_a_large_file(tmp_path, rows, fmt):
    """The first rows of the benchmark files: a million in Parquet; 200,000 in a CSV of 26 MB, read by Spark in
    seven partitions whose rows are numbered across them."""
    table = chunk_table(0, rows)
    path = tmp_path / f"preds.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    duck, spark = _both(path)
    assert duck.rows == rows
    _same_counts(duck, spark)
    wanted = [1, 2, rows // 7 + 1, rows // 2, rows - 1, rows]
    sql = f"SELECT row, id, y_pred FROM preds WHERE row IN ({', '.join(map(str, wanted))}) ORDER BY row"
    a, b = duck.query(sql), spark.query(sql)
    assert b["row"].astype(int).tolist() == wanted
    assert b["id"].tolist() == a["id"].tolist() and b["y_pred"].tolist() == a["y_pred"].tolist()


BAD = {
    "blank id": "id,y_true,y_pred\n1,a,a\n,a,b\n3,b,b\n",
    "unknown split": "id,split,y_true,y_pred\n1,dev,a,a\n2,dve,a,b\n3,test,b,b\n",
    "probabilities": "id,y_true,p_a,p_b\n1,a,0.9,0.1\n2,b,0.9,0.9\n3,b,0.2,0.8\n",
    "non-numeric": "id,y_true,p_a,p_b\n1,a,0.9,0.1\n2,b,x,0.9\n3,b,0.2,0.8\n",
    "repeated id": "id,y_true,y_pred\n007,a,a\n2,a,b\n7,b,b\n",
    "no rows": "id,y_true,y_pred\n",
}


@pytest.mark.parametrize("name", BAD)
def test_bad_files_get_the_same_message(write, name):
    """The checks name the same rows from either engine: Spark's row numbers and SQL agree with DuckDB's."""
    path = write("bad.csv", BAD[name])
    with pytest.raises(InputError) as duck:
        load_predictions(path)
    with pytest.raises(InputError) as spark:
        load_predictions(path, engine="spark")
    assert str(spark.value) == str(duck.value)


def test_command_line_engine_spark(demo_path, capsys):
    assert main(["summary", str(demo_path), "--json"]) == 0
    duck = json.loads(capsys.readouterr().out)
    assert main(["summary", str(demo_path), "--json", "--engine", "spark"]) == 0
    assert json.loads(capsys.readouterr().out) == duck
    assert main(["confusion", str(demo_path), "--split", "dev", "--engine", "spark", "--json"]) == 0
    spark = json.loads(capsys.readouterr().out)
    assert main(["confusion", str(demo_path), "--split", "dev", "--json"]) == 0
    assert spark == json.loads(capsys.readouterr().out)


def test_spark_connect(demo_path):
    """Through Spark Connect: the command line starts a local Connect server (``local[2]`` as the remote) and
    talks to it over gRPC, with the results DuckDB gives."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "analysis.cli", "summary", str(demo_path), "--json"]
    connect = subprocess.run([*cmd, "--engine", "spark", "--spark-remote", "local[2]"], capture_output=True,
                             text=True, env=env, cwd=ROOT, timeout=900)
    assert connect.returncode == 0, connect.stderr[-2000:]
    duck = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert json.loads(connect.stdout) == json.loads(duck.stdout)



def test_slices_shift_and_compare_on_adult_and_the_demo(adult_path, capsys):
    """The slices (SliceLine's search and the error of every value), the shift check's column tests and the
    comparison of two models: the same from Spark as from DuckDB, through the command line's --engine."""
    duck, spark = _both(adult_path)
    a = error_by_slice(duck, "dev", ["age", "sex"])
    b = error_by_slice(spark, "dev", ["age", "sex"])
    assert b.drop(columns="predicate").equals(a.drop(columns="predicate"))
    assert b["predicate"].tolist() == a["predicate"].tolist()
    outputs = []
    for engine in ("duckdb", "spark"):
        assert main(["slices", str(adult_path), "--json", "--columns", "education,age,sex,race",
                     "--max-predicates", "2", "--engine", engine]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[1] == outputs[0] and outputs[0]["slices"]
    shifts = [shift(p, columns=["age", "education"], sample=300).to_dict() for p in (duck, spark)]
    assert _close(shifts[1]["columns"], shifts[0]["columns"]) and shifts[1]["rows"] == shifts[0]["rows"]
    demo = DEMO / "digits.csv", DEMO / "digits_b.csv"
    outputs = []
    for engine in ("duckdb", "spark"):
        assert main(["compare", *map(str, demo), "--json", "--engine", engine]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[1] == outputs[0]


def test_a_uri_is_read_by_spark_where_it_lies(demo_path, tmp_path, capsys):
    """A file:// URI stands in for s3a://, hdfs://, gs://: Spark is handed the URI as written (schema included)."""
    parquet = tmp_path / "demo.parquet"
    pq.write_table(pacsv.read_csv(demo_path, convert_options=pacsv.ConvertOptions(
        column_types={"id": "string", "y_true": "string", "y_pred": "string"})), parquet)
    duck = summarize(load_predictions(demo_path), human=0.01)
    for path in (parquet, demo_path):
        spark = load_predictions(path.as_uri(), engine="spark")
        assert str(spark.path) == path.as_uri() and spark.path.scheme == "file"
        assert summarize(spark, human=0.01) == {**duck, "file": path.as_uri()}
    assert main(["confusion", parquet.as_uri(), "--split", "dev", "--engine", "spark", "--json"]) == 0
    spark = json.loads(capsys.readouterr().out)
    assert main(["confusion", str(demo_path), "--split", "dev", "--json"]) == 0
    assert spark == json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("uri", "says"), [
    ("s3a://errorscope-bucket/preds.parquet", "no file system for s3a:// URIs; add the hadoop-aws package"),
    ("file:///nowhere/preds.parquet", "no such file"),
])
def test_an_unreadable_uri_is_one_clear_line(uri, says, capsys):
    """Without the hadoop-aws jars, Spark cannot open s3a://: its error becomes one line (no network is used)."""
    assert main(["summary", uri, "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {uri}: ") and says in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_multi_task_file(capsys):
    """Tox21's 12 tasks (a wide file with missing labels): every task's counts and scores from Spark as from DuckDB."""
    path = TOX21 / "tox21_predictions.csv"
    outputs = []
    for engine in ("duckdb", "spark"):
        assert main(["summary", str(path), "--json", "--engine", engine]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert len(outputs[0]["tasks"]) == 12
    assert _close(outputs[1], outputs[0])
