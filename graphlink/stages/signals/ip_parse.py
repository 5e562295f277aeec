"""Reading logged client addresses: cleaning (proxy chains, ports, brackets) and parsing to canonical text.

Used on distinct addresses (:func:`graphlink.stages.signals.ip.ip_table` numbers them
without text; :func:`parse_ips` and :func:`parse_ip_frame` spell them). IPv4-mapped
IPv6 (``::ffff:1.2.3.4``) counts as IPv4; zone ids (``%eth0``) are ignored.
"""

from __future__ import annotations

import polars as pl

__all__ = ["hex16", "clean_ip", "clean_ip_column", "parse_ips", "parse_ip_frame"]

_HEX = pl.lit("0123456789abcdef")


def hex16(value: pl.Expr) -> pl.Expr:
    """Lower-case hex text (no leading zeros) of a 0..65535 integer expression."""
    digits = [_HEX.str.slice(((value // (16**k)) % 16).cast(pl.Int64), 1) for k in (3, 2, 1, 0)]
    return pl.concat_str(digits).str.replace(r"^0{1,3}", "")


def clean_ip(ip: pl.Expr, chain_position: int = 0, quad: bool = True) -> pl.Expr:
    """The address in a logged client-address field, as bare lower-case text.

    Accepted spellings (each reduced to the bare address): surrounding
    whitespace and quotes; an ``X-Forwarded-For`` chain ``client, proxy1,
    proxy2`` (the ``chain_position``-th entry, 0 = left-most = the client as
    the first proxy saw it, -1 = right-most); an RFC 7239 ``for=`` prefix;
    IPv4 with a port (``203.0.113.5:443``); IPv6 in brackets with or without a
    port (``[2001:db8::1]:443``); zone ids (``fe80::1%eth0``); upper case;
    IPv4-mapped IPv6 (``::ffff:1.2.3.4`` is that IPv4 address); and IPv6
    ending in a dotted quad (``64:ff9b::1.2.3.4``), rewritten as two hextets.
    Zero-padded IPv4 octets (``010.001.002.003``) are read as decimal with
    the zeros dropped (10.1.2.3), never as octal. An unbracketed IPv6 address
    cannot carry a port (``2001:db8::1:443`` is an IPv6 address).
    """
    text = ip.cast(pl.String)
    if chain_position != 0:
        text = text.str.split(",").list.get(chain_position, null_on_oob=True)
    else:
        text = text.str.split_exact(",", 1).struct.field("field_0")
    text = (
        text.str.strip_chars(" \t\r\n\"'").str.to_lowercase()
        .str.replace(r"^for=\s*", "").str.strip_chars(" \"'")
        # [v6]:port or [v6] -> v6;  v4:port -> v4;  zone id dropped
        .str.replace(r"^\[([^\]]*)\](?::[0-9]{1,5})?$", "$1")
        .str.replace(r"^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+):[0-9]{1,5}$", "$1")
        .str.replace(r"%.*$", "")
        .str.replace(r"^(?:::|(?:0{1,4}:){5})ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$", "$1")
    )
    if not quad:  # (the dotted-quad step left to the caller)
        return text
    return _quad_rewrite(text, text.str.extract_groups(_QUAD))


# IPv6 ending in a dotted quad: the quad becomes two hextets (invalid octets make it invalid).
_QUAD = r"^(.*:)([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$"


def _quad_rewrite(text: pl.Expr, quad: pl.Expr, octets: list[pl.Expr] | None = None) -> pl.Expr:
    octets = octets or [quad.struct.field(str(i)).cast(pl.Int64, strict=False) for i in range(2, 6)]
    in_range = pl.all_horizontal([o <= 255 for o in octets])
    rewritten = pl.concat_str([quad.struct.field("1"), hex16(octets[0] * 256 + octets[1]), pl.lit(":"),
                               hex16(octets[2] * 256 + octets[3])])
    return (pl.when(quad.struct.field("1").is_null()).then(text)
            .when(in_range).then(rewritten).otherwise(pl.lit("invalid")))


def clean_ip_column(frame: pl.DataFrame, column: str, chain_position: int = 0) -> pl.DataFrame:
    """``frame`` with ``column`` replaced by :func:`clean_ip` of it, each step computed once: as one
    expression the cleaned text is recomputed for every use (3.4 s against 0.3 s on 424k IPv6 texts)."""
    quad = pl.col("__quad")
    staged = frame.with_columns(clean_ip(pl.col(column), chain_position, quad=False).alias("__text")).with_columns(
        pl.col("__text").str.extract_groups(_QUAD).alias("__quad"))
    staged = staged.with_columns([quad.struct.field(str(i)).cast(pl.Int64, strict=False).alias(f"__o{i}")
                                  for i in range(2, 6)])
    octets = [pl.col(f"__o{i}") for i in range(2, 6)]
    return staged.with_columns(_quad_rewrite(pl.col("__text"), quad, octets).alias(column)).select(frame.columns)


def _parse_v4(text: pl.Expr, prefix: int) -> dict[str, pl.Expr]:
    groups = text.str.extract_groups(r"^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$")
    octets = [groups.struct.field(str(i)).cast(pl.UInt64, strict=False) for i in range(1, 5)]
    valid = pl.all_horizontal([o.is_not_null() & (o <= 255) for o in octets])
    key = octets[0] * 16777216 + octets[1] * 65536 + octets[2] * 256 + octets[3]
    span = 2 ** (32 - prefix)
    net = (key // span) * span
    net_octets = [((net // (256**k)) % 256).cast(pl.String) for k in (3, 2, 1, 0)]
    return {
        "valid": valid,
        "address": pl.concat_str([o.cast(pl.String) for o in octets], separator="."),
        "network": pl.concat_str([pl.concat_str(net_octets, separator="."), pl.lit(f"/{prefix}")]),
        "key": key,
    }


def _parse_v6(text: pl.Expr, prefix: int) -> dict[str, pl.Expr]:
    # Expand "::" into the missing zero hextets, position by position.
    chars_ok = text.str.contains(r"^[0-9a-f:]+$") & text.str.contains(":") & ~text.str.contains(":::")
    has_gap = text.str.contains("::")
    halves = text.str.split("::")
    head_text = halves.list.get(0, null_on_oob=True)
    tail_text = pl.when(has_gap).then(halves.list.get(1, null_on_oob=True)).otherwise(pl.lit(""))
    head = pl.when(head_text == "").then(pl.lit([], dtype=pl.List(pl.String))).otherwise(head_text.str.split(":"))
    tail = pl.when(tail_text == "").then(pl.lit([], dtype=pl.List(pl.String))).otherwise(tail_text.str.split(":"))
    n_head = head.list.len().cast(pl.Int64)
    n_tail = tail.list.len().cast(pl.Int64)
    gap = pl.when(has_gap).then(8 - n_head - n_tail).otherwise(0)
    hextets_ok = (
        head.list.eval(pl.element().str.contains(r"^[0-9a-f]{1,4}$")).list.all()
        & tail.list.eval(pl.element().str.contains(r"^[0-9a-f]{1,4}$")).list.all()
    )
    count_ok = pl.when(has_gap).then(n_head + n_tail <= 7).otherwise(n_head == 8)
    valid = chars_ok & (text.str.count_matches("::") <= 1) & hextets_ok & count_ok
    hextets = []
    for p in range(8):
        value = (
            pl.when(p < n_head).then(head.list.get(pl.lit(p), null_on_oob=True))
            .when(p < n_head + gap).then(pl.lit("0"))
            .otherwise(tail.list.get(pl.lit(p) - n_head - gap, null_on_oob=True))
        )
        hextets.append(value.str.replace(r"^0+(.)", "$1"))
    ints = [h.str.to_integer(base=16, strict=False).cast(pl.UInt64) for h in hextets[:4]]
    full, bits = divmod(prefix, 16)
    parts = [hextets[i] for i in range(full)]
    if bits:
        parts.append(hex16(ints[full] // 2 ** (16 - bits) * 2 ** (16 - bits)))
    return {
        "valid": valid,
        "address": pl.concat_str(hextets, separator=":"),
        "network": pl.concat_str([pl.concat_str(parts, separator=":"), pl.lit(f"::/{prefix}")]),
        "key": ints[0] * 2**48 + ints[1] * 2**32 + ints[2] * 2**16 + ints[3],
    }


def parse_ips(ip: pl.Expr, ipv4_prefix: int = 24, ipv6_prefix: int = 48, chain_position: int = 0) -> pl.Expr:
    """Parse IP text into a struct ``{version, address, network, key}``.

    ``version`` is 4, 6 or null (invalid); ``address`` is a canonical spelling
    (IPv4 dotted quad, IPv6 eight hextets without leading zeros) so different
    spellings of one address link; ``network`` is the CIDR text of the address's
    network; ``key`` is the address as an integer (IPv6: its top 64 bits), used
    for ASN lookups. For large inputs use :func:`parse_ip_frame`, which runs each
    family's parser only on its own rows.

    Examples
    --------
    >>> df = pl.DataFrame({"ip": ["10.1.2.3", "2001:DB8:0:12::1", "::ffff:10.1.2.9", "300.1.1.1", "1:2"]})
    >>> out = df.select(parse_ips(pl.col("ip")).alias("p")).unnest("p")
    >>> out["network"].to_list()
    ['10.1.2.0/24', '2001:db8:0::/48', '10.1.2.0/24', None, None]
    >>> out["address"][1]
    '2001:db8:0:12:0:0:0:1'
    """
    # Evaluated on each batch as a frame (see parse_ip_frame): the cleaned text is computed
    # once, where one nested expression repeated it in every use (11 s to plan for 11 rows).
    def parse(values: pl.Series) -> pl.Series:
        frame = parse_ip_frame(pl.DataFrame({"ip": values.cast(pl.String)}), "ip", ipv4_prefix, ipv6_prefix,
                               chain_position)
        return frame.select(pl.struct("version", "address", "network", "key").alias(values.name)).to_series()

    return ip.map_batches(parse, return_dtype=_PARSED)


_PARSED = pl.Struct({"version": pl.Int8, "address": pl.String, "network": pl.String, "key": pl.UInt64})


def parse_ip_frame(frame: pl.DataFrame, column: str = "ip", ipv4_prefix: int = 24,
                   ipv6_prefix: int = 48, chain_position: int = 0) -> pl.DataFrame:
    """``frame`` plus ``version, address, network, key`` columns (see :func:`parse_ips`).

    Rows are split by family first so the expensive IPv6 expansion only runs on
    IPv6-looking rows (most logs are mostly IPv4).

    Examples
    --------
    >>> parse_ip_frame(pl.DataFrame({"ip": ["10.0.0.1", "::1", "bad"]}))["version"].to_list()
    [4, 6, None]
    """
    cleaned = frame.with_columns(clean_ip(pl.col(column), chain_position).alias("__text"),
                                 pl.int_range(pl.len()).alias("__row"))
    looks_v4 = pl.col("__text").str.contains(r"^[0-9.]+$")
    parts = []
    for subset, parser, version, prefix in (
        (cleaned.filter(looks_v4), _parse_v4, 4, ipv4_prefix),
        (cleaned.filter(~looks_v4 & pl.col("__text").str.contains(":")), _parse_v6, 6, ipv6_prefix),
    ):
        fields = parser(pl.col("__text"), prefix)
        parts.append(subset.select("__row", *[fields[n].alias(n) for n in ("address", "network", "key")],
                                   pl.when(fields["valid"]).then(pl.lit(version, pl.Int8)).alias("version")))
    parsed = pl.concat(parts).filter(pl.col("version").is_not_null())
    return (
        cleaned.join(parsed, on="__row", how="left")
        .sort("__row")
        .drop("__text", "__row")
        .select(*frame.columns, "version", "address", "network", "key")
    )
