"""Fleet outsiders: members of a flagged proxy-rotating cluster linked in only by a reused address,
and address bystanders: members of any cluster bound by its own values that hold none of them and do
not phrase like it.

Output schema
-------------
:func:`fleet_outsiders`: a ``account_idx`` Series (UInt32), sorted.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig, ScoringConfig
from graphlink.stages.campaign_flags import SPECIFIC_SHARE
from graphlink.stages.campaigns import is_tie_kind

__all__ = ["fleet_outsiders", "set_apart_members", "SET_APART_REASONS", "address_bystanders", "background_rate", "IDENTITY_COVER", "PHRASING_SHARE", "MIN_FLEET_PHRASING",
           "CARD_KINDS", "CHANCE_ALPHA"]

#: Kinds a fleet's members and a card's owner both hold: a card the fleet pays with may be stolen or
#: bought, and its owner pays with it too (:func:`address_bystanders`).
CARD_KINDS = ("payment",)

#: A rotating fleet is *known by* its own values when at least this share of its members each hold
#: one (a card, a template shingle, an identifier the flagged clusters hold as their own) with
#: another member. Only then does a member holding none stand out: in a fleet whose accounts pay
#: with their own cards and send few templated prompts, most members hold none, and lacking one
#: says nothing (such fleets keep the network-count rule alone).
IDENTITY_COVER = 0.9
#: ... and a member phrasing like the fleet -- its sampled prompts sharing a template's passage
#: (``prompts_scripted``) at least this share of the fleet's own rate -- is the operator's,
#: camouflage or not (an account sending its operator's template in under half its prompts has
#: no prompt phrases, :attr:`graphlink.config.SignalConfig.prompt_min_templated`): a quarter keeps a
#: member hiding the template among three times as many ordinary prompts. A bystander on the same
#: commercial proxy sends its own requests (independent dev world 1: 10 % of ordinary people's
#: prompts share such a passage by chance, against ~90 % of a fleet's).
PHRASING_SHARE = 0.25
#: The phrasing test needs a fleet that phrases: at least this share of its sampled prompts
#: scripted (long shared passages). A fleet writing freely, or on a short template, says nothing by
#: its members' phrasing (break-it review: one chance shared passage in a fleet writing freely gave
#: it a rate of 0.3 % and detached its members on their own cards).
MIN_FLEET_PHRASING = 0.5
#: A member paying with none of the others' cards phrases like its cluster only if its scripted prompts are
#: beyond chance: ``P(X >= scripted)``, ``X ~ Binomial(sampled, p0)``, at most this for an account writing its
#: own prompts (``p0``, :func:`background_rate`). An ordinary person sends a prompt sharing some template's
#: passage now and then (dev independent 1: 9 % of such prompts); two of six such are 1 chance in 9 at that rate
#: and read as a third of its prompts -- over :data:`PHRASING_SHARE` of any fleet's rate -- so the person beside
#: a ring's exit read "on the script" (dev independent 177 at 224,000 accounts: 96 ordinary people flagged, each
#: one address and one event from a ring account, 2-17 prompts each). One in twenty: an operator's account
#: sending its template in 2 of 2 prompts, 3 of 5, or -- camouflaged -- 4 of 10 is beyond it (P 0.008, 0.009,
#: 0.013 at 9 %); one prompt of one (0.09) is not. An account off the script so is judged as one under the quarter:
#: a bystander unless it holds a template passage with a member on the script (the operator's accounts do) or a
#: card together with an address. A card the others pay with keeps the quarter rule alone (dev independent 1:
#: 21 ring accounts on the operator's card, most with one scripted prompt of one, detached with it). 0: off.
CHANCE_ALPHA = 0.05
#: Why :func:`set_apart_members` sets a member apart, first reason first (an account judged by two tests carries the
#: first): ``outsider`` -- fewer networks than its rotating fleet's median, holding none of its own values;
#: ``off_script`` -- a rotating fleet's member off the fleet's script, holding none of its own values;
#: ``bystander`` -- tied in by addresses alone, its own prompts off the cluster's script (:func:`address_bystanders`).
#: (``remnant``, an account left in a piece under ``min_cluster_size`` once the others left, is the scoring stage's:
#: :func:`graphlink.stages.scoring_stage.scoring_stage`.)
SET_APART_REASONS = ("outsider", "off_script", "bystander")


def fleet_outsiders(clusters: pl.DataFrame, scored: pl.DataFrame, value_counts: pl.DataFrame | None,
                    config: ScoringConfig | None = None, memberships: pl.DataFrame | None = None,
                    signals: pl.DataFrame | None = None, graph_config: GraphConfig | None = None,
                    account_stats: pl.DataFrame | None = None) -> pl.Series:
    """The ``account_idx`` (UInt32, sorted) of the members :func:`set_apart_members` sets apart (same parameters).

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 1, 1]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> scored = pl.DataFrame({"cluster_id": [1], "flagged": [True], "ip_spread": [1.0]})
    >>> counts = pl.DataFrame({"account_idx": [0, 1, 2, 3], "kind": ["ip_net"] * 4, "n_values": [40, 50, 60, 1]},
    ...                       schema_overrides={"account_idx": pl.UInt32})
    >>> fleet_outsiders(part, scored, counts).to_list()  # one home network in a rotating fleet
    [3]
    """
    return set_apart_members(clusters, scored, value_counts, config, memberships, signals, graph_config,
                             account_stats)["account_idx"].unique().sort()


def set_apart_members(clusters: pl.DataFrame, scored: pl.DataFrame, value_counts: pl.DataFrame | None,
                      config: ScoringConfig | None = None, memberships: pl.DataFrame | None = None,
                      signals: pl.DataFrame | None = None, graph_config: GraphConfig | None = None,
                      account_stats: pl.DataFrame | None = None) -> pl.DataFrame:
    """Members of flagged proxy-rotating clusters linked in only by addresses the pool reused.

    Proxy pools reuse residential and office addresses, so a person who once
    shared an address with a fleet can be linked into its cluster. In a
    flagged cluster whose ``ip_spread`` is at least ``outsider_min_spread``, a
    member that used fewer than ``outsider_network_share`` of the cluster's
    median number of networks does not rotate like the fleet. It is detached
    unless it shares with its cluster a value of another kind than addresses
    that the flagged clusters hold as their own -- a card, a template
    shingle or an identifier of which at least half the holders in the log
    (:data:`graphlink.stages.campaign_flags.SPECIFIC_SHARE`) are members of
    flagged clusters: an operator's member that pays from its cards or sends
    its template from a static server (or sent three requests from three
    networks) is the operator's; a bystander shares a reused address, and at
    most phrasing or a client everyone has.

    A bystander on the fleet's own commercial proxy rotates like the fleet, so
    the network count cannot tell it. When the fleet is known by its own
    values (:data:`IDENTITY_COVER` of its members hold one with another
    member) and phrases (:data:`MIN_FLEET_PHRASING` of its sampled prompts
    scripted), a member holding none whose prompts follow the fleet's template
    less than :data:`PHRASING_SHARE` of the fleet's rate
    (``account_stats``' ``prompts_scripted / prompts_sampled``) is detached
    too, rotating or not. The same test runs on every cluster, flagged or not
    (:func:`address_bystanders`, the cover counted over the other members):
    a piece too small to be flagged on its own is flagged later through its
    campaign, with the VPN user an exit address linked into it.

    Parameters
    ----------
    clusters : DataFrame
        ``account_idx, cluster_id`` (the partition).
    scored : DataFrame
        ``cluster_id, flagged, ip_spread`` (a provisional scoring).
    value_counts : DataFrame or None
        ``account_idx, kind, n_values`` (distinct values per account and kind).
    config : ScoringConfig, optional
    memberships, signals : DataFrame, optional
        ``account_idx, signal_idx`` and ``signal_idx, kind, df``: the
        affiliations. Without them a member's other ties are not checked.
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong: the ties are the campaign tie
        kinds (:func:`graphlink.stages.campaigns.is_tie_kind`) other than
        addresses, the pool's own currency.
    account_stats : DataFrame, optional
        ``account_idx, prompts_sampled, prompts_scripted`` (signal extraction).
        Without it only members rotating less than the fleet are judged.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (the cluster it leaves) and ``reason`` (String, one of
        :data:`SET_APART_REASONS`): one row per detached member, sorted by ``account_idx``.

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 1, 1]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> scored = pl.DataFrame({"cluster_id": [1], "flagged": [True], "ip_spread": [1.0]})
    >>> counts = pl.DataFrame({"account_idx": [0, 1, 2, 3], "kind": ["ip_net"] * 4, "n_values": [40, 50, 60, 1]},
    ...                       schema_overrides={"account_idx": pl.UInt32})
    >>> set_apart_members(part, scored, counts).rows()  # one home network in a rotating fleet
    [(3, 1, 'outsider')]
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 3], "signal_idx": [7, 7, 7]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [7], "kind": ["payment"], "df": [3]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> set_apart_members(part, scored, counts, memberships=aff, signals=sig).height  # pays from the fleet's card
    0
    """
    config = config or ScoringConfig()
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64, "reason": pl.String})
    if config.outsider_network_share <= 0:
        return empty
    fleets = scored.filter(pl.col("flagged") & (pl.col("ip_spread") >= config.outsider_min_spread))
    if value_counts is None or not value_counts.height:
        # Without network counts no member is judged by its rotation (address bystanders still are).
        fleets = fleets.clear()
        value_counts = pl.DataFrame(schema={"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32})
    nets = value_counts.filter(pl.col("kind") == "ip_net").select("account_idx", "n_values")
    members = (
        clusters.join(fleets.select("cluster_id"), on="cluster_id")
        .join(nets, on="account_idx", how="left")
        .with_columns(pl.col("n_values").fill_null(0).cast(pl.Float64))
        .with_columns(pl.col("n_values").median().over("cluster_id").alias("median_networks"))
    )
    static = members.filter(pl.col("n_values") < config.outsider_network_share * pl.col("median_networks")).select(
        "account_idx", "cluster_id", pl.lit(0).alias("order"))
    phrasing = None
    if account_stats is not None and account_stats.height and memberships is not None and signals is not None:
        # Rotating members are judged too; the phrasing clause below keeps the operator's.
        phrasing = (members.select("account_idx", "cluster_id")
                    .join(account_stats.select("account_idx", "prompts_sampled", "prompts_scripted"),
                          on="account_idx", how="left")
                    .with_columns(pl.col("prompts_sampled", "prompts_scripted").fill_null(0).cast(pl.Float64))
                    .with_columns((pl.col("prompts_scripted").sum().over("cluster_id")
                                   / pl.col("prompts_sampled").sum().over("cluster_id")).fill_nan(0.0).alias("fleet_rate"),
                                  # No sampled prompt: phrasing unknown (null), never judged by it.
                                  pl.when(pl.col("prompts_sampled") > 0)
                                  .then(pl.col("prompts_scripted") / pl.col("prompts_sampled")).alias("rate")))
    # (No flagged fleet, no member to judge: the block below reads nothing but empty frames.)
    if memberships is not None and signals is not None and (static.height or phrasing is not None and phrasing.height):
        kinds = [k for k in signals["kind"].unique().to_list() if k != "ip" and is_tie_kind(k, graph_config)]
        ties = signals.filter(pl.col("kind").is_in(kinds)).select("signal_idx", "df")
        flagged = clusters.join(scored.filter("flagged").select("cluster_id"), on="cluster_id", how="semi")
        held = memberships.select("account_idx", "signal_idx").join(ties, on="signal_idx")
        own = (held.join(flagged.select("account_idx"), on="account_idx", how="semi")
               .group_by("signal_idx").agg(pl.len().alias("inside"), pl.col("df").first())
               .filter(pl.col("inside") >= SPECIFIC_SHARE * pl.col("df")).select("signal_idx"))
        # Held with another member of the static member's own cluster.
        shared = (held.join(own, on="signal_idx", how="semi").join(flagged, on="account_idx")
                  .filter(pl.len().over("cluster_id", "signal_idx") >= 2))
        holders = shared.select("account_idx").unique()
        if phrasing is not None:
            # Rotating members are judged only in fleets known by their own values, and keep their
            # place when they phrase like the fleet.
            cover = (phrasing.join(holders.with_columns(pl.lit(1.0).alias("h")), on="account_idx", how="left")
                     .group_by("cluster_id").agg(pl.col("h").fill_null(0.0).mean().alias("cover")))
            rotating = phrasing.join(cover, on="cluster_id").filter(
                (pl.col("cover") >= IDENTITY_COVER) & (pl.col("fleet_rate") >= MIN_FLEET_PHRASING)
                & pl.col("rate").is_not_null() & (pl.col("rate") < PHRASING_SHARE * pl.col("fleet_rate")))
            static = pl.concat([static.select("account_idx", "cluster_id", "order"),
                                rotating.select("account_idx", "cluster_id", pl.lit(1).alias("order"))])
        static = static.join(holders, on="account_idx", how="anti")
    if account_stats is not None and account_stats.height and memberships is not None and signals is not None:
        flagged = scored.filter("flagged").select("cluster_id") if config.public_phrases else None
        static = pl.concat([static.select("account_idx", "cluster_id", "order"), address_bystanders(
            clusters, memberships, signals, account_stats, graph_config, flagged).select("account_idx", "cluster_id", pl.lit(2).alias("order"))])
    return (static.sort("account_idx", "order").unique("account_idx", keep="first", maintain_order=True)
            .select(pl.col("account_idx").cast(pl.UInt32), pl.col("cluster_id").cast(pl.Int64),
                    pl.col("order").replace_strict(dict(enumerate(SET_APART_REASONS)), return_dtype=pl.String).alias("reason")))


def address_bystanders(clusters: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                       account_stats: pl.DataFrame, graph_config: GraphConfig | None = None,
                       flagged: pl.DataFrame | None = None) -> pl.DataFrame:
    """Members linked into a cluster bound by its own values through an address alone.

    In any cluster (flagged or not: a small piece is flagged later through its campaign), a member
    is a bystander when (1) it holds no value of a tie kind other than addresses and cards (a template
    passage, a strong identifier), nor a card together with an address, with another member whose own
    prompts are not off the cluster's script (4, or unknown) -- a card alone does not keep it, since the
    owner of a card the fleet pays with (stolen, or bought from a carding shop) holds the card as a
    fleet member does, nor do values it holds only with other off-script members (a household's own
    prompts); (2) the cluster is known
    without it: at least :data:`IDENTITY_COVER` of the *other* members each hold one with another
    member (the judged member does not vote on whether its cluster is known by its own values: in a
    cluster of four, one bystander alone put the cover at 0.75), or by its script: most of the other
    members (more than half) each send a template in :data:`MIN_FLEET_PHRASING` or more of their own
    sampled prompts (a sliver of a ring whose accounts of several cells met on exit addresses shares
    no card or passage, but its ring accounts are on a script; a second bystander in it does not hide
    the first); (3) the other members phrase (:data:`MIN_FLEET_PHRASING` of their sampled prompts
    scripted); and (4) its own sampled prompts follow a template less than :data:`PHRASING_SHARE`
    of the others' rate (no sampled prompt: unknown, never judged).

    With ``flagged`` (``cluster_id`` of the clusters flagged so far: :attr:`graphlink.config.ScoringConfig.public_phrases`),
    a prompt phrase keeps a member only when it is the flagged clusters' own, as a card or template is for
    :func:`fleet_outsiders`: at least :data:`~graphlink.stages.campaign_flags.SPECIFIC_SHARE` of its writers in the
    whole log (``signals``' ``df``) are members of them or of the member's own cluster (session 60). A stock phrase ("tell me a fun fact about") is public: a
    fleet's camouflage prompts write it as thousands of people do, so sharing it with one of the fleet's accounts
    is chance, not a tie (dev independent 176 at 224,000 accounts: 19 of the 45 ordinary people flagged were kept
    only by such a phrase, written by 378-8,524 clustered accounts, shared with a ring account of their cluster).
    An operator's template is written mostly by its flagged cells, and keeps.

    Returns
    -------
    DataFrame
        ``account_idx, cluster_id`` of the bystanders.
    """
    members = clusters.drop_nulls("cluster_id").select("account_idx", "cluster_id")
    kinds = [k for k in signals["kind"].unique().to_list() if k != "ip" and is_tie_kind(k, graph_config)]
    ties = signals.filter(pl.col("kind").is_in(kinds)).select("signal_idx", pl.col("kind").is_in(CARD_KINDS).alias("card"))
    held = (memberships.select("account_idx", "signal_idx").join(ties, on="signal_idx")
            .join(members, on="account_idx")
            .filter(pl.len().over("cluster_id", "signal_idx") >= 2))
    holders = (held.group_by("account_idx").agg(pl.col("card").any().cast(pl.Float64).alias("pays"))
               .with_columns(pl.lit(1.0).alias("holds")))
    stats = account_stats.select("account_idx", pl.col("prompts_sampled").cast(pl.Float64).alias("sampled"),
                                 pl.col("prompts_scripted").cast(pl.Float64).alias("scripted"))
    others = lambda c: pl.col(c).sum().over("cluster_id") - pl.col(c)  # noqa: E731 -- leave-one-out sums
    judged = (
        members.join(holders, on="account_idx", how="left").join(stats, on="account_idx", how="left")
        .with_columns(pl.col("holds", "pays", "sampled", "scripted").fill_null(0.0))
        .with_columns((pl.len().over("cluster_id") - 1).alias("n_others"))
        .with_columns((others("holds") / pl.col("n_others")).alias("cover"),
                      (others("scripted") / others("sampled")).alias("others_rate"),
                      pl.when(pl.col("sampled") > 0).then(pl.col("scripted") / pl.col("sampled")).alias("rate"))
        # Beyond the quarter: a member paying with none of the others' cards whose phrasing is no more than chance.
        .with_columns((pl.col("rate") < PHRASING_SHARE * pl.col("others_rate")).fill_null(False).alias("off_quarter"))
        .with_columns((pl.col("off_quarter") | ((pl.col("pays") == 0) & _by_chance(account_stats, members)))
                      .fill_null(False).alias("off_script"),
                      # Members on a script (a member with none sampled does not vouch).
                      (pl.col("rate") >= MIN_FLEET_PHRASING).fill_null(False).cast(pl.Float64).alias("on"))
        # Known by its script: more than half of the other members on one. Half is not enough: staff beside
        # as many co-workers on one office address are two groups, not a fleet and its strays.
        .with_columns(others("on").alias("others_on"))
    )
    candidates = judged.filter(
        (pl.col("n_others") >= 2)
        & ((pl.col("cover") >= IDENTITY_COVER) | (2 * pl.col("others_on") > pl.col("n_others")))
        & (pl.col("others_rate") >= MIN_FLEET_PHRASING) & pl.col("off_script")
    ).select("account_idx", "cluster_id")
    if candidates.is_empty():  # (nobody to keep: the same empty frame, without reading the values below)
        return candidates
    # What keeps a member is a value it holds with a member on the cluster's script: a template passage or
    # an identifier, or a card together with an address (a free-writing account of the operator paying
    # with its cards from its exits has two independent links). A card alone does not: the owner of a card
    # the fleet pays with (stolen, or bought from a carding shop) holds it as a fleet member does; nor do a
    # household's own values (its prompts, shared among its members only). The cover counts every value.
    # Asked only of the candidates (off the script themselves, so never their own on-script holder): their
    # values' rows and the on-script holders of those values in their clusters, instead of every member's
    # rows (16M address rows on the campaign preset); the same bystanders.
    roles = signals.filter(pl.col("kind").is_in(kinds) | (pl.col("kind") == "ip")).select(
        "signal_idx", pl.when(pl.col("kind") == "ip").then(pl.lit("exit"))
        .when(pl.col("kind").is_in(CARD_KINDS)).then(pl.lit("card")).otherwise(pl.lit("own")).alias("role"))
    rows = memberships.select("account_idx", "signal_idx").join(candidates, on="account_idx").join(roles, on="signal_idx")
    if flagged is not None and "df" in signals.columns:
        rows = _public_phrases(rows, memberships, signals, clusters, flagged)
    # Judged off the script by chance alone, a member on a script itself (most of its few prompts) still vouches.
    # (a ring of one-prompt bots, each 1 of 1 on its own card, vouch for each other; break-it review brk55)
    on_script = (judged.filter(~pl.col("off_script") | (~pl.col("off_quarter") & (pl.col("on") > 0)))
                 .select("account_idx", "cluster_id"))
    with_script = (memberships.select("account_idx", "signal_idx")
                   .join(rows.select("signal_idx").unique(), on="signal_idx", how="semi")
                   .join(on_script, on="account_idx").select("cluster_id", "signal_idx").unique())
    kept = (rows.join(with_script, on=["cluster_id", "signal_idx"], how="semi").group_by("account_idx").agg(
        ((pl.col("role") == "own").any()
         | ((pl.col("role") == "card").any() & (pl.col("role") == "exit").any())).alias("kept"))
        .filter("kept"))
    return candidates.join(kept, on="account_idx", how="anti")


def _public_phrases(rows: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame, clusters: pl.DataFrame,
                    flagged: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``account_idx, signal_idx, cluster_id, role``) with the role of each public prompt phrase -- fewer than
    :data:`SPECIFIC_SHARE` of its writers (``df``) in the ``flagged`` clusters or in the member's own cluster -- set to
    ``public`` (it keeps nobody). The own cluster counts (session 60, def60): a passage only a piece not yet flagged
    writes is that piece's template, the fleet's mark (session 19), not a phrase strangers write."""
    phrases = (rows.filter(pl.col("role") == "own").select("signal_idx", "cluster_id").unique()
               .join(signals.filter(pl.col("kind") == "prompt").select("signal_idx", "df"), on="signal_idx"))
    if phrases.is_empty():
        return rows
    writers = (memberships.select("account_idx", "signal_idx").join(phrases.select("signal_idx").unique(), on="signal_idx", how="semi")
               .join(clusters.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64).alias("at")), on="account_idx")
               .with_columns(pl.col("at").is_in(flagged["cluster_id"].cast(pl.Int64).implode()).alias("flagged")))
    in_flagged = writers.filter("flagged").group_by("signal_idx").agg(pl.len().alias("in_flagged"))
    in_own = (writers.filter(~pl.col("flagged")).group_by("signal_idx", "at").agg(pl.len().alias("in_own"))
              .rename({"at": "cluster_id"}))
    public = (phrases.with_columns(pl.col("cluster_id").cast(pl.Int64)).join(in_flagged, on="signal_idx", how="left")
              .join(in_own, on=["signal_idx", "cluster_id"], how="left")
              .filter(pl.col("in_flagged").fill_null(0) + pl.col("in_own").fill_null(0) < SPECIFIC_SHARE * pl.col("df"))
              .select("signal_idx", "cluster_id", pl.lit(True).alias("__public")))
    return (rows.join(public, on=["signal_idx", "cluster_id"], how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("__public").fill_null(False)).then(pl.lit("public")).otherwise(pl.col("role")).alias("role"))
            .drop("__public"))


def background_rate(account_stats: pl.DataFrame, members: pl.DataFrame) -> float | None:
    """How often an account writing its own prompts sends one sharing a template's passage (``p0``).

    Pooled over the accounts in no cluster that are on no script themselves (under
    :data:`MIN_FLEET_PHRASING` of their sampled prompts scripted): the chance a bystander's prompt reads as
    scripted. Accounts on a script of their own (an agent framework's users sending its public system
    prompt, 98 % of their prompts on dev independent 1) are left out: pooled in, they put the rate at 0.39
    against the 0.09 of the accounts writing their own (and operators' accounts sending their template in 3 of
    3 prompts read as chance).

    Parameters
    ----------
    account_stats : DataFrame
        ``account_idx, prompts_sampled, prompts_scripted`` (one row per account).
    members : DataFrame
        ``account_idx`` of the clustered accounts (any further columns ignored).

    Returns
    -------
    float or None
        ``sum(scripted) / sum(sampled)`` over those accounts, in [0, 0.5); None when they sampled no prompt
        (nothing to measure chance by).

    Examples
    --------
    >>> stats = pl.DataFrame({"account_idx": [0, 1, 2, 3], "prompts_sampled": [10, 10, 5, 4],
    ...                       "prompts_scripted": [1, 0, 5, 4]}, schema_overrides={"account_idx": pl.UInt32})
    >>> background_rate(stats, pl.DataFrame({"account_idx": [2]}, schema={"account_idx": pl.UInt32}))  # 3 on a script
    0.05
    """
    rest = (account_stats.join(members.select("account_idx"), on="account_idx", how="anti")
            .filter(pl.col("prompts_scripted") < MIN_FLEET_PHRASING * pl.col("prompts_sampled")))
    sampled = float(rest["prompts_sampled"].sum() or 0)
    return float(rest["prompts_scripted"].sum() or 0) / sampled if sampled > 0 else None


def _by_chance(account_stats: pl.DataFrame, members: pl.DataFrame) -> pl.Expr:
    """True where a member's scripted prompts are no more than chance (:data:`CHANCE_ALPHA`) for the log's rate."""
    p0 = background_rate(account_stats, members) if CHANCE_ALPHA > 0 else None
    if p0 is None or p0 >= 1:
        return pl.lit(False)
    from scipy.stats import binom

    def tail(s: pl.Series) -> pl.Series:  # P(X >= scripted) for each (sampled, scripted) pair
        k, n = s.struct.field("scripted").to_numpy(), s.struct.field("sampled").to_numpy()
        return pl.Series(binom.sf(k - 1, n, p0), dtype=pl.Float64)
    chance = pl.struct("scripted", "sampled").map_batches(tail, return_dtype=pl.Float64)
    return (pl.col("sampled") > 0) & (chance > CHANCE_ALPHA)
