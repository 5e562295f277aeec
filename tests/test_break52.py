"""Break-it review (session 52, helper brk52) of session 52's changes on by default: own-value members
(stages/pendants), rotation ties, hub twins, the lock-step card pool.

Fixed here: own-value members joined an account holding nothing but one address of a flagged ring's proxy exit
(one request, no card, no prompt for the bystander test to read) to the ring, which flagged it; an address alone
no longer makes an account a cluster's (``pendants.MIN_MEETING_VALUES``: two of its addresses, its pool drawn request by
request, or a passage of its script still do). Open (strict xfails, reasons beside them): CPM itself still puts a
no-prompt passer-by into the ring on some draws (as on main). Fixed since: an office's team on the company card using
the in-house tool was flagged with the whole office through its campaign (session 54: its colleagues on their own
cards write the tool's template too, card_pools.WORKPLACE_WRITERS); the lock-step card pool (reverted,
session 52); rotation ties tied and flagged strangers on a platform's rotating /48 who send its public framework
template (session 53, ties53; rotation ties stay opt-in).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.stages.pendants import own_value_members
from tests.test_rotation_relay52 import PUBLIC_TEMPLATE, SAFARI, World, _hex, _text

START = np.datetime64("2024-05-06T00:00:00")
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango").split()
TEMPLATE = "Write a five star review for product {} praising fast shipping and great quality"


def timed(rows: list[tuple], columns: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["account_id", "seconds", *columns], orient="row")
    return frame.with_columns((pl.lit(START).dt.cast_time_unit("us").dt.replace_time_zone("UTC")
                               + pl.duration(seconds=pl.col("seconds"))).alias("timestamp")).drop("seconds")


def exit_world(seed: int, crowd: bool = False) -> pl.DataFrame:
    """A ring of 20 on a proxy pool of 6 exits, 3 shared cards and a review template (flagged); 80 homes with their
    own address, card and words; and ``pass_0``-``pass_2``: one request each from one of the ring's exits, no card,
    no prompt (a VPN user passing through a commercial exit the ring also rents). ``crowd``: 12 more users of the
    exits writing their own prompts (3 with one request, 3 with two, 3 with a card of their own, 3 on the VPN
    every evening)."""
    rng = np.random.default_rng(seed)
    pool = [f"45.83.{seed}.{k}" for k in range(6)]
    rows = []
    for i in range(20):
        for d in range(4):
            for s in d * 86400 + 3 * 3600 + np.cumsum(rng.integers(30, 300, 10)):
                rows.append((f"ring_{i}", int(s), str(rng.choice(pool)), f"card_ring_{i % 3}",
                             TEMPLATE.format(int(rng.integers(1000))), "python-requests/2.31"))
    for i in range(80):
        for d in range(4):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                rows.append((f"home_{i}", int(s), f"81.{i}.{d % 2}.{i + 2}", f"card_home_{i}",
                             " ".join(rng.choice(WORDS, 12)), "Mozilla/5.0 Firefox/126.0"))
    for j in range(3 if crowd else 0):
        rows.append((f"one_{j}", 2 * 86400 + 5000 + 77 * j, pool[j], None, " ".join(rng.choice(WORDS, 12)), "Chrome"))
    for j in range(3 if crowd else 0):
        for k in range(2):
            rows.append((f"two_{j}", 86400 + 7000 + 500 * j + 60 * k, pool[(j + k) % 6], None,
                         " ".join(rng.choice(WORDS, 12)), "Chrome"))
    for j in range(3 if crowd else 0):
        rows.append((f"card_{j}", 3 * 86400 + 5000 + 77 * j, pool[j], f"card_c_{j}", " ".join(rng.choice(WORDS, 12)),
                     "Chrome"))
    for j in range(3 if crowd else 0):
        for d in range(4):
            for s in d * 86400 + 20 * 3600 + np.sort(rng.integers(0, 3600, 4)):
                rows.append((f"vpn_{j}", int(s), str(rng.choice(pool)), None, " ".join(rng.choice(WORDS, 12)), "Safari"))
    for j in range(3):
        rows.append((f"pass_{j}", 2 * 86400 + 9000 + 77 * j, pool[j], None, None, "Mozilla/5.0 Chrome/125"))
    return timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])


def flagged(result, prefix: str) -> set[str]:
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return set(acc.filter(pl.col("account_id").str.starts_with(prefix) & pl.col("flagged").fill_null(False))
               ["account_id"].to_list())


def test_an_account_holding_one_clusters_address_alone_is_not_joined():
    # Cluster 1 (accounts 0-2) holds addresses a, b, card k and a passage p of its script. Account 3 holds address a
    # only (int52: joined, 1 of 1 values the cluster's); 4 address b and card k; 5 card k only (joined until session 53:
    # one card alone is where its owner meets a fleet that stole it, tests/test_card_owner53.py); 6 address a and the
    # passage; 7 addresses a and b (the cluster's pool, drawn request by request).
    part = pl.DataFrame({"account_idx": list(range(8)), "cluster_id": [1, 1, 1] + [None] * 5},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    sig = pl.DataFrame({"signal_idx": [0, 1, 2, 3], "kind": ["ip", "ip", "payment", "prompt"], "df": [6, 5, 5, 4]},
                       schema_overrides={"signal_idx": pl.UInt32})
    held = {0: [0, 1, 2, 3], 1: [0, 1, 2, 3], 2: [0, 1, 2, 3], 3: [0], 4: [1, 2], 5: [2], 6: [0, 3], 7: [0, 1]}
    mem = pl.DataFrame([(a, v) for a, vs in held.items() for v in vs], schema={"account_idx": pl.UInt32,
                       "signal_idx": pl.UInt32}, orient="row")
    counts = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 6, 7], "kind": ["ip"] * 7, "n_values": [2, 2, 2, 1, 1, 1, 2]},
                          schema={"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32})
    _, _, joined = own_value_members(part, None, mem, sig, value_counts=counts)
    assert joined["account_idx"].to_list() == [4, 6, 7]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_passer_by_on_a_rings_exit_is_not_flagged(seed):
    # int52: own-value members joined pass_0-2 to the ring (each 1 of 1 values the ring's) on every seed 0-5.
    result = graphlink.detect(exit_world(seed))
    assert flagged(result, "ring_") == {f"ring_{i}" for i in range(20)}
    assert flagged(result, "home_") == set() and flagged(result, "pass_") == set()


@pytest.mark.parametrize("seed", [0, 2])
def test_own_values_flag_no_passer_by_beyond_cpm_among_a_crowd_on_the_exits(seed):
    # int52: seed 0 flagged two passers-by with own values on, none with them off; seed 2 three against one.
    events = exit_world(seed, crowd=True)
    on, off = graphlink.detect(events), graphlink.detect(events, own_values=False)
    assert flagged(on, "pass_") <= flagged(off, "pass_")
    for prefix in ("home_", "one_", "two_", "card_", "vpn_"):
        assert flagged(on, prefix) == set()


@pytest.mark.xfail(strict=True, reason="open (brk52): CPM itself takes a one-request account with no card and no "
                   "prompt on a ring's exit into the ring (the bystander test cannot judge an account without "
                   "prompts: judging one that sent none as off the script lost ring accounts of logs that record a "
                   "prompt on a few rows, brk53); seed 1 flags all three passers-by with own values off, as on main")
def test_a_one_request_passer_by_without_a_prompt_is_not_flagged_with_a_ring():
    assert flagged(graphlink.detect(exit_world(1, crowd=True)), "pass_") == set()


# --- rotation ties (signals.rotation_ties, opt-in; fixed in session 53) --------------------------------------------

def platform_world(seed: int, users: int, ipv4_template_users: int):
    """``users`` strangers whose every request leaves a hosted agent platform's (or a privacy relay's) /48 from a
    fresh /64, each with its own card and questions but every prompt opening with the platform's public framework
    template; 70 IPv4 users (``ipv4_template_users`` of them on the same framework) and a 6-account ring on a rented
    /48 beside them (:mod:`tests.test_rotation_relay52`)."""
    w = World(seed)
    for i in range(users):
        w.person(f"relay{i}", lambda: f"2a02:26f7:b3c0:{_hex(w.rng)}:{_hex(w.rng)}:{_hex(w.rng)}::1", SAFARI,
                 lambda: f"{PUBLIC_TEMPLATE} {_text(w.rng, 6)}")
        w.people.append(f"relay{i}")
    w.ipv4_users(70, ipv4_template_users)
    return w, w.ring()


# brk52: 30 of 30 (and 6 of 6) strangers were tied, clustered and flagged at 0.97-1.0 on seeds 1-3 -- the chance model
# takes the block as a random draw of the log, but a platform's users hold its framework's template because of the
# network. Fixed in session 53: a phrase corroborates only as an operator's template
# (tests/test_rotation_platform53.py).
@pytest.mark.parametrize("users, ipv4_template_users", [(30, 10), (6, 0)])
def test_strangers_on_a_platforms_rotating_48_sending_its_public_template_are_not_flagged(users, ipv4_template_users):
    w, ring = platform_world(1, users, ipv4_template_users)
    result = graphlink.detect(w.frame(), rotation_ties=True)
    assert flagged(result, "ring") == set(ring)  # the control: the ring stays flagged
    assert flagged(result, "relay") == set()


def test_with_default_settings_the_platforms_users_are_not_flagged():
    w, ring = platform_world(1, 30, 10)
    result = graphlink.detect(w.frame())  # rotation_ties on by default (session 54)
    assert flagged(result, "ring") == set(ring) and flagged(result, "relay") == set()


# --- the lock-step card pool (cluster_features, rec52) and an office's own tool -----------------------------------

def departments_world(seed: int, departments: int = 4, per: int = 6) -> pl.DataFrame:
    """A company's departments behind its one office NAT, each paying with its own department card for ``per``
    service accounts whose cron jobs fire at :05 every working hour (within 3 s) and wrap each request in a public
    agent framework's template; 200 homes, 60 of them pasting the same framework template."""
    rng = np.random.default_rng(seed)
    rows = []
    for dep in range(departments):
        for a in range(per):
            for d in range(5):
                for h in range(8, 18):
                    rows.append((f"dept{dep}_{a}", d * 86400 + h * 3600 + 300 + int(rng.integers(0, 4)), "198.51.100.7",
                                 f"card_dept{dep}", f"{PUBLIC_TEMPLATE} {' '.join(rng.choice(WORDS, 8))}", "python-httpx"))
    for i in range(200):
        for d in range(5):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                prompt = f"{PUBLIC_TEMPLATE} {' '.join(rng.choice(WORDS, 8))}" if i < 60 else " ".join(rng.choice(WORDS, 12))
                rows.append((f"home_{i}", int(s), f"82.{i}.{d % 2}.{i + 2}", f"card_home_{i}", prompt, "Firefox/126.0"))
    return timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])


# rec52's lock-step rule flagged all 24 (card_pool 0.75, score 0.87) and was reverted in session 52: a public template
# on a shared clock behind one NAT of four department cards is a company's cron, not a script.
@pytest.mark.parametrize("seed", [1, 2])
def test_departments_cron_jobs_on_a_public_template_behind_their_office_nat_are_not_flagged(seed):
    result = graphlink.detect(departments_world(seed))
    assert flagged(result, "dept") == set() and flagged(result, "home_") == set()


def test_one_department_cron_jobs_on_a_public_template_behind_its_office_nat_are_not_flagged():
    # The office rule as built: one card behind its own NAT is an office (its public template is no script).
    result = graphlink.detect(departments_world(1, departments=1, per=12))
    assert flagged(result, "dept") == set() and flagged(result, "home_") == set()


def office_world(seed: int, staff: int = 150, team: int = 20, tool_users: int = 15) -> pl.DataFrame:
    """An office of ``staff`` behind one NAT: ``team`` on the company card, they and ``tool_users`` more staff on
    their own cards writing through the company's in-house tool (its template in 85 % of requests, nobody outside
    the office uses it); the rest write freely, half of them also from home in the evening; 200 homes; a ring of 20
    on 6 proxy exits and 3 cards beside."""
    rng = np.random.default_rng(seed)
    tool = "Summarise the following customer ticket for the Acme support dashboard and suggest a reply category:"
    rows = []
    for i in range(staff):
        card = "card_acme" if i < team else f"card_staff_{i}"
        for d in range(5):
            for s in d * 86400 + 9 * 3600 + np.sort(rng.integers(0, 8 * 3600, int(rng.integers(2, 8)))):
                scripted = i < team + tool_users and rng.random() < 0.85
                prompt = f"{tool} {' '.join(rng.choice(WORDS, 10))}" if scripted else " ".join(rng.choice(WORDS, 12))
                agent = "Chrome/125 AcmeDesk/3.1" if i < team + tool_users else "Chrome/125"  # the tool's client
                rows.append((f"staff_{i}", int(s), "198.51.100.7", card, prompt, agent))
            if i >= team and rng.random() < 0.5:
                rows.append((f"staff_{i}", int(d * 86400 + 20 * 3600 + rng.integers(0, 7200)), f"81.{i}.3.{i + 2}", card,
                             " ".join(rng.choice(WORDS, 12)), "Firefox/126"))
    for i in range(200):
        for d in range(5):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                rows.append((f"home_{i}", int(s), f"82.{i}.{d % 2}.{i + 2}", f"card_home_{i}", " ".join(rng.choice(WORDS, 12)),
                             "Firefox/126.0"))
    pool = [f"45.83.9.{k}" for k in range(6)]
    for i in range(20):
        for d in range(5):
            for s in d * 86400 + 3 * 3600 + np.cumsum(rng.integers(30, 300, 10)):
                rows.append((f"ring_{i}", int(s), str(rng.choice(pool)), f"card_ring_{i % 3}",
                             TEMPLATE.format(int(rng.integers(1000))), "python-requests/2.31"))
    return timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])


# brk52 (main flagged it too until session 54): the team scored 0.72 (payment_reuse 0.79, template_share 0.84) and
# its campaign flagged the rest of the office's cluster: 146 staff. Session 53 called any address where others are
# based the card's office (brk53 hid a ring behind a carrier's CGNAT that way: reverted); session 54 (office54) asks
# that colleagues based there on cards of their own write the team's template too (card_pools.WORKPLACE_WRITERS;
# tests/test_workplace54.py).
@pytest.mark.parametrize("seed", [1, 2])
def test_an_office_whose_team_uses_the_in_house_tool_on_the_company_card_is_not_flagged(seed):
    result = graphlink.detect(office_world(seed))
    assert flagged(result, "ring_") == {f"ring_{i}" for i in range(20)}
    assert flagged(result, "staff_") == set()
