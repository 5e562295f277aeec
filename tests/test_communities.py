"""Leiden communities on a named set of test graphs, checked against invariants."""

import igraph as ig
import networkx as nx
import numpy as np
import polars as pl
import pytest

from graphlink.stages.communities import build_graph, detect_communities, number_clusters
from graphlink.config import CommunityConfig


def planted_cliques(sizes, noise_edges, seed):
    """Disjoint weighted cliques plus a few light random edges between them."""
    rng = np.random.default_rng(seed)
    edges, start = [], 0
    for size in sizes:
        members = range(start, start + size)
        edges += [(a, b, 5.0) for a in members for b in members if a < b]
        start += size
    for _ in range(noise_edges):
        a, b = sorted(rng.choice(start, 2, replace=False).tolist())
        edges.append((a, b, 0.5))
    frame = pl.DataFrame(edges, schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64},
                         orient="row").group_by("source", "target").agg(pl.col("weight").sum()).sort("source", "target")
    return frame, start


GRAPHS = {
    "three_rings": ([20, 12, 6], 10),
    "many_small": ([4] * 15, 5),
    "one_big": ([60], 0),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_planted_cliques_recovered_exactly(name):
    sizes, noise = GRAPHS[name]
    edges, n = planted_cliques(sizes, noise, seed=1)
    clusters = detect_communities(build_graph(edges, n + 3))  # 3 isolated accounts
    truth = np.repeat(np.arange(len(sizes)), sizes)
    got = clusters["cluster_id"].to_numpy()[:n]
    # Same partition: every planted clique maps to exactly one cluster and vice versa.
    pairs = set(zip(truth.tolist(), got.tolist()))
    assert len(pairs) == len(sizes) == len(set(got.tolist()))
    assert clusters["cluster_id"][n:].is_null().all()


def test_same_seed_same_partition_and_canonical_ids():
    edges, n = planted_cliques([10, 10, 10, 5], 40, seed=2)
    graph = build_graph(edges, n)
    a = detect_communities(graph, CommunityConfig(seed=3))
    b = detect_communities(graph, CommunityConfig(seed=3))
    assert a.equals(b)
    sizes = a.group_by("cluster_id").len().sort("cluster_id")["len"].to_list()
    assert sizes == sorted(sizes, reverse=True)


def test_leiden_partition_is_at_least_as_modular_as_networkx_louvain():
    edges, n = planted_cliques([15, 15, 8, 8], 30, seed=4)
    clusters = detect_communities(build_graph(edges, n))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from(edges.iter_rows())
    ours = [set(grp) for grp in clusters.group_by("cluster_id").agg("account_idx")["account_idx"].to_list()]
    louvain = nx.community.louvain_communities(g, weight="weight", seed=0)
    assert nx.community.modularity(g, ours) >= nx.community.modularity(g, louvain) - 1e-9


def test_number_clusters_ignores_label_values_and_drops_small():
    labels = np.array([7, 7, 3, 3, 3, 9])
    out = number_clusters(labels, min_cluster_size=2)
    assert out["cluster_id"].to_list() == [2, 2, 1, 1, 1, None]


def test_graph_without_edges_has_no_clusters():
    empty = pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    assert detect_communities(build_graph(empty, 4))["cluster_id"].is_null().all()


def test_numpy_pruning_matches_the_frame_version():
    from graphlink.stages.communities import prune_arrays, prune_periphery

    rng = np.random.default_rng(5)
    edges, n = planted_cliques([12, 9, 7], 25, seed=5)
    edges = edges.with_columns(pl.Series("weight", rng.uniform(0.05, 3.0, edges.height)))
    pendants = pl.DataFrame({"source": [0, 12, 21], "target": [n, n + 1, n + 2], "weight": [0.05, 0.3, 0.01]},
                            schema=edges.schema)
    edges = pl.concat([edges, pendants]).sort("source", "target")
    labels = np.r_[np.repeat(np.arange(3), [12, 9, 7]), [0, 1, 2]]
    arrays = prune_arrays(labels, edges["source"].to_numpy(), edges["target"].to_numpy(),
                          edges["weight"].to_numpy(), 0.3)
    frame = prune_periphery(labels, edges, 0.3)
    assert number_clusters(arrays).equals(number_clusters(frame))
    assert (arrays != labels).any()  # something was pruned: the comparison has teeth


def test_a_components_partition_does_not_depend_on_the_rest_of_the_graph():
    # What lets the Spark engine partition components on different machines.
    edges, n = planted_cliques([10, 8, 6], 12, seed=6)
    alone = detect_communities(build_graph(edges, n), CommunityConfig(seed=1), edges)
    other = pl.DataFrame({"source": [n, n, n + 1], "target": [n + 1, n + 2, n + 2], "weight": [2.0, 2.0, 2.0]},
                         schema=edges.schema)
    both = pl.concat([edges, other])
    together = detect_communities(build_graph(both, n + 3), CommunityConfig(seed=1), both)
    first = together.filter(pl.col("account_idx") < n)
    assert first.select(pl.col("cluster_id").rank("dense")).equals(alone.select(pl.col("cluster_id").rank("dense")))


@pytest.mark.parametrize("weight, together", [(0.5, True), (0.1, False)])
def test_a_lone_pair_is_one_cluster_exactly_when_its_weight_beats_the_resolution(weight, together):
    edges = pl.DataFrame({"source": [0], "target": [1], "weight": [weight]},
                         schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    found = detect_communities(build_graph(edges, 2), CommunityConfig(resolution=0.2), edges)
    assert found["cluster_id"].is_not_null().all() == together


@pytest.mark.parametrize("seed", range(6))
def test_component_edges_split_the_graph_as_networkx_does_in_igraph_order(seed):
    """The components before Leiden (found on the edge arrays) against networkx's, and in igraph's order."""
    from graphlink.stages.communities import component_edges
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    m = int(rng.integers(0, 2 * n))
    pairs = {tuple(sorted(p)) for p in rng.integers(0, n, (m, 2)).tolist() if p[0] != p[1]}
    edges = pl.DataFrame(sorted(pairs), schema={"source": pl.UInt32, "target": pl.UInt32}, orient="row"
                         ).with_columns(weight=pl.lit(1.0))
    parts = component_edges(edges, n)
    oracle = nx.Graph(sorted(pairs))
    expected = sorted((sorted(c) for c in nx.connected_components(oracle)), key=min)
    assert [part[0].tolist() for part in parts] == expected
    for vertices, source, target, _ in parts:  # each component keeps exactly its own edges
        assert len(source) == oracle.subgraph(vertices.tolist()).number_of_edges()
    if pairs:  # igraph numbers components by smallest vertex: the same order
        membership = ig.Graph(n=n, edges=sorted(pairs)).connected_components().membership
        order = list(dict.fromkeys(membership[v] for part in parts for v in part[0].tolist()))
        assert order == sorted(order)
