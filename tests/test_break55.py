"""Break-it review (session 55, helper brk55) of two default-on candidates: address bystanders judged against
chance (branch prec55, ``graphlink.stages.outsiders.CHANCE_ALPHA``) and lone cells (branch opari55,
``graphlink.stages.lone_cells``).

Hand-built inputs. A break that holds on a branch and not on main is a strict xfail *while that branch's code is
present* (keyed on a public name the branch adds), so the file passes on main and on each branch; a break on main
and branch alike is a plain strict xfail. Figures: BENCHMARKS.md, "Fifty-fifth pass (session 55, helper brk55)".
"""

from __future__ import annotations

import importlib.util
from datetime import timedelta

import polars as pl
import pytest

import graphlink
import graphlink.stages.outsiders as outsiders
from graphlink.stages.outsiders import address_bystanders
from tests.test_rotation_relay52 import DAYS, DESKTOP, T0, World, _hex, _text

CHANCE = getattr(outsiders, "CHANCE_ALPHA", 0) > 0  # prec55's clause present and on
LONE = importlib.util.find_spec("graphlink.stages.lone_cells") is not None  # opari55's stage present

U32 = {"account_idx": pl.UInt32}
TEMPLATE, EXIT = 100, 101


def flagged(result, prefix: str) -> set[str]:
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return set(acc.filter(pl.col("account_id").str.starts_with(prefix) & pl.col("flagged").fill_null(False))
               ["account_id"].to_list())


# --- address bystanders judged against chance (prec55) ---------------------------------------------------------------

def card_per_account_ring(n: int = 6, ring_prompts: tuple[int, int] = (1, 1), crowd=((10, 1),) * 50):
    """Cluster 1: ``n`` ring accounts (0..n-1), each paying with a card of its own (a stolen card per account: no card
    two members hold), all holding the ring's template passage and one exit address; each ring account's prompts
    ``ring_prompts`` = (sampled, scripted) -- (1, 1): a bot replaying one fixed prompt (its *distinct* prompts are what
    is sampled). ``crowd``: unclustered accounts writing their own, each (sampled, scripted)."""
    ring = list(range(n))
    clusters = pl.DataFrame({"account_idx": ring, "cluster_id": [1] * n}, schema_overrides=U32)
    rows = [(a, TEMPLATE) for a in ring] + [(a, EXIT) for a in ring] + [(a, 200 + a) for a in ring]  # own cards
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [TEMPLATE, EXIT, *[200 + a for a in ring]],
                            "kind": ["prompt", "ip", *["payment"] * n], "df": [n, n, *[1] * n]},
                           schema_overrides={"signal_idx": pl.UInt32})
    counts = [ring_prompts] * n + list(crowd)
    stats = pl.DataFrame({"account_idx": list(range(len(counts))), "prompts_sampled": [c[0] for c in counts],
                          "prompts_scripted": [c[1] for c in counts]}, schema_overrides=U32)
    return clusters, memberships, signals, stats


def detached(clusters, memberships, signals, stats) -> list[int]:
    return sorted(address_bystanders(clusters, memberships, signals, stats)["account_idx"].to_list())


# prec55 35cbefc: every member of the ring is detached. Each sends its one template prompt (1 of 1 scripted): at the
# log's rate of chance (0.1) P(X >= 1) = 0.1 > CHANCE_ALPHA, so each is "off the script" (it pays with none of the
# others' cards: each its own); then no member is on the script to vouch for the template passage they all hold, and
# all six are bystanders. main: 1 of 1 is not under a quarter of the others' 100 %, none detached.
@pytest.mark.xfail(CHANCE, strict=True, reason="prec55: a one-prompt ring on a card per account is detached whole")
def test_a_ring_of_one_prompt_bots_each_on_its_own_card_is_not_detached():
    assert detached(*card_per_account_ring()) == []


# The same with a crowd whose own prompts share a passage often (p0 0.4, each under half: not on a script): a ring
# replaying its template with 3 distinct fills, 3 of 3 scripted, is chance too (P 0.064).
@pytest.mark.xfail(CHANCE, strict=True, reason="prec55: at a high rate of chance 3 of 3 scripted reads as chance")
def test_a_ring_of_three_prompt_bots_beside_a_wordy_crowd_is_not_detached():
    assert detached(*card_per_account_ring(ring_prompts=(3, 3), crowd=((10, 4),) * 50)) == []


def test_no_chance_rate_and_zero_rate_leave_the_ring():
    # No unclustered account (no rate to judge by) and a crowd that never shares a passage (p0 = 0): kept on both.
    assert detached(*card_per_account_ring(crowd=())) == []
    assert detached(*card_per_account_ring(crowd=((10, 0),) * 50)) == []


def card_per_account_world(seed: int = 1, n: int = 12, stock_share: float = 0.15) -> tuple[World, list[str]]:
    """End to end: 200 IPv4 users writing their own (``stock_share`` of their prompts opening with a stock request
    others send too: a rate of chance above 0); a ring of ``n`` bots on a proxy pool of 240 exits in 59 networks, each paying with a stolen card
    of its own and replaying one fixed template prompt in scheduled bursts (one distinct prompt per account)."""
    w = World(seed)
    stock = "Can you please help me write a short polite email to my landlord about the broken heating in my flat"
    for i in range(200):
        home = f"100.{64 + i // 200}.{i % 200}.{10 + i % 7}"
        prompt = lambda: (stock + " " + _text(w.rng, 6)) if w.rng.random() < stock_share else _text(w.rng)  # noqa: E731
        w.person(f"v4user{i}", lambda home=home: home, DESKTOP[i % 3], prompt)
    names = [f"ring{i}" for i in range(n)]
    fixed = "Rewrite this product review in a new voice and keep it under eighty words with five stars given"
    for day in range(DAYS):
        start = T0 + timedelta(days=day, hours=int(w.rng.integers(0, 24)))
        for step in range(6):
            for acc in names:
                ts = start + timedelta(minutes=7 * step, seconds=int(w.rng.integers(0, 5)))
                w.rows.append((acc, ts, f"185.{int(w.rng.integers(1, 60))}.{int(w.rng.integers(0, 4))}.7",
                               f"stolen-{acc}", fixed, DESKTOP[0]))
    return w, names


def signups(w: World, ring: list[str]) -> pl.DataFrame:
    """Accounts: the ring's made in one ten-minute burst on a throwaway domain, the users' over two years."""
    users = sorted({r[0] for r in w.rows} - set(ring))
    made = [T0 - timedelta(days=int(w.rng.integers(30, 730))) for _ in users] + [
        T0 - timedelta(days=2, seconds=int(w.rng.integers(0, 600))) for _ in ring]
    domains = [["gmail.com", "yahoo.com", "outlook.com"][i % 3] for i in range(len(users))] + ["mailbox.run"] * len(ring)
    return pl.DataFrame({"account_id": users + ring, "created_at": made, "email_domain": domains},
                        schema={"account_id": pl.String, "created_at": pl.Datetime("us", "UTC"), "email_domain": pl.String})


# prec55 35cbefc: the whole ring detached (12 of 12: each 1 of 1 scripted, chance at the log's 0.15), not flagged.
# main: the ring's cluster is kept whole and flagged.
@pytest.mark.xfail(CHANCE, strict=True, reason="prec55: a one-prompt ring on a card per account is detached whole")
def test_end_to_end_ring_of_one_prompt_bots_on_a_card_each():
    w, ring = card_per_account_world()
    result = graphlink.detect(w.frame(), accounts=signups(w, ring))
    assert flagged(result, "ring") == set(ring)
    assert flagged(result, "v4user") == set()
