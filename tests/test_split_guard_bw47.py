"""The split guard holds a block that a later step joined to other accounts (break-it review bw47).

Network cells (:mod:`graphlink.stages.network_cells`) run after the wording split, in scoring. A block of a
remote team whose members all work through the company VPN (a /24 nobody else uses, exits rotating) was joined to
three support contractors on the same VPN sending the same support template: the joined cluster held accounts from
no split whole, so it was no block of its whole and the guard let it be flagged on its own score (0.707), and the
team's sales block through the card: 35 benign accounts flagged, none with wording cells off (the team is one
cluster scoring 0.53, and the contractors are three).
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from tests.test_split_guard47 import TEAM, _frame, remote_team_world


def vpn_team_world(contractors: int = 3) -> pl.DataFrame:
    """test_split_guard47's remote team world without its 8 free writers; the support half (16) sends every request
    through the company VPN (198.18.7.1-99, rotating); ``contractors`` support contractors pay with one card of
    their own and send the support template through the same VPN (exits .101-.130)."""
    ev = remote_team_world().filter(~pl.col("account_id").is_in([f"team_{i:02d}" for i in range(32, 40)]))
    support = pl.col("account_id").is_in([f"team_{i:02d}" for i in range(16)])
    ev = ev.with_columns(pl.when(support).then(pl.format("198.18.7.{}", pl.int_range(pl.len()) * 37 % 99 + 1))
                         .otherwise(pl.col("ip")).alias("ip"))
    rng = np.random.default_rng(5)
    acc = np.repeat(np.arange(contractors), 8)
    con = _frame([f"contractor_{i}" for i in acc], [f"198.18.7.{x}" for x in rng.integers(101, 131, len(acc))],
                 ["pf_contractor"] * len(acc), [TEAM[0].format(rng.integers(1e5)) for _ in acc], rng,
                 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0")
    return pl.concat([ev, con], how="diagonal_relaxed")


def test_a_block_joined_to_contractors_on_its_vpn_is_held_as_its_whole():
    result = graphlink.detect(vpn_team_world())
    rows = (result.accounts.filter(pl.col("account_id").str.contains("^(team|contractor)_")).drop_nulls("cluster_id")
            .join(result.clusters.select("cluster_id", "flagged", "score", "why"), on="cluster_id"))
    support = rows.filter(pl.col("account_id").is_in([f"team_{i:02d}" for i in range(16)]))
    # The shape this is about: the support block and the contractors are one cluster, apart from the sales block.
    assert support["cluster_id"].n_unique() == 1
    joined = rows.filter(pl.col("cluster_id") == support["cluster_id"][0])
    assert joined["account_id"].str.starts_with("contractor_").sum() == 3
    assert not rows["flagged"].any(), rows.unique("cluster_id").select("score", "why").rows()
    assert joined["why"][0].startswith("split by wording from a cluster of 32 accounts scoring 0.53")


def test_a_joined_cluster_keeps_its_flag_when_the_accounts_joined_to_the_block_would_be_flagged():
    from graphlink.stages.split_guard import HELD, held_blocks

    # Whole 7 split into clusters 1 (accounts 0-5) and 2 (6-8); cluster 2 also holds accounts from no split whole.
    def world(joined: int):
        part = pl.DataFrame({"account_idx": range(9 + joined), "cluster_id": [1] * 6 + [2] * (3 + joined)})
        split = pl.DataFrame({"account_idx": range(9), "cluster_id": [7] * 9})
        clusters = pl.DataFrame({"cluster_id": [1, 2], "score": [0.8, 0.8], "flagged": [True, True]})
        return clusters, part, split

    def score(p):  # the whole is tame (0.5); any other group loud (0.9)
        return p.group_by("cluster_id").agg(pl.len().alias("size"),
                                            pl.when(pl.col("cluster_id").first() == 7).then(0.5).otherwise(0.9).alias("score"))

    loud = held_blocks(*world(6), score, 0.6, min_flag_size=5)  # six joined accounts scoring 0.9: flagged apart
    assert loud["flagged"].to_list() == [False, True] and loud[HELD].to_list()[1] is None
    few = held_blocks(*world(3), score, 0.6, min_flag_size=5)  # three: under min_flag_size, not flagged apart
    assert few["flagged"].to_list() == [False, False]
    assert few[HELD].to_list() == ["9 accounts scoring 0.500"] * 2
