"""Sibling cells merged on their operator's proxy and card pools are split by their wording (issue 17, ARI by cell).

:mod:`graphlink.stages.wording_cells`: one operator's two cells rent the same proxy pool and pay from the same card
pool, so Leiden makes them one cluster; each cell sends its own template in its own hours. The cluster is split
into the two cells, and the two stay one campaign (the operator).
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import CommunityConfig, PipelineConfig
from graphlink.stages.wording_cells import wording_blocks
from tests._worlds import planted_world

TEMPLATES = ("write a five star review of the product {} praising its battery and its fast delivery to my door",
             "summarise this news article about {} in three short bullet points for a social media post today")
WORDS = np.array("river stone cloud maple harbor falcon lantern meadow copper violet orchid summit".split())


def cell(c: int, n: int, rng: np.random.Generator, per: int = 12) -> pl.DataFrame:
    """``n`` accounts of cell ``c``: the operator's 12 proxy exits and 4 cards, template ``c``, hours 0-7 or 12-19."""
    start = np.datetime64("2024-05-01T00:00:00")
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    seconds = rng.integers(0, 14, m) * 86400 + (12 * c + rng.integers(0, 8, m)) * 3600 + rng.integers(0, 3600, m)
    return pl.DataFrame({
        "account_id": [f"cell{c}_{i:03d}" for i in acc],
        "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": [f"203.0.113.{x}" for x in rng.integers(1, 13, m)],
        "payment_fingerprint": [f"pf_op_{x}" for x in rng.integers(0, 4, m)],
        "prompt": [TEMPLATES[c].format(w) for w in rng.choice(WORDS, m)],
        "user_agent": "python-requests/2.31",
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def operator_result(on: bool = True):
    events, _ = planted_world(0, n_benign=300, rings=())
    rng = np.random.default_rng(3)
    config = PipelineConfig(communities=CommunityConfig(wording_cells=on))
    result = graphlink.detect(pl.concat([events, cell(0, 30, rng), cell(1, 30, rng)], how="diagonal_relaxed"),
                              config=config)
    return (result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
            .filter(pl.col("account_id").str.starts_with("cell")).with_columns(cell=pl.col("account_id").str.slice(4, 1)))


def test_two_cells_of_one_operator_on_shared_pools_are_two_clusters_one_campaign():
    out = operator_result()
    assert out["cluster_id"].null_count() == 0
    per_cell = out.group_by("cell").agg(pl.col("cluster_id").n_unique().alias("n"), pl.col("cluster_id").first())
    assert per_cell["n"].to_list() == [1, 1], per_cell  # each cell is one cluster...
    assert per_cell["cluster_id"].n_unique() == 2  # ...of its own (main: one cluster of both)
    assert out["campaign_id"].n_unique() == 1  # one operator: one campaign
    assert out["flagged"].all()  # flagged as the one cluster was


def test_off_the_cells_stay_one_cluster():
    out = operator_result(on=False)
    assert out["cluster_id"].n_unique() == 1 and out["flagged"].all()


def test_a_cluster_whose_members_differ_only_in_rare_phrases_is_not_split():
    rng = np.random.default_rng(0)
    members = np.repeat(np.arange(40), 12)
    common = np.tile(np.arange(10), 40)  # all send the template's ten phrases
    own = rng.integers(100, 400, 80)  # and a few fill-ins of their own
    m = np.r_[members[:400], np.repeat(np.arange(40), 2)]
    p = np.r_[common, own]
    assert set(wording_blocks(m, p, 40).tolist()) == {0}


def test_free_writers_split_off_a_fleet_stay_with_it_to_be_judged_as_outsiders():
    # A household and four people on a card a ring also paid with, writing their own questions: with wording cells
    # on, they were split off as a block of their own (mean Jaccard inside 0.125, the ring's 0.99) and flagged through
    # the card; a block of free writers is no cell (MIN_INNER), so the fleet-outsider rules judge them again.
    from graphlink.pipeline import run_detect
    from tests.test_break_session18 import flagged, world

    log, g = world("stolen_lone")
    result = run_detect(log.frame(), config=PipelineConfig(communities=CommunityConfig(wording_cells=True)))
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["fam"]) == 0
