"""Sibling cells merged on their operator's proxy and card pools are split by their clients (issue 17, ARI by cell).

:mod:`graphlink.stages.client_cells`: one operator's two cells, each on a proxy block of its own, pay from the same
card pool and send the same template in the same hours -- and their tooling differs: one cell sends every request with
the operator's own client, the other rotates stock browser agents per request. Leiden makes them one cluster (and
wording cells, reading the prompts, cannot part them); the client split makes two, kept one campaign and flagged.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import CommunityConfig, PipelineConfig
from graphlink.stages.client_cells import client_sides
from tests._worlds import planted_world

TEMPLATE = "write a five star review of the product {} praising its battery and its fast delivery to my door"
WORDS = np.array("river stone cloud maple harbor falcon lantern meadow copper violet orchid summit".split())
BROWSERS = [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/12{v}.0.0.0 Safari/537.36"
            for v in range(10)]


def cell(c: int, n: int, rng: np.random.Generator, per: int = 12, block: bool = True) -> pl.DataFrame:
    """``n`` accounts of cell ``c``: 12 proxy exits of its own, the operator's 4 cards and template; cell 0 the
    operator's client, cell 1 browsers (``block=False``: both on the same 12 exits)."""
    start = np.datetime64("2024-05-01T00:00:00")
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    seconds = rng.integers(0, 14, m) * 86400 + rng.integers(0, 8, m) * 3600 + rng.integers(0, 3600, m)
    agents = (["opclient/3.2 (+python-httpx)"] * m if c == 0 else [BROWSERS[i] for i in rng.integers(0, 10, m)])
    return pl.DataFrame({
        "account_id": [f"cell{c}_{i:03d}" for i in acc],
        "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": [f"{('203.0.113', '198.51.100')[c if block else 0]}.{x}" for x in rng.integers(1, 13, m)],
        "payment_fingerprint": [f"pf_op_{x}" for x in rng.integers(0, 4, m)],
        "prompt": [TEMPLATE.format(w) for w in rng.choice(WORDS, m)],
        "user_agent": agents,
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def operator_result(on: bool = True, block: bool = True):  # opt-in ([communities] client_cells)
    events, _ = planted_world(0, n_benign=300, rings=())
    rng = np.random.default_rng(3)
    config = PipelineConfig(communities=CommunityConfig(client_cells=on))
    result = graphlink.detect(pl.concat([events, cell(0, 30, rng, block=block), cell(1, 30, rng, block=block)],
                                        how="diagonal_relaxed"),
                              config=config)
    return (result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
            .filter(pl.col("account_id").str.starts_with("cell")).with_columns(cell=pl.col("account_id").str.slice(4, 1)))


def test_two_cells_of_one_operator_apart_only_in_their_clients_are_two_clusters_one_campaign():
    out = operator_result()
    assert out["cluster_id"].null_count() == 0
    per_cell = out.group_by("cell").agg(pl.col("cluster_id").n_unique().alias("n"), pl.col("cluster_id").first())
    assert per_cell["n"].to_list() == [1, 1], per_cell  # each cell is one cluster...
    assert per_cell["cluster_id"].n_unique() == 2  # ...of its own (main: one cluster of both)
    assert out["campaign_id"].n_unique() == 1  # one operator: one campaign
    assert out["flagged"].all()  # flagged as the one cluster was


def test_on_one_proxy_block_network_cells_do_not_join_the_two_tools_again():
    # Both cells on the same 12 exits and one template: network cells joined the split halves again (one block, one
    # mark) until the pieces' tools had to agree (leading_clients).
    out = operator_result(block=False)
    per_cell = out.group_by("cell").agg(pl.col("cluster_id").n_unique().alias("n"), pl.col("cluster_id").first())
    assert per_cell["n"].to_list() == [1, 1] and per_cell["cluster_id"].n_unique() == 2, per_cell
    assert out["campaign_id"].n_unique() == 1 and out["flagged"].all()


def test_off_the_cells_stay_one_cluster():
    out = operator_result(on=False)
    assert out["cluster_id"].n_unique() == 1 and out["flagged"].all()


def sides(agents: list[list[str]]) -> pl.DataFrame:
    """client_sides on one cluster whose member i sends ``agents[i]`` (one request each)."""
    values = sorted({a for row in agents for a in row})
    code = {a: k for k, a in enumerate(values)}
    rows = [(i, code[a]) for i, row in enumerate(agents) for a in row]
    mem = (pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
           .group_by("account_idx", "signal_idx").agg(pl.len().cast(pl.UInt32).alias("count")))
    sig = pl.DataFrame({"signal_idx": list(range(len(values))), "kind": ["user_agent"] * len(values)},
                       schema={"signal_idx": pl.UInt32, "kind": pl.String})
    part = pl.DataFrame({"account_idx": list(range(len(agents))), "cluster_id": [7] * len(agents)},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    index = pl.DataFrame({"account_idx": list(range(len(agents))), "events": [len(r) for r in agents]},
                         schema={"account_idx": pl.UInt32, "events": pl.UInt32})
    return client_sides(part, mem, sig, index)


def test_a_team_each_on_a_browser_of_their_own_or_mixing_the_sdk_with_browsers_is_not_split():
    own = [[BROWSERS[i % 10]] * 10 for i in range(30)]  # each keeps one browser: a browser is 3 members' at most
    assert sides(own).is_empty()
    sdk = [["corp-sdk/1.4"] * 10 for _ in range(15)] + [["corp-sdk/1.4"] * 5 + [BROWSERS[i % 10]] * 5 for i in range(15)]
    assert sides(sdk).is_empty()  # half the team also uses a browser: in between, not a second tool
    two = [["corp-sdk/1.4"] * 10 for _ in range(15)] + [[BROWSERS[i % 10]] * 10 for i in range(15)]
    out = sides(two)
    assert out.height == 30 and out["others"].sum() == 15  # two tools, each held by its own 15: split
