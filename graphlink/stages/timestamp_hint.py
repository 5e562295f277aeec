"""A log without a ``timestamp`` column that has a column looking like one: the warning that names it.

Without timestamps detect runs without timing signals, schedules, activity hours or the short-lived and
around-the-clock components, and says nothing about it unless told why: a CSV with ``user, ts, ...`` run with
``--map account_id=user`` reads no time at all. :func:`timestamp_hint` finds a column the user probably meant
(its name reads like a time, it holds datetimes or dates, or its text parses as times) and words one warning with
the ``--map timestamp=COLUMN`` fix. Column names are quoted (terminal-safe when printed); values never are.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timezone  # noqa: F401  (timezone: the doctest)

import polars as pl

from graphlink.stages.account_ids import id_reasons, written as is_written
from graphlink.stages.reading import collect_frame
from graphlink.stages.timestamps import parse_timestamp
from graphlink.views.words import first_rows_text

__all__ = ["SERIAL_DAYS", "TIME_NAME", "created_at_warning", "serial_date_hint", "timestamp_hint"]

#: Column names that read like an event time (case-insensitive): ``ts``, ``time``, ``date``, ``created_at``,
#: ``event_time``, ``time_utc`` ... (not ``created_hour`` or ``runtime``).
TIME_NAME = re.compile(r"^(ts|time|times|timestamp|datetime|date|when|at|t|created|occurred|logged|"
                       r".*[_\-. ](at|ts|time|timestamp|date|datetime)|(time|timestamp|date|datetime)[_\-. ].*|"
                       r".*(timestamp|datetime))$", re.IGNORECASE)
#: Values of a text column read to see whether they parse as times, and the share that must.
SAMPLE_ROWS, PARSED_SHARE = 200, 0.9


def timestamp_hint(lf: pl.LazyFrame, schema: pl.Schema, used: list[str]) -> str | None:
    """The warning for a log with no ``timestamp`` column but one that looks like it (None otherwise).

    ``schema`` is the source's columns after ``--map`` renames, ``used`` the columns graphlink reads. A column
    not used is a candidate when it holds datetimes or dates, or its name reads like a time (:data:`TIME_NAME`),
    or most of its first :data:`SAMPLE_ROWS` non-empty text values parse as times with a date or clock in them
    (bare numbers are not taken for epochs: a count or an amount is no time). Reads at most those rows.

    Examples
    --------
    >>> lf = pl.LazyFrame({"user": ["a", "b"], "ts": ["2025-03-01T10:00:00Z", "2025-03-01T10:01:00Z"], "n": ["1", "2"]})
    >>> timestamp_hint(lf, lf.collect_schema(), ["account_id"])
    "no timestamp column: column 'ts' looks like one (its name); pass --map timestamp=ts to read it (without timestamps there is no timing, schedule or activity evidence)"
    >>> timestamp_hint(lf.select("user", "n"), pl.Schema({"user": pl.String, "n": pl.String}), ["account_id"]) is None
    True
    """
    if "timestamp" in schema:
        return None
    unused = [name for name in schema.names() if name not in used]
    found: list[tuple[str, str]] = []
    for name in unused:
        dtype = schema[name]
        if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
            found.append((name, "it holds dates and times"))
        elif TIME_NAME.match(name.strip()):
            found.append((name, "its name"))
    texts = [n for n in unused if schema[n] == pl.String and n not in dict(found)]
    if texts:
        sample = lf.select(texts).head(SAMPLE_ROWS * 5).collect()
        for name in texts:
            values = sample[name].drop_nulls().str.strip_chars()
            values = values.filter(values.str.len_chars() > 0).head(SAMPLE_ROWS)
            if not values.len() or not values.str.contains(r"\d[-/:.]\d|\d{4}-\d").all():
                continue
            parsed = pl.DataFrame({name: values}).select(parse_timestamp(name, pl.String))[name]
            if parsed.is_not_null().mean() >= PARSED_SHARE:
                found.append((name, "its values parse as times"))
    if not found:
        return None
    name, why = found[0]
    others = f" (also {', '.join(repr(n) for n, _ in found[1:4])})" if len(found) > 1 else ""
    return (f"no timestamp column: column {name!r} looks like one ({why}){others}; pass --map {shlex.quote('timestamp=' + name)} to read "
            "it (without timestamps there is no timing, schedule or activity evidence)")


def created_at_warning(lf: pl.LazyFrame, dtype: pl.DataType, path: str, earliest: datetime, latest: datetime,
                       account_id: pl.Expr | None = None) -> str | None:
    """The warning counting the accounts file's ``created_at`` values that are written but do not parse (a
    day-first ``31/12/2023 10:00``) or lie outside [``earliest``, ``latest``) as event times must (a ``0`` or
    ``1970-01-01`` placeholder): those accounts are kept without a creation time, so the created_hour evidence
    misses them, and the user is told (row numbers are 1-based data rows; values are never quoted). ``account_id``:
    the cleaned id (null: none); rows rejected for their id are neither counted nor named (review nu54: "3 of 59",
    the first a row already rejected as ``placeholder_account_id``).

    Examples
    --------
    >>> lf = pl.LazyFrame({"created_at": ["1970-01-01", "31/12/2023 10:00", " ", None, "2024-01-01T10:00:00Z"]})
    >>> created_at_warning(lf, pl.String, "acc.csv", datetime(1990, 1, 1, tzinfo=timezone.utc),
    ...                    datetime(2100, 1, 1, tzinfo=timezone.utc))[:88]
    'acc.csv: 2 of 5 created_at values could not be parsed or lie before 1990 or from 2100 on'
    """
    raw = pl.col("created_at")
    written = raw.is_not_null()
    if dtype == pl.String:
        written = written & is_written(raw)  # blank, NaT, nan: a missing time, as in the events
    parsed = parse_timestamp("created_at", dtype)
    bad = written & (parsed.is_null() | (parsed < earliest) | (parsed >= latest)).fill_null(True)
    kept, n = pl.lit(True), pl.len()
    if account_id is not None:  # (graphlink.stages.account_ids)
        lf = lf.with_columns(account_id.alias("__id"))
        kept = ~pl.any_horizontal([pl.col("__id").is_null(), *id_reasons("__id").values()])
        n = kept.sum()
    bad = bad & kept
    counts = lf.select(n.alias("n"), bad.sum().alias("bad"), bad.arg_true().first().alias("first"))
    rows, n_bad, first = collect_frame(counts, path).row(0)
    if not n_bad:
        return None
    return (f"{path}: {n_bad:,} of {rows:,} created_at values could not be parsed or lie before {earliest.year} or "
            f"from {latest.year} on ({first_rows_text([first + 1], n_bad)}); those accounts have no creation time (no "
            "created_hour evidence): write them as ISO-8601 (2024-12-31T10:00:00Z) or epoch seconds")


#: Spreadsheet serial dates (days since 1899-12-30, Excel and LibreOffice) of the years 1990-2100: 32874-73051.
SERIAL_DAYS = (32874, 73051)


def serial_date_hint(lf: pl.LazyFrame, column: str, path: str, name: str = "timestamp") -> str:
    """When the raw times ``column`` of ``lf`` (numbers or numeric text) all lie in :data:`SERIAL_DAYS`, a note that
    the file's column ``name`` looks like spreadsheet serial dates, which as epoch seconds fall in 1970 and are
    rejected as out of range; else "". Reads :data:`SAMPLE_ROWS` values.

    Examples
    --------
    >>> serial_date_hint(pl.LazyFrame({"t": ["45719.5", "45720"]}), "t", "x.csv", "Event Time")[:62]
    "; column 'Event Time' (such as 45719.5) looks like spreadsheet"
    >>> serial_date_hint(pl.LazyFrame({"t": [1_700_000_000]}), "t", "x.csv")
    ''
    """
    raw = collect_frame(lf.select(pl.col(column).cast(pl.String).str.strip_chars()).drop_nulls().head(SAMPLE_ROWS), path)
    numbers = raw.to_series().cast(pl.Float64, strict=False)
    if numbers.is_empty() or numbers.null_count() or not numbers.is_between(*SERIAL_DAYS).all():
        return ""
    return (f"; column {name!r} (such as {raw.to_series()[0]}) looks like spreadsheet serial dates (days since 1899-12-30): "
            "save the column as dates in the spreadsheet (ISO-8601 text such as 2025-03-04T12:00:00Z) and read it again")
