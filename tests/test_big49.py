"""Campaign consensus joins groups by what most runs agree on, not by chains of majority edges (session 49, big49).

Dev independent 177 at 224,000 accounts with its accounts table: the neighbour grouping's five Leiden runs each kept
one operator's 9,700 accounts apart from the other two operators' group, yet 5,213 majority edges through small
clusters made the three one campaign (ARI by operator 0.006). ``majority_groups`` joins a component's nodes by
average linkage over the runs instead (BENCHMARKS.md, forty-ninth pass).
"""

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig
from graphlink.stages.campaign_consensus import consensus_groups, majority_groups


def test_a_node_grouped_with_two_groups_does_not_join_them():
    # Runs 0-2 put node 2 with 0-1, runs 2-4 with 3-4; 0-1 and 3-4 are together in run 2 alone.
    runs = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]])
    labels = majority_groups(np.zeros(5, dtype=int), runs, np.array([0, 1, 2, 2]), np.array([1, 2, 3, 4]))
    assert labels[0] == labels[1] == labels[2] and labels[3] == labels[4] and labels[0] != labels[3]


def test_a_component_the_runs_agree_on_stays_whole():
    # Node 3 leaves its group in one run of five: the group's pairs are together 4.4 runs in 5 on average.
    runs = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])
    labels = majority_groups(np.zeros(4, dtype=int), runs, np.array([0, 1, 2]), np.array([1, 2, 3]))
    assert len(set(labels.tolist())) == 1


def test_components_are_never_joined():
    # Two components whose nodes carry the same run labels stay two groups.
    runs = np.zeros((3, 4), dtype=int)
    labels = majority_groups(np.array([0, 0, 1, 1]), runs, np.array([0, 2]), np.array([1, 3]))
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]


def test_consensus_groups_tight_groups_unchanged():
    # Two tight triangles joined by one light edge: two groups, as the majority edges' components gave.
    e = pl.DataFrame({"source": [0, 0, 1, 3, 3, 4, 2], "target": [1, 2, 2, 4, 5, 5, 3],
                      "weight": [0.9, 0.8, 0.85, 0.9, 0.8, 0.85, 0.1]})
    labels = consensus_groups(e, 6, CommunityConfig())
    assert len(set(labels[:3].tolist())) == 1 and len(set(labels[3:].tolist())) == 1 and labels[0] != labels[3]
