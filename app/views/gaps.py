"""Gaps: human-level, train, train-dev, dev and test error, and what the largest gap between them says to try."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import Gaps, decompose, gaps_from_counts
from analysis.fixes import fixes_explained
from analysis.gaps import GAP_NAMES, GAP_TABLE, LABELS, LEVELS, meaning_of
from analysis.splits import split_advice
from app import widgets

st.title("Bias and variance")
st.caption("Each gap between two errors points to a different fix: work on the largest first.")


def chart(g: Gaps) -> go.Figure:
    """The errors as grey steps, and each gap as a bar between the two errors it separates."""
    fig = go.Figure()
    largest = g.largest
    x, levels = [], []
    for level in LEVELS:
        value = getattr(g, level)
        if value is not None:
            levels.append((LABELS[level], value))
    fig.add_bar(x=[name for name, _ in levels], y=[100 * v for _, v in levels], name="error",
                marker_color="#D9D9D9", marker_line=dict(color=widgets.GREY, width=1),
                text=[f"{100 * v:.2f}%" for _, v in levels], textposition="outside",
                hovertemplate="%{x} error: %{y:.2f}%<extra></extra>")
    for name in GAP_NAMES:
        value, below = getattr(g, name), getattr(g, g.span(name)[0])
        if value is None or below is None:
            continue
        colour = widgets.VERMILION if name == largest else (widgets.BLUE if value >= 0 else widgets.GREEN)
        fig.add_bar(x=[LABELS[name]], y=[100 * value], base=[100 * below], name=LABELS[name], width=0.6,
                    marker_color=colour, text=[f"{100 * value:+.2f} pp"], textposition="outside",
                    hovertemplate=f"{LABELS[name]}: %{{y:+.2f}} percentage points<extra></extra>")
        x.append(LABELS[name])
    order = []  # each error, then the gaps that start from it
    for level in LEVELS:
        if getattr(g, level) is not None:
            order.append(LABELS[level])
        order += [LABELS[name] for name in GAP_NAMES if g.span(name)[0] == level and LABELS[name] in x]
    fig.update_layout(
        showlegend=False, barmode="overlay", height=440, margin=dict(t=30, l=60, r=20, b=60),
        xaxis=dict(type="category", categoryorder="array", categoryarray=order, title=None),
        yaxis=dict(title="error (%)", rangemode="tozero", ticksuffix="%"), plot_bgcolor="white",
    )
    fig.update_yaxes(gridcolor="#EEEEEE")
    return fig


def report(g: Gaps) -> None:
    if not g.known:
        st.info("No gap can be measured from these numbers: give at least two errors next to each other "
                "(human-level and train, train and train-dev or dev, dev and test).")
        return
    st.plotly_chart(chart(g), config={"displayModeBar": False})
    st.caption("Grey bars: the error on each set. Blue: the gap between two of them (green when negative). "
               "Red-orange: the largest gap.")
    largest = g.largest
    if largest is not None:
        st.warning(f"**Largest gap: {LABELS[largest].lower()}, {100 * g.known[largest]:.2f} percentage points**"
                   f" — {meaning_of(largest)}.  \nWhat to try: " + "; ".join(g.advice) + ".",
                   icon=":material/priority_high:")
    else:
        st.success("No gap is positive: the model is as good on each set as on the one before it.")
    rows = []
    for name, _, _, meaning, advice in GAP_TABLE:
        value = getattr(g, name)
        low, high = g.span(name)
        rows.append({"gap": LABELS[name], "between": f"{LABELS[low]} → {LABELS[high]}",
                     "percentage points": "unknown" if value is None else f"{100 * value:+.2f}",
                     "what it means": meaning, "what to try": "; ".join(advice)})
    st.table(pd.DataFrame(rows), hide_index=True, border="horizontal")
    missing = []
    if g.human is None:
        missing.append("the human-level error (on the Data page, or below) for avoidable bias")
    if g.train_dev is None and g.train is not None:
        missing.append("a train_dev split (held-out data like train) to tell variance from data mismatch")
    if missing:
        st.caption("Unknown gaps need " + " and ".join(missing) + ".")


def noise_floor() -> None:
    """How much of the dev and test error the confirmed label errors explain: no model avoids those."""
    fixes = fixes_explained(cur.preds, widgets.store(), cur.dataset).set_index("split")
    lines = []
    for split in ("dev", "test"):
        if split not in fixes.index or not fixes.loc[split, "confirmed_label_errors"]:
            continue
        row = fixes.loc[split]
        lines.append(f"{LABELS[split]}: {int(row['confirmed_label_errors']):,} of its {int(row['errors']):,} "
                     f"mistakes are confirmed label errors ({100 * row['explained']:.1f} % of the error); "
                     f"{100 * row['noise_floor']:.2f} % of its examples are mislabeled, a "
                     f"floor on the label noise and on the error any model can reach against these labels "
                     f"(error with the labels fixed: {100 * row['corrected_error_rate']:.2f} %).")
    if lines:
        st.info("  \n".join(lines), icon=":material/label_off:")
    else:
        st.caption("Confirmed label errors would show here how much of the dev and test error is label noise.")
        st.page_link("views/label_issues.py", label="Review likely label errors", icon=":material/label_off:")


def noise() -> None:
    """Which gaps the split sizes cannot tell from zero, and where to see how dev differs from train-dev."""
    for g in split_advice(cur.preds.counts, human=cur.human).noisy():
        st.warning(f"**{LABELS[g.gap]} ({100 * g.value:+.2f} pp) is within the noise** of {LABELS[g.low]} and "
                   f"{LABELS[g.high]}: at their sizes a gap below {100 * g.smallest:.2f} pp cannot be told from zero "
                   f"(p = {g.p_value:.2g}).", icon=":material/blur_on:")
    if measured.data_mismatch is not None:
        st.page_link("views/shift.py", label="How dev differs from train-dev: the data mismatch, column by column",
                     icon=":material/compare_arrows:")


cur = widgets.current()
measured = gaps_from_counts(cur.preds.counts, human=cur.human) if cur else decompose()
from_file, typed = st.tabs(["From the open file", "Typed in"])
with from_file:
    if cur is None:
        st.info("No predictions file is open: type the errors in the other tab, or open a file on the Data page.")
    else:
        report(measured)
        noise()
        noise_floor()
with typed:
    st.caption("Errors in percent; leave a box empty when you do not know it.")
    with st.form("typed_gaps"):
        cols = st.columns(5)
        values = {}
        for col, level in zip(cols, LEVELS, strict=True):
            start = getattr(measured, level)
            values[level] = col.number_input(f"{LABELS[level]} error (%)", min_value=0.0, max_value=100.0,
                                             value=None if start is None else round(100 * start, 2), step=0.1,
                                             format="%.2f", key=f"typed_{level}")
        st.form_submit_button("Show the gaps", type="primary")
    report(decompose(**{k: None if v is None else v / 100 for k, v in values.items()}))
