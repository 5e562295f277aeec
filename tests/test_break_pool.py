"""Review of "flagged as a whole" (``ScoringConfig.pool_campaigns``): benign groups it may flag.

Each world is a small seeded log built with the helpers of ``test_detection_classes``; each
test runs :func:`graphlink.pipeline.run_detect` with ``pool_campaigns`` on (``POOLED``) and off
(``ALONE``, the default) and states what an investigator needs.
Tests marked ``xfail(strict=True)`` show a real defect: they pass once it is fixed. The first
three were why pooling was off by default (benign organisations pooled into a false card pool);
they pass since a campaign's cards are judged by their own evidence
(:func:`graphlink.stages.card_pools.card_units`): each branch's card has its office address.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.config import PipelineConfig
from graphlink.pipeline import run_detect
from tests.test_detection_classes import (FRAMEWORK_JOB, RING_TEMPLATE, T0, Log, _private_ip, _words, add_people,
                                          card_group_cell_world, cluster_row, clusters_of)

BASE = PipelineConfig()
ALONE = replace(BASE, scoring=replace(BASE.scoring, pool_campaigns=False))
# Pooling is tested for cells that show no sign on their own: five accounts on one card all sending
# the template are one payer's scripted load (``scripted_accounts``, tests/test_scripted_accounts.py)
# and would each be flagged alone, so that component weighs 0 where pooling is on.
POOLED = replace(BASE, scoring=replace(BASE.scoring, pool_campaigns=True, component_weights={
    **BASE.scoring.component_weights, "scripted_accounts": 0.0}))


def flagged(result, accounts: list[str]) -> int:
    """How many of ``accounts`` are in a flagged cluster."""
    rows = result.accounts.filter(pl.col("account_id").is_in(accounts)).join(
        result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return int(rows["flagged"].fill_null(False).sum())


def branches_world(seed: int = 7, branches: int = 5, per: int = 8, vpn: int = 50, vpn_hours: int = 2,
                   template: str | None = FRAMEWORK_JOB, n_people: int = 100) -> tuple[Log, list[list[str]], list[str]]:
    """One company: ``branches`` offices, each with its own egress address and its own corporate
    card, staff sending the company's in-house tool's prompt (``template``; free-form questions
    when None) in office hours. Each employee works from home one day of the week and, for its
    first ``vpn_hours`` hours, goes out through the corporate VPN (``vpn`` addresses in one /24,
    used by nobody else). Ordinary people around."""
    log, groups, people, _ = company_world(seed, branches, per, vpn, vpn_hours, template, n_people)
    return log, groups, people


def company_world(seed: int = 7, branches: int = 5, per: int = 8, vpn: int = 50, vpn_hours: int = 2,
                  template: str | None = FRAMEWORK_JOB, n_people: int = 100, in_office: int | None = None,
                  coworkers: int = 0) -> tuple[Log, list[list[str]], list[str], list[str]]:
    """:func:`branches_world` with two variations (``tests/test_break_session11.py``): only
    ``in_office`` of each branch's staff work from its office, the others from their own home
    address (hybrid work; all when None); and each office address is also used by ``coworkers``
    people of other firms (own cards, own homes, free-form prompts) for 60 % of their requests (a
    co-working space). Returns ``(log, staff by branch, ordinary people, co-workers)``."""
    rng = np.random.default_rng(seed)
    log = Log()
    pool = [f"198.18.7.{20 + k}" for k in range(vpn)]
    groups, others = [], []
    for b in range(branches):
        names = []
        for i in range(per):
            acc = f"branch{b}x{i}"
            names.append(acc)
            home_day = int(rng.integers(0, 5))
            office = f"192.0.2.{100 + b}" if in_office is None or i < in_office else _private_ip(6000 + 50 * b + i)
            for day in range(5):
                for h in range(9, 17):
                    ts = T0 + timedelta(days=day, hours=h, minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    ip = pool[int(rng.integers(0, vpn))] if day == home_day and h < 9 + vpn_hours else office
                    prompt = (template.format(f"{_words(rng, 2)} {int(rng.integers(0, 10_000))}") if template
                              else f"how do I {_words(rng, 6)}")
                    log.add(acc, ts, ip, f"corp-card-branch{b}", prompt)
        groups.append(names)
        for u in range(coworkers):
            acc = f"cowork{b}x{u}"
            others.append(acc)
            for _ in range(int(rng.integers(4, 9))):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(9, 18)),
                                    minutes=int(rng.integers(0, 60)))
                ip = f"192.0.2.{100 + b}" if rng.random() < 0.6 else _private_ip(7000 + 50 * b + u)
                log.add(acc, ts, ip, f"cowork-card-{b}-{u}", f"how do I {_words(rng, 6)}")
    people = add_people(log, rng, n_people)
    return log, groups, people, others


# --- 1. One company's branches on the corporate VPN, one in-house tool ------------------------------

def test_company_branches_on_corporate_vpn_are_not_flagged_as_a_whole():
    log, groups, _ = branches_world()
    staff = [a for g in groups for a in g]
    before, after = run_detect(log.frame(), config=ALONE), run_detect(log.frame(), config=POOLED)
    assert sorted(clusters_of(after, staff).values()) == [8] * 5  # one cluster per branch
    assert flagged(before, staff) == 0
    assert flagged(after, staff) == 0, cluster_row(after, staff[0])["why"]


def test_company_branches_with_their_email_domain_are_not_flagged_as_a_whole():
    log, groups, people = branches_world(n_people=400)
    staff = [a for g in groups for a in g]
    accounts = pl.DataFrame({"account_id": staff + people,
                             "email_domain": ["acme-corp.example"] * len(staff) + ["gmail.com"] * len(people)})
    before = run_detect(log.frame(), accounts=accounts, config=ALONE)
    after = run_detect(log.frame(), accounts=accounts, config=POOLED)
    assert flagged(before, staff) == 0
    assert flagged(after, staff) == 0, cluster_row(after, staff[0])["why"]


def test_unrelated_firms_on_one_framework_meeting_on_one_wifi_are_not_flagged():
    """Same shape seen from outside: three firms, own card and office each, the same framework
    job template (test_h: they must stay unflagged), each employee spending two hours on the
    venue Wi-Fi of a conference week."""
    log, groups, _ = branches_world(seed=3, branches=3, per=12, vpn=30)
    staff = [a for g in groups for a in g]
    before, after = run_detect(log.frame(), config=ALONE), run_detect(log.frame(), config=POOLED)
    assert flagged(before, staff) == 0
    assert flagged(after, staff) == 0, cluster_row(after, staff[0])["why"]


def test_defaults_do_not_pool_so_company_branches_and_firms_stay_unflagged():
    """Pooling is off by default (tests/test_break_session11.py: organisations with no value of their
    own per card still pool): the branches and firms above are not flagged by the defaults either."""
    assert not BASE.scoring.pool_campaigns
    for log, groups in (branches_world()[:2], branches_world(seed=3, branches=3, per=12, vpn=30)[:2]):
        staff = [a for g in groups for a in g]
        assert flagged(run_detect(log.frame()), staff) == 0


# --- 2. Controls: shapes the rule leaves alone -------------------------------------------------------

def test_branches_tied_by_addresses_only_are_not_pooled():
    """Without a shared template the sparse VPN sharing forms no campaign: nothing changes."""
    log, groups, _ = branches_world(template=None)
    staff = [a for g in groups for a in g]
    before, after = run_detect(log.frame(), config=ALONE), run_detect(log.frame(), config=POOLED)
    assert sorted(clusters_of(after, staff).values()) == [8] * 5
    assert after.campaigns.height >= 5  # each branch its own campaign
    assert flagged(before, staff) == flagged(after, staff) == 0


def test_branches_sharing_a_vpn_more_are_not_flagged_as_one_card_pool():
    """Passes since session 13 (was a strict xfail): the branches' staff write their own requests,
    so their cards' pool counts only as far as the members' own traffic is scripted (card_pool x
    member_template_share); card alignment still only halves it."""
    log, groups, _ = branches_world(template=None, vpn=12, vpn_hours=3)
    staff = [a for g in groups for a in g]
    before = run_detect(log.frame(), config=ALONE)
    assert flagged(before, staff) == 0, cluster_row(before, staff[0])["why"]


# --- 3. The opposite: an operator's fragmented cell that is not flagged --------------------------------

def card_cell(seed: int = 42, tie_groups: int = 11, bystanders_per_tie: int = 0) -> tuple[Log, list[str]]:
    """``card_group_cell_world``'s operator (12 card groups of 5, one datacenter address per account,
    its template in office hours) with the addresses tying adjacent groups only between the first
    ``tie_groups + 1`` groups; each tie address is also used by ``bystanders_per_tie`` ordinary
    people (a commercial VPN's exit the operator rents too)."""
    rng = np.random.default_rng(seed)
    log = Log()
    ring = []
    for g in range(12):
        for i in range(5):
            acc = f"pool{g}x{i}"
            ring.append(acc)
            tie = []
            if i == 0 and 0 < g <= tie_groups:
                tie.append(f"35.200.{g - 1}.1")
            if i == 4 and g < tie_groups:
                tie.append(f"35.200.{g}.1")
            for d in range(4):
                for h in range(9, 17):
                    ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    ip = tie[0] if tie and h % 2 else f"34.{150 + g}.{i}.9"
                    log.add(acc, ts, ip, f"pool-card-{g}", RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
    for k in range(tie_groups):
        for u in range(bystanders_per_tie):
            for _ in range(4):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                    minutes=int(rng.integers(0, 60)))
                log.add(f"vpnuser{k}x{u}", ts, f"35.200.{k}.1", f"vpnuser-card-{k}-{u}", f"how do I {_words(rng, 6)}")
    add_people(log, rng, 100)
    return log, ring


def test_operator_cell_with_five_tie_addresses_is_flagged_as_a_whole():
    log, ring = card_cell(tie_groups=5)
    result = run_detect(log.frame(), config=POOLED)
    assert len(clusters_of(result, ring)) == 12
    assert flagged(result, ring) == 60


@pytest.mark.xfail(strict=True, reason=(
    "pool rule recall cliff: the same cell with 4 addresses tying its groups instead of 5 is not "
    "infrastructure (MIN_TIE_VALUES) and goes unflagged; one address fewer flips 60 accounts"))
def test_operator_cell_with_four_tie_addresses_is_flagged_as_a_whole():
    log, ring = card_cell(tie_groups=4)
    result = run_detect(log.frame(), config=POOLED)
    assert len(clusters_of(result, ring)) == 12
    assert flagged(result, ring) == 60


@pytest.mark.xfail(strict=True, reason=(
    "pool rule recall: when the addresses tying the operator's groups are rented exits of a commercial "
    "VPN also used by 3 ordinary people each, they are not 'specific to the campaign' (inside < half "
    "of holders) and the cell goes unflagged"))
def test_operator_cell_tied_through_commercial_vpn_exits_is_flagged_as_a_whole():
    log, ring = card_cell(tie_groups=11, bystanders_per_tie=3)
    result = run_detect(log.frame(), config=POOLED)
    assert len(clusters_of(result, ring)) == 12
    assert flagged(result, ring) == 60


# --- 4. Edge inputs of the new code path -------------------------------------------------------------

@pytest.mark.parametrize("drop", ["timestamp", None])
def test_pooled_flag_without_timestamps(drop):
    """No timestamps: no clock components, the pool still shows (cards and templates)."""
    log, groups, teams = card_group_cell_world()
    ring = [a for g in groups for a in g]
    frame = log.frame().drop(drop) if drop else log.frame()
    result = run_detect(frame, config=POOLED)
    assert flagged(result, ring) == 60
    assert flagged(result, teams) == 0


def test_no_cards_no_pool_flag():
    """Without cards the pool has nothing to add up: the card groups are not flagged as a whole."""
    log, groups, teams = card_group_cell_world()
    ring = [a for g in groups for a in g]
    result = run_detect(log.frame().drop("payment_fingerprint"), config=POOLED)
    assert flagged(result, ring + teams) == 0
    assert not result.campaigns["flagged"].any()


def test_a_log_of_one_campaign_only():
    """The operator's cell alone (no people, no teams): one campaign, flagged as a whole."""
    log, groups, _ = card_group_cell_world()
    ring = [a for g in groups for a in g]
    result = run_detect(log.frame().filter(pl.col("account_id").is_in(ring)), config=POOLED)
    assert result.campaigns.height == 1
    camp = result.campaigns.row(0, named=True)
    assert camp["flagged"] and camp["flagged_clusters"] == 0 and camp["accounts"] == 60
    assert flagged(result, ring) == 60


def test_rerun_with_previous_keeps_pooled_flags_and_names():
    """With --previous, the pooled flags are the same and the why names the same campaign."""
    log, groups, _ = card_group_cell_world()
    ring = [a for g in groups for a in g]
    first = run_detect(log.frame(), config=POOLED)
    prev = first.accounts.select("account_id", (pl.col("cluster_id") + 100).alias("cluster_id"))
    second = run_detect(log.frame(), previous=prev, config=POOLED)
    assert flagged(second, ring) == 60
    for res in (first, second):
        rows = [cluster_row(res, a) for a in ring]
        assert {r["why"].split(" as a whole")[0] for r in rows} == {f"campaign {rows[0]['campaign_id']}"}
    assert set(second.clusters.filter(pl.col("cluster_id").is_in(
        second.accounts.filter(pl.col("account_id").is_in(ring))["cluster_id"].implode()))["cluster_id"]) == {
        c + 100 for c in clusters_of(first, ring)}


def test_rerun_with_previous_campaign_lists_stable_cluster_ids():
    log, groups, _ = card_group_cell_world()
    first = run_detect(log.frame())
    prev = first.accounts.select("account_id", (pl.col("cluster_id") + 100).alias("cluster_id"))
    second = run_detect(log.frame(), previous=prev)
    for camp in second.campaigns.iter_rows(named=True):
        members = set(second.clusters.filter(pl.col("campaign_id") == camp["campaign_id"])["cluster_id"].to_list())
        assert set(camp["clusters"]) == members


# --- 5. Pre-existing (main before the pool rule too): merged organisations read as a card pool ----------

JOBS = ("Classify the sentiment of this customer review as positive or negative: {}",
        "Translate the following shipping notice into German keeping the tone: {}",
        "Extract invoice number total and due date from this scanned text as json: {}",
        "Write a two sentence product teaser for our catalogue entry named {}")


def test_unrelated_batch_jobs_on_shared_serverless_egress_are_not_flagged():
    """Four companies' batch jobs, each on its own card with its own job template and minute,
    leaving by a serverless platform's 8 shared egress addresses, are merged into one cluster.
    Its four cards used to read as a card pool (flagged); each card's accounts keep their own
    template and clock, so the cards are aligned with groups (graphlink.stages.card_pools)."""
    rng = np.random.default_rng(8)
    log = Log()
    egress = [f"52.10.3.{4 + k}" for k in range(8)]
    jobs = []
    for c, job in enumerate(JOBS):
        for i in range(6):
            acc = f"co{c}job{i}"
            jobs.append(acc)
            for day in range(5):
                for h in range(0, 24, 2):
                    ts = T0 + timedelta(days=day, hours=h, minutes=7 * c, seconds=int(rng.integers(0, 50)))
                    log.add(acc, ts, egress[int(rng.integers(0, 8))], f"co{c}-card",
                            job.format(f"{_words(rng, 3)} {int(rng.integers(0, 10_000))}"))
    add_people(log, rng, 100)
    result = run_detect(log.frame(), config=ALONE)
    assert flagged(result, jobs) == 0, cluster_row(result, jobs[0])["why"]
