"""Overview: the single-number metric of each split, per-class precision and recall, class balance."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import per_class, split_metrics
from app import widgets

cur = widgets.require()
counts = cur.preds.counts

st.title("Overview")
METRICS = {"Error": "error_rate", "Accuracy": "accuracy", "Macro F1": "macro_f1"}
if counts.weighted:
    METRICS["Weighted error"] = "weighted_error_rate"
choice = st.segmented_control("Single-number metric", list(METRICS), default="Error",
                              help="Pick the one number to compare models by.") or "Error"
field = METRICS[choice]

rows = [split_metrics(counts, s) for s in cur.preds.splits]
cols = st.columns(len(rows))
for col, m in zip(cols, rows, strict=True):
    value = getattr(m, field)
    shown = f"{value:.4f}" if field == "macro_f1" and value is not None else widgets.pct(value)
    col.metric(f"{widgets.SPLIT_LABELS[m.split]} {choice.lower()}", shown, border=True,
               help=f"{m.labeled:,} labeled of {m.rows:,} rows; {m.errors:,} mistakes")

table = pd.DataFrame([{
    "split": widgets.SPLIT_LABELS[m.split], "rows": m.rows, "labeled": m.labeled, "mistakes": m.errors,
    "error (%)": None if m.error_rate is None else 100 * m.error_rate,
    "accuracy (%)": None if m.accuracy is None else 100 * m.accuracy,
    "macro F1": m.macro_f1,
    **({"weighted error (%)": None if m.weighted_error_rate is None else 100 * m.weighted_error_rate}
       if counts.weighted else {}),
} for m in rows])
st.dataframe(table, hide_index=True, column_config={
    c: st.column_config.NumberColumn(format="%.2f") for c in table.columns if "%" in c
} | {"macro F1": st.column_config.NumberColumn(format="%.4f")})

st.subheader("Per class")
split = widgets.pick_split(cur.preds, key="ov_split", where=st.columns(4)[0])
classes = per_class(counts.where(split=split))
if classes.empty:
    st.info("This split has no labeled examples, so no per-class scores.")
    st.stop()
left, right = st.columns([3, 2], gap="large")
with left:
    shown = classes.reset_index()
    st.dataframe(shown, hide_index=True, column_config={
        "class": st.column_config.TextColumn("class"),
        "precision": st.column_config.ProgressColumn("precision", min_value=0, max_value=1, format="%.3f",
                                              width="small"),
        "recall": st.column_config.ProgressColumn("recall", min_value=0, max_value=1, format="%.3f",
                                              width="small"),
        "f1": st.column_config.ProgressColumn("F1", min_value=0, max_value=1, format="%.3f",
                                              width="small"),
        "support": st.column_config.NumberColumn("support", help="true examples of the class"),
        "predicted": st.column_config.NumberColumn("predicted", help="examples predicted as the class"),
    })
with right:
    fig = go.Figure()
    names = [widgets.chart_text(c) for c in classes.index]
    fig.add_bar(x=names, y=classes["support"], name="true", marker_color=widgets.BLUE)
    fig.add_bar(x=names, y=classes["predicted"], name="predicted",
                marker_color=widgets.ORANGE)
    fig.update_layout(title=f"Class balance, {widgets.SPLIT_LABELS[split]}", barmode="group",
                      xaxis_title="class", yaxis_title="examples", xaxis_type="category",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
                      margin=dict(t=60, b=40, l=50, r=10), height=380)
    st.plotly_chart(fig)
