"""match: the cluster within a campaign is chosen by the values characteristic of it (session 12).

Two hand-built campaigns whose right answers follow from the rule in
:func:`graphlink.stages.match.pick_cluster`; the old rule (most evidence)
answers both wrong, so each assertion can fail.
"""

import polars as pl

from graphlink.config import PipelineConfig
from graphlink.stages.match import cluster_values, match_accounts


def linking_of(rows: list[tuple[str, str, str, int | None]]) -> pl.DataFrame:
    """``linking.parquet`` rows ``(account, kind, value, cluster)`` with ``df`` counted from them."""
    frame = pl.DataFrame(rows, schema=["account_id", "kind", "value", "cluster_id"], orient="row")
    df = frame.group_by("kind", "value").agg(pl.len().cast(pl.UInt32).alias("df"))
    return frame.join(df, on=["kind", "value"]).with_columns(pl.lit(1.0).alias("weight"))


def match_one(linking: pl.DataFrame, clusters: pl.DataFrame, new: list[tuple[str, str]]) -> tuple:
    known = cluster_values(linking, campaigns=clusters.select("cluster_id", "campaign_id"))
    values = pl.DataFrame([("new", k, v) for k, v in new], schema=["account_id", "kind", "value"], orient="row")
    out = match_accounts(values, pl.Series(["new"]), known, clusters, PipelineConfig())
    return out.select("cluster_id", "campaign_id").row(0)


def test_a_cells_own_card_outweighs_many_pool_addresses_a_bigger_sibling_holds():
    # Campaign 7: cluster 1 (40 accounts) and cluster 2 (6, a cell detect split off) share a proxy pool:
    # each of six addresses was used by three accounts of cluster 1 and one of cluster 2. Only cluster 2
    # used card-2, all six of its accounts.
    big = [f"b{i:02d}" for i in range(40)]
    cell = [f"c{i}" for i in range(6)]
    rows = [(a, "user_agent", "client-1", 1) for a in big] + [(a, "payment", "card-2", 2) for a in cell]
    rows += [(big[3 * j + k], "ip", f"203.0.113.{j}", 1) for j in range(6) for k in range(3)]
    rows += [(cell[j], "ip", f"203.0.113.{j}", 2) for j in range(6)]
    clusters = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [7, 7], "size": [40, 6]})
    new = [("payment", "card-2")] + [("ip", f"203.0.113.{j}") for j in range(6)]
    assert match_one(linking_of(rows), clusters, new) == (2, 7)


def test_a_pool_card_of_two_sibling_cells_is_campaign_evidence_not_the_bigger_cells():
    # Campaign 3: cells in clusters 1 and 2 (ten accounts each) drew card-p from one pool (seven and three
    # holders). Two addresses were cluster 2's alone. A new account with card-p and those addresses is
    # cluster 2's, though the pool card (credited to cluster 1, the campaign's most holders) weighs more.
    one = [f"a{i}" for i in range(10)]
    two = [f"z{i}" for i in range(10)]
    rows = [(a, "payment", "card-p", 1) for a in one[:7]] + [(a, "payment", "card-p", 2) for a in two[:3]]
    rows += [(two[k], "ip", f"198.51.100.{j}", 2) for j in range(2) for k in (2 * j, 2 * j + 1)]
    clusters = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [3, 3], "size": [10, 10]})
    new = [("payment", "card-p"), ("ip", "198.51.100.0"), ("ip", "198.51.100.1")]
    assert match_one(linking_of(rows), clusters, new) == (2, 3)
    # Without cluster 2's own addresses nothing tells the cells apart: the campaign's evidence decides.
    assert match_one(linking_of(rows), clusters, [("payment", "card-p")]) == (1, 3)


def test_clusters_of_other_campaigns_are_not_candidates():
    # An address cluster 5 (another campaign) holds alone does not pull an account whose evidence is campaign 3's.
    one = [f"a{i}" for i in range(4)]
    other = [f"o{i}" for i in range(2)]
    rows = [(a, "payment", "card-1", 1) for a in one] + [(a, "ip", "192.0.2.9", 5) for a in other]
    clusters = pl.DataFrame({"cluster_id": [1, 5], "campaign_id": [3, 8], "size": [4, 2]})
    assert match_one(linking_of(rows), clusters, [("payment", "card-1"), ("ip", "192.0.2.9")]) == (1, 3)


def test_an_address_a_sibling_held_alone_by_chance_does_not_move_the_account():
    # Campaign 2: two 60-account cells on one proxy pool share card-s (40 of cluster 1's, 10 of cluster 2's)
    # and by chance only two of cluster 2's accounts used address 192.0.2.77. Two of sixty (0.03) is no mark
    # of cluster 2 (below DEFAULT_MIN_TYPICAL): the campaign's evidence keeps the account in cluster 1.
    one = [f"a{i:02d}" for i in range(60)]
    two = [f"z{i:02d}" for i in range(60)]
    rows = [(a, "payment", "card-s", 1) for a in one[:40]] + [(a, "payment", "card-s", 2) for a in two[:10]]
    rows += [(a, "ip", "192.0.2.77", 2) for a in two[:2]]
    rows += [(a, "user_agent", "client-1", 1) for a in one] + [(a, "user_agent", "client-2", 2) for a in two]
    clusters = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [2, 2], "size": [60, 60]})
    assert match_one(linking_of(rows), clusters, [("payment", "card-s"), ("ip", "192.0.2.77")]) == (1, 2)
    # The same address used by twelve of cluster 2's accounts (0.2) is its mark.
    rows += [(a, "ip", "192.0.2.77", 2) for a in two[2:12]]
    assert match_one(linking_of(rows), clusters, [("payment", "card-s"), ("ip", "192.0.2.77")]) == (2, 2)
