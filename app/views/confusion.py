"""Confusion matrix: counts or normalized per split, the most confused pairs, and the examples behind a cell."""

from __future__ import annotations

import numpy as np
import streamlit as st

from analysis import ErrorscopeError, confusion_matrix, most_confused
from analysis.class_order import ORDERS, order_classes, parse_hierarchy
from app import slice_filter, widgets
from app.heatmap import heatmap, value_font

cur = widgets.require()
preds = cur.preds
st.title("Confusion matrix")

NORMALIZE = {"Counts": None, "Share of true class (recall)": "true", "Share of predicted class (precision)": "pred",
             "Share of all": "all"}
c1, c2, c3, c4 = st.columns([2, 3, 3, 1.6], vertical_alignment="bottom")
split = widgets.pick_split(preds, key="cm_split", where=c1)
norm_label = c2.selectbox("Show", list(NORMALIZE), key="cm_norm")
weighted = c4.toggle("Weighted", disabled=not preds.counts.weighted, key="cm_weighted",
                     help="Sum example weights instead of counting examples" if preds.counts.weighted
                     else "The file has no weight column")
normalize = NORMALIZE[norm_label]
table = slice_filter.counts(cur).where(split=split)  # the slice chosen on the Slices page, if any
conf = confusion_matrix(table, weighted=weighted, normalize=normalize)
counts = table.matrix()
labels = [str(c) for c in conf.labels]
k = len(labels)

if counts.sum() == 0:
    st.info(f"The {widgets.SPLIT_LABELS[split]} split has no labeled examples, so no confusion matrix.")
    st.stop()


def _fmt(v: float) -> str:
    if normalize:
        return f"{100 * v:.1f}%"
    return f"{v:,.1f}" if weighted else f"{int(v):,}"


ORDER_LABELS = {"name": "by name", "error": "by error (worst class first)", "prefix": "grouped by name prefix",
                "hierarchy": "grouped by a hierarchy"}
by = c3.selectbox("Order classes", ORDERS, format_func=ORDER_LABELS.get, key="cm_order",
                  help="Grouping puts blocks of classes confused among themselves (comp.* newsgroups, the animals "
                       "of CIFAR-10) on the diagonal")
hierarchy = None
if by == "hierarchy":
    typed = st.text_area("Hierarchy: one line per group, `group: class, class, ...`", key="cm_hierarchy",
                         placeholder="animal: cat, dog, horse\nvehicle: car, truck, ship")
    try:
        hierarchy = parse_hierarchy(typed, labels)
    except ErrorscopeError as exc:
        st.error(widgets.plain(exc), icon=":material/error:")
    if not hierarchy:
        by = "name"
order = order_classes(labels, counts, by=by, hierarchy=hierarchy)
place = [labels.index(c) for c in order.classes]
shown = conf.matrix[np.ix_(place, place)]


def pick(source: str, cell: tuple[str, str, str]) -> None:
    """Show ``cell``'s examples when ``source`` (the matrix or the pairs) newly selected it.

    A selection stays in its widget across reruns; comparing with the last one lets a newer pick in the other
    widget win.
    """
    if st.session_state.get(source) != cell:
        st.session_state[source] = cell
        st.session_state["cm_cell"] = cell


wide = k > 12  # beyond a dozen classes the matrix takes the page's width and the pairs go below it
left, right = (st.container(), st.container()) if wide else st.columns([3, 2], gap="large")
with left:
    st.caption("Rows are true classes, columns predicted ones; grey cells are correct predictions, the darker "
               "the blue, the more mistakes" + (f" ({norm_label.lower()})" if normalize else "")
               + ". Hover a cell for its class names and counts; click it to see its examples.")
    side = 640 if wide else 440  # px: the page's width at 1400 px, or its left column
    figure = heatmap(shown, counts[np.ix_(place, place)], order.classes, _fmt, boundaries=order.boundaries,
                     side=side)
    if value_font(k, [_fmt(v) for v in shown.ravel()], side) is None:
        st.caption(f"At {k} classes the values are too small to write in the cells: hover a cell to read it.")
    event = st.plotly_chart(figure, on_select="rerun", selection_mode="points", key=f"cm_{split}_{k}_{by}",
                            config={"displayModeBar": False})
    points = event.selection.points if event and event.selection else []
    if points:
        true_picked, pred_picked = points[0]["customdata"][:2]
        pick("cm_last_click", (split, str(true_picked), str(pred_picked)))

with right:
    st.subheader("Most confused pairs")
    pairs = most_confused(table, top=10)
    if pairs.empty:
        st.success("No mistakes in this split.")
    else:
        pairs = pairs.assign(share_of_errors=100 * pairs["share_of_errors"],
                             pair=[f"{t} → {p}" for t, p in zip(pairs["true"], pairs["predicted"], strict=True)])
        # one column for the pair, so that the counts fit beside the matrix at 1400 px even with long names
        chosen = st.dataframe(pairs, hide_index=True, on_select="rerun", selection_mode="single-row",
                              key=f"pairs_{split}", column_order=["pair", "count", "share_of_errors"],
                              column_config={
                                  "pair": st.column_config.TextColumn("true → predicted"),
                                  "count": st.column_config.NumberColumn("mistakes", width="small"),
                                  "share_of_errors": st.column_config.NumberColumn(
                                      "%", format="%.1f", width="small", help="share of the split's mistakes"),
                              })
        rows = chosen.selection.rows if chosen and chosen.selection else []
        if rows:
            row = pairs.iloc[rows[0]]
            pick("cm_last_pair", (split, str(row["true"]), str(row["predicted"])))

cell = st.session_state.get("cm_cell")
st.divider()
if not cell or cell[0] != split or not {cell[1], cell[2]} <= set(labels):  # none yet, or from another file
    st.caption("Pick a cell of the matrix or a pair above to see its examples here.")
    st.stop()
_, true_class, pred_class = cell
n = int(counts[labels.index(true_class), labels.index(pred_class)])
kind = ("correct prediction" if true_class == pred_class else "mistake") + ("" if n == 1 else "s")
st.subheader(f"True {widgets.plain(true_class)}, predicted {widgets.plain(pred_class)}")
st.caption(f"{n:,} {kind} in the {widgets.SPLIT_LABELS[split]} split, most confident first")
if n == 0:
    st.info("No examples in this cell.")
    st.stop()
if true_class != pred_class:
    widgets.review_button(f"Review and tag these {n:,} mistakes", key="cm_review", split=split,
                          true_class=true_class, pred_class=pred_class)
in_slice = slice_filter.where(cur)
widgets.show_cell(cur, split=split, true_class=true_class, pred_class=pred_class, total=n, where=in_slice,
                  where_key=slice_filter.cache_key(in_slice))
