"""Re-keying a run's outputs to stable cluster ids (``--previous``).

:func:`graphlink.stages.stable_ids.match_clusters` gives a mapping ``cluster_id -> stable_id``;
these functions apply it to every place an output names a cluster: ``accounts``, ``clusters``
and ``evidence`` rows, the cluster a ``why`` names ("same operator as" or "tied to flagged cluster N"), and
the ``clusters`` lists of ``campaigns.parquet``.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.tie_words import LEAD_PATTERN

__all__ = ["apply_mapping", "rekey", "rekey_campaigns", "rekey_why"]


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
    """Rewrite the ``clusters`` lists of ``campaigns.parquet`` to stable ids (no-op without a mapping).

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
    return (campaigns.drop("clusters").join(members, on="campaign_id", how="left", maintain_order="left")
            .with_columns(pl.col("clusters").cast(dtype)).select(campaigns.columns))


def rekey_why(clusters: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    """Rewrite the cluster id a ``why`` names ("same operator as" / "tied to flagged cluster N") to its stable id.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "why": ["same operator as flagged cluster 2 (campaign 1); x", "proxies",
    ...                                                   "tied to flagged cluster 2 (campaign 1) by 5 prompt values; y"]})
    >>> m = pl.DataFrame({"cluster_id": [1, 2, 3], "stable_id": [7, 3, 9]})
    >>> rekey_why(cl, m)["why"].to_list()  # doctest: +NORMALIZE_WHITESPACE
    ['same operator as flagged cluster 3 (campaign 1); x', 'proxies',
     'tied to flagged cluster 3 (campaign 1) by 5 prompt values; y']
    """
    lead = clusters.with_columns(pl.col("why").str.extract(LEAD_PATTERN, 2).alias("__lead"),
                                 pl.col("why").str.extract(LEAD_PATTERN, 1).alias("__words")).pipe(
        apply_mapping, mapping, "__lead")
    return lead.with_columns(
        pl.when(pl.col("__lead").is_not_null())
        .then(pl.concat_str([pl.col("__words"), pl.col("__lead").cast(pl.String), pl.col("why").str.replace(LEAD_PATTERN, "")]))
        .otherwise(pl.col("why")).alias("why")).drop("__lead", "__words")
