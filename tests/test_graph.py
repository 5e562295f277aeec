"""Graph weighting and projection, checked against networkx as an oracle."""


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
    edges = {(s, t): w for s, t, w in project(_pairs(rows), 100, GraphConfig(damping=0.5)).edges.iter_rows()}
    # values per account [2, 2, 16, 16, 1, 1, 1, 1]: median 1.5; each side damped sqrt(min(1, 1.5 / n)),
    # so a pair weighs 1 * (1.5/2) (household) against 1 * (1.5/16) (proxy users); both IPs df=2, weight 1.
    assert edges[(0, 1)] == pytest.approx(1.5 / 2)
    assert edges[(2, 3)] == pytest.approx(1.5 / 16)


def test_rotation_damping_is_off_by_default():
    # Same world, default config: every shared value counts in full (a proxy pool is evidence).
    rows = [(0, "ip", "home"), (1, "ip", "home"), (0, "ip", "h0"), (1, "ip", "h1")]
    rows += [(2, "ip", "pool0"), (3, "ip", "pool0")]
    rows += [(a, "ip", f"p{a}-{i}") for a in (2, 3) for i in range(15)]
    edges = {(s, t): w for s, t, w in project(_pairs(rows), 100, GraphConfig()).edges.iter_rows()}
    assert edges == {(0, 1): pytest.approx(1.0), (2, 3): pytest.approx(1.0)}


def test_rarer_values_weigh_more():
    signals, _ = weigh_signals(_pairs([(0, "payment", "c1"), (1, "payment", "c1"),
                                      (0, "payment", "c2"), (1, "payment", "c2"), (2, "payment", "c2")]),
                               50, GraphConfig())
    weights = dict(signals.select("value", "weight").iter_rows())
    # kind weight 3 times (2 / df) ** 0.5: a card two accounts share weighs the kind weight.
    assert weights["c1"] == pytest.approx(3.0 * (2 / 2) ** 0.5)
    assert weights["c2"] == pytest.approx(3.0 * (2 / 3) ** 0.5)
    assert weights["c1"] > weights["c2"] > 0


def test_rarity_weight_does_not_depend_on_log_size():
    # A sample of a log weighs a pair as the whole log does; a card every account holds still links.
    rows = [(i, "payment", "card") for i in range(5)]
    for n_accounts in (5, 50, 5000):
        signals, _ = weigh_signals(_pairs(rows), n_accounts, GraphConfig())
        assert signals["weight"].to_list() == [pytest.approx(3.0 * (2 / 5) ** 0.5)]
        assert signals["linked"].to_list() == [True]


def test_weak_kinds_never_link_on_their_own():
    rows = [(0, "user_agent", "ua"), (1, "user_agent", "ua"),
            (2, "user_agent", "ua"), (3, "user_agent", "ua"), (2, "payment", "card"), (3, "payment", "card")]
    edges = project(_pairs(rows), 100, GraphConfig()).edges
    assert edges.select("source", "target").rows() == [(2, 3)]
    config = GraphConfig()
    strong = config.spec("payment").weight * (2 / 2) ** 0.5
    weak = config.spec("user_agent").weight * (2 / 4) ** 0.5
    assert not config.spec("user_agent").strong and weak < strong
    assert edges["weight"][0] == pytest.approx(strong + weak)


def _random_bipartite(rng, n_accounts, n_signals, p):
    rows = []
    kinds = ["payment", "ip", "device_id"]  # strong kinds: every shared value links
    for s in range(n_signals):
        members = np.flatnonzero(rng.random(n_accounts) < p)
        rows += [(int(a), kinds[s % 3], f"v{s}") for a in members]
    return rows


@pytest.mark.parametrize("damping", [0.0, 0.5])
@pytest.mark.parametrize("seed", range(6))
def test_projection_matches_networkx_weighted_projection(seed, damping):
    rng = np.random.default_rng(seed)
    n_accounts = int(rng.integers(5, 40))
    rows = _random_bipartite(rng, n_accounts, int(rng.integers(3, 30)), float(rng.uniform(0.05, 0.4)))
    # Every value projected as a clique: df <= 40 < clique_limit, and one generator per value
    # (sparse_degree 1) so no value counts as a rotator's pool value either.
    config = GraphConfig(clique_limit=64, sparse_degree=1, damping=damping)
    projection = project(_pairs(rows), n_accounts, config)

    # Oracle: networkx's generic weighted projection, signal weights computed independently:
    # kind weight * (2 / df) ** 0.5 for a value df >= 2 accounts share (no cap by default).
    df_of = {}
    for _, kind, value in rows:
        df_of[(kind, value)] = df_of.get((kind, value), 0) + 1
    weight_of = {s: config.spec(s[0]).weight * (2 / df) ** 0.5 if df >= 2 else 0.0 for s, df in df_of.items()}
    got_weights = {(k, v): w for k, v, w in projection.signals.select("kind", "value", "weight").iter_rows()}
    assert got_weights == pytest.approx(weight_of)
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
    damp = {(a, k): min(1.0, float(np.median(list(counts.values()))) / n) ** damping
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
    # k = 4 sparse generators: at most df * 4 pairs (fewer where two generators pick the same pair),
    # not df*(df-1)/2 = 19,900; every account keeps between 2 and 2k neighbours.
    assert df * 2 < edges.height <= df * 4
    degree = pl.concat([edges["source"], edges["target"]]).value_counts()["count"]
    assert degree.min() >= 2 and degree.max() <= 8
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
    # First the circulant is thinned to one generator (300 + 1 pairs > 100), then the value is dropped.
    assert len(projection.warnings) == 2
    assert "max_pairs" in projection.warnings[0] and "at most 1 circulant generator" in projection.warnings[0]
    assert "max_pairs" in projection.warnings[1] and "prompt" in projection.warnings[1]
    assert projection.signals.filter(pl.col("value") == "big")["linked"].to_list() == [False]


def test_pair_budget_thins_a_popular_value_before_dropping_it():
    # 300 accounts on one card: 8 generators plan 2,400 pairs; max_pairs 400 fits one generator
    # (a ring of 300 pairs), so the card still links everyone, with a warning.
    rows = [(i, "payment", "big") for i in range(300)]
    projection = project(_pairs(rows), 10_000, GraphConfig(max_pairs=400))
    assert len(projection.warnings) == 1 and "at most 1 circulant generator" in projection.warnings[0]
    assert projection.signals["linked"].to_list() == [True]
    edges = projection.edges
    assert edges.height == 300
    graph = nx.Graph(list(edges.select("source", "target").iter_rows()))
    assert graph.number_of_nodes() == 300 and nx.is_connected(graph)
    assert all(d == 2 for _, d in graph.degree())


def test_weak_kinds_at_most_double_a_link():
    rows = [(0, "payment", "card"), (1, "payment", "card")]
    rows += [(a, "prompt", f"shingle {i}") for a in (0, 1) for i in range(40)]
    config = GraphConfig()
    edges = project(_pairs(rows), 100, config).edges
    strong = config.spec("payment").weight * (2 / 2) ** 0.5
    # 40 shared shingles weigh 40 * prompt weight, far above the card: capped at the card's weight.
    assert 40 * config.spec("prompt").weight > strong
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
    monkeypatch.setattr(graph, "signal_hash", lambda kinds: pl.col("value_key"))
    slow = graph.project(pairs, 4, values=values)
    assert sorted(slow.signals.select("value", "df").rows()) == [("c1", 2), ("c2", 2)]
    assert slow.edges.select("source", "target").rows() == fast.edges.select("source", "target").rows() == [
        (0, 1), (2, 3)]


def test_circulant_generators_follow_how_many_popular_values_members_hold():
    from graphlink.stages.linking import generators

    # 80 proxy rotators each hold 4 of 8 pool IPs (df 40 each): ceil(8 / 4) = 2 generators per IP;
    # 50 people behind one NAT hold only it: the full sparse_degree 8; a value under clique_limit: none.
    rows = [(a, (a + j) % 8) for a in range(80) for j in range(4)]
    rows += [(100 + p, 8) for p in range(50)] + [(200 + p, 9) for p in range(10)]
    members = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    members = members.with_columns(pl.len().over("signal_idx").alias("df"), pl.lit(0, pl.UInt32).alias("kind_code"))
    assert sorted(set(members.select("signal_idx", "df").rows())) == [(s, 40) for s in range(8)] + [(8, 50), (9, 10)]
    out = generators(members, GraphConfig(sparse_degree=8))
    k = dict(out.filter(pl.col("signal_idx") <= 8).select("signal_idx", "generators").rows())
    assert k == {**{s: 2 for s in range(8)}, 8: 8}
    if "sparse" in out.columns:  # values above clique_limit are always projected sparse
        assert out.filter(pl.col("signal_idx") <= 8)["sparse"].all()
        assert not out.filter(pl.col("signal_idx") == 9)["sparse"].any()
    else:
        assert 9 not in out["signal_idx"].to_list()
