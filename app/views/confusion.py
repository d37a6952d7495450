"""Confusion matrix: counts or normalized per split, the most confused pairs, and the examples behind a cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import confusion_matrix, most_confused
from app import slice_filter, widgets

cur = widgets.require()
preds = cur.preds
st.title("Confusion matrix")

NORMALIZE = {"Counts": None, "Share of true class (recall)": "true", "Share of predicted class (precision)": "pred",
             "Share of all": "all"}
c1, c2, c3 = st.columns([1, 2, 1])
split = widgets.pick_split(preds, key="cm_split", where=c1)
norm_label = c2.selectbox("Show", list(NORMALIZE), key="cm_norm")
weighted = c3.toggle("Weighted", disabled=not preds.counts.weighted, key="cm_weighted",
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


#: A sequential blue scale (ColorBrewer "Blues"), readable with the common colour-vision deficiencies.
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")


def styled_matrix():
    """The matrix as a table, rows true and columns predicted, mistakes shaded by count and the diagonal grey.

    A table rather than a chart: it draws at once, and a click on a cell reports the cell.
    """
    frame = pd.DataFrame(conf.matrix, index=pd.Index(labels, name="true \\ pred"), columns=labels)
    off = ~np.eye(k, dtype=bool)
    top = conf.matrix[off].max() if k > 1 else 0

    def colours(_):
        css = np.full((k, k), "background-color: #D9D9D9; color: black", dtype=object)
        for i, j in zip(*np.nonzero(off), strict=True):
            shade = int(round(8 * conf.matrix[i, j] / top)) if top else 0
            css[i, j] = f"background-color: {BLUES[shade]}; color: {'white' if shade >= 5 else 'black'}"
        return pd.DataFrame(css, index=frame.index, columns=frame.columns)

    return frame.style.apply(colours, axis=None).format(_fmt)


def pick(source: str, cell: tuple[str, str, str]) -> None:
    """Show ``cell``'s examples when ``source`` (the matrix or the pairs) newly selected it.

    A selection stays in its widget across reruns; comparing with the last one lets a newer pick in the other
    widget win.
    """
    if st.session_state.get(source) != cell:
        st.session_state[source] = cell
        st.session_state["cm_cell"] = cell


left, right = st.columns([3, 2], gap="large")
with left:
    st.caption("Rows are true classes, columns predicted ones; grey cells are correct predictions, the darker "
               "the blue, the more mistakes. Click a cell to see its examples.")
    width = min(90, max(40, 8 * max(len(label) for label in labels) + 20))
    event = st.dataframe(styled_matrix(), on_select="rerun", selection_mode="single-cell", key=f"cm_{split}_{k}",
                         width="content", column_config={c: st.column_config.Column(c, width=width) for c in labels})
    cells = event.selection.cells if event and event.selection else []
    if cells:
        row, column = cells[0]
        pick("cm_last_click", (split, labels[int(row)], str(column)))

with right:
    st.subheader("Most confused pairs")
    pairs = most_confused(table, top=10)
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
in_slice = slice_filter.where(cur)
widgets.show_cell(cur, split=split, true_class=true_class, pred_class=pred_class, total=n, where=in_slice,
                  where_key=slice_filter.cache_key(in_slice))
