"""Session 33's new-user review (issue 17): match attached ordinary pool users to a flagged ring on chance evidence,
and expand from a burst cluster's seeds found almost nothing.

Hand-built logs. Match: a clock fit measured on one request is no evidence (it fits 1.0 with the chance of the
cluster's hour coverage), and the exits of a pool that outsiders of the ring also went through are one value (what
any of the pool's users gets), however many of them an account shares. Real ring newcomers stay matched.
"""

from __future__ import annotations

import random
from datetime import timedelta

import polars as pl
import pytest

import graphlink
from test_break_match16 import COLUMNS, T0, free_text, known_run, templated


def matched_to(known, rows) -> dict[str, int | None]:
    log = pl.DataFrame(rows, schema=COLUMNS, orient="row")
    return dict(graphlink.match(known, log).matches.select("account_id", "cluster_id").rows())


# --- the clock: one request in the cluster's hours is chance, several are not --------------------------------------

@pytest.fixture(scope="module")
def night_ring(tmp_path_factory):
    """Ring ``ring0-5`` on its own addresses 203.0.113.1-3, busy 02:00-03:59 only (2 hours of 24)."""
    return known_run(tmp_path_factory.mktemp("clock33") / "known", templated)


def visitor(name: str, times: list[int], rng: random.Random) -> list[tuple]:
    """Through the ring's address 203.0.113.1 at the given minutes past day five's midnight, own card and client."""
    return [(name, f"card-{name}", "203.0.113.1", "Go-http-client/2.0", T0 + timedelta(days=5, minutes=m),
             free_text(rng)) for m in times]


def test_one_request_in_the_cluster_hours_does_not_corroborate_one_address(night_ring):
    known, _ = night_ring
    rng = random.Random(1)
    # One request at 02:30: inside the ring's two busy hours, which any single request hits with chance 1/12.
    got = matched_to(known, visitor("once", [150], rng) + visitor("once3", [200], rng))
    assert got == {"once": None, "once3": None}


def test_control_requests_in_the_cluster_hours_beyond_chance_corroborate_one_address(night_ring):
    known, ring = night_ring
    rng = random.Random(2)
    # Two requests in the ring's hours (chance (1/12)^2 < 1 %) and one address of its own: still matched.
    got = matched_to(known, visitor("twice", [130, 200], rng))
    assert got == {"twice": ring}


def test_control_requests_outside_the_cluster_hours_do_not_corroborate(night_ring):
    known, _ = night_ring
    rng = random.Random(3)
    assert matched_to(known, visitor("noon", [720, 780, 840], rng)) == {"noon": None}


# --- a rotating pool's exits that ordinary users also went through are one value ------------------------------------

EXITS = [f"198.18.{k}.{k + 10}" for k in range(12)]


@pytest.fixture(scope="module")
def pool_ring(tmp_path_factory):
    """Ring ``ring0-7`` (card-ring, curl, its template) rotating over 12 exits at 02, 07, 13 and 19 h for 3 days; 100
    people on their own addresses; ``vpn1-5`` ordinary people once through exit 1-5 each (a VPN on the same pool)."""
    rng = random.Random(3)
    rows = [(f"ring{i}", "card-ring", rng.choice(EXITS), "curl/8.0", T0 + timedelta(days=d, hours=h, minutes=i),
             templated(rng)) for i in range(8) for d in range(3) for h in (2, 7, 13, 19)]
    rows += [(f"person{i:02d}", f"card-person{i}", f"10.0.{i}.1", "Mozilla/5.0",
              T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i), free_text(rng)) for i in range(100) for d in range(3)]
    rows += [(f"vpn{k}", f"card-vpn{k}", EXITS[k], "Mozilla/5.0", T0 + timedelta(days=1, hours=10, minutes=k),
              free_text(rng)) for k in range(6)]
    known = graphlink.detect(pl.DataFrame(rows, schema=COLUMNS, orient="row"), seed=1).save(
        tmp_path_factory.mktemp("pool33") / "known")
    accounts = pl.read_parquet(known / "accounts.parquet")
    ring = accounts.filter(pl.col("account_id").str.starts_with("ring"))["cluster_id"]
    assert ring.null_count() == 0 and ring.n_unique() == 1
    # The premise: exits 1 and 2 were shared with ordinary people left out of the ring's cluster.
    outsiders = accounts.filter(pl.col("account_id").is_in(["vpn1", "vpn2"]))["cluster_id"]
    assert outsiders.null_count() == 2
    return known, ring[0]


def pool_user(name: str, exits: list[str], prompt, rng: random.Random) -> list[tuple]:
    """Own card, a browser, one request per exit at 10:00 and 16:00 on day five (outside the ring's hours)."""
    return [(name, f"card-{name}", ip, "Mozilla/5.0 (X11)", T0 + timedelta(days=5, hours=10 + 6 * k), prompt(rng))
            for k, ip in enumerate(exits)]


def test_two_shared_exits_of_a_pool_are_one_value(pool_ring):
    known, _ = pool_ring
    rng = random.Random(4)
    assert matched_to(known, pool_user("vpnuser", EXITS[1:3], free_text, rng)) == {"vpnuser": None}


def test_control_a_ring_newcomer_on_the_shared_exits_with_its_template_is_matched(pool_ring):
    known, ring = pool_ring
    rng = random.Random(5)
    assert matched_to(known, pool_user("newring", EXITS[1:3], templated, rng)) == {"newring": ring}


def test_control_two_exits_only_the_ring_went_through_are_two_values(pool_ring):
    known, ring = pool_ring
    rng = random.Random(6)
    assert matched_to(known, pool_user("exclusive", EXITS[7:9], free_text, rng)) == {"exclusive": ring}


# --- expand from the seeds of a burst cluster ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def burst_run(tmp_path_factory):
    """tests/burst_world.py: 40 one-off operator accounts (own exit, own card) grouped by one template burst."""
    from tests.burst_world import burst_accounts, burst_log

    result = graphlink.detect(burst_log(0), burst_accounts(0))
    out = result.save(tmp_path_factory.mktemp("burst33") / "out")
    ops = pl.read_parquet(out / "accounts.parquet").filter(pl.col("account_id").str.starts_with("op"))
    assert ops["cluster_id"].null_count() == 0 and ops["cluster_id"].n_unique() == 1
    assert pl.read_parquet(out / "evidence.parquet").filter(pl.col("kind") == "burst").height  # a burst cluster
    return out, sorted(ops["account_id"].to_list())


def test_expand_from_burst_seeds_lists_the_burst_cluster_and_says_why(burst_run):
    out, ops = burst_run
    seeds = ops[:3]
    ranked = graphlink.expand(out, seeds)
    listed = set(ranked.filter(pl.col("rank") > 0)["account_id"].to_list())
    # The burst's members share no pairwise link: the walk alone reached none of them.
    assert set(ops[3:]) <= listed
    added = ranked.filter(pl.col("account_id").is_in(ops[3:]))
    assert added["why"].str.contains("template-burst cluster").all()
    assert added["why"].str.contains("you are an expert tutor @").all()  # the burst itself is named
    scores = ranked.sort("rank")["score"].to_list()
    assert scores == sorted(scores, reverse=True)  # never rising down the list


def test_expand_note_says_what_burst_seeds_cannot_reach(burst_run, pool_ring):
    from graphlink.views.expand import expand_note

    out, ops = burst_run
    note = expand_note(out, ops[:3])
    assert note and "cannot follow" in note and "not links" in note
    known, _ = pool_ring
    assert expand_note(known, ["ring0", "ring1", "ring2"]) is None  # a cluster of pairwise links: nothing to say
