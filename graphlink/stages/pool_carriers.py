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

An office is not a fleet's shape: a company on three department cards behind its one office NAT, every employee
pasting the in-house prompt in a third of their requests, carries its prompt as a fleet does (events alone: flagged
with carriers counted, ``tests/test_rec62.py``). A member sending most of its requests from one address that at least
:data:`~graphlink.stages.card_pools.UNIT_COVER` of the cluster's members send most of theirs from is at an office
(:func:`office_based`) and carries nothing: staff sit together, a fleet's accounts draw their requests from proxies,
VMs or their own homes (templates1000's fleet: its template from four datacenter addresses, its camouflage from
each account's own). A fleet running every account from one address has an office's shape too and keeps main's mean
share (``scripted_accounts`` refuses it likewise).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.card_pools import UNIT_COVER, main_addresses

__all__ = ["CARRIER_SHARE", "carrier_members", "office_based", "pool_template_share"]

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
    ``member_template_share``), not at an office (``at_office`` from :func:`office_based`, null taken as false)."""
    share = pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64)
    away = ~pl.col("at_office").fill_null(False)
    return ((pl.col(sent) > 0) & (share >= CARRIER_SHARE) & away).sum().cast(pl.Float64).alias("template_carriers")


def office_based(members: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, at_office``: members sending most (more than half) of their requests from one address (kind
    ``ip``) that at least :data:`~graphlink.stages.card_pools.UNIT_COVER` of their cluster's members send most of
    theirs from (module docstring). Only the at-office members have a row.

    Examples
    --------
    >>> members = pl.DataFrame({"cluster_id": [1] * 4, "account_idx": [0, 1, 2, 3]})
    >>> signals = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["ip"] * 3, "weight": [1.0] * 3})
    >>> nat = pl.DataFrame({"account_idx": [0, 1, 2, 3, 3], "signal_idx": [0, 0, 0, 1, 0], "count": [5, 5, 5, 9, 1]})
    >>> office_based(members, nat, signals)["account_idx"].sort().to_list()
    [0, 1, 2]
    >>> proxies = pl.DataFrame({"account_idx": [0, 0, 1, 1], "signal_idx": [0, 1, 1, 2], "count": [5, 5, 5, 5]})
    >>> office_based(members, proxies, signals).height
    0
    """
    ips = signals.filter((pl.col("kind") == "ip") & (pl.col("weight") > 0)).select("signal_idx")
    main = main_addresses(memberships, ips).join(members.select("cluster_id", "account_idx"), on="account_idx")
    size = members.group_by("cluster_id").agg(pl.len().alias("size"))
    offices = (main.group_by("cluster_id", "signal_idx").agg(pl.len().alias("h")).join(size, on="cluster_id")
               .filter(pl.col("h") >= UNIT_COVER * pl.col("size")).select("cluster_id", "signal_idx"))
    return (main.join(offices, on=["cluster_id", "signal_idx"], how="semi")
            .select(pl.col("account_idx").cast(members.schema["account_idx"]), pl.lit(True).alias("at_office")).unique())


def pool_template_share() -> pl.Expr:
    """The card pool's template factor with ``[scoring] pool_carriers``: ``max(member_template_share,
    2 * template_carriers / prompt_members - 1)`` clipped to 0..1 (module docstring); the members' mean share
    where no member has prompts."""
    carriers = (2 * pl.col("template_carriers").fill_null(0) / pl.col("prompt_members") - 1).clip(0.0, 1.0)
    return (pl.when(pl.col("prompt_members").fill_null(0) > 0)
            .then(pl.max_horizontal(pl.col("member_template_share").fill_null(0), carriers))
            .otherwise(pl.col("member_template_share")).alias("member_template_share"))
