"""IP-to-ASN tables: :func:`load_asn_table` reads one for the ``asn`` signal."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from graphlink.errors import InputError
from graphlink.stages.signals.ip import parse_ips

__all__ = ["load_asn_table"]


def load_asn_table(path: str | Path) -> pl.DataFrame:
    """Read an IP-to-ASN table into ``version, start, end, asn`` (integer keys).

    Two layouts are accepted: a CSV ``cidr,asn`` (header optional) or the
    tab-separated ``range_start  range_end  AS_number  ...`` layout of iptoasn.
    ASN 0 ("not routed") rows are dropped. IPv6 ranges are keyed on their top 64 bits.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("ASN table not found", file=str(path))
    first = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    tsv = bool(first) and "\t" in first[0]
    try:
        raw = pl.read_csv(path, separator="\t" if tsv else ",", has_header=False, infer_schema=False,
                          truncate_ragged_lines=True, comment_prefix="#", glob=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read ASN table: {str(exc).splitlines()[0]}", file=str(path)) from None
    raw = raw.rename({old: f"c{i}" for i, old in enumerate(raw.columns)})
    asn = lambda c: pl.col(c).str.replace(r"(?i)^as", "").cast(pl.Int64, strict=False)  # noqa: E731
    if tsv:
        if raw.width < 3:
            raise InputError("ASN TSV needs range_start, range_end and AS number columns", file=str(path))
        start = parse_ips(pl.col("c0")).alias("s")
        end = parse_ips(pl.col("c1")).alias("e")
        table = raw.select(start, end, asn("c2").alias("asn")).select(
            pl.col("s").struct.field("version").alias("version"),
            pl.col("s").struct.field("key").alias("start"),
            pl.col("e").struct.field("key").alias("end"),
            "asn",
        )
    else:
        if raw.width < 2:
            raise InputError("ASN CSV needs cidr and asn columns", file=str(path))
        cidr = pl.col("c0").str.strip_chars()
        prefix = cidr.str.extract(r"/(\d+)$").cast(pl.Int64, strict=False)
        parsed = parse_ips(cidr.str.replace(r"/\d+$", "")).alias("p")
        table = raw.select(parsed, prefix.alias("prefix"), asn("c1").alias("asn")).select(
            pl.col("p").struct.field("version").alias("version"),
            pl.col("p").struct.field("key").alias("start"),
            "prefix",
            "asn",
        )
        width = pl.when(pl.col("version") == 4).then(32).otherwise(64)
        host_bits = (width - pl.col("prefix").fill_null(width)).clip(0, 64).cast(pl.UInt64)
        span = pl.lit(2, pl.UInt64).pow(host_bits)
        table = table.with_columns(
            ((pl.col("start") // span) * span).alias("start"),
            ((pl.col("start") // span) * span + span - 1).alias("end"),
        ).drop("prefix")
    table = table.drop_nulls().filter(pl.col("asn") > 0)
    if table.is_empty():
        raise InputError("no usable rows in the ASN table", file=str(path))
    return table.with_columns(pl.col("start").cast(pl.UInt64), pl.col("end").cast(pl.UInt64)).sort("version", "start")
