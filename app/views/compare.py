"""Compare: the open model (A) against a second model's predictions of the same examples (B): where B wins and
loses, whether the difference is more than noise, and the examples behind each cell of the disagreement table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import ErrorscopeError
from analysis.compare import (
    CELLS,
    Comparison,
    CoverageError,
    cell_examples,
    compare_predictions,
    per_class,
    per_slice,
    report,
    significance,
    slice_columns,
    split_report,
)
from analysis.demo import DEMO_DIR, demo_config
from analysis.registry import percent
from app import widgets

cur = widgets.require()
st.title("Compare")


def second_model_default() -> str:
    """The demo's second model (as ``demo_data/NAME``) when the demo is open; else nothing."""
    try:
        config = demo_config()
    except ErrorscopeError:
        return ""
    if cur.preds.path.resolve() == Path(config["path"]).resolve() and config.get("second_model"):
        return f"{DEMO_DIR.name}/{config['second_model']}"
    return ""


def openable_b(path: str) -> Path:
    """Model B's file: under the data root, or the demo's second model beside the open demo."""
    default = second_model_default()
    if default and path == default:
        return (DEMO_DIR / Path(default).name).resolve()
    return widgets.openable(path)


@st.cache_data(show_spinner="Joining the two files on their ids...", max_entries=8)
def _compare(key_a: str, path_b: str, size_b: int, mtime_b: int, shared: bool, _a) -> Comparison:
    return compare_predictions(_a, widgets.load(path_b), shared=shared)


@st.cache_data(show_spinner="Finding the examples...", max_entries=64)
def _cell_rows(key: str, _cmp: Comparison, split: str, cell: str, limit: int, offset: int) -> pd.DataFrame:
    return cell_examples(_cmp, split=split, cell=cell, limit=limit, offset=offset)


@st.cache_data(show_spinner="Measuring each slice...", max_entries=32)
def _slices(key: str, _cmp: Comparison, split: str, column: str) -> pd.DataFrame:
    return per_slice(_cmp, split, column)


st.caption(f"**A** is the open file, {widgets.plain(cur.preds.path.name)}. Give **B**, another model's "
           "predictions of the same examples (the same ids), say a fine-tuned model against the baseline.")
with st.form("compare_b", border=False):
    path_b = st.text_input("Model B's predictions file (CSV or Parquet) on the server",
                           value=st.session_state.get("compare_b_path") or second_model_default(),
                           placeholder="predictions_b.parquet")
    if st.form_submit_button("Compare", type="primary"):
        st.session_state["compare_b_path"] = path_b.strip()
path_b = st.session_state.get("compare_b_path") or second_model_default()
if not path_b:
    st.info("Give the path of model B's predictions file above, under the server's data folder "
            f"({widgets.plain(widgets.data_root())}).")
    st.stop()

b_file = openable_b(path_b)  # an InputError shows as a message (widgets.timed_page)
stat = b_file.stat() if b_file.is_file() else None
shared = st.session_state.get("compare_shared", False)
try:
    cmp = _compare(cur.key, str(b_file), stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1, shared,
                   cur.preds)
except CoverageError as exc:
    st.warning(widgets.plain(exc), icon=":material/warning:")
    if exc.shared:
        st.button(f"Compare on the {exc.shared:,} shared ids", key="compare_on_shared",
                  on_click=lambda: st.session_state.update(compare_shared=True))
    st.stop()

key = f"{cur.key}|{b_file}|{shared}"
st.caption(f"**B**: {widgets.plain(b_file.name)}" + (
    f" · on the shared ids: {cmp.only_a:,} only in A and {cmp.only_b:,} only in B left out"
    if cmp.only_a or cmp.only_b else f" · the same {cmp.counts.rows:,} examples"))

c1, c2 = st.columns([1, 3])
split = c1.selectbox("Split", cmp.splits, index=cmp.splits.index("dev") if "dev" in cmp.splits else 0,
                     format_func=widgets.SPLIT_LABELS.get, key="compare_split")
r = split_report(cmp, split)
a, b, d, m, table = r["a"], r["b"], r["difference"], r["mcnemar"], r["table"]

cols = st.columns(4)
cols[0].metric("Error of A", percent(a["error_rate"]))
cols[1].metric("Error of B", percent(b["error_rate"]),
               delta=None if d["value"] is None else f"{-100 * d['value']:+.2f} pp", delta_color="inverse")
if d["value"] is not None:
    cols[2].metric("Accuracy B - A", f"{100 * d['value']:+.2f} pp",
                   help="Percentage points; the 95% interval is a paired bootstrap: the examples resampled with "
                        "both models' predictions, 2,000 times")
cols[3].metric("McNemar exact p", "-" if m["exact_p_value"] is None else f"{m['exact_p_value']:.3g}",
               help="Exact binomial test on the examples only one model got right; the continuity-corrected "
                    "chi-squared is " + ("-" if m["statistic"] is None else
                                          f"{m['statistic']:.3f} (p = {m['p_value']:.3g})"))
interval = "" if d["value"] is None else (f"95% interval of the accuracy difference: {100 * d['low']:+.2f} to "
                                          f"{100 * d['high']:+.2f} percentage points; ")
st.caption(f"In the {widgets.SPLIT_LABELS[split]} split: {interval}{significance(m['exact_p_value'])}.")

st.subheader("Where they disagree")
st.caption("Each labeled example by which model got it right. Click a cell to see its examples: **only B right** "
           "are the examples B fixed, **only A right** those it broke.")
grid = st.columns([1, 2, 2])
grid[1].markdown("**B right**")
grid[2].markdown("**B wrong**")
for row_label, cells in (("**A right**", ("both_right", "only_a")), ("**A wrong**", ("only_b", "both_wrong"))):
    line = st.columns([1, 2, 2])
    line[0].markdown(row_label)
    for place, cell in zip(line[1:], cells, strict=True):
        chosen = st.session_state.get("compare_cell") == (split, cell)
        place.button(f"{CELLS[cell]}: {table[cell]:,}", key=f"cell_{cell}", width="stretch",
                     type="primary" if chosen else "secondary",
                     on_click=lambda c=cell: st.session_state.update(compare_cell=(split, c)))

picked = st.session_state.get("compare_cell")
if picked and picked[0] == split:
    cell = picked[1]
    total = table[cell]
    st.markdown(f"#### {CELLS[cell][0].upper()}{CELLS[cell][1:]}: {total:,} examples")
    if total:
        pages = -(-total // widgets.PAGE_SIZE)
        page = 1
        if pages > 1:
            page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1,
                                   key=f"compare_page_{split}_{cell}")
        frame = _cell_rows(key, cmp, split, cell, widgets.PAGE_SIZE, (page - 1) * widgets.PAGE_SIZE)
        widgets.show_examples(cur, frame)
        st.page_link("views/review.py", label="Tag A's mistakes by cause on the Review page",
                     icon=":material/checklist:")
    else:
        st.info("No examples in this cell.")

st.subheader("By class")
classes = per_class(cmp, split)
if classes.empty:
    st.info("No labeled examples in this split.")
else:
    shown = classes.assign(label=[widgets.chart_text(c) for c in classes["class"]])
    fig = go.Figure(go.Bar(
        x=100 * shown["difference"], y=shown["label"], orientation="h",
        marker_color=[widgets.VERMILION if v < 0 else widgets.BLUE for v in shown["difference"]],
        customdata=shown[["support", "fixed", "broken"]].to_numpy(),
        hovertemplate="class %{y}: %{x:+.1f} pp (%{customdata[0]} examples, %{customdata[1]} fixed, "
                      "%{customdata[2]} broken)<extra></extra>"))
    fig.update_layout(height=max(220, 26 * len(shown) + 80), margin=dict(t=10, l=60, r=20, b=50),
                      xaxis=dict(title="recall of B - recall of A (percentage points)", zeroline=True,
                                 zerolinecolor=widgets.GREY),
                      yaxis=dict(title="true class", type="category", autorange="reversed"),
                      plot_bgcolor="white")
    left, right = st.columns([2, 3], gap="large")
    left.plotly_chart(fig, config={"displayModeBar": False})
    left.caption("Vermilion: classes where B got worse; blue: where it got better. Worst first.")
    right.dataframe(classes, hide_index=True, column_config={
        "class": st.column_config.TextColumn("class"),
        "recall_a": st.column_config.NumberColumn("recall A", format="percent"),
        "recall_b": st.column_config.NumberColumn("recall B", format="percent"),
        "difference": st.column_config.NumberColumn("B - A", format="percent"),
    })

columns = slice_columns(cmp)
if columns:
    st.subheader("By slice")
    column = st.selectbox("Slice by", columns, key="compare_slice",
                          help="A metadata column of file A; each of its values is a slice")
    slices = _slices(key, cmp, split, column)
    if len(slices) > 50:
        st.caption(f"{len(slices):,} values: the 50 where B got worse most are shown.")
    st.dataframe(slices.head(50), hide_index=True, column_config={
        "value": st.column_config.TextColumn(column),
        "accuracy_a": st.column_config.NumberColumn("accuracy A", format="percent"),
        "accuracy_b": st.column_config.NumberColumn("accuracy B", format="percent"),
        "difference": st.column_config.NumberColumn("B - A", format="percent"),
    })

st.download_button("Download the comparison (JSON)", json.dumps(report(cmp), indent=2, allow_nan=False),
                   file_name=f"{widgets.file_stem(cur)}_compare.json", mime="application/json")
