"""Break-it review of expand's eleventh pass: the seeds' narrowest common address, and the seeds' cluster on their minutes.

The eleventh pass (:mod:`graphlink.stages.seed_ties`, :mod:`graphlink.stages.seed_minutes`'s
``CLUSTER_ON_MINUTES``, :mod:`graphlink.stages.expand_reasons`) lets a holder of the seeds' narrowest common
/24 or /48 into the list only with a second tie: a consensus value of another kind, a seed's Leiden cluster, or a
cluster more than half of whose members hold the network (a piece of a cell Leiden split); the fill needs the list
to hold half the address's holders. This review looks for benign accounts that still pass, misleading ``why``
texts, and cost that grows with the square of the listed accounts.

Worlds are hand-built ``links, linking, accounts`` (as ``tests/test_expand_ties.py``) or small seeded logs run
through :func:`graphlink.detect` (helpers of ``tests/test_break_expand13.py``). Where the question is what the rule
changed, the same input is expanded with ``own_value_holders`` finding nobody (``without_rule``). Strict xfails are
defects, with the numbers measured when written; plain tests are controls pinning each defect's edge. graphlink code
is not changed. Report: the breakx14 branch's final message (session 14).
"""

from __future__ import annotations

import datetime as dt
import time
from datetime import timedelta
from functools import lru_cache

import numpy as np
import polars as pl
import pytest

import graphlink
import graphlink.stages.expand as expand_stage
from tests.test_break_expand13 import SDK, T0, cell, frame, no_holders, people, without_rule

SCHEMA = {"account_id": pl.String, "kind": pl.String, "value": pl.String, "df": pl.UInt32, "weight": pl.Float64}
ACCOUNTS = {"account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64}
LINKS = {"source": pl.String, "target": pl.String, "weight": pl.Float64}
BLOCK = "2a02:8070:1::/48"
CELL = [f"c{i:02d}" for i in range(12)]
SEEDS = CELL[:3]


def clique(ids: list[str], weight: float) -> list[tuple[str, str, float]]:
    return [(a, b, weight) for i, a in enumerate(ids) for b in ids[i + 1:]]


def words(rng: np.random.Generator, n: int) -> str:
    """``n`` random lower-case words (a family's free questions)."""
    return " ".join("".join(chr(97 + int(c)) for c in rng.integers(0, 26, int(rng.integers(3, 8)))) for _ in range(n))


def listed_ids(ranked: pl.DataFrame) -> set[str]:
    return set(ranked.filter(pl.col("rank") > 0)["account_id"])


def rank_without_rule(links, linking, accounts, seeds, **kwargs) -> pl.DataFrame:
    """``rank_accounts`` with the seeds' own address holding nobody (expand before the tenth pass)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(expand_stage, "own_value_holders", no_holders)
    try:
        return expand_stage.rank_accounts(links, linking, accounts, seeds, **kwargs)
    finally:
        mp.undo()


# --- Households on the ISP's /48 that Leiden clustered among themselves -----------------------------------------

def family_block(homes: int = 10, family: int = 5,
                 clustered: bool = True) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[str]]:
    """``links, linking, accounts, households``: a cell of 12 (cluster 1, a clique, 3 cards) on an ISP's /48 with
    ``homes`` neighbouring household accounts in families of ``family`` (each family a home address of its own in
    another /64 and a family card: linked among themselves, and with ``clustered`` each its own Leiden cluster,
    2, 3, ...; else unclustered). The /48 is held by 12 + ``homes`` of 3,000 + those; nothing else ties a family
    to the cell. No clock, minutes or templates (a free-prompt cell)."""
    homes_ids = [f"h{i:02d}" for i in range(homes)]
    families = [homes_ids[i:i + family] for i in range(0, homes, family)]
    pairs = clique(CELL, 1.0)
    rows = [(a, "payment", f"card{i % 3}", 4, 3.0) for i, a in enumerate(CELL)]
    for k, members in enumerate(families):
        pairs += clique(members, 1.0)
        rows += [(a, "ip", f"2a02:8070:1:{100 + k:x}::1", len(members), 0.5) for a in members]
        rows += [(a, "payment", f"family-card-{k}", len(members), 3.0) for a in members]
    rows += [(a, "ip_net", BLOCK, 12 + homes, 0.14) for a in CELL + homes_ids]
    others = [f"o{i:04d}" for i in range(3000)]
    clusters = [2 + i // family if clustered else None for i in range(homes)]
    accounts = pl.DataFrame({"account_id": CELL + homes_ids + others,
                             "cluster_id": [1] * 12 + clusters + [None] * 3000,
                             "campaign_id": [7] * 12 + [None] * (homes + 3000)}, schema=ACCOUNTS)
    return (pl.DataFrame(pairs, schema=LINKS, orient="row"), pl.DataFrame(rows, schema=SCHEMA, orient="row"),
            accounts, homes_ids)


# Defect (high): a family Leiden clustered on its home address is "a cluster more than half of which holds the
# network" (all of it does), the rule's test for a piece of a split cell: 10 of 10 household accounts in 2 families
# on the seeds' /48 are listed (0 without the rule), beside the cell's 9; 6 of 6 and 12 of 12 likewise; at 20
# households the list (12 of 32) is under half the holders and none is. Through detect (see below) 12 of 12.
# Fixed in session 14 (was a strict xfail of the break-it review: families of 5 on the seeds' ISP /48, each its own Leiden cluster, pass as pieces of a split cell: 10 of 10 household accounts listed, 0 without the rule)
def test_families_clustered_on_the_isps_slash48_are_not_listed():
    links, linking, accounts, homes = family_block()
    assert not listed_ids(rank_without_rule(links, linking, accounts, SEEDS)) & set(homes)
    got = listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS))
    assert len(got & set(CELL)) == 9
    assert not got & set(homes)


def test_unclustered_households_on_the_slash48_are_not_listed_control():
    """The same households unclustered: nothing but the network ties them to the seeds, and none is listed."""
    for homes in (6, 10, 12):
        links, linking, accounts, households = family_block(homes, clustered=False)
        got = listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS))
        assert len(got & set(CELL)) == 9 and not got & set(households), homes


# Defect (medium, `why`): the family member listed by the fill reads "added for the seeds' narrowest common address
# ip_net 2a02:8070:1::/48 (22 accounts), not reached through links: shares ip_net 2a02:8070:1::/48 (22 accounts) with
# all 3 seeds" -- the network alone, which the module says adds no one; what admitted it (its own cluster being
# mostly the network's holders) is not said, so the investigator cannot tell it from a piece of the cell.
@pytest.mark.xfail(strict=True, reason="why of a fill-listed family member quotes only the /48 and says nothing of "
                                       "the cluster that made it eligible")
def test_why_of_an_account_added_for_its_cluster_says_what_admitted_it():
    links, linking, accounts, homes = family_block()
    ranked = expand_stage.rank_accounts(links, linking, accounts, SEEDS)
    why = dict(zip(ranked["account_id"], ranked["why"]))
    added = [h for h in homes if h in why]
    assert added, "no household listed (the listing defect is fixed): nothing to read"
    assert all("cluster" in why[h] for h in added)


@lru_cache(maxsize=None)
def family_world(scripted: bool):
    """Through detect: a cell of 12 on the ISP's /48 (2001:db8:abcd:7::/64, a new privacy address each request,
    3 cards; ``scripted`` bursts and one template, else free prompts at daytime hours), three families of 4 in
    other /64s of the /48 (one home address and one card each, free questions) and 1,500 people. Returns
    ``(Result, cell, families)``."""
    rng = np.random.default_rng(14)
    rows: list = []
    members = cell(rows, rng, "cell", 12, lambda i, r: (f"2001:db8:abcd:7:{int(r.integers(1, 60000)):x}:"
                                                        f"{int(r.integers(1, 60000)):x}::{i + 1:x}"), scripted=scripted)
    families = []
    for k in range(3):
        for j in range(4):
            acc = f"fam{k}m{j}"
            families.append(acc)
            for _ in range(int(rng.integers(4, 9))):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                    minutes=int(rng.integers(0, 60)))
                rows.append((acc, ts, f"2001:db8:abcd:{200 + k:x}::1", f"fam{k}-card", f"how do I {words(rng, 6)}",
                             SDK))
    people(rows, rng, 1500)
    return graphlink.detect(frame(rows)), members, families


# Defect (high), the same through detect: a free-prompt cell (no hour or minute clock, no template) and three
# families of 4, each a Leiden cluster of its own: 12 of 12 family members listed with the cell's 9 (0 without the
# rule), each "added for the seeds' narrowest common address ip_net 2001:db8:abcd::/48 (24 accounts), not reached
# through links: shares ip_net 2001:db8:abcd::/48 (24 accounts) with all 3 seeds".
# Fixed in session 14 (was a strict xfail of the break-it review: detect world: 12 of 12 members of three families on the free-prompt cell's /48 listed, 0 without the rule)
def test_families_on_the_slash48_through_detect_are_not_listed():
    run, members, families = family_world(scripted=False)
    assert not listed_ids(without_rule(run, members[:3])) & set(families)
    got = listed_ids(run.expand(members[:3]))
    assert len(got & set(members)) == 9
    assert not got & set(families)


# Defect (medium): the later vetoes do not make up for it. With a scripted cell (bursts at 02, 09, 15, 21 h, one
# template) the clocks drop 11 of the 12 family members the fill listed, but fam0m3 (a few daytime questions, 75 % of
# its events in the seeds' hours 09, 15 and 21) stays listed, its why "added for the seeds' narrowest common address
# ip_net 2001:db8:abcd::/48 (24 accounts), not reached through links: shares ip_net ... with all 3 seeds; active in
# the seeds' hours (75% of its events)" -- corroboration by chance on 4-8 events. 0 without the rule.
# Fixed in session 14 (was a strict xfail of the break-it review: scripted cell: 1 of 12 family members (fam0m3, 75 % of its few events in the seeds' hours) survives the clocks the fill relies on, 0 without the rule)
def test_families_beside_a_scripted_cell_are_not_listed_either():
    """The same world with a scripted cell: the seeds' clocks and template should drop every family member."""
    run, members, families = family_world(scripted=True)
    assert not listed_ids(without_rule(run, members[:3])) & set(families)
    got = listed_ids(run.expand(members[:3]))
    assert len(got & set(members)) == 9 and not got & set(families)


# --- A creation-hour span as the "second tie" -----------------------------------------------------------------

def signup_block() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[str]]:
    """``links, linking, accounts, households``: the cell of 12 (registered 10:00-12:00 on Jan 5, 4 an hour) on an
    ISP /48 with 10 unclustered households; 2 of them (h00, h01) signed up that morning (10:00, 11:00), the others
    and 3,000 ordinary accounts spread over 28 days. The seeds' creation span (09:00-13:00, about 25 accounts)
    passes the consensus chance test, so each hour of it is a consensus value of another kind than the /48."""
    homes = [f"h{i:02d}" for i in range(10)]
    others = [f"o{i:04d}" for i in range(3000)]
    created = {a: (5, 10 + i % 3) for i, a in enumerate(CELL)}
    created |= {a: ((5, 10 + i) if i < 2 else (1 + (3 * i) % 28, (7 * i) % 24)) for i, a in enumerate(homes)}
    created |= {a: (1 + (7 * i) % 28, (5 * i + i // 28) % 24) for i, a in enumerate(others)}
    value = {a: f"2025-01-{d:02d}T{h:02d}:00:00Z" for a, (d, h) in created.items()}
    counts = pl.Series(list(value.values())).value_counts()
    df = dict(zip(counts[:, 0], counts["count"]))
    rows = [(a, "created_hour", v, df[v], 0.2) for a, v in value.items()]
    rows += [(a, "payment", f"card{i % 3}", 4, 3.0) for i, a in enumerate(CELL)]
    rows += [(a, "ip_net", BLOCK, 22, 0.14) for a in CELL + homes]
    accounts = pl.DataFrame({"account_id": CELL + homes + others, "cluster_id": [1] * 12 + [None] * 3010,
                             "campaign_id": [7] * 12 + [None] * 3010}, schema=ACCOUNTS)
    return (pl.DataFrame(clique(CELL, 1.0), schema=LINKS, orient="row"),
            pl.DataFrame(rows, schema=SCHEMA, orient="row"), accounts, homes)


# Defect (medium): the "second tie" counts any consensus value of another kind, and a creation-hour span is one (each
# hour of 09:00-13:00 on Jan 5 is in the seeds' consensus): the two neighbours who signed up that morning, unclustered
# and tied to the seeds by nothing else, are listed (why: "added ...: shares created_hour 2025-01-05T10:00:00Z (8
# accounts, in the seeds' span); ip_net ... with all 3 seeds"); 0 without the rule. With 3 seeds the span's chance
# test admits a window held by up to (1e-4)**(1/3) = 4.6 % of a run's accounts.
# Fixed in session 14 (was a strict xfail of the break-it review: 2 of 10 unclustered /48 households who registered in the seeds' creation span are listed for the /48 plus the span, 0 without the rule)
def test_a_signup_hour_in_the_seeds_span_is_no_second_tie():
    links, linking, accounts, homes = signup_block()
    assert not listed_ids(rank_without_rule(links, linking, accounts, SEEDS)) & set(homes)
    got = listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS))
    assert len(got & set(CELL)) == 9
    assert not got & set(homes)


def test_households_signed_up_at_other_hours_are_not_listed_control():
    links, linking, accounts, homes = signup_block()
    got = listed_ids(expand_stage.rank_accounts(links, linking, accounts, SEEDS))
    assert not got & set(homes[2:])


# --- The seeds' cluster on their minutes at CLUSTER_ON_MINUTES ----------------------------------------------------

def cron_minutes(cron_cluster: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``ordered, minutes, accounts``: seeds s1-s3 (cluster 1) fire at the top of every fourth hour (00, 04, ... 20)
    for 4 days; ``cron``, a company's hourly job (``0 * * * *``), fires at the top of every hour, in cluster
    ``cron_cluster`` (1: Leiden put it with the cell, e.g. on a shared coworking /24 or NAT); the list is the seeds."""
    def rows(acc: str, cluster: int, hours) -> list[tuple]:
        return [(acc, cluster, dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc) + timedelta(days=d, hours=h), 1)
                for d in range(4) for h in hours]

    seeds = ["s1", "s2", "s3"]
    minutes = pl.DataFrame([r for s in seeds for r in rows(s, 1, range(0, 24, 4))] + rows("cron", cron_cluster,
                                                                                          range(24)),
                           schema={"account_id": pl.String, "cluster_id": pl.Int64,
                                   "minute": pl.Datetime("us", "UTC"), "events": pl.UInt32}, orient="row")
    accounts = pl.DataFrame({"account_id": seeds + ["cron"], "cluster_id": [1, 1, 1, cron_cluster]})
    return pl.DataFrame({"account_id": seeds + ["cron"]}), minutes, accounts


# Defect (medium): the chance model takes the seeds' minutes as uniform over the run, but a cron job and a scripted
# cell both fire at the top of the hour: an hourly job meets every one of a 4-hourly cell's bursts, fit 24/96 = 0.25,
# "beyond chance" (q = 48/5,700), between CLUSTER_ON_MINUTES 0.2 and ON_MINUTES 0.3. In the seeds' cluster it joins
# the list ("active within a minute of the seeds"); the same job in another cluster does not (control below).
# Fixed in session 15: the minute clock counts co-activity only beyond the account's own schedule.
def test_an_hourly_cron_in_the_seeds_cluster_does_not_join_on_their_minutes():
    from graphlink.stages.seed_minutes import apply_minute_clock

    ordered, minutes, accounts = cron_minutes(1)
    out, keep, joined = apply_minute_clock(ordered, 3, minutes, ["s1", "s2", "s3"], accounts=accounts)
    assert out["account_id"].to_list()[:keep] == ["s1", "s2", "s3"]


def test_the_same_cron_in_another_cluster_does_not_join_control():
    from graphlink.stages.seed_minutes import apply_minute_clock

    ordered, minutes, accounts = cron_minutes(2)
    assert apply_minute_clock(ordered, 3, minutes, ["s1", "s2", "s3"], accounts=accounts)[1] == 3


# --- Cost: the why of many listed accounts sharing a value that is not the seeds' consensus ---------------------

def nat_linking(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``ranked, linking``: ``n`` accounts ranked 0..n-1 (three seeds first), all behind one campus NAT address."""
    ids = [f"u{i:05d}" for i in range(n)]
    linking = pl.DataFrame({"account_id": ids, "kind": "ip", "value": "192.0.2.80", "df": n, "weight": 0.01},
                           schema=SCHEMA)
    ranked = pl.DataFrame({"account_id": ids, "rank": [0, 0, 0] + list(range(1, n - 2))},
                          schema={"account_id": pl.String, "rank": pl.UInt32})
    return ranked, linking


# Defect (medium, cost; older than the eleventh pass, which fixed only consensus holders): tie_reasons pairs every
# listed account with every better-ranked holder of each value it holds. Listed accounts sharing a value that is not
# the seeds' consensus (a campus NAT too common for the chance test, listed with --top) are still paired n**2:
# 1,000 / 2,000 / 3,000 holders 0.8 / 2.2-7.0 / 15.8 s against 0.005-0.011 s as consensus; rank_accounts with top=4,000
# on one NAT cluster 31 s and 2.3 GB peak RSS (1 or 3 seeds), 1,000: 2.0 s / 0.35 GB.
@pytest.mark.xfail(strict=True, reason="tie_reasons on 2,000 listed holders of one non-consensus NAT address: 2-7 s "
                                       "against 0.005 s when the address is consensus")
def test_why_of_many_listed_nat_holders_is_not_quadratic():
    from graphlink.stages.expand_reasons import tie_reasons

    ranked, linking = nat_linking(2_000)
    t = time.perf_counter()
    fast = tie_reasons(ranked, linking, shared=pl.DataFrame({"kind": ["ip"], "value": ["192.0.2.80"]}), n_seeds=3)
    base = time.perf_counter() - t
    t = time.perf_counter()
    slow = tie_reasons(ranked, linking, shared=pl.DataFrame(schema={"kind": pl.String, "value": pl.String}), n_seeds=3)
    took = time.perf_counter() - t
    assert fast.height == slow.height == 1_997
    assert took <= 10 * base + 0.5
