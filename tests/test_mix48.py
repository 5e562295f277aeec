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
