"""Timing signals: MinHash LSH bands over each account's set of active time buckets.

Scripted fleets act in the same short buckets again and again. Comparing every
pair of accounts' bucket sets is quadratic, and a single busy minute is shared
by thousands of innocent accounts, so graphlink summarises each account's set of
active buckets with MinHash and cuts the signature into bands: two accounts
share a band value with probability ``1 - (1 - J**rows)**bands`` where J
is the Jaccard similarity of their bucket sets. A shared band value is then an
ordinary categorical signal (kind ``timing``) and flows through the same
rarity weighting, hub caps and projection as every other signal.

Each of the ``bands * rows`` MinHash functions is a multiply-add-shift
permutation of one 64-bit hash of the bucket, minimised per account with
numpy's segmented ``minimum.reduceat`` over the account-sorted buckets (two
threads): 72 functions over 20M account-minutes in ~3 s, against ~26 s as 72
polars aggregations. (A one-permutation MinHash was tried and rejected: its
densified signatures made accounts with a handful of events share bands on a
single common minute.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from graphlink.stages.encode import (
    COUNT_SCHEMA, PAIR_SCHEMA, VALUE_SCHEMA, EncodedEvents, count_by_account, encode_frame, shared_only, text_pairs,
    value_counts, with_account_ids,
)


#: Buckets per block of :func:`minhash` (256 KiB of hashes and as much scratch: in a core's L2 cache).
MINHASH_BLOCK = 32768


def minhash(buckets: pl.DataFrame, n_hashes: int, seed: int) -> pl.DataFrame:
    """``account_idx, m0 .. m{n-1}``: MinHash signatures of account-sorted distinct ``account_idx, key`` rows."""
    x = buckets.select(pl.col("key").hash(seed + 1))["key"].to_numpy()
    account = buckets["account_idx"].to_numpy()
    starts = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    rng = np.random.default_rng(seed)
    mult = rng.integers(0, 2**63, n_hashes, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd: a bijection
    add = rng.integers(0, 2**63, n_hashes, dtype=np.uint64)
    out = np.empty((len(starts), n_hashes), dtype=np.uint64)
    # Blocks of whole accounts, about MINHASH_BLOCK buckets each: every function runs over a
    # block while it is in the CPU cache (72 passes over the whole column were bound by
    # memory traffic). Same arithmetic, same minima.
    cuts = np.unique(np.searchsorted(starts, np.arange(0, len(x), MINHASH_BLOCK), side="left"))
    bounds = [(int(a), int(b)) for a, b in zip(cuts, list(cuts[1:]) + [len(starts)]) if a < b]
    ends = np.r_[starts, len(x)]
    widest = max((int(ends[b] - ends[a]) for a, b in bounds), default=0)

    def run(blocks: list[tuple[int, int]]) -> None:
        scratch = np.empty(widest, dtype=np.uint64)
        for first, stop in blocks:  # accounts first .. stop - 1
            lo, hi = int(ends[first]), int(ends[stop])
            local = starts[first:stop] - lo
            block, tmp = x[lo:hi], scratch[:hi - lo]
            for i in range(n_hashes):
                np.multiply(block, mult[i], out=tmp)
                np.add(tmp, add[i], out=tmp)
                # The top 32 bits are the hash; a shift is monotone, so the minimum is
                # taken first and only the per-account minima are shifted (a pass less).
                out[first:stop, i] = np.minimum.reduceat(tmp, local) >> np.uint64(32)

    half = len(bounds) // 2
    with ThreadPoolExecutor(2) as pool:  # numpy releases the GIL in these loops
        list(pool.map(run, (bounds[:half], bounds[half:])))
    return pl.DataFrame({"account_idx": account[starts]}).with_columns(
        pl.DataFrame(out, schema=[f"m{i}" for i in range(n_hashes)]))


def timing_pairs(enc: EncodedEvents, bucket_seconds: int, min_buckets: int, bands: int, rows: int, seed: int,
                 minutes: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Keyed timing pairs: ``(pairs, values, stats, value_counts)``.

    ``pairs`` has ``account_idx, kind, value_key, count`` where the value is a
    band of the account's signature (text ``"band B: <signature hash>"``) and
    ``count`` the account's number of active buckets. Accounts active in fewer
    than ``min_buckets`` buckets get no timing signal. Only band values two
    accounts share are returned; ``value_counts`` (``account_idx, kind,
    n_values``) records that every timed account had ``bands`` values.

    ``minutes`` (``account_idx, minute``: :func:`graphlink.stages.cotiming.account_minutes`, distinct and
    sorted) are the buckets when ``bucket_seconds`` is 60: the pipeline lists them anyway for
    co-timing, and the same rows need not be sorted out of the 24M events a second time.
    """
    n_accounts = enc.index.height
    if minutes is not None and bucket_seconds == 60:
        # Only the distinct (account, bucket) rows are read below, in this order, as UInt64 keys.
        buckets = minutes.select("account_idx", pl.col("minute").cast(pl.UInt64).alias("key"))
    else:
        bucket = (pl.col("timestamp").dt.epoch("s") // bucket_seconds).cast(pl.UInt64)
        timed = enc.frame.select("account_idx", bucket.alias("bucket")).drop_nulls()
        buckets = count_by_account(timed, "bucket", n_accounts)
    n_buckets = value_counts(buckets["account_idx"])
    active = n_buckets.filter(pl.col("count") >= min_buckets)
    buckets = buckets.join(active.select("account_idx"), on="account_idx", how="semi", maintain_order="left")
    if buckets.is_empty():
        return (pl.DataFrame(schema=PAIR_SCHEMA), pl.DataFrame(schema=VALUE_SCHEMA), {"accounts_with_timing": 0},
                pl.DataFrame(schema=COUNT_SCHEMA))
    sig = minhash(buckets, bands * rows, seed)
    band_keys = [
        pl.struct(pl.lit(b).alias("band"), *[f"m{b * rows + r}" for r in range(rows)]).hash(seed).alias(str(b))
        for b in range(bands)
    ]
    pairs = (
        sig.select("account_idx", *band_keys)
        .unpivot(index="account_idx", variable_name="band", value_name="value_key")
        .join(active, on="account_idx", maintain_order="left")
    )
    counts = active.select("account_idx", pl.lit("timing").alias("kind"), pl.lit(bands, pl.UInt32).alias("n_values"))
    pairs = shared_only(pairs)
    values = pairs.select("band", "value_key").unique("value_key").select(
        pl.lit("timing").alias("kind"), "value_key",
        pl.concat_str([pl.lit("band "), pl.col("band"), pl.lit(": "),
                       pl.col("value_key").cast(pl.String)]).alias("value"))
    pairs = pairs.select("account_idx", pl.lit("timing").alias("kind"), "value_key", "count")
    return pairs, values, {"accounts_with_timing": active.height}, counts


def timing_signals(events: pl.LazyFrame, bucket_seconds: int, min_buckets: int, bands: int,
                   rows: int, seed: int) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Timing pairs from canonical events, with text values (see :func:`timing_pairs`).

    Returns ``(pairs, stats, value_counts)`` keyed by ``account_id``.
    """
    enc = encode_frame(events.select("account_id", "timestamp"))
    pairs, values, stats, counts = timing_pairs(enc, bucket_seconds, min_buckets, bands, rows, seed)
    return text_pairs(pairs, values, enc.index), stats, with_account_ids(counts, enc.index)
