"""Blocks: a cluster of two dense blocks joined by a sparse seam is split; a homogeneous one never is."""

import numpy as np
import polars as pl
import pytest

from graphlink.config import CommunityConfig
from graphlink.stages.blocks import split_blocks
from graphlink.stages.communities import build_graph, detect_communities


def random_blocks(sizes, inside, seam, seed, weight=8.0):
    """Random graph of blocks: pairs in one block linked with probability ``inside``, across with ``seam``;
    heavy weights (8 per link, as the friends shared by two bots of one trader)."""
    rng = np.random.default_rng(seed)
    block = np.repeat(np.arange(len(sizes)), sizes)
    n = len(block)
    i, j = np.triu_indices(n, 1)
    chance = np.where(block[i] == block[j], inside, seam)
    linked = rng.random(len(i)) < chance
    edges = pl.DataFrame({"source": i[linked].astype(np.uint32), "target": j[linked].astype(np.uint32),
                          "weight": rng.uniform(0.5, 2.0, int(linked.sum())) * weight})
    return edges, block


def clusters_of(edges, n, seed):
    config = CommunityConfig(seed=seed)
    return detect_communities(build_graph(edges, n), config, edges)["cluster_id"].fill_null(-1).to_numpy()


@pytest.mark.parametrize("seed", range(5))
def test_two_dense_blocks_joined_by_a_sparse_seam_are_two_clusters(seed):
    edges, block = random_blocks([60, 40], inside=0.4, seam=0.05, seed=seed)
    # The seam alone carries ~8 x 0.05 = 0.4 per pair, twice the CPM resolution (0.2): without the
    # block rule Leiden keeps the two blocks in one cluster.
    seam_per_pair = edges.filter(pl.col("source") < 60, pl.col("target") >= 60)["weight"].sum() / (60 * 40)
    assert seam_per_pair > 2 * CommunityConfig().resolution
    cluster = clusters_of(edges, len(block), seed)
    first, second = cluster[block == 0], cluster[block == 1]
    # Each block is (nearly all) one cluster, and the two clusters differ.
    major = [np.bincount(part[part >= 0]).argmax() for part in (first, second)]
    assert major[0] != major[1]
    assert (first == major[0]).mean() >= 0.9 and (second == major[1]).mean() >= 0.9


@pytest.mark.parametrize("seed", range(8))
def test_one_dense_block_of_equal_size_is_not_split(seed):
    # One block of the same 100 accounts at the two-block graph's overall link density (~0.24).
    edges, block = random_blocks([100], inside=0.24, seam=0.0, seed=100 + seed)
    cluster = clusters_of(edges, len(block), seed)
    assert len(set(cluster[cluster >= 0].tolist())) == 1 and (cluster >= 0).mean() >= 0.9
    labels = split_blocks(np.zeros(100, dtype=np.int64), edges["source"].to_numpy(), edges["target"].to_numpy(), seed)
    assert (labels == 0).all()


@pytest.mark.parametrize("seed", range(4))
def test_a_sparse_homogeneous_block_is_not_split(seed):
    # Sparse random graphs have partitions with thin seams by chance (a random graph of mean degree 5):
    # the union bound over all partitions must hold them together.
    edges, block = random_blocks([120], inside=5 / 119, seam=0.0, seed=200 + seed)
    labels = split_blocks(np.zeros(120, dtype=np.int64), edges["source"].to_numpy(), edges["target"].to_numpy(), seed)
    assert (labels == 0).all()


def test_split_blocks_share_a_campaign_from_their_whole():
    # detect_communities(wholes=True): both blocks keep the cluster they were split from.
    edges, block = random_blocks([60, 40], inside=0.4, seam=0.05, seed=11)
    found = detect_communities(build_graph(edges, len(block)), CommunityConfig(seed=11), edges, wholes=True)
    assert found["cluster_id"].drop_nulls().n_unique() >= 2
    assert found.drop_nulls("cluster_id")["whole_id"].n_unique() == 1


@pytest.mark.parametrize("seed", range(3))
def test_sub_groups_tied_across_by_heavier_links_are_not_split_when_weights_are_given(seed):
    # One operator's cell: two sub-groups each on a shared address (light links inside), tied
    # across by the operator's rarer values (links three times as heavy): a seam of fewer links
    # but not of weaker evidence.
    edges, block = random_blocks([60, 40], inside=0.4, seam=0.05, seed=seed)
    src, dst = edges["source"].to_numpy(), edges["target"].to_numpy()
    across = block[src] != block[dst]
    weight = np.where(across, 3.0, 1.0)
    labels = np.zeros(len(block), dtype=np.int64)
    assert len(set(split_blocks(labels, src, dst, seed).tolist())) >= 2  # links alone: two blocks
    assert (split_blocks(labels, src, dst, seed, weight=weight) == 0).all()
    assert len(set(split_blocks(labels, src, dst, seed, weight=np.ones(len(src))).tolist())) >= 2


def test_a_busy_core_and_a_quiet_periphery_are_not_two_blocks():
    # Members differ only in how many links they have (expected links of i and j proportional to
    # their activity): the quiet members are linked less to each other than to the core.
    rng = np.random.default_rng(7)
    activity = np.r_[np.full(30, 0.9), np.full(70, 0.25)]
    i, j = np.triu_indices(100, 1)
    linked = rng.random(len(i)) < activity[i] * activity[j]
    labels = split_blocks(np.zeros(100, dtype=np.int64), i[linked], j[linked], 42)
    assert (labels == 0).all()


def test_three_blocks_become_three_and_small_communities_are_left_alone():
    edges, block = random_blocks([40, 30, 30], inside=0.5, seam=0.03, seed=3)
    src, dst = edges["source"].to_numpy(), edges["target"].to_numpy()
    # Community 0: the three blocks; the 10-member community 1 on its own (below the size examined).
    labels = np.r_[np.zeros(100, dtype=np.int64), np.ones(10, dtype=np.int64)]
    small = np.array([(100 + a, 100 + b) for a in range(10) for b in range(a + 1, 10)])
    out = split_blocks(labels, np.r_[src, small[:, 0]], np.r_[dst, small[:, 1]], seed=1)
    assert len(set(out[100:].tolist())) == 1 and out[100] not in set(out[:100].tolist())
    parts = [set(out[:100][block == b].tolist()) for b in range(3)]
    assert all(len(p) == 1 for p in parts) and len(set().union(*parts)) == 3
    before = out - out % len(out)  # the community each block was split from
    assert (before[:100] == before[0]).all() and before[100] != before[0]
    again = split_blocks(labels, np.r_[src, small[:, 0]], np.r_[dst, small[:, 1]], seed=1)
    assert (again == out).all()  # same input and seed, same labels
