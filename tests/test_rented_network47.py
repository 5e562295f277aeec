"""Two operators renting one commercial proxy network are two campaigns (issue 17, ARI by operator; opt-in).

:mod:`graphlink.stages.transient` with the chance test on (``RENTED``): each operator's accounts pay from its own
four cards and send its own template in its own hours, and every request leaves through a fresh exit of one
commercial rotating network (100 /24s of 10 exits) that both rent. Exits two accounts share there are, pair by pair,
as rare as a private address, so by default they tie the two operators into one cluster and one campaign; counted
only beyond what accounts drawing their exits from that network share by chance, they leave each operator to its own
evidence. The twelfth pass's rule (``transient_share`` alone) still makes one campaign: it leaves exits projected as
cycles alone, and a rotating network's exits are all cycles.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import GraphConfig, PipelineConfig
from tests._worlds import planted_world

TEMPLATES = ("write a five star review of the product {} praising its battery and its fast delivery to my door",
             "summarise this news article about {} in three short bullet points for a social media post today")
WORDS = np.array("river stone cloud maple harbor falcon lantern meadow copper violet orchid summit".split())
#: The opt-in chance test (BENCHMARKS, session 47 op47): off by default -- on dev worlds it lost recall.
RENTED = PipelineConfig(graph=GraphConfig(transient_share=0.05, transient_min_exits=5, transient_alpha=0.001,
                                          transient_floor=0.1))
NETWORK = [f"45.{n // 256}.{n % 256}.{h}" for n in range(100) for h in range(1, 11)]  # the rented network: 1,000 exits


def operator(o: int, n: int, rng: np.random.Generator, per: int = 30) -> pl.DataFrame:
    """``n`` accounts of operator ``o``: a fresh exit of the rented network per request, 4 cards, template ``o``."""
    start = np.datetime64("2024-05-01T00:00:00")
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    seconds = rng.integers(0, 14, m) * 86400 + (12 * o + rng.integers(0, 8, m)) * 3600 + rng.integers(0, 3600, m)
    return pl.DataFrame({
        "account_id": [f"op{o}_{i:03d}" for i in acc],
        "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": [NETWORK[x] for x in rng.integers(0, len(NETWORK), m)],
        "payment_fingerprint": [f"pf_op{o}_{x}" for x in rng.integers(0, 4, m)],
        "prompt": [TEMPLATES[o].format(w) for w in rng.choice(WORDS, m)],
        "user_agent": "python-requests/2.31",
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def operators_result(config: PipelineConfig | None = None) -> pl.DataFrame:
    events, _ = planted_world(0, n_benign=300, rings=())
    rng = np.random.default_rng(5)
    result = graphlink.detect(pl.concat([events, operator(0, 40, rng), operator(1, 40, rng)], how="diagonal_relaxed"),
                              config=config)
    return (result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
            .filter(pl.col("account_id").str.starts_with("op")).with_columns(op=pl.col("account_id").str.slice(2, 1)))


def test_two_operators_renting_one_commercial_network_are_two_campaigns():
    out = operators_result(RENTED)
    main = pl.col("campaign_id").mode().first()
    per_op = out.group_by("op").agg(main.alias("campaign"), (pl.col("campaign_id") == main).mean().alias("share"))
    assert per_op["campaign"].n_unique() == 2, per_op  # main: one campaign (and one cluster) of both
    assert per_op["share"].min() >= 0.9, per_op
    assert out["flagged"].fill_null(False).mean() >= 0.9  # both still flagged


def test_by_default_the_network_ties_the_operators():
    out = operators_result()
    assert out["campaign_id"].mode().len() == 1 and (out["campaign_id"] == out["campaign_id"].mode()[0]).mean() > 0.9


def test_chance_test_on_the_transient_world_cuts_renters_keeps_a_pool_and_a_nat():
    # tests/test_transient.py's world: 30 heavy users of a 3,000-exit network (10 a /24, under 1 of them
    # shared: too sparse for transient_min_exits 5, so 1 here), a cell on its own 60 exits (2 a /24), a NAT.
    # The cell's pairs share ~27 exits where chance gives ~1: it keeps its links; the renters are cut.
    from dataclasses import replace

    from graphlink.stages.graph import project
    from tests.test_transient import CELL, COMMERCIAL, NAT, within, world

    def edges(config: GraphConfig) -> dict[tuple[int, int], float]:
        return {(s, t): w for s, t, w in project(world(), 60, config).edges.iter_rows()}

    off, on = edges(GraphConfig()), edges(replace(RENTED.graph, transient_min_exits=1))
    renters_off, renters_on = within(off, COMMERCIAL), within(on, COMMERCIAL)
    assert len(renters_off) >= 100 and set(renters_on) <= set(renters_off)
    # chance pairs keep transient_floor (0.1) of their exits' weight, plus their shared /24s (weak, carried)
    assert sum(renters_on.values()) <= 0.3 * sum(renters_off.values())  # 0.26 here
    cell_on, cell_off = within(on, CELL), within(off, CELL)
    assert len(cell_on) == 15 and all(cell_on[k] >= 0.6 * cell_off[k] for k in cell_off)  # exits kept whole;
    # its /24s, counted among the rented networks with transient_min_exits 1, weigh 0.1 (0.72-0.90 kept here)
    assert within(on, NAT) == within(off, NAT)


def test_chance_test_settings_are_checked():
    import pytest

    from graphlink.errors import ConfigError
    for bad in (dict(transient_min_exits=0), dict(transient_alpha=2.0), dict(transient_floor=-0.1)):
        with pytest.raises(ConfigError):
            GraphConfig(**bad)
    assert GraphConfig().transient_alpha == 0 and GraphConfig().transient_floor == 0
