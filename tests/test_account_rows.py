"""Detect counts every account's minutes once (session 31): the tables cut from that count for any set of
accounts are the ones counted from those accounts' events, row for row and type for type -- the minutes
(template bursts, scoring, the drill-down), their hours and day, and their schedules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from graphlink.stages.account_rows import minutes_of, of_accounts
from graphlink.stages.cotiming import account_minutes, minute_counts
from graphlink.stages.drilldown import account_minutes as events_minutes
from graphlink.stages.drilldown import account_times, hours_from_minutes
from graphlink.stages.schedules import scheduled_accounts

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _events(seed: int, n_accounts: int = 80, n_events: int = 6000) -> pl.DataFrame:
    """``account_idx, timestamp``: hourly jobs, bursts and noise, some timestamps missing."""
    rng = np.random.default_rng(seed)
    account = rng.integers(0, n_accounts, n_events)
    hourly = (rng.integers(0, 72, n_events) * 60 + account % 7) % (3 * 1440)
    minute = np.where(account % 3 == 0, hourly, rng.integers(0, 3 * 1440, n_events))
    stamps = [T0 + timedelta(minutes=int(m), seconds=int(s)) for m, s in zip(minute, rng.integers(0, 60, n_events))]
    return pl.DataFrame({"account_idx": account.astype(np.uint32), "timestamp": stamps},
                        schema={"account_idx": pl.UInt32, "timestamp": pl.Datetime("us", "UTC")}).with_columns(
        pl.when(pl.int_range(pl.len()) % 89 == 3).then(None).otherwise(pl.col("timestamp")).alias("timestamp"))


def _stats(n_accounts: int = 80) -> pl.DataFrame:
    """Per-account prompt counts: every other account mostly scripted (the accounts schedules are tested on)."""
    idx = np.arange(n_accounts, dtype=np.uint32)
    return pl.DataFrame({"account_idx": idx, "requests_sampled": np.full(n_accounts, 10, dtype=np.uint32),
                         "requests_scripted": np.where(idx % 2 == 0, 9, 1).astype(np.uint32)})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cut_tables_equal_the_counted_ones(seed):
    events = _events(seed)
    counts = minute_counts(events)
    assert account_minutes(events).equals(counts.select("account_idx", "minute"))
    every = account_times(counts, _stats())
    assert 0 < every["schedules"]["scheduled"].sum() < every["schedules"].height  # some accounts on a schedule
    rng = np.random.default_rng(seed)
    for share in (0.0, 0.3, 1.0):
        wanted = pl.DataFrame({"account_idx": np.flatnonzero(rng.random(90) < share).astype(np.uint32)},
                              schema={"account_idx": pl.UInt32})
        counted = events_minutes(events, wanted)
        cut = minutes_of(counts, wanted)
        assert cut.schema == counted.schema and cut.equals(counted)
        assert of_accounts(every["hours"], wanted).equals(hours_from_minutes(counted))
        if wanted.height:
            assert of_accounts(every["schedules"], wanted).equals(scheduled_accounts(counted, _stats()))


def test_no_timestamps():
    wanted = pl.DataFrame({"account_idx": [1, 2]}, schema={"account_idx": pl.UInt32})
    assert minutes_of(None, wanted).equals(events_minutes(pl.DataFrame({"account_idx": [1]}, schema={"account_idx": pl.UInt32}), wanted))
    every = account_times(None, None)
    assert every["schedules"] is None and every["hours"].is_empty()
    assert of_accounts(None, wanted) is None
