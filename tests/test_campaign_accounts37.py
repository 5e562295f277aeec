"""Campaigns are grouped over account pairs, not cluster pairs (README "How it works", campaigns).

An operator's large cell tied to each of its small fragments, the fragments tied to nothing but the
cell: counted over cluster pairs the fragments' zero similarity to each other outvotes the cell and all
but one fragment are campaigns of their own; counted over account pairs (each cluster weighing its
size) they join the cell. Unrelated groups still stay apart.
"""
import numpy as np
import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_consensus import consensus_groups
from graphlink.stages.campaigns import cluster_campaigns

STAR = pl.DataFrame({"source": [0, 0, 0, 0], "target": [1, 2, 3, 4], "weight": [0.42] * 4})


def test_fragments_tied_to_one_large_cell_join_it_when_accounts_count():
    by_accounts = consensus_groups(STAR, 5, CommunityConfig(), sizes=np.array([100, 3, 3, 3, 3]))
    assert len(set(by_accounts.tolist())) == 1


def test_counted_over_cluster_pairs_the_fragments_fall_apart():
    # The former grouping (every node weighs 1): the check above fails without sizes.
    by_clusters = consensus_groups(STAR, 5, CommunityConfig())
    assert len(set(by_clusters.tolist())) > 1


def test_two_operators_weakly_tied_stay_two_campaigns():
    e = pl.DataFrame({"source": [0, 2, 0, 1], "target": [1, 3, 2, 3], "weight": [0.6, 0.6, 0.05, 0.05]})
    g = consensus_groups(e, 4, CommunityConfig(), sizes=np.array([100, 50, 80, 30])).tolist()
    assert g[0] == g[1] and g[2] == g[3] and g[0] != g[2]


def test_equal_sizes_group_as_cluster_pairs():
    # Sizes all equal: the account-pair average is the cluster-pair average.
    e = pl.DataFrame({"source": [0, 1, 2], "target": [1, 2, 3], "weight": [0.9, 0.1, 0.8]})
    assert consensus_groups(e, 5, CommunityConfig(), sizes=np.full(5, 7)).tolist() == \
        consensus_groups(e, 5, CommunityConfig()).tolist()


def _star_world():
    """A 100-account cell holding template values 0-3 and four 3-account fragments holding one each;
    two 3-account groups of strangers share value 4 only."""
    big = [(a, v) for a in range(100) for v in range(4)]
    frag = [(100 + 3 * i + k, i) for i in range(4) for k in range(3)]
    strangers = [(112 + k, 4) for k in range(6)]
    rows = big + frag + strangers
    aff = pl.DataFrame({"account_idx": [a for a, _ in rows], "signal_idx": [v for _, v in rows]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    cluster = [1] * 100 + [2 + i for i in range(4) for _ in range(3)] + [6] * 3 + [7] * 3
    part = pl.DataFrame({"account_idx": list(range(118)), "cluster_id": cluster},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    df = aff.group_by("signal_idx").len().sort("signal_idx")["len"].to_list()
    sig = pl.DataFrame({"signal_idx": list(range(5)), "kind": ["prompt"] * 5, "df": df, "weight": [1.0] * 5,
                        "linked": [True] * 5}, schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    return part, aff, sig


def test_cluster_campaigns_puts_an_operators_fragments_with_its_cell():
    part, aff, sig = _star_world()
    camp = dict(cluster_campaigns(part, aff, sig, GraphConfig(), CommunityConfig()).iter_rows())
    assert camp[1] == camp[2] == camp[3] == camp[4] == camp[5]
    assert camp[6] == camp[7] != camp[1]
