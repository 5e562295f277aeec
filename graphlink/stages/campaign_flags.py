"""Campaign flags: which campaigns are tied substantially, and how their flags spread.

A campaign (:func:`graphlink.stages.campaigns.cluster_campaigns`) is one
operator only when what ties its clusters is substantial and specific to it
(:func:`substantial_campaigns`). A flag earned by a cluster spreads to the
tame cells tied to it by values specific to its operator
(:func:`operator_ties`: a template, card or address the cells share, not a
stock phrase thousands hold), whichever campaign the grouping put them in;
a campaign tied by infrastructure (cards, identifiers, addresses) whose
clusters are each tame is scored as a whole
(:func:`graphlink.stages.campaign_pool.pooled_partition`); :func:`flag_with_campaign` applies both.

Output schemas
--------------
:func:`substantial_campaigns`: ``campaign_id`` Int64, ``substantial``, ``infrastructure`` Boolean.
:func:`operator_ties`: :data:`graphlink.stages.tie_words.OPERATOR_TIES_SCHEMA`.
:func:`flag_with_campaign`: the clusters frame with ``flagged``/``why`` updated and ``flagged_own``.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig
from graphlink.contract import nested_reasons
from graphlink.stages.campaigns import (MIN_TIE_VALUES, PRIVATE_TIE_KINDS, TIE_KINDS, held_ties, is_tie_kind,  # noqa: F401
                                       tie_holdings, tie_values)
from graphlink.stages.campaign_pool import pooled_partition  # noqa: F401 (moved there; imported from here too)
from graphlink.stages.lead_campaigns import lead_campaigns
from graphlink.stages.small_cells import strong_cells
from graphlink.stages.passage_ties import single_passage_ties
from graphlink.stages.split_guard import HELD
from graphlink.stages.tie_words import INHERITED, OPERATOR_TIES_SCHEMA, OTHER_COUNTS, inherited_why, other_ties
from graphlink.stages.tie_carriers import MIN_TIE_CARRIERS, loud_voices, tie_carriers
from graphlink.stages.tie_weights import weighed

__all__ = ["substantial_campaigns", "flag_with_campaign", "pooled_partition", "operator_ties", "INHERITED",
           "AS_A_WHOLE", "SPECIFIC_SHARE", "OPERATOR_ROUNDS"]

#: A value is a group's own when at least this share of the accounts holding it in the whole log
#: are the group's (a carrier's CGNAT exit, a stock phrase, a proxy network shared with other
#: operators is held mostly outside it): campaign ties here, card alignment in
#: :mod:`graphlink.stages.card_pools`.
SPECIFIC_SHARE = 0.5

#: Rounds of :func:`operator_ties`: each sets aside the holders in the clusters the previous found to be a flagged
#: operator's, so its tame cells spread over several campaigns do not hide each other's template. Each round only adds.
OPERATOR_ROUNDS = 4

#: A value ties a cluster to its operator in :func:`operator_ties` only when at least this many of its
#: members hold it: a cell shares what its operator reuses (a template, a card, an address), while
#: one member's home address that a residential proxy pool also passes through is a coincidence
#: (dev world ind_s3_11000: 256 ordinary accounts in 20 clusters were tied to a proxy cell by
#: single members' addresses, each held by 2-4 accounts in the whole log).
MIN_CELL_HOLDERS = 2

#: How the ``why`` of a cluster flagged with its campaign scored as a whole starts:
#: ``campaign M as a whole (N accounts): ...`` (read back by :mod:`graphlink.views.explain`).
AS_A_WHOLE = " as a whole ("


def substantial_campaigns(campaign_of: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                          signals: pl.DataFrame, graph_config: GraphConfig | None = None,
                          loud: pl.Series | None = None) -> pl.DataFrame:
    """Which campaigns are tied by substantial evidence (see :data:`MIN_TIE_VALUES`).

    Parameters
    ----------
    campaign_of : DataFrame
        ``cluster_id, campaign_id``.
    partition, affiliations, signals : DataFrame
        ``account_idx, cluster_id``; ``account_idx, signal_idx``; ``signal_idx, kind, linked, df``.
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong.
    loud : Series, optional
        Ids of the clusters flagged on their own evidence. Their accounts outside the campaign
        are set aside when judging whether a value is specific (at least half of the *other*
        holders are the campaign's): an operator split over several campaigns holds its template
        and proxies in all of them, which makes them no stock phrase or carrier exit, while a
        phrase ordinary people share stays theirs however many of an operator's accounts use it.

    Returns
    -------
    DataFrame
        ``campaign_id, substantial, infrastructure`` (bool), one row per campaign of
        ``campaign_of``. ``substantial`` is True when its clusters share a card or a
        user-declared identifier, or at least :data:`MIN_TIE_VALUES` address or template
        values -- each held by two or more of its clusters, and with at least half of its
        holders in the whole log inside the campaign. ``infrastructure`` is True when the tie
        is made of what an operator runs rather than what it writes: a card or identifier,
        or at least :data:`MIN_TIE_VALUES` such addresses. Text alone can be shared by
        unrelated teams on one framework or job template; addresses and cards cannot.

    Examples
    --------
    >>> camp = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "campaign_id": [1, 1, 2, 2]})
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 2, 3, 4]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 2, 3], "signal_idx": [0, 0, 1, 1]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment", "prompt"], "linked": [True, True],
    ...                     "df": [2, 2]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> substantial_campaigns(camp, part, aff, sig).rows()  # a shared card; one shared phrase
    [(1, True, True), (2, False, False)]
    """
    private = pl.col("kind").is_in(PRIVATE_TIE_KINDS) | ~pl.col("kind").is_in(TIE_KINDS)
    shared = (
        tie_values(campaign_of, partition, affiliations, signals, graph_config, loud)
        .join(signals.select("signal_idx", "df"), on="signal_idx")
        # Only values specific to the campaign count: at least half of their holders in the whole log
        # are its accounts (a carrier's CGNAT exit, a stock phrase or a proxy network shared with
        # other operators is held mostly outside it), the rule `match` uses for known rings. Holders
        # in clusters flagged on their own evidence elsewhere (``loud``) are set aside first: the
        # operator's other campaigns explain them, while the people sharing a stock phrase stay.
        .filter(pl.col("inside") >= SPECIFIC_SHARE * (pl.col("df") - (pl.col("loud_outside") if loud is not None else 0)))
        .group_by("campaign_id").agg(
            (private.any() | (pl.len() >= MIN_TIE_VALUES)).alias("substantial"),
            (private.any() | ((pl.col("kind") == "ip").sum() >= MIN_TIE_VALUES)).alias("infrastructure"))
    )
    return (campaign_of.select("campaign_id").unique().join(shared, on="campaign_id", how="left")
            .select("campaign_id", pl.col("substantial").fill_null(False), pl.col("infrastructure").fill_null(False))
            .sort("campaign_id"))


def operator_ties(campaign_of: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                  signals: pl.DataFrame, loud: pl.Series, graph_config: GraphConfig | None = None,
                  rounds: int = OPERATOR_ROUNDS, strong: pl.Series | None = None, quiet: pl.Series | None = None) -> pl.DataFrame:
    """Clusters tied to a cluster flagged on its own evidence by values specific to the flagged operator.

    A flag spreads along what an operator reuses (its template, cards, addresses) and not along
    what everybody shares (a stock phrase, a carrier's exit). A value of a tie kind
    (:func:`graphlink.stages.campaigns.is_tie_kind`) held by a cluster ``C`` is its *operator's* when
    at least :data:`SPECIFIC_SHARE` of its holders in the whole log are in ``C``'s campaign, once the
    holders in the flagged operator's clusters elsewhere are set aside -- the loud clusters and,
    round by round, the clusters this function has found tied to them (an operator's tame cells
    sit in several campaigns and hold its template in all of them). ``C`` is tied when it holds a
    card or identifier, or at least :data:`MIN_TIE_VALUES` values, that are its operator's and held
    by the operator's clusters: the loud ones and those found in earlier rounds, which are the
    operator's as much (the tie names the loud cluster its chain starts from); values alone (no card or
    identifier) tie only when at least :data:`~graphlink.stages.tie_carriers.MIN_TIE_CARRIERS` accounts of the
    operator's clusters hold them (:func:`graphlink.stages.tie_carriers.tie_carriers`: its reuse, not the text of
    a bystander Leiden placed among its accounts), counted per operator (the campaign of the loud cluster the
    chain starts from; all of its accounts when it has fewer), never summed over unrelated fleets. A card or identifier
    that no operator campaign holds with two accounts is a
    *contact* (one payment with a stolen, borrowed or company card; one account in each of two rings
    paying with a card sold twice), not the operator's reuse: it ties ``C`` only when ``C``'s tying
    values are held by two accounts of one operator campaign (an operator moving one card to each of
    two accounts, or its card together with its template), or when ``C``'s members write the
    operator's template -- at least :data:`MIN_TIE_VALUES` prompt phrases most of whose holders in the
    log are the operator's clusters (its other holders are its tame cells, spread over many
    campaigns, so it is no campaign's own) -- never by one account's several contacts (a
    ring account paying with an office's card from the office's address). So is a card the operator's
    accounts make a sliver of the payments with, however many of them did (``C``'s own card: an office's
    corporate card two ring accounts used once each; such an address ties nothing); and prompt phrases that alone tie
    ``C`` (no address, no card but contacts) tie nothing when ``C``'s clients disagree with those of every operator
    cluster sending them that vouches for a client (copied text, not the operator's tooling), in a strong cell too:
    :mod:`graphlink.stages.tie_weights`. Whichever campaign the
    grouping puts ``C`` in, its flag then follows from its own values, not from which flagged cluster a Leiden run placed beside it; and a cluster tied
    only by a phrase thousands hold (a NAT's ordinary users) holds nothing of the operator's.

    Parameters
    ----------
    campaign_of, partition, affiliations, signals : DataFrame
        As for :func:`substantial_campaigns` (``signals`` needs ``signal_idx, kind, linked, df``).
    loud : Series
        Ids of the clusters flagged on their own evidence.
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong.
    rounds : int
        At most this many rounds (:data:`OPERATOR_ROUNDS`).
    strong : Series, optional
        Ids of the unflagged, mostly templated clusters (:func:`graphlink.stages.small_cells.strong_clusters`), also tied
        when they write the operator's template: at least :data:`MIN_TIE_VALUES` prompt phrases most of whose holders in the log are the operator's
        clusters (one operator's, the campaign of the loud cluster they lead to: never two unrelated fleets
        together), one of them held by most of its members. ``min_flag_size`` counts an operator's
        accounts: an operator of thousands leaves cells of two to four accounts that send its template,
        each in a campaign of its own, and the template, held mostly by the operator, is no campaign's
        own, so no specific value reaches them (dev ind_s2_224000: 401 ring accounts in 143 such clusters
        scoring the threshold, 376 in 84 under it). Mostly templated: the template alone, held by some of a
        cluster's accounts, flagged ordinary users whose questions start like the operator's fill-ins
        (BENCHMARKS.md, twenty-first pass); most of the members: a ring account and two bystanders Leiden
        put in one cluster are not a cell.
    quiet : Series, optional
        Ids of the clusters showing nothing of a fleet on their own (:func:`graphlink.stages.passage_ties.quiet_clusters`):
        one tied by prompt phrases alone that chain into one passage is not tied (a pasted framework prompt is one piece
        of evidence, not one per phrase: :mod:`graphlink.stages.passage_ties`). None (the default): as before.

    Returns
    -------
    DataFrame
        ``cluster_id`` (Int64), ``lead`` (Int64: the loud cluster holding most of the tying
        values, or the lead of the tied cluster holding most; ties by smaller id), ``ties``
        (UInt32: the tying values) and of those leading to ``lead`` ``cards`` (cards and identifiers),
        ``texts`` (prompt phrases), ``addresses`` (UInt32); ``values`` (List(UInt32): the ``signal_idx`` of those
        values and of ``others``' cards, sorted: what :func:`graphlink.stages.tie_evidence.with_tie_evidence` lists), one row per tied
        cluster not in ``loud``, by ``cluster_id``; ``cell``: tied as a strong small cell (``strong``), not by the
        values' holders; ``other_cards`` (UInt32) and ``others`` (List(Int64)): the tying cards and identifiers
        leading to other flagged clusters, and those clusters (:func:`graphlink.stages.tie_words.other_ties`).

    Examples
    --------
    >>> camp = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 2, 2]})
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 2, 2, 3, 3]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 2, 3, 0, 1, 4, 5, 6, 7, 8],
    ...                     "signal_idx": [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment"] * 2, "linked": [True] * 2,
    ...                     "df": [4, 7]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> operator_ties(camp, part, aff, sig, pl.Series([1])).rows()  # card 1: 3 of its 5 other holders unclustered
    [(2, 1, 1, 1, 0, 0, [0], False, 0, [])]
    >>> one = aff.filter((pl.col("account_idx") != 1) | (pl.col("signal_idx") != 0))  # one loud holder: a contact
    >>> operator_ties(camp, part, one, sig.with_columns(df=pl.Series([3, 7], dtype=pl.Int64)), pl.Series([1])).rows()
    []
    """
    graph_config = graph_config or GraphConfig()
    kinds = [k for k in signals["kind"].unique().to_list() if is_tie_kind(k, graph_config)]
    ties = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select(
        "signal_idx", "df", pl.col("kind").is_in(PRIVATE_TIE_KINDS).alias("private")
        | ~pl.col("kind").is_in(TIE_KINDS), (pl.col("kind") == "prompt").alias("text"))
    loud = loud.cast(pl.Int64).drop_nulls().unique()
    if loud.is_empty():  # no operator to tie to: every round's lead is empty (~230 empty queries skipped)
        return pl.DataFrame(schema=OPERATOR_TIES_SCHEMA)
    # A cluster in no campaign is a campaign of its own (a negative id no campaign has), not one with
    # every other such cluster.
    mapped = (partition.drop_nulls("cluster_id").join(campaign_of.select("cluster_id", "campaign_id"), on="cluster_id")
              .with_columns(pl.coalesce(pl.col("campaign_id").cast(pl.Int64), -1 - pl.col("cluster_id").cast(pl.Int64))
                            .alias("campaign_id")))
    # Holders of each tie value per cluster: the only table the rounds read.
    held = held_ties(mapped, affiliations, ties["signal_idx"]).with_columns(pl.col("cluster_id").cast(pl.Int64))
    inside = held.group_by("campaign_id", "signal_idx").agg(pl.col("h").sum().alias("inside"))
    found = pl.DataFrame(schema=OPERATOR_TIES_SCHEMA)
    for _ in range(max(rounds, 1)):
        # The operator so far: the loud clusters and those found tied to them (each names its loud lead).
        # A card moved between a tied cell and another is the operator's reuse as much as one moved from
        # a loud cell (dev ind_s1_11000: a 6-account cell paying with a card one member of a tied cell
        # also used, and writing the template, stayed unflagged).
        lead_of = pl.concat([pl.DataFrame({"cluster_id": loud}).with_columns(pl.col("cluster_id").alias("lead_id")),
                             found.select("cluster_id", pl.col("lead").alias("lead_id"))])
        aside = held.join(lead_of, on="cluster_id")
        # Per value, the operator's cluster holding it most (its loud lead is what a tied cluster names), and whether one
        # operator campaign holds it with two accounts (reuse); held by one account per operator campaign, it is a contact.
        per_camp = aside.group_by("signal_idx", "campaign_id").agg(pl.col("h").sum().alias("kh"))
        lead = (aside.sort(["signal_idx", "h", "cluster_id"], descending=[False, True, False])
                .group_by("signal_idx", maintain_order=True).agg(pl.col("lead_id").first().alias("lead"))
                .join(per_camp.group_by("signal_idx").agg((pl.col("kh").max() < MIN_CELL_HOLDERS).alias("contact")), on="signal_idx"))
        voices = loud_voices(per_camp, mapped.join(lead_of.select("cluster_id"), on="cluster_id"), affiliations, MIN_CELL_HOLDERS)
        specific = (inside.join(aside.group_by("signal_idx").agg(pl.col("h").sum().alias("all_op")), on="signal_idx", how="left")
                    .join(aside.group_by("campaign_id", "signal_idx").agg(pl.col("h").sum().alias("in_op")), on=["campaign_id", "signal_idx"], how="left")
                    .join(ties, on="signal_idx")
                    .filter(pl.col("inside") >= SPECIFIC_SHARE * (pl.col("df") - pl.col("all_op").fill_null(0)
                                                                  + pl.col("in_op").fill_null(0))))
        near = held.join(lead_of.select("cluster_id"), on="cluster_id", how="anti")  # not yet the operator's
        candidates = near.filter(pl.col("h") >= MIN_CELL_HOLDERS)
        rows = (candidates.join(specific.select("campaign_id", "signal_idx", "private", "text"), on=["campaign_id", "signal_idx"])
                .join(lead, on="signal_idx"))
        # The operator's template: prompt phrases most of whose holders in the log are its clusters (below).
        template = (aside.join(ties.filter("text").select("signal_idx", "df"), on="signal_idx")
                    .group_by("signal_idx").agg(pl.col("h").sum(), pl.col("df").first())
                    .filter(pl.col("h") >= SPECIFIC_SHARE * pl.col("df")).select("signal_idx"))
        # Weighed: a card the operator pays with a sliver of the time is a contact; a template sent with another client
        # than the operator's, and nothing else held, is copied text (tie_weights).
        # Whose client a phrase's senders vouch for: the loud clusters' and those tied by a card or an address, never one
        # tied by text alone (a copier team too small for a signature, tied, vouched for its browsers: break48).
        vouch = pl.concat([pl.DataFrame({"cluster_id": loud}), found.filter((pl.col("cards") > 0) | (pl.col("addresses") > 0)
                                                                           | (pl.col("other_cards") > 0)).select("cluster_id")])
        rows, split = weighed(rows, near.join(template, on="signal_idx"), aside.join(vouch, on="cluster_id", how="semi"),
                              partition, affiliations, signals, lead_of["cluster_id"])
        # Contacts tie only when two accounts of one operator campaign made them (whatever the values'
        # kinds): one ring account paying with an office's card from its address is still one contact.
        voiced = (rows.filter(~pl.col("sliver")).select("cluster_id", "signal_idx").join(voices, on="signal_idx").group_by("cluster_id", "loud_campaign")
                  .agg((pl.col("many").any() | (pl.col("voice").n_unique() >= 2)).alias("voiced"))
                  .group_by("cluster_id").agg(pl.col("voiced").any()))
        # Or when the cell paying with the card writes that operator's template: at least MIN_TIE_VALUES
        # prompt phrases most of whose holders are the clusters of the operator the card leads to (the
        # rest are its other tame cells, spread over many campaigns, so the template is no campaign's
        # own). Written by any member (a cell's members split the template's wording); the card needs two.
        # Prompt values only, never addresses (a household member on the operator's VPN exit).
        # Such text only backs a card: tying by it alone, or by it with any address the operator's
        # clusters hold, flagged ordinary users whose questions start like the operator's fill-ins (dev
        # worlds: ordinary accounts flagged 12 -> 13 and 12 -> 76; BENCHMARKS.md, twenty-first pass).
        writes = (near.join(template, on="signal_idx").join(split, on=["cluster_id", "signal_idx"], how="anti").group_by("cluster_id").agg(pl.len().alias("n"))
                  .filter(pl.col("n") >= MIN_TIE_VALUES).select("cluster_id"))
        backed = (rows.filter(pl.col("private") & pl.col("contact")).select("cluster_id").unique()
                  .join(writes, on="cluster_id").select("cluster_id", pl.lit(True).alias("backed")))
        new = (rows.group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("ties"),
                                               (pl.col("private") & ~pl.col("contact")).any().alias("reused"), pl.col("private").any(),
                                               # The lead its reused cards lead to: a contact (one account of a loud campaign
                                               # holds the card) names no operator over the template the cell writes.
                                               pl.coalesce(pl.col("lead").filter(pl.col("private") & ~pl.col("contact")).mode().min(),
                                                           pl.col("lead").mode().min()))
               # What the why counts: the values that lead to the lead it names (a template another flagged
               # cluster holds is not what ties this one to its card's operator).
               .join(rows.group_by("cluster_id", "lead").agg(pl.col("private").sum().cast(pl.UInt32).alias("cards"),
                                                             pl.col("text").sum().cast(pl.UInt32).alias("texts"),
                                                             pl.len().cast(pl.UInt32).alias("led"),
                                                             pl.col("signal_idx").sort().alias("values")),
                     on=["cluster_id", "lead"], how="left")
               .join(voiced, on="cluster_id", how="left").join(backed, on="cluster_id", how="left")
               .with_columns(by_card=pl.col("reused") | (pl.col("private") & pl.col("voiced").fill_null(False))
                             | pl.col("backed").fill_null(False), cell=pl.lit(False))
               .filter(pl.col("by_card") | (pl.col("ties") >= MIN_TIE_VALUES)))
        new = new.join(single_passage_ties(rows, signals, quiet), on="cluster_id", how="anti")  # one pasted passage: one piece
        tying = rows.select("cluster_id", "signal_idx")
        # The operator of each of its clusters: the campaign of its loud lead.
        of_op = (lead_of.join(mapped.select(pl.col("cluster_id").cast(pl.Int64).alias("lead_id"), "campaign_id").unique(),
                              on="lead_id", how="left")
                 .select("cluster_id", "lead_id", pl.coalesce("campaign_id", -1 - pl.col("lead_id")).cast(pl.Int64).alias("operator")))
        if strong is not None and strong.len():  # too small to flag alone, its own evidence strong enough (the docstring)
            # Its phrases sent with another client than every operator cluster's are copied here too (tie_weights):
            # a team on two department cards mostly sending a ring's public template from its browsers (break48).
            own, written = strong_cells(near.join(split, on=["cluster_id", "signal_idx"], how="anti"), held, of_op,
                                        ties.filter("text").select("signal_idx", "df"), partition, strong, SPECIFIC_SHARE)
            own = own.join(new.select("cluster_id"), on="cluster_id", how="anti")
            own = own.join(written.group_by("cluster_id").agg(pl.col("signal_idx").sort().alias("values")), on="cluster_id")
            new = pl.concat([new, own.with_columns(by_card=pl.lit(False), cards=pl.lit(0, pl.UInt32), texts=pl.col("ties"), led=pl.col("ties"), cell=pl.lit(True))], how="diagonal_relaxed")
            tying = pl.concat([tying, written.join(own.select("cluster_id"), on="cluster_id")])
        # Values alone tie only when the operator reuses them: at least as many of its accounts as a flag needs hold them
        # (its template, a pool it rotates over), not one or two Leiden placed among its accounts (four students on a
        # fleet's VPN, two inside its cluster, held the prompt their class pasted: tests/test_break_bursts26.py). Counted
        # per operator -- the campaign of the loud cluster a chain starts from -- never summed over unrelated fleets
        # (tests/test_break_carriers27.py). An operator with fewer accounts needs all of them.
        need = new.filter(~pl.col("by_card"))
        if need.height:
            operator = of_op.select("cluster_id", "operator")
            size = (partition.drop_nulls("cluster_id").select(pl.col("cluster_id").cast(pl.Int64)).join(operator, on="cluster_id")
                    .group_by("operator").agg(pl.len().clip(0, MIN_TIE_CARRIERS).alias("enough")))
            carried = (tie_carriers(tying.join(need.select("cluster_id"), on="cluster_id"),
                                    partition, affiliations, operator)
                       .join(size, on="operator").filter(pl.col("carriers") >= pl.col("enough"))
                       .select("cluster_id", pl.lit(True).alias("carried")).unique())
            new = new.join(carried, on="cluster_id", how="left").filter(pl.col("by_card") | pl.col("carried").fill_null(False))
        new = new.select("cluster_id", "lead", "ties", "cards", "texts", addresses=pl.col("led") - pl.col("cards") - pl.col("texts"),
                         values=pl.col("values").cast(pl.List(pl.UInt32)), cell=pl.col("cell").fill_null(False))
        # The why names every card that tied it, one leading to another flagged cluster too (a contact card).
        new = other_ties(rows, new) if new.height else new  # (an empty round ends here either way)
        if new.height == 0:
            break
        found = pl.concat([found, new]).sort("cluster_id")
    return found


def flag_with_campaign(clusters: pl.DataFrame, flag_threshold: float = 0.6, min_flag_size: int = 5,
                       substantial: pl.DataFrame | None = None, pooled: pl.DataFrame | None = None,
                       tied_to: pl.DataFrame | None = None) -> pl.DataFrame:
    """Flag every cluster of a campaign that has a cluster flagged on its own evidence.

    A campaign is one operator (its clusters are tied by cards, addresses,
    templates or identifier columns they share, :func:`cluster_campaigns`);
    when one of its cells shows fleet tooling, the operator is found, and its
    other cells are its accounts too even when each alone looks tame (an
    office-hours cell on one datacenter address, a card group too small for
    ``min_flag_size``). Such a cluster's ``why`` starts by naming the campaign
    and the cluster whose own evidence flagged it. ``min_flag_size`` guards
    against tiny coincidental groups, so it counts the campaign's accounts: a
    cluster scoring ``flag_threshold`` or more is flagged on its own evidence
    when its campaign has ``min_flag_size`` accounts (three card groups of
    four accounts tied by their templates are one operator of twelve), unless
    it is a block the split guard holds (column :data:`graphlink.stages.split_guard.HELD`
    not null: its wording-split whole scores under the threshold). Both
    need the campaign's tie to be substantial (:func:`substantial_campaigns`):
    one shared stock phrase makes no operator.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, size, score, flagged, why, campaign_id`` (scored clusters).
    flag_threshold, min_flag_size : float, int
        :class:`graphlink.config.ScoringConfig` settings.
    substantial : DataFrame, optional
        ``campaign_id, substantial`` (:func:`substantial_campaigns`); every campaign when omitted.
    pooled : DataFrame, optional
        ``campaign_id, size, score, why``: campaigns scored as a whole (their
        accounts as one group, :func:`pooled_partition`). A substantially tied
        campaign scoring ``flag_threshold`` or more with ``min_flag_size``
        accounts is flagged whole even when none of its clusters is: its
        clusters' ``why`` starts with the campaign's own reasons.
    tied_to : DataFrame, optional
        ``cluster_id, lead`` (:func:`operator_ties`): when given, a cluster inherits a flag when it
        is tied to a flagged cluster (``lead``) by values specific to that operator, whichever
        campaign either is in, instead of whenever its campaign holds a flagged cluster. Campaign
        grouping then decides no flag: a tame cell keeps its operator's flag under any grouping,
        and a cluster the grouping put beside an operator through one stock phrase does not
        take it. The ``why`` names the lead and the lead's campaign; a cluster tied by a card or
        identifier (``cards`` > 0) is the lead's operator's and moves into the lead's campaign, and so does one the
        grouping left alone (:func:`graphlink.stages.lead_campaigns.lead_campaigns`); a strong small cell (``cell``) says so.

    Returns
    -------
    DataFrame
        ``clusters`` with ``flagged`` and ``why`` updated, same order, plus
        ``flagged_own`` (flagged on its own evidence, which
        :func:`score_campaigns` counts as ``flagged_clusters``).

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [6, 4, 9], "score": [0.9, 0.2, 0.1],
    ...                    "flagged": [True, False, False], "why": ["proxies", "one card", "one NAT"],
    ...                    "campaign_id": [1, 1, 2]})
    >>> flag_with_campaign(cl).select("flagged", "why").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(True, 'proxies'), (True, 'same operator as flagged cluster 1 (campaign 1); one card'), (False, 'one NAT')]
    """
    if substantial is None:
        clusters = clusters.with_columns(pl.lit(True).alias("__tied"))
    else:
        clusters = clusters.join(substantial.select("campaign_id", pl.col("substantial").alias("__tied")),
                                 on="campaign_id", how="left",
                                 maintain_order="left").with_columns(pl.col("__tied").fill_null(False))
    size = pl.when("__tied").then(pl.col("size").sum().over("campaign_id")).otherwise(pl.col("size"))
    held = pl.col(HELD).is_not_null() if HELD in clusters.columns else pl.lit(False)  # its whole is tame (split_guard)
    clusters = clusters.with_columns(pl.col("flagged") | ((pl.col("score") >= flag_threshold) & (size >= min_flag_size) & ~held))
    lead = (clusters.filter("flagged").sort(["score", "cluster_id"], descending=[True, False])
            .group_by("campaign_id", maintain_order=True).agg(pl.col("cluster_id").first().alias("lead")))
    joined = clusters.join(lead, on="campaign_id", how="left", maintain_order="left")
    if pooled is not None and pooled.height:
        joined = joined.join(pooled.select("campaign_id", pl.col("size").alias("__psize"),
                                           pl.col("score").alias("__pscore"), pl.col("why").alias("__pwhy")),
                             on="campaign_id", how="left", maintain_order="left")
    else:
        joined = joined.with_columns(pl.lit(None, pl.UInt32).alias("__psize"), pl.lit(None, pl.Float64).alias("__pscore"),
                                     pl.lit(None, pl.String).alias("__pwhy"))
    if tied_to is not None:
        counts = [c for c in ("cards", "texts", "addresses", "cell", *OTHER_COUNTS, "others") if c in tied_to.columns]
        joined = joined.drop("lead").join(tied_to.select(pl.col("cluster_id").cast(joined.schema["cluster_id"]),
                                                         pl.col("lead").cast(pl.Int64), *counts),
                                          on="cluster_id", how="left", maintain_order="left")
        inherits = ~pl.col("flagged") & pl.col("lead").is_not_null()
    else:
        inherits = ~pl.col("flagged") & pl.col("lead").is_not_null() & pl.col("__tied")
    joined = joined.with_columns(*[pl.lit(None, pl.Boolean if c == "cell" else pl.UInt32).alias(c) for c in ("cards", "texts", "addresses", "cell") if c not in joined.columns])
    whole = (~pl.col("flagged") & ~inherits & pl.col("__tied") & (pl.col("__pscore") >= flag_threshold)
             & (pl.col("__psize") >= min_flag_size)).fill_null(False)
    lead_campaign = clusters.select(pl.col("cluster_id").cast(pl.Int64).alias("lead"), pl.col("campaign_id").alias("__lc"))
    joined = joined.with_columns(pl.col("lead").cast(pl.Int64)).join(lead_campaign, on="lead", how="left", maintain_order="left").with_columns(
        pl.col("flagged").alias("flagged_own"), (pl.col("flagged") | inherits | whole).alias("__f"),
        # Which tied clusters join their lead's campaign: card-tied ones, and those the grouping left alone (lead_campaigns).
        lead_campaigns("campaign_id", inherits, pl.col("cards") > 0, "__lc",
                       (pl.col("size") >= min_flag_size) & (pl.col("score").fill_null(0) > 0)),
        pl.coalesce("__lc", "campaign_id").alias("__lk"))  # the why names the lead's campaign
    return joined.with_columns(
        pl.col("__f").alias("flagged"),
        pl.when(inherits).then(inherited_why(campaign="__lk", cell="cell", columns=tuple(joined.columns)))
        .when(whole).then(pl.concat_str([
            pl.lit("campaign "), pl.col("campaign_id").cast(pl.String), pl.lit(AS_A_WHOLE),
            pl.col("__psize").cast(pl.String), pl.lit(" accounts): "), nested_reasons(pl.col("__pwhy")), pl.lit("; this cluster: "),
            pl.col("why").fill_null("")]))
        .otherwise(pl.col("why")).alias("why"),
    ).drop("lead", "__tied", "__psize", "__pscore", "__pwhy", "__lc", "__lk", "__f", "cards", "texts", "addresses", "cell",
           *OTHER_COUNTS, "others", strict=False)

