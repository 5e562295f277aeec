"""Timing signals: MinHash LSH bands over each account's set of active time buckets.

Scripted fleets act in the same short buckets again and again. Comparing every
pair of accounts' bucket sets is quadratic, and a single busy minute is shared
by thousands of innocent accounts, so graphlink summarises each account's set of
active buckets with MinHash and cuts the signature into bands: two accounts
share a band value with probability ``1 - (1 - J**rows)**bands`` where J is
the Jaccard similarity of their bucket sets. A shared band value is then an
ordinary categorical signal (kind ``timing``) and flows through the same
rarity weighting, hub caps and projection as every other signal.
"""

from __future__ import annotations

import polars as pl


def timing_signals(events: pl.LazyFrame, bucket_seconds: int, min_buckets: int, bands: int,
                   rows: int, seed: int) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Account-signal pairs of kind ``timing``: ``account_id, kind, value, count``.

    ``value`` reads ``"band B: <signature>"``; ``count`` is the account's number
    of active buckets. Accounts active in fewer than ``min_buckets`` buckets
    get no timing signal. Only band values two accounts share are returned;
    ``value_counts`` (``account_id, kind, n_values``) records that every timed
    account had ``bands`` values.
    """
    buckets = (
        events.select("account_id", (pl.col("timestamp").dt.epoch("s") // bucket_seconds).alias("bucket"))
        .drop_nulls()
        .unique()
    )
    active = buckets.group_by("account_id").agg(pl.len().alias("n_buckets")).filter(pl.col("n_buckets") >= min_buckets)
    n_hashes = bands * rows
    minhash = (
        buckets.join(active.select("account_id"), on="account_id", how="semi")
        .group_by("account_id")
        .agg([pl.col("bucket").hash(seed + 1 + i).min().alias(f"m{i}") for i in range(n_hashes)])
        .join(active, on="account_id")
    )
    band_values = [
        pl.concat_str([
            pl.lit(f"band {b}: "),
            pl.struct([f"m{b * rows + r}" for r in range(rows)]).hash(seed).cast(pl.String),
        ]).alias(f"band{b}")
        for b in range(bands)
    ]
    pairs = (
        minhash.select("account_id", "n_buckets", *band_values)
        .unpivot(index=["account_id", "n_buckets"], value_name="value")
        .select("account_id", pl.lit("timing").alias("kind"), "value",
                pl.col("n_buckets").cast(pl.UInt32).alias("count"))
        .collect()
    )
    counts = pairs.select("account_id").unique().select(
        "account_id", pl.lit("timing").alias("kind"), pl.lit(bands, pl.UInt32).alias("n_values"))
    pairs = pairs.filter(pl.len().over("value") >= 2)
    return pairs, {"accounts_with_timing": counts.height}, counts
