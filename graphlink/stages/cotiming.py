"""Co-timing: a shared template verified by a shared clock links two accounts.

A template (prompt n-grams) is shared by a whole operator and by unrelated
people writing stock phrases, and a clock (active minutes) by unrelated
companies whose cron jobs fire at :00; each alone is weak evidence
(:class:`graphlink.config.KindSpec` ``strong=False``). Together, on the same
pair of accounts, they are what an operator's script leaves: SynchroTrap
(Cao et al., CCS 2014) matches users on time *and* action jointly, and
CopyCatch (Beutel et al., WWW 2013) on lockstep behaviour. This module checks
the pairs a template projected (and nothing strong linked) against their
active minutes: the rarity-weighted Jaccard similarity of the two accounts'
minute sets, each minute weighing ``log(N / d)`` where ``d`` is how many
accounts were active in it (a busy minute says little, a burst only one fleet
was in says much).

Output schemas
--------------
:func:`account_minutes`: ``account_idx`` UInt32, ``minute`` UInt64 (minutes since the epoch), sorted, distinct.
:func:`verify_pairs`: ``key`` UInt64 (``source * 2**32 + target``), ``weight`` Int64 (integer units of
:data:`graphlink.stages.linking.WEIGHT_SCALE`).
"""

from __future__ import annotations

import math
import os

import polars as pl

from graphlink.stages.linking import WEIGHT_SCALE

#: Kinds whose pairs, with nothing strong between them, are verified by their minutes: templates.
JOINT_KINDS = tuple(os.environ.get("COT_KINDS", "prompt").split(","))
#: Smallest rarity-weighted minute Jaccard of a verified pair. On an independent dev world (seed 1,
#: 11,000 accounts), among pairs sharing a value and no card or address: 22 % of same-cell pairs reach
#: 0.1, pairs of two cells of one operator 0.0 %, of two operators 0 %, ordinary pairs 0.0 %.
MIN_MINUTE_JACCARD = 0.1
#: Fewest shared minutes of a verified pair: one shared minute is a coincidence at any Jaccard.
MIN_SHARED_MINUTES = 2


import os
MIN_PHASES = int(os.environ.get("COT_PH", "3"))
MAX_PHASE_SHARE = float(os.environ.get("COT_PS", "0.5"))


def _promoted(jaccard, weight, template):
    import os
    mode = os.environ.get("COT_MODE", "const")
    w = float(os.environ.get("COT_W", "1.0"))
    if mode == "const":
        return pl.lit(int(w * weight * WEIGHT_SCALE), pl.Int64)
    if mode == "jac":
        return (jaccard * w * weight * WEIGHT_SCALE).floor().cast(pl.Int64)
    if mode == "min":
        return pl.min_horizontal(template, pl.lit(int(w * weight * WEIGHT_SCALE), pl.Int64))
    return template


def account_minutes(frame: pl.DataFrame, bucket_seconds: int = 60) -> pl.DataFrame:
    """Distinct ``account_idx, minute`` of events (``account_idx, timestamp``), sorted."""
    bucket = (pl.col("timestamp").dt.epoch("s") // bucket_seconds).cast(pl.UInt64).alias("minute")
    return (frame.lazy().select("account_idx", bucket).drop_nulls().unique()
            .sort("account_idx", "minute").collect())


def verify_pairs(candidates: pl.DataFrame, minutes: pl.DataFrame, n_accounts: int,
                 min_jaccard: float = MIN_MINUTE_JACCARD,
                 min_shared: int = MIN_SHARED_MINUTES, weight: float = 1.0) -> pl.DataFrame:
    """The candidate pairs whose active minutes agree, with their weight.

    Parameters
    ----------
    candidates : DataFrame
        ``key`` (UInt64 pair key, source in the top 32 bits), ``weight`` (Int64).
    minutes : DataFrame
        ``account_idx, minute`` (:func:`account_minutes`).
    n_accounts : int
        Accounts in the run (N of each minute's rarity ``log(N / d)``).

    Returns
    -------
    DataFrame
        ``key, weight`` of the candidates with rarity-weighted minute Jaccard at
        least ``min_jaccard`` over at least ``min_shared`` shared minutes.
    """
    if candidates.is_empty() or minutes.is_empty():
        return candidates.clear().select("key", "weight")
    n = float(max(n_accounts, 2))
    rare = minutes.with_columns(
        (math.log(n) - pl.len().over("minute").cast(pl.Float64).log()).clip(lower_bound=0.0).alias("idf"))
    total = rare.group_by("account_idx").agg(pl.col("idf").sum().alias("total"))
    pairs = candidates.select("key", "weight", (pl.col("key") // 2**32).cast(pl.UInt32).alias("a"),
                              (pl.col("key") % 2**32).cast(pl.UInt32).alias("b"))
    shared = (
        pairs.lazy().select("key", "a", "b")
        .join(rare.lazy().select(pl.col("account_idx").alias("a"), "minute", "idf"), on="a")
        .join(rare.lazy().select(pl.col("account_idx").alias("b"), "minute"), on=["b", "minute"], how="semi")
        .with_columns((pl.col("minute") % 60).alias("phase"))
        .group_by("key").agg(pl.col("idf").sum().alias("shared"), pl.len().alias("n_shared"),
                             pl.col("phase").n_unique().alias("phases"),
                             pl.col("phase").value_counts(sort=True).first().struct.field("count").alias("top_phase"))
        .collect()
    )
    return (
        pairs.join(shared, on="key")
        .join(total.rename({"account_idx": "a", "total": "ta"}), on="a")
        .join(total.rename({"account_idx": "b", "total": "tb"}), on="b")
        .filter((pl.col("n_shared") >= min_shared) & (pl.col("phases") >= MIN_PHASES)
                & (pl.col("top_phase") <= MAX_PHASE_SHARE * pl.col("n_shared"))
                & (pl.col("shared") >= min_jaccard * (pl.col("ta") + pl.col("tb") - pl.col("shared"))))
        .select("key", _promoted(pl.col("shared") / (pl.col("ta") + pl.col("tb") - pl.col("shared")), weight,
                                 pl.col("weight")).alias("weight")).sort("key")
    )
