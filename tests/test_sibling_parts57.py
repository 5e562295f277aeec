"""Sibling parts (:mod:`graphlink.stages.sibling_parts`): a flagged cluster holding several of one operator's cells is
parted where each cell's own evidence parts it -- its own creation sitting and its own cards -- never on the
operator's shared address pool, never on creation alone; each part keeps the cluster's judgement. On by default.

Hand-built tables as the scoring stage holds them once every cluster is judged: a partition, the clusters' flags,
the clustered accounts' memberships (``account_idx, signal_idx``), the values (``signal_idx, kind``) and events per
account and UTC hour (an account's first active hour is when the log sees it opened).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

import graphlink
from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.sibling_parts import GAP_HOURS, carry_parts, creation_bursts, sibling_moves
from tests._worlds import planted_world

ORIGIN = dt.datetime(2026, 3, 1)


class Log:
    """Accounts numbered as added: their cluster, cards, addresses and active hours (hours since ORIGIN)."""

    def __init__(self) -> None:
        self.cluster: dict[int, int] = {}
        self.flagged: dict[int, bool] = {}
        self.held: list[tuple[int, str, str]] = []  # (account, kind, value)
        self.active: list[tuple[int, int]] = []  # (account, hour)

    def cell(self, n: int, cluster: int, opened: int, cards: list[str], active: list[int], pool: list[str] | None = None,
             seed: int = 0, flagged: bool = True) -> list[int]:
        """``n`` accounts of ``cluster`` opened one per 10 minutes from hour ``opened``, paying with ``cards`` in turn,
        active in the hours ``active`` (hours since ORIGIN) and calling from 4 addresses of ``pool`` each."""
        rng = np.random.default_rng(seed)
        ids = list(range(len(self.cluster), len(self.cluster) + n))
        self.flagged[cluster] = flagged
        for i, a in enumerate(ids):
            self.cluster[a] = cluster
            self.held.append((a, "payment", cards[i % len(cards)]))
            for address in rng.choice(pool, 4, replace=False) if pool else []:
                self.held.append((a, "ip", str(address)))
            self.active += [(a, opened + i // 6)] + [(a, h) for h in active if h > opened + i // 6]
        return ids

    def tables(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """``clusters, partition, affiliations, signals, hours``."""
        part = pl.DataFrame({"account_idx": list(self.cluster), "cluster_id": list(self.cluster.values())},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
        cl = pl.DataFrame({"cluster_id": list(self.flagged), "flagged": list(self.flagged.values())}, schema={"cluster_id": pl.Int64, "flagged": pl.Boolean})
        values = sorted({(k, v) for _, k, v in self.held})
        idx = {kv: i for i, kv in enumerate(values)}
        aff = pl.DataFrame([(a, idx[(k, v)]) for a, k, v in self.held], schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row").unique()
        sig = pl.DataFrame({"signal_idx": list(range(len(values))), "kind": [k for k, _ in values]}, schema_overrides={"signal_idx": pl.UInt32})
        when = [ORIGIN + dt.timedelta(hours=h) for _, h in self.active]
        hours = pl.DataFrame({"account_idx": [a for a, _ in self.active], "day": [w.date() for w in when], "hour": [w.hour for w in when],
                              "events": [1] * len(when)}, schema_overrides={"account_idx": pl.UInt32}).unique(["account_idx", "day", "hour"])
        return cl, part, aff, sig, hours


def parts(log: Log, min_part: int = 5) -> list[set[int]]:
    """The groups of accounts the stage leaves: each moved part, and each cluster's rest."""
    cl, part, aff, sig, hours = log.tables()
    moved = sibling_moves(cl, part, aff, sig, hours, min_part)
    after = part.join(moved, on="account_idx", how="left").select("account_idx", pl.coalesce("to", "cluster_id").alias("group"))
    return sorted((set(g) for g in after.group_by("group").agg("account_idx")["account_idx"].to_list()), key=min)


POOL = [f"proxy{i}" for i in range(30)]  # the operator's proxy pool, drawn on by every cell


def test_two_sibling_cells_on_one_shared_proxy_pool_each_with_its_own_cards_and_clock_are_two_clusters():
    log = Log()
    # Cell A opened on day 1 and active at 08-11 UTC; cell B opened on day 4, active at 20-23 UTC; one proxy pool.
    a = log.cell(14, 1, opened=24, cards=["a1", "a2", "a3"], active=[d * 24 + h for d in range(2, 12) for h in (8, 9, 10, 11)], pool=POOL, seed=1)
    b = log.cell(12, 1, opened=96, cards=["b1", "b2"], active=[d * 24 + h for d in range(5, 12) for h in (20, 21, 22, 23)], pool=POOL, seed=2)
    assert parts(log) == [set(a), set(b)]


def test_one_cell_on_two_cards_with_one_clock_and_batch_stays_one_cluster():
    log = Log()
    a = log.cell(20, 1, opened=24, cards=["c1", "c2"], active=[d * 24 + h for d in range(2, 12) for h in (8, 9, 10)], pool=POOL)
    assert parts(log) == [set(a)]


def test_one_cell_opened_in_two_sittings_paying_with_its_cards_in_both_stays_whole():
    log = Log()
    # Same cards in both sittings: across the sittings they share cards as often as within (exchangeable).
    a = log.cell(12, 1, opened=24, cards=["c1", "c2", "c3"], active=[d * 24 + 9 for d in range(2, 12)], pool=POOL, seed=1)
    b = log.cell(12, 1, opened=120, cards=["c1", "c2", "c3"], active=[d * 24 + 9 for d in range(6, 12)], pool=POOL, seed=2)
    assert parts(log) == [set(a) | set(b)]


def test_sittings_whose_members_share_no_card_are_no_parts():
    # Each account pays with a card of its own: only creation says the sittings are units -- not enough.
    log = Log()
    a = log.cell(10, 1, opened=24, cards=[f"own{i}" for i in range(10)], active=[d * 24 + 9 for d in range(2, 12)])
    b = log.cell(10, 1, opened=120, cards=[f"own{i}" for i in range(10, 20)], active=[d * 24 + 21 for d in range(6, 12)])
    assert parts(log) == [set(a) | set(b)]


def test_a_part_needs_min_part_members_and_the_cluster_twice_that():
    log = Log()
    a = log.cell(12, 1, opened=24, cards=["a1", "a2"], active=[d * 24 + 9 for d in range(2, 12)])
    b = log.cell(4, 1, opened=120, cards=["b1", "b2"], active=[d * 24 + 21 for d in range(6, 12)])
    assert parts(log, min_part=5) == [set(a) | set(b)]  # a sitting of 4 is no part of its own (a stray of the largest)
    assert parts(log, min_part=4) == [set(a), set(b)]


def test_siblings_paying_from_one_card_pool_stay_together():
    # The operator's card pool paid with by both cells as much as within each: the cards tie the sittings.
    log = Log()
    a = log.cell(12, 1, opened=24, cards=["p1", "p2", "p3", "p4"], active=[d * 24 + 9 for d in range(2, 12)])
    b = log.cell(12, 1, opened=120, cards=["p3", "p4", "p1", "p2"], active=[d * 24 + 21 for d in range(6, 12)])
    assert parts(log) == [set(a) | set(b)]


def test_the_threshold_on_cards_shared_across_reads_the_tighter_burst():
    # Across rate against EXCHANGE x the larger inside rate. Cell a: 12 on two cards (inside 60/132 ~ 0.45, need
    # 0.114). Cell b pays with cards of its own but for m accounts on a's card a1 (6 holders in a): across 6m/144.
    def world(m: int) -> Log:
        log = Log()
        log.cell(12, 1, opened=24, cards=["a1", "a2"], active=[d * 24 + 9 for d in range(2, 12)])
        log.cell(12, 1, opened=120, cards=["a1"] * m + [f"own{i}" for i in range(12 - m)], active=[d * 24 + 21 for d in range(6, 12)])
        return log
    assert len(parts(world(2))) == 2  # across 12/144 ~ 0.083 < 0.114 (b's inside 2/132 > 0: tied inside)
    assert len(parts(world(3))) == 1  # across 18/144 = 0.125 >= 0.114


def test_strays_follow_the_part_whose_cards_they_share():
    log = Log()
    a = log.cell(10, 1, opened=24, cards=["a1", "a2"], active=[d * 24 + 9 for d in range(2, 12)])
    b = log.cell(8, 1, opened=120, cards=["b1", "b2"], active=[d * 24 + 21 for d in range(6, 12)])
    stray = log.cell(1, 1, opened=200, cards=["b1"], active=[d * 24 + 21 for d in range(9, 12)])
    assert parts(log) == [set(a), set(b) | set(stray)]


def test_unflagged_clusters_are_not_parted():
    log = Log()
    log.cell(12, 1, opened=24, cards=["a1", "a2"], active=[d * 24 + 9 for d in range(2, 12)], flagged=False)
    log.cell(12, 1, opened=120, cards=["b1", "b2"], active=[d * 24 + 21 for d in range(6, 12)], flagged=False)
    assert len(parts(log)) == 1


def test_creation_bursts_cut_at_gaps_longer_than_gap_hours():
    first = np.array([0, GAP_HOURS, 2 * GAP_HOURS, 3 * GAP_HOURS + GAP_HOURS + 1, 5 * GAP_HOURS + 1, 6 * GAP_HOURS + 1])
    assert creation_bursts(first, 3).tolist() == [0, 0, 0, 1, 1, 1]
    assert creation_bursts(first, 4).tolist() == [-1] * 6


def test_parts_keep_the_judgement_of_the_cluster_they_were():
    before = pl.DataFrame({"account_idx": list(range(6)), "cluster_id": [3] * 4 + [4] * 2}, schema_overrides={"account_idx": pl.UInt32})
    after = pl.DataFrame({"account_idx": list(range(6)), "cluster_id": [1, 1, 2, 2, 3, 3]}, schema_overrides={"account_idx": pl.UInt32})
    cl = pl.DataFrame({"cluster_id": [3, 4], "size": [4, 2], "score": [0.9, 0.2], "flagged": [True, False], "campaign_id": [7, 8],
                       "why": ["a card pool", "one card"]})
    out = carry_parts(cl, before, after)
    assert out.select("cluster_id", "size", "score", "flagged", "campaign_id").rows() == [(1, 2, 0.9, True, 7), (2, 2, 0.9, True, 7), (3, 2, 0.2, False, 8)]
    assert all("parted into 2" in w and "4 accounts" in w for w in out["why"][:2]) and out["why"][2] == "one card"


def test_on_by_default_and_moves_no_flag_or_campaign():
    assert ScoringConfig().sibling_parts
    events, _ = planted_world(3, n_benign=200, rings=(25, 15, 8))
    off = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(sibling_parts=False)))
    on = graphlink.detect(events)

    def flags(r):
        return (r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
                .select("account_id", pl.col("flagged").fill_null(False), "campaign_id").sort("account_id"))
    assert flags(on).equals(flags(off))
    # every cluster on lies inside one cluster off (parts only, no join)
    pair = on.accounts.select("account_id", "cluster_id").join(off.accounts.select("account_id", pl.col("cluster_id").alias("off")), on="account_id")
    assert pair.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.col("off").n_unique()).filter(pl.col("off") > 1).is_empty()
