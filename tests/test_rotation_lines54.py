"""A tied rotator's /64s are its lines, close to its previous request or not (session 54, issue 17).

Dev templates 1025 with rotation ties on: a ring cell's median member drew 21 fresh /64s of its operator's /48 in 21
IPv6 requests, but the score's IP spread (``ip_lines``: networks plus the /64 changes seen between *close* requests)
counted 1-2 of them; tying the cell whole brought in its lighter members and the median fell under the flag line
(0.604 -> 0.583). Close requests are how a rotation is *seen* (a home's daily renumbering, a phone's reconnects are
not one); once it is seen and a card, template or clock corroborates the pool as an operator's, every brief /64 the
rotator drew is a line it used (:func:`graphlink.stages.signals.rotation_ties.fold_drawn`). A pool's users nothing
corroborates (a relay's) keep the changes after close requests only.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

import graphlink
from graphlink.config import SignalConfig
from graphlink.stages.encode import encode_frame
from graphlink.stages.signals import extract_signals
from graphlink.stages.signals.rotation_ties import fold_drawn
from tests.test_rotation_relay52 import DAYS, DESKTOP, SAFARI, T0, World, _hex, _text


def light_ring_world(seed: int, relay_users: int = 10) -> tuple[World, list[str], list[str]]:
    """Eight accounts of an operator on its rented /48, on two shared cards and one template: each day one pair of
    requests three minutes apart (one change seen) and four more hours apart, every request from a fresh /64 of a
    fresh /56; ``relay_users`` strangers on a privacy relay (a fresh /64 per request, own cards); 60 IPv4 users."""
    w = World(seed)
    rng, ring = w.rng, [f"ring{i}" for i in range(8)]
    for day in range(DAYS):
        for i, acc in enumerate(ring):
            start = T0 + timedelta(days=day, hours=int(rng.integers(0, 4)))
            times = [start, start + timedelta(minutes=3)] + [start + timedelta(hours=3 * k + 2) for k in range(1, 5)]
            for ts in times:
                w.rows.append((acc, ts, f"2a0c:5bc0:17:{_hex(rng)}:{_hex(rng)}::1", f"ring-card-{i % 2}",
                               f"Rewrite this product review in a new voice: {_text(rng, 6)}", DESKTOP[0]))
    for i in range(relay_users):
        w.person(f"relay{i}", lambda: f"2a02:26f7:b3c0:{_hex(w.rng)}:{_hex(w.rng)}::1", SAFARI)
        w.people.append(f"relay{i}")
    w.ipv4_users(60)
    return w, ring, w.people


def _lines(frame: pl.DataFrame, ties: bool) -> dict[str, int]:
    enc = encode_frame(frame.lazy())
    counts = extract_signals(enc, SignalConfig(rotation_ties=ties)).value_counts
    lines = counts.filter(pl.col("kind") == "ip_lines").join(enc.index.select("account_idx", "account_id"),
                                                             on="account_idx")
    return dict(zip(lines["account_id"].to_list(), lines["n_values"].to_list()))


def test_a_tied_rotators_drawn_64s_count_as_its_lines_a_relay_users_do_not():
    w, ring, relay = light_ring_world(1)
    off, on = _lines(w.frame(), False), _lines(w.frame(), True)
    # each ring account drew ~42 fresh /64s over the week, 7 of them right after a close request
    assert all(on[a] >= 2 * off[a] for a in ring)
    assert all(on[a] >= DAYS * 5 for a in ring)
    # the relay's users, tied by nothing, keep what they had
    assert {a: on.get(a) for a in relay} == {a: off.get(a) for a in relay}
    # no helper kind leaves the signals stage
    enc = encode_frame(w.frame().lazy())
    kinds = set(extract_signals(enc, SignalConfig(rotation_ties=True)).value_counts["kind"].unique().to_list())
    assert kinds <= {"ip", "ip_net", "ip_lines", "asn", "timing"}


def test_with_rotation_ties_on_the_light_rings_spread_reads_its_rotation():
    w, ring, relay = light_ring_world(2)
    result = graphlink.detect(w.frame(), rotation_ties=True)
    rows = result.accounts.join(result.clusters.select("cluster_id", "flagged", "ip_spread"), on="cluster_id")
    mine = rows.filter(pl.col("account_id").is_in(ring))
    assert mine.height == len(ring) and mine["ip_spread"].min() >= 0.9 and mine["flagged"].all()
    assert not rows.filter(pl.col("account_id").is_in(relay) & pl.col("flagged")).height


def test_fold_drawn_raises_only_tied_rotators_lines_and_drops_the_helper_rows():
    schema = {"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32}
    counts = pl.DataFrame([(0, "ip_lines", 3), (0, "ip_net", 2), (1, "ip_lines", 4), (2, "ip_lines", 1),
                           (0, "ip_drawn", 10), (1, "ip_drawn", 20)], schema=schema, orient="row")
    tied = pl.DataFrame({"account_idx": [0]}, schema={"account_idx": pl.UInt32})
    out = {(a, k): n for a, k, n in fold_drawn(counts, tied).rows()}
    assert out == {(0, "ip_lines"): 13, (0, "ip_net"): 2, (1, "ip_lines"): 4, (2, "ip_lines"): 1}
    assert fold_drawn(counts, tied.clear()).filter(pl.col("kind") == "ip_drawn").height == 0
