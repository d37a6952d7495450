"""The one rule for labels, ids and splits: Python and SQL give the same text for the same value."""

from __future__ import annotations

import duckdb
import pytest

from analysis.normalize import SPLIT_ALIASES, blank_sql, label_sql, label_text, split_name, split_sql

TEXTS = [" 3.00 ", "007", "-007", "+5", "1.50", "1e3", "1E-7", ".5", "5.", "True", "FALSE", "tRuE", "cat", " Cat\t",
         "", "  ", "\r\n", "nan", "inf", "1_000", "0x10", "12345678901234567890", "1e15", "999999999999999.0",
         "-0.0", "3.14159", "1,5", "é", "１", "comp.os.ms-windows.misc", "=1+2", "-1", "'"]
DOUBLES = [3.0, 1.5, -2.0, float("nan"), float("inf"), -0.0, 1e15, 1e16, 0.1, 2.5e-7, 123456.789, 1 / 3]


def _sql(values: list, sql_type: str) -> list:
    """``label_sql`` applied by DuckDB to each value, in order."""
    query = f"SELECT [{label_sql('x', sql_type)} FOR x IN ?::{sql_type}[]]"
    return duckdb.connect().execute(query, [values]).fetchone()[0]


@pytest.mark.parametrize(("values", "sql_type"), [(TEXTS, "VARCHAR"), (DOUBLES, "DOUBLE"), ([True, False], "BOOLEAN"),
                                                  ([0, 7, -3, 2**62], "BIGINT")])
def test_sql_gives_the_python_text(values, sql_type):
    assert _sql(values, sql_type) == [label_text(v) for v in values]


def test_the_rule():
    assert [label_text(v) for v in (" 3.00 ", 3.0, 3, "3", "007")] == ["3"] * 4 + ["7"]
    assert label_text("1.50") == label_text(1.5) == "1.5"
    assert label_text(True) == label_text("true") == label_text("True") == label_text(1) == "1"
    assert label_text("12345678901234567891") == "12345678901234567891"  # no float in between
    assert [label_text(v) for v in ("", " \t", None, float("nan"))] == [None] * 4
    assert label_text("Cat") != label_text("cat")


def test_splits():
    assert [split_name(s) for s in (" Val ", "TRAIN-dev", "test", "holdout", None, 3)] == [
        "dev", "train_dev", "test", None, None, None]
    con = duckdb.connect()
    raw = [*SPLIT_ALIASES, " Validation\t", "holdout"]
    got = con.execute(f"SELECT [{split_sql('x')} FOR x IN ?::VARCHAR[]]", [raw]).fetchone()[0]
    assert got == [split_name(s) for s in raw]


@pytest.mark.parametrize(("values", "sql_type"), [(TEXTS, "VARCHAR"), (DOUBLES, "DOUBLE"), ([True, False], "BOOLEAN"),
                                                  ([0, 7], "BIGINT")])
def test_blank_sql_is_where_the_rule_gives_nothing(values, sql_type):
    query = f"SELECT [{blank_sql('x', sql_type)} FOR x IN ?::{sql_type}[]]"
    assert duckdb.connect().execute(query, [values]).fetchone()[0] == [label_text(v) is None for v in values]


def test_a_blank_id_of_whitespace_is_named(write):
    from analysis import InputError, load_predictions

    with pytest.raises(InputError, match=r"column 'id' is blank at line 3"):
        load_predictions(write("p.csv", "id,y_true,y_pred\n1,a,a\n\t,b,a\n"))
