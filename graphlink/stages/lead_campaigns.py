"""Which campaign a cluster flagged through a tie ends in: its own, or its lead's.

:func:`graphlink.stages.campaign_flags.flag_with_campaign` flags a tame cluster tied to a cluster flagged on its
own evidence (its *lead*, :func:`graphlink.stages.campaign_flags.operator_ties`) by values specific to the lead's
operator. Campaign grouping (:func:`graphlink.stages.campaigns.cluster_campaigns`) ran before, on the similarity of
cluster profiles; the tie is a second, later reading of whose cluster it is. :func:`lead_campaigns` reconciles the
two:

* a cluster tied by a card or ``--signal`` identifier is the lead's operator's (private to one operator) and
  joins the lead's campaign whatever the grouping said (session 28);
* a cluster tied by prompt phrases or addresses only keeps the campaign the grouping gave it -- two operators may
  send one public template or rent one proxy network, and a grouping that put the cluster with other clusters
  read evidence the tie does not outweigh (:mod:`graphlink.stages.tie_words`) -- **unless the grouping left it
  alone and it cannot be an operator on its own** (:data:`ALONE_FOLLOWS_LEAD`): no other cluster in its campaign
  once the card-tied ones have joined their leads, and too small to be flagged as a group (under
  ``min_flag_size`` accounts) or with no evidence of a fleet of its own (score 0). Its own campaign would then
  claim a separate operator that no evidence made (the grouping found no cluster tied to it at
  ``campaign_resolution``, or only clusters now shown to be the lead's by a card, and nothing in it looks like
  a fleet), while its tie names the operator whose template or proxies it uses. A lone cluster that could be a
  fleet by itself keeps its campaign: an operator of one cell sending the same public template as another
  (scenario ``giant``, dev seed 1000: 159 accounts on their own cards and clock, tied by 12 prompt phrases of
  the template both send; moved, ARI by operator 0.920 -> -0.018).

Flags are not touched: the move comes after every flag is decided (a moved cluster was flagged through its tie
already), so it changes ``campaign_id`` and what campaigns count and list, never which accounts are flagged.
"""

from __future__ import annotations

import polars as pl

__all__ = ["ALONE_FOLLOWS_LEAD", "lead_campaigns"]

#: A cluster flagged through a text or address tie joins its lead's campaign when the grouping left it alone and
#: it cannot be an operator on its own (module docstring). Dev worlds, events only, ARI by operator (labels'
#: operator vs ``campaign_id``; main 23ae195 -> this, flags identical by construction): a1 0.590 -> 0.693, t1 0.555
#: -> 0.603, o1 0.551 -> 0.568, a3 0.707 -> 0.713; a2, ind176-179, templates 1001 / 1002 / 1005, giant 1000-1002
#: and the 31 templates worlds of the new simulator within 0.001 (BENCHMARKS.md, fifty-first pass, helper op51).
#: Offline on the outputs of those and 31 more templates worlds (77), 60 lone tied clusters: 48 of their lead's
#: operator (368 accounts), 12 of another (233: giant 1000's whole operator, 10 cells of 4-10 accounts tied by
#: addresses of a proxy network two ``templates`` operators rent, one 4-account template cell); with the "on its
#: own" condition 23 move, 21 rightly (142 accounts), 2 not (4 accounts each).
ALONE_FOLLOWS_LEAD = True


def lead_campaigns(campaign: str, inherits: pl.Expr, by_card: pl.Expr, lead_campaign: str, fleet: pl.Expr) -> pl.Expr:
    """The campaign of each cluster after the tied ones joined their leads' (module docstring), as ``campaign``.

    Parameters
    ----------
    campaign : str
        Column: the grouping's campaign of each cluster (one row per cluster; null: in no campaign).
    inherits : polars.Expr
        True for a cluster flagged through a tie to its lead (not on its own evidence).
    by_card : polars.Expr
        True when a card or identifier is among what tied it, False when only prompt phrases or addresses did, null
        when not known (a tie frame without counts: no lone cluster moves, as before).
    lead_campaign : str
        Column: the lead's campaign (null: no lead, or a lead in no campaign -- the cluster then keeps its own).
    fleet : polars.Expr
        True for a cluster that could be an operator's fleet on its own: ``min_flag_size`` accounts or more and a
        score above 0 (:func:`graphlink.stages.campaign_flags.flag_with_campaign`).

    Returns
    -------
    polars.Expr
        Int64 campaign per row, named ``campaign``. Source: this module (graphlink session 51); the card move is
        session 28's (BENCHMARKS.md, twenty-eighth pass).

    Examples
    --------
    Cluster 2 is tied by a card, 3 by text alone, in campaign 2 with 2; 4 by text, grouped with 5; 6 and 7 by
    text, each alone, 7 a fleet on its own.

    >>> df = pl.DataFrame({"cluster_id": [1, 2, 3, 4, 5, 6, 7], "campaign_id": [1, 2, 2, 3, 3, 4, 5],
    ...                    "inh": [False, True, True, True, False, True, True],
    ...                    "card": [False, True, False, False, False, False, False],
    ...                    "lc": [None, 1, 1, 1, None, 1, 1], "fleet": [True, False, False, False, False, False, True]})
    >>> df.select(lead_campaigns("campaign_id", pl.col("inh"), pl.col("card"), "lc", pl.col("fleet")))["campaign_id"].to_list()
    [1, 1, 1, 3, 3, 1, 5]
    """
    lead = pl.col(lead_campaign)
    joins = inherits & lead.is_not_null()
    first = pl.when(joins & by_card.fill_null(False)).then(lead).otherwise(pl.col(campaign))
    if not ALONE_FOLLOWS_LEAD:
        return first.alias(campaign)
    alone = first.is_null() | (pl.len().over(first) == 1)
    return pl.when(joins & alone & ~fleet.fill_null(False) & ~by_card.fill_null(True)).then(lead).otherwise(first).alias(campaign)
