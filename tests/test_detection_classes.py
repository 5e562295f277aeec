"""Issue 17's failure classes, each on a small hand-built log with the right answer.

Every world is built by the helpers below from seeded numpy generators and fed to
:func:`graphlink.pipeline.run_detect` with default settings (events only, no
accounts file, unless a test says otherwise). The classes:

1. schedules shared by unrelated groups, 2. absolute hub caps, 3. splitting by
the projection, 4. resolution limit, 5. timing collisions, 6. score tied to one
attack style, 7. budget cuts quality at scale; plus campaigns and determinism.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from math import comb
import zlib

import numpy as np
import polars as pl
import pytest

from graphlink.contract import why_reasons
from graphlink.pipeline import run_detect

T0 = datetime(2024, 6, 3, tzinfo=timezone.utc)  # a Monday


class Log:
    """Rows of an API log: account_id, timestamp, ip, payment_fingerprint, prompt."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, account: str, ts: datetime, ip: str | None = None, card: str | None = None,
            prompt: str | None = None) -> None:
        self.rows.append((account, ts, ip, card, prompt))

    def frame(self) -> pl.DataFrame:
        schema = {"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
                  "payment_fingerprint": pl.String, "prompt": pl.String}
        return pl.DataFrame(self.rows, schema=schema, orient="row")


def _words(rng: np.random.Generator, n: int) -> str:
    vocab = ("river", "garden", "recipe", "holiday", "budget", "poem", "bicycle", "tax", "cat", "python",
             "history", "song", "paint", "moon", "train", "letter", "soup", "chess", "rain", "market",
             "violin", "castle", "desert", "lamp", "ocean", "forest", "window", "coffee", "mountain", "island")
    return " ".join(vocab[int(i)] for i in rng.integers(0, len(vocab), n))


def _private_ip(i: int) -> str:
    """A home address nobody else uses (one /24 per person)."""
    return f"100.{64 + i // 250 % 60}.{i % 250}.{7 + i // 15000}"


def add_people(log: Log, rng: np.random.Generator, n: int, prefix: str = "user", days: int = 5,
               offset: int = 0, card: bool = True) -> list[str]:
    """Ordinary people: own home IP, own card (optional), a few free-form prompts at random daytime hours."""
    names = []
    for i in range(n):
        acc = f"{prefix}{i}"
        names.append(acc)
        for _ in range(int(rng.integers(3, 8))):
            ts = T0 + timedelta(days=int(rng.integers(0, days)), hours=int(rng.integers(8, 22)),
                                minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
            log.add(acc, ts, _private_ip(offset + i), f"{prefix}-card-{i}" if card else None,
                    f"how do I {_words(rng, 6)}")
    return names


def add_team(log: Log, rng: np.random.Generator, name: str, n: int, office_ip: str | None,
             card: str | None, minute: int = 0, days: int = 5, template: str | None = None,
             own_cards: bool = False) -> list[str]:
    """A company team: office IP, corporate card, batch jobs firing at ``minute`` past each office hour."""
    names = []
    template = template or f"{name} nightly job: summarise ticket {{}} for the weekly report"
    for i in range(n):
        acc = f"{name}{i}"
        names.append(acc)
        for d in range(days):
            for h in range(9, 17):
                ts = T0 + timedelta(days=d, hours=h, minutes=minute, seconds=int(rng.integers(0, 20)))
                log.add(acc, ts, office_ip or _private_ip(20_000 + zlib.crc32(name.encode()) % 1000 * 100 + i),
                        f"{name}-card-{i}" if own_cards else card,
                        template.format(f"{_words(rng, 2)} {int(rng.integers(0, 10_000))}"))
    return names


def run(log: Log, **kwargs):
    return run_detect(log.frame(), **kwargs)


def clusters_of(result, accounts: list[str] | None = None) -> Counter:
    """Cluster id -> how many of ``accounts`` (all if None) it holds; unclustered accounts left out."""
    frame = result.accounts
    if accounts is not None:
        frame = frame.filter(pl.col("account_id").is_in(accounts))
    return Counter(frame.drop_nulls("cluster_id")["cluster_id"].to_list())


def partition(result) -> set[frozenset[str]]:
    """The partition as a set of member sets (independent of cluster numbering)."""
    groups = result.accounts.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.col("account_id"))
    return {frozenset(members) for members in groups["account_id"].to_list()}


def cluster_row(result, account: str) -> dict:
    cid = result.accounts.filter(pl.col("account_id") == account)["cluster_id"].item()
    assert cid is not None, f"{account} is in no cluster"
    return result.clusters.filter(pl.col("cluster_id") == cid).row(0, named=True)


def ari(truth: list, predicted: list) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985), from the contingency table."""
    pairs = Counter(zip(truth, predicted))
    sum_cells = sum(comb(n, 2) for n in pairs.values())
    sum_rows = sum(comb(n, 2) for n in Counter(truth).values())
    sum_cols = sum(comb(n, 2) for n in Counter(predicted).values())
    expected = sum_rows * sum_cols / comb(len(truth), 2)
    top = (sum_rows + sum_cols) / 2
    return 1.0 if top == expected else (sum_cells - expected) / (top - expected)


def test_ari_helper():
    assert ari([1, 1, 2, 2], ["a", "a", "b", "b"]) == 1.0
    assert ari([1, 1, 2, 2], ["a", "b", "a", "b"]) == pytest.approx(-0.5)


# --- 2. Absolute hub caps ------------------------------------------------------------------------

def proxy_cell_world(seed: int = 0) -> tuple[Log, list[str]]:
    """150 accounts rotating through a pool of 120 proxy IPs (~25 each), no card; 100 people around."""
    rng = np.random.default_rng(seed)
    log = Log()
    pool = [f"45.{10 + k // 40}.{k % 40 * 6}.{1 + k % 200}" for k in range(120)]
    cell = []
    for i in range(150):
        acc = f"cell{i}"
        cell.append(acc)
        ips = rng.choice(len(pool), size=int(rng.integers(22, 29)), replace=False)
        for j, k in enumerate(ips):
            ts = T0 + timedelta(hours=int(rng.integers(0, 96)), minutes=int(rng.integers(0, 60)), seconds=j)
            log.add(acc, ts, pool[int(k)], None, f"explain {_words(rng, 5)} step by step")
    add_people(log, rng, 100)
    return log, cell


def test_a_proxy_pool_above_any_cap_keeps_its_cell_together():
    log, cell = proxy_cell_world()
    result = run(log)
    counts = clusters_of(result, cell)
    assert counts, "the proxy cell is in no cluster"
    cid, held = counts.most_common(1)[0]
    assert held >= 0.95 * len(cell)
    # The cluster is the cell, not the cell plus the people around it.
    assert result.clusters.filter(pl.col("cluster_id") == cid)["size"].item() <= len(cell) + 2


def nat_world(seed: int = 1, exits: int = 1) -> tuple[Log, list[str]]:
    """400 people behind one NAT address (or a carrier-grade NAT's pool of ``exits`` addresses, one
    drawn per request), each with 1-2 private home addresses besides; own cards."""
    rng = np.random.default_rng(seed)
    log = Log()
    people = []
    for i in range(400):
        acc = f"nat{i}"
        people.append(acc)
        homes = [_private_ip(2 * i), _private_ip(2 * i + 1)][: int(rng.integers(1, 3))]
        for j in range(int(rng.integers(4, 9))):
            ts = T0 + timedelta(days=int(rng.integers(0, 7)), hours=int(rng.integers(7, 23)),
                                minutes=int(rng.integers(0, 60)))
            nat = "198.51.100.1" if exits == 1 else f"198.51.100.{1 + int(rng.integers(0, exits))}"
            ip = nat if j % 2 == 0 else homes[j // 2 % len(homes)]
            log.add(acc, ts, ip, f"nat-card-{i}", f"please {_words(rng, 7)}")
    return log, people


def test_a_nat_of_400_people_makes_no_cluster():
    """The NAT's random cycles are locally denser than its clique (pair weight 0.07 < CPM
    resolution 0.2), so Leiden carves slices; no slice has positive CPM quality under the
    exact clique, so each is dissolved (:func:`graphlink.stages.communities.dissolve_unsupported`)."""
    log, people = nat_world()
    result = run(log)
    counts = clusters_of(result, people)
    assert max(counts.values(), default=0) <= 10, f"NAT people clustered: {sorted(counts.values())[-5:]}"


@pytest.mark.xfail(strict=True, reason="known defect: the exact-support check dissolves only a slice of ONE value, "
                   "so slices of a carrier-grade NAT's pool of 4 exits (each ~a quarter of the weight) stay "
                   "clusters (322 of 400 people clustered, largest 34; none flagged). Before the one-value "
                   "restriction: 47 clustered, largest 16. Needs a test of whether the members co-use the "
                   "values more than a random set of their holders would.")
def test_a_carrier_grade_nat_of_400_people_on_4_exits_makes_no_cluster():
    log, people = nat_world(exits=4)
    result = run(log)
    counts = clusters_of(result, people)
    assert not result.clusters["flagged"].any()
    assert max(counts.values(), default=0) <= 10, f"CGNAT people clustered: {sorted(counts.values())[-5:]}"


def test_a_cluster_spread_over_many_popular_values_is_not_dissolved_as_a_slice():
    """The exact-support check dissolves a slice of one value; a cell whose members share many
    popular pool addresses, each weighing little per pair, is kept even below the resolution."""
    from graphlink.config import GraphConfig
    from graphlink.stages.communities import ONE_VALUE_SHARE, dissolve_unsupported
    from graphlink.stages.linking import clique_support

    u32 = {"account_idx": pl.UInt32, "signal_idx": pl.UInt32}
    # Cluster 1: four accounts on one NAT address (weight 0.07). Cluster 2: four accounts, each pair
    # sharing one of six pool addresses (weight 0.07 each). Same exact weight, different shape.
    nat = [(a, 0) for a in range(4)]
    pool = [(4 + a, 1 + k) for k, (a, b) in enumerate([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
            for a in (a, b)]
    memberships = pl.DataFrame(nat + pool, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32},
                               orient="row").with_columns(pl.lit(1.0).alias("damp"))
    signals = pl.DataFrame({"signal_idx": list(range(7)), "kind": ["ip"] * 7, "weight": [0.07] * 7,
                            "linked": [True] * 7}, schema_overrides=u32)
    partition = pl.DataFrame({"account_idx": list(range(8)), "cluster_id": [1] * 4 + [2] * 4}, schema_overrides=u32)
    support = clique_support(partition, memberships, signals, GraphConfig())
    # Oracle: C(4, 2) pairs x 0.07 in both; one value carries all of cluster 1, a sixth of cluster 2.
    assert support["strong"].to_list() == pytest.approx([6 * 0.07, 6 * 0.07])
    assert support["top"].to_list() == pytest.approx([6 * 0.07, 0.07])
    assert 0.07 < ONE_VALUE_SHARE * 6 * 0.07
    kept = dissolve_unsupported(partition, support, resolution=0.2)
    assert kept.filter(pl.col("account_idx") < 4)["cluster_id"].null_count() == 4  # the slice dissolved
    assert kept.filter(pl.col("account_idx") >= 4)["cluster_id"].n_unique() == 1  # the block kept
    assert kept.filter(pl.col("account_idx") >= 4)["cluster_id"].null_count() == 0


def test_a_nat_of_400_people_is_not_flagged():
    log, people = nat_world()
    result = run(log)
    assert result.signals.filter(pl.col("value") == "198.51.100.1")["linked"].to_list() == [True]  # no cap
    assert not result.clusters["flagged"].any()
    assert not result.campaigns["flagged"].any()


# --- 3. Splitting by the projection ---------------------------------------------------------------

def test_b_office_of_40_on_one_ip_and_card_is_one_cluster():
    rng = np.random.default_rng(2)
    log = Log()
    staff = add_team(log, rng, "office", 40, "192.0.2.10", "office-card", minute=0)
    add_people(log, rng, 100)
    result = run(log)
    counts = clusters_of(result, staff)
    assert list(counts.values()) == [40]
    assert cluster_row(result, staff[0])["size"] == 40


def test_b_fleet_of_40_on_one_card_is_one_cluster():
    rng = np.random.default_rng(3)
    log = Log()
    fleet = []
    for i in range(40):
        acc = f"fleet{i}"
        fleet.append(acc)
        for k in range(12):
            ts = T0 + timedelta(hours=int(rng.integers(0, 72)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, f"185.{i}.{k}.{int(rng.integers(1, 250))}", "pooled-card",
                    f"write {_words(rng, 6)}")
    add_people(log, rng, 100)
    result = run(log)
    counts = clusters_of(result, fleet)
    assert list(counts.values()) == [40]
    assert cluster_row(result, fleet[0])["size"] == 40


def test_b_small_fleet_on_two_cards_and_one_ip_is_one_cluster():
    # A quiet log: 10 fleet accounts (6 on one card, 4 on another, all on one IP) and 12 people.
    rng = np.random.default_rng(4)
    log = Log()
    fleet = []
    for i in range(10):
        acc = f"fleet{i}"
        fleet.append(acc)
        for k in range(10):
            ts = T0 + timedelta(hours=int(rng.integers(0, 48)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, "203.0.113.77" if k % 2 else f"185.{i}.{k}.9", "card-A" if i < 6 else "card-B",
                    f"list {_words(rng, 6)}")
    add_people(log, rng, 12)
    result = run(log)
    assert list(clusters_of(result, fleet).values()) == [10]


def test_b_export_of_one_card_keeps_its_fleet():
    # Only the accounts on one suspicious card were exported: the card is shared by every input account.
    rng = np.random.default_rng(5)
    log = Log()
    fleet = []
    for i in range(12):
        acc = f"fleet{i}"
        fleet.append(acc)
        for k in range(6):
            ts = T0 + timedelta(hours=int(rng.integers(0, 48)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, f"185.{i}.{k}.9", "the-card", f"summarise {_words(rng, 6)}")
    result = run(log)
    card = result.signals.filter(pl.col("kind") == "payment")
    assert card["df"].to_list() == [12] and card["weight"][0] > 0
    assert list(clusters_of(result, fleet).values()) == [12]


# --- 4. Resolution limit ----------------------------------------------------------------------

def test_c_thirty_small_groups_are_thirty_clusters():
    rng = np.random.default_rng(6)
    log = Log()
    truth = {}
    for g in range(30):
        for i in range(8):
            acc = f"g{g:02d}m{i}"
            truth[acc] = g
            for k in range(5):
                ts = T0 + timedelta(hours=int(rng.integers(0, 72)), minutes=int(rng.integers(0, 60)))
                log.add(acc, ts, _private_ip(8 * g + i + 1000), f"group-card-{g}", f"tell me {_words(rng, 6)}")
    people = add_people(log, rng, 150)
    result = run(log)
    assert partition(result) == {frozenset(a for a, g in truth.items() if g == k) for k in range(30)}
    labels = dict(result.accounts.select("account_id", "cluster_id").iter_rows())
    accounts = list(truth) + people
    predicted = [labels[a] if labels[a] is not None else f"alone-{a}" for a in accounts]
    assert ari([truth.get(a, f"alone-{a}") for a in accounts], predicted) == 1.0


# --- 1. Schedules shared by unrelated groups ----------------------------------------------------

def two_companies_world(seed: int = 7) -> tuple[Log, list[str], list[str]]:
    rng = np.random.default_rng(seed)
    log = Log()
    # Each company's own job wording: only the schedule (every office hour at :00) is common.
    a = add_team(log, rng, "acme", 20, "192.0.2.10", "acme-card", minute=0,
                 template="acme nightly export: summarise ticket {} for the weekly report")
    b = add_team(log, rng, "globex", 20, "198.51.100.20", "globex-card", minute=0,
                 template="globex classifier run, label the sentiment of review {} as positive or negative")
    add_people(log, rng, 80)
    return log, a, b


def test_d_two_companies_on_one_cron_minute_stay_apart():
    log, a, b = two_companies_world()
    result = run(log)
    assert list(clusters_of(result, a).values()) == [20]
    assert list(clusters_of(result, b).values()) == [20]
    assert set(clusters_of(result, a)) != set(clusters_of(result, b))
    # The shared schedule is seen (timing values shared across the companies), and links nobody alone.
    timing = result.signals.filter(pl.col("kind") == "timing")
    assert timing.height and int(timing["df"].max()) > 20


def test_d_two_companies_on_one_cron_minute_are_two_campaigns():
    log, a, b = two_companies_world()
    result = run(log)
    ca = result.accounts.filter(pl.col("account_id").is_in(a))["campaign_id"].unique().to_list()
    cb = result.accounts.filter(pl.col("account_id").is_in(b))["campaign_id"].unique().to_list()
    assert len(ca) == 1 and len(cb) == 1 and None not in ca + cb
    assert ca != cb


def test_d_accounts_sharing_only_timing_are_not_clustered():
    rng = np.random.default_rng(8)
    log = Log()
    cron = add_team(log, rng, "cron", 30, None, None, minute=5, own_cards=True)
    add_people(log, rng, 60)
    result = run(log)
    timing = result.signals.filter(pl.col("kind") == "timing")
    assert timing.height and int(timing["df"].max()) >= 30  # all of them share timing values
    assert clusters_of(result, cron) == Counter()


def test_d_template_sent_in_lock_step_minutes_links_a_ring():
    rng = np.random.default_rng(13)
    log = Log()
    minutes = np.sort(rng.choice(3 * 24 * 60, 20, replace=False))
    ring = []
    for i in range(10):
        acc = f"lock{i}"
        ring.append(acc)
        for k, m in enumerate(minutes):
            ts = T0 + timedelta(minutes=int(m), seconds=int(rng.integers(0, 30)))
            log.add(acc, ts, f"185.{40 + i}.{k}.9", f"lock-card-{i}",
                    RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
    add_people(log, rng, 80)
    result = run(log)
    timing = result.signals.filter(pl.col("kind") == "timing")
    assert timing.height and int(timing["df"].max()) >= 10  # the lock-step is seen
    assert list(clusters_of(result, ring).values()) == [10]


# --- 5. Timing collisions ------------------------------------------------------------------------

def test_e_ordinary_people_in_one_time_zone_make_no_cluster():
    rng = np.random.default_rng(9)
    log = Log()
    for i in range(60):
        # One busy evening of one time zone (10:00-18:00 UTC), 20-39 requests each at random minutes:
        # dense enough that some people's minute sets collide in a timing MinHash band.
        for _ in range(int(rng.integers(20, 40))):
            ts = T0 + timedelta(hours=int(rng.integers(10, 18)), minutes=int(rng.integers(0, 60)),
                                seconds=int(rng.integers(0, 60)))
            log.add(f"person{i}", ts, _private_ip(i), f"card-{i}", f"what is {_words(rng, 5)}")
    result = run(log)
    timing = result.signals.filter(pl.col("kind") == "timing")
    assert timing.filter(pl.col("df") >= 2).height > 0  # collisions happen...
    assert result.accounts["cluster_id"].is_null().all()  # ...and link nobody
    assert result.clusters.height == 0


# --- 6. Score tied to one attack style, and campaigns ----------------------------------------------

def add_ring(log: Log, rng: np.random.Generator, name: str, n: int, cards: int, ips: list[str],
             template: str, hours: range = range(9, 18), days: int = 4, start: int = 0) -> list[str]:
    """A ring: accounts paying from a pool of ``cards`` cards, on ``ips``, sending one template
    on ``days`` days from day ``start``."""
    names = []
    for i in range(n):
        acc = f"{name}{i}"
        names.append(acc)
        own = rng.choice(len(ips), size=min(4, len(ips)), replace=False)
        for d in range(start, start + days):
            for h in hours:
                for _ in range(2):
                    ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    log.add(acc, ts, ips[int(rng.choice(own))], f"{name}-card-{i % cards}",
                            template.format(_words(rng, 3), int(rng.integers(0, 1000))))
    return names


RING_TEMPLATE = "You are an expert. Solve the following task and show every intermediate step: {} ({})"
OTHER_TEMPLATE = "Rewrite this product description in a friendly marketing voice for our shop: {} {}"


def scoring_world(seed: int = 10) -> tuple[Log, list[str], list[str]]:
    rng = np.random.default_rng(seed)
    log = Log()
    datacenter = [f"34.{90 + k}.12.{k + 3}" for k in range(15)]
    ring = add_ring(log, rng, "ring", 30, 6, datacenter, RING_TEMPLATE)
    team = add_team(log, rng, "corp", 30, "192.0.2.44", "corp-card", minute=0)
    add_people(log, rng, 100)
    return log, ring, team


def test_f_office_hours_ring_on_a_card_pool_is_flagged_and_team_is_not():
    log, ring, team = scoring_world()
    result = run(log)
    assert list(clusters_of(result, ring).values()) == [30]
    assert list(clusters_of(result, team).values()) == [30]
    r, t = cluster_row(result, ring[0]), cluster_row(result, team[0])
    # 6 cards, each shared by 5 members, drawn blind to the addresses: alignment ~0 (card_pools)
    assert r["card_pool"] == pytest.approx(1 - 1 / 6, abs=0.02)
    assert t["card_pool"] == pytest.approx(0.0)  # one corporate card is not a pool
    assert r["around_the_clock"] == 0.0  # office hours: the flag does not need 24 h activity
    assert r["flagged"] and not t["flagged"]
    assert r["score"] > t["score"]
    assert "card pool" in r["why"]


def campaign_world(seed: int = 11) -> tuple[Log, list[str], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    log = Log()
    cell1 = add_ring(log, rng, "opA1x", 15, 3, [f"34.{100 + k}.1.1" for k in range(6)], RING_TEMPLATE)
    cell2 = add_ring(log, rng, "opA2x", 15, 3, [f"52.{100 + k}.2.2" for k in range(6)], RING_TEMPLATE)
    other = add_ring(log, rng, "opBx", 15, 3, [f"13.{100 + k}.3.3" for k in range(6)], OTHER_TEMPLATE)
    add_people(log, rng, 100)
    return log, cell1, cell2, other


def test_f_cells_of_one_operator_share_a_campaign():
    log, cell1, cell2, other = campaign_world()
    result = run(log)
    for cell in (cell1, cell2, other):
        assert list(clusters_of(result, cell).values()) == [15]
    campaign = dict(result.accounts.select("account_id", "campaign_id").iter_rows())
    assert campaign[cell1[0]] is not None
    assert campaign[cell1[0]] == campaign[cell2[0]] != campaign[other[0]]
    assert {campaign[a] for a in cell1 + cell2} == {campaign[cell1[0]]}
    assert {campaign[a] for a in other} == {campaign[other[0]]}
    row = result.campaigns.filter(pl.col("campaign_id") == campaign[cell1[0]]).row(0, named=True)
    assert len(row["clusters"]) == 2 and row["accounts"] == 30 and "prompt" in row["ties"]


def test_f_a_tame_cell_is_flagged_with_its_operator():
    """Cell B alone looks like a dozen developers (a card each, one datacenter address, office
    hours); it sends operator A's template, so it is A's campaign and flagged with it. A team is
    not. (On one card, the cell is one payer's load spread over accounts and flagged on its own:
    tests/test_scripted_accounts.py.)"""
    rng = np.random.default_rng(21)
    log = Log()
    loud = add_ring(log, rng, "opAloud", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], RING_TEMPLATE)
    tame = add_ring(log, rng, "opAtame", 12, 12, ["35.190.3.3"], RING_TEMPLATE)
    team = add_team(log, rng, "acme", 15, "192.0.2.50", "acme-card", minute=0)
    add_people(log, rng, 100)
    from graphlink.config import PipelineConfig
    base = PipelineConfig()
    alone = run(log, config=replace(base, scoring=replace(base.scoring, flag_campaigns=False)))
    assert cluster_row(alone, loud[0])["flagged"] and not cluster_row(alone, tame[0])["flagged"]
    result = run(log)
    loud_row, tame_row = cluster_row(result, loud[0]), cluster_row(result, tame[0])
    assert loud_row["campaign_id"] == tame_row["campaign_id"] and tame_row["flagged"]
    assert tame_row["score"] < 0.6 and tame_row["why"].startswith(f"tied to flagged cluster {loud_row['cluster_id']} (campaign ")
    assert " prompt phrases" in tame_row["why"].split(";")[0]  # its template tied it (no card: not "same operator")
    assert not cluster_row(result, team[0])["flagged"]
    camp = result.campaigns.filter(pl.col("campaign_id") == loud_row["campaign_id"]).row(0, named=True)
    assert camp["flagged"] and camp["flagged_clusters"] == 1 and len(camp["clusters"]) == 2


def test_f_a_case_file_names_the_cluster_a_flag_came_from(tmp_path):
    """An investigator exporting the tame cell's case sees where its flag came from, not only in the ``why``
    text: ``flagged_with`` names the loud cell, its campaign and whether a card tied them (here the template
    alone: not the same operator by proof); the loud cell's own case has none."""
    import json

    from graphlink.store.outputs import write_outputs
    from graphlink.views.export import export
    rng = np.random.default_rng(21)
    log = Log()
    loud = add_ring(log, rng, "opAloud", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], RING_TEMPLATE)
    tame = add_ring(log, rng, "opAtame", 12, 12, ["35.190.3.3"], RING_TEMPLATE)
    add_people(log, rng, 100)
    result = run(log)
    write_outputs(result, tmp_path / "out")
    loud_row, tame_row = cluster_row(result, loud[0]), cluster_row(result, tame[0])
    export(tmp_path / "out", "json", out=tmp_path / "cases")
    case = {c: json.loads((tmp_path / "cases" / f"cluster-{c}.json").read_text()) for c in (loud_row["cluster_id"], tame_row["cluster_id"])}
    assert case[tame_row["cluster_id"]]["flagged_with"] == {
        "cluster_id": loud_row["cluster_id"], "campaign_id": loud_row["campaign_id"], "same_operator": False}
    assert case[tame_row["cluster_id"]]["campaign_id"] == tame_row["campaign_id"]
    assert case[loud_row["cluster_id"]]["flagged_with"] is None


def test_f_an_inherited_flag_names_the_lead_by_its_stable_id():
    """With ``previous``, cluster ids are re-keyed to the previous run's: the tame cell's ``why``
    must name the loud cell by the id it carries in this run's output, not its provisional id."""
    rng = np.random.default_rng(21)
    log = Log()
    loud = add_ring(log, rng, "opAloud", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], RING_TEMPLATE)
    tame = add_ring(log, rng, "opAtame", 12, 12, ["35.190.3.3"], RING_TEMPLATE)
    add_people(log, rng, 100)
    previous = pl.DataFrame({"account_id": loud + tame, "cluster_id": [50] * len(loud) + [60] * len(tame)})
    result = run(log, previous=previous)
    loud_row, tame_row = cluster_row(result, loud[0]), cluster_row(result, tame[0])
    assert (loud_row["cluster_id"], tame_row["cluster_id"]) == (50, 60)
    assert tame_row["why"].startswith("tied to flagged cluster 50 (campaign ")


def test_f_accounts_worked_for_a_day_and_dropped_are_flagged():
    """A cell that works one day on one datacenter address, a card per account, and is never seen
    again (throwaway accounts) is flagged by ``short_lived``; the same cell still working
    on the log's last day cannot be judged yet, and a team seen all week is not flagged.
    (Cards per account: on one card each cell is one payer's scripted load, flagged by
    ``scripted_accounts`` whenever it runs -- tests/test_scripted_accounts.py.)"""
    rng = np.random.default_rng(22)
    log = Log()
    gone = add_ring(log, rng, "burner", 15, 15, ["35.191.4.4"], RING_TEMPLATE, days=1, start=1)
    late = add_ring(log, rng, "late", 15, 15, ["35.192.5.5"], OTHER_TEMPLATE, days=1, start=6)
    team = add_team(log, rng, "acme", 15, "192.0.2.51", "acme-card", minute=5, days=7)
    add_people(log, rng, 100, days=7)
    result = run(log)
    g, l, t = cluster_row(result, gone[0]), cluster_row(result, late[0]), cluster_row(result, team[0])
    assert g["short_lived"] == 1.0 and g["flagged"] and "went silent" in g["why"]
    assert l["short_lived"] == 0.0 and not l["flagged"]
    assert t["short_lived"] == 0.0 and not t["flagged"]


def test_f_a_private_domain_does_not_excuse_proxies_and_a_card_pool():
    """With the accounts file: a fleet on its own domain rotating proxies and paying from a
    card pool is flagged; a team on its own domain, one card, one office address is not."""
    rng = np.random.default_rng(23)
    log = Log()
    fleet = add_ring(log, rng, "fleet", 20, 5, [f"34.{120 + k}.8.{k}" for k in range(40)], RING_TEMPLATE)
    team = add_team(log, rng, "acme", 15, "192.0.2.52", "acme-card", minute=0)
    people = add_people(log, rng, 100)
    accounts = pl.DataFrame({
        "account_id": fleet + team + people,
        "email_domain": ["quickmail-ops.top"] * len(fleet) + ["acme.example"] * len(team)
        + ["gmail.com"] * len(people)})
    result = run_detect(log.frame(), accounts)
    f, t = cluster_row(result, fleet[0]), cluster_row(result, team[0])
    assert f["org_coherence"] == 1.0 and t["org_coherence"] == 1.0
    assert f["flagged"] and not t["flagged"]


def add_carrier_strangers(log: Log, rng: np.random.Generator, prompt) -> list[str]:
    """Four groups of three strangers, each group behind one mobile carrier's rotating exits (8
    addresses in 8 networks), 12-19 requests each at any hour over five days, no card, each
    request's text ``prompt(rng)``. Returns their account ids."""
    strangers = []
    for g in range(4):
        exits = [f"{100 + g}.{20 + k}.{g}.{k + 1}" for k in range(8)]
        for i in range(3):
            acc = f"mob{g}x{i}"
            strangers.append(acc)
            for _ in range(int(rng.integers(12, 20))):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(0, 24)),
                                    minutes=int(rng.integers(0, 60)))
                log.add(acc, ts, exits[int(rng.integers(0, 8))], None, prompt(rng))
    return strangers


def test_f_strangers_sharing_a_stock_phrase_are_not_an_operator():
    """Four groups of three strangers, each behind one mobile carrier's rotating exits (8 addresses
    in 8 networks: "proxy rotation" to the score), all asking "tell me a fun fact about ...": the
    phrase ties their clusters into a campaign, but one stock phrase is no operator -- its accounts
    do not add up to ``min_flag_size`` and no flag spreads through it. A templated ring is flagged."""
    rng = np.random.default_rng(41)
    log = Log()
    strangers = add_carrier_strangers(log, rng, lambda r: f"tell me a fun fact about item{int(r.integers(0, 10**6))} please")
    ring = add_ring(log, rng, "distil", 20, 4, [f"34.{120 + k}.5.5" for k in range(10)], RING_TEMPLATE)
    add_people(log, rng, 80)
    result = run(log)
    assert cluster_row(result, ring[0])["flagged"]
    rows = [cluster_row(result, a) for a in strangers if a in set(result.accounts.drop_nulls("cluster_id")["account_id"])]
    assert rows and not any(row["flagged"] for row in rows)
    # A stock request of a few words is no template's (TEMPLATE_SHINGLES): the groups' prompts do not
    # count as templated, so each group alone no longer scores like a flag (before: >= 0.6, held back
    # only by its size).
    assert all(row["template_share"] == 0.0 for row in rows)
    assert max(row["score"] for row in rows) < 0.6


def card_group_cell_world(seed: int = 42) -> tuple[Log, list[list[str]], list[str]]:
    """An operator's cell drawn from its pools: 12 card groups of 5 accounts (one card each), every
    account on its own datacenter address, adjacent groups sharing one more address (an account of
    each), all sending the operator's template in office hours. Three teams, each on its own card
    and office address, send one job template. Ordinary people around them."""
    rng = np.random.default_rng(seed)
    log = Log()
    groups = []
    for g in range(12):
        names = []
        for i in range(5):
            acc = f"pool{g}x{i}"
            names.append(acc)
            own = f"34.{150 + g}.{i}.9"
            tie = []
            if i == 0 and g > 0:
                tie.append(f"35.200.{g - 1}.1")  # shared with the previous group's last account
            if i == 4 and g < 11:
                tie.append(f"35.200.{g}.1")
            for d in range(4):
                for h in range(9, 17):
                    ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    ip = tie[0] if tie and h % 2 else own
                    log.add(acc, ts, ip, f"pool-card-{g}", RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
        groups.append(names)
    teams = []
    for t in range(3):
        teams += add_team(log, rng, f"firm{t}x", 12, f"192.0.2.{60 + t}", f"firm{t}-card", minute=5 * t,
                          template=FRAMEWORK_JOB)
    add_people(log, rng, 100)
    return log, groups, teams


def test_f_a_cell_cut_into_card_groups_is_flagged_as_a_whole_when_pooling():
    """With ``pool_campaigns`` on (opt-in). Each card group alone is a tame team (one card, office hours): no cluster scores. The
    operator's pool shows only in the whole campaign -- 12 cards each paying for five accounts,
    tied by addresses the groups share -- so the campaign is scored as one group and flagged.
    Teams tied only by one job template are not pooled (their cards would make a false pool).
    ``scripted_accounts`` weighs 0 here: five accounts on one card all sending the template are one
    payer's scripted load and flag each group on its own (tests/test_scripted_accounts.py); the
    pooling is tested for cells that show no such sign."""
    log, groups, teams = card_group_cell_world()
    ring = [a for g in groups for a in g]
    from graphlink.config import PipelineConfig
    base = PipelineConfig()
    base = replace(base, scoring=replace(base.scoring, component_weights={
        **base.scoring.component_weights, "scripted_accounts": 0.0}))
    alone = run(log, config=base)  # the default: pooling is opt-in (tests/test_break_session11.py says why)
    result = run(log, config=replace(base, scoring=replace(base.scoring, pool_campaigns=True)))
    for res in (alone, result):
        assert len(clusters_of(res, ring)) >= 6  # CPM keeps the card groups apart
    assert not any(cluster_row(alone, a)["flagged"] for a in ring)
    rows = [cluster_row(result, a) for a in ring]
    assert all(r["flagged"] for r in rows)
    assert all(r["score"] < 0.6 for r in rows)  # no group earns the flag on its own
    campaign = {r["campaign_id"] for r in rows}
    assert len(campaign) == 1
    assert rows[0]["why"].startswith(f"campaign {campaign.pop()} as a whole (60 accounts): ")
    assert "card pool" in rows[0]["why"]
    # Read as reasons (show, report): the campaign's reasons stay in the one reason that introduces them.
    reasons = why_reasons(rows[0]["why"])
    assert reasons[0].startswith("campaign ") and "card pool" in reasons[0]
    assert not any("card pool" in r for r in reasons[1:] if not r.startswith("this cluster: "))
    camp = result.campaigns.filter(pl.col("campaign_id") == rows[0]["campaign_id"]).row(0, named=True)
    assert camp["flagged"] and camp["flagged_clusters"] == 0 and camp["score"] >= 0.6
    assert "flagged as a whole" in camp["why"]
    assert [r for r in why_reasons(camp["why"]) if "card pool" in r][0].startswith("flagged as a whole: ")
    assert not any(cluster_row(result, a)["flagged"] for a in teams)


# --- 7. Budget cuts quality at scale ----------------------------------------------------------------

FRAMEWORK_JOB = "Summarise support ticket {} in three bullet points for the on-call engineer of the service desk"


def numbered_jobs_world(seed: int = 31) -> tuple[Log, list[str], list[str], list[str]]:
    """Two unrelated companies run the same framework job (one wording, a ticket number that
    differs in every request) at :00 past each office hour, each from its own office on its own
    card; a ring of 20 sends its own template from a card pool and datacenter addresses."""
    rng = np.random.default_rng(seed)
    log = Log()
    a = add_team(log, rng, "initech", 20, "192.0.2.71", "initech-card", minute=0, template=FRAMEWORK_JOB)
    b = add_team(log, rng, "hooli", 20, "198.51.100.72", "hooli-card", minute=0, template=FRAMEWORK_JOB)
    ring = add_ring(log, rng, "distil", 20, 4, [f"34.{120 + k}.5.5" for k in range(10)], RING_TEMPLATE)
    add_people(log, rng, 80)
    return log, a, b, ring


def test_h_teams_on_one_numbered_job_template_stay_apart_and_unflagged():
    """Digit normalisation makes every ticket number one template: the shared wording must not tie
    two companies into one cluster or get either flagged (issue 17, class 7). (Campaigns group
    clusters by a shared playbook, so the two do share a campaign: an unflagged one.)"""
    log, a, b, ring = numbered_jobs_world()
    result = run(log)
    prompts = result.signals.filter(pl.col("kind") == "prompt")
    assert prompts.height and int(prompts["df"].max()) >= 40  # the wording is seen as shared by both teams
    assert list(clusters_of(result, a).values()) == [20]
    assert list(clusters_of(result, b).values()) == [20]
    assert set(clusters_of(result, a)) != set(clusters_of(result, b))
    ca, cb = cluster_row(result, a[0]), cluster_row(result, b[0])
    assert not ca["flagged"] and not cb["flagged"]
    camp = result.campaigns.filter(pl.col("campaign_id") == ca["campaign_id"]).row(0, named=True)
    assert not camp["flagged"]
    assert cluster_row(result, ring[0])["flagged"]


def test_h_a_tight_prompt_budget_still_finds_the_template():
    """At 224k accounts the global prompt budget leaves ~10 prompts per account; with 3 per account
    the ring's template is still its evidence and nothing benign is tied by it."""
    log, a, b, ring = numbered_jobs_world()
    from graphlink.config import PipelineConfig
    base = PipelineConfig()
    n_accounts = len(set(log.frame()["account_id"]))
    tight = replace(base, signals=replace(base.signals, max_prompts_total=3 * n_accounts))
    result = run(log, config=tight)
    assert result.run["counts"]["prompts_per_account_used"] == 3
    row = cluster_row(result, ring[0])
    assert list(clusters_of(result, ring).values()) == [20]
    assert row["flagged"] and row["template_share"] > 0.5
    assert set(clusters_of(result, a)) != set(clusters_of(result, b))
    assert not cluster_row(result, a[0])["flagged"] and not cluster_row(result, b[0])["flagged"]


# --- Determinism ----------------------------------------------------------------------------------

def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns[0])


def test_g_same_input_and_seed_give_identical_outputs_and_shuffling_keeps_the_partition():
    log, cell1, cell2, other = campaign_world(seed=12)
    first, second = run(log), run(log)
    assert first.accounts.equals(second.accounts)
    assert first.clusters.equals(second.clusters)
    assert first.campaigns.equals(second.campaigns)
    shuffled = log.frame().sample(fraction=1.0, shuffle=True, seed=3)
    assert not shuffled["account_id"].equals(log.frame()["account_id"])
    third = run_detect(shuffled)
    assert partition(third) == partition(first)
    campaigns = {frozenset(m) for m in first.accounts.drop_nulls("campaign_id").group_by("campaign_id")
                 .agg(pl.col("account_id"))["account_id"].to_list()}
    assert campaigns == {frozenset(m) for m in third.accounts.drop_nulls("campaign_id").group_by("campaign_id")
                         .agg(pl.col("account_id"))["account_id"].to_list()}


@pytest.mark.xfail(strict=True, reason=(
    "known defect (break-it review, session 10): template_share counts a prompt only when it shares a passage of "
    "TEMPLATE_SHINGLES (8) shingles, which keeps ordinary people's stock requests out (a cluster of Japanese "
    "speakers on a VPN was flagged for 'templated' stock phrases) but lets an operator with a short template "
    "(8 fixed words, 4 shingles) escape: 30 rotating accounts, one card each, score 0.50 (0.88 when any shared "
    "shingle counted). Needs a template test by how much of a shingle's use is inside the cluster, not by length"))
def test_a_rotating_ring_with_a_short_template_is_flagged():
    rng = np.random.default_rng(5)
    log = Log()
    ring = []
    short = "Think step by step and explain your reasoning: {} ({})"
    for i in range(30):
        acc = f"ring{i}"
        ring.append(acc)
        for _ in range(20):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
            log.add(acc, ts, f"73.{int(rng.integers(0, 80))}.9.9", f"ring-card-{i}",
                    short.format(_words(rng, 3), int(rng.integers(0, 1000))))
    add_people(log, rng, 150)
    result = run(log)
    assert cluster_row(result, ring[0])["flagged"]
