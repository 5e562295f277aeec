"""Campaigns: clusters run by one operator, and what ties them.

A distillation operator runs its accounts in cells: each cell is dense inside
(a card pool, a slice of a proxy pool, one schedule) and the cells are tied
more thinly by what the operator reuses: its template family, cards and
addresses moved between cells, its network ranges. graphlink reports both levels: the
partition's *clusters* are cells, and :func:`cluster_campaigns` groups them
into *campaigns*; :func:`score_campaigns` summarises each campaign.

Output schemas
--------------
:func:`cluster_campaigns`: ``cluster_id, campaign_id`` (Int64).
:func:`score_campaigns`: :data:`graphlink.contract.CAMPAIGNS_SCHEMA`.
"""

from __future__ import annotations

import random

import igraph as ig
import numpy as np
import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.contract import CAMPAIGNS_SCHEMA
from graphlink.stages.communities import build_graph
from graphlink.stages.components import fmt_int
from graphlink.stages.linking import WEIGHT_SCALE, combine_weights, quantised

#: Kinds whose shared values tie an operator's cells: its cards, its proxy and
#: server addresses, its templates (``--signal`` identifier columns count too).
#: Not timing (unrelated companies' cron jobs fire at the same minutes), nor
#: networks, ASNs, user agents, e-mail domains or creation hours, which unrelated
#: people share by living on one ISP or using one browser.
#: (Grouping compares networks too, :func:`grouping_kinds`; they never tie for flags.)
TIE_KINDS = ("payment", "ip", "prompt")
#: A campaign's tie is substantial -- enough to flag its tame cells with its loud one and to count
#: its accounts for ``min_flag_size`` -- when its clusters share a card or a user-declared
#: identifier (private to an operator), or at least this many address or template values. A
#: 9-word sentence shared by both gives 5 prompt shingles; one stock phrase ("tell me a fun fact",
#: "make a study plan for") gives 1-4, and strangers share those: on an independent world,
#: campaigns "tied by 1 prompt value" spread flags to small groups of ordinary users. A
#: distillation template (a long instruction) or a proxy pool shares far more.
MIN_TIE_VALUES = 5
#: Tie kinds whose single shared value is substantial (cards); user-declared kinds count too.
PRIVATE_TIE_KINDS = ("payment",)
#: Built-in kinds that are never ties (everything else not in TIE_KINDS is a
#: user-declared ``--signal`` column).
AMBIENT_KINDS = ("timing", "ip_net", "asn", "user_agent", "email_domain", "created_hour")


def is_tie_kind(kind: str, graph_config: GraphConfig | None = None) -> bool:
    """Whether values of ``kind`` tie an operator's cells: :data:`TIE_KINDS` and
    user-declared strong ``--signal`` kinds (device ids, card BINs...), never
    :data:`AMBIENT_KINDS`. The one rule behind both campaign grouping and the
    ``ties`` a campaign lists.

    Examples
    --------
    >>> from graphlink.config import GraphConfig
    >>> [is_tie_kind(k, GraphConfig()) for k in ("payment", "timing", "device_id")]
    [True, False, True]
    """
    if kind in TIE_KINDS:
        return True
    return kind not in AMBIENT_KINDS and (graph_config or GraphConfig()).spec(kind).strong


def grouping_kinds(kinds: list[str], graph_config: GraphConfig | None = None) -> list[str]:
    """The kinds :func:`cluster_campaigns` compares clusters on: the tie kinds
    (:func:`is_tie_kind`) and the network (``ip_net``), sorted.

    A network is no tie for flags (unrelated people share a carrier's /24), but
    an operator runs its cells on its own ranges (a datacenter block split into
    VMs, a residential slice): in :func:`cluster_campaigns` /24s (and /48s) that
    few other clusters hold reinforce what cards, addresses and templates tie,
    at most doubling it, as a weak kind does between accounts; a carrier's /24
    held by many clusters weighs almost nothing.

    Examples
    --------
    >>> grouping_kinds(["timing", "ip_net", "prompt", "payment", "user_agent"])
    ['ip_net', 'payment', 'prompt']
    """
    return sorted(k for k in set(kinds) if k == "ip_net" or is_tie_kind(k, graph_config))


#: Kinds whose members each send the value: a cluster's profile weighs a value by the share of its
#: members holding it (a cell's template is in most of its prompts). Every other grouping kind is
#: compared by presence: an operator's pool of cards or addresses is spread over its members, each
#: value held by a few, so what two cells share is which values, not how many members hold each.
SHARE_KINDS = ("prompt",)


def _profiles(partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
              graph_config: GraphConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cluster nodes (``cluster_id, node, size``) and their profiles
    (``node, signal_idx, kind, value``, ``ncl`` clusters holding the value, ``mass`` its
    squared entry) over the grouping kinds."""
    clusters = partition.drop_nulls("cluster_id")
    sizes = clusters.group_by("cluster_id").agg(pl.len().alias("size")).sort("cluster_id")
    node = sizes.with_row_index("node").with_columns(pl.col("node").cast(pl.UInt32))
    kinds = grouping_kinds(signals["kind"].unique().to_list(), graph_config)
    linked = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx", "kind", "weight")
    n = max(node.height, 1)
    # Presence kinds weigh a value by its rarity among clusters (BM25's idf: ~0 for a value
    # nearly every cluster holds, ln(n / ncl) for rare ones, positive for any n).
    idf = (1 + (n - pl.col("ncl") + 0.5) / (pl.col("ncl") + 0.5)).log()
    share = pl.col("kind").is_in(SHARE_KINDS)
    profile = (
        affiliations.select("account_idx", "signal_idx")
        .join(linked.select("signal_idx"), on="signal_idx", how="semi")
        .join(clusters, on="account_idx")
        .group_by("cluster_id", "signal_idx").agg(pl.len().alias("n"))
        .join(node, on="cluster_id").join(linked, on="signal_idx")
        .with_columns(pl.len().over("signal_idx").alias("ncl"))
        .with_columns(pl.when(share).then(pl.col("weight") * (pl.col("n") / pl.col("size")) ** 2)
                      .otherwise(idf).alias("mass"))
        .select("node", "signal_idx", "kind", "ncl", "mass", pl.col("mass").sqrt().alias("value"))
    )
    return node, profile


def cluster_campaigns(partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                      graph_config: GraphConfig, config: CommunityConfig | None = None) -> pl.DataFrame:
    """Group clusters into campaigns: cells run by one operator.

    An operator's cells are each dense inside (a card pool, a slice of a proxy
    pool) and tied to each other by what the operator reuses: its template
    family, cards and addresses moved between cells, its network ranges. Each
    cluster is summarised per grouping kind (:func:`grouping_kinds`: cards,
    addresses, templates, strong ``--signal`` kinds, networks; a clock shared
    with unrelated companies' cron jobs is no tie) by a profile over values.
    Templates (:data:`SHARE_KINDS`) weigh a value by the share of the
    cluster's members holding it times its weight; cards, addresses and
    networks by presence, weighted by the value's rarity among clusters (an
    operator's pool is spread over its members, a proxy network's exit or a
    carrier's /24 is held by clusters everywhere). Two clusters are as similar
    in a kind as the cosine of their profiles, shrunk towards 0 by a
    pseudo-mass of one value held by every member (templates: ``kind_weight``)
    or by two clusters (presence kinds) added to each squared norm, so a
    profile made only of popular values ties nobody however closely it
    matches. Their similarity is the sum over kinds (evidence of different
    kinds adds up: a cell sharing part of a template and part of an address
    pool with another), the network's part at most as large as the others'
    (it reinforces, never groups on its own), computed exactly pair by pair
    (:func:`graphlink.stages.linking.link`'s random cycles would link a
    popular value's clusters sparsely, and CPM needs the density), and Leiden optimises
    CPM on the cluster graph at resolution ``campaign_resolution``: a set of
    clusters is a campaign when their pairwise similarity averages at least
    that (Traag, Van Dooren & Nesterov 2011). When the pairs would exceed
    ``max_pairs``, the most popular values (whole popularity levels) still
    count in the norms but link no pair.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx`` (the projection's memberships).
    signals : DataFrame
        ``signal_idx, kind, df, weight, linked`` (the projection's signals).
    graph_config : GraphConfig
        Kind weights, strong user kinds and ``max_pairs``.
    config : CommunityConfig

    Returns
    -------
    DataFrame
        ``cluster_id, campaign_id`` (Int64), one row per cluster. Campaigns are
        numbered 1, 2, ... by decreasing accounts, then smallest cluster id.

    Examples
    --------
    >>> from graphlink.config import GraphConfig
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 2, 2, 3, 3]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "signal_idx": [0, 0, 0, 0, 1, 1]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment"] * 2, "df": [4, 2], "weight": [2.0, 3.0],
    ...                     "linked": [True, True]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> cluster_campaigns(part, aff, sig, GraphConfig())["campaign_id"].to_list()
    [1, 1, 2]
    """

    config = config or CommunityConfig()
    node, profile = _profiles(partition, affiliations, signals, graph_config)
    if node.height == 0:
        return pl.DataFrame(schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    n_presence = max(node.height, 1)
    # A template's pseudo-mass: one value of weight kind_weight (held by two accounts) held by every
    # member; a presence kind's: one value held by two clusters (the idf of _profiles).
    kinds = profile["kind"].unique().sort().to_list()
    pseudo = pl.DataFrame({"kind": kinds, "pseudo": [
        graph_config.spec(k).weight if k in SHARE_KINDS else float(np.log(1 + (n_presence - 1.5) / 2.5))
        for k in kinds]}, schema={"kind": pl.String, "pseudo": pl.Float64})
    norms = (profile.group_by("node", "kind").agg(quantised(pl.col("mass")).sum()).join(pseudo, on="kind")
             .select("node", "kind", (pl.col("mass").cast(pl.Float64) / WEIGHT_SCALE + pl.col("pseudo")).sqrt()
                     .alias("norm")))
    shared = profile.filter(pl.col("ncl") >= 2)
    # Exact pairs of every shared value, within the projection's pair budget: the most popular
    # values (whole levels of ncl, so the cut never depends on numbering) link no pair beyond it.
    levels = (shared.group_by("signal_idx").agg(pl.col("ncl").first()).group_by("ncl")
              .agg(pl.len().cast(pl.Int64).alias("values")).sort("ncl")
              .with_columns((pl.col("values") * pl.col("ncl").cast(pl.Int64) * (pl.col("ncl").cast(pl.Int64) - 1) // 2)
                            .alias("pairs"))
              .with_columns(pl.col("pairs").cum_sum().alias("cum")))
    cap = levels.filter(pl.col("cum") <= graph_config.max_pairs)["ncl"].max()
    shared = shared.filter(pl.col("ncl") <= (cap or 1)).select("node", "signal_idx", "kind", "value")
    per_kind = []
    for kind in sorted(shared["kind"].unique().to_list()):
        # One kind at a time, the pairs' cosines only (the pair lists of all kinds never at once).
        rows = shared.lazy().filter(pl.col("kind") == kind).select("node", "signal_idx", "value")
        norm = norms.lazy().filter(pl.col("kind") == kind).select("node", "norm")
        per_kind.append(
            rows.join(rows.select("signal_idx", pl.col("node").alias("other"), pl.col("value").alias("v2")),
                      on="signal_idx")
            .filter(pl.col("node") < pl.col("other"))
            # Integer sums (units of 1 / WEIGHT_SCALE) do not depend on the order of summation.
            .group_by("node", "other").agg(quantised(pl.col("value") * pl.col("v2")).sum().alias("dot"))
            .join(norm.rename({"norm": "ns"}), on="node")
            .join(norm.rename({"node": "other", "norm": "nt"}), on="other")
            .select("node", "other", quantised(pl.col("dot").cast(pl.Float64) / WEIGHT_SCALE
                                              / (pl.col("ns") * pl.col("nt"))).alias("cosine"),
                    pl.lit(kind != "ip_net").alias("tie")).collect())
    edges = (pl.concat(per_kind) if per_kind
             else pl.DataFrame(schema={"node": pl.UInt32, "other": pl.UInt32, "cosine": pl.Int64, "tie": pl.Boolean}))
    # A network only reinforces (as a weak kind does between accounts): it adds at most as much
    # as the tie kinds gave the pair, and never groups two clusters on its own.
    edges = (edges.group_by("node", "other").agg(pl.col("cosine").filter("tie").sum().alias("strong"),
                                                 pl.col("cosine").filter(~pl.col("tie")).sum().alias("weak"))
             .with_columns(combine_weights(pl.col("strong"), pl.col("weak")).alias("weight"))
             .filter(pl.col("weight") > 0).sort("node", "other")
             .select(pl.col("node").alias("source"), pl.col("other").alias("target"), "weight"))
    labels = np.arange(node.height)
    if edges.height:
        graph = build_graph(edges, node.height)
        ig.set_random_number_generator(random.Random(config.seed))
        try:
            labels = np.asarray(graph.community_leiden(
                objective_function="CPM", weights="weight", resolution=config.campaign_resolution,
                n_iterations=config.n_iterations).membership)
        finally:
            ig.set_random_number_generator(random)
    frame = node.with_columns(pl.Series("label", labels, dtype=pl.Int64))
    order = (
        frame.group_by("label").agg(pl.col("size").sum().alias("accounts"), pl.col("cluster_id").min().alias("first"))
        .sort(["accounts", "first"], descending=[True, False])
        .with_row_index("campaign_id", offset=1)
        .select("label", pl.col("campaign_id").cast(pl.Int64))
    )
    return frame.join(order, on="label").select(pl.col("cluster_id").cast(pl.Int64), "campaign_id").sort("cluster_id")


def score_campaigns(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                    signals: pl.DataFrame, graph_config: GraphConfig | None = None,
                    pooled: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per campaign: size, score, flag and the evidence that ties its clusters.

    A campaign is flagged when any of its clusters is: the flag is earned by a
    cluster's own evidence (see :mod:`graphlink.stages.scoring`), and the
    campaign shows the investigator which other cells the same operator runs.
    Its score is its highest cluster score. ``ties`` lists the kinds of the
    values (cards, addresses, templates, identifier columns: not the ambient
    kinds of :data:`AMBIENT_KINDS`, see :func:`is_tie_kind`) shared by two or more of its clusters, most such values first, and
    ``why`` says how many of each.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, size, score, flagged, campaign_id`` (scored clusters).
    partition : DataFrame
        ``account_idx, cluster_id``.
    affiliations, signals : DataFrame
        The projection's memberships (``account_idx, signal_idx``) and signals
        (``signal_idx, kind, linked``).
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong (default settings when omitted).
    pooled : DataFrame, optional
        ``campaign_id, score, why`` of campaigns scored as a whole
        (:func:`graphlink.stages.campaign_flags.pooled_partition`): the campaign's score is the larger of its
        pooled score and its best cluster's, and a campaign flagged as a whole
        says so in ``why``.

    Returns
    -------
    DataFrame
        :data:`graphlink.contract.CAMPAIGNS_SCHEMA`, sorted by ``campaign_id``.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2], "size": [3, 2], "score": [0.9, 0.2],
    ...                    "flagged": [True, False], "campaign_id": [1, 1]})
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 1, 2, 2]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 3], "signal_idx": [7, 7]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [7], "kind": ["payment"], "linked": [True]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> score_campaigns(cl, part, aff, sig).select("clusters", "accounts", "flagged", "why").row(0)
    ([1, 2], 5, True, '2 clusters, 5 accounts, 1 flagged; tied by 1 payment value')
    """
    if clusters.height == 0:
        return pl.DataFrame(schema=CAMPAIGNS_SCHEMA)
    base = clusters.group_by("campaign_id").agg(
        pl.col("cluster_id").sort().alias("clusters"), pl.col("size").sum().cast(pl.UInt32).alias("accounts"),
        pl.col("score").max().alias("score"), pl.col("flagged").any().alias("flagged"),
        pl.col("flagged_own" if "flagged_own" in clusters.columns else "flagged").sum().cast(pl.UInt32)
        .alias("flagged_clusters"), pl.col("flagged").sum().cast(pl.UInt32).alias("__all_flagged"))
    shared = (
        tie_values(clusters, partition, affiliations, signals, graph_config)
        .group_by("campaign_id", "kind").agg(pl.len().alias("values"))
        .sort(["campaign_id", "values", "kind"], descending=[False, True, False])
        .group_by("campaign_id", maintain_order=True)
        .agg(pl.col("kind").alias("ties"),
             pl.concat_str([fmt_int(pl.col("values")), pl.lit(" "), pl.col("kind"),
                            pl.when(pl.col("values") == 1).then(pl.lit(" value")).otherwise(pl.lit(" values"))])
             .str.join(", ").alias("tied_by"))
    )
    if pooled is not None and pooled.height:
        base = (base.join(pooled.select("campaign_id", pl.col("score").alias("__pscore"), pl.col("why").alias("__pwhy")),
                          on="campaign_id", how="left")
                .with_columns(pl.max_horizontal("score", "__pscore").alias("score")))
    else:
        base = base.with_columns(pl.lit(None, pl.String).alias("__pwhy"))
    whole = pl.col("flagged") & (pl.col("flagged_clusters") == 0) & pl.col("__pwhy").is_not_null()
    out = base.join(shared, on="campaign_id", how="left").with_columns(
        pl.col("ties").fill_null(pl.lit([], pl.List(pl.String))),
        pl.concat_str([pl.col("clusters").list.len().cast(pl.String),
                       pl.when(pl.col("clusters").list.len() == 1).then(pl.lit(" cluster, "))
                       .otherwise(pl.lit(" clusters, ")),
                       fmt_int(pl.col("accounts")), pl.lit(" accounts, "),
                       # Flagged clusters, and how many of them on their own evidence when not all.
                       pl.col("__all_flagged").cast(pl.String), pl.lit(" flagged"),
                       pl.when(pl.col("__all_flagged") != pl.col("flagged_clusters"))
                       .then(pl.concat_str([pl.lit(" ("), pl.col("flagged_clusters").cast(pl.String),
                                            pl.lit(" on their own evidence)")])).otherwise(pl.lit("")),
                       pl.when(pl.col("tied_by").is_not_null()).then(pl.concat_str([pl.lit("; tied by "),
                                                                                    pl.col("tied_by")]))
                       .otherwise(pl.lit("")),
                       pl.when(whole).then(pl.concat_str([pl.lit("; flagged as a whole: "), pl.col("__pwhy")]))
                       .otherwise(pl.lit(""))]).alias("why"))
    return out.select(list(CAMPAIGNS_SCHEMA.names())).cast(dict(CAMPAIGNS_SCHEMA)).sort("campaign_id")


def tie_values(campaign_of: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
               signals: pl.DataFrame, graph_config: GraphConfig | None = None) -> pl.DataFrame:
    """The linking values of tie kinds (:func:`is_tie_kind`) held by two or more clusters of a campaign.

    ``campaign_of`` is ``cluster_id, campaign_id``; the other frames as in
    :func:`graphlink.stages.campaign_flags.substantial_campaigns`. Returns ``campaign_id, kind, signal_idx,
    n`` (clusters of the campaign holding the value), ``inside`` (its accounts
    holding it), one row per (campaign, value).
    """
    graph_config = graph_config or GraphConfig()
    kinds = [k for k in signals["kind"].unique().to_list() if is_tie_kind(k, graph_config)]
    mapped = partition.drop_nulls("cluster_id").join(campaign_of.select("cluster_id", "campaign_id"), on="cluster_id")
    ties = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx", "kind")
    if mapped.is_empty() or ties.is_empty() or affiliations.is_empty():
        return (affiliations.select("account_idx", "signal_idx").join(ties, on="signal_idx").join(mapped, on="account_idx")
                .group_by("campaign_id", "kind", "signal_idx").agg(pl.col("cluster_id").n_unique().alias("n"),
                                                                   pl.len().alias("inside"))
                .filter(pl.col("n") >= 2))
    # Each affiliation's campaign and cluster read by position (per-account arrays), the tie
    # kinds by a per-value mask, and grouped on integers; the kind's text joins the result.
    size = int(max(affiliations["account_idx"].max(), mapped["account_idx"].max())) + 1
    per_account = pl.DataFrame({"account_idx": pl.int_range(size, dtype=pl.UInt32, eager=True)}).join(
        mapped.select(pl.col("account_idx").cast(pl.UInt32), "cluster_id", "campaign_id"), on="account_idx",
        how="left", maintain_order="left")
    n_values = int(max(affiliations["signal_idx"].max(), ties["signal_idx"].max())) + 1
    is_tie = pl.DataFrame({"signal_idx": pl.int_range(n_values, eager=True)}).select(
        pl.col("signal_idx").is_in(ties["signal_idx"].cast(pl.Int64).implode()))["signal_idx"]
    account = pl.col("account_idx")
    rows = (
        affiliations.select("account_idx", "signal_idx").filter(pl.lit(is_tie).gather(pl.col("signal_idx")))
        .select(pl.lit(per_account["campaign_id"]).gather(account).alias("campaign_id"),
                pl.lit(per_account["cluster_id"]).gather(account).alias("cluster_id"), "signal_idx")
        .drop_nulls("campaign_id")
    )
    return (
        rows.group_by("campaign_id", "signal_idx").agg(pl.col("cluster_id").n_unique().alias("n"),
                                                       pl.len().alias("inside"))
        .filter(pl.col("n") >= 2)
        .join(ties, on="signal_idx")
        .select("campaign_id", "kind", "signal_idx", "n", "inside")
    )
