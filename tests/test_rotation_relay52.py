"""Rotation ties need more than the pool: strangers on a privacy relay, a campus, reconnecting phones (session 52).

Break-it brk51 (session 51): six strangers each drawing a fresh /64 anywhere in a privacy relay's /48 per request
(own cards, own prompts, one stock mobile browser) among 70 IPv4 users formed a rotation block and one cluster,
flagged at 0.60 in 2 of 6 seeds; 30-100 relay users clustered at up to 0.58; a campus handing out a /64 per device
association across its buildings' /56s and carrier phones reconnecting between requests clustered too. Its scripts
were lost; the worlds are rebuilt here, seeded, with a 6-account ring on a rented /48 beside them (a card pair, one
template, one scheduler) as the control: a rotation block ties only rotators a card, template or clock links beyond
chance (:mod:`graphlink.stages.signals.rotation_ties`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from graphlink.config import SignalConfig
from graphlink.config.build import build_config
from graphlink.pipeline import run_detect
from graphlink.stages.encode import encode_frame
from graphlink.stages.signals import extract_signals
from graphlink.stages.signals.ip import ip_table
from graphlink.stages.signals.ip_lines import rotation_networks
from graphlink.stages.signals.rotation_ties import corroborated_rotation

T0 = datetime(2024, 6, 3, tzinfo=timezone.utc)
DAYS = 7
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
DESKTOP = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Safari/537.36",
           "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
           "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0")
_SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "ba", "gu", "fe", "zo", "hi", "vy", "wa")
VOCAB = tuple(a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("n", "r", "s", "t"))  # 1,024 words
PUBLIC_TEMPLATE = "You are AgentKit, a helpful assistant. Use the tools below when needed. Task:"


def _text(rng: np.random.Generator, n: int = 9) -> str:
    return " ".join(VOCAB[int(i)] for i in rng.integers(0, len(VOCAB), n))


def _hex(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(1, 65536)):x}"


class World:
    """Rows of an API log with a user agent; ``people``: the strangers on the shared IPv6 network."""

    def __init__(self, seed: int) -> None:
        self.rng, self.rows, self.people = np.random.default_rng(seed), [], []

    def person(self, acc: str, address, ua: str, prompt=None) -> None:
        """A person: on most days one or two sessions at a waking hour, 3-8 requests 1-10 minutes apart, own
        card and own questions (or ``prompt()``); ``address()`` gives each request's address."""
        rng = self.rng
        for day in range(DAYS):
            for _ in range(int(rng.integers(0, 3))):
                ts = T0 + timedelta(days=day, hours=int(rng.integers(7, 23)), minutes=int(rng.integers(0, 60)))
                for _ in range(int(rng.integers(3, 9))):
                    ts += timedelta(seconds=int(rng.integers(60, 600)))
                    self.rows.append((acc, ts, address(), f"card-{acc}", prompt() if prompt else _text(rng), ua))

    def ipv4_users(self, n: int, template_users: int = 0) -> None:
        for i in range(n):
            home = f"100.{64 + i // 200}.{i % 200}.{10 + i % 7}"
            public = (lambda: f"{PUBLIC_TEMPLATE} {_text(self.rng, 6)}") if i < template_users else None
            self.person(f"v4user{i}", lambda home=home: home, DESKTOP[i % 3], public)

    def ring(self, n: int = 6) -> list[str]:
        """An operator's fleet on its rented /48: one scheduler (the same bursts), two cards, one template."""
        rng, names = self.rng, [f"ring{i}" for i in range(n)]
        for day in range(DAYS):
            start = T0 + timedelta(days=day, hours=int(rng.integers(0, 24)))
            for step in range(8):
                for i, acc in enumerate(names):
                    ts = start + timedelta(minutes=7 * step, seconds=int(rng.integers(0, 50)))
                    self.rows.append((acc, ts, f"2a0c:5bc0:17:{_hex(rng)}:{_hex(rng)}::1", f"ring-card-{i % 2}",
                                      f"Rewrite this product review in a new voice: {_text(rng, 6)}", DESKTOP[0]))
        return names

    def frame(self) -> pl.DataFrame:
        schema = {"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
                  "payment_fingerprint": pl.String, "prompt": pl.String, "user_agent": pl.String}
        return pl.DataFrame(self.rows, schema=schema, orient="row")


def relay_world(seed: int, users: int, template_users: int = 0) -> tuple[World, list[str]]:
    """``users`` strangers on a privacy relay: every request a fresh /64 (and interface id) anywhere in the relay's
    /48, the stock mobile browser; 70 IPv4 users and the ring beside them. ``template_users`` of the relay users
    (and as many IPv4 users) send a public agent framework's template in every request."""
    w = World(seed)
    for i in range(users):
        public = (lambda: f"{PUBLIC_TEMPLATE} {_text(w.rng, 6)}") if i < template_users else None
        w.person(f"relay{i}", lambda: f"2a02:26f7:b3c0:{_hex(w.rng)}:{_hex(w.rng)}:{_hex(w.rng)}::1", SAFARI, public)
        w.people.append(f"relay{i}")
    w.ipv4_users(70, template_users)
    return w, w.ring()


def campus_world(seed: int, students: int = 40) -> tuple[World, list[str]]:
    """A campus /48 whose buildings each route a /56 and give a device a /64 of its own per association (RFC 8273):
    students walking between buildings reconnect between requests, each time a fresh /64 in another /56."""
    w = World(seed)
    for i in range(students):
        w.person(f"student{i}", lambda: (f"2001:db8:ca:{int(w.rng.integers(0, 64)):02x}{int(w.rng.integers(0, 256)):02x}"
                                         f":{_hex(w.rng)}::1"), SAFARI if i % 2 else DESKTOP[i % 3])
        w.people.append(f"student{i}")
    w.ipv4_users(70)
    return w, w.ring()


def phones_world(seed: int, phones: int = 30) -> tuple[World, list[str]]:
    """A carrier's /48 whose phones in poor coverage reconnect between requests: a new PDN connection, a fresh /64
    of the carrier's pool each time (3GPP; RFC 6459)."""
    w = World(seed)
    for i in range(phones):
        w.person(f"phone{i}", lambda: f"2607:fb90:1:{_hex(w.rng)}:{_hex(w.rng)}::1", SAFARI)
        w.people.append(f"phone{i}")
    w.ipv4_users(70)
    return w, w.ring()


WORLDS = [(relay_world, s, {"users": 6}) for s in (1, 2, 3, 4, 5, 6)] + [
    (relay_world, 7, {"users": 10}), (relay_world, 8, {"users": 30}), (relay_world, 9, {"users": 100}),
    (relay_world, 10, {"users": 30, "template_users": 10}), (campus_world, 11, {}), (phones_world, 12, {})]


def _ids(w: World):
    return [f"{make.__name__}-{seed}-{kw}" for make, seed, kw in w]


def _tied(frame: pl.DataFrame) -> tuple[set[str], set[str]]:
    """Accounts in a rotation block (the pool alone) and accounts holding a rotation tie (``rotation_ties`` on)."""
    enc = encode_frame(frame.lazy())
    names = enc.index.select("account_idx", "account_id")
    block = rotation_networks(enc.frame, ip_table(enc.dictionary("ip"), 24, 48)).filter("block")
    pairs = extract_signals(enc, SignalConfig(rotation_ties=True)).pairs.filter(pl.col("kind") == "ip_rotation")
    return (set(block.join(names, on="account_idx")["account_id"]), set(pairs.join(names, on="account_idx")["account_id"]))


@pytest.mark.parametrize("make, seed, kw", WORLDS, ids=_ids(WORLDS))
def test_strangers_sharing_a_pool_get_no_rotation_tie_the_ring_keeps_its(make, seed, kw):
    w, ring = make(seed, **kw)
    block, tied = _tied(w.frame())
    assert len(block & set(w.people)) >= len(w.people) // 2  # the hard case: the pool alone makes them a block
    assert not tied & set(w.people)  # old (the block alone): every one of them tied
    assert tied >= set(ring)  # the ring's cards, template and scheduler corroborate its pool


@pytest.mark.parametrize("make, seed, kw", WORLDS[:1] + WORLDS[5:], ids=_ids(WORLDS[:1] + WORLDS[5:]))
def test_with_rotation_ties_on_no_stranger_is_flagged_or_clustered_by_the_pool(make, seed, kw):
    w, ring = make(seed, **kw)
    result = run_detect(w.frame(), config=build_config(rotation_ties=True))  # the default since session 53
    rows = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    people = rows.filter(pl.col("account_id").is_in(w.people))
    assert not people["flagged"].fill_null(False).any()
    together = people.drop_nulls("cluster_id").group_by("cluster_id").len()
    assert together.filter(pl.col("len") >= 2).height == 0  # old: the six (or 30-100) in one cluster
    ring_rows = rows.filter(pl.col("account_id").is_in(ring))
    assert ring_rows["flagged"].fill_null(False).all()


def _pairs(rows: list[tuple[int, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value_key": pl.UInt64},
                        orient="row").with_columns(pl.lit(1, pl.UInt32).alias("count"))


def _groups(block: list[int], others: list[tuple[int, str, int]], n_accounts: int = 1_000) -> list[list[int]]:
    rotation = _pairs([(a, "ip_rotation", 7) for a in block])
    texts = pl.DataFrame({"kind": ["ip_rotation"], "value_key": [7], "value": ["2a02:26f7:b3c0::/48"]},
                         schema_overrides={"value_key": pl.UInt64})
    tied, _ = corroborated_rotation(rotation, texts, _pairs(others), n_accounts)
    return sorted(sorted(g) for g in tied.group_by("value_key").agg("account_idx")["account_idx"].to_list())


def test_a_value_held_at_the_logs_own_rate_does_not_corroborate_a_pool():
    block = list(range(20))
    # a public template held by 300 of 1,000 accounts, 6 of them among the block's 20: 6 expected by chance
    public = [(a, "prompt", 1) for a in [*range(6), *range(100, 394)]]
    assert _groups(block, public) == []
    # an operator's template held by 12 accounts, 10 of them in the block (0.24 expected), and by its other cell
    # off the block, 20 accounts on two proxy addresses the block's writers use too (session 53: a template no linked
    # account writes is a platform's as much as an operator's; session 54: the links must reach the block's writers,
    # tests/test_rotation_platform53.py; fixties54: one linked group, so the cell draws on both addresses)
    cell = [*range(600, 620)]
    own = ([(a, "prompt", 2) for a in [*range(10), 500, 501, *cell]] + [(a, "ip", 8 + a % 2) for a in range(10)]
           + [(a, "ip", 8 + k) for a in cell for k in (0, 1)])
    assert _groups(block, own) == [list(range(10))]


def test_network_values_and_the_client_never_corroborate_a_pool():
    block = list(range(8))
    # a relay's IPv4 egress address, its /24 and its browser, all held by the block's eight alone
    shared = [(a, kind, 3) for a in block for kind in ("ip", "ip_net", "asn", "user_agent")]
    assert _groups(block, shared) == []
    # a card two of them share (a couple) links those two; another card chains a third to them
    cards = [(0, "payment", 4), (1, "payment", 4), (1, "payment", 5), (2, "payment", 5), (5, "payment", 6)]
    assert _groups(block, cards) == [[0, 1, 2]]
