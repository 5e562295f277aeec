"""A cluster's campaign profile is what its members share (session 46, helper op46).

An operator's cell split by the partition into pieces of 5-10 accounts: every member sends the
operator's template (held by a tenth of the log, so each of its phrases weighs little) and its own
fill-in problems, each phrase of which one other account in the log happens to write too. Counted in
the profile, the members' own phrases outweighed the template the pieces share and the pieces fell
into a campaign each; they are their members', not the piece's (``campaign_ties.shared_profile``).
"""

from __future__ import annotations

import math

import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.campaigns import cluster_campaigns

N = 1_000  # accounts in the log
KIND_WEIGHT = GraphConfig().spec("prompt").weight
TEMPLATE = list(range(8))  # a 12-word instruction: 8 shingles


def _weight(df: int) -> float:
    return KIND_WEIGHT * math.sqrt(2 / df)  # the projection's rarity weight (rarity exponent 0.5)


def _world(clusters: dict[int, list[tuple[list[int], int]]], df: int = 100):
    """``clusters``: cluster id -> one (shared phrase ids, own phrases) per member. Shared phrases are held by
    ``df`` accounts of the log; each own phrase by the member and one account outside the clusters (df 2)."""
    part, aff, sig = [], [], {}
    account, own = 0, 10_000
    for cluster, members in clusters.items():
        for phrases, n_own in members:
            part.append((account, cluster))
            for p in phrases:
                aff.append((account, p))
                sig[p] = df
            for p in range(own, own + n_own):
                aff.append((account, p))
                sig[p] = 2
            own += n_own
            account += 1
    partition = pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    affiliations = pl.DataFrame(aff, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": list(sig), "kind": ["prompt"] * len(sig), "df": list(sig.values()),
                            "weight": [_weight(d) for d in sig.values()], "linked": [True] * len(sig)},
                           schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    return partition, affiliations, signals


def _campaigns(world) -> dict[int, int]:
    out = cluster_campaigns(*world, GraphConfig(), n_accounts=N)
    return dict(out.select("cluster_id", "campaign_id").iter_rows())


def test_pieces_of_one_cell_on_one_template_are_one_campaign():
    # 4 pieces of 5-8 accounts, every member on the template and 12 phrases of its own: main, 4 campaigns.
    camp = _campaigns(_world({c: [(TEMPLATE, 12)] * (4 + c) for c in range(1, 5)}))
    assert len(set(camp.values())) == 1, camp


def test_two_operators_templates_stay_two_campaigns():
    other = list(range(100, 108))
    camp = _campaigns(_world({c: [(TEMPLATE if c <= 3 else other, 12)] * (4 + c) for c in range(1, 7)}))
    assert camp[1] == camp[2] == camp[3]
    assert camp[4] == camp[5] == camp[6]
    assert camp[1] != camp[4]


def test_a_stock_phrase_ties_no_one():
    stock = [200, 201, 202]  # "tell me a fun fact about": 3 shingles written by 300 accounts
    camp = _campaigns(_world({1: [(stock, 12)] * 6, 2: [(stock, 12)] * 6}, df=300))
    assert camp[1] != camp[2]


def test_people_sharing_nothing_keep_their_own_phrasing():
    # A cluster of 5 people (20 phrases each, nothing shared) and 2 ring accounts on the ring's template
    # (30 shingles): the people's phrasing stays in its profile, so it does not join the ring's 3 cells.
    template = list(range(30))
    ring = {c: [(template, 12)] * 6 for c in (1, 2, 3)}
    camp = _campaigns(_world({**ring, 4: [(template, 12)] * 2 + [([], 20)] * 5}))
    assert camp[1] == camp[2] == camp[3]
    assert camp[4] != camp[1]


def test_small_clusters_keep_every_members_values():
    # Under 5 members a cluster is profiled as before: its pieces' own phrases still count.
    camp = _campaigns(_world({c: [(TEMPLATE, 12)] * 3 for c in range(1, 5)}))
    assert len(set(camp.values())) == 4
