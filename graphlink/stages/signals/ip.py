"""IP signals: exact address (``ip``), network (``ip_net``) and, optionally, ``asn``.

Parsing is done with polars expressions on the distinct addresses only, so
cost grows with the number of distinct IPs, not events. IPv4-mapped IPv6
(``::ffff:1.2.3.4``) counts as IPv4; zone ids (``%eth0``) are ignored. IPv6
networks are computed from the top 64 bits, hence ``ipv6_prefix <= 64``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.encode import (
    EncodedEvents, account_bits, count_by_account, encode_frame, n_distinct, sort_keys, text_pairs, value_counts,
    with_account_ids,
)
from graphlink.stages.signals.ip_lines import DRAWN_KIND, line_changes, rotation_networks
from graphlink.stages.signals.ip_parse import clean_ip_column, hex16, parse_ip_frame, parse_ips

__all__ = ["parse_ips", "parse_ip_frame", "clean_ip_column", "ip_table", "ip_texts", "ip_pairs", "ip_signals",
           "invalid_ip_warning", "IP_TABLE_SCHEMA"]


_V4 = r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$"
# IPv6 addresses and networks are numbered from here, above every IPv4 integer key,
# so all keys stay small enough to pack beside an account index (fast counting).
_V6_BASE = 2**32
IP_TABLE_SCHEMA = pl.Schema({"key": pl.UInt64, "version": pl.Int8, "addr_key": pl.UInt64, "net_key": pl.UInt64,
                             "int_key": pl.UInt64, "low_bits": pl.UInt64})


def _v4_text(key: pl.Expr) -> pl.Expr:
    return pl.concat_str([((key // 256**k) % 256).cast(pl.String) for k in (3, 2, 1, 0)], separator=".")


def _v6_text(high: pl.Expr, low: pl.Expr, hextets: int) -> pl.Expr:
    """The first ``hextets`` groups of an IPv6 address (``high``, ``low``: its two 64-bit halves) as hex text."""
    groups = [hex16((high if p < 4 else low) // 2 ** (16 * (3 - p % 4)) % 2**16) for p in range(hextets)]
    return pl.concat_str(groups, separator=":")


def _v6_numbers(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` plus ``__valid`` and the address's 64-bit halves ``__high``, ``__low`` (IPv6 text in ``column``).

    Same rules as :func:`parse_ips` (which builds canonical text; this only
    numbers), staged so each intermediate is computed once: one nested
    expression re-evaluates its shared parts per use (424k addresses: 3.8 s
    -> 0.2 s). ``a::b`` is split at ``::`` into head and tail groups; hextet
    ``p`` comes from the head, the zero run, or the tail.
    """
    text = pl.col(column)
    has_gap = text.str.contains("::", literal=True)
    halves = text.str.split_exact("::", 1)
    staged = frame.lazy().with_columns(
        has_gap.alias("__gap"),
        halves.struct.field("field_0").alias("__head"),
        pl.when(has_gap).then(halves.struct.field("field_1")).otherwise(pl.lit("")).alias("__tail"),
    )
    groups = []
    for side in ("head", "tail"):
        part = pl.col(f"__{side}")
        fields = part.str.split_exact(":", 7).struct.rename_fields([f"__{side}{i}" for i in range(8)])
        count = pl.when(part == "").then(0).otherwise(part.str.count_matches(":") + 1)
        groups += [fields.alias(f"__{side}_groups"), count.alias(f"__n_{side}")]
    staged = staged.with_columns(groups).unnest("__head_groups", "__tail_groups")
    tail_start = 8 - pl.col("__n_tail")
    hextets = []
    for p in range(8):
        value = pl.when(p < pl.col("__n_head")).then(pl.col(f"__head{p}")).when(p < tail_start).then(pl.lit("0"))
        for k in range(p + 1):
            value = value.when(tail_start == p - k).then(pl.col(f"__tail{k}"))
        hextets.append(value.otherwise(None).alias(f"__x{p}"))
    staged = staged.with_columns(hextets)
    x = [pl.col(f"__x{p}") for p in range(8)]
    count_ok = pl.when("__gap").then(pl.col("__n_head") + pl.col("__n_tail") <= 7).otherwise(pl.col("__n_head") == 8)
    valid = (
        text.str.contains(r"^[0-9a-f:]+$") & (text.str.count_matches("::") <= 1)
        & ~text.str.contains(":::", literal=True) & count_ok
        & pl.all_horizontal([h.str.len_bytes().is_between(1, 4) for h in x])
    ).fill_null(False)
    ints = [h.str.to_integer(base=16, strict=False).cast(pl.UInt64) for h in x]
    return staged.select(
        *frame.columns, valid.alias("__valid"),
        (ints[0] * 2**48 + ints[1] * 2**32 + ints[2] * 2**16 + ints[3]).alias("__high"),
        (ints[4] * 2**48 + ints[5] * 2**32 + ints[6] * 2**16 + ints[7]).alias("__low"),
    ).collect()


def ip_table(ips: pl.DataFrame, ipv4_prefix: int, ipv6_prefix: int, chain_position: int = 0) -> pl.DataFrame:
    """Parse distinct IP texts (``key, value``) into ``key, version, addr_key, net_key, int_key, low_bits``.

    ``addr_key`` and ``net_key`` identify the canonical address and its network:
    for IPv4 the integers themselves, for IPv6 2**32 plus the rank of the
    address (network) among the IPv6 values; ``int_key`` is the address as an
    integer (IPv6: its top 64 bits, also used for ASN lookups) and ``low_bits``
    an IPv6 address's low 64 bits. Text is built by :func:`ip_texts` only for
    values that end up shared. Plain dotted quads, nearly every row of a real
    log, skip cleaning (3.8M distinct addresses: 10 s -> 1 s). Invalid
    addresses have a null version.

    Examples
    --------
    >>> ips = pl.DataFrame({"key": [1, 2, 3], "value": ["10.0.0.7", "::ffff:10.0.0.9", "300.1.1.1"]},
    ...                    schema_overrides={"key": pl.UInt64})
    >>> ip_table(ips, 24, 48).select("key", "version", "net_key").sort("key").rows()
    [(1, 4, 167772160), (2, 4, 167772160), (3, None, None)]
    """
    span = 2 ** (32 - ipv4_prefix)
    v6_span = 2 ** (64 - ipv6_prefix)
    plain = pl.col("value").str.contains(_V4)
    cleaned = clean_ip_column(ips.filter(~plain).select("key", "value"), "value", chain_position)
    dotted = pl.concat([ips.filter(plain), cleaned.filter(plain)])
    octets = [pl.col(f"field_{i}") for i in range(4)]
    valid = pl.all_horizontal([o <= 255 for o in octets])
    addr = octets[0] * 16777216 + octets[1] * 65536 + octets[2] * 256 + octets[3]
    v4 = (
        dotted.select("key", pl.col("value").str.split_exact(".", 3)).unnest("value")
        .with_columns([o.cast(pl.UInt64) for o in octets])
        .select("key", valid.alias("valid"), addr.alias("addr"))
        .select("key", pl.when("valid").then(pl.lit(4, pl.Int8)).alias("version"),
                pl.when("valid").then("addr").alias("addr_key"),
                pl.when("valid").then(pl.col("addr") // span * span).alias("net_key"),
                pl.when("valid").then("addr").alias("int_key"), pl.lit(None, pl.UInt64).alias("low_bits"))
    )
    v6 = _v6_numbers(cleaned.filter(~plain & pl.col("value").str.contains(":", literal=True)), "value")
    ok = pl.col("__valid")
    network = pl.col("__high") // v6_span * v6_span
    v6 = v6.select(
        "key", pl.when(ok).then(pl.lit(6, pl.Int8)).alias("version"),
        pl.when(ok).then(_V6_BASE + pl.struct("__high", "__low").rank("dense").over(ok)).alias("addr_key"),
        pl.when(ok).then(_V6_BASE + network.rank("dense").over(ok)).alias("net_key"),
        pl.when(ok).then("__high").alias("int_key"), pl.when(ok).then("__low").alias("low_bits"))
    # Neither family (an anti join of the 3.8M IPs to those parsed cost 0.6 s of CPU).
    junk = cleaned.filter(~(plain | pl.col("value").str.contains(":", literal=True)).fill_null(False)).select(
        "key", *[pl.lit(None, dtype).alias(name) for name, dtype in list(IP_TABLE_SCHEMA.items())[1:]])
    return pl.concat([part.cast(dict(IP_TABLE_SCHEMA)) for part in (v4, v6, junk)])


def ip_texts(keys: pl.DataFrame, table: pl.DataFrame, kind: str, ipv4_prefix: int, ipv6_prefix: int
             ) -> pl.DataFrame:
    """``kind, value_key, value`` for the ``value_key`` values (addresses or networks) in ``keys``.

    IPv6 addresses are written as eight hextets without leading zeros, networks
    as their first hextets and ``::/prefix`` (as :func:`parse_ips` spells them).
    """
    key = "addr_key" if kind == "ip" else "net_key"
    v6 = (table.filter(pl.col("version") == 6).select(pl.col(key).alias("value_key"), "int_key", "low_bits")
          .join(keys, on="value_key", how="semi").unique("value_key"))
    high, low = pl.col("int_key"), pl.col("low_bits")
    if kind == "ip":
        v4_text, v6_text = _v4_text(pl.col("value_key")), _v6_text(high, low, 8)
    else:
        v4_text = pl.concat_str([_v4_text(pl.col("value_key")), pl.lit(f"/{ipv4_prefix}")])
        full, bits = divmod(ipv6_prefix, 16)
        span = 2 ** (64 - ipv6_prefix)
        v6_text = pl.concat_str([_v6_text(high // span * span, low, full + (1 if bits else 0)),
                                 pl.lit(f"::/{ipv6_prefix}")])
    return (
        keys.join(v6.select("value_key", v6_text.alias("v6")), on="value_key", how="left")
        .select(pl.lit(kind).alias("kind"), "value_key",
                pl.when(pl.col("value_key") < _V6_BASE).then(v4_text).otherwise(pl.col("v6")).alias("value"))
    )


def ip_pairs(enc: EncodedEvents, ipv4_prefix: int, ipv6_prefix: int, asn_table: pl.DataFrame | None = None,
             chain_position: int = 0, rotation_ties: bool = False,
             ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Keyed IP pairs from encoded events: ``(pairs, values, stats, value_counts)``.

    ``pairs`` has ``account_idx, kind, value_key, count`` for kinds ``ip``,
    ``ip_net`` (and ``asn``) — only values at least two accounts share, since
    a proxy-rotating account's hundreds of one-off addresses link nobody;
    ``values`` gives each kept ``(kind, value_key)`` its text; ``value_counts``
    (``account_idx, kind, n_values``) says how many values each account had
    in all, shared or not (rotation damping and IP spread need it; kind ``ip_lines``: networks plus IPv6
    line changes, :mod:`graphlink.stages.signals.ip_lines`, when any account made one); ``stats``
    counts events with an IP (``ip_events``) and those whose IP is invalid
    (``invalid_ip_events``, kept for other signals). ``chain_position`` picks
    the address of an ``X-Forwarded-For`` chain (see :func:`graphlink.stages.signals.ip_parse.clean_ip`);
    ``rotation_ties`` adds kind ``ip_rotation`` (:class:`graphlink.config.SignalConfig`).
    """
    n_accounts, dictionary = enc.index.height, enc.dictionary("ip")
    # An IP's hash without its low bits still names it when no two IPs share the rest (nearly always):
    # then each (IP, account) is counted by a key-only sort of the two packed, IP first, which numbers
    # the IPs in order and counts their accounts on the way; the rows are put in account order by a
    # second key-only sort (count_by_account, the count packed in). Counting by account with the
    # whole hash beside the key and a hash join of the 19M rows to the 3.8M IPs cost 3.8 + 3.5 s of
    # CPU on the campaign preset.
    bits = account_bits(n_accounts)
    exact = n_distinct(dictionary["key"] // 2**bits) == dictionary.height
    table = ip_table(dictionary, ipv4_prefix, ipv6_prefix, chain_position)
    invalid = table.filter(pl.col("version").is_null()).select("key")
    # IPv6 rotation inside one network (ip_lines); with rotation_ties the networks rotated in, too
    rotated = rotation_networks(enc.frame, table) if rotation_ties else None
    changes = (line_changes(enc.frame, table) if rotated is None else
               rotated.group_by("account_idx").agg(pl.col("changes").sum()))
    if exact:
        table = table.with_columns(pl.col("key") // 2**bits)
        packed = enc.frame.select((pl.col("ip") // 2**bits * 2**bits + pl.col("account_idx")).alias("k"))["k"]
        runs = sort_keys(packed.drop_nulls()).rle().struct.unnest()
        ips = (runs["value"] // 2**bits).rle().struct.unnest()  # each IP once, with its accounts
        by_ip = runs.select((pl.col("value") % 2**bits).cast(pl.UInt32).alias("account_idx"),
                            (pl.col("value") // 2**bits).rle_id().alias("ip"), pl.col("len").alias("count"))
        per_ip = count_by_account(by_ip, "ip", n_accounts, weight="count")
        code, distinct, ip_df = per_ip["key"], ips["value"].to_numpy(), ips["len"].cast(pl.UInt32)
        per_ip = per_ip.with_columns(ips["value"].gather(code).alias("key"))
    else:  # each (account, IP) row's IP as its rank among the distinct IPs
        per_ip = count_by_account(enc.frame, "ip", n_accounts)
        code = per_ip["key"].rank("dense") - 1
        distinct = np.empty(int(code.max() or 0) + 1 if code.len() else 0, dtype=np.uint64)
        distinct[code.to_numpy()] = per_ip["key"].to_numpy()
        ip_df = pl.Series(np.bincount(code.to_numpy(), minlength=distinct.size).astype(np.uint32))
    ordered = table.sort("key")  # the IPs counted are the dictionary's (else: the table's rows for them)
    if not ordered["key"].equals(pl.Series("key", distinct)):
        ordered = pl.DataFrame({"key": distinct}).join(table, on="key", how="left", maintain_order="left")
    valid = ordered["version"].is_not_null().gather(code)
    table = table.drop_nulls("version")
    # Invalid IPs drop out; their events are the difference in counts.
    joined, code = per_ip.filter(valid), code.filter(valid)
    invalid_events = int((per_ip["count"].sum() or 0) - (joined["count"].sum() or 0))
    frames, values, counts = [], [], []
    one_spelling = table.select(pl.col("addr_key").n_unique()).item() == table.height
    for kind, key in (("ip", "addr_key"), ("ip_net", "net_key")):
        if kind == "ip" and one_spelling:
            # One spelling per address (the usual case): per_ip already has one row per account and address.
            per_value = joined.select("account_idx", ordered[key].gather(code).alias("value_key"), "count")
            shared = per_value.filter(ip_df.gather(code) >= 2)
            shared_keys = table.join(ordered.filter(ip_df >= 2), on="key", how="semi").select(
                pl.col("addr_key").alias("value_key"))
        else:
            # Several addresses (or spellings) per value: sum their counts per account, the values
            # numbered in order (a small key: counted by a key-only sort).
            keys = ordered[key].drop_nulls().unique().sort()
            numbers = ordered[key].rank("dense").cast(pl.UInt32) - 1
            per_value = count_by_account(joined.select("account_idx", numbers.gather(code).alias("value"), "count"),
                                         "value", n_accounts, weight="count")
            holders = pl.Series(np.bincount(per_value["key"].to_numpy(), minlength=keys.len()))
            shared_keys = keys.filter(holders >= 2).alias("value_key").to_frame()
            kept = holders.gather(per_value["key"]) >= 2
            per_value = per_value.select("account_idx", keys.gather(per_value["key"]).alias("value_key"), "count")
            shared = per_value.filter(kept)
        counts.append(value_counts(per_value["account_idx"]).select(
            "account_idx", pl.lit(kind).alias("kind"), pl.col("count").alias("n_values")))
        if kind == "ip_net" and changes.height:  # networks plus fast /64 changes: what ip_spread counts
            counts.append(counts[-1].join(changes, on="account_idx", how="left").select(
                "account_idx", pl.lit("ip_lines").alias("kind"), pl.col("n_values") + pl.col("changes").fill_null(0)))
        frames.append(shared.select("account_idx", pl.lit(kind).alias("kind"), "value_key", "count"))
        values.append(ip_texts(shared_keys, table, kind, ipv4_prefix, ipv6_prefix))
    del joined, per_value, shared
    if rotated is not None and rotated.height:  # a rotation block (mostly its rotators': ip_lines) ties them
        rotated = rotated.filter("block")
        # the /64s each block rotator drew beyond its close changes: its lines once a tie corroborates the pool
        # (graphlink.stages.signals.fold_drawn; kind DRAWN_KIND never leaves the signals stage)
        beyond = (pl.col("drawn").cast(pl.Int64) - pl.col("changes")).clip(0).sum().cast(pl.UInt32)
        counts.append(rotated.group_by("account_idx").agg(pl.lit(DRAWN_KIND).alias("kind"), beyond.alias("n_values")))
        frames.append(rotated.select("account_idx", pl.lit("ip_rotation").alias("kind"), pl.col("net_key").alias("value_key"),
                                     pl.col("changes").alias("count")))
        values.append(ip_texts(rotated.select(pl.col("net_key").alias("value_key")).unique(), table, "ip_rotation",
                               ipv4_prefix, ipv6_prefix))
    if asn_table is not None:
        matched = _asn_lookup(table, asn_table)
        asn = (
            per_ip.join(matched, on="key").group_by("account_idx", "asn").agg(pl.col("count").sum())
            .select("account_idx", pl.lit("asn").alias("kind"), pl.col("asn").cast(pl.UInt64).alias("value_key"),
                    "count")
        )
        frames.append(asn)
        values.append(asn.select("kind", "value_key").unique().with_columns(
            pl.concat_str([pl.lit("AS"), pl.col("value_key").cast(pl.String)]).alias("value")))
    stats = {"invalid_ip_events": invalid_events, "ip_events": int(per_ip["count"].sum() or 0),
             "distinct_ips": table.height + invalid.height}
    return pl.concat(frames), pl.concat(values), stats, pl.concat(counts)


def invalid_ip_warning(ip_events: int, invalid_events: int) -> str | None:
    """The warning when most events with an IP have an unreadable address (the wrong column mapped?), else None.

    Examples
    --------
    >>> invalid_ip_warning(10, 6)
    '6 of 10 events with an IP (60%) have an invalid address: is the right column mapped to ip?'
    >>> invalid_ip_warning(10, 5) is None
    True
    """
    if ip_events and invalid_events > ip_events / 2:
        return (f"{invalid_events:,} of {ip_events:,} events with an IP ({invalid_events / ip_events:.0%}) have "
                "an invalid address: is the right column mapped to ip?")
    return None


def _asn_lookup(table: pl.DataFrame, asn_table: pl.DataFrame) -> pl.DataFrame:
    """``key, asn`` for the parsed distinct IPs (ranges keyed like :func:`graphlink.stages.signals.asn.load_asn_table`)."""
    keys = table.select("key", "version", "int_key").sort("version", "int_key")
    matched = keys.join_asof(asn_table, left_on="int_key", right_on="start", by="version", strategy="backward",
                             check_sortedness=False)  # both sorted by (version, key)
    return matched.filter(pl.col("int_key") <= pl.col("end")).select("key", "asn")


def ip_signals(events: pl.LazyFrame, ipv4_prefix: int, ipv6_prefix: int,
               asn_table: pl.DataFrame | None = None, chain_position: int = 0,
               ) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Account-signal pairs for IPs from canonical events (text values; see :func:`ip_pairs`).

    Returns ``(pairs, stats, value_counts)`` with ``account_id`` in place of ``account_idx``.
    """
    enc = encode_frame(events.select("account_id", "ip"))
    pairs, values, stats, counts = ip_pairs(enc, ipv4_prefix, ipv6_prefix, asn_table, chain_position)
    return text_pairs(pairs, values, enc.index), stats, with_account_ids(counts, enc.index)
