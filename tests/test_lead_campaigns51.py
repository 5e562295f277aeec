"""A cluster flagged through a text or address tie that the grouping left alone joins its lead's campaign, unless
it could be a fleet on its own (session 51, helper op51; :mod:`graphlink.stages.lead_campaigns`).

Dev independent worlds a1 / t1 / o1: an operator's small template cells (2-8 accounts) and tame cells (29-30
accounts, score 0), each alone in its campaign, were flagged "tied to flagged cluster N (campaign M)" and stayed in
campaigns of their own -- the largest loss of ARI by operator there. Scenario ``giant`` seed 1000: another
operator's only cell (159 accounts on its own cards and clock) sends the same public template and is tied the
same way: it must keep its campaign.
"""

from __future__ import annotations

import polars as pl
import pytest

import graphlink.stages.lead_campaigns as lead_campaigns
from graphlink.stages.campaign_flags import flag_with_campaign

COUNTS = {"ties": pl.UInt32, "cards": pl.UInt32, "texts": pl.UInt32, "addresses": pl.UInt32}


def tied(rows: list[tuple[int, int, int, int, int]]) -> pl.DataFrame:
    """``(cluster, lead, cards, texts, addresses)`` per tied cluster."""
    return pl.DataFrame({"cluster_id": [r[0] for r in rows], "lead": [r[1] for r in rows],
                         "ties": [r[2] + r[3] + r[4] for r in rows], "cards": [r[2] for r in rows],
                         "texts": [r[3] for r in rows], "addresses": [r[4] for r in rows]}, schema_overrides=COUNTS)


def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cluster 1 (loud, campaign 1) leads every tie.

    2: a 3-account template cell alone in campaign 2 (score 0.73: too small to flag); 3: a 30-account tame cell alone
    in campaign 3 (score 0); 4: a 159-account cell alone in campaign 4 with a fleet's evidence of its own (score 0.55);
    5 and 6: one campaign (5), both tied by text; 7 tied by a card and 8 by text, one campaign (6): the card moves 7,
    leaving 8 alone; 9: a 4-account cell tied by addresses, alone in campaign 7; 10 unflagged, alone, untied.
    """
    cl = pl.DataFrame({
        "cluster_id": list(range(1, 11)),
        "size": [140, 3, 30, 159, 6, 6, 5, 4, 4, 8],
        "score": [0.95, 0.73, 0.0, 0.55, 0.2, 0.2, 0.1, 0.1, 0.5, 0.3],
        "flagged": [True] + [False] * 9,
        "why": ["proxies"] + [f"c{i}" for i in range(2, 11)],
        "campaign_id": [1, 2, 3, 4, 5, 5, 6, 6, 7, 8]})
    ties = tied([(2, 1, 0, 80, 0), (3, 1, 0, 27, 0), (4, 1, 0, 12, 0), (5, 1, 0, 9, 0), (6, 1, 0, 9, 0),
                 (7, 1, 1, 0, 0), (8, 1, 0, 6, 0), (9, 1, 0, 0, 5)])
    return cl, ties


def campaigns(out: pl.DataFrame) -> dict[int, int]:
    return dict(out.select("cluster_id", "campaign_id").iter_rows())


def test_lone_tied_cells_that_cannot_be_a_fleet_on_their_own_join_their_leads_campaign():
    cl, ties = world()
    got = campaigns(flag_with_campaign(cl, 0.6, 5, tied_to=ties))
    assert got[2] == 1  # a template cell too small to flag as a group
    assert got[3] == 1  # a tame cell: nothing of its own looks like a fleet
    assert got[9] == 1  # tied by addresses, 4 accounts


def test_a_lone_cell_with_a_fleets_evidence_of_its_own_keeps_its_campaign():
    cl, ties = world()
    assert campaigns(flag_with_campaign(cl, 0.6, 5, tied_to=ties))[4] == 4


def test_clusters_the_grouping_put_together_keep_their_campaign():
    cl, ties = world()
    got = campaigns(flag_with_campaign(cl, 0.6, 5, tied_to=ties))
    assert got[5] == got[6] == 5
    assert got[10] == 8  # untied: never moved


def test_a_cell_left_alone_by_its_card_tied_partner_follows_the_lead():
    # The card moves 7 into campaign 1; 8, grouped only with 7, is then alone and follows it.
    cl, ties = world()
    got = campaigns(flag_with_campaign(cl, 0.6, 5, tied_to=ties))
    assert got[7] == 1 and got[8] == 1


def test_the_moves_change_no_flag_and_no_why(monkeypatch):
    cl, ties = world()
    on = flag_with_campaign(cl, 0.6, 5, tied_to=ties)
    monkeypatch.setattr(lead_campaigns, "ALONE_FOLLOWS_LEAD", False)
    off = flag_with_campaign(cl, 0.6, 5, tied_to=ties)
    assert on.select("cluster_id", "flagged", "flagged_own", "why").equals(off.select("cluster_id", "flagged", "flagged_own", "why"))
    assert campaigns(off)[2] == 2 and campaigns(off)[3] == 3  # as before session 51
    assert on["why"][1] == "tied to flagged cluster 1 (campaign 1) by 80 prompt phrases; c2"


@pytest.mark.parametrize("size,score,moved", [(4, 0.5, True), (5, 0.0, True), (5, 0.01, False), (159, 0.55, False)])
def test_a_fleet_on_its_own_is_min_flag_size_accounts_with_a_score(size, score, moved):
    cl = pl.DataFrame({"cluster_id": [1, 2], "size": [50, size], "score": [0.9, score], "flagged": [True, False],
                       "why": ["proxies", "x"], "campaign_id": [1, 2]})
    out = flag_with_campaign(cl, 0.6, 5, tied_to=tied([(2, 1, 0, 7, 0)]))
    assert (campaigns(out)[2] == 1) is moved
