"""A phrase corroborates a rotation tie only as an operator's template (session 53, issue 17).

Break-it brk52 (session 52): 30 strangers whose requests leave a hosted agent platform's (or privacy relay's)
rotating /48 from fresh /64s, each with its own card and questions but every prompt opening with the framework's
public template, were tied by the block, clustered and flagged at 0.97-1.0 (``tests/test_break52.py``). The chance
test takes the block as a random draw of the log; a platform's users hold its framework's template *because* of the
network. A phrase now ties only the writers of the one linked group holding most of its writers *on the block* --
groups linked by a card or clock there, or by an address, card or clock they share mostly with other writers of the
phrase, on the block or off it (an operator's cells; session 54, fixties54: eight families of 2 or two operators of 8
are no majority, brk54); groups off the block that reach no block writer (companies using the framework in house,
brk53) count for nothing --
:mod:`graphlink.stages.signals.rotation_ties`. A ring on the
platform's own /48 keeps its tie through its cards or its scheduler.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

import graphlink
from graphlink.stages.signals.rotation_ties import corroborated_rotation
from tests.test_rotation_relay52 import DAYS, PUBLIC_TEMPLATE, SAFARI, T0, World, _hex, _text, _tied

OWN_TEMPLATE = "Rewrite this product review in a new voice:"


def platform_ring_world(seed: int, shared_cards: bool, own_template: bool, users: int = 30, ipv4: int = 400):
    """30 strangers on an agent platform's rotating /48 sending its public template (as in ``test_break52``), 10 of
    ``ipv4`` IPv4 users sending it too, and a 6-account ring drawing from the *same* /48 with one scheduler: on two
    shared cards or on a card each, with the public template or its own."""
    w = World(seed)

    def address() -> str:
        return f"2a02:26f7:b3c0:{_hex(w.rng)}:{_hex(w.rng)}:{_hex(w.rng)}::1"
    for i in range(users):
        w.person(f"relay{i}", address, SAFARI, lambda: f"{PUBLIC_TEMPLATE} {_text(w.rng, 6)}")
        w.people.append(f"relay{i}")
    w.ipv4_users(ipv4, 10)
    rng, ring = w.rng, [f"ring{i}" for i in range(6)]
    head = OWN_TEMPLATE if own_template else PUBLIC_TEMPLATE
    for day in range(DAYS):
        start = T0 + timedelta(days=day, hours=int(rng.integers(0, 24)))
        for step in range(8):
            for i, acc in enumerate(ring):
                ts = start + timedelta(minutes=7 * step, seconds=int(rng.integers(0, 50)))
                card = f"ring-card-{i % 2}" if shared_cards else f"card-{acc}"
                w.rows.append((acc, ts, address(), card, f"{head} {_text(rng, 6)}", SAFARI))
    return w, ring


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("shared_cards, own_template", [(True, False), (False, True)])
def test_a_ring_on_the_platforms_own_48_keeps_its_tie_the_strangers_get_none(seed, shared_cards, own_template):
    w, ring = platform_ring_world(seed, shared_cards, own_template)
    block, tied = _tied(w.frame())
    assert set(ring) <= block and len(block & set(w.people)) >= len(w.people) // 2  # one pool for all of them
    assert tied >= set(ring)  # its cards, or its own template and scheduler, corroborate its pool
    assert not tied & set(w.people)  # session 52: all 30 tied by the public template


def test_with_rotation_ties_on_the_ring_on_the_platform_is_flagged_and_no_stranger_is():
    w, ring = platform_ring_world(1, True, False)
    result = graphlink.detect(w.frame(), rotation_ties=True)
    rows = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    flagged = set(rows.filter(pl.col("flagged").fill_null(False))["account_id"])
    assert flagged >= set(ring) and not flagged & set(w.people)


def _pairs(rows: list[tuple[int, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value_key": pl.UInt64},
                        orient="row").with_columns(pl.lit(1, pl.UInt32).alias("count"))


def _groups(block: list[int], others: list[tuple[int, str, int]], n_accounts: int = 10_000) -> list[list[int]]:
    rotation = _pairs([(a, "ip_rotation", 7) for a in block])
    texts = pl.DataFrame({"kind": ["ip_rotation"], "value_key": [7], "value": ["2a02:26f7:b3c0::/48"]},
                         schema_overrides={"value_key": pl.UInt64})
    tied, _ = corroborated_rotation(rotation, texts, _pairs(others), n_accounts)
    return sorted(sorted(g) for g in tied.group_by("value_key").agg("account_idx")["account_idx"].to_list())


BLOCK = list(range(10))
PHRASE = [(a, "prompt", 1) for a in range(6)]  # six of the block's ten write one phrase nobody else in the log does


def test_a_phrase_only_unlinked_rotators_write_is_no_corroboration():
    # far beyond chance (6 of 10 against a mean of 0.006), but nothing else links its writers: a platform's template
    assert _groups(BLOCK, PHRASE) == []


def test_a_phrase_ties_only_one_linked_group_holding_most_of_its_writers_on_the_block():
    cards = [(0, "payment", 2), (1, "payment", 2), (2, "payment", 3), (3, "payment", 3), (4, "payment", 4),
             (5, "payment", 4)]
    # three card pairs (families on a carrier's /48, brk54): linked, but no pair is most of the six -- no phrase tie
    assert _groups(BLOCK, PHRASE + cards) == [[0, 1], [2, 3], [4, 5]]
    # one card chain over five of the six: that group is most of them, the phrase ties it (not the sixth writer)
    chain = [(a, "payment", 20 + a // 3) for a in range(5)] + [(2, "payment", 21)]
    assert _groups(BLOCK, PHRASE + chain) == [list(range(5))]
    # only one card pair: 2 linked writers, 4 not -- the pair keeps its card tie, the phrase ties no one
    assert _groups(BLOCK, PHRASE + cards[:2]) == [[0, 1]]


def test_a_phrase_ties_its_block_writers_only_through_links_that_reach_them():
    cell = list(range(100, 110))  # ten accounts off the block on two proxy addresses
    writing = [(a, "prompt", 1) for a in cell]
    # the cell on addresses of its own: a linked group off the block that reaches no writer on it -- five companies
    # writing a framework's public template behind their own NATs are five such groups (brk53) -- ties nobody
    own = [(a, "ip", 50 + a % 2) for a in cell]
    assert _groups(BLOCK, PHRASE + writing + own) == []
    # the block's writers drawing on the cell's proxy addresses too (the cell on both): an operator's cells, the
    # phrase ties its writers through the cell
    proxies = [(a, "ip", 50 + a % 2) for a in range(6)] + [(a, "ip", 50 + k) for a in cell for k in (0, 1)]
    assert _groups(BLOCK, PHRASE + writing + proxies) == [list(range(6))]
    # two cells apart, each on its own address, half the block's writers each: two operators, no majority (brk54)
    apart = [(a, "ip", 50 + a % 2) for a in [*range(6), *cell]]
    assert _groups(BLOCK, PHRASE + writing + apart) == []
    # only two of the six on them: 2 linked writers, 4 not -- no tie (the pool's users write the phrase alike)
    few = [(a, "ip", 50) for a in [0, 1, *cell]]
    assert _groups(BLOCK, PHRASE + writing + few) == []
    # the same addresses shared with 40 others who never write it (a carrier's): no cell of the phrase's
    crowd = [(a, "ip", 50 + a % 2) for a in range(200, 240)]
    assert _groups(BLOCK, PHRASE + writing + proxies + crowd) == []
    # nor does a network or a client they share with the cell link them, nor the cell's e-mail domain (an e-mail
    # domain six of the block's ten hold would corroborate by itself, as a card does)
    loose = [(a, kind, 60) for a in [*range(6), *cell] for kind in ("ip_net", "asn", "user_agent")]
    assert _groups(BLOCK, PHRASE + writing + loose + [(a, "email_domain", 61) for a in cell]) == []
