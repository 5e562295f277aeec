"""Encode: the canonical events as integers, read once.

Every later stage needs the same few facts per event (whose, when, which IP,
card, user agent, prompt) and grouping tens of millions of strings again in
each extractor dominated the run time. :func:`encode_events` reads the input
once, in polars' streaming engine, and keeps per event only:

================== ======================== ===========================================
column             dtype                    meaning
================== ======================== ===========================================
account_idx        UInt32                   the account (see :func:`build_index`)
timestamp          Datetime(us, UTC)        if the input has one (null where missing)
<text column>      UInt64                   a 64-bit hash of the value, null where missing
================== ======================== ===========================================

so memory grows by at most ~8 bytes per event and column (README, "Memory
model"). Text is looked up again only for the values an extractor keeps
(:meth:`EncodedEvents.dictionary`). Hashes are salted with the run's seed; a
collision between two values of a column is detected where it matters (the
accounts, each dictionary) and raises rather than merging the values.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from graphlink.errors import GraphlinkError
from graphlink.ingest import AccountsInfo, Events, build_account_index

__all__ = ["EncodedEvents", "encode_events", "encode_frame", "hash_text", "count_by_account"]


def hash_text(column: str, salt: int) -> pl.Expr:
    """64-bit hash of a text column, null where the value is missing."""
    col = pl.col(column)
    return pl.when(col.is_not_null()).then(col.hash(salt)).alias(column)


@dataclass
class EncodedEvents:
    """Events as integer keys (schema in the module docstring) plus the way back to text."""

    frame: pl.DataFrame
    index: pl.DataFrame
    #: The canonical events (text), read again only for dictionary lookups and prompt text.
    source: pl.LazyFrame
    columns: tuple[str, ...]
    salt: int

    def dictionary(self, column: str, keys: pl.Series | None = None) -> pl.DataFrame:
        """``key, value``: the text behind hashed values of ``column`` (only ``keys`` if given).

        Raises :class:`GraphlinkError` if two different values share a hash.
        """
        key = pl.col(column).hash(self.salt)
        lf = self.source.select(pl.col(column)).drop_nulls()
        if keys is not None:
            lf = lf.filter(key.is_in(keys.implode()))
        table = lf.unique().select(key.alias("key"), pl.col(column).alias("value")).collect(engine="streaming")
        _check_unique(table["key"], column)
        return table


def _check_unique(keys: pl.Series, column: str) -> None:
    if keys.n_unique() != keys.len():
        # About 1 in 10^7 runs at a few million distinct values; another seed rehashes.
        raise GraphlinkError(f"hash collision between two {column} values; rerun with another --seed")


def encode_events(events: Events, accounts: AccountsInfo | None = None, salt: int = 0) -> EncodedEvents:
    """Read ``events`` once into integer form (schema in the module docstring).

    The account index (:func:`graphlink.ingest.build_account_index`) is built
    on the way and returned as ``EncodedEvents.index``.
    """
    index = build_account_index(events, accounts)
    text = [c for c in events.columns if c not in ("account_id", "timestamp")]
    keys = index.select("account_idx", pl.col("account_id").hash(salt).alias("__account"))
    _check_unique(keys["__account"], "account_id")
    frame = (
        events.frame.select(pl.col("account_id").hash(salt).alias("__account"),
                            *(["timestamp"] if "timestamp" in events.columns else []),
                            *[hash_text(c, salt) for c in text])
        .collect(engine="streaming")
    )
    # Accounts with events only; the index may also hold accounts-file-only rows.
    frame = frame.join(keys, on="__account", maintain_order="left").drop("__account").select("account_idx", pl.exclude("account_idx"))
    return EncodedEvents(frame=frame, index=index, source=events.frame, columns=events.columns, salt=salt)


def encode_frame(events: pl.LazyFrame | pl.DataFrame, salt: int = 0) -> EncodedEvents:
    """Encode an already canonical frame (``account_id`` plus event columns); for tests and helpers.

    Examples
    --------
    >>> enc = encode_frame(pl.DataFrame({"account_id": ["b", "a", "b"], "ip": ["1.1.1.1", None, "1.1.1.1"]}))
    >>> enc.frame["account_idx"].to_list(), enc.frame["ip"].null_count()
    ([1, 0, 1], 1)
    """
    lf = events.lazy()
    columns = tuple(lf.collect_schema().names())
    ev = Events(frame=lf, path="<frame>", rows_read=0, columns=columns)
    return encode_events(ev, None, salt)


def account_bits(n_accounts: int) -> int:
    """Bits needed for an account index below ``n_accounts``."""
    return max(1, (max(n_accounts, 1) - 1).bit_length())


def count_by_account(frame: pl.DataFrame, column: str, n_accounts: int | None = None,
                     weight: str | None = None) -> pl.DataFrame:
    """``account_idx, key, count``: events per account and hashed value of ``column``, sorted.

    With ``weight``, ``count`` sums that column instead of counting rows.
    Grouping ~20M distinct (account, value) pairs with a hash table took 4-6 s
    on 24M events; sorting one packed 64-bit key (account index in the top
    bits, the value's hash in the rest) and reading off its runs takes ~2 s.
    Truncating the hash can make two values of one account share a packed key;
    that is detected and answered with the exact (slower) group-by.

    Examples
    --------
    >>> f = pl.DataFrame({"account_idx": [1, 0, 1, 1], "ip": [7, 7, None, 7]},
    ...                  schema={"account_idx": pl.UInt32, "ip": pl.UInt64})
    >>> count_by_account(f, "ip").rows()
    [(0, 7, 1), (1, 7, 2)]
    """
    bits = account_bits(n_accounts if n_accounts is not None else int(frame["account_idx"].max() or 0) + 1)
    amount = pl.col(weight).cast(pl.UInt64) if weight else pl.lit(1, pl.UInt64)
    # Small integer keys (IPv4 addresses, networks) fit beside the account whole;
    # hashes lose their low bits.
    fits = int(frame[column].max() or 0) < 2 ** (64 - bits)
    low = pl.col("key") if fits else pl.col("key") // 2**bits
    rows = (
        frame.select("account_idx", pl.col(column).alias("key"), amount.alias("__amount")).drop_nulls("key")
        .with_columns((pl.col("account_idx").cast(pl.UInt64) * 2 ** (64 - bits) + low).alias("__packed"))
        .sort("__packed")
    )
    same = pl.col("__packed") == pl.col("__packed").shift(1)
    if rows.select((same & (pl.col("key") != pl.col("key").shift(1))).any()).item():
        return (rows.group_by("account_idx", "key").agg(pl.col("__amount").sum().cast(pl.UInt32).alias("count"))
                .sort("account_idx", "key"))
    last = (pl.col("__packed") != pl.col("__packed").shift(-1)).fill_null(True)
    return (
        rows.with_columns(pl.col("__amount").cum_sum().alias("__cum")).filter(last)
        .select("account_idx", "key",
                (pl.col("__cum") - pl.col("__cum").shift(1).fill_null(0)).cast(pl.UInt32).alias("count"))
    )


def text_pairs(pairs: pl.DataFrame, values: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """Keyed pairs (``account_idx, kind, value_key, count``) back to ``account_id, kind, value, count``."""
    return (
        pairs.join(values, on=["kind", "value_key"])
        .join(index.select("account_idx", "account_id"), on="account_idx")
        .select("account_id", "kind", "value", "count")
        .sort("account_id", "kind", "value")
    )


def shared_only(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs whose value at least two accounts share (pairs hold one row per account and value)."""
    counts = pairs.select(pl.col("value_key").value_counts()).unnest("value_key")
    shared = counts.filter(pl.col("count") >= 2).select("value_key")
    return pairs.join(shared, on="value_key", how="semi", maintain_order="left")
