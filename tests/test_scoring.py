"""Scoring components on hand-built clusters: a fleet is flagged, a team is not."""

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from graphlink.pipeline import run_detect
from graphlink.stages.scoring import COMPONENTS

T0 = datetime(2024, 6, 3, tzinfo=timezone.utc)


def _world():
    events, accounts = [], []
    # A team of 10: one corporate card, one office IP, their own domain, working hours, hired over months.
    for i in range(10):
        acc = f"team{i}"
        accounts.append((acc, T0 - timedelta(days=30 * i), "acme-corp.example"))
        for d in range(10):
            ts = T0 + timedelta(days=d, hours=9 + (i + d) % 8, minutes=i)
            events.append((acc, ts, "192.0.2.10", "card-acme", f"summarise ticket {d} for the weekly report"))
    # A fleet of 12: cards from a pool of 3, proxies rotating per request, created within an hour,
    # firing in the same minutes around the clock.
    for i in range(12):
        acc = f"fleet{i}"
        accounts.append((acc, T0 - timedelta(hours=1) + timedelta(minutes=3 * i), "mailinator.example" if i % 2 else "gmail.com"))
        for k in range(48):
            ts = T0 + timedelta(hours=k, seconds=i)
            ip = f"10.{(i * 48 + k) % 250}.{k}.{i + 1}"
            events.append((acc, ts, ip, f"pool-{i % 3}",
                           f"think step by step and show all of your reasoning before answering question {k}"))
    # Background people so rarity weights and "typical" volumes mean something.
    for i in range(60):
        acc = f"user{i}"
        accounts.append((acc, T0 - timedelta(days=i), "mailinator.example" if i % 3 == 0 else "gmail.com"))
        for d in range(3):
            events.append((acc, T0 + timedelta(days=d, hours=12 + i % 6), f"172.16.{i}.{d + 1}", f"own-{i}",
                           f"question number {i} {d} about cooking"))
    ev = pl.DataFrame(events, schema=["account_id", "timestamp", "ip", "payment_fingerprint", "prompt"], orient="row")
    acc = pl.DataFrame(accounts, schema=["account_id", "created_at", "email_domain"], orient="row")
    return ev.with_columns(pl.col("timestamp").dt.cast_time_unit("us")), acc.with_columns(
        pl.col("created_at").dt.cast_time_unit("us"))


def test_team_one_cluster_not_flagged():
    events, accounts = _world()
    result = run_detect(events, accounts)
    by_member = result.accounts.join(result.clusters, on="cluster_id")
    team = by_member.filter(pl.col("account_id").str.starts_with("team"))
    assert team["cluster_id"].n_unique() == 1 and team.height == 10
    t = team.row(0, named=True)
    assert t["size"] == 10 and not t["flagged"]
    assert t["ip_spread"] == 0.0 and t["around_the_clock"] == 0.0 and t["creation_burst"] == 0.0
    assert t["payment_reuse"] == 0.0 and t["org_coherence"] == 1.0  # the team's card is its own company's
    assert all(0.0 <= (t[c] or 0.0) <= 1.0 for c in COMPONENTS)


def test_fleet_flagged_team_not():
    """The fleet's three card groups (4 accounts each) are its cells: three clusters,
    each below ``min_flag_size``, tied by the templates they send into one campaign
    of 12, which is flagged whole; the team (one cluster, one campaign) is not."""
    events, accounts = _world()
    result = run_detect(events, accounts)
    by_member = result.accounts.join(result.clusters.drop("campaign_id"), on="cluster_id")
    fleet = by_member.filter(pl.col("account_id").str.starts_with("fleet"))
    team = by_member.filter(pl.col("account_id").str.starts_with("team"))
    assert fleet.height == 12 and fleet["campaign_id"].n_unique() == 1 and fleet["cluster_id"].n_unique() <= 3
    assert fleet["flagged"].all() and fleet["size"].min() >= 4
    assert team["cluster_id"].n_unique() == 1 and team.height == 10 and not team["flagged"].any()
    assert set(fleet["campaign_id"]).isdisjoint(set(team["campaign_id"]))
    campaign = result.campaigns.filter(pl.col("campaign_id") == fleet["campaign_id"][0]).row(0, named=True)
    assert campaign["accounts"] == 12 and campaign["flagged"] and "prompt" in campaign["ties"]
    f, t = fleet.row(0, named=True), team.row(0, named=True)
    assert f["flagged"] and not t["flagged"]
    assert f["score"] > t["score"]
    # The components say why.
    assert f["ip_spread"] > 0.9 and t["ip_spread"] == 0.0
    assert f["around_the_clock"] == 1.0 and t["around_the_clock"] == 0.0
    assert f["creation_burst"] == 1.0 and t["creation_burst"] == 0.0
    assert f["payment_reuse"] > 0.5 and t["payment_reuse"] == 0.0  # the team's card is its own company's
    assert t["org_coherence"] == 1.0 and f["org_coherence"] == 0.0
    assert "median account used 48 IP addresses in 48 IP networks" in f["why"] and "of prompts are templated" in f["why"]
    assert all(0.0 <= (f[c] or 0.0) <= 1.0 for c in COMPONENTS)


def test_components_are_null_without_their_data():
    events, _ = _world()
    result = run_detect(events.drop("prompt"))
    fleet = result.accounts.join(result.clusters, on="cluster_id").filter(pl.col("account_id") == "fleet0")
    row = fleet.row(0, named=True)
    assert row["creation_burst"] is None and row["org_coherence"] is None and row["template_share"] is None
    assert row["ip_spread"] is not None


def test_bystanders_are_detached_from_proxy_fleets():
    from graphlink.stages.outsiders import fleet_outsiders

    clusters = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 1, 1, 2, 2]},
                            schema_overrides={"account_idx": pl.UInt32})
    scored = pl.DataFrame({"cluster_id": [1, 2], "flagged": [True, False], "ip_spread": [1.0, 1.0]})
    counts = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "kind": ["ip_net"] * 6,
                           "n_values": [60, 58, 62, 2, 50, 1]}, schema_overrides={"account_idx": pl.UInt32})
    # Account 3 sits behind one home network inside a fleet rotating ~60 networks; cluster 2
    # is not flagged, so its members are left alone.
    assert fleet_outsiders(clusters, scored, counts).to_list() == [3]
    calm = scored.with_columns(pl.lit(0.2).alias("ip_spread"))
    assert fleet_outsiders(clusters, calm, counts).to_list() == []


def test_static_members_tied_to_the_fleet_by_its_card_or_template_stay():
    """A member rotating less than the fleet (a static server, three requests) stays when it shares
    the fleet's own card or template; one sharing only a reused address and a stock phrase leaves."""
    from graphlink.stages.outsiders import fleet_outsiders

    u32 = {"account_idx": pl.UInt32}
    # Cluster 1: a rotating fleet (0-3) and three static members: 4 pays from the fleet's card,
    # 5 sends the fleet's template, 6 shares only a stock phrase that 40 people outside use.
    clusters = pl.DataFrame({"account_idx": list(range(7)), "cluster_id": [1] * 7}, schema_overrides=u32)
    scored = pl.DataFrame({"cluster_id": [1], "flagged": [True], "ip_spread": [1.0]})
    counts = pl.DataFrame({"account_idx": list(range(7)), "kind": ["ip_net"] * 7,
                           "n_values": [60, 58, 62, 55, 1, 2, 1]}, schema_overrides=u32)
    card, template, stock, address = 10, 11, 12, 13
    rows = ([(a, card) for a in (0, 1, 4)] + [(a, template) for a in (0, 1, 2, 3, 5)]
            + [(a, stock) for a in (2, 6)] + [(a, address) for a in range(7)])
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [card, template, stock, address],
                            "kind": ["payment", "prompt", "prompt", "ip"], "df": [3, 5, 42, 7]},
                           schema_overrides={"signal_idx": pl.UInt32})
    assert fleet_outsiders(clusters, scored, counts).to_list() == [4, 5, 6]  # the network count alone
    assert fleet_outsiders(clusters, scored, counts, memberships=memberships, signals=signals).to_list() == [6]
    # A value the fleet holds must be shared inside the member's own cluster to keep it.
    alone = memberships.filter(~((pl.col("signal_idx") == card) & (pl.col("account_idx") != 4)))
    assert fleet_outsiders(clusters, scored, counts, memberships=alone, signals=signals).to_list() == [4, 6]



def test_rotating_bystanders_on_the_fleets_proxy_leave_when_the_fleet_is_known_by_its_values():
    """A bystander on the fleet's own commercial proxy rotates like the fleet. In a fleet whose
    members each hold its template with another member (IDENTITY_COVER), a member holding none of
    its values and phrasing otherwise (a stock passage in 1 of 10 prompts) leaves; a camouflaged member (the template in 40 % of its
    prompts, too few for prompt phrases) stays; without ``account_stats`` nobody rotating is judged."""
    from graphlink.stages.outsiders import IDENTITY_COVER, PHRASING_SHARE, fleet_outsiders

    u32 = {"account_idx": pl.UInt32}
    n = 20  # 0-17 the fleet, 18 a camouflaged member, 19 a bystander; all rotate
    clusters = pl.DataFrame({"account_idx": list(range(n)), "cluster_id": [1] * n}, schema_overrides=u32)
    scored = pl.DataFrame({"cluster_id": [1], "flagged": [True], "ip_spread": [1.0]})
    counts = pl.DataFrame({"account_idx": list(range(n)), "kind": ["ip_net"] * n, "n_values": [50] * n},
                          schema_overrides=u32)
    template, address = 11, 13
    rows = [(a, template) for a in range(18)] + [(a, address) for a in range(n)]
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [template, address], "kind": ["prompt", "ip"], "df": [18, 30]},
                           schema_overrides={"signal_idx": pl.UInt32})
    stats = pl.DataFrame({"account_idx": list(range(n)), "prompts_sampled": [10] * n,
                          "prompts_scripted": [10] * 18 + [4, 1]}, schema_overrides=u32)
    assert 18 / n >= IDENTITY_COVER and 0.1 < PHRASING_SHARE * (185 / 200) <= 0.4
    args = (clusters, scored, counts)
    kw = dict(memberships=memberships, signals=signals)
    assert fleet_outsiders(*args, **kw, account_stats=stats).to_list() == [19]
    assert fleet_outsiders(*args, **kw).to_list() == []
    # A fleet most of whose members hold none of its values (own cards, few templates) is not judged by
    # them -- but one whose members are on a script is known by it (session 19: address_bystanders), and
    # the member off it leaves; with the fleet's own phrasing at 4 of 10 prompts, nobody is judged.
    sparse = memberships.filter((pl.col("signal_idx") != template) | (pl.col("account_idx") < 5))
    assert fleet_outsiders(*args, memberships=sparse, signals=signals, account_stats=stats).to_list() == [19]
    loose = stats.with_columns(pl.when(pl.col("account_idx") < 18).then(4).otherwise(pl.col("prompts_scripted"))
                               .alias("prompts_scripted"))
    assert fleet_outsiders(*args, memberships=sparse, signals=signals, account_stats=loose).to_list() == []
    # A member with no sampled prompt is not judged by its phrasing (unknown, not zero).
    silent = stats.with_columns(pl.when(pl.col("account_idx") == 19).then(0).otherwise(pl.col(c)).alias(c)
                                for c in ("prompts_sampled", "prompts_scripted"))
    assert fleet_outsiders(*args, **kw, account_stats=silent).to_list() == []
    # A fleet that does not phrase (a short template, free writing: under MIN_FLEET_PHRASING of its
    # prompts scripted) says nothing by its members' phrasing.
    from graphlink.stages.outsiders import MIN_FLEET_PHRASING
    free = stats.with_columns(pl.when(pl.col("account_idx") < 18).then(1).otherwise(0).alias("prompts_scripted"))
    assert 18 / 200 < MIN_FLEET_PHRASING
    assert fleet_outsiders(*args, **kw, account_stats=free).to_list() == []


def test_scores_and_flags_do_not_depend_on_the_evidence_table():
    """The pipeline finds fleet outsiders with a provisional pass that skips the evidence table."""
    from conftest import planted_world

    from graphlink.contract import EVIDENCE_SCHEMA
    from graphlink.stages.ingest import events_from_frame
    from graphlink.pipeline import run_detect
    from graphlink.stages.scoring import score_clusters

    events, _ = planted_world()
    result = run_detect(events)
    membership = result.index.join(result.accounts.select("account_id", "cluster_id"), on="account_id").select(
        "account_idx", "cluster_id")
    common = dict(index=result.index, memberships=result.affiliations, signals=result.signals,
                  events=events_from_frame(events).frame)
    with_evidence = score_clusters(membership, evidence=result.evidence, **common)
    without = score_clusters(membership, evidence=pl.DataFrame(schema=EVIDENCE_SCHEMA), **common)
    cols = ["cluster_id", "score", "flagged"]
    assert with_evidence.select(cols).equals(without.select(cols))
    assert with_evidence["flagged"].any() or with_evidence["score"].max() > 0
