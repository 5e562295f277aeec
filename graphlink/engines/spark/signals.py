"""Spark signal extraction: account-value pairs with the polars engine's keys.

Event-level work (one row per event to one row per account and value) runs on
Spark; whatever needs only the *distinct* values runs on the driver with the
polars engine's own functions, so both engines give the same keys:

=============== ===================================================================
kind            how
=============== ===================================================================
payment,        Spark counts events per (account, text); the distinct texts are
user_agent,     collected and keyed by :func:`graphlink.stages.signals.text_ranks`
``--signal``    (rank in byte order) and joined back.
ip, ip_net      Spark counts events per (account, address text); the distinct
                address texts (``O(distinct IPs)``) are parsed on the driver by
                :func:`graphlink.stages.signals.ip.ip_table` and joined back;
                per-value sums, sharing (``df >= 2``) and values per account on Spark.
timing          Spark reduces events to distinct (account, bucket) rows; the
                MinHash bands are computed on the driver by
                :func:`graphlink.stages.signals.timing.timing_pairs`.
prompt          Prompt text is normalised with Unicode tables Spark lacks (NFKC,
                TR39 confusables): the driver's polars reads the kept rows'
                ``account_id, prompt`` (a local Parquet source directly, with
                the polars engine's ingest; otherwise the ingest's Parquet copy
                of the events, :func:`graphlink.engines.spark.ingest.read_events`),
                numbers the accounts and runs
                :func:`graphlink.stages.signals.prompt.prompt_pairs` on them
                (streaming; it keeps at most 200 prompts per account).
accounts file   ``--accounts`` is read on the driver (:func:`graphlink.stages.ingest.load_accounts`).
=============== ===================================================================

ASN lookups (``[signals] asn_table``) are not available with the Spark engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from graphlink.config import SignalConfig
from graphlink.engines.spark.ingest import SparkEvents, to_polars
from graphlink.errors import ConfigError
from graphlink.stages.encode import COUNT_SCHEMA, PAIR_SCHEMA, VALUE_SCHEMA, EncodedEvents, hash_text
from graphlink.stages.ingest import AccountsInfo
from graphlink.stages.signals import account_signals, text_ranks
from graphlink.stages.signals.ip import ip_table, ip_texts
from graphlink.stages.signals.prompt import prompt_pairs
from graphlink.stages.signals.timing import timing_pairs

__all__ = ["SparkSignals", "spark_signals", "to_spark"]

#: Spark schema of account-value pairs (``value_key``: the polars engine's UInt64 key, same bits).
PAIR_DDL = "account_idx long, kind string, value_key long, count long"


@dataclass
class SparkSignals:
    """Pairs on Spark plus the driver-side tables the polars engine's ``SignalSet`` holds."""

    pairs: Any
    values: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    account_stats: pl.DataFrame | None = None
    value_counts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COUNT_SCHEMA))
    seconds: dict[str, float] = field(default_factory=dict)


def to_spark(spark: Any, frame: pl.DataFrame, ddl: str | None = None) -> Any:
    """A polars frame as a Spark DataFrame (through Arrow); UInt columns become signed longs, same bits."""
    casts = {name: pl.Int64 for name, dtype in frame.schema.items() if dtype in (pl.UInt64, pl.UInt32, pl.UInt8,
                                                                                  pl.UInt16, pl.Int32, pl.Int8)}
    frame = frame.with_columns(pl.col(n).cast(pl.Int64, wrap_numerical=True) for n in casts)
    if frame.is_empty():  # pandas cannot tell an empty frame's types: say them
        types = {pl.Int64: "long", pl.Float64: "double", pl.Boolean: "boolean"}
        ddl = ddl or ", ".join(f"`{n}` {types.get(t, 'string')}" for n, t in frame.schema.items())
        return spark.createDataFrame([], ddl)
    made = spark.createDataFrame(frame.to_arrow()) if ddl is None else spark.createDataFrame(frame.to_pandas(), ddl)
    # Materialised once: a local relation reused by several joins is otherwise copied into
    # every branch of the plan (the optimiser's time grew 20x on the fixture). Arrow batches
    # become one partition each (380 for the campaign preset's distinct IPs): merged to one
    # partition per core, so joins with it do not run hundreds of tiny tasks.
    return made.coalesce(max(1, spark.sparkContext.defaultParallelism)).localCheckpoint()


def _pairs_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(list(PAIR_SCHEMA.names())).cast(dict(PAIR_SCHEMA))


def per_account(events: Any, ids: Any, *columns: str) -> Any:
    """``account_idx, <columns>, count``: events per account and value, counted before the account join.

    Grouping by ``account_id`` first and joining the (broadcast) account
    numbering to the reduced rows keeps the join off the event rows.
    """
    from pyspark.sql import functions as F

    frame = events
    for column in columns:
        frame = frame.where(F.col(column).isNotNull())
    counted = frame.groupBy("account_id", *columns).agg(F.count(F.lit(1)).alias("count"))
    return counted.join(F.broadcast(ids), on="account_id").drop("account_id")


def _categorical(events: Any, ids: Any, column: str, kind: str) -> tuple[Any, pl.DataFrame, Any]:
    from pyspark.sql import functions as F

    spark = events.sparkSession
    counted = per_account(events, ids, column).persist()
    distinct = to_polars(counted.select(column).distinct())
    ranked = text_ranks(distinct.select(pl.int_range(pl.len(), dtype=pl.UInt64).alias("key"),
                                        pl.col(column).alias("value")))
    keys = to_spark(spark, ranked.select(pl.col("value").alias(column), "value_key"))
    pairs = counted.join(keys, on=column).select("account_idx", F.lit(kind).alias("kind"), "value_key", "count")
    return pairs, ranked.select(pl.lit(kind).alias("kind"), "value_key", "value"), counted


def _ips(events: Any, ids: Any, config: SignalConfig
         ) -> tuple[list[Any], list[pl.DataFrame], dict[str, int], pl.DataFrame, list[Any]]:
    from pyspark.sql import functions as F

    spark = events.sparkSession
    per_ip = per_account(events, ids, "ip").persist()
    cached = [per_ip]
    distinct = to_polars(per_ip.select("ip").distinct()).select(
        pl.int_range(pl.len(), dtype=pl.UInt64).alias("key"), pl.col("ip").alias("value"))
    table = ip_table(distinct, config.ipv4_prefix, config.ipv6_prefix, config.ip_chain_position)
    valid = table.drop_nulls("version")
    parsed = to_spark(spark, valid.join(distinct, on="key").select(pl.col("value").alias("ip"), "addr_key", "net_key"))
    # The one join on address text; both kinds and the valid-event count read the cached result.
    joined = per_ip.join(parsed, on="ip").select("account_idx", "addr_key", "net_key", "count").persist()
    cached.append(joined)
    totals = per_ip.agg(F.sum("count")).collect()[0][0] or 0
    kept = joined.agg(F.sum("count")).collect()[0][0] or 0
    pairs, values, counts = [], [], []
    for kind, key in (("ip", "addr_key"), ("ip_net", "net_key")):
        per_value = joined.groupBy("account_idx", F.col(key).alias("value_key")).agg(F.sum("count").alias("count"))
        per_value = per_value.persist()
        cached.append(per_value)
        shared_keys = per_value.groupBy("value_key").count().where(F.col("count") >= 2).select("value_key")
        pairs.append(per_value.join(shared_keys, on="value_key").select(
            "account_idx", F.lit(kind).alias("kind"), "value_key", "count"))
        counts.append(to_polars(per_value.groupBy("account_idx").agg(F.count(F.lit(1)).alias("n_values")))
                      .select(pl.col("account_idx").cast(pl.UInt32), pl.lit(kind).alias("kind"),
                              pl.col("n_values").cast(pl.UInt32)))
        keys = to_polars(shared_keys).select(pl.col("value_key").cast(pl.UInt64))
        values.append(ip_texts(keys, table, kind, config.ipv4_prefix, config.ipv6_prefix))
    stats = {"invalid_ip_events": int(totals - kept), "ip_events": int(totals), "distinct_ips": distinct.height}
    return pairs, values, stats, pl.concat(counts), cached


def _encoded(frame: pl.DataFrame, index: pl.DataFrame, source: pl.LazyFrame, columns: tuple[str, ...],
             salt: int) -> EncodedEvents:
    return EncodedEvents(frame=frame, index=index, source=source, columns=columns, salt=salt)


def _prompt_source(events: SparkEvents, frame: Any, ids: Any, index: pl.DataFrame, scratch: str
                   ) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """``(account_idx, prompt of the kept events with a prompt; the prompt texts)``, for the driver's polars code.

    A local Parquet source is read by the driver's polars directly (the polars
    engine's ingest); text sources from the materialised events (the copy Spark
    already wrote: no second copy of the text), numbered with the account
    index on the driver; otherwise (a URI or table) Spark writes the rows to
    ``scratch`` first.
    """
    from pyspark.sql import functions as F

    if events.polars_source is not None:
        # A local Parquet source: the driver's polars reads account_id and prompt itself, cleaned
        # and filtered by the polars engine's own ingest (the same rows Spark keeps), so no copy
        # of the prompt text is written.
        from graphlink.stages.ingest import load_events

        canonical = load_events(events.polars_source, events.config, events.extra_signals).frame
        numbering = index.lazy().select("account_id", pl.col("account_idx").cast(pl.UInt32))
        kept = canonical.select("account_id", "prompt").filter(pl.col("prompt").is_not_null())
        return kept.join(numbering, on="account_id").select("account_idx", "prompt"), kept.select("prompt")
    if events.materialised is not None:
        numbering = index.lazy().select("account_id", pl.col("account_idx").cast(pl.UInt32))
        scan = pl.scan_parquet(f"{events.materialised.rstrip('/')}/*.parquet")
        kept = scan.filter(pl.col("__reject").is_null() & pl.col("prompt").is_not_null())
        # (a prompt's text is looked up by its hash: rows the ingest rejected may be read too)
        return kept.select("account_id", "prompt").join(numbering, on="account_id").select(
            "account_idx", "prompt"), scan.select("prompt")
    target = f"{scratch.rstrip('/')}/prompts.parquet"
    frame.where(F.col("prompt").isNotNull()).join(F.broadcast(ids), on="account_id").select(
        F.col("account_idx").cast("int"), "prompt").write.mode("overwrite").parquet(target)
    source = pl.scan_parquet(f"{target}/*.parquet").with_columns(pl.col("account_idx").cast(pl.UInt32))
    return source, source


def spark_signals(events: SparkEvents, ids: Any, index: pl.DataFrame, config: SignalConfig,
                  accounts: AccountsInfo | None, scratch: str) -> SparkSignals:
    """All account-value pairs (schema :data:`PAIR_DDL`) and the driver-side tables (see module docstring).

    ``events.frame`` is the canonical events (``account_id``), ``ids`` the
    account numbering on Spark (``account_id, account_idx``, broadcast to the
    reduced rows); ``scratch`` a folder for the prompt handover when the
    events were not materialised (:func:`graphlink.engines.spark.ingest.read_events`).
    Cached intermediate frames are released by :meth:`SparkSignals.release`.
    """
    from pyspark.sql import functions as F

    if config.asn_table:
        raise ConfigError("[signals] asn_table is not supported with --engine spark (use the polars engine)")
    frame = events.frame
    spark = frame.sparkSession
    cols = set(events.columns)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    spark_pairs: list[Any] = []
    driver_pairs: list[pl.DataFrame] = []
    texts: list[pl.DataFrame] = []
    counts: list[pl.DataFrame] = []
    cached: list[Any] = []
    stats: dict[str, int] = {}
    account_stats = pl.DataFrame(schema={"account_idx": pl.UInt32, "prompts_sampled": pl.UInt32,
                                         "prompts_templated": pl.UInt32})
    if "ip" in cols:
        pairs, values, s, c, held = _ips(frame, ids, config)
        spark_pairs += pairs
        texts += values
        stats.update(s)
        counts.append(c)
        cached += held
        lap("ip")
    for column, kind in (("payment_fingerprint", "payment"), ("user_agent", "user_agent"),
                         *((c, c) for c in config.extra_signals)):
        if column in cols:
            pairs, values, held = _categorical(frame, ids, column, kind)
            spark_pairs.append(pairs)
            texts.append(values)
            cached.append(held)
            lap(kind)
    if "prompt" in cols:
        source, prompt_texts = _prompt_source(events, frame, ids, index, scratch)
        prompts = source.select("account_idx", hash_text("prompt", config.seed)).collect(engine="streaming")
        enc = _encoded(prompts, index, prompt_texts, ("account_id", "prompt"), config.seed)
        pairs, values, s, account_stats = prompt_pairs(enc, config)
        driver_pairs.append(pairs)
        texts.append(values)
        stats.update(s)
        lap("prompt")
    if "timestamp" in cols:
        bucket_us = config.timing_bucket_seconds * 1_000_000
        minutes = frame.where(F.col("__ts").isNotNull()).select(
            "account_id", F.floor(F.col("__ts") / bucket_us).cast("long").alias("bucket")).distinct()
        buckets = to_polars(minutes.join(F.broadcast(ids), on="account_id").select("account_idx", "bucket"))
        timed = buckets.select(pl.col("account_idx").cast(pl.UInt32),
                               (pl.col("bucket") * bucket_us).cast(pl.Datetime("us", "UTC")).alias("timestamp"))
        del buckets
        enc = _encoded(timed, index, timed.lazy(), ("account_id", "timestamp"), config.seed)
        pairs, values, s, c = timing_pairs(enc, config.timing_bucket_seconds, config.timing_min_buckets,
                                           config.timing_bands, config.timing_rows, config.seed)
        driver_pairs.append(pairs)
        texts.append(values)
        stats.update(s)
        counts.append(c)
        lap("timing")
    if accounts is not None:
        pairs, values = account_signals(accounts.frame, index, config.creation_bucket_seconds)
        driver_pairs.append(pairs)
        texts.append(values)
        lap("accounts")
    driver = [_pairs_frame(p) for p in driver_pairs if p.height]
    all_pairs = spark_pairs + ([to_spark(spark, pl.concat(driver), PAIR_DDL)] if driver else [])
    if all_pairs:
        union = all_pairs[0]
        for more in all_pairs[1:]:
            union = union.unionByName(more)
    else:
        union = spark.createDataFrame([], PAIR_DDL)
    union = union.select(F.col("account_idx").cast("long"), "kind", F.col("value_key").cast("long"),
                         F.col("count").cast("long")).localCheckpoint()
    n_pairs = union.count()
    if n_pairs:  # as the polars engine: no count when no pair was found
        stats["signal_pairs"] = n_pairs
    lap("combine")
    values = pl.concat([t.select(list(VALUE_SCHEMA.names())).cast(dict(VALUE_SCHEMA)) for t in texts if t.height]) \
        if any(t.height for t in texts) else pl.DataFrame(schema=VALUE_SCHEMA)
    value_counts = pl.concat([c.cast(dict(COUNT_SCHEMA)) for c in counts]) if counts else \
        pl.DataFrame(schema=COUNT_SCHEMA)
    for held in cached:  # the union is materialised: the per-value counts are no longer needed
        held.unpersist()
    return SparkSignals(union, values, stats, account_stats, value_counts, seconds)
