"""Communities on Spark: connected components, then Leiden per component on the workers.

1. **Connected components** of the projected graph: each partition of the
   edges is reduced on the workers to its own spanning forest (``mapInPandas``
   with igraph: one row per vertex of the partition, naming the smallest
   vertex of its partition-local component); the driver joins the forests
   with igraph (:func:`driver_components`). One Spark job; label propagation
   took several shuffles per round and about 7 rounds on the 1M-event world.
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

import igraph as ig
import numpy as np
import polars as pl

from graphlink.config import CommunityConfig
from graphlink.engines.spark.ingest import to_polars
from graphlink.engines.spark.signals import to_spark
from graphlink.stages.communities import number_clusters, partition_component

__all__ = ["spark_components", "driver_components", "spark_partition", "DRIVER_VERTICES"]

#: Components larger than this are partitioned on the driver: a worker's pandas group holds a
#: whole component in memory, and the few giant components (a shared NAT, a proxy pool) are
#: better served by the driver's memory than by one overloaded task.
DRIVER_VERTICES = 200_000


def _partition_roots(batches: Any) -> Any:
    """One edge partition's connected components (igraph): ``account_idx, root`` (the smallest
    account index of its component within this partition) for every vertex of the partition."""
    import pandas as pd

    frames = list(batches)
    source = np.concatenate([f["source"].to_numpy(np.int64) for f in frames]) if frames else np.empty(0, np.int64)
    target = np.concatenate([f["target"].to_numpy(np.int64) for f in frames]) if frames else np.empty(0, np.int64)
    vertices = np.unique(np.concatenate([source, target]))
    if not len(vertices):
        return
    local = ig.Graph(n=len(vertices), edges=np.column_stack([np.searchsorted(vertices, source),
                                                             np.searchsorted(vertices, target)]).tolist())
    membership = np.asarray(local.connected_components().membership, dtype=np.int64)
    smallest = np.full(membership.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, membership, vertices)
    yield pd.DataFrame({"account_idx": vertices, "root": smallest[membership]})


def driver_components(edges: Any) -> pl.DataFrame:
    """``account_idx, component, vertices`` for every vertex with an edge, on the driver (polars).

    ``component`` is the smallest account index in the vertex's connected
    component, ``vertices`` the component's size. Each partition of ``edges``
    is reduced to its own components on the workers (``mapInPandas`` with
    igraph: one row per vertex of the partition, linking it to its
    partition-local root); the driver joins those forests (at most
    ``partitions x accounts`` rows, usually about one per account with an
    edge) with igraph. Two vertices are in one component exactly when a path
    of edges joins them, and every edge lies in some partition, so the
    forests' union has the same components as the graph. One Spark job,
    instead of label propagation's several shuffles per round.
    """
    roots = to_polars(edges.select("source", "target").mapInPandas(_partition_roots, "account_idx long, root long"))
    if not roots.height:
        return pl.DataFrame(schema={"account_idx": pl.Int64, "component": pl.Int64, "vertices": pl.Int64})
    vertices = pl.concat([roots["account_idx"], roots["root"]]).unique().sort().to_numpy()
    joined = ig.Graph(n=len(vertices), edges=np.column_stack([
        np.searchsorted(vertices, roots["account_idx"].to_numpy()),
        np.searchsorted(vertices, roots["root"].to_numpy())]).tolist())
    membership = np.asarray(joined.connected_components().membership, dtype=np.int64)
    smallest = np.full(membership.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, membership, vertices)
    sizes = np.bincount(membership)
    return pl.DataFrame({"account_idx": vertices, "component": smallest[membership], "vertices": sizes[membership]})


def spark_components(edges: Any) -> Any:
    """``account_idx, component`` (the smallest account index in its component) for vertices with an
    edge, as a Spark DataFrame (:func:`driver_components`)."""
    return to_spark(edges.sparkSession, driver_components(edges).select("account_idx", "component"))


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
                         "label": labels.astype(np.int64),
                         "whole": (labels - labels % max(len(vertices), 1)).astype(np.int64)})  # before blocks split


def _local_partitions(frame: Any, config: CommunityConfig) -> Any:
    """Several components' edges (pandas ``source, target, weight, component``), each partitioned
    alone by :func:`_local_partition`: one ``applyInPandas`` call per batch of components, not per
    component (the per-call Arrow and pandas overhead exceeded Leiden's own time on small ones)."""
    import pandas as pd

    columns = {"account_idx": np.int64, "component": np.int64, "label": np.int64, "whole": np.int64}
    if not len(frame):
        return pd.DataFrame({name: np.empty(0, dtype=kind) for name, kind in columns.items()})
    frame = frame.sort_values(["component", "source", "target"], kind="stable")
    component = frame["component"].to_numpy(np.int64)
    starts = np.flatnonzero(np.r_[True, component[1:] != component[:-1]])
    ends = np.r_[starts[1:], len(frame)]
    parts = [_local_partition(frame.iloc[a:b], config) for a, b in zip(starts, ends)]
    return pd.concat(parts, ignore_index=True)


def spark_partition(edges: Any, n_accounts: int, config: CommunityConfig | None = None) -> tuple[pl.DataFrame, int]:
    """``(account_idx, cluster_id`` for every account, components partitioned on the driver)``.

    Schema as :func:`graphlink.stages.communities.detect_communities` with ``wholes=True``.
    """
    from pyspark.sql import functions as F

    config = config or CommunityConfig()
    components = to_spark(edges.sparkSession, driver_components(edges))
    with_component = edges.join(components.select(F.col("account_idx").alias("source"), "component", "vertices"),
                                on="source").cache()
    big = with_component.where(F.col("vertices") > DRIVER_VERTICES)
    small = with_component.where(F.col("vertices") <= DRIVER_VERTICES).select("source", "target", "weight",
                                                                              "component")

    def run(frame: Any) -> Any:
        return _local_partitions(frame, config)

    # Components in batches (component mod 4 x cores, an explicit repartition so adaptive
    # execution does not merge them into one task); each batch loops over its components.
    batches = 4 * max(1, edges.sparkSession.sparkContext.defaultParallelism)
    batch = F.pmod(F.col("component"), F.lit(batches)).alias("batch")
    found = (small.select("*", batch).repartition(batches, "batch").groupBy("batch")
             .applyInPandas(lambda frame: run(frame.drop(columns="batch")),
                            schema="account_idx long, component long, label long, whole long"))
    parts = [to_polars(found)]
    on_driver = to_polars(big.select("source", "target", "weight", "component"))
    for (component,), frame in on_driver.partition_by("component", as_dict=True).items():
        parts.append(pl.from_pandas(_local_partition(frame.to_pandas(), config)))
    with_component.unpersist()
    labelled = pl.concat([p.cast({"account_idx": pl.Int64, "component": pl.Int64, "label": pl.Int64, "whole": pl.Int64})
                          for p in parts])
    labels = np.arange(n_accounts, dtype=np.int64)
    whole = labels.copy()
    if labelled.height:
        # One label per (component, Leiden label), above every isolated account's own index.
        for name, into in (("label", labels), ("whole", whole)):
            code = labelled.select(pl.struct("component", name).rank("dense").cast(pl.Int64) + n_accounts)
            into[labelled["account_idx"].to_numpy()] = code.to_series().to_numpy()
    partition = number_clusters(labels, config.min_cluster_size).with_columns(
        whole_id=number_clusters(whole, config.min_cluster_size)["cluster_id"])  # split_wholes takes it off
    return partition, len(on_driver.partition_by("component")) if on_driver.height else 0
