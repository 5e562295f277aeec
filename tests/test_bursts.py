"""Template bursts (graphlink.stages.bursts): one-off accounts of one operator, grouped by the burst they share.

Failure class (issue 17, "one-off template bursts"): an operator that gives each account one short burst,
its own proxy exit and its own card leaves no pairwise link; the accounts were never clustered (dev world
ind_s2_224000: cell 530's 600 accounts, 295 of them never clustered). The group is no chance: one template
in one window, far beyond what the template's holders and the window's traffic predict.
"""

from __future__ import annotations

import math
import random

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.config.build import build_config
from graphlink.stages.bursts import burst_values, poisson_tail_bound
from graphlink.stages.burst_tails import trials_tail_bound
from tests.burst_world import burst_accounts, burst_log


def _groups(result) -> pl.DataFrame:
    """``group, cluster_id, n``: accounts per kind of account (op, p, svc) and cluster."""
    return (result.accounts.with_columns(pl.col("account_id").str.extract(r"^([a-z]+)").alias("group"))
            .group_by("group", "cluster_id").len().sort("group", "cluster_id"))


@pytest.fixture(scope="module")
def burst_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bursts")
    burst_log(0).write_parquet(folder / "events.parquet")
    burst_accounts(0).write_parquet(folder / "accounts.parquet")
    return folder


def test_one_off_accounts_of_one_burst_are_one_flagged_cluster_that_names_the_burst(burst_files, tmp_path):
    result = graphlink.detect(burst_files / "events.parquet", burst_files / "accounts.parquet")
    groups = _groups(result)
    ops = groups.filter(pl.col("group") == "op")
    # every operator account in one cluster; no person and no service account clustered at all
    assert ops.height == 1 and ops["cluster_id"][0] is not None and ops["len"][0] == 40
    assert groups.filter(pl.col("group") != "op")["cluster_id"].null_count() == groups.filter(pl.col("group") != "op").height
    cluster = result.clusters.row(0, named=True)
    assert cluster["flagged"] and cluster["size"] == 40
    assert cluster["why"].startswith("40 accounts opened their prompts with one template within 10 minutes")
    assert "you are an expert tutor @ 2026-03-03T14:" in cluster["why"]
    assert "burst" in cluster["kinds"]
    counts = result.run["counts"]
    assert counts["burst_clusters"] == 1 and counts["burst_accounts"] == 40 and counts["burst_scheduled"] == 12
    # the burst values are evidence, but not linking values (a window of this log means nothing in the next)
    assert result.evidence.filter(pl.col("kind") == "burst").height >= 1
    out = result.save(tmp_path / "out")
    assert pl.read_parquet(out / "linking.parquet").filter(pl.col("kind") == "burst").height == 0
    shown = pl.read_parquet(out / "memberships.parquet").filter(pl.col("kind") == "burst")
    assert shown.height and shown["account_id"].n_unique() == 40  # the drill-down lists each member's burst


def test_without_bursts_the_one_off_accounts_are_never_clustered(burst_files):
    config = build_config(template_bursts=False)
    result = graphlink.detect(burst_files / "events.parquet", burst_files / "accounts.parquet", config=config)
    assert result.accounts["cluster_id"].null_count() == result.accounts.height
    assert "burst_values" not in result.run["counts"]


def test_a_burst_groups_but_without_tooling_evidence_does_not_flag(burst_files):
    # Events only: no bulk sign-up to see. A class pasting its teacher's prompt is a burst too: the
    # accounts are grouped and the burst named, but nothing says fake accounts.
    result = graphlink.detect(burst_files / "events.parquet")
    assert result.clusters.height == 1
    cluster = result.clusters.row(0, named=True)
    assert cluster["size"] == 40 and not cluster["flagged"]
    assert cluster["why"].startswith("40 accounts opened their prompts")


def test_an_operator_spread_over_days_is_no_burst(tmp_path):
    # The null: the same accounts, template and traffic, each account's two requests at a random time.
    for seed in range(3):
        path = tmp_path / f"spread{seed}.parquet"
        burst_log(seed, burst=False).write_parquet(path)
        result = graphlink.detect(path)
        assert result.run["counts"]["burst_values"] == 0
        assert result.accounts["cluster_id"].null_count() == result.accounts.height


def test_a_scheduled_company_is_left_out_though_its_jobs_look_like_bursts(tmp_path):
    # The company's 12 service accounts send one framework prompt at :00 every hour: every hour is a
    # "burst" of that template unless scheduled accounts are left out (checked on burst_values directly).
    path = tmp_path / "events.parquet"
    burst_log(1, n_ops=0).write_parquet(path)
    result = graphlink.detect(path)
    assert result.run["counts"]["burst_values"] == 0 and result.run["counts"]["burst_scheduled"] == 12
    assert result.accounts["cluster_id"].null_count() == result.accounts.height
    # the same log with nobody left out: the hourly jobs are bursts
    from graphlink.config import PipelineConfig
    from graphlink.pipeline import ingest_stage
    from graphlink.stages.drilldown import account_minutes
    from graphlink.stages.signals import extract_signals

    config = PipelineConfig()
    _, _, encoded = ingest_stage(path, None, config)
    signals = extract_signals(encoded, config.signals, None, (), release=False)
    sent, texts, _ = signals.openings
    _, values = burst_values(sent, account_minutes(encoded.frame, encoded.index.select("account_idx")), texts)
    # Nor are they bursts to the test itself: the jobs send the prompt in every hour they run, so their
    # holder-windows are what the null expects of each busy hour (session 35: the null over account-windows).
    assert values.height == 0


def test_heavy_users_of_a_popular_template_are_no_burst_but_one_off_accounts_are():
    # Failure class (session 35, test world independent 123 and orgs 120 with accounts: 18-20 framework users
    # flagged): 60 heavy users of one framework send its prompt in 30 % of a thousand windows; 2,000 light
    # accounts each send their own prompt once. A window holds ~18 framework users and ~2 light accounts: with
    # the null over accounts (60 of 2,068 send the framework, lambda ~0.6) every window was a "burst"; over
    # each account's own chance of a window (min(1, r * a_w / N): ~0.3 for a framework user) 18 is what chance
    # gives. Eight one-off accounts opening one template in one window stay a burst.
    rng = np.random.default_rng(35)
    heavy = [(a, int(w) * 10 + 3, 1) for a in range(60) for w in np.flatnonzero(rng.random(1000) < 0.3)]
    light = [(100 + a, int(rng.integers(0, 10_000)), 1000 + a) for a in range(2000)]
    burst = [(5000 + a, 5_002 + a % 4, 7) for a in range(8)]
    sent = pl.DataFrame(heavy + light + burst, schema={"account_idx": pl.UInt32, "minute": pl.Int64,
                                                       "template": pl.UInt64}, orient="row")
    minutes = sent.select("account_idx", pl.col("minute").cast(pl.UInt64).alias("key"))
    held, values = burst_values(sent, minutes)
    assert sorted(held["account_idx"].unique().to_list()) == list(range(5000, 5008))
    assert values["holders"].max() == 8  # (the grid shifted by half a window cuts the burst 6 + 2)


def test_look_alike_letters_do_not_split_the_burst(tmp_path):
    # Half the operator's accounts write the template with Cyrillic and full-width look-alikes: the
    # opening is compared after Unicode folding (TR39 confusables, NFKC), so the burst is one.
    log = burst_log(2)
    odd = pl.col("account_id").str.slice(2).cast(pl.Int64, strict=False) % 2 == 1
    disguised = pl.col("prompt").str.replace("You are an expert tutor", "Yоu аre аn ｅxpert tutоr", literal=True)
    log = log.with_columns(pl.when(pl.col("account_id").str.starts_with("op") & odd).then(disguised)
                           .otherwise(pl.col("prompt")).alias("prompt"))
    assert log.filter(pl.col("prompt").str.starts_with("Yоu")).height == 40
    path = tmp_path / "events.parquet"
    log.write_parquet(path)
    ops = _groups(graphlink.detect(path)).filter(pl.col("group") == "op")
    assert ops.height == 1 and ops["cluster_id"][0] is not None and ops["len"][0] == 40


def _exact_log_tail(k: int, lam: float) -> float:
    """log P(Poisson(lam) >= k), summed term by term in log space (the oracle)."""
    if k <= 0:
        return 0.0
    below = math.fsum(math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(k))
    if below < 0.5:
        return math.log1p(-below)
    terms = [-lam + j * math.log(lam) - math.lgamma(j + 1) for j in range(k, k + 4000)]
    top = max(terms)
    return top + math.log(math.fsum(math.exp(t - top) for t in terms))


@pytest.mark.parametrize("lam", [0.05, 0.7, 3.0, 12.5, 80.0])
def test_poisson_tail_bound_is_an_upper_bound_and_tight_far_out(lam):
    ks = np.arange(1, int(4 * lam) + 40)
    bound = poisson_tail_bound(ks, np.full(ks.size, lam))
    exact = np.array([_exact_log_tail(int(k), lam) for k in ks])
    assert (bound >= exact - 1e-9).all()  # never below the true tail: the test errs towards no burst
    far = ks >= 2 * lam + 5
    assert (bound[far] - exact[far] <= math.log(2)).all()  # within a factor 2 where bursts are called
    assert (bound[ks <= lam] == 0).all()


def test_burst_values_call_few_false_bursts_on_independent_timing():
    # 400 accounts, 30 templates each sent by many accounts at independent uniform times over two days:
    # Bonferroni at 1% allows a false burst in about 1 run in 100.
    false = 0
    for seed in range(20):
        rng = random.Random(seed)
        rows, mins = [], []
        for a in range(400):
            times = [rng.randrange(2 * 1440) for _ in range(rng.randrange(1, 6))]
            mins += [(a, t) for t in times]
            rows += [(a, t, rng.randrange(30)) for t in times]
        sent = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "minute": pl.Int64, "template": pl.UInt64},
                            orient="row").unique()
        minutes = pl.DataFrame(mins, schema={"account_idx": pl.UInt32, "key": pl.UInt64}, orient="row").unique()
        false += burst_values(sent, minutes)[1].height > 0
    assert false <= 1


def test_spark_engine_finds_the_same_bursts(spark, burst_files):
    # From CSV: Spark parses the times and hands the prompts' minutes over through its own copy of the events.
    pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")
    events = burst_files / "events.csv"
    pl.read_parquet(burst_files / "events.parquet").write_csv(events)
    runs = [graphlink.detect(events, burst_files / "accounts.parquet"),
            graphlink.detect(str(events), burst_files / "accounts.parquet", engine="spark", spark=spark)]
    a, b = (r.accounts.select("account_id", "cluster_id", "campaign_id").sort("account_id") for r in runs)
    assert a.equals(b) and a["cluster_id"].null_count() < a.height
    c, d = (r.clusters.select("cluster_id", "size", "score", "flagged", "why").sort("cluster_id") for r in runs)
    assert c.equals(d)
    e, f = (r.evidence.filter(pl.col("kind") == "burst").sort("cluster_id", "value") for r in runs)
    assert e.equals(f) and e.height
    assert {k: v for k, v in runs[0].run["counts"].items() if k.startswith("burst")} == \
        {k: v for k, v in runs[1].run["counts"].items() if k.startswith("burst")}


def test_trials_tail_bound_is_never_below_the_exact_tail_of_unequal_trials():
    # Oracle: the exact tail of a sum of independent unequal Bernoulli trials (dynamic programming over the
    # trials), for mixes of near-certain heavy accounts and rare light ones, as the burst null has them.
    rng = np.random.default_rng(7)
    for _ in range(40):
        p = np.concatenate([rng.uniform(0.5, 1.0, rng.integers(0, 20)), rng.uniform(0, 0.05, rng.integers(1, 200))])
        dist = np.zeros(len(p) + 1)
        dist[0] = 1.0
        for q in p:
            dist[1:] = dist[1:] * (1 - q) + dist[:-1] * q
            dist[0] *= 1 - q
        lam, var = p.sum(), (p * (1 - p)).sum()
        ks = np.arange(int(lam) + 1, len(p) + 1)
        exact = np.log(np.maximum(np.cumsum(dist[::-1])[::-1][ks], 1e-300))
        bound = trials_tail_bound(ks, np.full(len(ks), lam), np.full(len(ks), var), np.full(len(ks), len(p)))
        assert (bound >= exact - 1e-9).all()
