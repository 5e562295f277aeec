"""op63 (session 63): client kits -- cells sending one combination of clients almost no one else sends are one
operator's (opt-in, ``[communities] client_kits``; graphlink/stages/campaign_kits.py).

Each test is a small hand-built input (the grouping's own frames: clustered accounts, their values, the signals) with
the right answer, and the look-alike that must stay apart beside it.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_kits import KIT_OWN_SHARE, cluster_kits, kit_ties, kit_vetoes
from graphlink.stages.campaigns import cluster_campaigns


def _frames(clusters: list[tuple[int, list[str]]], outsiders: list[tuple[int, list[str]]] = (), shared_ips: int = 0):
    """``clusters``: (members, clients each member sends) per cluster; ``outsiders``: (accounts, clients) in no
    cluster; ``shared_ips``: addresses every clustered account sends from (a rented pool). Returns node_of,
    affiliations, signals (clients are user agents; every value a signal)."""
    rows, nodes, a = [], [], 0
    for node, (n, clients) in enumerate(clusters):
        for _ in range(n):
            nodes.append((a, node))
            rows += [(a, c) for c in clients] + [(a, f"ip:198.18.0.{j}") for j in range(shared_ips)]
            a += 1
    for n, clients in outsiders:
        for _ in range(n):
            rows += [(a, c) for c in clients]
            a += 1
    held = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "value": pl.String}, orient="row")
    sig = (held.group_by("value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("value").with_row_index("signal_idx")
           .with_columns(kind=pl.when(pl.col("value").str.starts_with("ip:")).then(pl.lit("ip")).otherwise(pl.lit("user_agent")),
                         linked=pl.col("df") >= 2, weight=pl.lit(1.0)))
    aff = held.join(sig, on="value").select("account_idx", "signal_idx")
    node = pl.DataFrame(nodes, schema={"account_idx": pl.UInt32, "node": pl.UInt32}, orient="row")
    node_of = node.join(node.group_by("node").len().rename({"len": "size"}), on="node")
    return node_of, aff, sig.select("signal_idx", "kind", "df", "weight", "linked", "value")


KIT = ["node-fetch/1.0", "openai-python/1.3.0"]


def test_two_cells_sending_one_private_kit_are_tied():
    # one operator's two cells (20 and 12 accounts) send node-fetch and openai-python; 300 others send openai-python
    # alone and 3 send both: the pair is theirs (32 of 35 senders), each client alone is public
    node_of, aff, sig = _frames([(20, KIT), (12, KIT)], [(300, KIT[1:]), (3, KIT)])
    ties = kit_ties(node_of, aff, sig)
    assert ties.select("source", "target").rows() == [(0, 1)]
    assert abs(ties["weight"][0] - 32 / 35) < 1e-9


def test_a_kit_the_public_sends_ties_nobody():
    # the look-alike: the same two cells, but 40 unclustered accounts send the same two clients (a public script's
    # users): 32 of 72 senders are the cells' -- below KIT_OWN_SHARE, no tie
    node_of, aff, sig = _frames([(20, KIT), (12, KIT)], [(40, KIT)])
    kits = cluster_kits(node_of, aff, sig)
    assert kits["own"].max() < KIT_OWN_SHARE
    assert kit_ties(node_of, aff, sig).height == 0


def test_one_client_is_no_kit():
    # two cells sending Go-http-client alone, no one else sending it (dev a1: two operators' cells do exactly this)
    node_of, aff, sig = _frames([(20, ["Go-http-client/2.0"]), (12, ["Go-http-client/2.0"])])
    assert cluster_kits(node_of, aff, sig).height == 0
    assert kit_ties(node_of, aff, sig).height == 0


def test_two_operators_with_different_kits_are_not_tied():
    # two operators sharing one client (okhttp) but each with a kit of its own (Dalvik / python-requests beside it)
    node_of, aff, sig = _frames([(20, ["okhttp/3.14.9", "Dalvik/2.1.0"]), (12, ["okhttp/3.14.9", "python-requests/2.25.1"]),
                                 (15, ["okhttp/3.14.9", "Dalvik/2.1.0"])])
    assert kit_ties(node_of, aff, sig).select("source", "target").rows() == [(0, 2)]


def test_a_rotating_browser_cell_has_no_kit():
    # every member of a cell sends all of 12 stock browser agents: no client signature, no kit, however rare each is
    browsers = [f"Mozilla/5.0 browser {i}" for i in range(12)]
    node_of, aff, sig = _frames([(20, browsers), (12, browsers)])
    assert cluster_kits(node_of, aff, sig).height == 0


def test_a_kit_a_minority_of_a_cell_sends_is_not_its_kit():
    # cell 1: 5 of 12 members send the kit, the rest one client: its kit is the one client, not the pair
    node_of, aff, sig = _frames([(20, KIT), (5, KIT), (7, KIT[:1])])
    part = node_of.with_columns(pl.when(pl.col("node") == 2).then(1).otherwise(pl.col("node")).alias("node"))
    part = part.drop("size").join(part.group_by("node").len().rename({"len": "size"}), on="node")
    assert kit_ties(part, aff, sig).height == 0


def test_the_grouping_joins_two_cells_only_with_the_switch():
    # two clusters sharing nothing but their kit: two campaigns by default, one with client_kits on
    node_of, aff, sig = _frames([(20, KIT), (12, KIT)], [(300, KIT[1:])])
    partition = node_of.select("account_idx", pl.col("node").cast(pl.Int64).alias("cluster_id"))
    off = cluster_campaigns(partition, aff, sig, GraphConfig(), CommunityConfig(), n_accounts=1000)
    on = cluster_campaigns(partition, aff, sig, GraphConfig(), CommunityConfig(client_kits=True), n_accounts=1000)
    assert off["campaign_id"].n_unique() == 2
    assert on["campaign_id"].n_unique() == 1


def _pair(*rows):
    return pl.DataFrame(list(rows), schema={"source": pl.UInt32, "target": pl.UInt32}, orient="row")


def test_two_cells_with_own_kits_apart_tied_by_a_rented_pool_are_parted():
    # two operators' cells, each kit its own (Dalvik + okhttp; okhttp + python-requests), tied by a proxy pool both
    # rent: the tie is vetoed; the same pair also tied by cards beyond chance keeps it (infrastructure moved)
    node_of, aff, sig = _frames([(20, ["okhttp/3.14.9", "Dalvik/2.1.0"]), (12, ["okhttp/3.14.9", "python-requests/2.25.1"])],
                                [(200, ["python-requests/2.25.1"])])
    assert kit_vetoes(node_of, aff, sig, _pair((0, 1)), _pair()).rows() == [(0, 1)]
    assert kit_vetoes(node_of, aff, sig, _pair((0, 1)), _pair((0, 1))).rows() == []


def test_a_public_kit_or_one_client_vetoes_nothing():
    # the look-alikes: one side's kit is a public one (as many unclustered senders as members), or one side sends a
    # single client -- a stock library, no kit: no veto, the tie stands as on main
    node_of, aff, sig = _frames([(20, ["okhttp/3.14.9", "Dalvik/2.1.0"]), (12, ["okhttp/3.14.9", "python-requests/2.25.1"])],
                                [(30, ["okhttp/3.14.9", "python-requests/2.25.1"])])
    assert kit_vetoes(node_of, aff, sig, _pair((0, 1)), _pair()).height == 0
    node_of, aff, sig = _frames([(20, ["okhttp/3.14.9", "Dalvik/2.1.0"]), (12, ["Go-http-client/2.0"])])
    assert kit_vetoes(node_of, aff, sig, _pair((0, 1)), _pair()).height == 0


def test_one_kit_on_both_sides_vetoes_nothing():
    node_of, aff, sig = _frames([(20, KIT), (12, KIT)])
    assert kit_vetoes(node_of, aff, sig, _pair((0, 1)), _pair()).height == 0


def test_the_grouping_parts_two_kits_on_one_pool_only_with_the_switch():
    # two cells with kits of their own, apart, every member on one pool's 30 addresses: one campaign by the pool on
    # main, two with client_kits
    node_of, aff, sig = _frames([(20, ["okhttp/3.14.9", "Dalvik/2.1.0"]), (12, ["okhttp/3.14.9", "python-requests/2.25.1"])],
                                [(300, ["okhttp/3.14.9"])], shared_ips=30)
    partition = node_of.select("account_idx", pl.col("node").cast(pl.Int64).alias("cluster_id"))
    off = cluster_campaigns(partition, aff, sig, GraphConfig(), CommunityConfig(), n_accounts=1000)
    on = cluster_campaigns(partition, aff, sig, GraphConfig(), CommunityConfig(client_kits=True), n_accounts=1000)
    assert off["campaign_id"].n_unique() == 1
    assert on["campaign_id"].n_unique() == 2
