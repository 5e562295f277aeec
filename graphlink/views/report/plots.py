"""Plots for the report: PNG bytes from matplotlib (Agg, no pyplot global state).

Each function takes one cluster's drill-down rows and returns a :class:`Plot`
(PNG bytes plus a plain-text caption); nothing is shown or written. Figures
are built with :class:`matplotlib.figure.Figure` directly, so no GUI backend
is ever touched and concurrent calls do not share state. Output is
deterministic: seeded layouts and no timestamp in the PNG metadata.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import networkx as nx
import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

DPI = 96
ACCOUNT_COLOUR = "#33415c"
BAR_COLOUR = "#4c72b0"
#: Signal-kind colours (unknown kinds cycle through the rest of the palette).
KIND_COLOURS = {
    "payment": "#d62728", "ip": "#ff7f0e", "ip_net": "#e7ba52", "asn": "#bcbd22", "prompt": "#2ca02c",
    "timing": "#9467bd", "user_agent": "#8c564b", "email_domain": "#e377c2", "created_hour": "#17becf",
}
_SPARE = ("#7f7f7f", "#1f77b4", "#aec7e8", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d")


@dataclass(frozen=True)
class Plot:
    """A rendered plot: PNG bytes, pixel size and a plain-text caption (escape before use in HTML)."""

    png: bytes
    width: int
    height: int
    caption: str


def kind_colour(kind: str, kinds: list[str]) -> str:
    """Colour of a signal kind; user-declared kinds get spare colours in sorted order.

    Examples
    --------
    >>> kind_colour("payment", []), kind_colour("device", ["device", "payment"])
    ('#d62728', '#7f7f7f')
    """
    if kind in KIND_COLOURS:
        return KIND_COLOURS[kind]
    custom = sorted(k for k in kinds if k not in KIND_COLOURS)
    return _SPARE[custom.index(kind) % len(_SPARE)] if kind in custom else _SPARE[0]


def _figure(width_in: float, height_in: float, **margins: float) -> Figure:
    # Fixed margins: constrained layout costs more than drawing the plot.
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    fig.subplots_adjust(**({"left": 0.12, "right": 0.97, "bottom": 0.2, "top": 0.88} | margins))
    return fig


def _png(fig: Figure, caption: str) -> Plot:
    """Render to PNG, reduced to a 128-colour palette (a third of the bytes, no visible loss)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return Plot(out.getvalue(), small.width, small.height, caption)


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def hour_of_day(activity: pl.DataFrame, title: str = "") -> Plot:
    """Bar chart of events per UTC hour of day (``activity``: ``hour, events`` rows).

    Scripted rings often work in shifts or bursts at fixed hours; humans follow
    a day-night curve.
    """
    per_hour = (
        pl.DataFrame({"hour": np.arange(24, dtype=np.int8)})
        .join(activity.group_by("hour").agg(pl.col("events").sum()), on="hour", how="left")
        .with_columns(pl.col("events").fill_null(0))
        .sort("hour")
    )
    total = int(per_hour["events"].sum())
    fig = _figure(5.2, 2.5)
    ax = fig.add_subplot()
    if total == 0:
        _empty(ax, "no timestamped events")
        caption = "No timestamped events."
    else:
        share = per_hour["events"].to_numpy() / total * 100
        ax.bar(per_hour["hour"].to_numpy(), share, width=0.85, color=BAR_COLOUR)
        ax.set_xticks(range(0, 24, 3))
        ax.set_xlim(-0.6, 23.6)
        ax.set_ylabel("% of events")
        ax.set_xlabel("hour of day (UTC)")
        top = (per_hour.filter(pl.col("events") > 0)
               .sort(["events", "hour"], descending=[True, False]).head(3)["hour"].to_list())
        caption = (f"{total:,} events by hour of day (UTC); busiest hours "
                   + ", ".join(f"{h:02d}:00" for h in top) + ".")
    ax.set_title(title or "Activity by hour of day (UTC)", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig, caption)


def timeline(activity: pl.DataFrame, title: str = "") -> Plot:
    """Events per day (bars) and active accounts per day (line); weeks when the span exceeds 180 days."""
    fig = _figure(5.2, 2.8, right=0.88, bottom=0.27)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    if activity.is_empty():
        _empty(ax, "no timestamped events")
        ax.set_title(title or "Timeline", fontsize=10)
        return _png(fig, "No timestamped events.")
    first, last = activity["day"].min(), activity["day"].max()
    span = (last - first).days + 1
    unit = "week" if span > 180 else "day"
    period = pl.col("day").dt.truncate("1w") if unit == "week" else pl.col("day")
    series = (
        activity.group_by(period.alias("period"))
        .agg(pl.col("events").sum(), pl.col("account_id").n_unique().alias("accounts"))
        .sort("period")
    )
    x = series["period"].to_numpy()
    ax.bar(x, series["events"].to_numpy(), width=6 if unit == "week" else 0.8, color=BAR_COLOUR,
           label=f"events per {unit}")
    ax.set_ylabel(f"events per {unit}")
    twin = ax.twinx()
    twin.plot(x, series["accounts"].to_numpy(), color="#dd8452", marker="o", markersize=3, linewidth=1.2,
              label=f"active accounts per {unit}")
    twin.set_ylabel("active accounts")
    twin.set_ylim(bottom=0)
    for axis in (ax.yaxis, twin.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    twin.spines[["top"]].set_visible(False)
    locator = AutoDateLocator(minticks=3, maxticks=7, interval_multiples=False)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    fig.legend(handles=handles, fontsize=7, loc="lower center", ncols=2, frameon=False)
    ax.set_title(title or "Timeline (UTC)", fontsize=10)
    busiest = series.sort(["events", "period"], descending=[True, False]).row(0, named=True)
    caption = (f"Activity from {first} to {last} ({span} days); busiest {unit} {busiest['period']} "
               f"with {busiest['events']:,} events from {busiest['accounts']:,} accounts.")
    return _png(fig, caption)


def sample_network(memberships: pl.DataFrame, max_nodes: int = 150, max_signals: int = 30
                   ) -> tuple[pl.DataFrame, dict[str, int]]:
    """Pick the edges to draw for one cluster, deterministically.

    Signals shared by at least two members are ranked (linking ones first, then
    by accounts sharing times weight, then kind and value) and the top
    ``max_signals`` kept; then the members with most edges to them (ties by
    account id) fill the remaining node budget.

    Returns ``(edges, stats)``: edges ``account_id, kind, value, weight,
    sharing`` and counts of shown / total accounts and signals.

    Examples
    --------
    >>> m = pl.DataFrame({"account_id": ["a", "b", "c", "a"], "kind": ["payment"] * 3 + ["ip"],
    ...                   "value": ["c1", "c1", "c1", "1.2.3.4"], "weight": [2.0, 2.0, 2.0, 1.0]})
    >>> edges, stats = sample_network(m)
    >>> edges.height, stats["signals_shown"], stats["accounts_total"]
    (3, 1, 3)
    """
    shared = (
        memberships.group_by("kind", "value")
        .agg(pl.col("weight").max(), pl.col("account_id").n_unique().alias("sharing"))
        .filter(pl.col("sharing") >= 2)
        .with_columns((pl.col("weight") > 0).alias("linking"),
                      (pl.col("weight") * pl.col("sharing")).alias("strength"))
        .sort(["linking", "strength", "sharing", "kind", "value"], descending=[True, True, True, False, False])
    )
    accounts_total = memberships["account_id"].n_unique()
    n_signals = min(shared.height, max_signals, max(max_nodes // 3, 1))
    top = shared.head(n_signals).select("kind", "value", "sharing")
    edges = memberships.join(top, on=["kind", "value"])
    budget = max(max_nodes - n_signals, 0)
    accounts = (
        edges.group_by("account_id").agg(pl.len().alias("degree"))
        .sort(["degree", "account_id"], descending=[True, False]).head(budget)
    )
    edges = (edges.join(accounts.select("account_id"), on="account_id")
             .select("account_id", "kind", "value", "weight", "sharing")
             .sort("kind", "value", "account_id"))
    stats = {"accounts_shown": accounts.height, "accounts_total": accounts_total,
             "signals_shown": n_signals, "signals_total": shared.height}
    return edges, stats


def network(memberships: pl.DataFrame, title: str = "", max_nodes: int = 150, seed: int = 0) -> Plot:
    """Bipartite drawing of a cluster: accounts (dark dots) and the signals they share (coloured squares).

    Layout is networkx's spring layout with a fixed seed, so the same cluster
    is always drawn the same way. Values are not written on the drawing (they
    are in the evidence table next to it).
    """
    fig = _figure(5.6, 4.6, left=0.02, right=0.8, bottom=0.02, top=0.93)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title or "Accounts and shared signals", fontsize=10)
    edges, stats = sample_network(memberships, max_nodes=max_nodes)
    if edges.is_empty():
        _empty(ax, "no signal shared by two members")
        return _png(fig, "No signal is shared by two members of this cluster.")
    signals = edges.select("kind", "value", "sharing").unique().sort("kind", "value")
    signal_ids = [f"s{i}" for i in range(signals.height)]
    signals = signals.with_columns(pl.Series("node", signal_ids))
    edges = edges.join(signals.select("kind", "value", "node"), on=["kind", "value"])
    graph = nx.Graph()
    accounts = edges["account_id"].unique().sort().to_list()
    graph.add_nodes_from(("a:" + a for a in accounts))
    graph.add_nodes_from(signal_ids)
    graph.add_edges_from(zip(("a:" + edges["account_id"]).to_list(), edges["node"].to_list()))
    pos = nx.spring_layout(graph, seed=seed, iterations=60)
    xy = lambda nodes: np.array([pos[n] for n in nodes]).reshape(-1, 2)  # noqa: E731
    segments = np.stack([xy(("a:" + edges["account_id"]).to_list()), xy(edges["node"].to_list())], axis=1)
    ax.add_collection(LineCollection(segments, colors="#9aa5b1", linewidths=0.6, alpha=0.6, zorder=1))
    acc_xy = xy(["a:" + a for a in accounts])
    ax.scatter(acc_xy[:, 0], acc_xy[:, 1], s=18, c=ACCOUNT_COLOUR, zorder=2, linewidths=0)
    kinds = signals["kind"].unique().sort().to_list()
    sig_xy = xy(signal_ids)
    sizes = 30 + 120 * np.sqrt(signals["sharing"].to_numpy() / max(signals["sharing"].max(), 1))
    colours = [kind_colour(k, kinds) for k in signals["kind"].to_list()]
    ax.scatter(sig_xy[:, 0], sig_xy[:, 1], s=sizes, c=colours, marker="s", zorder=3,
               edgecolors="white", linewidths=0.5)
    handles = [Line2D([], [], marker="o", linestyle="", color=ACCOUNT_COLOUR, label="account", markersize=5)]
    handles += [Line2D([], [], marker="s", linestyle="", color=kind_colour(k, kinds), label=k, markersize=6)
                for k in kinds]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")
    caption = (f"{stats['accounts_shown']:,} of {stats['accounts_total']:,} accounts and "
               f"{stats['signals_shown']:,} of {stats['signals_total']:,} shared signals "
               "(the most shared, heaviest signals and their best-connected accounts).")
    return _png(fig, caption)
