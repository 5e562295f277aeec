"""Shared-neighbour ties: two clusters tied to the same clusters belong to one campaign.

:func:`graphlink.stages.campaigns.cluster_similarity` ties two clusters by what *they* share: the
cosine of their value profiles, private ties, a client veto. An operator does not give every cell
every template of its family: one cell sends template X, another Y, a third both, and each cell's
profile holds its members' own fill-ins too. Two of its cells then share little directly while both
are tied to the same other cells of the operator, and CPM (which asks a campaign's *mean* pairwise
similarity to reach ``campaign_resolution``) cuts the operator along its templates. Dev independent
world a1 (events only): operator 2's 140 clusters have a median pairwise similarity of 0.24 (a third
of the pairs reach 0.35) against 0.002 for pairs of two operators, and the operator was grouped into
51 campaigns.

:func:`neighbour_ties` measures how much two clusters are tied to the *same* clusters, the
shared-nearest-neighbour idea (Jarvis & Patrick 1973; structural equivalence in network analysis),
weighed so that a few weak common ties count for little::

    n_ij = sum_{k != i, j} s_ik s_jk / sqrt((1 + sum_k s_ik^2) (1 + sum_k s_jk^2))

-- the cosine of the rows of ``I + S`` (a cluster is wholly similar to itself) without their direct
terms, which ``s_ij`` already is. It lies in ``[0, 1)``: one common neighbour tied 0.5 to each gives
0.2, five give 0.56, and a cluster's tie to itself keeps a handful of weak common ties (a stock phrase
ordinary users' clusters share) far below any resolution. A pair's similarity becomes the larger of
``s_ij`` and ``n_ij``; a pair whose clients disagree (:func:`graphlink.stages.campaign_clients.client_vetoes`)
gets no tie through its neighbours either, nor does a cluster too small to speak for itself
(:data:`MIN_NEIGHBOUR_SIZE`).

The clusters are then grouped again on the raised ties (:func:`neighbour_groups`) with two guards:

* a neighbour tie between clusters of two *direct* groups (the grouping on direct ties alone) stands
  only when one of its two clusters vouches for the other's group: :data:`MIN_VOUCHERS` or more of its
  own members pay with cards as many accounts of that group pay with (:func:`confirmed_ties`).
  Operators who never met send one template family, and then each is tied to the other's cells as to
  its own (scenario mixed 1002: direct ties 0.28 across the two operators, 0.41 within one; neighbour
  ties 0.60 and 0.66 -- unconfirmed, its operators merged, ARI by operator 0.76 -> -0.02); one payer on
  the other side's card is that payer's link, not its cluster's;
* a direct group of small clusters only keeps its grouping: its accounts are what ``min_flag_size``
  counts for a small cluster scoring ``flag_threshold`` on its own.

Dev worlds, events only, ARI by operator (off -> on): independent a1 0.14 -> 0.34, t1 0.15 -> 0.32,
o1 0.15 -> 0.31, a3 0.61 -> 0.69, a2 0.77 -> 0.77, ind176 0.54 -> 0.56, ind177 0.77; scenario mixed
1002 0.76 -> 0.87; templates 1001, 1002, 1005 identical. Flags: as off on a1, a3, t1, o1 and ind176.
Session 45 confirmed a tie between two direct groups by any card their accounts shared, one payer
enough: a1 0.38, t1 0.38, o1 0.36, a3 0.73, mixed 1002 0.92, and 5 and 16 more ring accounts flagged on
a1 and a3 -- but ind176 -0.01 (three operators merged through clusters mixing their accounts), and
session 45's break-it review merged two operators through one payer's card. Unguarded, at the same
resolution: a1 0.61 but mixed 1002 -0.02, pools 1000 0.75 -> 0.70, and with small clusters regrouped
2-3 more ordinary accounts flagged (a2, a3, t1: 3-account clusters mixing ring and ordinary accounts joined large
campaigns). The partition caps what any grouping reaches: each cluster to its majority operator gives
a1 0.63, t1 0.64, o1 0.62, a3 0.85, a2 0.87 (clusters of cells on the commercial proxy network every
operator uses hold several operators' accounts).

Output: ``source, target, weight`` (node numbers, ``source < target``), as the cosine edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from graphlink.config import CommunityConfig

__all__ = ["MIN_NEIGHBOUR_SIZE", "MIN_VOUCHERS", "NEIGHBOUR_FLOOR", "confirmed_ties", "neighbour_groups",
           "neighbour_ties", "with_neighbour_ties"]

#: Clusters smaller than this neither get nor give ties through neighbours: a cluster of 2-4 accounts
#: is its few members' values, not a cell's (5 is ``min_flag_size``, the size at which graphlink lets a
#: group speak for itself, and :data:`graphlink.stages.campaign_clients.MIN_SIGNATURE_SIZE`). Their
#: campaign rests on their direct ties as before. Dev independent a2, a3, t1 (events only): with small
#: clusters, 2-3 more ordinary accounts flagged each -- 3-account clusters mixing ring and ordinary
#: accounts joined a large campaign and took its size for ``min_flag_size``.
MIN_NEIGHBOUR_SIZE = 5

#: Ties lighter than this are not a cluster's neighbours (:func:`neighbour_ties`): the consensus drops
#: them anyway (:data:`graphlink.stages.campaign_consensus.EDGE_FLOOR` of the resolution), and the
#: product ``S x S`` over every faint stock-phrase tie grows with the square of the clusters' degrees.
#: Dev independent a1 (ARI of the grouping over clustered ring accounts against each cluster's
#: majority operator): floor 0 0.972, 0.05 0.953, 0.1 0.925.
NEIGHBOUR_FLOOR = 0.05

#: A neighbour tie between two direct groups stands when at least this many members of one of its two
#: clusters pay with cards that at least this many accounts of the other cluster's group pay with
#: (:func:`confirmed_ties`). Two, as :data:`graphlink.stages.campaign_ties.MIN_SIDE_HOLDERS` and for its
#: reason: the fewest for which removing any one account leaves the confirmation standing. One payer's
#: card is that payer's link (a card sold to two operators, a ring paying with a customer's stolen card,
#: one member who pays for a friend), and with one payer enough, one account merged two operators'
#: campaigns (session 45's break-it review). A count, not a share of the cluster: an operator's cell pays
#: with a few of its many cards, and the share of a cluster's members paying with cards of the other
#: group does not separate operators (dev independent a1, confirming ties: median 0.25 for one operator's
#: clusters, 0.35 for the three pairs of two operators). The cost: ties one payer confirms are lost for
#: an operator too (dev, ARI by operator, session 45's rule -> this: a1 0.38 -> 0.34, t1 0.38 -> 0.32, o1
#: 0.36 -> 0.31, a3 0.73 -> 0.69, mixed 1002 0.92 -> 0.87; ind176 -0.01 -> 0.56).
MIN_VOUCHERS = 2


def neighbour_ties(edges: pl.DataFrame, n: int, floor: float = NEIGHBOUR_FLOOR) -> pl.DataFrame:
    """Shared-neighbour similarity of every pair of ``n`` nodes with a common neighbour (module docstring).

    Parameters
    ----------
    edges : DataFrame
        ``source, target, weight`` (node numbers < ``n``, each pair once, weight in ``[0, 1]``).
    n : int
        Nodes.
    floor : float
        Edges lighter than this are left out, and so are neighbour ties lighter than it (:data:`NEIGHBOUR_FLOOR`).

    Returns
    -------
    DataFrame
        ``source, target`` (UInt32, ``source < target``), ``weight`` (Float64, in ``[floor, 1)``), sorted.

    Examples
    --------
    Nodes 0 and 1 share nothing but are each tied 0.6 to nodes 2, 3 and 4.

    >>> e = pl.DataFrame({"source": [0, 0, 0, 1, 1, 1], "target": [2, 3, 4, 2, 3, 4], "weight": [0.6] * 6})
    >>> neighbour_ties(e, 5).filter(pl.col("source") == 0).with_columns(pl.col("weight").round(3)).rows()
    [(0, 1, 0.519)]
    """
    import scipy.sparse as sp

    empty = pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    kept = edges.filter(pl.col("weight") >= floor)
    if kept.is_empty():
        return empty
    s, t = kept["source"].to_numpy().astype(np.int64), kept["target"].to_numpy().astype(np.int64)
    w = kept["weight"].to_numpy().astype(np.float64)
    matrix = sp.csr_matrix((np.r_[w, w], (np.r_[s, t], np.r_[t, s])), shape=(n, n))
    common = sp.triu(matrix @ matrix, k=1).tocoo()  # the diagonal of S is 0: no direct term enters
    norm = 1.0 + np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
    weight = common.data / np.sqrt(norm[common.row] * norm[common.col])
    keep = weight >= floor  # a lighter tie is none (and the consensus drops it: EDGE_FLOOR x resolution > floor)
    return pl.DataFrame({"source": common.row[keep].astype(np.uint32), "target": common.col[keep].astype(np.uint32),
                         "weight": weight[keep]}).sort("source", "target")


def with_neighbour_ties(edges: pl.DataFrame, node_of: pl.DataFrame, affiliations: pl.DataFrame,
                        signals: pl.DataFrame, n: int) -> pl.DataFrame:
    """``edges`` with each pair's weight raised to its shared-neighbour tie where that is larger.

    Parameters
    ----------
    edges : DataFrame
        ``source, target, weight``: :func:`graphlink.stages.campaigns.cluster_similarity`'s edges.
    node_of : DataFrame
        ``account_idx, node, size``: each clustered account's cluster (a node number) and its size.
    affiliations, signals : DataFrame
        As for :func:`graphlink.stages.campaign_clients.client_vetoes` (client values are read from them).
    n : int
        Nodes.

    Returns
    -------
    DataFrame
        ``source, target, weight``, each pair once, sorted; pairs with no direct tie whose clients
        disagree get none through their neighbours, nor clusters under :data:`MIN_NEIGHBOUR_SIZE`.
    """
    from graphlink.stages.campaign_clients import client_vetoes

    small = node_of.filter(pl.col("size") < MIN_NEIGHBOUR_SIZE)["node"].unique().cast(pl.UInt32).implode()
    shared = neighbour_ties(edges.filter(~pl.col("source").cast(pl.UInt32).is_in(small)
                                         & ~pl.col("target").cast(pl.UInt32).is_in(small)), n)
    if shared.is_empty():
        return edges
    keys = ["source", "target"]
    direct = edges.select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32), "weight")
    new = shared.join(direct, on=keys, how="anti")
    shared = shared.join(client_vetoes(node_of, affiliations, signals, new.select(keys), own_clients=True), on=keys, how="anti")
    return (pl.concat([direct, shared]).group_by(keys).agg(pl.col("weight").max()).sort(keys))


def neighbour_groups(labels: np.ndarray, edges: pl.DataFrame, node_of: pl.DataFrame, affiliations: pl.DataFrame,
                     signals: pl.DataFrame, config: CommunityConfig) -> np.ndarray:
    """Campaign groups on the direct ties raised to shared-neighbour ties, the direct groups of small clusters kept.

    The clusters are grouped again (:func:`graphlink.stages.campaign_consensus.consensus_groups`, the
    same resolution) on their direct ties raised to their shared-neighbour ties
    (:func:`with_neighbour_ties`). A direct group made only of clusters under :data:`MIN_NEIGHBOUR_SIZE`
    members keeps its grouping: its accounts are what ``min_flag_size`` counts for a small cluster
    scoring ``flag_threshold`` on its own, and regrouping such clusters -- Leiden's optimum moves with
    every edge of the component -- moved flags onto small clusters mixing ring and ordinary accounts
    (dev independent a3: 2 more ordinary accounts flagged).

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
        The direct grouping (one label per node).
    edges : DataFrame
        ``source, target, weight``: the direct ties.
    node_of, affiliations, signals
        As for :func:`with_neighbour_ties`.
    config : CommunityConfig
        ``campaign_resolution`` and ``seed``.

    Returns
    -------
    ndarray of int, shape (n,)
        One group label per node.
    """
    from graphlink.stages.campaign_consensus import consensus_groups

    n = len(labels)
    tied = with_neighbour_ties(edges, node_of, affiliations, signals, n)
    tied = confirmed_ties(tied, edges, labels, node_of, affiliations, signals)
    if tied.height == edges.height and tied["weight"].equals(edges["weight"].cast(pl.Float64)):
        return labels
    joined = consensus_groups(tied, n, config)
    large = np.zeros(n, dtype=bool)
    large[node_of.filter(pl.col("size") >= MIN_NEIGHBOUR_SIZE)["node"].unique().to_numpy()] = True
    _, base = np.unique(labels, return_inverse=True)
    kept = ~np.bincount(base, weights=large, minlength=base.max() + 1).astype(bool)[base]  # groups of small clusters only
    _, via = np.unique(joined, return_inverse=True)
    return np.where(kept, base, base.max() + 1 + via)


def confirmed_ties(tied: pl.DataFrame, edges: pl.DataFrame, labels: np.ndarray, node_of: pl.DataFrame,
                   affiliations: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """``tied`` with a tie across two direct groups put back to the direct tie unless one of its clusters vouches.

    A tie through neighbours says two clusters send the same template family; operators who never met
    send one family too (a public template, a family sold to several: the scenario family's ``mixed``
    worlds draw operators that share nothing but a template family). What one operator moves between its
    cells and another does not hold is a payer: :data:`graphlink.stages.campaigns.PRIVATE_TIE_KINDS`
    (cards). So a neighbour tie raises a pair inside one direct group (``labels``) as it is, and a pair
    ``(i, j)`` of two direct groups ``A`` and ``B`` only when cluster ``i`` vouches for ``B`` or ``j`` for
    ``A``: at least :data:`MIN_VOUCHERS` of the cluster's own members pay with linked cards that at least
    :data:`MIN_VOUCHERS` accounts of the other group pay with. Each pair is confirmed by one of *its*
    clusters, not by any two clusters of the two groups (session 45's break-it review: one payer of one
    cell on the other operator's card confirmed every pair of two operators' clusters, and 10 clusters
    became one campaign; a benign cell with one member on a ring's card joined its campaign). The other
    end is the group, not cluster ``j``: an operator's cells each pay with a few of its many cards, so two
    of its cells rarely hold the same one (dev independent a1: of 1,859 same-operator neighbour ties
    between direct groups, 63 join clusters sharing a card). Addresses do not confirm: a residential pool
    or a commercial proxy network is rented by several operators (scenario mixed 1002: with addresses
    confirming, its two operators merged, ARI by operator 0.73 -> -0.02; with cards, 0.91).

    Parameters
    ----------
    tied : DataFrame
        ``source, target, weight``: the raised ties (:func:`with_neighbour_ties`).
    edges : DataFrame
        ``source, target, weight``: the direct ties.
    labels : ndarray of int, shape (n,)
        The direct grouping.
    node_of, affiliations, signals
        As for :func:`with_neighbour_ties`; ``signals`` needs ``kind`` and ``linked``.

    Returns
    -------
    DataFrame
        ``source, target, weight`` (UInt32, UInt32, Float64), sorted; a pair with no direct tie whose
        neighbour tie is not confirmed is dropped.

    Examples
    --------
    Clusters 0 and 1 (groups 0 and 1) are tied 0.6 through neighbours only. Two members of cluster 0
    (accounts 0, 1) pay with cards that two accounts of cluster 1 (5, 6) pay with: confirmed. Card 9 is
    paid with by account 0 and account 5 alone: one payer a side confirms nothing.

    >>> node_of = pl.DataFrame({"account_idx": list(range(10)), "node": [0] * 5 + [1] * 5},
    ...                        schema={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [7, 8, 9], "kind": ["payment"] * 3, "linked": [True] * 3},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 5, 1, 6], "signal_idx": [7, 7, 8, 8]},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> tied = pl.DataFrame({"source": [0], "target": [1], "weight": [0.6]},
    ...                     schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    >>> no_edges = tied.clear()
    >>> confirmed_ties(tied, no_edges, np.array([0, 1]), node_of, aff, sig).rows()
    [(0, 1, 0.6)]
    >>> one = pl.DataFrame({"account_idx": [0, 5], "signal_idx": [9, 9]}, schema=aff.schema)
    >>> confirmed_ties(tied, no_edges, np.array([0, 1]), node_of, one, sig).height
    0
    """
    from graphlink.stages.campaigns import PRIVATE_TIE_KINDS

    n = len(labels)
    _, group = np.unique(labels, return_inverse=True)
    group_of = pl.DataFrame({"node": np.arange(n, dtype=np.uint32), "g": group.astype(np.int64)})
    held = (affiliations.select("account_idx", "signal_idx")
            .join(signals.filter(pl.col("linked") & pl.col("kind").is_in(list(PRIVATE_TIE_KINDS))).select("signal_idx"),
                  on="signal_idx")
            .join(node_of.select("account_idx", pl.col("node").cast(pl.UInt32)), on="account_idx")
            .join(group_of, on="node").unique())

    # Each card's first MIN_VOUCHERS payers in each cluster and in each group: a count that reaches
    # MIN_VOUCHERS over several cards reaches it over these (a card with fewer keeps them all), and a
    # card thousands pay with adds MIN_VOUCHERS rows per cluster, not thousands.
    first = pl.col("account_idx").rank("ordinal")
    own = held.filter(first.over("node", "signal_idx") <= MIN_VOUCHERS).select("node", "signal_idx", "account_idx")
    theirs = held.filter(first.over("g", "signal_idx") <= MIN_VOUCHERS).select(
        pl.col("g").alias("g_b"), "signal_idx", pl.col("account_idx").alias("acc_b"))
    keys = ["source", "target"]
    direct = edges.select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32),
                          pl.col("weight").alias("__direct"))
    with_groups = (tied.with_columns(pl.Series("__gs", group[tied["source"].to_numpy()].astype(np.int64)),
                                     pl.Series("__gt", group[tied["target"].to_numpy()].astype(np.int64)))
                   .join(direct, on=keys, how="left"))
    across = with_groups.filter((pl.col("__gs") != pl.col("__gt"))
                                & (pl.col("__direct").is_null() | (pl.col("weight") > pl.col("__direct"))))
    # Only what a raised tie across two groups asks: does its source vouch for the target's group, or the reverse.
    asked = pl.concat([across.select(pl.col("source").alias("node"), pl.col("__gt").alias("g_b")),
                       across.select(pl.col("target").alias("node"), pl.col("__gs").alias("g_b"))]).unique()
    links = (asked.join(own.select("node", "signal_idx").unique(), on="node")
             .join(theirs.select("g_b", "signal_idx").unique(), on=["g_b", "signal_idx"], how="semi"))
    vouch = (links.join(own, on=["node", "signal_idx"]).group_by("node", "g_b")
             .agg(pl.col("account_idx").n_unique().alias("a"))
             .join(links.join(theirs, on=["g_b", "signal_idx"]).group_by("node", "g_b")
                   .agg(pl.col("acc_b").n_unique().alias("b")), on=["node", "g_b"])
             .filter((pl.col("a") >= MIN_VOUCHERS) & (pl.col("b") >= MIN_VOUCHERS))
             .select("node", "g_b", pl.lit(True).alias("__v")))
    return (with_groups
            .join(vouch.rename({"node": "source", "g_b": "__gt", "__v": "__vs"}), on=["source", "__gt"], how="left")
            .join(vouch.rename({"node": "target", "g_b": "__gs", "__v": "__vt"}), on=["target", "__gs"], how="left")
            .with_columns(pl.when((pl.col("__gs") == pl.col("__gt")) | pl.col("__vs").fill_null(False)
                                  | pl.col("__vt").fill_null(False))
                          .then(pl.col("weight")).otherwise(pl.col("__direct")).alias("weight"))
            .drop_nulls("weight").select("source", "target", "weight").sort("source", "target"))
