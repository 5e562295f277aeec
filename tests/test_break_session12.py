"""Review of session 12's ``network_cells`` (issue 17) before it becomes the default.

After Leiden, clusters whose members mostly live (>= half their events) on networks (/24, /48) that are
*exclusive* (>= 90 % of the accounts seen there are clustered) are joined into one cluster per connected
group of clusters and networks (:mod:`graphlink.stages.network_cells`, ``build_config(network_cells=True)``).

Each world is a small seeded log built with the helpers of ``test_detection_classes`` and fed to
:func:`graphlink.pipeline.run_detect` with the setting on (``ON``) and off (``OFF``, the default).
Tests marked ``xfail(strict=True)`` show a defect (they pass once it is fixed); plain tests are the
controls that pin down each defect's edge. The benign worlds share one shape: several benign groups, each
its own Leiden cluster (one card, one address or /56 each), that are the only API users of one network.
Joined, their cards read as a card pool of one "fleet" and the whole group is flagged -- the join turns
"these groups share a /24" into the evidence the score flags. Nothing separates them from an operator's
cell cut into card groups on a datacenter /24 (:func:`dc_cell_world`), which is what the rule was built
to join: the same shape, with one card per group and one template.

Session 13 (issue 17): a cluster with an address or a clock of its own is a unit and is not joined, clusters
on one network are linked only through a shared template or client, exclusivity is measured by traffic and
principal networks are a set (up to 3). The fixed xfails lost their markers; the controls that pinned
session 12's joins (households, follow-the-sun desk, outsiders) now assert that those units stay apart.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.config.build import build_config
from graphlink.pipeline import run_detect
from tests.test_break_pool import company_world, flagged
from tests.test_detection_classes import (FRAMEWORK_JOB, OTHER_TEMPLATE, RING_TEMPLATE, T0, Log, _words, add_people, add_ring,
                                          add_team, card_group_cell_world, clusters_of)

ON = build_config(network_cells=True)
OFF = build_config(network_cells=False)


def both(log: Log) -> tuple:
    """``(off, on)`` results of one log."""
    events = log.frame()
    return run_detect(events, config=OFF), run_detect(events, config=ON)


def flag_why(result, accounts: list[str]) -> str:
    """The ``why`` of the first of ``accounts`` in a flagged cluster ("" when none is): the failure message."""
    rows = (result.accounts.filter(pl.col("account_id").is_in(accounts))
            .join(result.clusters.select("cluster_id", "flagged", "why"), on="cluster_id").filter("flagged"))
    return rows["why"][0] if rows.height else ""


def flat(groups: list[list[str]]) -> list[str]:
    return [a for g in groups for a in g]


# --- Worlds ----------------------------------------------------------------------------------------

def hosting_world(seed: int = 5, customers: int = 6, bots: int = 3, hours: range = range(9, 17)
                  ) -> tuple[Log, list[list[str]]]:
    """A hosting provider's /24 (203.0.113.0/24) rented by ``customers`` unrelated small firms, each
    running ``bots`` cron bots (one VM address each), paying with its own card, sending its own job
    template at its own minute of every hour of ``hours``. Ordinary people around."""
    rng = np.random.default_rng(seed)
    log, groups = Log(), []
    for c in range(customers):
        names = []
        template = f"customer {c} job: classify support message {{}} into one of our {c + 3} queues and reply"
        for i in range(bots):
            acc = f"host{c}x{i}"
            names.append(acc)
            for d in range(5):
                for h in hours:
                    ts = T0 + timedelta(days=d, hours=h, minutes=7 * c % 60, seconds=int(rng.integers(0, 20)))
                    log.add(acc, ts, f"203.0.113.{10 + 10 * c + i}", f"host-card-{c}",
                            template.format(f"{_words(rng, 2)} {int(rng.integers(0, 10_000))}"))
        groups.append(names)
    add_people(log, rng, 100)
    return log, groups


def households_world(seed: int = 6, households: int = 5, per: int = 3, ipv6: bool = False
                     ) -> tuple[Log, list[list[str]]]:
    """Households of ``per`` people, one family card each, free-form evening questions, the only API users
    of their network. IPv4: a building's fibre /24 (198.51.100.0/24), one address per household. IPv6: an
    ISP's /48 (2001:db8:7::/48) handing each household a /56, every request from a fresh privacy address
    inside it (no exact address shared). Ordinary people around."""
    rng = np.random.default_rng(seed)
    log, groups = Log(), []
    for hh in range(households):
        names = []
        for i in range(per):
            acc = f"fam{hh}x{i}"
            names.append(acc)
            for _ in range(int(rng.integers(8, 15))):
                ts = T0 + timedelta(days=int(rng.integers(0, 7)), hours=int(rng.integers(17, 23)),
                                    minutes=int(rng.integers(0, 60)))
                ip = (f"2001:db8:7:{hh:02x}{int(rng.integers(0, 256)):02x}:{int(rng.integers(1, 65535)):x}::"
                      f"{int(rng.integers(1, 65535)):x}" if ipv6 else f"198.51.100.{20 + hh}")
                log.add(acc, ts, ip, f"fam-card-{hh}", f"how do I {_words(rng, 6)}")
        groups.append(names)
    add_people(log, rng, 100)
    return log, groups


def neighbour_world(seed: int = 8, team_n: int = 12) -> tuple[Log, list[str], list[str]]:
    """An operator's ring (30 accounts, 6 cards, its template around the clock) on datacenter addresses
    45.67.89.10-24 and, in the same /24, a company's team (its office VM 45.67.89.200, one corporate card,
    a batch job in office hours). Ordinary people around."""
    rng = np.random.default_rng(seed)
    log = Log()
    ring = add_ring(log, rng, "ring", 30, 6, [f"45.67.89.{10 + k}" for k in range(15)], RING_TEMPLATE,
                    hours=range(0, 24))
    team = add_team(log, rng, "corp", team_n, "45.67.89.200", "corp-card", minute=0)
    add_people(log, rng, 100)
    return log, ring, team


def dc_cell_world(seed: int = 12, groups_n: int = 6, per: int = 5, decoys: int = 0, spread: int = 1
                  ) -> tuple[Log, list[list[str]], list[str]]:
    """An operator's cell: ``groups_n`` card groups of ``per`` accounts, each account on its own VM address,
    the operator's template in office hours. Each request goes out of one of ``spread`` datacenter /24s
    (203.0.113+k.0/24) drawn evenly. ``decoys``: per /24, accounts with their own card sending four
    free-form requests from it (to keep the /24 from being "exclusive"). Ordinary people around.
    Returns ``(log, card groups, decoys)``."""
    rng = np.random.default_rng(seed)
    log, groups, fakes = Log(), [], []
    for g in range(groups_n):
        names = []
        for i in range(per):
            acc = f"dc{g}x{i}"
            names.append(acc)
            for d in range(4):
                for h in range(9, 17):
                    ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
                    net = int(rng.integers(0, spread))
                    log.add(acc, ts, f"203.0.{113 + net}.{10 + per * g + i}", f"dc-card-{g}",
                            RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
        groups.append(names)
    for net in range(spread):
        for k in range(decoys):
            acc = f"decoy{net}x{k}"
            fakes.append(acc)
            for _ in range(4):
                ts = T0 + timedelta(days=int(rng.integers(0, 4)), hours=int(rng.integers(9, 17)),
                                    minutes=int(rng.integers(0, 60)))
                log.add(acc, ts, f"203.0.{113 + net}.{200 + k}", f"decoy-card-{net}-{k}", f"how do I {_words(rng, 6)}")
    add_people(log, rng, 100)
    return log, groups, fakes


# --- 1. Benign groups that are the only users of one network: joined and flagged as a fleet --------

# Was a strict xfail; passes since session 13 (a branch with an office address of its own is a unit, not joined).
def test_company_branches_in_one_office_block_are_not_flagged():
    log, groups, _, _ = company_world()
    off, on = both(log)
    staff = flat(groups)
    assert sorted(clusters_of(off, staff).values()) == [8] * 5 and flagged(off, staff) == 0
    assert flagged(on, staff) == 0, flag_why(on, staff)


# Was a strict xfail; passes since session 13 (each firm has an office address of its own).
def test_firms_renting_neighbouring_office_addresses_are_not_flagged():
    log, groups, teams = card_group_cell_world()
    off, on = both(log)
    assert sorted(clusters_of(off, teams).values()) == [12] * 3 and flagged(off, teams) == 0
    assert flagged(on, teams) == 0, flag_why(on, teams)


# Was a strict xfail; passes since session 13 (each customer's bots fire in their own minutes: a clock of its own).
def test_hosting_customers_bots_on_one_provider_block_are_not_flagged():
    log, groups = hosting_world()
    off, on = both(log)
    bots = flat(groups)
    assert sorted(clusters_of(off, bots).values()) == [3] * 6 and flagged(off, bots) == 0
    assert flagged(on, bots) == 0, flag_why(on, bots)


# Was a strict xfail; passes since the card pool is scaled by the template share (session 12).
def test_ipv6_households_of_one_isp_48_are_not_flagged():
    log, groups = households_world(households=12, ipv6=True)
    off, on = both(log)
    fam = flat(groups)
    assert sorted(clusters_of(off, fam).values()) == [3] * 12 and flagged(off, fam) == 0
    assert flagged(on, fam) == 0, flag_why(on, fam)


def test_households_of_one_building_block_control():
    """The edge of the IPv6 case: 5 households of 3 on one IPv4 /24, one address each. Session 12 joined
    them (15 accounts, 5 cards, not flagged); since session 13 a household's own address makes it a unit,
    not a piece: not joined, not flagged, on or off."""
    log, groups = households_world(households=5)
    off, on = both(log)
    fam = flat(groups)
    assert sorted(clusters_of(off, fam).values()) == [3] * 5
    assert sorted(clusters_of(on, fam).values()) == [3] * 5
    assert flagged(off, fam) == 0 and flagged(on, fam) == 0


def follow_the_sun_world(seed: int = 14, regions: int = 4, per: int = 10, own_cards: bool = True
                         ) -> tuple[Log, list[list[str]]]:
    """A company's support desk in ``regions`` regions 24/``regions`` hours apart, each behind its own
    NAT address of one /24 (192.0.2.10+r), the in-house tool in local office hours; each employee pays
    with a personal corporate card (``own_cards``) or each region with one card."""
    rng = np.random.default_rng(seed)
    log, groups = Log(), []
    for r in range(regions):
        names = []
        for i in range(per):
            acc = f"sun{r}x{i}"
            names.append(acc)
            for d in range(5):
                for h in range(9, 17):
                    if rng.random() < 0.5:
                        continue
                    ts = T0 + timedelta(days=d, hours=(h + r * 24 // regions) % 24, minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    log.add(acc, ts, f"192.0.2.{10 + r}", f"sun-card-{r}-{i}" if own_cards else f"sun-card-{r}",
                            FRAMEWORK_JOB.format(f"{_words(rng, 2)} {int(rng.integers(0, 10_000))}"))
        groups.append(names)
    add_people(log, rng, 100)
    return log, groups


def test_follow_the_sun_desk_is_not_joined_control():
    """Regions in four time zones, each behind its own NAT address of one /24. Session 12 joined them into
    one cluster active around the clock, flagged with a card per region (a "card pool": 40 staff); since
    session 13 each region's own address makes it a unit: 4 clusters of 10, none flagged, with a card per
    employee or per region."""
    for own_cards in (True, False):
        log, groups = follow_the_sun_world(own_cards=own_cards)
        off, on = both(log)
        staff = flat(groups)
        assert sorted(clusters_of(off, staff).values()) == [10] * 4 and flagged(off, staff) == 0
        assert sorted(clusters_of(on, staff).values()) == [10] * 4 and flagged(on, staff) == 0


def add_outsiders(log: Log, n: int, net: str = "192.0.2", seed: int = 1) -> list[str]:
    """``n`` people of other firms, each on its own address of ``net``/24 (own card, six free-form requests)."""
    rng = np.random.default_rng(seed)
    names = []
    for u in range(n):
        acc = f"out{u}"
        names.append(acc)
        for _ in range(6):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(9, 18)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, f"{net}.{200 + u}", f"out-card-{u}", f"how do I {_words(rng, 6)}")
    return names


def test_an_office_block_with_outsiders_joins_nobody_control():
    """The edge of the company case: 4 or 5 people of other firms on their own addresses of the /24 (in
    no cluster). Session 12 joined and flagged the 40 staff with 4 of them (40 of 44 accounts clustered
    >= 90 %); since session 13 the branches' own office addresses keep them apart whatever the outsiders."""
    for n in (5, 4):
        log, groups, _, _ = company_world()
        outsiders = add_outsiders(log, n)
        on = run_detect(log.frame(), config=ON)
        staff = flat(groups)
        assert sorted(clusters_of(on, staff).values()) == [8] * 5
        assert flagged(on, staff) == 0 and flagged(on, outsiders) == 0


# Was a strict xfail (network_cells: session 11's co-working world -- each of the 5 branch offices, one card
# each, shares its address with 9 people of other firms, own cards, 60 % of their requests from it. Leiden
# puts each office's co-workers in the branch's cluster (OFF: 5 clusters of 17, none flagged), so the /24
# counted as 'exclusive': ON joined 85 accounts and flagged all of them). Passes since session 13 twice over:
# the card pool counts the members' mean template share (pool13: 0.589 against the 0.6 threshold, narrowly),
# and network_cells no longer joins the offices (nc13: each office address is its cluster's own).
def test_co_working_spaces_in_one_block_are_not_flagged():
    log, groups, _, others = company_world(coworkers=9)
    off, on = both(log)
    staff = flat(groups)
    assert sorted(clusters_of(off, staff + others).values()) == [17] * 5 and flagged(off, staff + others) == 0
    assert flagged(on, staff + others) == 0, flag_why(on, staff + others)


@pytest.mark.xfail(strict=True, reason=(
    "before session 12 (network_cells off too): one company, 4 branches of 8 (one corporate card each, the "
    "in-house tool, office hours), every employee behind the corporate full-tunnel VPN (40 exits of one /24): "
    "Leiden makes one cluster of 32 whose 4 branch cards read as a card pool, all 32 flagged, on and off"))
def test_branches_behind_a_full_tunnel_vpn_are_not_flagged():
    rng = np.random.default_rng(4)
    log, staff = Log(), []
    for b in range(4):
        for i in range(8):
            acc = f"vpnb{b}x{i}"
            staff.append(acc)
            for day in range(5):
                for h in range(9, 17):
                    ts = T0 + timedelta(days=day, hours=(h + 6 * b) % 24, minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    log.add(acc, ts, f"198.18.9.{10 + int(rng.integers(0, 40))}", f"vpncorp-card-{b}",
                            FRAMEWORK_JOB.format(f"{_words(rng, 2)} {int(rng.integers(0, 10_000))}"))
    add_people(log, rng, 100)
    assert flagged(run_detect(log.frame(), config=OFF), staff) == 0


# --- 2. A benign cluster dragged into an operator's flagged cluster ---------------------------------

# Was a strict xfail; passes since session 13 (the team's office VM is its own address).
def test_a_team_on_an_operators_datacenter_block_is_not_joined_to_it():
    log, ring, team = neighbour_world()
    off, on = both(log)
    assert flagged(off, ring) == len(ring) and flagged(off, team) == 0
    assert not set(clusters_of(on, ring)) & set(clusters_of(on, team))
    assert flagged(on, team) == 0, flag_why(on, team)


# Was a strict xfail; passes since session 13 (clusters on one network are linked only through a shared template or client).
def test_two_operators_on_one_datacenter_block_stay_apart():
    rng = np.random.default_rng(21)
    log = Log()
    a = add_ring(log, rng, "opa", 20, 4, [f"45.67.89.{10 + k}" for k in range(8)], RING_TEMPLATE, hours=range(0, 24))
    b = add_ring(log, rng, "opb", 20, 4, [f"45.67.89.{100 + k}" for k in range(8)], OTHER_TEMPLATE, hours=range(6, 20))
    add_people(log, rng, 100)
    off, on = both(log)
    assert len(set(clusters_of(off, a)) | set(clusters_of(off, b))) == 2
    assert flagged(on, a + b) == 40
    assert not set(clusters_of(on, a)) & set(clusters_of(on, b))


# --- 3. An operator evading the join ----------------------------------------------------------------

def test_a_cell_on_its_own_datacenter_block_is_joined_and_flagged_control():
    """What the rule is for: 6 card groups of 5 on one datacenter /24 (OFF: 6 clusters of 5), ON: one
    cluster of 30 flagged. The same shape as the company of the first test. Since session 23 the 6
    groups are flagged with the rule off too: five accounts on a card, each on its own address, all
    sending the template off any schedule, are one payer's scripted load (``scripted_accounts``)."""
    log, groups, _ = dc_cell_world()
    off, on = both(log)
    cell = flat(groups)
    assert sorted(clusters_of(off, cell).values()) == [5] * 6 and flagged(off, cell) == 30
    assert sorted(clusters_of(on, cell).values()) == [30] and flagged(on, cell) == 30


# Was a strict xfail; passes since session 13 (exclusivity is measured by traffic).
def test_decoy_accounts_do_not_keep_a_cell_apart():
    log, groups, decoys = dc_cell_world(decoys=4)
    on = run_detect(log.frame(), config=ON)
    cell = flat(groups)
    assert flagged(on, decoys) == 0
    assert flagged(on, cell) == len(cell)


# Was a strict xfail; passes since session 13 (principal networks: the fewest, up to 3, carrying half the events).
def test_a_cell_spread_over_three_blocks_is_still_joined():
    log, groups, _ = dc_cell_world(spread=3)
    on = run_detect(log.frame(), config=ON)
    cell = flat(groups)
    assert flagged(on, cell) == len(cell)


def test_a_cell_spread_over_two_blocks_is_joined_control():
    log, groups, _ = dc_cell_world(spread=2)
    on = run_detect(log.frame(), config=ON)
    assert sorted(clusters_of(on, flat(groups)).values()) == [30]


# --- 4. Outputs: why, previous ids, determinism, engines -------------------------------------------

# Was a strict xfail (on the company world, which is no longer joined); passes since session 13.
def test_the_why_of_a_joined_cluster_names_the_join():
    """The why of the joined cell says it was joined, on which network, and through what."""
    log, groups, _ = dc_cell_world()
    on = run_detect(log.frame(), config=ON)
    why = flag_why(on, flat(groups))
    assert "joined: 6 clusters" in why and "203.0.113.0/24" in why, why
    off = run_detect(log.frame(), config=OFF)
    assert not off.clusters["why"].str.contains("joined").any()


# Was a strict xfail (on the company world, which is no longer joined); passes since session 13.
def test_previous_ids_of_joined_pieces_do_not_vanish():
    """The previous run (setting off) had the cell's 6 card groups; with the setting on they are one
    cluster (each piece's Jaccard 5/30 < min_jaccard 0.3, so none is matched): each previous id is
    'merged' and names the id of the joined cluster, none 'vanished'."""
    log, groups, _ = dc_cell_world()
    events = log.frame()
    before = run_detect(events, config=OFF)
    after = run_detect(events, config=ON, previous=before.accounts.select("account_id", "cluster_id"))
    mapping = after.cluster_mapping
    pieces = set(clusters_of(before, flat(groups)))
    joined = set(clusters_of(after, flat(groups)))
    merged = mapping.filter(pl.col("status") == "merged")
    assert len(pieces) == 6 and len(joined) == 1
    assert set(merged["previous_id"]) == pieces and set(merged["stable_id"]) == joined, mapping
    assert mapping.filter(pl.col("status") == "vanished").height == 0, mapping
    assert after.run["previous"]["merged"] == 6


@pytest.mark.xfail(strict=True, reason=(
    "network_cells: expand and detect disagree on a joined cluster. Seeded with two accounts of the joined "
    "(flagged) cell of 30, expand lists only their own card group of 5: the join reads member shares of "
    "networks, expand walks links.parquet, where an ip_net value only reinforces a link a card or an address "
    "made, so no edge crosses between pieces -- the investigator's pivot 'who else is in this ring' misses "
    "25 of the 30 accounts detect flagged with them"))
def test_expand_from_a_joined_cluster_reaches_its_other_pieces(tmp_path):
    import graphlink

    log, groups, _ = dc_cell_world()
    log.frame().write_parquet(tmp_path / "events.parquet")
    graphlink.detect(tmp_path / "events.parquet", network_cells=True).save(tmp_path / "out")
    listed = graphlink.expand(tmp_path / "out", groups[0][:2])["account_id"].to_list()
    assert set(flat(groups[1:])) & set(listed)


def test_match_does_not_attribute_strangers_on_a_joined_block_control(tmp_path):
    """New people on the company's joined /24 (own cards, own addresses) are matched to no cluster,
    on or off: the network alone is not enough evidence for match."""
    import graphlink

    log, _, _, _ = company_world()
    log.frame().write_parquet(tmp_path / "events.parquet")
    new = Log()
    strangers = add_outsiders(new, 3, seed=2)
    new.frame().write_parquet(tmp_path / "new.parquet")
    for on in (False, True):
        graphlink.detect(tmp_path / "events.parquet", network_cells=on).save(tmp_path / f"out{on}")
        got = graphlink.match(tmp_path / f"out{on}", tmp_path / "new.parquet").matches
        assert got.filter(pl.col("account_id").is_in(strangers))["cluster_id"].null_count() == len(strangers)


def test_network_cells_is_deterministic_and_order_free():
    log, groups, _, _ = company_world()
    events = log.frame()

    def out(result):
        return result.accounts.sort("account_id").select("account_id", "cluster_id", "campaign_id")

    first, again = run_detect(events, config=ON), run_detect(events, config=ON)
    shuffled = run_detect(events.sample(fraction=1.0, shuffle=True, seed=3), config=ON)
    assert out(first).equals(out(again)) and out(first).equals(out(shuffled))
    assert first.clusters.select("cluster_id", "flagged", "why").equals(shuffled.clusters.select("cluster_id", "flagged", "why"))


def test_off_is_the_default():
    log, _, _ = neighbour_world()
    events = log.frame()
    a, b = run_detect(events), run_detect(events, config=OFF)
    assert a.accounts.select("account_id", "cluster_id", "campaign_id").equals(
        b.accounts.select("account_id", "cluster_id", "campaign_id"))


def test_spark_engine_joins_alike(spark, tmp_path):
    """Engine parity (session 13): the cell's /24 also carries 40 people in no cluster (a fifth of its
    traffic), so it is not exclusive and the card groups stay apart, in both engines. Spark's memberships
    on the driver hold only clustered accounts: the outsiders' traffic comes from the Spark-side totals
    (``Projection.network_events``); without them Spark would see only clustered traffic and join."""
    import graphlink

    log, groups, _ = dc_cell_world()
    add_outsiders(log, 40, net="203.0.113")
    log.frame().write_parquet(tmp_path / "events.parquet")
    a = graphlink.detect(tmp_path / "events.parquet", network_cells=True)
    b = graphlink.detect(str(tmp_path / "events.parquet"), engine="spark", spark=spark, network_cells=True)
    cols = ("account_id", "cluster_id", "campaign_id")
    assert a.accounts.sort("account_id").select(cols).equals(b.accounts.sort("account_id").select(cols))
    assert a.clusters["flagged"].to_list() == b.clusters["flagged"].to_list()
    assert a.clusters["why"].to_list() == b.clusters["why"].to_list()
    assert sorted(clusters_of(a, flat(groups)).values()) == [5] * 6  # joined in neither
