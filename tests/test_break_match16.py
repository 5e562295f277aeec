"""Trying to break match's session-16 rules (issue 15): templates of accounts in doubt, shared pools.

Hand-built logs as in tests/test_match_templates.py: a ring of 6 on one card and a three-address proxy pool
writes its prompts from one template; 100 ordinary people write free text. Day two's accounts go once through
one pool address (a residential proxy exit, not enough alone) and send various prompts.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from datetime import timedelta

import polars as pl
import pytest

import graphlink

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
TEMPLATE = "Think step by step and show all of your reasoning before you answer this question about {}"
# A public agent framework's fixed system prompt (ReAct style): sent verbatim by anyone using the framework.
FRAMEWORK = ("Answer the following questions as best you can. You have access to the following tools: "
             "search calculator. Use the following format: Question: the input question you must answer")
WORDS = [f"w{i}" for i in range(400)] + ["the", "a", "of", "and", "to", "is", "in", "my", "how", "why"]
COLUMNS = ["account_id", "payment_fingerprint", "ip", "user_agent", "timestamp", "prompt"]


def free_text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14)))


def templated(rng: random.Random) -> str:
    return TEMPLATE.format(" ".join(rng.choice(WORDS) for _ in range(3)))


def framework(rng: random.Random) -> str:
    return FRAMEWORK + " " + " ".join(rng.choice(WORDS) for _ in range(4))


def known_run(path, ring_prompt, framework_people: int = 0):
    """Ring ``ring0-5`` on 203.0.113.1-3, card-ring, curl, 02:00-03:59 for 3 days, prompts ``ring_prompt``;
    people on own addresses; the first ``framework_people`` of them send the framework prompt too."""
    rng = random.Random(7)
    rows = [(a, "card-ring", f"203.0.113.{i % 3 + 1}", "curl/8.0", T0 + timedelta(days=d, hours=h, minutes=i),
             ring_prompt(rng)) for i, a in enumerate(f"ring{i}" for i in range(6)) for d in range(3) for h in (2, 3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i),
              framework(rng) if i < framework_people and d == 0 else free_text(rng))
             for i, p in enumerate(f"person{i:02d}" for i in range(100)) for d in range(3)]
    known = graphlink.detect(pl.DataFrame(rows, schema=COLUMNS, orient="row"), seed=1).save(path)
    ring = pl.read_parquet(known / "accounts.parquet").filter(pl.col("account_id").str.starts_with("ring"))
    assert ring["cluster_id"].null_count() == 0 and ring["cluster_id"].n_unique() == 1
    return known, ring["cluster_id"][0]


@pytest.fixture(scope="module")
def pool_ring(tmp_path_factory):
    return known_run(tmp_path_factory.mktemp("pool") / "known", templated)


@pytest.fixture(scope="module")
def framework_ring(tmp_path_factory):
    """The ring's 'template' is the public framework prompt; two ordinary people sent it in the earlier run too."""
    return known_run(tmp_path_factory.mktemp("fw") / "known", framework, framework_people=2)


def day_two(prefix: str, prompt, hours=(9, 15, 20), n: int = 10, through_pool: bool = True) -> pl.DataFrame:
    rng = random.Random(11)
    ip = (lambda i, k: f"203.0.113.{i % 3 + 1}" if k == 0 else f"100.64.{i}.{k}") if through_pool else \
        (lambda i, k: f"198.51.{i}.{k + 1}")
    rows = [(f"{prefix}{i:02d}", f"card-{prefix}{i}", ip(i, k), "Go-http-client/2.0",
             T0 + timedelta(days=5, hours=h, minutes=k), prompt(rng)) for i in range(n) for k, h in enumerate(hours)]
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


def unmatched(known, log) -> int:
    return graphlink.match(known, log).matches["cluster_id"].null_count()


# --- controls -------------------------------------------------------------------------------------------------

def test_control_ring_newcomer_through_one_pool_address_with_template_is_matched(pool_ring):
    known, ring = pool_ring
    assert graphlink.match(known, day_two("new", templated)).matches["cluster_id"].to_list() == [ring] * 10


def test_control_ordinary_newcomer_through_one_pool_address_is_not_matched(pool_ring):
    known, _ = pool_ring
    assert unmatched(known, day_two("ord", free_text)) == 10


# --- crashes: odd new logs and folders ------------------------------------------------------------------------

def test_empty_and_null_prompts_of_accounts_in_doubt_do_not_crash(pool_ring):
    known, _ = pool_ring
    log = day_two("emp", templated).with_columns(
        pl.when(pl.col("account_id").str.ends_with("1")).then(None)
        .when(pl.col("account_id").str.ends_with("2")).then(pl.lit(""))
        .when(pl.col("account_id").str.ends_with("3")).then(pl.lit("   \n\t "))
        .when(pl.col("account_id").str.ends_with("4")).then(pl.lit("hi"))
        .when(pl.col("account_id").str.ends_with("5")).then(pl.lit("\u200b\u200b\ufeff"))
        .otherwise(pl.col("prompt")).alias("prompt"))
    matches = graphlink.match(known, log).matches
    assert matches.height == 10
    # Only the accounts whose prompts are still the template are matched.
    got = matches.filter(pl.col("cluster_id").is_not_null())["account_id"].sort().to_list()
    assert got == [f"emp{i:02d}" for i in (0, 6, 7, 8, 9)]


def test_all_prompts_null_does_not_crash(pool_ring):
    known, _ = pool_ring
    log = day_two("nul", templated).with_columns(pl.lit(None, pl.String).alias("prompt"))
    assert unmatched(known, log) == 10


def test_null_timestamps_do_not_crash(pool_ring):
    known, ring = pool_ring
    log = day_two("nts", templated).with_columns(
        pl.when(pl.col("account_id").str.ends_with("1")).then(None).otherwise(pl.col("timestamp")).alias("timestamp"))
    matches = graphlink.match(known, log).matches
    assert matches.filter(pl.col("account_id") == "nts00")["cluster_id"].to_list() == [ring]


def test_new_log_without_prompt_column_does_not_crash(pool_ring):
    known, _ = pool_ring
    assert unmatched(known, day_two("npc", templated).drop("prompt")) == 10


def test_known_folder_without_templates_parquet_does_not_crash(pool_ring, tmp_path):
    known, _ = pool_ring
    copy = shutil.copytree(known, tmp_path / "copy")
    (copy / "templates.parquet").unlink()
    assert unmatched(copy, day_two("nt", templated)) == 10


def test_account_ids_that_look_like_numbers_do_not_crash(pool_ring):
    known, _ = pool_ring
    log = day_two("", templated).with_columns(pl.col("account_id").str.replace(r"^", "9"))
    assert graphlink.match(known, log).matches.height == 10


# --- benign accounts matched to a ring ------------------------------------------------------------------------

def test_control_framework_prompt_alone_matches_no_one(framework_ring):
    known, _ = framework_ring
    assert unmatched(known, day_two("fwo", framework, through_pool=False)) == 10


def test_company_using_a_public_framework_through_one_proxy_exit_is_not_matched(framework_ring):
    known, _ = framework_ring
    assert unmatched(known, day_two("co", framework)) == 10


def test_an_ordinary_person_of_the_earlier_run_sending_the_framework_prompt_again_is_not_matched(framework_ring):
    known, _ = framework_ring
    earlier = pl.read_parquet(known / "accounts.parquet").filter(pl.col("account_id").is_in(["person00", "person01"]))
    assert earlier["cluster_id"].null_count() == 2  # detect did not put them in the ring
    assert unmatched(known, day_two("person", framework, n=2)) == 2


# --- the pool's riders told apart by minutes: a cron job ------------------------------------------------------

from graphlink.stages.match_coact import riders_by_minutes  # noqa: E402
from graphlink.stages.match_pools import address_holdings  # noqa: E402

DAY = 1440


DAILY = [d * DAY + 120 for d in range(7)]


def cron_case(newcomer_minutes: list[int], rider_minutes: list[int] = DAILY) -> pl.DataFrame:
    """Cluster 1 (30 accounts) and its rider cluster 2 (10) on one pool of 40 addresses (as test_match_pools);
    cluster 2's earlier members c0-c2, seen again, fire together at ``rider_minutes`` (02:00 UTC each of 7
    days: a cron-driven ring); cluster 1's members act every minute. ``new`` was matched to cluster 1 on three
    pool addresses."""
    one, two = [f"b{i:02d}" for i in range(30)], [f"c{i}" for i in range(10)]
    rows = [(one[(3 * j + k) % 30], "ip", f"10.0.{j}.1", 1) for j in range(40) for k in range(3)]
    rows += [(two[j], "ip", f"10.0.{j}.1", 2) for j in range(10)]
    linking = pl.DataFrame(rows, schema=["account_id", "kind", "value", "cluster_id"], orient="row")
    mins = [(f"c{i}", m) for i in range(3) for m in rider_minutes]
    mins += [(f"b{i:02d}", m) for i in range(3) for m in range(0, 7 * DAY, 7)]
    mins += [("new", m) for m in newcomer_minutes]
    minutes = (pl.DataFrame(mins, schema=["account_id", "m"], orient="row")
               .group_by("account_id", "m").agg(pl.len().cast(pl.Int64).alias("events")))
    settled = pl.DataFrame({"account_id": ["c0", "c1", "c2", "b00", "b01", "b02"], "cluster_id": [2, 2, 2, 1, 1, 1]})
    doubt = pl.DataFrame({"account_id": ["new"], "cluster_id": [1]})
    addresses = pl.DataFrame({"account_id": ["new"] * 3, "value": [f"10.0.{j}.1" for j in range(3)]})
    return riders_by_minutes(doubt, settled, minutes, address_holdings(linking), addresses)


def test_control_a_daily_job_at_another_minute_stays():
    assert cron_case([d * DAY + 137 for d in range(7)]).height == 0


def test_a_daily_cron_job_at_the_riders_minute_is_a_schedule_not_the_rider():
    assert cron_case([d * DAY + 120 for d in range(7)]).height == 0


# A rider bursting at another time each day (97 minutes later each day) over the same week.
WANDERING = [d * DAY + 120 + 97 * d for d in range(7)]


def test_control_a_newcomer_in_a_riders_bursts_at_another_time_each_day_moves_to_it():
    moved = cron_case(WANDERING, rider_minutes=WANDERING)
    assert moved["cluster_id"].to_list() == [2] and moved["k"].to_list() == [7]


def test_a_daily_job_at_the_minute_of_one_of_a_wandering_riders_bursts_stays():
    assert cron_case(DAILY, rider_minutes=WANDERING).height == 0


# --- a stock phrase the ring's template opens with; look-alike spellings -------------------------------------

STOCK = "Think step by step and show all of your reasoning."  # a common chain-of-thought instruction


def stock_then_free(rng: random.Random) -> str:
    return STOCK + " " + free_text(rng)


def test_an_ordinary_newcomer_writing_a_stock_phrase_the_template_opens_with_is_not_matched(pool_ring):
    known, _ = pool_ring
    assert unmatched(known, day_two("cot", stock_then_free)) == 10


def test_control_stock_phrase_without_the_pool_address_matches_no_one(pool_ring):
    known, _ = pool_ring
    assert unmatched(known, day_two("cot", stock_then_free, through_pool=False)) == 10


LOOK_ALIKE = str.maketrans({"e": "\u0435", "o": "\u043e", "a": "\u0430", "p": "\u0440"})  # Cyrillic letters


def disguised(rng: random.Random) -> str:
    text = templated(rng).translate(LOOK_ALIKE)
    return "\u200b".join(text[i:i + 7] for i in range(0, len(text), 7)).replace("Think", "Ｔｈｉｎｋ")


def test_ring_newcomer_disguising_the_template_with_look_alikes_is_still_matched(pool_ring):
    known, ring = pool_ring
    assert graphlink.match(known, day_two("dis", disguised)).matches["cluster_id"].to_list() == [ring] * 10


def test_a_prompt_column_of_numbers_does_not_crash(pool_ring):
    known, _ = pool_ring
    log = day_two("int", templated).with_columns(pl.int_range(pl.len()).alias("prompt"))
    assert unmatched(known, log) == 10
