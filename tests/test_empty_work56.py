"""Stages that skip their queries when there is nothing to work on answer as the full path does (session 56, perf56).

A small detect ran ~2,000 polars queries, a fifth of them on empty frames (no flagged cluster, no tied value, no
candidate). Those steps now return at once; each test here builds a small input that takes the early return and
checks the answer against the full path's: the same columns and dtypes as a run that does the work, and the same
(empty or unchanged) content.
"""

from __future__ import annotations

from importlib import metadata

import polars as pl

from graphlink.config import GraphConfig
from graphlink.pipeline import package_versions
from graphlink.stages.campaign_flags import operator_ties
from graphlink.stages.lone_cells import lone_ties
from graphlink.stages.outsiders import address_bystanders, fleet_outsiders
from graphlink.stages.pendants import own_value_members
from graphlink.stages.tie_evidence import with_tie_evidence
from graphlink.stages.tie_weights import weighed
from graphlink.stages.tie_words import flagged_through

U32 = pl.UInt32


def _tie_world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Three clusters in two campaigns; card 0 held by clusters 1 and 2, card 1 by clusters 1 and 3 and outsiders."""
    camp = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 2, 2]})
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 2, 2, 3, 3]}, schema_overrides={"account_idx": U32})
    aff = pl.DataFrame({"account_idx": [0, 1, 2, 3, 0, 1, 4, 5, 6, 7, 8], "signal_idx": [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]},
                       schema_overrides={"account_idx": U32, "signal_idx": U32})
    sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment"] * 2, "linked": [True] * 2, "df": [4, 7]},
                       schema_overrides={"signal_idx": U32})
    return camp, part, aff, sig


def test_operator_ties_without_a_loud_cluster_is_the_empty_table_a_tie_would_fill():
    camp, part, aff, sig = _tie_world()
    tied = operator_ties(camp, part, aff, sig, pl.Series([1]))
    assert tied.height == 1  # cluster 2 tied to loud cluster 1 by card 0
    for loud in (pl.Series([], dtype=pl.Int64), pl.Series([None], dtype=pl.Int64)):
        none = operator_ties(camp, part, aff, sig, loud, strong=pl.Series([2, 3]))
        assert none.is_empty() and none.schema == tied.schema


def test_weighed_with_nothing_to_weigh_keeps_the_full_paths_columns():
    _, part, aff, sig = _tie_world()
    rows = pl.DataFrame({"cluster_id": [2], "signal_idx": [0], "private": [True], "text": [False], "contact": [False]},
                        schema_overrides={"signal_idx": U32})
    near = pl.DataFrame({"cluster_id": [2], "signal_idx": [0]}, schema={"cluster_id": pl.Int64, "signal_idx": U32})
    aside = pl.DataFrame({"cluster_id": [1], "signal_idx": [0]}, schema={"cluster_id": pl.Int64, "signal_idx": U32})
    full_rows, full_split = weighed(rows, near, aside, part, aff, sig, pl.Series([1]))
    assert full_rows.height == 1  # the card is the operator's own (half its uses): kept, not a sliver
    empty_rows, empty_split = weighed(rows.clear(), near.clear(), aside, part, aff, sig, pl.Series([1]))
    assert empty_rows.is_empty() and empty_split.is_empty()
    assert empty_rows.schema == full_rows.schema and empty_split.schema == full_split.schema


def _stats_world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One cluster of five on a template (prompt 9) and an address (ip 8); member 4 off the script, linked by the
    address alone."""
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1] * 5}, schema_overrides={"account_idx": U32})
    aff = pl.DataFrame({"account_idx": [0, 1, 2, 3, 0, 1, 2, 3, 4], "signal_idx": [9, 9, 9, 9, 8, 8, 8, 8, 8]},
                       schema_overrides={"account_idx": U32, "signal_idx": U32})
    sig = pl.DataFrame({"signal_idx": [8, 9], "kind": ["ip", "prompt"], "df": [5, 4]}, schema_overrides={"signal_idx": U32})
    stats = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "prompts_sampled": [10] * 5, "prompts_scripted": [10, 10, 10, 10, 0]},
                         schema_overrides={"account_idx": U32})
    counts = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "kind": ["ip_net"] * 5, "n_values": [40, 50, 60, 45, 1]},
                          schema_overrides={"account_idx": U32})
    return part, aff, sig, stats, counts


def test_fleet_outsiders_of_unflagged_clusters_are_the_address_bystanders_alone():
    part, aff, sig, stats, counts = _stats_world()
    bystanders = address_bystanders(part, aff, sig, stats)
    for flagged in (True, False):
        scored = pl.DataFrame({"cluster_id": [1], "flagged": [flagged], "ip_spread": [1.0]})
        out = fleet_outsiders(part, scored, counts, memberships=aff, signals=sig, account_stats=stats)
        assert out.dtype == U32
        if not flagged:  # no fleet to judge by rotation or phrasing: only the bystander test speaks
            assert out.to_list() == bystanders["account_idx"].unique().sort().to_list()
    # Nobody off the script: the same empty frame, its columns those of a frame with a bystander in it.
    on_script = stats.with_columns(pl.lit(10).alias("prompts_scripted"))
    none = address_bystanders(part, aff, sig, on_script)
    assert none.is_empty() and none.schema == bystanders.schema


def test_flagged_through_without_an_inherited_flag_is_empty_with_its_columns():
    why = ["tied to flagged cluster 9 (campaign 2) by 6 prompt phrases; x", "proxies"]
    cl = pl.DataFrame({"campaign_id": [5, 6], "flagged": [True, True], "flagged_own": [False, True], "why": why},
                      schema_overrides={"campaign_id": pl.UInt32})
    some = flagged_through(cl)
    assert some.rows() == [(5, "cluster 9 (campaign 2)")]
    none = flagged_through(cl.with_columns(pl.lit(True).alias("flagged_own")))
    assert none.is_empty() and none.schema == some.schema == pl.Schema({"campaign_id": pl.UInt32, "through": pl.String})


def test_tie_evidence_with_nothing_tied_is_the_evidence_with_its_new_column():
    ev = pl.DataFrame({"cluster_id": [2], "kind": ["payment"], "value": ["card"], "accounts_sharing": [2], "weight": [1.0],
                       "df": [5], "ties": [False]})
    tied = pl.DataFrame(schema={"cluster_id": pl.Int64, "values": pl.List(U32)})
    cl = pl.DataFrame({"cluster_id": [2], "flagged": [True], "flagged_own": [False]})
    part = pl.DataFrame({"account_idx": [0, 1], "cluster_id": [2, 2]}, schema={"account_idx": U32, "cluster_id": pl.Int64})
    aff = pl.DataFrame({"account_idx": [0, 1], "signal_idx": [0, 0]}, schema={"account_idx": U32, "signal_idx": U32})
    sig = pl.DataFrame({"signal_idx": [0], "kind": ["payment"], "value": ["card"], "weight": [1.0], "df": [5]},
                       schema_overrides={"signal_idx": U32})
    out = with_tie_evidence(ev, tied, cl, part, aff, sig)
    assert out.drop("outside_flagged").equals(ev) and out["outside_flagged"].dtype == U32
    assert out["outside_flagged"].null_count() == 1


def test_lone_ties_without_a_tie_is_empty_with_the_documented_columns():
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 2]}, schema_overrides={"account_idx": U32})
    aff = pl.DataFrame({"account_idx": [0, 1, 2, 3], "signal_idx": [0, 0, 1, 1]}, schema={"account_idx": U32, "signal_idx": U32})
    sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment"] * 2, "df": [2, 2], "weight": [1.0, 1.0], "linked": [True] * 2},
                       schema_overrides={"signal_idx": U32})
    clusters = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [1, 2], "flagged": [True, True]})
    out = lone_ties(clusters, part, aff, sig, GraphConfig(), 0.1)  # two lone cells sharing nothing
    assert out.is_empty()
    assert out.schema == pl.Schema({"campaign_id": pl.Int64, "to": pl.Int64, "similarity": pl.Float64})


def test_own_value_members_without_a_candidate_leaves_the_partition_as_it_was():
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, None, None]}, schema_overrides={"account_idx": U32})
    sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["friend"] * 3, "df": [3, 2, 1]}, schema_overrides={"signal_idx": U32})
    mem = pl.DataFrame({"account_idx": [0, 1, 2, 3, 0, 3], "signal_idx": [0, 0, 0, 2, 1, 1]},
                       schema={"account_idx": U32, "signal_idx": U32})
    _, _, joined = own_value_members(part, None, mem, sig)
    assert joined.height == 1
    # The loose accounts hold none of the cluster's values: nothing joins, the frames come back as they were.
    apart = mem.filter(pl.col("account_idx") < 2)
    out, wholes, none = own_value_members(part, part, apart, sig)
    assert out.equals(part) and wholes.equals(part)
    assert none.is_empty() and none.schema == joined.schema


def test_package_versions_are_the_installed_ones_in_a_fresh_dict_each_call():
    first = package_versions()
    assert first["polars"] == metadata.version("polars") and first["python"]
    first["polars"] = "changed"
    assert package_versions()["polars"] == metadata.version("polars")
