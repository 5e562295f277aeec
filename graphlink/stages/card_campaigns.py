"""Card campaigns: a flagged campaign of several cells joins the larger campaign whose cards it shares beyond chance.

:func:`graphlink.stages.campaigns.cluster_campaigns` groups clusters by CPM on their pairwise similarity, so a
cluster joins a campaign only when it is, on average, similar enough to each of its clusters. An operator moves
cards between its cells with their users, but a few cards among a cell's many: cell to cell, the cards two of its
cells share are often too few to tie them beyond chance, and the operator ends in one large campaign and a few
small campaigns of two or three cells each (dev t1: operator 2 in a 1,430-account campaign and campaigns of 39, 32,
16 and 6 accounts). :mod:`graphlink.stages.lone_cells` moves a cell alone in its campaign; a campaign of several
cells never moves there, since operators share templates (dev a2: a 3-cell campaign of operator 3 writes the
template operator 1 writes most, cosine 0.56 with operator 1's whole and 0.24 with its own operator's).

Here the evidence is the operator's own: cards (and user-declared identifiers), pooled over each campaign's flagged
cells. A campaign of several flagged cells joins the larger flagged campaign with which it shares cards more than
chance gives for two wholes of their sizes -- the chance test of :func:`graphlink.stages.campaign_ties.private_ties`
(Poisson, ``P(X < S)``) at the 5 % level (:data:`CARD_ALPHA`) -- when one card is not all of it: a card sold twice by
a carding shop, or stolen from one payer by two rings, is one value, while an operator moving cards between its cells
moves several, or moves one between cells writing its template. So the tie must stand **without the card it rests
on most** (``spare=1``), or the two wholes' templates must tie as a lone cell's tie its campaign
(:data:`graphlink.stages.lone_cells.LONE_SHARE` of the resolution, the grouping's cosine). Dev a2: operator 2's
73-account campaign shares cards with its 1,026-account campaign at ``1 - 2e-5`` with one card left out; operator
3's whole with operator 2's at 0.48. Dev t1: operator 2's 62-account campaign shares one card with its 1,449-account
campaign (0.98) and writes its template (0.35). Templates alone tie nothing here (dev a2 above); addresses never
(a rented network's exits are its provider's).

Two more conditions keep a carding shop's buyers apart (session 57, op57; ``tests/test_break56.py``): a card tie
moves a campaign only when **most of its flagged accounts pay with a card the target's flagged accounts
pay with too** (:data:`MOSTLY_SHARED`, :func:`mostly_shared`) -- an operator's piece draws its cards from the
operator's pool (dev a2's piece: 57 of its 73 payers), a shop's buyer pays mostly with cards of its own and the few
the shop sold to another operator too are a minority of its payers; and a template completes a one-card tie only
with **template values the flagged campaigns hold almost alone** (:data:`PRIVATE_TEMPLATE`,
:func:`private_templates`) -- a public jailbreak ordinary users paste too is no operator's.

Both wholes must carry the tie (:func:`held_whole`, session 58): on each side, the flagged clusters holding the cards
the two share hold most of its flagged accounts. Dev a3: operator 3's 450-account whole shares 15 cards with operator
2's 1,045-account campaign -- all held there by four of operator 3's own cells the grouping put among operator 2's (69
accounts). Dev ind177big (224,000 accounts): operator 1's pieces of 205 and 64 flagged accounts tied a 20,490-account
campaign of which 17,118 are operator 2's, every shared card held there by operator 1's 3,221 (the grouping merged
the two operators); dev ind176big: a campaign of operator 1's 87 accounts and operator 3's 12 tied operator 3's
campaign by the cards of operator 3's 12. Sessions 56-57 asked the target only, cluster by cluster at an edge the
grouping reads (lone cells' ``carried``), and by templates when the template completed a one-card tie: operators
share templates, so a merged campaign carried by its majority's templates a tie only its minority's cards made
(BENCHMARKS.md, session 58, card58). Whose cards they are only the cards say; the template stands in for a second
card in the chance test, nothing more. Holding counts whole clusters: an operator's piece paying with its pool's cards
ties the pool's cells (dev a2: operator 2's piece and its 1,026-account campaign). Carried is asked of every candidate
target before the strongest tie is taken (session 57 took the strongest first, and a campaign whose strongest tie its
target did not carry stayed). Limit: an operator's piece whose cards its main campaign holds in a minority of its
cells stays (dev ind176: operator 3's 132-account piece shares 7 cards with its 446-account campaign, held there by
4 cells of 155 accounts; session 57 joined it through the template path, ARI by operator 0.831 -> 0.901).

A second tie beside the cards (session 59, card59; :func:`own_ties`, ``own=True``): two operators buying one card
dump share cards held across both wholes, and every card test above reads that as one operator's pool (brk58's
strict xfails; a fresh 11k test world in session 58 moved one operator's whole campaign into another's; dev dump176,
``benchmarks/independent_world.py --card-dump``: operator 1's 356 flagged accounts into operator 2's 694, ARI by
operator 0.965 -> 0.665). So the two wholes must also share what a second buyer of the same cards would not have:
values of :data:`OWN_KINDS` -- address blocks, the client's user agent, the clock (activity bands), the accounts' mail
domain -- of which 90 % of the holders in the log are flagged campaigns' accounts (a proxy network's blocks, stock
agents and common domains are held by ordinary users too), beyond chance (each kind its own test, the level shared
by the kinds), and on each side carried by the clusters holding most of its flagged accounts (:func:`held_whole`
over those values). Not single exits (a commercial exit a ring account of each side was seen on and no one else:
dev dump176's two buyers) and not templates (operators share them as they share cards: dev dump176's buyers both
write a jailbreak no one else writes). Dev 45k: operator 3's 953-account piece still joins its 2,188-account
campaign by the clock; dev 224k: 25 of the cards' 26 right moves kept (16 by address blocks, 5 by the clock, 4 by
both). Limits: an operator's piece sharing nothing with its operator but cards stays (dev d304: operator 3's 62
accounts, ARI by operator 0.759 by the cards alone, 0.681 here and off); a piece joining a campaign the grouping
merged from its operator and others is carried by the merged whole (commercial proxy blocks only ring accounts were
seen on, a ring client two operators both run) and moves, as by the cards alone (dev dump3, dump179); two operators
renting one address pool and clock pass the second tie (dev pools1036: 0.785 -> 0.637, as by the cards alone).

Flags are not touched: the step runs after every flag is decided and after batch members move accounts (a campaign
move before them would change which accounts they may move), so it changes ``campaign_id`` and what campaigns count
and list, never which accounts are flagged, nor the partition (as :mod:`graphlink.stages.lone_cells`). Each move goes
into a strictly larger campaign, so chains end.

Counting all its flagged accounts, not its card payers alone, keeps a buyer whose accounts mostly pay no card apart
(brk57: its few payers were all on the shop's resold cards). Known limits: two operators writing one template no
one else writes, with cards sold to both and held on each side by cells holding most of it, are one operator's piece by
every measure here and join (``tests/test_card_campaigns57.py``; brk56's case, two cards held by half of the buyer, stays
apart since session 58). Operators whose
cells share nothing but a template (dev crowds 1000, o1) or addresses (dev mixed 1000) stay split: on the dev worlds
two operators share templates and exits as closely as one operator's pieces do (BENCHMARKS.md, session 57, op57).
Opt-in (``ScoringConfig.card_campaigns``): up or equal on every dev world (BENCHMARKS.md, sessions 56 opari56, 57
op57, 58 card58), but on fresh test worlds it moved campaigns across operators (session 57: 224k; session 58: 11k).
"""

from __future__ import annotations

import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_clients import TEMPLATE_KINDS
from graphlink.stages.campaign_ties import private_ties
from graphlink.stages.campaigns import PRIVATE_TIE_KINDS, TIE_KINDS, cluster_similarity, is_tie_kind
from graphlink.stages.card_second_ties import OWN_KINDS, campaign_pairs, own_ties, own_values
from graphlink.stages.lone_cells import LONE_SHARE
from graphlink.stages.pool_pieces import chain_ends, moved_campaigns

__all__ = ["CARD_ALPHA", "MOSTLY_SHARED", "OWN_KINDS", "PRIVATE_TEMPLATE", "card_campaigns", "card_ties", "held_whole",
           "mostly_shared", "own_ties", "own_values", "private_templates"]

#: A campaign joins another when chance gives their wholes at least the cards they share (one left out) with
#: probability below this: the conventional 5 % level, as the address-bystander test's ``CHANCE_ALPHA``
#: (:mod:`graphlink.stages.outsiders`). The grouping reads the same weight at ``campaign_resolution`` (0.35), an
#: average over a campaign's members; a move of a whole campaign rests on one tie, so it asks for significance.
CARD_ALPHA = 0.05

#: A card tie moves a campaign only when more than this share of its flagged accounts (all, not its payers: brk57)
#: pay with a card the target's flagged accounts pay with too. An operator's piece draws its cards from the operator's pool (dev a2:
#: operator 2's 73-account piece, 57 of its 73 payers on cards its 1,026-account campaign holds, 33 of its 44
#: cards); a buyer of a carding shop's dump pays mostly with cards of its own, and the few the shop sold to another
#: operator too are a minority of its payers (brk56: 4-6 of 16). Half: "mostly", the fewest for which the tie is
#: the campaign's rather than a part of it. The target's side is not asked: an operator's main campaign holds its
#: whole pool, of which one piece's cards are a small part (a2: 152 of 1,026).
MOSTLY_SHARED = 0.5

#: A template value completes a one-card tie only when at least this share of its holders in the log are flagged
#: campaigns' accounts: "almost only" theirs, one holder in ten outside allowed for the operator's own accounts the
#: flags left out. A public jailbreak two operators copied is pasted by ordinary users too (brk56's carding shop and
#: shared template); an operator's own template is not (dev t1's piece: the values it shares with its campaign are
#: held 0.94 by the two wholes on average, three in four at 0.9 or more).
PRIVATE_TEMPLATE = 0.9



def card_ties(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
              graph_config: GraphConfig | None = None, n_accounts: int | None = None,
              alpha: float = CARD_ALPHA, config: CommunityConfig | None = None, share: float = LONE_SHARE,
              own: bool = True, own_held: bool | str = True) -> pl.DataFrame:
    """Each flagged campaign of several clusters' strongest card tie to a larger flagged campaign (module docstring).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, campaign_id, flagged`` (one row per cluster; ``flagged`` null reads as False).
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations, signals : DataFrame
        The projection's memberships (``account_idx, signal_idx``) and signals (``signal_idx, kind, df, weight,
        linked``; ``df`` the value's holders in the whole log).
    graph_config : GraphConfig, optional
        Which kinds are strong (user-declared identifier columns count as cards).
    n_accounts : int, optional
        Accounts in the log (chance's ``N``); by default the larger of ``partition``'s rows and its largest
        account number plus one.
    alpha : float
        The test's level (:data:`CARD_ALPHA`): a tie needs ``P(X < S) >= 1 - alpha``, and ``P(X < S - 1) >= 1 - alpha``
        unless the wholes' templates tie.
    config : CommunityConfig, optional
        The grouping's settings (``campaign_resolution``).
    share : float
        The template tie that stands in for a second card, as a share of ``campaign_resolution``
        (:data:`graphlink.stages.lone_cells.LONE_SHARE`: the tie a lone cell joins a campaign's whole by).
    own : bool
        Ask a second tie beside the cards (:func:`own_ties`; default True, session 59): two operators buying one card
        dump share cards held across both wholes and nothing of their own. False: session 58's rule (cards alone).
    own_held : bool or str
        With ``own``, both wholes must carry the second tie as they carry the cards (:func:`held_whole` over the values
        :func:`own_values` keeps, every kind of :data:`OWN_KINDS`; default True). ``"kind"``: over the tying kind's
        values only -- stricter, and at dev 224k it kept 24 of 27 moves for +0.005 ARI by operator instead of +0.048,
        and lost dev 45k's right move (BENCHMARKS.md, session 59, card59); kept for measurement. False: not asked.

    Returns
    -------
    DataFrame
        ``campaign_id`` (Int64: a campaign of two or more flagged clusters), ``to`` (Int64: the campaign it
        joins, whose flagged accounts outnumber its own; equal: ``to`` is the smaller id), ``weight`` (Float64,
        in ``[1 - alpha, 1]``), one row per campaign with such a tie.
    """
    empty = pl.DataFrame(schema={"campaign_id": pl.Int64, "to": pl.Int64, "weight": pl.Float64})
    camp = (clusters.select(pl.col("cluster_id").cast(pl.Int64), pl.col("campaign_id").cast(pl.Int64),
                            pl.col("flagged").fill_null(False))
            .drop_nulls("campaign_id").filter("flagged"))
    several = camp.filter(pl.len().over("campaign_id") > 1)["campaign_id"].unique()
    kinds = [k for k in signals["kind"].unique().to_list()
             if is_tie_kind(k, graph_config) and (k in PRIVATE_TIE_KINDS or k not in TIE_KINDS) and k not in TEMPLATE_KINDS]
    if several.is_empty() or not kinds:
        return empty
    # Each campaign's flagged clusters as one whole, numbered as nodes (its unflagged clusters say nothing of its operator).
    wholes = (partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64))
              .join(camp.select("cluster_id", "campaign_id"), on="cluster_id")
              .with_columns(pl.len().over("campaign_id").alias("size")))
    ids = wholes["campaign_id"].unique().sort()
    node = pl.DataFrame({"campaign_id": ids, "node": pl.Series(range(ids.len()), dtype=pl.UInt32)})
    wholes = wholes.join(node, on="campaign_id")
    if n_accounts is None:
        n_accounts = max(partition.height, 1 + int(partition["account_idx"].max() or 0))
    node_of = wholes.select("account_idx", "node", "size")
    cards = private_ties(node_of, affiliations, signals, kinds, n_accounts).filter(pl.col("weight") >= 1.0 - alpha)
    if cards.is_empty():
        return empty
    size = wholes.group_by("node").agg(pl.col("campaign_id").first(), pl.col("size").first())
    # One card is not enough alone (a card sold twice): the tie stands with it left out, and the moving campaign pays
    # mostly with the target's cards (MOSTLY_SHARED: a shop's resold cards are a few of each buyer's) -- or the wholes'
    # templates agree, counting only template values their flagged accounts hold almost alone (PRIVATE_TEMPLATE: a
    # public jailbreak ordinary users paste too is no operator's).
    spared = private_ties(node_of, affiliations, signals, kinds, n_accounts, spare=1).filter(pl.col("weight") >= 1.0 - alpha)
    spared = spared.pipe(campaign_pairs, size).pipe(mostly_shared, wholes, affiliations, signals, kinds)
    words = private_templates(signals, affiliations, wholes)
    written = campaign_pairs(_template_ties(wholes, affiliations, words, graph_config, n_accounts,
                                             share * (config or CommunityConfig()).campaign_resolution), size)
    both = pl.concat([cards.select(pl.col("source").alias("a"), pl.col("target").alias("b"), "weight"),
                      cards.select(pl.col("target").alias("a"), pl.col("source").alias("b"), "weight")])
    both = (both.join(size.select(pl.col("node").alias("a"), "campaign_id", pl.col("size").alias("__sa")), on="a")
            .join(size.select(pl.col("node").alias("b"), pl.col("campaign_id").alias("to"), pl.col("size").alias("__sb")), on="b")
            .join(pl.concat([spared, written]).unique(), on=["campaign_id", "to"], how="semi")
            .filter(pl.col("campaign_id").is_in(several.implode())
                    & ((pl.col("__sb") > pl.col("__sa")) | ((pl.col("__sb") == pl.col("__sa")) & (pl.col("to") < pl.col("campaign_id"))))))
    if both.is_empty():
        return empty
    # Both wholes carry the tie: on each side the clusters holding the cards the two share hold most of its flagged
    # accounts -- not a minority of the target, another operator's cells the grouping put there (dev a3: operator 3's
    # whole shares 15 cards with campaign 1, all held there by four of operator 3's own cells; dev ind177big: operator 1's
    # pieces and a 20,490-account campaign, 17,118 of operator 2, every shared card held there by operator 1's 3,221),
    # nor a minority of the moving campaign (dev ind176big: operator 1's 87 accounts moved with operator 3's 12 by
    # operator 3's cards). Asked of every candidate before the strongest is taken: a tie not carried is no tie to that
    # campaign, and the next may be one (session 58, card58).
    held = held_whole(both.select("campaign_id", "to"), wholes, affiliations, signals, kinds)
    if own:  # a second tie beside the cards: a dump sold to two operators ties their cards, nothing else (session 59)
        second = own_ties(wholes, affiliations, signals, n_accounts)
        mine = signals.with_columns(pl.col("signal_idx").is_in(own_values(wholes, affiliations, signals).implode()).alias("linked"))
        if own_held == "kind":  # both wholes carry the second tie, by the kind that ties them
            second = pl.concat([held_whole(second.filter(pl.col("kind") == k).select("campaign_id", "to"), wholes, affiliations, mine, [k])
                                for k in second["kind"].unique().sort().to_list()] or [second.select("campaign_id", "to")])
        elif own_held:  # both wholes carry the second tie, by any of the kinds' own values
            second = held_whole(second.select("campaign_id", "to").unique(), wholes, affiliations, mine, list(OWN_KINDS))
        held = held.join(second.select("campaign_id", "to"), on=["campaign_id", "to"], how="semi")
    return (both.join(held, on=["campaign_id", "to"], how="semi")
            .sort(["campaign_id", "weight", "__sb", "to"], descending=[False, True, True, False])
            .unique("campaign_id", keep="first", maintain_order=True).select("campaign_id", "to", "weight").sort("campaign_id"))


def held_whole(pairs: pl.DataFrame, wholes: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
               kinds: list[str]) -> pl.DataFrame:
    """The ``campaign_id, to`` rows of ``pairs`` whose shared cards each side holds as a whole.

    Parameters
    ----------
    pairs : DataFrame
        ``campaign_id, to`` (Int64): a moving campaign and its target.
    wholes : DataFrame
        ``account_idx, cluster_id, campaign_id``: each flagged account's cluster and campaign.
    affiliations, signals : DataFrame
        As :func:`card_ties` (``signals``: ``signal_idx, kind, linked``).
    kinds : list of str
        The card kinds (cards, user-declared identifiers).

    Returns
    -------
    DataFrame
        ``campaign_id, to``: the pairs where, on each side, the flagged clusters one of whose flagged accounts holds a
        linked value of ``kinds`` that a flagged account of the other side holds too hold more than half of that
        side's flagged accounts. Source: graphlink session 58 (BENCHMARKS.md, helper card58).

    Examples
    --------
    Campaign 1 (clusters 1 and 2, 3 accounts each) shares card 0 with campaign 2 (clusters 3 and 4, 2 accounts each)
    through cluster 1 and cluster 3: half of each, not most. Held by clusters 2 and 4 too, each side holds it whole.

    >>> wh = pl.DataFrame({"account_idx": list(range(10)), "cluster_id": [1] * 3 + [2] * 3 + [3] * 2 + [4] * 2,
    ...                    "campaign_id": [1] * 6 + [2] * 4}, schema_overrides={"account_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0], "kind": ["payment"], "linked": [True]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 6], "signal_idx": [0, 0]}, schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> pairs = pl.DataFrame({"campaign_id": [2], "to": [1]})
    >>> held_whole(pairs, wh, aff, sig, ["payment"]).height
    0
    >>> aff3 = pl.DataFrame({"account_idx": [0, 3, 6, 8], "signal_idx": [0] * 4}, schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> held_whole(pairs, wh, aff3, sig, ["payment"]).rows()
    [(2, 1)]
    """
    values = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx")
    held = (affiliations.select("account_idx", "signal_idx").join(values, on="signal_idx")
            .join(wholes.select("account_idx", "cluster_id", "campaign_id"), on="account_idx"))
    size = wholes.group_by("cluster_id").agg(pl.len().alias("__n"), pl.col("campaign_id").first())
    total = size.group_by("campaign_id").agg(pl.col("__n").sum().alias("__all"))
    both_ways = pl.concat([pairs.select("campaign_id", "to"), pairs.select(pl.col("to").alias("campaign_id"), pl.col("campaign_id").alias("to"))]).unique()
    mine = held.select("signal_idx", "cluster_id", "campaign_id").unique()
    theirs = held.select("signal_idx", pl.col("campaign_id").alias("to")).unique()
    cells = (mine.join(both_ways, on="campaign_id").join(theirs, on=["signal_idx", "to"]).select("campaign_id", "to", "cluster_id").unique()
             .join(size.select("cluster_id", "__n"), on="cluster_id").group_by("campaign_id", "to").agg(pl.col("__n").sum().alias("__held"))
             .join(total, on="campaign_id").filter(2 * pl.col("__held") > pl.col("__all")).select("campaign_id", "to"))
    back = cells.select(pl.col("to").alias("campaign_id"), pl.col("campaign_id").alias("to"))
    return pairs.join(cells, on=["campaign_id", "to"], how="semi").join(back, on=["campaign_id", "to"], how="semi")


def mostly_shared(pairs: pl.DataFrame, wholes: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                  kinds: list[str], least: float = MOSTLY_SHARED) -> pl.DataFrame:
    """The ``campaign_id, to`` rows of ``pairs`` whose moving campaign pays mostly with the target's cards.

    Parameters
    ----------
    pairs : DataFrame
        ``campaign_id, to`` (Int64): a moving campaign and its target.
    wholes : DataFrame
        ``account_idx, campaign_id``: each flagged account's campaign.
    affiliations, signals : DataFrame
        As :func:`card_ties` (``signals``: ``signal_idx, kind, linked``).
    kinds : list of str
        The card kinds (cards, user-declared identifiers).
    least : float
        The share needed (:data:`MOSTLY_SHARED`), strictly exceeded.

    Returns
    -------
    DataFrame
        ``campaign_id, to``: the pairs where more than ``least`` of ``campaign_id``'s flagged accounts (all of them,
        whether they hold a value of ``kinds`` or not) hold a linked value of ``kinds`` that a flagged account of ``to``
        holds too.
    """
    values = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx")
    held = (affiliations.select("account_idx", "signal_idx").join(values, on="signal_idx")
            .join(wholes.select("account_idx", "campaign_id"), on="account_idx"))
    side = held.select("signal_idx", pl.col("campaign_id").alias("to")).unique()
    # The denominator is every flagged account of the moving campaign, not its payers alone: a buyer whose accounts
    # mostly pay no card would otherwise be "mostly" on the few resold cards its payers hold (brk57).
    payers = wholes.group_by("campaign_id").agg(pl.col("account_idx").n_unique().alias("__payers"))
    on_theirs = (held.join(pairs.select("campaign_id", "to"), on="campaign_id").join(side, on=["signal_idx", "to"])
                 .group_by("campaign_id", "to").agg(pl.col("account_idx").n_unique().alias("__on")))
    return (on_theirs.join(payers, on="campaign_id").filter(pl.col("__on") > least * pl.col("__payers"))
            .select("campaign_id", "to"))


def private_templates(signals: pl.DataFrame, affiliations: pl.DataFrame, wholes: pl.DataFrame,
                      least: float = PRIVATE_TEMPLATE) -> pl.DataFrame:
    """``signals`` with ``linked`` kept only for template values the flagged campaigns' accounts hold almost alone.

    Parameters
    ----------
    signals : DataFrame
        ``signal_idx, kind, df, linked`` (``df``: the value's holders in the whole log).
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    wholes : DataFrame
        ``account_idx``: the flagged campaigns' accounts.
    least : float
        The share of a value's holders that must be such accounts (:data:`PRIVATE_TEMPLATE`).

    Returns
    -------
    DataFrame
        ``signals``, same rows; ``linked`` True only for a linked value of a template kind
        (:data:`~graphlink.stages.campaign_clients.TEMPLATE_KINDS`) at least ``least`` of whose ``df`` holders are in
        ``wholes``.
    """
    tpl = signals.filter(pl.col("linked") & pl.col("kind").is_in(list(TEMPLATE_KINDS))).select("signal_idx", "df")
    inside = (affiliations.select("account_idx", "signal_idx").join(tpl, on="signal_idx")
              .join(wholes.select("account_idx").unique(), on="account_idx")
              .group_by("signal_idx").agg(pl.len().alias("__in"), pl.col("df").first())
              .filter(pl.col("__in") >= least * pl.col("df"))["signal_idx"])
    return signals.with_columns(pl.col("signal_idx").is_in(inside.implode()).alias("linked"))


def _template_ties(wholes: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame, graph_config: GraphConfig | None,
                   n_accounts: int, least: float) -> pl.DataFrame:
    """``source, target`` (UInt32 node numbers of ``wholes``' ``account_idx, node``): pairs of wholes whose templates
    tie by the grouping's own cosine (:func:`~graphlink.stages.campaigns.cluster_similarity`) at ``least`` or more;
    ``signals``' ``linked`` marks the template values that count (:func:`private_templates`)."""
    part = wholes.select("account_idx", pl.col("node").cast(pl.Int64).alias("cluster_id"))
    node, _, edges = cluster_similarity(part, affiliations, signals, graph_config or GraphConfig(), None, n_accounts)
    num = node.select("node", pl.col("cluster_id").cast(pl.UInt32).alias("whole"))
    return (edges.filter(pl.col("weight") >= least)
            .join(num.rename({"node": "source", "whole": "s"}), on="source").join(num.rename({"node": "target", "whole": "t"}), on="target")
            .select(pl.min_horizontal("s", "t").alias("source"), pl.max_horizontal("s", "t").alias("target")))


def card_campaigns(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                   graph_config: GraphConfig | None = None, n_accounts: int | None = None,
                   alpha: float = CARD_ALPHA, config: CommunityConfig | None = None, share: float = LONE_SHARE,
                   own: bool = True) -> pl.DataFrame:
    """``clusters`` with each campaign of several flagged clusters moved into the larger campaign it shares cards with.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged, campaign_id`` (one row per cluster; other columns kept).
    partition, affiliations, signals, graph_config, n_accounts, alpha, config, share, own
        As :func:`card_ties`.

    Returns
    -------
    DataFrame
        ``clusters``, same rows and columns, ``campaign_id`` changed for the moved campaigns' clusters only (flagged
        or not: a campaign moves whole), following a chain of moves to its end (each into a larger campaign); a
        ``why`` naming a moved campaign ("... (campaign M)") names the one it moved to. Flags, sizes and the
        partition are as given. Source: graphlink session 56 (BENCHMARKS.md, helper opari56).

    Examples
    --------
    Campaign 1 (clusters 1, 2: 12 accounts) and campaign 2 (clusters 3, 4: 4 accounts, each paying with one of
    campaign 1's cards) share two cards, each held by two accounts on either side, in a log of 1,000: chance gives
    them about 0.02 such cards, and one left out the tie stands. Campaign 2 joins campaign 1.

    >>> part = pl.DataFrame({"account_idx": list(range(16)), "cluster_id": [1] * 6 + [2] * 6 + [3] * 2 + [4] * 2},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 12, 13, 6, 7, 14, 15], "signal_idx": [0, 0, 0, 0, 1, 1, 1, 1]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment"] * 2, "df": [4, 4], "weight": [1.0] * 2,
    ...                     "linked": [True] * 2}, schema_overrides={"signal_idx": pl.UInt32})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "flagged": [True] * 4, "campaign_id": [1, 1, 2, 2]})
    >>> card_campaigns(cl, part, aff, sig, n_accounts=1000, own=False)["campaign_id"].to_list()
    [1, 1, 1, 1]

    That is the cards alone (``own=False``); beside them the two share nothing -- two buyers of one dump look the same --
    and by default they stay apart.

    >>> card_campaigns(cl, part, aff, sig, n_accounts=1000)["campaign_id"].to_list()
    [1, 1, 2, 2]

    One card only (signal 1 dropped): no tie is left once it is left out, and the campaigns stay apart.

    >>> card_campaigns(cl, part, aff.filter(pl.col("signal_idx") == 0), sig, n_accounts=1000, own=False)["campaign_id"].to_list()
    [1, 1, 2, 2]
    """
    if clusters.is_empty() or "campaign_id" not in clusters.columns:
        return clusters
    ties = card_ties(clusters, partition, affiliations, signals, graph_config, n_accounts, alpha, config, share, own)
    if ties.is_empty():
        return clusters
    # Each step into a strictly larger campaign (or a smaller id): chains end.
    return moved_campaigns(clusters, chain_ends(dict(ties.select("campaign_id", "to").iter_rows())))
