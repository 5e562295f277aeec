"""Accounts on a schedule: a job that fires at the same minutes past the hour (hourly or every p minutes).

A company's automation runs from a scheduler: its service accounts send at
:00 (or :05, :30...) every hour or every day, one run after another. An
operator spreading a script over many accounts to stay under per-account
limits sends whenever an account has budget left -- all through the hour, or
in bursts that start anywhere. Scoring reads a scripted account on such a
schedule as a company's job, not as load spread over a fleet
(:mod:`graphlink.stages.components`, ``scripted_accounts``).

An account is on a schedule when its *runs* recur at fixed minutes past the hour.
A run is a stretch of active minutes each less than :data:`PHASE_WINDOW` minutes
after the one before (a job that takes eight minutes is one run, not eight
active minutes of which a window holds three); its phase is the minute it
starts. A scheduler fires a job every ``p`` minutes, ``p`` dividing the hour
(hourly, or ``*/30``, ``*/20``, ``*/15``, ``*/12``, ``*/10``, or ``:00`` in some
hours and ``:30`` in others): the job's runs start within one window of
:data:`PHASE_WINDOW` minutes of the ``p``-minute cycle. The account is
scheduled when for some period ``p`` (:data:`PERIODS`) and some phase, the runs
shorter than ``p`` that start in the phase's windows (the window repeated every
``p`` minutes, a share ``c = PHASE_WINDOW / p`` of the hour)

* are more than half (:data:`~graphlink.stages.cotiming.MAX_PHASE_SHARE`) of
  the runs that uniform timing would not put there: a share ``s`` of the runs with
  ``(s - c) / (1 - c) > 1/2`` (``s > 0.525`` hourly; a ``*/10`` lattice holds 30 % of
  random runs by chance, so it needs ``s > 0.65``),
* number at least :data:`SCHEDULE_RUNS` per window of the hour (three runs of
  each firing of the job, as an hourly job needs three runs), and so fall in at
  least :data:`SCHEDULE_RUNS` different occurrences of the window (run starts are
  :data:`PHASE_WINDOW` or more minutes apart: one per occurrence) -- three runs of
  a job, not one burst.

Periods whose windows would cover half the hour or more (``*/5``) cannot be
told from sending all through the hour and are not tested. A run longer than
the period is not one firing of the job (an account working non-stop from 9:00
is no job at :00). A burst (many active minutes in one hour) is no schedule:
it is one run. Known limit: a scheduler whose delay spreads runs over more
than the window (a queue starting jobs anywhere from :00 to :07) reads as
unscheduled (``tests/test_break_session23.py``).

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

__all__ = ["PERIODS", "PHASE_WINDOW", "SCHEDULE_RUNS", "SCRIPTED_MAJORITY", "SCRIPTED_PER_CARD", "request_columns", "scheduled_accounts",
           "unscheduled_scripted"]

#: Minutes past the hour one phase spans: a job due at :00 starts within the minute or the next
#: (a scheduler's delay, a queue), and a minute boundary can fall inside a run.
PHASE_WINDOW = 3
#: Fewest runs in the phase (per window of the hour): three runs of a job, not one burst, nor the two
#: requests a person happens to send at the same minute past two hours.
SCHEDULE_RUNS = 3
#: Periods (minutes) a scheduler fires at: the divisors of the hour whose windows cover less than
#: half of it (``*/5`` would cover 60 %: no majority beyond chance could show).
PERIODS = tuple(p for p in range(1, 61) if 60 % p == 0 and PHASE_WINDOW * (60 // p) < 30)  # ascending


def scheduled_accounts(minutes: pl.DataFrame, account_stats: pl.DataFrame | None = None) -> pl.DataFrame:
    """Which accounts run on a schedule (a job at fixed minutes of the hour).

    Parameters
    ----------
    minutes : DataFrame
        ``account_idx, key`` (and more): one row per account and active UTC minute, ``key`` in
        minutes since the epoch (:func:`graphlink.stages.drilldown.account_minutes`).
    account_stats : DataFrame, optional
        Per-account prompt counts (``account_idx`` and ``requests_sampled, requests_scripted``
        or ``prompts_sampled, prompts_scripted``). When given, only accounts whose sampled
        requests are at least :data:`SCRIPTED_MAJORITY` scripted are tested -- the only ones
        whose schedule :func:`unscheduled_scripted` reads (its share is this one times at most
        1), so scoring is the same; the rest of the accounts' minutes are skipped (on the 224k
        dev world most of the clustered accounts' 4.3M active minutes).

    Returns
    -------
    DataFrame
        ``account_idx`` UInt32, ``scheduled`` Boolean (schema in the module docstring), one row
        per tested account with an active minute.

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
    if account_stats is not None:
        minutes = minutes.join(_mostly_scripted(account_stats), on="account_idx", how="semi")
    if minutes.is_empty():
        return pl.DataFrame(schema=schema)
    half = PHASE_WINDOW // 2
    # Runs: an active minute less than PHASE_WINDOW after the account's previous one continues its run
    # (a repeated minute too). One sort of one integer, the account above the minute (minutes since the
    # epoch stay below 2**32 for eight thousand years), so the next account's first minute is always a
    # new run. Each run has one first and one last minute, in order: pair them.
    both = (pl.col("account_idx").cast(pl.Int64) * 2**32 + pl.col("key").cast(pl.Int64)).alias("both")
    active = minutes.lazy().select(both).sort("both")
    new_run = (pl.col("both").diff().fill_null(PHASE_WINDOW) >= PHASE_WINDOW)
    active = active.with_columns(new_run.alias("first"), new_run.shift(-1).fill_null(True).alias("last"))
    runs = pl.concat([active.filter("first").select((pl.col("both") // 2**32).alias("account_idx"),
                                                    (pl.col("both") % 2**32).alias("start")),
                      active.filter("last").select((pl.col("both") % 2**32 + 1).alias("end"))], how="horizontal")
    # Runs by account, the minute past the hour they start and how many periods they outlast (a run
    # counts for the periods it is shorter than), one integer key; then by their start's phase in each
    # period's cycle (``slot``: the period's offset among all periods' phases, plus the phase); each
    # counts towards the windows centred within ``half`` minutes of it. Run starts are PHASE_WINDOW
    # or more apart, so a window holds at most one per occurrence: SCHEDULE_RUNS per window of the
    # hour are SCHEDULE_RUNS or more runs of the job, not one burst.
    outlasts = pl.sum_horizontal([(pl.col("end") - pl.col("start") >= period).cast(pl.Int64) for period in PERIODS])
    bins = (runs.select(((pl.col("account_idx") * 60 + pl.col("start") % 60) * (len(PERIODS) + 1)
                         + outlasts).alias("bin"))
            .group_by("bin").agg(pl.len().alias("n"))
            .select((pl.col("bin") // (len(PERIODS) + 1) // 60).alias("account_idx"),
                    (pl.col("bin") // (len(PERIODS) + 1) % 60).alias("minute"),
                    (pl.col("bin") % (len(PERIODS) + 1)).alias("outlasts"), "n").collect().lazy())
    slots = sum(PERIODS)
    offsets = [sum(PERIODS[:rank]) for rank in range(len(PERIODS))]
    windows = pl.concat([
        bins.filter(pl.col("outlasts") <= rank).select(
            (pl.col("account_idx") * slots + offsets[rank] + (pl.col("minute") + d) % period).alias("slot"), "n")
        for rank, period in enumerate(PERIODS) for d in range(-half, half + 1)])
    period_of = pl.Series([p for p in PERIODS for _ in range(p)], dtype=pl.Int64)
    windows = (windows.group_by("slot").agg(pl.col("n").sum().alias("in_window"))
               .select((pl.col("slot") // slots).alias("account_idx"),
                       (pl.col("slot") % slots).alias("within"), "in_window"))
    windows = windows.join(pl.LazyFrame({"within": pl.int_range(0, slots, eager=True).cast(pl.Int64),
                                         "period": period_of}), on="within")
    total = runs.group_by("account_idx").agg(pl.len().alias("runs"))
    chance = PHASE_WINDOW / pl.col("period")
    fits = (windows.filter(pl.col("in_window") >= SCHEDULE_RUNS * (60 // pl.col("period")))
            .join(total, on="account_idx")
            .filter((pl.col("in_window") / pl.col("runs") - chance) / (1 - chance) > MAX_PHASE_SHARE)
            .select("account_idx").unique().with_columns(pl.lit(True).alias("fits")))
    return (total.join(fits, on="account_idx", how="left")
            .select(pl.col("account_idx").cast(pl.UInt32), pl.col("fits").fill_null(False).alias("scheduled"))
            .sort("account_idx").collect())


#: A member is scripted when at least this share of its sampled requests send the cluster's own
#: template: a fleet camouflages at most a minority of each account's requests (more, and the
#: account stops paying for itself as an extraction worker).
SCRIPTED_MAJORITY = 0.5
#: Fewest scripted members one card pays for before they count as load spread: a company runs a job
#: from an account, or a few event-driven workers (a hosting customer's bots, a firm's queue
#: workers), on its card; spreading a script to slip under per-account limits takes many accounts.
#: Five, the size below which no cluster is flagged (``ScoringConfig.min_flag_size``: a ring worth
#: banning has many accounts).
SCRIPTED_PER_CARD = 5


def request_columns(account_stats: pl.DataFrame) -> tuple[str, str]:
    """The sampled and scripted count columns of ``account_stats``: shares of requests (each sampled
    prompt weighs the events sending it) where counted, else shares of distinct prompts.

    Examples
    --------
    >>> request_columns(pl.DataFrame(schema=["account_idx", "prompts_sampled", "prompts_scripted"]))
    ('prompts_sampled', 'prompts_scripted')
    """
    if "requests_scripted" in account_stats.columns:
        return "requests_sampled", "requests_scripted"
    return "prompts_sampled", "prompts_scripted"


def _mostly_scripted(account_stats: pl.DataFrame) -> pl.DataFrame:
    """``account_idx`` (UInt32) of the accounts whose sampled requests are mostly scripted."""
    sent, scripted = request_columns(account_stats)
    return account_stats.filter((pl.col(sent) > 0) & (pl.col(scripted) / pl.col(sent) >= SCRIPTED_MAJORITY)).select(
        pl.col("account_idx").cast(pl.UInt32))


def unscheduled_scripted(sent: str, scripted: str, schedules: pl.DataFrame | None) -> pl.Expr:
    """Aggregation: members with sampled requests, mostly scripted, not on a schedule.

    ``sent`` and ``scripted`` name a member's sampled and scripted request counts; ``own`` (a
    member holds a passage of its cluster's own, null taken as true), ``scheduled`` (from
    :func:`scheduled_accounts`, null taken as false) and ``office`` (its card's holders work from
    an office, :func:`graphlink.stages.card_pools.office_members`, null taken as false) and ``card``
    (the member's card, from the same function) are columns of the frame aggregated; a member counts
    only when its card pays for :data:`SCRIPTED_PER_CARD` or more such members. Without
    ``schedules`` (no timestamps) the count is null: whether the script runs from a scheduler is
    unknown.
    """
    if schedules is None:
        return pl.lit(None, pl.UInt32).alias("scripted_members")
    mostly = (pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64)) >= SCRIPTED_MAJORITY
    ok = (pl.col(sent) > 0) & mostly & ~pl.col("scheduled").fill_null(False) & ~pl.col("office").fill_null(False)
    # Per card (within the cluster aggregated): only cards paying for SCRIPTED_PER_CARD such members.
    many = pl.col("card").is_not_null() & (ok.cast(pl.UInt32).sum().over("card") >= SCRIPTED_PER_CARD)
    return (ok & many).sum().cast(pl.UInt32).alias("scripted_members")
