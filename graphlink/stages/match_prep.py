"""Detect's indexes for ``match`` counted on integer codes of ``linking.parquet``'s values.

``match_index.parquet`` (:func:`graphlink.stages.match.cluster_values`) and
``match_pools.parquet`` (:func:`graphlink.stages.match_pools.address_holdings`)
group the clustered rows of ``linking.parquet`` (11M rows on the campaign
preset) by cluster, kind and value. Grouped on the text, that took ~7 s of CPU
of the campaign preset's save (session 18). The pipeline already holds the rows'
order (:func:`graphlink.stages.drilldown.linking_order`: each row's value rank in
(kind, value) order), so here each clustered row becomes one integer key (cluster,
value rank) counted off numpy's sort, ``kind`` is replaced by its rank and
``value`` by its value's rank -- both preserve equality and order -- and
:func:`~graphlink.stages.match.cluster_values` runs on the counted rows
(``grouped=True``): every group, count, filter and sort is the same, and the text
is put back by position at the end. The tables are the same, row for row
(``tests/test_match_prep.py`` checks them against the functions on the text).
"""

from __future__ import annotations

import polars as pl

from graphlink.contract import MATCH_INDEX_FILE, MATCH_INDEX_SCHEMA, MATCH_POOLS_FILE, MATCH_POOLS_SCHEMA
from graphlink.stages.drilldown import positional_ids
from graphlink.stages.encode import value_counts
from graphlink.stages.match import DEFAULT_MIN_CONCENTRATION, cluster_values

__all__ = ["coded_linking", "prepared_indexes"]


def coded_linking(linking: pl.DataFrame, ranked: pl.DataFrame, rank: pl.Series,
                  ) -> tuple[pl.DataFrame, pl.Series] | None:
    """``(counted, kinds)``: how many of each cluster's accounts hold each value, on codes; None when codes cannot
    stand for the text (two values of one kind spelled alike, or cluster ids outside 0 .. 2^31).

    Parameters
    ----------
    linking : DataFrame
        :func:`graphlink.stages.drilldown.linking_values` built from ``ranked`` and ``rank`` (its rows in
        ``rank``'s order: the positional path).
    ranked, rank : DataFrame, Series
        :func:`graphlink.stages.drilldown.linking_order`'s values sorted by (kind, value) and each row's rank.

    Returns
    -------
    tuple
        ``counted``: ``cluster_id, kind, value, df, members`` (``members``: rows of ``linking`` with that cluster
        and value), sorted by (cluster_id, value); ``value`` is the value's row in ``ranked`` (its rank in
        (kind, value) order) and ``kind`` (``UInt32``) the kind's rank; ``kinds``: each kind code's text.
    """
    new_kind = pl.col("kind").ne_missing(pl.col("kind").shift(1))
    new_value = new_kind | pl.col("value").ne_missing(pl.col("value").shift(1))
    codes = ranked.select((new_kind.cum_sum() - 1).cast(pl.UInt32).alias("kind"), new_kind.alias("k"))
    clustered = linking["cluster_id"].is_not_null()
    cluster = linking["cluster_id"].filter(clustered)
    if ranked.select(new_value.sum()).item() != ranked.height or (cluster.len() and not 0 <= cluster.min() < 2**31):
        return None
    # One UInt64 key (cluster, value rank) per row, counted off numpy's sort (value_counts): 10.7M rows in well
    # under a second, where polars' group-by on the four columns took ~3 s of CPU.
    key = (cluster.cast(pl.UInt64) * 2**32 + rank.filter(clustered).cast(pl.UInt64)).alias("key")
    runs = value_counts(key)
    value = (runs["key"] % 2**32).cast(pl.UInt32)
    counted = pl.DataFrame({"cluster_id": (runs["key"] // 2**32).cast(pl.Int64), "kind": codes["kind"].gather(value),
                            "value": value, "df": ranked["df"].cast(pl.UInt32).gather(value), "members": runs["count"]})
    return counted, ranked["kind"].filter(codes["k"])


def prepared_indexes(linking: pl.DataFrame, order: tuple[pl.DataFrame, pl.Series, pl.Series] | None,
                     index: pl.DataFrame, accounts: pl.DataFrame, clusters: pl.DataFrame | None,
                     ) -> dict[str, pl.DataFrame]:
    """``match_index.parquet`` and ``match_pools.parquet`` by file name, counted on codes; empty when
    ``linking``'s rows are not in ``order`` (the text path of :func:`graphlink.stages.drilldown.linking_values`:
    :mod:`graphlink.store.outputs` then groups the text, as before).

    ``index`` and ``accounts`` (``account_id, cluster_id``) are what ``linking`` was built from; ``clusters``
    (``cluster_id, campaign_id``) gives the campaign credit.
    """
    ids = index.select("account_idx", "account_id").join(accounts.select("account_id", "cluster_id"),
                                                          on="account_id", how="left")
    if order is None or positional_ids(ids) is None or linking.height != order[2].len():
        return {}
    ranked, _, rank = order
    coded = coded_linking(linking, ranked, rank)
    if coded is None:
        return {}
    counted, kinds = coded
    campaigns = (clusters.select("cluster_id", "campaign_id")
                 if clusters is not None and "campaign_id" in clusters.columns else None)
    found = cluster_values(counted, DEFAULT_MIN_CONCENTRATION, campaigns=campaigns, grouped=True)
    found = found.with_columns(kinds.gather(found["kind"]).alias("kind"),
                               ranked["value"].gather(found["value"]).alias("value"))
    # address_holdings' groups (kind "ip": value, cluster_id, own), sorted as detect writes them.
    ip = kinds.to_list().index("ip") if "ip" in kinds.to_list() else None
    pools = (counted.filter(pl.col("kind") == ip) if ip is not None else counted.clear()).select(
        "value", "cluster_id", pl.col("members").alias("own")).sort("cluster_id", "value")
    pools = pools.with_columns(ranked["value"].gather(pools["value"]).alias("value"))
    return {MATCH_INDEX_FILE: found.cast(dict(MATCH_INDEX_SCHEMA)), MATCH_POOLS_FILE: pools.cast(dict(MATCH_POOLS_SCHEMA))}
