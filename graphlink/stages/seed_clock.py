"""The seeds' clock: the hours in which the seed accounts act together, and who else acts in them.

Used by :func:`graphlink.stages.expand.rank_accounts` after the sweep cut and the cluster
completion (reasoning and measurements in BENCHMARKS.md, issue 15, "expand, fifth pass").
A scripted cell fires in bursts: every account of the cell sends its requests within a minute
of the cell's burst instants, so the cell's accounts are active in the same hours of the same
days, and an operator's other cells, on their own burst instants, in other hours. Link weights
cannot tell a cell from the siblings it shares a proxy pool and cards with; the clock can.

The clock is read from ``activity.parquet`` (events per account, UTC day and hour; detect writes
it for clustered accounts only, so an unclustered account has no clock and is never judged by
it). The seeds' *shared hours* are the (day, hour) buckets in which at least
:data:`MIN_CLOCK_SEEDS` seeds were active; the seeds *keep a clock* when every seed with activity
sent at least :data:`CLOCK_SHARE` of its events in the shared hours (seeds active around the
clock share a few hours by chance, each only a small part of its events) and the shared hours are
few against the run's hours (:data:`MAX_CLOCK_COVER`). An account's *fit* is the share of its
events in the shared hours. This is co-activity, the temporal "lockstep" signal of CopyCatch
(Beutel, Xu, Guruswami, Palow & Faloutsos 2013, "CopyCatch: stopping group attacks by spotting
lockstep behavior in social networks"), read from the seeds instead of searched for.
"""

from __future__ import annotations

import polars as pl

__all__ = ["CLOCK_SHARE", "MAX_CLOCK_COVER", "MIN_CLOCK_SEEDS", "OFF_CLOCK", "seed_clock", "clock_fit", "apply_clock",
           "clock_reasons"]

#: An hour bucket is one of the seeds' shared hours when at least this many seeds were active in it
#: (all of them when fewer seeds have activity).
MIN_CLOCK_SEEDS = 2
#: The seeds keep a clock when each sent at least this share of its events in their shared hours, and
#: an account fits it with at least this share of its events there.
CLOCK_SHARE = 0.5
#: A listed account whose activity is known leaves the list when less than this share of its events
#: falls in the seeds' shared hours (another cell of the operator, on its own burst instants).
OFF_CLOCK = 0.1
#: ... and when the shared hours are at most this share of the run's hours (day-hour buckets from the
#: first to the last active one): a clock busy most of the time tells nobody apart.
MAX_CLOCK_COVER = 0.2


def seed_clock(activity: pl.DataFrame | None, seeds: list[str], share: float = CLOCK_SHARE,
               max_cover: float = MAX_CLOCK_COVER) -> pl.DataFrame | None:
    """The seeds' shared hours, when the seeds keep a clock; else ``None``.

    Parameters
    ----------
    activity : DataFrame or None
        ``account_id, day, hour, events`` (``activity.parquet``); ``None``: no clock.
    seeds : list of str
        Seed account ids.
    share : float
        :data:`CLOCK_SHARE`.
    max_cover : float
        :data:`MAX_CLOCK_COVER`.

    Returns
    -------
    DataFrame or None
        ``day, hour``: the (UTC day, hour) buckets in which at least
        ``min(MIN_CLOCK_SEEDS, seeds with activity)`` seeds were active, shape
        (n, 2); ``None`` when fewer than two seeds have activity, a seed with
        activity sent less than ``share`` of its events in them, or they cover
        more than ``max_cover`` of the run's hours.

    Examples
    --------
    Three seeds firing at 03:00 and 04:00 on two days (one also browsing at noon):

    >>> import datetime as dt
    >>> d1, d2 = dt.date(2025, 1, 1), dt.date(2025, 1, 2)
    >>> rows = [(s, d, h, 5) for s in ("s1", "s2", "s3") for d in (d1, d2) for h in (3, 4)] + [("s1", d1, 12, 1)]
    >>> act = pl.DataFrame(rows, schema=["account_id", "day", "hour", "events"], orient="row")
    >>> seed_clock(act, ["s1", "s2", "s3"], max_cover=1.0).height
    4
    """
    if activity is None or activity.is_empty():
        return None
    seed_list = pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode()
    own = activity.filter(pl.col("account_id").is_in(seed_list)).group_by("account_id", "day", "hour").agg(
        pl.col("events").sum())
    active = own["account_id"].n_unique()
    if active < 2:
        return None
    need = min(MIN_CLOCK_SEEDS, active)
    shared = own.group_by("day", "hour").agg(pl.col("account_id").n_unique().alias("k")).filter(
        pl.col("k") >= need).select("day", "hour")
    if shared.is_empty():
        return None
    inside = (own.join(shared.with_columns(pl.lit(True).alias("shared")), on=["day", "hour"], how="left")
              .group_by("account_id").agg((pl.col("events").filter(pl.col("shared").is_not_null()).sum()
                                           / pl.col("events").sum()).alias("fit")))
    if float(inside["fit"].min()) < share:
        return None
    stamp = pl.col("day").cast(pl.Datetime("us")) + pl.duration(hours=pl.col("hour").cast(pl.Int64))
    bounds = activity.select(stamp.min().alias("lo"), stamp.max().alias("hi")).row(0)
    hours = (bounds[1] - bounds[0]).total_seconds() / 3600 + 1
    if shared.height > max_cover * hours:
        return None
    return shared.sort("day", "hour")


def clock_fit(activity: pl.DataFrame, shared: pl.DataFrame) -> pl.DataFrame:
    """``account_id, fit``: the share of each account's events in the seeds' shared hours.

    One row per account of ``activity`` (``account_id, day, hour, events``);
    ``shared`` is :func:`seed_clock`'s ``day, hour``. Shape (n, 2).

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date(2025, 1, 1)
    >>> act = pl.DataFrame({"account_id": ["a", "a", "b"], "day": [d, d, d], "hour": [3, 9, 9], "events": [3, 1, 2]})
    >>> clock_fit(act, pl.DataFrame({"day": [d], "hour": [3]}, schema_overrides={"hour": pl.Int8})).sort("account_id").rows()
    [('a', 0.75), ('b', 0.0)]
    """
    marked = shared.select("day", pl.col("hour").cast(activity.schema["hour"]), pl.lit(True).alias("shared"))
    return (activity.join(marked, on=["day", "hour"], how="left").group_by("account_id")
            .agg((pl.col("events").filter(pl.col("shared").is_not_null()).sum() / pl.col("events").sum())
                 .alias("fit")))


def apply_clock(ordered: pl.DataFrame, keep: int, activity: pl.DataFrame | None, seeds: list[str],
                share: float = CLOCK_SHARE, off_clock: float = OFF_CLOCK, max_cover: float = MAX_CLOCK_COVER,
                ) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """Hold an ``expand`` list to the seeds' clock, when they keep one (:func:`seed_clock`).

    Listed accounts whose activity is known and falls almost entirely outside the seeds' shared hours
    (fit below ``off_clock``) leave the list; accounts further down the order (reached by the walk or
    sharing evidence) whose fit is at least ``share`` join it, after the kept ones, in their order.
    Accounts without activity (unclustered) are never judged by the clock.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    activity : DataFrame or None
        ``activity.parquet`` (``account_id, day, hour, events``).
    seeds : list of str
        The seed ids.
    share : float
        :data:`CLOCK_SHARE`.
    off_clock : float
        :data:`OFF_CLOCK`.
    max_cover : float
        :data:`MAX_CLOCK_COVER`.

    Returns
    -------
    tuple of (DataFrame, int, DataFrame)
        ``ordered`` rearranged (the kept prefix, the accounts joining, then the rest), the new prefix
        length, and ``account_id, fit`` of the listed non-seed accounts that fit the clock (fit at
        least ``share``; empty when the seeds keep no clock: then ``ordered`` and ``keep`` are
        returned unchanged).

    Examples
    --------
    Seeds s1, s2 fire at 03:00 on two days; ``a`` (listed) never does, ``b`` (not listed) always does.

    >>> import datetime as dt
    >>> days = (dt.date(2025, 1, 1), dt.date(2025, 1, 2))
    >>> rows = [(s, d, 3, 4) for s in ("s1", "s2", "b") for d in days] + [("a", d, 15, 4) for d in days]
    >>> act = pl.DataFrame(rows, schema=["account_id", "day", "hour", "events"], orient="row")
    >>> ordered = pl.DataFrame({"account_id": ["s1", "s2", "a", "b"]})
    >>> out, keep, joined = apply_clock(ordered, 3, act, ["s1", "s2"], max_cover=1.0)
    >>> out["account_id"].to_list()[:keep], joined["account_id"].to_list()
    (['s1', 's2', 'b'], ['b'])
    """
    none = pl.DataFrame(schema={"account_id": pl.String, "fit": pl.Float64})
    shared = seed_clock(activity, seeds, share, max_cover)
    if shared is None or activity is None:
        return ordered, keep, none
    fit = clock_fit(activity, shared)
    is_seed = pl.col("account_id").is_in(pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode())
    marked = ordered.with_row_index("_pos").join(fit, on="account_id", how="left").sort("_pos")
    head, rest = marked.head(keep), marked.slice(keep)
    stay = is_seed | pl.col("fit").is_null() | (pl.col("fit") >= off_clock)
    kept, dropped = head.filter(stay), head.filter(~stay)
    joining = rest.filter(pl.col("fit") >= share)
    others = rest.join(joining.select("account_id"), on="account_id", how="anti")
    out = pl.concat([kept, joining, dropped, others]).drop("_pos", "fit")
    on_clock = pl.concat([kept, joining]).filter(~is_seed & (pl.col("fit") >= share))
    return out, kept.height + joining.height, on_clock.select("account_id", pl.col("fit").cast(pl.Float64))


def clock_reasons(reasons: pl.DataFrame, on_clock: pl.DataFrame, label: str = "active in the seeds' hours",
                  ) -> pl.DataFrame:
    """``account_id, why`` with "active in the seeds' hours (N% of its events)" for the accounts of ``on_clock``.

    ``reasons`` is ``account_id, why`` (:func:`graphlink.stages.expand.tie_reasons`), ``on_clock``
    :func:`apply_clock`'s ``account_id, fit``; the clock is appended to a reason, or is the reason.
    ``label`` names the clock (the minute clock of :mod:`graphlink.stages.seed_minutes` has its own).

    Examples
    --------
    >>> reasons = pl.DataFrame({"account_id": ["a", "b"], "why": ["shares IP address 1.2.3.4 (2 accounts) with seed s", None]})
    >>> clock_reasons(reasons, pl.DataFrame({"account_id": ["b"], "fit": [0.916]})).sort("account_id")["why"].to_list()
    ['shares IP address 1.2.3.4 (2 accounts) with seed s', "active in the seeds' hours (92% of its events)"]
    """
    clock = pl.concat_str(pl.lit(f"{label} ("), (pl.col("fit") * 100).round(0).cast(pl.Int64).cast(pl.String),
                          pl.lit("% of its events)"))
    return (reasons.join(on_clock, on="account_id", how="full", coalesce=True)
            .with_columns(pl.when(pl.col("fit").is_null()).then(pl.col("why"))
                          .when(pl.col("why").is_null()).then(clock)
                          .otherwise(pl.concat_str(pl.col("why"), pl.lit("; "), clock)).alias("why"))
            .select("account_id", "why"))
