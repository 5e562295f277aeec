"""Break-it review of template bursts (session 25): the cases that broke graphlink.stages.bursts.

Fixed here: a burst that is most of the log's traffic hid itself (the Poisson tail at the mean
``n_t * a_w / n``, which counts the burst's own accounts, is nowhere near the hypergeometric null when the
template or the window is a large share of the accounts: an incident extract, a fleet of thousands); one-off
accounts with three runs at one minute of the hour passed as a company's scheduled jobs and were left out of
the test; one account in two bursts merged them (an operator's account pasting a workshop's prompt put the
class in the operator's flagged cluster); ``--json`` printed C1 controls (8-bit CSI) of a burst's opening raw
to the terminal. Still open (xfail): a random first word per account, prompts shorter than the 5-word opening,
and a fleet that also sends a product launch's prompt, which gets the launch's crowd flagged.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
import sys

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.stages.bursts import hypergeometric_tail_bound
from tests.burst_world import START, TEMPLATE, TOPICS, burst_log

AT = START + dt.timedelta(days=1, hours=14, minutes=7)
SCHEMA = {"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
          "payment_fingerprint": pl.String, "prompt": pl.String}
FILLERS = ["please", "hey", "ok", "now", "so", "hi", "yo", "well", "alright", "quick", "listen", "note", "today",
           "also", "first", "right", "sure", "hello", "thanks", "great", "cool", "fine", "good", "nice", "kindly",
           "pls", "task", "next", "again", "here", "then", "look", "see", "and", "btw", "umm", "go", "start", "begin",
           "yes"]


def _with_operator(make_prompt, hours_before=(0, 0), seconds=(0, 40), spread=180, n_ops=40, seed=0) -> pl.DataFrame:
    """The test world's people and company, and an operator's one-off accounts sending ``make_prompt(rng, i)``
    at 14:07 on day 2 (minus ``hours_before[j]`` hours, plus ``seconds[j]``, for each request ``j``)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_ops):
        first = AT + dt.timedelta(seconds=rng.randrange(spread))
        for j, (back, sec) in enumerate(zip(hours_before, seconds)):
            rows.append((f"op{i:03d}", first - dt.timedelta(hours=back) + dt.timedelta(seconds=sec + rng.randrange(20)),
                         f"203.{i // 250}.{i % 250}.{10 + j}", f"card-op{i:03d}", make_prompt(rng, i)))
    return pl.concat([burst_log(seed, n_ops=0), pl.DataFrame(rows, schema=SCHEMA, orient="row")])


def _ops_clustered(events: pl.DataFrame) -> tuple[int, dict]:
    result = graphlink.detect(events)
    ops = result.accounts.filter(pl.col("account_id").str.starts_with("op"))
    return int(ops["cluster_id"].is_not_null().sum()), result.run["counts"]


def _template(rng, i):
    return TEMPLATE.format(topic=rng.choice(TOPICS))


def _exact_log_tail(k: int, n_t: int, a_w: int, n: int) -> float:
    """log P(X >= k), X hypergeometric (a_w of n drawn, n_t holders), from exact integers."""
    num = sum(math.comb(n_t, j) * math.comb(n - n_t, a_w - j) for j in range(k, min(n_t, a_w) + 1))
    return math.log(num) - math.log(math.comb(n, a_w)) if num else -math.inf


def test_hypergeometric_tail_bound_bounds_the_exact_tail():
    rng = random.Random(5)
    cases = [(3000, 3000, 3005, 3312), (8, 8, 8, 200), (40, 40, 45, 72), (12, 12, 13, 32), (5, 10, 10, 20)]
    for _ in range(300):
        n = rng.randrange(3, 400)
        n_t, a_w = rng.randrange(1, n + 1), rng.randrange(1, n + 1)
        cases.append((rng.randrange(0, min(n_t, a_w) + 1), n_t, a_w, n))
    for k, n_t, a_w, n in cases:
        bound = float(hypergeometric_tail_bound(np.array([k]), np.array([n_t]), np.array([a_w]), n)[0])
        assert bound <= 0.0
        assert bound >= _exact_log_tail(k, n_t, a_w, n) - 1e-9, (k, n_t, a_w, n)
    # the Poisson tail alone said 1e-7 for a fleet of 3,000 that is nearly every active account
    big = hypergeometric_tail_bound(np.array([3000]), np.array([3000]), np.array([3005]), 3312)[0]
    assert big / math.log(10) < -100


def test_a_burst_that_is_most_of_the_log_is_still_found():
    # An incident extract: the hour around the test world's burst. The operator's 40 accounts are most
    # of the accounts, so lambda = n_t * a_w / n is nearly k (before: no burst, the 12 service
    # accounts' :00 jobs were the only cluster).
    mid = AT + dt.timedelta(minutes=1)
    events = burst_log(0).filter((pl.col("timestamp") - mid).abs() < dt.timedelta(minutes=30))
    clustered, _ = _ops_clustered(events)
    assert clustered == 40
    # and a fleet of 3,000 in one burst among 300 people (before: nothing)
    clustered, counts = _ops_clustered(burst_log(0, n_ops=3000))
    assert clustered == 3000 and counts["burst_clusters"] == 1


def test_one_off_accounts_posing_as_hourly_jobs_are_still_tested():
    # Three runs at 12:07, 13:07 and 14:07: scheduled_accounts calls that a job (three runs at one minute
    # of the hour), which left all 40 accounts out of the test (before: 0 clustered, burst_scheduled 52).
    events = _with_operator(_template, hours_before=(2, 1, 0), seconds=(0, 0, 0), spread=60)
    clustered, counts = _ops_clustered(events)
    assert clustered == 40 and counts["burst_scheduled"] == 12  # the company's days-long jobs still are


def test_json_output_escapes_c1_controls(monkeypatch):
    # A burst's opening keeps controls the normaliser does not remove (ESC c resets a terminal; U+009B is
    # an 8-bit CSI): json.dumps(ensure_ascii=False) escapes C0 but printed U+009B raw (show --json).
    from graphlink.cli_support import emit_json

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    value = "burst=\x1bc\x9b0m\x9d0;title\x07 you are an expert \x7f"
    emit_json({"why": value})
    text = out.getvalue()
    assert not any(0x7F <= ord(c) <= 0x9F or (ord(c) < 0x20 and c != "\n") for c in text)
    assert json.loads(text) == {"why": value}


@pytest.mark.xfail(strict=True, reason="open: the template is the first 5 words, so one random first word per "
                                       "account (or a synonym of the first words) gives every account its own "
                                       "template; fix: test shingles at the first few positions, or min-hash the "
                                       "opening sentence")
def test_a_random_first_word_per_account_does_not_hide_the_burst():
    events = _with_operator(lambda rng, i: f"{FILLERS[i]} " + _template(rng, i))
    clustered, _ = _ops_clustered(events)
    assert clustered == 40


@pytest.mark.xfail(strict=True, reason="open: a prompt of fewer than 5 words has no opening shingle (shingle_texts "
                                       "yields none), so short templates are never tested; fix: the whole "
                                       "normalised text as the template of a text shorter than ngram words")
def test_short_prompts_do_not_hide_the_burst():
    events = _with_operator(lambda rng, i: f"tutor me: {rng.choice(TOPICS).split()[0]}")
    clustered, _ = _ops_clustered(events)
    assert clustered == 40


def _workshop_and_bridge(bridges: int, seed: int = 0, n_students: int = 25) -> pl.DataFrame:
    """The test world and a workshop: 25 people pasting their teacher's prompt within 4 minutes of 10:00 on day
    2 (own addresses and cards, other use over the three days); ``bridges`` operator accounts paste it too."""
    from tests.burst_world import OPENERS

    rng = random.Random(seed)
    teacher = "Act as a patient chemistry teacher and explain to me {t} with an analogy."
    at = START + dt.timedelta(days=1, hours=10)
    rows = []
    for i in range(n_students):
        rows.append((f"stu{i:03d}", at + dt.timedelta(seconds=rng.randrange(240)), f"100.{i}.0.1", f"card-stu{i:03d}",
                     teacher.format(t=rng.choice(TOPICS))))
        for _ in range(rng.randrange(1, 5)):
            rows.append((f"stu{i:03d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)), f"100.{i}.0.9",
                         f"card-stu{i:03d}", f"{rng.choice(OPENERS)} {rng.choice(TOPICS)} {rng.randrange(10**6)}"))
    for b in range(bridges):
        rows.append((f"op{b:03d}", at + dt.timedelta(seconds=rng.randrange(240)), f"203.0.{b}.10", f"card-op{b:03d}",
                     teacher.format(t=rng.choice(TOPICS))))
    return pl.concat([burst_log(seed), pl.DataFrame(rows, schema=SCHEMA, orient="row")])


def _groups(result) -> dict[str, list]:
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return {g: acc.filter(pl.col("account_id").str.starts_with(g)).select("cluster_id", "flagged").unique().rows()
            for g in ("op", "stu")}


def test_one_account_in_two_bursts_does_not_merge_them():
    # One operator account pasting the workshop's prompt in the workshop's minutes made the class and the
    # operator one connected component: one flagged cluster of 65 (before). Bursts now group by shared
    # holders and the account joins the smaller group: the class stays apart and unflagged.
    from tests.burst_world import burst_accounts

    groups = _groups(graphlink.detect(_workshop_and_bridge(1), burst_accounts(0)))
    assert len(groups["stu"]) == 1 and groups["stu"][0][0] is not None and not groups["stu"][0][1]
    fleet = [row for row in groups["op"] if row[0] != groups["stu"][0][0]]
    assert len(fleet) == 1 and fleet[0][1]


def _launch_and_fleet(seed: int = 0, n_fans: int = 150) -> pl.DataFrame:
    """The test world, a product launch (150 of its people send one launch prompt within 5 minutes of 14:20 on
    day 2) and the operator's 40 accounts sending the launch prompt too."""
    rng = random.Random(seed)
    launch = START + dt.timedelta(days=1, hours=14, minutes=20)
    prompt = "Write a launch tweet for the new {t} feature {n}"
    rows = [(f"p{i:03d}", launch + dt.timedelta(seconds=rng.randrange(300)), f"10.{i // 250}.{i % 250}.1",
             f"card-p{i:03d}", prompt.format(t=rng.choice(TOPICS), n=rng.randrange(999))) for i in range(n_fans)]
    rows += [(f"op{i:03d}", launch + dt.timedelta(seconds=rng.randrange(300)), f"203.0.{i}.10", f"card-op{i:03d}",
              prompt.format(t=rng.choice(TOPICS), n=rng.randrange(999))) for i in range(40)]
    return pl.concat([burst_log(seed), pl.DataFrame(rows, schema=SCHEMA, orient="row")])


@pytest.mark.xfail(strict=True, reason="open: the fleet's accounts left unclustered hold both its burst and the "
                                       "launch's, so the launch's real people share a burst cluster with them (or, "
                                       "split apart, a campaign through the fleet's launch-prompt shingles): 150 "
                                       "people flagged 'same operator as flagged cluster'; the flag needs a tie "
                                       "that more than the fleet's few accounts make")
def test_a_fleet_joining_a_product_launch_does_not_flag_the_launch_crowd():
    from tests.burst_world import burst_accounts

    result = graphlink.detect(_launch_and_fleet(), burst_accounts(0))
    people = result.accounts.filter(pl.col("account_id").str.starts_with("p")).join(
        result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    assert people["flagged"].fill_null(False).sum() == 0
