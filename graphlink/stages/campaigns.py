"""Campaigns: clusters run by one operator, and what ties them.

A distillation operator runs its accounts in cells: each cell is dense inside
(a card pool, a slice of a proxy pool, one schedule) and the cells are tied
more thinly by what the operator reuses: its template family, cards and
addresses moved between cells, its clock. graphlink reports both levels: the
partition's *clusters* are cells, and :func:`cluster_campaigns` groups them
into *campaigns*; :func:`score_campaigns` summarises each campaign.

Output schemas
--------------
:func:`cluster_campaigns`: ``cluster_id, campaign_id`` (Int64).
:func:`score_campaigns`: :data:`graphlink.contract.CAMPAIGNS_SCHEMA`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.config.kinds import kind_name_expr
from graphlink.contract import CAMPAIGNS_SCHEMA, nested_reasons
from graphlink.stages.campaign_clients import TEMPLATE_KINDS, client_vetoes
from graphlink.stages.campaign_consensus import consensus_groups
from graphlink.stages.campaign_kits import cluster_kits, kit_ties, kit_vetoes
from graphlink.stages.campaign_neighbours import neighbour_groups
from graphlink.stages.campaign_ties import private_ties
from graphlink.stages.components import fmt_int
from graphlink.stages.encode import value_counts
from graphlink.stages.linking import generators, link
from graphlink.stages.signed_templates import signed_template_ties
from graphlink.stages.tie_words import THROUGH, flagged_through

#: Kinds whose shared values tie an operator's cells: its cards, its proxy and
#: server addresses, its templates (``--signal`` identifier columns count too).
#: Not timing (unrelated companies' cron jobs fire at the same minutes), nor
#: networks, ASNs, user agents, e-mail domains or creation hours, which unrelated
#: people share by living on one ISP or using one browser.
TIE_KINDS = ("payment", "ip", "prompt")
#: A campaign's tie is substantial -- enough to flag its tame cells with its loud one and to count
#: its accounts for ``min_flag_size`` -- when its clusters share a card or a user-declared
#: identifier (private to an operator), or at least this many address or template values. A
#: 9-word sentence shared by both gives 5 prompt shingles; one stock phrase ("tell me a fun fact",
#: "make a study plan for") gives 1-4, and strangers share those: on an independent world,
#: campaigns "tied by 1 prompt phrase" spread flags to small groups of ordinary users. A
#: distillation template (a long instruction) or a proxy pool shares far more.
MIN_TIE_VALUES = 5
#: Tie kinds whose single shared value is substantial (cards); user-declared kinds count too.
PRIVATE_TIE_KINDS = ("payment",)
#: Built-in kinds that are never ties (everything else not in TIE_KINDS is a
#: user-declared ``--signal`` column).
AMBIENT_KINDS = ("timing", "ip_net", "asn", "user_agent", "email_domain", "created_hour")
#: The pseudo-mass of :func:`cluster_campaigns` is the weight of a value held by this share of the
#: log's accounts (never by fewer than 2: a privately shared value, ``kind_weight``). A value held by
#: a fixed share of the accounts -- an operator's template, a stock phrase -- weighs
#: ``(2 / df) ** rarity_exponent``, so in a log N times larger it weighs ``N ** -rarity_exponent``
#: as much; a pseudo-mass fixed in accounts (one value shared by 2) then outweighs every popular
#: value and an operator's cells stop grouping as the log grows (issue 17, dev independent s2 at
#: 224,000 accounts: operator 1's clustered ring accounts fell into 737 campaigns against 3 at
#: 11,000, the largest holding 9 % against 84 %; the flag then spread to 1,600 fewer of them). Held
#: to a share, the pseudo-mass falls as the popular values do and a world drawn at 20 times the size
#: groups alike. 2 / 11,000: up to 11,000 accounts -- the dev worlds the grouping and its resolution
#: were measured on -- the pseudo-mass is the private value it always was, so smaller logs group as
#: before. Rarity in the profiles is counted down to the same share: a value held by fewer accounts
#: (a cell's own fill-ins, its cards) weighs as one held by ``PSEUDO_SHARE`` of the log. A cell's own
#: values stay its own however large the log, while its operator's template is held by a share of
#: it: uncapped, a cell's own phrasing outgrew the template 4.5-fold between 11,000 and 224,000
#: accounts and the cell left its operator's campaign (dev ind_s2 at 224,000: a 229-account cell
#: sharing 574 template shingles with its operator's largest cluster, prompt cosine 0.08).
PSEUDO_SHARE = 2 / 11_000


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


def cluster_campaigns(partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                      graph_config: GraphConfig, config: CommunityConfig | None = None,
                      n_accounts: int | None = None) -> pl.DataFrame:
    """Group clusters into campaigns: cells run by one operator.

    An operator's cells are each dense inside (a card pool, a slice of a proxy
    pool) and tied to each other by what the operator reuses: one template
    family, cards and addresses moved between cells. Each cluster is summarised per tie kind (:data:`TIE_KINDS` and
    strong ``--signal`` kinds; a clock shared with unrelated companies' cron jobs is no tie) by a profile over values:
    the share of its members holding the value times the value's weight. Two clusters are as
    similar in a kind as the cosine of their profiles, shrunk towards 0 by a pseudo-mass (the weight of a value held by
    :data:`PSEUDO_SHARE` of the log's accounts, at least 2, added to each squared norm), so a profile made only of
    popular values (a stock user agent, a generic phrase) ties nobody however closely it matches, in a log of any size;
    a value rarer than that share weighs as one held by it, so a cell's own values do not outgrow its operator's
    template as the log grows. Cards and declared identifiers (:data:`PRIVATE_TIE_KINDS`, user-declared kinds) also
    tie by what two clusters share against what chance gives for clusters of their sizes
    (:func:`~graphlink.stages.campaign_ties.private_ties`): a cell's profile spreads over its many cards, so the cosine
    misses the few of them an operator moves between cells. Their
    similarity is the largest over kinds and ties, none when templates alone tie two cells running
    disjoint clients (:func:`~graphlink.stages.campaign_clients.client_vetoes`: a template is copied
    between operators, a scheduler's client is its own), and Leiden optimises CPM on the
    cluster graph at resolution ``campaign_resolution``: a set of clusters is a campaign when their pairwise
    similarity averages at least that (Traag, Van Dooren & Nesterov 2011). Leiden runs several times and the campaigns
    are what most runs agree on (:func:`~graphlink.stages.campaign_consensus.consensus_groups`), with
    clusters visited in the order of their first account: a ring's campaign does not hang on one seed, nor on clusters
    elsewhere being renumbered. With ``campaign_neighbours`` (default),
    grouped again through shared neighbours (:func:`~graphlink.stages.campaign_neighbours.neighbour_groups`).
    The cosine is exact -- every pair of clusters sharing a value -- within
    ``graph_config.max_pairs`` pairs (past it, the projection's random cycles).

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx`` (the projection's memberships).
    signals : DataFrame
        ``signal_idx, kind, df, weight, linked`` (the projection's signals).
    graph_config : GraphConfig
        Kind weights and projection limits.
    config : CommunityConfig
    n_accounts : int, optional
        Accounts in the log (the N of :data:`PSEUDO_SHARE` and of the private ties' chance); by
        default the rows of ``partition`` or the largest account number plus one, whichever is larger.

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
    node, sizes, edges = cluster_similarity(partition, affiliations, signals, graph_config, config, n_accounts)
    if sizes.height == 0:
        return pl.DataFrame(schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    n = node.height
    labels = np.arange(n)
    if edges.height:
        labels = consensus_groups(edges, n, config)
    if edges.height and config.campaign_neighbours:  # joined through shared neighbours (campaign_neighbours)
        node_of = partition.drop_nulls("cluster_id").join(node, on="cluster_id").join(sizes, on="cluster_id")
        labels = neighbour_groups(labels, edges, node_of.select("account_idx", "node", "size"), affiliations, signals, config)
    frame = node.with_columns(pl.Series("label", labels, dtype=pl.Int64)).join(sizes, on="cluster_id")
    order = (
        frame.group_by("label").agg(pl.col("size").sum().alias("accounts"), pl.col("cluster_id").min().alias("first"))
        .sort(["accounts", "first"], descending=[True, False])
        .with_row_index("campaign_id", offset=1)
        .select("label", pl.col("campaign_id").cast(pl.Int64))
    )
    return frame.join(order, on="label").select(pl.col("cluster_id").cast(pl.Int64), "campaign_id").sort("cluster_id")


SIMILARITY_SCHEMA = pl.Schema({"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
NODE_SCHEMA = pl.Schema({"node": pl.UInt32, "cluster_id": pl.Int64})


def cluster_similarity(partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                       graph_config: GraphConfig, config: CommunityConfig | None = None,
                       n_accounts: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The similarity :func:`cluster_campaigns` groups clusters by: ``(node, sizes, edges)``.

    Parameters are :func:`cluster_campaigns`'. ``node`` is ``node, cluster_id`` (nodes numbered in the
    order of each cluster's first account), ``sizes`` ``cluster_id, size`` in the same order, ``edges``
    ``source, target, weight`` (node numbers, ``source < target``, weight in ``(0, 1]``: the larger of
    the kinds' shrunk cosines and the private ties; none for a pair vetoed by its clients). Two clusters with no edge have similarity 0.
    Only the two clusters' own values enter a pair's similarity, so it is the same whichever other
    clusters ``partition`` holds (within ``graph_config.max_pairs``).
    """
    config = config or CommunityConfig()
    clusters = partition.drop_nulls("cluster_id")
    # Nodes in the order of each cluster's first account, not of its id: ids are renumbered when a
    # cluster elsewhere in the log gains, loses or drops members, and Leiden's result depends on the
    # order it visits nodes in, so numbering by id let an unrelated change regroup a ring's cells.
    sizes = (clusters.group_by("cluster_id").agg(pl.len().alias("size"), pl.col("account_idx").min().alias("__first"))
             .sort("__first", "cluster_id"))
    if sizes.height == 0:
        return pl.DataFrame(schema=NODE_SCHEMA), sizes.drop("__first"), pl.DataFrame(schema=SIMILARITY_SCHEMA)
    node = sizes.select("cluster_id").with_row_index("node").with_columns(pl.col("node").cast(pl.UInt32))
    sizes = sizes.drop("__first")
    if n_accounts is None:
        n_accounts = max(partition.height, 1 + max(int(partition["account_idx"].max() or 0),
                                                    int(affiliations["account_idx"].max() or 0)))
    # The pseudo-mass: a value held by PSEUDO_SHARE of the log, or privately (2 accounts) in a small log.
    floor = max(2.0, PSEUDO_SHARE * n_accounts)
    pseudo_rarity = (2.0 / floor) ** graph_config.rarity_exponent
    # Rarity counted in shares of the log, down to the pseudo-mass's: a value held by fewer accounts
    # weighs as one held by PSEUDO_SHARE of the log (below 11,000 accounts: every value as before).
    df = pl.col("df").cast(pl.Float64)
    capped = (df / df.clip(lower_bound=floor)).pow(graph_config.rarity_exponent)
    linked = signals.filter("linked").select("signal_idx", "kind", (pl.col("weight") * capped).alias("weight"))
    from graphlink.stages.evidence import shared_in_clusters  # (evidence -> match_templates -> seed_templates -> here)
    # Members per (cluster, linked value), counted on packed keys (joins and a group-by took 5.3 s of CPU, campaign preset).
    profile = (
        shared_in_clusters(affiliations, clusters, 1, linked["signal_idx"]).select(
            pl.col("cluster_id").cast(clusters.schema["cluster_id"]), "signal_idx", pl.col("accounts_sharing").alias("n"))
        .join(sizes, on="cluster_id").join(node, on="cluster_id").join(linked, on="signal_idx")
        .select(pl.col("node").alias("account_idx"), "signal_idx", "kind", "weight",
                (pl.col("n") / pl.col("size")).alias("damp"))
    )
    similarity = []
    # Every pair of clusters sharing a value linked (no random cycles through a value's holders; below).
    for kind in profile["kind"].unique().sort().to_list():
        if not is_tie_kind(kind, graph_config):
            continue
        rows = profile.filter(pl.col("kind") == kind)
        pseudo = graph_config.spec(kind).weight * pseudo_rarity
        shared = rows.with_columns(pl.len().over("signal_idx").alias("df")).filter(pl.col("df") >= 2)
        if shared.height == 0:
            continue
        norms = rows.group_by("account_idx").agg(
            ((pl.col("weight") * pl.col("damp") ** 2).sum() + pseudo).sqrt().alias("norm"))
        members = shared.with_columns(pl.lit(True).alias("strong"), pl.lit(0, pl.UInt32).alias("kind_code"))
        members = members.join(generators(members, graph_config), on="signal_idx", how="left")
        # Every pair of clusters sharing a value linked, not random cycles through its holders (the
        # projection's sparsifier): cycles are drawn over node numbers, so which two clusters a
        # popular template tied moved whenever a cluster elsewhere appeared or vanished (dev world
        # ind_s3_11000: 14 ring-free accounts detached moved ring flags by up to 398 accounts).
        # Within the projection's pair budget; past it (a huge log), the cycles again.
        pairs = shared.group_by("signal_idx").agg(pl.len()).select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item()
        if pairs <= graph_config.max_pairs:
            members = members.with_columns(pl.lit(False).alias("sparse"))
        dot = link(members, graph_config, seed=config.seed)
        similarity.append(
            dot.join(norms.rename({"account_idx": "source", "norm": "ns"}), on="source")
            .join(norms.rename({"account_idx": "target", "norm": "nt"}), on="target")
            .select("source", "target", (pl.col("weight") / (pl.col("ns") * pl.col("nt"))).alias("weight"),
                    pl.lit(kind not in TEMPLATE_KINDS).alias("infra")))
    # Cards and declared identifiers shared more than chance gives (campaign_ties): a cell's profile spreads over its many
    # cards, so the cosine of two of one operator's cells stays near 0 however many cross them (dev ind_s1_11000: 55 campaigns).
    tie_kinds = [k for k in profile["kind"].unique().sort().to_list() if is_tie_kind(k, graph_config)]
    private = [k for k in tie_kinds if k in PRIVATE_TIE_KINDS or k not in TIE_KINDS]
    node_of = clusters.join(node, on="cluster_id").join(sizes, on="cluster_id").select("account_idx", "node", "size")
    carded = pl.DataFrame(schema=SIMILARITY_SCHEMA)  # the pairs tied by cards or declared identifiers beyond chance
    for kinds in ([k for k in private if k not in TEMPLATE_KINDS], [k for k in private if k in TEMPLATE_KINDS]):
        if kinds:
            similarity.append(private_ties(node_of, affiliations, signals, kinds, n_accounts)
                              .with_columns(pl.lit(kinds[0] not in TEMPLATE_KINDS).alias("infra")))
            carded = similarity[-1].drop("infra") if kinds[0] not in TEMPLATE_KINDS else carded
    if config.signed_templates:  # opt-in: passages shared beyond chance by two clusters sending one toolkit (signed_templates)
        similarity.append(signed_template_ties(node_of, affiliations, signals, [k for k in tie_kinds if k in TEMPLATE_KINDS], n_accounts).with_columns(pl.lit(False).alias("infra")))
    if config.client_kits:  # opt-in: clusters sending one combination of clients almost no one else sends (campaign_kits)
        similarity.append(kit_ties(node_of, affiliations, signals, kits := cluster_kits(node_of, affiliations, signals)).with_columns(pl.lit(True).alias("infra")))
    if not similarity:
        return node, sizes, pl.DataFrame(schema=SIMILARITY_SCHEMA)
    tied = (pl.concat(similarity).filter(pl.col("weight") > 0).group_by("source", "target")
            .agg(pl.col("weight").max(), pl.col("infra").any()))
    # A pair tied by templates alone whose cells run different clients is two operators (campaign_clients).
    vetoed = client_vetoes(node_of, affiliations, signals, tied.filter(~pl.col("infra")), own_clients=True)
    if config.client_kits:  # ... and two such kits apart are two operators but for a card tie (campaign_kits)
        vetoed = pl.concat([vetoed, kit_vetoes(node_of, affiliations, signals, tied, carded, kits)]).unique()
    return node, sizes, tied.join(vetoed, on=["source", "target"], how="anti").drop("infra").sort("source", "target")


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
    ``why`` says how many of each. A campaign some of whose clusters inherited their flags from flagged
    clusters in other campaigns (not flagged as a whole) ends its ``why`` with those clusters
    (:func:`graphlink.stages.tie_words.flagged_through`).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, size, score, flagged, campaign_id`` (scored clusters), and ``flagged_own, why``
        when flags were inherited (:func:`graphlink.stages.campaign_flags.flag_with_campaign`).
    partition : DataFrame
        ``account_idx, cluster_id``.
    affiliations, signals : DataFrame
        The projection's memberships (``account_idx, signal_idx``) and signals
        (``signal_idx, kind, linked``).
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong (default settings when omitted).
    pooled : DataFrame, optional
        ``campaign_id, score, why`` of campaigns scored as a whole
        (:func:`graphlink.stages.campaign_pool.pooled_partition`): the campaign's score is the larger of its
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
    ([1, 2], 5, True, '2 clusters, 5 accounts, 1 flagged; tied by 1 payment card')
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
             pl.concat_str([fmt_int(pl.col("values")), pl.lit(" "), kind_name_expr("kind", pl.col("values"))])
             .str.join(", ").alias("tied_by"))
    )
    if pooled is not None and pooled.height:
        base = (base.join(pooled.select("campaign_id", pl.col("score").alias("__pscore"), pl.col("why").alias("__pwhy")),
                          on="campaign_id", how="left")
                .with_columns(pl.max_horizontal("score", "__pscore").alias("score")))
    else:
        base = base.with_columns(pl.lit(None, pl.String).alias("__pwhy"))
    whole = pl.col("flagged") & (pl.col("flagged_clusters") == 0) & pl.col("__pwhy").is_not_null()
    # Flags inherited from clusters in other campaigns: name those clusters, by id only.
    through = pl.col("flagged") & ~whole & pl.col("__through").is_not_null()
    base = base.join(flagged_through(clusters).rename({"through": "__through"}), on="campaign_id", how="left")
    out = base.join(shared, on="campaign_id", how="left").with_columns(
        pl.col("ties").fill_null(pl.lit([], pl.List(pl.String))),
        pl.concat_str([pl.col("clusters").list.len().cast(pl.String),
                       pl.when(pl.col("clusters").list.len() == 1).then(pl.lit(" cluster, "))
                       .otherwise(pl.lit(" clusters, ")),
                       fmt_int(pl.col("accounts")), pl.lit(" accounts, "),
                       # Flagged clusters, and how many on their own score (own evidence or borrowed size) when not all.
                       pl.col("__all_flagged").cast(pl.String), pl.lit(" flagged"),
                       pl.when(pl.col("__all_flagged") != pl.col("flagged_clusters"))
                       .then(pl.concat_str([pl.lit(" ("), pl.col("flagged_clusters").cast(pl.String),
                                            pl.lit(" on their own score)")])).otherwise(pl.lit("")),
                       pl.when(pl.col("tied_by").is_not_null()).then(pl.concat_str([pl.lit("; tied by "),
                                                                                    pl.col("tied_by")]))
                       .otherwise(pl.lit("")),
                       pl.when(whole).then(pl.concat_str([pl.lit("; flagged as a whole: "),
                                                          nested_reasons(pl.col("__pwhy"))]))
                       .otherwise(pl.lit("")),
                       pl.when(through).then(pl.lit(THROUGH) + pl.col("__through")).otherwise(pl.lit(""))]).alias("why"))
    return out.select(list(CAMPAIGNS_SCHEMA.names())).cast(dict(CAMPAIGNS_SCHEMA)).sort("campaign_id")


def tie_values(campaign_of: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
               signals: pl.DataFrame, graph_config: GraphConfig | None = None,
               loud: pl.Series | None = None) -> pl.DataFrame:
    """The linking values of tie kinds (:func:`is_tie_kind`) held by two or more clusters of a campaign.

    ``campaign_of`` is ``cluster_id, campaign_id``; the other frames as in
    :func:`graphlink.stages.campaign_flags.substantial_campaigns`. Returns ``campaign_id, kind, signal_idx,
    n`` (clusters of the campaign holding the value), ``inside`` (its accounts
    holding it), one row per (campaign, value). With ``loud`` (cluster ids), also
    ``loud_outside``: the value's holders in those clusters outside the campaign.
    """
    graph_config = graph_config or GraphConfig()
    kinds = [k for k in signals["kind"].unique().to_list() if is_tie_kind(k, graph_config)]
    mapped = partition.drop_nulls("cluster_id").join(campaign_of.select("cluster_id", "campaign_id"), on="cluster_id")
    ties = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx", "kind")
    # Holders per (cluster, value) counted on packed integers (tie_holdings), then grouped by campaign:
    # ~1M rows on the campaign preset instead of its 35M clustered affiliations.
    held = held_ties(mapped, affiliations, ties["signal_idx"]).drop_nulls("campaign_id").with_columns(
        (pl.col("cluster_id").is_in(loud.implode()) if loud is not None else pl.lit(False)).alias("__loud"))
    grouped = held.group_by("campaign_id", "signal_idx").agg(
        pl.len().cast(pl.UInt32).alias("n"), pl.col("h").sum().cast(pl.UInt32).alias("inside"),
        pl.col("h").filter("__loud").sum().cast(pl.UInt32).alias("__loud_in"))
    columns = ["campaign_id", "kind", "signal_idx", "n", "inside"]
    if loud is not None:
        totals = held.filter("__loud").group_by("signal_idx").agg(pl.col("h").sum().cast(pl.UInt32).alias("__loud_all"))
        grouped = grouped.join(totals, on="signal_idx", how="left").with_columns(
            (pl.col("__loud_all").fill_null(0) - pl.col("__loud_in")).cast(pl.UInt32).alias("loud_outside"))
        columns.append("loud_outside")
    return grouped.filter(pl.col("n") >= 2).join(ties, on="signal_idx").select(columns)


def held_ties(mapped: pl.DataFrame, affiliations: pl.DataFrame, ties: pl.Series) -> pl.DataFrame:
    """:func:`tie_holdings`, or where it cannot pack its keys the join and group-by it stands for (same rows)."""
    held = tie_holdings(mapped, affiliations, ties)
    if held is None:
        held = (mapped.join(affiliations.select("account_idx", "signal_idx"), on="account_idx")
                .join(pl.DataFrame({"signal_idx": ties}), on="signal_idx", how="semi")
                .group_by("campaign_id", "cluster_id", "signal_idx").agg(pl.len().alias("h")))
    return held


def tie_holdings(mapped: pl.DataFrame, affiliations: pl.DataFrame, ties: pl.Series) -> pl.DataFrame | None:
    """``campaign_id, cluster_id, signal_idx, h``: holders of each value of ``ties`` per cluster, one row per
    (cluster, value) held, in no particular order.

    ``mapped`` is ``account_idx, cluster_id, campaign_id`` (one row per account), ``affiliations``
    ``account_idx, signal_idx``. The join of ``mapped`` with the affiliations and its group-by by three
    columns (35M clustered affiliations on the campaign preset: ~3 s of CPU) become a per-account
    gather of each row's cluster code and one packed (cluster code, value) key counted off numpy's
    sort (:func:`graphlink.stages.encode.value_counts`): the same counts. None when the frames are
    empty, an account is listed twice or the key does not fit 64 bits (:func:`held_ties` then joins).
    """
    if mapped.is_empty() or affiliations.is_empty() or ties.is_empty() or mapped["account_idx"].is_duplicated().any():
        return None
    clusters = mapped.select("cluster_id", "campaign_id").unique("cluster_id").sort("cluster_id").with_row_index("__code")
    if clusters.height != mapped.select("cluster_id", "campaign_id").unique().height:
        return None  # a cluster in two campaigns: the join's rows, not one per cluster
    n_accounts = int(max(affiliations["account_idx"].max(), mapped["account_idx"].max())) + 1
    n_values = int(max(affiliations["signal_idx"].max(), ties.max())) + 1
    sig_bits = max(1, (n_values - 1).bit_length())
    if sig_bits + max(1, (clusters.height - 1).bit_length()) > 64:
        return None
    code = pl.DataFrame({"account_idx": pl.int_range(n_accounts, dtype=pl.UInt32, eager=True)}).join(
        mapped.select(pl.col("account_idx").cast(pl.UInt32), "cluster_id").join(
            clusters.select("cluster_id", "__code"), on="cluster_id"),
        on="account_idx", how="left", maintain_order="left")["__code"]
    is_tie = pl.DataFrame({"signal_idx": pl.int_range(n_values, dtype=pl.UInt32, eager=True)}).select(
        pl.col("signal_idx").is_in(ties.cast(pl.UInt32).implode()))["signal_idx"]
    keys = (affiliations.select("account_idx", "signal_idx").filter(pl.lit(is_tie).gather(pl.col("signal_idx")))
            .select(pl.lit(code).gather(pl.col("account_idx")).alias("__code"), "signal_idx").drop_nulls("__code")
            .select((pl.col("__code").cast(pl.UInt64) * 2**sig_bits + pl.col("signal_idx").cast(pl.UInt64)).alias("key")))
    counted = value_counts(keys["key"])
    cluster = (counted["key"] // 2**sig_bits).cast(pl.UInt32)
    return pl.DataFrame({"campaign_id": clusters["campaign_id"].gather(cluster),
                         "cluster_id": clusters["cluster_id"].gather(cluster),
                         "signal_idx": (counted["key"] % 2**sig_bits).cast(affiliations.schema["signal_idx"]),
                         "h": counted["count"].cast(pl.UInt32)})
