"""Break-it review of ``scripted_accounts`` (branch fleet23, 738887f): one payer's script over many accounts.

The component counts members whose sampled requests are mostly the cluster's own template and that are
*not on an hourly schedule*; a company's jobs are supposed to be excused by their scheduler. Findings:

* **Fixed (defect)** -- only an *hourly* job was a schedule. A company job every 10, 15, 20 or 30 minutes
  (``*/15`` cron), or at :00 in some hours and :30 in others, puts at most half its minutes in one 3-minute
  window past the hour, so its 12 accounts on the corporate card were "unscheduled scripted" and flagged
  (score 0.957, ``scripted_accounts`` 0.917). Now a schedule is runs recurring at one phase of any period
  dividing the hour whose windows cover less than half of it (10, 12, 15, 20, 30, 60 minutes), with the
  majority measured beyond chance (``(s - c) / (1 - c) > 1/2``, ``c`` the share of the hour the windows
  cover) and :data:`SCHEDULE_RUNS` runs per window.
  On the 18 dev worlds (``benchmarks/quality_sweep.py "/tmp/tl/*"``) every world's F1, P, R and flagged
  benign counts are identical to fleet23; on the 3 org worlds with ``--accounts`` (ind_s3: 11 of 7,954
  clustered accounts' schedules change, 10 now scheduled -- benign teams' daily jobs beside staff
  requests, no ring account -- one the other way) and one 5-account ring cluster of ind_s3 drops to 0.52 (recall 0.940 -> 0.938, s2 0.955
  -> 0.954) through the outsider/own-template cascade, not its own members' schedules (unchanged).
  ``scheduled_accounts`` sorts one packed integer instead of windowing every active minute: 3.4 s for
  4M minutes of 20k accounts against fleet23's 5.4 s.
* **Fixed (defect)** -- active minutes, not runs: an hourly job at :00 whose run takes eight minutes put
  3 of 8 active minutes in the window and was flagged (0.957). The module said "a run of three calls is one
  run"; now a run is a stretch of active minutes less than ``PHASE_WINDOW`` apart, its phase its start, and
  a run longer than the period is no firing of the job (so a fleet working non-stop from 9:00 stays flagged).
* **Fine** -- a fleet of office-hours accounts at random minutes is never scheduled, random accounts of
  any size are no more often scheduled than by fleet23's hourly rule (+1 point), Unicode-tricked templates (zero-width spaces,
  a Cyrillic ``e``) still read as one template, offices at +5:45 and across a DST change are scheduled,
  a startup with 4 unscheduled service accounts of 6 stays unflagged, a family whose children use a
  popular tutoring app is unflagged (the app's prompt is public, not the cluster's own), logs without
  timestamps, prompts or cards (or with the card column all null) give null, not a crash.
* **Fine (noted)** -- ``test_a_fleet_on_one_card_running_one_script_is_flagged_and_a_scheduled_team_is_not``
  in tests/test_scripted_accounts.py does not test the schedule: ``add_team``'s job template is shorter than
  a 12-word passage, so its team scores 0 at random minutes too. Tested here with a long job template.
* **Evasion, by design (not caught by this component)** -- a fleet putting every account on a :00 job
  (score 0), or paying with a card per account (tests/test_scripted_accounts.py).
* **Session 23's merge (office rule)** -- members whose card's holders mostly share an address of the
  card's own (an office) are excused too (graphlink.stages.card_pools.office_members); the teams and
  fleets above run from an address per account (``job_team(ip=None)``) so that the schedule is what is
  tested, and CI bots at their office are now excused (a passing test; on cloud runners still a limit).
* **xfail (limits)** -- a scheduler whose delay spreads runs over :00-:09 (a queue, a CI service's cron)
  reads as unscheduled; a team whose accounts have run only twice (too few runs to see any schedule) is
  counted unscheduled; CI bots (one eval template, commit-triggered bursts, one card) and a reseller's
  sub-accounts (one card, one wrapper template) read as one payer's fleet from events alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.config import PipelineConfig
from graphlink.pipeline import run_detect
from graphlink.stages.schedules import SCHEDULE_RUNS, scheduled_accounts
from tests.test_detection_classes import RING_TEMPLATE, T0, Log, add_people, add_ring, cluster_row, clusters_of

ALONE = replace(PipelineConfig(), scoring=replace(PipelineConfig().scoring, flag_campaigns=False))
DATACENTER = [f"35.{190 + k // 8}.{k % 8}.3" for k in range(24)]  # 4 of 24 per account: no office
JOB = "Internal {} job: read the support ticket below, summarise it for the weekly report and list the action items: {}"
FLEET = "You are an expert. Solve the following task and show every intermediate step: {}"
VOCAB = ("river", "garden", "recipe", "holiday", "budget", "poem", "bicycle", "tax", "cat", "python", "history",
         "song", "paint", "moon", "train", "letter", "soup", "chess", "rain", "market")


def words(rng: np.random.Generator, n: int) -> str:
    return " ".join(VOCAB[int(i)] for i in rng.integers(0, len(VOCAB), n))


def job_team(log: Log, rng: np.random.Generator, name: str, n: int, minutes, days: int = 5,
             hours=range(9, 17), ip: str | None = "192.0.2.60", card: str | None = None, template: str | None = None,
             hour_shift=lambda d: 0) -> list[str]:
    """``n`` accounts on one card and address (``ip``; None: each account on its own VM address, so no
    office excuses them -- session 23's office rule), each sending ``template`` at ``minutes(rng, d, h)``
    past each hour ``h`` of day ``d`` (UTC hour ``h + hour_shift(d)``)."""
    template = template or JOB.replace("{}", name, 1)
    names = []
    for i in range(n):
        acc = f"{name}{i}"
        names.append(acc)
        for d in range(days):
            for h in hours:
                for m in minutes(rng, d, h):
                    ts = T0 + timedelta(days=d, hours=h + hour_shift(d), minutes=int(m), seconds=int(rng.integers(0, 20)))
                    log.add(acc, ts, ip or f"34.{200 + i // 200}.{i % 200}.{7 + len(name)}", card or f"{name}-card", template.format(f"{words(rng, 2)} {int(rng.integers(0, 10_000))}"))
    return names


def team_row(log: Log, team: list[str], **kwargs) -> dict:
    result = run_detect(log.frame(), config=ALONE, **kwargs)
    assert list(clusters_of(result, team).values()) == [len(team)]
    return cluster_row(result, team[0])


# --- fixed: sub-hourly schedules and runs longer than the window ----------------------------------

@pytest.mark.parametrize("name, minutes", [
    ("q10", lambda r, d, h: range(0, 60, 10)),
    ("q15", lambda r, d, h: (0, 15, 30, 45)),
    ("q20", lambda r, d, h: (0, 20, 40)),
    ("q30", lambda r, d, h: (0, 30)),
    ("alt", lambda r, d, h: (0 if h % 2 else 30,)),   # :00 in odd hours, :30 in even ones
    ("long", lambda r, d, h: range(0, 8)),             # hourly at :00, each run taking eight minutes
])
def test_a_company_job_on_any_cron_schedule_is_excused(name, minutes):
    """Twelve service accounts on the corporate card running one job from a scheduler. On fleet23 each
    of these was flagged (score 0.957): only one 3-minute window of *active minutes* per hour was a schedule."""
    rng = np.random.default_rng(1)
    log = Log()
    team = job_team(log, rng, name, 12, minutes, ip=None)
    add_people(log, rng, 100)
    row = team_row(log, team)
    assert row["scripted_accounts"] == 0.0 and not row["flagged"]


def test_the_schedule_is_what_excuses_a_team():
    """The same team and long job template: at :00 excused, at a random minute each hour one payer's
    unscheduled script (fleet23's own team test uses a template too short to be scripted at all)."""
    for minutes, flagged in ((lambda r, d, h: (0,), False), (lambda r, d, h: (int(r.integers(0, 60)),), True)):
        rng = np.random.default_rng(2)
        log = Log()
        team = job_team(log, rng, "acme", 12, minutes, ip=None)
        add_people(log, rng, 100)
        row = team_row(log, team)
        assert row["flagged"] is flagged
        assert (row["scripted_accounts"] > 0.9) is flagged


def test_a_fleet_working_non_stop_from_the_hour_is_still_flagged():
    """A run longer than the period is no firing of a job: accounts busy every minute from 9:00 to 17:00
    start one run a day at :00, and are still unscheduled."""
    rng = np.random.default_rng(13)
    log = Log()
    fleet = job_team(log, rng, "worker", 12, lambda r, d, h: range(60), days=4, ip=None, card="op-card",
                     template=FLEET)
    add_people(log, rng, 100)
    row = team_row(log, fleet)
    assert row["scripted_accounts"] == pytest.approx(1 - 1 / 12) and row["flagged"]


def hourly_rule(keys: list[int]) -> bool:
    """fleet23's rule, by a direct count: more than half the active minutes in one 3-minute window past
    the hour, in 3 or more distinct hours."""
    keys = sorted(set(keys))
    best = 0
    for centre in range(60):
        inside = [k for k in keys if min((k - centre) % 60, (centre - k) % 60) <= 1]
        if len({k // 60 for k in inside}) >= 3:
            best = max(best, len(inside))
    return best > 0.5 * len(keys)


def test_random_timing_is_no_more_often_a_schedule():
    """The sub-hourly periods must not make random timing look scheduled: 300 accounts at random minutes
    for each size (3 to 300 active minutes over 36 hours): no more often scheduled than by fleet23's
    hourly rule (which itself calls some 5 % of 4- or 5-minute accounts scheduled) plus 1 point; and 300
    office-hours fleet accounts (two requests an hour at random minutes, 4 days): none."""
    rng = np.random.default_rng(5)
    for n in (3, 4, 5, 6, 8, 12, 20, 36, 72, 300):
        keys = [[int(k) for k in rng.integers(0, 36 * 60, n)] for _ in range(300)]
        frame = pl.DataFrame({"account_idx": [a for a, ks in enumerate(keys) for _ in ks],
                              "key": [k for ks in keys for k in ks]}, schema={"account_idx": pl.UInt32, "key": pl.UInt64})
        before = sum(hourly_rule(ks) for ks in keys) / len(keys)
        assert scheduled_accounts(frame)["scheduled"].mean() <= before + 0.01, n
    keys = [[d * 1440 + h * 60 + int(rng.integers(0, 60)) for d in range(4) for h in range(9, 18) for _ in range(2)]
            for _ in range(300)]
    frame = pl.DataFrame({"account_idx": [a for a, ks in enumerate(keys) for _ in ks],
                          "key": [k for ks in keys for k in ks]}, schema={"account_idx": pl.UInt32, "key": pl.UInt64})
    assert not scheduled_accounts(frame)["scheduled"].any()


# --- fine ---------------------------------------------------------------------------------------

def test_offices_in_odd_time_zones_and_across_a_dst_change_are_scheduled():
    """Kathmandu (+5:45: its :00 is :15 UTC) and New York, whose 9:00 job moves an hour in UTC mid-log."""
    rng = np.random.default_rng(16)
    log = Log()
    tmpl = JOB.replace("{}", "glob", 1)
    ktm = job_team(log, rng, "ktm", 8, lambda r, d, h: (15,), ip="192.0.2.90", card="glob-card", template=tmpl)
    nyc = job_team(log, rng, "nyc", 8, lambda r, d, h: (0,), ip="192.0.2.91", card="glob-card", template=tmpl,
                   hours=range(13, 21), hour_shift=lambda d: 0 if d < 2 else 1)
    add_people(log, rng, 100)
    result = run_detect(log.frame(), config=ALONE)
    for acc in (ktm[0], nyc[0]):
        row = cluster_row(result, acc)
        assert row["scripted_accounts"] == 0.0 and not row["flagged"]


def test_a_startup_with_four_service_accounts_of_six_is_not_flagged():
    """Four service accounts working a queue (random minutes) beside two staff writing their own requests."""
    rng = np.random.default_rng(9)
    log = Log()
    svc = job_team(log, rng, "svc", 4, lambda r, d, h: (int(r.integers(0, 60)), int(r.integers(0, 60))),
                   ip="192.0.2.70", card="startup-card")
    staff = [f"staff{i}" for i in range(2)]
    for acc in staff:
        for _ in range(30):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(9, 18)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, "192.0.2.70", "startup-card", f"can you {words(rng, 8)}")
    add_people(log, rng, 100)
    row = team_row(log, svc + staff)
    assert row["scripted_accounts"] < 0.36 and not row["flagged"]


def test_a_family_using_a_popular_tutoring_app_is_not_flagged():
    rng = np.random.default_rng(11)
    log = Log()
    app = "You are a friendly homework tutor for children. Explain the answer step by step and ask a follow-up question: "
    family = [f"fam{i}" for i in range(5)]
    for acc in family:
        for _ in range(20):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(15, 22)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, "100.99.1.1", "family-card", app + words(rng, 4))
    add_people(log, rng, 100)
    for i in range(30):   # other users of the app, each on their own
        for _ in range(5):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(15, 22)), minutes=int(rng.integers(0, 60)))
            log.add(f"appuser{i}", ts, f"100.120.{i}.9", f"appuser-card-{i}", app + words(rng, 4))
    row = team_row(log, family)
    assert row["scripted_accounts"] == 0.0 and not row["flagged"]


def test_a_unicode_tricked_template_is_still_one_payers_script():
    """Zero-width characters between words and a Cyrillic ``е`` in every other account."""
    rng = np.random.default_rng(15)
    log = Log()
    fleet = add_ring(log, rng, "uf", 12, 1, DATACENTER, RING_TEMPLATE)
    zw = ["\u200b", "\u200c", "\u200d", "\u2060"]
    rows = []
    for acc, ts, ip, card, prompt in log.rows:
        i = int(acc[2:])
        prompt = "".join(ch + (zw[(i + j) % 4] if ch == " " and (i + j) % 2 else "") for j, ch in enumerate(prompt))
        rows.append((acc, ts, ip, card, prompt.replace("e", "\u0435") if i % 2 else prompt))
    log.rows = rows
    add_people(log, rng, 100)
    row = team_row(log, fleet)
    assert row["scripted_accounts"] == pytest.approx(1 - 1 / 12) and row["flagged"]


def test_missing_timestamps_prompts_or_cards_give_null():
    rng = np.random.default_rng(12)
    log = Log()
    fleet = add_ring(log, rng, "fleet", 12, 1, DATACENTER, RING_TEMPLATE)
    add_people(log, rng, 100)
    frame = log.frame()
    variants = [frame.drop(c) for c in ("timestamp", "prompt", "payment_fingerprint")]
    variants += [frame.with_columns(pl.lit(None, pl.String).alias("payment_fingerprint")),
                 frame.with_columns(pl.lit(None, pl.String).alias("prompt"))]
    for variant in variants:
        result = run_detect(variant, config=ALONE)
        assert result.clusters["scripted_accounts"].null_count() == result.clusters.height
        assert not result.clusters["scripted_accounts"].is_nan().any()


# --- evasion the component does not catch (by design) -----------------------------------------------

def test_a_fleet_on_a_schedule_evades_the_component():
    """An operator firing every account at :00 looks like a company's job: not caught by this component
    (nor by any other here). Documented, not fixed."""
    rng = np.random.default_rng(14)
    log = Log()
    fleet = job_team(log, rng, "sf", 12, lambda r, d, h: (0, 1), days=4, ip=None, card="op-card", template=FLEET)
    add_people(log, rng, 100)
    row = team_row(log, fleet)
    assert row["scripted_accounts"] == 0.0 and not row["flagged"]


# --- limits -----------------------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="limit: a scheduler whose delay spreads a job's runs over :00-:09 (a queue, "
                   "a CI service's cron) puts no majority in one 3-minute window and reads as unscheduled; a wider "
                   "window would excuse fleets that merely favour the start of the hour")
def test_a_job_whose_scheduler_delays_it_up_to_nine_minutes_is_excused():
    rng = np.random.default_rng(5)
    log = Log()
    team = job_team(log, rng, "jit", 12, lambda r, d, h: (int(r.integers(0, 10)),), ip=None)
    add_people(log, rng, 100)
    assert not team_row(log, team)["flagged"]


@pytest.mark.xfail(strict=True, reason=f"limit: accounts with fewer than {SCHEDULE_RUNS} runs show no schedule "
                   "and count as unscheduled; counting them as scheduled would excuse fleets of barely used accounts")
def test_a_new_team_that_ran_its_job_twice_is_not_flagged():
    rng = np.random.default_rng(8)
    log = Log()
    team = job_team(log, rng, "few", 12, lambda r, d, h: (0,), days=1, hours=range(9, 11), ip=None)
    add_people(log, rng, 100)
    assert not team_row(log, team)["flagged"]


def ci_world(seed: int = 10) -> tuple[Log, list[str], pl.DataFrame]:
    """Eight CI bot accounts on the company card and office address, each CI run a burst of the eval template
    at a commit's time (human hours, any minute)."""
    rng = np.random.default_rng(seed)
    log = Log()
    bots = [f"ci{i}" for i in range(8)]
    for acc in bots:
        for _ in range(12):
            d, h, m = int(rng.integers(0, 5)), int(rng.integers(9, 18)), int(rng.integers(0, 56))
            for k in range(4):
                log.add(acc, T0 + timedelta(days=d, hours=h, minutes=m + k), "192.0.2.80", "ci-card",
                        f"Evaluate the model answer for test case {words(rng, 2)} {int(rng.integers(0, 9999))} "
                        "against the rubric and reply PASS or FAIL")
    people = add_people(log, rng, 100)
    accounts = pl.DataFrame({"account_id": bots + people,
                             "email_domain": ["acme.example"] * len(bots) + ["gmail.com"] * len(people)})
    return log, bots, accounts


def test_ci_bots_with_their_company_domain_are_not_flagged():
    log, bots, accounts = ci_world()
    row = team_row(log, bots, accounts=accounts)
    assert row["org_coherence"] == 1.0 and not row["flagged"]


def test_ci_bots_at_their_office_are_not_flagged_from_events_alone():
    """The office rule (session 23's merge): the bots share the office address nobody else uses."""
    log, bots, _ = ci_world()
    row = team_row(log, bots)
    assert row["scripted_accounts"] == 0.0 and not row["flagged"]


@pytest.mark.xfail(strict=True, reason="limit (the in-house-tool limit again): CI bots sending one eval template at "
                   "commit times on the company card from cloud runners (an address per bot) read as one payer's "
                   "fleet from events alone")
def test_ci_bots_on_cloud_runners_are_not_flagged_from_events_alone():
    log, bots, _ = ci_world()
    log.rows = [(a, t, f"34.90.{int(a[2:])}.5" if a.startswith("ci") else ip, c, p) for a, t, ip, c, p in log.rows]
    assert not team_row(log, bots)["flagged"]


@pytest.mark.xfail(strict=True, reason="limit: a reseller paying for its clients' sub-accounts with one card, each "
                   "sub-account sending the reseller's wrapper template, is one payer's script over many accounts")
def test_a_resellers_sub_accounts_are_not_flagged():
    rng = np.random.default_rng(17)
    log = Log()
    subs = [f"client{i}" for i in range(10)]
    for i, acc in enumerate(subs):
        for _ in range(40):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(0, 24)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, f"52.{10 + i}.3.4", "reseller-card",
                    f"ChatDesk for client {i}: you are the support assistant of this shop; answer politely using the "
                    f"product catalogue below. Customer asks: {words(rng, 5)}")
    add_people(log, rng, 100)
    assert not team_row(log, subs)["flagged"]
