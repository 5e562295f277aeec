"""Spark timestamps: the polars engine's :func:`graphlink.stages.timestamps.parse_timestamp` as Spark columns.

Every value gives the microseconds polars gives, or null where polars gives
null (tested value by value in ``tests/test_spark_engine*.py``).
"""

from __future__ import annotations

import os
from typing import Any

import polars as pl

from graphlink.config import EVENT_COLUMNS, IngestConfig
from graphlink.engines.spark.columns import TRIM
from graphlink.errors import InputError
from graphlink.stages.validation import check_not_a_time

__all__ = ["NANOS_AS_LONG", "nanosecond_columns", "timestamp_micros", "without_times"]


def _epoch_micros(value: Any) -> Any:
    """Epoch seconds .. nanoseconds (integers exactly, others through doubles) to microseconds."""
    from pyspark.sql import functions as F

    as_double = value.try_cast("double")  # (ANSI mode: junk text is null, not an error)
    magnitude = F.abs(as_double)
    as_long = value.try_cast("long")
    # Nanoseconds: floor division in exact decimals (a double quotient rounds 1714730400500000999 / 1000 up
    # to ...501); fractions rounded half to even, as polars' round (bround, not Spark's half-up round).
    nanos_floor = F.floor(as_long.cast("decimal(20,0)") / F.lit(1_000).cast("decimal(20,0)")).try_cast("long")
    micros_long = (F.when(magnitude < 1e11, as_long * 1_000_000).when(magnitude < 1e14, as_long * 1_000)
                   .when(magnitude < 1e17, as_long).otherwise(nanos_floor))
    micros_double = F.bround(F.when(magnitude < 1e11, as_double * 1e6).when(magnitude < 1e14, as_double * 1e3)
                             .when(magnitude < 1e17, as_double).otherwise(as_double / 1e3), 0).try_cast("long")
    exact = as_long.isNotNull() & (as_double == as_long.cast("double"))
    return F.when(exact, micros_long).otherwise(micros_double)


def timestamp_micros(column: str, dtype: Any) -> Any:
    """A Spark column of UTC microseconds since the epoch from ``column`` of Spark type ``dtype``,
    parsed as the polars engine does (:func:`graphlink.stages.timestamps.parse_timestamp`): timestamps
    as they are, numbers and numeric text as epoch seconds/milliseconds, text in the polars engine's
    spellings; null where polars gives null. ``dtype`` ``"nanoseconds"``: int64 nanoseconds of a Parquet
    nanosecond timestamp (:data:`NANOS_AS_LONG`), floor-divided to microseconds as polars casts them."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    col = F.col(column)
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.unix_micros(col.cast("timestamp"))
    if isinstance(dtype, T.DateType):
        return F.unix_micros(col.cast("timestamp"))
    if isinstance(dtype, T.NumericType):
        return _epoch_micros(col)
    if isinstance(dtype, str) and dtype == "nanoseconds":  # a Parquet nanosecond timestamp read as int64
        return F.floor(col.cast("decimal(20,0)") / F.lit(1_000).cast("decimal(20,0)")).try_cast("long")
    text = F.regexp_replace(col.cast("string"), TRIM, "")
    # Decimal numbers as polars' float parser reads them, a leading dot too (".5e9", "+.17e10").
    numeric = F.when(text.rlike(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"), _epoch_micros(text))
    return F.coalesce(numeric, _text_micros(text))


#: :func:`graphlink.stages.timestamps.parse_timestamp`'s split of ISO-8601 text: date, hours and
#: minutes, seconds, fraction (``.`` or ``,``), zone. Digits are ASCII here: polars' Unicode
#: digits match its pattern but never parse, so both engines give null for them.
_ISO_PARTS = r"(?U)^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[Tt ]\s*([0-9]{2}:[0-9]{2})(?::([0-9]{2}))?(?:[.,]([0-9]{1,9}))?)?\s*(.*)$"
_ZONE = r"^(?:UTC|GMT)?([+-][0-9]{2}):?([0-9]{2})?$"


def _text_micros(text: Any) -> Any:
    """ISO-8601 text to epoch microseconds, exactly as :func:`graphlink.stages.timestamps.parse_timestamp`.

    The text is split with the polars engine's pattern (``T``, ``t`` or a
    space between date and time; optional seconds; a ``.`` or ``,``
    fraction of up to 9 digits, cut to microseconds; a ``Z``/``UTC``/``GMT``
    suffix in any case or a ``+HH[:MM]`` offset, none meaning UTC); the
    date and time are read by Spark in UTC (the run's session time zone),
    the fraction and offset added as integers. Anything else is null.
    """
    from pyspark.sql import functions as F

    def part(i: int) -> Any:
        found = F.regexp_extract(text, _ISO_PARTS, i)
        return F.when(found != "", found)

    date, clock, seconds, fraction = part(1), part(2), part(3), part(4)
    zone = F.upper(F.regexp_extract(text, _ISO_PARTS, 5))
    # A leap second (second 60) is the next second, as polars (chrono) reads it; Spark refuses it.
    leap = F.coalesce(seconds == "60", F.lit(False))
    whole = F.concat(date, F.lit(" "), F.coalesce(clock, F.lit("00:00")), F.lit(":"),
                     F.when(leap, F.lit("59")).otherwise(F.coalesce(seconds, F.lit("00"))))
    base = (F.unix_micros(F.try_to_timestamp(whole, F.lit("yyyy-MM-dd HH:mm:ss")))
            + F.when(leap, F.lit(1_000_000)).otherwise(F.lit(0)))
    micros = F.coalesce(F.rpad(F.substring(fraction, 1, 6), 6, "0").cast("long"), F.lit(0).cast("long"))
    sign = F.when(F.regexp_extract(zone, _ZONE, 1).startswith("-"), F.lit(-1)).otherwise(F.lit(1))
    hours = F.regexp_extract(zone, _ZONE, 1).substr(2, 2)
    minutes = F.regexp_extract(zone, _ZONE, 2)
    offset = sign * (hours.cast("long") * 60 + F.when(minutes != "", minutes.cast("long")).otherwise(F.lit(0)))
    valid = (hours != "") & (hours.cast("long") < 24) & ((minutes == "") | (minutes.cast("long") < 60))
    offset = F.when(zone.isin("", "Z", "UTC", "GMT"), F.lit(0).cast("long")).when(valid, offset)
    return base + micros - offset * 60_000_000


def without_times(spark: Any, local: str, source: str, config: IngestConfig, extra_signals: tuple[str, ...],
                   target: str) -> Any:
    """A local Parquet file with time-of-day columns (Spark 4.0 cannot read the type), read without them
    as polars reads it; a time-of-day column graphlink would use is refused with the polars engine's error."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import types as T
    from pyspark.sql.pandas.types import from_arrow_type

    schema = pq.read_schema(local)
    renamed = {name: canonical for canonical, name in config.column_map}
    for field in schema:
        if pa.types.is_time(field.type):
            name = renamed.get(field.name.strip(), field.name.strip())
            if name == "timestamp":
                raise InputError("has type Time; expected datetimes, ISO-8601 text or epoch seconds/milliseconds",
                                 file=source, column=name)
            if name in EVENT_COLUMNS or name in extra_signals:
                check_not_a_time(name, pl.Time, source)
    fields = []
    for field in schema:
        if pa.types.is_time(field.type):
            continue
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            spark.conf.set(NANOS_AS_LONG, "true")
            fields.append(T.StructField(field.name, T.LongType()))
        else:
            fields.append(T.StructField(field.name, from_arrow_type(field.type)))
    return spark.read.schema(T.StructType(fields)).parquet(target)


#: The Spark setting that reads Parquet nanosecond timestamps as int64 nanoseconds (else an error).
NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"


def nanosecond_columns(spark: Any, local: str | None) -> set[str]:
    """Columns of a Parquet source Spark read as int64 nanoseconds (:data:`NANOS_AS_LONG`): from the
    file's schema for a local file (``local``, else None), else ``timestamp`` (the only column read as a time)."""
    if spark.conf.get(NANOS_AS_LONG, "false") != "true":
        return set()
    if local is not None and os.path.isfile(local):
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(local)
        return {f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"}
    return {"timestamp"}
