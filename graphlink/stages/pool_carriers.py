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

An office is not a fleet's shape: a company on three department cards behind its office's egress, every employee
pasting the in-house prompt in a third of their requests, carries its prompt as a fleet does (events alone: flagged
with carriers counted, ``tests/test_rec62.py``). An office is where its staff write *everything* from: the addresses most
of the cluster's members share (each held by at least :data:`~graphlink.stages.card_pools.UNIT_COVER` of them: one NAT
address, or the few a NAT pool spreads its egress over round-robin) carry the members' own writing too, not only the
template. A fleet's script runs on its servers and its camouflage comes from elsewhere: templates1000's fleet sends its
template from four datacenter addresses the whole cell shares and everything else from each account's own address, so
those shared addresses carry its template and little more. A member is at an office (:func:`office_based`) when the
shared addresses carry most of its requests *besides the template*: with ``c`` its share of requests through them and
``t`` its template share, ``c - t`` (the least share of its other requests that can have passed through them) is more
than half of ``1 - t``. A member whose every request is the template (``t = 1``) is at no office: an address sending
nothing but the script is the script's server. A fleet sending template and camouflage alike through a few shared
addresses has an office's shape and keeps main's mean share (``scripted_accounts`` refuses one address likewise).
rec62's rule stays beside it: a member sending most of its (linked) requests from one address that at least
:data:`~graphlink.stages.card_pools.UNIT_COVER` of its cluster send most of theirs from is at an office too (staff who
also work from home: a home address links nothing, so the office's one NAT address holds most of what links them).
That rule alone read an office as one address: brk62's company behind a NAT pool of 4-8 addresses, round-robin, has no
such address and its 30 staff were flagged (session 63, helper rec63, added the shared-addresses rule).
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


def office_based(members: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                 template: pl.DataFrame | None = None, requests: pl.DataFrame | None = None) -> pl.DataFrame:
    """``account_idx, at_office``: members whose cluster's shared addresses carry most of their requests besides the
    template, or who send most of their requests from one address most of their cluster sends most of theirs from
    (rec62's rule: an office's one NAT address; module docstring). Only the at-office members have a row.

    Parameters
    ----------
    members : DataFrame
        ``cluster_id, account_idx``.
    memberships : DataFrame
        ``account_idx, signal_idx, count``: requests per account and value (every kind; addresses are read).
    signals : DataFrame
        ``signal_idx, kind, weight``: linking addresses (kind ``ip``, weight > 0) only are read.
    template : DataFrame, optional
        ``account_idx, share``: each member's template share ``t`` (its sampled requests sending a passage of the
        cluster's own). Without it (or a member without a row) ``t`` is 0: the shared addresses must carry most of
        its requests.
    requests : DataFrame, optional
        ``account_idx, events``: each member's requests (the account index), the denominator of ``c``. Addresses
        only one account uses link nothing and are not in ``memberships``: without it ``c`` is a share of the
        requests through linking addresses only, and an account writing from its own home besides a shared exit
        reads as sending everything through the exit.

    Examples
    --------
    >>> members = pl.DataFrame({"cluster_id": [1] * 4, "account_idx": [0, 1, 2, 3]})
    >>> signals = pl.DataFrame({"signal_idx": [0, 1, 2, 3], "kind": ["ip"] * 4, "weight": [1.0] * 4})
    >>> nat = pl.DataFrame({"account_idx": [0, 1, 2, 3, 3], "signal_idx": [0, 0, 0, 1, 0], "count": [5, 5, 5, 9, 1]})
    >>> office_based(members, nat, signals)["account_idx"].sort().to_list()  # one NAT address
    [0, 1, 2]
    >>> pool = pl.DataFrame({"account_idx": [0, 0, 1, 1, 2, 2, 3, 3], "signal_idx": [0, 1, 1, 2, 2, 3, 3, 0],
    ...                      "count": [5, 5, 5, 5, 5, 5, 5, 5]})
    >>> office_based(members, pool, signals)["account_idx"].sort().to_list()  # a NAT pool of four, round-robin
    [0, 1, 2, 3]
    >>> script = pl.DataFrame({"account_idx": [0, 1, 2, 3], "share": [1.0, 1.0, 1.0, 1.0]})
    >>> office_based(members, pool, signals, script).height  # the shared addresses send nothing but the template
    0
    """
    ips = signals.filter((pl.col("kind") == "ip") & (pl.col("weight") > 0)).select("signal_idx")
    rows = (memberships.select("account_idx", "signal_idx", pl.col("count").cast(pl.Float64)).join(ips, on="signal_idx")
            .join(members.select("cluster_id", pl.col("account_idx").cast(memberships.schema["account_idx"])),
                  on="account_idx"))
    size = members.group_by("cluster_id").agg(pl.len().alias("size"))
    # The cluster's shared addresses: each held by at least UNIT_COVER of its members.
    shared = (rows.group_by("cluster_id", "signal_idx").agg(pl.col("account_idx").n_unique().alias("h"))
              .join(size, on="cluster_id").filter(pl.col("h") >= UNIT_COVER * pl.col("size"))
              .select("cluster_id", "signal_idx", pl.lit(True).alias("shared")))
    through = (rows.join(shared, on=["cluster_id", "signal_idx"], how="left")
               .group_by("account_idx").agg(pl.col("count").filter(pl.col("shared").fill_null(False)).sum().alias("via"),
                                            pl.col("count").sum().alias("total")))
    if requests is not None:
        through = through.join(requests.select(pl.col("account_idx").cast(through.schema["account_idx"]),
                                               pl.col("events").cast(pl.Float64)), on="account_idx", how="left")
        through = through.with_columns(total=pl.max_horizontal("total", pl.col("events").fill_null(0.0)))
    through = through.select("account_idx", (pl.col("via") / pl.col("total")).alias("c"))
    if template is not None:
        through = through.join(template.select(pl.col("account_idx").cast(through.schema["account_idx"]), "share"),
                               on="account_idx", how="left")
    t = pl.col("share").fill_null(0.0).clip(0.0, 1.0) if template is not None else pl.lit(0.0)
    writing = through.filter((pl.col("c") - t) * 2 > 1 - t).select("account_idx")
    # rec62's rule beside it: one address most members send most of their (linked) requests from -- staff who also
    # work from home (their home address links nothing) are still based at the office's one NAT address.
    main = main_addresses(memberships, ips).join(members.select("cluster_id", "account_idx"), on="account_idx")
    offices = (main.group_by("cluster_id", "signal_idx").agg(pl.len().alias("h")).join(size, on="cluster_id")
               .filter(pl.col("h") >= UNIT_COVER * pl.col("size")).select("cluster_id", "signal_idx"))
    based = main.join(offices, on=["cluster_id", "signal_idx"], how="semi").select("account_idx")
    return (pl.concat([writing, based.cast(writing.schema)]).unique()
            .select(pl.col("account_idx").cast(members.schema["account_idx"]), pl.lit(True).alias("at_office")))


def pool_template_share() -> pl.Expr:
    """The card pool's template factor with ``[scoring] pool_carriers``: ``max(member_template_share,
    2 * template_carriers / prompt_members - 1)`` clipped to 0..1 (module docstring); the members' mean share
    where no member has prompts."""
    carriers = (2 * pl.col("template_carriers").fill_null(0) / pl.col("prompt_members") - 1).clip(0.0, 1.0)
    return (pl.when(pl.col("prompt_members").fill_null(0) > 0)
            .then(pl.max_horizontal(pl.col("member_template_share").fill_null(0), carriers))
            .otherwise(pl.col("member_template_share")).alias("member_template_share"))
