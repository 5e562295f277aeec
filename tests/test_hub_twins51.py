"""Hub twins (session 51, helper rec51): a cell's own-card accounts beside its card groups on one address.

Dev templates world 1021 (new simulator), cell 14: 540 accounts on ONE datacenter address, 324 of them on five cards
(five flagged clusters), 216 each on a card of its own. Those 216 send the same template from the same address, but
their only pairwise evidence is the address ((2 / 540) ** 0.5 per pair, the weak kinds capped at it): Leiden's
slices of them were dissolved as slices of one value, and they stayed in no cluster. An office's staff behind its
NAT, beside the team paying with the company card, are such a hub's users too, but they write what the log's other
users write; the cell's accounts write its template far beyond chance (:mod:`graphlink.stages.hub_twins`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink

START = np.datetime64("2024-05-06T00:00:00")
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu apple mango river stone cloud paper").split()
DAYS = 6
CELL_TPL = "restate the problem then list every known condition and reason step by step to the final answer"
TOOL = "you are the acme support desk assistant read the customer ticket below and draft a polite reply"
FRAMEWORK = "you are a helpful assistant answer the question below clearly and concisely"


def _twins():
    from graphlink.config import CommunityConfig, PipelineConfig

    try:
        return PipelineConfig(communities=CommunityConfig(hub_twins=True))  # opt-in
    except TypeError:  # code older than the switch: the default pipeline (what the world test checks fails there)
        return PipelineConfig()


TWINS = _twins()


def _prompt(rng: np.random.Generator, template: str | None, share: float) -> str:
    if template is not None and rng.random() < share:
        return f"{template} {' '.join(rng.choice(WORDS, 6))}"
    return " ".join(rng.choice(WORDS, 14))


def _world(seed: int = 51, requests: float = 1.0, crowd: float = 1.0) -> pl.DataFrame:
    """The cell's world (module docstring). ``requests`` scales every account's request count and ``crowd`` the
    number of office staff, tool users and homes (the Spark parity test's smaller copy; 1.0: the world as built)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple] = []

    def add(name: str, n: int, hub: str, share_hub: float, card: str, template: str | None, share: float,
            pool: list[str] | None = None):
        n = max(2, round(n * requests))
        own = f"10.{len(rows) // 250 % 250}.{len(rows) % 250}.9"  # the account's own address
        for s in np.sort(rng.integers(0, DAYS * 86400, n)):
            ip = str(rng.choice(pool)) if pool else hub if rng.random() < share_hub else own
            rows.append((name, int(s), ip, card, _prompt(rng, template, share)))

    for i in range(30):  # the operator's loud cell: a proxy pool, three cards, its template in most requests
        add(f"loud_{i}", 40, "", 0.0, f"card_loud_{i % 3}", CELL_TPL, 0.9, pool=[f"45.33.{j}.{j + 7}" for j in range(12)])
    for i in range(220):  # its cell on one datacenter address: 0-119 on three cards, 120-219 each on its own card
        card = f"card_cell_{i // 40}" if i < 120 else f"card_cell_own_{i}"
        add(f"cell_{i}", 30, "203.0.113.7", 0.6, card, CELL_TPL, 0.7)
    for i in range(round(260 * crowd)):  # an office behind its NAT: a team of 15 on the company card, staff on own cards
        card = "card_company" if i < 15 else f"card_staff_{i}"
        add(f"office_{i}", 30, "198.51.100.9", 0.9, card, FRAMEWORK, 0.3)
    for i in range(round(240 * crowd)):  # a company's tool behind its NAT: every request opens with its system prompt
        card = "card_tool" if i < 15 else f"card_tool_{i}"
        add(f"tool_{i}", 30, "198.51.100.77", 0.9, card, TOOL, 0.8)
    for i in range(round(300 * crowd)):  # homes: their own address and card; a quarter use the framework's prompt
        add(f"home_{i}", 10, f"81.{i % 250}.{i // 250}.2", 1.0, f"card_home_{i}", FRAMEWORK if i % 4 == 0 else None, 0.3)
    frame = pl.DataFrame(rows, schema=["account_id", "seconds", "ip", "payment_fingerprint", "prompt"], orient="row")
    return frame.with_columns((pl.lit(START).dt.cast_time_unit("us").dt.replace_time_zone("UTC")
                               + pl.duration(seconds=pl.col("seconds"))).alias("timestamp"),
                              pl.lit("okhttp/4.12.0").alias("user_agent")).drop("seconds")


def _by_group(result) -> pl.DataFrame:
    return (result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
            .with_columns(pl.col("flagged").fill_null(False), pl.col("account_id").str.extract(r"^([a-z]+)_").alias("group"),
                          pl.col("account_id").str.extract(r"(\d+)$").cast(pl.Int64).alias("i")))


def test_a_cells_own_card_accounts_on_its_address_join_its_flag_an_offices_staff_do_not():
    # 23ae195: of cell_120..cell_219 (own cards) 10 in a cluster (flagged), 90 in none; the card groups flagged.
    acc = _by_group(graphlink.detect(_world(), config=TWINS))
    cell = acc.filter(pl.col("group") == "cell")
    assert cell.filter(pl.col("i") < 120)["flagged"].all()
    assert cell.filter(pl.col("i") >= 120)["flagged"].sum() >= 95
    # The office's staff and the company tool's users behind their NATs, and the homes: none flagged.
    assert acc.filter(pl.col("group").is_in(["office", "tool", "home"]))["flagged"].sum() == 0


def test_no_template_no_twins():
    # A hub's unclustered holders that write nothing its cluster writes stay unclustered.
    from graphlink.stages.hub_twins import hub_twins, twin_accounts  # (here: the world test runs on older code too)

    # (Accounts 5-7: the operator's other cell, off the hub, writing its template: session 52, hub52, a hub's phrase is
    # its clustered holders' own -- with only cluster 1's two members against three unclustered writers it is public.)
    part = pl.DataFrame({"account_idx": list(range(8)), "cluster_id": [1, 1, None, None, None, 3, 3, 3]},
                        schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    phrases = list(range(1, 7))
    rows = [(a, 0) for a in range(5)] + [(a, p) for a in (0, 1, 5, 6, 7) for p in phrases]
    mem = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": list(range(7)), "kind": ["ip"] + ["prompt"] * 6, "df": [5] + [5] * 6,
                        "linked": [True] * 7}, schema_overrides={"signal_idx": pl.UInt32})
    assert twin_accounts(part, mem, sig, n_accounts=1000).is_empty()
    # Written by the three unclustered holders too (6 phrases of 8 holders in 1000 accounts): twins, one new cluster.
    more = pl.concat([mem, pl.DataFrame([(a, p) for a in (2, 3, 4) for p in phrases],
                                        schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")])
    out, _ = hub_twins(part, None, more, sig.with_columns(df=pl.when(pl.col("kind") == "prompt").then(8).otherwise(5)),
                       n_accounts=1000)
    assert out["cluster_id"].to_list() == [1, 1, 4, 4, 4, 3, 3, 3]


def test_spark_engine_finds_the_same_twins(spark, tmp_path):
    # The Spark engine collects only clustered accounts' memberships: the hubs' unclustered holders' are collected for this.
    # A third of the requests and of the crowd around the hubs (4,360 events, was 25,800; suite time, session 54: the
    # Spark signals stage scales with the prompt rows): the 100 own-card accounts still join as twins (98 of them;
    # 11 with hub_twins off; 100 and 10 in the whole world), asserted below. With the hub twins step skipped on Spark
    # (engines/spark/run.py) this test fails on this world.
    frame = _world(requests=1 / 3, crowd=0.3)
    frame.write_parquet(tmp_path / "events.parquet")
    a = graphlink.detect(frame, config=TWINS)
    b = graphlink.detect(str(tmp_path / "events.parquet"), engine="spark", spark=spark, config=TWINS)
    own_card = _by_group(a).filter((pl.col("group") == "cell") & (pl.col("i") >= 120))
    assert own_card["flagged"].sum() >= 95  # the twins this test is about are there
    assert a.accounts.equals(b.accounts)
    assert a.clusters["flagged"].to_list() == b.clusters["flagged"].to_list()
