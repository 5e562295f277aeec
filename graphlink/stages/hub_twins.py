"""Hub twins: the unclustered holders of a cluster's shared address or card who write its template.

A cell of hundreds behind one datacenter address, each account paying with its own card, has only
that address for pairwise evidence: its exact clique weight ``(2 / df) ** 0.5`` per pair, doubled
at most by the weak kinds (:func:`graphlink.stages.linking.link` caps weak at strong), is below the
CPM resolution, so :func:`graphlink.stages.communities.dissolve_unsupported` rightly dissolves the
slices of it Leiden drew (a slice of one value: the users of one NAT address). Where some of the
cell's accounts also share a card, those groups are clusters, and the accounts beside them -- on the
same address, sending the same template -- were left in no cluster (dev templates 1021, cell 14:
324 of 540 accounts in five clusters of one card each, 216 in none; BENCHMARKS.md, fifty-first pass).

What the rest of a NAT's users lack is the template. For a *hub* -- a strong value (address, card)
held by most members of a cluster ``K`` and by unclustered accounts -- and each prompt phrase held by
most of ``K``'s members, chance (independence of where an account sends from and what it writes)
predicts ``lambda = n_h * df_p / N`` of the hub's ``n_h`` unclustered holders to hold the phrase
(``df_p`` its holders among the log's ``N`` accounts). The phrase is the hub's when ``k >=``
:data:`graphlink.stages.bursts.MIN_HOLDERS` of them hold it and ``P(Poisson(lambda) >= k) <
ALPHA / M`` (:func:`graphlink.stages.burst_tails.poisson_tail_bound`; ``M`` the (hub, phrase) pairs
tested, Bonferroni, as the burst test), and is not public (:data:`PUBLIC_PHRASES`): an office's staff
behind its NAT sending its app's framework prompt, a call centre's agents its tool's, a carrier's users a
popular prompt are beyond chance at their hub, but the phrase is a place's habit, not a template. The unclustered holders of
a hub holding at least :data:`graphlink.stages.campaigns.MIN_TIE_VALUES` of its phrases (a template,
not a stock phrase of one to four shingles) are its *twins*; a hub's twins, at least
``min_cluster_size`` of them, are one new cluster (its own whole), scored like any other: whether it
is flagged is the scoring's and the operator ties' call (:mod:`graphlink.stages.campaign_flags`),
nothing here flags. An account that is a twin of several hubs joins the hub with most twins (ties:
the smaller value index).

Output schema
-------------
:func:`hub_twins`: the partition (``account_idx, cluster_id``) with new clusters numbered after the
largest id, and ``wholes`` (when given) with each new cluster its own whole.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.burst_tails import poisson_tail_bound
from graphlink.stages.bursts import ALPHA, MIN_HOLDERS, append_clusters
from graphlink.stages.campaigns import MIN_TIE_VALUES

__all__ = ["HUB_NETWORK", "PUBLIC_PHRASES", "hub_twins", "hub_values", "twin_accounts"]

#: The weak kind a hub may also be: a cell rotating through fresh addresses of one IPv6 /48 (or IPv4 /24) shares
#: no address, only the network (dev templates 1021, cell 12: 374 accounts in one /48, 109 in no cluster).
HUB_NETWORK = "ip_net"

#: Whether a hub's phrase may be public (``False``: it may not). A phrase is public when most of its holders are in
#: no cluster (:func:`graphlink.stages.cluster_features.linked_own`, as the scoring reads it: a framework's system
#: prompt, a company tool's) or when a group (:data:`graphlink.stages.bursts.MIN_HOLDERS`) of accounts that nothing
#: links -- in no cluster and on no hub -- writes it (a template pasted from the web, which an operator may send from
#: all its cells). That a hub's users write it more often than the log's other users is then a place's habit (an
#: office's in-house app, a call centre's tool, a carrier's region pasting a popular prompt), not an operator's
#: template, and clustering them made it theirs: the twins turned a tool the crowd uses into the company team's "own
#: template" (scripted, flagged) and tied a crowd to the team or to an operator's cell on the same exit
#: (BENCHMARKS.md, fifty-second pass, helper hub52; tests/test_hub_twins_benign52.py). An operator's template is
#: held by its clustered cells and by the accounts it runs that were missed, which sit on its hubs (dev templates
#: 1021: every unclustered holder of the twins' 60 phrases is on a hub).
PUBLIC_PHRASES = False


def hub_values(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
               graph_config: GraphConfig | None = None) -> pl.DataFrame:
    """Each cluster's hubs: ``cluster_id, hub`` (the ``signal_idx`` of a linking value of a strong kind or an
    ``ip_net``, held by more than half of the cluster's members). Reads the clustered accounts' memberships
    only (``account_idx, signal_idx``; others may be absent: the Spark engine collects these first)."""
    graph_config = graph_config or GraphConfig()
    linked = signals.filter("linked")
    kinds = [k for k in linked["kind"].unique().to_list() if graph_config.spec(k).strong or k == HUB_NETWORK]
    values = linked.filter(pl.col("kind").is_in(kinds)).select("signal_idx")
    clustered = partition.drop_nulls("cluster_id")
    sizes = clustered.group_by("cluster_id").agg(pl.len().alias("size"))
    return (memberships.select("account_idx", "signal_idx").join(values, on="signal_idx", how="semi")
            .join(clustered, on="account_idx").group_by("cluster_id", "signal_idx").agg(pl.len().alias("h"))
            .join(sizes, on="cluster_id").filter(2 * pl.col("h") > pl.col("size"))
            .select("cluster_id", pl.col("signal_idx").cast(pl.UInt32).alias("hub")).sort("cluster_id", "hub"))


def twin_accounts(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                  graph_config: GraphConfig | None = None, n_accounts: int | None = None) -> pl.DataFrame:
    """The unclustered accounts that are twins of a hub (module docstring): ``account_idx, hub``.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: unclustered).
    memberships : DataFrame
        ``account_idx, signal_idx`` (the affiliations).
    signals : DataFrame
        ``signal_idx, kind, df, linked``.
    graph_config : GraphConfig, optional
        Which kinds are strong (hubs: ``ip``, ``payment``, strong declared kinds and :data:`HUB_NETWORK`).
    n_accounts : int, optional
        Accounts of the log (``N``); the partition's rows when not given.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``hub`` (UInt32: the hub's ``signal_idx``), one row per twin.
    """
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "hub": pl.UInt32})
    n_accounts = partition.height if n_accounts is None else n_accounts
    linked = signals.filter("linked")
    phrases = linked.filter(pl.col("kind") == "prompt").select("signal_idx", "df")
    clustered = partition.drop_nulls("cluster_id")
    left = partition.filter(pl.col("cluster_id").is_null()).select("account_idx")
    if clustered.is_empty() or left.is_empty() or phrases.is_empty():
        return empty
    mem = memberships.select("account_idx", "signal_idx")
    sizes = clustered.group_by("cluster_id").agg(pl.len().alias("size"))
    hubs = hub_values(partition, memberships, signals, graph_config)
    # The hubs' unclustered holders.
    on_hub = (mem.join(hubs.select(pl.col("hub").alias("signal_idx")).unique(), on="signal_idx", how="semi")
              .join(left, on="account_idx", how="semi").rename({"signal_idx": "hub"}))
    hubs = hubs.join(on_hub.select("hub").unique(), on="hub", how="semi")
    if on_hub.is_empty():
        return empty
    # Each hub's phrases: those most members of a cluster it is the hub of hold (only those clusters' members are read).
    members = clustered.join(hubs.select("cluster_id").unique(), on="cluster_id", how="semi")
    template = (mem.join(members, on="account_idx").join(phrases.select("signal_idx"), on="signal_idx", how="semi")
                .group_by("cluster_id", "signal_idx").agg(pl.len().alias("h"))
                .join(sizes, on="cluster_id").filter(2 * pl.col("h") > pl.col("size")).select("cluster_id", "signal_idx"))
    hub_phrases = hubs.join(template, on="cluster_id").select("hub", "signal_idx").unique()
    if hub_phrases.is_empty():
        return empty
    n_hub = on_hub.group_by("hub").agg(pl.len().alias("n_h"))
    # (each step keeps few rows: no hash table over every account's memberships)
    mem_on = mem.join(on_hub.select("account_idx").unique(), on="account_idx", how="semi")
    writes = on_hub.join(hub_phrases, on="hub").join(mem_on, on=["account_idx", "signal_idx"], how="semi")
    # A hub's template is one its clustered holders own before any twin joins: they outnumber its holders in no cluster,
    # the hub's candidates among them (:func:`graphlink.stages.cluster_features.linked_own`, as scoring reads it).
    in_clusters = (mem.join(hub_phrases.select("signal_idx").unique(), on="signal_idx", how="semi")
                   .join(clustered.select("account_idx"), on="account_idx", how="semi")
                   .group_by("signal_idx").agg(pl.len().alias("c")))
    # ... and no group of accounts that nothing links (in no cluster, on no hub) writes it: df - c - those on a hub.
    on_hubs = (mem_on.join(hub_phrases.select("signal_idx").unique(), on="signal_idx", how="semi")
               .group_by("signal_idx").agg(pl.col("account_idx").n_unique().alias("on_hubs")))
    counts = (hub_phrases.join(n_hub, on="hub").join(phrases, on="signal_idx")
              .join(writes.group_by("hub", "signal_idx").agg(pl.len().alias("k")), on=["hub", "signal_idx"], how="left")
              .join(in_clusters, on="signal_idx", how="left").join(on_hubs, on="signal_idx", how="left")
              .with_columns(pl.col("k").fill_null(0), pl.col("c").fill_null(0).cast(pl.Int64),
                            pl.col("on_hubs").fill_null(0).cast(pl.Int64), pl.col("df").cast(pl.Int64)))
    tested = counts.height  # Bonferroni over every (hub, phrase) pair, the public ones too
    counts = counts.filter(pl.lit(PUBLIC_PHRASES) | ((2 * pl.col("c") > pl.col("df"))
                                                     & (pl.col("df") - pl.col("c") - pl.col("on_hubs") < MIN_HOLDERS)))
    if counts.is_empty():
        return empty
    lam = (counts["n_h"].cast(pl.Float64) * counts["df"].cast(pl.Float64) / max(n_accounts, 1)).to_numpy()
    log_p = poisson_tail_bound(counts["k"].to_numpy(), np.maximum(lam, 1e-12))
    own = counts.filter(pl.Series((log_p < math.log(ALPHA / tested)) & (counts["k"].to_numpy() >= MIN_HOLDERS)))
    twins = (writes.join(own.select("hub", "signal_idx"), on=["hub", "signal_idx"], how="semi")
             .group_by("account_idx", "hub").agg(pl.len().alias("phrases"))
             .filter(pl.col("phrases") >= MIN_TIE_VALUES))
    if twins.is_empty():
        return empty
    # Each twin's hub: the one with the most twins; on a tie an exact address or card before its network (twins all on
    # one address are that address's, not the /24's: review nu54 read "holds IP network ..." for one shared address).
    per_hub = (twins.group_by("hub").agg(pl.len().alias("twins"))
               .join(signals.select(pl.col("signal_idx").alias("hub"), (pl.col("kind") == HUB_NETWORK).alias("net")),
                     on="hub", how="left"))
    return (twins.join(per_hub, on="hub").sort(["account_idx", "twins", "net", "hub"], descending=[False, True, False, False])
            .group_by("account_idx", maintain_order=True).agg(pl.col("hub").first())
            .select(pl.col("account_idx").cast(pl.UInt32), pl.col("hub").cast(pl.UInt32)))


def hub_twins(partition: pl.DataFrame, wholes: pl.DataFrame | None, memberships: pl.DataFrame,
              signals: pl.DataFrame, graph_config: GraphConfig | None = None, min_size: int = 2,
              n_accounts: int | None = None, with_twins: bool = False) -> tuple:
    """Each hub's twins (:func:`twin_accounts`) as one new cluster: ``(partition, wholes)``, and with ``with_twins``
    the twins that made clusters (``account_idx, hub``: what :mod:`graphlink.stages.join_notes` words) third.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` after the support check and the bursts.
    wholes : DataFrame or None
        The clusters before blocks were split (:func:`graphlink.stages.blocks.split_wholes`); each
        new cluster is its own whole.
    memberships, signals, graph_config, n_accounts
        As for :func:`twin_accounts`.
    min_size : int
        Fewest twins of a new cluster (``CommunityConfig.min_cluster_size``).

    Returns
    -------
    partition, wholes
        With the new clusters numbered after the largest id, by their hub's smallest account.

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2], "cluster_id": [1, 1, None]},
    ...                     schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    >>> mem = pl.DataFrame({"account_idx": [0, 1, 2], "signal_idx": [0, 0, 0]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0], "kind": ["ip"], "df": [3], "linked": [True]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> hub_twins(part, None, mem, sig)[0]["cluster_id"].to_list()  # no template: nothing joins
    [1, 1, None]
    """
    twins = twin_accounts(partition, memberships, signals, graph_config, n_accounts)
    groups = twins.group_by("hub").agg(pl.len().alias("n"), pl.col("account_idx").min().alias("first")).filter(
        pl.col("n") >= max(min_size, 2))
    if groups.is_empty():
        return (partition, wholes, twins.clear()) if with_twins else (partition, wholes)
    out = append_clusters(partition, wholes, twins.select("account_idx", "hub"), groups)[:2]
    return (*out, twins.join(groups.select("hub"), on="hub", how="semi")) if with_twins else out
