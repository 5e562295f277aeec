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
* What is accepted is decided by the polars engine's own code: the CSV
  separator (:func:`graphlink.stages.reading.sniff_separator`), header names
  (:func:`graphlink.stages.reading.clean_header`: trimmed, a repeated name
  refused), used columns and their names up to case, float identifier
  columns and broken NDJSON lines (:mod:`graphlink.stages.validation`), so
  odd input gives the same tables or the same one-line error in both.

EVENTS is a path or URI Spark reads (Parquet, CSV/TSV with a header, NDJSON,
chosen by extension or ``--format``) or the name of a table in Spark's
catalog.

The account index is aggregated on Spark (one row per account: events, first
and last seen), collected to the driver (``O(accounts)``) and numbered by
:func:`graphlink.stages.ingest.finish_index`, the polars engine's own code:
``account_idx`` is the rank of ``account_id`` in byte order in both engines.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.config import ACCOUNT_COLUMNS, IngestConfig
from graphlink.errors import ConfigError, InputError
from graphlink.stages.ingest import AccountsInfo, finish_index
from graphlink.views.words import rejected_text
from graphlink.stages.account_ids import PLACEHOLDER_IDS, REPLACEMENT, WRAPPING, id_warnings
from graphlink.stages.column_hints import input_hints, missing_timestamp_warning
from graphlink.stages.timestamp_hint import SAMPLE_ROWS, timestamp_hint
from graphlink.stages.reading import (
    check_folder, check_parquet_magic, clean_header, header_separator, raw_header, sniff_encoding, sniff_separator,
)
from graphlink.engines.spark.columns import TRIM, blank_to_null, clean_text
from graphlink.engines.spark.timestamps import NANOS_AS_LONG, nanosecond_columns, timestamp_micros, without_times
from graphlink.stages.validation import (
    check_columns, check_not_a_time, first_bad_json_line, float_error, is_float, json_line_error, spark_float_bad,
    opens_json_array, spark_float_text, starts_with_json_object,
)

__all__ = ["NANOS_AS_LONG", "SparkEvents", "read_events", "account_index", "to_polars", "local_path", "check_source",
           "timestamp_micros"]

_EARLIEST_US = int(datetime(1990, 1, 1, tzinfo=timezone.utc).timestamp() * 1_000_000)
_LATEST_US = int(datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp() * 1_000_000)
_HADOOP = r"[:{}\[\]*?\\]"  # characters Hadoop's Path parses (a URI scheme, globs)
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
    #: The Parquet copy ``frame`` reads (cleaned rows plus ``__reject``: null for kept rows), if any.
    materialised: str | None = None
    #: Kept events per account id (``account_id, events[, first_seen, last_seen]``), from the counting pass.
    per_account: pl.DataFrame | None = None
    #: A local Parquet file the driver's polars can read itself (the prompt handover), else None.
    polars_source: str | None = None
    config: IngestConfig | None = None
    extra_signals: tuple[str, ...] = ()
    #: For run.json: a time column left unmapped (:mod:`graphlink.stages.timestamp_hint`), as the polars engine warns.
    warnings: list[str] = field(default_factory=list)
    #: Kept rows without a timestamp (None: no timestamp column), as the polars engine counts them.
    rows_without_timestamp: int | None = None

    @property
    def rows_kept(self) -> int:
        return self.rows_read - sum(self.rejected.values())


def spark_placeholder(ids: Any) -> Any:
    """:func:`graphlink.stages.account_ids.is_placeholder` in Spark (no NFKC: full-width spellings are not caught)."""
    from pyspark.sql import functions as F

    wrap = "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in WRAPPING) + "]+"
    return F.regexp_replace(F.lower(ids), f"^{wrap}|{wrap}$", "").isin(list(PLACEHOLDER_IDS))


def to_polars(frame: Any) -> pl.DataFrame:
    """Collect a (small) Spark DataFrame to the driver as a polars frame, through Arrow.

    The job is described (Spark UI, event log) by the caller's file and line, so
    that what a collect returned to the driver can be traced to the code.
    """
    import sys

    caller = sys._getframe(1)
    context = frame.sparkSession.sparkContext
    context.setJobDescription(f"to_polars from {os.path.basename(caller.f_code.co_filename)}:{caller.f_lineno} "
                              f"({caller.f_code.co_name})")
    try:
        table = frame.toArrow()
    finally:
        context.setJobDescription(None)
    return pl.from_arrow(table) if table.num_rows else pl.from_arrow(table.schema.empty_table())


def local_path(source: str) -> str | None:
    """The local filesystem path ``source`` names (no scheme, or ``file:``), else None (a URI or a table)."""
    if source.startswith("file:"):
        return "/" + source[len("file:"):].lstrip("/")
    return None if "://" in source else source


def check_source(source: str, config: IngestConfig | None = None) -> None:
    """Refuse a local EVENTS path that does not exist, before Spark (and Java) starts.

    A bare name without a folder or a known extension may be a table in
    Spark's catalog and is left to Spark; so are URIs (``s3a://`` ...).

    Raises
    ------
    InputError
        ``file not found`` (one line) for a missing local path or a glob matching nothing.
    """
    import glob
    import os

    path = local_path(source)
    if path is None:
        return
    if any(ch in path for ch in "*?[{"):
        if not glob.glob(path):
            raise InputError("file not found (the pattern matches nothing)", file=source)
        return
    suffix = os.path.splitext(path)[1].lower()
    looks_like_path = os.sep in path or "/" in path or suffix in _FORMATS or bool(config and config.format)
    if looks_like_path and not os.path.exists(path):
        raise InputError("file not found", file=source)
    if os.path.isdir(path):
        check_folder(path)
    elif os.path.isfile(path) and _format(source, config or IngestConfig()) == "parquet":
        check_parquet_magic(path)


def _blank_text_file(source: str, fmt: str | None) -> bool:
    """A local CSV/TSV/NDJSON file that is empty or blank: an empty log, as with the polars engine."""
    from pathlib import Path

    from graphlink.stages.reading import is_blank

    path = local_path(source)
    return fmt in ("csv", "tsv", "ndjson") and path is not None and Path(path).is_file() and is_blank(Path(path))


def _format(source: str, config: IngestConfig) -> str | None:
    """``parquet``, ``csv``, ``tsv`` or ``ndjson`` (``--format``, else the extension), None if unknown."""
    suffix = "." + source.rsplit(".", 1)[-1].lower() if "." in source.rsplit("/", 1)[-1] else ""
    return config.format or _FORMATS.get(suffix)


def hadoop_safe(source: str, scratch: str | None) -> str:
    """``source``, or for a local path Hadoop cannot take (a ``:``, as timestamped exports have, or glob
    characters ``{}[]*?``) a link to it in ``scratch``, same extension: Spark reads the link."""
    local = local_path(source)
    if scratch is None or local is None or not os.path.exists(local):
        return source
    if not re.search(_HADOOP, os.path.abspath(local)):
        return source
    link = os.path.join(scratch, "source" + "".join(Path(local).suffixes[-2:]))
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(local), link)
    return link


def _read(spark: Any, source: str, config: IngestConfig, extra_signals: tuple[str, ...] = (),
          scratch: str | None = None) -> Any:
    from pyspark.errors import PySparkException

    fmt = _format(source, config)
    target = hadoop_safe(source, scratch)  # what Spark is given to read
    try:
        if fmt is None:
            if "/" not in source and spark.catalog.tableExists(source):
                return spark.table(source)
            fmt = "parquet"  # a folder of part files
        if _blank_text_file(source, fmt):  # Spark cannot infer a schema from no header at all
            return spark.createDataFrame([], "account_id string")
        reader = spark.read
        local = local_path(source)
        local_file = local is not None and os.path.isfile(local)
        if fmt in ("csv", "tsv", "ndjson") and local_file:
            sniff_encoding(Path(local), fmt)  # UTF-16/32: the polars engine's one-line refusal
        if fmt in ("csv", "tsv"):
            sep = _separator(spark, source, fmt, config, local if local_file else None)
            # RFC 4180 quoting, as polars reads it: a quote inside a quoted field is doubled ("");
            # Spark's default escape is a backslash, which splits such a field at its commas.
            # multiLine: a quoted field may hold line breaks (a prompt's paragraphs), as polars reads it;
            # without it Spark splits the record at the break (a file is then read by one task).
            text = (reader.option("sep", sep).option("quote", '"').option("escape", '"').option("mode", "PERMISSIVE")
                    .option("multiLine", "true"))
            # Spark renames a repeated header name (ip -> ip1, ip2); the polars engine refuses it.
            if local_file:
                raw = raw_header(local, sep)
            else:
                first = text.option("header", "false").csv(source).first()
                raw = [name or "" for name in first] if first is not None else []
            clean_header(raw, source)
            return text.option("header", "true").csv(target)
        if fmt == "ndjson":
            if local_file and not starts_with_json_object(local):  # a JSON array file: Spark reads its elements
                raise json_line_error(source, first_bad_json_line(local) or 1, opens_json_array(local))
            frame = reader.option("primitivesAsString", "true").json(target)
            if "_corrupt_record" in frame.columns:  # a line that is not a JSON object: refused, as polars does
                line = first_bad_json_line(local) if local_file else None
                if line is not None:
                    raise json_line_error(source, line)
                raise InputError("cannot read as ndjson: a line is not a JSON object (NDJSON needs one object "
                                 "per line); fix or remove it", file=source)
            return frame
        for _ in range(2):  # a second read after setting NANOS_AS_LONG
            try:
                return spark.read.parquet(target)
            except PySparkException as exc:
                if "UNSUPPORTED_TIME_TYPE" in str(exc):
                    if not local_file:
                        raise InputError("has a time-of-day column, which Spark cannot read; drop the column or "
                                         "use the polars engine", file=source) from None
                    return without_times(spark, local, source, config, extra_signals, target)
                if "PARQUET_TYPE_ILLEGAL" not in str(exc) or "NANOS" not in str(exc):
                    raise
            # Nanosecond timestamps (pandas, polars): Spark reads them only as int64 (setting restored by the run).
            spark.conf.set(NANOS_AS_LONG, "true")
        return spark.read.parquet(target)
    except PySparkException as exc:
        raise InputError(f"Spark cannot read it: {str(exc).splitlines()[0][:300]}", file=source) from None


def _separator(spark: Any, source: str, fmt: str, config: IngestConfig, local: str | None) -> str:
    """The CSV separator as :func:`graphlink.stages.reading.sniff_separator` chooses it (a remote source's
    header line read by Spark)."""
    if config.separator or fmt == "tsv" or local is not None:
        return sniff_separator(local or source, fmt, config.separator)
    first = spark.read.text(source).first()
    return header_separator(first[0].encode("utf-8")) if first is not None else ","


def read_events(spark: Any, source: str, config: IngestConfig | None = None,
                extra_signals: tuple[str, ...] = (), scratch: str | None = None) -> SparkEvents:
    """Read and canonicalise EVENTS on Spark (see the module docstring); rejected rows counted.

    With ``scratch`` (a folder Spark writes and the driver's polars reads),
    the cleaned rows are written there once as Parquet (``events.parquet``,
    rejected rows flagged in ``__reject``) and ``frame`` reads that copy, so
    the source is parsed once however many passes follow.

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
    frame = _read(spark, source, config, tuple(extra_signals), scratch)
    clean = clean_header(frame.columns, source)
    renames = {old: new for old, new in zip(frame.columns, clean) if new and old != new}
    frame = frame.toDF(*[renames.get(c, c) for c in frame.columns]) if renames else frame
    file_columns = list(frame.columns)
    ids = [n for c, n in config.column_map if c == "account_id" and n in frame.columns]  # one per file (polars's)
    if len(ids) > 1:
        raise InputError(f"account_id is mapped to {len(ids)} columns of this file ({', '.join(map(repr, ids))}); "
                         "map it to one", file=source)
    for canonical, name in config.column_map:
        if name not in frame.columns and (canonical in ACCOUNT_COLUMNS[1:] or canonical == "account_id" and ids):
            continue  # the accounts file's column alone, or its own id column (--map account_id= given twice)
        if name not in frame.columns:
            raise InputError(f"column {name!r} (mapped to {canonical}) not found; columns are: "
                             f"{', '.join(frame.columns)}", file=source)
        if canonical != name:
            frame = frame.drop(canonical) if canonical in frame.columns else frame
            frame = frame.withColumnRenamed(name, canonical)
    keep = check_columns(frame.columns, file_columns, extra_signals, source)
    schema = {f.name: f.dataType for f in frame.schema.fields}
    hint = _timestamp_hint(frame, keep)
    for name in keep:
        if isinstance(schema[name], (T.ArrayType, T.MapType, T.StructType)):
            raise InputError("values are nested; expected text or numbers: flatten the column first",
                             file=source, column=name)
    for name in keep:
        if name != "timestamp":
            check_not_a_time(name, schema[name], source)
    floats = [c for c in keep if c != "timestamp" and is_float(schema[c])]
    if floats:  # identifiers stored as floats: the polars engine's rule (graphlink.stages.validation)
        _check_floats(frame, floats, source)
        frame = frame.withColumns({c: spark_float_text(c) for c in floats})
    exprs = [blank_to_null(c) if c == "prompt" else clean_text(c) for c in keep if c != "timestamp"]
    ids = F.col("account_id")  # the polars engine's id reasons (graphlink.stages.account_ids), in its order
    reasons = {"missing_account_id": ids.isNull(),
               "placeholder_account_id": F.coalesce(spark_placeholder(ids), F.lit(False)),
               "undecodable_account_id": F.coalesce(ids.contains(REPLACEMENT), F.lit(False))}
    if "timestamp" in keep:
        raw = F.col("timestamp")
        present = raw.isNotNull()
        if isinstance(schema["timestamp"], T.StringType):
            present = present & (F.length(F.regexp_replace(raw, TRIM, "")) > 0) & F.coalesce(~spark_placeholder(raw), F.lit(True))
        elif isinstance(schema["timestamp"], (T.FloatType, T.DoubleType)):  # NaN: empty, as the polars engine reads it
            present = present & ~F.isnan(raw)
        ts_type = "nanoseconds" if "timestamp" in nanosecond_columns(spark, local_path(source)) else schema["timestamp"]
        exprs += [timestamp_micros("timestamp", ts_type).alias("__ts"), present.alias("__present")]
    frame = frame.select(*exprs)
    if "timestamp" in keep:  # the polars engine's reasons, in its order (first failing reason wins)
        ts = F.col("__ts")
        reasons["unparseable_timestamp"] = F.col("__present") & ts.isNull()
        reasons["timestamp_out_of_range"] = ts.isNotNull() & ((ts < _EARLIEST_US) | (ts >= _LATEST_US))
    earlier = F.lit(False)
    code = None
    for number, (reason, bad) in enumerate(reasons.items(), start=1):
        code = F.when(bad & ~earlier, F.lit(number).cast("byte")) if code is None else \
            code.when(bad & ~earlier, F.lit(number).cast("byte"))
        earlier = earlier | bad
    has_ts = "timestamp" in keep
    frame = frame.withColumn("__reject", code)
    if has_ts:
        frame = frame.drop("__present")
    fmt = _format(source, config)
    if scratch is not None and fmt in ("csv", "tsv", "ndjson"):
        # Text sources: the cleaned rows (rejected ones flagged) are written once to the run's
        # scratch folder and every later pass reads the few columns it needs from there (no
        # repeated parsing of the text). Parquet and tables are read directly by each pass (a
        # columnar source read column by column costs less than writing a copy of it).
        materialised = f"{scratch.rstrip('/')}/events.parquet"
        frame.write.mode("overwrite").parquet(materialised)
        frame = spark.read.parquet(materialised)
    else:
        materialised = None
    # One pass counts the rejections and aggregates the account index (one row per account id
    # and rejection code: O(accounts) rows collected), instead of a pass for each.
    aggs = [F.count(F.lit(1)).alias("n")]
    if has_ts:
        aggs += [F.count("__ts").alias("parsed"), F.min("__ts").alias("first_seen"),
                 F.max("__ts").alias("last_seen")]
    groups = to_polars(frame.groupBy("account_id", "__reject").agg(*aggs))
    rows = int(groups["n"].sum()) if groups.height else 0
    parsed = int(groups["parsed"].sum()) if has_ts and groups.height else 0
    names = list(reasons)
    rejected = {}
    for code_value, n in groups.drop_nulls("__reject").group_by("__reject").agg(pl.col("n").sum()).iter_rows():
        rejected[names[int(code_value) - 1]] = int(n)
    rejected = {name: rejected[name] for name in names if rejected.get(name)}
    if has_ts and rows and not parsed and rejected.get("unparseable_timestamp"):
        raise InputError("no timestamp could be parsed (expected ISO-8601 or epoch seconds to nanoseconds)",
                         file=source, column=config.source("timestamp"))  # the file's name of it (--map)
    if rows and sum(rejected.values()) >= rows:
        reasons_text = rejected_text(rejected.items())  # the summary's and the report's wording
        raise InputError(f"every row was rejected ({reasons_text}); nothing left to analyse", file=source)
    frame = frame.where(F.col("__reject").isNull()).drop("__reject")
    kept = groups.filter(pl.col("__reject").is_null()).drop("__reject")
    no_ts = int(kept["n"].sum() - kept["parsed"].sum()) if has_ts else None  # kept rows without a timestamp
    per_account = kept.group_by("account_id").agg(
        pl.col("n").sum().cast(pl.Int64).alias("events"),
        *([pl.col("first_seen").min(), pl.col("last_seen").max()] if has_ts else []))
    local = local_path(source)
    polars_source = local if fmt == "parquet" and local is not None and os.path.isfile(local) else None
    return SparkEvents(frame=frame, path=source, rows_read=rows, columns=tuple(keep), rejected=rejected,
                       materialised=materialised, per_account=per_account, polars_source=polars_source,
                       config=config, extra_signals=tuple(extra_signals),
                       rows_without_timestamp=no_ts, warnings=[*([hint] if hint else []), *id_warnings(rejected, source),
                                 *filter(None, [missing_timestamp_warning(no_ts or 0, rows - sum(rejected.values()), source,
                                                                          config.source("timestamp"))]), *input_hints(
                           list(schema), keep, rows, rejected, source, config.source("timestamp"),
                           config.timestamp_format)])


def _timestamp_hint(frame: Any, keep: list[str]) -> str | None:
    """:func:`graphlink.stages.timestamp_hint.timestamp_hint` on the first rows of the columns not read (the
    polars engine's warning, from the same sample size); no Spark job when a ``timestamp`` column is read."""
    unused = [c for c in frame.columns if c not in keep]
    if "timestamp" in keep or not unused:
        return None
    sample = to_polars(frame.select(*unused).limit(SAMPLE_ROWS * 5))
    return timestamp_hint(sample.lazy(), sample.schema, keep)


def _check_floats(frame: Any, floats: list[str], source: str) -> None:
    """Raise :func:`graphlink.stages.validation.float_error` for the first float column holding a value with
    no integer spelling, naming the first such row in Spark's reading order (the file's for one file)."""
    from pyspark.sql import functions as F

    found = frame.select([F.max(spark_float_bad(c).cast("int")).alias(c) for c in floats]).first()
    bad = [c for c in floats if found[c] == 1]
    if not bad:
        return
    numbered = frame.select(spark_float_bad(bad[0]).alias("bad"), F.monotonically_increasing_id().alias("i"))
    first = numbered.where("bad").agg(F.min("i")).first()[0]
    raise float_error(source, bad[0], numbered.where(F.col("i") < first).count() + 1)


def account_index(events: SparkEvents, accounts: AccountsInfo | None) -> pl.DataFrame:
    """The account index (:func:`graphlink.stages.ingest.build_account_index`'s schema), aggregated on Spark."""
    from pyspark.sql import functions as F

    has_ts = "timestamp" in events.columns
    if events.per_account is not None:  # aggregated by read_events' counting pass
        per_account = events.per_account
    else:
        aggs = [F.count(F.lit(1)).alias("events")]
        if has_ts:
            aggs += [F.min("__ts").alias("first_seen"), F.max("__ts").alias("last_seen")]
        per_account = to_polars(events.frame.groupBy("account_id").agg(*aggs))
    per_account = per_account.with_columns(pl.col("events").cast(pl.Int64))
    if has_ts:
        per_account = per_account.with_columns(
            pl.col(c).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for c in ("first_seen", "last_seen"))
    return finish_index(per_account, has_ts, accounts)
