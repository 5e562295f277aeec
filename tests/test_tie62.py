"""Passage ties (session 62, helper tie62): one pasted passage is one piece of evidence.

brk61 found a company of 14 (a card each, two office addresses, office hours) flagged "tied to flagged cluster by 15
prompt phrases" (score 0.0) because it starts every prompt with the framework system prompt a ring also pastes: the
15 phrases of one passage were counted as 15 ties. ``[scoring] passage_ties`` (on): a cluster showing nothing of a
fleet but its text, tied by
prompt phrases alone that chain into one passage is not tied (:mod:`graphlink.stages.passage_ties`). The ring's own
cells keep their flag when they write two or more of its passages, or show a trace of a fleet of their own.
BENCHMARKS.md "Sixty-second pass (session 62, helper tie62)".
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

import graphlink
from graphlink.stages.passage_ties import COMPONENTS, TEXT_COMPONENTS, quiet_clusters, single_passage_ties
from tests._worlds import planted_world

#: A framework's stock system prompt (19 words: 15 shingles of 5), and a stock closing instruction.
HEAD = "you are a helpful assistant that answers concisely using the provided context and cites sources when unsure say so"
TAIL = "finally list every assumption you made and rate your confidence from one to ten before you stop"
RING_WORDS = "review five star amazing product buy now discount best"
TEAM_WORDS = "invoice quarterly ledger payroll audit vendor budget forecast"


@lru_cache(maxsize=1)
def background() -> pl.DataFrame:
    return planted_world(2, n_benign=400)[0]


def group(name: str, n: int, rng: np.random.Generator, words: str, ips: list[str], cards, hours: tuple[int, int],
          per: int = 10, tail: bool = False) -> pl.DataFrame:
    """``n`` accounts sending ``per`` prompts each: ``HEAD``, 12 of their own ``words`` (then ``TAIL`` if asked), with
    python-requests, between ``hours`` UTC."""
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    sec = rng.integers(0, 14, m) * 86400 + rng.integers(*hours, m) * 3600 + rng.integers(0, 3600, m)
    body = [" ".join(w) for w in rng.choice(np.array(words.split()), (m, 12))]
    return pl.DataFrame({
        "account_id": [f"{name}{i:03d}" for i in acc],
        "timestamp": (np.datetime64("2024-05-01T00:00:00") + sec.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": rng.choice(ips, m).tolist(), "payment_fingerprint": [cards(i) for i in acc],
        "prompt": [HEAD + " " + b + (" " + TAIL if tail else "") for b in body], "user_agent": "python-requests/2.31.0"})


def flagged(hours: tuple[int, int] = (9, 17), tail: bool = False, **settings) -> dict[str, int]:
    """Flagged accounts per group (``acme`` of 14 on a card each and two office addresses; ``zrng`` of 20 on 3 cards
    and 24 addresses around the clock; both pasting ``HEAD``, and ``TAIL`` too if asked) beside 400 ordinary users."""
    events = background()
    rng = np.random.default_rng(3)
    team = group("acme", 14, rng, TEAM_WORDS, ["203.0.113.5", "203.0.113.6"], lambda i: f"pf_acme{i}", hours, tail=tail)
    ring = group("zrng", 20, rng, RING_WORDS, [f"198.18.{i}.{j}" for i in range(3) for j in range(1, 9)],
                 lambda i: f"pf_zrng{i % 3}", (0, 24), per=25, tail=tail)
    log = pl.concat([events] + [f.with_columns(pl.col("timestamp").cast(events.schema["timestamp"])) for f in (team, ring)],
                    how="diagonal_relaxed")
    result = graphlink.detect(log, config=graphlink.build_config(**settings) if settings else None)
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    got = acc.group_by(pl.col("account_id").str.slice(0, 4).alias("g")).agg(pl.col("flagged").fill_null(False).sum())
    return dict(got.iter_rows())


# ---------------------------------------------------------------------------------------------------------------------
# the stage


SIG = pl.DataFrame({"signal_idx": [0, 1, 2, 3, 4], "value": [
    "you are a helpful assistant", "are a helpful assistant that", "a helpful assistant that answers",
    "reason step by step first", "card 17"]}, schema_overrides={"signal_idx": pl.UInt32})


def rows(ties: dict[int, list[int]]) -> pl.DataFrame:
    pairs = [(c, s) for c, values in ties.items() for s in values]
    return pl.DataFrame({"cluster_id": [c for c, _ in pairs], "signal_idx": [s for _, s in pairs]},
                        schema={"cluster_id": pl.Int64, "signal_idx": pl.UInt32}).with_columns(
        text=pl.col("signal_idx") != 4)


def test_the_phrases_of_one_sentence_are_one_passage():
    got = single_passage_ties(rows({7: [0, 1, 2], 8: [0, 1], 9: [2]}), SIG, pl.Series([7, 8, 9]))
    assert got["cluster_id"].to_list() == [7, 8, 9]


def test_two_passages_or_a_card_beside_the_passage_tie_as_before():
    # cluster 8 writes the sentence and another passage; cluster 9 holds a card (even a contact) beside it
    got = single_passage_ties(rows({8: [0, 1, 2, 3], 9: [0, 1, 2, 4]}), SIG, pl.Series([8, 9]))
    assert got.is_empty()


def test_only_quiet_clusters_are_read():
    got = single_passage_ties(rows({7: [0, 1, 2], 8: [0, 1, 2]}), SIG, pl.Series([8]))
    assert got["cluster_id"].to_list() == [8]
    assert single_passage_ties(rows({7: [0, 1, 2]}), SIG, None).is_empty()
    assert single_passage_ties(rows({7: [0, 1, 2]}), SIG, pl.Series([], dtype=pl.Int64)).is_empty()


def test_without_the_words_no_phrase_is_chained():
    # a hand-built signals table without values: each phrase counts as before
    assert single_passage_ties(rows({7: [0, 1, 2]}), SIG.drop("value"), pl.Series([7])).is_empty()


def test_quiet_clusters_show_nothing_but_their_text():
    # 1: templated only (a company pasting a framework prompt); 2: heavy use too; 3: around the clock; 4: nothing
    cl = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "score": [0.0, 0.0, 0.3, 0.0], "template_share": [1.0, 0.7, 0.9, 0.0],
                       "volume": [0.0, 0.86, 0.0, None], "around_the_clock": [0.0, 0.0, 1.0, None]})
    assert quiet_clusters(cl).to_list() == [1, 4]
    weights = dict(graphlink.ScoringConfig().component_weights)
    assert quiet_clusters(cl, weights).to_list() == [1, 4]
    assert quiet_clusters(cl, {**weights, "volume": 0.0}).to_list() == [1, 2, 4]  # a component weighed 0 is no trace
    assert quiet_clusters(cl.select("cluster_id", "score")).to_list() == [1, 2, 4]  # no component: the score


def test_every_scored_component_is_read():
    assert set(COMPONENTS) == set(graphlink.ScoringConfig().component_weights)
    assert set(TEXT_COMPONENTS) <= set(COMPONENTS)


# ---------------------------------------------------------------------------------------------------------------------
# end to end: the company stays, the operator's cells inherit


def test_a_company_pasting_a_rings_framework_prompt_stays_unflagged():
    got = flagged()
    assert got["zrng"] == 20 and got["acme"] == 0
    assert got["user"] == 0 and got["ring"] == 40  # planted_world's ordinary users and its own two rings


def test_the_company_is_flagged_with_the_switch_off():
    # what the switch fixes (main before session 62): 15 phrases of one passage counted as 15 ties
    got = flagged(passage_ties=False)
    assert got["zrng"] == 20 and got["acme"] == 14


def test_a_cell_writing_two_of_its_operators_passages_inherits():
    # the same quiet group, writing the ring's whole template -- its opening and its closing clause: two passages.
    # (A company pasting two public passages that always come together reads the same: the limit of chains of
    # overlapping phrases, BENCHMARKS.md; account-level holdings do not say which phrases share a prompt.)
    got = flagged(tail=True)
    assert got["zrng"] == 20 and got["acme"] == 14


def test_a_cell_on_one_passage_showing_a_fleet_trait_inherits():
    # one passage, but working around the clock (scores above 0 alone, under the bar): a trace of its own
    got = flagged(hours=(0, 24))
    assert got["zrng"] == 20 and got["acme"] == 14

