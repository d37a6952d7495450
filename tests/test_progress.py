"""Progress while a large file is read: the engine's fraction through the pass, and the rows a file holds."""

from __future__ import annotations

import duckdb
import pytest

from analysis import InputError, load_predictions
from analysis.load import estimated_rows


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """5 million rows: a read long enough (over a second here) for the engine to report its progress."""
    rows = 5_000_000
    folder = tmp_path_factory.mktemp("large")
    rows_sql = (f"SELECT i AS id, hash(i) % 10 AS y_true, hash(i + {rows}) % 10 AS y_pred "
                f"FROM range({rows}) t(i)")
    with duckdb.connect() as con:
        for name in ("large.csv", "large.parquet"):
            con.execute(f"COPY ({rows_sql}) TO '{folder / name}'")
    return folder, rows


@pytest.mark.parametrize("name", ["large.csv", "large.parquet"])
def test_a_long_read_reports_its_progress_growing_to_100_percent(large, name):
    folder, rows = large
    seen: list[float] = []
    preds = load_predictions(folder / name, progress=seen.append)
    assert preds.rows == rows
    assert all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen)  # never backwards
    assert seen[-1] == 1.0  # 100 % once read
    if name.endswith(".csv"):  # the bytes read: reported along the way, not only at the end
        assert any(0.0 < f < 1.0 for f in seen), seen


def test_a_failed_read_does_not_report_100_percent(write):
    seen: list[float] = []
    with pytest.raises(InputError):
        load_predictions(write("bad.csv", "id,y_true,y_pred\n1,a,b\n1,b,a\n"), progress=seen.append)
    assert 1.0 not in seen


def test_estimated_rows(large, demo_path, write):
    folder, rows = large
    assert estimated_rows(folder / "large.parquet") == rows  # the footer's count: exact
    assert estimated_rows(folder / "large.csv") == pytest.approx(rows, rel=0.2)  # ids grow longer down the file
    assert estimated_rows(demo_path) == pytest.approx(1797, rel=0.1)
    assert estimated_rows(write("one.csv", "id,y_true,y_pred\n")) is None  # no row to measure
    assert estimated_rows(folder / "missing.csv") is None
