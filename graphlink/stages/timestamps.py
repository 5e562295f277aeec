"""Timestamps as logs write them, to Datetime(us, UTC): :func:`parse_timestamp`."""

from __future__ import annotations

import polars as pl

__all__ = ["from_epoch", "parse_timestamp"]


def parse_timestamp(name: str, dtype: pl.DataType, fmt: str | None = None) -> pl.Expr:
    """Expression turning column ``name`` of ``dtype`` into Datetime(us, UTC).

    Accepts datetimes (naive ones are taken as UTC), dates, epoch numbers
    (see :func:`from_epoch`) and the unambiguous text spellings logs use:
    ISO-8601 / RFC 3339 with ``T`` or a space between date and time, with or
    without seconds and fractional seconds (``.`` or ``,``), with an offset
    (``+05:30``, ``+0530``, ``+05``) or a ``Z``, ``UTC`` or ``GMT`` suffix
    (``2025-03-03 10:15:42.123456 UTC``, BigQuery's text form), or none
    (taken as UTC); a bare date; epoch numbers written as text. Day-first or
    month-first dates (``03/05/2025``) are ambiguous and not guessed: pass
    ``fmt``, a strftime/chrono format (``%d/%m/%Y %H:%M``), to read them; with
    ``fmt`` only that format is used (an offset in it, ``%z``, is honoured,
    else the time is UTC). Unparseable values become null.

    Examples
    --------
    >>> df = pl.DataFrame({"t": ["2024-01-02T03:04:05Z", "1704164645", "1704164645000", "nope",
    ...                          "2024-01-02 04:04:05.5 +01:00", "2024-01-02 03:04:05 UTC", "03/05/2025"]})
    >>> df.select(parse_timestamp("t", pl.String))["t"].dt.hour().to_list()
    [3, 3, 3, None, 3, 3, None]
    >>> pl.DataFrame({"t": ["03/05/2025"]}).select(parse_timestamp("t", pl.String, "%d/%m/%Y"))["t"].dt.month()[0]
    5
    """
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        ts = col.dt.cast_time_unit("us")
        ts = ts.dt.convert_time_zone("UTC") if dtype.time_zone else ts.dt.replace_time_zone("UTC")
        return ts.alias(name)
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(name)
    if fmt is None and dtype.is_numeric():
        return from_epoch(col).alias(name)
    text = col.cast(pl.String).str.strip_chars()
    if fmt is not None:
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us")
        if "%z" in fmt or "%:z" in fmt or "%#z" in fmt or "%Z" in fmt:
            return parsed.dt.convert_time_zone("UTC").alias(name)
        return parsed.dt.replace_time_zone("UTC").alias(name)
    numeric = pl.coalesce(from_epoch(text.cast(pl.Int64, strict=False)),
                          from_epoch(text.cast(pl.Float64, strict=False)))
    # One pass splits the text into date, time, seconds, fraction and zone; it is rebuilt as
    # "YYYY-MM-DDTHH:MM:SS.f+HH:MM" (no zone: UTC) and parsed with one format.
    parts = text.str.extract_groups(
        r"^(\d{4}-\d{2}-\d{2})(?:[Tt ]\s*(\d{2}:\d{2})(?::(\d{2}))?(?:[.,](\d{1,9}))?)?\s*(.*)$")
    zone = parts.struct.field("5").str.to_uppercase()
    offset = zone.str.extract_groups(r"^(?:UTC|GMT)?([+-]\d{2}):?(\d{2})?$")
    zone_text = (
        pl.when(zone.is_in(["", "Z", "UTC", "GMT"])).then(pl.lit("+00:00"))
        .otherwise(pl.concat_str([offset.struct.field("1"), pl.lit(":"),
                                  offset.struct.field("2").fill_null(pl.lit("00"))]))
    )
    canonical = pl.concat_str([
        parts.struct.field("1"), pl.lit("T"), parts.struct.field("2").fill_null(pl.lit("00:00")), pl.lit(":"),
        parts.struct.field("3").fill_null(pl.lit("00")), pl.lit("."), parts.struct.field("4").fill_null(pl.lit("0")),
        zone_text,
    ])
    parsed = canonical.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us")
    return pl.coalesce(numeric, parsed.dt.convert_time_zone("UTC")).alias(name)


def from_epoch(value: pl.Expr) -> pl.Expr:
    """Epoch seconds, milliseconds, microseconds or nanoseconds (integer or fractional) to Datetime(us, UTC).

    The unit is told by magnitude: between 1990 and 2100 seconds lie in
    [6.3e8, 4.1e9], milliseconds in [6.3e11, 4.1e12], microseconds in
    [6.3e14, 4.1e15] and nanoseconds in [6.3e17, 4.1e18], so the decade
    boundaries 1e11, 1e14 and 1e17 separate them. Integers are converted
    exactly; other values through Float64 (about 0.25 microsecond rounding
    for nanoseconds).
    """
    magnitude = value.cast(pl.Float64).abs()
    as_float = value.cast(pl.Float64)
    micros_float = (
        pl.when(magnitude < 1e11).then(as_float * 1e6)
        .when(magnitude < 1e14).then(as_float * 1e3)
        .when(magnitude < 1e17).then(as_float)
        .otherwise(as_float / 1e3)
    ).round(0).cast(pl.Int64, strict=False)
    as_int = value.cast(pl.Int64, strict=False)  # integer arithmetic keeps nanoseconds exact
    micros_int = (
        pl.when(magnitude < 1e11).then(as_int * 1_000_000)
        .when(magnitude < 1e14).then(as_int * 1_000)
        .when(magnitude < 1e17).then(as_int)
        .otherwise(as_int // 1_000)
    )
    exact = value.cast(pl.Float64) == as_int.cast(pl.Float64)
    micros = pl.when(exact & as_int.is_not_null()).then(micros_int).otherwise(micros_float)
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
