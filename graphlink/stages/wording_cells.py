"""Wording cells: split a cluster whose members write in two or more clearly different ways.

Why (issue 17, session 45's diagnosis, BENCHMARKS.md "Where ARI by cell is lost"): an operator runs several
cells, and on the dev independent worlds cells that share the operator's proxy pool, card pool or the commercial
proxy network everybody rents are one Leiden cluster (dev a1: one cluster of 373 ring accounts of 18 cells).
The addresses and cards that merged them cannot part them; what tells sibling cells apart is what each cell
sends: 65-76 % of sibling cell pairs differ in their template wording (``prompt`` phrases), more than in any
address or card kind. Those phrases weigh little in the projection (``prompt`` is weak: it only reinforces a
card or an address), so Leiden never sees them as a seam. This stage looks inside each large cluster at its
members' prompt phrases alone:

1. **Candidate blocks.** Each member's phrases (every ``prompt`` value it holds) weighted by their inverse
   document frequency inside the cluster (``log(n / holders)``: a phrase every member sends says nothing about
   which block one is in), members compared by cosine; each member linked to its :data:`NEIGHBOURS` most
   similar members and Leiden run for modularity (Newman 2006; Traag, Waltman & van Eck 2019) on that
   neighbour graph (a k-nearest-neighbour graph as in spectral clustering, von Luxburg 2007, section 2.2:
   it keeps the local structure of a dense similarity without a threshold of its own). Parts smaller than
   :data:`graphlink.stages.blocks.MIN_BLOCK` join the block they are most similar to.
2. **Blocks that differ clearly.** Two blocks are merged back while the mean Jaccard similarity of their
   members' phrase sets across the two (raw sets, no weights: a phrase all send counts) is at least
   ``1 / BLOCK_RATIO`` of the lower of the two blocks' mean Jaccard inside, the most similar pair first:
   every block left is at least :data:`graphlink.stages.blocks.BLOCK_RATIO` (2) times as similar inside as to
   any other block -- the same ratio :mod:`graphlink.stages.blocks` asks of a block's links. Raw sets make
   the test hard to pass by chance: members of one cell who differ only in rare phrases are near-identical
   on the phrases they all send (dev scenario templates 1001: a 499-account cell is left whole, while the
   neighbour graph alone cuts it in five).

3. **Blocks that write a script.** A block whose members share few phrases among themselves
   (:data:`MIN_INNER`) is free writers, not a cell: its members stay with the largest block, where the
   fleet-outsider rules judge them against the cluster's script.

A split cluster's blocks keep their cluster as their *whole* (:func:`graphlink.stages.blocks.split_wholes`):
campaigns are grouped from the clusters as they were, so the split cells stay one campaign unless campaign
evidence places them apart (:mod:`graphlink.stages.campaign_wholes`). Members that hold no phrase stay with the
largest block. A log without prompts has no ``prompt`` values and nothing is split.

Measured (BENCHMARKS.md, "Forty-sixth pass: wording cells"). Tried and not kept: active days and hours as
the features (dev a1 +0.06 to +0.18 but scenario templates 1001 -0.12 to -0.73: a scenario cell's members are
active on the same days), the neighbour graph's own block test (:func:`graphlink.stages.blocks.split_cluster`:
it assumes independent links, a neighbour graph is not; it split single cells).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.blocks import BLOCK_RATIO, MIN_BLOCK
from graphlink.stages.split_guard import SPLIT_FROM

__all__ = ["MAX_MEMBERS", "MIN_INNER", "MIN_MEMBERS", "NEIGHBOURS", "split_wording", "wording_blocks"]

#: Only clusters of this many members with phrases are examined: two blocks of :data:`MIN_BLOCK` with room
#: for loose members, as :data:`graphlink.stages.blocks.SPLIT_MIN_SIZE`.
MIN_MEMBERS = 20
#: Each member is linked to this many most similar members for the candidate blocks (von Luxburg 2007
#: suggests k of the order of log n; 10 is log n for clusters of 20,000 and more than enough below). Only the
#: candidates depend on it; the ratio test (2) decides.
NEIGHBOURS = 10
#: A block is a cell only when its members write alike: a mean Jaccard similarity of their phrase sets inside the
#: block of at least this. Free writers (a household on a card a ring used, co-workers asking their own questions)
#: share stock phrases at most and are no cell of their own: split off, they escaped the fleet-outsider rules that
#: judge a member against its cluster's script and were flagged through the card (session 46 suite:
#: test_break_session18 stolen_lone, 6 flagged). A cell sending one template with fill-ins shares most phrases.
MIN_INNER = 0.25
#: Larger clusters are not examined: the member-by-member similarity is dense (n^2 floats: 128 MB at
#: 4,000 members). A bound on the work, not a rule of the data (the dev worlds' largest cluster has 571).
MAX_MEMBERS = 4_000
#: Phrases held by at least this share of the members are counted in a dense product (:func:`_shared_counts`): a
#: bound on work, not a rule of the data. There are at most (phrases held) / (share k) of them, so the dense block
#: is at most 8 x (phrases held) float32 values (4,000 members holding 200 phrases each: 26 MB at the very worst),
#: and the sparse rest costs at most (phrases held) x k / 8 products.
DENSE_SHARE = 1 / 8


def wording_blocks(members: np.ndarray, phrases: np.ndarray, n: int, seed: int = 42) -> np.ndarray:
    """Blocks of one cluster by its members' phrases: labels ``0 .. k - 1`` (all 0 when it is not split).

    Parameters
    ----------
    members, phrases : ndarray of int, shape (m,)
        One row per (member, phrase) held: member ``0 .. n - 1``, phrase any non-negative integer (each pair once).
    n : int
        Members of the cluster (members holding no phrase get block 0).
    seed : int
        Leiden's random seed: the same input gives the same labels.

    Returns
    -------
    ndarray of int64, shape (n,)
        Block 0 is the largest; members without phrases are in it. Method: module docstring (1, 2).

    Examples
    --------
    Two groups of 12 members, each sending its own five phrases and one common one, split; one group of 24
    whose members each drop a different phrase does not.

    >>> m = np.repeat(np.arange(24), 6)
    >>> p = np.array([[0] + [1 + 5 * (i // 12) + j for j in range(5)] for i in range(24)]).ravel()
    >>> b = wording_blocks(m, p, 24)
    >>> len(set(b[:12])), len(set(b[12:])), bool(b[0] != b[12])
    (1, 1, True)
    >>> keep = np.array([j != i % 6 for i in range(24) for j in range(6)])
    >>> set(wording_blocks(m[keep], np.tile(np.arange(6), 24)[keep], 24).tolist())
    {0}
    """
    from scipy.sparse import csr_matrix

    out = np.zeros(n, dtype=np.int64)
    held, rows = np.unique(members, return_inverse=True)
    k = len(held)
    if k < max(MIN_MEMBERS, 2 * MIN_BLOCK) or k > MAX_MEMBERS:
        return out
    _, cols = np.unique(phrases, return_inverse=True)
    sets = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(k, int(cols.max()) + 1))
    inter = _shared_counts(sets)
    size = np.diag(inter).copy()
    jaccard = inter / np.maximum(size[:, None] + size[None, :] - inter, 1)
    holders = np.asarray(sets.sum(axis=0)).ravel()
    weighted = csr_matrix(sets.multiply(np.log(k / holders)[None, :]))
    weighted.eliminate_zeros()  # a phrase every member holds weighs 0: no work in the product below (bw47)
    norm = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    unit = csr_matrix(weighted.multiply(1 / np.where(norm > 0, norm, 1)[:, None]))
    cosine = (unit @ unit.T).toarray()
    np.fill_diagonal(cosine, -1)
    labels = _candidates(cosine, jaccard, seed)
    if labels.max() == 0:
        return out
    labels = _merged(labels, jaccard)
    if labels.max() == 0:
        return out
    labels = _scripted(labels, jaccard)
    if labels.max() == 0:
        return out
    order = np.argsort(-np.bincount(labels), kind="stable")  # block 0 the largest
    out[held] = np.argsort(order)[labels]
    return out


def _shared_counts(sets) -> np.ndarray:
    """``sets @ sets.T`` as a dense (k, k) array: phrases held by :data:`DENSE_SHARE` of the members or more through a
    dense product (BLAS, float32: counts up to 2^24 are exact), the rest sparse. The sparse product costs the sum over phrases of holders squared, in one thread:
    a cluster of 3,000 members all holding the same 200 phrases took ~20 s in it (break-it review bw47), against
    well under a second dense. Counts of 0/1 products are exact either way: the result is the same."""
    holders = np.asarray(sets.sum(axis=0)).ravel()
    heavy = holders >= max(DENSE_SHARE * sets.shape[0], 2)
    light = sets[:, np.flatnonzero(~heavy)]
    out = (light @ light.T).toarray()
    if heavy.any():
        dense = sets[:, np.flatnonzero(heavy)].toarray().astype(np.float32)
        out += dense @ dense.T
    return out


def _candidates(cosine: np.ndarray, jaccard: np.ndarray, seed: int) -> np.ndarray:
    """Modularity parts of the neighbour graph, parts under :data:`MIN_BLOCK` joined to the most similar block."""
    import igraph as ig

    from graphlink.config import CommunityConfig
    from graphlink.stages.communities import edge_tuples, leiden_membership

    k = len(cosine)
    nearest = np.argsort(-cosine, axis=1, kind="stable")[:, :min(NEIGHBOURS, k - 1)]
    src, dst = np.repeat(np.arange(k), nearest.shape[1]), nearest.ravel()
    linked = cosine[src, dst] > 0
    pairs = np.unique(np.sort(np.c_[src[linked], dst[linked]], axis=1), axis=0)
    if len(pairs) == 0:
        return np.zeros(k, dtype=np.int64)
    graph = ig.Graph(n=k, edges=edge_tuples(pairs[:, 0].tolist(), pairs[:, 1].tolist()),
                     edge_attrs={"weight": [1.0] * len(pairs)})
    config = CommunityConfig(resolution=1.0, objective="modularity", n_iterations=-1, backend="igraph", seed=seed)
    parts = np.unique(np.asarray(leiden_membership(graph, config)), return_inverse=True)[1]
    size = np.bincount(parts)
    kept = np.flatnonzero(size >= MIN_BLOCK)
    if len(kept) < 2:
        return np.zeros(k, dtype=np.int64)
    block_of = np.full(len(size), -1, dtype=np.int64)
    block_of[kept] = np.arange(len(kept))
    labels = block_of[parts]
    loose = np.flatnonzero(labels < 0)
    if len(loose):
        means = np.stack([jaccard[np.ix_(loose, np.flatnonzero(labels == b))].mean(axis=1) for b in range(len(kept))], axis=1)
        labels[loose] = means.argmax(axis=1)
    return labels


def _scripted(labels: np.ndarray, jaccard: np.ndarray) -> np.ndarray:
    """Blocks whose members write alike (mean Jaccard inside at least :data:`MIN_INNER`) kept; the members of a block
    of free writers join the largest kept block (module docstring, 3); labels renumbered ``0 .. k - 1``."""
    blocks, labels = np.unique(labels, return_inverse=True)
    sums, size = _block_sums(labels, jaccard, len(blocks))
    kept = _inner(sums, size) >= MIN_INNER
    if kept.sum() < 2:
        return np.zeros(len(labels), dtype=np.int64)
    largest = np.flatnonzero(kept)[np.argmax(size[kept])]
    return np.unique(np.where(kept[labels], labels, largest), return_inverse=True)[1]


def _block_sums(labels: np.ndarray, jaccard: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Block-by-block sums of ``jaccard`` (b x b) and block sizes for labels ``0 .. b - 1``: one pass over it."""
    from scipy.sparse import csr_matrix

    k = len(labels)
    onehot = csr_matrix((np.ones(k), (np.arange(k), labels)), shape=(k, b))
    return np.asarray((onehot.T @ jaccard) @ onehot), np.bincount(labels, minlength=b).astype(np.float64)


def _inner(sums: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Each block's mean Jaccard between two of its members (the diagonal's ones left out)."""
    return (np.diag(sums) - size) / np.maximum(size * (size - 1), 1)


def _merged(labels: np.ndarray, jaccard: np.ndarray) -> np.ndarray:
    """Merge the most similar pair of blocks while it is not :data:`BLOCK_RATIO` times less similar across than
    the lower of its two blocks inside (module docstring, 2); labels renumbered ``0 .. k - 1``.

    The block-by-block sums of ``jaccard`` are computed once (one pass over it) and updated on each merge
    (a merged block's row and column are the sums of its two): O(k^2 + b^3) for k members and b candidate
    blocks, where recomputing them each merge cost O(b k^2) a merge (session 46's break-it review: 800
    five-member blocks of a 3,999-member cluster merging back one by one took 500 s)."""
    blocks, labels = np.unique(labels, return_inverse=True)
    b, k = len(blocks), len(labels)
    sums, size = _block_sums(labels, jaccard, b)
    alive = np.arange(b)  # block index of each row of sums, in label order as np.unique gives it
    while len(alive) >= 2:
        inner = _inner(sums, size)
        across = sums / np.outer(size, size)
        closeness = across * BLOCK_RATIO / np.maximum(np.minimum(inner[:, None], inner[None, :]), 1e-12)
        np.fill_diagonal(closeness, -1)
        i, j = np.unravel_index(int(np.argmax(closeness)), closeness.shape)
        if closeness[i, j] < 1:
            return np.unique(labels, return_inverse=True)[1]
        labels[labels == alive[j]] = alive[i]
        sums[i, :] += sums[j, :]
        sums[:, i] += sums[:, j]
        size[i] += size[j]
        sums, size, alive = np.delete(np.delete(sums, j, axis=0), j, axis=1), np.delete(size, j), np.delete(alive, j)
    return np.zeros(k, dtype=np.int64)


def split_wording(partition: pl.DataFrame, wholes: pl.DataFrame | None, memberships: pl.DataFrame,
                  signals: pl.DataFrame, seed: int = 42) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Split every cluster whose members write in clearly different ways into its blocks (module docstring).

    Parameters
    ----------
    partition : DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (Int64, null: unclustered).
    wholes : DataFrame or None
        :func:`graphlink.stages.blocks.split_wholes`' clusters before blocks were split (None: none was).
    memberships, signals : DataFrame
        The projection's ``account_idx, signal_idx`` and ``signal_idx, kind`` (the ``prompt`` values are read).
    seed : int
        Leiden's random seed.

    Returns
    -------
    (DataFrame, DataFrame or None)
        The partition with each split cluster's blocks after the first under new ids (past the largest), and the
        wholes: the given ones, or the partition before this split when it split a cluster and none were given,
        with :data:`graphlink.stages.split_guard.SPLIT_FROM` (Int64: each account's cluster before this split when
        it split that cluster, else null; :func:`graphlink.stages.split_guard.wording_wholes` takes it off).
    """
    phrases = signals.filter(pl.col("kind") == "prompt").select("signal_idx")
    held = (memberships.select("account_idx", "signal_idx").join(phrases, on="signal_idx")
            .join(partition.drop_nulls("cluster_id"), on="account_idx"))
    held = held.filter(pl.col("account_idx").n_unique().over("cluster_id").is_between(MIN_MEMBERS, MAX_MEMBERS))
    if held.is_empty():
        return partition, wholes
    held = held.sort("cluster_id", "account_idx", "signal_idx")
    ids = held["cluster_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
    accounts, values = held["account_idx"].to_numpy(), held["signal_idx"].to_numpy()
    next_id = int(partition["cluster_id"].max()) + 1
    moved_idx, moved_id = [], []
    for lo, hi in zip(starts[:-1], starts[1:]):
        who, rows = np.unique(accounts[lo:hi], return_inverse=True)
        blocks = wording_blocks(rows, values[lo:hi], len(who), seed)
        for b in range(1, int(blocks.max()) + 1):
            moved_idx.append(who[blocks == b])
            moved_id.append(np.full(int((blocks == b).sum()), next_id, dtype=np.int64))
            next_id += 1
    if not moved_idx:
        return partition, wholes
    moved = pl.DataFrame({"account_idx": np.concatenate(moved_idx), "moved": np.concatenate(moved_id)},
                         schema={"account_idx": partition.schema["account_idx"], "moved": pl.Int64})
    split = (partition.join(moved, on="account_idx", how="left")
             .with_columns(pl.coalesce("moved", "cluster_id").alias("cluster_id")).drop("moved"))
    # Each split cluster's members keep it as the cluster they were split from: the split guard scores it too.
    was_split = partition.join(moved, on="account_idx", how="semi")["cluster_id"].unique().implode()
    return split, (wholes if wholes is not None else partition).join(
        partition.select("account_idx", pl.when(pl.col("cluster_id").is_in(was_split)).then(pl.col("cluster_id"))
                         .alias(SPLIT_FROM)), on="account_idx", how="left", maintain_order="left")
