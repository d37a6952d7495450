"""The confusion matrix as a clickable heatmap that fits the page at 10, 20 or 100 classes.

One square marker per cell (a ``go.Scatter``): Streamlit reports a click on a marker with its ``customdata``
(true, predicted), which it does not for a plotly heatmap. The figure has a fixed size, so that the squares tile:
the cells shrink as the classes grow, the values are written in them while they fit (their font is sized to the
longest value) and always shown on hover, with the full class names.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go

#: A sequential blue scale (ColorBrewer "Blues"), readable with the common colour-vision deficiencies.
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
DIAGONAL = "#D9D9D9"
#: The side of the plot area, px: the cells share it (up to MAX_CELL px each).
SIDE, MAX_CELL, MIN_FONT, MAX_FONT = 640, 60, 8, 13
#: Longest class name written on an axis; longer ones end in an ellipsis (the hover has them whole).
TICK_CHARS = 26


def _esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def _tick(label: str) -> str:
    return _esc(label if len(label) <= TICK_CHARS else label[: TICK_CHARS - 1] + "…")


def cell_px(k: int) -> float:
    """The side of one cell, px, for ``k`` classes."""
    return min(MAX_CELL, SIDE / max(k, 1))


def value_font(k: int, texts: Sequence[str]) -> float | None:
    """The font size that fits the longest value inside a cell (about 0.62 em a character), or None when even
    the smallest readable size does not fit: the values are then on hover only."""
    longest = max((len(t) for t in texts), default=1)
    size = min(MAX_FONT, 0.88 * cell_px(k) / (0.62 * longest))
    return size if size >= MIN_FONT else None


def heatmap(matrix: np.ndarray, counts: np.ndarray, classes: Sequence[str], fmt: Callable[[float], str], *,
            boundaries: Sequence[int] = (), unit: str = "") -> go.Figure:
    """The figure: rows true classes (top to bottom), columns predicted ones, in ``classes``' order.

    ``matrix`` holds the shown values (counts, weights or shares), ``counts`` the examples of each cell (hover);
    mistakes are shaded by value in :data:`BLUES`, the diagonal grey; ``boundaries`` are the positions where a
    group starts, drawn as lines.
    """
    k = len(classes)
    m = np.asarray(matrix, dtype=float)
    off = ~np.eye(k, dtype=bool)
    top = m[off].max() if k > 1 else 0.0
    i, j = np.indices((k, k))
    i, j = i.ravel(), j.ravel()
    values = m[i, j]
    shade = np.where(off[i, j], np.rint(8 * values / top).astype(int) if top else 0, -1)
    colours = [DIAGONAL if s < 0 else BLUES[s] for s in shade]
    texts = [fmt(v) for v in values]
    written = ["" if v == 0 and o else t for v, o, t in zip(values, off[i, j], texts, strict=True)]  # no 0s
    size = cell_px(k)
    font = value_font(k, texts)
    names = [_esc(c) for c in classes]
    fig = go.Figure(go.Scatter(
        x=[names[b] for b in j], y=[names[a] for a in i], mode="markers+text" if font else "markers",
        marker=dict(symbol="square", size=size - 1, color=colours, line=dict(width=0)),
        text=written, textfont=dict(size=font or MIN_FONT, color=["white" if s >= 5 else "black" for s in shade]),
        customdata=np.column_stack([np.asarray(classes, dtype=object)[i], np.asarray(classes, dtype=object)[j],
                                    np.asarray(counts).ravel().astype(int), texts]),
        hovertemplate=f"true %{{y}}<br>predicted %{{x}}<br>%{{customdata[3]}}{unit} · %{{customdata[2]:,}} examples"
                      "<extra></extra>",
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0.85)),
    ))
    longest = max((len(c) for c in classes), default=1)
    tick_font = max(7.0, min(12.0, 0.9 * size))
    label_px = int(min(longest, TICK_CHARS) * 0.6 * tick_font) + 30
    plot = size * k
    step = int(np.ceil(tick_font / size))  # at 100 classes, every other name: the hover names each cell
    axis = dict(type="category", showgrid=False, zeroline=False, ticks="", tickfont=dict(size=tick_font),
                ticktext=[_tick(c) for c in classes][::step], tickvals=names[::step], fixedrange=True)
    fig.update_layout(
        width=int(plot + label_px + 20), height=int(plot + label_px + 30), plot_bgcolor="white",
        margin=dict(l=label_px, r=10, t=10, b=label_px), showlegend=False, dragmode=False,
        xaxis=dict(axis, title="predicted class", tickangle=-90 if longest > 3 or k > 20 else 0,
                   range=[-0.5, k - 0.5]),
        yaxis=dict(axis, title="true class", autorange=False, range=[k - 0.5, -0.5]),
        hoverlabel=dict(bgcolor="white"),
    )
    for b in boundaries:
        for line in (dict(x0=b - 0.5, x1=b - 0.5, y0=-0.5, y1=k - 0.5), dict(y0=b - 0.5, y1=b - 0.5, x0=-0.5,
                                                                               x1=k - 0.5)):
            fig.add_shape(type="line", xref="x", yref="y", line=dict(color="#444", width=1), **line)
    return fig
