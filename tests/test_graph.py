"""Graph weighting and projection, checked against networkx as an oracle."""

import math

import networkx as nx
import numpy as np
import polars as pl
import pytest

from graphlink.config import GraphConfig, KindSpec
from graphlink.stages.graph import project, weigh_signals


def _pairs(rows):
    return pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String}, orient="row")


def test_ip_shared_beyond_the_cap_links_nobody():
    config = GraphConfig(kinds={"ip": KindSpec(weight=1.0, max_accounts=3)})
    few = [(i, "ip", "small-office") for i in range(3)]
    many = [(i, "ip", "university-nat") for i in range(3, 10)]
    projection = project(_pairs(few + many), 100, config)
    linked = set(projection.edges.select("source", "target").iter_rows())
    assert linked == {(0, 1), (0, 2), (1, 2)}
    nat = projection.signals.filter(pl.col("value") == "university-nat")
    assert nat["linked"].to_list() == [False] and nat["weight"].to_list() == [0.0]


def test_accounts_rotating_many_values_are_damped():
    # a and b: one household IP each, shared. c and d: proxy users with 16 IPs, sharing one.
    rows = [(0, "ip", "home"), (1, "ip", "home"), (0, "ip", "h0"), (1, "ip", "h1")]
    rows += [(2, "ip", "pool0"), (3, "ip", "pool0")]
    rows += [(a, "ip", f"p{a}-{i}") for a in (2, 3) for i in range(15)]
    rows += [(4 + i, "ip", f"solo{i}") for i in range(4)]
    edges = {(s, t): w for s, t, w in project(_pairs(rows), 100, GraphConfig()).edges.iter_rows()}
    # values per account [2, 2, 16, 16, 1, 1, 1, 1]: median 1.5; damping (1.5/2) vs (1.5/16)
    assert edges[(0, 1)] / edges[(2, 3)] == pytest.approx((1.5 / 2) / (1.5 / 16))


def test_rarer_values_weigh_more():
    signals, _ = weigh_signals(_pairs([(0, "payment", "c1"), (1, "payment", "c1"),
                                      (0, "payment", "c2"), (1, "payment", "c2"), (2, "payment", "c2")]),
                               50, GraphConfig())
    weights = dict(signals.select("value", "weight").iter_rows())
    assert weights["c1"] == pytest.approx(3.0 * math.log(50 / 2))
    assert weights["c1"] > weights["c2"] > 0


def test_weak_kinds_never_link_on_their_own():
    rows = [(0, "user_agent", "ua"), (1, "user_agent", "ua"),
            (2, "user_agent", "ua"), (3, "user_agent", "ua"), (2, "payment", "card"), (3, "payment", "card")]
    edges = project(_pairs(rows), 100, GraphConfig()).edges
    assert edges.select("source", "target").rows() == [(2, 3)]
    config = GraphConfig()
    expected = config.spec("user_agent").weight * math.log(100 / 4) + config.spec("payment").weight * math.log(100 / 2)
    assert edges["weight"][0] == pytest.approx(expected)


def _random_bipartite(rng, n_accounts, n_signals, p):
    rows = []
    kinds = ["payment", "ip", "device_id"]  # strong kinds: every shared value links
    for s in range(n_signals):
        members = np.flatnonzero(rng.random(n_accounts) < p)
        rows += [(int(a), kinds[s % 3], f"v{s}") for a in members]
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_projection_matches_networkx_weighted_projection(seed):
    rng = np.random.default_rng(seed)
    n_accounts = int(rng.integers(5, 40))
    rows = _random_bipartite(rng, n_accounts, int(rng.integers(3, 30)), float(rng.uniform(0.05, 0.4)))
    config = GraphConfig(clique_limit=64, sparse_degree=8)
    projection = project(_pairs(rows), n_accounts, config)

    # Oracle: networkx's generic weighted projection with the same signal weights.
    signals = projection.signals
    weight_of = {(k, v): w for k, v, w in signals.select("kind", "value", "weight").iter_rows()}
    bipartite = nx.Graph()
    bipartite.add_nodes_from(range(n_accounts), bipartite=0)
    for account, kind, value in rows:
        if weight_of[(kind, value)] > 0:
            bipartite.add_edge(account, (kind, value))

    # Rotation damping, computed independently: values per (account, kind) against the kind's median.
    per_kind = {}
    for account, kind, _ in rows:
        per_kind.setdefault(kind, {}).setdefault(account, 0)
        per_kind[kind][account] += 1
    damp = {(a, k): math.sqrt(min(1.0, float(np.median(list(counts.values()))) / n))
            for k, counts in per_kind.items() for a, n in counts.items()}

    def shared_weight(graph, u, v):
        return sum(weight_of[s] * damp[(u, s[0])] * damp[(v, s[0])] for s in set(graph[u]) & set(graph[v]))

    oracle = nx.bipartite.generic_weighted_projected_graph(bipartite, range(n_accounts), weight_function=shared_weight)
    expected = {(min(u, v), max(u, v)): d["weight"] for u, v, d in oracle.edges(data=True) if d["weight"] > 0}
    got = {(s, t): w for s, t, w in projection.edges.iter_rows()}
    assert got.keys() == expected.keys()
    for pair, weight in expected.items():
        assert got[pair] == pytest.approx(weight)


def test_sparse_projection_preserves_strength_without_the_clique():
    df = 200
    rows = [(i, "payment", "pooled card") for i in range(df)]
    config = GraphConfig(kinds={"payment": KindSpec(weight=3.0, max_accounts=1000)}, clique_limit=32, sparse_degree=4)
    projection = project(_pairs(rows), 10_000, config)
    edges = projection.edges
    assert edges.height == df * 4  # a circulant, not df*(df-1)/2 = 19,900 pairs
    w = projection.signals["weight"][0]
    strength = pl.concat([edges.select(pl.col("source").alias("a"), "weight"),
                          edges.select(pl.col("target").alias("a"), "weight")]).group_by("a").agg(pl.col("weight").sum())
    assert strength.height == df
    assert strength["weight"].to_numpy() == pytest.approx(np.full(df, w * (df - 1)))
    graph = nx.Graph(list(edges.select("source", "target").iter_rows()))
    assert nx.is_connected(graph)


def test_sparse_projection_is_order_independent():
    rows = [(i, "ip", "t") for i in range(60)] + [(i, "payment", "x") for i in range(0, 100, 3)]
    a = project(_pairs(rows), 1000, GraphConfig()).edges
    b = project(_pairs(rows[::-1]), 1000, GraphConfig()).edges
    assert a.equals(b)


def test_pair_budget_drops_the_most_popular_values_with_a_warning():
    rows = [(i, "prompt", "big") for i in range(300)] + [(0, "payment", "c"), (1, "payment", "c")]
    projection = project(_pairs(rows), 10_000, GraphConfig(max_pairs=100))
    assert projection.edges.select("source", "target").rows() == [(0, 1)]
    assert projection.warnings and "max_pairs" in projection.warnings[0]
    assert "prompt" in projection.warnings[0]


def test_weak_kinds_at_most_double_a_link():
    rows = [(0, "payment", "card"), (1, "payment", "card")]
    rows += [(a, "prompt", f"shingle {i}") for a in (0, 1) for i in range(40)]
    config = GraphConfig()
    edges = project(_pairs(rows), 100, config).edges
    strong = config.spec("payment").weight * math.log(100 / 2)
    assert edges["weight"].to_list() == [pytest.approx(2 * strong)]


def test_signal_numbering_falls_back_when_packed_hashes_collide(monkeypatch):
    from graphlink.stages import graph

    pairs = pl.DataFrame({"account_idx": [0, 1, 2, 3], "kind": ["payment"] * 4,
                          "value_key": [2**40, 2**40, 2**40 + 1, 2**40 + 1], "count": [1, 1, 1, 1]},
                         schema={"account_idx": pl.UInt32, "kind": pl.String, "value_key": pl.UInt64,
                                 "count": pl.UInt32})
    values = pl.DataFrame({"kind": ["payment"] * 2, "value_key": [2**40, 2**40 + 1], "value": ["c1", "c2"]},
                          schema_overrides={"value_key": pl.UInt64})
    fast = graph.project(pairs, 4, values=values)
    # The identity "hash" keeps only the top bits the packing uses: c1 and c2 collide there.
    monkeypatch.setattr(graph, "_SIGNAL_HASH", pl.col("value_key"))
    slow = graph.project(pairs, 4, values=values)
    assert sorted(slow.signals.select("value", "df").rows()) == [("c1", 2), ("c2", 2)]
    assert slow.edges.select("source", "target").rows() == fast.edges.select("source", "target").rows() == [
        (0, 1), (2, 3)]
