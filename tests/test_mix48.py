"""Issue 17, ARI by operator (session 48, helper mix48): operators merged into one campaign on dev mixed worlds.

Dev mixed 1006 / 1007: Leiden joined cells of two or three operators on the residential pool they all rent into
one cluster; the wording split cut it into its blocks (one per operator), but campaigns were grouped from the whole
because the blocks' similarity averaged over their account pairs passed ``campaign_resolution`` -- carried by one
operator's two blocks tied 1.0 by its card, while the other operator's block was tied to them by the pool alone
(address cosine 0.15-0.30). A block tied to the rest of its whole by nothing a campaign's clusters are tied by is
no longer vouched for by its neighbours' tie (:func:`graphlink.stages.campaign_wholes.apart_wholes`).
"""

import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_wholes import tied_wholes


def test_a_block_tied_to_its_whole_only_by_its_neighbours_own_tie_is_grouped_apart():
    # One whole (cluster 1) of blocks A (accounts 0-9) and B (10-19), one operator's cells paying with card 0, and
    # C (20-24), another operator's cell, which holds nothing of theirs (Leiden joined it on a rented pool) and pays
    # with card 1 like cluster D (25-29), its operator's other cell. Across the whole's account pairs the blocks
    # average (100 x 1.0 + 100 x 0) / 200 = 0.5 >= 0.35: the old rule kept the whole one node, C with A and B.
    blocks = pl.DataFrame({"account_idx": range(30), "cluster_id": [1] * 10 + [2] * 10 + [3] * 5 + [4] * 5},
                          schema_overrides={"account_idx": pl.UInt32})
    whole = blocks.with_columns(pl.when(pl.col("cluster_id") <= 3).then(1).otherwise(2).cast(pl.Int64).alias("cluster_id"))
    aff = pl.DataFrame({"account_idx": range(30), "signal_idx": [0] * 20 + [1] * 10},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment"] * 2, "df": [20, 10], "weight": [1.0] * 2,
                        "linked": [True] * 2}, schema_overrides={"signal_idx": pl.UInt32})
    grouped = tied_wholes(blocks, whole, aff, sig, GraphConfig(), CommunityConfig(), 1000)["cluster_id"].to_list()
    a, b, c, d = grouped[0], grouped[10], grouped[20], grouped[25]
    assert len(set(grouped[:10])) == len(set(grouped[10:20])) == len(set(grouped[20:25])) == 1
    assert c not in (a, b) and d == 2


def template_pair(own_b: bool = True):
    """Clusters 1 (accounts 0-9) and 2 (10-19) sending one template (10 shingles, every account), both on
    ``python-requests``; cluster 1 also on a client of its own, cluster 2 on another (``own_b``) or on cluster 1's."""
    part = pl.DataFrame({"account_idx": range(20), "cluster_id": [1] * 10 + [2] * 10}, schema_overrides={"account_idx": pl.UInt32})
    rows = [(a, s) for a in range(20) for s in range(10)] + [(a, 10) for a in range(20)]
    rows += [(a, 11) for a in range(10)] + [(a, 12 if own_b else 11) for a in range(10, 20)]
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": range(13), "kind": ["prompt"] * 10 + ["user_agent"] * 3,
                        "df": [20] * 11 + [10, 10], "weight": [1.0] * 13, "linked": [True] * 10 + [False] * 3},
                       schema_overrides={"signal_idx": pl.UInt32})
    return part, aff, sig


def test_two_cells_tied_by_a_template_alone_each_on_a_client_the_other_never_sends_are_two_campaigns():
    # Dev mixed 1008: two operators drew one public template and one public client each (python-requests); each
    # cell also runs a client of its own. Client cosine 0.5 is no disagreement by the cosine, so the template made
    # them one campaign (599 accounts of two operators); each cell's own principal client says two toolkits.
    from graphlink.stages.campaign_clients import client_vetoes
    from graphlink.stages.campaigns import cluster_campaigns

    part, aff, sig = template_pair()
    assert cluster_campaigns(part, aff, sig, GraphConfig(), n_accounts=1000)["campaign_id"].to_list() == [1, 2]
    # One cell on both of the other's clients (a subset) keeps the tie: only a client of each side's own splits.
    part, aff, sig = template_pair(own_b=False)
    assert cluster_campaigns(part, aff, sig, GraphConfig(), n_accounts=1000)["campaign_id"].to_list() == [1, 1]
    # The flags' operator ties read the cosine alone (tie_weights): no veto there.
    part, aff, sig = template_pair()
    node_of = part.select("account_idx", pl.col("cluster_id").cast(pl.UInt32).alias("node"), pl.lit(10, pl.UInt32).alias("size"))
    pairs = pl.DataFrame({"source": [1], "target": [2]}, schema={"source": pl.UInt32, "target": pl.UInt32})
    assert client_vetoes(node_of, aff, sig, pairs).height == 0
    assert client_vetoes(node_of, aff, sig, pairs, own_clients=True).rows() == [(1, 2)]
