"""Ingest: read an events file (and optional accounts file) into canonical frames.

Output schema
-------------
:func:`load_events` returns an :class:`Events` whose ``frame`` is a lazy frame
with these columns (only those present in the input, ``account_id`` always):

==================== ========================= ==========================================
column               dtype                     meaning
==================== ========================= ==========================================
account_id           String                    trimmed, never null or empty
timestamp            Datetime(us, UTC)         null where the input had none
ip                   String                    as logged (validated in :mod:`signals.ip`)
payment_fingerprint  String                    opaque token
prompt               String
user_agent           String
<extra signals>      String                    columns named with ``--signal``
==================== ========================= ==========================================

Rows without an account id, or with a timestamp that cannot be parsed (or lies
outside 1990-2100), are rejected and counted by reason in ``Events.rejected``;
an error is raised only when a timestamp column has values and none parse.
Empty strings are treated as missing. The frame stays lazy so each later stage
reads only the columns it needs. Files are opened by :mod:`graphlink.stages.reading`
(format, encoding, CSV separator) and timestamps read by
:mod:`graphlink.stages.timestamps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from graphlink.config import ACCOUNT_COLUMNS, EVENT_COLUMNS, IngestConfig
from graphlink.errors import InputError, safe_reason
from graphlink.views.words import rejected_text
from graphlink.stages.account_ids import id_reasons, id_warnings, written
from graphlink.stages.column_hints import input_hints, missing_timestamp_warning, rejected_rows
from graphlink.stages.csv_rows import csv_row_warnings
from graphlink.stages.reading import EXTENSIONS, apply_column_map, collect_frame, normalise_header, read_schema, scan
from graphlink.stages.timestamp_hint import created_at_warning, serial_date_hint, timestamp_hint
from graphlink.stages.text_bytes import escaped_bytes, undecodable_warning
from graphlink.stages.timestamps import parse_timestamp
from graphlink.stages.validation import (check_columns, check_not_a_time, float_bad, float_error, float_text, is_float,
                                        missing_id_warning)

# Log timestamps outside this window are corrupt (epoch zero, year 9999, unit mix-ups).
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
_ROW = "__graphlink_row"


@dataclass
class Events:
    """Canonical events plus what was rejected on the way in."""

    frame: pl.LazyFrame
    path: str
    rows_read: int
    rejected: dict[str, int] = field(default_factory=dict)
    #: The first rows (1-based) rejected for each reason (:func:`graphlink.stages.column_hints.rejected_rows`).
    rejected_rows: dict[str, list[int]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    #: The same cleaned columns before rejected rows are filtered out, and the expression (on it) that is True for kept
    #: rows: lets :mod:`graphlink.stages.encode` read one column per pass without re-reading the columns the filter needs.
    unfiltered: pl.LazyFrame | None = None
    kept: pl.Expr | None = None
    #: ``account_id[, timestamp], __kept`` of every input row, read in the pass that counted
    #: the rejections (``load_events(keep_base=True)``); :func:`graphlink.stages.encode.encode_events`
    #: takes it (and sets it to None) instead of reading those columns again.
    base: pl.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)  #: for run.json (:mod:`graphlink.stages.timestamp_hint`)
    #: Kept rows without a timestamp (None: no timestamp column): run.json's ``inputs.events.rows_without_timestamp``.
    rows_without_timestamp: int | None = None

    @property
    def rows_kept(self) -> int:
        return self.rows_read - sum(self.rejected.values())


def _clean_text(name: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text).otherwise(None).alias(name)


def _clean_texts(lf: pl.LazyFrame, names: list[str]) -> pl.LazyFrame:
    """:func:`_clean_text` of each column, stripped once (not twice: ~0.7 s per column of 24M values)."""
    stripped = lf.with_columns([pl.col(c).cast(pl.String).str.strip_chars() for c in names])
    return stripped.with_columns([pl.when(pl.col(c).str.len_bytes() > 0).then(pl.col(c)).otherwise(None).alias(c)
                                  for c in names])


def _blank_to_null(name: str) -> pl.Expr:
    """Free text (prompts): kept as sent, null when blank. Stripping would copy gigabytes
    of prompt text for nothing: prompts are normalised before any comparison."""
    text = pl.col(name).cast(pl.String)
    # A stripped view's length, not a regex search for non-space: 0.35 s against 0.7 s per pass on 24M prompts.
    return pl.when(text.str.strip_chars().str.len_bytes() > 0).then(text).otherwise(None).alias(name)


def _check_types(lf: pl.LazyFrame, schema: pl.Schema, columns: list[str], path: str,
                 timestamps: tuple[str, ...] = ("timestamp",)) -> None:
    """Raise a clear :class:`InputError` for a used column whose type graphlink cannot read.

    Identifier and text columns may hold text, numbers, booleans or dates (all
    read as text); nested values (lists, structs), durations and binary that
    is not UTF-8 are errors naming the column. Timestamp columns must hold
    datetimes, dates, epoch numbers or text.
    """
    for name in columns:
        dtype = schema[name]
        if dtype.is_nested() or dtype == pl.Object:
            kind = type(dtype).__name__.lower()  # not str(dtype): struct field names come from the input
            raise InputError(f"values are nested ({kind}); expected text or numbers: flatten the column first",
                             file=path, column=name)
        if name in timestamps and (dtype in (pl.Boolean, pl.Time, pl.Binary) or isinstance(dtype, pl.Duration)):
            raise InputError(f"has type {dtype}; expected datetimes, ISO-8601 text or epoch seconds/milliseconds",
                             file=path, column=name)
        if isinstance(dtype, pl.Duration):
            raise InputError(f"has type {dtype}; expected text or numbers", file=path, column=name)
        if dtype == pl.Binary:
            try:
                lf.select(pl.col(name).cast(pl.String).null_count()).collect()
            except (pl.exceptions.PolarsError, OSError):
                raise InputError("has bytes that are not UTF-8 text; store it as a text column",
                                 file=path, column=name) from None


def _reject_counts(lf: pl.LazyFrame, reasons: dict[str, pl.Expr], path: str) -> tuple[int, dict[str, int]]:
    """Count rows and rows rejected per reason (first failing reason wins)."""
    aggs = [pl.len().alias("__rows")]
    earlier = pl.lit(False)
    for reason, bad in reasons.items():
        aggs.append((bad & ~earlier).sum().alias(reason))
        earlier = earlier | bad
    try:
        counts = lf.select(aggs).collect().row(0, named=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read: {safe_reason(exc)}", file=path) from None
    rows = int(counts.pop("__rows"))
    return rows, {k: int(v) for k, v in counts.items() if v}


def _read_base(lf: pl.LazyFrame, reasons: dict[str, pl.Expr], path: str, firsts: list[str],
               ) -> tuple[int, dict[str, int], pl.DataFrame]:
    """:func:`_reject_counts` counted from the rows themselves, read once: ``(rows, rejected, base)``
    with ``base`` the ``firsts`` columns of every row and ``__kept`` (no reason applies)."""
    flags = [f"__bad{i}" for i in range(len(reasons))]
    try:
        frame = lf.select(*firsts, *[bad.alias(f) for f, bad in zip(flags, reasons.values())]).collect(
            engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read: {safe_reason(exc)}", file=path) from None
    rows, rejected = _reject_counts(frame.lazy(), {r: pl.col(f) for r, f in zip(reasons, flags)}, path)
    kept = ~pl.any_horizontal([pl.col(f) for f in flags])
    return rows, rejected, frame.select(*firsts, kept.alias("__kept"))


def _float_ids_as_text(lf: pl.LazyFrame, schema: pl.Schema, columns: list[str], path: str) -> pl.LazyFrame:
    """Float identifier columns spelled as integers (:func:`graphlink.stages.validation.float_text`,
    the Spark engine's rule too); a value with no integer spelling is an error naming the first row."""
    floats = [c for c in columns if is_float(schema[c])]
    if not floats:
        return lf
    bad = collect_frame(lf.select([float_bad(c).any() for c in floats]), path).row(0)
    for name, any_bad in zip(floats, bad):
        if any_bad:
            raise float_error(path, name, _first_bad_row(lf, float_bad(name), path))
    return lf.with_columns([float_text(c) for c in floats])


def _first_bad_row(lf: pl.LazyFrame, bad: pl.Expr, path: str) -> int | None:
    hit = collect_frame(lf.with_row_index(_ROW, offset=1).filter(bad).select(_ROW).head(1), path)
    return int(hit[_ROW][0]) if hit.height else None


def load_events(path: str | Path, config: IngestConfig | None = None, extra_signals: tuple[str, ...] = (),
                keep_base: bool = False) -> Events:
    """Read an events file into canonical form.

    Parameters
    ----------
    path : str or Path
        Parquet, CSV/TSV or NDJSON file.
    config : IngestConfig, optional
        Format override, column mapping, timestamp format and CSV separator.
    extra_signals : tuple of str
        Further columns to keep, the signal stage's ``SignalConfig.extra_signals``.
    keep_base : bool
        Keep the account ids (and timestamps) read to count rejections in
        ``Events.base`` for the encoder (the pipeline does), instead of
        reading them again there.

    Returns
    -------
    Events
        Lazy canonical frame plus row counts and rejections by reason.

    Raises
    ------
    InputError
        Missing or unreadable file, no ``account_id`` column, a mapped or
        declared column that does not exist, or timestamps none of which parse.
    """
    config = config or IngestConfig()
    path_str = str(path)
    lf = scan(path, config.format, EVENT_COLUMNS + extra_signals + tuple(s for _, s in config.column_map),
              config.separator)
    schema = read_schema(lf, path_str)
    lf = normalise_header(lf, schema, Path(path), config.format, config.separator)
    schema = read_schema(lf, path_str)
    file_columns = schema.names()
    lf = apply_column_map(lf, schema, config.column_map, path_str)
    schema = read_schema(lf, path_str)
    keep = check_columns(schema.names(), file_columns, extra_signals, path_str)
    _check_types(lf, schema, keep, path_str)
    hint = timestamp_hint(lf, schema, keep)  # a time column left unmapped: one warning naming it
    text_cols = [c for c in keep if c != "timestamp"]
    for name in text_cols:
        check_not_a_time(name, schema[name], path_str)
    lf = _float_ids_as_text(lf, schema, text_cols, path_str)
    lf = _clean_texts(lf.select(keep), [c for c in text_cols if c != "prompt"])
    if "prompt" in text_cols:
        lf = lf.with_columns(_blank_to_null("prompt"))
    not_utf8 = undecodable_warning(lf, text_cols[1:], path_str) if escaped_bytes(path) else None  # (stages.text_bytes)

    reasons = {"missing_account_id": pl.col("account_id").is_null(), **id_reasons()}  # (stages.account_ids)
    if "timestamp" in schema:
        raw = pl.col("timestamp")
        lf = lf.with_columns(raw.alias("__raw_ts"),
                             parse_timestamp("timestamp", schema["timestamp"], config.timestamp_format))
        raw_present = pl.col("__raw_ts").is_not_null()
        if schema["timestamp"] in (pl.String, pl.Categorical) or isinstance(schema["timestamp"], pl.Enum):
            raw_present = raw_present & written(pl.col("__raw_ts"))  # blank, NaT, nan, null: missing (nu54)
        elif schema["timestamp"].is_float():  # NaN: a float column's empty value, kept as an empty CSV field is
            raw_present = raw_present & ~pl.col("__raw_ts").is_nan()
        ts = pl.col("timestamp")
        reasons["unparseable_timestamp"] = raw_present & ts.is_null()
        reasons["timestamp_out_of_range"] = ts.is_not_null() & ((ts < _EARLIEST) | (ts >= _LATEST))
    base = None
    if keep_base:
        firsts = ["account_id", *(["timestamp"] if "timestamp" in schema else [])]
        rows, rejected, base = _read_base(lf, reasons, path_str, firsts)
    else:
        rows, rejected = _reject_counts(lf, reasons, path_str)
    ts_name = config.source("timestamp")  # the file's name of it (--map)
    if "timestamp" in schema:
        bad_ts = rejected.get("unparseable_timestamp", 0) + rejected.get("timestamp_out_of_range", 0)
        # Another pass over the input only when some timestamps were bad.
        if bad_ts and collect_frame(lf.select(pl.col("timestamp").is_not_null().sum()), path_str).item() == 0:
            first = _first_bad_row(lf, reasons["unparseable_timestamp"] | reasons["timestamp_out_of_range"], path_str)
            expected = (f"expected the format {config.timestamp_format!r}" if config.timestamp_format else
                        "expected ISO-8601 or epoch seconds to nanoseconds; for other spellings such as "
                        "03/05/2025 pass --timestamp-format")
            raise InputError(f"no timestamp could be parsed ({expected})", file=path_str, column=ts_name, row=first)
    serial = (serial_date_hint(lf.filter(reasons["timestamp_out_of_range"]), "__raw_ts", path_str, ts_name)  # their own
              if (out_of_range := rejected.get("timestamp_out_of_range", 0)) else "")  # values: ISO rows beside (brk41b)
    hint = hint or (f"{path_str}: {out_of_range:,} rows rejected (timestamp out of range){serial}" if serial else None)
    if rows and sum(rejected.values()) >= rows:
        reasons_text = rejected_text(rejected.items())  # the summary's and the report's wording
        raise InputError(f"every row was rejected ({reasons_text}){serial}; nothing left to analyse", file=path_str)
    any_bad = pl.any_horizontal(list(reasons.values()))
    unfiltered = lf
    lf = lf.filter(~any_bad).drop("__raw_ts", strict=False)
    first_rows = rejected_rows(unfiltered, reasons, path_str) if rejected else {}
    no_ts = None  # kept rows without a timestamp (empty, null, NaN): counted, warned about
    if "timestamp" in schema:
        no_ts = (int(base.filter("__kept")["timestamp"].null_count()) if base is not None else
                 int(collect_frame(lf.select(pl.col("timestamp").is_null().sum()), path_str).item()))
    return Events(frame=lf, path=path_str, rows_read=rows, rejected=rejected, columns=tuple(keep),
                  rejected_rows=first_rows, unfiltered=unfiltered, kept=~any_bad, base=base, rows_without_timestamp=no_ts,
                  warnings=[*csv_row_warnings(path, config.format, config.separator), *filter(None, [hint, not_utf8]),
                            *id_warnings(rejected, path_str, first_rows),
                            *filter(None, [missing_timestamp_warning(no_ts or 0, rows - sum(rejected.values()), path_str, ts_name)]),
                            *input_hints(schema.names(), keep, rows, rejected, path_str, ts_name, config.timestamp_format)])


def events_from_frame(frame: pl.DataFrame | pl.LazyFrame, config: IngestConfig | None = None,
                      name: str = "<frame>", extra_signals: tuple[str, ...] = ()) -> Events:
    """Like :func:`load_events` for an in-memory frame (the notebook route; :func:`graphlink.stages.frames.read_frame`)."""
    from graphlink.stages.frames import read_frame

    def read(path: Path) -> Events:
        events = load_events(path, config or IngestConfig(), extra_signals)
        events.frame = pl.DataFrame(events.frame.collect()).lazy()
        events.unfiltered = events.kept = None  # they read the temporary file
        events.path = name
        return events

    return read_frame(frame, read, name)


@dataclass
class AccountsInfo:
    """Canonical accounts file: ``account_id``, ``created_at`` (Datetime UTC), ``email_domain``."""

    frame: pl.DataFrame
    path: str
    rows_read: int
    rejected: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  #: for run.json (created_at unparseable or out of range)
    rejected_rows: dict[str, list[int]] = field(default_factory=dict)  #: the first rejected rows by reason, as the events'


def load_accounts(path: str | Path, config: IngestConfig | None = None) -> AccountsInfo:
    """Read the optional accounts file.

    ``email`` is accepted in place of ``email_domain`` (the domain is taken
    after the last ``@``). Rows without an account id are rejected and counted;
    duplicate account ids keep the earliest ``created_at``.

    Raises
    ------
    InputError
        No ``account_id`` column, or an events log given as the accounts file (event columns and none of
        ``created_at``, ``email_domain``, ``email``: it adds nothing; an error naming the file, not a silent run).
    """
    config = config or IngestConfig()
    path_str = str(path)
    fmt = None if Path(path).suffix.lower() in EXTENSIONS else config.format
    lf = scan(path, fmt, ACCOUNT_COLUMNS + tuple(s for _, s in config.column_map))
    schema = read_schema(lf, path_str)
    lf = normalise_header(lf, schema, Path(path), fmt)
    schema = read_schema(lf, path_str)
    mapping = [(c, s) for c, s in config.column_map if c in ACCOUNT_COLUMNS and s in schema]
    lf = apply_column_map(lf, schema, mapping, path_str)
    schema = read_schema(lf, path_str)
    if "account_id" not in schema:
        raise InputError("no account_id column in the accounts file; map one with --map account_id=COLUMN (beside the "
                         "events file's own: each file reads the account_id column it has)", file=path_str)
    if not {"created_at", "email_domain", "email"} & set(schema) and (
            {"timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"} & set(schema)):
        # An events log given as the accounts file: it would add nothing, silently (new-user review, session 15).
        raise InputError(f"no created_at, email_domain or email column in the accounts file (columns: "
                         f"{', '.join(list(schema)[:8])}); it looks like an events log: give it as the events and "
                         "the accounts file with --accounts, or map a column with --map created_at=COLUMN", file=path_str)
    if not {"created_at", "email_domain", "email"} & set(schema) and len(schema) > 1:
        # Columns of other names (signup_time, email_address) or another table (labels): it would add nothing,
        # silently, and the counter-evidence of e-mail domains would be lost (new-user review, session 17).
        raise InputError(f"no created_at, email_domain or email column in the accounts file (columns: "
                         f"{', '.join(list(schema)[:8])}); map yours with --map created_at=COLUMN and "
                         "--map email=COLUMN (or email_domain=COLUMN)", file=path_str)
    used = ["account_id", "created_at", "email_domain" if "email_domain" in schema else "email"]
    _check_types(lf, schema, [c for c in used if c in schema], path_str, timestamps=("created_at",))
    lf = _float_ids_as_text(lf, schema, ["account_id"], path_str)  # spelled as the events file's ids
    exprs = [_clean_text("account_id")]
    if "created_at" in schema:
        created = parse_timestamp("created_at", schema["created_at"])  # out of range: missing, as in the events
        exprs.append(pl.when((created >= _EARLIEST) & (created < _LATEST)).then(created).alias("created_at"))
    if "email_domain" in schema:
        exprs.append(_clean_text("email_domain").str.to_lowercase())
    elif "email" in schema:
        domain = pl.col("email").cast(pl.String).str.extract(r"@([^@\s]+)\s*$").str.to_lowercase()
        exprs.append(domain.alias("email_domain"))
    warning = (created_at_warning(lf, schema["created_at"], path_str, _EARLIEST, _LATEST, _clean_text("account_id"))
               if "created_at" in schema else None)  # rows rejected for their id not counted
    lf = lf.select(exprs)
    id_reasons_ = {"missing_account_id": pl.col("account_id").is_null(), **id_reasons()}  # (stages.account_ids)
    rows, rejected = _reject_counts(lf, id_reasons_, path_str)
    missing = missing_id_warning(lf, rows, rejected.get("missing_account_id", 0), path_str)  # raises if all are
    first_rows = rejected_rows(lf, id_reasons_, path_str) if rejected else {}
    missing += id_warnings(rejected, path_str, first_rows)
    frame = collect_frame(lf.filter(~pl.any_horizontal(list(id_reasons_.values()))), path_str)
    aggs = [*([pl.col("created_at").min()] if "created_at" in frame.columns else []),
            *([pl.col("email_domain").drop_nulls().first()] if "email_domain" in frame.columns else [])]
    frame = frame.group_by("account_id").agg(aggs) if aggs else frame.unique()
    return AccountsInfo(frame=frame.sort("account_id"), path=path_str, rows_read=rows, rejected=rejected, rejected_rows=first_rows,
                        warnings=[*csv_row_warnings(path, fmt), *missing, *([warning] if warning else [])])


def build_account_index(events: Events, accounts: AccountsInfo | None = None) -> pl.DataFrame:
    """One row per account: ``account_idx`` (UInt32, in account_id order), ``account_id``,
    ``events``, ``first_seen``, ``last_seen`` and, when given, ``created_at``, ``email_domain``.

    The index is the vertex numbering of the graph: sorting by account id makes
    it independent of input row order.
    """
    return index_accounts(events.frame, "timestamp" in events.columns, accounts)


def index_accounts(events: pl.LazyFrame | pl.DataFrame, has_ts: bool, accounts: AccountsInfo | None = None,
                   ) -> pl.DataFrame:
    """:func:`build_account_index` from a frame with ``account_id`` (and ``timestamp`` if ``has_ts``)."""
    aggs = [pl.len().cast(pl.Int64).alias("events")]
    if has_ts:
        aggs += [pl.col("timestamp").min().alias("first_seen"), pl.col("timestamp").max().alias("last_seen")]
    return finish_index(events.lazy().group_by("account_id").agg(aggs).collect(), has_ts, accounts)


def finish_index(per_account: pl.DataFrame, has_ts: bool, accounts: AccountsInfo | None = None) -> pl.DataFrame:
    """The account index from one row per account with events (``account_id, events[, first_seen,
    last_seen]``): accounts-file rows joined, sorted by ``account_id`` (byte order), numbered.

    Shared by :func:`index_accounts` and the Spark engine, which aggregates the events itself.
    """
    if not has_ts:
        per_account = per_account.with_columns(
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("first_seen"),
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("last_seen"),
        )
    if accounts is not None:
        per_account = per_account.join(accounts.frame, on="account_id", how="full", coalesce=True)
        per_account = per_account.with_columns(pl.col("events").fill_null(0))
    per_account = per_account.sort("account_id")
    return per_account.with_row_index("account_idx").with_columns(pl.col("account_idx").cast(pl.UInt32))


def scan_events(source: str | Path | pl.DataFrame | pl.LazyFrame, config: IngestConfig | None = None) -> pl.LazyFrame:
    """The input events, lazily, with canonical ``account_id`` and ``timestamp``: the notebook's event view.

    Column mapping, timestamp parsing and row rejection (no account id,
    unparseable or out-of-range timestamp) follow :func:`load_events`, so the
    rows are those detection counted; other columns are kept as they are so
    investigators see everything logged.

    Raises
    ------
    InputError
        Unreadable source or no ``account_id`` column.
    """
    config = config or IngestConfig()
    if isinstance(source, (str, Path)):
        lf = scan(source, config.format)
        where = str(source)
    else:
        lf = source.lazy()
        where = "<frame>"
    schema = read_schema(lf, where)
    lf = apply_column_map(lf, schema, config.column_map, where)
    schema = read_schema(lf, where)
    if "account_id" not in schema:
        raise InputError("no account_id column", file=where)
    lf = lf.with_columns(_clean_text("account_id")).filter(pl.col("account_id").is_not_null())
    if "timestamp" in schema:
        raw = pl.col("__graphlink_raw_ts")
        present = raw.is_not_null()
        if schema["timestamp"] == pl.String:
            present = present & written(raw)
        ts = pl.col("timestamp")
        rejected = (present & ts.is_null()) | (ts.is_not_null() & ((ts < _EARLIEST) | (ts >= _LATEST)))
        lf = (
            lf.with_columns(pl.col("timestamp").alias("__graphlink_raw_ts"))
            .with_columns(parse_timestamp("timestamp", schema["timestamp"]))
            .filter(~rejected)
            .drop("__graphlink_raw_ts")
        )
    return lf
