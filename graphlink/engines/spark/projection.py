"""Spark projection: rarity weighting and the account projection, as in :mod:`graphlink.stages.graph`.

Every number is defined once, in the polars engine's modules, and only
evaluated here on Spark columns:

* signals are numbered by the unsigned order of
  :func:`graphlink.stages.portable.signal_hash` (Spark's ``xxhash64`` of
  ``SIGNAL_SEED``, :func:`~graphlink.stages.portable.kind_code` and ``value_key``);
* a value's weight is a function of ``(kind, df)``
  (:func:`graphlink.stages.graph.rate`), evaluated by polars on the distinct
  ``(kind, df)`` combinations and joined back; rotation damping likewise
  (:func:`graphlink.stages.graph.damping`);
* circulant generators follow :func:`graphlink.stages.linking.generators`
  (mean popular values held per member, ``ceil``, clipped), the pair budget
  :func:`graphlink.stages.linking.apply_pair_budget` (on the driver, only
  when the planned pairs exceed ``max_pairs``);
* cycle order is :func:`graphlink.stages.linking.cycle_order` (``xxhash64(seed,
  generator, signal_idx, account_idx)``, ties by account), pair weights are
  floored to integers of ``1 / WEIGHT_SCALE`` and summed as integers
  (:func:`~graphlink.stages.linking.quantised`,
  :func:`~graphlink.stages.linking.combine_weights`), so the sums do not
  depend on how Spark partitions them.

Collected to the driver: the signal table (one row per distinct value:
``O(signals)``), per-account value counts (``O(accounts x kinds)``) and the
keys of the pairs co-timing checks (pairs a template or timing band projected
and nothing strong linked, 8 bytes each), verified there by
:func:`graphlink.stages.cotiming.verify_pairs` against the active minutes the
timing signal already collects, and sent back as strong pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from graphlink.config import GraphConfig
from graphlink.engines.spark.ingest import to_polars
from graphlink.engines.spark.signals import to_spark
from graphlink.stages.cotiming import CANDIDATE_KINDS, CoTiming
from graphlink.stages.graph import damping, kind_specs, rate
from graphlink.stages.linking import WEIGHT_SCALE, apply_pair_budget
from graphlink.stages.portable import SIGNAL_SEED, kind_code

__all__ = ["SparkProjection", "spark_project"]


@dataclass
class SparkProjection:
    """Edges and memberships on Spark; the signal table on the driver (``Projection.signals``'s schema)."""

    edges: Any
    memberships: Any
    signals: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: ``source, target, weight`` on the driver: the pairs co-timing linked (``Projection.co_timed``).
    co_timed: pl.DataFrame | None = None


def _number(pairs: Any, values: pl.DataFrame, config: GraphConfig) -> tuple[pl.DataFrame, Any]:
    """``(signals on the driver, memberships on Spark)``: numbered, weighed, with kind codes."""
    from pyspark.sql import functions as F

    spark = pairs.sparkSession
    kinds = sorted(r["kind"] for r in pairs.select("kind").distinct().collect())
    codes = to_spark(spark, pl.DataFrame({"kind": kinds, "code": [kind_code(k) for k in kinds]},
                                         schema={"kind": pl.String, "code": pl.Int64}))
    hashed = F.xxhash64(F.lit(SIGNAL_SEED).cast("long"), F.col("code"), F.col("value_key"))
    per_value = pairs.groupBy("kind", "value_key").agg(F.count(F.lit(1)).alias("df")).join(
        F.broadcast(codes), on="kind").select("kind", "value_key", "df", hashed.alias("signal_hash"))
    table = to_polars(per_value).with_columns(
        pl.col("value_key").cast(pl.UInt64, wrap_numerical=True),
        pl.col("signal_hash").cast(pl.UInt64, wrap_numerical=True), pl.col("df").cast(pl.UInt32))
    # Unsigned hash order, equal hashes one signal (as the polars engine's rle_id numbering).
    table = table.sort("signal_hash").with_columns(pl.col("signal_hash").rle_id().cast(pl.UInt32).alias("signal_idx"))
    spec = kind_specs(kinds, config)
    signals = (
        table.join(values.select("kind", "value_key", "value").unique(["kind", "value_key"]),
                   on=["kind", "value_key"], how="left", maintain_order="left")
        .with_columns(pl.col("value").fill_null(pl.col("value_key").cast(pl.String)))
        .join(spec, on="kind", how="left", maintain_order="left")
    )
    signals = rate(signals, config)
    numbering = to_spark(spark, signals.select("kind", "value_key", "signal_idx", "kind_code"))
    # Materialised: the damping counts and the damped table both read it (one join, not two).
    memberships = pairs.join(numbering, on=["kind", "value_key"]).select(
        "account_idx", "signal_idx", "count", "kind", "kind_code").localCheckpoint()
    out = signals.select("signal_idx", "kind", "value", "df", "weight", "linked", "strong", "cap").unique(
        "signal_idx", keep="first", maintain_order=True)
    return out, memberships


def _damped(memberships: Any, value_counts: pl.DataFrame, config: GraphConfig) -> Any:
    """Memberships with ``damp`` (:func:`graphlink.stages.graph.damping`; 1 when ``damping`` is 0)."""
    from pyspark.sql import functions as F

    if config.damping == 0:  # x ** 0 == 1 for every x: no table needed
        return memberships.withColumn("damp", F.lit(1.0))
    spark = memberships.sparkSession
    counted_kinds = value_counts["kind"].unique().to_list()
    from_pairs = to_polars(memberships.where(~F.col("kind").isin(counted_kinds)).groupBy("account_idx", "kind")
                           .agg(F.count(F.lit(1)).alias("n_values")))
    per_account = pl.concat([from_pairs.select(pl.col("account_idx").cast(pl.UInt32), "kind",
                                               pl.col("n_values").cast(pl.UInt32)),
                             value_counts.select("account_idx", "kind", pl.col("n_values").cast(pl.UInt32))])
    per_account = per_account.with_columns(damping(pl.col("n_values").median().over("kind"), config).alias("damp"))
    return memberships.join(to_spark(spark, per_account.select("account_idx", "kind", "damp")),
                            on=["account_idx", "kind"], how="left").fillna(1.0, subset=["damp"])


def _generators(members: Any, config: GraphConfig) -> Any:
    """``signal_idx, generators, sparse`` (:func:`graphlink.stages.linking.generators` on Spark)."""
    from pyspark.sql import functions as F

    popular = members.where(F.col("df") > 4)
    held = popular.groupBy("account_idx", "kind_code").agg(F.count(F.lit(1)).alias("held"))
    mean = popular.join(held, on=["account_idx", "kind_code"]).groupBy("signal_idx").agg(
        F.avg(F.col("held").cast("double")).alias("mean_held"), F.count(F.lit(1)).alias("members"))
    degree = config.sparse_degree
    k = F.least(F.greatest(F.ceil(F.lit(float(degree)) / F.col("mean_held")), F.lit(1)), F.lit(degree)).cast("long")
    sparse = (F.col("members") > config.clique_limit) | ((F.col("generators") < degree)
                                                         & (F.col("members") > 4 * F.col("generators")))
    return mean.select("signal_idx", "members", k.alias("generators")).select(
        "signal_idx", "generators", sparse.alias("sparse"))


def _planned() -> Any:
    """:func:`graphlink.stages.linking.planned_pairs` as a Spark column."""
    from pyspark.sql import functions as F

    df = F.col("df").cast("long")
    return F.when(~F.col("sparse"), F.shiftright(df * (df - 1), 1)).otherwise(df * F.col("generators"))


def _link(members: Any, config: GraphConfig, seed: int, verify: Any = None) -> Any:
    """Edges ``source, target, weight`` (:func:`graphlink.stages.linking.link` on Spark).

    ``verify``, as in :func:`graphlink.stages.linking.link`, gets the keys of the pairs only
    ``joint`` values projected and nothing strong (collected to the driver) and returns those to
    link (``key, weight``), which are sent back and linked as strong.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if "joint" not in members.columns:
        members = members.withColumn("joint", F.lit(False))
    small = members.where(~F.col("sparse")).select("signal_idx", "account_idx", "weight", "strong", "damp", "joint")
    other = small.select("signal_idx", F.col("account_idx").alias("other"), F.col("damp").alias("damp_other"))
    clique = small.join(other, on="signal_idx").where(F.col("account_idx") < F.col("other")).select(
        F.col("account_idx").alias("source"), F.col("other").alias("target"),
        (F.col("weight") * F.col("damp") * F.col("damp_other")).alias("weight"), "strong", "joint")
    large = members.where(F.col("sparse")).select(
        "signal_idx", "account_idx", "weight", "strong", "df", "generators", "damp", "joint",
        F.explode(F.sequence(F.lit(1).cast("long"), F.col("generators"))).alias("j"))
    order = F.xxhash64(F.lit(seed).cast("long"), F.col("j"), F.col("signal_idx").cast("long"),
                       F.col("account_idx").cast("long"))
    # Each cycle is one window partition in its order; the next account around the circle is
    # the next row, the first row after the last (as the polars engine's shifts over the run),
    # read with lead/first instead of numbering the rows and joining the cycle to itself.
    window = Window.partitionBy("signal_idx", "j").orderBy(order, F.col("account_idx"))

    def around(column: str) -> Any:
        return F.coalesce(F.lead(column).over(window), F.first(column).over(window))

    scale = (F.col("df").cast("double") - 1) / (2 * F.col("generators"))
    cycles = large.select("account_idx", "weight", "strong", "joint", "damp", scale.alias("scale"),
                          around("account_idx").alias("other"), around("damp").alias("damp_other"))
    cycles = cycles.where(F.col("account_idx") != F.col("other")).select(
        F.least("account_idx", "other").alias("source"), F.greatest("account_idx", "other").alias("target"),
        (F.col("weight") * F.col("scale") * F.col("damp") * F.col("damp_other")).alias("weight"), "strong", "joint")
    candidates = clique.unionByName(cycles).select(
        "source", "target", F.floor(F.col("weight") * float(WEIGHT_SCALE)).cast("long").alias("weight"), "strong",
        "joint")
    # One aggregation per pair: its strong sum (null when no strong kind links it: dropped) and
    # its weak sum; integers, so the order Spark adds them in does not matter.
    summed = candidates.groupBy("source", "target").agg(
        F.sum(F.when(F.col("strong"), F.col("weight"))).alias("strong_weight"),
        F.sum(F.when(~F.col("strong"), F.col("weight"))).alias("weak_weight"),
        F.max(F.when(~F.col("strong") & F.col("joint"), F.lit(True))).alias("joint"))
    if verify is not None:
        summed = summed.localCheckpoint()
        keys = to_polars(summed.where(F.col("strong_weight").isNull() & F.col("joint")).select(
            (F.col("source") * F.lit(2**32) + F.col("target")).alias("key")))
        promoted = verify(keys.select(pl.col("key").cast(pl.UInt64)))
        if promoted.height:
            back = to_spark(summed.sparkSession, promoted.select(
                (pl.col("key") // 2**32).cast(pl.Int64).alias("source"), (pl.col("key") % 2**32).cast(pl.Int64)
                .alias("target"), pl.col("weight").alias("promoted")))
            summed = summed.join(back, on=["source", "target"], how="left").withColumn(
                "strong_weight", F.coalesce("strong_weight", "promoted"))
    s, w = F.col("strong_weight"), F.coalesce(F.col("weak_weight"), F.lit(0).cast("long"))
    return (
        summed.where(s.isNotNull() & (s > 0))
        .select("source", "target", ((s + F.least(w, s)).cast("double") / float(WEIGHT_SCALE)).alias("weight"))
        .where(F.col("weight") >= config.min_edge_weight)
    )


def spark_project(pairs: Any, values: pl.DataFrame, value_counts: pl.DataFrame, config: GraphConfig | None = None,
                  seed: int = 0, minutes: pl.DataFrame | None = None, n_accounts: int = 0) -> SparkProjection:
    """Weigh the signals and project the pairs onto weighted account pairs, on Spark.

    Same result as :func:`graphlink.stages.graph.project` (see the module
    docstring for what makes it the same); ``edges`` and ``memberships``
    (``account_idx, signal_idx, count, damp``) stay on Spark. With ``minutes``
    (``account_idx, minute`` on the driver) and ``n_accounts`` (the run's accounts), pairs
    co-timing verifies are linked (:mod:`graphlink.stages.cotiming`, checked on the driver).
    """
    from pyspark.sql import functions as F

    config = config or GraphConfig()
    spark = pairs.sparkSession
    signals, memberships = _number(pairs, values, config)
    # Each step is materialised (localCheckpoint): the plans of the joins that follow stay small.
    memberships = _damped(memberships, value_counts, config).localCheckpoint()
    linked = signals.filter("linked").select("signal_idx", "kind", "df", "weight", "strong")
    linked_spark = to_spark(spark, linked.with_columns(pl.col("df").cast(pl.Int64)))
    members = memberships.select("account_idx", "signal_idx", "kind_code", "damp").join(linked_spark, on="signal_idx")
    gens = _generators(members, config)
    linked_spark = linked_spark.join(gens, on="signal_idx", how="left").select(
        "signal_idx", "kind", "df", "weight", "strong",
        F.coalesce("generators", F.lit(config.sparse_degree).cast("long")).alias("generators"),
        F.coalesce("sparse", F.col("df") > config.clique_limit).alias("sparse")).localCheckpoint()
    planned = int(linked_spark.agg(F.sum(_planned())).collect()[0][0] or 0)
    warnings: list[str] = []
    if planned > config.max_pairs:
        table = to_polars(linked_spark.select("signal_idx", "kind", "df", "generators", "sparse")).with_columns(
            pl.col("signal_idx").cast(pl.UInt32))
        table, warnings = apply_pair_budget(table, config)
        planned_after = int(table.select(pl.when(~pl.col("sparse")).then(pl.col("df") * (pl.col("df") - 1) // 2)
                                         .otherwise(pl.col("df") * pl.col("generators"))).sum().item() or 0)
        cut = to_spark(spark, table.select("signal_idx", "generators", "sparse"))
        linked_spark = linked_spark.drop("generators", "sparse").join(cut, on="signal_idx")
        signals = signals.with_columns(pl.col("linked") & pl.col("signal_idx").is_in(table["signal_idx"].implode()))
        signals = signals.with_columns(pl.when("linked").then(pl.col("weight")).otherwise(0.0).alias("weight"))
        planned = planned_after
    members = memberships.select("account_idx", "signal_idx", "damp").join(
        linked_spark.select("signal_idx", "kind", "df", "weight", "strong", "generators", "sparse"), on="signal_idx"
    )
    verify = None
    if minutes is not None and config.co_timing_weight > 0:
        members = members.withColumn("joint", F.col("kind").isin(list(CANDIDATE_KINDS)))
        verify = CoTiming(minutes, n_accounts, config.co_timing_weight)
    members = members.drop("kind").localCheckpoint()
    edges = _link(members, config, seed, verify).localCheckpoint()
    stats = {
        "signals": signals.height,
        "signals_linking": int(signals["linked"].sum() or 0),
        "signals_over_cap": int(signals.filter(pl.col("df") > pl.col("cap")).height),
        "projected_pairs": edges.count(),
        "planned_pairs": planned,
    }
    co_timed = verify.edges() if verify is not None else None
    if co_timed is not None:
        stats["co_timed_pairs"] = co_timed.height
    return SparkProjection(edges=edges, memberships=memberships.select("account_idx", "signal_idx", "count", "damp"),
                           signals=signals.drop("strong", "cap"), stats=stats, warnings=warnings, co_timed=co_timed)
