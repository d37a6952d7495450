"""The Compare and Runs pages' bad input, through Streamlit's AppTest (no browser): files of other examples, a file
outside the data folder, thresholds and expressions that cannot be read; each a message, never a traceback."""

from __future__ import annotations

import pandas as pd

from tests.conftest import DEMO
from tests.test_app import app  # noqa: F401  (the app on the demo, its data folder a temporary one)


def _texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_compare_other_examples_then_on_the_shared_ids(app, tmp_path):  # noqa: F811
    frame = pd.read_csv(DEMO / "digits_b.csv", dtype=str, keep_default_na=False).iloc[10:]
    frame.to_csv(tmp_path / "b.csv", index=False)
    at = app("compare")
    assert "only A right" in " ".join(b.label for b in at.button)  # the demo's second model, by default
    at.text_input[0].input("b.csv")
    at.button[0].click().run()
    assert not at.exception
    assert "1,787 ids are in both, 10 only in A, 0 only in B" in _texts(at.warning)
    next(b for b in at.button if b.label.startswith("Compare on the 1,787 shared ids")).click().run()
    assert not at.exception and not at.warning
    assert "10 only in A and 0 only in B left out" in _texts(at.caption)
    assert any(m.label == "McNemar exact p" for m in at.metric)


def test_compare_refuses_a_file_outside_the_data_folder(app):  # noqa: F811
    at = app("compare")
    at.text_input[0].input("/etc/hostname")
    at.button[0].click().run()
    assert not at.exception
    assert "outside the data folder" in _texts(at.error)


def test_runs_page_says_what_it_cannot_read(app, tmp_path):  # noqa: F811
    (tmp_path / "runs.csv").write_text("run_id,lr,dev_error,latency_ms\na,0.001,0.20,80\nb,0.01,0.15,120\n"
                                       "c,0.1,0.18,90\n", encoding="utf-8")
    at = app("runs")
    assert "Open a runs table" in _texts(at.info)
    at.text_input[0].input("runs.csv")
    at.button[0].click().run()
    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["3 of 3", "b"]  # dev_error is guessed as the metric to minimize
    at.text_area[0].input("latency_ms<=100").run()
    assert [m.value for m in at.metric][:2] == ["2 of 3", "c"]
    at.text_area[0].input("latency is low").run()
    assert not at.exception and "cannot read the threshold" in _texts(at.error)
    at.text_area[0].input("").run()
    at.selectbox[0].select("(an expression)").run()
    at.text_input[1].input("__import__('os').getcwd()").run()
    assert not at.exception and "calls something other than one of log" in _texts(at.error)
    at.text_input[1].input("dev_error + latency_ms / 100").run()  # 1.00, 1.35 and 1.08
    assert [m.value for m in at.metric][:2] == ["3 of 3", "a"]
