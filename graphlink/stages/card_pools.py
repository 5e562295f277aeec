"""Is a cluster's set of shared cards a pool, or one card per organisation?

An operator needing many accounts pays from a pool of cards: which card an
account uses is a billing detail, so the accounts on one card are no more alike
than accounts on different cards -- they rotate through the same proxies, send
the same template and run on the same clock. Organisations merged into one
cluster (a company's branches on their own corporate cards, families behind a
campus NAT, firms whose batch jobs leave through one serverless egress) also
show several cards each paying for several members, but there each card is a
unit: its holders share their office address, their own job template, their own
schedule, and only a thin tie (the VPN, the NAT, the egress) crosses cards.

:func:`card_alignment` measures that as the nominal assortativity of the card
attribute on the cluster's weighted co-affiliation graph (Newman 2003): the
share of the rarity-weighted link mass between members that joins holders of
the same card, against the share a card-blind mixing would give,

    alignment = (f_same - e_same) / (1 - e_same)

with ``f_same = sum_v w_v sum_c C(h_vc, 2) / sum_v w_v C(h_v, 2)`` over the
members' non-payment values ``v`` of weight ``w_v`` specific to the cluster (at
least half their holders are members: a campus NAT or a stock phrase is
everyone's and ties no two members in particular) (``h_v`` members hold it,
``h_vc`` of them on card ``c``) and ``e_same = sum_c C(n_c, 2) / C(n, 2)``
(``n_c`` members on card ``c``). 0 is a pool's card-blind mixing, 1 means all
shared evidence stays inside card groups. Phrasing is the exception: a
template specific to the cluster that the card groups share is one operator's
own (organisations merged by a NAT or an egress each keep their own job
template), so the alignment is multiplied by that of the cluster's specific
prompt shingles alone (clipped to 0..1; 1 when there are none) -- a worker per
card on its own VM and clock, sending the operator's template, is no
organisation. Scoring counts a card pool only to
the extent the cards are not aligned: ``card_pool * (1 - max(alignment, 0))``.

References
----------
M. E. J. Newman, "Mixing patterns in networks", Phys. Rev. E 67, 026126 (2003).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_flags import SPECIFIC_SHARE
from graphlink.stages.encode import value_counts

__all__ = ["POOL_HOLDERS", "UNIT_COVER", "WORKPLACE_WRITERS", "card_alignment", "card_units", "main_addresses", "office_members"]

#: A card pays for a pool only when it pays for this many members: a card two people
#: share is a couple's (the same rule as ``card_pool``).
POOL_HOLDERS = 3

#: A card is an organisation's unit when a value of its own (an office address, a clock, an
#: identifier: at least half of the value's holders in the whole log are on this card) is held by at
#: least this share of the card's members -- most of a branch works from its office. Half, so a
#: branch where some staff work remotely is still one; an operator's card never has such a value
#: unless its accounts run on a machine of their own.
UNIT_COVER = 0.5

#: An address others are based at too (a company's NAT, a carrier's CGNAT) is a card team's office only when the
#: team's template is the workplace's: accounts based there paying their own way (a card no other account in the
#: log holds) write it, at least this many for each based writer of it on a pooled card (the team's included) -- a
#: third of its writers there. A company's in-house tool is used by its staff beyond the team the company card pays for; a ring behind a
#: CGNAT or on a real home's exit writes its script alone (break-it review, session 53). An operator faking a
#: workplace must buy a card for every second account it excuses, and base them all at the address: card pooling
#: exists to save exactly those cards. Half, not all: a team on the company card may well be the tool's main users.
#: Most accounts based there must also write none of the template (an office's staff write their own requests;
#: an address where every based account sends it is the script's server, :func:`_workplaces`).
WORKPLACE_WRITERS = 0.5


def card_alignment(members: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """Card assortativity of each cluster with two or more pooled cards.

    Parameters
    ----------
    members : DataFrame
        ``cluster_id, account_idx`` (the partition, unclustered accounts dropped).
    memberships : DataFrame
        ``account_idx, signal_idx`` (and more) -- the affiliations of every kind.
    signals : DataFrame
        ``signal_idx, kind, weight, df``: the projection's weighted signal table.

    Returns
    -------
    DataFrame
        ``cluster_id`` Int64, ``card_alignment`` Float64 in -1..1 (Newman's
        assortativity; null when the members on pooled cards share no other
        value). Only clusters with two or more cards each paying for
        :data:`POOL_HOLDERS` or more members have a row.

    Examples
    --------
    >>> import polars as pl
    >>> members = pl.DataFrame({"cluster_id": [1] * 6, "account_idx": list(range(6))})
    >>> signals = pl.DataFrame({"signal_idx": [0, 1, 2, 3], "kind": ["payment", "payment", "ip", "ip"],
    ...                         "weight": [3.0, 3.0, 1.0, 1.0], "df": [3, 3, 3, 3]})
    >>> memberships = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5],
    ...                             "signal_idx": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]})
    >>> card_alignment(members, memberships, signals)["card_alignment"].to_list()  # one office per card
    [1.0]
    """
    kinds = signals.select("signal_idx", "kind", pl.col("weight").cast(pl.Float64), "df")
    members = members.select("cluster_id", "account_idx")
    affiliations = memberships.select("account_idx", "signal_idx")
    card_of = _pooled_cards(members, affiliations, kinds)
    sizes = card_of.group_by("cluster_id", "card").agg(pl.len().cast(pl.Float64).alias("n_c"))
    expected = (sizes.group_by("cluster_id")
                .agg((pl.col("n_c") * (pl.col("n_c") - 1) / 2).sum().alias("same"),
                     pl.col("n_c").sum().alias("n"), pl.len().alias("cards"))
                .filter(pl.col("cards") >= 2)
                .select("cluster_id", (pl.col("same") / (pl.col("n") * (pl.col("n") - 1) / 2)).alias("e_same")))
    # Only clusters with two or more pooled cards get a value: only their members' other
    # values are read. Their proxy fleets hold most of the tens of millions of affiliations, so
    # (cluster, value) and (cluster, value, card) are counted on packed integer keys, each
    # account's cluster and card read by position, not by multi-column joins and group-bys.
    by_card = _card_counts(members, affiliations, kinds, card_of, expected)
    pairs = pl.col("h") * (pl.col("h") - 1) / 2
    # Float sums in a fixed order (sorted groups, kept order): the same result for any input row order.
    by_card = (by_card.sort("cluster_id", "signal_idx", "card")
               .group_by("cluster_id", "signal_idx", maintain_order=True)
               .agg((pairs * pl.col("weight")).sum().alias("same_mass"),
                    pl.col("h").sum().alias("h"), pl.col("weight").first(), pl.col("kind").first()))
    text = pl.col("kind") == "prompt"
    observed = (by_card.group_by("cluster_id", maintain_order=True)
                .agg(pl.col("same_mass").sum(), (pairs * pl.col("weight")).sum().alias("mass"),
                     pl.col("same_mass").filter(text).sum().alias("text_same"),
                     (pairs * pl.col("weight")).filter(text).sum().alias("text_mass")))
    kappa = (lambda same, mass: ((pl.col(same) / pl.col(mass) - pl.col("e_same")) / (1 - pl.col("e_same"))).clip(-1, 1))
    # Phrasing the card groups share (a template specific to the cluster, sent across cards) is one
    # operator's: it cancels the alignment other kinds show (a worker's own VM or clock per card).
    text_factor = pl.when(pl.col("text_mass") > 0).then(kappa("text_same", "text_mass").clip(0, 1)).otherwise(1.0)
    return (expected.join(observed, on="cluster_id", how="left")
            .select(pl.col("cluster_id").cast(pl.Int64),
                    pl.when(pl.col("mass") > 0).then(kappa("same_mass", "mass") * text_factor)
                    .otherwise(None).cast(pl.Float64).alias("card_alignment"))
            .sort("cluster_id"))


def _pooled_cards(members: pl.DataFrame, affiliations: pl.DataFrame, kinds: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id, account_idx, card``: each member on a card paying for :data:`POOL_HOLDERS` or more
    members of its cluster, counted on one such card (the most used, then the lowest index)."""
    pay = (affiliations.join(kinds.filter(pl.col("kind") == "payment").select("signal_idx"), on="signal_idx")
           .join(members, on="account_idx"))
    pooled = pay.with_columns(pl.len().over("cluster_id", "signal_idx").alias("holders")).filter(
        pl.col("holders") >= POOL_HOLDERS)
    return (pooled.sort(["cluster_id", "account_idx", "holders", "signal_idx"], descending=[False, False, True, False])
            .group_by("cluster_id", "account_idx", maintain_order=True).first()
            .select("cluster_id", "account_idx", pl.col("signal_idx").alias("card")))


def card_units(members: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """How far a group's pooled cards are each an organisation's unit: ``cluster_id, card_alignment``.

    The measure for a campaign scored as a whole
    (:func:`graphlink.stages.campaign_pool.pooled_partition`), where :func:`card_alignment`
    cannot be used: its clusters were grouped *by* what they share (a template, a VPN, a
    hosting range), so that shared mass says nothing of the cards, and a company's branches
    running its in-house tool share one template as an operator's cells do. What tells them
    apart is each card's *own* evidence: a branch's card is a unit whose holders mostly share
    a value nobody else holds -- their office address, their own clock -- while an operator's
    accounts draw addresses from the pool whatever card pays for them. The result is the
    share of the members on pooled cards whose card has such a value: at least
    :data:`UNIT_COVER` of its members hold one non-text, non-payment linking value of which
    at least :data:`graphlink.stages.campaign_flags.SPECIFIC_SHARE` of the holders in the
    whole log are on the card. Scoring counts the pool as ``card_pool * (1 - share)``, as
    for :func:`card_alignment`.

    Parameters
    ----------
    members, memberships, signals : DataFrame
        As for :func:`card_alignment`: ``cluster_id, account_idx``; ``account_idx, signal_idx``;
        ``signal_idx, kind, weight, df``.

    Returns
    -------
    DataFrame
        ``cluster_id`` Int64, ``card_alignment`` Float64 in 0..1, one row per group with two or
        more cards each paying for :data:`POOL_HOLDERS` or more members.

    Examples
    --------
    >>> members = pl.DataFrame({"cluster_id": [1] * 6, "account_idx": list(range(6))})
    >>> signals = pl.DataFrame({"signal_idx": [0, 1, 2, 3, 4], "kind": ["payment", "payment", "ip", "ip", "ip"],
    ...                         "weight": [3.0, 3.0, 1.0, 1.0, 1.0], "df": [3, 3, 3, 3, 6]})
    >>> offices = pl.DataFrame({"account_idx": list(range(6)) * 3,
    ...                         "signal_idx": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4]})
    >>> card_units(members, offices, signals)["card_alignment"].to_list()  # an office per card (and a VPN)
    [1.0]
    >>> pool = pl.DataFrame({"account_idx": list(range(6)) * 2, "signal_idx": [0, 0, 0, 1, 1, 1, 2, 3, 4, 2, 3, 4]})
    >>> card_units(members, pool, signals)["card_alignment"].to_list()  # addresses cross the cards
    [0.0]
    """
    kinds = signals.select("signal_idx", "kind", pl.col("weight").cast(pl.Float64), "df")
    members = members.select("cluster_id", "account_idx")
    affiliations = memberships.select("account_idx", "signal_idx")
    card_of = _pooled_cards(members, affiliations, kinds)
    # Groups with two or more pooled cards only.
    sizes = (card_of.group_by("cluster_id", "card").agg(pl.len().alias("n_c"))
             .filter(pl.len().over("cluster_id") >= 2))
    card_of = card_of.join(sizes.select("cluster_id").unique(), on="cluster_id", how="semi")
    own_kinds = kinds.filter(~pl.col("kind").is_in(["payment", "prompt"]) & (pl.col("weight") > 0))
    held = (affiliations.join(card_of, on="account_idx")
            .join(own_kinds.select("signal_idx", "df"), on="signal_idx")
            .group_by("cluster_id", "card", "signal_idx").agg(pl.len().alias("h"), pl.col("df").first())
            .filter((pl.col("h") >= 2) & (pl.col("h") >= SPECIFIC_SHARE * pl.col("df")))
            .group_by("cluster_id", "card").agg(pl.col("h").max().alias("own")))
    units = (sizes.join(held, on=["cluster_id", "card"], how="left")
             .with_columns((pl.col("own").fill_null(0) >= UNIT_COVER * pl.col("n_c")).alias("unit")))
    return (units.group_by("cluster_id")
            .agg((pl.col("n_c").filter("unit").sum() / pl.col("n_c").sum()).cast(pl.Float64).alias("card_alignment"))
            .select(pl.col("cluster_id").cast(pl.Int64), "card_alignment").sort("cluster_id"))


def main_addresses(memberships: pl.DataFrame, ips: pl.DataFrame) -> pl.DataFrame:
    """Each account's main address: the row of ``memberships`` (``account_idx, signal_idx, count``) whose address
    (``signal_idx`` in ``ips``, plus any other columns of ``ips``) carries more than half of the account's requests
    to the addresses of ``ips`` -- at most one per account (``count`` as Int64). Staff send most requests from their
    office; accounts drawing each request from a pool's addresses put most on none of them.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 0, 1, 1], "signal_idx": [0, 1, 0, 1], "count": [9, 1, 5, 5]})
    >>> main_addresses(m, pl.DataFrame({"signal_idx": [0, 1]})).rows()
    [(0, 0, 9)]
    """
    return (memberships.select("account_idx", "signal_idx", pl.col("count").cast(pl.Int64)).join(ips, on="signal_idx")
            .filter(pl.col("count") * 2 > pl.col("count").sum().over("account_idx")))


def office_members(members: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """Members whose card is an office's: ``account_idx, office`` (Boolean), ``card`` (UInt32: the member's
    card paying for most members of its cluster, the lowest index on a tie; null without one).

    A card's holders in a cluster work from an office when at least :data:`UNIT_COVER` of them
    send most (more than half) of their requests from one address (kind ``ip``) of which at least
    :data:`graphlink.stages.campaign_flags.SPECIFIC_SHARE` of the holders in the whole log are on
    the card: the branch's egress, nobody else's. Most requests, not one: accounts drawing
    each request from a few of a pool's addresses put half of a card on one of them by chance. Staff of one branch whose in-house tool wraps every
    request in one template look scripted; they work from their office. An operator's accounts on
    one card draw their addresses from its proxies, VMs or IPv6 ranges, a few accounts to an
    address at most -- unless it runs them all from one address, which is an office's shape too.
    Only cards two or more members share are judged; every member of the cluster gets a row.
    An address others are based at too is the card's office when it is a workplace whose template the team
    writes with colleagues paying their own way and is not all it does (:func:`_workplaces`,
    :data:`WORKPLACE_WRITERS`): a team of 20 on the company card behind the NAT of 150 staff, sending the
    in-house tool's template that 15 colleagues on their own cards send too, is an office (break-it review,
    session 52); a ring on two cards behind a carrier's CGNAT whose phones never write its template is not
    (session 53).

    Examples
    --------
    >>> members = pl.DataFrame({"cluster_id": [1] * 6, "account_idx": list(range(6))})
    >>> signals = pl.DataFrame({"signal_idx": [0, 1, 2, 3], "kind": ["payment", "payment", "ip", "ip"],
    ...                         "weight": [3.0, 3.0, 1.0, 1.0], "df": [3, 3, 3, 2]})
    >>> memberships = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4],
    ...                             "signal_idx": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3], "count": [1] * 11})
    >>> office_members(members, memberships, signals).sort("account_idx")["office"].to_list()
    [True, True, True, True, True, True]
    >>> vms = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 0, 1], "signal_idx": [0, 0, 0, 0, 0, 0, 2, 2],
    ...                     "count": [1] * 8})
    >>> office_members(members, vms, signals.with_columns(df=pl.lit(2)))["office"].any()
    False
    """
    members = members.select("cluster_id", "account_idx")
    kinds = signals.select("signal_idx", "kind", "df", pl.col("weight").cast(pl.Float64))
    paid = (memberships.select("account_idx", "signal_idx")
            .join(kinds.filter(pl.col("kind") == "payment").select("signal_idx"), on="signal_idx")
            .join(members, on="account_idx")
            .with_columns(pl.len().over("cluster_id", "signal_idx").alias("n_c")).rename({"signal_idx": "card"}))
    card_of = (paid.sort(["account_idx", "n_c", "card"], descending=[False, True, False])
               .group_by("account_idx", maintain_order=True).first().select("account_idx", pl.col("card").cast(pl.UInt32)))
    pay = paid.filter(pl.col("n_c") >= 2)
    ips = kinds.filter((pl.col("kind") == "ip") & (pl.col("weight") > 0)).select("signal_idx", "df")
    # Only the card sharers' addresses are read (the held values are theirs): a member's share is of its own requests.
    main = main_addresses(memberships.join(pay.select("account_idx").unique(), on="account_idx", how="semi"), ips)
    groups = (main.select("account_idx", "signal_idx", "df", "count")
              .join(pay.select("cluster_id", "account_idx", "card"), on="account_idx")
              .group_by("cluster_id", "card", "signal_idx").agg(pl.len().alias("h"), pl.col("df").first(),
                                                                pl.col("count").sum().alias("card_uses"))
              .filter(pl.col("h") >= 2))
    alone = groups.filter(pl.col("h") >= SPECIFIC_SHARE * pl.col("df"))
    shared = groups.filter(pl.col("h") < SPECIFIC_SHARE * pl.col("df"))
    if shared.height:
        alone = pl.concat([alone, _workplaces(shared, main, memberships, kinds, pay).select(alone.columns)])
    held = alone.group_by("cluster_id", "card").agg(pl.col("h").max().alias("own"))
    offices = (pay.join(held, on=["cluster_id", "card"])
               .filter(pl.col("own") >= UNIT_COVER * pl.col("n_c"))
               .select("account_idx").unique())
    return (members.select(pl.col("account_idx"), pl.col("account_idx").is_in(offices["account_idx"].implode())
                           .alias("office")).unique("account_idx", keep="first")
            .join(card_of, on="account_idx", how="left").sort("account_idx"))


def _workplaces(groups: pl.DataFrame, main: pl.DataFrame, memberships: pl.DataFrame, kinds: pl.DataFrame,
                pay: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``groups`` (``cluster_id, card, signal_idx, h, df, card_uses``: a card's holders based at an
    address others hold too) whose address is a workplace whose template the card's team writes.

    Three things must hold. (1) The address is where people are based: more than half of the requests through it,
    the card's holders' set aside, come from accounts sending most (more than half) of their requests from it --
    a company's NAT, not a proxy exit that others pass through or draw from (session 53). A carrier's CGNAT and a
    real home on a residential proxy pass that too (break-it review brk53: a ring of 20 on two cards behind a
    CGNAT where 150 phones are based went unflagged), so (2) the team's template is the workplace's: accounts
    based at the address *paying their own way* write it too -- at least :data:`WORKPLACE_WRITERS` of them for
    each based writer of it on a pooled card (the team's card or any card paying for :data:`POOL_HOLDERS` or
    more accounts in the log) -- and (3) the template is one of the workplace's activities, not all of it: most
    of the accounts based there (more than half) write none of it. A company's staff write their own requests
    besides the tool; an address where every based account sends the one template is the script's server (dev
    templates 1010: a cell of ~150 ring accounts behind one exit, two pooled cards among cards of their own,
    read as a workplace by (1) and (2) alone). The team's template is its prompt values at least
    :data:`UNIT_COVER` of the card's holders based there send. An account pays its own way when every card it
    uses is its alone (no other account in the log holds it); accounts without a card, or on a card shared with
    one other account (a couple's) and no pooled card, count on neither side of (2): a couple's card is cheap
    padding for an operator (two accounts per card, clustered on it -- break-it review brk54: a ring of 20 on
    two cards behind a CGNAT excused by 16 accounts on 8 couples' cards), and a couple at one company who share
    a personal card merely do not help their workplace's count.
    """
    rows = memberships.select("account_idx", "signal_idx", pl.col("count").cast(pl.Int64))
    ips = kinds.filter((pl.col("kind") == "ip") & (pl.col("weight") > 0)).select("signal_idx")
    addresses = groups.select("signal_idx").unique()
    holders = rows.join(addresses, on="signal_idx", how="semi")
    totals = (rows.join(holders.select("account_idx").unique(), on="account_idx", how="semi")
              .join(ips, on="signal_idx", how="semi").group_by("account_idx").agg(pl.col("count").sum().alias("total")))
    at = holders.join(totals, on="account_idx").with_columns((pl.col("count") * 2 > pl.col("total")).alias("based"))
    uses = at.group_by("signal_idx").agg(pl.col("count").sum().alias("uses"),
                                         pl.col("count").filter("based").sum().alias("based_uses"))
    places = (groups.join(uses, on="signal_idx")
              .filter((pl.col("based_uses") - pl.col("card_uses")) * 2 > pl.col("uses")))
    if places.is_empty():
        return places.select(groups.columns)
    based = at.filter("based").join(places.select("signal_idx").unique(), on="signal_idx", how="semi").select(
        "account_idx", pl.col("signal_idx").alias("address"))
    accounts = based.select("account_idx").unique()
    # Each based account's side: pooled (a card of POOL_HOLDERS or more users), its own way (every card its alone:
    # df 1), or neither (a card shared with one other account and none pooled; no card). A couple's card counts
    # for no one: two accounts on it cost an operator one card and cluster on it (brk54).
    cards = (rows.join(accounts, on="account_idx", how="semi")
             .join(kinds.filter(pl.col("kind") == "payment").select("signal_idx", "df"), on="signal_idx"))
    sides = cards.group_by("account_idx").agg((pl.col("df") >= POOL_HOLDERS).any().alias("pooled"),
                                              (pl.col("df") <= 1).all().alias("own"))
    prompts = kinds.filter((pl.col("kind") == "prompt") & (pl.col("weight") > 0)).select("signal_idx")
    writes = rows.join(accounts, on="account_idx", how="semi").join(prompts, on="signal_idx", how="semi").select(
        "account_idx", pl.col("signal_idx").alias("value"))
    # The team: the card's holders (in the cluster) whose main address is the place; its template.
    team = (main.select("account_idx", pl.col("signal_idx").alias("address"))
            .join(pay.select("cluster_id", "account_idx", "card"), on="account_idx")
            .join(places.select("cluster_id", "card", pl.col("signal_idx").alias("address"), "h"),
                  on=["cluster_id", "card", "address"]))
    template = (team.join(writes, on="account_idx")
                .group_by("cluster_id", "card", "address", "value").agg(pl.len().alias("n"), pl.col("h").first())
                .filter(pl.col("n") >= UNIT_COVER * pl.col("h")).select("cluster_id", "card", "address", "value"))
    card_holders = rows.join(accounts, on="account_idx", how="semi").select("account_idx", pl.col("signal_idx").alias("card"))
    writers = (template.join(writes, on="value").join(based, on=["account_idx", "address"])
               .select("cluster_id", "card", "address", "account_idx").unique()
               .join(card_holders.with_columns(pl.lit(True).alias("on_card")), on=["account_idx", "card"], how="left")
               .join(sides, on="account_idx", how="left")
               .with_columns(dependent=pl.col("on_card").fill_null(False) | pl.col("pooled").fill_null(False),
                             independent=pl.col("own").fill_null(False) & ~pl.col("on_card").fill_null(False)))
    staff = based.group_by("address").agg(pl.len().alias("based"))
    share = (writers.group_by("cluster_id", "card", "address")
             .agg(pl.len().alias("writers"), pl.col("dependent").sum().alias("dependent"),
                  pl.col("independent").sum().alias("independent"))
             .join(staff, on="address")
             .filter((pl.col("independent") >= WORKPLACE_WRITERS * pl.col("dependent"))
                     & (pl.col("writers") * 2 < pl.col("based")))
             .select("cluster_id", "card", pl.col("address").alias("signal_idx")))
    return places.join(share, on=["cluster_id", "card", "signal_idx"]).select(groups.columns)


def _card_counts(members: pl.DataFrame, affiliations: pl.DataFrame, kinds: pl.DataFrame, card_of: pl.DataFrame,
                 expected: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id, signal_idx, card, h, weight, kind``: members of each card holding each value specific
    to a cluster of ``expected`` (most of the value's holders, :data:`SPECIFIC_SHARE`, are members).

    Values are linking (weight > 0) values of kinds other than payment. One
    row per (cluster, value, card) with ``h`` (Float64) members, sorted by them.
    """
    clusters = expected.select("cluster_id").sort("cluster_id").with_row_index("__code")
    inside = members.join(clusters, on="cluster_id")
    schema = {"cluster_id": expected.schema["cluster_id"], "signal_idx": pl.UInt32, "card": pl.UInt32, "h": pl.Float64,
              "weight": pl.Float64, "kind": pl.String}
    if inside.is_empty() or affiliations.is_empty():
        return pl.DataFrame(schema=schema)
    n_accounts = int(max(affiliations["account_idx"].max(), inside["account_idx"].max())) + 1
    n_signals = int(max(affiliations["signal_idx"].max(), kinds["signal_idx"].max())) + 1
    # Per account: its cluster's code (null: not in a cluster of ``expected``) and its card.
    code = pl.DataFrame({"account_idx": pl.int_range(n_accounts, dtype=pl.UInt32, eager=True)}).join(
        inside.select("account_idx", "__code"), on="account_idx", how="left", maintain_order="left")["__code"]
    # Cards by their rank (order kept): a few bits in the packed key.
    cards = card_of.select(pl.col("card").unique().sort()).with_row_index("__card")
    card = pl.DataFrame({"account_idx": pl.int_range(n_accounts, dtype=pl.UInt32, eager=True)}).join(
        card_of.join(cards, on="card").select("account_idx", "__card"), on="account_idx", how="left",
        maintain_order="left")["__card"]
    # Per value: whether it can be specific (linking, not a card), its holders and weight.
    table = pl.DataFrame({"signal_idx": pl.int_range(n_signals, dtype=pl.UInt32, eager=True)}).join(
        kinds, on="signal_idx", how="left", maintain_order="left")
    wanted = ((table["kind"] != "payment") & (table["weight"] > 0)).fill_null(False)
    sig_bits = max(1, (n_signals - 1).bit_length())
    rows = (
        affiliations.select("account_idx", "signal_idx")
        .filter(pl.lit(wanted).gather(pl.col("signal_idx")))
        .select(pl.lit(code).gather(pl.col("account_idx")).alias("__code"), "account_idx", "signal_idx")
        .drop_nulls("__code")
        .select((pl.col("__code").cast(pl.UInt64) * 2**sig_bits + pl.col("signal_idx").cast(pl.UInt64)).alias("__key"),
                pl.lit(card).gather(pl.col("account_idx")).alias("card"))
    )
    # Specific values: at least SPECIFIC_SHARE of the value's holders are the cluster's members.
    df = table["df"].cast(pl.Float64)
    counted = value_counts(rows["__key"])
    specific = counted.filter(
        pl.col("count") >= SPECIFIC_SHARE * pl.lit(df).gather((pl.col("__key") % 2**sig_bits).cast(pl.UInt32)))
    card_bits = max(1, (cards.height - 1).bit_length())
    if (clusters.height - 1).bit_length() + sig_bits + card_bits > 64:
        raise ValueError("card alignment: too many clusters, values and cards to pack in 64 bits")
    held = (
        rows.drop_nulls("card").filter(pl.col("__key").is_in(specific["__key"].implode()))
        .select((pl.col("__key") * 2**card_bits + pl.col("card").cast(pl.UInt64)).alias("__key"))
    )
    counts = value_counts(held["__key"])
    signal = (counts["__key"] // 2**card_bits) % 2**sig_bits
    return pl.DataFrame({
        "cluster_id": clusters["cluster_id"].gather(counts["__key"] // 2 ** (card_bits + sig_bits)),
        "signal_idx": signal.cast(pl.UInt32),
        "card": cards["card"].cast(pl.UInt32).gather(counts["__key"] % 2**card_bits),
        "h": counts["count"].cast(pl.Float64),
        "weight": table["weight"].gather(signal),
        "kind": table["kind"].gather(signal),
    }, schema=schema)
