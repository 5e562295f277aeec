"""The campaign consensus's reductions keep its groups (issue 17, session 16).

:func:`graphlink.stages.campaign_consensus.consensus_groups` leaves out of Leiden the nodes with no edge
reaching the resolution (exact: they are alone in every CPM optimum) and the edges below a floor (bounded),
and takes fewer runs on large graphs. These tests check the groups do not change for it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig
from graphlink.stages.campaign_consensus import (CONSENSUS_RUNS, EDGE_FLOOR, MIN_CONSENSUS_RUNS, consensus_groups,
                                                 consensus_runs, grouping_edges)

RESOLUTION = 0.35


def campaign_graph(rng_seed: int, groups: int = 12, size: int = 5) -> tuple[pl.DataFrame, int]:
    """``groups`` campaigns of ``size`` clusters (inner similarity 0.4-0.9), one light edge between
    consecutive campaigns' first clusters (0.1-0.3), as a cluster similarity graph."""
    rng = np.random.default_rng(rng_seed)
    src, tgt, w = [], [], []
    for g in range(groups):
        nodes = range(g * size, (g + 1) * size)
        for i in nodes:
            for j in nodes:
                if i < j:
                    src.append(i); tgt.append(j); w.append(float(rng.uniform(0.4, 0.9)))
        if g:
            src.append((g - 1) * size); tgt.append(g * size); w.append(float(rng.uniform(0.1, 0.3)))
    return pl.DataFrame({"source": src, "target": tgt, "weight": w}), groups * size


def groups_of(labels: np.ndarray, nodes: int) -> list[tuple[int, ...]]:
    """The groups over the first ``nodes`` nodes, as sorted tuples (labels aside)."""
    out: dict[int, list[int]] = {}
    for node, label in enumerate(labels[:nodes].tolist()):
        out.setdefault(label, []).append(node)
    return sorted(tuple(g) for g in out.values())


def test_the_campaigns_are_found():
    config = CommunityConfig(campaign_resolution=RESOLUTION)
    for rng_seed in range(4):
        edges, n = campaign_graph(rng_seed)
        assert groups_of(consensus_groups(edges, n, config), n) == [tuple(range(g, g + 5)) for g in range(0, n, 5)]


def test_weak_nodes_and_light_edges_change_no_group():
    # Clusters tied to everybody only by popular values (every edge below the resolution) and light edges
    # between campaigns: left out, the campaigns come out as with every run on the whole graph.
    config = CommunityConfig(campaign_resolution=RESOLUTION)
    for rng_seed in range(4):
        edges, n = campaign_graph(rng_seed)
        rng = np.random.default_rng(100 + rng_seed)
        weak = 40
        noise = pl.DataFrame({"source": rng.integers(0, n, 600), "target": n + rng.integers(0, weak, 600),
                              "weight": rng.uniform(0.001, RESOLUTION * 0.99, 600)}).unique(["source", "target"])
        light = pl.DataFrame({"source": rng.integers(0, n // 2, 80), "target": n // 2 + rng.integers(0, n // 2, 80),
                              "weight": rng.uniform(0.001, EDGE_FLOOR * RESOLUTION * 0.99, 80)})
        noisy = pl.concat([edges, noise, light]).unique(["source", "target"], keep="first", maintain_order=True)
        kept = grouping_edges(noisy, RESOLUTION)
        assert kept.height == edges.height, "every weak node's and light edge's row is left out"
        reduced = consensus_groups(noisy, n + weak, config)
        assert groups_of(reduced, n) == groups_of(consensus_groups(edges, n, config), n)
        assert len(set(reduced[n:].tolist())) == weak, "clusters reaching nobody at the resolution stay alone"


def test_an_edge_is_kept_when_both_ends_reach_the_resolution():
    # 0-1 at the resolution: both can group; 2 reaches 1 at 0.2 only, so its edge goes though 1 can group.
    edges = pl.DataFrame({"source": [0, 1, 1], "target": [1, 2, 3], "weight": [RESOLUTION, 0.2, 0.5]})
    assert grouping_edges(edges, RESOLUTION).rows() == [(0, 1, RESOLUTION), (1, 3, 0.5)]


def test_runs_fall_with_the_graph_but_not_below_the_floor():
    small, large, huge = consensus_runs(5_000), consensus_runs(700_000), consensus_runs(10**9)
    assert small == CONSENSUS_RUNS
    assert MIN_CONSENSUS_RUNS < large < CONSENSUS_RUNS
    assert huge == MIN_CONSENSUS_RUNS
