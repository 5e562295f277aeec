"""The report plots' figures and their PNG encoding (:mod:`graphlink.views.plots` draws on them).

A report draws the same few kinds of figure for every cluster section, and building a matplotlib
figure (its axes, spines, ticks and labels) cost about as much as drawing its data. So a kind of
figure whose frame does not depend on the data is built once per process and kept
(:func:`kept_figure`); each plot only changes what depends on its data (bar heights, limits,
title) and renders. What a plot shows never depends on the plots drawn before it: everything
a plot changes is set again by the next one, so the PNG is the same byte for byte as on a
freshly built figure (a report drawn partly in helper processes is the same too).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["DPI", "PNG_COMPRESS_LEVEL", "Plot", "kept_figure", "new_figure", "render_png"]

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
