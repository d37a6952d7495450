"""Runs: a table of training runs; the best run under satisficing thresholds, each hyperparameter against the
metric on its natural scale, their importance, and the ranges of the next, finer search."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.access import upload_folder, upload_path
from analysis.errors import ErrorscopeError
from analysis.runs import (
    SCALES,
    Objective,
    choose,
    hyperparameters,
    importance,
    metric_values,
    next_ranges,
    numeric_columns,
    parse_threshold,
    promising,
    read_runs,
    scales,
)
from app import widgets

st.title("Runs")
st.caption("One row per training run: its hyperparameters and metrics (dev error, latency, size...). Pick one "
           "metric to optimize and thresholds the others must meet; the best run that meets them all wins.")


@st.cache_data(show_spinner="Reading the runs table...", max_entries=8)
def _read(path: str, size: int, mtime: int) -> pd.DataFrame:
    return read_runs(path)


@st.cache_data(show_spinner="Measuring each hyperparameter's importance (Optuna)...", max_entries=16)
def _importance(key: tuple, _frame: pd.DataFrame, _choice, scale_of: dict) -> dict:
    return importance(_frame, _choice, scale_of)


source = st.radio("Runs table", ["File path", "Upload"], horizontal=True, label_visibility="collapsed")
if source == "File path":
    with st.form("runs_path", border=False):
        typed = st.text_input("Path of a runs table (CSV or Parquet, one row per run) on the server",
                              value=st.session_state.get("runs_typed", ""), placeholder="runs.csv")
        if st.form_submit_button("Open", type="primary") and typed.strip():
            st.session_state["runs_file"] = str(widgets.openable(typed.strip()))
            st.session_state["runs_typed"] = typed.strip()
else:
    upload = st.file_uploader("CSV or Parquet", type=["csv", "parquet", "pq"], key="runs_upload")
    if upload is not None and st.session_state.get("runs_uploaded") != upload.file_id:
        st.session_state["runs_uploaded"] = upload.file_id
        target = upload_path(upload_folder(), upload.name)
        with target.open("wb") as fh:
            shutil.copyfileobj(upload, fh, 1 << 20)
        st.session_state["runs_file"] = str(target)

path = st.session_state.get("runs_file")
if not path:
    st.info("Open a runs table: a CSV or Parquet file with a run_id column, one column per hyperparameter "
            "(learning rate, momentum, units...) and one per metric (dev error, latency, size...). "
            "`errorscope runs FILE --optimize dev_error:min --satisfy \"latency_ms<=100\"` does the same from the "
            "command line.")
    st.stop()

stat = Path(path).stat() if Path(path).is_file() else None
frame = _read(path, stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1)
numeric = list(numeric_columns(frame))
st.caption(f"{widgets.plain(Path(path).name)}: {len(frame):,} runs, columns "
           f"{widgets.plain(', '.join(map(str, frame.columns)))}")
if not numeric:
    st.warning("The table has no numeric column to optimize.")
    st.stop()

st.subheader("Optimizing and satisficing")
c1, c2, c3 = st.columns([2, 1, 3])
guess = next((c for c in numeric if any(w in c.lower() for w in ("error", "loss", "perplexity"))), numeric[-1])
metric = c1.selectbox("Optimize", [*numeric, "(an expression)"], index=numeric.index(guess), key="runs_metric")
if metric == "(an expression)":
    metric = c1.text_input("Composite metric", value="", placeholder="accuracy - 0.5 * latency",
                           help="Arithmetic on column names: + - * / ** and log, log10, log2, exp, sqrt, abs",
                           key="runs_expression")
direction = c2.radio("Direction", ["min", "max"], horizontal=True, key="runs_direction",
                     index=0 if any(w in metric.lower() for w in ("error", "loss", "perplexity")) else 1)
typed = c3.text_area("Thresholds, one per line", key="runs_thresholds", placeholder="latency_ms<=100\nsize_mb<50",
                     height=90)
if not metric.strip():
    st.info("Type a composite metric, e.g. `accuracy - 0.5 * latency`.")
    st.stop()
objective = Objective(metric.strip(), direction)
thresholds = [parse_threshold(line) for line in typed.splitlines() if line.strip()]
choice = choose(frame, objective, thresholds)

feasible = int(choice.feasible.sum())
cols = st.columns(3)
cols[0].metric("Runs meeting every threshold", f"{feasible:,} of {len(frame):,}")
if choice.best is None:
    st.warning("No run meets every threshold: loosen one, or run more.")
else:
    best = frame.iloc[choice.best]
    cols[1].metric("Best run", str(best["run_id"]))
    cols[2].metric(f"Its {metric}", f"{choice.values[choice.best]:.6g}")

status = []
for i, failed in enumerate(choice.failed):
    if failed:
        status.append("fails " + ", ".join(failed))
    elif i == choice.best:
        status.append("best")
    else:
        status.append(f"behind by {choice.behind[i]:.4g}")
table = frame.assign(**({} if metric in frame.columns else {metric: choice.values}), status=status)
order = np.lexsort((np.where(choice.feasible, choice.behind, np.inf), ~choice.feasible))
st.dataframe(table.iloc[order], hide_index=True, height=260, column_config={
    "run_id": st.column_config.TextColumn("run"), "status": st.column_config.TextColumn("why", width="large")})

st.subheader("Hyperparameters on their scales")
params = st.multiselect("Hyperparameters", [c for c in numeric if c != metric],
                        default=[p for p in hyperparameters(frame, [metric, *(t.metric for t in thresholds)])
                                 if p in numeric], key="runs_params")
if not params:
    st.info("Pick the hyperparameter columns above.")
    st.stop()
detected = scales(frame, params)
chosen_scales = {}
scale_cols = st.columns(min(4, len(params)))
for i, p in enumerate(params):
    chosen_scales[p] = scale_cols[i % len(scale_cols)].selectbox(
        f"Scale of {p}", SCALES, index=SCALES.index(detected[p]), key=f"runs_scale_{p}",
        help="log: rates and weights; log1m: log of 1 - value, for momentum-like values near 1")
scale_of = scales(frame, params, chosen_scales)

top = promising(choice)
values = metric_values(frame, metric)
kind = np.where(~choice.feasible, "fails a threshold", "feasible").astype(object)
kind[top] = "promising (best 15%)"
STYLE = {"fails a threshold": (widgets.GREY, "x"), "feasible": (widgets.BLUE, "circle"),
         "promising (best 15%)": (widgets.ORANGE, "diamond")}
chart_cols = st.columns(min(3, len(params)))
for i, p in enumerate(params):
    x = numeric_columns(frame)[p]
    scale = scale_of[p]
    fig = go.Figure()
    for name, (colour, symbol) in STYLE.items():
        sel = kind == name
        shown_x = 1 - x[sel] if scale == "log1m" else x[sel]
        fig.add_scatter(x=shown_x, y=values[sel], mode="markers", name=name,
                        marker=dict(color=colour, symbol=symbol, size=8, line=dict(width=0.5, color="white")),
                        text=[widgets.chart_text(r) for r in frame["run_id"][sel]],
                        hovertemplate="%{text}: %{x:.4g}, " + widgets.chart_text(metric) + " %{y:.4g}<extra></extra>")
    label = f"1 - {p} (log scale)" if scale == "log1m" else f"{p}" + (" (log scale)" if scale == "log" else "")
    fig.update_layout(height=300, margin=dict(t=30, l=60, r=10, b=50), plot_bgcolor="white",
                      title=dict(text=widgets.chart_text(p), font=dict(size=14)), showlegend=i == 0,
                      legend=dict(orientation="h", y=-0.3),
                      xaxis=dict(title=widgets.chart_text(label), type="log" if scale != "linear" else "linear",
                                 gridcolor="#EEEEEE"),
                      yaxis=dict(title=widgets.chart_text(metric), gridcolor="#EEEEEE"))
    chart_cols[i % len(chart_cols)].plotly_chart(fig, config={"displayModeBar": False}, key=f"runs_chart_{p}")
st.caption("Orange diamonds: the promising region, the best 15% of the runs that meet every threshold; blue: the "
           "other runs that meet them; grey crosses: runs that fail a threshold.")

if choice.best is not None:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Importance")
        try:
            shares = _importance((path, metric, direction, tuple(map(str, thresholds)), tuple(scale_of.items())),
                                 frame, choice, scale_of)
        except ErrorscopeError as exc:
            shares = {}
            st.info(widgets.plain(exc))
        if shares:
            ranked = sorted(shares.items(), key=lambda kv: kv[1])
            fig = go.Figure(go.Bar(x=[100 * v for _, v in ranked], y=[widgets.chart_text(k) for k, _ in ranked],
                                   orientation="h", marker_color=widgets.BLUE,
                                   hovertemplate="%{y}: %{x:.0f}%<extra></extra>"))
            fig.update_layout(height=60 + 40 * len(ranked), margin=dict(t=10, l=80, r=20, b=50),
                              plot_bgcolor="white", xaxis=dict(title="share of the metric's variation (%)"))
            st.plotly_chart(fig, config={"displayModeBar": False})
            st.caption("PED-ANOVA, as Optuna computes it, over the runs with a value of the metric.")
    with right:
        st.subheader("Next, a finer search")
        ranges = next_ranges(frame, choice, scale_of)
        st.caption("Each hyperparameter's span among the promising runs, on its scale, a little widened: sample "
                   "it densely next (random points, not a grid).")
        st.code("errorscope suggest " + " ".join(f"--param {r.spec()}" for r in ranges) + " --n 20", language="sh",
                wrap_lines=True)
        st.dataframe(pd.DataFrame([{"hyperparameter": r.param, "scale": r.scale, "low": r.low, "high": r.high,
                                    "tried": f"{np.nanmin(numeric_columns(frame)[r.param]):.4g} to "
                                             f"{np.nanmax(numeric_columns(frame)[r.param]):.4g}"}
                                   for r in ranges]), hide_index=True)
