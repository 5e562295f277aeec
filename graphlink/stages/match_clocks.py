"""Match's clocks: a known cluster's busy hours and how well a new account's hours fit them.

:func:`cluster_clocks` reads the earlier run's ``activity.parquet``, :func:`account_clocks` the new log;
:func:`clock_fit` is the share of an account's activity in a cluster's busy hours beyond chance, which
corroborates (never makes) a match in :func:`graphlink.stages.match.match_accounts`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.encode import EncodedEvents, with_account_ids

__all__ = ["MAX_CLOCK_CHANCE", "account_clocks", "clock_fit", "cluster_clocks"]

#: A clock fit counts only when an account active at random hours would put that many of its events in the
#: cluster's busy hours with at most this chance (binomial tail, :func:`clock_fit`). One event in a cluster busy
#: 13 hours of 24 fits perfectly with chance 0.54 (session 33's new-user review: 9 ordinary pool users matched
#: to a flagged ring on one request's "clock fit 1.0"); two events in its two busy hours, 0.007.
MAX_CLOCK_CHANCE = 0.01


def cluster_clocks(activity: pl.DataFrame) -> pl.DataFrame:
    """Each known cluster's clock: its *busy* UTC hours, where its members send more than a uniform 1/24.

    ``activity`` is ``activity.parquet`` (``cluster_id, hour, events``). Returns
    ``cluster_id, hour`` (the busy hours) and ``chance``, the share of the day
    they cover (what an account active at random hours would put in them).

    Examples
    --------
    >>> act = pl.DataFrame({"cluster_id": [1, 1, 1], "hour": [3, 4, 5], "events": [30, 30, 1]})
    >>> cluster_clocks(act).rows()
    [(1, 3, 0.08333333333333333), (1, 4, 0.08333333333333333)]
    """
    # Grouped lazily: 10M activity rows on the campaign preset, ~0.5 s of CPU eager, ~0.2 s lazy (integer sums).
    per_hour = activity.lazy().group_by("cluster_id", "hour").agg(pl.col("events").sum()).collect()
    busy = per_hour.filter(pl.col("events") / pl.col("events").sum().over("cluster_id") > 1 / 24)
    return (busy.with_columns((pl.len().over("cluster_id") / 24).alias("chance"))
            .select("cluster_id", pl.col("hour").cast(pl.Int8), "chance").sort("cluster_id", "hour"))


def account_clocks(enc: EncodedEvents) -> pl.DataFrame:
    """``account_id, hour, share, events``: each new account's share and count of events per UTC hour of the day
    (empty without timestamps)."""
    if "timestamp" not in enc.frame.columns:
        return pl.DataFrame(schema={"account_id": pl.String, "hour": pl.Int8, "share": pl.Float64,
                                    "events": pl.UInt32})
    hours = (enc.frame.select("account_idx", pl.col("timestamp").dt.hour().cast(pl.Int8).alias("hour"))
             .drop_nulls("hour").group_by("account_idx", "hour").len())
    shares = hours.with_columns((pl.col("len") / pl.col("len").sum().over("account_idx")).alias("share"))
    return with_account_ids(shares.select("account_idx", "hour", "share", pl.col("len").cast(pl.UInt32).alias("events")),
                            enc.index)


def clock_fit(pairs: pl.DataFrame, accounts: pl.DataFrame, clusters: pl.DataFrame,
              max_chance: float = MAX_CLOCK_CHANCE) -> pl.DataFrame:
    """``account_id, cluster_id, fit``: how much more of an account's activity falls in a cluster's busy hours than chance.

    ``fit = (in_busy - chance) / (1 - chance)``, clipped to [0, 1], where
    ``in_busy`` is the share of the account's events in the cluster's busy
    hours (:func:`cluster_clocks`) and ``chance`` the share of the day they
    cover: 1 for an account active only when the cluster is, 0 for one active
    at random hours or a cluster busy around the clock. Only the ``pairs``
    asked for (accounts that already share values with the cluster).

    A fit measured on a few events is no evidence: one event falls in the busy hours with probability
    ``chance`` and then fits 1.0. The fit is 0 unless an account active at random hours would put at least as
    many of its ``n`` events there with probability at most ``max_chance`` (``P(Binomial(n, chance) >= k)``,
    ``k`` its events in the busy hours). Without ``events`` in ``accounts`` (shares only) the fit is not tested.

    Examples
    --------
    >>> busy = cluster_clocks(pl.DataFrame({"cluster_id": [1] * 24, "hour": list(range(24)),
    ...                                     "events": [50] * 13 + [1] * 11}))
    >>> one = pl.DataFrame({"account_id": ["a"], "hour": [3], "share": [1.0], "events": [1]},
    ...                    schema_overrides={"hour": pl.Int8, "events": pl.UInt32})
    >>> clock_fit(pl.DataFrame({"account_id": ["a"], "cluster_id": [1]}), one, busy)["fit"].to_list()
    [0.0]
    >>> many = one.with_columns(pl.lit(12, pl.UInt32).alias("events"))
    >>> clock_fit(pl.DataFrame({"account_id": ["a"], "cluster_id": [1]}), many, busy)["fit"].to_list()
    [1.0]
    """
    chance = clusters.group_by("cluster_id").agg(pl.col("chance").first())
    counted = "events" in accounts.columns
    totals = (accounts.group_by("account_id").agg(pl.col("events").sum().alias("n")) if counted
              else accounts.select("account_id").unique().with_columns(pl.lit(None, pl.Int64).alias("n")))
    inside = (pairs.join(accounts, on="account_id").join(clusters.select("cluster_id", "hour"),
                                                         on=["cluster_id", "hour"])
              .group_by("account_id", "cluster_id")
              .agg(pl.col("share").sum().round(9).alias("in_busy"),  # as match's sums
                   (pl.col("events").sum() if counted else pl.lit(None, pl.Int64)).alias("k")))
    fit = ((pl.col("in_busy").fill_null(0.0) - pl.col("chance")) / (1 - pl.col("chance"))).clip(0.0, 1.0)
    found = (pairs.join(inside, on=["account_id", "cluster_id"], how="left").join(chance, on="cluster_id", how="left")
             .join(totals, on="account_id", how="left")
             .with_columns(pl.when(pl.col("chance") < 1).then(fit).otherwise(0.0).fill_null(0.0).alias("fit")))
    if counted and found.height:
        k = found["k"].fill_null(0).to_numpy().astype(np.int64)
        n = found["n"].fill_null(0).to_numpy().astype(np.int64)
        p = found["chance"].fill_null(1.0).to_numpy().astype(np.float64)
        from scipy.stats import binom  # here, not at the top: scipy.stats costs ~0.5-1 s to import on every detect
        tail = binom.sf(k - 1, n, np.clip(p, 0.0, 1.0))  # P(X >= k)
        found = found.with_columns(pl.when(pl.Series(tail <= max_chance)).then(pl.col("fit")).otherwise(0.0)
                                   .alias("fit"))
    return found.select("account_id", "cluster_id", "fit")
