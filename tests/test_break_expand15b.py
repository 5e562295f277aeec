"""Break-it review (breakx15b) of the session-15 fixes to ``graphlink expand`` and ``graphlink match``.

Under review: :mod:`graphlink.stages.seed_groups` (seeds tied to none of the others are set apart),
:data:`graphlink.stages.seed_minutes.BEYOND_SCHEDULE` (the minute clock counts co-activity only beyond an
account's own schedule), the client rule's clock exemption, and :data:`graphlink.stages.match.SINGLE_VALUE_FACTOR`
(one strong value alone matches only at a card's weight, or an address corroborated by the cluster's client,
e-mail domain or hours). Worlds are hand-built (as ``tests/test_break_expand15.py``) or the bundled fixture run
through :func:`graphlink.detect` (5 s). Strict xfails are defects, with the numbers measured when written; plain
tests are controls pinning each defect's edge. graphlink code is not changed.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import graphlink
import graphlink.stages.expand as expand_stage
import graphlink.stages.seed_minutes as seed_minutes
import graphlink.views.expand as expand_view
from graphlink.stages.seed_groups import seed_groups
from tests.test_break_expand15 import SEEDS, T0, fleet_and_other_operator, listed_ids

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MINUTES = {"account_id": pl.String, "cluster_id": pl.Int64, "minute": pl.Datetime("us", "UTC"), "events": pl.UInt32}
SECOND_SCRIPT = {"z9", "z10", "z11"}


# --- BEYOND_SCHEDULE: a ring whose job fires every hour at its own minute --------------------------------------------

def hourly_fleet_minutes(rotate: bool) -> pl.DataFrame:
    """``minutes.parquet`` for :func:`fleet_and_other_operator` (fleet z0-z11, z9-z11 on the fleet's second script),
    4 days: the fleet's job fires at :17 every hour; ``rotate``: each run uses 4 of the 12 accounts drawn at random
    (seeded), else all 12. Operator B's five accounts fire at :47 every hour."""
    rng = np.random.default_rng(15)
    rows = []
    for hour in range(96):
        at = T0 + timedelta(hours=hour, minutes=17)
        who = rng.choice(12, 4, replace=False) if rotate else range(12)
        rows += [(f"z{i}", 1, at, 2) for i in who]
        rows += [(f"o{j}", 1, at + timedelta(minutes=30), 2) for j in range(5)]
    return pl.DataFrame(rows, schema=MINUTES, orient="row")


def without_schedule_test(*args, **kwargs) -> pl.DataFrame:
    """``rank_accounts`` with the minute clock as before session 15 (no beyond-schedule test)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(seed_minutes, "BEYOND_SCHEDULE", 0.0)
    try:
        return expand_stage.rank_accounts(*args, **kwargs)
    finally:
        mp.undo()


# Defect (high): a ring whose job fires every hour at its own minute (:17), each run on 4 of its 12 accounts, is read
# as "a schedule": the three seeds fired in 66 of the 96 hours, a member fires in a random third of them, so its
# requests are as dense in the seeds' :17 minutes as in the :17 minutes one-two hours away that no seed happened to
# fire in (z9, z10, z11: fit 0.50, 0.72, 0.60; density ratio 0.5, 1.3, 0.75 < BEYOND_SCHEDULE 2). The members on the fleet's second script (Dalvik, which no seed runs) are no
# longer "clocked", and the client rule cuts them. Measured: z9-z11 listed 0 of 3 (list z3-z8); 3 of 3 with the
# clock as before session 15 (BEYOND_SCHEDULE 0), and 3 of 3 when every run uses all 12 accounts (control below).
# An hourly :00 cron and an hourly ring at :17 look alike to the hour-shift control; what tells them apart is that
# the seeds themselves fire at the shifted minutes' minute-of-hour: the control says nothing about an account when
# the seeds' own schedule recurs there (or: judge a minute-of-hour by how many of the run's accounts fire in it).
@pytest.mark.xfail(strict=True, reason="hourly ring at :17 with rotating accounts: fleet's second script 0/3 listed "
                                       "(3/3 with BEYOND_SCHEDULE=0)")
def test_a_ring_firing_hourly_at_its_own_minute_keeps_its_second_script():
    world = fleet_and_other_operator()
    minutes = hourly_fleet_minutes(rotate=True)
    assert listed_ids(without_schedule_test(*world, SEEDS, minutes=minutes)) >= SECOND_SCRIPT
    got = listed_ids(expand_stage.rank_accounts(*world, SEEDS, minutes=minutes))
    assert not got & {f"o{i}" for i in range(5)}
    assert got >= SECOND_SCRIPT


def test_a_ring_firing_hourly_with_every_account_keeps_its_second_script_control():
    """Control: the same job run on all 12 accounts every hour: the seeds' minutes are every hour's :16-:18, the
    shifted minutes fall inside them, and z9-z11 are clocked and listed; operator B (at :47) is not."""
    got = listed_ids(expand_stage.rank_accounts(*fleet_and_other_operator(), SEEDS,
                                                minutes=hourly_fleet_minutes(rotate=False)))
    assert got >= SECOND_SCRIPT | {"z3", "z4", "z5"}
    assert not got & {f"o{i}" for i in range(5)}


# --- seed groups on the bundled fixture --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory) -> Path:
    return graphlink.detect(FIXTURES / "events.parquet", FIXTURES / "accounts.parquet", seed=1).save(
        tmp_path_factory.mktemp("fx") / "out")


def outputs(run: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    links, linking = pl.read_parquet(run / "links.parquet"), pl.read_parquet(run / "linking.parquet")
    accounts = pl.read_parquet(run / "accounts.parquet").select("account_id", "cluster_id").join(
        pl.read_parquet(run / "clusters.parquet").select("cluster_id", "campaign_id"), on="cluster_id", how="left")
    return links, linking, accounts


def strays_sharing_a_rare_value(run: Path, ring_id: int) -> pl.DataFrame:
    """``account_id, stray``: (ring member, ordinary account) pairs holding a common linking value held by at most
    MAX_TIE_SHARE of the run (on the fixture: a /24 nearly always), one row per pair, sorted."""
    from graphlink.stages.seed_groups import MAX_TIE_SHARE

    labels = pl.read_parquet(FIXTURES / "labels.parquet")
    _, linking, accounts = outputs(run)
    rare = linking.filter(pl.col("df") <= MAX_TIE_SHARE * accounts.height).select("account_id", "kind", "value")
    ring = rare.join(labels.filter(pl.col("ring_id") == ring_id).select("account_id"), on="account_id")
    ordinary = rare.join(labels.filter(pl.col("ring_id").is_null()).select("account_id"), on="account_id")
    return (ring.join(ordinary, on=["kind", "value"]).select("account_id", pl.col("account_id_right").alias("stray"))
            .unique().sort("account_id", "stray"))


def found(run: Path, seeds: list[str], members: list[str]) -> bool:
    got = set(graphlink.expand(run, seeds)["account_id"]) - set(seeds)
    truth = set(members) - set(seeds)
    return len(got & truth) >= 0.9 * len(truth) and len(got & truth) >= 0.9 * max(len(got), 1)


# Was a defect (medium-high) on 0238449, fixed on lead15 by 8a27831 (seeds of several detect clusters ranked per
# cluster when together they list < 90 % of the largest cluster's seeds' list): now a control. 20 draws per ring,
# rings 1-5, at 8a27831+: 100/100 found (worst recall 0.99).
# Before: a /24 (ip_net, a weak kind the graph never links on alone) ties two seeds when at most 0.3 % of the run
# holds it, and ring members roam residential proxies over hundreds of /24s: on the fixture 1,586 of its 2,787
# ordinary accounts hold a /24 at most 9 accounts hold that some ring member holds too (3,509 of 3,553 such ring-ordinary
# pairs are a /24, 44 an address). A ticket's wrong account from the ring's region is then "tied", there is one group,
# and the list collapses as before session 15. Measured: 2 ring seeds + 1 ordinary account sharing a rare value with
# one of them (20 draws per ring, rings 1-5): found 11, 8, 13, 13, 14 of 20 (59/100; worst recall 0.00), against
# 40/40 per ring for strays drawn at random (none of 200 tied); this test's 20 draws on ring 2: 13 of 20. Ring seed
# pairs are tied by their campaign alone on the fixture (100/100 draws with ip_net left out), so the /24 gives the grouping nothing here. Principle: tie on strong
# values only (card, address, --signal), or ask two independent rare values of a weak kind. The grouping still
# ties such a stray (asserted below); the per-cluster ranking is what rescues the list.
def test_a_stray_sharing_a_rare_slash24_with_a_seed_does_not_collapse_the_list_control(fixture_run):
    labels = pl.read_parquet(FIXTURES / "labels.parquet")
    members = sorted(labels.filter(pl.col("ring_id") == 2)["account_id"])
    pairs = strays_sharing_a_rare_value(fixture_run, 2).sample(20, seed=2)
    rnd = random.Random(2)
    links, linking, accounts = outputs(fixture_run)
    hits = 0
    for member, stray in pairs.rows():
        seeds = [member, rnd.choice([m for m in members if m != member]), stray]
        assert len(seed_groups(seeds, links, linking, accounts)) == 1  # the stray is tied: one group
        hits += found(fixture_run, seeds, members)
    assert hits >= 18


def test_a_random_stray_is_set_apart_and_the_ring_found_control(fixture_run):
    """Control: strays drawn at random from the fixture's ordinary accounts are tied to no ring seed pair and the ring
    is found (10 draws on ring 2)."""
    labels = pl.read_parquet(FIXTURES / "labels.parquet")
    members = sorted(labels.filter(pl.col("ring_id") == 2)["account_id"])
    ordinary = sorted(labels.filter(pl.col("ring_id").is_null())["account_id"])
    rnd = random.Random(15)
    links, linking, accounts = outputs(fixture_run)
    for _ in range(10):
        seeds = rnd.sample(members, 2) + [rnd.choice(ordinary)]
        assert len(seed_groups(seeds, links, linking, accounts)) == 2
        assert found(fixture_run, seeds, members)


def ordinary_pairs_on_rare_slash24s(run: Path, n_seeds: int) -> list[str]:
    """``n_seeds`` ordinary (benign) fixture accounts, in disjoint pairs each holding a /24 only the two hold."""
    labels = pl.read_parquet(FIXTURES / "labels.parquet")
    _, linking, _ = outputs(run)
    held = (linking.join(labels.filter(pl.col("kind") == "benign").select("account_id"), on="account_id")
            .filter((pl.col("kind") == "ip_net") & (pl.col("df") == 2))
            .group_by("value").agg(pl.col("account_id").sort()).filter(pl.col("account_id").list.len() == 2)
            .sort("value"))
    seeds: list[str] = []
    for pair in held["account_id"].to_list():
        if not set(pair) & set(seeds):
            seeds += pair
        if len(seeds) >= n_seeds:
            break
    return seeds


# Defect (medium): every group of two or more seeds is expanded on its own and the lists are concatenated, with no
# bound on the whole. A ticket of 20 ordinary accounts (complainants, a fraud team's sample) that chance /24s pair up
# gave 6 groups and 821 listed accounts on the fixture (every one benign), against 490 with the seeds ranked as one
# (before session 15). Since session 18 (campaigns tied by shared cards) two of those pairs share a campaign and the
# 20 list 476 (5 groups); 16 such seeds still list 483 in 4 groups against 391 as one (main: 821 in 5). Principle: a group formed by weak ties should be expanded only if it holds together by itself
# (its own consensus), and the total list should be bounded as one list would be.
@pytest.mark.xfail(strict=True, reason="fixture: 16 ordinary seeds in chance /24 pairs: 483 listed, 391 as one group")
def test_many_chance_groups_do_not_flood_the_list(fixture_run):
    from graphlink.stages.expand import rank_accounts

    seeds = ordinary_pairs_on_rare_slash24s(fixture_run, 16)
    links, linking, accounts = outputs(fixture_run)
    assert len([g for g in seed_groups(seeds, links, linking, accounts) if len(g) >= 2]) >= 3
    mp = pytest.MonkeyPatch()
    mp.setattr(expand_view, "rank_groups", rank_accounts)
    try:
        as_one = int((graphlink.expand(fixture_run, seeds)["rank"] > 0).sum())
    finally:
        mp.undo()
    grouped = int((graphlink.expand(fixture_run, seeds)["rank"] > 0).sum())
    assert grouped <= as_one


def test_unclustered_unlinked_ring_seeds_on_one_rare_slash24_are_one_group_control():
    """Control: two ring accounts Leiden left out, unlinked, holding only a /24 4 of 2,000 accounts hold, are tied;
    a third account holding only a /24 20 of them hold (1 %) is not."""
    rows = [("r0", "ip_net", "203.0.113.0/24", 4), ("r1", "ip_net", "203.0.113.0/24", 4),
            ("x", "ip_net", "198.51.100.0/24", 20), ("r0", "ip_net", "198.51.100.0/24", 20)]
    linking = pl.DataFrame(rows, schema={"account_id": pl.String, "kind": pl.String, "value": pl.String,
                                         "df": pl.UInt32}, orient="row")
    accounts = pl.DataFrame({"account_id": ["r0", "r1", "x"] + [f"a{i}" for i in range(1997)],
                             "campaign_id": [None] * 2000}, schema={"account_id": pl.String, "campaign_id": pl.Int64})
    links = pl.DataFrame(schema={"source": pl.String, "target": pl.String, "weight": pl.Float64})
    assert seed_groups(["r0", "x", "r1"], links, linking, accounts) == [["r0", "r1"], ["x"]]


# --- graphlink match: what corroborates one address ---------------------------------------------------------------------

def scripted_ring_run(tmp_path: Path, shared_client: bool) -> Path:
    """A ring of 6 on one card, two members on each of three proxy addresses (203.0.113.1-3, nobody else's), active
    02:00-03:59 UTC for 3 days; 60 ordinary people (own card and address) at spread hours. The ring runs
    ``python-requests/2.31``; ``shared_client``: so do three of the people (a common scripting library: 6 of its 9
    holders are the ring's, concentration 0.67), else the ring alone. Returns the saved detect output."""
    ring = [f"ring{i}" for i in range(6)]
    people = [f"person{i:02d}" for i in range(60)]
    rows = [(a, "card-ring", f"203.0.113.{i % 3 + 1}", "python-requests/2.31", T0 + timedelta(days=d, hours=h, minutes=i))
            for i, a in enumerate(ring) for d in range(3) for h in (2, 3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "python-requests/2.31" if shared_client and i < 3 else "Mozilla/5.0",
              T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i)) for i, p in enumerate(people) for d in range(3)]
    events = pl.DataFrame(rows, schema=["account_id", "payment_fingerprint", "ip", "user_agent", "timestamp"],
                          orient="row")
    return graphlink.detect(events, seed=1).save(tmp_path / "known")


def newcomers(client: str, hours_per_account: int, n: int = 30) -> pl.DataFrame:
    """Day two (day 5): ``n`` ordinary newcomers, own card, each once through one ring address (a residential proxy
    exit rented to anyone) and otherwise through its own addresses, ``hours_per_account`` requests at hours spread
    over the day (account i: ``(7 i + 6 k) mod 24``), all with ``client``."""
    rows = []
    for i in range(n):
        acc = f"new{i:02d}"
        for k in range(hours_per_account):
            ip = f"203.0.113.{i % 3 + 1}" if k == 0 else f"100.64.{i}.{k}"
            rows.append((acc, f"card-{acc}", ip, client, T0 + timedelta(days=5, hours=(7 * i + 6 * k) % 24)))
    return pl.DataFrame(rows, schema=["account_id", "payment_fingerprint", "ip", "user_agent", "timestamp"],
                        orient="row")


def matched(known: Path, day_two: pl.DataFrame) -> int:
    return int(graphlink.match(known, day_two).matches["cluster_id"].is_not_null().sum())


# Defect (high, match): any clock fit above 0 corroborates one address. An ordinary newcomer with a browser and its own
# card, once through a ring address, one of whose four requests falls in the ring's two busy hours (in_busy 0.25 vs
# chance 0.083: fit 0.18), is matched -- and its why quotes only the address and the /24 (the clock is named only
# at fit >= 0.5). Measured: 10 of 30 matched (score 0.63); 0 of 30 without timestamps. Principle: hours corroborate
# only beyond chance (fit >= the 0.5 the why already uses, or a binomial bound on the requests in the busy hours),
# and the why names what corroborated.
# Fixed in session 16 (match16b): the clock corroborates one value only at a fit of match.MIN_CLOCK_FIT (0.5), the
# templates an account sends (match_templates) corroborating instead for the ring's own newcomers.
def test_one_request_in_the_rings_hours_does_not_corroborate_one_address(tmp_path):
    known = scripted_ring_run(tmp_path, shared_client=False)
    assert matched(known, newcomers("Mozilla/5.0", 4)) == 0


def test_one_address_without_hours_or_client_is_not_matched_control(tmp_path):
    """Control: the same newcomers without timestamps are not matched; a ring newcomer through one ring address with
    the ring's own client (held by the ring alone) is."""
    known = scripted_ring_run(tmp_path, shared_client=False)
    assert matched(known, newcomers("Mozilla/5.0", 4).drop("timestamp")) == 0
    ring_newcomer = newcomers("python-requests/2.31", 1, n=1).drop("timestamp")
    assert matched(known, ring_newcomer) == 1


# Defect (high, match): the client that corroborates one address is judged by its concentration in the earlier run
# only. (a) A common scripting library 3 ordinary people ran beside the ring's 6 (concentration 0.67 >= 0.5) and
# (b) a client the ring alone ran in the earlier run but that the whole new log runs (a browser release, a stock SDK):
# 30 of 30 ordinary newcomers, own card, once through one ring address, are matched to the ring (score 0.62), i.e.
# the SINGLE_VALUE_FACTOR fix is undone by any concentrated client. Principle: a corroborating weak value must be the
# cluster's alone (concentration 1, few holders) and rare in the new log too: a value 30 newcomers share, which gives
# them nothing else of the ring's, is a crowd's.
@pytest.mark.parametrize("shared_client", [True, False], ids=["library-9-holders", "ring-only-now-the-crowds"])
@pytest.mark.xfail(strict=True, reason="30/30 ordinary newcomers matched: one ring address + a concentrated client")
def test_a_concentrated_common_client_does_not_corroborate_one_address(tmp_path, shared_client):
    known = scripted_ring_run(tmp_path, shared_client=shared_client)
    assert matched(known, newcomers("python-requests/2.31", 1).drop("timestamp")) == 0


# --- the minute clock from seeds with few events -------------------------------------------------------------------------

def fleet_bursts_seeds_in_few(seed_in) -> pl.DataFrame:
    """``minutes.parquet`` for :func:`fleet_and_other_operator`, 4 days: the whole fleet z0-z11 fires together in one
    burst an hour (at a random minute, seeded); the seeds z0-z2 take part only in the bursts ``seed_in(b)`` says
    (accounts opened late, or used sparingly). Operator B fires half an hour after each burst."""
    offsets = np.random.default_rng(3).integers(0, 60, 96)
    rows = []
    for b in range(96):
        at = T0 + timedelta(hours=b, minutes=int(offsets[b]))
        rows += [(f"z{i}", 1, at, 2) for i in range(12) if f"z{i}" not in SEEDS or seed_in(b)]
        rows += [(f"o{j}", 1, at + timedelta(minutes=30), 2) for j in range(5)]
    return pl.DataFrame(rows, schema=MINUTES, orient="row")


# Defect (high; the minute clock of session 14, not a session-15 change, but the brief's "seeds with very few events"):
# the seeds keep a minute clock from as few as one shared burst each (chance bound ~ q^n), and then every listed
# account whose requests fall less than OFF_MINUTES (0.08) in the seeds' minutes leaves -- measured over the account's
# whole history. Seeds opened in the fleet's last 6 of 96 hourly bursts (or using 6 of them, one in 16), so every
# fleet member fires in all 6 of the seeds' bursts and in 90 others: fit 6/96 = 0.06, and the list is empty. Measured:
# 0 of 9 fleet members listed (z3-z8 listed without minutes.parquet; all 9 when the seeds fire in the last 24 bursts,
# control below). Principle: judge an account's fit only over the span the seeds were active (the seeds' first to
# last minute), or drop a listed account only when it fired near the seeds' bursts and missed them, never because
# it also fired when the seeds did not exist or were idle.
@pytest.mark.parametrize("seed_in", [lambda b: b >= 90, lambda b: b % 16 == 0], ids=["opened-late", "sparse"])
@pytest.mark.xfail(strict=True, reason="seeds in 6 of the fleet's 96 bursts: fit 0.06 < OFF_MINUTES, 0 of 9 listed")
def test_seeds_with_few_bursts_do_not_empty_the_list(seed_in):
    world = fleet_and_other_operator()
    assert listed_ids(expand_stage.rank_accounts(*world, SEEDS)) == {f"z{i}" for i in range(3, 9)}
    got = listed_ids(expand_stage.rank_accounts(*world, SEEDS, minutes=fleet_bursts_seeds_in_few(seed_in)))
    assert got >= {f"z{i}" for i in range(3, 9)}


def test_seeds_in_a_day_of_bursts_keep_the_fleet_control():
    """Control: seeds in the fleet's last 24 of 96 bursts (fit 0.25): the fleet's 9 other accounts are listed, its
    second script z9-z11 too (clocked in the seeds' cluster at CLUSTER_ON_MINUTES 0.2), operator B is not."""
    got = listed_ids(expand_stage.rank_accounts(*fleet_and_other_operator(), SEEDS,
                                                minutes=fleet_bursts_seeds_in_few(lambda b: b >= 72)))
    assert got == {f"z{i}" for i in range(3, 12)}


# --- cost: many seeds ------------------------------------------------------------------------------------------------------

def clique_of_seeds(n: int) -> tuple[list[str], pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``seeds, links, linking, accounts``: ``n`` seeds linked pairwise (a ring pasted whole into a ticket; the
    fixture's 142-account ring 1 has 7,074 of its 10,011 pairs linked), no linking values, 100,000 accounts."""
    seeds = [f"s{i:04d}" for i in range(n)]
    pairs = [(a, b, 1.0) for i, a in enumerate(seeds) for b in seeds[i + 1:]]
    links = pl.DataFrame(pairs, schema={"source": pl.String, "target": pl.String, "weight": pl.Float64}, orient="row")
    linking = pl.DataFrame(schema={"account_id": pl.String, "kind": pl.String, "value": pl.String, "df": pl.UInt32})
    accounts = pl.DataFrame({"account_id": seeds + [f"a{i:06d}" for i in range(100_000 - n)]}).with_columns(
        pl.lit(None, pl.Int64).alias("campaign_id"))
    return seeds, links, linking, accounts


# Defect (medium, cost): seed_groups finds "linked to a common account" by joining every seed's neighbour list with
# itself -- sum over neighbours of (seeds linked to it)^2 rows, cubic in a densely linked ticket -- and "a common rare
# value" the same way (quadratic in the seeds holding it). Measured (seed_groups alone, 1M-account run, machine
# shared): clique of 100 / 200 / 300 / 400 seeds 0.8 / 1.2 / 5.0 / 11.4 s (41 s with another suite running); 250 / 500 / 1,000 / 2,000 seeds holding 10 common
# values 1.2 / 0.5 / 4.8 / 17.7 s; a whole ring of a few thousand would not finish. Principle: only connectivity is
# needed -- connected components of the bipartite graph seeds + their neighbours + their rare keys (or union-find
# over seed-neighbour and seed-key edges), linear in the edges, with a short cut when the seeds share one campaign.
# Fixed in session 15: seed_groups takes connected components of seeds and the nodes they hold (linear).
def test_grouping_a_ring_pasted_whole_is_fast():
    import time

    seeds, links, linking, accounts = clique_of_seeds(400)
    start = time.perf_counter()
    groups = seed_groups(seeds, links, linking, accounts)
    elapsed = time.perf_counter() - start
    assert groups == [seeds]
    assert elapsed < 3.0


def test_grouping_a_ticket_of_a_hundred_seeds_control():
    """Control: a clique of 100 seeds is one group in well under the cubic case's time (0.2-0.8 s measured)."""
    seeds, links, linking, accounts = clique_of_seeds(100)
    assert seed_groups(seeds, links, linking, accounts) == [seeds]
