"""The Slices page and the slice filter of the other pages, run headless with Streamlit's AppTest on the demo."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from analysis import error_count, load_predictions
from analysis.filters import filter_json, filter_sql, filtered_counts, parse_filter
from tests.test_app import MAIN, app  # noqa: F401 (the fixture)

OFF_CENTRE = '[{"column":"position","op":"=","value":"off-centre"}]'


def test_the_slices_page_lists_the_demo_s_planted_slice_first(app):  # noqa: F811
    at = app("slices")
    table = at.dataframe[0].value
    assert table["slice"].iloc[0] == "position = off-centre"
    assert table[["examples", "errors"]].iloc[0].tolist() == [18, 14]
    assert not at.info or all("Slice:" not in i.value for i in at.info)  # no filter until a slice is clicked


def test_a_slice_in_the_address_filters_overview_and_confusion(app, demo_path):  # noqa: F811
    preds = load_predictions(demo_path)
    slice_counts = filtered_counts(preds, filter_sql(preds, parse_filter(preds, OFF_CENTRE)))
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["slice"] = OFF_CENTRE  # a reload, or a shared link
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Slice:" in i.value and "off-centre" in i.value for i in at.info)
    dev = slice_counts.where(split="dev")
    metrics = {x.label: x.value for x in at.metric}
    assert metrics["Dev error"] == f"{100 * error_count(dev) / dev.rows:.2f}%"
    assert at.query_params["slice"] == filter_json(parse_filter(preds, OFF_CENTRE))
    m, whole = dev.matrix(), preds.counts.where(split="dev").matrix()
    off = m - np.diag(np.diag(m))
    t, p = np.unravel_index(off.argmax(), off.shape)
    assert whole[t, p] > m[t, p]  # the cell holds more mistakes outside the slice
    at.session_state["cm_cell"] = ("dev", preds.classes[t], preds.classes[p])
    at.switch_page("views/confusion.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(c.value.startswith(f"{m[t, p]:,} mistake") for c in at.caption)
    at.button(key="slice_clear").click().run()
    assert not any("Slice:" in i.value for i in at.info) and "slice" not in at.query_params
    assert any(c.value.startswith(f"{whole[t, p]:,} mistake") for c in at.caption)


def test_a_slice_of_another_file_is_cleared_with_a_warning(app):  # noqa: F811
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["slice"] = '[{"column":"hospital","op":"=","value":"north"}]'
    at.run()
    assert not at.exception
    assert any("slice filter was cleared" in w.value and "no column 'hospital'" in w.value for w in at.warning)
    assert "slice" not in at.query_params


def test_the_label_issue_queue_keeps_to_the_slice(app, demo_path):  # noqa: F811
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["slice"] = OFF_CENTRE
    at.run()
    at.switch_page("views/label_issues.py").run()
    assert not at.exception, [e.message for e in at.exception]
    queue = at.dataframe[0].value
    ids = set(load_predictions(demo_path).query("SELECT id FROM preds WHERE position = 'off-centre'")["id"])
    assert len(queue) > 0 and set(queue["id"]) <= ids  # the queue's examples in the slice (Review: the browser test)
