"""Counting integer keys by sorting them: values per account, distinct keys, runs.

Every extractor counts (account, value) pairs over tens of millions of events;
sorting one packed 64-bit key and reading off its runs beats a hash group-by
there (:func:`count_by_account`). Re-exported by :mod:`graphlink.stages.encode`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["account_bits", "count_by_account", "value_counts", "n_distinct", "sort_keys", "NUMPY_KEYS"]


def account_bits(n_accounts: int) -> int:
    """Bits needed for an account index below ``n_accounts``."""
    return max(1, (max(n_accounts, 1) - 1).bit_length())


def count_by_account(frame: pl.DataFrame, column: str, n_accounts: int | None = None,
                     weight: str | None = None, strategy: str = "sort") -> pl.DataFrame:
    """``account_idx, key, count``: events per account and hashed value of ``column``, sorted.

    With ``weight``, ``count`` sums that column instead of counting rows.
    Grouping ~20M distinct (account, value) pairs with a hash table took 4-6 s
    on 24M events; sorting one packed 64-bit key (account index in the top
    bits, the value's hash in the rest) and reading off its runs takes ~2 s.
    Truncating the hash can make two values of one account share a packed key;
    that is detected and answered with the exact (slower) group-by.

    ``strategy="hash"`` groups with a hash table instead: the better choice when
    accounts repeat a few values over many events (cards, user agents: 24M
    events into 0.2-0.4M groups in 0.6-0.9 s against 1.9 s sorting), the worse
    one when nearly every event is its own group (IPs, prompts: 3-4 s).

    Examples
    --------
    >>> f = pl.DataFrame({"account_idx": [1, 0, 1, 1], "ip": [7, 7, None, 7]},
    ...                  schema={"account_idx": pl.UInt32, "ip": pl.UInt64})
    >>> count_by_account(f, "ip").rows()
    [(0, 7, 1), (1, 7, 2)]
    """
    bits = account_bits(n_accounts if n_accounts is not None else int(frame["account_idx"].max() or 0) + 1)
    if frame.is_empty():
        return pl.DataFrame(schema={"account_idx": pl.UInt32, "key": pl.UInt64, "count": pl.UInt32})
    if strategy == "hash":
        return _group_count(frame, column, weight)
    if strategy != "sort":
        raise ValueError(f"unknown strategy {strategy!r}")
    # Small integer keys (IPv4 addresses, networks) fit beside the account whole;
    # hashes lose their low bits. Only what cannot be recomputed from the packed
    # key rides along the sort: gathering payload columns is most of its cost.
    top = int(frame[column].max() or 0)
    fits = top < 2 ** (64 - bits)
    # A small signed key (cluster ids) packs as UInt64, not Int128: a key-only sort (sort_keys).
    unsigned = fits and int(frame[column].min() or 0) >= 0
    small = pl.col(column).cast(pl.UInt64) if unsigned else pl.col(column)
    # A weight packs below a small key when it fits too (the network count of 19M IP rows: 4.6 -> 1.4 s CPU).
    low = int(frame[weight].max() or 0).bit_length() if weight and unsigned and frame[weight].dtype.is_integer() \
        and int(frame[weight].min() or 0) >= 0 and not frame[weight].null_count() else 0
    low = low if top < 2 ** (64 - bits - low) else 0
    packed = (pl.col("account_idx").cast(pl.UInt64) * 2 ** (64 - bits)
              + (small * 2**low + pl.col(weight).cast(pl.UInt64) if low else small if fits
                 else pl.col(column) // 2**bits)).alias("__packed")
    payload = ([] if fits else [pl.col(column).alias("key")]) + ([pl.col(weight).cast(pl.UInt64).alias("__amount")]
                                                                  if weight and not low else [])
    # Sorted in a lazy query: polars' eager DataFrame.sort took 3.3-3.6 s of CPU on 24M packed IP keys
    # and their payload, the same sort collected lazily 2.1 s (equal rows: ties carry equal keys).
    if payload:
        rows = frame.lazy().select(packed, *payload).drop_nulls("__packed").sort("__packed").collect()
    else:  # the key alone (sort_keys), equal keys being indistinguishable
        rows = sort_keys(frame.lazy().select(packed).drop_nulls("__packed").collect()["__packed"]).to_frame()
    if low:
        rows = rows.select(pl.col("__packed") // 2**low, (pl.col("__packed") % 2**low).alias("__amount"))
        bits += low  # the account now sits ``low`` bits lower
    same = pl.col("__packed") == pl.col("__packed").shift(1)
    if not fits and rows.select((same & (pl.col("key") != pl.col("key").shift(1))).any()).item():
        return _group_count(frame, column, weight)
    last = (pl.col("__packed") != pl.col("__packed").shift(-1)).fill_null(True)
    cum = pl.col("__amount").cum_sum() if weight else pl.int_range(1, pl.len() + 1, dtype=pl.UInt64)
    key = pl.col("__packed") % 2 ** (64 - bits) if fits else pl.col("key")
    return (
        rows.with_columns(cum.alias("__cum")).filter(last)
        .select((pl.col("__packed") // 2 ** (64 - bits)).cast(pl.UInt32).alias("account_idx"),
                key.cast(pl.UInt64).alias("key"),
                (pl.col("__cum") - pl.col("__cum").shift(1).fill_null(0)).cast(pl.UInt32).alias("count"))
    )


def _group_count(frame: pl.DataFrame, column: str, weight: str | None) -> pl.DataFrame:
    """:func:`count_by_account` by an exact hash group-by."""
    total = pl.col(weight).cast(pl.UInt64).sum() if weight else pl.len()
    return (
        frame.lazy().select("account_idx", pl.col(column).cast(pl.UInt64).alias("key"), *([weight] if weight else []))
        .drop_nulls("key").group_by("account_idx", "key").agg(total.cast(pl.UInt32).alias("count"))
        .sort("account_idx", "key").collect()
    )


def value_counts(values: pl.Series) -> pl.DataFrame:
    """``<name>, count``: how often each value occurs, sorted by value.

    Sorting and reading off runs: 38M hashed values in 0.6 s, where
    ``Series.value_counts`` (a hash group-by) took 3.7 s.

    Examples
    --------
    >>> value_counts(pl.Series("k", [3, 1, 3], dtype=pl.UInt64)).rows()
    [(1, 1), (3, 2)]
    """
    name = values.name
    runs = sort_keys(values.drop_nulls()).rle().struct.unnest()
    return runs.select(pl.col("value").alias(name), pl.col("len").cast(pl.UInt32).alias("count"))


#: Integer dtypes numpy sorts as they are (not Int128).
NUMPY_KEYS = (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64, pl.Int8, pl.Int16, pl.Int32, pl.Int64)


def n_distinct(values: pl.Series) -> int:
    """``values.n_unique()`` (a null counts as one value): integers counted off numpy's sort.

    Examples
    --------
    >>> n_distinct(pl.Series([3, None, 3, 1, None], dtype=pl.UInt64))
    3
    """
    present = values.drop_nulls()
    if present.dtype not in NUMPY_KEYS:
        return values.n_unique()
    keys = sort_keys(present).to_numpy()
    distinct = int(np.count_nonzero(keys[1:] != keys[:-1])) + 1 if keys.size else 0
    return distinct + (1 if values.null_count() else 0)


def sort_keys(values: pl.Series) -> pl.Series:
    """``values`` sorted ascending (nulls first, as ``Series.sort``), flagged sorted.

    The one place the pipeline sorts keys alone (packed account-value keys, hashes to count):
    equal keys are indistinguishable, so any sort gives the same Series. polars' sort is used:
    numpy's vectorised quicksort is not dispatched on every CPU (on the 2-core AMD EPYC that
    times the campaign preset, ``np.sort`` took 1.9-2.0 s for 24M UInt64 keys against 0.6 s for
    polars' sort on one thread, and 27 s of the run's ~170 s of CPU went to it).

    Examples
    --------
    >>> sort_keys(pl.Series("k", [3, 1, 2], dtype=pl.UInt64)).to_list()
    [1, 2, 3]
    """
    return values.sort()
