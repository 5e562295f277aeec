"""Break-it review of session 20's change: campaign profiles count rarity down to PSEUDO_SHARE.

Commit 05a28e4 makes a value held by fewer than ``floor = max(2, PSEUDO_SHARE * N)`` accounts weigh,
in :func:`cluster_campaigns`'s profiles, as one held by ``floor`` (40 accounts at 220,000). For values
held by a *share* of the log (templates, stock phrases) a world drawn 20 times larger then groups as
the small one did. But many values are held by a fixed *count* of accounts at any log size: a cell's
own fill-ins, the NAT exits of one coworking space, a household's router. Between 3 and ``floor - 1``
holders such a value weighs, against a private one, ``sqrt(df / 2)`` times what it weighs at 11,000
accounts (a value held by 30 accounts counts as if only its two clusters held it), so the same world
groups differently at 11,000 and at 220,000 accounts -- the scale dependence the change set out to
remove -- and here and there the old rule (93411ed) got the large log right.

Worlds are hand-built: clusters first in ``partition``, then unclustered accounts; ``df`` is the
value's holders in the whole log (most of them unclustered), ``weight`` the projection's
``kind_weight * (2 / df) ** rarity_exponent``. A campaign is one operator.
"""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaigns import cluster_campaigns

SMALL, LARGE = 11_000, 220_000


def world(n_accounts: int, sizes: list[int], values: list[tuple[str, int, dict[int, list[int]]]]):
    """``partition, affiliations, signals, graph`` of a log of ``n_accounts``: clusters 1, 2, ... of
    ``sizes`` (accounts numbered from 0 in that order), and ``values``: ``(kind, df, {cluster: member
    offsets holding it})``, ``df`` counting the holders outside any cluster too."""
    graph = GraphConfig()
    first, cluster = {}, []
    for cid, size in enumerate(sizes, start=1):
        first[cid] = len(cluster)
        cluster += [cid] * size
    part = pl.DataFrame({"account_idx": pl.arange(0, n_accounts, eager=True).cast(pl.UInt32),
                         "cluster_id": pl.Series(cluster + [None] * (n_accounts - len(cluster)), dtype=pl.Int64)})
    rows, sig = [], []
    for v, (kind, df, holders) in enumerate(values):
        rows += [(first[cid] + m, v) for cid, members in holders.items() for m in members]
        sig.append((v, kind, df, graph.spec(kind).weight * (2 / df) ** graph.rarity_exponent, True))
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    sig = pl.DataFrame(sig, schema={"signal_idx": pl.UInt32, "kind": pl.String, "df": pl.UInt32,
                                    "weight": pl.Float64, "linked": pl.Boolean}, orient="row")
    return part, aff, sig, graph


def campaigns(n_accounts, sizes, values) -> dict[int, int]:
    part, aff, sig, graph = world(n_accounts, sizes, values)
    return dict(cluster_campaigns(part, aff, sig, graph, CommunityConfig()).iter_rows())


def pairs_within(size: int, count: int) -> list[list[int]]:
    """``count`` pairs of members of a cluster of ``size`` (0-1, 2-3, ..., wrapping)."""
    return [[(2 * v) % size, (2 * v + 1) % size] for v in range(count)]


# --- defects -----------------------------------------------------------------------------------------

def coworking(n_accounts: int) -> dict[int, int]:
    """A company's 10 employees (cluster 1) and a ring's 10 accounts (cluster 2) work out of one
    coworking space: its 5 NAT exits are each held by 30 accounts at any log size (5 of each cluster and
    20 other tenants). Each cluster also has 20 addresses of its own, each shared by two members
    (households, the ring's proxies)."""
    values = [("ip", 30, {1: list(range(5)), 2: list(range(5))}) for _ in range(5)]
    for cid in (1, 2):
        values += [("ip", 2, {cid: pair}) for pair in pairs_within(10, 20)]
    return campaigns(n_accounts, [10, 10], values)


@pytest.mark.parametrize("n_accounts", [
    SMALL,
    pytest.param(LARGE, marks=pytest.mark.xfail(strict=True, reason=(
        "values held by a fixed count below the floor (a 30-tenant NAT) weigh as private ones at 220,000 "
        "while the clusters' own pair-held addresses are weighed down: cosine 0.15 at 11,000, 0.24 under "
        "the old rule at 220,000, 0.41 under the new (resolution 0.35)"))),
])
def test_a_coworking_spaces_nat_does_not_join_a_company_to_a_ring(n_accounts):
    """Right answer: two campaigns at any log size. Sharing a coworking space's NAT exits with 20 other
    tenants is co-location, not one operator; the 5 shared addresses would make the tie 'substantial'
    (MIN_TIE_VALUES) and carry the ring's flag to the company. At 11,000 accounts both rules keep them
    apart, and so did the old rule at 220,000; with rarity counted down to the floor (40 accounts) the
    NAT exit held by 30 weighs as much as an address only a household shares, the cosine rises from
    0.24 to 0.41 and the company joins the ring's campaign."""
    camp = coworking(n_accounts)
    assert camp[1] != camp[2], f"a company and a ring share a campaign at {n_accounts:,} accounts"


def stock_sentence(n_accounts: int) -> dict[int, int]:
    """Two clusters of 10 (ordinary users, or a ring and ordinary users) all write one stock sentence
    (5 shingles) held by 0.5 % of the log (55 of 11,000, 1,100 of 220,000); each cluster also has 10
    shingles of its own phrasing, each written by two members (held by those 2 at any size)."""
    df = n_accounts * 55 // SMALL
    values = [("prompt", df, {1: list(range(10)), 2: list(range(10))}) for _ in range(5)]
    for cid in (1, 2):
        values += [("prompt", 2, {cid: pair}) for pair in pairs_within(10, 10)]
    return campaigns(n_accounts, [10, 10], values)


@pytest.mark.xfail(strict=True, reason=(
    "own phrasing held by 2 is weighed down to the floor at 220,000, so a sentence 1,100 people write "
    "ties two strangers' clusters (cosine 0.41; old rule 0.26). The same world at 11,000 joins them too "
    "under both rules: the change carries 11,000's calibration to large logs, where the old rule "
    "happened to keep them apart"))
def test_a_stock_sentence_does_not_join_strangers_in_a_large_log():
    """Right answer: two campaigns. A sentence written by 1,100 accounts of the log (0.5 %) is
    ordinary phrasing, not an operator's template; two groups of strangers who both use it are not one
    operator (the 5 shingles would make the tie 'substantial' and spread a flag between them). The old
    rule kept them apart at 220,000 accounts because each group's own phrasing (held by 2) outweighed
    the sentence; with rarity counted down to the floor it no longer does."""
    camp = stock_sentence(LARGE)
    assert camp[1] != camp[2]


def widely_written_own_phrasing(scale: int) -> dict[int, int]:
    """An operator's two cells of 20 (clusters 1, 2) share its template (20 shingles held by 400 of
    every 11,000 accounts: a share of the log). Each cell also writes 10 shingles of its own fill-ins,
    each written by 10 of its 20 members -- held by those 10 at any log size (the commit's own model of
    a cell's phrasing, with more than two writers). Two clusters of ordinary people (3, 4) share a
    stock phrase (3 shingles, 4 % of the log)."""
    values = [("prompt", 400 * scale, {1: list(range(20)), 2: list(range(20))}) for _ in range(20)]
    values += [("prompt", 440 * scale, {3: list(range(20)), 4: list(range(20))}) for _ in range(3)]
    for cid in (1, 2):
        values += [("prompt", 10, {cid: [(10 * v + k) % 20 for k in range(10)]}) for v in range(10)]
    return campaigns(SMALL * scale, [20, 20, 20, 20], values)


@pytest.mark.parametrize("scale", [
    1,
    pytest.param(20, marks=pytest.mark.xfail(strict=True, reason=(
        "own values held by more than 2 accounts still outgrow the template: a value of df 10 weighs "
        "0.45 of a private one at 11,000 and a full private one at 220,000 (capped to the floor), so the "
        "cells' cosine falls 0.40 -> 0.29 (old rule 0.19: not a regression, the change's fix is partial; "
        "own values held by >= 40 accounts, as in a 229-account cell, are not touched at all)"))),
])
def test_an_operators_cells_whose_phrasing_many_members_write_group_alike_at_both_sizes(scale):
    """Right answer: clusters 1 and 2 are one campaign at 11,000 and at 220,000 accounts -- they are one
    operator's cells sharing its 20-shingle template, as in tests/test_campaign_scale.py, only each
    cell's own fill-ins are written by half its members rather than by two. The change promises that
    a cell's own values do not outgrow its operator's template as the log grows; capping rarity at the
    floor keeps that promise only for values held by about 2 accounts."""
    camp = widely_written_own_phrasing(scale)
    assert camp[1] == camp[2], f"the operator's two cells split at {SMALL * scale:,} accounts"
    assert camp[3] != camp[4] and camp[3] != camp[1]


# --- what the change gets right ----------------------------------------------------------------------

@pytest.mark.parametrize("n_accounts", [SMALL, LARGE])
def test_cards_moved_between_cells_still_tie_them_in_a_large_log(n_accounts):
    """Right answer: one campaign. Two cells of one operator, each paying with 10 cards of its own (two
    members per card), share 3 cards moved with their users (two members of each cell). Capping rarity
    weighs the cards down in the cosine at 220,000 accounts, but cards also tie by the private-tie test
    (shared against chance, on the uncapped signals), so the operator stays whole."""
    values = [("payment", 4, {1: pair, 2: pair}) for pair in pairs_within(10, 3)]
    for cid in (1, 2):
        values += [("payment", 2, {cid: pair}) for pair in pairs_within(10, 10)]
    camp = campaigns(n_accounts, [10, 10], values)
    assert camp[1] == camp[2]


@pytest.mark.parametrize("n_accounts", [SMALL, LARGE])
def test_clusters_without_linked_values_stay_apart_in_any_log(n_accounts):
    """Right answer: each cluster its own campaign. With no signals at all, or signals none of the
    clusters' members hold, nothing ties them and the capped weights have nothing to act on."""
    part, aff, sig, graph = world(n_accounts, [10, 10, 10], [("ip", 30, {1: [0, 1], 2: [0, 1]})])
    for a, s in ((aff.head(0), sig.head(0)), (aff, sig.head(0))):
        camp = cluster_campaigns(part, a, s, graph, CommunityConfig(), n_accounts=n_accounts)
        assert camp["campaign_id"].n_unique() == 3


def test_n_accounts_below_the_partition_groups_as_a_small_log():
    """Right answer: a caller's ``n_accounts`` smaller than the partition (or 0) leaves the floor at
    2 accounts -- every weight as the projection gave it -- so the grouping is the small log's."""
    values = [("prompt", 400, {1: list(range(10)), 2: list(range(10))}) for _ in range(20)]
    values += [("prompt", 2, {cid: pair}) for cid in (1, 2, 3) for pair in pairs_within(10, 5)]
    part, aff, sig, graph = world(SMALL, [10, 10, 10], values)
    whole = cluster_campaigns(part, aff, sig, graph, CommunityConfig())
    for n in (0, 5, 3_000):
        assert cluster_campaigns(part, aff, sig, graph, CommunityConfig(), n_accounts=n).equals(whole)
