"""errorscope's dashboard: ``streamlit run app/main.py`` (or ``errorscope app FILE``)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run app/main.py` from a checkout

from app import slice_filter, widgets  # noqa: E402

# a local icon: a Material icon as the page's icon is fetched from fonts.gstatic.com, and nothing may leave the server
st.set_page_config(page_title="errorscope", page_icon=str(Path(__file__).with_name("icon.png")), layout="wide")
st.set_option("client.showErrorDetails", "none")  # an unexpected error: a short message; the details go to the log

pages = [
    st.Page("views/data.py", title="Data", icon=":material/folder_open:"),
    st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", default=True),
    st.Page("views/confusion.py", title="Confusion matrix", icon=":material/grid_on:"),
    st.Page("views/review.py", title="Review", icon=":material/checklist:"),
    st.Page("views/label_issues.py", title="Label issues", icon=":material/label_off:"),
    st.Page("views/slices.py", title="Slices", icon=":material/pie_chart:"),
    st.Page("views/tallies.py", title="Tallies", icon=":material/bar_chart:"),
    st.Page("views/gaps.py", title="Gaps", icon=":material/stacked_line_chart:"),
    st.Page("views/shift.py", title="Shift", icon=":material/compare_arrows:"),
    st.Page("views/compare.py", title="Compare", icon=":material/difference:"),
    st.Page("views/runs.py", title="Runs", icon=":material/tune:"),
]
page = st.navigation(pages)

with st.sidebar:
    cur = widgets.current()
    if cur is not None:
        st.caption("Dataset")
        st.text(cur.dataset)
        st.caption(f"{widgets.plain(cur.preds.path.name)} · {cur.preds.rows:,} rows · {len(cur.preds.classes)} classes")
        widgets.pick_task(cur)
slice_filter.banner(cur)  # at the top of every page
widgets.keep_in_address()  # on every page: a change of page clears the address's query parameters

widgets.timed_page(page)
