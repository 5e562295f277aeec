"""Client cells: a cluster split between members who send only one client and members who never send it.

Why. An operator's sibling cells paying from its one card pool are tied by those cards and merge under CPM (dev
independent worlds, BENCHMARKS.md session 50: the largest loss of ARI by cell on ind176-178 and a2 is such
merges, 0.80-0.87 of it between cells each held together by evidence of its own). Their tooling often differs:
one cell sends every request with the operator's own client, a sibling rotates stock browser agents per request
(a2's cluster 4: 150 accounts on 36 agents, 55 on one client; no agent in common). Wording cells
(:mod:`graphlink.stages.wording_cells`) part siblings that write apart; these write alike.

Rule (:func:`client_sides`). In a cluster of :data:`MIN_MEMBERS` or more, the *leading client* is the user agent
(a ``user_agent`` value) that most members send for at least :data:`ONLY` of their requests. Its *senders* are
those members; the *others* are the members who never send it. The cluster is split in two -- senders (with the
members in between) and others -- when each side holds :data:`MIN_SIDE` or more and the two together at least
:data:`COVER` of the cluster: two groups of accounts, each with a tool of its own, tied by shared
infrastructure. A team whose members each keep their own browser has no leading client held by five (each browser
version is a few members'); a team on its company's SDK where a few people also use a browser keeps those people
in between (they send the SDK too).

The two sides keep the cluster as their whole, exactly as wording blocks do: campaigns are grouped from it
(one operator, one campaign) and the split guard (:mod:`graphlink.stages.split_guard`) flags a side on its own
score only if the whole would be flagged. What it cannot tell apart: two sibling cells on the same client or both
rotating (dev: about half the sibling merges); a cell whose members alternate between the client and a browser.

Opt-in (``[communities] client_cells = true``; BENCHMARKS.md session 50): on dev ind176 a split side's sharper
prompt profile (an agent framework's public passage) tied a cluster of 5 framework users and 2 ring accounts to
it by 29 phrases and the flag spread to them; on ind178 :mod:`graphlink.stages.network_cells` joins the siblings
again after the split (one datacenter block, one template): the split would have to hold there too.

Output schema: as :func:`graphlink.stages.wording_cells.split_wording` (the partition, and the wholes with
:data:`graphlink.stages.split_guard.SPLIT_FROM`).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.split_guard import SPLIT_FROM

__all__ = ["COVER", "MIN_MEMBERS", "MIN_SIDE", "ONLY", "client_sides", "leading_clients", "split_clients"]

#: A member sends the leading client "only" when it carries at least this share of its requests (a script's
#: requests all carry its client; 0.9 leaves room for a few requests from a browser).
ONLY = 0.9
#: Each side needs this many members: the same five as the client veto's own-client signature
#: (:mod:`graphlink.stages.campaign_clients`) and ``MIN_SIGNATURE_SIZE``; fewer is one person's habit.
MIN_SIDE = 5
#: Clusters this small are not examined (two sides of :data:`MIN_SIDE`).
MIN_MEMBERS = 2 * MIN_SIDE
#: Senders and others must together be at least this share of the cluster: members in between (sending the
#: client for part of their requests) are few when the sides are two tools, many when one group mixes them.
COVER = 0.9


def client_sides(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                 index: pl.DataFrame) -> pl.DataFrame:
    """The clusters to split and each member's side (module docstring).

    Parameters
    ----------
    partition : DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (Int64, null: unclustered).
    memberships : DataFrame
        ``account_idx, signal_idx, count`` (the account's requests carrying the value).
    signals : DataFrame
        ``signal_idx, kind`` (``user_agent`` values are read).
    index : DataFrame
        ``account_idx, events``: every account's requests (the share's denominator).

    Returns
    -------
    DataFrame
        ``account_idx, cluster_id, others`` (Boolean: the member never sends the leading client) for every member
        of a cluster to split; empty when none is.
    """
    clustered = partition.drop_nulls("cluster_id")
    size = clustered.group_by("cluster_id").agg(pl.len().alias("size")).filter(pl.col("size") >= MIN_MEMBERS)
    clients = signals.filter(pl.col("kind") == "user_agent").select("signal_idx")
    sent = (memberships.select("account_idx", "signal_idx", "count").join(clients, on="signal_idx")
            .join(clustered.join(size.select("cluster_id"), on="cluster_id"), on="account_idx")
            .join(index.select("account_idx", "events"), on="account_idx")
            .with_columns((pl.col("count") >= ONLY * pl.col("events")).alias("only")))
    # The leading client: most members sending it only; ties to the smaller value (deterministic).
    lead = (sent.filter(pl.col("only")).group_by("cluster_id", "signal_idx").agg(pl.len().alias("senders"))
            .sort("cluster_id", "senders", "signal_idx", descending=[False, True, False]).unique("cluster_id", keep="first"))
    members = clustered.join(lead.select("cluster_id", "signal_idx"), on="cluster_id")
    side = (members.join(sent.select("account_idx", "signal_idx", "only"), on=["account_idx", "signal_idx"], how="left")
            .select("account_idx", "cluster_id", pl.col("only").is_null().alias("others"), pl.col("only").fill_null(False)))
    counts = side.group_by("cluster_id").agg(pl.col("only").sum().alias("s"), pl.col("others").sum().alias("o"), pl.len().alias("n"))
    cut = counts.filter((pl.col("s") >= MIN_SIDE) & (pl.col("o") >= MIN_SIDE) & (pl.col("s") + pl.col("o") >= COVER * pl.col("n")))
    return side.join(cut.select("cluster_id"), on="cluster_id").select("account_idx", "cluster_id", "others").sort("account_idx")


def leading_clients(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                    index: pl.DataFrame) -> pl.DataFrame:
    """Each cluster's tool: the client half or more of its members send for :data:`ONLY` of their requests.

    :func:`graphlink.stages.network_cells.network_cells` (with ``tools``) links two pieces on one network only when
    their tools agree: a piece on the operator's own client and a piece rotating browsers are two cells, not one
    cell's two card groups (dev ind178: cells 26 and 17 of one operator on one datacenter block, BENCHMARKS.md
    session 50).

    Parameters
    ----------
    partition, memberships, signals, index : DataFrame
        As :func:`client_sides`.

    Returns
    -------
    DataFrame
        ``cluster_id`` (Int64), ``tool`` (Int64: the client's ``signal_idx``) for the clusters that have one.
    """
    clustered = partition.drop_nulls("cluster_id")
    size = clustered.group_by("cluster_id").agg(pl.len().alias("size"))
    clients = signals.filter(pl.col("kind") == "user_agent").select("signal_idx")
    only = (memberships.select("account_idx", "signal_idx", "count").join(clients, on="signal_idx")
            .join(index.select("account_idx", "events"), on="account_idx")
            .filter(pl.col("count") >= ONLY * pl.col("events")).join(clustered, on="account_idx"))
    return (only.group_by("cluster_id", "signal_idx").agg(pl.len().alias("n")).join(size, on="cluster_id")
            .filter(2 * pl.col("n") >= pl.col("size")).sort("cluster_id", "n", "signal_idx", descending=[False, True, False])
            .unique("cluster_id", keep="first").select("cluster_id", pl.col("signal_idx").cast(pl.Int64).alias("tool")))


def split_clients(partition: pl.DataFrame, wholes: pl.DataFrame | None, memberships: pl.DataFrame,
                  signals: pl.DataFrame, index: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Split every cluster whose members part into two tools (module docstring).

    Parameters
    ----------
    partition, memberships, signals, index : DataFrame
        As :func:`client_sides`.
    wholes : DataFrame or None
        The clusters before blocks were split (:func:`graphlink.stages.blocks.split_wholes`, possibly with
        :data:`graphlink.stages.split_guard.SPLIT_FROM` from the wording split); None: none was.

    Returns
    -------
    (DataFrame, DataFrame or None)
        The partition with each split cluster's other side under a new id (past the largest, in the order of the
        clusters' ids), and the wholes: the given ones, or the partition before this split when it split a cluster
        and none were given, with :data:`SPLIT_FROM` set for the split clusters' members where it was null (a
        wording block split again keeps the cluster the wording step split).
    """
    sides = client_sides(partition, memberships, signals, index)
    if sides.is_empty():
        return partition, wholes
    first = int(partition["cluster_id"].max()) + 1
    moved = (sides.filter(pl.col("others"))
             .with_columns((pl.col("cluster_id").rank("dense").cast(pl.Int64) - 1 + first).alias("moved"))
             .select("account_idx", "moved").cast({"account_idx": partition.schema["account_idx"]}))
    split = (partition.join(moved, on="account_idx", how="left")
             .with_columns(pl.coalesce("moved", "cluster_id").alias("cluster_id")).drop("moved"))
    was = partition.join(sides.select("account_idx"), on="account_idx", how="semi")["cluster_id"].unique().implode()
    base = wholes if wholes is not None else partition
    mark = partition.select("account_idx", pl.when(pl.col("cluster_id").is_in(was)).then(pl.col("cluster_id")).alias("_client_from"))
    base = base.join(mark, on="account_idx", how="left", maintain_order="left")
    keep = pl.col(SPLIT_FROM) if SPLIT_FROM in base.columns else pl.lit(None, pl.Int64)
    return split, base.with_columns(pl.coalesce(keep, pl.col("_client_from")).alias(SPLIT_FROM)).drop("_client_from")
