"""The command line, run as a user runs it: the installed `errorscope` console script in a subprocess."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from analysis import load_predictions, summarize
from analysis.gaps import advice_for
from tests.conftest import ROOT

ERRORSCOPE = shutil.which("errorscope", path=str(Path(sys.executable).parent)) or "errorscope"


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([ERRORSCOPE, *map(str, args)], capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def _strict(text: str) -> object:
    """Parse JSON as a strict parser does: NaN and Infinity are not JSON."""
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_every_json_output_is_strict_json_and_huge_weights_are_refused(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("y_true,y_pred,weight\na,a,1e300\na,b,1e300\nb,b,0\n")
    for args in (["summary", good, "--json"], ["confusion", good, "--weighted", "--json"],
                 ["confusion", good, "--weighted", "--normalize", "all", "--json"]):
        _strict(run(*args).stdout)
    huge = tmp_path / "huge.csv"
    huge.write_text("y_true,y_pred,weight\na,a,1e308\na,b,1e308\nb,b,1\n")
    for args in (["summary", huge, "--json"], ["confusion", huge, "--weighted", "--json"]):
        proc = run(*args, ok=False)
        assert proc.returncode == 2 and proc.stdout == "" and "is infinite or so large" in proc.stderr


def test_confusion_csv_neutralizes_formula_like_class_names(tmp_path):
    names = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(A1)", "\tTAB", "\rCR", "-2", "ok"]
    path = tmp_path / "p.parquet"  # Parquet keeps the tab and the carriage return as written
    frame = pd.DataFrame({"y_true": names, "y_pred": names[1:] + names[:1]})
    frame.to_parquet(path)
    labels = load_predictions(path).classes
    rows = list(csv.reader(io.StringIO(run("confusion", path, "--csv").stdout)))
    cells = rows[0][1:] + [row[0] for row in rows[1:]]
    assert len(cells) == 2 * len(labels)
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cells
    assert sorted(c[1:] if c.startswith("'") else c for c in rows[0][1:]) == sorted(labels)


def test_summary_json_on_the_demo_shows_four_gaps(demo_path, demo_config):
    human = demo_config["human_error"]
    out = json.loads(run("summary", demo_path, "--human-error", human, "--json").stdout)
    assert set(out) >= {"rows", "classes", "splits", "gaps"}
    assert set(out["splits"]) == {"train", "train_dev", "dev", "test"}
    for split in out["splits"].values():
        assert set(split) == {"rows", "labeled", "errors", "error_rate", "accuracy", "macro_f1",
                              "weighted_error_rate"}
    import pandas as pd

    df = pd.read_csv(demo_path, dtype={"y_true": str, "y_pred": str})
    for name, split in out["splits"].items():
        rows = df[df.split == name]
        assert split["weighted_error_rate"] == pytest.approx(
            1 - skm.accuracy_score(rows.y_true, rows.y_pred, sample_weight=rows.weight))
    gaps = out["gaps"]
    assert gaps["human_error"] == human
    for name in ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting"):
        assert gaps[name] > 0, name
    assert gaps["largest"] == max(("avoidable_bias", "variance", "data_mismatch", "dev_overfitting"),
                                  key=gaps.__getitem__)
    assert gaps["advice"] == list(advice_for(gaps["largest"]))
    # the same numbers as the Python API
    api = json.loads(json.dumps(summarize(load_predictions(demo_path), human=human)))
    assert out["splits"] == api["splits"] and out["gaps"] == api["gaps"]


def test_summary_on_mnist_equals_sklearn(mnist_path):
    import pandas as pd

    df = pd.read_csv(mnist_path)
    out = json.loads(run("summary", mnist_path, "--json").stdout)
    dev = out["splits"]["dev"]
    assert dev["rows"] == len(df)
    assert dev["accuracy"] == pytest.approx(skm.accuracy_score(df.y_true, df.y_pred), abs=1e-12)
    assert dev["macro_f1"] == pytest.approx(skm.f1_score(df.y_true, df.y_pred, average="macro"), abs=1e-12)
    assert dev["errors"] == int((df.y_true != df.y_pred).sum())
    assert dev["weighted_error_rate"] is None
    assert out["gaps"]["avoidable_bias"] is None and out["gaps"]["largest"] is None


def test_confusion_json_on_mnist_equals_sklearn(mnist_path):
    import pandas as pd

    df = pd.read_csv(mnist_path)
    out = json.loads(run("confusion", mnist_path, "--json").stdout)
    assert out["labels"] == [str(i) for i in range(10)]
    np.testing.assert_array_equal(out["matrix"], skm.confusion_matrix(df.y_true, df.y_pred, labels=range(10)))


def test_confusion_normalized_weighted_and_csv(demo_path):
    import pandas as pd

    df = pd.read_csv(demo_path, dtype={"y_true": str, "y_pred": str})
    dev = df[df.split == "dev"]
    labels = sorted(set(df.y_true) | set(df.y_pred), key=int)
    out = json.loads(run("confusion", demo_path, "--split", "dev", "--weighted", "--normalize", "true",
                         "--json").stdout)
    expected = skm.confusion_matrix(dev.y_true, dev.y_pred, labels=labels, sample_weight=dev.weight,
                                    normalize="true")
    np.testing.assert_allclose(out["matrix"], expected)
    csv = pd.read_csv(io.StringIO(run("confusion", demo_path, "--split", "test", "--csv").stdout), index_col=0)
    test = df[df.split == "test"]
    assert csv.index.name == "true" and list(csv.columns) == labels and list(csv.index.astype(str)) == labels
    np.testing.assert_array_equal(csv.to_numpy(), skm.confusion_matrix(test.y_true, test.y_pred, labels=labels))
    # a split alias names the same split
    assert run("confusion", demo_path, "--split", "validation", "--json").stdout == \
        run("confusion", demo_path, "--split", "dev", "--json").stdout


def test_summary_table_is_readable(demo_path):
    out = run("summary", demo_path, "--human-error", "1%").stdout
    assert "train_dev" in out and "avoidable bias" in out and "largest gap" in out and "try:" in out


def test_summary_table_shows_every_registered_metric(demo_path, mnist_path):
    from analysis.registry import METRICS

    lines = run("summary", demo_path).stdout.splitlines()
    header = lines[2]
    assert header.startswith("split") and all(m.label in header for m in METRICS.values())
    counts = load_predictions(demo_path).counts
    dev = next(line for line in lines if line.startswith("dev "))
    assert dev.split()[1:] == [m.text(counts.where(split="dev")) for m in METRICS.values()]
    # without a weight column, no weighted error
    assert "weighted error" not in run("summary", mnist_path).stdout.splitlines()[2]


@pytest.mark.parametrize("args,message", [
    (["summary", "nope.csv"], "no such file"),
    (["summary", "{bad}"], "duplicate id"),
    (["summary", "{good}", "--human-error", "2"], "not between 0 and 1"),
    (["summary", "{good}", "--human-error", "lots"], "not a number"),
    (["confusion", "{good}", "--split", "train"], "no split 'train'"),
    (["confusion", "{good}", "--normalize", "rows"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
    (["app", "nope.csv"], "no such file"),
    (["app", "{unlabeled}"], "no true-label column"),
])
def test_bad_input_exits_2_with_one_error_line(tmp_path, args, message):
    good = tmp_path / "good.csv"
    good.write_text("id,y_true,y_pred\n1,a,a\n2,a,b\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,y_true,y_pred\n1,a,a\n1,a,b\n")
    unlabeled = tmp_path / "unlabeled.csv"
    unlabeled.write_text("id,guess\n1,a\n")
    proc = run(*[a.format(good=good, bad=bad, unlabeled=unlabeled) for a in args], ok=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert message in lines[0]
    assert proc.stdout == ""


def test_summary_stays_light(demo_path):
    code = ("import sys; from analysis.cli import main; main(['summary', sys.argv[1], '--json']); "
            "heavy = [m for m in ('streamlit', 'sklearn', 'cleanlab', 'plotly') if m in sys.modules]; "
            "print('HEAVY', heavy, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(demo_path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr


def test_the_summary_table_keeps_numbers_apart_at_fifty_million_rows():
    from analysis.cli import _metrics_table
    from analysis.counts import CountTable

    table = CountTable.from_rows(("split", "y_true", "y_pred"), [
        ("train", "a", "a", 50_000_000, 50_000_000.0),
        ("dev", "a", "a", 25_000_000, 25_000_000.0), ("dev", "a", "b", 25_000_000, 25_000_000.0),
    ], classes=("a", "b"), weighted=False)
    header, *lines = _metrics_table(table)
    assert len({len(line) for line in [header, *lines]}) == 1  # one width per column, right-aligned
    dev = next(line for line in lines if line.startswith("dev"))
    assert dev.split() == ["dev", "50,000,000", "50,000,000", "25,000,000", "50.00%", "50.00%", "0.3333", "0.6667"]
    assert "  50,000,000  50,000,000  25,000,000" in dev


def test_app_options_for_a_shared_server():
    from analysis.cli import build_parser

    args = build_parser().parse_args(["app", "p.csv", "--data-root", "/srv/data", "--allow-image-host",
                                      "images.example.org", "--allow-image-host", "cdn.example.org"])
    assert args.data_root == "/srv/data" and args.allow_image_host == ["images.example.org", "cdn.example.org"]
    assert build_parser().parse_args(["demo"]).allow_image_host == []


def test_engine_spark_without_pyspark_says_how_to_install(demo_path, monkeypatch, capsys):
    from analysis.cli import main

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError, as when not installed
    assert main(["summary", str(demo_path), "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: the Spark engine needs pyspark: pip install 'errorscope[spark]' (and Java 17 or later, "
                   "e.g. apt-get install openjdk-17-jre-headless)\n")


def test_version():
    from importlib.metadata import version

    assert run("--version").stdout.strip() == f"errorscope {version('errorscope')}"


@pytest.mark.parametrize("args, message", [
    (["--media-pattern", "{id.__class__}.png"], "error: media pattern '{id.__class__}.png': write {id}"),
    (["--media-pattern", "{name}.png"], "error: media pattern '{name}.png': write {id}"),
    ([], "no such folder"),
])
def test_app_refuses_a_bad_media_folder_or_pattern_before_serving(tmp_path, demo_path, args, message):
    folder = tmp_path / ("missing" if not args else "")
    proc = run("app", demo_path, "--media", folder, *args, "--port", "1", ok=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr


def test_make_demo_installs_only_the_app_and_takes_a_port(tmp_path):
    """``make -n`` prints what a fresh checkout would run: the app without its test extra, on the port given."""
    proc = subprocess.run(["make", "-n", "-C", str(ROOT), "demo", "PORT=8600", f"VENV={tmp_path / 'venv'}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    installs = [line for line in proc.stdout.splitlines() if "pip install" in line and "upgrade" not in line]
    assert installs == [f"{tmp_path / 'venv'}/bin/python -m pip install --quiet -e ."]
    assert f"{tmp_path / 'venv'}/bin/errorscope demo --port 8600" in proc.stdout
    test = subprocess.run(["make", "-n", "-C", str(ROOT), "test", f"VENV={tmp_path / 'venv'}"],
                          capture_output=True, text=True, timeout=60)
    assert "pip install --quiet -e '.[test]'" in test.stdout


def test_app_refuses_a_texts_file_without_id_and_text_before_serving(demo_path):
    proc = run("app", demo_path, "--texts", demo_path, "--port", "1", ok=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "a texts file needs the columns id and text; it lacks text" in proc.stderr
