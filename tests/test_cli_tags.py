"""The tag commands of the CLI: ``errorscope tags import|export`` and ``errorscope tallies``.

The real console script runs as a subprocess for what only a process shows (exit status, one ``error:`` line,
what reaches stdout); those runs start together in one fixture so the file stays fast. Formats and options
are checked through ``main()`` in this process.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.tags import TagStore, open_store

SCRIPT = Path(sys.executable).with_name("errorscope")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "analysis.cli"]

# dev: 5 labeled, 3 mistakes (1, 3, 4); test: 1 mistake (6) of 2
PREDICTIONS = """id,split,y_true,y_pred
1,dev,cat,dog
2,dev,cat,cat
3,dev,dog,cat
4,dev,dog,cat
5,dev,dog,dog
6,test,cat,dog
7,test,dog,dog
"""
DATASET = "pets"


def make_store(path: Path) -> TagStore:
    store = open_store(path, user="t", synchronous="NORMAL")
    store.add_category(DATASET, "blurry")
    store.add_category(DATASET, "dark")
    store.edit(DATASET, "1", categories={"blurry": True, "dark": True})
    store.edit(DATASET, "3", categories={"blurry": True}, mislabeled=True, note="=cmd|' /C calc'!A0")
    store.edit(DATASET, "2", mislabeled=True)
    return store


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every subprocess run of this file, started together; plus the tags before and after."""
    folder = tmp_path_factory.mktemp("cli")
    preds = folder / "preds.csv"
    preds.write_text(PREDICTIONS)
    db = folder / "tags.db"
    make_store(db).close()
    (folder / "good.csv").write_text("id,blurry,dark,mislabeled,note\n4,1,0,no,'-x\n5,yes,x,1,\n")
    (folder / "bad.csv").write_text("id,blurry\n4,1\n99,1\n4,0\n")
    with open_store(db) as store:
        before = store.tags(DATASET)
    commands = {
        "json": ["tallies", str(preds), "--db", str(db), "--dataset", DATASET, "--json"],
        "export": ["tags", "export", "--db", str(db), "--dataset", DATASET, "--predictions", str(preds)],
        "import": ["tags", "import", str(preds), str(folder / "good.csv"), "--db", str(folder / "new.db"),
                   "--dataset", DATASET, "--create-categories"],
        "refused": ["tags", "import", str(preds), str(folder / "bad.csv"), "--db", str(db),
                    "--dataset", DATASET],
    }
    started = {name: subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, cwd=folder)
               for name, args in commands.items()}
    results = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=120)
        results[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    with open_store(db) as store:
        after = store.tags(DATASET)
    return {"folder": folder, "results": results, "before": before, "after": after}


def failed(result, *parts):
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


# --- the console script -------------------------------------------------------------------------------------


def test_tallies_json(runs):
    result = runs["results"]["json"]
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("split", "errors", "reviewed_errors", "reviewed_correct",
                                 "mislabeled_among_correct")} == {
        "split": "dev", "errors": 3, "reviewed_errors": 2, "reviewed_correct": 1,
        "mislabeled_among_correct": 1}
    assert data["error_rate"] == pytest.approx(0.6)
    assert [(c["category"], c["count"], c["share"]) for c in data["categories"]] == [("blurry", 2, 1.0),
                                                                                      ("dark", 1, 0.5)]
    assert data["categories"][0]["ceiling"] == pytest.approx(0.6)
    assert data["categories"][1]["share_low"] == pytest.approx(0.0945, abs=5e-5)  # Wilson 1 of 2
    assert data["categories"][1]["share_high"] == pytest.approx(0.9055, abs=5e-5)
    assert data["mislabeled"] == {"count": 1, "share": 0.5, "share_low": pytest.approx(0.0945, abs=5e-5),
                                  "share_high": pytest.approx(0.9055, abs=5e-5),
                                  "ceiling": pytest.approx(0.3)}


def test_tags_export_to_stdout(runs):
    result = runs["results"]["export"]
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        ["id", "y_true", "y_pred", "split", "blurry", "dark", "mislabeled", "corrected_label", "note"],
        ["1", "cat", "dog", "dev", "1", "1", "0", "", ""],
        ["2", "cat", "cat", "dev", "0", "0", "1", "", ""],
        ["3", "dog", "cat", "dev", "1", "0", "1", "", "'=cmd|' /C calc'!A0"],
    ]


def test_tags_import(runs):
    result = runs["results"]["import"]
    assert result.returncode == 0, result.stderr
    assert "2 example(s) changed" in result.stdout
    with open_store(runs["folder"] / "new.db") as store:
        assert store.categories(DATASET) == ["blurry", "dark"]
        assert store.tags(DATASET)[["id", "blurry", "dark", "mislabeled", "note"]].to_dict("records") == [
            {"id": "4", "blurry": True, "dark": False, "mislabeled": False, "note": "-x"},
            {"id": "5", "blurry": True, "dark": True, "mislabeled": True, "note": None}]


def test_refused_sheet_exits_2_with_one_line_and_changes_nothing(runs):
    failed(runs["results"]["refused"], "bad.csv: nothing was imported", "line 3: id '99' is not in preds.csv",
           "line 4: duplicate id '4' (also at line 2)")
    pd.testing.assert_frame_equal(runs["after"], runs["before"])


# --- formats and options, in this process -------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    preds = tmp_path / "preds.csv"
    preds.write_text(PREDICTIONS)
    db = tmp_path / "tags.db"
    make_store(db).close()
    return preds, db


def test_tallies_csv_and_table(files, capsys):
    preds, db = files
    assert main(["tallies", str(preds), "--db", str(db), "--dataset", DATASET, "--csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert frame.columns.tolist() == ["category", "count", "share", "share_low", "share_high", "ceiling"]
    assert frame["category"].tolist() == ["blurry", "dark", "mislabeled", "unexplained"]
    assert frame["count"].tolist() == [2, 1, 1, 0]
    assert frame["ceiling"].tolist() == pytest.approx([0.6, 0.3, 0.3, 0.0])

    assert main(["tallies", str(preds), "--db", str(db), "--dataset", DATASET, "--split", "test"]) == 0
    text = capsys.readouterr().out
    assert "[test]: 1 errors (50.00% error), 0 of them reviewed" in text
    assert "no reviewed errors in test yet" in text
    assert main(["tallies", str(preds), "--db", str(db), "--dataset", DATASET]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("[dev]: 3 errors (60.00% error), 2 of them reviewed in dataset 'pets'")
    assert lines[3].split() == ["blurry", "2", "100.00%", "34.24%-100.00%", "60.00%"]
    assert lines[4].split() == ["dark", "1", "50.00%", "9.45%-90.55%", "30.00%"]
    assert lines[5].split() == ["mislabeled", "1", "50.00%", "9.45%-90.55%", "30.00%"]
    assert lines[6].split() == ["unexplained", "0", "0.00%", "0.00%-65.76%", "0.00%"]
    assert "reviewed correct predictions: 1, mislabeled among them: 1" in lines[-1]

    with open_store(db) as store:  # a category name a spreadsheet would run as a formula
        store.rename_category(DATASET, "dark", "=HYPERLINK(\"http://x\")")
    assert main(["tallies", str(preds), "--db", str(db), "--dataset", DATASET, "--csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert frame["category"].tolist() == ["blurry", "'=HYPERLINK(\"http://x\")", "mislabeled", "unexplained"]


def test_export_to_a_file_and_default_db_from_the_environment(files, tmp_path, capsys, monkeypatch):
    preds, db = files
    out = tmp_path / "sheet.csv"
    monkeypatch.setenv("ERRORSCOPE_DB", str(db))
    assert main(["tags", "export", "--dataset", DATASET, "-o", str(out)]) == 0
    assert capsys.readouterr().err == f"wrote 3 tagged example(s) to {out}\n"
    assert out.read_bytes().decode().splitlines()[0] == "id,blurry,dark,mislabeled,corrected_label,note"
    monkeypatch.chdir(tmp_path)
    assert main(["tallies", str(preds), "--dataset", DATASET, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reviewed_errors"] == 2


@pytest.mark.parametrize("args,parts", [
    (["tallies", "{preds}", "--db", "{db}", "--dataset", DATASET, "--split", "holdout"],
     ["unknown split 'holdout'"]),
    (["tallies", "{preds}", "--db", "{db}", "--dataset", DATASET, "--split", "train"],
     ["no split 'train'; the file has dev, test"]),
    (["tallies", "{preds}", "--db", "{db}", "--dataset", "pest"],
     ["dataset 'pest' has no categories and no tags"]),
    (["tags", "export", "--db", "{db}", "--dataset", "pest"],
     ["dataset 'pest' has no categories and no tags"]),
    (["tallies", "{folder}/nope.csv", "--db", "{db}", "--dataset", DATASET], ["nope.csv: no such file"]),
    (["tags", "import", "{preds}", "{sheet}", "--db", "{db}", "--dataset", DATASET],
     ["unknown category column 'smudge'", "--create-categories"]),
    (["tags", "export", "--db", "{db}", "--dataset", DATASET, "-o", "{folder}/no/such/dir.csv"],
     ["cannot write"]),
    (["tags"], ["required: {import,export}"]),
    (["tallies", "{preds}", "--db", "{db}"], ["the following arguments are required: --dataset"]),
    (["tags", "export", "--db", "{folder}/missing.db", "--dataset", DATASET],
     ["no tag store at", "missing.db", "give its path with --db"]),
])
def test_bad_input_gives_one_error_line(files, tmp_path, capsys, args, parts):
    preds, db = files
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("id,blurry,smudge\n1,1,1\n")
    with open_store(db) as store:
        before = store.tags(DATASET)
    values = {"preds": str(preds), "db": str(db), "folder": str(tmp_path), "sheet": str(sheet)}
    try:
        status = main([a.format(**values) for a in args])
    except SystemExit as exit_:  # argparse errors
        status = exit_.code
    captured = capsys.readouterr()
    failed(subprocess.CompletedProcess(args, status, captured.out, captured.err), *parts)
    with open_store(db) as store:
        pd.testing.assert_frame_equal(store.tags(DATASET), before)
    assert not (tmp_path / "missing.db").exists()
