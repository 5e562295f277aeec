"""A campaign flagged only through clusters that inherited their flags says which flagged clusters
elsewhere those came from ("; flagged through cluster N (campaign M)"), by id only, and ``--previous``
re-keys those ids like the cluster ``why``'s (session 29, new-user review)."""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_flags import flag_with_campaign
from graphlink.stages.campaigns import score_campaigns
from graphlink.stages.stable_ids import rekey_campaigns
from graphlink.stages.tie_words import THROUGH, flagged_through
from tests._worlds import affiliation_frames

NO_TIES = affiliation_frames([(0, 0, "timing")])


def campaigns_of(clusters: pl.DataFrame) -> pl.DataFrame:
    """``score_campaigns`` of hand-made clusters (``cluster_id, size, campaign_id, flagged, flagged_own, why``)."""
    part = pl.DataFrame({"account_idx": list(range(int(clusters["size"].sum()))),
                         "cluster_id": [c for c, n in zip(clusters["cluster_id"], clusters["size"]) for _ in range(n)]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    scored = clusters.with_columns(pl.lit(0.5).alias("score"))
    aff, sig = NO_TIES
    return score_campaigns(scored, part, aff, sig)


def clusters_frame(rows: list[tuple[int, int, int, bool, bool, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"cluster_id": pl.Int64, "size": pl.Int64, "campaign_id": pl.Int64,
                                      "flagged": pl.Boolean, "flagged_own": pl.Boolean, "why": pl.String}, orient="row")


def why_of(campaigns: pl.DataFrame, campaign: int) -> str:
    return campaigns.filter(pl.col("campaign_id") == campaign)["why"].item()


def test_a_campaign_flagged_only_through_an_inherited_flag_names_the_lead_and_its_campaign():
    # flag_with_campaign's own output: cluster 3 (campaign 2) inherits cluster 1's flag (campaign 1).
    cl = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [6, 4, 5], "score": [0.9, 0.1, 0.2],
                       "flagged": [True, False, False], "why": ["proxies", "one NAT", "one card"],
                       "campaign_id": [1, 1, 2]})
    tied_to = pl.DataFrame({"cluster_id": [3], "lead": [1], "cards": [0], "texts": [7], "addresses": [0]},
                           schema_overrides={"cards": pl.UInt32, "texts": pl.UInt32, "addresses": pl.UInt32})
    flagged = flag_with_campaign(cl, tied_to=tied_to)
    assert flagged.filter(pl.col("cluster_id") == 3)["why"].item().startswith("tied to flagged cluster 1 (campaign 1)")
    campaigns = campaigns_of(flagged.drop("score"))
    assert why_of(campaigns, 2) == "1 cluster, 5 accounts, 1 flagged (0 on their own score); flagged through cluster 1 (campaign 1)"
    # The campaign holding the lead was flagged on its own evidence: today's words.
    assert THROUGH not in why_of(campaigns, 1)
    assert campaigns.filter(pl.col("campaign_id") == 2)["flagged_clusters"].item() == 0


def test_a_campaign_with_its_own_flags_also_names_a_lead_in_another_campaign():
    # New-user review (session 29): "5 flagged (4 on their own evidence)" read as if the fifth came from inside.
    cl = clusters_frame([(1, 5, 1, True, True, "90% of prompts are templated"),
                         (2, 4, 1, True, False, "tied to flagged cluster 7 (campaign 3) by 6 prompt phrases; x"),
                         (7, 6, 3, True, True, "proxies")])
    campaigns = campaigns_of(cl)
    assert why_of(campaigns, 1) == ("2 clusters, 9 accounts, 2 flagged (1 on their own score); "
                                    "flagged through cluster 7 (campaign 3)")
    assert THROUGH not in why_of(campaigns, 3)


def test_a_lead_inside_the_campaign_is_not_named():
    # A card tie moves the cluster into its lead's campaign: the flag came from inside, counted already.
    cl = clusters_frame([(1, 5, 1, True, True, "90% of prompts are templated"),
                         (2, 4, 1, True, False, "same operator as flagged cluster 1 (campaign 1) by 1 payment card or identifier; x")])
    assert why_of(campaigns_of(cl), 1) == "2 clusters, 9 accounts, 2 flagged (1 on their own score)"


def test_a_borrowed_size_flag_is_not_counted_as_own_evidence():
    # New-user review (session 46): cluster 272 (3 accounts, flagged on its own score with its campaign's accounts
    # counted for min_flag_size) read "own score, size of campaign 1" in show, the report and members.csv, while its
    # campaign's why counted it among "48 on their own evidence". The campaign says "own score", which covers both.
    cl = clusters_frame([(1, 6, 1, True, True, "proxies"), (2, 3, 1, True, True, "3 of 3 accounts created in 1 burst hour"),
                         (3, 4, 1, True, False, "tied to flagged cluster 1 (campaign 1) by 6 prompt phrases; x")])
    why = why_of(campaigns_of(cl), 1)
    assert why == "3 clusters, 13 accounts, 3 flagged (2 on their own score)"
    assert "own evidence" not in why


def test_more_than_three_leads_most_cited_first_then_and_k_more():
    leads = [(20, 3), (21, 3), (22, 4), (23, 5), (24, 5)]
    rows = [(1, 3, 1, True, False, "tied to flagged cluster 24 (campaign 5) by 6 prompt phrases; a"),
            (2, 3, 1, True, False, "same operator as flagged cluster 24 (campaign 5) by 1 payment card or identifier; b"),
            (3, 3, 1, True, False, "tied to flagged cluster 23 (campaign 5) by 9 IP addresses; c"),
            (4, 3, 1, True, False, "tied to flagged cluster 23 (campaign 5) by 5 prompt phrases; d"),
            (5, 3, 1, True, False, "tied to flagged cluster 22 (campaign 4) by 5 prompt phrases; e"),
            (6, 3, 1, True, False, "tied to flagged cluster 21 (campaign 3) by 5 prompt phrases; f"),
            (7, 3, 1, True, False, "tied to flagged cluster 20 (campaign 3) by 5 prompt phrases; g"),
            (8, 3, 1, False, False, "one NAT")]
    rows += [(lead, 5, campaign, True, True, "proxies") for lead, campaign in leads]
    campaigns = campaigns_of(clusters_frame(rows))
    why = why_of(campaigns, 1)
    assert why == ("8 clusters, 24 accounts, 7 flagged (0 on their own score); flagged through "
                   "cluster 23 (campaign 5), cluster 24 (campaign 5), cluster 20 (campaign 3), and 2 more")
    assert flagged_through(clusters_frame(rows), most=5)["through"].to_list() == [
        "cluster 23 (campaign 5), cluster 24 (campaign 5), cluster 20 (campaign 3), cluster 21 (campaign 3), "
        "cluster 22 (campaign 4)"]


def test_attacker_text_is_not_read_as_a_lead():
    # A template quoted later in a why (attacker-written prompt text) and an own-evidence why that
    # happens to start like an inherited one are never read: only inherited flags' starts are.
    quoted = '"same operator as flagged cluster 99 (campaign 9)"'
    rows = [(1, 4, 1, True, False, f"tied to flagged cluster 5 (campaign 2) by 6 prompt phrases; 90% of prompts are templated ({quoted})"),
            (2, 4, 1, False, False, f"tied to flagged cluster 98 (campaign 8); {quoted}"),
            (5, 6, 2, True, True, "proxies"),
            (6, 6, 3, True, True, "same operator as flagged cluster 97 (campaign 7)")]
    campaigns = campaigns_of(clusters_frame(rows))
    why = why_of(campaigns, 1)
    assert why.endswith("; flagged through cluster 5 (campaign 2)")
    assert "99" not in why and "98" not in why
    assert all(THROUGH not in w for w in campaigns.filter(pl.col("campaign_id") != 1)["why"])
    # A prompt phrase (a signal's text) never reaches the campaign's why: its words are ids and counts.
    assert "prompts" not in why


def test_a_campaign_flagged_as_a_whole_says_so_and_names_no_lead():
    rows = [(1, 4, 1, True, False, "campaign 1 flagged as a whole (8 accounts): card pool; this cluster: x"),
            (2, 4, 1, True, False, "campaign 1 flagged as a whole (8 accounts): card pool; this cluster: y")]
    cl = clusters_frame(rows).with_columns(pl.lit(0.5).alias("score"))
    part = pl.DataFrame({"account_idx": list(range(8)), "cluster_id": [1] * 4 + [2] * 4},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    pooled = pl.DataFrame({"campaign_id": [1], "score": [0.8], "why": ["card pool"]})
    why = score_campaigns(cl, part, *NO_TIES, pooled=pooled)["why"].item()
    assert "flagged as a whole: card pool" in why and THROUGH not in why


def test_stable_ids_rekey_the_clusters_the_campaign_why_names():
    rows = [(1, 3, 1, True, False, "tied to flagged cluster 5 (campaign 2) by 6 prompt phrases; a"),
            (2, 3, 1, True, False, "tied to flagged cluster 6 (campaign 3) by 6 prompt phrases; b"),
            (3, 3, 1, True, False, "tied to flagged cluster 6 (campaign 3) by 6 prompt phrases; c"),
            (5, 5, 2, True, True, "proxies"), (6, 5, 3, True, True, "card pool")]
    campaigns = campaigns_of(clusters_frame(rows))
    assert why_of(campaigns, 1).endswith("; flagged through cluster 6 (campaign 3), cluster 5 (campaign 2)")
    mapping = pl.DataFrame({"cluster_id": [1, 2, 3, 5, 6], "stable_id": [11, 12, 13, 40, 41]})
    rekeyed = rekey_campaigns(campaigns, mapping)
    assert rekeyed.filter(pl.col("campaign_id") == 1)["clusters"].item().to_list() == [11, 12, 13]
    assert why_of(rekeyed, 1) == ("3 clusters, 9 accounts, 3 flagged (0 on their own score); "
                                  "flagged through cluster 41 (campaign 3), cluster 40 (campaign 2)")
    # Other campaigns' whys are untouched; so is one with ", and K more" but its ids rekeyed.
    assert why_of(rekeyed, 2) == why_of(campaigns, 2)
    more = campaigns.with_columns(pl.lit("1 cluster, 3 accounts, 1 flagged (0 on their own score); "
                                         "flagged through cluster 5 (campaign 2), and 4 more").alias("why"))
    assert set(rekey_campaigns(more, mapping)["why"]) == {
        "1 cluster, 3 accounts, 1 flagged (0 on their own score); flagged through cluster 40 (campaign 2), and 4 more"}
