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

import numpy as np
import polars as pl

from graphlink.stages.cotiming import MAX_PHASE_SHARE
from graphlink.stages.encode import sort_keys

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
    account, key = minutes["account_idx"].to_numpy(), minutes["key"].to_numpy()
    if account_stats is not None and account.size:
        # A mask gather, not a semi-join (1.5 s on the campaign preset's 16M clustered minutes): order is irrelevant below.
        tested = _mostly_scripted(account_stats)["account_idx"].to_numpy()
        mask = np.zeros(int(max(account.max(), tested.max(initial=0))) + 1, dtype=bool)
        mask[tested] = True
        keep = mask[account]
        account, key = account[keep], key[keep]
    if not account.size:
        return pl.DataFrame(schema=schema)
    half = PHASE_WINDOW // 2
    # Runs: an active minute less than PHASE_WINDOW after the account's previous one continues its run
    # (a repeated minute too). One sorted integer, the account above the minute (minutes since the
    # epoch stay below 2**32 for eight thousand years), so the next account's first minute is always a
    # new run. Each run has one first and one last minute, in order. In numpy on dense arrays: the
    # former polars group-bys over 18 shifted copies of every run took ~9 s on the campaign preset.
    both = account.astype(np.int64) * 2**32 + key.astype(np.int64)
    if both.size > 1 and not bool((both[1:] >= both[:-1]).all()):  # detect's minutes come sorted
        both = sort_keys(pl.Series(both)).to_numpy()
    new_run = np.empty(both.size, dtype=bool)
    new_run[0] = True
    np.greater_equal(np.diff(both), PHASE_WINDOW, out=new_run[1:])
    last = np.append(new_run[1:], True)
    run_account, start, end = both[new_run] >> 32, both[new_run] & (2**32 - 1), (both[last] & (2**32 - 1)) + 1
    # Dense per account (in account order), per minute past the hour a run starts and how many periods
    # it outlasts (a run counts for the periods it is shorter than, PERIODS ascending).
    firsts = np.append(True, run_account[1:] != run_account[:-1])
    local = np.cumsum(firsts) - 1
    n_accounts, width = int(local[-1]) + 1, len(PERIODS) + 1
    outlasts = np.zeros(start.size, dtype=np.int64)
    for period in PERIODS:
        outlasts += (end - start) >= period
    counts = np.bincount((local * 60 + start % 60) * width + outlasts, minlength=n_accounts * 60 * width)
    counts = counts.reshape(n_accounts, 60, width)
    shorter = counts[:, :, 0].copy()  # at each rank: the runs shorter than PERIODS[rank], per start minute
    total = np.bincount(local, minlength=n_accounts).astype(np.float64)[:, None]
    fits = np.zeros(n_accounts, dtype=bool)
    for rank, period in enumerate(PERIODS):
        if rank:
            shorter += counts[:, :, rank]
        # Runs starting at each phase of the period's cycle; a window centred on a phase holds those within
        # ``half`` minutes of it (PHASE_WINDOW or more apart: at most one per occurrence of the window).
        phases = shorter.reshape(n_accounts, 60 // period, period).sum(axis=1)
        window = sum(np.roll(phases, d, axis=1) for d in range(-half, half + 1))
        chance = PHASE_WINDOW / period
        fits |= ((window >= SCHEDULE_RUNS * (60 // period))
                 & ((window / total - chance) / (1 - chance) > MAX_PHASE_SHARE)).any(axis=1)
    return pl.DataFrame({"account_idx": run_account[firsts], "scheduled": fits}).cast(schema)


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
    unknown. When ``schedules`` has a ``sleepless`` column (``[scoring] sleepless_members``:
    :func:`graphlink.stages.sleepless.sleepless_accounts`, null taken as false) a member never sleeping
    counts too, mostly scripted or not and from an office or not -- not on a schedule, on a card paying
    for :data:`SCRIPTED_PER_CARD` or more such members: staff at an office sleep, a script does not.
    """
    if schedules is None:
        return pl.lit(None, pl.UInt32).alias("scripted_members")
    mostly = (pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64)) >= SCRIPTED_MAJORITY
    load = mostly & ~pl.col("office").fill_null(False)
    load = (load | pl.col("sleepless").fill_null(False)) if "sleepless" in schedules.columns else load
    ok = (pl.col(sent) > 0) & load & ~pl.col("scheduled").fill_null(False)
    # Per card (within the cluster aggregated): only cards paying for SCRIPTED_PER_CARD such members.
    many = pl.col("card").is_not_null() & (ok.cast(pl.UInt32).sum().over("card") >= SCRIPTED_PER_CARD)
    return (ok & many).sum().cast(pl.UInt32).alias("scripted_members")
