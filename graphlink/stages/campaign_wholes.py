"""Which clusters campaigns are grouped from: a split cluster whole, or its blocks when evidence places them apart.

:mod:`graphlink.stages.blocks` splits a cluster made of dense blocks joined by a sparse seam; the blocks
are cells. Campaigns are grouped from the clusters as Leiden found them, the *wholes*
(:func:`graphlink.stages.blocks.split_wholes`): an operator's cells are tied by the seam, and on dev
worlds grouping the blocks themselves scattered one operator's cells over several campaigns
(ind_s2_11000, events only: campaign ARI 0.73 -> 0.48). But a whole is one node of the campaign
grouping, so two blocks of one whole were always one campaign, whatever the campaign evidence said: the
seam test of :mod:`graphlink.stages.blocks` (5) refuses a split whose seam is the *stronger* evidence; it
does not say that a seam no heavier than the blocks' links ties one operator's cells. On vk-bots the
457-account whole is the blocks of two bot traders (PARIK 287, MARSHRUTKA 149): their campaign
similarity is 0.10 against ``campaign_resolution`` 0.35, and the MARSHRUTKA block is tied above it to
MARSHRUTKA's other clusters; grouped as one node they made one campaign of both traders (campaign pair
precision 0.35).

A whole is grouped from its blocks when the campaign evidence says both things:

1. **Its blocks are not tied as a campaign's clusters are**: their similarity
   (:func:`graphlink.stages.campaigns.cluster_similarity`), averaged over the whole's *account* pairs
   that fall across blocks, is below ``campaign_resolution`` (CPM's criterion for a campaign, Traag, Van
   Dooren & Nesterov 2011, with the whole's member pairs as the pairs: a whole is a set of accounts, and
   vk-bots' 21-account mixed fragment tied to both traders must not outvote the 287 x 149 pairs between them);
   **or** its blocks, joined only by ties of at least ``campaign_resolution``, fall into two or more groups
   (:func:`apart_wholes`): a mean over pairs lets one group's own tie vouch for a block tied to it by nothing a
   campaign's clusters share. Dev mixed 1006 / 1007 (session 48): Leiden joined cells of two or three operators
   renting one residential pool into one cluster; the wording split cut it into one block per operator, and one
   operator's two blocks, tied 1.0 by its card, lifted the mean to 0.39-0.60 over the other operators' blocks,
   tied to them by the pool alone (address cosine 0.15-0.30): one campaign of three operators. ARI by operator
   from this test, flags identical: mixed 1006 0.826 -> 0.963, 1007 0.748 -> 0.952, a1 0.341 -> 0.59, t1 0.323
   -> 0.55, independent 176 0.558 -> 0.828.
2. **One of its blocks is tied at least that much to a cluster outside the whole that is not so tied to
   all its blocks**: the evidence places it elsewhere. A cluster tied to every block ties them together
   (one proxy pool's three cells, the third sharing a card with each block, 0.40 each: grouped from the
   blocks, Leiden left one block a campaign of its own; tests/test_break_session22.py). A low similarity alone is no evidence of two operators: it falls with the size of the log
   (the pseudo-mass is a share of it, :data:`graphlink.stages.campaigns.PSEUDO_SHARE`), and on the
   campaign preset (232,000 accounts) the blocks of all 7 split wholes were one operator's cells at
   similarity 0.01-0.02 with nothing tied elsewhere (1 alone: campaign ARI 0.225 -> 0.207).

3. **Or, with ``placed_blocks`` (opt-in), a block is tied to a cluster outside far more than to every other block of
   its whole** -- at least ``campaign_resolution``, with more than :data:`PLACED_GAIN` times the gain over it -- and that cluster is not tied at ``campaign_resolution`` to all the
   whole's blocks (:func:`placed_elsewhere`). Test 1 asks the blocks' own tie to fall below the bar; but Leiden joins
   on a seam of account links, and the seam's values tie the blocks as clusters too: two operators' cells on one
   rented proxy pool or one public template family are tied 0.40 as blocks, while each block is tied 0.67-0.78 to its
   own operator's other cells and those cells to the other block by nothing (dev pools 1032: operator 0's 72-account
   block kept in operator 1's campaign through its whole; templates 1023: operator 1's 279-account block in operator
   0's through a 35-account block of operator 0). A whole is one node only while the evidence holds its blocks
   together; a block the evidence places far closer to a cluster outside leaves the whole as a node of its own, and
   the grouping still joins it back when its tie carries it (CPM weighs every pair, not the strongest). Only that
   block leaves: the evidence places it, not its siblings, and a whole of one operator grouped from all its blocks
   scattered over two campaigns (dev a2: a 16-account block of a 531-account whole placed by its operator's other
   cell; grouped from all five blocks, the operator's 1,091 flagged accounts fell into campaigns of 668 and 423).

Otherwise the whole stays one node, as before. The dev worlds' 13 split wholes hold one operator's cells
(tied 0.79-1.0) and stay. No constant of its own. A whole of two blocks is apart exactly when its mean is
below the bar; the groups test adds only wholes of three or more blocks.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaigns import cluster_similarity
from graphlink.stages.connected import component_labels

__all__ = ["PLACED_GAIN", "across_similarity", "apart_wholes", "placed_elsewhere", "tied_wholes"]

#: :func:`placed_elsewhere`: a block is placed by a cluster outside when what CPM gains joining the two (their tie less
#: ``campaign_resolution``) is more than this many times what it gains with the block's nearest sibling. Grouping
#: decides between ties, so a tie outside only a hair stronger says nothing (dev independent a2: a 531-account whole of
#: one operator whose blocks are tied 0.999 to each other by its cards and 1.000 to its other cells was grouped from
#: its blocks and scattered, ARI by operator 0.854 -> 0.599); twice: the sibling tie lies nearer the bar, where CPM
#: stops joining, than to the tie outside. The merges it is for sit far past it (dev pools 1032: sibling 0.40 by the
#: rented pool alone, outside 0.78, gains 0.05 against 0.43; pools 1031 0.59 / 0.99; pools 1035 0.39 / 0.98).
PLACED_GAIN = 2.0


def across_similarity(sizes: np.ndarray, similarity: np.ndarray) -> float:
    """Mean similarity of a whole's blocks over its member pairs that fall across blocks.

    Parameters
    ----------
    sizes : ndarray of int, shape (k,)
        The blocks' members.
    similarity : ndarray of float, shape (k, k)
        Campaign similarity of each pair of blocks (symmetric; the diagonal is ignored).

    Returns
    -------
    float
        ``sum_{i<j} n_i n_j s_ij / sum_{i<j} n_i n_j`` (0.0 for fewer than two blocks).

    Examples
    --------
    Two large blocks untied (0.1), a small one tied to both (1.0): the large pair decides.

    >>> s = np.array([[0, 0.1, 1.0], [0.1, 0, 1.0], [1.0, 1.0, 0]])
    >>> round(across_similarity(np.array([287, 149, 21]), s), 3)
    0.259
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    pairs = np.triu(np.outer(sizes, sizes), 1)
    total = float(pairs.sum())
    return 0.0 if total == 0 else float((pairs * np.asarray(similarity, dtype=np.float64)).sum() / total)


def tied_wholes(blocks: pl.DataFrame, wholes: pl.DataFrame | None, affiliations: pl.DataFrame,
                signals: pl.DataFrame, graph_config: GraphConfig, config: CommunityConfig,
                n_accounts: int | None = None) -> pl.DataFrame | None:
    """The clusters campaigns are grouped from: each split whole, or its blocks where evidence places them apart.

    Parameters
    ----------
    blocks : DataFrame
        ``account_idx, cluster_id``: the clusters (a split whole's blocks are clusters; null: none).
    wholes : DataFrame or None
        ``account_idx, cluster_id``: the clusters before blocks were split
        (:func:`graphlink.stages.blocks.split_wholes`); None when no cluster was split.
    affiliations, signals, graph_config, config, n_accounts
        As for :func:`graphlink.stages.campaigns.cluster_campaigns` (``config.campaign_resolution``
        is the bar).

    Returns
    -------
    DataFrame or None
        ``wholes`` with the members of every whole grouped from its blocks (module docstring, 1 and 2)
        given their block's cluster (ids above the wholes'), or None when ``wholes`` is None.

    Examples
    --------
    Two 3-account blocks of one whole and a cluster outside it (accounts 6-8), in a log of 1,000 accounts.
    Tied by a card all six hold (chance gives the other block 0.009 of it), the whole stays; each block on a
    card of its own, one of them shared with the outside cluster, the whole is grouped from its blocks;
    with no tie outside it stays (a low similarity alone is no evidence).

    >>> part = pl.DataFrame({"account_idx": range(9), "cluster_id": [1, 1, 1, 2, 2, 2, 3, 3, 3]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> whole = part.with_columns(pl.Series("cluster_id", [1] * 6 + [2] * 3, dtype=pl.Int64))
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["payment"] * 3, "df": [6, 3, 6],
    ...                     "weight": [1.0] * 3, "linked": [True] * 3}, schema_overrides={"signal_idx": pl.UInt32})
    >>> def grouped(held):  # the card each of accounts 0-8 holds
    ...     aff = pl.DataFrame({"account_idx": range(9), "signal_idx": held},
    ...                        schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    ...     return tied_wholes(part, whole, aff, sig, GraphConfig(), CommunityConfig(), 1000)["cluster_id"].to_list()
    >>> grouped([0] * 6 + [1] * 3)
    [1, 1, 1, 1, 1, 1, 2, 2, 2]
    >>> grouped([1] * 3 + [2] * 6)
    [3, 3, 3, 4, 4, 4, 2, 2, 2]
    >>> grouped([1] * 3 + [2] * 3 + [0] * 3)
    [1, 1, 1, 1, 1, 1, 2, 2, 2]
    """
    if wholes is None:
        return None
    pieces = (blocks.drop_nulls("cluster_id")
              .join(wholes.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("whole")),
                    on="account_idx"))
    split = pieces.group_by("whole").agg(pl.col("cluster_id").n_unique().alias("k")).filter(pl.col("k") > 1)
    if split.height == 0:
        return wholes
    # One similarity of every cluster pair serves both questions (a pair's similarity is its two clusters'
    # alone; on the campaign preset one call over all clusters took less than the blocks' ties and a scoped
    # second call together).
    node, sizes, edges = cluster_similarity(pieces.select("account_idx", "cluster_id"), affiliations, signals,
                                            graph_config, config, n_accounts)
    whole_of = node.join(pieces.select("cluster_id", "whole").unique(), on="cluster_id").select(
        pl.col("node").cast(pl.Int64), "whole", "cluster_id")
    ends = (edges.select(pl.col("source").cast(pl.Int64), pl.col("target").cast(pl.Int64), "weight")
            .join(whole_of.select(pl.col("node").alias("source"), pl.col("whole").alias("a")), on="source")
            .join(whole_of.select(pl.col("node").alias("target"), pl.col("whole").alias("b")), on="target"))
    # Per whole, its blocks' similarity averaged over its member pairs across blocks (across_similarity,
    # as group sums: sum n_s n_t s over the blocks' edges / sum over block pairs n_i n_j).
    of_block = whole_of.join(sizes, on="cluster_id").join(split.select("whole"), on="whole", how="semi")
    pairs = of_block.group_by("whole").agg(((pl.col("size").sum().cast(pl.Float64) ** 2
                                             - (pl.col("size").cast(pl.Float64) ** 2).sum()) / 2).alias("pairs"))
    size_of = of_block.select("node", pl.col("size").cast(pl.Float64))
    tied = (ends.filter(pl.col("a") == pl.col("b"))
            .join(size_of.rename({"node": "source", "size": "ns"}), on="source")
            .join(size_of.rename({"node": "target", "size": "nt"}), on="target")
            .group_by("a").agg((pl.col("ns") * pl.col("nt") * pl.col("weight")).sum().alias("tied")))
    untied = set(pairs.join(tied.rename({"a": "whole"}), on="whole", how="left")
                 .filter(pl.col("tied").fill_null(0.0) < config.campaign_resolution * pl.col("pairs"))["whole"].to_list())
    # ... or some of its blocks are tied to the others by nothing a campaign's clusters are tied by (module docstring, 1b):
    # the blocks fall into two or more groups joined at campaign_resolution, however tightly each group holds together.
    untied |= set(apart_wholes(ends, whole_of, config.campaign_resolution))
    # No tie among the blocks is no evidence of two operators: a whole is grouped from its blocks only where
    # campaign evidence ties one of them to a cluster outside it (module docstring).
    # A cluster tied to every block of the whole places none of them apart (it ties them together): the
    # evidence is a cluster outside tied to some of its blocks and not to the others.
    ties = ends.filter((pl.col("weight") >= config.campaign_resolution) & (pl.col("a") != pl.col("b")))
    ties = pl.concat([ties.select(pl.col("a").alias("whole"), pl.col("source").alias("block"), pl.col("target").alias("other")),
                      ties.select(pl.col("b").alias("whole"), pl.col("target").alias("block"), pl.col("source").alias("other"))])
    placed = set(ties.group_by("whole", "other").agg(pl.col("block").n_unique().alias("n"))
                 .join(split.select("whole", "k"), on="whole")
                 .filter(pl.col("n") < pl.col("k"))["whole"].to_list())
    untied = [whole for whole in sorted(untied) if whole in placed]
    # ... and, with placed_blocks, a block tied to a cluster outside far more than to its siblings leaves its whole alone
    # (module docstring, 3): the evidence places that block, not the others, which stay one node.
    alone = [] if not config.placed_blocks else [
        cluster for whole, node in placed_elsewhere(ends, split, config.campaign_resolution) if whole not in untied
        for cluster in whole_of.filter(pl.col("node") == node)["cluster_id"].to_list()]
    if not untied and not alone:
        return wholes
    top = int(wholes["cluster_id"].max() or 0)
    block_of = pieces.filter(pl.col("whole").is_in(untied) | pl.col("cluster_id").is_in(alone)).select(
        "account_idx", (pl.col("cluster_id") + top).alias("block"))
    return (wholes.join(block_of, on="account_idx", how="left")
            .select("account_idx", pl.coalesce("block", "cluster_id").cast(pl.Int64).alias("cluster_id")))


def apart_wholes(ends: pl.DataFrame, whole_of: pl.DataFrame, resolution: float) -> list[int]:
    """Wholes whose blocks fall into two or more groups when joined only by ties of at least ``resolution``.

    Parameters
    ----------
    ends : DataFrame
        ``source, target, weight, a, b``: the campaign similarity of block pairs (node numbers) and the whole of each end.
    whole_of : DataFrame
        ``node, whole``: every block's whole.
    resolution : float
        ``campaign_resolution``: the tie a campaign's clusters hold (CPM's bar).

    Returns
    -------
    list of int
        Ids of the wholes whose blocks' ties at ``resolution`` leave them in more than one connected group.

    Examples
    --------
    Whole 1: blocks 0 and 1 tied 1.0, block 2 tied to them at 0.2 (only the pool Leiden joined it on); whole 7: its two
    blocks tied 0.5.

    >>> ends = pl.DataFrame({"source": [0, 0, 1, 3], "target": [1, 2, 2, 4], "weight": [1.0, 0.2, 0.2, 0.5],
    ...                      "a": [1, 1, 1, 7], "b": [1, 1, 1, 7]})
    >>> apart_wholes(ends, pl.DataFrame({"node": [0, 1, 2, 3, 4], "whole": [1, 1, 1, 7, 7]}), 0.35)
    [1]
    """
    if whole_of.height == 0:
        return []
    nodes = whole_of["node"].cast(pl.Int64)
    top = int(nodes.max()) + 1
    inner = ends.filter((pl.col("a") == pl.col("b")) & (pl.col("weight") >= resolution))
    label = component_labels(inner["source"].cast(pl.Int64).to_numpy(), inner["target"].cast(pl.Int64).to_numpy(), top)
    groups = whole_of.select("whole", pl.Series("group", label[nodes.to_numpy()]))
    return sorted(groups.group_by("whole").agg(pl.col("group").n_unique().alias("k")).filter(pl.col("k") > 1)["whole"].to_list())


def placed_elsewhere(ends: pl.DataFrame, split: pl.DataFrame, resolution: float) -> list[tuple[int, int]]:
    """The blocks tied to a cluster outside far more than to every other block of their whole (module docstring, 3).

    Parameters
    ----------
    ends : DataFrame
        ``source, target, weight, a, b``: campaign similarity (in ``(0, 1]``) of cluster pairs (node numbers), with the
        whole of each end (a cluster outside every split whole is its own whole).
    split : DataFrame
        ``whole, k``: the split wholes and their numbers of blocks.
    resolution : float
        ``campaign_resolution``: the least tie that places a block (CPM's bar).

    Returns
    -------
    list of (int, int)
        ``(whole, block)`` (block: its node number) for each block ``b`` with an outside cluster ``c`` tied at least ``resolution`` whose gain over
        ``resolution`` is more than :data:`PLACED_GAIN` times that of ``b``'s strongest tie to another block of its
        whole, ``c`` tied at ``resolution`` to fewer than all the blocks.

    Examples
    --------
    Whole 1: blocks 0 and 1 tied 0.4 to each other, block 0 tied 0.8 to cluster 5 (whole 5), which is tied to block 1
    by nothing. Whole 2: blocks 2 and 3 tied 0.9, block 2 tied 0.8 to cluster 6.

    >>> ends = pl.DataFrame({"source": [0, 0, 2, 2], "target": [1, 5, 3, 6], "weight": [0.4, 0.8, 0.9, 0.8],
    ...                      "a": [1, 1, 2, 2], "b": [1, 5, 2, 6]})
    >>> placed_elsewhere(ends, pl.DataFrame({"whole": [1, 2], "k": [2, 2]}), 0.35)
    [(1, 0)]
    """
    both = pl.concat([ends.select("source", "target", "weight", "a", "b"),
                      ends.select(pl.col("target").alias("source"), pl.col("source").alias("target"), "weight",
                                  pl.col("b").alias("a"), pl.col("a").alias("b"))])
    both = both.join(split.select(pl.col("whole").alias("a"), "k"), on="a")  # a block of a split whole at the source end
    inner = both.filter(pl.col("a") == pl.col("b")).group_by("source").agg(pl.col("weight").max().alias("__in"))
    out = both.filter((pl.col("a") != pl.col("b")) & (pl.col("weight") >= resolution))
    reach = out.group_by("a", "target").agg(pl.col("source").n_unique().alias("__n"))  # blocks each outside cluster ties
    placed = (out.join(inner, on="source", how="left").join(reach, on=["a", "target"])
              .filter((pl.col("weight") - resolution > PLACED_GAIN * (pl.col("__in").fill_null(0.0) - resolution))
                      & (pl.col("__n") < pl.col("k"))))
    return sorted(placed.select("a", "source").unique().iter_rows())
