"""Runs tables: the best run under thresholds against a brute-force search on the real Online LDA grid, composite
expressions parsed (never eval'd), scales, importance through Optuna, the folder of predictions files, bad input."""

from __future__ import annotations

import csv
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import ErrorscopeError, InputError
from analysis.runs import (
    choose,
    detect_scale,
    evaluate,
    hyperparameters,
    importance,
    next_ranges,
    parse_objective,
    parse_threshold,
    read_runs,
    runs_from_folder,
    runs_report,
    scales,
)
from tests.conftest import DEMO, ROOT

RUNS = ROOT.parent / "shared" / "benchmarks" / "runs"


@pytest.fixture(scope="module")
def runs_path():
    path = RUNS / "runs.csv"
    if not path.is_file():
        if os.environ.get("ERRORSCOPE_REQUIRE_BENCHMARKS") == "1":
            pytest.fail(f"the real runs table is missing from {RUNS}")
        pytest.skip(f"the real runs table is not here (expected beside the project in {RUNS})")
    return path


@pytest.fixture(scope="module")
def runs(runs_path):
    return read_runs(runs_path)


def _brute_force(path, metric: str, direction: str, limits: list[tuple[str, str, float]]) -> tuple[str, int]:
    """The best run meeting every limit, by looping over the rows of the file as written (first on ties)."""
    ops = {"<=": lambda x, v: x <= v, ">=": lambda x, v: x >= v, "<": lambda x, v: x < v, ">": lambda x, v: x > v}
    best, feasible = None, 0
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if all(ops[op](float(row[col]), v) for col, op, v in limits):
                feasible += 1
                value = float(row[metric]) * (1 if direction == "min" else -1)
                if best is None or value < best[0]:
                    best = (value, row["run_id"])
    return (best[1] if best else None), feasible


@pytest.mark.parametrize("thresholds", [
    ["time<=15000"],
    ["time<=9000", "batch_size>=64"],
    ["time<20000", "tau0>4", "kappa<=0.7"],
])
def test_best_feasible_run_equals_brute_force(runs, runs_path, thresholds):
    parsed = [parse_threshold(t) for t in thresholds]
    choice = choose(runs, parse_objective("perplexity:min"), parsed)
    expected, feasible = _brute_force(runs_path, "perplexity", "min", [(t.metric, t.op, t.value) for t in parsed])
    assert runs["run_id"][choice.best] == expected
    assert int(choice.feasible.sum()) == feasible
    behind = choice.behind[choice.feasible]
    assert behind.min() == 0 and (behind >= 0).all()


def test_the_grid_as_its_readme_says(runs, runs_path):
    expected = json.loads((RUNS / "expected.json").read_text())["runs.csv"]
    report = runs_report(runs, parse_objective("perplexity:min"))
    assert report["best"]["run_id"] == expected["best_perplexity"]["run_id"] == "lda-045"
    report = runs_report(runs, parse_objective("perplexity:min"), [parse_threshold("time<=15000")])
    assert report["best"]["run_id"] == "lda-187" and report["feasible"] == 107
    assert len(report["excluded"]) == 289 - 107
    assert all(e["failed"] == ["time<=15000"] for e in report["excluded"])
    assert report["scales"] == {"kappa": "linear", "tau0": "log", "batch_size": "log"}
    assert sum(report["importance"].values()) == pytest.approx(1.0)


def test_composite_metric_is_computed_from_the_columns(runs):
    values = evaluate("perplexity / 1000 + 0.5 * log10(time)", {c: runs[c].to_numpy(float) for c in
                                                                   ("perplexity", "time")})
    assert np.allclose(values, runs["perplexity"] / 1000 + 0.5 * np.log10(runs["time"]))
    choice = choose(runs, parse_objective("perplexity / 1000 + 0.5 * log10(time):min"))
    assert choice.best == int(np.argmin(values))


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "perplexity.real", "(lambda: 1)()", "perplexity if time else 1",
    "'text'", "perplexity[0]", "open('x')", "log(perplexity, 2)", "perplexity; time",
])
def test_expressions_other_than_arithmetic_are_refused(runs, expression):
    with pytest.raises(ErrorscopeError):
        choose(runs, parse_objective(f"{expression}:min"))


def test_unknown_column_and_bad_text_are_refused(runs):
    with pytest.raises(ErrorscopeError, match="no column 'dev_error'.*perplexity"):
        choose(runs, parse_objective("dev_error:min"))
    with pytest.raises(ErrorscopeError, match="names 'speed'"):
        choose(runs, parse_objective("perplexity * speed:min"))
    with pytest.raises(ErrorscopeError, match="METRIC:min or METRIC:max"):
        parse_objective("perplexity")
    with pytest.raises(ErrorscopeError, match="METRIC<=NUMBER"):
        parse_threshold("time is small")


def test_scales_are_detected_and_can_be_changed():
    assert detect_scale([1e-4, 3e-3, 0.1, 1]) == "log"
    assert detect_scale([0.9, 0.95, 0.99, 0.999]) == "log1m"
    assert detect_scale([0.5, 0.6, 0.9]) == "linear"
    assert detect_scale([16, 64, 1024]) == "linear"  # 64x: less than two orders of magnitude
    frame = pd.DataFrame({"run_id": ["a", "b", "c"], "lr": [1e-4, 1e-2, 1.0], "beta": [0.9, 0.99, 0.999]})
    assert scales(frame, ["lr", "beta"]) == {"lr": "log", "beta": "log1m"}
    assert scales(frame, ["lr", "beta"], {"lr": "linear"})["lr"] == "linear"
    with pytest.raises(ErrorscopeError, match="cannot go on a log scale"):
        scales(frame.assign(lr=[0.0, 0.1, 1.0]), ["lr"], {"lr": "log"})


def test_importance_finds_the_parameter_that_matters():
    """On runs whose error depends on the learning rate alone (on its log scale), Optuna's PED-ANOVA and fANOVA
    both give it nearly all the importance."""
    rng = np.random.default_rng(0)
    n = 120
    lr = 10 ** rng.uniform(-5, 0, n)
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "lr": lr, "dropout": rng.uniform(0, 0.5, n),
                          "dev_error": (np.log10(lr) + 2.5) ** 2 / 10 + rng.normal(0, 0.01, n)})
    choice = choose(frame, parse_objective("dev_error:min"))
    scale_of = scales(frame, hyperparameters(frame, ["dev_error"]))
    assert scale_of == {"lr": "log", "dropout": "linear"}
    for evaluator in ("ped_anova", "fanova"):
        shares = importance(frame, choice, scale_of, evaluator=evaluator)
        assert shares["lr"] > 0.8 and sum(shares.values()) == pytest.approx(1.0)
    ranges = {r.param: r for r in next_ranges(frame, choice, scale_of)}
    assert 1e-4 < ranges["lr"].low < 10**-2.5 < ranges["lr"].high < 10**-1.5  # around the optimum, 10**-2.5


def test_no_feasible_run_is_a_result_not_an_error(runs, capsys):
    report = runs_report(runs, parse_objective("perplexity:min"), [parse_threshold("time<1000")])
    assert report["best"] is None and report["feasible"] == 0 and report["next_ranges"] == []
    assert main(["runs", str(RUNS / "runs.csv"), "--optimize", "perplexity:min", "--satisfy", "time<1000"]) == 0
    assert "no run meets every threshold" in capsys.readouterr().out


def test_cli_json(runs_path, capsys):
    assert main(["runs", str(runs_path), "--optimize", "perplexity:min", "--satisfy", "time<=15000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"best", "feasible", "excluded", "importance", "scales"} <= set(out)
    assert out["best"]["run_id"] == "lda-187" and out["feasible"] == 107
    assert set(out["importance"]) == set(out["scales"]) == {"kappa", "tau0", "batch_size"}
    assert main(["runs", str(runs_path), "--optimize", "perplexity:min", "--scale", "tau0=linear", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scales"]["tau0"] == "linear"


@pytest.mark.parametrize(("content", "args", "message"), [
    (None, ["--optimize", "dev_error:min"], "no such file"),
    ("run_id,lr,dev_error\n", ["--optimize", "dev_error:min"], "has no rows"),
    ("run_id,lr,dev_error\na,0.1,0.2\na,0.2,0.3\n", ["--optimize", "dev_error:min"], "run id 'a' is in 2 rows"),
    ("run_id,lr,dev_error\na,0.1,0.2\n", ["--optimize", "dev_error:best"], "METRIC:min or METRIC:max"),
    ("run_id,lr,dev_error\na,0.1,0.2\n", ["--optimize", "acc:max"], "no column 'acc'"),
    ("run_id,lr,dev_error\na,0.1,0.2\n", ["--optimize", "dev_error:min", "--satisfy", "lr=<1"], "METRIC<=NUMBER"),
    ("run_id,lr,dev_error\na,0.1,x\n", ["--optimize", "dev_error:min"], "does not hold numbers"),
    ("run_id,lr,dev_error\na,0.1,0.2\n", ["--optimize", "dev_error:min", "--params", "wd"], "no column 'wd'"),
])
def test_bad_runs_input_one_error_line(tmp_path, capsys, content, args, message):
    path = tmp_path / "runs.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["runs", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


def test_a_folder_of_predictions_files_with_a_parameters_file(tmp_path):
    shutil.copy(DEMO / "digits.csv", tmp_path / "base.csv")
    shutil.copy(DEMO / "digits_b.csv", tmp_path / "synth.csv")
    (tmp_path / "params.csv").write_text("run_id,synthetic_copies\nbase,0\nsynth,1\n", encoding="utf-8")
    frame = runs_from_folder(tmp_path)
    assert list(frame["run_id"]) == ["base", "synth"]
    dev = pd.read_csv(DEMO / "digits_b.csv", dtype=str)
    dev = dev[dev["split"] == "dev"]
    assert frame.loc[1, "dev_error"] == pytest.approx((dev["y_true"] != dev["y_pred"]).mean())
    best = choose(frame, parse_objective("test_error:min"), [parse_threshold("dev_error<=0.2")])
    assert frame["run_id"][best.best] == "synth"  # its test error is 12.90% against 14.57%
    (tmp_path / "params.csv").write_text("run_id,x\nbase,0\nmissing,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="run 'missing' has no predictions file"):
        runs_from_folder(tmp_path)
