"""Campaign grouping and campaign flags on small hand-built inputs with a known answer.

Cells of one operator share its pools (cards, addresses, network ranges) the way a pool is
shared: each value held by a few members of each cell, so a cell's share of members holding
any one value is small. The grouping compares such kinds by which values two clusters hold
(weighted by how few clusters hold each), not by how many members hold each.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.campaign_flags import cohesive_campaigns, flag_with_campaign, substantial_campaigns
from graphlink.stages.campaigns import cluster_campaigns, grouping_kinds


def _frames(holdings: dict[int, list[tuple[str, str]]], cluster_of: dict[int, int]):
    """Partition, affiliations and signals from ``account -> [(kind, value)]``."""
    values = sorted({kv for held in holdings.values() for kv in held})
    index = {kv: i for i, kv in enumerate(values)}
    aff = pl.DataFrame(
        {"account_idx": [a for a, held in holdings.items() for _ in held],
         "signal_idx": [index[kv] for held in holdings.values() for kv in held]},
        schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    df = aff.group_by("signal_idx").agg(pl.len().alias("df"))
    sig = (pl.DataFrame({"signal_idx": list(range(len(values))), "kind": [k for k, _ in values]},
                        schema={"signal_idx": pl.UInt32, "kind": pl.String})
           .join(df, on="signal_idx")
           .with_columns((pl.col("df") >= 2).alias("linked"),
                         pl.when(pl.col("df") >= 2).then(2.0 / pl.col("df")).otherwise(0.0).alias("weight")))
    part = pl.DataFrame({"account_idx": list(cluster_of), "cluster_id": list(cluster_of.values())},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    return part, aff, sig


def _pool_world():
    """Clusters 1 and 2: one operator's two cells, on one pool of 12 proxy addresses in 4 /24s,
    each member using 2 of them; cluster 3: a cell of another operator on its own addresses;
    clusters 4-9: ordinary people behind one carrier /24 (held by every cluster)."""
    holdings: dict[int, list[tuple[str, str]]] = {}
    cluster_of: dict[int, int] = {}
    acc = 0
    for cluster in (1, 2):
        for m in range(10):
            ips = [(cluster * 3 + m) % 12, (cluster * 5 + 3 * m + 1) % 12]
            holdings[acc] = ([("ip", f"10.0.{i // 3}.{i}") for i in ips]
                             + [("ip_net", f"10.0.{i // 3}.0/24") for i in ips] + [("ip_net", "99.1.1.0/24")])
            cluster_of[acc] = cluster
            acc += 1
    for m in range(10):
        ips = [m % 6, (m + 2) % 6]
        holdings[acc] = ([("ip", f"20.0.{i // 3}.{i}") for i in ips]
                         + [("ip_net", f"20.0.{i // 3}.0/24") for i in ips] + [("ip_net", "99.1.1.0/24")])
        cluster_of[acc] = 3
        acc += 1
    for cluster in range(4, 10):
        for m in range(3):
            holdings[acc] = [("payment", f"card{acc // 3}"), ("ip_net", "99.1.1.0/24")]
            cluster_of[acc] = cluster
            acc += 1
    return _frames(holdings, cluster_of)


def test_cells_sharing_an_address_pool_are_one_campaign_and_a_carrier_net_ties_nobody():
    part, aff, sig = _pool_world()
    # every address of the pool is held by 2-4 of a cell's 10 members: a share of at most 0.4
    campaign = dict(cluster_campaigns(part, aff, sig, GraphConfig()).iter_rows())
    assert campaign[1] == campaign[2]
    assert len({campaign[c] for c in (1, 3, 4, 5, 6, 7, 8, 9)}) == 8


def test_grouping_compares_networks_but_not_clocks_or_browsers():
    assert grouping_kinds(["timing", "user_agent", "ip_net", "ip", "payment", "prompt", "email_domain",
                           "device_id"]) == ["device_id", "ip", "ip_net", "payment", "prompt"]


def test_a_cluster_grouped_in_without_its_own_tie_does_not_inherit_the_flag():
    # Clusters 1 and 2 share a card (one operator); cluster 3 sits in their campaign but shares
    # only a network with them, which is no tie for flags.
    holdings = {0: [("payment", "c1"), ("ip_net", "n")], 1: [("payment", "c1")], 2: [("payment", "c1")],
                3: [("payment", "c1"), ("ip_net", "n")], 4: [("ip_net", "n")], 5: [("ip_net", "n")]}
    part, aff, sig = _frames(holdings, {0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3})
    campaign_of = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 1, 1]})
    flag_of = cohesive_campaigns(campaign_of, part, aff, sig)
    assert flag_of.rows() == [(1, 1), (2, 1), (3, -3)]
    clusters = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [2, 2, 2], "score": [0.9, 0.1, 0.1],
                             "flagged": [False, False, False], "why": ["fleet", "tame", "tame"]}).join(
        flag_of, on="cluster_id")
    tied = substantial_campaigns(flag_of, part, aff, sig)
    out = flag_with_campaign(clusters, 0.6, 4, tied)
    # 1 is loud and its tied campaign (1 + 2) has 4 accounts: 1 and 2 flagged, 3 not
    assert out["flagged"].to_list() == [True, True, False]


def test_a_few_operator_accounts_inside_a_cluster_of_strangers_do_not_bring_its_flag():
    # Cluster 2: two of the operator's accounts (they hold its card and template) among four
    # strangers; grouped with the operator's cell 1, it is no cell of the operator as a whole.
    template = [("prompt", f"shingle{i}") for i in range(6)]
    holdings = {a: [("payment", "c1")] + template for a in range(4)}
    holdings.update({4: [("payment", "c1")] + template, 5: [("payment", "c1")] + template})
    holdings.update({a: [("prompt", f"own{a}")] for a in range(6, 10)})
    part, aff, sig = _frames(holdings, {**{a: 1 for a in range(4)}, **{a: 2 for a in range(4, 10)}})
    campaign_of = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [1, 1]})
    assert cohesive_campaigns(campaign_of, part, aff, sig).rows() == [(1, 1), (2, -2)]


def test_grouping_does_not_depend_on_row_order():
    # Both engines hand this stage the same memberships in different orders: integer sums.
    part, aff, sig = _pool_world()
    expected = cluster_campaigns(part, aff, sig, GraphConfig())
    for seed in (1, 2):
        shuffled = aff.sample(fraction=1.0, shuffle=True, seed=seed)
        assert cluster_campaigns(part.reverse(), shuffled, sig.reverse(), GraphConfig()).equals(expected)
