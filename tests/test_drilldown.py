"""The drill-down outputs of detect: memberships.parquet and activity.parquet."""

from __future__ import annotations

import polars as pl

from graphlink.contract import ACTIVITY_SCHEMA, MEMBERSHIPS_SCHEMA
from graphlink.pipeline import run_detect
from tests._report_worlds import make_events, world_session  # noqa: F401


def test_memberships_cover_clustered_accounts_only(world_session):
    accounts = pl.read_parquet(world_session / "accounts.parquet")
    memberships = pl.read_parquet(world_session / "memberships.parquet")
    assert memberships.schema == MEMBERSHIPS_SCHEMA
    clustered = set(accounts.drop_nulls("cluster_id")["account_id"].to_list())
    assert set(memberships["account_id"].to_list()) == clustered
    # Only values two members of the cluster share: a member's own IP (shared with nobody) is not
    # there, shared values are, linking or not (the weak user agent has weight 0 here).
    own = memberships.filter((pl.col("kind") == "ip") & (pl.col("account_id") == "ringA-00"))
    assert own.height == 0
    per_value = (memberships.join(accounts.select("account_id", "cluster_id"), on="account_id")
                 .group_by("cluster_id", "kind", "value").len())
    assert per_value["len"].min() >= 2
    # Every evidence row is backed by as many member edges as accounts sharing it.
    evidence = pl.read_parquet(world_session / "evidence.parquet")
    counted = (memberships.join(accounts.select("account_id", "cluster_id"), on="account_id")
               .group_by("cluster_id", "kind", "value").agg(pl.len().alias("n")))
    joined = evidence.join(counted, on=["cluster_id", "kind", "value"], how="left")
    assert (joined["n"] == joined["accounts_sharing"]).all()


def test_activity_counts_every_event_of_clustered_accounts(world_session):
    accounts = pl.read_parquet(world_session / "accounts.parquet").drop_nulls("cluster_id")
    activity = pl.read_parquet(world_session / "activity.parquet")
    assert activity.schema == ACTIVITY_SCHEMA
    per_account = activity.group_by("account_id", "cluster_id").agg(pl.col("events").sum())
    joined = accounts.join(per_account, on=["account_id", "cluster_id"], suffix="_activity")
    assert joined.height == accounts.height
    assert (joined["events"] == joined["events_activity"]).all()
    assert activity["hour"].is_between(0, 23).all()
    ring_a = activity.filter(pl.col("account_id") == "ringA-00")
    assert set(ring_a["hour"].to_list()) <= {2, 3, 4}


def test_without_timestamps_activity_is_empty():
    result = run_detect(make_events().drop("timestamp"))
    assert result.activity.is_empty() and result.activity.schema == ACTIVITY_SCHEMA
    assert result.member_affiliations.height > 0
    assert "drilldown" in result.run["timings"]
