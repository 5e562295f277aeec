"""The drill-down outputs of detect: memberships.parquet and activity.parquet."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphlink.contract import ACTIVITY_SCHEMA, MEMBERSHIPS_SCHEMA, MINUTES_SCHEMA, TEMPLATES_SCHEMA
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


def test_minutes_count_every_event_of_clustered_accounts_per_minute(world_session):
    activity = pl.read_parquet(world_session / "activity.parquet")
    minutes = pl.read_parquet(world_session / "minutes.parquet")
    assert minutes.schema == MINUTES_SCHEMA and minutes.height > 0
    assert minutes.select(pl.col("minute").dt.second().max().alias("s"),
                          pl.col("minute").dt.microsecond().max().alias("us")).row(0) == (0, 0)
    assert minutes.select("account_id", "minute").is_unique().all()
    assert minutes.equals(minutes.sort("account_id", "minute"))
    # Summed per hour and day, the minutes are activity.parquet, row for row.
    hours = (minutes.group_by("account_id", "cluster_id", pl.col("minute").dt.hour().cast(pl.Int8).alias("hour"),
                              pl.col("minute").dt.date().alias("day"))
             .agg(pl.col("events").sum()).sort("account_id", "day", "hour"))
    assert hours.select(activity.columns).equals(activity.sort("account_id", "day", "hour"))


def test_templates_list_clustered_accounts_prompt_shingles(world_session):
    from graphlink.stages.drilldown import TEMPLATES_PER_ACCOUNT

    accounts = pl.read_parquet(world_session / "accounts.parquet")
    templates = pl.read_parquet(world_session / "templates.parquet")
    memberships = pl.read_parquet(world_session / "memberships.parquet")
    assert templates.schema == TEMPLATES_SCHEMA and templates.height > 0
    assert templates.equals(templates.sort("account_id", "shingle"))
    # Clustered accounts only, with their cluster, each shingle once, at most the cap per account.
    joined = templates.join(accounts.select("account_id", pl.col("cluster_id").alias("c")), on="account_id")
    assert joined.height == templates.height and (joined["cluster_id"] == joined["c"]).all()
    assert templates.select("account_id", "shingle").is_unique().all()
    assert templates.group_by("account_id").len()["len"].max() <= TEMPLATES_PER_ACCOUNT
    # The prompt shingles the drill-down lists for a member are among its templates (under the cap).
    few = templates.group_by("account_id").len().filter(pl.col("len") < TEMPLATES_PER_ACCOUNT)
    drill = memberships.filter(pl.col("kind") == "prompt").join(few, on="account_id", how="semi")
    assert drill.height > 0
    assert drill.join(templates, left_on=["account_id", "value"], right_on=["account_id", "shingle"],
                      how="anti").is_empty()


def test_without_timestamps_activity_is_empty():
    result = run_detect(make_events().drop("timestamp"))
    assert result.activity.is_empty() and result.activity.schema == ACTIVITY_SCHEMA
    assert result.minutes.is_empty() and result.minutes.schema == MINUTES_SCHEMA
    assert result.member_affiliations.height > 0
    assert "drilldown" in result.run["timings"]


def test_linking_table_is_sorted_by_id_kind_value_whichever_way_accounts_are_numbered():
    """linking.parquet sorts on integer keys when account indices follow the ids' byte order
    (as the account index numbers them) and on the text otherwise: both give the same rows in
    the order (account_id, kind, value), unlinked values and prompt/timing kinds left out."""
    import numpy as np

    from graphlink.stages.drilldown import linking_values

    rng = np.random.default_rng(7)
    ids = sorted({f"acct-{rng.integers(0, 10**6):06d}" for _ in range(300)} | {"Z", "a", "é"})
    n, n_signals = len(ids), 60
    kinds = ["payment", "ip", "prompt", "timing", "ip_net", "user_agent"]
    signals = pl.DataFrame({
        "signal_idx": np.arange(n_signals, dtype=np.uint32),
        "kind": [kinds[i % len(kinds)] for i in range(n_signals)],
        # Texts repeat across kinds, never within one (a kind's values are distinct texts).
        "value": [f"v{(i // len(kinds)) * 7 % 10}" for i in range(n_signals)],
        "df": rng.integers(1, 9, n_signals).astype(np.uint32),
        "weight": np.where(rng.random(n_signals) < 0.2, 0.0, rng.random(n_signals)),
    })
    affiliations = pl.DataFrame({"account_idx": rng.integers(0, n, 2000).astype(np.uint32),
                                 "signal_idx": rng.integers(0, n_signals, 2000).astype(np.uint32)}).unique()
    index = pl.DataFrame({"account_idx": np.arange(n, dtype=np.uint32), "account_id": ids})
    partition = pl.DataFrame({"account_id": ids, "cluster_id": [i // 40 if i % 3 else None for i in range(n)]},
                             schema_overrides={"cluster_id": pl.Int64})
    fast = linking_values(affiliations, signals, index, partition)
    # The same accounts numbered out of id order take the text sort.
    shuffled = rng.permutation(n).astype(np.uint32)
    renumbered = affiliations.with_columns(pl.lit(pl.Series(shuffled)).gather(pl.col("account_idx")).alias("account_idx"))
    slow = linking_values(renumbered, signals, index.with_columns(pl.Series("account_idx", shuffled)), partition)
    assert fast.equals(slow)
    expected = (
        affiliations.join(signals.filter((pl.col("weight") > 0) & ~pl.col("kind").is_in(["prompt", "timing"])),
                          on="signal_idx")
        .join(index, on="account_idx").join(partition, on="account_id", how="left")
        .select(fast.columns).sort("account_id", "kind", "value", "df", "weight")
    )
    assert fast.height == expected.height > 100
    assert fast.select("account_id", "kind", "value").equals(expected.select("account_id", "kind", "value"))
    assert fast.sort(fast.columns).equals(expected.sort(expected.columns), null_equal=True)


@pytest.mark.parametrize("seed", range(4))
def test_member_templates_are_the_joins_sorted_and_cut(seed):
    import numpy as np

    from graphlink.stages.drilldown import member_templates

    rng = np.random.default_rng(seed)
    n_accounts, n_values = 200, 300
    rows = {(int(a), int(v)) for a, v in zip(rng.integers(0, n_accounts, 4000), rng.integers(0, n_values, 4000))}
    memberships = pl.DataFrame(sorted(rows, key=lambda r: (r[1], r[0])), orient="row",
                               schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    signals = pl.DataFrame({"signal_idx": np.arange(n_values, dtype=np.uint32),
                            "kind": rng.choice(["prompt", "ip", "payment"], n_values),
                            "value": [f"shingle {i % 250}" for i in range(n_values)],
                            "df": rng.integers(1, 9, n_values).astype(np.uint32)})
    in_cluster = rng.random(n_accounts) < 0.4
    clustered = pl.DataFrame({"account_idx": np.flatnonzero(in_cluster).astype(np.uint32),
                              "account_id": [f"acc{i:04d}" for i in np.flatnonzero(in_cluster)],
                              "cluster_id": rng.integers(1, 6, int(in_cluster.sum()))})
    prompts = signals.filter(pl.col("kind") == "prompt").select("signal_idx", pl.col("value").alias("shingle"), "df")
    joined = (memberships.join(prompts, on="signal_idx").join(clustered, on="account_idx")
              .sort("account_idx", "signal_idx"))
    for per_account in (0, 3):
        cut = joined.group_by("account_idx", maintain_order=True).head(per_account) if per_account else joined
        expected = cut.select(list(TEMPLATES_SCHEMA.names())).cast(dict(TEMPLATES_SCHEMA)).sort(
            "account_id", "shingle", "df", maintain_order=True)
        found = member_templates(memberships, signals, clustered, per_account).sort(
            "account_id", "shingle", "df", maintain_order=True)
        assert expected.height > 0 and found.equals(expected)


@pytest.mark.parametrize("seed", range(4))
def test_by_member_is_the_join_sorted_by_id_and_key(seed):
    """by_member orders rows by one integer (the id's rank above the key): the same frame as joining the ids and
    sorting on (account_id, key), whatever the index's order and the rows' order, and for keys it cannot pack."""
    from graphlink.stages.drilldown import by_member

    rng = np.random.default_rng(seed)
    n = 40
    ids = [f"acc{int(v):03d}" for v in rng.permutation(n)]  # account_idx not in byte order of the ids
    clustered = pl.DataFrame({"account_idx": list(range(0, n, 2)), "account_id": ids[0:n:2],
                              "cluster_id": [int(c) for c in rng.integers(0, 5, n // 2)]},
                             schema_overrides={"account_idx": pl.UInt32})
    pairs = {(int(a), int(k)) for a, k in zip(rng.integers(0, n, 400), rng.integers(0, 50, 400))}
    rows = pl.DataFrame({"account_idx": [a for a, _ in pairs], "key": [k for _, k in pairs],
                         "count": [int(c) for c in rng.integers(1, 9, len(pairs))]},
                        schema={"account_idx": pl.UInt32, "key": pl.UInt64, "count": pl.UInt32})
    for frame, key in ((rows, pl.col("key")), (rows.sort("account_idx", "key"), pl.col("key")),
                       (rows, pl.col("key").cast(pl.Int64) - 25), (rows, pl.col("key").cast(pl.Int64) * 2**40)):
        expected = frame.join(clustered, on="account_idx").with_columns(key.alias("k")).sort("account_id", "k").drop("k")
        assert by_member(frame, clustered, key).equals(expected)
