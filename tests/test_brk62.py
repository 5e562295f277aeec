"""Break-it review of session 62's branches (helper brk62): passage ties, card cells, pool carriers.

Each test is a small hand-built input with the right answer. A strict xfail is a finding its author must fix;
a passing test pins what held. BENCHMARKS.md "Sixty-second pass (session 62, helper brk62)".
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl
import pytest

import graphlink
from tests._worlds import planted_world

#: tie62's framework prompt (19 words), and two real-world shapes of a framework's stock system prompt.
HEAD = "you are a helpful assistant that answers concisely using the provided context and cites sources when unsure say so"
#: A passage that repeats a clause of four words with other words on both sides ("you do not know"): a long system
#: prompt repeats such clauses ("you must not", "the user asks") as a matter of course.
REPEATED = "you are a helpful assistant if you do not know the answer then say you do not know and stop there"
#: A framework prompt with a fill-in slot (the product's name): every user fills it with its own.
SLOT = "you are a helpful assistant for {} that answers concisely using the provided context and cites sources"
RING_WORDS = "review five star amazing product buy now discount best"
TEAM_WORDS = "invoice quarterly ledger payroll audit vendor budget forecast"


@lru_cache(maxsize=1)
def background() -> pl.DataFrame:
    return planted_world(2, n_benign=400)[0]


def group(name: str, n: int, rng: np.random.Generator, head: str, words: str, ips: list[str], cards,
          hours: tuple[int, int], per: int = 10) -> pl.DataFrame:
    """``n`` accounts sending ``per`` prompts each: ``head`` then 12 of their own ``words``, python-requests,
    between ``hours`` UTC over two weeks (tie62's builder, the head a parameter)."""
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    sec = rng.integers(0, 14, m) * 86400 + rng.integers(*hours, m) * 3600 + rng.integers(0, 3600, m)
    body = [" ".join(w) for w in rng.choice(np.array(words.split()), (m, 12))]
    return pl.DataFrame({
        "account_id": [f"{name}{i:03d}" for i in acc],
        "timestamp": (np.datetime64("2024-05-01T00:00:00") + sec.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": rng.choice(ips, m).tolist(), "payment_fingerprint": [cards(i) for i in acc],
        "prompt": [head + " " + b for b in body], "user_agent": "python-requests/2.31.0"})


def company_and_ring(team_head: str, ring_head: str) -> pl.DataFrame:
    """A company of 14 (a card each, two office addresses, office hours) and a ring of 20 (3 cards, 24 addresses,
    around the clock) beside planted_world's 400 users and two rings; each group opens every prompt with its head."""
    events = background()
    rng = np.random.default_rng(3)
    team = group("acme", 14, rng, team_head, TEAM_WORDS, ["203.0.113.5", "203.0.113.6"], lambda i: f"pf_acme{i}", (9, 17))
    ring = group("zrng", 20, rng, ring_head, RING_WORDS, [f"198.18.{i}.{j}" for i in range(3) for j in range(1, 9)],
                 lambda i: f"pf_zrng{i % 3}", (0, 24), per=25)
    return pl.concat([events] + [f.with_columns(pl.col("timestamp").cast(events.schema["timestamp"])) for f in (team, ring)],
                     how="diagonal_relaxed")


def flagged(log: pl.DataFrame, **settings) -> dict[str, int]:
    result = graphlink.detect(log, config=graphlink.build_config(**settings) if settings else None)
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    got = acc.group_by(pl.col("account_id").str.slice(0, 4).alias("g")).agg(pl.col("flagged").fill_null(False).sum())
    return dict(got.iter_rows())


# ---------------------------------------------------------------------------------------------------------------------
# passage ties (on by default): what held


def test_a_company_pasting_the_passage_in_look_alike_letters_and_zero_width_spaces_stays_unflagged():
    # Cyrillic a for every Latin a and a zero-width space after every space: normalised, still one passage
    tricked = HEAD.replace("a", "\u0430").replace(" ", " \u200b")
    got = flagged(company_and_ring(tricked, HEAD))
    assert got["zrng"] == 20 and got["acme"] == 0 and got["user"] == 0


def test_detection_with_the_new_defaults_is_deterministic():
    log = company_and_ring(HEAD, HEAD)
    a, b = graphlink.detect(log), graphlink.detect(log.sample(fraction=1.0, shuffle=True, seed=5))
    key = ["account_id"]
    assert a.accounts.sort(key).equals(b.accounts.sort(key))
    assert a.clusters.sort("cluster_id").equals(b.clusters.sort("cluster_id"))


# ---------------------------------------------------------------------------------------------------------------------
# passage ties: what broke -- "one passage" is read off chains of overlapping phrases, and a framework prompt is
# one passage only while no four-word clause repeats in it and it has no fill-in slot. Either makes it two or more
# chains, and the company is tied again by "N prompt phrases" (score 0.0), as on main before the fix.


@pytest.mark.xfail(strict=True, reason="brk62: a framework prompt repeating a four-word clause with other words on "
                   "both sides is a crossing in prompt_templates, so its phrases chain into several passages and the "
                   "quiet company pasting it is tied to the ring again (flagged 14 of 14, 'tied ... by 17 prompt "
                   "phrases'); the passages should be counted as what the company's prompts write together, not as "
                   "chains of account-level phrases")
def test_a_company_pasting_a_framework_prompt_that_repeats_a_clause_stays_unflagged():
    got = flagged(company_and_ring(REPEATED, REPEATED))
    assert got["zrng"] == 20 and got["acme"] == 0


@pytest.mark.xfail(strict=True, reason="brk62: a framework prompt with a fill-in slot (each user writes its own "
                   "product name) is two passages around the slot; the quiet company is tied to a ring using the same "
                   "framework by 8 prompt phrases and flagged 14 of 14 -- exactly the framework class passage_ties "
                   "was built for")
def test_a_company_filling_a_framework_prompts_slot_with_its_own_name_stays_unflagged():
    got = flagged(company_and_ring(SLOT.format("acme corporation"), SLOT.format("zeta holdings")))
    assert got["zrng"] == 20 and got["acme"] == 0


def test_the_slot_and_repeat_findings_are_the_passage_rule_not_the_input():
    # the same company with one unbroken passage is unflagged (tie62's fix), so the two xfails above can pass
    got = flagged(company_and_ring(HEAD, HEAD))
    assert got["zrng"] == 20 and got["acme"] == 0
