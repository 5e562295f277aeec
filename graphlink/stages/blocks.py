"""Blocks: split a cluster made of two or more dense blocks joined by a sparse seam.

The CPM resolution (:class:`graphlink.config.CommunityConfig`) is an absolute weight per member
pair. Where evidence is heavier than the simulator's (vk-bots: two bot traders' friend blocks of
densities 0.40 and 0.42, mean weight 8-10 per linked pair, joined by a seam of density 0.08, about
0.6 per pair), a seam far above the resolution keeps two blocks in one cluster. This stage looks
inside each cluster at its own scale, finding and testing blocks on its links (weights enter only in 5):

1. **Candidate blocks.** Leiden CPM (Traag, Van Dooren & Nesterov 2011; Traag, Waltman & van Eck
   2019) on the cluster's unweighted links at resolution ``p``, the cluster's own link density
   (links / member pairs). Relative to ``p`` the quality of a partition is
   ``p x pairs across parts - links across parts``: how much sparser its seams are than the
   cluster's average. The density is scale-free: no weight unit enters. Parts smaller than
   :data:`MIN_BLOCK` (loose members, small fragments) join the block they have most links to.
2. **Levels.** The blocks are merged two at a time, the pair with the densest seam first, down to
   two; each level is a candidate partition.
3. **Significance.** A level of ``k`` blocks is kept only if its seam deficit
   ``t = p x X - cut`` (``X`` member pairs across blocks, ``cut`` links across) exceeds what a
   homogeneous cluster gives to the best of all partitions: if every member pair were linked
   independently with probability ``p`` (one ring's proxy pool, one office), the links across a
   fixed partition are a sum of Bernoulli variables whose lower tail is at most
   ``exp(-t^2 / (2 p X))`` (Chernoff), and there are at most ``k^n`` partitions into ``k`` blocks
   and ``K`` levels, so ``t^2 >= 2 p X (n ln k + ln(K / alpha))`` is met by chance with probability
   at most :data:`SPLIT_ALPHA` (a union bound: the search over partitions is paid for).
4. **Blocks, not a core and its periphery.** Every block must be at least :data:`BLOCK_RATIO`
   times as densely linked inside as to the rest of the cluster: a cluster whose members differ
   only in how many links they have (a busy core, a quiet periphery) has a significant deficit
   but a periphery sparser inside than towards the core.
5. **A weaker seam, not only a sparser one** (when weights are given, as
   :func:`graphlink.stages.communities.partition_component` does): the split is refused when the
   seam's links are significantly *heavier* than the blocks' own links, pooled: a one-sided
   Mann-Whitney rank-sum test (Mann & Whitney 1947; normal approximation with the tie-corrected
   variance and a continuity correction, Lehmann 1975, *Nonparametrics*, ch. 1) of "a seam link
   outweighs a link inside a block" against "which links fall across is unrelated to their weights",
   at :data:`SEAM_ALPHA`, when its effect is also at least "small" (:data:`SEAM_EFFECT`: the seam link
   outweighs 56 % or more of the (inner, seam) pairs; significance alone grows with the number of
   links). A simulated operator's cell on several shared addresses or cards is sub-groups of light
   links tied across by the operator's rarer, heavier values: the seam is the stronger evidence. Two
   unrelated groups are tied by incidental links no heavier than their own. Ranks make the test free
   of the weight unit and of the heavy tail (vk-bots: 99th percentile 80, largest 2,250; one huge seam
   link moves a mean without bound, a rank sum by at most the number of links). The blocks' links are
   pooled, not tested block by block: where a light cell meets a heavy one the seam lies between their
   weights, heavier than the light cell's own links (dev ind_s3_11000: cell0039 beside cell0029, 68 %
   of seam-inner pairs won by the seam) but not than the blocks' links together. A seam of few links
   is no evidence either way and the split stands on 3-4: one link never refuses it (the largest z is
   sqrt(3)), two only when both outweigh some 97 % of the links inside (the normal approximation is
   conservative there).

Among the levels that pass 4 and 5, the one with the largest ``t`` over its threshold is taken when it
passes 3; each of its blocks is examined again the same way (a block may hold blocks at its own,
higher, density), up to :data:`MAX_DEPTH` levels deep.

Measured (BENCHMARKS.md, "Seventeenth pass (session 17): clusters that are two blocks" and
"Eighteenth pass (session 18): the seam-weight test"): vk-bots' 457-account cluster splits into its
PARIK and MARSHRUTKA blocks; on the dev independent worlds clusters of several cells split along cell
boundaries, and no cluster of one cell or team splits on the dev scenario or independent worlds.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import polars as pl

__all__ = ["BLOCK_RATIO", "MAX_DEPTH", "MIN_BLOCK", "SEAM_ALPHA", "SEAM_EFFECT", "SPLIT_ALPHA", "SPLIT_MIN_SIZE",
           "mann_whitney_z", "split_blocks", "split_cluster", "split_wholes"]

#: Only clusters of at least this many members are examined: two blocks of :data:`MIN_BLOCK` or more
#: with room for loose members. Below it the union bound (``n ln 2``) asks for nearly empty seams
#: anyway, and the many small clusters of a large run cost a Leiden call each.
SPLIT_MIN_SIZE = 20
#: The smallest block: five accounts is the smallest group worth a cluster of its own when it sits
#: inside a larger one (the scorer flags from ``min_flag_size``, 5); smaller Leiden parts are loose
#: members and join the block they have most links to.
MIN_BLOCK = 5
#: The chance that a homogeneous cluster (member pairs linked independently at its density) is
#: split at all: 1 in 100 per cluster examined, and the bound is loose (the best bisection of a
#: random graph falls short of it by a third, Dembo, Montanari & Sen 2017).
SPLIT_ALPHA = 0.01
#: A block is linked inside at least this many times as densely as to the rest of its cluster: what
#: "a block" means, kept apart from the significance test (a partition whose deficit comes from
#: quiet members with few links anywhere is not two blocks). vk-bots' two traders: 0.37-0.41 inside
#: against 0.09 across (4-5x); the split cells of the dev world ind_s3_11000: 0.41-0.77 against
#: 0.05-0.14. On these inputs the significance test decided every case; this is a guard.
BLOCK_RATIO = 2.0
#: The chance that a split whose seam is no heavier than its blocks' links is refused by chance (rule
#: 5, one test per level): the same 1 in 100 as :data:`SPLIT_ALPHA`, so a two-block cluster loses its
#: split to chance no more often than a homogeneous one gains one. Not fitted; against the dev data
#: (ind 1-3 events only, +accounts, orgs; scenarios 1000-1001; vk-bots): the seams of
#: one cell or team gave z 3.2-35 (one 35-account cell first splits below 0.07 %), the splits taken
#: between cells z <= 1.2 at the top level (refused above 12 %) and 2.2 inside a block of several
#: cells (a rank effect of 0.51 on thousands of links; refused above 1.4 %).
SEAM_ALPHA = 0.01
#: ...and only when the seam is heavier by a size worth naming, not only significantly: the share of
#: (inner, seam) link pairs the seam link outweighs (ties a half; the Vargha-Delaney ``A``, the rank-sum
#: ``U / (a b)``) is at least 0.56, their "small" effect (Vargha & Delaney 2000, J. Educ. Behav. Stat.
#: 25(2), 101-132; 0.64 medium, 0.71 large). Between two big groups thousands of links make a trivially
#: heavier seam significant (a 400- and a 300-account group, seam weights x 1.1: A 0.518, z 2.86); an
#: operator's seam of rarer values is far heavier (dev: the one-cell seams won 70-88 % of pairs).
SEAM_EFFECT = 0.56
#: Blocks are examined again inside at most this many times: a bound on the work, not a rule of the
#: data (the dev worlds and vk-bots never went past 2).
MAX_DEPTH = 4


def split_blocks(labels: np.ndarray, source: np.ndarray, target: np.ndarray, seed: int = 42,
                 min_size: int = SPLIT_MIN_SIZE, weight: np.ndarray | None = None) -> np.ndarray:
    """Split every community made of dense blocks joined by a sparse seam (module docstring).

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
        Community label of every vertex (arbitrary non-negative integers).
    source, target : ndarray of int, shape (m,)
        The graph's edges (vertex numbers ``0 .. n - 1``).
    weight : ndarray of float, shape (m,), optional
        Edge weights (any unit; only their order is used): when given, a seam of links significantly
        heavier than the blocks' own is no seam (module docstring, 5; :data:`SEAM_ALPHA`). Blocks are
        found and tested on the links alone.
    seed : int
        Leiden's random seed (:class:`graphlink.config.CommunityConfig` ``seed``): the same input
        and seed give the same labels.
    min_size : int
        Communities smaller than this are kept as they are (:data:`SPLIT_MIN_SIZE`).

    Raises
    ------
    ValueError
        If a weight is NaN (``inf`` is a rank like any other).

    Returns
    -------
    ndarray of int64, shape (n,)
        ``label x n + block``: ``block`` is 0 for every member of a community that is not split
        and numbers the blocks of one that is (``out - out % n`` is the community before the split).

    Examples
    --------
    Two 12-account cliques joined by one link are split; one 24-account clique is not.

    >>> a = [(i, j) for i in range(12) for j in range(i + 1, 12)]
    >>> edges = np.array(a + [(i + 12, j + 12) for i, j in a] + [(0, 12)])
    >>> out = split_blocks(np.zeros(24, dtype=np.int64), edges[:, 0], edges[:, 1], min_size=20)
    >>> len(set(out[:12])), len(set(out[12:])), bool(out[0] == out[12]), set((out - out % 24).tolist())
    (1, 1, False, {0})
    >>> whole = np.array([(i, j) for i in range(24) for j in range(i + 1, 24)])
    >>> len(set(split_blocks(np.zeros(24, dtype=np.int64), whole[:, 0], whole[:, 1], min_size=20)))
    1
    """
    labels = np.asarray(labels, dtype=np.int64)
    if weight is not None and np.isnan(np.asarray(weight, dtype=np.float64)).any():
        raise ValueError(f"split_blocks: {int(np.isnan(np.asarray(weight, dtype=np.float64)).sum())} edge weight(s) "
                         "are NaN; a rank test cannot order them (the projection never makes one: a bug upstream)")
    n = len(labels)
    out = labels * n
    if n < min_size or len(source) == 0:
        return out
    _, group, size = np.unique(labels, return_inverse=True, return_counts=True)
    big = size[group] >= min_size
    if not big.any():
        return out
    source, target = np.asarray(source, dtype=np.int64), np.asarray(target, dtype=np.int64)
    order = np.argsort(group, kind="stable")  # vertices by community, ascending within each
    rank = np.empty(n, dtype=np.int64)
    starts = np.r_[0, np.cumsum(size)]
    rank[order] = np.arange(n) - starts[group[order]]  # each vertex's position within its community
    inside = (group[source] == group[target]) & big[source]
    e_group = group[source[inside]]
    e_order = np.argsort(e_group, kind="stable")
    e_src, e_dst, e_group = rank[source[inside]][e_order], rank[target[inside]][e_order], e_group[e_order]
    e_weight = None if weight is None else np.asarray(weight, dtype=np.float64)[inside][e_order]
    for g in np.flatnonzero(size >= min_size):
        lo, hi = np.searchsorted(e_group, [g, g + 1])
        parts = split_cluster(e_src[lo:hi], e_dst[lo:hi], int(size[g]), seed,
                              weight=None if e_weight is None else e_weight[lo:hi])
        members = order[starts[g]:starts[g + 1]]
        out[members] += parts  # blocks number 0 .. k - 1 < size <= n
    return out


def split_cluster(source: np.ndarray, target: np.ndarray, n: int, seed: int = 42, depth: int = 0,
                  weight: np.ndarray | None = None) -> np.ndarray:
    """Blocks of one cluster: labels ``0 .. k - 1`` (all 0 when it is not split; module docstring).

    ``source``, ``target`` are the cluster's links between members ``0 .. n - 1`` (each once),
    ``weight`` their weights (optional; module docstring, 5).
    """
    keep = np.zeros(n, dtype=np.int64)
    if n < 2 * MIN_BLOCK or len(source) == 0 or depth >= MAX_DEPTH:
        return keep
    p = len(source) / (n * (n - 1) / 2)
    blocks = _candidate_blocks(source, target, n, p, seed)
    if blocks.max() == 0:
        return keep
    found = _best_level(blocks, source, target, n, p, weight)
    if found is None:
        return keep
    out, next_label = keep, 0
    for b in range(int(found.max()) + 1):
        members = np.flatnonzero(found == b)
        both = (found[source] == b) & (found[target] == b)
        sub = split_cluster(np.searchsorted(members, source[both]), np.searchsorted(members, target[both]),
                            len(members), seed, depth + 1, None if weight is None else weight[both])
        out[members] = sub + next_label
        next_label += int(sub.max()) + 1
    return out


def _leiden_cpm(source: np.ndarray, target: np.ndarray, n: int, resolution: float, seed: int) -> np.ndarray:
    """Leiden CPM labels of an unweighted graph (unit weights), through the partition's own
    :func:`graphlink.stages.communities.leiden_membership` (igraph, seeded)."""
    import igraph as ig

    from graphlink.config import CommunityConfig
    from graphlink.stages.communities import edge_tuples, leiden_membership  # communities imports this module
    # Tuples zipped from two lists with the collector paused (communities.edge_tuples): the rows of a 2-D
    # ``tolist`` are lists the collector tracks, 1.9 of the 3.5 s split_blocks took on the campaign
    # preset's giant component. The same edges in the same order: the same graph.
    graph = ig.Graph(n=n, edges=edge_tuples(source.tolist(), target.tolist()), edge_attrs={"weight": [1.0] * len(source)})
    config = CommunityConfig(resolution=resolution, objective="CPM", n_iterations=-1, backend="igraph", seed=seed)
    return np.asarray(leiden_membership(graph, config), dtype=np.int64)


def _candidate_blocks(source: np.ndarray, target: np.ndarray, n: int, p: float, seed: int) -> np.ndarray:
    """Leiden parts of at least :data:`MIN_BLOCK` members, loose members joined to the block they link to most."""
    parts = _leiden_cpm(source, target, n, p, seed)
    size = np.bincount(parts)
    block_of = np.full(len(size), -1, dtype=np.int64)
    kept = np.flatnonzero(size >= MIN_BLOCK)
    if len(kept) < 2:
        return np.zeros(n, dtype=np.int64)
    block_of[kept] = np.arange(len(kept))
    labels, k = block_of[parts], len(kept)
    a, b = np.r_[source, target], np.r_[target, source]
    for _ in range(n):  # a loose member linked only to loose members joins once they have joined
        loose = labels < 0
        reach = loose[a] & (labels[b] >= 0)
        if not reach.any():
            break
        links = np.bincount(a[reach] * k + labels[b[reach]], minlength=n * k).reshape(n, k)
        joined = loose & (links.max(axis=1) > 0)
        labels[joined] = links[joined].argmax(axis=1)  # ties: the first block
    labels[labels < 0] = int(np.bincount(labels[labels >= 0]).argmax())  # unlinked to any block: the largest
    return labels


def mann_whitney_z(inner: np.ndarray, seam: np.ndarray) -> float:
    """One-sided Mann-Whitney z that ``seam`` is stochastically heavier than ``inner`` (module docstring, 5).

    Parameters
    ----------
    inner, seam : ndarray of float, shapes (a,) and (b,)
        The two samples (link weights; any unit, only their order counts, ties get mid-ranks).

    Returns
    -------
    float
        ``(U - a b / 2 - 1/2) / sd``: ``U`` counts the (inner, seam) pairs the seam link outweighs
        (ties count a half), ``sd`` its standard deviation under "both samples from one distribution"
        with the tie correction (Lehmann 1975); 0.0 when a sample is empty or every value is tied.
        ``NormalDist().cdf(-z)`` is the p-value of ``scipy.stats.mannwhitneyu(seam, inner,
        alternative="greater", method="asymptotic")``.

    Examples
    --------
    >>> round(mann_whitney_z(np.array([1.0, 2, 3, 4]), np.array([5.0, 6, 7])), 2)
    1.94
    >>> mann_whitney_z(np.array([1.0, 2]), np.array([]))
    0.0
    """
    inner, seam = np.asarray(inner, dtype=np.float64), np.asarray(seam, dtype=np.float64)
    ranks, ties = _mid_ranks(np.r_[inner, seam])
    return _rank_sum_z(float(ranks[len(inner):].sum()), len(inner), len(seam), ties)


def _mid_ranks(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Ranks ``1 .. m`` of ``values`` (tied values share their mean rank) and the tie term ``sum(t^3 - t)``."""
    _, position, count = np.unique(values, return_inverse=True, return_counts=True)
    mid = np.cumsum(count) - (count - 1) / 2.0
    return mid[position], float((count.astype(np.float64) ** 3 - count).sum())


def _rank_sum_z(seam_ranks: float, n_inner: int, n_seam: int, ties: float) -> float:
    """:func:`mann_whitney_z` from the seam's rank sum among all ``n_inner + n_seam`` values."""
    total = n_inner + n_seam
    if n_inner == 0 or n_seam == 0:
        return 0.0
    variance = n_inner * n_seam / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    if variance <= 0:
        return 0.0
    u = seam_ranks - n_seam * (n_seam + 1) / 2.0
    return (u - n_inner * n_seam / 2.0 - 0.5) / math.sqrt(variance)


def _heavier_seam(labels: np.ndarray, source: np.ndarray, target: np.ndarray,
                  ranks: tuple[np.ndarray, float] | None) -> bool:
    """The seam's links are significantly heavier than the blocks' (rank-sum test at :data:`SEAM_ALPHA`);
    ``ranks`` are the links' weight ranks and tie term (:func:`_mid_ranks`), None without weights."""
    if ranks is None:
        return False
    across = labels[source] != labels[target]
    n_inner, n_seam = int((~across).sum()), int(across.sum())
    seam_ranks = float(ranks[0][across].sum())
    if n_inner == 0 or n_seam == 0:
        return False
    effect = (seam_ranks - n_seam * (n_seam + 1) / 2.0) / (n_inner * n_seam)  # Vargha-Delaney A = U / (a b)
    return (effect >= SEAM_EFFECT
            and _rank_sum_z(seam_ranks, n_inner, n_seam, ranks[1]) >= NormalDist().inv_cdf(1 - SEAM_ALPHA))


def _best_level(blocks: np.ndarray, source: np.ndarray, target: np.ndarray, n: int, p: float,
                weight: np.ndarray | None = None) -> np.ndarray | None:
    """The most significant level of the blocks merged two at a time, or ``None`` (module docstring, 2-4)."""
    levels = int(blocks.max()) + 1
    best, best_z, current = None, 1.0, blocks.copy()
    ranks = None if weight is None else _mid_ranks(np.asarray(weight, dtype=np.float64))  # the same at every level
    for k in range(levels, 1, -1):
        size = np.bincount(current, minlength=k).astype(np.float64)
        links = np.bincount(current[source] * k + current[target], minlength=k * k).reshape(k, k).astype(np.float64)
        links = links + links.T
        inner = np.diag(links) / 2
        np.fill_diagonal(links, 0.0)
        across_pairs = n * (n - 1) / 2 - float((size * (size - 1) / 2).sum())
        deficit = p * across_pairs - links.sum() / 2
        need = math.sqrt(2 * p * across_pairs * (n * math.log(k) + math.log(levels / SPLIT_ALPHA)))
        inside = inner / np.maximum(size * (size - 1) / 2, 1)
        seam = links.sum(axis=1) / np.maximum(size * (n - size), 1)
        if bool((inside >= BLOCK_RATIO * seam).all()) and deficit / need >= best_z \
                and not _heavier_seam(current, source, target, ranks):
            best, best_z = current.copy(), deficit / need
        between = links / np.maximum(np.outer(size, size), 1)  # merge the two blocks of the densest seam
        np.fill_diagonal(between, -1.0)
        i, j = sorted(np.unravel_index(int(between.argmax()), between.shape))
        current = np.where(current == j, i, current)
        current = np.where(current > j, current - 1, current)
    return best


def split_wholes(partition: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """``(account_idx, cluster_id; the clusters before blocks were split)`` from a partition with ``whole_id``
    (:func:`graphlink.stages.communities.detect_communities`); the second is None when no cluster was split.
    A split cluster's blocks are cells; campaigns are grouped from the clusters as Leiden found them unless
    campaign evidence places the blocks apart (:func:`graphlink.stages.campaign_wholes.tied_wholes`): on dev
    worlds grouping the blocks themselves moved blocks of one operator's campaign into others (ind_s2_11000,
    with accounts: campaign ARI 0.69 -> 0.30), and two bot traders' blocks (vk-bots) are not one campaign."""
    wholes = partition.select("account_idx", pl.col("whole_id").alias("cluster_id"))
    split = partition.drop_nulls("cluster_id").group_by("whole_id").agg(pl.col("cluster_id").n_unique().alias("n"))
    return partition.drop("whole_id"), wholes if split.filter(pl.col("n") > 1).height else None
