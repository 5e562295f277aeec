"""A campaign move (pool pieces, lone cells) rewrites the lead's campaign named in a why (session 56)."""

import polars as pl

from graphlink.stages.pool_pieces import moved_campaigns, pool_pieces


def _world():
    # Cluster 1 (campaign 1, with cluster 3) and lone cluster 2 hold five addresses no one else holds; cluster 4 is
    # its own campaign and inherited its flag from cluster 2, so its why names cluster 2's campaign.
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 6, 7], "cluster_id": [1, 1, 2, 2, 3, 3, 4, 4]},
                        schema_overrides={"account_idx": pl.UInt32})
    aff = pl.DataFrame({"account_idx": [0, 2] * 5, "signal_idx": [v for v in range(5) for _ in (0, 1)]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": list(range(5)), "kind": ["ip"] * 5, "df": [2] * 5},
                       schema_overrides={"signal_idx": pl.UInt32})
    cl = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "size": [2] * 4, "flagged": [True] * 4, "campaign_id": [1, 2, 1, 4],
                       "why": ["proxies", "proxies", "proxies", "tied to flagged cluster 2 (campaign 2) by one card"]})
    return cl, part, aff, sig


def test_pool_pieces_rewrites_the_moved_leads_campaign_in_why():
    cl, part, aff, sig = _world()
    out = pool_pieces(cl, part, aff, sig, 0.35, 5)
    assert out["campaign_id"].to_list() == [1, 1, 1, 4]
    assert out["why"].to_list()[3] == "tied to flagged cluster 2 (campaign 1) by one card"
    assert out.columns == cl.columns and out.schema == cl.schema


def test_moved_campaigns_replaces_at_once_and_not_prefixes():
    cl = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 12, 2],
                       "why": ["lead (campaign 1) and (campaign 12)", "x (campaign 2)", None]})
    out = moved_campaigns(cl, {1: 2, 2: 12})
    assert out["campaign_id"].to_list() == [2, 12, 12]
    # Each id is replaced once (1 -> 2 is not then read as 2 -> 12), and "(campaign 12)" is not "(campaign 1)".
    assert out["why"].to_list() == ["lead (campaign 2) and (campaign 12)", "x (campaign 12)", None]


def test_moved_campaigns_without_moves_or_why_keeps_the_frame():
    cl = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [1, 2]})
    assert moved_campaigns(cl, {}).equals(cl)
    assert moved_campaigns(cl, {2: 1})["campaign_id"].to_list() == [1, 1]
