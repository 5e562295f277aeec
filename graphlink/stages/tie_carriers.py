"""Independent carriers of a tie: how many disjoint account pairs make it (a maximum bipartite matching).

A tie between a cluster ``C`` and an operator's clusters is the set of values both hold
(:func:`graphlink.stages.campaign_flags.operator_ties`). Counted by values, a tie that runs through a
few accounts looks as strong as one that runs through many: four students of a class send everything
through a commercial VPN a fleet rotates over, two of them land in the fleet's cluster (they share its
exits), and the teacher's prompt the whole class pasted -- held by those two inside the fleet -- ties
the class to the fleet by five or more values, every one of them through the same four students.

Each account pair ``(a, b)``, ``a`` in ``C`` and ``b`` in the operator's clusters, that holds a tying
value is one piece of evidence; pairs through one account are not independent. The number of
*independent carriers* is the size of a maximum matching of the bipartite graph of ``C``'s holders
and the operator's holders, with an edge where the two hold a tying value: by König's theorem, the
fewest accounts every carrying pair touches. A cell sharing its operator's template or proxy pool has
about as many carriers as members (each exit of a pool is held by a few accounts on each side, but by
different ones); the class above has at most four, whatever the number of values.

Only whether the matching reaches a small ``cap`` matters, so each value keeps at most ``cap`` holders
on each side (the smallest account indexes): a matching of ``cap`` edges survives it, since an edge
whose holder was dropped can move to one of the ``cap`` kept holders of its value, of which the other
``cap - 1`` edges use at most ``cap - 1``. The matching is igraph's maximum bipartite matching
(push-relabel; its size is unique, so the count does not depend on which matching is found).

Schema: :func:`tie_carriers` returns ``cluster_id`` (Int64), ``carriers`` (UInt32, at most ``cap``), one
row per cluster of ``tie_rows`` that has a carrying pair.

References
----------
Kőnig, D. (1931). Gráfok és mátrixok. Matematikai és Fizikai Lapok 38, 116-119.
Cao, Q., Yang, X., Yu, J., Palow, C. (2014). Uncovering large groups of active malicious accounts in
online social networks (SynchroTrap). CCS '14: evidence counted per account pair.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["tie_carriers", "MIN_TIE_CARRIERS"]

#: A tie by values (no shared card or identifier) is an operator's only when at least this many
#: disjoint account pairs carry it (or as many as the tied cluster has members, when fewer): the
#: size below which nothing is flagged (``min_flag_size``), so that a tie is never carried by fewer
#: accounts than a flag needs.
MIN_TIE_CARRIERS = 5

_SCHEMA = {"cluster_id": pl.Int64, "carriers": pl.UInt32}


def tie_carriers(tie_rows: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                 operator: pl.Series, cap: int = MIN_TIE_CARRIERS) -> pl.DataFrame:
    """Independent carriers of each cluster's tie to an operator's clusters, capped at ``cap``.

    Parameters
    ----------
    tie_rows : DataFrame
        ``cluster_id, signal_idx``: the values tying each cluster (one row per cluster and value).
    partition : DataFrame
        ``account_idx, cluster_id`` (null: unclustered).
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    operator : Series
        Ids of the operator's clusters (the other side of every tie; disjoint from ``tie_rows``'s).
    cap : int
        Count carriers up to this many (:data:`MIN_TIE_CARRIERS`).

    Returns
    -------
    DataFrame
        ``cluster_id`` (Int64), ``carriers`` (UInt32): the size of a maximum matching between the
        cluster's holders of its tying values and the operator's holders of the same values, at most
        ``cap``. Clusters with no carrying pair have no row.

    Examples
    --------
    Three members of cluster 2 each share a value with a different account of the operator's cluster 1;
    in cluster 3 three members share values with one and the same account (account 9):

    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    ...                      "cluster_id": [1, 1, 1, 2, 2, 2, 3, 3, 3, 1]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 3, 1, 4, 2, 5, 9, 6, 7, 8],
    ...                     "signal_idx": [10, 10, 11, 11, 12, 12, 13, 13, 13, 13]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> rows = pl.DataFrame({"cluster_id": [2, 2, 2, 3], "signal_idx": [10, 11, 12, 13]},
    ...                     schema_overrides={"signal_idx": pl.UInt32})
    >>> tie_carriers(rows, part, aff, pl.Series([1])).rows()
    [(2, 3), (3, 1)]
    """
    import igraph as ig

    if tie_rows.is_empty() or operator.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    rows = tie_rows.select(pl.col("cluster_id").cast(pl.Int64), pl.col("signal_idx").cast(pl.UInt32)).unique()
    held = (affiliations.select("account_idx", pl.col("signal_idx").cast(pl.UInt32))
            .join(rows.select("signal_idx").unique(), on="signal_idx", how="semi")
            .join(partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64)),
                  on="account_idx"))
    ours = (held.filter(pl.col("cluster_id").is_in(operator.cast(pl.Int64).implode()))
            .sort("signal_idx", "account_idx").group_by("signal_idx", maintain_order=True).head(cap)
            .select("signal_idx", pl.col("account_idx").alias("b")))
    theirs = (held.join(rows, on=["cluster_id", "signal_idx"])
              .sort("cluster_id", "signal_idx", "account_idx").group_by("cluster_id", "signal_idx", maintain_order=True)
              .head(cap).select("cluster_id", "signal_idx", pl.col("account_idx").alias("a")))
    edges = theirs.join(ours, on="signal_idx").select("cluster_id", "a", "b").unique()
    if edges.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    # One bipartite graph of disjoint parts, one per cluster: an operator account is a vertex per cluster.
    left = edges.select("cluster_id", "a").unique().sort("cluster_id", "a").with_row_index("u")
    right = edges.select("cluster_id", "b").unique().sort("cluster_id", "b").with_row_index("v")
    pairs = (edges.join(left, on=["cluster_id", "a"]).join(right, on=["cluster_id", "b"])
             .select("u", pl.col("v") + left.height))
    n = left.height + right.height
    graph = ig.Graph(n=n, edges=np.column_stack([pairs["u"].to_numpy(), pairs["v"].to_numpy()]).tolist())
    mates = np.asarray(graph.maximum_bipartite_matching(types=[False] * left.height + [True] * right.height).matching)
    return (left.with_columns(pl.Series("matched", mates[:left.height] >= 0))
            .group_by("cluster_id").agg(pl.col("matched").sum().clip(0, cap).cast(pl.UInt32).alias("carriers"))
            .filter(pl.col("carriers") > 0).sort("cluster_id"))
