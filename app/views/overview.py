"""Overview: the single-number metric of each split, per-class precision and recall, class balance."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import per_class
from analysis.fixes import COMPARED, fixes_explained
from analysis.masked import task_rows
from analysis.registry import FORMATS, METRICS, Metric, shown_for
from app import slice_filter, widgets

cur = widgets.require()
counts = slice_filter.counts(cur)  # the rows of the slice chosen on the Slices page, if any

st.title("Overview")


def tasks_side_by_side() -> None:
    """A multi-task file: each task's coverage and scores on its labeled examples, and the masked loss."""
    summary = widgets.tasks_summary(cur)
    rows = task_rows(summary)
    pct = FORMATS["percent"].text
    table = pd.DataFrame([{"task": r["task"], "labeled": r["labeled"], "coverage (%)": 100 * r["coverage"],
                           **{f"{widgets.SPLIT_LABELS[s]} error": e if isinstance(e, str) else pct(e)
                              for s, e in r["errors"].items()},
                           "AUROC": r["auroc"], "average precision": r["average_precision"],
                           "log loss": r["log_loss"]} for r in rows])
    st.subheader(f"Tasks ({len(rows)})")
    st.caption("Each task is measured on the examples where its label exists; a blank label is missing, never "
               "counted as a negative. Pick a task in the sidebar to see its confusion matrix, examples and label "
               "issues.")
    macro, micro = summary["macro"], summary["micro"]
    a, b, c, d = st.columns(4)
    a.metric("Labeled pairs", f"{cur.tasks.counts.labeled().rows:,}", border=True,
             help=f"(example, task) pairs with a label, of {cur.tasks.counts.rows:,}")
    b.metric("Error, micro", pct(micro["error_rate"]), border=True, help="over every labeled pair")
    c.metric("Mean AUROC, macro", FORMATS["ratio"].text(macro["auroc"]), border=True,
             help="mean over the tasks that have both classes labeled and probabilities")
    d.metric("Masked loss J", FORMATS["ratio"].text(summary["masked_loss"]), border=True,
             help="log loss summed over the labeled (example, task) pairs, divided by the examples")
    st.dataframe(table, hide_index=True, height=min(widgets.ROW_PX * (len(rows) + 1) + 3, 720), column_config={
        "coverage (%)": st.column_config.ProgressColumn("coverage (%)", min_value=0, max_value=100, format="%.1f",
                                                        help="labeled examples of the task, of its rows"),
        **{k: st.column_config.NumberColumn(k, format="%.4f") for k in ("AUROC", "average precision", "log loss")}})
    st.subheader(f"Task {widgets.plain(cur.preds.source.task)}")


if cur.tasks is not None:
    tasks_side_by_side()
shown = shown_for(counts)
# the rates and ratios: a count of mistakes would not compare across splits of different sizes
PICKS = {m.label[:1].upper() + m.label[1:]: m for m in shown if m.is_score and m.format != "count"}
choice = st.segmented_control("Single-number metric", list(PICKS), default="Error",
                              help="Pick the one number to compare models by.") or "Error"
picked = PICKS[choice]

per_split = list(counts.by("split"))
for col, (split, table) in zip(st.columns(len(per_split)), per_split, strict=True):
    col.metric(f"{widgets.SPLIT_LABELS[split]} {choice.lower()}", picked.text(table), border=True,
               help=f"{METRICS['labeled'](table):,} labeled of {table.rows:,} rows; "
                    f"{METRICS['errors'](table):,} mistakes")


def header(m: Metric, note: str = "") -> str:
    """The table column of a metric: its label (and ``note``), with the unit of a percentage."""
    suffix = FORMATS[m.format].suffix
    return m.label + (f", {note}" if note else "") + (f" ({suffix})" if suffix else "")


def scaled(m: Metric, value: float | int | None) -> float | int | None:
    """A metric's value as its column shows it (fractions as percentages)."""
    return None if value is None or value != value else FORMATS[m.format].scale * value


metrics_table = pd.DataFrame([{"split": widgets.SPLIT_LABELS[split],
                               **{header(m): scaled(m, m(table)) for m in shown}} for split, table in per_split])
st.dataframe(metrics_table, hide_index=True, column_config={
    header(m): st.column_config.NumberColumn(format=f"%.{FORMATS[m.format].digits}f")
    for m in shown if m.format != "count"})

st.subheader("With the confirmed label fixes")
fixes = fixes_explained(cur.preds, widgets.store(), cur.dataset)
if not fixes["confirmed_label_errors"].any() and fixes["accuracy"].equals(fixes["corrected_accuracy"]):
    st.caption("No label error is confirmed yet: the Label issues page ranks the likely ones for review.")
    st.page_link("views/label_issues.py", label="Review likely label errors", icon=":material/label_off:")
else:
    st.caption("The metrics again with each example tagged mislabeled counted under its corrected label.")
    fixed = pd.DataFrame({"split": [widgets.SPLIT_LABELS[s] for s in fixes["split"]]})
    config = {}
    for name in COMPARED:
        m = METRICS[name]
        for column, title in ((name, header(m)), (f"corrected_{name}", header(m, "fixed"))):
            fixed[title] = [scaled(m, v) for v in fixes[column]]
            config[title] = st.column_config.NumberColumn(format=f"%.{FORMATS[m.format].digits}f")
    fixed["confirmed label errors"] = fixes["confirmed_label_errors"]
    fixed["share of the errors (%)"] = 100 * fixes["explained"].astype(float)
    config["share of the errors (%)"] = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(fixed, hide_index=True, column_config=config)

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
