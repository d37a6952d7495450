"""Confusion matrix: counts or normalized per split, the most confused pairs, and the examples behind a cell."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from analysis import confusion_matrix, most_confused
from app import widgets

cur = widgets.require()
preds = cur.preds
st.title("Confusion matrix")

NORMALIZE = {"Counts": None, "Share of true class (recall)": "true", "Share of predicted class (precision)": "pred",
             "Share of all": "all"}
c1, c2, c3 = st.columns([1, 2, 1])
default = preds.splits.index("dev") if "dev" in preds.splits else 0
split = c1.selectbox("Split", preds.splits, index=default, format_func=widgets.SPLIT_LABELS.get, key="cm_split")
norm_label = c2.selectbox("Show", list(NORMALIZE), key="cm_norm")
weighted = c3.toggle("Weighted", disabled=not preds.counts.weighted, key="cm_weighted",
                     help="Sum example weights instead of counting examples" if preds.counts.weighted
                     else "The file has no weight column")
normalize = NORMALIZE[norm_label]
conf = confusion_matrix(preds.counts, split=split, weighted=weighted, normalize=normalize)
counts = confusion_matrix(preds.counts, split=split).matrix
labels = [str(c) for c in conf.labels]
k = len(labels)

if counts.sum() == 0:
    st.info(f"The {widgets.SPLIT_LABELS[split]} split has no labeled examples, so no confusion matrix.")
    st.stop()


def _fmt(v: float) -> str:
    if normalize:
        return f"{100 * v:.1f}%"
    return f"{v:,.1f}" if weighted else f"{int(v):,}"


def heatmap() -> go.Figure:
    """One square marker per cell: unlike a plotly heatmap, a marker reports its cell when clicked."""
    t, p = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    values = conf.matrix[t, p].ravel()
    side = min(640, max(360, 48 * k))
    size = (side - 120) / k * 0.94
    top = values.max() or 1
    text_colour = np.where(values > 0.55 * top, "white", "black")
    fig = go.Figure(go.Scatter(
        x=[labels[j] for j in p.ravel()], y=[labels[i] for i in t.ravel()],
        mode="markers+text" if k <= 20 else "markers",
        text=[_fmt(v) for v in values], textfont=dict(color=list(text_colour), size=12 if k <= 12 else 9),
        customdata=np.stack([t.ravel(), p.ravel(), counts[t, p].ravel()], axis=1),
        hovertemplate="true %{y}, predicted %{x}<br>%{text}<br>%{customdata[2]} examples<extra></extra>",
        marker=dict(symbol="square", size=size, color=values, colorscale="Blues", cmin=0, cmax=top,
                    line=dict(width=0), colorbar=dict(title=dict(text="share" if normalize else
                                                             ("weight" if weighted else "examples")))),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0.75)),
    ))
    fig.update_layout(
        height=side, width=side + 110, margin=dict(t=30, l=70, r=20, b=60), plot_bgcolor="white",
        xaxis=dict(title="predicted class", type="category", categoryorder="array", categoryarray=labels,
                   side="bottom", showgrid=False, fixedrange=True),
        yaxis=dict(title="true class", type="category", categoryorder="array", categoryarray=labels[::-1],
                   showgrid=False, fixedrange=True),
        dragmode=False,
    )
    return fig


left, right = st.columns([3, 2], gap="large")
with left:
    st.caption("Rows are true classes, columns predicted ones. Click a cell to see its examples.")
    event = st.plotly_chart(heatmap(), on_select="rerun", selection_mode="points", key=f"cm_{split}_{k}",
                            width="content", config={"displayModeBar": False})
    points = event.selection.points if event and event.selection else []
    if points:
        i, j, _ = points[0]["customdata"]
        picked = (split, labels[int(i)], labels[int(j)])
        if st.session_state.get("cm_last_click") != picked:
            st.session_state["cm_last_click"] = picked
            st.session_state["cm_cell"] = picked

with right:
    st.subheader("Most confused pairs")
    pairs = most_confused(preds.counts, split=split, top=10)
    if pairs.empty:
        st.success("No mistakes in this split.")
    else:
        pairs = pairs.assign(share_of_errors=100 * pairs["share_of_errors"])
        chosen = st.dataframe(pairs, hide_index=True, on_select="rerun", selection_mode="single-row",
                              key=f"pairs_{split}", column_config={
                                  "true": st.column_config.TextColumn("true"),
                                  "predicted": st.column_config.TextColumn("predicted"),
                                  "count": st.column_config.NumberColumn("mistakes"),
                                  "share_of_errors": st.column_config.NumberColumn("% of mistakes", format="%.1f"),
                              })
        rows = chosen.selection.rows if chosen and chosen.selection else []
        if rows:
            row = pairs.iloc[rows[0]]
            picked = (split, str(row["true"]), str(row["predicted"]))
            if st.session_state.get("cm_last_pair") != picked:
                st.session_state["cm_last_pair"] = picked
                st.session_state["cm_cell"] = picked

cell = st.session_state.get("cm_cell")
st.divider()
if not cell or cell[0] != split:
    st.caption("Pick a cell of the matrix or a pair above to see its examples here.")
    st.stop()
_, true_class, pred_class = cell
n = int(counts[labels.index(true_class), labels.index(pred_class)])
kind = "correct predictions" if true_class == pred_class else "mistakes"
st.subheader(f"True {widgets.plain(true_class)}, predicted {widgets.plain(pred_class)}")
st.caption(f"{n:,} {kind} in the {widgets.SPLIT_LABELS[split]} split, most confident first")
if n == 0:
    st.info("No examples in this cell.")
    st.stop()
widgets.show_cell(cur, split=split, true_class=true_class, pred_class=pred_class, total=n)
