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
    """One square marker per cell: unlike a plotly heatmap, a marker reports its cell when clicked.

    Mistakes are coloured on their own scale and correct predictions (the diagonal) in grey, so that the
    mistakes stand out instead of fading next to the large diagonal.
    """
    t, p = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    t, p = t.ravel(), p.ravel()
    values = conf.matrix[t, p]
    plot = min(600, max(300, 52 * k))  # the plot area, px square; margins are fixed so that markers fit cells
    label_px = 7 * max(len(label) for label in labels) + 12
    tilt = label_px > plot / k
    left, bottom = 40 + label_px, 50 + (int(0.75 * label_px) if tilt else 16)
    size = plot / k * 0.95
    fig = go.Figure()
    for diagonal in (True, False):
        keep = (t == p) if diagonal else (t != p)
        v = values[keep]
        top = (v.max() if len(v) else 0) or 1
        colours = "#D9D9D9" if diagonal else v
        text_colour = ["black"] * len(v) if diagonal else ["white" if x > 0.6 * top else "black" for x in v]
        marker = dict(symbol="square", size=size, color=colours, line=dict(width=0))
        if not diagonal:
            marker |= dict(colorscale="Blues", cmin=0, cmax=top)
        fig.add_scatter(
            x=[labels[j] for j in p[keep]], y=[labels[i] for i in t[keep]],
            mode="markers+text" if k <= 20 else "markers", marker=marker,
            text=[_fmt(x) for x in v], textfont=dict(color=text_colour, size=12 if k <= 12 else 9),
            customdata=counts[t[keep], p[keep]],
            hovertemplate="true %{y}, predicted %{x}<br>%{text}<br>%{customdata} examples<extra></extra>",
            selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0.9)), showlegend=False,
        )
    fig.update_layout(
        height=20 + plot + bottom, width=left + plot + 20, margin=dict(t=20, l=left, r=20, b=bottom),
        plot_bgcolor="white",
        xaxis=dict(title="predicted class", type="category", categoryorder="array", categoryarray=labels,
                   showgrid=False, fixedrange=True, automargin=False, tickangle=-45 if tilt else 0,
                   range=[-0.5, k - 0.5]),  # no autorange: it pads the axes for large markers
        yaxis=dict(title="true class", type="category", categoryorder="array", categoryarray=labels[::-1],
                   showgrid=False, fixedrange=True, automargin=False, range=[-0.5, k - 0.5]),
        dragmode=False,
    )
    return fig


left, right = st.columns([3, 2], gap="large")
with left:
    st.caption("Rows are true classes, columns predicted ones; grey cells are correct predictions, the darker "
               "the blue, the more mistakes. Click a cell to see its examples.")
    event = st.plotly_chart(heatmap(), on_select="rerun", selection_mode="points", key=f"cm_{split}_{k}",
                            width="content", config={"displayModeBar": False})
    points = event.selection.points if event and event.selection else []
    if points:
        picked = (split, str(points[0]["y"]), str(points[0]["x"]))  # y is the true class, x the predicted
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
