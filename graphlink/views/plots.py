"""Plots of clusters, the one plots module: figures for notebooks and PNGs for the report.

The drawing is shared: :func:`draw_hour_profile` and :func:`draw_network`
(with :func:`sample_network` choosing what a large cluster shows, and one
palette, :func:`kind_colour`) draw on a matplotlib Axes from polars frames.

* Notebook functions (``plot_hour_profile``, ``plot_timeline``,
  ``plot_cluster_network``) take a :class:`graphlink.ClusterView` and return a
  :class:`matplotlib.figure.Figure` (it displays itself in a notebook; else
  ``fig.savefig("ring.png")``); pass ``ax=`` to draw into your own figure.
* Report functions (``hour_of_day``, ``timeline``, ``network``) take an output
  folder's drill-down rows and return a :class:`Plot`: PNG bytes plus a
  plain-text caption. Output is deterministic: seeded layouts and no
  timestamp in the PNG metadata.

Figures are built without pyplot: nothing is shown, no GUI backend is touched
and no global figure state piles up (safe in scripts, servers and tests).
Logged text used as labels is attacker-written: it is made terminal-safe,
shortened and drawn with mathtext parsing off (a ``$`` cannot break rendering).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import matplotlib.dates as mdates
import networkx as nx
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from graphlink.config.kinds import kind_name
from graphlink.store.folder import hour_counts
from graphlink.views.plot_canvas import (Plot, kept_figure, message_plot, network_figure, new_figure, render_png,
                                         timeline_figure)
from graphlink.views.safety import terminal_safe
from graphlink.views.words import plural

if TYPE_CHECKING:  # pragma: no cover
    from graphlink.views.cluster import ClusterView

__all__ = ["Plot", "draw_hour_profile", "draw_network", "hour_of_day", "kind_colour", "network",
           "plot_cluster_network", "plot_hour_profile", "plot_timeline", "sample_network", "timeline"]

ACCOUNT_COLOUR = "#33415c"
BAR_COLOUR = "#4c72b0"
#: Signal-kind colours (unknown kinds cycle through the rest of the palette).
KIND_COLOURS = {
    "payment": "#d62728", "ip": "#ff7f0e", "ip_net": "#e7ba52", "asn": "#bcbd22", "prompt": "#2ca02c",
    "timing": "#9467bd", "user_agent": "#8c564b", "email_domain": "#e377c2", "created_hour": "#17becf",
}
_SPARE = ("#7f7f7f", "#1f77b4", "#aec7e8", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d")


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


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


# --------------------------------------------------------------------------- shared drawing


def draw_hour_profile(ax: Axes, per_hour: pl.DataFrame, share: bool = False) -> None:
    """Bars of events per UTC hour of day (``per_hour``: 24 rows ``hour, events``); ``share``: in % of all."""
    events = per_hour["events"].to_numpy().astype(float)
    total = events.sum()
    ax.bar(per_hour["hour"].to_numpy(), events / total * 100 if share and total else events, width=0.85,
           color=BAR_COLOUR)
    ax.set_xticks(range(0, 24, 3))
    ax.set_xlim(-0.6, 23.6)
    ax.set_ylabel("% of events" if share else "events")
    ax.set_xlabel("hour of day (UTC)")
    ax.spines[["top", "right"]].set_visible(False)


def sample_network(memberships: pl.DataFrame, max_nodes: int = 150, max_signals: int = 30, min_shared: int = 2
                   ) -> tuple[pl.DataFrame, dict[str, int]]:
    """Pick the edges to draw for one cluster, deterministically.

    ``memberships`` are one cluster's affiliations (``account_id, kind, value,
    weight`` rows). Signals shared by at least ``min_shared`` members are ranked (linking ones first, then
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
        .filter(pl.col("sharing") >= min_shared)
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


@functools.lru_cache(maxsize=8)
def _spring(n_nodes: int, links: tuple[tuple[int, int], ...], seed: int) -> np.ndarray:
    """Seeded spring layout of nodes ``0 .. n_nodes - 1`` as an ``(n_nodes, 2)`` array (cached: reused)."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n_nodes))
    graph.add_edges_from(links)
    pos = nx.spring_layout(graph, seed=seed, iterations=60)
    return np.array([pos[i] for i in range(n_nodes)]).reshape(-1, 2)


def network_layout(edges: pl.DataFrame, seed: int = 0) -> tuple[list[str], pl.DataFrame, np.ndarray]:
    """Positions of a :func:`sample_network` sample, ``(accounts, signals, xy)``: ``accounts`` sorted, then
    ``signals`` (``kind, value, sharing, weight`` per value, sorted) are the rows of ``xy`` (seeded spring layout)."""
    columns = [c for c in ("kind", "value", "sharing", "weight") if c in edges.columns]
    signals = edges.select(columns).unique(["kind", "value"]).sort("kind", "value")
    accounts = edges["account_id"].unique().sort().to_list()
    index = (pl.DataFrame({"account_id": accounts, "a": pl.int_range(len(accounts), eager=True)})
             .join(edges.join(signals.select("kind", "value").with_row_index("s", offset=len(accounts)),
                              on=["kind", "value"], maintain_order="left"), on="account_id", maintain_order="right"))
    links = tuple(zip(index["a"].to_list(), index["s"].cast(pl.Int64).to_list()))
    return accounts, signals, _spring(len(accounts) + signals.height, links, seed)


def draw_network(ax: Axes, edges: pl.DataFrame, seed: int = 0, labels: bool = False) -> None:
    """Bipartite drawing: accounts (dark dots) and the signals they share (squares coloured by kind).

    ``edges`` are :func:`sample_network` rows. Layout is networkx's spring
    layout with a fixed seed, so the same cluster is always drawn the same
    way. ``labels`` writes the (terminal-safe, shortened) values beside their squares.
    """
    accounts, signals, positions = network_layout(edges, seed)
    signal_ids = [f"s{i}" for i in range(signals.height)]
    signals = signals.with_columns(pl.Series("node", signal_ids))
    edges = edges.join(signals.select("kind", "value", "node"), on=["kind", "value"])
    pos = dict(zip(["a:" + a for a in accounts] + signal_ids, positions))
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
    if labels:
        for (x, y), value in zip(sig_xy, signals["value"].to_list()):
            ax.text(x, y, " " + terminal_safe(value, limit=32), fontsize=7, va="center", parse_math=False, zorder=4)
    handles = [Line2D([], [], marker="o", linestyle="", color=ACCOUNT_COLOUR, label="account", markersize=5)]
    handles += [Line2D([], [], marker="s", linestyle="", color=kind_colour(k, kinds),
                       label=terminal_safe(kind_name(k), limit=30), markersize=6) for k in kinds]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")


# --------------------------------------------------------------------------- report (PNG)


def _hour_figure() -> tuple[Figure, Axes, list]:
    """The kept hour-of-day figure: 24 bars whose heights each plot sets."""
    fig = new_figure(5.2, 2.5)
    ax = fig.add_subplot()
    draw_hour_profile(ax, pl.DataFrame({"hour": range(24), "events": [0] * 24}), share=True)
    return fig, ax, list(ax.patches)


def hour_of_day(activity: pl.DataFrame, title: str = "") -> Plot:
    """Bar chart of the share of events per UTC hour of day (``activity``: ``hour, events`` rows).

    Scripted rings often work in shifts or bursts at fixed hours; humans follow
    a day-night curve.
    """
    per_hour = hour_counts(activity)
    events = per_hour["events"].to_numpy().astype(float)
    total = int(events.sum())
    title = title or "Activity by hour of day (UTC)"
    if total == 0:
        fig = new_figure(5.2, 2.5)
        ax = fig.add_subplot()
        message_plot(ax, "no timestamped events")
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(title, fontsize=10, y=1.0)
        return render_png(fig, "No timestamped events.")
    top = (per_hour.filter(pl.col("events") > 0)
           .sort(["events", "hour"], descending=[True, False]).head(3)["hour"].to_list())
    caption = (f"{plural(total, 'event')} by hour of day (UTC); busiest hours "
               + ", ".join(f"{h:02d}:00" for h in top) + ".")
    with kept_figure("hour_of_day", _hour_figure) as (fig, ax, bars):
        for bar, height in zip(bars, events / events.sum() * 100):  # draw_hour_profile's bars, share=True
            bar.set_height(height)
        ax.relim()
        ax.autoscale_view()
        ax.set_title(title, fontsize=10, y=1.0)
        return render_png(fig, caption)


def timeline(activity: pl.DataFrame, title: str = "") -> Plot:
    """Events per day (bars) and active accounts per day (line); weeks when the span exceeds 180 days."""
    if activity.is_empty():
        fig = new_figure(5.2, 2.8, right=0.88, bottom=0.27)
        ax = fig.add_subplot()
        ax.spines[["top", "right"]].set_visible(False)
        message_plot(ax, "no timestamped events")
        ax.set_title(title or "Timeline", fontsize=10, y=1.0)
        return render_png(fig, "No timestamped events.")
    first, last = activity["day"].min(), activity["day"].max()
    span = (last - first).days + 1
    unit = "week" if span > 180 else "day"
    period = pl.col("day").dt.truncate("1w") if unit == "week" else pl.col("day")
    series = (
        activity.group_by(period.alias("period"))
        .agg(pl.col("events").sum(), pl.col("account_id").n_unique().alias("accounts"))
        .sort("period")
    )
    busiest = series.sort(["events", "period"], descending=[True, False]).row(0, named=True)
    caption = (f"Activity from {first} to {last} ({plural(span, 'day')}); busiest {unit} {busiest['period']} "
               f"with {plural(busiest['events'], 'event')} from {plural(busiest['accounts'], 'account')}.")
    x = series["period"].to_numpy()
    # A fixed title height skips matplotlib's search for tick labels above the axes (a fifth of the
    # drawing time): there are none, only a y-axis offset text ("1e6") could be, for counts >= 1e5.
    fixed = max(series["events"].max(), series["accounts"].max()) < 100_000
    with kept_figure(f"timeline fixed={fixed}", timeline_figure) as kept:  # a figure each: a set y stays set
        fig, ax, twin = kept["fig"], kept["ax"], kept["twin"]
        for artist in kept["drawn"]:  # the previous plot's
            artist.remove()
        for axes in (ax, twin):  # data limits and autoscaling as on new axes
            axes.relim()
            axes.set_autoscale_on(True)
        bars = ax.bar(x, series["events"].to_numpy(), width=6 if unit == "week" else 0.8, color=BAR_COLOUR,
                      label=f"events per {unit}")
        ax.set_ylabel(f"events per {unit}")
        (line,) = twin.plot(x, series["accounts"].to_numpy(), color="#dd8452", marker="o", markersize=3,
                            linewidth=1.2, label=f"active accounts per {unit}")
        twin.set_ylim(bottom=0)
        legend = fig.legend(handles=[bars, line], fontsize=7, loc="lower center", ncols=2, frameon=False)
        kept["drawn"] = [bars, line, legend]
        ax.set_title(title or "Timeline (UTC)", fontsize=10, y=1.0 if fixed else None)
        return render_png(fig, caption)


def network(memberships: pl.DataFrame, title: str = "", max_nodes: int = 150, seed: int = 0) -> Plot:
    """Bipartite drawing of a cluster's affiliations (see :func:`draw_network`), values not written on it."""
    title = title or "Accounts and shared signals"
    edges, stats = sample_network(memberships, max_nodes=max_nodes)
    if edges.is_empty():
        fig, ax = network_figure()
        ax.set_title(title, fontsize=10, y=1.0)
        message_plot(ax, "no signal shared by two members")
        return render_png(fig, "No signal is shared by two members of this cluster.")
    caption = (f"{stats['accounts_shown']:,} of {plural(stats['accounts_total'], 'account')} and "
               f"{stats['signals_shown']:,} of {plural(stats['signals_total'], 'shared signal')} "
               "(the most shared, heaviest signals and their best-connected accounts).")
    with kept_figure("network", network_figure) as (fig, ax):
        for artist in [*ax.collections, *ax.texts]:  # the previous plot's (its legend is replaced)
            artist.remove()
        ax.relim()  # data limits and autoscaling as on new axes
        ax.set_autoscale_on(True)
        ax.set_title(title, fontsize=10, y=1.0)
        draw_network(ax, edges, seed)
        return render_png(fig, caption)


# --------------------------------------------------------------------------- notebook (Figure)


def plot_hour_profile(view: ClusterView, ax: Axes | None = None) -> Figure:
    """Bar chart of the cluster's events by hour of day (UTC).

    Parameters
    ----------
    view : ClusterView
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import polars as pl, graphlink
    >>> events = pl.DataFrame({"account_id": ["a", "b", "c"], "payment_fingerprint": ["k", "k", "z"],
    ...                        "timestamp": [1_700_000_000, 1_700_003_600, 1_700_007_200]})
    >>> fig = plot_hour_profile(graphlink.detect(events).cluster(1))
    >>> fig.axes[0].get_xlabel()
    'hour of day (UTC)'
    """
    fig, ax = _axes(ax, (7, 3))
    draw_hour_profile(ax, view.hour_profile())
    ax.set_title(f"Cluster {view.cluster_id}: events by hour of day", loc="left")
    return fig


def plot_timeline(view: ClusterView, every: str = "1h", ax: Axes | None = None) -> Figure:
    """The cluster's events per time window, with its active accounts on a second axis.

    Parameters
    ----------
    view : ClusterView
    every : str
        Window length (polars duration: ``"15m"``, ``"1h"``, ``"1d"``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import polars as pl, graphlink
    >>> events = pl.DataFrame({"account_id": ["a", "b", "c"], "payment_fingerprint": ["k", "k", "z"],
    ...                        "timestamp": [1_700_000_000, 1_700_003_600, 1_700_007_200]})
    >>> fig = plot_timeline(graphlink.detect(events).cluster(1), every="30m")
    >>> [a.get_ylabel() for a in fig.axes]
    ['events per 30m', 'active accounts']
    """
    timeline = view.timeline(every)
    fig, ax = _axes(ax, (8, 3))
    # Close the last window: a "post" step needs the end of the final window too.
    ends = timeline["timestamp"].tail(1).dt.offset_by(every)
    times = pl.concat([timeline["timestamp"], ends]).dt.replace_time_zone(None).to_numpy()
    events = pl.concat([timeline["events"], timeline["events"].tail(1)]).to_numpy()
    accounts = pl.concat([timeline["accounts"], timeline["accounts"].tail(1)]).to_numpy()
    ax.step(times, events, where="post", color="#1f77b4", label="events")
    ax.set_ylabel(f"events per {every}")
    ax.set_xlabel("time (UTC)")
    twin = ax.twinx()
    twin.step(times, accounts, where="post", color="#d62728", linestyle="--",
              linewidth=1, label="active accounts")
    twin.set_ylabel("active accounts")
    twin.set_ylim(bottom=0)
    ax.set_ylim(bottom=0)
    ax.set_title(f"Cluster {view.cluster_id}: activity over time", loc="left")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize="small")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return fig


def plot_cluster_network(view: ClusterView, seed: int = 0, max_nodes: int = 150, min_shared: int = 2,
                         ax: Axes | None = None) -> Figure:
    """The cluster's accounts and the signal values they share (coloured by kind): :func:`draw_network`.

    Parameters
    ----------
    view : ClusterView
    seed : int
        Seed of the spring layout: the same seed draws the same picture.
    max_nodes : int
        Large rings are cut to this many nodes (:func:`sample_network`: the
        most shared, heaviest values and the accounts carrying most of them;
        the title says so).
    min_shared : int
        Signal values carried by fewer members are left out.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    GraphlinkError
        For a loaded result whose folder has no ``memberships.parquet``.

    Examples
    --------
    >>> import polars as pl, graphlink
    >>> events = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "payment_fingerprint": ["k", "k", "k", "z"]})
    >>> fig = plot_cluster_network(graphlink.detect(events).cluster(1))
    >>> fig.axes[0].get_title(loc="left")
    'Cluster 1: 3 accounts, 1 shared signal value'
    """
    max_nodes = max(int(max_nodes), 2)
    edges, stats = sample_network(view.affiliations(), max_nodes=max_nodes, max_signals=max_nodes,
                                  min_shared=min_shared)
    fig, ax = _axes(ax, (8, 7))
    n_sig = stats["signals_total"]
    title = f"Cluster {view.cluster_id}: {plural(view.size, 'account')}, {plural(n_sig, 'shared signal value')}"
    if stats["accounts_shown"] < view.size or stats["signals_shown"] < n_sig:
        title += (f"\n(showing {plural(stats['accounts_shown'], 'account')} and {plural(stats['signals_shown'], 'signal')} "
                  "of the most shared)")
    ax.set_title(title, loc="left")
    ax.set_axis_off()
    if not edges.is_empty():
        draw_network(ax, edges, seed, labels=stats["accounts_shown"] + stats["signals_shown"] <= 40)
    return fig
