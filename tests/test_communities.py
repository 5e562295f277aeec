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
