"""Re-keying a run's outputs to stable cluster ids (``--previous``).

:func:`graphlink.stages.stable_ids.match_clusters` gives a mapping ``cluster_id -> stable_id``;
these functions apply it to every place an output names a cluster: ``accounts``, ``clusters``
and ``evidence`` rows, the cluster a ``why`` names ("same operator as" or "tied to flagged cluster N"), and
the ``clusters`` lists of ``campaigns.parquet`` and the clusters its ``why`` names ("flagged through cluster N").
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.tie_words import LEAD_PATTERN, OTHERS_PATTERN, THROUGH, THROUGH_PATTERN

__all__ = ["apply_mapping", "rekey", "rekey_campaigns", "rekey_campaign_why", "rekey_why"]


def apply_mapping(frame: pl.DataFrame, mapping: pl.DataFrame, column: str = "cluster_id") -> pl.DataFrame:
    """Replace the run's own cluster ids in ``column`` by the stable ids of ``mapping``.

    Rows keep their order; null ids stay null.

    Examples
    --------
    >>> m = pl.DataFrame({"cluster_id": [1, 2], "stable_id": [7, 3]})
    >>> apply_mapping(pl.DataFrame({"cluster_id": [2, None, 1]}), m)["cluster_id"].to_list()
    [3, None, 7]
    """
    lookup = mapping.drop_nulls("cluster_id").select(
        pl.col("cluster_id").cast(pl.Int64), pl.col("stable_id").cast(pl.Int64).alias("__stable"))
    return (
        frame.with_columns(pl.col(column).cast(pl.Int64))
        .join(lookup, left_on=column, right_on="cluster_id", how="left", maintain_order="left")
        .with_columns(pl.col("__stable").alias(column))
        .drop("__stable")
    )


def rekey(mapping: pl.DataFrame, accounts: pl.DataFrame, clusters: pl.DataFrame,
          evidence: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Apply a mapping to the three output frames.

    ``accounts`` keeps its row order (by account id); ``clusters`` is sorted by
    the new ids; ``evidence`` by the new ids, each cluster's rows in their
    original order.
    """
    if "why" in clusters.columns:
        clusters = rekey_why(clusters, mapping)
    return (
        apply_mapping(accounts, mapping),
        apply_mapping(clusters, mapping).sort("cluster_id"),
        apply_mapping(evidence, mapping).sort("cluster_id", maintain_order=True),
    )


def rekey_campaigns(campaigns: pl.DataFrame, mapping: pl.DataFrame | None) -> pl.DataFrame:
    """Rewrite the ``clusters`` lists of ``campaigns.parquet`` to stable ids, and the clusters its ``why``
    names (:func:`rekey_campaign_why`); a no-op without a mapping.

    Examples
    --------
    >>> camp = pl.DataFrame({"campaign_id": [1], "clusters": [[1, 2]]})
    >>> m = pl.DataFrame({"cluster_id": [1, 2], "stable_id": [7, 3]})
    >>> rekey_campaigns(camp, m)["clusters"].to_list()
    [[3, 7]]
    """
    if mapping is None or campaigns.height == 0:
        return campaigns
    dtype = campaigns.schema["clusters"]
    members = (campaigns.select("campaign_id", "clusters").explode("clusters")
               .pipe(apply_mapping, mapping, "clusters")
               .group_by("campaign_id").agg(pl.col("clusters").drop_nulls().sort()))
    out = (campaigns.drop("clusters").join(members, on="campaign_id", how="left", maintain_order="left")
           .with_columns(pl.col("clusters").cast(dtype)).select(campaigns.columns))
    return rekey_campaign_why(out, mapping) if "why" in out.columns else out


def rekey_campaign_why(campaigns: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """Rewrite the cluster ids a campaign ``why`` names at its end ("flagged through cluster N (campaign M), ...",
    :data:`graphlink.stages.tie_words.THROUGH_PATTERN`) to their stable ids; campaign ids, like
    :func:`rekey_why`'s, stay. An id the mapping lacks stays; other ``why`` values are left as they are.

    Examples
    --------
    >>> camp = pl.DataFrame({"campaign_id": [1, 2], "why": [
    ...     "1 cluster, 4 accounts, 1 flagged (0 on their own score); flagged through cluster 2 (campaign 3), "
    ...     "cluster 1 (campaign 3), and 2 more", "2 clusters, 9 accounts, 1 flagged"]})
    >>> m = pl.DataFrame({"cluster_id": [1, 2], "stable_id": [7, 3]})
    >>> rekey_campaign_why(camp, m)["why"].to_list()  # doctest: +NORMALIZE_WHITESPACE
    ['1 cluster, 4 accounts, 1 flagged (0 on their own score); flagged through cluster 3 (campaign 3),
      cluster 7 (campaign 3), and 2 more', '2 clusters, 9 accounts, 1 flagged']
    """
    if campaigns.height == 0:
        return campaigns
    item = r"^cluster (\d+)(.*)$"
    rows = campaigns.select(pl.col("why").str.extract(THROUGH_PATTERN, 2).alias("__items")).with_row_index("__row")
    items = (rows.drop_nulls("__items").with_columns(pl.col("__items").str.split(", ")).explode("__items")
             .with_columns(pl.col("__items").str.extract(item, 1).cast(pl.Int64).alias("__id"),
                           pl.col("__items").str.extract(item, 2).alias("__rest"))
             .with_columns(pl.col("__id").alias("__old")).pipe(apply_mapping, mapping, "__id")
             .group_by("__row", maintain_order=True)
             .agg(pl.concat_str([pl.lit("cluster "), pl.coalesce("__id", "__old").cast(pl.String), pl.col("__rest")])
                  .str.join(", ").alias("__new")))
    why = pl.col("why")
    return (campaigns.with_row_index("__row").join(items, on="__row", how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("__new").is_not_null())
                          .then(pl.concat_str([why.str.extract(THROUGH_PATTERN, 1).fill_null(""), pl.lit(THROUGH), pl.col("__new"),
                                               why.str.extract(THROUGH_PATTERN, 3).fill_null("")]))
                          .otherwise(why).alias("why"))
            .select(campaigns.columns))


def rekey_why(clusters: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """Rewrite the cluster id a ``why`` names ("same operator as" / "tied to flagged cluster N") to its stable id.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "why": ["same operator as flagged cluster 2 (campaign 1); x", "proxies",
    ...                                                   "tied to flagged cluster 2 (campaign 1) by 5 prompt phrases; y"]})
    >>> m = pl.DataFrame({"cluster_id": [1, 2, 3], "stable_id": [7, 3, 9]})
    >>> rekey_why(cl, m)["why"].to_list()  # doctest: +NORMALIZE_WHITESPACE
    ['same operator as flagged cluster 3 (campaign 1); x', 'proxies',
     'tied to flagged cluster 3 (campaign 1) by 5 prompt phrases; y']
    >>> also = cl.with_columns(why=pl.lit("tied to flagged cluster 2 (campaign 1) by 2 IP addresses, and to flagged clusters 1, 3 by 1 payment card or identifier; z"))
    >>> rekey_why(also, m)["why"][0]  # the other flagged clusters it names (tie_words.ALSO) too
    'tied to flagged cluster 3 (campaign 1) by 2 IP addresses, and to flagged clusters 7, 9 by 1 payment card or identifier; z'
    """
    lead = clusters.with_columns(pl.col("why").str.extract(LEAD_PATTERN, 2).alias("__lead"),
                                 pl.col("why").str.extract(LEAD_PATTERN, 1).alias("__words")).pipe(
        apply_mapping, mapping, "__lead")
    return lead.with_columns(
        pl.when(pl.col("__lead").is_not_null())
        .then(pl.concat_str([pl.col("__words"), pl.col("__lead").cast(pl.String), pl.col("why").str.replace(LEAD_PATTERN, "")]))
        .otherwise(pl.col("why")).alias("why")).drop("__lead", "__words").pipe(_rekey_others, mapping)


def _rekey_others(clusters: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """The ids of the other flagged clusters a tie names (:data:`graphlink.stages.tie_words.OTHERS_PATTERN`), rekeyed."""
    pairs = mapping.drop_nulls(["cluster_id", "stable_id"]).select(pl.col("cluster_id").cast(pl.Int64), pl.col(
        "stable_id").cast(pl.Int64)).unique("cluster_id", keep="last", maintain_order=True)  # as a dict keeps them
    ids = pl.col("why").str.extract(OTHERS_PATTERN, 2)
    if not pairs.height or clusters.select(ids.is_not_null().any()).item() is not True:
        return clusters
    olds, news = pairs["cluster_id"].to_list(), pairs["stable_id"].to_list()  # one pair per cluster, not per row
    number = pl.element().cast(pl.Int64, strict=False)  # an id past Int64 or with leading zeros kept as written (brk60)
    new_ids = ids.str.split(", ").list.eval(pl.when(number.is_in(olds)).then(number.replace(olds, news).cast(pl.String))
                                            .otherwise(pl.element())).list.join(", ")
    return clusters.with_columns(pl.when(ids.is_not_null()).then(pl.concat_str([
        pl.col("why").str.extract(OTHERS_PATTERN, 1), new_ids, pl.col("why").str.replace(OTHERS_PATTERN, " by ")]))
        .otherwise(pl.col("why")).alias("why"))
