"""Communities on Spark: connected components, then Leiden per component on the workers.

1. **Connected components** of the projected graph, on Spark: every vertex
   starts with its own index as label; each round a vertex takes the smallest
   label among itself and its neighbours, then jumps to its label's label
   (pointer jumping), until no label changes. Rounds grow with the logarithm
   of the component diameters; each round is cut from the lineage with
   ``localCheckpoint``.
2. **Leiden per component**: components of up to ``DRIVER_VERTICES``
   vertices are grouped by component and partitioned on the workers with
   ``applyInPandas``; larger ones are collected to the driver. Both call
   :func:`graphlink.stages.communities.partition_component` on the
   component's edges in canonical vertex order, exactly as the polars engine
   does (:func:`graphlink.stages.communities.component_edges`).
3. Labels are collected (``O(clustered accounts)``) and numbered by
   :func:`graphlink.stages.communities.number_clusters`.

What "equal" means: Leiden's result depends on its random choices, i.e. on
the seed, the vertex order and the edge order it is given. Both engines give
each component the same local vertex numbering (ascending account index),
the same edges in the same order with bit-identical weights, and reseed
Leiden with the run's seed per component; the partition is therefore the
same labelling up to renaming, and after canonical numbering the same
``cluster_id`` per account (ARI = 1). CPM has no global term (Traag et al.
2019 use it for that reason among others), so partitioning each component
alone optimises the same objective as partitioning the whole graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig
from graphlink.engines.spark.ingest import to_polars
from graphlink.stages.communities import number_clusters, partition_component

__all__ = ["spark_components", "spark_partition", "DRIVER_VERTICES", "MAX_ROUNDS"]

#: Components larger than this are partitioned on the driver: a worker's pandas group holds a
#: whole component in memory, and the few giant components (a shared NAT, a proxy pool) are
#: better served by the driver's memory than by one overloaded task.
DRIVER_VERTICES = 200_000
#: Safety bound on label-propagation rounds (pointer jumping converges in O(log diameter)).
MAX_ROUNDS = 64


def spark_components(edges: Any) -> Any:
    """``account_idx, component`` (the smallest account index in its component) for vertices with an edge."""
    from pyspark.sql import functions as F

    both = edges.select(F.col("source").alias("a"), F.col("target").alias("b")).unionByName(
        edges.select(F.col("target").alias("a"), F.col("source").alias("b"))).cache()
    labels = both.groupBy("a").agg(F.least(F.first("a"), F.min("b")).alias("c")).localCheckpoint()
    # A label never exceeds its vertex and never grows (each step takes a minimum, each jump the
    # label of a smaller vertex): the labels' sum falls while any label changes, so comparing
    # sums (a scan of the materialised labels) is the convergence test, not a join with the last round.
    total = labels.agg(F.sum("c")).collect()[0][0]
    for _ in range(MAX_ROUNDS):
        seen = both.join(labels.select(F.col("a").alias("b"), F.col("c").alias("cb")), on="b").groupBy("a").agg(
            F.min("cb").alias("cb"))
        step = labels.join(seen, on="a").select("a", F.least("c", "cb").alias("c"))
        jumped = step.join(step.select(F.col("a").alias("c"), F.col("c").alias("cc")), on="c", how="left").select(
            "a", F.coalesce("cc", "c").alias("c")).localCheckpoint()
        labels, previous = jumped, total
        total = labels.agg(F.sum("c")).collect()[0][0]
        if total == previous:
            break
    both.unpersist()
    return labels.select(F.col("a").alias("account_idx"), F.col("c").alias("component"))


def _local_partition(frame: Any, config: CommunityConfig) -> Any:
    """One component's edges (pandas ``source, target, weight, component``) to ``account_idx, component, label``."""
    import pandas as pd

    frame = frame.sort_values(["source", "target"], kind="stable")
    source = frame["source"].to_numpy(np.int64)
    target = frame["target"].to_numpy(np.int64)
    vertices = np.unique(np.concatenate([source, target]))
    labels = partition_component(np.searchsorted(vertices, source).astype(np.uint32),
                                 np.searchsorted(vertices, target).astype(np.uint32),
                                 frame["weight"].to_numpy(np.float64), len(vertices), config)
    component = int(frame["component"].iloc[0]) if len(frame) else 0
    return pd.DataFrame({"account_idx": vertices, "component": np.full(len(vertices), component, dtype=np.int64),
                         "label": labels.astype(np.int64)})


def spark_partition(edges: Any, n_accounts: int, config: CommunityConfig | None = None) -> tuple[pl.DataFrame, int]:
    """``(account_idx, cluster_id`` for every account, components partitioned on the driver)``.

    Schema as :func:`graphlink.stages.communities.detect_communities`.
    """
    from pyspark.sql import functions as F

    config = config or CommunityConfig()
    components = spark_components(edges)
    sizes = components.groupBy("component").agg(F.count(F.lit(1)).alias("vertices"))
    with_component = edges.join(components.select(F.col("account_idx").alias("source"), "component"), on="source")
    with_component = with_component.join(sizes, on="component").cache()
    big = with_component.where(F.col("vertices") > DRIVER_VERTICES)
    small = with_component.where(F.col("vertices") <= DRIVER_VERTICES).select("source", "target", "weight",
                                                                              "component")

    def run(frame: Any) -> Any:
        return _local_partition(frame, config)

    found = small.groupBy("component").applyInPandas(run, schema="account_idx long, component long, label long")
    parts = [to_polars(found)]
    on_driver = to_polars(big.select("source", "target", "weight", "component"))
    for (component,), frame in on_driver.partition_by("component", as_dict=True).items():
        parts.append(pl.from_pandas(_local_partition(frame.to_pandas(), config)))
    with_component.unpersist()
    labelled = pl.concat([p.cast({"account_idx": pl.Int64, "component": pl.Int64, "label": pl.Int64})
                          for p in parts])
    labels = np.arange(n_accounts, dtype=np.int64)
    if labelled.height:
        # One label per (component, Leiden label), above every isolated account's own index.
        code = labelled.select(pl.struct("component", "label").rank("dense").cast(pl.Int64) + n_accounts)
        labels[labelled["account_idx"].to_numpy()] = code.to_series().to_numpy()
    return number_clusters(labels, config.min_cluster_size), len(on_driver.partition_by("component")) \
        if on_driver.height else 0
