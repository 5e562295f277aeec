"""Rotation ties on by default; a home's own /56 is no shared pool (session 51, rot51).

Session 50's rotation block (a /48 where two or more accounts rotate /64s and they are most of those seen there with
close requests) tied ISP households that each drew a fresh /64 of their own /56 per request: the ISP's /48 held
nobody else, so every household rotated "in one block" (test_break_session12, test_break_nc13 failed with
``rotation_ties`` on). A home's delegated prefix (RFC 6177, RIPE-690: a /56 or /60) is its own; only accounts whose
changes mostly leave the /56 they came from draw from a pool, and only they make and join a block.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from graphlink.config.build import build_config
from graphlink.pipeline import run_detect
from graphlink.stages.encode import encode_frame
from graphlink.stages.signals.ip import ip_pairs
from tests.test_break_pool import flagged
from tests.test_detection_classes import T0, Log, _words, add_people


def _bursts(log: Log, rng: np.random.Generator, acc: str, card: str, address, days: int = 4) -> None:
    """Evening bursts of 6 requests 2-8 minutes apart; ``address(rng)`` gives each request's address."""
    for d in range(days):
        ts = T0 + timedelta(days=d, hours=int(rng.integers(17, 22)))
        for _ in range(6):
            ts += timedelta(seconds=int(rng.integers(120, 480)))
            log.add(acc, ts, address(rng), card, f"how do I {_words(rng, 6)}")


def homes_world(seed: int = 51, households: int = 10, ring: str = "pool") -> tuple[Log, list[list[str]], list[str]]:
    """Households of 1-3 people (a card each household) on an ISP's /48 (2001:db8:7::/48), each household a /56
    and a fresh /64 (and interface id) of it per request; a 6-account ring (2 cards) on another /48. ``ring``:
    "pool" -- each request a fresh /64 anywhere in its rented /48 (2a0c:5bc0:17::/48); "per_account" -- the
    operator bought a /56 per account (2a0c:5bc0:18:XX00::/56) and rotates inside it. Ordinary people around."""
    rng = np.random.default_rng(seed)
    log, homes = Log(), []
    for hh in range(households):
        names = [f"home{hh}x{i}" for i in range(1 + hh % 3)]
        for acc in names:
            _bursts(log, rng, acc, f"home-card-{hh}", lambda r, hh=hh: (
                f"2001:db8:7:{hh + 16:02x}{int(r.integers(0, 256)):02x}:{int(r.integers(1, 65535)):x}::1"))
        homes.append(names)
    bots = [f"ring{i}" for i in range(6)]
    for i, acc in enumerate(bots):
        pool = ((lambda r: f"2a0c:5bc0:17:{int(r.integers(1, 65536)):x}:{int(r.integers(1, 65535)):x}::1")
                if ring == "pool" else
                (lambda r, i=i: f"2a0c:5bc0:18:{i + 16:02x}{int(r.integers(0, 256)):02x}:{int(r.integers(1, 65535)):x}::1"))
        _bursts(log, rng, acc, f"ring-card-{i % 2}", pool)
    add_people(log, rng, 60)
    return log, homes, bots


def _ties(log: Log) -> tuple[list[str], dict[str, int]]:
    """Accounts tied by ``ip_rotation`` (rotation_ties on) and each account's ``ip_lines`` count."""
    enc = encode_frame(log.frame().select("account_id", "timestamp", "ip").lazy())
    pairs, _, _, counts = ip_pairs(enc, 24, 48, rotation_ties=True)
    names = enc.index.select("account_idx", "account_id")
    tied = pairs.filter(pl.col("kind") == "ip_rotation").join(names, on="account_idx")["account_id"].sort().to_list()
    lines = counts.filter(pl.col("kind") == "ip_lines").join(names, on="account_idx")
    return tied, dict(zip(lines["account_id"], lines["n_values"]))


def test_households_rotating_in_their_56_are_not_tied_a_ring_drawing_its_48_is():
    log, homes, bots = homes_world()
    tied, lines = _ties(log)
    assert tied == bots  # old (session 50's block): the 20 household members tied by the ISP's /48 too
    # both still rotate (ip_lines: the score's IP spread); only the tie needs a pool
    assert all(lines[a] > 10 for a in bots + [a for h in homes for a in h])


def test_a_ring_with_a_56_per_account_reads_as_homes_rotating_but_not_tied():
    log, _, bots = homes_world(ring="per_account")
    tied, lines = _ties(log)
    assert tied == []  # each account inside a /56 of its own: as a home; old: the 6 tied by their /48
    assert all(lines[a] > 10 for a in bots)


def test_with_rotation_ties_on_households_stay_apart_unflagged():
    # rotation_ties on by default since session 54 (corroborated pools: test_rotation_relay52, test_rotation_platform53)
    log, homes, _ = homes_world(households=12)
    result = run_detect(log.frame(), config=build_config(rotation_ties=True))
    people = [a for h in homes for a in h]
    accounts = result.accounts.filter(pl.col("account_id").is_in(people)).drop_nulls("cluster_id")
    together = accounts.group_by("cluster_id").agg(pl.col("account_id").str.extract(r"^(home\d+)x").n_unique())
    assert together["account_id"].max() == 1  # no two households in one cluster (old: all 12 households in one)
    assert flagged(result, people) == 0
