"""Peer baseline: the common graph-database fraud-ring recipe.

1. Link two accounts when they share an identifier value (a payment
   fingerprint or an exact IP address).
2. Ignore identifier values shared by more than ``k`` accounts (NATs,
   carrier-grade NAT, popular proxies) -- they would link everybody.
3. Take connected components of the account graph.
4. Flag every component with at least ``m`` accounts.

Edges are built as a star per identifier value (every account to the
value's first account), never as a clique, so a value shared by ``s``
accounts costs ``s - 1`` edges and the components are the same.

Examples
--------
>>> import polars as pl
>>> events = pl.DataFrame({
...     "account_id": ["a", "b", "c", "d", "e", "f"],
...     "payment_fingerprint": ["pf_1", "pf_1", "pf_1", None, None, None],
...     "ip": ["1.1.1.1", "2.2.2.2", "3.3.3.3", "3.3.3.3", "9.9.9.9", "8.8.8.8"],
... })
>>> accounts, clusters = baseline_detect(events, BaselineConfig(min_component_size=3))
>>> accounts.sort("account_id")["cluster_id"].to_list()
[0, 0, 0, 0, None, None]
>>> clusters.to_dicts()
[{'cluster_id': 0, 'size': 4, 'score': 4.0, 'flagged': True}]
"""

from __future__ import annotations

from dataclasses import dataclass

import igraph as ig
import numpy as np
import polars as pl

__all__ = ["BaselineConfig", "baseline_detect"]


@dataclass(frozen=True)
class BaselineConfig:
    """Parameters of the baseline.

    Attributes
    ----------
    max_accounts_per_identifier : int
        ``k``: identifier values shared by more accounts than this are
        dropped (the usual guard against NATs and shared proxies).
    min_component_size : int
        ``m``: connected components with at least this many accounts are
        flagged.
    identifiers : tuple[str, ...]
        Event columns whose shared values link accounts.
    """

    max_accounts_per_identifier: int = 20
    min_component_size: int = 5
    identifiers: tuple[str, ...] = ("payment_fingerprint", "ip")


_ACCOUNTS_SCHEMA = {"account_id": pl.String, "cluster_id": pl.Int64}
_CLUSTERS_SCHEMA = {"cluster_id": pl.Int64, "size": pl.Int64, "score": pl.Float64,
                    "flagged": pl.Boolean}


def _star_edges(lf: pl.LazyFrame, index: pl.DataFrame, column: str, k: int) -> np.ndarray:
    """Star edges ``(first account, other account)`` per kept identifier value."""
    pairs = (
        lf.select(pl.col("account_id").cast(pl.String), pl.col(column).cast(pl.String).alias("v"))
        .drop_nulls()
        .unique()
        .join(index.lazy(), on="account_id")
        .with_columns(n=pl.len().over("v"), root=pl.col("idx").min().over("v"))
        .filter((pl.col("n") >= 2) & (pl.col("n") <= k) & (pl.col("idx") != pl.col("root")))
        .select("root", "idx")
        .collect()
    )
    return pairs.to_numpy().astype(np.int64).reshape(-1, 2)


def baseline_detect(
    events: pl.LazyFrame | pl.DataFrame, config: BaselineConfig = BaselineConfig()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run the shared-identifier connected-components baseline.

    Parameters
    ----------
    events : polars.LazyFrame or polars.DataFrame
        Events with ``account_id`` and the ``config.identifiers`` columns
        (e.g. ``pl.scan_parquet("events.parquet")``).
    config : BaselineConfig
        Thresholds ``k`` and ``m`` and the identifier columns.

    Returns
    -------
    accounts : polars.DataFrame
        ``account_id``, ``cluster_id`` (Int64) for every account in
        ``events``; null for accounts linked to nobody.
    clusters : polars.DataFrame
        ``cluster_id``, ``size``, ``score`` (the size, as a float) and
        ``flagged`` (``size >= m``) for every component of two or more
        accounts.  Cluster ids count from 0 by size descending, then by
        smallest ``account_id``.
    """
    lf = events.lazy()
    ids = (lf.select(pl.col("account_id").cast(pl.String)).drop_nulls().unique()
           .sort("account_id").collect())
    n = ids.height
    index = ids.with_columns(idx=pl.int_range(n, dtype=pl.Int64))
    edges = [_star_edges(lf, index, c, config.max_accounts_per_identifier)
             for c in config.identifiers]
    edge_arr = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
    if n == 0:
        return pl.DataFrame(schema=_ACCOUNTS_SCHEMA), pl.DataFrame(schema=_CLUSTERS_SCHEMA)
    graph = ig.Graph(n=n, edges=edge_arr)
    comp = np.asarray(graph.connected_components().membership, dtype=np.int64)
    sizes = np.bincount(comp)
    _, first = np.unique(comp, return_index=True)  # idx order == account_id order
    real = np.flatnonzero(sizes >= 2)
    order = real[np.lexsort((first[real], -sizes[real]))]
    cluster_of_comp = np.full(len(sizes), -1, np.int64)
    cluster_of_comp[order] = np.arange(len(order))
    cid = cluster_of_comp[comp]
    accounts = pl.DataFrame({
        "account_id": ids["account_id"],
        "cluster_id": pl.Series(cid, dtype=pl.Int64),
    }).with_columns(pl.when(pl.col("cluster_id") >= 0).then(pl.col("cluster_id")))
    clusters = pl.DataFrame({
        "cluster_id": pl.Series(np.arange(len(order)), dtype=pl.Int64),
        "size": pl.Series(sizes[order], dtype=pl.Int64),
        "score": pl.Series(sizes[order].astype(float), dtype=pl.Float64),
        "flagged": pl.Series(sizes[order] >= config.min_component_size, dtype=pl.Boolean),
    })
    return accounts, clusters
