"""Block pieces (:mod:`graphlink.stages.block_pieces`): flagged clusters of one campaign that are pieces of one
exclusive address block join after the judgement; units with addresses of their own, blocks other people use,
other campaigns and unflagged clusters stay as they are, and no flag moves.

Hand-built tables as the scoring stage holds them once every cluster is judged: a partition, the clusters' flags and
campaigns, the clustered accounts' memberships (``account_idx, signal_idx``) and the values (``signal_idx, kind, df``:
``df`` counts every holder in the log).
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.block_pieces import EXCHANGE, block_moves
from tests._worlds import planted_world


class Log:
    """Accounts numbered as added, their address memberships, clusters, flags and campaigns."""

    def __init__(self) -> None:
        self.held: list[tuple[int, int]] = []  # (account, address)
        self.cluster: dict[int, int | None] = {}
        self.judged: dict[int, tuple[bool, int | None]] = {}
        self.next_account = 0
        self.next_address = 0

    def addresses(self, n: int) -> list[int]:
        """``n`` fresh addresses."""
        out = list(range(self.next_address, self.next_address + n))
        self.next_address += n
        return out

    def accounts(self, n: int, cluster: int | None, flagged: bool = True, campaign: int | None = 1) -> list[int]:
        """``n`` accounts in ``cluster`` (None: in no cluster), judged ``flagged`` in ``campaign``."""
        ids = list(range(self.next_account, self.next_account + n))
        self.next_account += n
        for a in ids:
            self.cluster[a] = cluster
        if cluster is not None:
            self.judged[cluster] = (flagged, campaign)
        return ids

    def rotate(self, accounts: list[int], pool: list[int], per_account: int, seed: int) -> None:
        """Each account calls from ``per_account`` addresses of ``pool`` drawn at random (a rotating proxy pool)."""
        rng = np.random.default_rng(seed)
        for a in accounts:
            self.held += [(a, int(p)) for p in rng.choice(pool, per_account, replace=False)]

    def tables(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """``clusters, partition, affiliations, signals`` (affiliations of clustered accounts only, as the stage has them)."""
        part = pl.DataFrame({"account_idx": list(self.cluster), "cluster_id": list(self.cluster.values())},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
        cl = pl.DataFrame({"cluster_id": list(self.judged), "flagged": [f for f, _ in self.judged.values()],
                           "campaign_id": [c for _, c in self.judged.values()]}, schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "campaign_id": pl.Int64})
        held = pl.DataFrame(self.held, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row").unique()
        sig = held.group_by("signal_idx").agg(pl.len().cast(pl.Int64).alias("df")).with_columns(kind=pl.lit("ip"))
        aff = held.join(part.drop_nulls("cluster_id"), on="account_idx", how="semi")
        return cl, part, aff, sig


def joined(log: Log) -> dict[int, int]:
    """``{cluster: cluster it joins}`` for every cluster whose members move."""
    cl, part, aff, sig = log.tables()
    moves = block_moves(cl, part, aff, sig)
    return dict(moves.join(part, on="account_idx").select("cluster_id", "to").unique().iter_rows())


def pool_cell(log: Log, pieces: tuple[int, ...], pool: int = 60, per_account: int = 8, seed: int = 0,
              campaign: int = 1, first: int = 1) -> list[int]:
    """A cell rotating through a private pool of ``pool`` addresses, cut by Leiden into card groups of ``pieces``."""
    addresses = log.addresses(pool)
    out = []
    for i, n in enumerate(pieces):
        out += log.accounts(n, first + i, campaign=campaign)
    log.rotate(out, addresses, per_account, seed)
    return out


def test_pool_cell_cut_along_its_cards_joins_into_its_largest_piece():
    log = Log()
    pool_cell(log, (20, 12, 8))
    assert joined(log) == {2: 1, 3: 1}


def test_cell_on_one_address_all_members_hold_joins():
    log = Log()
    hub = log.addresses(1)
    members = log.accounts(15, 1) + log.accounts(9, 2) + log.accounts(6, 3)
    for a in members:
        log.held += [(a, hub[0]), (a, log.addresses(1)[0])]  # the cell's address and one of its own (no one shares it)
    assert joined(log) == {2: 1, 3: 1}


def test_units_with_pools_of_their_own_touching_at_one_address_stay():
    log = Log()
    a, b = log.accounts(20, 1), log.accounts(12, 2)
    log.rotate(a, log.addresses(40), 8, 1)
    log.rotate(b, log.addresses(30), 8, 2)
    shared = log.addresses(1)[0]
    log.held += [(x, shared) for x in a[:2] + b[:2]]
    assert joined(log) == {}


def test_a_pool_other_people_use_is_no_block():
    log = Log()
    cell = pool_cell(log, (20, 12, 8))
    people = log.accounts(30, None)  # a carrier's users on the same exits, in no cluster
    pool = sorted({p for a, p in log.held if a in set(cell)})
    log.rotate(people, pool, 8, 5)
    assert joined(log) == {}


def test_other_campaign_and_unflagged_pieces_stay():
    log = Log()
    addresses = log.addresses(60)
    big = log.accounts(20, 1)
    other = log.accounts(12, 2, campaign=2)
    tame = log.accounts(8, 3, flagged=False)
    log.rotate(big + other + tame, addresses, 8, 0)
    assert joined(log) == {}


def test_piece_touching_the_block_with_few_members_stays():
    log = Log()
    addresses = log.addresses(60)
    big, piece = log.accounts(20, 1), log.accounts(10, 2)
    log.rotate(big + piece[:3], addresses, 8, 0)  # 3 of the 10 on the block; the other 7 share nothing exclusive
    assert joined(log) == {}


def test_exchange_is_the_threshold_on_the_rate_inside_the_smaller():
    # Cluster 2 (4 accounts) shares a private address of its own and an address of the block among all its members
    # (two shared addresses per pair: rate inside 2); the block address with k of cluster 1's 10 members too: rate
    # across = 4k / 40 shared addresses per pair. It joins exactly when that reaches EXCHANGE of the rate inside.
    def world(k: int) -> Log:
        log = Log()
        big, piece = log.accounts(10, 1), log.accounts(4, 2)
        own, block, theirs = log.addresses(3)
        log.held += [(a, own) for a in piece] + [(a, block) for a in piece + big[:k]] + [(a, theirs) for a in big]
        return log
    need = int(np.ceil(EXCHANGE * 2 * 10))
    assert 1 < need <= 10
    assert joined(world(need)) == {2: 1}
    assert joined(world(need - 1)) == {}


def test_three_pieces_of_one_block_join_the_largest_whatever_their_ids():
    log = Log()
    pool_cell(log, (6, 9, 21), first=4)
    assert joined(log) == {4: 6, 5: 6}


def test_off_by_default_and_on_moves_no_flag_or_campaign():
    assert not ScoringConfig().block_pieces
    events, _ = planted_world(3, n_benign=200, rings=(25, 15, 8))
    off = graphlink.detect(events)
    on = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(block_pieces=True)))
    def flags(r):
        return (r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
                .select("account_id", pl.col("flagged").fill_null(False), "campaign_id").sort("account_id"))
    assert flags(on).equals(flags(off))
    # every cluster off lies inside one cluster on (joins only, no split)
    pair = off.accounts.select("account_id", "cluster_id").join(on.accounts.select("account_id", pl.col("cluster_id").alias("on")), on="account_id")
    assert pair.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.col("on").n_unique()).filter(pl.col("on") > 1).is_empty()


def test_a_cluster_joined_from_several_takes_no_part():
    # The pool cell again, but its largest cluster was made by joining two of the communities stage's clusters
    # (network cells, batch cells): a union's rate inside mixes cells', so it neither takes nor gives pieces.
    log = Log()
    pool_cell(log, (20, 12, 8))
    cl, part, aff, sig = log.tables()
    made = part.with_columns(pl.when((pl.col("cluster_id") == 1) & (pl.col("account_idx") >= 10)).then(9).otherwise(pl.col("cluster_id")).alias("cluster_id"))
    moved = block_moves(cl, part, aff, sig, pieces=made)
    assert dict(moved.join(part, on="account_idx").select("cluster_id", "to").unique().iter_rows()) == {3: 2}
    assert dict(block_moves(cl, part, aff, sig, pieces=part).join(part, on="account_idx").select("cluster_id", "to").unique().iter_rows()) == {2: 1, 3: 1}
