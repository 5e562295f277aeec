"""Spark ingest: read EVENTS with Spark into the canonical event columns, count rejections, index accounts.

Mirrors :func:`graphlink.stages.ingest.load_events` (same canonical columns,
same rejection reasons, same cleaning), written as Spark DataFrame
operations so billions of events never reach the driver:

* ``account_id`` and identifier columns: text, Unicode white space trimmed
  (Java's ``(?U)\\s`` is Unicode White_Space, polars' ``strip_chars`` too),
  empty means missing; ``prompt``: null when blank, otherwise as sent.
* ``timestamp`` as microseconds since the epoch (``__ts``, LongType):
  Spark timestamps and dates; epoch numbers told apart by magnitude as
  :func:`graphlink.stages.timestamps.from_epoch` does (integers exactly);
  ISO-8601 text through Spark's timestamp parser (``try_to_timestamp``).
  ``--timestamp-format`` (strftime) is not translated to Spark patterns: it
  is refused with the Spark engine.
* Rows without an account id, with an unparseable timestamp, or one outside
  1990-2100 are dropped and counted by reason (first failing reason wins).

EVENTS is a path or URI Spark reads (Parquet, CSV/TSV with a header, NDJSON,
chosen by extension or ``--format``) or the name of a table in Spark's
catalog.

The account index is aggregated on Spark (one row per account: events, first
and last seen), collected to the driver (``O(accounts)``) and numbered by
:func:`graphlink.stages.ingest.finish_index`, the polars engine's own code:
``account_idx`` is the rank of ``account_id`` in byte order in both engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl

from graphlink.config import EVENT_COLUMNS, IngestConfig
from graphlink.errors import ConfigError, InputError
from graphlink.stages.ingest import AccountsInfo, finish_index

__all__ = ["SparkEvents", "read_events", "account_index", "to_polars"]

_EARLIEST_US = int(datetime(1990, 1, 1, tzinfo=timezone.utc).timestamp() * 1_000_000)
_LATEST_US = int(datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp() * 1_000_000)
_TRIM = r"(?U)^\s+|\s+$"
_FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".ndjson": "ndjson", ".jsonl": "ndjson",
            ".json": "ndjson"}


@dataclass
class SparkEvents:
    """Canonical events on Spark (``frame``: account_id, ``__ts`` micros, text columns) and their counts."""

    frame: Any
    path: str
    rows_read: int
    columns: tuple[str, ...]
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        return self.rows_read - sum(self.rejected.values())


def to_polars(frame: Any) -> pl.DataFrame:
    """Collect a (small) Spark DataFrame to the driver as a polars frame, through Arrow."""
    table = frame.toArrow()
    return pl.from_arrow(table) if table.num_rows else pl.from_arrow(table.schema.empty_table())


def _read(spark: Any, source: str, config: IngestConfig) -> Any:
    from pyspark.errors import PySparkException

    suffix = "." + source.rsplit(".", 1)[-1].lower() if "." in source.rsplit("/", 1)[-1] else ""
    fmt = config.format or _FORMATS.get(suffix)
    try:
        if fmt is None:
            if "/" not in source and spark.catalog.tableExists(source):
                return spark.table(source)
            fmt = "parquet"  # a folder of part files
        reader = spark.read
        if fmt in ("csv", "tsv"):
            sep = config.separator or ("\t" if fmt == "tsv" else ",")
            return reader.option("header", "true").option("sep", sep).option("mode", "PERMISSIVE").csv(source)
        if fmt == "ndjson":
            return reader.option("primitivesAsString", "true").json(source)
        return reader.parquet(source)
    except PySparkException as exc:
        raise InputError(f"Spark cannot read it: {str(exc).splitlines()[0][:300]}", file=source) from None


def _clean_text(column: str) -> Any:
    from pyspark.sql import functions as F

    text = F.regexp_replace(F.col(column).cast("string"), _TRIM, "")
    return F.when(F.length(text) > 0, text).alias(column)


def _blank_to_null(column: str) -> Any:
    from pyspark.sql import functions as F

    text = F.col(column).cast("string")
    # A search for one non-space character, not a rewrite of the whole prompt.
    return F.when(text.rlike(r"(?U)\S"), text).alias(column)


def _epoch_micros(value: Any) -> Any:
    """Epoch seconds .. nanoseconds (integers exactly, others through doubles) to microseconds."""
    from pyspark.sql import functions as F

    as_double = value.cast("double")
    magnitude = F.abs(as_double)
    as_long = value.cast("long")
    micros_long = (F.when(magnitude < 1e11, as_long * 1_000_000).when(magnitude < 1e14, as_long * 1_000)
                   .when(magnitude < 1e17, as_long).otherwise(F.floor(as_long / 1_000)))
    micros_double = F.round(F.when(magnitude < 1e11, as_double * 1e6).when(magnitude < 1e14, as_double * 1e3)
                            .when(magnitude < 1e17, as_double).otherwise(as_double / 1e3), 0).cast("long")
    exact = as_long.isNotNull() & (as_double == as_long.cast("double"))
    return F.when(exact, micros_long).otherwise(micros_double)


def _micros(column: str, dtype: Any) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    col = F.col(column)
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.unix_micros(col.cast("timestamp"))
    if isinstance(dtype, T.DateType):
        return F.unix_micros(col.cast("timestamp"))
    if isinstance(dtype, T.NumericType):
        return _epoch_micros(col)
    text = F.regexp_replace(col.cast("string"), _TRIM, "")
    numeric = F.when(text.rlike(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$"), _epoch_micros(text))
    zoned = F.regexp_replace(text, r"(?i)\s*(UTC|GMT)$", "Z")
    return F.coalesce(numeric, F.unix_micros(F.try_to_timestamp(zoned)))


def read_events(spark: Any, source: str, config: IngestConfig | None = None,
                extra_signals: tuple[str, ...] = ()) -> SparkEvents:
    """Read and canonicalise EVENTS on Spark (see the module docstring); rejected rows counted.

    Raises
    ------
    InputError
        Unreadable source, no ``account_id`` column, a missing ``--signal``
        column, or every row rejected.
    ConfigError
        ``--timestamp-format`` (not supported with ``--engine spark``).
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    config = config or IngestConfig()
    if config.timestamp_format:
        raise ConfigError("--timestamp-format is not supported with --engine spark; write ISO-8601 or epoch "
                          "timestamps, or use the polars engine")
    frame = _read(spark, source, config)
    frame = frame.toDF(*[c.strip() for c in frame.columns])
    for canonical, name in config.column_map:
        if name in frame.columns and canonical != name:
            frame = frame.drop(canonical) if canonical in frame.columns else frame
            frame = frame.withColumnRenamed(name, canonical)
    if "account_id" not in frame.columns:
        raise InputError(f"no account_id column (columns: {', '.join(frame.columns) or 'none'}); "
                         "map one with --map account_id=COLUMN", file=source)
    for name in extra_signals:
        if name not in frame.columns:
            raise InputError(f"signal column {name!r} not found; columns are: {', '.join(frame.columns)}",
                             file=source)
    keep = [c for c in EVENT_COLUMNS if c in frame.columns] + list(dict.fromkeys(extra_signals))
    schema = {f.name: f.dataType for f in frame.schema.fields}
    for name in keep:
        if isinstance(schema[name], (T.ArrayType, T.MapType, T.StructType)):
            raise InputError("values are nested; expected text or numbers: flatten the column first",
                             file=source, column=name)
    exprs = [_blank_to_null(c) if c == "prompt" else _clean_text(c) for c in keep if c != "timestamp"]
    reasons = {"missing_account_id": F.col("account_id").isNull()}
    if "timestamp" in keep:
        raw = F.col("timestamp")
        present = raw.isNotNull()
        if isinstance(schema["timestamp"], T.StringType):
            present = present & (F.length(F.regexp_replace(raw, _TRIM, "")) > 0)
        exprs += [_micros("timestamp", schema["timestamp"]).alias("__ts"), present.alias("__present")]
    frame = frame.select(*exprs)
    if "timestamp" in keep:
        ts = F.col("__ts")
        reasons["unparseable_timestamp"] = F.col("__present") & ts.isNull()
        reasons["timestamp_out_of_range"] = ts.isNotNull() & ((ts < _EARLIEST_US) | (ts >= _LATEST_US))
    earlier = F.lit(False)
    aggs = [F.count(F.lit(1)).alias("__rows")]
    for reason, bad in reasons.items():
        aggs.append(F.sum((bad & ~earlier).cast("long")).alias(reason))
        earlier = earlier | bad
    counts = frame.agg(*aggs).collect()[0].asDict()
    rows = int(counts.pop("__rows"))
    rejected = {k: int(v) for k, v in counts.items() if v}
    if "timestamp" in keep and rows and not frame.filter(F.col("__ts").isNotNull()).limit(1).count() and \
            rejected.get("unparseable_timestamp"):
        raise InputError("no timestamp could be parsed (expected ISO-8601 or epoch seconds to nanoseconds)",
                         file=source, column="timestamp")
    if rows and sum(rejected.values()) >= rows:
        reasons_text = ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in rejected.items())
        raise InputError(f"every row was rejected ({reasons_text}); nothing left to analyse", file=source)
    frame = frame.filter(~earlier)
    if "timestamp" in keep:
        frame = frame.drop("__present")
    return SparkEvents(frame=frame, path=source, rows_read=rows, columns=tuple(keep), rejected=rejected)


def account_index(events: SparkEvents, accounts: AccountsInfo | None) -> pl.DataFrame:
    """The account index (:func:`graphlink.stages.ingest.build_account_index`'s schema), aggregated on Spark."""
    from pyspark.sql import functions as F

    has_ts = "timestamp" in events.columns
    aggs = [F.count(F.lit(1)).alias("events")]
    if has_ts:
        aggs += [F.min("__ts").alias("first_seen"), F.max("__ts").alias("last_seen")]
    per_account = to_polars(events.frame.groupBy("account_id").agg(*aggs))
    per_account = per_account.with_columns(pl.col("events").cast(pl.Int64))
    if has_ts:
        per_account = per_account.with_columns(
            pl.col(c).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for c in ("first_seen", "last_seen"))
    return finish_index(per_account, has_ts, accounts)
