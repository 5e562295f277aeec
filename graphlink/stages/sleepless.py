"""Accounts that never sleep: a person's day has a quiet stretch, a script's has none.

Load spread over accounts (``scripted_accounts`` in :mod:`graphlink.stages.scoring`) asks each member
to send mostly its cluster's own template. An operator that misspells, re-cases or runs together the
words of its template (or camouflages a good share of each account's traffic) keeps most members under
that bar, so a fleet of 56 accounts on one card, sending its extraction script at 4x typical volume from
one datacenter address, showed no evasion at all and stayed under the flag (issue 17, class 6: dev
scenario schedules 1049). What its accounts cannot hide is *when* they send: a script sends whenever the
account has budget left, all day and all night; a person sleeps, and a company's automation that runs
all day runs from a scheduler (:mod:`graphlink.stages.schedules` tells those apart).

An account is *sleepless* when its quietest :data:`NIGHT_HOURS` consecutive hours of the UTC day (the
day wrapping at midnight, so no time zone is assumed) hold at least :data:`SLEEPLESS_SHARE` of its
requests, judged only from :data:`SLEEPLESS_EVENTS` timed requests on. With the ``[scoring]
sleepless_members`` switch a sleepless member on no schedule counts as load spread beside the mostly
scripted ones -- still only on a card paying for :data:`~graphlink.stages.schedules.SCRIPTED_PER_CARD`
or more such members, and still times the cluster's payment reuse: one payer running accounts around
the clock. Neither half is evidence alone: hosting customers' bots run all night on their own cards,
a reseller's sub-accounts share a card but are people, each asleep in their own time zone.

Output schema (:func:`sleepless_accounts`): ``account_id`` String, ``sleepless`` Boolean, one row per
account with a timed request.
"""

from __future__ import annotations

import polars as pl

__all__ = ["NIGHT_HOURS", "SLEEPLESS_EVENTS", "SLEEPLESS_SHARE", "sleepless_accounts"]

#: Hours of a person's night: eight consecutive hours of the day in which people rest (sleep, and the
#: hour either side of it), wherever they live; the quietest such stretch of an account's day is read as
#: its night.
NIGHT_HOURS = 8
#: An account is sleepless when its night holds at least this share of its requests. Sending evenly puts
#: a third there (8 of 24 hours); a person's night holds a few percent (dev: the 90th percentile of
#: ordinary accounts with 24+ requests 0.04-0.10 on scenario and independent worlds). 0.15 sits between,
#: and still admits a script that camouflages half of each account's traffic as daytime use (half of a
#: third, less the quietest window's own dip).
SLEEPLESS_SHARE = 0.15
#: Fewest timed requests to judge an account's night: one an hour on average. Below that, a handful of
#: requests falls into a night by chance as often as not.
SLEEPLESS_EVENTS = 24


def sleepless_accounts(hour_counts: pl.DataFrame, on: str = "account_id") -> pl.DataFrame:
    """Which accounts never sleep (see the module docstring).

    Parameters
    ----------
    hour_counts : DataFrame
        ``account_id, hour, n``: requests per UTC hour of the day
        (:func:`graphlink.stages.cluster_features.account_hours`).
    on : str
        The account column (``account_idx`` for the pipeline's per-account hours).

    Returns
    -------
    DataFrame
        ``account_id, sleepless`` (schema in the module docstring; ``on`` names the first column).

    Examples
    --------
    >>> day = pl.DataFrame({"account_id": ["bot"] * 24 + ["person"] * 12, "hour": list(range(24)) + list(range(8, 20)),
    ...                     "n": [2] * 24 + [4] * 12}, schema_overrides={"hour": pl.Int8})
    >>> sleepless_accounts(day).sort("account_id").rows()
    [('bot', True), ('person', False)]
    """
    counts = hour_counts.select(pl.col(on).alias("account"), pl.col("hour").cast(pl.Int32), pl.col("n").cast(pl.Int64))
    totals = counts.group_by("account").agg(pl.col("n").sum().alias("total"))
    # Each hour's requests fall in the NIGHT_HOURS windows that start at it or up to NIGHT_HOURS - 1 hours before;
    # a window no request falls in is absent, so an account with fewer than 24 windows has an empty night.
    offsets = pl.DataFrame({"k": list(range(NIGHT_HOURS))}, schema={"k": pl.Int32})
    nights = (counts.join(offsets, how="cross")
              .with_columns(((pl.col("hour") - pl.col("k")) % 24).alias("start"))
              .group_by("account", "start").agg(pl.col("n").sum())
              .group_by("account").agg(pl.when(pl.len() < 24).then(0).otherwise(pl.col("n").min()).alias("night")))
    return (totals.join(nights, on="account", how="left")
            .select(pl.col("account").alias(on), ((pl.col("total") >= SLEEPLESS_EVENTS)
                                   & (pl.col("night").fill_null(0) >= SLEEPLESS_SHARE * pl.col("total"))).alias("sleepless")))
