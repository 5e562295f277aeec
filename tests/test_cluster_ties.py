"""A campaign's flag spreads only to clusters that hold its tie themselves (issue 17, session 14).

Found on a fresh independent test world at 224k accounts: a cluster of 30 people behind one carrier
NAT was grouped into an operator's campaign (8 clusters tied by 241 template values, a card and an
address) through one stock phrase 22 of them had written, and took the campaign's flag at a score of
0.107. The campaign as a whole is tied; the NAT cluster's own part of the tie is one value held by
thousands. A cluster now takes its campaign's flag only when its own members hold at least one of
the values specific to the campaign (held mostly by it, and by two of its clusters).
"""

import polars as pl

from graphlink.stages.campaign_flags import flag_with_campaign, substantial_campaigns
from graphlink.stages.campaigns import MIN_TIE_VALUES

U32 = pl.UInt32
# Cluster 1: the operator's loud cell (accounts 0-5); cluster 2: a tame cell (6-9); cluster 3: 30
# people behind a NAT (10-39); accounts 40-1039: unclustered people.
PARTITION = pl.DataFrame({"account_idx": list(range(40)),
                          "cluster_id": [1] * 6 + [2] * 4 + [3] * 30}, schema_overrides={"account_idx": U32})
CAMPAIGNS = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [7, 7, 7]})
CLUSTERS = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [6, 4, 30], "score": [0.95, 0.3, 0.1],
                         "flagged": [True, False, False], "why": ["proxies", "one card", "one NAT"],
                         "campaign_id": [7, 7, 7]})


def world(nat_values: list[tuple[str, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Template values 0..n-1 held by clusters 1 and 2 alone; then ``nat_values``: (kind, holders
    outside the campaign) each held by cluster 1 and by 22 of the NAT's 30 accounts."""
    n = MIN_TIE_VALUES + 1
    rows = [(a, v) for v in range(n) for a in range(10)]
    kinds, dfs = ["prompt"] * n, [10] * n
    for i, (kind, outside) in enumerate(nat_values):
        v = n + i
        holders = list(range(6)) + list(range(10, 32)) + list(range(40, 40 + outside))
        rows += [(a, v) for a in holders]
        kinds.append(kind)
        dfs.append(len(holders))
    aff = pl.DataFrame(rows, schema={"account_idx": U32, "signal_idx": U32}, orient="row")
    sig = pl.DataFrame({"signal_idx": list(range(len(kinds))), "kind": kinds, "linked": [True] * len(kinds),
                        "df": dfs}, schema_overrides={"signal_idx": U32})
    return aff, sig


def flags(nat_values: list[tuple[str, int]]) -> dict[int, bool]:
    aff, sig = world(nat_values)
    tied = substantial_campaigns(CAMPAIGNS, PARTITION, aff, sig, loud=pl.Series([1]))
    out = flag_with_campaign(CLUSTERS, substantial=tied)
    return dict(out.select("cluster_id", "flagged").iter_rows())


def test_a_nat_cluster_joined_by_one_stock_phrase_does_not_take_the_campaigns_flag():
    # The phrase is held by 1,000 people outside the campaign: not specific to it.
    assert flags([("prompt", 1000)]) == {1: True, 2: True, 3: False}


def test_a_nat_cluster_holding_only_phrases_others_share_takes_no_flag():
    # Four common phrases, each held by more people outside the campaign than inside it.
    assert flags([("prompt", 40)] * 4)[3] is False


def test_a_cluster_holding_one_value_specific_to_the_campaign_takes_the_flag_control():
    assert flags([("prompt", 0)]) == {1: True, 2: True, 3: True}


def test_a_cluster_holding_the_operators_template_takes_the_flag_control():
    assert flags([("prompt", 0)] * MIN_TIE_VALUES) == {1: True, 2: True, 3: True}


def test_a_cluster_paying_with_the_operators_card_takes_the_flag_control():
    assert flags([("payment", 0)]) == {1: True, 2: True, 3: True}


def test_tied_clusters_lists_the_clusters_holding_the_tie():
    aff, sig = world([("prompt", 1000)])
    tied = substantial_campaigns(CAMPAIGNS, PARTITION, aff, sig, loud=pl.Series([1]))
    assert tied.row(0, named=True) == {"campaign_id": 7, "substantial": True, "infrastructure": False,
                                       "tied_clusters": [1, 2]}


def test_the_campaigns_size_still_counts_every_cluster_control():
    # min_flag_size counts the accounts of a tied campaign: cluster 2 (4 accounts, 0.7) is flagged on its
    # own evidence with its campaign, whose loud cell 1 (0.1 here) then takes the flag from it.
    aff, sig = world([("prompt", 1000)])
    tied = substantial_campaigns(CAMPAIGNS, PARTITION, aff, sig, loud=pl.Series([1]))
    cl = CLUSTERS.with_columns(pl.lit(False).alias("flagged"),
                               pl.when(pl.col("cluster_id") == 2).then(0.7).otherwise(0.1).alias("score"))
    out = dict(flag_with_campaign(cl, substantial=tied).select("cluster_id", "flagged").iter_rows())
    assert out == {1: True, 2: True, 3: False}
