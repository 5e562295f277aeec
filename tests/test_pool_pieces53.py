"""Pool pieces (:mod:`graphlink.stages.pool_pieces`): a flagged cell left alone in its campaign joins the campaign
whose closed address pool it draws from; shared networks and benign hubs tie nothing.

Hand-built logs: each account draws 34 addresses from its pool (dev mixed 1001's operator drew ~34 each from a
residential pool no one else held); clusters are given, with their flags and the grouping's campaigns, as the
scoring stage holds them when the flags are decided.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import ScoringConfig
from graphlink.stages.campaigns import MIN_TIE_VALUES
from graphlink.stages.pool_pieces import pool_pieces, pool_ties

RESOLUTION = 0.35  # CommunityConfig().campaign_resolution, the containment the scoring stage asks


class Log:
    """Accounts numbered as added; ``hold`` gives accounts an address each (new ids per call unless given)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int]] = []
        self.cluster: dict[int, int] = {}
        self.next_account = 0
        self.next_value = 0

    def accounts(self, n: int, cluster: int | None = None) -> list[int]:
        ids = list(range(self.next_account, self.next_account + n))
        self.next_account += n
        if cluster is not None:
            self.cluster.update({a: cluster for a in ids})
        return ids

    def pool(self, n: int) -> list[int]:
        ids = list(range(self.next_value, self.next_value + n))
        self.next_value += n
        return ids

    def draw(self, accounts: list[int], pool: list[int], per_account: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        for a in accounts:
            self.rows += [(a, int(v)) for v in rng.choice(pool, size=min(per_account, len(pool)), replace=False)]

    def frames(self, clusters: dict[int, tuple[bool, int]]) -> tuple[pl.DataFrame, ...]:
        """``clusters, partition, affiliations, signals``; ``clusters`` maps id -> (flagged, campaign)."""
        aff = pl.DataFrame(self.rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row").unique()
        sig = (aff.group_by("signal_idx").agg(pl.len().cast(pl.UInt32).alias("df"))
               .with_columns(pl.lit("ip").alias("kind"), pl.lit(True).alias("linked")).sort("signal_idx"))
        part = pl.DataFrame({"account_idx": list(range(self.next_account)),
                             "cluster_id": [self.cluster.get(a) for a in range(self.next_account)]},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
        sizes = part.drop_nulls("cluster_id").group_by("cluster_id").len()
        cl = pl.DataFrame({"cluster_id": list(clusters), "flagged": [f for f, _ in clusters.values()],
                           "campaign_id": [c for _, c in clusters.values()]},
                          schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "campaign_id": pl.Int64})
        cl = cl.join(sizes.select("cluster_id", pl.col("len").cast(pl.UInt32).alias("size")), on="cluster_id")
        return cl.sort("cluster_id"), part, aff, sig


def moved(cl: pl.DataFrame, part: pl.DataFrame, aff: pl.DataFrame, sig: pl.DataFrame) -> dict[int, int]:
    out = pool_pieces(cl, part, aff, sig, RESOLUTION, MIN_TIE_VALUES)
    # Flags, rows and every other column are the input's: only campaign_id may change.
    assert out.drop("campaign_id").equals(cl.drop("campaign_id"))
    return dict(out.select("cluster_id", "campaign_id").iter_rows())


def one_pool(vpn_users_per_exit: int = 0) -> tuple[pl.DataFrame, ...]:
    """One pool of 3,000 exits cut by card into pieces of 163 and 10 (one campaign), 20 and 12 (alone each); with
    ``vpn_users_per_exit``, every exit also carries that many unclustered VPN users (a commercial network)."""
    log = Log()
    exits = log.pool(3_000)
    big, side, mid, small = log.accounts(163, 1), log.accounts(10, 2), log.accounts(20, 3), log.accounts(12, 4)
    for seed, piece in enumerate((big, side, mid, small)):
        log.draw(piece, exits, 34, seed)
    if vpn_users_per_exit:
        for v in exits:
            log.rows += [(u, v) for u in log.accounts(vpn_users_per_exit)]
    log.accounts(200)  # ordinary users on their own addresses
    return log.frames({1: (True, 1), 2: (True, 1), 3: (True, 2), 4: (True, 3)})


def test_a_pool_cut_by_card_into_unequal_pieces_is_one_campaign():
    camp = moved(*one_pool())
    assert camp[3] == camp[4] == camp[1] == 1


def test_two_operators_renting_one_commercial_network_stay_apart():
    # The same exits, each also held by one VPN user outside every cluster: a shared network, not a private pool.
    camp = moved(*one_pool(vpn_users_per_exit=1))
    assert camp == {1: 1, 2: 1, 3: 2, 4: 3}


def test_an_office_nat_and_a_family_behind_a_cgnat_tie_nothing_and_flag_nothing():
    log = Log()
    nat, cgnat = log.pool(3), log.pool(40)
    office, family = log.accounts(30, 1), log.accounts(4, 2)
    ring = log.accounts(12, 3)  # a flagged cell alone in its campaign that passed through both hubs
    log.draw(office, nat, 3, 1)
    log.draw(family, cgnat, 10, 2)
    subscribers = log.accounts(400)
    log.draw(subscribers, cgnat, 2, 3)
    log.draw(ring, nat + cgnat, 20, 4)
    cl, part, aff, sig = log.frames({1: (False, 1), 2: (False, 2), 3: (True, 3)})
    assert moved(cl, part, aff, sig) == {1: 1, 2: 2, 3: 3}
    assert pool_ties(part, aff, sig, cl.filter("flagged")["cluster_id"], RESOLUTION, MIN_TIE_VALUES).is_empty()


def test_one_unflagged_holder_per_address_opens_the_pool():
    # The ring's lone piece and its main campaign share a pool, but each of its addresses is also held by an
    # unflagged cluster's member (a team on the same exits): no address is closed, nothing moves.
    log = Log()
    exits = log.pool(400)
    big, piece, team = log.accounts(60, 1), log.accounts(8, 2), log.accounts(400, 3)
    log.draw(big, exits, 34, 1)
    log.draw(piece, exits, 34, 2)
    log.rows += [(team[i], v) for i, v in enumerate(exits)]
    cl, part, aff, sig = log.frames({1: (True, 1), 2: (True, 2), 3: (False, 3)})
    assert moved(cl, part, aff, sig)[2] == 2


def test_a_lone_piece_tied_to_two_campaigns_does_not_merge_them():
    # Campaigns 1 and 2 (two clusters each) draw from pools A and B; a lone piece draws from both (a cluster the
    # partition mixed). It joins one of them; the two stay apart.
    log = Log()
    pool_a, pool_b = log.pool(1_500), log.pool(1_500)
    a1, a2, b1, b2 = log.accounts(80, 1), log.accounts(10, 2), log.accounts(80, 3), log.accounts(10, 4)
    mixed = log.accounts(12, 5)
    for seed, (piece, pool) in enumerate(((a1, pool_a), (a2, pool_a), (b1, pool_b), (b2, pool_b))):
        log.draw(piece, pool, 34, seed)
    log.draw(mixed[:6], pool_a, 34, 7)
    log.draw(mixed[6:], pool_b, 34, 8)
    camp = moved(*log.frames({1: (True, 1), 2: (True, 1), 3: (True, 2), 4: (True, 2), 5: (True, 3)}))
    assert camp[1] == camp[2] == 1 and camp[3] == camp[4] == 2
    assert camp[5] in (1, 2)


def test_a_cluster_grouped_with_others_keeps_its_campaign():
    # Cluster 2 draws from cluster 3's pool but the grouping put it with cluster 1: only lone clusters move, so
    # campaigns of several clusters are never merged (one mixed cell would join two operators' campaigns).
    log = Log()
    pool_a, pool_b = log.pool(1_500), log.pool(1_500)
    a, stray, b1, b2 = log.accounts(80, 1), log.accounts(10, 2), log.accounts(80, 3), log.accounts(10, 4)
    for seed, (piece, pool) in enumerate(((a, pool_a), (stray, pool_b), (b1, pool_b), (b2, pool_b))):
        log.draw(piece, pool, 34, seed)
    assert moved(*log.frames({1: (True, 1), 2: (True, 1), 3: (True, 2), 4: (True, 2)})) == {1: 1, 2: 1, 3: 2, 4: 2}


def test_a_large_lone_cluster_holding_a_small_pieces_addresses_stays():
    # Cluster 3 (150 accounts, alone in its campaign) holds all 12 addresses of cluster 2, a 3-account piece of
    # campaign 1: the piece's pool is in it, not its pool in the piece. It keeps its campaign.
    log = Log()
    pool_a, pool_s, pool_m = log.pool(600), log.pool(12), log.pool(3_000)
    a, piece, big = log.accounts(30, 1), log.accounts(3, 2), log.accounts(150, 3)
    log.draw(a, pool_a, 34, 1)
    log.draw(piece, pool_s, 10, 2)
    log.draw(big, pool_m, 34, 3)
    log.rows += [(big[i], v) for i, v in enumerate(pool_s)]
    assert moved(*log.frames({1: (True, 1), 2: (True, 1), 3: (True, 2)}))[3] == 2


def test_a_few_shared_addresses_are_no_pool():
    # Two flagged cells alone in their campaigns share four closed addresses (under MIN_TIE_VALUES): no move.
    log = Log()
    shared = log.pool(MIN_TIE_VALUES - 1)
    one, two = log.accounts(6, 1), log.accounts(6, 2)
    log.rows += [(a, v) for a in one[:2] + two[:2] for v in shared]
    assert moved(*log.frames({1: (True, 1), 2: (True, 2)})) == {1: 1, 2: 2}


def test_opt_in():
    # Off by default: two operators renting one network nobody else uses read as one pool (test_rented_network47).
    assert not ScoringConfig().pool_pieces
    assert ScoringConfig(pool_pieces=True).pool_pieces
