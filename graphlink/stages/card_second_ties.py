"""Card campaigns' second tie (session 59, helper card59): what two flagged campaigns share beside their cards.

:mod:`graphlink.stages.card_campaigns` joins a flagged campaign of several clusters to a larger one whose cards it
shares beyond chance. Two operators buying one card dump share cards held across both of their wholes, and every card
test reads that as one operator's pool; so the two campaigns must also share something a second buyer of the same
cards would not have (:func:`own_ties`): values of :data:`OWN_KINDS` the flagged campaigns hold almost alone
(:func:`own_values`), beyond chance. BENCHMARKS.md, session 59, helper card59.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_ties import private_ties

__all__ = ["OWN_ALPHA", "OWN_KINDS", "OWN_SHARE", "STOCK_SHARE", "campaign_pairs", "own_ties", "own_values"]

#: The second tie's kinds (:func:`own_ties`): what an operator holds beside its cards and a second buyer of the same
#: cards would not -- its address blocks (``ip_net``: a pool is seen through all its exits; one exit held by a ring
#: account on each side and no one else is often a commercial proxy exit whose other users the log never saw -- dev
#: dump176: two buyers of one dump tied by such exits), its client's user agent, its clock (activity bands: accounts active in the
#: same minutes), its accounts' e-mail domain. Not the cards; not the templates: operators share templates as they share
#: cards -- a kit sold to several like a dump (dev dump176: the two buyers of one dump both write a jailbreak no one else
#: writes; session 57, op57: a2's operator 3 writes operator 1's template) -- so a template completes a one-card tie's
#: chance test (:func:`~graphlink.stages.card_campaigns.card_ties`) but is no second tie.
OWN_KINDS = ("ip_net", "user_agent", "timing", "email_domain")

#: A value counts only when at least this share of its holders in the log are flagged campaigns' accounts: "almost
#: only" theirs, as a private template (:data:`graphlink.stages.card_campaigns.PRIVATE_TEMPLATE`, one holder in ten
#: outside allowed for the operator's own accounts the flags left out).
OWN_SHARE = 0.9

#: A value held by at least this share of all the flagged accounts in the log is the bots' commonplace, no one
#: operator's mark: rare in the whole log (ordinary people do not hold it), common among the flagged -- a scripting
#: library's stock client, a throwaway mail service, cron's top-of-the-hour clock are what most bots of every operator
#: hold (break-it review brk59: two buyers of one card dump joined by ``python-requests``, ``mailinator.com`` or an
#: hh:00 clock). An operator's own value is held by its own accounts, and the second tie is asked only where a log holds
#: two or more flagged campaigns (each a part of the flagged); half: a value most of the flagged hold is at least as
#: much every operator's as any one's. Session 60, helper def60.
STOCK_SHARE = 0.5

#: The chance test's level: the conventional 5 %, as the cards' (:data:`graphlink.stages.card_campaigns.CARD_ALPHA`),
#: shared by the kinds tested.
OWN_ALPHA = 0.05


def own_ties(wholes: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame, n_accounts: int | None = None,
             kinds: tuple[str, ...] | list[str] = OWN_KINDS,
             least: float = OWN_SHARE, alpha: float = OWN_ALPHA, spare: int = 0) -> pl.DataFrame:
    """Pairs of flagged campaigns tied beside their cards: by values of ``kinds`` the flagged campaigns hold almost alone.

    Parameters
    ----------
    wholes : DataFrame
        ``account_idx, campaign_id``: each flagged account's campaign (its flagged clusters pooled).
    affiliations, signals : DataFrame
        As :func:`graphlink.stages.card_campaigns.card_ties` (``signals``: ``signal_idx, kind, df, linked``).
    n_accounts : int, optional
        Chance's ``N``: the accounts in the log, as for the cards (:func:`~graphlink.stages.card_campaigns.card_ties` passes it). By default the
        flagged campaigns' accounts -- stricter (the values are held almost only by them; dev dump2's right tie by
        address blocks does not stand at that ``N``).
    kinds : sequence of str
        The kinds that may tie (:data:`OWN_KINDS`: never the cards, nor the templates).
    least : float
        A value counts only when at least this share of its holders in the log (``df``) are flagged campaigns'
        accounts (:data:`OWN_SHARE`, 0.9: almost only theirs): a commercial proxy network's block, a stock
        client agent or a common mail domain is held by ordinary users too and ties no one. Nor does a value
        held by :data:`STOCK_SHARE` or more of the flagged accounts themselves (:func:`own_values`: rare in the log
        but common among bots -- a scripting library's agent, a throwaway mail service, cron's clock).
    alpha : float
        The chance test's level (:data:`OWN_ALPHA`), shared by the kinds present (``alpha / kinds``: a tie by any
        one of them is asked at the level of one test).
    spare : int
        Shared values left out before the test (0: each value is already held almost only by flagged accounts).

    Returns
    -------
    DataFrame
        ``campaign_id, to`` (Int64), both ways, and ``kind`` (String), for every pair of flagged campaigns and kind
        whose values they share more than chance gives (:func:`~graphlink.stages.campaign_ties.private_ties`' test, each kind on its own: pooled,
        a block's many values would drown a clock's few bands). Source: graphlink session 59 (BENCHMARKS.md, helper card59).

    Examples
    --------
    Campaigns 1 and 2 (4 accounts each) and campaign 3 (100) are flagged. Campaigns 1 and 2 share three address blocks no
    one else holds, each held by two accounts on either side (chance among the 108 flagged accounts: 0.2 of them).

    >>> wh = pl.DataFrame({"account_idx": list(range(108)), "campaign_id": [1] * 4 + [2] * 4 + [3] * 100},
    ...                   schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 4, 5, 2, 3, 6, 7, 0, 2, 4, 6], "signal_idx": [0] * 4 + [1] * 4 + [2] * 4},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["ip_net"] * 3, "df": [4, 4, 4], "linked": [True] * 3},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> own_ties(wh, aff, sig).sort("campaign_id").rows()
    [(1, 2, 'ip_net'), (2, 1, 'ip_net')]

    The same blocks held by 40 ordinary accounts too (a proxy network's): no tie.

    >>> own_ties(wh, aff, sig.with_columns(pl.lit(44).alias("df"))).height
    0

    A client agent every one of the 108 flagged accounts sends (and no one else): the bots' stock client, no tie.

    >>> ua = pl.DataFrame({"account_idx": list(range(108)), "signal_idx": [3] * 108}, schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> stock = pl.DataFrame({"signal_idx": [3], "kind": ["user_agent"], "df": [108], "linked": [True]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> own_ties(wh, ua, stock).height
    0
    """
    empty = pl.DataFrame(schema={"campaign_id": pl.Int64, "to": pl.Int64, "kind": pl.String})
    empty_ties = pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64, "kind": pl.String})
    flagged = wholes.select("account_idx", pl.col("campaign_id").cast(pl.Int64)).unique("account_idx")
    own = own_values(flagged, affiliations, signals, kinds, least)
    if own.is_empty():
        return empty
    ids = flagged["campaign_id"].unique().sort()
    node = pl.DataFrame({"campaign_id": ids, "node": pl.Series(range(ids.len()), dtype=pl.UInt32)})
    node_of = (flagged.join(node, on="campaign_id").with_columns(pl.len().over("node").alias("size"))
               .select("account_idx", "node", "size"))
    sig = signals.with_columns(pl.col("signal_idx").is_in(own.implode()).alias("linked"))
    # Each kind its own test (pooled, a block's many exits would drown a clock's few bands), at alpha over the kinds
    # present: a tie by any one of them is asked at the level of one test (Bonferroni).
    present = [k for k in kinds if k in set(sig.filter("linked")["kind"].unique().to_list())]
    ties = pl.concat([private_ties(node_of, affiliations, sig, [k], n_accounts or flagged.height, spare=spare).with_columns(pl.lit(k).alias("kind"))
                      for k in present] or [empty_ties]).filter(pl.col("weight") >= 1.0 - alpha / max(len(present), 1))
    if ties.is_empty():
        return empty
    return campaign_pairs(ties, node.select("node", "campaign_id"), "kind").unique()


def own_values(wholes: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
               kinds: tuple[str, ...] | list[str] = OWN_KINDS, least: float = OWN_SHARE,
               stock: float = STOCK_SHARE) -> pl.Series:
    """``signal_idx`` of the linked values of ``kinds`` held by two or more accounts, at least ``least`` of whose holders
    in the log (``df``) are ``wholes``' accounts and fewer than ``stock`` of ``wholes``' accounts (:func:`own_ties`,
    :data:`STOCK_SHARE`: rare in the log and among the flagged alike)."""
    values = signals.filter(pl.col("linked") & pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx", "df")
    flagged = wholes.select("account_idx").unique()
    return (affiliations.select("account_idx", "signal_idx").join(values, on="signal_idx")
            .join(flagged, on="account_idx")
            .group_by("signal_idx").agg(pl.len().alias("__in"), pl.col("df").first())
            .filter((pl.col("__in") >= least * pl.col("df")) & (pl.col("__in") < stock * flagged.height))["signal_idx"].sort())


def campaign_pairs(ties: pl.DataFrame, size: pl.DataFrame, *keep: str) -> pl.DataFrame:
    """``campaign_id, to`` both ways for the ``source, target`` node pairs of ``ties`` (``size``: ``node, campaign_id``),
    with ``ties``' columns ``keep``."""
    ids = size.select("node", "campaign_id")
    return (pl.concat([ties.select(pl.col("source").alias("a"), pl.col("target").alias("b"), *keep),
                       ties.select(pl.col("target").alias("a"), pl.col("source").alias("b"), *keep)])
            .join(ids.rename({"node": "a"}), on="a").join(ids.rename({"node": "b", "campaign_id": "to"}), on="b")
            .select("campaign_id", "to", *keep))
