"""Match on a shared address pool: which known clusters went through the same addresses.

A commercial proxy pool is used by several rings at once. Each of its addresses
has a handful of holders in the earlier run, so by chance each is
*concentrated* (:func:`graphlink.stages.match.cluster_values`) in whichever
cluster happened to use it most; summed over the ten pool addresses a newcomer
goes through, the pool's biggest user outvotes the card of the cluster the
newcomer really belongs to. One address held by the cluster alone is then
chance, not the cluster's mark: whether addresses tell two clusters apart is
judged at the pool level.

Two clusters are *pool mates* when at least :data:`DEFAULT_MIN_POOL_SHARE` of
either's address holdings (``linking.parquet`` rows of kind ``ip``: one per
account and address) are on addresses the other cluster's accounts also held.
Two rings with their own proxies share none; two cells on one pool share
nearly all (measured on the dev 1m worlds 1002 and 1003: 0.99 both ways for
the pool cells, against 0.27 for the pool's biggest user on a smaller user's
addresses). Between pool mates an address says only "this pool":
:func:`pooled_rank` credits the address evidence a newcomer has with one of
them to the others too, so that the values that do differ (a card, a client)
choose between them. Whether an account is matched at all is not changed
(the evidence bar of :func:`graphlink.stages.match.match_accounts` is computed
without this): only which of the clusters it qualified for it goes to.
"""

from __future__ import annotations

import polars as pl

__all__ = ["DEFAULT_MIN_POOL_SHARE", "POOL_KINDS", "address_holdings", "all_pool_mates", "holdings_of", "pool_mates",
           "pooled_rank"]

#: Two clusters are pool mates when at least this share of either one's address holdings are on addresses the
#: other also held: a majority, so a few addresses an office NAT or an ISP block gave both do not make a pool.
DEFAULT_MIN_POOL_SHARE = 0.5
#: Kinds whose values are a pool's: addresses and their networks.
POOL_KINDS = ("ip", "ip_net")


def address_holdings(linking: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """``value, cluster_id, own``: how many of each known cluster's accounts held each address (``linking.parquet``)."""
    return (linking.lazy().filter(pl.col("kind") == "ip").drop_nulls("cluster_id")
            .group_by("value", "cluster_id").agg(pl.len().alias("own")).collect())


def holdings_of(pools: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """:func:`address_holdings` of ``linking.parquet``, or ``pools`` itself when it is already the holdings
    (``value, cluster_id, own``: detect's ``match_pools.parquet``, :data:`graphlink.contract.MATCH_POOLS_SCHEMA`)."""
    return pools.lazy().collect() if "own" in pools.lazy().collect_schema().names() else address_holdings(pools)


def all_pool_mates(held: pl.DataFrame, min_share: float = DEFAULT_MIN_POOL_SHARE) -> pl.DataFrame:
    """Every pair of known clusters where the first rides the second's address pool (:func:`pool_mates` of all pairs).

    Joins the holdings with themselves address by address (0.2 s over the 160k holdings of a 1m run): detect
    pays it once and writes the pairs (``match_mates.parquet``, :data:`graphlink.contract.MATCH_MATES_SCHEMA`),
    so that ``match`` looks pairs up instead of judging them on each run.

    Returns
    -------
    DataFrame
        ``cluster_id, mate_id, shared``, sorted by ``cluster_id, mate_id``.

    Examples
    --------
    >>> linking = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"], "kind": ["ip"] * 5,
    ...                         "value": ["p1", "p2", "p1", "p2", "own"], "cluster_id": [1, 1, 2, 2, 3]})
    >>> all_pool_mates(address_holdings(linking)).rows()
    [(1, 2, 1.0), (2, 1, 1.0)]
    """
    return _mate_shares(held, held, None, min_share)


def pool_mates(held: pl.DataFrame, pairs: pl.DataFrame,
               min_share: float = DEFAULT_MIN_POOL_SHARE, known: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ``pairs`` of known clusters where the first rides the second's address pool.

    Parameters
    ----------
    held : DataFrame
        :func:`address_holdings` of the earlier run.
    pairs : DataFrame
        ``cluster_id, mate_id``: the pairs to judge.
    min_share : float
        Share of ``cluster_id``'s address holdings (one per account and
        address) that must be on addresses ``mate_id``'s accounts also held
        (:data:`DEFAULT_MIN_POOL_SHARE`).
    known : DataFrame, optional
        :func:`all_pool_mates` of ``held`` at a share no higher than ``min_share`` (detect's
        ``match_mates.parquet``): the pairs are looked up there instead of judged.

    Returns
    -------
    DataFrame
        ``cluster_id, mate_id, shared``: the pairs whose share ``shared`` reaches ``min_share``.

    Examples
    --------
    >>> linking = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"], "kind": ["ip"] * 5,
    ...                         "value": ["p1", "p2", "p1", "p2", "own"], "cluster_id": [1, 1, 2, 2, 3]})
    >>> pool_mates(address_holdings(linking), pl.DataFrame({"cluster_id": [1, 1], "mate_id": [2, 3]})).rows()
    [(1, 2, 1.0)]
    """
    pairs = pairs.select("cluster_id", "mate_id").unique()
    if known is not None:
        return (known.join(pairs, on=["cluster_id", "mate_id"], how="semi").filter(pl.col("shared") >= min_share)
                .select("cluster_id", "mate_id", "shared").sort("cluster_id", "mate_id"))
    # Only the pairs' clusters' holdings are joined, address by address (an address has few holders).
    first = held.filter(pl.col("cluster_id").is_in(pairs["cluster_id"].unique().implode()))
    second = held.filter(pl.col("cluster_id").is_in(pairs["mate_id"].unique().implode()))
    return _mate_shares(first, second, pairs, min_share)


def _mate_shares(first: pl.DataFrame, second: pl.DataFrame, pairs: pl.DataFrame | None,
                 min_share: float) -> pl.DataFrame:
    """``cluster_id, mate_id, shared`` of ``first``'s clusters on ``second``'s addresses, at least ``min_share``:
    the ``pairs`` given, or every pair of two different clusters."""
    total = first.group_by("cluster_id").agg(pl.col("own").sum().alias("total"))
    joined = first.join(second.select("value", pl.col("cluster_id").alias("mate_id")), on="value")
    joined = (joined.filter(pl.col("cluster_id") != pl.col("mate_id")) if pairs is None
              else joined.join(pairs, on=["cluster_id", "mate_id"], how="semi"))
    shared = joined.group_by("cluster_id", "mate_id").agg(pl.col("own").sum().alias("on_mate"))
    return (shared.join(total, on="cluster_id")
            .select("cluster_id", "mate_id", (pl.col("on_mate") / pl.col("total")).alias("shared"))
            .filter(pl.col("shared") >= min_share).sort("cluster_id", "mate_id"))


def pooled_rank(hits: pl.DataFrame, per_cluster: pl.DataFrame, held: pl.DataFrame,
                min_share: float = DEFAULT_MIN_POOL_SHARE, mates: pl.DataFrame | None = None) -> pl.DataFrame:
    """``per_cluster`` with ``rank``: its evidence with the address evidence of its pool mates added.

    Each account's clusters are judged against the one it has the most
    evidence with (its *top*): a cluster riding the top's pool
    (:func:`pool_mates`) and the top each get the other's address hits
    (kinds :data:`POOL_KINDS`), so that the pool's addresses count the same
    for both and the values that differ decide. For such an account the
    rank leaves the clock out (a cluster busy around the clock can earn no
    clock fit, so the clock would decide between pool mates by which keeps
    hours); where the ranks tie (nothing but the pool and common values),
    :func:`graphlink.stages.match.pick_cluster` falls back on the evidence,
    which weighs each address by the cluster it was concentrated in.

    Parameters
    ----------
    hits : DataFrame
        ``account_id, cluster_id, kind, value, evidence, strong``: the new
        accounts' values shared with known clusters.
    per_cluster : DataFrame
        ``account_id, cluster_id, strong, weak, evidence``: the (account,
        cluster) pairs that reached the bar, with their strong and weak
        evidence (``weak`` with the clock's part) and the total.
    held : DataFrame
        :func:`address_holdings` of the earlier run.
    min_share : float
        :data:`DEFAULT_MIN_POOL_SHARE`.
    mates : DataFrame, optional
        :func:`all_pool_mates` of ``held`` (detect's ``match_mates.parquet``), looked up instead of judged.

    Returns
    -------
    DataFrame
        ``per_cluster`` and ``rank``: for an account with pool mates among
        its clusters ``strong + min(weak, strong)`` over the cluster's hits
        and those borrowed (each value once), rounded to 1e-9 so that equal
        sets of values tie; else the evidence.
    """
    top = (per_cluster.sort(["account_id", "evidence", "cluster_id"], descending=[False, True, False])
           .group_by("account_id", maintain_order=True).first().select("account_id", pl.col("cluster_id").alias("top")))
    others = (per_cluster.select("account_id", "cluster_id").join(top, on="account_id")
              .filter(pl.col("cluster_id") != pl.col("top")))
    if not others.height:
        return per_cluster.with_columns(pl.col("evidence").alias("rank"))
    mates = pool_mates(held, others.select("cluster_id", pl.col("top").alias("mate_id")).unique(), min_share,
                       mates)
    edges = others.join(mates.select("cluster_id", pl.col("mate_id").alias("top")), on=["cluster_id", "top"])
    # Both ways: the rider gets the top's address hits, the top the rider's.
    lend = pl.concat([edges.select("account_id", pl.col("cluster_id").alias("receiver"), pl.col("top").alias("giver")),
                      edges.select("account_id", pl.col("top").alias("receiver"), pl.col("cluster_id").alias("giver"))])
    pool = hits.filter(pl.col("kind").is_in(POOL_KINDS)).select(
        "account_id", pl.col("cluster_id").alias("giver"), "kind", "value", "evidence", "strong")
    key = ["account_id", "cluster_id", "kind", "value"]
    borrowed = lend.join(pool, on=["account_id", "giver"]).rename({"receiver": "cluster_id"}).drop("giver")
    pooled = (per_cluster.select("account_id", "cluster_id").join(edges.select("account_id").unique(), on="account_id")
              .join(hits.select(*key, "evidence", "strong"), on=["account_id", "cluster_id"]))
    # Each value once per cluster (a value is credited to one cluster of a campaign, and above half its holders
    # in at most one campaign, so a value borrowed is one the cluster lacks but at a 0.5 tie, of equal evidence);
    # rounded below, so that equal sets of values give equal ranks whatever order they are summed in.
    ranked = (pl.concat([pooled, borrowed.select(pooled.columns)]).unique(key)
              .group_by("account_id", "cluster_id")
              .agg(pl.col("evidence").filter("strong").sum().alias("s"), pl.col("evidence").filter(~pl.col("strong"))
                   .sum().alias("w"))
              .select("account_id", "cluster_id", (pl.col("s") + pl.min_horizontal("w", "s")).round(9).alias("pooled")))
    return (per_cluster.join(ranked, on=["account_id", "cluster_id"], how="left")
            .with_columns(pl.coalesce("pooled", "evidence").alias("rank")).drop("pooled"))
