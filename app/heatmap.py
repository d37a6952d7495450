"""The confusion matrix as a clickable heatmap that fits the page at 10, 20 or 100 classes.

A heatmap draws the cells; Streamlit reports no click on a heatmap, so a scatter of transparent square markers,
one per cell, lies on top: a click on one comes back with its ``customdata`` (true, predicted). The cells shrink as
the classes grow (the figure's height follows them, its squares kept square), the values are written in them while
they fit (their font is sized to the longest value) and always shown on hover, with the full class names.
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


def cell_px(k: int, side: float = SIDE) -> float:
    """The side of one cell, px, for ``k`` classes in a plot of ``side`` px."""
    return min(MAX_CELL, side / max(k, 1))


def value_font(k: int, texts: Sequence[str], side: float = SIDE) -> float | None:
    """The font size that fits the longest value inside a cell (about 0.62 em a character), or None when even
    the smallest readable size does not fit: the values are then on hover only."""
    longest = max((len(t) for t in texts), default=1)
    size = min(MAX_FONT, 0.88 * cell_px(k, side) / (0.62 * longest))
    return size if size >= MIN_FONT else None


def _colourscale() -> list[tuple[float, str]]:
    """Steps for the shades -1 (the diagonal, grey) to 8 (the most mistakes), on z from -1.5 to 8.5."""
    colours = [DIAGONAL, *BLUES]
    return [(edge, c) for n, c in enumerate(colours) for edge in (n / len(colours), (n + 1) / len(colours))]


def heatmap(matrix: np.ndarray, counts: np.ndarray, classes: Sequence[str], fmt: Callable[[float], str], *,
            boundaries: Sequence[int] = (), unit: str = "", side: float = SIDE) -> go.Figure:
    """The figure: rows true classes (top to bottom), columns predicted ones, in ``classes``' order.

    ``matrix`` holds the shown values (counts, weights or shares), ``counts`` the examples of each cell (hover);
    mistakes are shaded by value in :data:`BLUES`, the diagonal grey; ``boundaries`` are the positions where a
    group starts, drawn as lines; ``side`` is the plot's side, px, as the page has room for.

    Two traces: a heatmap draws the cells and their values (it scales with the page), a scatter of transparent
    squares on top answers hover and clicks with ``customdata`` (true, predicted, examples, value).
    """
    k = len(classes)
    m = np.asarray(matrix, dtype=float)
    off = ~np.eye(k, dtype=bool)
    top = m[off].max() if k > 1 else 0.0
    shade = np.where(off, np.rint(8 * m / top) if top else 0, -1)
    texts = np.array([[fmt(v) for v in row] for row in m], dtype=object).reshape(k, k)
    written = np.where(off & (m == 0), "", texts)  # no zeros among the mistakes: the blocks stand out
    size = cell_px(k, side)
    font = value_font(k, list(texts.ravel()), side)
    i, j = (a.ravel() for a in np.indices((k, k)))
    fig = go.Figure()
    fig.add_heatmap(z=shade, zmin=-1.5, zmax=8.5, colorscale=_colourscale(), showscale=False, hoverinfo="skip",
                    text=written, texttemplate="%{text}" if font else "", textfont=dict(size=font or MIN_FONT),
                    xgap=1, ygap=1)
    names = np.asarray(classes, dtype=object)
    fig.add_scatter(
        x=j, y=i, mode="markers", marker=dict(symbol="square", size=size, color="rgba(0,0,0,0)"),
        customdata=np.column_stack([names[i], names[j], np.asarray(counts).ravel().astype(int), texts.ravel()]),
        hovertext=[f"true {_esc(names[a])}<br>predicted {_esc(names[b])}" for a, b in zip(i, j, strict=True)],
        hovertemplate=f"%{{hovertext}}<br>%{{customdata[3]}}{unit} · %{{customdata[2]:,}} examples<extra></extra>",
        selected=dict(marker=dict(color="rgba(0,0,0,0.3)")), unselected=dict(marker=dict(opacity=1)),
    )
    longest = max((len(c) for c in classes), default=1)
    tick_font = max(7.0, min(12.0, 0.9 * size))
    label_px = int(min(longest, TICK_CHARS) * 0.6 * tick_font) + 30
    step = int(np.ceil(tick_font / size))  # at 100 classes, every other name: the hover names each cell
    ticks = dict(tickvals=list(range(0, k, step)), ticktext=[_tick(c) for c in classes][::step])
    axis = dict(showgrid=False, zeroline=False, ticks="", tickfont=dict(size=tick_font), fixedrange=True, **ticks)
    plot = size * k
    fig.update_layout(
        height=int(plot + label_px + 30), plot_bgcolor="white", margin=dict(l=label_px, r=10, t=10, b=label_px),
        showlegend=False, dragmode=False, hoverlabel=dict(bgcolor="white"),
        xaxis=dict(axis, title="predicted class", tickangle=-90 if longest > 3 or k > 20 else 0,
                   range=[-0.5, k - 0.5], constrain="domain"),
        yaxis=dict(axis, title="true class", range=[k - 0.5, -0.5], scaleanchor="x", constrain="domain"),
    )
    for b in boundaries:
        for line in (dict(x0=b - 0.5, x1=b - 0.5, y0=-0.5, y1=k - 0.5),
                     dict(y0=b - 0.5, y1=b - 0.5, x0=-0.5, x1=k - 0.5)):
            fig.add_shape(type="line", xref="x", yref="y", line=dict(color="#444", width=1), **line)
    return fig
