"""An office's NAT is where its staff work; a proxy exit is where accounts pass through (session 53).

A team on the company card, working from the office NAT the whole company shares and sending the in-house tool's
template, read as one payer's scripted fleet: its card's holders were an office only when they held the address
nearly alone (``card_pools.office_members``), and an office NAT is the company's, not the team's. Now an address is
also the card's office when most of the requests through it, the card's own set aside, come from accounts that send
most of their requests from it (the staff who work there). A ring behind one exit that others pass through, or that
a rotating crowd draws from, is still no office (tests below; the office itself is
``tests/test_break52.py::test_an_office_whose_team_uses_the_in_house_tool_on_the_company_card_is_not_flagged``).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.stages.card_pools import office_members
from tests.test_break52 import TEMPLATE, WORDS, flagged, timed

EXIT = "45.83.9.1"


def one_exit_world(seed: int, crowd: str) -> pl.DataFrame:
    """A ring of 20 on one card whose every request leaves one exit, a review template, 80 homes; ``crowd``:
    ``"passers"`` -- 60 accounts sending one or two requests each through the exit (it is their main address);
    ``"rotators"`` -- 60 accounts drawing each of their 12 requests from the exit and 5 more of the network's."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(20):
        for d in range(4):
            for s in d * 86400 + 3 * 3600 + np.cumsum(rng.integers(30, 300, 10)):
                rows.append((f"ring_{i}", int(s), EXIT, "card_op", TEMPLATE.format(int(rng.integers(1000))),
                             "python-requests/2.31"))
    for i in range(80):
        for d in range(4):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                rows.append((f"home_{i}", int(s), f"81.{i}.{d % 2}.{i + 2}", f"card_home_{i}",
                             " ".join(rng.choice(WORDS, 12)), "Mozilla/5.0 Firefox/126.0"))
    network = [EXIT] + [f"45.83.9.{k}" for k in range(2, 7)]
    for j in range(60):
        n = int(rng.integers(1, 3)) if crowd == "passers" else 12
        for s in np.sort(rng.integers(0, 4 * 86400, n)):
            ip = EXIT if crowd == "passers" else str(rng.choice(network))
            rows.append((f"crowd_{j}", int(s), ip, f"card_crowd_{j}", " ".join(rng.choice(WORDS, 12)), "Chrome/125"))
    return timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])


@pytest.mark.parametrize("crowd", ["passers", "rotators"])
def test_a_ring_behind_one_exit_others_pass_through_is_still_flagged(crowd):
    result = graphlink.detect(one_exit_world(1, crowd))
    assert flagged(result, "ring_") == {f"ring_{i}" for i in range(20)}
    assert flagged(result, "crowd_") == set() and flagged(result, "home_") == set()


def _frames(shares: dict[int, list[tuple[int, int]]], card_holders: list[int]):
    """Signals 0 (the card) and 1 (the address); ``shares``: account -> [(signal, count)]."""
    rows = [(a, s, c) for a, held in shares.items() for s, c in held]
    memberships = pl.DataFrame(rows, schema=["account_idx", "signal_idx", "count"], orient="row").with_columns(
        pl.col("account_idx").cast(pl.UInt32), pl.col("signal_idx").cast(pl.UInt32))
    df = memberships.group_by("signal_idx").len().sort("signal_idx")["len"].to_list()
    signals = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["payment", "ip", "ip"], "weight": [3.0, 1.0, 1.0],
                            "df": df + [0] * (3 - len(df))}).with_columns(pl.col("signal_idx").cast(pl.UInt32))
    members = pl.DataFrame({"cluster_id": [1] * len(card_holders), "account_idx": card_holders}).with_columns(
        pl.col("account_idx").cast(pl.UInt32))
    return members, memberships, signals


def test_a_card_team_on_the_companys_nat_is_an_office_and_on_a_ring_exit_is_not():
    # Accounts 0-3 pay with card 0 and send all their requests through address 1.
    team = {a: [(0, 1), (1, 20)] for a in range(4)}
    # The company's other 12 staff: address 1 is their main address (20 of 22 requests; 2 from home, signal 2).
    staff = {a: [(1, 20), (2, 2)] for a in range(4, 16)}
    members, memberships, signals = _frames({**team, **staff}, list(range(4)))
    assert office_members(members, memberships, signals)["office"].all()
    # The same 12 others drawing 2 of 22 requests through it (a rotating network's customers): no office.
    rotating = {a: [(1, 2), (2, 20)] for a in range(4, 16)}
    members, memberships, signals = _frames({**team, **rotating}, list(range(4)))
    assert not office_members(members, memberships, signals)["office"].any()
    # 12 passers-by sending their one request through it (their main address, but the card makes most of its use).
    passers = {a: [(1, 1)] for a in range(4, 16)}
    members, memberships, signals = _frames({**team, **passers}, list(range(4)))
    assert not office_members(members, memberships, signals)["office"].any()
