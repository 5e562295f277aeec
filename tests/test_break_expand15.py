"""Break-it review of expand's twelfth pass (the client rule spares a fleet's other scripts) and of ``graphlink match``.

The twelfth pass (commit f883491, :func:`graphlink.stages.seed_clients.apply_clients`) no longer judges, besides the
holders of a seed's card, (a) listed accounts paying with a card (any private kind) held by a listed account that runs
the seeds' common client and (b) the accounts :func:`graphlink.stages.seed_minutes.apply_minute_clock` finds firing
in the seeds' minutes beyond chance (``clocked``). This review looks for accounts of *another* operator or of a benign
team that the exemptions let back into the list, checks how far the card exemption reaches (one step), its cost, and
then ``graphlink match`` for benign newcomers matched to a ring through one popular value.

Worlds are hand-built ``links, linking, accounts`` (as ``tests/test_expand_clients.py``) or tiny logs run through
:func:`graphlink.detect`. Where the question is what the change did, the same world is ranked with the eighth pass's
client rule (holders of a seed's card spared only: ``eighth_pass_clients``). Strict xfails are defects, with the
numbers measured when written; plain tests are controls pinning each defect's edge. graphlink code is not changed.
Report: the breakx15 branch's final message (session 15).
"""

from __future__ import annotations

import datetime as dt
import time
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

import graphlink
import graphlink.stages.expand as expand_stage
from graphlink.stages.seed_clients import apply_clients, seed_clients
from graphlink.stages.seed_templates import hold_prefix
from tests.test_expand_clients import two_operators_on_one_pool_writing_alike

SCHEMA = {"account_id": pl.String, "kind": pl.String, "value": pl.String, "df": pl.UInt32, "weight": pl.Float64}
ACCOUNTS = {"account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64}
SEEDS = ["z0", "z1", "z2"]
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def listed_ids(ranked: pl.DataFrame) -> set[str]:
    return set(ranked.filter(pl.col("rank") > 0)["account_id"])


def eighth_pass_clients(ordered, keep, linking, seeds, n_accounts, clocked=None):
    """The client rule before f883491: listed accounts on clients but none of the seeds' common ones leave, unless
    they hold a seed's card (no fleet cards, no clock)."""
    common = seed_clients(linking, seeds, n_accounts)
    if common is None:
        return ordered, keep
    rows = linking.filter((pl.col("kind") == "user_agent")
                          & pl.col("account_id").is_in(ordered.head(keep)["account_id"].implode()))
    using = rows.join(common, on=["kind", "value"], how="semi")["account_id"].unique()
    leave = pl.col("account_id").is_in(rows["account_id"].unique().implode()) & ~pl.col("account_id").is_in(
        using.implode())
    return hold_prefix(ordered, keep, leave, seeds, linking)


def rank_before(links, linking, accounts, seeds, **kwargs) -> pl.DataFrame:
    """``rank_accounts`` with the eighth pass's client rule in place of the twelfth's."""
    mp = pytest.MonkeyPatch()
    mp.setattr(expand_stage, "apply_clients", eighth_pass_clients)
    try:
        return expand_stage.rank_accounts(links, linking, accounts, seeds, **kwargs)
    finally:
        mp.undo()


# --- The clock exemption: another operator's cron on the top of the hour --------------------------------------------

def top_of_the_hour_minutes() -> pl.DataFrame:
    """``minutes.parquet`` of :func:`two_operators_on_one_pool_writing_alike`'s block (all cluster 1), 4 days: cell
    ``z`` (the seeds' operator, axios) fires at the top of every fourth hour (00, 04, ... 20); cell ``o`` (another
    operator on the pool, Go-http-client) runs the commonest cron there is, ``0 * * * *``: the top of every hour."""
    def rows(acc: str, hours) -> list[tuple]:
        return [(acc, 1, T0 + timedelta(days=d, hours=h), 2) for d in range(4) for h in hours]

    out = [r for i in range(6) for r in rows(f"z{i}", range(0, 24, 4))]
    out += [r for i in range(6) for r in rows(f"o{i}", range(24))]
    return pl.DataFrame(out, schema={"account_id": pl.String, "cluster_id": pl.Int64,
                                     "minute": pl.Datetime("us", "UTC"), "events": pl.UInt32}, orient="row")


# Defect (high): the twelfth pass lets the minute clock veto the client rule. Another operator's cell on the shared
# pool whose cron fires at the top of every hour meets every one of the seeds' 4-hourly :00 bursts: fit 24/96 = 0.25,
# beyond chance, over CLUSTER_ON_MINUTES 0.2 in the merged cluster -- so it is "clocked", and its Go client, which
# none of the seeds runs, no longer counts against it. Measured: 6 of 6 of the other operator's accounts listed beside
# the cell's 3 (why: the pool's addresses with seed z0; "active within a minute of the seeds (25% of its events)");
# 0 of 6 with the eighth pass's rule on the same input, 0 without the minutes. The two rules checked each other;
# now the weaker (a minute two crons share by convention) overrides the stronger (a client none of the seeds runs).
# Fixed in session 15: the minute clock counts co-activity only beyond the account's own schedule (seed_minutes.BEYOND_SCHEDULE).
def test_another_operators_top_of_the_hour_cron_is_not_spared_by_the_clock():
    links, linking, accounts = two_operators_on_one_pool_writing_alike()
    minutes = top_of_the_hour_minutes()
    other = {f"o{i}" for i in range(6)}
    assert not listed_ids(rank_before(links, linking, accounts, SEEDS, minutes=minutes)) & other
    got = listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS, minutes=minutes))
    assert got & {"z3", "z4", "z5"} == {"z3", "z4", "z5"}
    assert not got & other


def test_the_cron_without_the_clock_is_dropped_by_the_client_rule_control():
    """Control: without ``minutes.parquet`` the same block is the cell's three (the evidence tier and the client)."""
    links, linking, accounts = two_operators_on_one_pool_writing_alike()
    assert listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS)) == {"z3", "z4", "z5"}


def monitoring_company() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, list[str]]:
    """:func:`two_operators_on_one_pool_writing_alike`'s block plus a benign company's four monitoring accounts ``m*``
    (their own Leiden cluster 2, ``Prometheus/2.45``), tied to the block only by an office NAT address seed z0 once
    went through (link weight 0.3 each). Minutes, 4 days: cell ``z`` fires at the top of every third hour, cell ``o``
    half an hour later, the company's probes at the top of every hour (``0 * * * *``). Returns
    ``links, linking, accounts, minutes, company``."""
    links, linking, accounts = two_operators_on_one_pool_writing_alike()
    company = [f"m{i}" for i in range(4)]
    rows = [(a, "ip", "192.0.2.50", 5, 0.5) for a in company + ["z0"]]
    rows += [(a, "user_agent", "Prometheus/2.45", 4, 0.1) for a in company]
    linking = pl.concat([linking, pl.DataFrame(rows, schema=SCHEMA, orient="row")])
    pairs = [(a, b, 1.0) for i, a in enumerate(company) for b in company[i + 1:]] + [(a, "z0", 0.3) for a in company]
    links = pl.concat([links, pl.DataFrame(pairs, schema={"source": pl.String, "target": pl.String,
                                                          "weight": pl.Float64}, orient="row")])
    accounts = pl.concat([accounts.filter(~pl.col("account_id").is_in([f"other{i}" for i in range(296, 300)])),
                          pl.DataFrame({"account_id": company, "cluster_id": [2] * 4, "campaign_id": [None] * 4},
                                       schema=ACCOUNTS)])

    def fire(acc: str, cluster: int, hours) -> list[tuple]:
        return [(acc, cluster, T0 + timedelta(days=d, hours=h), 2) for d in range(4) for h in hours]

    mins = [r for i in range(6) for r in fire(f"z{i}", 1, range(0, 24, 3))]
    mins += [r for i in range(6) for r in fire(f"o{i}", 1, [h + 0.5 for h in range(0, 24, 3)])]
    mins += [r for a in company for r in fire(a, 2, range(24))]
    minutes = pl.DataFrame(mins, schema={"account_id": pl.String, "cluster_id": pl.Int64,
                                         "minute": pl.Datetime("us", "UTC"), "events": pl.UInt32}, orient="row")
    return links, linking, accounts, minutes, company


# Defect (high): the same through ON_MINUTES, outside the seeds' cluster. A benign company's hourly probes meet each
# of the cell's 3-hourly :00 bursts, fit 8/24 = 0.33 >= 0.3 beyond chance: the minute clock brings them in from down
# the order, and where the client rule used to send them out again (Prometheus, none of the seeds' clients) it now
# spares them. Measured: 4 of 4 of the company's accounts listed beside the cell's 3; 0 of 4 with the eighth pass's
# rule; 0 of 4 without the minutes.
# Fixed in session 15: beyond-schedule test of the minute clock.
def test_a_benign_companys_hourly_probes_are_not_spared_by_the_clock():
    links, linking, accounts, minutes, company = monitoring_company()
    assert not listed_ids(rank_before(links, linking, accounts, SEEDS, minutes=minutes)) & set(company)
    assert not listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS)) & set(company)
    got = listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS, minutes=minutes))
    assert got >= {"z3", "z4", "z5"}
    assert not got & set(company)


# --- The card exemption: one card shared with a listed account on the seeds' client ----------------------------------

def fleet_and_other_operator(extra: list[tuple] = (), n_a: int = 12, n_b: int = 5,
                             other_script: int = 3) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Operator A's fleet ``z0..z{n_a-1}`` on two scripts (``axios/1.6``; the last ``other_script`` on ``Dalvik/2.1``)
    and ``n_b`` accounts ``o*`` of operator B (``Go-http-client/2.0``) on one shared proxy pool: one clique, one Leiden
    cluster (the list holds a majority of it, so the cluster completion brings B in and the client rule must take it
    out). Every block account also sends a browser string half the run sends; six of 300 unlinked ordinary accounts
    run axios. ``extra`` linking rows are appended (cards). Returns ``links, linking, accounts``."""
    fleet, other = [f"z{i}" for i in range(n_a)], [f"o{i}" for i in range(n_b)]
    block = fleet + other
    pairs = [(a, b) for i, a in enumerate(block) for b in block[i + 1:]]
    links = pl.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs],
                          "weight": [1.0] * len(pairs)})
    others = [f"other{i:03d}" for i in range(300)]
    axios = fleet[:n_a - other_script] + others[:6]
    rows = [(a, "ip", f"198.51.100.{i}", 40, 0.2) for a in block for i in range(10)]
    rows += [(a, "user_agent", "axios/1.6", len(axios), 0.05) for a in axios]
    rows += [(a, "user_agent", "Dalvik/2.1", other_script, 0.05) for a in fleet[n_a - other_script:]]
    rows += [(a, "user_agent", "Go-http-client/2.0", n_b, 0.05) for a in other]
    rows += [(a, "user_agent", "Mozilla/5.0", len(block) + 150, 0.01) for a in block + others[:150]]
    linking = pl.DataFrame(rows + list(extra), schema=SCHEMA, orient="row")
    accounts = pl.DataFrame({"account_id": block + others, "cluster_id": [1] * len(block) + [None] * 300,
                             "campaign_id": [7] * len(block) + [None] * 300}, schema=ACCOUNTS)
    return links, linking, accounts


OTHER = {f"o{i}" for i in range(5)}
FLEET_AXIOS = {f"z{i}" for i in range(3, 9)}


def test_a_card_shared_with_a_listed_account_spares_no_one_and_the_other_operator_leaves():
    """Was the control of f883491's card exemption: z9-z11 run the fleet's second script and pay with z5's card.
    The review showed a card a listed account holds is no evidence of the fleet (the defects below; and the
    ``why`` of an account it spared named only the pool), so the exemption was withdrawn (session 15): without
    the seeds' clock, z9-z11 leave with operator B, as before f883491; the fleet's second script stays only for
    firing in the seeds' bursts."""
    card = [(a, "payment", "card-fleet", 4, 3.0) for a in ("z5", "z9", "z10", "z11")]
    assert listed_ids(expand_stage.rank_accounts(*fleet_and_other_operator(card), SEEDS)) == FLEET_AXIOS
    assert listed_ids(expand_stage.rank_accounts(*fleet_and_other_operator(), SEEDS)) == FLEET_AXIOS


# Defect (high): a card shared by one listed account on the seeds' client and by another operator's accounts -- a
# stolen-card marketplace card both operators bought, a reseller's prepaid card -- spares every one of them, and the
# card's popularity is never looked at (private_ties reads kind and value only). Measured: 5 of 5 of operator B's
# accounts listed beside the fleet's 6 (the card held by z6 and B's 5, df 6; and a card 120 accounts of the run pay
# with, df 120, the same), 0 of 5 with the eighth pass's rule.
# Fixed in session 15: the card exemption was withdrawn.
@pytest.mark.parametrize("df", [6, 120])
def test_a_card_one_listed_account_shares_with_another_operator_does_not_bring_it_in(df):
    holders = ["z6", *sorted(OTHER)] + [f"other{i:03d}" for i in range(100, 100 + df - 6)]
    card = [(a, "payment", "card-marketplace", df, 3.0 * 2 / df) for a in holders]
    world = fleet_and_other_operator(card)
    assert listed_ids(rank_before(*world, SEEDS)) == FLEET_AXIOS
    got = listed_ids(expand_stage.rank_accounts(*world, SEEDS))
    assert got >= FLEET_AXIOS
    assert not got & OTHER


def test_a_chain_of_cards_from_a_listed_account_spares_no_one():
    """Was the control that the card exemption does not chain: z6 shares card k1 with o0, and o0 card k2 with
    o1-o4. With the exemption withdrawn, none of operator B is spared."""
    cards = [("z6", "payment", "k1", 2, 3.0), ("o0", "payment", "k1", 2, 3.0)]
    cards += [(f"o{i}", "payment", "k2", 5, 3.0) for i in range(5)]
    got = listed_ids(expand_stage.rank_accounts(*fleet_and_other_operator(cards), SEEDS))
    assert not got & OTHER
    assert got >= FLEET_AXIOS


def corporate_team(card: bool) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Block ``o`` is a benign team behind the coworking NAT the fleet's proxy pool shares: browsers only, except o0,
    a developer whose script also runs axios/1.6 (16 of the run's 317 accounts then, under MAX_CLIENT_SHARE).
    ``card``: the team pays with one corporate card."""
    extra = [(f"o{i}", "payment", "card-corporate", 5, 3.0 * 2 / 5) for i in range(5)] if card else []
    links, linking, accounts = fleet_and_other_operator(extra)
    linking = pl.concat([linking.filter(pl.col("value") != "Go-http-client/2.0"),
                         pl.DataFrame([("o0", "user_agent", "axios/1.6", 16, 0.05)], schema=SCHEMA, orient="row")])
    linking = linking.with_columns(pl.when(pl.col("value") == "axios/1.6").then(16).otherwise(pl.col("df"))
                                   .cast(pl.UInt32).alias("df"))
    return links, linking, accounts


# Defect (medium-high): the account vouching for a card need not be the ring's -- any listed account on the seeds'
# client will do, and that client may be one 5 % of the run shares. A benign team behind the pool's NAT, one of whose
# developers runs axios too, is spared whole through its corporate card. Measured: the team's 4 browser-only members
# listed beside o0 (o0 listed before and after: the client itself admits it); 0 of 4 with the eighth pass's rule,
# 0 of 4 after f883491 without the corporate card.
# Fixed in session 15: the card exemption was withdrawn.
def test_a_benign_teams_corporate_card_does_not_carry_it_in_through_one_teammate():
    browsers = {"o1", "o2", "o3", "o4"}
    assert not listed_ids(rank_before(*corporate_team(True), SEEDS)) & browsers
    assert not listed_ids(expand_stage.rank_accounts(*corporate_team(False), SEEDS)) & browsers
    assert not listed_ids(expand_stage.rank_accounts(*corporate_team(True), SEEDS)) & browsers


# --- Cost ------------------------------------------------------------------------------------------------------------

def many_cards(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``ordered, linking``: ``n`` listed accounts, half on the seeds' client, 3 cards each from a pool of ``n / 4``."""
    rng = np.random.default_rng(15)
    ids = pl.Series("account_id", [f"a{i:07d}" for i in range(n)])
    ua = pl.DataFrame({"account_id": ids, "kind": "user_agent",
                       "value": pl.Series(["axios/1.6", "Go/2"] * (n // 2)), "df": n // 2})
    cards = pl.DataFrame({"account_id": ids.gather(np.repeat(np.arange(n), 3)), "kind": "payment",
                          "value": pl.Series(rng.integers(0, n // 4, 3 * n)).cast(pl.String), "df": 3})
    return pl.DataFrame({"account_id": ids}), pl.concat([ua, cards]).cast({"df": pl.UInt32})


def test_the_card_exemption_is_linear_in_listed_accounts_and_cards_control():
    """Control: 80,000 and 320,000 listed accounts with 3 cards each (1.28 M linking rows): 0.009 and 0.041 s when
    written (x4.5 for x4 rows, best of 3); a quadratic step would take x16."""
    timings = []
    for n in (80_000, 320_000):
        ordered, linking = many_cards(n)
        seeds = ordered["account_id"].head(3).to_list()
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            out, keep = apply_clients(ordered, n, linking, seeds, 10 * n)
            best = min(best, time.perf_counter() - start)
        assert 0 < keep <= n
        timings.append(best)
    assert timings[1] < 10 * timings[0] + 0.05


# --- graphlink match: newcomers through one address of a ring's pool ------------------------------------------------

def ring_known_run(tmp_path, own_block: bool):
    """A ring of 6 on one card, each member through one of three proxy addresses (two members each). ``own_block``:
    the three are in 203.0.113.0/24, which nobody else uses; else one in each of three /24s that 60 ordinary people
    (own card, own address, browser) share. Returns the saved detect output's path."""
    ring = [f"ring{i}" for i in range(6)]
    people = [f"person{i:02d}" for i in range(60)]
    nets = ["203.0.113", "198.51.100", "192.0.2"]
    ring_ip = [f"203.0.113.{i % 3 + 1}" if own_block else f"{nets[i % 3]}.1" for i in range(18)]
    events = pl.DataFrame({
        "account_id": ring * 3 + people,
        "payment_fingerprint": ["card-ring"] * 18 + [f"card-{p}" for p in people],
        "ip": ring_ip + [f"{nets[i % 3]}.{10 + i}" if not own_block else f"10.0.{i}.1" for i in range(60)],
        "user_agent": ["curl/8.0"] * 18 + ["Mozilla/5.0"] * 60})
    return graphlink.detect(events, seed=1).save(tmp_path / "known")


def newcomers_on_the_pool(own_block: bool, n: int = 30) -> pl.DataFrame:
    """Day two: ``n`` new ordinary accounts (own card, a browser), each once through one of the ring's proxy
    addresses (a residential proxy exit rented to anyone, a carrier NAT the addresses were recycled into)."""
    nets = ["203.0.113", "198.51.100", "192.0.2"]
    new = [f"new{i:02d}" for i in range(n)]
    return pl.DataFrame({"account_id": new, "payment_fingerprint": [f"card-{a}" for a in new],
                         "ip": [f"203.0.113.{i % 3 + 1}" if own_block else f"{nets[i % 3]}.1" for i in range(n)],
                         "user_agent": ["Mozilla/5.0"] * n})


# Defect (high, match): DEFAULT_MIN_EVIDENCE's own reasoning says "one address alone (an ordinary user who once went
# through the same residential proxy exit) is not enough", but one address of concentration 1 is evidence 1.0 and the
# bar is ``>= 1.0``: 30 of 30 ordinary newcomers, each once through one ring address with its own card and a browser,
# are matched to the ring (score 0.5; 0.6 when the pool's /24 is the ring's alone, which adds half again though it
# is the same address seen twice). Nor does match look at the new log: one address 10 new accounts share and which
# gives them nothing else of the ring's is a crowd's exit there, whatever it was the day before.
# Fixed in session 15: one address alone matches only corroborated by the cluster's client, e-mail domain or hours (match.SINGLE_VALUE_FACTOR).
@pytest.mark.parametrize("own_block", [False, True])
def test_newcomers_once_through_one_ring_address_are_not_matched(tmp_path, own_block):
    known = ring_known_run(tmp_path, own_block)
    clusters = pl.read_parquet(known / "accounts.parquet").filter(pl.col("account_id").str.starts_with("ring"))
    assert clusters["cluster_id"].n_unique() == 1 and clusters["cluster_id"].null_count() == 0
    matches = graphlink.match(known, newcomers_on_the_pool(own_block)).matches
    assert matches["cluster_id"].null_count() == matches.height


def test_a_newcomer_on_the_rings_card_is_matched_control(tmp_path):
    """Control: a newcomer paying with the ring's card is matched to it (score 0.75 or more), and one sharing only
    the ring's client string (weak, concentrated 1.0: curl/8.0 is the ring's alone) is not."""
    known = ring_known_run(tmp_path, own_block=False)
    day2 = pl.DataFrame({"account_id": ["newring", "newcurl"], "payment_fingerprint": ["card-ring", "card-x"],
                         "ip": ["100.64.0.1", "100.64.0.2"], "user_agent": ["curl/8.0", "curl/8.0"]})
    matches = graphlink.match(known, day2).matches.sort("account_id")
    ring_cluster = pl.read_parquet(known / "accounts.parquet").filter(pl.col("account_id") == "ring0")["cluster_id"][0]
    assert matches.select("account_id", "cluster_id").rows() == [("newcurl", None), ("newring", ring_cluster)]
    assert matches["score"][1] >= 0.75


def hosting_known_run(tmp_path):
    """A ring of 6 on one card, each on its own address of a hosting provider's IPv6 /48 (2001:db8:1::/48, one /64
    for all), active 02:00-03:59 UTC for 3 days; 60 ordinary people on IPv4 at spread hours. Returns the saved run."""
    rows = [(a, "card-ring", f"2001:db8:1:2::{i + 1:x}", "curl/8.0", T0 + timedelta(days=d, hours=h, minutes=i))
            for i, a in enumerate(f"ring{i}" for i in range(6)) for d in range(3) for h in (2, 3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i))
             for i, p in enumerate(f"person{i:02d}" for i in range(60)) for d in range(3)]
    events = pl.DataFrame(rows, schema=["account_id", "payment_fingerprint", "ip", "user_agent", "timestamp"],
                          orient="row")
    return graphlink.detect(events, seed=1).save(tmp_path / "known")


def hosting_neighbours(hours: tuple[int, ...]) -> pl.DataFrame:
    """Day two: 10 other customers of the provider (own addresses in the ring's /64, own cards, Go-http-client),
    their jobs firing at the top of each of ``hours``."""
    new = [f"vps{i:02d}" for i in range(10)]
    return pl.DataFrame([(a, f"card-{a}", f"2001:db8:1:2::{100 + j:x}", "Go-http-client/2.0",
                          T0 + timedelta(days=5, hours=h)) for j, a in enumerate(new) for h in hours],
                        schema=["account_id", "payment_fingerprint", "ip", "user_agent", "timestamp"], orient="row")


# Defect (medium-high, match): an IPv6 network counts as strong, "one site's allocation" -- but SignalConfig's default
# ipv6_prefix is 48, a hosting provider's or an ISP's block -- and its 0.5 falls short of DEFAULT_MIN_EVIDENCE only
# until the hour clock adds the other 0.5. 10 of 10 of the provider's other customers (own addresses, own cards, another
# client), whose jobs fire in the ring's two busy hours, are matched to the ring (score 0.5, why: "shares ip_net
# 2001:db8:1::/48 (6 of the cluster's accounts, 6 in all); active in the cluster's hours (clock fit 1.0)"); at other
# hours none is (control below). match_accounts says a clock "corroborates (never makes) a match": here it makes it.
# Fixed in session 15: a site network is never a match's only strong value.
def test_hosting_neighbours_on_the_rings_slash48_in_its_hours_are_not_matched(tmp_path):
    known = hosting_known_run(tmp_path)
    matches = graphlink.match(known, hosting_neighbours((2, 3))).matches
    assert matches["cluster_id"].null_count() == matches.height


def test_hosting_neighbours_at_other_hours_are_not_matched_control(tmp_path):
    known = hosting_known_run(tmp_path)
    ring = pl.read_parquet(known / "accounts.parquet").filter(pl.col("account_id").str.starts_with("ring"))
    assert ring["cluster_id"].null_count() == 0 and ring["cluster_id"].n_unique() == 1
    matches = graphlink.match(known, hosting_neighbours((12, 13))).matches
    assert matches["cluster_id"].null_count() == matches.height == 10
