"""Break-it review (session 53, helper brk53) of session 53's changes on by default: rotation ties with an
operator's template (branch ties53), pool pieces (camp53), a card team's office and own-value members without one
card (lead53).

Open (strict xfails, reasons beside them): see each test. Worlds are small and seeded, built as in
``tests/test_break52.py`` and ``tests/test_rotation_relay52.py``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.stages.signals import rotation_ties as rotation_module
from tests.test_break52 import timed
from tests.test_rotation_relay52 import DESKTOP, PUBLIC_TEMPLATE, SAFARI, World, _hex, _text


def flagged(result, prefix: str) -> set[str]:
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return set(acc.filter(pl.col("account_id").str.starts_with(prefix) & pl.col("flagged").fill_null(False))
               ["account_id"].to_list())


# --- rotation ties: a phrase "linked" off the block by many unrelated offices (ties53) -----------------------------

def platform_offices_world(seed: int, offices: int = 5, staff: int = 12, ipv4: int = 400):
    """30 strangers on an agent platform's rotating /48 each sending its public framework template with their own
    card and questions (as ``test_break52.platform_world``); ``ipv4`` IPv4 users at home (10 on the template too);
    ``offices`` companies that use the same framework in-house, ``staff`` each behind the company's NAT with their own
    cards, every prompt on the template; and the 6-account ring on its rented /48."""
    w = World(seed)
    for i in range(30):
        w.person(f"relay{i}", lambda: f"2a02:26f7:b3c0:{_hex(w.rng)}:{_hex(w.rng)}:{_hex(w.rng)}::1", SAFARI,
                 lambda: f"{PUBLIC_TEMPLATE} {_text(w.rng, 6)}")
    w.ipv4_users(ipv4, 10)
    ring = w.ring()
    for o in range(offices):
        for s in range(staff):
            w.person(f"office{o}_{s}", lambda o=o: f"198.51.{100 + o}.7", DESKTOP[s % 3],
                     lambda: f"{PUBLIC_TEMPLATE} {_text(w.rng, 6)}")
    return w, ring


@pytest.mark.skipif(not hasattr(rotation_module, "NOT_LINKING"), reason="needs ties53's operator's-template rule")
def test_the_platform_world_without_offices_flags_no_stranger():
    # the control: with no office writing the template, its linked holders are none and it ties nobody
    w, ring = platform_offices_world(1, offices=0)
    result = graphlink.detect(w.frame(), rotation_ties=True)
    assert flagged(result, "ring") == set(ring) and flagged(result, "relay") == set()


# Was a strict xfail (brk53): the five offices' 60 staff counted as "linked" writers off the block outnumbered the
# 40 unlinked ones and the template tied all 30 strangers. Fixed (ties54): a phrase ties a block only when most of
# its writers *on the block* are linked otherwise; groups off the block that reach none of them count for nothing.
def test_strangers_on_a_platform_are_not_flagged_when_offices_write_its_public_template():
    w, ring = platform_offices_world(1)
    result = graphlink.detect(w.frame(), rotation_ties=True)
    assert flagged(result, "ring") == set(ring)
    assert flagged(result, "relay") == set() and flagged(result, "office") == set()


# --- a card's team "works from an office" where others are based (lead53) -----------------------------------------

REVIEW = "Write a five star review for product {} praising fast shipping and great quality"
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango").split()


def carrier_ring_world(seed: int, cards: int = 2) -> pl.DataFrame:
    """A ring of 20 on ``cards`` shared cards writing a review template at waking hours from a desktop browser, every
    request from one address of a mobile carrier's CGNAT, where 150 phone users with their own cards are based (nine
    in ten of their requests from it); 200 homes beside."""
    rng = np.random.default_rng(seed)
    cgnat, rows = "100.64.7.1", []
    for i in range(20):
        for d in range(4):
            for s in d * 86400 + 8 * 3600 + np.sort(rng.integers(0, 14 * 3600, 10)):
                rows.append((f"ring_{i}", int(s), cgnat, f"card_ring_{i % cards}",
                             REVIEW.format(int(rng.integers(1000))), "Mozilla/5.0 Firefox/126.0"))
    for i in range(150):
        for d in range(4):
            for s in d * 86400 + 8 * 3600 + np.sort(rng.integers(0, 14 * 3600, int(rng.integers(2, 6)))):
                address = cgnat if rng.random() < 0.9 else f"100.65.{i}.{d}"
                rows.append((f"phone_{i}", int(s), address, f"card_phone_{i}", " ".join(rng.choice(WORDS, 12)),
                             "Mobile Safari"))
    for i in range(200):
        for d in range(4):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                rows.append((f"home_{i}", int(s), f"81.{i}.{d % 2}.{i + 2}", f"card_home_{i}",
                             " ".join(rng.choice(WORDS, 12)), "Mozilla/5.0 Firefox/126.0"))
    return timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])


# Passes on main (ring flagged at 0.95); FAILS on lead53 (all 20 at 0.22, seeds 1-3, 2 or 3 cards): the carrier's
# phones are "based" on the CGNAT, so the ring's cards read as a team working from an office and its template is no
# script (card_pools.office_members' new clause; reverted in session 53 after this test).
@pytest.mark.parametrize("seed", [1, 2])
def test_a_ring_on_two_cards_behind_a_carriers_cgnat_where_phones_are_based_is_flagged(seed):
    result = graphlink.detect(carrier_ring_world(seed))
    assert flagged(result, "ring_") == {f"ring_{i}" for i in range(20)}
    assert flagged(result, "home_") == set()


# --- the fleet-bystander test reading "no prompt at all" as off the script (lead53) --------------------------------

def sampled_prompts_world(seed: int, rate: float = 0.1) -> pl.DataFrame:
    """A log that records the prompt on a ``rate`` share of requests (null otherwise): a ring of 30 on 6 proxy exits,
    every other account on one of 3 shared cards, all on a review template; a third of them send 4 requests, the
    rest 40; 120 homes."""
    rng = np.random.default_rng(seed)
    pool, rows = [f"45.83.{seed}.{k}" for k in range(6)], []
    for i in range(30):
        for s in np.sort(rng.integers(0, 4 * 86400, 4 if i % 3 == 0 else 40)):
            prompt = REVIEW.format(int(rng.integers(1000))) if rng.random() < rate else None
            rows.append((f"ring_{i}", int(s), str(rng.choice(pool)), f"card_ring_{i % 3}" if i % 2 else None, prompt,
                         "python-requests/2.31"))
    for i in range(120):
        for d in range(4):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                rows.append((f"home_{i}", int(s), f"81.{i}.{d % 2}.{i + 2}", f"card_home_{i}",
                             " ".join(rng.choice(WORDS, 12)) if rng.random() < rate else None, "Firefox/126.0"))
    return timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])


# Passes on main (30 of 30 flagged, seeds 1-3, prompts on 10 % or 25 % of rows); FAILS on lead53 (25 / 26 / 28 of 30
# at 10 %): a ring account with 4 requests, no card, none of them carrying a logged prompt, is detached as a
# bystander "off the script" (reverted in session 53 after this test).
def test_ring_accounts_whose_few_requests_carry_no_logged_prompt_stay_flagged():
    result = graphlink.detect(sampled_prompts_world(1))
    assert flagged(result, "ring_") == {f"ring_{i}" for i in range(30)}
    assert flagged(result, "home_") == set()
