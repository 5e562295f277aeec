"""Session 60, helper brk60: break-it review of the session's merged branches (int60).

Hand-built logs, public names only. A strict xfail is a finding its author must fix (the test asks what should
happen); a passing test pins an attack that held.

* ``[scoring] sleepless_members`` (rec60; asked ON explicitly here, whatever the default): a member that never sleeps
  counts as load spread whatever it writes, so benign round-the-clock groups on one card -- a 24/7 support desk's
  shared accounts writing their own questions, a monitoring service's probes polling at random intervals, a company's
  queue workers behind its office NAT with jittered (unscheduled) jobs -- go from unflagged to flagged.
* the campaign-id rewrite of whys across ``--previous`` (lead60): an id past Int64 failed the whole rewrite; an
  unmapped id written with leading zeros lost them (fixed on brk60: kept as written, as the per-row rewrite did).
* ``match --redact`` (lead60), ``public_phrases`` (def60, default on), determinism: held.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.stages.sleepless import sleepless_accounts
from graphlink.stages.stable_campaigns import rekey_campaign_ids

ON = graphlink.build_config(sleepless_members=True)
OFF = graphlink.build_config(sleepless_members=False)
START = dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)
DAYS = 6
WORDS = ("river garden budget engine letter window market planet silver doctor travel kitchen winter paper signal "
         "harbor forest museum ticket camera pocket bridge island rocket violin candle orange blanket mirror ladder "
         "jacket tunnel basket dragon pepper sugar thunder puzzle anchor velvet saddle marble canyon meadow lantern "
         "copper feather glacier harvest compass ribbon falcon").split()
SCHEMA = {"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
          "payment_fingerprint": pl.String, "prompt": pl.String}
TEMPLATE = ("Solve the following problem. Think step by step and write out every intermediate step of your reasoning "
            "in full before giving the final answer. Problem: ")
STOCK = "You are a helpful assistant. Answer concisely and accurately, using bullet points where helpful. Question: "


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def day_time(rng: random.Random, tz: int, first: int = 8, last: int = 22) -> dt.datetime:
    """A request in waking hours (local ``first``..``last``) of a person in UTC offset ``tz``."""
    return START + dt.timedelta(seconds=rng.randrange(DAYS) * 86400 + rng.randrange(first * 3600, last * 3600) - tz * 3600)


def anytime(rng: random.Random) -> dt.datetime:
    """A request at a random second of the log's days: jittered, on no schedule."""
    return START + dt.timedelta(seconds=rng.randrange(DAYS * 86400))


def people(rng: random.Random, n: int = 300, stock: int = 0) -> list[tuple]:
    """Ordinary people: own card and home address, own questions, awake in their own time zone; the first ``stock``
    of them start half their questions with a stock assistant prompt."""
    rows = []
    for i in range(n):
        tz, home, card = rng.choice([-5, 0, 1, 8]), f"81.{i // 200}.{i % 200}.{rng.randrange(1, 250)}", f"card-p{i}"
        for _ in range(rng.randrange(4, 30)):
            head = STOCK if i < stock and rng.random() < 0.5 else ""
            rows.append((f"p{i:03d}", day_time(rng, tz), home, card, head + words(rng, rng.randrange(6, 25))))
    return rows


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row").sort("timestamp")


def benign(kind: str, seed: int = 3) -> pl.DataFrame:
    """300 people and one benign round-the-clock group on one card (accounts ``b...``)."""
    rng = random.Random(seed)
    rows = people(rng, 150)
    if kind == "desk":  # a 24/7 support desk: 6 shared desk accounts used by three shifts, one card, one office NAT
        for i in range(6):
            rows += [(f"bd{i}", anytime(rng), "198.51.100.40", "card-desk", words(rng, rng.randrange(6, 25)))
                     for _ in range(rng.randrange(50, 90))]
    elif kind == "monitor":  # a monitoring service: 6 probe accounts, each on its own VM, polling at random intervals
        for i in range(6):
            rows += [(f"bm{i}", anytime(rng), f"52.10.{i}.7", "card-mon",
                      f"health check: reply with the single word OK {rng.randrange(1000)}") for _ in range(rng.randrange(60, 100))]
    elif kind == "workers":  # a company's 8 queue workers (jittered jobs, no schedule) and 2 staff, office NAT, one card
        for i in range(8):
            rows += [(f"bw{i}", anytime(rng), "198.51.100.20", "card-corp", "Summarise the following support ticket "
                      "for the queue, keep names and figures: " + words(rng, 20)) for _ in range(rng.randrange(60, 120))]
        for i in range(2):
            rows += [(f"bs{i}", day_time(rng, 1, 9, 18), "198.51.100.20", "card-corp", words(rng, 12)) for _ in range(30)]
    elif kind == "reseller":  # a reseller's 10 sub-accounts on its card: people, each asleep in their own time zone
        for i in range(10):
            tz = rng.choice([-8, 9, 5, 0, -3])
            rows += [(f"br{i}", day_time(rng, tz), f"90.{i}.1.{i + 3}", "card-resell", words(rng, rng.randrange(6, 25)))
                     for _ in range(rng.randrange(30, 60))]
    return frame(rows)


def flagged(result, prefix: str) -> int:
    flags = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return flags.filter(pl.col("account_id").str.starts_with(prefix) & pl.col("flagged").fill_null(False)).height


# ---------------------------------------------------------------------------------------------------------------
# sleepless members: benign round-the-clock groups on one card
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.xfail(strict=True, reason="brk60: sleepless_members counts a never-sleeping member whatever it writes; a "
                   "24/7 desk's shared accounts writing their own questions on one card score 0.51 -> 0.86 and are flagged")
def test_a_round_the_clock_support_desk_on_one_card_stays_unflagged():
    log = benign("desk")
    assert flagged(graphlink.detect(log, config=OFF), "bd") == 0  # unflagged before the switch (the test can fail)
    assert flagged(graphlink.detect(log, config=ON), "bd") == 0


@pytest.mark.xfail(strict=True, reason="brk60: a monitoring service's 6 probes polling at random intervals on one "
                   "card (own VMs, no template of the cluster's own) are flagged with sleepless_members (0.51 -> 0.86)")
def test_a_monitoring_service_polling_at_random_stays_unflagged():
    log = benign("monitor")
    assert flagged(graphlink.detect(log, config=OFF), "bm") == 0
    assert flagged(graphlink.detect(log, config=ON), "bm") == 0


@pytest.mark.xfail(strict=True, reason="brk60: a company's queue workers behind its office NAT with jittered jobs (no "
                   "schedule) lose the office exemption to sleepless_members, and the 2 staff are flagged with them")
def test_a_company_queue_with_jittered_jobs_behind_its_office_stays_unflagged():
    log = benign("workers")
    assert flagged(graphlink.detect(log, config=OFF), "b") == 0
    assert flagged(graphlink.detect(log, config=ON), "b") == 0


def test_a_resellers_sub_accounts_asleep_in_their_own_zones_stay_unflagged():
    # held: each sub-account is a person with a night of its own, whatever the zone
    assert flagged(graphlink.detect(benign("reseller"), config=ON), "br") == 0


def test_the_default_does_not_flag_the_support_desk():
    # whatever the lead decides for the default, it must not ban the desk (brk60 proposes sleepless_members off)
    assert flagged(graphlink.detect(benign("desk")), "bd") == 0


def test_a_script_that_pauses_eight_hours_a_day_is_not_sleepless():
    # the cheap evasion, pinned: a fleet that idles 8 consecutive hours a day (a third of its throughput) has a night
    hours = list(range(24))
    counts = pl.DataFrame({"account_id": ["bot"] * 24 + ["paused"] * 16 + ["paused_7h"] * 17,
                           "hour": hours + list(range(8, 24)) + list(range(7, 24)), "n": [5] * 24 + [5] * 16 + [5] * 17})
    got = dict(sleepless_accounts(counts).rows())
    assert got == {"bot": True, "paused": False, "paused_7h": False}  # 7 h: 5 of 85 requests in its quietest 8 (6 %)


# ---------------------------------------------------------------------------------------------------------------
# public phrases: camouflage with a stock prompt many people write
# ---------------------------------------------------------------------------------------------------------------
def ring(satellites: str, seed: int = 5) -> pl.DataFrame:
    """300 people (80 of them using a stock assistant prompt); a fleet of 20 on one card behind 4 proxies sending its
    template; 6 satellites on cards of their own behind the same proxies, sending ``satellites``' prompts."""
    rng = random.Random(seed)
    rows = people(rng, stock=80)
    proxies = [f"45.33.{k}.9" for k in range(4)]
    for i in range(20):
        rows += [(f"fl{i:02d}", anytime(rng), rng.choice(proxies), "card-fleet", TEMPLATE + words(rng, 15)) for _ in range(40)]
    for i in range(6):
        for _ in range(40):
            text = (STOCK if satellites == "mix" and rng.random() < 0.7 else TEMPLATE) + words(rng, 12)
            rows.append((f"sat{i}", anytime(rng), rng.choice(proxies), f"card-sat{i}", text))
    return frame(rows)


def test_satellites_camouflaged_with_a_stock_prompt_stay_flagged():
    # held: 70 % of each satellite's prompts are a stock phrase 80 people write, the rest the fleet's template
    result = graphlink.detect(ring("mix"), config=graphlink.build_config(public_phrases=True))
    assert (flagged(result, "fl"), flagged(result, "sat"), flagged(result, "p")) == (20, 6, 0)


def test_detect_is_deterministic():
    log = ring("mix")
    a, b = graphlink.detect(log), graphlink.detect(log)
    assert a.accounts.sort("account_id").equals(b.accounts.sort("account_id"))
    assert a.clusters.sort("cluster_id").equals(b.clusters.sort("cluster_id"))


# ---------------------------------------------------------------------------------------------------------------
# campaign ids in whys across --previous: odd ids
# ---------------------------------------------------------------------------------------------------------------
from tests._why_oracle import reference_why  # noqa: E402  (the per-row oracle, shared with test_lead60)


CLUSTER_WHYS = ["tied to flagged cluster 3 (campaign 0) by 2 cards", "campaign 0 as a whole (30 accounts): y",
                "tied to flagged cluster 3 (campaign 007) by 2 cards", "campaign 007 as a whole (3 accounts): y",
                "tied to flagged cluster 3 (campaign 123456789012) by x", "campaign 123456789012 as a whole (3 accounts): y",
                "tied to flagged cluster 3 (campaign 99999999999999999999) by x",
                "campaign 99999999999999999999 as a whole (3 accounts): y",
                "same operator as flagged cluster 2 (campaign 5)",
                'campaign 5 as a whole (3 accounts): templated ("campaign 5 as a whole (")', None, ""]
CAMPAIGN_WHYS = ["1 cluster; flagged through cluster 2 (campaign 0)",
                 "1 cluster; flagged through cluster 2 (campaign 123456789012), cluster 3 (campaign 5)",
                 '1 cluster; flagged through cluster 2 (campaign 5); templated "(campaign 5)"', None, ""]


@pytest.mark.parametrize("pairs", [{0: 5, 5: 0, 123456789012: 7}, {7: 1}, {1: 2}])
def test_odd_campaign_ids_are_rewritten_as_the_per_row_rewrite_did(pairs):
    # fixed on brk60: an id past Int64 failed the cast (the whole rewrite raised); "007" unmapped came back as "7"
    mapping = pl.DataFrame({"cluster_id": list(pairs), "stable_id": list(pairs.values())},
                           schema={"cluster_id": pl.Int64, "stable_id": pl.Int64})
    clusters = pl.DataFrame({"cluster_id": range(len(CLUSTER_WHYS)), "campaign_id": [1] * len(CLUSTER_WHYS),
                             "why": CLUSTER_WHYS}, schema_overrides={"why": pl.String})
    campaigns = pl.DataFrame({"campaign_id": range(100, 100 + len(CAMPAIGN_WHYS)), "why": CAMPAIGN_WHYS,
                              "row": range(len(CAMPAIGN_WHYS))}, schema_overrides={"why": pl.String})
    _, got, got_campaigns, _ = rekey_campaign_ids(mapping, pl.DataFrame({"account_id": ["a"], "campaign_id": [1]}),
                                                  clusters, campaigns, None)
    assert got["why"].to_list() == [reference_why(t, pairs, False) for t in CLUSTER_WHYS]
    assert got_campaigns.sort("row")["why"].to_list() == [reference_why(t, pairs, True) for t in CAMPAIGN_WHYS]


# ---------------------------------------------------------------------------------------------------------------
# match --redact: ids that are IPs, a new address, lookup mode
# ---------------------------------------------------------------------------------------------------------------
CARD = "tok_ringcard_7741"
runner = CliRunner()


def match_log(n: int, day: str, ip_ids: bool) -> pl.DataFrame:
    rows = [{"account_id": f"10.9.{i}.{i + 1}" if ip_ids else f"fresh{i}@mail.example", "timestamp": f"{day}T0{i % 6}:00:00",
             "ip": f"198.51.100.{i % 4 + 1}", "payment_fingerprint": CARD, "user_agent": "ringbot/2",
             "prompt": "explain step by step how you reach the answer"} for i in range(n)]
    rows += [{"account_id": f"person{i}@home.example", "timestamp": f"{day}T12:00:00", "ip": f"203.0.113.{i + 10}",
              "payment_fingerprint": f"own_{i}", "user_agent": "browser", "prompt": f"recipe {i}"} for i in range(4)]
    return pl.DataFrame(rows)


def test_match_redact_leaks_no_card_ip_or_mail_in_table_json_or_lookup(tmp_path: Path):
    earlier = graphlink.detect(match_log(8, "2026-01-01", ip_ids=True)).save(tmp_path / "day1")  # account ids are IPs
    new = pl.concat([match_log(5, "2026-01-02", ip_ids=False), pl.DataFrame([{
        "account_id": "x@evil.example", "timestamp": "2026-01-02T03:00:00", "ip": "192.0.2.77", "payment_fingerprint": CARD,
        "user_agent": "ringbot/2", "prompt": "explain step by step how you reach the answer"}])])
    new.write_parquet(tmp_path / "new.parquet")
    pl.DataFrame({"account_id": ["10.9.1.2", "203.0.113.10", "nobody@x.example"]}).write_csv(tmp_path / "ids.csv")
    raw = runner.invoke(app, ["match", str(earlier), str(tmp_path / "new.parquet"), "--out", str(tmp_path / "m0"), "--json"])
    assert CARD in raw.stdout  # the raw run quotes the card (the test can fail)
    for events in ("new.parquet", "ids.csv"):
        for extra in (["--json"], []):
            done = runner.invoke(app, ["match", str(earlier), str(tmp_path / events), "--out", str(tmp_path / "m"),
                                       "--redact-key", "k"] + extra)
            assert done.exit_code == 0, done.output
            leaks = [s for s in (CARD, "10.9.1.2", "10.9.0.1", "192.0.2.77", "203.0.113.10", "fresh0@", "x@evil", "nobody@")
                     if s in done.output]
            assert leaks == [], (events, extra, leaks)
            if extra:
                json.loads(done.stdout)


def test_bound_blocks_leaves_every_flag_as_it_was():
    # held: bound_blocks (cell60, on since the lead's 885ad1e) moves cells, never a flag, on satellites beside a fleet
    log = ring("mix")
    on, off = graphlink.detect(log), graphlink.detect(log, config=graphlink.build_config(bound_blocks=False))
    flags = lambda r: r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left").select(  # noqa: E731
        "account_id", pl.col("flagged").fill_null(False)).sort("account_id")
    assert flags(on).equals(flags(off)) and flags(on)["flagged"].sum() == 26


def test_odd_ids_among_the_other_flagged_clusters_a_tie_names_are_kept_or_rewritten():
    # fixed on brk60: the same cast in rekeying's list of other clusters (an id past Int64 raised; "007" became "7")
    from graphlink.stages.rekeying import rekey_why
    from graphlink.stages.tie_words import ALSO
    whys = [f"tied to flagged cluster 2 (campaign 1) by 2 IP addresses{ALSO}s {o} by 1 payment card or identifier; z"
            for o in ("1, 99999999999999999999", "007, 12", "0, 3")]
    mapping = pl.DataFrame({"cluster_id": [1, 12, 0, 2], "stable_id": [7, 1, 4, 2]})
    got = rekey_why(pl.DataFrame({"cluster_id": range(3), "why": whys}), mapping)["why"].to_list()
    assert got == [w.replace(f"s {o} by", f"s {n} by") for w, o, n in
                   zip(whys, ("1, 99999999999999999999", "007, 12", "0, 3"), ("7, 99999999999999999999", "007, 1", "4, 3"))]
