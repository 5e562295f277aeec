"""Scoring: how suspicious each cluster is, and why.

First rule (refined by the scoring issue): a cluster's score is the mean
strength of its members' links inside the cluster, normalised to 0..1 as
``s / (s + 10)`` where ``s`` is the average internal weighted degree. A
cluster is flagged when it has at least ``min_flag_size`` accounts and a score
of at least ``flag_threshold``.

Output schema (:func:`score_clusters`)
--------------------------------------
``cluster_id`` Int64, ``size`` UInt32, ``score`` Float64, ``flagged`` Boolean,
``kinds`` List(String) (signal kinds with linking evidence, strongest first),
``top_values`` List(String) (``kind=value`` of the most shared evidence),
``why`` String (plain-language reasons).
"""

from __future__ import annotations

import polars as pl

from graphlink.config import ScoringConfig

CLUSTER_SCHEMA = pl.Schema({
    "cluster_id": pl.Int64, "size": pl.UInt32, "score": pl.Float64, "flagged": pl.Boolean,
    "kinds": pl.List(pl.String), "top_values": pl.List(pl.String), "why": pl.String,
})


def score_clusters(clusters: pl.DataFrame, edges: pl.DataFrame, evidence: pl.DataFrame,
                   config: ScoringConfig | None = None) -> pl.DataFrame:
    """Score and flag clusters (schema in the module docstring)."""
    config = config or ScoringConfig()
    members = clusters.drop_nulls("cluster_id")
    sizes = members.group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("size"))
    internal = (
        edges.join(members.rename({"account_idx": "source", "cluster_id": "c1"}), on="source")
        .join(members.rename({"account_idx": "target", "cluster_id": "c2"}), on="target")
        .filter(pl.col("c1") == pl.col("c2"))
        .group_by(pl.col("c1").alias("cluster_id")).agg(pl.col("weight").sum().alias("internal_weight"))
    )
    linking = evidence.filter(pl.col("weight") > 0)
    kinds = (
        linking.group_by("cluster_id", "kind").agg((pl.col("weight") * pl.col("accounts_sharing")).sum().alias("k"))
        .sort(["cluster_id", "k", "kind"], descending=[False, True, False])
        .group_by("cluster_id", maintain_order=True).agg(pl.col("kind").alias("kinds"))
    )
    top = (
        evidence.sort(["cluster_id", "accounts_sharing", "weight", "kind", "value"],
                      descending=[False, True, True, False, False])
        .group_by("cluster_id", maintain_order=True).head(5)
        .group_by("cluster_id", maintain_order=True)
        .agg(pl.concat_str([pl.col("kind"), pl.lit("="), pl.col("value").str.slice(0, 80)]).alias("top_values"),
             pl.concat_str([pl.col("accounts_sharing").cast(pl.String), pl.lit(" accounts share "),
                            pl.col("kind"), pl.lit(" "), pl.col("value").str.slice(0, 60)])
             .head(3).str.join("; ").alias("why"))
    )
    strength = 2 * pl.col("internal_weight").fill_null(0.0) / pl.col("size")
    scored = (
        sizes.join(internal, on="cluster_id", how="left")
        .with_columns((strength / (strength + 10.0)).alias("score"))
        .with_columns(((pl.col("size") >= config.min_flag_size) & (pl.col("score") >= config.flag_threshold))
                      .alias("flagged"))
        .join(kinds, on="cluster_id", how="left")
        .join(top, on="cluster_id", how="left")
        .with_columns(pl.col("kinds").fill_null(pl.lit([], pl.List(pl.String))),
                      pl.col("top_values").fill_null(pl.lit([], pl.List(pl.String))),
                      pl.col("why").fill_null(""))
        .sort("cluster_id")
    )
    return scored.select(list(CLUSTER_SCHEMA.names())).cast(dict(CLUSTER_SCHEMA))
