"""A lock-step operator whose template is public (session 52, helper rec52).

Break-it review brk51: a 20-account operator firing at :05 every hour from 8 datacenter addresses on 4 cards was
flagged (0.866) while 20 ordinary users pasted its template, and no longer once 60 did. The card pool counts only the
members whose templated requests are the cluster's script, and a passage more unclustered accounts send than
clustered ones is public (``scoring._own_template``): 60 pasters made the operator's own members script nothing, the
pool counted 0 and only around-the-clock activity (0.3) was left of its evasion. A public template is weak evidence
of who sends it; a member sending it on a clock it shares with the other members, from no office of its card's own,
is one script's account all the same (:mod:`graphlink.stages.cluster_features`). The people pasting the template at
their own times, a company's departments whose cron jobs send it from their office, and homes stay unflagged.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink

START = np.datetime64("2024-05-06T00:00:00")
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu apple mango river stone cloud paper").split()
TEMPLATE = "extract every product name price and seller from the listing below and return them as a json array"
DAYS = 7


def _world(pasters: int, lockstep: bool = True, seed: int = 52) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows: list[tuple] = []

    def templated() -> str:
        return f"{TEMPLATE} {' '.join(rng.choice(WORDS, 6))}"

    def hourly(name: str, ip, card: str):  # a job at :05 (+- 20 s) in half the hours, or as many requests at random
        n = 0
        for day in range(DAYS):
            for hour in range(24):
                if rng.random() < 0.5:
                    continue
                n += 1
                if lockstep:
                    rows.append((name, day * 86400 + hour * 3600 + 300 + int(rng.integers(0, 20)), ip(), card, templated()))
        if not lockstep:
            for s in rng.integers(0, DAYS * 86400, n):
                rows.append((name, int(s), ip(), card, templated()))

    for i in range(20):  # the operator: 4 cards, each request from one of 8 datacenter addresses
        hourly(f"ring_{i}", lambda: f"203.0.113.{int(rng.integers(1, 9))}", f"card_ring_{i % 4}")
    for i in range(pasters):  # ordinary users pasting the public template into most of their requests
        for s in np.sort(rng.integers(0, DAYS * 86400, 20)):
            text = templated() if rng.random() < 0.6 else " ".join(rng.choice(WORDS, 14))
            rows.append((f"paste_{i}", int(s), f"81.{i % 250}.{i // 250}.7", f"card_paste_{i}", text))
    for d in range(3):  # a company's departments behind its NAT: 8 cron accounts on the department's card, 20 staff
        for i in range(28):
            name, card = f"corp_{d}_{i}", f"card_corp_{d}" if i < 12 else f"card_staff_{d}_{i}"
            if i < 8:
                hourly(name, lambda: "198.51.100.9", card)
            else:
                for s in np.sort(rng.integers(0, DAYS * 86400, 20)):
                    rows.append((name, int(s), "198.51.100.9", card, " ".join(rng.choice(WORDS, 14))))
    for i in range(300):  # homes
        for s in np.sort(rng.integers(0, DAYS * 86400, 10)):
            rows.append((f"home_{i}", int(s), f"82.{i % 250}.{i // 250}.2", f"card_home_{i}", " ".join(rng.choice(WORDS, 14))))
    frame = pl.DataFrame(rows, schema=["account_id", "seconds", "ip", "payment_fingerprint", "prompt"], orient="row")
    return frame.with_columns((pl.lit(START).dt.cast_time_unit("us").dt.replace_time_zone("UTC")
                               + pl.duration(seconds=pl.col("seconds"))).alias("timestamp"),
                              pl.lit("python-requests/2.31.0").alias("user_agent")).drop("seconds")


def _by_group(result) -> pl.DataFrame:
    return (result.accounts.join(result.clusters.select("cluster_id", "flagged", "card_pool"), on="cluster_id", how="left")
            .with_columns(pl.col("flagged").fill_null(False), pl.col("account_id").str.extract(r"^([a-z]+)_").alias("group")))


def test_a_lock_step_operator_keeps_its_card_pool_when_many_paste_its_template():
    # a5b8d3f: the ring one cluster of 20, card_pool 0.0, score 0.55, unflagged (with 20 pasters: 0.75, 0.87, flagged).
    acc = _by_group(graphlink.detect(_world(pasters=60)))
    ring = acc.filter(pl.col("group") == "ring")
    assert ring["flagged"].all()
    assert ring["card_pool"].min() >= 0.5
    # The pasters (at their own times), the company's cron accounts (from its office) and staff, the homes: none.
    assert acc.filter(pl.col("group") != "ring")["flagged"].sum() == 0


def test_a_public_template_sent_at_the_accounts_own_times_is_no_script_of_the_cluster():
    # The same operator sending whenever each account likes: its accounts share cards and addresses, but the
    # template is the pasters' as much as theirs and no clock ties them; the pool is not counted for it.
    acc = _by_group(graphlink.detect(_world(pasters=60, lockstep=False)))
    ring = acc.filter(pl.col("group") == "ring")
    assert ring["cluster_id"].null_count() == 0
    assert ring["card_pool"].max() < 0.1
    assert acc.filter(pl.col("group") != "ring")["flagged"].sum() == 0
