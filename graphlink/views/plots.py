"""Plots of one cluster (:class:`graphlink.views.api.ClusterView`), as matplotlib figures.

Each function returns a :class:`matplotlib.figure.Figure` built without
pyplot: nothing is shown, no GUI backend is touched and no global figure
state piles up, so the functions are safe in scripts, servers and tests (Agg).
In a notebook the returned figure displays itself (after ``%matplotlib
inline``); elsewhere call ``fig.savefig("ring.png")``. Pass ``ax=`` to draw
into an axes of your own figure instead.

Logged text used as labels is attacker-written: it is made terminal-safe,
shortened and drawn with mathtext parsing off (a ``$`` cannot break rendering).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.dates as mdates
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from graphlink.views.safety import terminal_safe

if TYPE_CHECKING:  # pragma: no cover
    from graphlink.views.api import ClusterView

__all__ = ["plot_cluster_network", "plot_hour_profile", "plot_timeline"]

_ACCOUNT_COLOUR = "#9aa5b1"
_KIND_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f")


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


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
    profile = view.hour_profile()
    fig, ax = _axes(ax, (7, 3))
    ax.bar(profile["hour"].to_numpy(), profile["events"].to_numpy(), color="#1f77b4", width=0.8)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlim(-0.6, 23.6)
    ax.set_xlabel("hour of day (UTC)")
    ax.set_ylabel("events")
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


def _select_nodes(members: pl.Series, shared: pl.DataFrame, max_nodes: int) -> tuple[list, list]:
    """Accounts and signals to draw: the most shared signals of each kind and the accounts carrying most."""
    n_acc, n_sig = members.len(), shared.height
    if n_acc + n_sig <= max_nodes:
        return ([("account", a) for a in members],
                [("signal", k, v) for k, v in zip(shared["kind"], shared["value"])])
    s_budget = min(n_sig, max(max_nodes - n_acc, max_nodes // 3))
    # Round-robin over kinds (most shared first within each) so a cut keeps every kind in view.
    kept_sig = (
        shared.with_columns(pl.int_range(pl.len()).over("kind").alias("_rank"))
        .sort(["_rank", "accounts_sharing", "weight", "kind", "value"], descending=[False, True, True, False, False])
        .head(s_budget)
    )
    degree = (
        kept_sig.select(pl.col("accounts").explode().alias("account_id"))
        .group_by("account_id").agg(pl.len().alias("degree"))
    )
    kept_acc = (
        members.to_frame("account_id").join(degree, on="account_id", how="left")
        .with_columns(pl.col("degree").fill_null(0))
        .sort(["degree", "account_id"], descending=[True, False])
        .head(max_nodes - s_budget)["account_id"]
    )
    return ([("account", a) for a in kept_acc],
            [("signal", k, v) for k, v in zip(kept_sig["kind"], kept_sig["value"])])


def plot_cluster_network(view: ClusterView, seed: int = 0, max_nodes: int = 150, min_shared: int = 2,
                         ax: Axes | None = None) -> Figure:
    """The cluster's accounts (grey) and the signal values they share (coloured by kind).

    Parameters
    ----------
    view : ClusterView
    seed : int
        Seed of the spring layout: the same seed draws the same picture.
    max_nodes : int
        Large rings are cut to this many nodes: the most shared signal values
        of every kind and the accounts carrying most of them (the title says so).
    min_shared : int
        Signal values carried by fewer members are left out.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import polars as pl, graphlink
    >>> events = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "payment_fingerprint": ["k", "k", "k", "z"]})
    >>> fig = plot_cluster_network(graphlink.detect(events).cluster(1))
    >>> fig.axes[0].get_title(loc="left")
    'Cluster 1: 3 accounts, 1 shared signal value'
    """
    import networkx as nx

    graph = view.graph(min_shared)
    acc_nodes, sig_nodes = _select_nodes(view.members["account_id"], view.shared_signals(min_shared),
                                         max(int(max_nodes), 2))
    sub = graph.subgraph(acc_nodes + sig_nodes)
    fig, ax = _axes(ax, (8, 7))
    n_acc_all = sum(1 for n in graph if n[0] == "account")
    n_sig_all = graph.number_of_nodes() - n_acc_all
    title = (f"Cluster {view.cluster_id}: {n_acc_all:,} accounts, {n_sig_all:,} shared signal "
             f"value{'' if n_sig_all == 1 else 's'}")
    if sub.number_of_nodes() < graph.number_of_nodes():
        title += f"\n(showing {len(acc_nodes):,} accounts and {len(sig_nodes):,} signals of the most shared)"
    ax.set_title(title, loc="left")
    ax.set_axis_off()
    if sub.number_of_nodes() == 0:
        return fig
    pos = nx.spring_layout(sub, seed=seed, weight=None)
    if sub.number_of_edges():
        segments = np.array([(pos[u], pos[v]) for u, v in sub.edges()])
        weights = np.array([w for _, _, w in sub.edges(data="weight")], dtype=float)
        top = weights.max() if weights.size and weights.max() > 0 else 1.0
        ax.add_collection(LineCollection(segments, colors="#b0b0b0", linewidths=0.4 + 1.6 * weights / top,
                                         alpha=0.7, zorder=1))
    xy = np.array([pos[n] for n in acc_nodes]).reshape(-1, 2)
    ax.scatter(xy[:, 0], xy[:, 1], s=30, c=_ACCOUNT_COLOUR, edgecolors="white", linewidths=0.5,
               label="account", zorder=2)
    kinds = sorted({n[1] for n in sig_nodes})
    for i, kind in enumerate(kinds):
        nodes = [n for n in sig_nodes if n[1] == kind]
        xy = np.array([pos[n] for n in nodes]).reshape(-1, 2)
        size = np.array([30 + 10 * sub.nodes[n]["accounts_sharing"] ** 0.5 for n in nodes])
        ax.scatter(xy[:, 0], xy[:, 1], s=size, marker="s", c=_KIND_COLOURS[i % len(_KIND_COLOURS)],
                   label=terminal_safe(kind, limit=30), zorder=3)
    if sub.number_of_nodes() <= 40:
        for node in sig_nodes:
            x, y = pos[node]
            ax.text(x, y, " " + terminal_safe(node[2], limit=32), fontsize=7, va="center",
                    parse_math=False, zorder=4)
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    ax.autoscale_view()
    ax.margins(0.08)
    return fig
