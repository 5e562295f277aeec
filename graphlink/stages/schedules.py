"""Accounts on an hourly schedule: a job that fires at the same minute past the hour.

A company's automation runs from a scheduler: its service accounts send at
:00 (or :05, :30...) every hour or every day, one run after another. An
operator spreading a script over many accounts to stay under per-account
limits sends whenever an account has budget left -- all through the hour, or
in bursts that start anywhere. Scoring reads a scripted account on such a
schedule as a company's job, not as load spread over a fleet
(:mod:`graphlink.stages.components`, ``scripted_accounts``).

An account is on a schedule when more than half its active minutes
(:data:`~graphlink.stages.cotiming.MAX_PHASE_SHARE`, the share co-timing allows
one phase) fall within one window of :data:`PHASE_WINDOW` minutes past the hour,
in at least :data:`SCHEDULE_RUNS` different clock hours. Active minutes, not
requests: a run of three calls is one run. The window is circular (a job at
:59 whose calls spill into :00 is one phase). A burst (many active minutes in
one hour) is no schedule: it is one run.

Output schema (:func:`scheduled_accounts`): ``account_idx`` UInt32,
``scheduled`` Boolean, one row per account with an active minute.

References
----------
Q. Cao, X. Yang, J. Yu, C. Palow, "Uncovering Large Groups of Active Malicious
Accounts in Online Social Networks", CCS 2014 (SynchroTrap: co-activity a
common schedule explains is weak evidence).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.cotiming import MAX_PHASE_SHARE

__all__ = ["PHASE_WINDOW", "SCHEDULE_RUNS", "SCRIPTED_MAJORITY", "scheduled_accounts", "unscheduled_scripted"]

#: Minutes past the hour one phase spans: a job due at :00 starts within the minute or the next
#: (a scheduler's delay, a queue), and a minute boundary can fall inside a run.
PHASE_WINDOW = 3
#: Fewest different clock hours with activity in the phase: three runs of a job, not one burst, nor
#: the two requests a person happens to send at the same minute past two hours.
SCHEDULE_RUNS = 3


def scheduled_accounts(minutes: pl.DataFrame) -> pl.DataFrame:
    """Which accounts run on an hourly schedule.

    Parameters
    ----------
    minutes : DataFrame
        ``account_idx, key`` (and more): one row per account and active UTC minute, ``key`` in
        minutes since the epoch (:func:`graphlink.stages.drilldown.account_minutes`).

    Returns
    -------
    DataFrame
        ``account_idx`` UInt32, ``scheduled`` Boolean (schema in the module docstring).

    Examples
    --------
    >>> cron = [h * 60 + 5 for h in range(10)]              # :05 every hour
    >>> burst = [600 + m for m in range(30)]                # half an hour of requests
    >>> spread = [h * 60 + h * 7 % 60 for h in range(10)]   # a different minute each hour
    >>> m = pl.DataFrame({"account_idx": [0] * 10 + [1] * 30 + [2] * 10, "key": cron + burst + spread},
    ...                  schema={"account_idx": pl.UInt32, "key": pl.UInt64})
    >>> scheduled_accounts(m).sort("account_idx")["scheduled"].to_list()
    [True, False, False]
    """
    schema = {"account_idx": pl.UInt32, "scheduled": pl.Boolean}
    if minutes.is_empty():
        return pl.DataFrame(schema=schema)
    half = PHASE_WINDOW // 2
    active = minutes.lazy().select("account_idx", (pl.col("key") % 60).cast(pl.Int32).alias("phase"),
                                   (pl.col("key") // 60).alias("hour"))
    # Each active minute counts towards the windows centred within ``half`` minutes of it.
    windows = pl.concat([active.with_columns(((pl.col("phase") + d) % 60).alias("centre"))
                         for d in range(-half, half + 1)])
    best = (windows.group_by("account_idx", "centre")
            .agg(pl.len().alias("in_window"), pl.col("hour").n_unique().alias("runs"))
            .filter(pl.col("runs") >= SCHEDULE_RUNS)
            .group_by("account_idx").agg(pl.col("in_window").max()))
    total = active.group_by("account_idx").agg(pl.len().alias("active"))
    return (total.join(best, on="account_idx", how="left")
            .select(pl.col("account_idx").cast(pl.UInt32),
                    (pl.col("in_window").fill_null(0) > MAX_PHASE_SHARE * pl.col("active")).alias("scheduled"))
            .sort("account_idx").collect())


#: A member is scripted when at least this share of its sampled requests send the cluster's own
#: template: a fleet camouflages at most a minority of each account's requests (more, and the
#: account stops paying for itself as an extraction worker).
SCRIPTED_MAJORITY = 0.5


def unscheduled_scripted(sent: str, scripted: str, schedules: pl.DataFrame | None) -> pl.Expr:
    """Aggregation: members with sampled requests, mostly scripted, not on an hourly schedule.

    ``sent`` and ``scripted`` name a member's sampled and scripted request counts; ``own`` (a
    member holds a passage of its cluster's own, null taken as true), ``scheduled`` (from
    :func:`scheduled_accounts`, null taken as false) and ``office`` (its card's holders work from
    an office, :func:`graphlink.stages.card_pools.office_members`, null taken as false) are columns
    of the frame aggregated. Without
    ``schedules`` (no timestamps) the count is null: whether the script runs from a scheduler is
    unknown.
    """
    if schedules is None:
        return pl.lit(None, pl.UInt32).alias("scripted_members")
    mostly = (pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64)) >= SCRIPTED_MAJORITY
    return ((mostly & ~pl.col("scheduled").fill_null(False) & ~pl.col("office").fill_null(False))
            .filter(pl.col(sent) > 0).sum()
            .cast(pl.UInt32).alias("scripted_members"))
