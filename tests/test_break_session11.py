"""Review of session 11's two detection changes: benign groups they flag, operators they miss.

1. Campaigns scored **as a whole** (``ScoringConfig.pool_campaigns``, commit baf79fa made it the default;
   opt-in again after this review, so the pooling cases below run with ``POOLED``):
   the whole's cards count as a pool only for cards that are not an organisation's unit
   (:func:`graphlink.stages.card_pools.card_units`: half a card's members share a non-text value
   at least half of whose holders in the log are on that card).
2. A campaign tie is specific once holders in clusters flagged on their own evidence elsewhere are
   set aside (``substantial_campaigns(..., loud=...)``, commit 9c029f9).

Each world is a small seeded log built with the helpers of ``test_detection_classes`` and fed to
:func:`graphlink.pipeline.run_detect`. Tests marked ``xfail(strict=True)`` show a defect (they pass
once it is fixed); the reason says whether session 11 introduced it or it was there before
(``pool_campaigns=False`` flags it too). Plain tests are the controls that pin down each defect's edge.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.config import PipelineConfig
from graphlink.pipeline import run_detect
from graphlink.stages.campaign_flags import substantial_campaigns
from tests.test_break_pool import company_world, flagged
from tests.test_detection_classes import (FRAMEWORK_JOB, RING_TEMPLATE, T0, Log, _private_ip, _words,
                                          add_carrier_strangers, add_people, add_ring, add_team, cluster_row,
                                          clusters_of)

BASE = PipelineConfig()
ALONE = replace(BASE, scoring=replace(BASE.scoring, pool_campaigns=False))
# scripted_accounts weighs 0 where pooling is on: the pooled cells' card groups would each be one payer's
# scripted load flagged alone (tests/test_break_pool.py says why).
POOLED = replace(BASE, scoring=replace(BASE.scoring, pool_campaigns=True, component_weights={
    **BASE.scoring.component_weights, "scripted_accounts": 0.0}))


def staff_of(groups: list[list[str]]) -> list[str]:
    return [a for g in groups for a in g]


def flag_why(result, accounts: list[str]) -> str:
    """The ``why`` of the first of ``accounts`` in a flagged cluster ("" when none is): the failure message."""
    rows = (result.accounts.filter(pl.col("account_id").is_in(accounts))
            .join(result.clusters.select("cluster_id", "flagged", "why"), on="cluster_id").filter("flagged"))
    return rows["why"][0] if rows.height else ""


# --- 1. Organisations whose cards have no value of their own: flagged as a whole (new) -----------------

def hybrid_world(seed: int = 7, branches: int = 5, per: int = 8, in_office: int = 8, vpn: int = 50,
                 vpn_hours: int = 2) -> tuple[Log, list[list[str]]]:
    """``test_break_pool.branches_world`` with hybrid work: only ``in_office`` of each branch's
    ``per`` staff work from the branch office (its own address), the others from their own home
    address all week; everyone goes out through the corporate VPN (``vpn`` addresses nobody else
    uses) for ``vpn_hours`` hours of one day a week. One corporate card per branch, the company's
    in-house tool (``FRAMEWORK_JOB``) in office hours. Ordinary people around."""
    log, groups, _, _ = company_world(seed, branches, per, vpn, vpn_hours, in_office=in_office)
    return log, groups


@pytest.mark.parametrize("in_office", [3, 0])
@pytest.mark.xfail(strict=True, reason=(
    "session 11 (pool_campaigns on + card_units): a hybrid or remote-first company -- fewer than half "
    "of each branch's staff at the office (UNIT_COVER 0.5), the rest at their own homes -- has no card "
    "value 'of its own', so its 5 branch cards read as a card pool and all 40 staff are flagged as a "
    "whole; with pool_campaigns=False none is. Each card's holders are still a unit: they share nothing "
    "with other cards but the VPN and the tool"))
def test_hybrid_company_branches_are_not_flagged_as_a_whole(in_office):
    log, groups = hybrid_world(in_office=in_office)
    staff = staff_of(groups)
    result = run_detect(log.frame(), config=POOLED)
    assert sorted(clusters_of(result, staff).values()) == [8] * 5
    assert flagged(result, staff) == 0, flag_why(result, staff)


def test_hybrid_company_branches_control():
    """The edge of the defect above: with 4 of 8 staff at the office each card is a unit (not
    flagged), pooled or not (the office rule of ``scripted_accounts``: half a card's holders share an
    address of their own)."""
    log, groups = hybrid_world(in_office=4)
    assert flagged(run_detect(log.frame(), config=POOLED), staff_of(groups)) == 0
    assert flagged(run_detect(log.frame(), config=ALONE), staff_of(groups)) == 0


@pytest.mark.xfail(strict=True, reason=(
    "session 23 (scripted_accounts): with 3 of 8 staff at the office a branch has no office by the office "
    "rule, and 8 staff on one card all sending the in-house tool's template at human hours read from events "
    "alone as one payer's scripted load (tests/test_scripted_accounts.py: a known limit; the company's "
    "e-mail domain discounts it)"))
def test_hybrid_company_mostly_at_home_is_not_flagged_alone():
    log, groups = hybrid_world(in_office=3)
    assert flagged(run_detect(log.frame(), config=ALONE), staff_of(groups)) == 0


def cowork_world(seed: int = 7, branches: int = 5, per: int = 8, coworkers: int = 9, vpn: int = 50,
                 vpn_hours: int = 2) -> tuple[Log, list[list[str]], list[str]]:
    """``test_break_pool.branches_world`` (every employee at the branch office, the corporate VPN
    two hours a week, one card per branch, the in-house tool) where each branch rents desks in a
    co-working space: its office address is also used by ``coworkers`` people of other firms
    (own cards, own homes, free-form prompts) for 60 % of their requests."""
    log, groups, _, others = company_world(seed, branches, per, vpn, vpn_hours, coworkers=coworkers)
    return log, groups, others


# Was a strict xfail (session 11, card_units: a branch office in a co-working space -- its address used by
# more people of other firms than by the branch -- is no value 'of the card', so two branches' cards pool
# into a 'card pool' and 16 staff and the 18 co-workers in their clusters were flagged as a whole). Passes
# since session 13 because the card pool counts the members' mean template share: the 18 co-workers send
# no script, so the campaign's factor is about 16/34 (0.47) instead of its share of prompts (~0.86). The branch
# cards are still read as a pool (card_units unchanged): a company whose co-workers were absent would not
# be helped by this.
def test_branches_in_coworking_spaces_are_not_flagged_as_a_whole():
    log, groups, others = cowork_world()
    staff = staff_of(groups)
    result = run_detect(log.frame(), config=POOLED)
    assert flagged(result, staff + others) == 0, flag_why(result, staff + others)


def test_branches_in_coworking_spaces_control():
    """With fewer co-workers than staff on each office address the cards are units; without
    pooling the 9-co-worker world is not flagged either."""
    log, groups, others = cowork_world(coworkers=4)
    assert flagged(run_detect(log.frame(), config=POOLED), staff_of(groups) + others) == 0
    log, groups, others = cowork_world()
    assert flagged(run_detect(log.frame(), config=ALONE), staff_of(groups) + others) == 0


PROXY_TEMPLATE = "Act as a senior analyst and produce a detailed structured answer with sources for the request: {} ({})"


def proxy_ring(log: Log, rng: np.random.Generator, name: str, n: int, cards: int, pool: list[str],
               per_account: int = 15, days: int = 4) -> list[str]:
    """An operator rotating ``n`` accounts through ``per_account`` addresses each of ``pool`` (a
    commercial VPN's exits it rents), around the clock, paying from ``cards`` cards."""
    names = []
    for i in range(n):
        acc = f"{name}{i}"
        names.append(acc)
        own = rng.choice(len(pool), size=per_account, replace=False)
        for d in range(days):
            for h in range(0, 24, 2):
                ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
                log.add(acc, ts, pool[int(rng.choice(own))], f"{name}-card-{i % cards}",
                        PROXY_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
    return names


@pytest.mark.xfail(strict=True, reason=(
    "both session 11 changes together: the hybrid company's VPN is a commercial VPN whose exits a flagged "
    "proxy operator rents too. Before 9c029f9 the exits were the operator's (not specific to the company's "
    "campaign: no infrastructure tie, not pooled): 8 staff flagged (one branch merged into the operator's "
    "cluster, pre-existing). With the operator's holders set aside the exits become the company's "
    "'infrastructure', the campaign is pooled and card_units finds no unit: 32 more staff flagged"))
def test_hybrid_company_on_a_commercial_vpn_an_operator_rents_is_not_flagged():
    log, groups = hybrid_world(in_office=3)
    rng = np.random.default_rng(107)
    ring = proxy_ring(log, rng, "proxyop", 60, 10, [f"198.18.7.{20 + k}" for k in range(50)])
    result = run_detect(log.frame(), config=POOLED)
    assert flagged(result, ring) == 60
    ring_clusters = set(clusters_of(result, ring))
    outside = [a for a in staff_of(groups) if cluster_row(result, a)["cluster_id"] not in ring_clusters]
    assert len(outside) >= 32
    assert flagged(result, outside) == 0, flag_why(result, outside)


# --- 2. An operator's card groups that each hold a value of their own: missed (new rule evaded) ----------

def split_cell(seed: int = 42, mode: str = "base") -> tuple[Log, list[str]]:
    """``test_break_pool.card_cell``'s operator (12 card groups of 5, its template in office hours,
    11 addresses tying adjacent groups), each account on its own datacenter address (``base``), or:
    ``vm`` -- each card group's worker on one VM (one address for its 5 accounts); ``net`` -- each
    group's accounts on their own addresses in one /24 per group (a VPS provider's allocation);
    ``decoy`` -- ``base`` plus one request per account from an address per card; ``minute`` --
    ``base`` with each group's worker firing at its own minute past the hour."""
    rng = np.random.default_rng(seed)
    log = Log()
    ring = []
    for g in range(12):
        for i in range(5):
            acc = f"pool{g}x{i}"
            ring.append(acc)
            tie = []
            if i == 0 and g > 0:
                tie.append(f"35.200.{g - 1}.1")
            if i == 4 and g < 11:
                tie.append(f"35.200.{g}.1")
            own = {"vm": f"34.{150 + g}.0.9", "net": f"34.150.{g}.{10 + i}"}.get(mode, f"34.{150 + g}.{i}.9")
            for d in range(4):
                for h in range(9, 17):
                    minute = 7 * g % 60 if mode == "minute" else int(rng.integers(0, 60))
                    ts = T0 + timedelta(days=d, hours=h, minutes=minute, seconds=int(rng.integers(0, 60)))
                    log.add(acc, ts, tie[0] if tie and h % 2 else own, f"pool-card-{g}",
                            RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
            if mode == "decoy":
                log.add(acc, T0 + timedelta(days=4, hours=8, minutes=i), f"36.{g}.0.1", f"pool-card-{g}",
                        RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
    add_people(log, rng, 100)
    return log, ring


def test_split_cell_control_is_flagged_as_a_whole():
    """The cell every variant below starts from: 12 clusters, one campaign, flagged as a whole."""
    log, ring = split_cell()
    result = run_detect(log.frame(), config=POOLED)
    assert len(clusters_of(result, ring)) == 12
    assert flagged(result, ring) == 60


@pytest.mark.parametrize("mode", [
    pytest.param("vm", marks=pytest.mark.xfail(strict=True, reason=(
        "session 11 (card_units): a worker per card on its own VM -- the shape card_alignment's phrasing "
        "exception calls 'no organisation' -- makes every card a unit (its VM address), so the pooled "
        "campaign has no card pool and the 60 accounts go unflagged"))),
    pytest.param("net", marks=pytest.mark.xfail(strict=True, reason=(
        "session 11 (card_units): each card group's accounts on their own addresses in one /24 (one VPS "
        "allocation per card): the /24 (ip_net) is a value 'of the card', every card is a unit, 60 unflagged"))),
    pytest.param("decoy", marks=pytest.mark.xfail(strict=True, reason=(
        "session 11 (card_units): ONE request per account from a per-card address makes each card a unit "
        "(holders are counted, not traffic): 1 request in 33 evades the pool, 60 unflagged"))),
    pytest.param("minute", marks=pytest.mark.xfail(strict=True, reason=(
        "session 11 (card_units): each card group's worker firing at its own minute past the hour gives it "
        "timing values of its own: every card a unit, 60 unflagged"))),
])
def test_split_cell_with_per_card_values_is_flagged_as_a_whole(mode):
    log, ring = split_cell(mode=mode)
    result = run_detect(log.frame(), config=POOLED)
    assert len(clusters_of(result, ring)) == 12
    assert flagged(result, ring) == 60


# --- 3. An operator split over three campaigns (9c029f9's set-aside, frame level) -------------------------

# Six clusters of 10 accounts, two per campaign; cluster 1 is loud. Five template values are held by
# all 60 accounts and by nobody else: the operator's own template, over three campaigns.
SPLIT_CAMPAIGNS = pl.DataFrame({"cluster_id": [1, 2, 3, 4, 5, 6], "campaign_id": [1, 1, 2, 2, 3, 3]})
SPLIT_PARTITION = pl.DataFrame({"account_idx": list(range(60)), "cluster_id": [c for c in range(1, 7) for _ in range(10)]},
                               schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})


def split_substantial(ordinary: int) -> dict[int, bool]:
    holders = list(range(60 + ordinary))  # accounts 60.. are unclustered ordinary people
    aff = pl.DataFrame({"account_idx": [a for _ in range(5) for a in holders],
                        "signal_idx": [s for s in range(5) for _ in holders]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": list(range(5)), "kind": ["prompt"] * 5, "linked": [True] * 5,
                        "df": [len(holders)] * 5}, schema_overrides={"signal_idx": pl.UInt32})
    out = substantial_campaigns(SPLIT_CAMPAIGNS, SPLIT_PARTITION, aff, sig, loud=pl.Series([1]))
    return dict(out.select("campaign_id", "substantial").iter_rows())


@pytest.mark.xfail(strict=True, reason=(
    "9c029f9 sets aside only loud clusters' holders outside the campaign: with the operator over three equal "
    "campaigns, campaign 1 (the loud cluster and its tame sibling) holds 20 of the 60 holders -- the "
    "operator's tame clusters in campaigns 2 and 3 count against it as if they were ordinary people -- so it "
    "is not tied and the tame sibling does not inherit the flag, although nobody outside the operator's six "
    "clusters holds the template (campaigns 2 and 3 are not tied either: 20 of 50)"))
def test_an_operator_over_three_campaigns_ties_the_loud_clusters_campaign():
    assert split_substantial(ordinary=0)[1]


def test_an_operator_over_three_campaigns_control():
    """When more ordinary people than the operator's accounts hold the text, it is a stock phrase:
    no campaign is tied (what a fix must keep)."""
    assert split_substantial(ordinary=80) == {1: False, 2: False, 3: False}


# --- 4. Pre-existing (pool_campaigns=False flags them too): benign groups read as one operator -------------

POS_TEMPLATE = "Write a short upbeat in-store announcement for today's special offer on {} for our customers"


def franchise_world(seed: int = 9, shops: int = 6, per: int = 4, egress: int = 8,
                    vendor_others: int = 20) -> tuple[Log, list[str], list[str]]:
    """A franchise: ``shops`` shops of ``per`` staff, each shop on its own card, half of each
    request from the shop's own line and half through its hosted point-of-sale vendor's
    ``egress`` addresses, all sending the vendor's built-in prompt. ``vendor_others`` of the
    vendor's other customers (own cards, free-form prompts) leave by the same egress."""
    rng = np.random.default_rng(seed)
    log = Log()
    pool = [f"52.20.7.{10 + k}" for k in range(egress)]
    staff, others = [], []
    for s in range(shops):
        for i in range(per):
            acc = f"shop{s}x{i}"
            staff.append(acc)
            for day in range(6):
                for _ in range(int(rng.integers(3, 7))):
                    ts = T0 + timedelta(days=day, hours=int(rng.integers(8, 20)), minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    ip = pool[int(rng.integers(0, egress))] if rng.random() < 0.5 else f"203.0.113.{10 + s}"
                    log.add(acc, ts, ip, f"franchise-shop{s}-card",
                            POS_TEMPLATE.format(f"{_words(rng, 2)} {int(rng.integers(0, 100))}"))
    for u in range(vendor_others):
        acc = f"posother{u}"
        others.append(acc)
        for _ in range(int(rng.integers(4, 9))):
            ts = T0 + timedelta(days=int(rng.integers(0, 6)), hours=int(rng.integers(8, 20)),
                                minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, pool[int(rng.integers(0, egress))], f"posother-card-{u}", f"how do I {_words(rng, 6)}")
    add_people(log, rng, 100)
    return log, staff, others


@pytest.mark.xfail(strict=True, reason=(
    "pre-existing (pool_campaigns=False too): the franchise's shops and the vendor's other customers are one "
    "cluster (the shared egress); card_alignment's phrasing exception reads the vendor's built-in prompt as "
    "one operator's template, so the 6 shop cards are a 'card pool' (0.83) and all 44 accounts, 20 of them "
    "ordinary customers of the vendor, are flagged"))
def test_franchise_on_a_hosted_pos_vendor_is_not_flagged():
    log, staff, others = franchise_world()
    result = run_detect(log.frame(), config=ALONE)
    assert flagged(result, staff + others) == 0, flag_why(result, staff + others)


@pytest.mark.xfail(strict=True, reason=(
    "pre-existing and by design (test_f_a_tame_cell_is_flagged_with_its_operator has the same shape): "
    "two teams that copied an operator's public template -- own office address, a corporate card or "
    "their own cards, a batch minute -- are grouped into its campaign by the text alone and inherit its "
    "flag ('same operator as flagged cluster N'); they share no card, address or identifier with it"))
def test_teams_that_copied_an_operators_public_template_do_not_inherit_its_flag():
    rng = np.random.default_rng(21)
    log = Log()
    loud = add_ring(log, rng, "opA", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], RING_TEMPLATE)
    copied = RING_TEMPLATE.replace("{} ({})", "{}")
    team = add_team(log, rng, "acme", 15, "192.0.2.50", "acme-card", minute=0, template=copied)
    team += add_team(log, rng, "initech", 15, "192.0.2.51", None, minute=20, template=copied, own_cards=True)
    add_people(log, rng, 100)
    result = run_detect(log.frame())
    assert flagged(result, loud) == 20
    assert flagged(result, team) == 0, flag_why(result, team)


VIRAL = ("Let's think step by step and explain your reasoning carefully before giving the final answer "
         "to this question: {} {}")


@pytest.mark.xfail(strict=True, reason=(
    "pre-existing (all session 11 states): 12 strangers in 4 groups behind mobile carriers' rotating exits "
    "who paste one viral 18-word prompt score 0.61 each (template_share + 'proxy rotation') and, tied by the "
    "prompt into one campaign, add up past min_flag_size: all 12 flagged. A long viral prompt is the "
    "'fun fact' stock phrase of test_f_strangers, long enough to count as a template"))
def test_strangers_pasting_one_viral_prompt_are_not_flagged():
    rng = np.random.default_rng(41)
    log = Log()
    strangers = add_carrier_strangers(log, rng, lambda r: VIRAL.format(_words(r, 4), int(r.integers(0, 10**6))))
    add_people(log, rng, 80)
    result = run_detect(log.frame())
    assert len(clusters_of(result, strangers)) == 4
    assert flagged(result, strangers) == 0, flag_why(result, strangers)


ASSIGNMENT = ("You are a teaching assistant. Explain the proof of the following theorem step by step for "
              "first year students: {} ({})")


@pytest.mark.xfail(strict=True, reason=(
    "pre-existing (all session 11 states): a course's one-day assignment -- 30 students in flats of 3, own "
    "cards, the campus lab address, the assignment template on one day and silent for the rest of the "
    "week -- reads as throwaway accounts (short_lived) with a template: 28 of 30 flagged"))
def test_students_doing_a_one_day_assignment_are_not_flagged():
    rng = np.random.default_rng(12)
    log = Log()
    students = []
    for f in range(10):
        for i in range(3):
            acc = f"stud{f}x{i}"
            students.append(acc)
            for _ in range(int(rng.integers(12, 18))):
                ts = T0 + timedelta(days=1, hours=int(rng.integers(10, 23)), minutes=int(rng.integers(0, 60)),
                                    seconds=int(rng.integers(0, 60)))
                ip = "198.51.100.200" if rng.random() < 0.3 else _private_ip(9000 + f)
                log.add(acc, ts, ip, f"stud-card-{f}-{i}", ASSIGNMENT.format(_words(rng, 3), int(rng.integers(0, 1000))))
    campus = add_people(log, rng, 50, prefix="campus", days=7, offset=12000)
    for acc in campus:
        log.add(acc, T0 + timedelta(days=int(rng.integers(0, 7)), hours=int(rng.integers(9, 18))), "198.51.100.200",
                acc.replace("campus", "campus-card-"), f"how do I {_words(rng, 6)}")
    add_people(log, rng, 100, days=7)
    result = run_detect(log.frame())
    assert flagged(result, students) == 0, flag_why(result, students)


def test_reseller_on_one_card_is_linked_not_flagged():
    """Control: a reseller's 30 sub-accounts on one card through its 6 gateway addresses around the
    clock are one cluster, scored below the flag (one card is no pool)."""
    rng = np.random.default_rng(13)
    log = Log()
    subs = []
    gateway = [f"52.30.{k}.{5 + k}" for k in range(6)]
    for i in range(30):
        acc = f"resell{i}"
        subs.append(acc)
        for _ in range(int(rng.integers(10, 30))):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(0, 24)),
                                minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
            log.add(acc, ts, gateway[int(rng.integers(0, 6))], "reseller-card-0", f"please {_words(rng, 8)}")
    add_people(log, rng, 100)
    result = run_detect(log.frame())
    assert list(clusters_of(result, subs).values()) == [30]
    assert flagged(result, subs) == 0


JAPANESE_TOPICS = ("東京", "天気", "料理", "歴史", "経済", "野球", "音楽", "映画", "旅行", "健康", "数学", "英語", "会社", "電車",
                   "季節", "文化")
JAPANESE_REQUESTS = ("{}について、わかりやすく説明してください。", "{}の意味を教えてください。")


def japanese_world(seed: int = 3, carrier: bool = True) -> tuple[Log, list[str], list[str]]:
    """12 Japanese speakers in 4 groups of 3 (behind a mobile carrier's rotating exits, 8 IP addresses
    in 8 networks per group, no card; or ``carrier=False``: a family's home line and card) and 20
    more on their own home lines, all asking in ordinary polite phrasing ("...について、わかりやすく
    説明してください", "...の意味を教えてください") about two-word topics. Ordinary people around."""
    rng = np.random.default_rng(seed)
    log = Log()
    groups, loners = [], []

    def request() -> str:
        topic = "".join(JAPANESE_TOPICS[int(i)] for i in rng.integers(0, len(JAPANESE_TOPICS), 2))
        return JAPANESE_REQUESTS[int(rng.integers(0, 2))].format(topic)

    for g in range(4):
        exits = [f"{110 + g}.{20 + k}.{g}.{k + 1}" for k in range(8)]
        for i in range(3):
            acc = f"jp{g}x{i}"
            groups.append(acc)
            for _ in range(int(rng.integers(12, 20))):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(7, 24)),
                                    minutes=int(rng.integers(0, 60)))
                log.add(acc, ts, exits[int(rng.integers(0, 8))] if carrier else _private_ip(8000 + g),
                        None if carrier else f"jp-family-card-{g}", request())
    for u in range(20):
        acc = f"jplone{u}"
        loners.append(acc)
        for _ in range(int(rng.integers(3, 8))):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, _private_ip(8500 + u), f"jplone-card-{u}", request())
    add_people(log, rng, 80)
    return log, groups, loners


def test_japanese_speakers_on_mobile_carriers_are_not_flagged():
    """Was a strict xfail: in spaceless scripts each character is a word, so a passage of 8 shared
    shingles was 12 characters -- ordinary polite phrasing, 100% "templated", and behind a carrier's
    exits all 12 were flagged. Fixed by SPACELESS_TEMPLATE_SHINGLES (about 24 characters)."""
    log, groups, loners = japanese_world()
    result = run_detect(log.frame())
    assert len(clusters_of(result, groups)) == 4
    assert flagged(result, groups + loners) == 0, flag_why(result, groups + loners)


def test_ordinary_japanese_requests_are_not_a_template():
    log, groups, _ = japanese_world(carrier=False)
    result = run_detect(log.frame())
    rows = {cluster_row(result, a)["cluster_id"]: cluster_row(result, a) for a in groups}
    assert flagged(result, groups) == 0
    assert max(row["template_share"] for row in rows.values()) < 0.5
