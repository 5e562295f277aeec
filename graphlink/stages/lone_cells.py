"""Lone cells: a flagged cell left alone in its campaign joins the campaign whose whole it resembles.

:func:`graphlink.stages.campaigns.cluster_campaigns` groups clusters by CPM on their pairwise similarity: a
cluster joins a campaign of ``k`` clusters only when its similarities to them sum to ``campaign_resolution x k``,
i.e. when it is that similar to the *average* member. An operator whose cells the partition cut into one large
cluster and dozens of small pieces builds a campaign of many clusters, most of them small pieces that resemble
the operator's template only in part; a further piece is compared with each of them and falls short on the
average however well it matches the campaign as a whole (dev a1: op 2's 8- to 20-account cells
alone in their campaigns, template cosine 0.26-0.31 with the whole of their operator's 123-cluster campaign,
0.01-0.02 with the other operators'). Here the comparison is made with the whole: each campaign's flagged
clusters are pooled into one profile -- the same cosine over the same tie kinds but addresses, with the same
pseudo-mass, private card ties and client veto as the grouping
(:func:`graphlink.stages.campaigns.cluster_similarity`) -- and a flagged cluster alone in its campaign joins the
larger campaign it is most similar to, when that similarity reaches :data:`LONE_SHARE` of ``campaign_resolution``.

Why not addresses: pooled over a campaign's cells, a rotating network's exits are covered evenly, as evenly as
another operator renting the same network covers them (``tests/test_rented_network47.py``: two operators on one
commercial network, parted by its chance test, were joined again by the wholes' address cosine; a hand-built pair
of renters of a 400-exit network: 0.37-0.54 between the wholes). Templates, cards and declared identifiers are
an operator's own; a network is its provider's. What addresses say of an operator's private pool is read by
:mod:`graphlink.stages.pool_pieces` (opt-in), which counts only addresses no unflagged account holds.

Why only lone cells, and only into larger campaigns (as :mod:`graphlink.stages.pool_pieces`): a campaign of
several clusters may hold a cluster the partition mixed from two operators (dev ind179: one cluster
holds cells of operators 1 and 2, which share a proxy network and a template), and its pooled profile then holds
both operators' values: two such wholes scored a card tie of 1.0 and a template cosine of 0.38 across operators.
A lone cell follows one tie, into a campaign larger than itself, so each campaign after the moves holds at most
one campaign of several clusters from before, and chains end (the order by size is strict). Tried and dropped
(session 55): moving a campaign of several clusters when each of them alone is tied to the whole it joins. It
stopped dev ind179's mixed wholes (2 of 12 and 1 of 7 clusters tied alone) and moved dev t1's and o1's 2-cluster
pieces right (ARI by operator 0.61 / 0.57 -> 0.73 / 0.73), but operators share templates: on dev a2 a 3-cluster
campaign of operator 3 wrote the template operator 1 writes most (cosine 0.56 with operator 1's whole, 0.24 with
its own) and joined operator 1's, and dev a3 fell from 0.72 to 0.44.

Flags are not touched: the moves come after every flag is decided, so they change ``campaign_id`` and what
campaigns count and list, never which accounts are flagged, nor the partition (as
:mod:`graphlink.stages.pool_pieces`).

The target must carry the tie as a whole (:func:`carried`): a lone cell followed its operator's other cells into
a campaign the grouping already shares with another operator (dev templates 1007: a 40-account cell of operator 2
joined the campaign holding 17 of operator 2's accounts and 336 of operator 0's; ARI by operator 0.950 -> 0.925), so
the target's clusters the cell is tied to, one by one, must hold most of the target's flagged accounts (there 0.09;
for every move on dev a1, t1, o1 0.90-1.00). On by default (``ScoringConfig.lone_cells``): on 37 dev worlds flags and
clusters are main's, ARI by operator up on 9, down on none (BENCHMARKS.md, session 55, opari55).

Known limits: a lone cell that writes a template another operator writes more than its own operator does joins
that operator's campaign when their clients overlap (the client veto needs disjoint clients; the pattern that broke
the several-clusters rule on dev a2, not seen for a lone cell on the dev worlds swept). A cell whose template the
log's texts do not carry as shared shingles (most words of it misspelt and case-flipped: dev mixed 1001's
669-account cell cut into 37 clusters, template cosine 0.002-0.008 between its pieces) has only its addresses,
which tie no lone cell here, so its pieces stay apart. Small campaigns of two or three clusters of one operator
stay apart too (dev a1: 33 and 8 accounts, template cosine 0.36 with each other and 0.28-0.30 with their
operator's whole): a campaign of several clusters never moves (above).
"""

from __future__ import annotations

import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_consensus import EDGE_FLOOR
from graphlink.stages.campaigns import cluster_similarity
from graphlink.stages.pool_pieces import ADDRESS_KINDS, chain_ends, moved_campaigns

__all__ = ["LONE_SHARE", "lone_cells", "lone_ties"]

#: A lone cell joins a larger campaign when its similarity to that campaign's whole reaches this share of
#: ``campaign_resolution`` (0.175 at the default 0.35). The grouping's resolution is an average over a campaign's
#: members; against the pooled whole, a piece of an operator's template scores less than a cell carrying all of it.
#: Measured on dev worlds (a1, t1, o1, ind179, mixed1001 at main's flags; campaign wholes of flagged clusters): a
#: lone cell's best tie to its own operator's larger campaign 0.25-0.90 (templates; one card tie), to another
#: operator's whole at most 0.07. Half the resolution sits 2.5 times over that and under every right tie seen but
#: one (ind179: a 136-account cell at 0.125 stays apart); the moves were the same at 0.3 and 0.7 of the resolution.
LONE_SHARE = 0.5


def lone_ties(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
              graph_config: GraphConfig, threshold: float, config: CommunityConfig | None = None,
              n_accounts: int | None = None) -> pl.DataFrame:
    """Each lone flagged cluster's strongest tie to the whole of a larger flagged campaign (module docstring).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, campaign_id, flagged`` (one row per cluster; ``flagged`` null reads as False).
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations, signals : DataFrame
        The projection's memberships (``account_idx, signal_idx``) and signals (``signal_idx, kind, df, weight,
        linked``), as :func:`graphlink.stages.campaigns.cluster_campaigns` reads them.
    graph_config : GraphConfig
        Kind weights and projection limits.
    threshold : float
        The least similarity a tie needs (``LONE_SHARE x campaign_resolution``).
    config : CommunityConfig, optional
        The grouping's settings (seed of the projection's cycles past ``max_pairs``).
    n_accounts : int, optional
        Accounts in the log (the pseudo-mass's N, as :func:`~graphlink.stages.campaigns.cluster_campaigns`).

    Returns
    -------
    DataFrame
        ``campaign_id`` (Int64: the lone cluster's), ``to`` (Int64: the campaign it joins), ``similarity``
        (Float64, in ``[threshold, 1]``), one row per lone campaign with a tie; ``to``'s flagged accounts
        outnumber ``campaign_id``'s (equal: ``to`` is the smaller id).
    """
    empty = pl.DataFrame(schema={"campaign_id": pl.Int64, "to": pl.Int64, "similarity": pl.Float64})
    camp = clusters.select(pl.col("cluster_id").cast(pl.Int64), pl.col("campaign_id").cast(pl.Int64),
                           pl.col("flagged").fill_null(False)).drop_nulls("campaign_id")
    lone = camp.filter((pl.len().over("campaign_id") == 1) & pl.col("flagged"))["campaign_id"]
    if lone.is_empty():
        return empty
    # Each campaign's flagged clusters as one whole (its unflagged clusters say nothing of its operator).
    wholes = (partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64))
              .join(camp.filter("flagged").select("cluster_id", "campaign_id"), on="cluster_id")
              .select("account_idx", pl.col("campaign_id").alias("cluster_id")))
    # Addresses never tie a lone cell: pooled over a campaign's cells, a rented network's exits cover it as evenly
    # as they cover another renter's campaign (module docstring).
    unaddressed = signals.with_columns((pl.col("linked") & ~pl.col("kind").is_in(list(ADDRESS_KINDS))).alias("linked"))
    node, sizes, edges = cluster_similarity(wholes, affiliations, unaddressed, graph_config, config, n_accounts)
    if edges.is_empty():
        return empty
    ids = _node_ids(node, sizes)
    ties = (_both_ways(edges, threshold).join(ids.select(pl.col("node").alias("a"), pl.col("cluster_id").alias("campaign_id"),
                                 pl.col("size").alias("__sa")), on="a")
            .join(ids.select(pl.col("node").alias("b"), pl.col("cluster_id").alias("to"), pl.col("size").alias("__sb")),
                  on="b")
            .filter(pl.col("campaign_id").is_in(lone.implode())
                    & ((pl.col("__sb") > pl.col("__sa")) | ((pl.col("__sb") == pl.col("__sa")) & (pl.col("to") < pl.col("campaign_id"))))))
    best = (ties.sort(["campaign_id", "weight", "__sb", "to"], descending=[False, True, True, False])
            .unique("campaign_id", keep="first", maintain_order=True)
            .select("campaign_id", "to", pl.col("weight").alias("similarity")))
    if best.is_empty():  # (no lone campaign tied: carried reads nothing, the join below keeps this empty frame)
        return best
    return best.join(carried(best, camp.filter("flagged"), partition, affiliations, unaddressed, graph_config, config, n_accounts),
                     on="campaign_id", how="semi")


def _node_ids(node: pl.DataFrame, sizes: pl.DataFrame) -> pl.DataFrame:
    """``node, cluster_id`` (Int64), ``size`` of :func:`~graphlink.stages.campaigns.cluster_similarity`'s nodes."""
    return node.join(sizes, on="cluster_id").select("node", pl.col("cluster_id").cast(pl.Int64), "size")


def _both_ways(edges: pl.DataFrame, least: float) -> pl.DataFrame:
    """``a, b, weight``: each edge of at least ``least`` weight, from either end."""
    strong = edges.filter(pl.col("weight") >= least)
    return pl.concat([strong.select(pl.col("source").alias("a"), pl.col("target").alias("b"), "weight"),
                      strong.select(pl.col("target").alias("a"), pl.col("source").alias("b"), "weight")])


def carried(best: pl.DataFrame, camp: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
            signals: pl.DataFrame, graph_config: GraphConfig, config: CommunityConfig | None,
            n_accounts: int | None) -> pl.DataFrame:
    """``campaign_id`` of the lone campaigns of ``best`` (``campaign_id, to``) whose tie the target carries as a
    whole: the target's flagged clusters the lone cluster is tied to, cluster by cluster, at an edge the grouping
    reads (:data:`~graphlink.stages.campaign_consensus.EDGE_FLOOR` of the resolution), hold most of its flagged
    accounts. A campaign the grouping shares between operators ties a lone cell of the minority through the
    minority's clusters alone (dev tpl1007: 0.09 of the target's accounts; the moves that held on dev a1, t1, o1:
    0.90-1.00). ``camp`` is ``cluster_id, campaign_id`` of the flagged clusters; the rest as :func:`lone_ties`. A campaign
    of several clusters may move too (:mod:`graphlink.stages.card_campaigns`): a target cluster counts once."""
    floor = EDGE_FLOOR * (config or CommunityConfig()).campaign_resolution
    lone = camp.join(best.select("campaign_id"), on="campaign_id").select("cluster_id", "campaign_id")
    targets = camp.join(best.select(pl.col("to").alias("campaign_id")).unique(), on="campaign_id")
    cells = (partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64))
             .join(pl.concat([lone.select("cluster_id"), targets.select("cluster_id")]).unique(), on="cluster_id"))
    node, sizes, edges = cluster_similarity(cells, affiliations, signals, graph_config, config, n_accounts)
    of = _node_ids(node, sizes)
    held = (_both_ways(edges, floor).join(of.select(pl.col("node").alias("a"), pl.col("cluster_id").alias("__lone")), on="a")
            .join(of.select(pl.col("node").alias("b"), pl.col("cluster_id").alias("__cell"), "size"), on="b")
            .join(lone.rename({"cluster_id": "__lone"}), on="__lone")
            .join(best.select("campaign_id", "to"), on="campaign_id")
            .join(targets.select(pl.col("cluster_id").alias("__cell"), pl.col("campaign_id").alias("to")), on=["__cell", "to"])
            .unique(["campaign_id", "to", "__cell"])  # a target cluster tied to several of the moving clusters counts once
            .group_by("campaign_id", "to").agg(pl.col("size").sum().alias("__tied")))
    whole = of.join(targets.select("cluster_id", pl.col("campaign_id").alias("to")), on="cluster_id").group_by("to").agg(
        pl.col("size").sum().alias("__all"))
    return held.join(whole, on="to").filter(2 * pl.col("__tied") > pl.col("__all")).select("campaign_id")


def lone_cells(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
               graph_config: GraphConfig, config: CommunityConfig | None = None, n_accounts: int | None = None,
               share: float = LONE_SHARE) -> pl.DataFrame:
    """``clusters`` with each flagged cluster alone in its campaign moved into the larger campaign it resembles.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged, campaign_id`` (one row per cluster; other columns kept).
    partition, affiliations, signals, graph_config, config, n_accounts
        As :func:`lone_ties` (``config.campaign_resolution`` the grouping's resolution; defaults when omitted).
    share : float
        The tie needed, as a share of ``campaign_resolution`` (:data:`LONE_SHARE`).

    Returns
    -------
    DataFrame
        ``clusters``, same rows and columns, ``campaign_id`` changed for moved clusters only: a lone cluster takes
        the campaign its strongest tie reaches, following a chain of lone clusters to its end (each step into a
        larger campaign, so every chain ends); a ``why`` naming a moved cluster's campaign as its lead's
        ("... flagged cluster N (campaign M)") names the campaign it moved to. Flags, sizes and the partition are
        as given. Source: graphlink session 55 (BENCHMARKS.md, helper opari55).

    Examples
    --------
    Clusters 1 and 2 (campaign 1) and lone cluster 3 (campaign 2) all send one operator's template; lone cluster 4
    (campaign 3) sends another's. Cluster 3 joins campaign 1; cluster 4 stays.

    >>> from graphlink.config import GraphConfig
    >>> part = pl.DataFrame({"account_idx": list(range(12)), "cluster_id": [1] * 4 + [2] * 3 + [3] * 2 + [4] * 3},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [a for a in range(9) for _ in range(6)] + [a for a in range(9, 12) for _ in range(6)],
    ...                     "signal_idx": list(range(6)) * 9 + list(range(6, 12)) * 3},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": list(range(12)), "kind": ["prompt"] * 12, "df": [9] * 6 + [3] * 6,
    ...                     "weight": [1.0] * 12, "linked": [True] * 12}, schema_overrides={"signal_idx": pl.UInt32})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "flagged": [True] * 4, "campaign_id": [1, 1, 2, 3]})
    >>> lone_cells(cl, part, aff, sig, GraphConfig())["campaign_id"].to_list()
    [1, 1, 1, 3]
    """
    if clusters.is_empty() or "campaign_id" not in clusters.columns:
        return clusters
    config = config or CommunityConfig()
    ties = lone_ties(clusters, partition, affiliations, signals, graph_config, share * config.campaign_resolution,
                     config, n_accounts)
    if ties.is_empty():
        return clusters
    # Each lone campaign points at one larger campaign (a strict order), so following the pointers ends.
    return moved_campaigns(clusters, chain_ends(dict(ties.select("campaign_id", "to").iter_rows())))
