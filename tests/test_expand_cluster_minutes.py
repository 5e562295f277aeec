"""expand: inside the seeds' own Leiden cluster, the seeds' minutes tell the cell from its block-mates (issue 15).

A block of an operator's cells Leiden merged on its proxy pool: the seeds fire in bursts of their own; a member
of their cell fires in a quarter of them (under :data:`~graphlink.stages.seed_minutes.ON_MINUTES`, over
:data:`~graphlink.stages.seed_minutes.CLUSTER_ON_MINUTES`), a sibling cell of the block on bursts of its own,
and an account of another cluster exactly like the member. Hand-built ``minutes`` (UTC minutes with events).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
SEEDS = ["s1", "s2", "s3"]
#: 40 bursts, one every 6 hours and 7 minutes, over 10 days: the seeds' minutes (with the 1-minute tolerance)
#: are 120 of the run's 14,400.
BURSTS = [T0 + dt.timedelta(minutes=367 * i) for i in range(40)]


def minute_rows(account: str, cluster: int, in_bursts: int, elsewhere: int, offset: int = 180) -> list[tuple]:
    """``in_bursts`` requests in the seeds' bursts (every other burst, from the first), ``elsewhere`` requests
    ``offset`` minutes after other bursts (never within a minute of the seeds')."""
    rows = [(account, cluster, BURSTS[(2 * i) % 40], 1) for i in range(in_bursts)]
    rows += [(account, cluster, BURSTS[i % 40] + dt.timedelta(minutes=offset + i // 40), 1) for i in range(elsewhere)]
    return rows


def world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``ordered, minutes, accounts``: seeds and ``m`` (member, 5 of 20 requests in the seeds' bursts), ``y``
    (sibling, its own bursts) in cluster 1; ``o`` (like ``m``) in cluster 2; the list is the seeds alone."""
    rows = [row for s in SEEDS for row in minute_rows(s, 1, 30, 0)]
    rows += minute_rows("m", 1, 5, 15) + minute_rows("y", 1, 0, 20, offset=90) + minute_rows("o", 2, 5, 15)
    minutes = pl.DataFrame(rows, schema={"account_id": pl.String, "cluster_id": pl.Int64,
                                         "minute": pl.Datetime("us", "UTC"), "events": pl.UInt32}, orient="row")
    accounts = pl.DataFrame({"account_id": SEEDS + ["m", "y", "o"], "cluster_id": [1, 1, 1, 1, 1, 2]})
    ordered = pl.DataFrame({"account_id": SEEDS + ["y", "m", "o"]})
    return ordered, minutes, accounts


def test_a_member_of_the_seeds_cluster_on_their_minutes_joins_at_the_lower_share():
    from graphlink.stages.seed_minutes import apply_minute_clock

    ordered, minutes, accounts = world()
    out, keep, joined = apply_minute_clock(ordered, 3, minutes, SEEDS, accounts=accounts)
    assert out["account_id"].to_list()[:keep] == SEEDS + ["m"]
    assert joined["account_id"].to_list() == ["m"] and abs(joined["fit"][0] - 0.25) < 1e-9


def test_outside_the_seeds_cluster_or_without_accounts_the_share_stays_on_minutes():
    """``o`` fires like ``m`` but in another cluster: not joined; without ``accounts`` neither joins."""
    from graphlink.stages.seed_minutes import apply_minute_clock

    ordered, minutes, accounts = world()
    assert apply_minute_clock(ordered, 3, minutes, SEEDS)[1] == 3
    seeds_apart = accounts.with_columns(pl.when(pl.col("account_id") == "s3").then(None)
                                        .otherwise(pl.col("cluster_id")).alias("cluster_id"))
    assert apply_minute_clock(ordered, 3, minutes, SEEDS, accounts=seeds_apart)[1] == 3  # no common cluster
