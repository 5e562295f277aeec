"""A cluster's per-member evidence is at least two members': one proxy-rotating account beside a person is no fleet.

Dev world ind_s1_11000 (session 36): three 2-account clusters -- a ring account rotating over 10-42
networks and an ordinary person who used one of its proxy exits once -- were flagged, because the
interpolated median of two members is their mean ("median account used 21 IP networks").
"""

import polars as pl

from graphlink.stages.scoring import cluster_features

U32 = pl.UInt32


def _frames(networks: dict[int, int], events: dict[int, int], cluster_of: dict[int, int]):
    members = pl.DataFrame({"account_idx": list(cluster_of), "cluster_id": list(cluster_of.values())},
                           schema={"account_idx": U32, "cluster_id": pl.Int64})
    index = pl.DataFrame({"account_idx": list(events), "account_id": [f"a{i}" for i in events], "events": list(events.values())},
                         schema={"account_idx": U32, "account_id": pl.String, "events": pl.UInt32})
    counts = pl.DataFrame([(a, k, n) for a, n in networks.items() for k in ("ip", "ip_net")],
                          schema={"account_idx": U32, "kind": pl.String, "n_values": pl.UInt32}, orient="row")
    memberships = pl.DataFrame(schema={"account_idx": U32, "signal_idx": U32, "count": pl.UInt32})
    signals = pl.DataFrame(schema={"signal_idx": U32, "kind": pl.String, "df": pl.UInt32, "value": pl.String})
    return cluster_features(members, index, memberships, signals, None, None, value_counts=counts)


def test_a_pair_is_scored_by_what_both_members_do():
    # Cluster 1: a ring account (30 networks, 80 events) and a person (1 network, 3 events).
    # Cluster 2: two ring accounts (30 and 28 networks). Accounts 4-9: background people.
    networks = {0: 30, 1: 1, 2: 30, 3: 28, **{i: 1 for i in range(4, 10)}}
    events = {0: 80, 1: 3, 2: 80, 3: 70, **{i: 4 for i in range(4, 10)}}
    f = {r["cluster_id"]: r for r in _frames(networks, events, {0: 1, 1: 1, 2: 2, 3: 2}).iter_rows(named=True)}
    assert f[1]["networks_per_account"] == 1 and f[1]["median_events"] == 3  # the person's: not (30 + 1) / 2
    assert f[2]["networks_per_account"] == 28 and f[2]["median_events"] == 70  # both rotate: still a fleet's


def test_three_members_take_the_middle_and_large_clusters_barely_move():
    networks = {0: 1, 1: 12, 2: 40, **{i: 20 + i % 7 for i in range(3, 103)}}
    events = {i: 10 + i for i in range(103)}
    cluster_of = {0: 1, 1: 1, 2: 1, **{i: 2 for i in range(3, 103)}}
    f = {r["cluster_id"]: r for r in _frames(networks, events, cluster_of).iter_rows(named=True)}
    assert f[1]["networks_per_account"] == 12  # two of three reach 12
    big = pl.Series([20 + i % 7 for i in range(3, 103)])
    assert abs(f[2]["networks_per_account"] - big.median()) <= 1
