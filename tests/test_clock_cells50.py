"""A cell behind one address and one card that acts around the clock is no office (session 50, helper tpl50).

Dev templates world 1021: an operator ran 540 accounts from ONE datacenter address on five cards; each card's
piece (58-73 accounts) read as an office behind a NAT -- one card, one address -- and scored 0.54, below the
flag: coordination 0.99, evasion only the cluster's round-the-clock hours (0.3). What tells the two apart is
each member's clock: an office's staff keep their time zone's office hours (they rest), a company's cron job
fires at fixed minutes (a scheduler), and a script spread over accounts does neither -- every account acts in
every stretch of the day (:func:`graphlink.stages.schedules.sleepless_accounts`). Such members count as running
a script (``scripted_accounts``) whatever share of their prompts is the cell's template.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.stages.schedules import sleepless_accounts

START = np.datetime64("2024-05-06T00:00:00")
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu").split()
DAYS = 10


def _prompt(rng: np.random.Generator, template: str | None, share: float) -> str:
    """The group's template (``share`` of requests, its fill varying) or the account's own words."""
    if template is not None and rng.random() < share:
        return f"{template} item {int(rng.integers(1000))}"
    return " ".join(rng.choice(WORDS, 14))


def _world() -> pl.DataFrame:
    rng = np.random.default_rng(50)
    rows: list[tuple] = []
    cell_tpl = "extract every named entity and every date from the following passage and return them as a json list"
    office_tpl = "summarise the attached customer ticket for the support queue and suggest one next step to take"
    for i in range(30):  # the cell: one datacenter address, one card, requests at any minute of any hour
        for s in np.sort(rng.integers(0, DAYS * 86400, 60)):
            rows.append((f"cell_{i}", int(s), "203.0.113.7", "card_cell", _prompt(rng, cell_tpl, 0.3)))
    for i in range(30):  # the office: one NAT address, one corporate card, 9:00-18:00 on weekdays
        for d in (d for d in range(DAYS) if d % 7 < 5):
            for s in d * 86400 + 9 * 3600 + np.sort(rng.integers(0, 9 * 3600, 8)):
                rows.append((f"office_{i}", int(s), "198.51.100.9", "card_office", _prompt(rng, office_tpl, 0.3)))
    for i in range(12):  # a company's cron jobs: every hour, day and night, at :00 past
        for h in range(DAYS * 24):
            rows.append((f"cron_{i}", h * 3600 + 5 + i, "192.0.2.44", "card_cron", _prompt(rng, office_tpl, 0.3)))
    for i in range(60):  # homes: their own address and card, evenings
        for d in range(DAYS):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                rows.append((f"home_{i}", int(s), f"81.{i}.{d % 2}.{i + 2}", f"card_home_{i}", _prompt(rng, None, 0)))
    frame = pl.DataFrame(rows, schema=["account_id", "seconds", "ip", "payment_fingerprint", "prompt"], orient="row")
    return frame.with_columns((pl.lit(START).dt.cast_time_unit("us").dt.replace_time_zone("UTC")
                               + pl.duration(seconds=pl.col("seconds"))).alias("timestamp"),
                              pl.lit("python-requests/2.31").alias("user_agent")).drop("seconds")


def test_a_cell_on_one_address_and_card_acting_around_the_clock_is_flagged_an_office_and_a_cron_team_are_not():
    # Old: the cell's cluster scored 0.54 (coordination 0.97, evasion 0.3: around the clock only), not flagged.
    result = graphlink.detect(_world())
    flagged = (result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
               .with_columns(pl.col("flagged").fill_null(False), pl.col("account_id").str.extract(r"^([a-z]+)_").alias("group")))
    by_group = dict(flagged.group_by("group").agg(pl.col("flagged").sum()).rows())
    assert by_group["cell"] == 30
    assert by_group["office"] == 0 and by_group["cron"] == 0 and by_group["home"] == 0


def test_sleepless_accounts_reads_the_rest_in_any_time_zone():
    # A night worker's rest (quiet 08:00-13:00 UTC) is a rest too; three quiet hours twice is none.
    rows = [(0, h) for h in range(24) if not 8 <= h < 13] + [(1, h) for h in range(24) if h not in (2, 3, 4, 14, 15, 16)]
    hours = pl.DataFrame(rows, schema=["account_idx", "hour"], orient="row").with_columns(n=pl.lit(2))
    assert sleepless_accounts(hours).sort("account_idx")["sleepless"].to_list() == [False, True]
