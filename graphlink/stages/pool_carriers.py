"""Pool carriers: a card pool counted as far as most members carry the cluster's own template.

``card_pool`` (:mod:`graphlink.stages.scoring`) is discounted by the members' mean template share
(each member's share of its sampled requests sending a passage of the cluster's own, averaged over the
members): staff on a card per office or department write their own requests, so a pool of their cards
reads as none. The mean also discounts a fleet whose every account sends its template but mixes in
camouflage and a short second template the passage test does not count ("Job #771 - generate a worked
solution with full reasoning for: ..." shares four 5-word shingles, the passage needs eight): dev
templates1000's 198-account cell on three pooled cards, every member sending the template in 50-84 % of
its requests, read 0.41 and scored 0.51, under the bar, however many cards it pooled.

What tells the two apart is not how much each member writes the template but *how many* members do:
a fleet's accounts all carry it, an organisation's staff who paste the company's prompt now and then are a
minority. With ``[scoring] pool_carriers`` the discount is the larger of the members' mean share and the
share of members carrying the template (:data:`CARRIER_SHARE` of their requests or more) above one half
(``2 * carriers - 1``: the majority rule of ``scripted_accounts``). The larger, so no card pool reads lower
than without the switch: flags can only be added, never lost.

Known limit (opt-in for it): an organisation on several cards behind one address whose staff *mostly* use its
in-house prompt in a fifth or more of their requests reads as carriers from events alone (main's mean rule reads the
same company as a pool from about half its requests on); its private e-mail domain discounts it with ``--accounts``
(``tests/test_rec62.py``).
"""

from __future__ import annotations

import polars as pl

__all__ = ["CARRIER_SHARE", "carrier_members", "pool_template_share"]

#: A member carries its cluster's template when at least this share of its sampled requests send a passage of
#: the cluster's own (a fifth: one request in five is the script running, not a colleague pasting the company
#: prompt now and then). Dev worlds (main's first scoring pass): every ring cluster on a pool of two or more cards
#: had 73-100 % of its members at or above it (templates1001's camouflaged cells 73-94 %), every organisation's
#: cluster on two or more cards (independent ``--orgs`` worlds ind176, d304: 46 clusters) at most 35 % -- under the
#: majority rule, so 0. At a tenth the organisations reached 50 %: no margin.
CARRIER_SHARE = 0.2


def carrier_members(sent: str, scripted: str) -> pl.Expr:
    """Aggregation: members with sampled requests whose share sending a passage of the cluster's own is at least
    :data:`CARRIER_SHARE` (``own``: the member holds such a passage, null taken as true, as for
    ``member_template_share``)."""
    share = pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64)
    return ((pl.col(sent) > 0) & (share >= CARRIER_SHARE)).sum().cast(pl.Float64).alias("template_carriers")


def pool_template_share() -> pl.Expr:
    """The card pool's template factor with ``[scoring] pool_carriers``: ``max(member_template_share,
    2 * template_carriers / prompt_members - 1)`` clipped to 0..1 (module docstring); the members' mean share
    where no member has prompts."""
    carriers = (2 * pl.col("template_carriers").fill_null(0) / pl.col("prompt_members") - 1).clip(0.0, 1.0)
    return (pl.when(pl.col("prompt_members").fill_null(0) > 0)
            .then(pl.max_horizontal(pl.col("member_template_share").fill_null(0), carriers))
            .otherwise(pl.col("member_template_share")).alias("member_template_share"))
