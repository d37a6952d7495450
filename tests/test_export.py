"""The tag sheet: export, formula neutralization, and an import that takes all of a sheet or nothing."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from analysis import ErrorscopeError, load_predictions
from analysis.export import export_sheet, import_sheet, sheet_csv, write_sheet
from analysis.normalize import label_text
from analysis.review import examples, review_sample
from analysis.tallies import tally

PREDICTIONS = """id,split,y_true,y_pred,p_cat,p_dog,text,source
1,dev,cat,dog,0.25,0.75,a cat,web
2,dev,dog,dog,0.1,0.9,a dog,web
3,dev,cat,cat,0.8,0.2,=1+2,scan
4,test,dog,cat,0.6,0.4,-5,scan
-7,dev,dog,cat,0.7,0.3,minus,web
"""
DATASET = "pets"


@pytest.fixture
def preds(write):
    return load_predictions(write("p.csv", PREDICTIONS))


@pytest.fixture
def store(new_store):
    store = new_store()
    for name in ("blurry", "dark"):
        store.add_category(DATASET, name)
    return store


@pytest.fixture
def tagged(store):
    store.edit(DATASET, "1", categories={"blurry": True}, note="=HYPERLINK(\"http://evil\")")
    store.edit(DATASET, "4", categories={"blurry": True, "dark": True}, mislabeled=True,
               corrected_label="cat")
    store.edit(DATASET, "-7", note="'quoted", corrected_label="-1")  # marks it mislabeled too
    return store


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --- export -------------------------------------------------------------------------------------------------


def test_export_sheet_columns_and_values(tagged):
    sheet = export_sheet(tagged, DATASET)
    assert sheet.columns.tolist() == ["id", "blurry", "dark", "mislabeled", "corrected_label", "note"]
    assert sheet.to_dict("records") == [
        {"id": "-7", "blurry": 0, "dark": 0, "mislabeled": 1, "corrected_label": "-1", "note": "'quoted"},
        {"id": "1", "blurry": 1, "dark": 0, "mislabeled": 0, "corrected_label": None,
         "note": "=HYPERLINK(\"http://evil\")"},
        {"id": "4", "blurry": 1, "dark": 1, "mislabeled": 1, "corrected_label": "cat", "note": None},
    ]


def test_export_with_predictions_adds_context_after_id(tagged, preds):
    tagged.edit(DATASET, "99", note="not in the file")
    sheet = export_sheet(tagged, DATASET, preds)
    assert sheet.columns.tolist() == ["id", "y_true", "y_pred", "split", "confidence", "blurry", "dark",
                                      "mislabeled", "corrected_label", "note"]
    context = sheet[["id", "y_true", "y_pred", "split"]].to_dict("records")
    assert context == [{"id": "-7", "y_true": "dog", "y_pred": "cat", "split": "dev"},
                       {"id": "1", "y_true": "cat", "y_pred": "dog", "split": "dev"},
                       {"id": "4", "y_true": "dog", "y_pred": "cat", "split": "test"},
                       {"id": "99", "y_true": None, "y_pred": None, "split": None}]
    assert sheet["confidence"].tolist()[:3] == [0.7, 0.75, 0.6] and pd.isna(sheet["confidence"].iloc[3])


def test_written_sheet_neutralizes_formulas(tagged, preds):
    tagged.add_category(DATASET, "@risk")
    text = sheet_csv(export_sheet(tagged, DATASET, preds))
    rows = rows_of(text)
    assert rows[0] == ["id", "y_true", "y_pred", "split", "confidence", "blurry", "dark", "'@risk",
                       "mislabeled", "corrected_label", "note"]
    assert rows[1] == ["'-7", "dog", "cat", "dev", "0.7", "0", "0", "0", "1", "'-1", "''quoted"]
    assert rows[2][0] == "1" and rows[2][-1] == "'=HYPERLINK(\"http://evil\")"
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_write_sheet_to_a_file(tagged, tmp_path):
    path = tmp_path / "sheet.csv"
    write_sheet(export_sheet(tagged, DATASET), path)
    assert path.read_bytes().decode("utf-8") == sheet_csv(export_sheet(tagged, DATASET))
    assert path.read_bytes().startswith(b"id,blurry,dark,mislabeled,corrected_label,note\r\n'-7,")


def test_reviewed_column_only_when_some_example_is_not_reviewed(tagged):
    tagged.edit(DATASET, "2", categories={"dark": True}, reviewed=False)
    sheet = export_sheet(tagged, DATASET)
    assert sheet.columns[-1] == "reviewed"
    assert dict(zip(sheet["id"], sheet["reviewed"], strict=True)) == {"-7": 1, "1": 1, "2": 0, "4": 1}


def test_export_of_a_dataset_without_tags_is_a_header_only_sheet(tagged):
    sheet = export_sheet(tagged, "pest")
    assert sheet.empty
    assert sheet_csv(sheet) == "id,mislabeled,corrected_label,note\r\n"


# --- round trips --------------------------------------------------------------------------------------------


TRICKY = ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'", "''x", "plain", "a'b", "x\ny", " =spaced", "-",
          "=cmd|' /C calc'!A0"]


def test_every_cell_reads_back_as_written(write, tmp_path, new_store):
    """Each tricky text as an id, a category name, a note and a corrected label, out and back in."""
    ids = [t for t in TRICKY if label_text(t) == t and "\n" not in t]  # ids the loader keeps as written
    preds = load_predictions(write("p.csv", "id,y_true,y_pred\n" + "".join(
        '"' + i.replace('"', '""') + '",a,b\n' for i in ids)))
    assert sorted(preds.query("SELECT id FROM preds")["id"]) == sorted(ids)
    first = new_store("first.db")
    first.add_category(DATASET, "=cat")
    first.add_category(DATASET, "-cat")
    for number, text in enumerate(TRICKY):
        first.edit(DATASET, ids[number % len(ids)], note=text, corrected_label=TRICKY[-1 - number],
                   categories={"=cat": number % 2 == 0, "-cat": number % 3 == 0})
    path = tmp_path / "sheet.csv"
    write_sheet(export_sheet(first, DATASET, preds), path)
    second = new_store("second.db")
    assert import_sheet(second, DATASET, preds, path, create_categories=True) == len(ids)
    assert second.categories(DATASET) == ["=cat", "-cat"]
    keep = ["id", "mislabeled", "corrected_label", "note", "=cat", "-cat"]
    pd.testing.assert_frame_equal(second.tags(DATASET)[keep], first.tags(DATASET)[keep])
    assert set(second.tags(DATASET)["note"]) >= {"'", "''x", " =spaced", "-"}


def test_demo_sheet_imported_into_an_empty_database_gives_the_same_tallies(demo_path, demo_config, tmp_path,
                                                                         new_store):
    preds = load_predictions(demo_path)
    dataset = demo_config["dataset"]
    first = new_store("first.db", user="a")
    for name in ("thick stroke", "noisy", "=odd"):
        first.add_category(dataset, name)
    for i, row in enumerate(review_sample(preds, n=25, correct=6).itertuples()):
        first.edit(dataset, row.id, categories={"thick stroke": row.stroke == "thick",
                                                "noisy": row.noise > 0.05, "=odd": i % 5 == 0},
                   mislabeled=i % 3 == 0, corrected_label=str(row.y_pred) if i % 3 == 0 else None,
                   note=f"-{i}" if i % 2 else "")
    test_id = preds.query("SELECT id FROM preds WHERE split = 'test' AND y_true <> y_pred ORDER BY row").id[0]
    first.edit(dataset, test_id, categories={"noisy": True}, mislabeled=True)  # a test-split mistake too
    path = tmp_path / "sheet.csv"
    write_sheet(export_sheet(first, dataset, preds), path)

    second = new_store("second.db", user="b")
    assert import_sheet(second, dataset, preds, path, create_categories=True) == 25 + 6 + 1
    assert second.categories(dataset) == ["thick stroke", "noisy", "=odd"]
    for split in ("dev", "test"):
        assert tally(preds, second, dataset, split=split) == tally(preds, first, dataset, split=split)
    keep = ["id", "reviewed", "mislabeled", "corrected_label", "note", "thick stroke", "noisy", "=odd"]
    pd.testing.assert_frame_equal(second.tags(dataset)[keep], first.tags(dataset)[keep])
    assert import_sheet(second, dataset, preds, path) == 0  # importing it again changes nothing


# --- import -------------------------------------------------------------------------------------------------


def test_import_accepts_boolean_spellings_and_ignores_prediction_columns(store, preds, write):
    sheet = write("s.csv", "ID,y_true,y_pred,split,confidence,text,source,p_cat,weight,Blurry,DARK,"
                           "mislabeled,note\n"
                           "1,cat,dog,dev,0.75,a cat,web,0.25,1,x,,yes,first\n"
                           "2,dog,dog,dev,0.9,a dog,web,0.1,1,TRUE,False,0,\n"
                           "3,cat,cat,dev,0.8,=1+2,scan,0.8,1,Yes,1,No,'=2\n"
                           "4,,,,,,,,,0,true,false,\n"
                           ",,,,,,,,,,,,\n")
    assert import_sheet(store, DATASET, preds, sheet) == 4
    tags = store.tags(DATASET)
    assert tags[["id", "reviewed", "blurry", "dark", "mislabeled", "note"]].to_dict("records") == [
        {"id": "1", "reviewed": True, "blurry": True, "dark": False, "mislabeled": True, "note": "first"},
        {"id": "2", "reviewed": True, "blurry": True, "dark": False, "mislabeled": False, "note": None},
        {"id": "3", "reviewed": True, "blurry": True, "dark": True, "mislabeled": False, "note": "=2"},
        {"id": "4", "reviewed": True, "blurry": False, "dark": True, "mislabeled": False, "note": None},
    ]


def test_import_leaves_fields_without_a_column_as_they_are(tagged, preds, write):
    sheet = write("s.csv", "id,dark\n4,0\n1,1\n")
    assert import_sheet(tagged, DATASET, preds, sheet) == 2
    tags = tagged.tags(DATASET).set_index("id")
    assert tags.loc["4", ["blurry", "dark", "mislabeled", "corrected_label"]].tolist() == [
        True, False, True, "cat"]
    assert tags.loc["1", "note"] == "=HYPERLINK(\"http://evil\")" and tags.loc["1", "dark"]


def test_import_reads_bytes_with_a_byte_order_mark_and_integral_ids(store, preds):
    data = io.BytesIO("\ufeffid,blurry,note\n1.0,1,café\n".encode())
    assert import_sheet(store, DATASET, preds, data) == 1
    assert store.tags(DATASET)[["id", "blurry", "note"]].to_dict("records") == [
        {"id": "1", "blurry": True, "note": "café"}]


def test_a_category_named_like_a_prediction_column(store, preds, write):
    sheet = write("s.csv", "id,blurry,source\n1,1,1\n")
    assert import_sheet(store, DATASET, preds, sheet, create_categories=True) == 1
    assert store.categories(DATASET) == ["blurry", "dark"]  # 'source' is the predictions' column: ignored
    store.add_category(DATASET, "Source")
    assert import_sheet(store, DATASET, preds, sheet) == 1  # now it is a category
    assert store.tags(DATASET)[["id", "blurry", "Source"]].to_dict("records") == [
        {"id": "1", "blurry": True, "Source": True}]


def test_create_categories_adds_the_unknown_columns(store, preds, write):
    sheet = write("s.csv", "id,blurry,wrong crop,'=formula\n1,1,1,0\n3,0,x,1\n")
    assert import_sheet(store, DATASET, preds, sheet, create_categories=True) == 2
    assert store.categories(DATASET) == ["blurry", "dark", "wrong crop", "=formula"]
    tags = store.tags(DATASET)
    assert tags["wrong crop"].tolist() == [True, True] and tags["=formula"].tolist() == [False, True]


# --- refused sheets: nothing changes ------------------------------------------------------------------------


BAD_SHEETS = [
    ("id,blurry\n1,1\n3,0\n1,1\n", ["line 4: duplicate id '1' (also at line 2)"]),
    ("id,blurry\n1,1\n42,1\n3,0\nnope,0\n",
     ["line 3: id '42' is not in p.csv", "line 5: id 'nope' is not in p.csv"]),
    ("id,blurry,mislabeled\n1,maybe,0\n3,1,2\n", ["line 2: 'maybe' in column 'blurry' is not a yes/no value",
                                                  "line 3: '2' in column 'mislabeled' is not a yes/no value",
                                                  "use 1/0, true/false, yes/no or x/blank"]),
    ("id,blurry,wrong crop,smudge\n1,1,1,0\n",
     ["unknown category columns 'wrong crop', 'smudge'", "has the categories: 'blurry', 'dark'",
      "Add the category first, or import with create_categories=True"]),
    ("example,blurry\n1,1\n", ["the sheet has no 'id' column"]),
    ("id,blurry\n1,1,1\n", ["line 2: 3 cells but the header has 2"]),
    ("id,blurry\n,1\n", ["line 2: the id is blank"]),
    ("id,blurry,blurry\n1,1,1\n", ["the column 'blurry' twice"]),
    ("id;blurry\n1;1\n", ["save the sheet as comma-separated CSV"]),
    ("id,note,blurry\n1,\"two\nlines\",1\n3,x,nah\n", ["line 4: 'nah' in column 'blurry'"]),
    ("", ["the sheet is empty"]),
    ("id,blurry,note\n1,1,\"never closed\n3,1,ok\n", ["not a valid CSV at line 2", "never closed"]),
    ("id,note\n1,\"a\"b\n", ["not a valid CSV at line 2"]),
    ("id," + ",".join(f"c{i}" for i in range(100_000)) + "\n1\n",
     ["the header has 100,001 columns, more than the 10,000 errorscope reads"]),
    ("id,note\n1," + "x" * (3 * 2**20) + "\n", ["line 2 is longer than 2 MiB, the longest line errorscope reads"]),
]


@pytest.mark.parametrize("content,messages", BAD_SHEETS)
def test_bad_sheet_is_refused_whole(tagged, preds, write, content, messages):
    before = tagged.tags(DATASET)
    categories = tagged.categories(DATASET)
    sheet = write("bad.csv", content)
    with pytest.raises(ErrorscopeError) as info:
        import_sheet(tagged, DATASET, preds, sheet)
    message = str(info.value)
    assert message.startswith(f"{sheet}: ") and len(message) < 1000
    for expected in messages:
        assert expected in message, message
    pd.testing.assert_frame_equal(tagged.tags(DATASET), before)
    assert tagged.categories(DATASET) == categories


def test_a_bad_row_anywhere_refuses_the_good_rows_too(tagged, preds, write):
    before = tagged.tags(DATASET)
    sheet = write("bad.csv", "id,blurry,dark\n2,1,1\n3,1,1\n1,1,oops\n")
    with pytest.raises(ErrorscopeError, match="nothing was imported: line 4: 'oops'"):
        import_sheet(tagged, DATASET, preds, sheet, create_categories=True)
    pd.testing.assert_frame_equal(tagged.tags(DATASET), before)


def test_not_utf8_and_missing_sheet_are_refused(tagged, preds, write, tmp_path):
    with pytest.raises(ErrorscopeError, match="not UTF-8"):
        import_sheet(tagged, DATASET, preds, write("latin.csv", "id,note\n1,caf\xe9\n".encode("latin-1")))
    with pytest.raises(ErrorscopeError, match="no such file"):
        import_sheet(tagged, DATASET, preds, tmp_path / "missing.csv")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ids_and_labels_starting_with_a_tab_or_cr_round_trip(tmp_path, new_store, fmt):
    """One normalizer in SQL and in Python: the cell of a tab-prefixed class opens, its sheet imports back."""
    frame = pd.DataFrame({"id": ["\t1", "\r2", " 3\t", "\r\n4"], "y_true": ["\tcat", "\rcat", "dog\t", "\r\ndog"],
                          "y_pred": ["\rdog", "\tdog", "\tcat", "dog\r"]})
    path = tmp_path / f"p.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)  # a bare CR would end the line
    else:
        frame.to_parquet(path)
    preds = load_predictions(path)
    assert preds.classes == ("cat", "dog")
    cell = examples(preds, true_class="cat", pred_class="dog")
    assert sorted(cell["id"]) == ["1", "2"]
    assert sorted(examples(preds, true_class="\tdog\r", pred_class=" cat")["id"]) == ["3"]
    first = new_store("first.db")
    first.add_category(DATASET, "\tblurry")
    for example in ("\t1", "\r2", "3", "4\r"):
        first.edit(DATASET, example, categories={"blurry": True}, corrected_label="\tcat", note="\tkept")
    sheet = tmp_path / "sheet.csv"
    write_sheet(export_sheet(first, DATASET, preds), sheet)
    second = new_store("second.db")
    assert import_sheet(second, DATASET, preds, sheet, create_categories=True) == 4
    keep = ["id", "mislabeled", "corrected_label", "note", "blurry"]
    pd.testing.assert_frame_equal(second.tags(DATASET)[keep], first.tags(DATASET)[keep])
    assert second.tags(DATASET)["id"].tolist() == ["1", "2", "3", "4"]
