"""Pool carriers' office guard (helper rec63, session 63): an office is the addresses its staff write everything from.

``[scoring] pool_carriers`` counts a card pool as far as most members carry the cluster's template; members at an
office carry nothing (staff paste the company's prompt, a fleet runs its script). rec62 read an office as *one*
address most members send most of their requests from; brk62 put the company behind a NAT pool (its egress spread
round-robin over 4-8 public addresses): no address holds most of anyone's requests, every employee pasting the
in-house prompt in a third of requests counted as a carrier, 30 of 30 flagged. An office is the few addresses most
members share *carrying their own writing too*; a fleet's shared exits carry its script and little more (its
camouflage comes from each account's own address). Each case below is a small hand-built input with its answer.
BENCHMARKS.md "Sixty-third pass (session 63, helper rec63)".
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

import graphlink
from graphlink.stages.pool_carriers import office_based
from tests.test_brk62 import company_flagged, logistics_company

SIGNALS = pl.DataFrame({"signal_idx": list(range(8)), "kind": ["ip"] * 8, "weight": [1.0] * 8})
FOUR = pl.DataFrame({"cluster_id": [1] * 4, "account_idx": [0, 1, 2, 3]})


def _rows(pairs: list[tuple[int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "count": pl.UInt32},
                        orient="row")


def _share(t: float) -> pl.DataFrame:
    return pl.DataFrame({"account_idx": [0, 1, 2, 3], "share": [t] * 4})


def _events(n: int) -> pl.DataFrame:
    return pl.DataFrame({"account_idx": [0, 1, 2, 3], "events": [n] * 4})


# A NAT pool of four: each member's requests spread round-robin over the same four addresses, 10 each.
NAT_POOL = _rows([(a, s, 10) for a in range(4) for s in range(4)])


def test_a_nat_pool_is_an_office():
    # 40 requests each, all through the pool, a third the in-house prompt: c 1.0, c - t 0.7 > (1 - t) / 2
    got = office_based(FOUR, NAT_POOL, SIGNALS, _share(0.3), _events(40))
    assert sorted(got["account_idx"].to_list()) == [0, 1, 2, 3] and got["at_office"].all()


def test_shared_exits_that_carry_nothing_but_the_script_are_no_office():
    # a fleet: the same four shared exits carry 40 of 100 requests each, the template share is 0.4; the other 60
    # come from each account's own home, which links nothing (not in the memberships) -- the requests say so
    got = office_based(FOUR, NAT_POOL, SIGNALS, _share(0.4), _events(100))
    assert got.height == 0
    # without the request counts the exits read as all the member's traffic: the denominator is what tells
    assert office_based(FOUR, NAT_POOL, SIGNALS, _share(0.4)).height == 4


def test_a_member_whose_every_request_is_the_template_is_at_no_office():
    # everything through the shared addresses, and all of it the template: the script's server
    assert office_based(FOUR, NAT_POOL, SIGNALS, _share(1.0), _events(40)).height == 0


def test_one_nat_address_most_members_are_based_at_is_still_an_office():
    # rec62's rule kept: staff at one NAT address (4) for 60 % of their requests, the rest from home (unlinked); the
    # in-house prompt in 30 %. The shared-addresses rule cannot prove most of their own writing passed the NAT
    # (c - t = 0.3 < 0.35); the one address most of them are based at can
    rows = _rows([(a, 4, 6) for a in range(4)])
    got = office_based(FOUR, rows, SIGNALS, _share(0.3), _events(10))
    assert sorted(got["account_idx"].to_list()) == [0, 1, 2, 3]


def test_addresses_few_members_share_are_no_office():
    # each member on a rented pool's exits two at a time (8 exits, each held by 1-2 of 4 members): no address is
    # held by half the cluster, nothing is an office
    rows = _rows([(a, (2 * a + k) % 8, 10) for a in range(4) for k in range(2)])
    assert office_based(FOUR, rows, SIGNALS, _share(0.3), _events(20)).height == 0


@pytest.mark.parametrize("pool", [6, 8])
def test_a_company_behind_a_nat_pool_stays_unflagged_with_pool_carriers(pool):
    # brk62's company (30 staff on three department cards, the in-house prompt in a third of requests, two cron
    # accounts), its egress spread over 6 or 8 addresses, seed 6 (brk62's own test: 4 addresses, seed 5)
    events = logistics_company(lambda rng: f"198.51.100.{20 + rng.randrange(pool)}", seed=6)
    assert company_flagged(events, pool_carriers=True) == 0


START = dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)
TEMPLATE = ("You are the internal assistant of our logistics company, answer in the house style, cite the shipment "
            "manual section and keep customer names out of the answer. Question: ")
VOCAB = ("river garden budget engine letter window market planet silver doctor travel kitchen winter paper signal "
         "harbor forest museum ticket camera pocket bridge island rocket violin candle orange blanket mirror ladder "
         "jacket tunnel basket dragon pepper sugar thunder puzzle anchor velvet saddle marble canyon meadow").split()


def _twin(own_writing_from_home: bool, seed: int = 5) -> pl.DataFrame:
    """300 people and 30 accounts on three cards of ten, 30-50 requests each in office hours, the template in 35 %
    of them sent through four shared addresses round-robin; the rest from the same four (a company behind its NAT
    pool) or from each account's own home address (a fleet: the script runs on its exits, the camouflage elsewhere)."""
    rng = random.Random(seed)
    text = lambda n: " ".join(rng.choice(VOCAB) for _ in range(n))  # noqa: E731
    at = lambda first, last: START + dt.timedelta(days=rng.randrange(6), hours=rng.randrange(first, last),  # noqa: E731
                                                  minutes=rng.randrange(60), seconds=rng.randrange(60))
    rows = []
    for i in range(300):
        home = f"81.{i // 200}.{i % 200}.{rng.randrange(1, 250)}"
        rows += [(f"p{i:03d}", at(7, 22), home, f"card-p{i}", text(rng.randrange(6, 25))) for _ in range(rng.randrange(4, 30))]
    for i in range(30):
        home = f"83.{i}.{rng.randrange(250)}.{rng.randrange(1, 250)}"
        for _ in range(rng.randrange(30, 50)):
            exit_ = f"198.51.100.{20 + rng.randrange(4)}"
            if rng.random() < 0.35:
                rows.append((f"co{i:02d}", at(8, 17), exit_, f"card-dept{i // 10}", TEMPLATE + text(rng.randrange(6, 20))))
            else:
                rows.append((f"co{i:02d}", at(8, 17), home if own_writing_from_home else exit_, f"card-dept{i // 10}",
                             text(rng.randrange(6, 25))))
    schema = {"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
              "payment_fingerprint": pl.String, "prompt": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("timestamp")


def test_the_company_writing_everything_through_its_nat_pool_is_unflagged():
    assert company_flagged(_twin(own_writing_from_home=False), pool_carriers=True) == 0


def test_its_twin_sending_only_the_template_through_the_shared_exits_is_flagged():
    # the same accounts, cards, clock and template share; only the camouflage comes from each account's own address:
    # the shared exits are the script's servers, every account a carrier -- flagged with pool carriers, not without
    events = _twin(own_writing_from_home=True)
    assert company_flagged(events, pool_carriers=True) == 30
    assert company_flagged(events, pool_carriers=False) == 0
