"""Slices: where the model fails. The slices SliceLine finds, and the error of each value of each column; a click
on a slice filters every page to it."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.filters import TAG_PREFIX
from analysis.slices import Context, default_support, error_by_slice, find_slices, slice_columns
from app import slice_filter, widgets

cur = widgets.require()
preds = cur.preds
store = widgets.store()
st.title("Slices")
st.caption("Random errors are fine; systematic ones are the problem. These are the groups of examples (values of "
           "the metadata, the true and predicted class, the model's confidence, the tags you gave) where the model "
           "errs more than on the rest. Click a slice to look at its mistakes on every page.")


@st.cache_data(show_spinner="Finding the slices...", max_entries=16)
def _found(key: str, _preds, split, columns, max_predicates, min_support, alpha, top, tags_version, _ctx):
    return find_slices(_preds, split, list(columns), max_predicates=max_predicates, min_support=min_support,
                       alpha=alpha, top=top, context=_ctx)


@st.cache_data(show_spinner=False, max_entries=16)
def _offered(key: str, _preds, split, tags_version, _ctx):
    return slice_columns(_preds, split, context=_ctx)


@st.cache_data(show_spinner="Counting the errors of each value...", max_entries=16)
def _by_value(key: str, _preds, split, columns, tags_version, _ctx):
    return error_by_slice(_preds, split, list(columns), context=_ctx)


tags = store.tags(cur.dataset)
reviewed = bool(len(tags)) and bool(tags["reviewed"].any())
ctx = Context(tags=tags, categories=tuple(store.categories(cur.dataset))) if reviewed else Context()
version = str(int(pd.util.hash_pandas_object(tags, index=False).sum())) if reviewed else ""

c1, c2, c3, c4 = st.columns(4)
split = widgets.pick_split(preds, key="sl_split", where=c1)
labeled = preds.counts.where(split=split).labeled().rows
levels = c2.segmented_control("Values per slice", [1, 2, 3], default=3, key="sl_levels",
                              help="Slices are conjunctions of up to this many column values") or 3
support = c3.number_input("Fewest examples in a slice", min_value=1, value=default_support(labeled),
                          key=f"sl_support_{split}", help="SliceLine's minimum support (default: 1% of the split)")
alpha = c4.slider("Error against size (alpha)", min_value=0.5, max_value=1.0, value=0.95, step=0.01, key="sl_alpha",
                  help="SliceLine's alpha: 1 ranks by error alone, lower values favour larger slices")
with st.expander("Columns"):
    offered, skipped = _offered(cur.key, preds, split, version, ctx)
    chosen = st.multiselect("Slice by", [c.name for c in offered], key=f"sl_cols_{split}",
                            default=[c.name for c in offered if not c.name.startswith(TAG_PREFIX)],
                            help="Tags can be added: reviewers look mostly at mistakes, so the reviewed examples "
                                 "err far more than the rest whatever their tags")
    for name, why in skipped.items():
        st.caption(f"{widgets.plain(name)} is left out: {widgets.plain(why)}")
if not chosen:
    st.info("Pick at least one column to slice by.")
    st.stop()
if not labeled:
    st.info(f"The {widgets.SPLIT_LABELS[split]} split has no labeled examples to slice.")
    st.stop()

found = _found(cur.key, preds, split, tuple(chosen), int(levels), int(support), float(alpha), 10, version, ctx)

st.subheader("Where the model fails")
st.caption(f"{found.rows:,} labeled examples, {widgets.plain(f'{100 * found.error_rate:.1f}')}% error. Slices of "
           f"at least {found.min_support:,} examples, ranked by SliceLine's score (alpha {found.alpha:g}): higher "
           "error, larger slice. Click a row to filter every page to that slice.")
if not found.slices:
    st.success("No slice errs more than the split as a whole at this size. Lower the fewest examples to look at "
               "smaller slices.")
else:
    table = pd.DataFrame({"slice": [s.label for s in found.slices], "examples": [s.size for s in found.slices],
                          "errors": [s.errors for s in found.slices],
                          "error": [100 * s.error_rate for s in found.slices],
                          "times the split's": [s.error_rate / found.error_rate for s in found.slices],
                          "score": [s.score for s in found.slices]})
    event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key=f"sl_table_{split}", column_config={
                             "slice": st.column_config.TextColumn("slice", width="large"),
                             "error": st.column_config.ProgressColumn("error (%)", min_value=0, max_value=100,
                                                                      format="%.1f"),
                             "times the split's": st.column_config.NumberColumn(format="%.2f"),
                             "score": st.column_config.NumberColumn(format="%.3f")})
    rows = event.selection.rows if event and event.selection else []
    picked = found.slices[rows[0]].predicates if rows else None
    if picked and st.session_state.get("sl_last_pick") != picked:  # a new click (a kept selection is not one)
        st.session_state["sl_last_pick"] = picked
        slice_filter.set_filter(picked)
        st.rerun()
if slice_filter.predicates(cur):
    st.page_link("views/review.py", label="Review the mistakes in this slice", icon=":material/checklist:")

st.subheader("Error by column")
values = _by_value(cur.key, preds, split, tuple(chosen), version, ctx)
rate = found.error_rate
st.caption(f"Each value's error with its 95% Wilson interval; the dashed line is the split's error "
           f"({100 * rate:.1f}%). Orange bars err clearly more than the split (the whole interval above the line), "
           "green ones clearly less.")


def chart(part: pd.DataFrame, column: str) -> go.Figure:
    colour = [widgets.VERMILION if lo > rate else widgets.GREEN if hi < rate else widgets.BLUE
              for lo, hi in zip(part["low"], part["high"], strict=True)]
    labels = [widgets.chart_text("(missing)" if v is None else v) for v in part["value"]]
    fig = go.Figure(go.Bar(
        x=labels, y=100 * part["error_rate"], marker_color=colour,
        error_y=dict(type="data", symmetric=False, array=100 * (part["high"] - part["error_rate"]),
                     arrayminus=100 * (part["error_rate"] - part["low"]), color=widgets.GREY),
        customdata=list(zip(part["examples"], part["errors"], 100 * part["share_of_errors"], part["lift"],
                            strict=True)),
        hovertemplate="%{x}<br>error %{y:.1f}%<br>%{customdata[1]:,} errors of %{customdata[0]:,} examples<br>"
                      "%{customdata[2]:.1f}% of the split's errors<br>%{customdata[3]:.2f} times the split's error"
                      "<extra></extra>"))
    fig.add_hline(y=100 * rate, line_dash="dash", line_color=widgets.GREY)
    fig.update_layout(title=widgets.chart_text(column), xaxis_title=None, yaxis_title="error (%)",
                      xaxis_type="category", margin=dict(t=40, b=40, l=50, r=10), height=300, showlegend=False)
    return fig


grid = st.columns(2)
for i, column in enumerate(chosen):
    part = values[values["column"] == column]
    if part.empty:
        continue
    with grid[i % 2]:
        st.plotly_chart(chart(part, column), key=f"sl_chart_{split}_{column}")
