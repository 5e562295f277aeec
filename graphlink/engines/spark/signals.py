"""Spark signal extraction: account-value pairs with the polars engine's keys.

Event-level work (one row per event to one row per account and value) runs on
Spark, on the events numbered first (the account index joined by broadcast, so
aggregations group by long keys); whatever needs only the *distinct* values runs on the driver with the
polars engine's own functions, so both engines give the same keys:

=============== ===================================================================
kind            how
=============== ===================================================================
payment,        Spark counts events per (account, column, text) in one aggregation
user_agent,     (each event exploded into one row per such column it carries); the
``--signal``    distinct texts of all these columns are collected in one job, keyed
                by :func:`graphlink.stages.signals.text_ranks` (rank in byte order)
                and joined back once.
ip, ip_net      canonical dotted quads (decimal 0-255, no leading zeros: text and
                integer are one-to-one) are parsed to integers on Spark with
                built-in functions (:func:`_v4_integer`); the other spellings'
                distinct texts (IPv6, ports, chains, leading zeros, junk:
                ``O(distinct such IPs)``) are parsed on the driver by
                :func:`graphlink.stages.signals.ip.ip_table` and joined back;
                per-value sums, sharing (``df >= 2``, a window count) and values
                per account on Spark.
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
from graphlink.engines.spark.columns import column_ref
from graphlink.engines.spark.ingest import SparkEvents, to_polars
from graphlink.errors import ConfigError
from graphlink.stages.encode import COUNT_SCHEMA, PAIR_SCHEMA, VALUE_SCHEMA, EncodedEvents, hash_text, prompt_salt
from graphlink.stages.ingest import AccountsInfo
from graphlink.stages.signals import account_signals, text_ranks
from graphlink.stages.signals.ip import ip_table, ip_texts
from graphlink.stages.signals.prompt import prompt_pairs
from graphlink.stages.bursts import burst_sent
from graphlink.stages.cotiming import account_minutes
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
    #: ``account_idx, minute`` on the driver (:func:`graphlink.stages.cotiming.account_minutes`).
    minutes: pl.DataFrame | None = None
    #: As :attr:`graphlink.stages.signals.SignalSet.openings`.
    openings: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None = None


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


def _numbered(events: Any, ids: Any) -> Any:
    """The events with ``account_idx`` (the account numbering joined by broadcast: one hash lookup
    per event), so that per-account aggregations group by fixed-width long keys, not account text."""
    from pyspark.sql import functions as F

    return events.join(F.broadcast(ids), on="account_id")


def _categorical(events: Any, columns: list[str], kinds: list[str]) -> tuple[Any, list[pl.DataFrame], Any]:
    """Pairs of every categorical column: events counted per (account, column, text) in one
    aggregation (each event exploded into one row per categorical column it carries: these rows
    reduce well, an account has few payment methods and user agents), the distinct texts of all
    columns collected in one job, ranked on the driver by
    :func:`graphlink.stages.signals.text_ranks` per column and joined back once."""
    from pyspark.sql import functions as F

    spark = events.sparkSession
    entries = [F.when(column_ref(c).isNotNull(),
                      F.struct(F.lit(i).alias("tag"), column_ref(c).cast("string").alias("text")))
               for i, c in enumerate(columns)]
    rows = events.select("account_idx", F.explode(F.array(*entries)).alias("e")).where(F.col("e").isNotNull())
    counted = rows.groupBy("account_idx", F.col("e.tag").alias("tag"), F.col("e.text").alias("text")).agg(
        F.count(F.lit(1)).alias("count")).persist()
    distinct = to_polars(counted.select("tag", "text").distinct())
    keyed, values = [], []
    for i, kind in enumerate(kinds):
        mine = distinct.filter(pl.col("tag") == i)
        ranked = text_ranks(mine.select(pl.int_range(pl.len(), dtype=pl.UInt64).alias("key"),
                                        pl.col("text").alias("value")))
        keyed.append(ranked.select(pl.lit(i, pl.Int32).alias("tag"), pl.col("value").alias("text"), "value_key"))
        values.append(ranked.select(pl.lit(kind).alias("kind"), "value_key", "value"))
    names = F.create_map(*[x for i, kind in enumerate(kinds) for x in (F.lit(i), F.lit(kind))])
    keys = to_spark(spark, pl.concat(keyed))
    pairs = counted.join(keys, on=["tag", "text"]).select(
        "account_idx", names[F.col("tag")].alias("kind"), "value_key", "count")
    return pairs, values, counted


def _v4_integer(ip: Any) -> Any:
    """The IPv4 address of *canonical* dotted-quad text as an integer, null for any other text.

    Canonical is the polars engine's address text: four decimal octets 0-255
    in ASCII digits without leading zeros, so text and integer are one-to-one
    and the distinct-IP count is the count of distinct integers. Tested by a
    round trip (the octets parsed, printed back and compared with the text),
    cheaper than a regular expression; ``get`` and ``try_cast`` give null, not
    an ANSI-mode error, on other text. Every other spelling (IPv6, ports,
    chains, leading zeros, junk) is keyed on the driver by
    :func:`graphlink.stages.signals.ip.ip_table`.
    """
    from pyspark.sql import functions as F

    parts = F.split(ip, r"\.", 5)
    octets = [F.get(parts, F.lit(i)).try_cast("int") for i in range(4)]
    canonical = ((F.size(parts) == 4) & (F.least(*octets) >= 0) & (F.greatest(*octets) <= 255)
                 & (F.concat_ws(".", *[o.cast("string") for o in octets]) == ip))
    value = F.lit(0).cast("long")
    for octet in octets:
        value = value * 256 + octet
    return F.when(canonical, value)


def _ips(events: Any, config: SignalConfig
         ) -> tuple[list[Any], list[pl.DataFrame], dict[str, int], pl.DataFrame, list[Any]]:
    """IP and IP-network pairs from the numbered events (``account_idx``): canonical dotted quads
    keyed on Spark (:func:`_v4_integer`), other spellings' distinct texts on the driver."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = events.sparkSession
    ip = F.col("ip")
    v4 = _v4_integer(ip)
    per_ip = events.where(ip.isNotNull()).select("account_idx", v4.alias("num"), F.when(v4.isNull(), ip).alias("text")
                                                 ).groupBy("account_idx", "num", "text").agg(
        F.count(F.lit(1)).alias("count")).persist()
    cached = [per_ip]
    # Canonical dotted quads are keyed here; the other spellings' distinct texts (with their event
    # counts, for the invalid-address count) go to the driver's ip_table.
    total_events, v4_distinct = per_ip.agg(F.sum("count"), F.countDistinct("num")).collect()[0]
    others = to_polars(per_ip.where(F.col("text").isNotNull()).groupBy("text").agg(F.sum("count").alias("events")))
    distinct = others.select(pl.int_range(pl.len(), dtype=pl.UInt64).alias("key"), pl.col("text").alias("value"),
                             pl.col("events").cast(pl.Int64))
    table = ip_table(distinct.select("key", "value"), config.ipv4_prefix, config.ipv6_prefix, config.ip_chain_position)
    valid = table.drop_nulls("version")
    invalid_events = distinct.join(valid, on="key", how="anti")["events"].sum() or 0
    span = 2 ** (32 - config.ipv4_prefix)
    v4_rows = per_ip.where(F.col("text").isNull()).select(
        "account_idx", F.col("num").alias("addr_key"), (F.floor(F.col("num") / span) * span).cast("long")
        .alias("net_key"), "count")
    joined = v4_rows
    if valid.height:
        parsed = to_spark(spark, valid.join(distinct, on="key").select(pl.col("value").alias("text"), "addr_key",
                                                                       "net_key"))
        joined = v4_rows.unionByName(per_ip.where(F.col("text").isNotNull()).join(parsed, on="text").select(
            "account_idx", "addr_key", "net_key", "count"))
    pairs, values, counts = [], [], []
    for kind, key in (("ip", "addr_key"), ("ip_net", "net_key")):
        per_value = joined.groupBy("account_idx", F.col(key).alias("value_key")).agg(F.sum("count").alias("count"))
        # How many accounts have each value, beside each row (one shuffle; no join back).
        per_value = per_value.withColumn("df", F.count(F.lit(1)).over(Window.partitionBy("value_key"))).persist()
        cached.append(per_value)
        counts.append(to_polars(per_value.groupBy("account_idx").agg(F.count(F.lit(1)).alias("n_values")))
                      .select(pl.col("account_idx").cast(pl.UInt32), pl.lit(kind).alias("kind"),
                              pl.col("n_values").cast(pl.UInt32)))
        shared = per_value.where(F.col("df") >= 2)
        pairs.append(shared.select("account_idx", F.lit(kind).alias("kind"), "value_key", "count"))
        keys = to_polars(shared.select("value_key").distinct()).select(pl.col("value_key").cast(pl.UInt64))
        values.append(ip_texts(keys, table, kind, config.ipv4_prefix, config.ipv6_prefix))
    stats = {"invalid_ip_events": int(invalid_events), "ip_events": int(total_events or 0),
             "distinct_ips": int(v4_distinct or 0) + distinct.height}
    return pairs, values, stats, pl.concat(counts), cached


def _encoded(frame: pl.DataFrame, index: pl.DataFrame, source: pl.LazyFrame, columns: tuple[str, ...],
             salt: int, prompts: int | None = None) -> EncodedEvents:
    return EncodedEvents(frame=frame, index=index, source=source, columns=columns, salt=salt, prompt_salt=prompts)


def _prompt_source(events: SparkEvents, frame: Any, ids: Any, index: pl.DataFrame, scratch: str
                   ) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """``(account_idx, prompt[, minute] of the kept events with a prompt; the prompt texts)``, for the driver's
    polars code (``minute``: minutes since the epoch, when the log has timestamps: template bursts).

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
        timed = [(pl.col("timestamp").dt.epoch("s") // 60).alias("minute")] if "timestamp" in events.columns else []
        kept = canonical.select("account_id", "prompt", *timed).filter(pl.col("prompt").is_not_null())
        out = ["account_idx", "prompt"] + (["minute"] if timed else [])
        return kept.join(numbering, on="account_id").select(out), kept.select("prompt")
    if events.materialised is not None:
        numbering = index.lazy().select("account_id", pl.col("account_idx").cast(pl.UInt32))
        scan = pl.scan_parquet(f"{events.materialised.rstrip('/')}/*.parquet")
        kept = scan.filter(pl.col("__reject").is_null() & pl.col("prompt").is_not_null())
        # (a prompt's text is looked up by its hash: rows the ingest rejected may be read too)
        timed = [(pl.col("__ts") // 60_000_000).alias("minute")] if "timestamp" in events.columns else []
        out = ["account_idx", "prompt"] + (["minute"] if timed else [])
        return kept.select("account_id", "prompt", *timed).join(numbering, on="account_id").select(out), \
            scan.select("prompt")
    target = f"{scratch.rstrip('/')}/prompts.parquet"
    timed = [F.floor(F.col("__ts") / 60_000_000).cast("long").alias("minute")] if "timestamp" in events.columns else []
    frame.where(F.col("prompt").isNotNull()).join(F.broadcast(ids), on="account_id").select(
        F.col("account_idx").cast("int"), "prompt", *timed).write.mode("overwrite").parquet(target)
    source = pl.scan_parquet(f"{target}/*.parquet").with_columns(pl.col("account_idx").cast(pl.UInt32))
    return source, source


def _buckets(numbered: Any, seconds: int) -> pl.DataFrame:
    """Distinct ``account_idx`` (UInt32), ``timestamp`` (the start of each ``seconds``-long bucket from the
    epoch an account was active in), on the driver."""
    from pyspark.sql import functions as F

    bucket_us = seconds * 1_000_000
    buckets = to_polars(numbered.where(F.col("__ts").isNotNull()).select(
        F.col("account_idx").cast("int"), F.floor(F.col("__ts") / bucket_us).cast("long").alias("bucket")
    ).distinct())
    return buckets.select(pl.col("account_idx").cast(pl.UInt32),
                          (pl.col("bucket") * bucket_us).cast(pl.Datetime("us", "UTC")).alias("timestamp"))


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
                                         "prompts_templated": pl.UInt32, "prompts_scripted": pl.UInt32,
                                         "requests_sampled": pl.UInt32, "requests_scripted": pl.UInt32})
    numbered = _numbered(frame, ids)
    if "ip" in cols:
        pairs, values, s, c, held = _ips(numbered, config)
        spark_pairs += pairs
        texts += values
        stats.update(s)
        counts.append(c)
        cached += held
        lap("ip")
    text_cols = [(c, k) for c, k in (("payment_fingerprint", "payment"), ("user_agent", "user_agent"),
                                     *((c, c) for c in config.extra_signals)) if c in cols]
    if text_cols:
        pairs, values, held = _categorical(numbered, [c for c, _ in text_cols], [k for _, k in text_cols])
        spark_pairs.append(pairs)
        texts += values
        cached.append(held)
        lap("categorical")
    bursts = None
    if "prompt" in cols:
        source, prompt_texts = _prompt_source(events, frame, ids, index, scratch)
        # The polars engine's per-run prompt salt (the sample is the smallest hashes: not aimable).
        salted = prompt_salt(index, config.seed)
        when = ["minute"] if "timestamp" in cols else []
        prompts = source.select("account_idx", hash_text("prompt", salted), *when).collect(engine="streaming")
        enc = _encoded(prompts, index, prompt_texts, ("account_id", "prompt"), config.seed, salted)
        pairs, values, s, account_stats, (openings, opening_texts, thin) = prompt_pairs(enc, config)
        # when each account sent a sampled prompt's opening: template bursts (graphlink.stages.bursts)
        bursts = (burst_sent(prompts, openings), opening_texts, thin) if when else None
        del prompts, enc
        driver_pairs.append(pairs)
        texts.append(values)
        stats.update(s)
        lap("prompt")
    if "timestamp" in cols:
        timed = _buckets(numbered, config.timing_bucket_seconds)
        # co-timing reads 60-second minutes whatever the timing signal's bucket
        active_minutes = account_minutes(timed if config.timing_bucket_seconds == 60 else _buckets(numbered, 60))
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
    return SparkSignals(union, values, stats, account_stats, value_counts, seconds,
                        active_minutes if "timestamp" in cols else None, bursts)
