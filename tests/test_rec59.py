"""Burst writing (opt-in, ``[communities] burst_writing``): a template burst's members hold the phrases they write.

Failure class (issue 17, session 59, events only): an operator's one-off accounts -- one or two requests each, in one
burst, each on its own card and exit -- are grouped by the burst (:mod:`graphlink.stages.bursts`) but score nothing
without the accounts file, and, too thin for prompt signals (``prompt_min_prompts``), hold none of the operator's
template: no tie reaches them from the operator's flagged clusters (dev d303: one 25-account burst cell, 1 request
an account; with the accounts file it was flagged only because one of its members happened to send 3 prompts).
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

import graphlink
from graphlink.config import SignalConfig
from graphlink.config.build import build_config
from graphlink.stages.burst_writing import thin_members
from graphlink.stages.encode import encode_frame
from graphlink.stages.signals.prompt import prompt_pairs
from tests.burst_world import START, TEMPLATE, TOPICS, burst_log

ON = build_config(burst_writing=True)
OTHER = ("Act as a senior copy editor. Rewrite the paragraph below in plain English, keep every fact, cut the "
         "jargon, and list each change you made as a numbered note after the text: {topic}")


FLEET_TOPICS = ["tax law", "market timing", "gene editing", "fusion power", "rocket engines", "coral reefs",
                "chess openings", "wine making", "jet lag", "sleep cycles", "bridge design", "ocean tides"]


def _fleet(template: str, n: int = 20, seed: int = 5, topics: list[str] = TOPICS) -> pl.DataFrame:
    """An operator's fleet, loud on its own evidence: 20 accounts on 4 shared cards, a fresh proxy exit per request,
    around the clock for three days, every prompt its template (filled from ``topics``)."""
    rng = random.Random(seed)
    rows = [(f"fl{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)),
             f"100.{64 + rng.randrange(40)}.{rng.randrange(250)}.{rng.randrange(1, 250)}", f"card-fl{i % 4}",
             template.format(topic=rng.choice(topics) + f" {rng.randrange(10**6)}"))
            for i in range(n) for _ in range(14)]
    return pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
                                      "payment_fingerprint": pl.String, "prompt": pl.String}, orient="row")


def _flags(result) -> pl.DataFrame:
    """``group, flagged, n``: accounts per kind of account (op, fl, p, svc) and flag."""
    flagged = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return (flagged.with_columns(pl.col("account_id").str.extract(r"^([a-z]+)").alias("group"),
                                 pl.col("flagged").fill_null(False))
            .group_by("group", "flagged").len().sort("group", "flagged"))


def _flagged(result, group: str) -> int:
    f = _flags(result).filter((pl.col("group") == group) & pl.col("flagged"))
    return int(f["len"].sum())


@pytest.fixture(scope="module")
def same_template(tmp_path_factory):
    """The burst's one-off accounts write the fleet's template (one operator): events only."""
    path = tmp_path_factory.mktemp("rec59") / "events.parquet"
    pl.concat([burst_log(0), _fleet(TEMPLATE)]).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def other_template(tmp_path_factory):
    """The same burst beside a fleet writing another template (a class and an unrelated operator)."""
    path = tmp_path_factory.mktemp("rec59b") / "events.parquet"
    pl.concat([burst_log(0), _fleet(OTHER)]).write_parquet(path)
    return path


def test_off_the_burst_of_the_fleets_template_stays_unflagged(same_template):
    # main's behaviour (the failure): the fleet is flagged, its one-off burst accounts are grouped but not
    result = graphlink.detect(same_template)
    assert _flagged(result, "fl") == 20
    assert _flagged(result, "op") == 0


def test_on_the_burst_writing_the_flagged_fleets_template_is_flagged_as_its_operator(same_template):
    result = graphlink.detect(same_template, config=ON)
    assert _flagged(result, "fl") == 20
    assert _flagged(result, "op") == 40
    assert _flagged(result, "p") == 0 and _flagged(result, "svc") == 0
    ops = result.accounts.filter(pl.col("account_id").str.starts_with("op"))["cluster_id"].unique()
    why = result.clusters.filter(pl.col("cluster_id").is_in(ops.implode()))["why"].to_list()
    assert len(why) == 1 and "tied to flagged cluster" in why[0] and "prompt phrases" in why[0]


def test_on_the_clusters_are_unchanged_here(same_template):
    # the phrases are added once the partition is final: the clusters scoring starts from are main's (here no
    # join after the judgement reads them either, so the output's clusters are too), account for account
    off, on = graphlink.detect(same_template), graphlink.detect(same_template, config=ON)
    pair = off.accounts.select("account_id", "cluster_id").join(
        on.accounts.select("account_id", pl.col("cluster_id").alias("on")), on="account_id")
    assert pair.group_by("cluster_id").agg(pl.col("on").n_unique()).filter(pl.col("on") > 1).height == 0
    assert pair["cluster_id"].null_count() == pair["on"].null_count()


def test_on_a_burst_writing_another_template_than_the_flagged_fleets_stays_unflagged(other_template):
    # a class pasting its teacher's prompt beside an operator writing something else: nothing ties them
    result = graphlink.detect(other_template, config=ON)
    assert _flagged(result, "fl") == 20
    assert _flagged(result, "op") == 0 and _flagged(result, "p") == 0


def test_prompt_pairs_names_the_thin_accounts_shared_phrases():
    # 'a' and 'b' send the template three times (templated accounts: prompt signals); 'c' once (too thin: no
    # signal, but its phrases shared with them are listed); 'd' once, free text (nothing shared: not listed)
    tpl = "please explain step by step with every intermediate result how the {} works in detail"
    rows = [("a", tpl.format(t)) for t in ("sun", "moon", "sea")] + [("b", tpl.format(t)) for t in ("rain", "snow", "ice")]
    rows += [("c", tpl.format("wind")), ("d", "what should i cook tonight with rice and beans and some cheese")]
    enc = encode_frame(pl.LazyFrame(rows, schema=["account_id", "prompt"], orient="row"), 0)
    pairs, values, _, per_account, (_, _, thin) = prompt_pairs(enc, SignalConfig(ngram=5, seed=0))
    ids = enc.index.select("account_idx", "account_id")
    signalled = pairs.join(ids, on="account_idx")["account_id"].unique().sort().to_list()
    assert signalled == ["a", "b"]
    listed = thin.join(ids, on="account_idx")
    assert listed["account_id"].unique().to_list() == ["c"]
    # the phrases it lists are prompt signal texts, the template's (not the fill's)
    assert set(listed["value"]) <= set(values["value"]) and listed.height >= 5
    assert not any("wind" in v for v in listed["value"])


def _tables():
    sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["prompt", "ip", "prompt"], "value": ["act as a", "1.2.3.4", "b c d"],
                        "df": [2, 2, 2]}, schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    mem = pl.DataFrame({"account_idx": [0, 1, 0, 1, 0, 1], "signal_idx": [0, 0, 1, 1, 2, 2], "count": [1] * 6,
                        "damp": [1.0] * 6}, schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32,
                                                              "count": pl.UInt32})
    return sig, mem


def test_thin_members_adds_only_members_and_only_known_phrases():
    sig, mem = _tables()
    thin = pl.DataFrame({"account_idx": [5, 5, 6, 5], "value": ["act as a", "never seen", "act as a", "1.2.3.4"],
                         "count": [1, 1, 1, 1]}, schema_overrides={"account_idx": pl.UInt32, "count": pl.UInt32})
    members = pl.DataFrame({"account_idx": [5]}, schema={"account_idx": pl.UInt32})
    s, m = thin_members(sig, mem, thin, members)
    # account 5 (a member) holds 'act as a'; account 6 (no member) nothing; an unknown phrase and an ip text nothing
    assert m.filter(pl.col("account_idx") == 5)["signal_idx"].to_list() == [0]
    assert m.filter(pl.col("account_idx") == 6).height == 0
    assert s["df"].to_list() == [3, 2, 2]
    assert m.select("signal_idx", "account_idx").rows() == sorted(m.select("signal_idx", "account_idx").rows())
    # a phrase the member already holds is not counted twice
    s2, m2 = thin_members(sig, mem, thin.with_columns(pl.lit(0, pl.UInt32).alias("account_idx")),
                          pl.DataFrame({"account_idx": [0]}, schema={"account_idx": pl.UInt32}))
    assert s2["df"].to_list() == [2, 2, 2] and m2.height == mem.height


def test_thin_members_without_members_or_phrases_changes_nothing():
    sig, mem = _tables()
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "value": pl.String, "count": pl.UInt32})
    s, m = thin_members(sig, mem, empty, pl.DataFrame({"account_idx": [0]}, schema={"account_idx": pl.UInt32}))
    assert s.equals(sig) and m.equals(mem)


def _public(n: int = 60, seed: int = 9) -> pl.DataFrame:
    """Ordinary people who also use the template now and then (a public prompt): four requests each over three days,
    their own address and card, two of them the template."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        for j in range(4):
            text = (TEMPLATE.format(topic=rng.choice(TOPICS) + f" {rng.randrange(10**6)}") if j < 2
                    else f"tell me something about {rng.choice(TOPICS)} {rng.randrange(10**6)}")
            rows.append((f"pub{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)),
                         f"10.9.{i}.1", f"card-pub{i:02d}", text))
    return pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
                                      "payment_fingerprint": pl.String, "prompt": pl.String}, orient="row")


def _public_world(path, fleet_topics: list[str]):
    pl.concat([burst_log(0), _fleet(TEMPLATE, topics=fleet_topics), _public()]).write_parquet(path)
    return graphlink.detect(path, config=ON)


def test_on_a_class_pasting_a_public_prompt_a_fleet_also_sends_stays_unflagged(tmp_path):
    # the template is no operator's own when most of its holders are people in no cluster: a class pasting it in
    # one burst (the class's own topics) is not tied to the fleet that sends it too (its own topics)
    result = _public_world(tmp_path / "events.parquet", FLEET_TOPICS)
    assert _flagged(result, "fl") == 20
    assert _flagged(result, "op") == 0 and _flagged(result, "pub") == 0 and _flagged(result, "p") == 0


@pytest.mark.xfail(strict=True, reason="known limit (rec59): the template's fill phrases the class and the fleet "
                                       "share (one topic list) are held mostly by the fleet's clusters, and tie")
def test_on_a_class_pasting_a_public_prompt_with_the_fleets_own_fills_stays_unflagged(tmp_path):
    result = _public_world(tmp_path / "events.parquet", TOPICS)
    assert _flagged(result, "op") == 0 and _flagged(result, "pub") == 0
