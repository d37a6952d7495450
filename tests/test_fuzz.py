"""Generated files against the loader and the sheet importer: no traceback, no hang, and agreement with pandas.

Every generated predictions file either loads or raises one :class:`~analysis.errors.InputError`; a file that
loads has the rows and the (true, predicted) counts that pandas reads from it, labels normalized by the one rule.
Every generated sheet either imports or raises one :class:`~analysis.errors.ErrorscopeError`, and a refused sheet
changes nothing. Each case must finish within 10 s.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import ErrorscopeError, InputError, load_predictions
from analysis.export import import_sheet
from analysis.normalize import label_text
from analysis.tags import open_store

CASE_SECONDS = 10
#: Characters that break naive CSV handling, spreadsheets and the label rule.
ALPHABET = st.sampled_from(list('ab1 0.-+="\',\t\r\né\u00a0\ufeffxyE') + ["TRUE", "nan", "007", "1.0", "1e3"])
CELL = st.lists(ALPHABET, max_size=6).map("".join)
HEADERS = ["id", "y_true", "y_pred", "split", "weight", "note", "Y_TRUE", "y_true"]
SPLIT = st.sampled_from(["dev", "test", "train", "val", "", "holdout", " DEV "])


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


@st.composite
def predictions_files(draw) -> str:
    """Mostly well-formed CSVs (written by csv.writer) with hostile cells; sometimes raw, broken text."""
    if draw(st.integers(0, 9)) == 0:  # raw text: unbalanced quotes, ragged rows, stray bytes
        return draw(st.text(alphabet=st.sampled_from(list('id,y_true,y_pred\n"\r 1ab')), max_size=80))
    extra = draw(st.lists(st.sampled_from(HEADERS[3:]), max_size=2, unique=True))
    header = ["id", "y_true", "y_pred", *extra]
    n = draw(st.integers(1, 12))
    rows = []
    for i in range(n):
        row = [draw(st.one_of(st.just(str(i)), CELL)), draw(CELL), draw(CELL)]
        for column in extra:
            row.append(draw(SPLIT) if column == "split" else
                       draw(st.sampled_from(["1", "0.5", "2", "-1", "inf", "", "x"])) if column == "weight" else
                       draw(CELL))
        rows.append(row)
    return _csv_text(header, rows)


def _expected(path: Path) -> Counter:
    """(true, predicted) counts as pandas reads the file, by the one label rule."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    return Counter((label_text(t), label_text(p)) for t, p in zip(frame["y_true"], frame["y_pred"], strict=True))


def _loaded(preds) -> Counter:
    table = preds.counts
    at = {k: i for i, k in enumerate(table.keys)}
    got: Counter = Counter()
    for t, p, n in zip(table.columns[at["y_true"]], table.columns[at["y_pred"]], table.n, strict=True):
        got[(t, p)] += int(n)
    return got


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
@given(text=predictions_files())
def test_generated_predictions_files_load_or_give_one_clear_error(folder, text):
    path = folder / "p.csv"
    path.write_text(text, encoding="utf-8", newline="")
    start = time.perf_counter()
    try:
        preds = load_predictions(path)
    except InputError as exc:
        assert str(exc).startswith(str(path)) and "Traceback" not in str(exc)
        return
    finally:
        assert time.perf_counter() - start < CASE_SECONDS
    assert _loaded(preds) == _expected(path), text


@st.composite
def sheets(draw) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(alphabet=st.sampled_from(list('id,blurry,note\n"\r 1x\t=')), max_size=60))
    header = ["id", *draw(st.lists(st.sampled_from(["blurry", "note", "mislabeled", "corrected_label", "BLURRY",
                                                   "new"]), max_size=3))]
    rows = [[draw(st.sampled_from(["1", "2", "3", " 1", "1.0", "9", ""])),
             *(draw(st.sampled_from(["1", "0", "yes", "", "x", "maybe"])) if c in ("blurry", "BLURRY", "new",
                                                                                    "mislabeled") else draw(CELL)
               for c in header[1:])]
            for _ in range(draw(st.integers(0, 5)))]
    return _csv_text(header, rows)


@pytest.fixture(scope="module")
def target(folder):
    """The predictions the sheets name, and a store with one category: opened once for every sheet."""
    preds_path = folder / "preds.csv"
    preds_path.write_text("id,y_true,y_pred\n1,a,b\n2,a,a\n3,b,a\n")
    with open_store(folder / "tags.db", synchronous="NORMAL") as store:
        store.add_category("d", "blurry")
        yield load_predictions(preds_path), store


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
@given(text=sheets())
def test_generated_sheets_import_whole_or_change_nothing(folder, target, text):
    preds, store = target
    sheet = folder / "sheet.csv"
    sheet.write_text(text, encoding="utf-8", newline="")
    before = store.tags("d")
    start = time.perf_counter()
    try:
        import_sheet(store, "d", preds, sheet)
    except ErrorscopeError as exc:
        assert str(exc).startswith(str(sheet))
        pd.testing.assert_frame_equal(store.tags("d"), before)
    finally:
        assert time.perf_counter() - start < CASE_SECONDS
