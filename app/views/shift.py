"""Shift: are the splits big enough for the gaps they show, and how do two splits' distributions differ?"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.filters import filter_label
from analysis.gaps import LABELS
from analysis.shift import OUTPUTS, Shift, shift
from analysis.splits import dev_size_needed, split_advice
from app import slice_filter, widgets

cur = widgets.require()
preds = cur.preds

st.title("Shift")
st.caption("Dev and test must come from one distribution; train-dev and dev may differ, and how they differ "
           "is the data mismatch to understand.")
chosen = slice_filter.predicates(cur)
if chosen:
    st.info(f"**The slice ({widgets.plain(filter_label(chosen))}) is not applied here:** this page compares whole "
            "splits, as they were drawn. Within a slice the columns it filters on are fixed, so they could not show "
            "how the splits differ, and the split sizes that tell a gap from noise are those of the whole splits.",
            icon=":material/filter_alt_off:")

st.subheader("Are the splits big enough?")
advice = split_advice(preds.counts, human=cur.human)
st.dataframe(pd.DataFrame([{
    "split": widgets.SPLIT_LABELS[s.split], "labeled": s.rows, "errors": s.errors, "error (%)": 100 * s.error_rate,
    "95% interval (%)": f"{100 * s.low:.2f} – {100 * s.high:.2f}"} for s in advice.splits]),
    hide_index=True, column_config={"error (%)": st.column_config.NumberColumn(format="%.2f")})
if advice.gaps:
    st.dataframe(pd.DataFrame([{
        "gap": LABELS[g.gap], "between": f"{LABELS[g.low]} → {LABELS[g.high]}", "size (pp)": 100 * g.value,
        "noise (pp)": 100 * g.smallest, "p-value": g.p_value,
        "verdict": "real" if g.real else "within the noise"} for g in advice.gaps]),
        hide_index=True, column_config={
            "size (pp)": st.column_config.NumberColumn(format="%+.2f"),
            "noise (pp)": st.column_config.NumberColumn(
                format="%.2f", help="The smallest gap these two splits' sizes tell from zero (95% confidence)"),
            "p-value": st.column_config.NumberColumn(format="%.3g")})
rule = advice.rule
st.caption(f"Rule of thumb for {rule['rows']:,} examples: " + ", ".join(
    f"{split} {100 * share:g}% ({rule['sizes'][split]:,})" for split, share in rule["shares"].items())
    + " (70/15/15 for a small set, dev and test of about 10,000 in between, 98/1/1 from a million).")

with st.expander("How big must a dev set be?", expanded=False):
    dev = next((s for s in advice.splits if s.split == "dev"), advice.splits[0] if advice.splits else None)
    c1, c2, c3, c4 = st.columns(4)
    difference = c1.number_input("Difference to detect (pp)", min_value=0.01, max_value=50.0, value=1.0, step=0.1)
    baseline = c2.number_input("Error near (%)", min_value=0.0, max_value=99.0, step=0.5,
                               value=round(100 * dev.error_rate, 1) if dev else 10.0)
    confidence = c3.number_input("Confidence (%)", min_value=50.0, max_value=99.9, value=95.0, step=0.5)
    power = c4.number_input("Power (%)", min_value=50.0, max_value=99.9, value=80.0, step=1.0)
    needed = dev_size_needed(difference / 100, error=baseline / 100, alpha=1 - confidence / 100, power=power / 100)
    st.markdown(f"**{math.ceil(needed):,} examples** in each of the two sets compared, to tell an error of "
                f"{baseline:g}% from one {difference:g} points away in {power:g}% of tries, at {confidence:g}% "
                "confidence (two-proportion test).")

st.subheader("Do two splits come from one distribution?")
splits = preds.splits
if len(splits) < 2:
    st.info("The file has one split: give a `split` column (train, train_dev, dev, test) to compare two of them.")
    st.stop()
first = "train_dev" if "train_dev" in splits else splits[0]
second = "dev" if "dev" in splits and first != "dev" else next(s for s in splits if s != first)
c1, c2 = st.columns(2)
a = c1.selectbox("Split A", splits, index=splits.index(first), format_func=widgets.SPLIT_LABELS.get, key="shift_a")
others = [s for s in splits if s != a]
b = c2.selectbox("Split B", others, index=others.index(second) if second in others else 0,
                 format_func=widgets.SPLIT_LABELS.get, key="shift_b")


@st.cache_data(show_spinner="Comparing the splits: a test per column, then a domain classifier on a sample...",
               max_entries=16)
def compare(key: str, _preds, a: str, b: str) -> Shift:
    return shift(_preds, a=a, b=b)


found = compare(cur.key, preds, a, b)
same_expected = {a, b} == {"dev", "test"}
names = {**OUTPUTS}
if found.flagged:
    top = found.columns[0] if found.columns and found.columns[0].flagged else None
    text = (f"**{LABELS[a]} and {LABELS[b]} differ**" + (f", most in {widgets.plain(names.get(top.column, top.column))}"
                                                          f" ({widgets.plain(top.effect_text)})" if top else "") + ".")
    (st.error if same_expected else st.warning)(
        text + (" Dev and test should come from one distribution: the test error will not measure what dev "
                "tuned for." if same_expected else " Make the training data more like it, or collect more like it."),
        icon=":material/compare_arrows:")
else:
    st.success(f"No difference found between {LABELS[a]} and {LABELS[b]} (every test at a family-wise 5% level).",
               icon=":material/check_circle:")

d = found.domain
if d is not None:
    m1, m2, m3 = st.columns(3)
    m1.metric("Domain classifier AUC", f"{d.auc:.3f}", border=True,
              help="How well a gradient-boosted classifier, trained on half the sample, tells the two splits "
                   "apart on the other half (0.5: not at all, 1: perfectly)")
    m2.metric("Baseline (shuffled labels)", "—" if d.baseline_auc is None else f"{d.baseline_auc:.3f}",
              border=True, help="The same classifier trained and scored with the split labels shuffled")
    m3.metric("Sample", " + ".join(f"{n:,}" for n in d.sample.values()), border=True,
              help="Rows sampled from " + " and ".join(LABELS[s] for s in d.sample))
    relied = [(c, v) for c, v in d.importance.items() if v >= 0.001][:5]
    if relied:
        st.caption("The classifier relies most on: " + ", ".join(
            f"{widgets.plain(names.get(c, c))} ({v:.3f})" for c, v in relied)
            + " (drop of its AUC when the column is shuffled).")


def chart(found: Shift) -> go.Figure:
    rows = list(reversed(found.columns))
    fig = go.Figure(go.Bar(
        x=[c.distance for c in rows], y=[widgets.chart_text(names.get(c.column, c.column)) for c in rows],
        orientation="h", marker_color=[widgets.VERMILION if c.flagged else widgets.GREY for c in rows],
        customdata=[[widgets.chart_text(c.effect_text), c.p_value] for c in rows],
        hovertemplate="%{y}: distance %{x:.3f}<br>%{customdata[0]}<br>p = %{customdata[1]:.3g}<extra></extra>"))
    fig.update_layout(height=max(220, 32 * len(rows) + 80), margin=dict(t=20, l=10, r=20, b=50),
                      xaxis=dict(title="distance (KS statistic or total variation, 0 to 1)", range=[0, 1]),
                      plot_bgcolor="white")
    fig.update_xaxes(gridcolor="#EEEEEE")
    return fig


if found.columns:
    st.plotly_chart(chart(found), config={"displayModeBar": False})
    st.caption("Red-orange: a column whose distribution differs (p-value below 5% after Bonferroni's correction); "
               "grey: no difference found.")
    st.dataframe(pd.DataFrame([{
        "column": names.get(c.column, c.column), "test": "Kolmogorov-Smirnov" if c.test == "ks" else "chi-squared",
        "distance": c.distance, "p-value (corrected)": c.p_value, "differs": c.flagged, "effect": c.effect_text}
        for c in found.columns]), hide_index=True, column_config={
            "distance": st.column_config.NumberColumn(format="%.3f"),
            "p-value (corrected)": st.column_config.NumberColumn(format="%.3g")})
for column, reason in found.skipped.items():
    st.caption(f"{widgets.plain(column)}: {widgets.plain(reason)}")

slices = Path(__file__).with_name("slices.py")
top = next((c for c in found.columns if c.flagged and c.kind == "categorical" and c.column in preds.columns.metadata),
           None)
if top is not None and slices.exists():
    st.page_link("views/slices.py", label=f"Error by slice of {widgets.plain(top.column)}, where {LABELS[b]} "
                 "differs most",
                 icon=":material/pie_chart:")
