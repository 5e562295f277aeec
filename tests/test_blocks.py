"""Blocks: a cluster of two dense blocks joined by a sparse seam is split; a homogeneous one never is."""

from statistics import NormalDist

import numpy as np
import polars as pl
import pytest

from graphlink.config import CommunityConfig
from graphlink.stages.blocks import SEAM_ALPHA, mann_whitney_z, split_blocks
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


def two_blocks_with_weights(seed, inner_scale=(1.0, 1.0), seam_scale=1.0, sizes=(60, 40)):
    """Two random blocks (link density 0.4 inside, 0.05 across) with heavy-tailed weights (lognormal,
    sigma 1, times a scale per block and for the seam): ``(source, target, weight, block)``."""
    edges, block = random_blocks(list(sizes), inside=0.4, seam=0.05, seed=seed)
    src, dst = edges["source"].to_numpy().astype(np.int64), edges["target"].to_numpy().astype(np.int64)
    scale = np.where(block[src] != block[dst], seam_scale, np.asarray(inner_scale)[block[src]])
    weight = np.random.default_rng(1000 + seed).lognormal(0.0, 1.0, len(src)) * scale
    return src, dst, weight, block


def two_parts(labels, block):
    """Each true block is (nearly all) one part, and the two parts differ."""
    major = [np.bincount(labels[block == b]).argmax() for b in (0, 1)]
    return major[0] != major[1] and all((labels[block == b] == major[b]).mean() >= 0.9 for b in (0, 1))


@pytest.mark.parametrize("seed", range(8))
def test_two_blocks_joined_by_a_seam_no_heavier_than_their_links_are_split(seed):
    # (a) Two unrelated groups tied by incidental links: every link's weight from one heavy-tailed
    # distribution, or the seam's lighter. Rule 5 must not stand in the way of rules 3-4.
    for seam_scale in (1.0, 0.5):
        src, dst, weight, block = two_blocks_with_weights(seed, seam_scale=seam_scale)
        labels = split_blocks(np.zeros(len(block), dtype=np.int64), src, dst, seed, weight=weight)
        assert two_parts(labels, block), seam_scale


@pytest.mark.parametrize("seed", range(4))
def test_a_seam_between_a_heavy_and_a_light_block_is_no_reason_to_keep_them_whole(seed):
    # A heavily linked group beside a lightly linked one (weights 8 and 2 per link on average), the
    # seam in between (4): heavier than the light block's links, lighter than the heavy block's.
    # Tested block by block the light block would refuse the split; pooled, the seam is no heavier
    # than the blocks' links.
    src, dst, weight, block = two_blocks_with_weights(seed, inner_scale=(8.0, 2.0), seam_scale=4.0)
    across = block[src] != block[dst]
    light = (block[src] == 1) & ~across
    assert mann_whitney_z(weight[light], weight[across]) > 3  # the light block alone: seam heavier
    labels = split_blocks(np.zeros(len(block), dtype=np.int64), src, dst, seed, weight=weight)
    assert two_parts(labels, block)


@pytest.mark.parametrize("seed", range(6))
def test_one_cell_of_sub_groups_tied_by_heavier_links_is_not_split(seed):
    # (b) One operator's cell: each sub-group shares one popular card (the same light weight on
    # every link inside, now and then a rarer value on top), tied across by the operator's rarer
    # values (heavier, heavy-tailed).
    edges, block = random_blocks([60, 40], inside=0.4, seam=0.05, seed=seed)
    src, dst = edges["source"].to_numpy().astype(np.int64), edges["target"].to_numpy().astype(np.int64)
    rng = np.random.default_rng(2000 + seed)
    across = block[src] != block[dst]
    rare = rng.lognormal(0.5, 1.0, len(src))
    weight = np.where(across, rare, 0.3 + (rng.random(len(src)) < 0.1) * rare)
    labels = np.zeros(len(block), dtype=np.int64)
    assert len(set(split_blocks(labels, src, dst, seed).tolist())) >= 2  # links alone: two blocks
    assert (split_blocks(labels, src, dst, seed, weight=weight) == 0).all()


@pytest.mark.parametrize("seed", range(3))
def test_the_seam_test_sees_only_the_order_of_the_weights(seed):
    # (c) Scaling every weight or any increasing transform gives the same labels, and one enormous
    # seam link (vk-bots' heaviest link weighs 2,250, its 99th percentile 80) does not keep two
    # blocks whole (it moves a mean weight 20-fold; a rank sum by one place).
    cases = [two_blocks_with_weights(seed), two_blocks_with_weights(seed, inner_scale=(8.0, 2.0), seam_scale=4.0)]
    edges, block = random_blocks([60, 40], inside=0.4, seam=0.05, seed=seed)
    src, dst = edges["source"].to_numpy().astype(np.int64), edges["target"].to_numpy().astype(np.int64)
    cases.append((src, dst, np.where(block[src] != block[dst], 3.0, 1.0), block))  # (b) as above
    for src, dst, weight, block in cases:
        zero = np.zeros(len(block), dtype=np.int64)
        labels = split_blocks(zero, src, dst, seed, weight=weight)
        for other in (1000 * weight, np.log1p(weight), weight ** 3, np.sqrt(weight) + 7):
            assert (split_blocks(zero, src, dst, seed, weight=other) == labels).all()
    src, dst, weight, block = cases[0]
    across = np.flatnonzero(block[src] != block[dst])
    heavy = weight.copy()
    heavy[across[0]] = 1e6
    assert heavy[across].mean() > 20 * weight[block[src] == block[dst]].mean()
    assert two_parts(split_blocks(np.zeros(len(block), dtype=np.int64), src, dst, seed, weight=heavy), block)


def test_mann_whitney_z_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")  # a test-only oracle
    rng = np.random.default_rng(5)
    for a, b, values in [(40, 25, 5), (300, 60, 1000), (12, 7, 3), (200, 3, 50)]:
        inner = rng.integers(0, values, a).astype(np.float64)  # few values: many ties
        seam = rng.integers(1, values + 1, b).astype(np.float64)
        z = mann_whitney_z(inner, seam)
        p = stats.mannwhitneyu(seam, inner, alternative="greater", method="asymptotic").pvalue
        assert NormalDist().cdf(-z) == pytest.approx(p, rel=1e-9, abs=1e-12)
    assert mann_whitney_z(np.ones(10), np.ones(5)) == 0.0  # every value tied: no evidence
    assert mann_whitney_z(np.ones(10), np.array([])) == 0.0


def test_a_seam_of_one_link_never_refuses_a_split():
    # However heavy, one seam link is no evidence that the seam outweighs the blocks (z <= sqrt(3)).
    critical = NormalDist().inv_cdf(1 - SEAM_ALPHA)
    assert mann_whitney_z(np.arange(10_000.0), np.array([1e12])) < min(3 ** 0.5, critical)
    assert mann_whitney_z(np.arange(10_000.0), np.array([1e12, 1e13])) > critical  # two, both heaviest: may
