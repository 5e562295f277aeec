"""The report plots' figures and their PNG encoding (:mod:`graphlink.views.plots` draws on them).

A report draws the same three kinds of figure for every cluster section, and building a matplotlib
figure (axes, spines, ticks, labels, locators) cost about as much as drawing its data. So each
kind is built once per process and kept (:func:`kept_figure`; a plot with nothing to draw gets a
new figure with its message): the hour-of-day plot only sets its 24 bar heights, the timeline and
network plots remove the previous plot's artists, reset the data limits and autoscaling as on new
axes and draw their own. What a plot shows never depends on the plots drawn before it, and its
PNG is the same byte for byte as on a new figure (a report drawn partly in helper processes is
the same too; ``tests/test_report_plots.py``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

__all__ = ["DPI", "PNG_COMPRESS_LEVEL", "Plot", "kept_figure", "message_plot", "network_figure", "new_figure", "render_png",
           "timeline_figure"]

DPI = 96
#: zlib level of the PNGs: level 8 gives PNGs 1 % larger than level 9 (``optimize``) in a third
#: of the encoding time (the 141 sections of an 11,000-account world: 4.5 s less CPU).
PNG_COMPRESS_LEVEL = 8

_KEPT: dict[str, Any] = {}
_LOCK = threading.RLock()


@dataclass(frozen=True)
class Plot:
    """A rendered plot: PNG bytes, pixel size and a plain-text caption (escape before use in HTML)."""

    png: bytes
    width: int
    height: int
    caption: str


def new_figure(width_in: float, height_in: float, **margins: float) -> Figure:
    """A figure with fixed margins (constrained layout costs more than drawing the plot) and an Agg canvas."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    fig.subplots_adjust(**({"left": 0.12, "right": 0.97, "bottom": 0.2, "top": 0.88} | margins))
    FigureCanvasAgg(fig)
    return fig


def message_plot(ax: Axes, message: str) -> None:
    """Write ``message`` (e.g. "no timestamped events") in the middle of ``ax``, without ticks."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def timeline_figure() -> dict:
    """A kept timeline figure: axes, twin axes and locators; each plot adds its bars, line and legend."""
    fig = new_figure(5.2, 2.8, right=0.88, bottom=0.27)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    twin = ax.twinx()
    twin.set_ylabel("active accounts")
    for axis in (ax.yaxis, twin.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    twin.spines[["top"]].set_visible(False)
    locator = AutoDateLocator(minticks=3, maxticks=7, interval_multiples=False)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return {"fig": fig, "ax": ax, "twin": twin, "drawn": []}


def network_figure() -> tuple[Figure, Axes]:
    """A network figure: axes without axis lines, ticks or labels."""
    fig = new_figure(5.6, 4.6, left=0.02, right=0.8, bottom=0.02, top=0.93)
    ax = fig.add_subplot()
    ax.set_axis_off()
    return fig, ax


@contextmanager
def kept_figure(kind: str, build: Callable[[], Any]) -> Iterator[Any]:
    """The figure of ``kind`` kept in this process (``build()`` makes it the first time), held for
    this thread while the caller draws on it and renders it."""
    with _LOCK:
        if kind not in _KEPT:
            _KEPT[kind] = build()
        yield _KEPT[kind]


def render_png(fig: Figure, caption: str) -> Plot:
    """Render to PNG, reduced to a 128-colour palette (a third of the bytes, no visible loss)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return Plot(out.getvalue(), small.width, small.height, caption)
