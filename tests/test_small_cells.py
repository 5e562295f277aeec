"""A cell too small to flag alone, with fleet tooling of its own, that writes a flagged operator's template.

``min_flag_size`` (5) counts an operator's accounts, not a cluster's. An operator of thousands leaves cells of two
to four accounts (Leiden cuts its sparse pools into card groups) that send its template in most of their requests,
with tooling of their own (proxies, a card pool) whether or not it reaches the threshold; each is a campaign of its own, and the template -- held mostly by the
operator's flagged clusters, the rest by its accounts spread over many campaigns and none -- is no campaign's own, so
no tie by specific values reaches them (dev ind_s2_224000: 401 ring accounts in 143 such clusters). Such a cell is
tied to the operator (:func:`graphlink.stages.campaign_flags.operator_ties`, ``strong``) when most of its members
hold one of five or more of the template's values. A group sending the template in under half its requests or with no tooling of its own, a
ring account and two bystanders in one cluster, or a cell writing fewer of the template's values stays untied.

Hand-built: cluster 1 is loud (20 accounts); 2 a strong cell of 4 (all write the template); 3 a strong cluster of
3 whose one ring account alone writes it; 4 a cluster of 4 without evidence of its own writing it; 10 of the
operator's accounts unclustered write it too. Each cluster is a campaign of its own.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_flags import MIN_TIE_VALUES, flag_with_campaign, operator_ties
from graphlink.stages.tie_words import TEMPLATE_CELL

LOUD, CELL, MIXED, TAME = 1, 2, 3, 4
MEMBERS = {LOUD: range(0, 20), CELL: range(20, 24), MIXED: range(24, 27), TAME: range(27, 31)}
UNCLUSTERED = range(31, 41)


def world(template_values: int = 6, cell_holders: int = 4):
    """Partition, affiliations, signals and campaigns; the template's ``template_values`` prompt phrases are held by
    every loud account, ``cell_holders`` of the cell's, the mixed cluster's first account, every account of cluster
    4 and the 10 unclustered ones: 20 of at most 39 holders are the loud cluster's (most)."""
    holders = (list(MEMBERS[LOUD]) + list(MEMBERS[CELL])[:cell_holders] + [MEMBERS[MIXED][0]] + list(MEMBERS[TAME])
               + list(UNCLUSTERED))
    aff = pl.DataFrame({"account_idx": [a for _ in range(template_values) for a in holders],
                        "signal_idx": [v for v in range(template_values) for _ in holders]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": list(range(template_values)), "kind": ["prompt"] * template_values,
                        "linked": [True] * template_values, "df": [len(holders)] * template_values},
                       schema={"signal_idx": pl.UInt32, "kind": pl.String, "linked": pl.Boolean, "df": pl.Int64})
    part = pl.DataFrame({"account_idx": [a for c in MEMBERS for a in MEMBERS[c]] + list(UNCLUSTERED),
                         "cluster_id": [c for c in MEMBERS for _ in MEMBERS[c]] + [None] * len(UNCLUSTERED)},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    campaigns = pl.DataFrame({"cluster_id": list(MEMBERS), "campaign_id": list(MEMBERS)})
    return part, aff, sig, campaigns


def _tied(strong, **kw) -> dict[int, int]:
    part, aff, sig, campaigns = world(**kw)
    ties = operator_ties(campaigns, part, aff, sig, pl.Series([LOUD]), strong=strong)
    return dict(ties.select("cluster_id", "lead").iter_rows())


def test_a_strong_small_cell_writing_the_operators_template_is_tied_to_it():
    assert _tied(pl.Series([CELL, MIXED])) == {CELL: LOUD}


def test_without_own_evidence_the_template_ties_nothing():
    assert _tied(None) == {}
    assert _tied(pl.Series([], dtype=pl.Int64)) == {}


def test_one_ring_account_among_bystanders_is_no_cell():
    # MIXED is strong (its ring account rotates proxies) but one of its three members writes the template.
    assert MIXED not in _tied(pl.Series([MIXED]))
    # Two of the cell's four members are not most of it; three are.
    assert _tied(pl.Series([CELL]), cell_holders=2) == {}
    assert _tied(pl.Series([CELL]), cell_holders=3) == {CELL: LOUD}


def test_fewer_template_values_than_a_tie_needs_tie_nothing():
    assert _tied(pl.Series([CELL]), template_values=MIN_TIE_VALUES - 1) == {}
    assert _tied(pl.Series([CELL]), template_values=MIN_TIE_VALUES) == {CELL: LOUD}


def test_the_tied_cell_is_flagged_as_the_operators():
    part, aff, sig, campaigns = world()
    ties = operator_ties(campaigns, part, aff, sig, pl.Series([LOUD]), strong=pl.Series([CELL, MIXED]))
    clusters = pl.DataFrame({"cluster_id": list(MEMBERS), "size": [len(m) for m in MEMBERS.values()],
                             "score": [0.95, 0.9, 0.8, 0.1], "flagged": [True, False, False, False],
                             "why": ["proxies", "proxies", "proxies", "one card"]}).join(campaigns, on="cluster_id")
    out = flag_with_campaign(clusters, 0.6, 5, tied_to=ties)
    flags = dict(out.select("cluster_id", "flagged").iter_rows())
    assert flags == {LOUD: True, CELL: True, MIXED: False, TAME: False}
    assert out.filter(pl.col("cluster_id") == CELL)["why"][0] == (
        f"tied to flagged cluster 1 (campaign 1) by 6 prompt phrases{TEMPLATE_CELL}; proxies")  # which rule tied it
    assert TEMPLATE_CELL == ", the operator's template written by most members"


def scored(rows, tooling="ip_spread") -> pl.DataFrame:
    """``cluster_id, flagged, score, template_share, <tooling>`` rows; the other evasion components null."""
    from graphlink.stages.small_cells import TOOLING

    frame = pl.DataFrame(rows, schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "score": pl.Float64,
                                       "template_share": pl.Float64, tooling: pl.Float64}, orient="row")
    return frame.with_columns([pl.lit(None, pl.Float64).alias(t) for t in (*TOOLING, "around_the_clock")
                               if t not in frame.columns])


def test_strong_clusters_are_unflagged_mostly_templated_and_show_some_tooling():
    from graphlink.stages.small_cells import STRONG_TEMPLATE_SHARE, strong_clusters

    c = scored([(1, True, 0.95, 1.0, 1.0), (2, False, 0.9, 0.94, 1.0), (3, False, 0.71, 0.05, 1.0),
                (4, False, 0.2, 1.0, 0.05), (5, False, 0.6, STRONG_TEMPLATE_SHARE, 0.5), (6, False, 0.9, None, 1.0),
                (7, False, 0.3, STRONG_TEMPLATE_SHARE - 0.01, 0.5), (8, False, 0.0, 1.0, 0.0), (9, False, 0.0, 1.0, None)])
    # 1 is flagged already; 3 is heavy users behind a rotating VPN (score from proxies and volume) that send a
    # viral prompt now and then; 4 is an operator's tame cell on a few proxies, under the threshold; 6 sent no
    # prompts; 7 sends templated text in under half its requests; 8 and 9 send the template with no tooling at all
    # (a class pasting a public prompt).
    assert strong_clusters(c).to_list() == [2, 4, 5]
    # Running around the clock is no tooling: companies' batch jobs do.
    batch = scored([(1, False, 0.1, 1.0, 0.3)], tooling="around_the_clock")
    assert strong_clusters(batch).to_list() == []
    for t in ("card_pool", "scripted_accounts", "creation_burst", "short_lived"):
        assert strong_clusters(scored([(1, False, 0.1, 1.0, 0.2)], tooling=t)).to_list() == [1], t


def test_a_cell_under_the_threshold_that_mostly_sends_the_template_is_flagged_as_the_operators():
    # The pipeline's chain (scoring_stage): strong_clusters -> operator_ties -> flag_with_campaign. The cell scores
    # 0.2 (a few proxies, an ordinary pace). A tame group sending the template in a third of its requests, or in all
    # of them with no tooling of its own, stays unflagged.
    from graphlink.stages.small_cells import strong_clusters

    part, aff, sig, campaigns = world()
    for tame_share, tame_tooling in ((0.3, 0.5), (1.0, 0.0)):
        clusters = (scored([(LOUD, True, 0.95, 1.0, 1.0), (CELL, False, 0.2, 0.9, 0.1), (MIXED, False, 0.8, 0.9, 1.0),
                            (TAME, False, 0.0, tame_share, tame_tooling)])
                    .with_columns(size=pl.Series([len(m) for m in MEMBERS.values()], dtype=pl.UInt32),
                                  why=pl.Series(["proxies", "templated", "proxies", "proxies"]))
                    .join(campaigns, on="cluster_id"))
        strong = strong_clusters(clusters)
        assert sorted(strong.to_list()) == [CELL, MIXED]
        ties = operator_ties(campaigns, part, aff, sig, pl.Series([LOUD]), strong=strong)
        out = flag_with_campaign(clusters.select("cluster_id", "size", "score", "flagged", "why", "campaign_id"),
                                 0.6, 5, tied_to=ties)
        assert dict(out.select("cluster_id", "flagged").iter_rows()) == {LOUD: True, CELL: True, MIXED: False, TAME: False}
