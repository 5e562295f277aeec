"""A ring's campaign does not swing with unrelated accounts (issue 17, session 14).

:func:`graphlink.stages.campaigns.cluster_campaigns` groups clusters by Leiden on their
similarity graph. An investigator expects a ring's campaign -- and so which of its tame cells
inherit a flag -- not to depend on whether some unrelated group elsewhere in the log is
clustered, nor on the ids the partition happened to number clusters with.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_flags import flag_with_campaign
from graphlink.stages.campaigns import cluster_campaigns

CELL = 4  # accounts per ring cell
CELLS = 30  # a chain of ring cells, each sharing addresses with the next: no obvious cut


def ring_world(unrelated: int, rng_seed: int = 0, popular: int = 0,
               ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[int]]:
    """Partition, affiliations and signals of a ring of :data:`CELLS` cells plus ``unrelated`` pairs
    of ordinary clusters (their own shared values, none of the ring's) numbered *before* the ring,
    as a renumbering partition would after an unrelated change. Returns also the ring cells' ids."""
    rng = np.random.default_rng(rng_seed)
    accounts, aff_a, aff_s = 0, [], []
    signal = 0
    # Unrelated groups first: 2 clusters of 3 accounts sharing 2 values between them.
    for _ in range(unrelated):
        members = []
        for _ in range(2):
            members.append(list(range(accounts, accounts + 3)))
            accounts += 3
        for _ in range(2):
            for a in members[0] + members[1]:
                aff_a.append(a); aff_s.append(signal)
            signal += 1
    n_unrelated_accounts = accounts
    # The ring: cell i shares a varying number of addresses with cell i + 1.
    cells = [list(range(accounts + i * CELL, accounts + (i + 1) * CELL)) for i in range(CELLS)]
    accounts += CELLS * CELL
    for i in range(CELLS - 1):
        for _ in range(int(rng.integers(1, 4))):
            for a in cells[i] + cells[i + 1]:
                if rng.random() < 0.8:
                    aff_a.append(a); aff_s.append(signal)
            signal += 1
    # ``popular`` template values, each held by every account of a random half of the cells: more
    # clusters than the projection would link as a clique.
    for _ in range(popular):
        for i in np.flatnonzero(rng.random(CELLS) < 0.5):
            for a in cells[i]:
                aff_a.append(a); aff_s.append(signal)
        signal += 1
    ids = [a // 3 + 1 for a in range(n_unrelated_accounts)] + [
        n_unrelated_accounts // 3 + 1 + (a - n_unrelated_accounts) // CELL for a in range(n_unrelated_accounts, accounts)]
    partition = pl.DataFrame({"account_idx": list(range(accounts)), "cluster_id": ids},
                             schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    aff = pl.DataFrame({"account_idx": aff_a, "signal_idx": aff_s}, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    counts = aff.group_by("signal_idx").agg(pl.len().alias("df")).sort("signal_idx")
    sig = counts.with_columns(pl.lit("ip").alias("kind"), pl.lit(2.0).alias("weight"), pl.lit(True).alias("linked"))
    if popular:
        sig = sig.with_columns(pl.when(pl.col("signal_idx") >= signal - popular).then(pl.lit("prompt"))
                               .otherwise(pl.col("kind")).alias("kind"),
                               pl.when(pl.col("signal_idx") >= signal - popular).then(0.3)
                               .otherwise(pl.col("weight")).alias("weight"))
    ring_ids = sorted(set(ids[n_unrelated_accounts:]))
    return partition, aff, sig, ring_ids


def ring_grouping(unrelated: int, rng_seed: int, popular: int = 0) -> list[tuple[int, ...]]:
    """The ring cells' campaigns as sets of cell positions (0 .. CELLS - 1), ids aside."""
    partition, aff, sig, ring_ids = ring_world(unrelated, rng_seed, popular)
    camp = cluster_campaigns(partition, aff, sig, GraphConfig(), CommunityConfig(campaign_resolution=0.35))
    ring = camp.filter(pl.col("cluster_id").is_in(ring_ids)).with_columns(
        (pl.col("cluster_id") - ring_ids[0]).alias("position"))
    return sorted(tuple(sorted(g)) for g in ring.group_by("campaign_id").agg("position")["position"].to_list())


def test_unrelated_groups_elsewhere_do_not_regroup_a_rings_cells():
    for rng_seed in range(6):
        alone = ring_grouping(0, rng_seed)
        assert len(alone) < CELLS, "the ring's cells are tied: some share a campaign"
        for unrelated in (1, 3, 7):
            assert ring_grouping(unrelated, rng_seed) == alone, (rng_seed, unrelated)


def test_a_rings_tame_cells_keep_their_inherited_flags_when_unrelated_groups_appear():
    for rng_seed in range(6):
        flagged = []
        for unrelated in (0, 5):
            partition, aff, sig, ring_ids = ring_world(unrelated, rng_seed)
            camp = cluster_campaigns(partition, aff, sig, GraphConfig())
            # The first ring cell is loud; the others are tame and flagged only through its campaign.
            clusters = camp.join(partition.group_by("cluster_id").agg(pl.len().alias("size")), on="cluster_id").with_columns(
                pl.when(pl.col("cluster_id") == ring_ids[0]).then(0.9).otherwise(0.1).alias("score"),
                (pl.col("cluster_id") == ring_ids[0]).alias("flagged"), pl.lit("").alias("why"))
            out = flag_with_campaign(clusters).filter(pl.col("cluster_id").is_in(ring_ids)).sort("cluster_id")
            flagged.append(out["flagged"].to_list())
        assert flagged[0] == flagged[1], rng_seed


def test_a_template_many_cells_share_ties_the_same_cells_whoever_else_is_clustered():
    # Values held by more clusters than a clique would link: the projection's sparsifier linked them by
    # random cycles over node numbers, which an unrelated group shifts.
    for rng_seed in range(4):
        alone = ring_grouping(0, rng_seed, popular=6)
        for unrelated in (1, 4):
            assert ring_grouping(unrelated, rng_seed, popular=6) == alone, (rng_seed, unrelated)
