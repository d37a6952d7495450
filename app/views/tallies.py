"""Tallies: what share of the reviewed mistakes each category explains, and how far fixing it could cut the error."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.export import export_sheet, sheet_csv
from analysis.registry import percent
from analysis.tallies import tally_splits
from app import widgets

cur = widgets.require()
store = widgets.store()
st.title("Tallies")
st.caption("Share = the fraction of reviewed mistakes a category explains (an example may have several), with its "
           "95% Wilson interval. Ceiling = share × error rate: how far the error could fall if that cause were fixed.")

splits = [s for s in ("dev", "test") if s in cur.preds.splits] or list(cur.preds.splits)
with st.spinner("Counting tags..."):
    results = tally_splits(cur.preds, store, cur.dataset, splits)


def chart(t) -> go.Figure:
    rows = t.rows
    names = [widgets.chart_text(r.category) for r in rows]
    share = [100 * r.share for r in rows]
    fig = go.Figure(go.Bar(
        y=names, x=share, orientation="h",
        marker_color=[widgets.ORANGE if r is t.mislabeled else widgets.GREY if r is t.unexplained else widgets.BLUE
                      for r in rows],
        error_x=dict(type="data", symmetric=False, array=[100 * (r.share_high - r.share) for r in rows],
                     arrayminus=[100 * (r.share - r.share_low) for r in rows], color="#444", thickness=1.2),
        hovertemplate="%{y}: %{x:.1f}% of reviewed mistakes<extra></extra>",
    ))
    fig.add_scatter(  # the labels, right of each interval
        y=names, x=[100 * r.share_high + 2 for r in rows], mode="text", textposition="middle right",
        text=[f"{s:.0f}%, ceiling {100 * r.ceiling:.2f} pp" for s, r in zip(share, rows, strict=True)],
        hoverinfo="skip", cliponaxis=False)
    fig.update_layout(height=120 + 36 * len(rows), margin=dict(t=10, l=10, r=10, b=50), plot_bgcolor="white",
                      showlegend=False, xaxis=dict(title="share of reviewed mistakes (%)", range=[0, 145],
                                                   tickvals=[0, 25, 50, 75, 100], gridcolor="#EEEEEE"),
                      yaxis=dict(autorange="reversed", type="category"))
    return fig


for col, t in zip(st.columns(len(results), gap="large"), results, strict=True):
    with col:
        name = widgets.SPLIT_LABELS[t.split]
        st.subheader(name)
        st.caption(f"error {percent(t.error_rate)} · {t.errors:,} mistakes · {t.reviewed_errors:,} reviewed")
        if t.errors == 0:
            st.success(f"No mistakes in the {name} split.")
            continue
        if t.reviewed_errors == 0:
            st.info(f"No mistake of the {name} split is reviewed yet: tag some on the Review page.")
            widgets.review_button("Review the mistakes", key=f"tally_start_{t.split}", split=t.split)
            continue
        if not t.categories:
            st.caption("No error categories yet: add them on the Review page.")
        st.plotly_chart(chart(t), config={"displayModeBar": False}, key=f"tally_chart_{t.split}")
        which, go_review = st.columns([2, 1], vertical_alignment="bottom")
        chosen = which.selectbox("Examples tagged", [*(c.category for c in t.categories), widgets.MISLABELED],
                                 key=f"tally_pick_{t.split}", format_func=widgets.category_name)
        with go_review:
            widgets.review_button(key=f"tally_review_{t.split}", split=t.split, category=chosen)
        table = t.to_frame()
        fractions = ["share", "share_low", "share_high", "ceiling"]
        table[fractions] = 100 * table[fractions]
        table.insert(3, "interval", [f"{lo:.1f}–{hi:.1f}" for lo, hi in zip(table.share_low, table.share_high,
                                                                             strict=True)])
        st.dataframe(table.drop(columns=["share_low", "share_high"]), hide_index=True, column_config={
            "category": st.column_config.TextColumn("category"),
            "count": st.column_config.NumberColumn("count"),
            "share": st.column_config.NumberColumn("share (%)", format="%.1f"),
            "interval": st.column_config.TextColumn("95% interval (%)"),
            "ceiling": st.column_config.NumberColumn("ceiling (pp)", format="%.2f",
                                                     help="percentage points of error this cause accounts for"),
        })
        if t.reviewed_correct:
            st.caption(f"Among {t.reviewed_correct:,} reviewed correct predictions, "
                       f"{t.mislabeled_among_correct:,} have a wrong ground truth.")

st.divider()
st.subheader("Downloads")
stem = widgets.file_stem(cur)
long = pd.concat([t.to_frame().assign(split=t.split) for t in results], ignore_index=True)
a, b, c = st.columns(3)
a.download_button("Tallies (CSV)", sheet_csv(long), file_name=f"{stem}-tallies.csv", mime="text/csv",
                  icon=":material/download:", on_click="ignore")
b.download_button("Tallies (JSON)", json.dumps([t.to_dict() for t in results], indent=2, allow_nan=False),
                  file_name=f"{stem}-tallies.json", mime="application/json", icon=":material/download:",
                  on_click="ignore")
c.download_button("Tagged sheet (CSV)", sheet_csv(export_sheet(store, cur.dataset, cur.preds)),
                  file_name=f"{stem}-sheet.csv", mime="text/csv", icon=":material/download:", on_click="ignore")
