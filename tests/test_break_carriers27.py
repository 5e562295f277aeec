"""Break-it review of session 27's operator carriers (graphlink.stages.tie_carriers): a tie by values alone needs
five of the operator's accounts to hold the tying values.

Found and fixed here: the carriers were counted over the accounts of *every* operator of the log (all loud
clusters and the cells found tied to any of them), so three students on one fleet's VPN and three on another,
unrelated fleet's -- each inside its fleet's cluster -- were six carriers, and the class was flagged "same
operator" as the first fleet though neither fleet holds its teacher's prompt with more than three accounts. The
count's floor (``min(5, accounts of the operators)``) also depended on unrelated operators: a small operator's
tame cell lost its tie as soon as any other fleet was flagged anywhere in the log. Carriers are now counted per
operator: the campaign of the loud cluster a tie's chain starts from.

Found and not fixed (xfail, strict): the count trusts Leiden's placement of the carriers. Five or more students
inside a fleet's cluster (ten of a class of thirty on its VPN), or two inside it and two in the class paying with
one family card (a card two accounts of the operator's cluster hold is its reuse: no carriers are asked), still
flag the class; so does a family device (a ``--signal`` identifier) that ties the family's pair in round 1, whose
two accounts then count as carriers beside three bystanders. A later-round tie through every account of a tame
cell of four is lost (recall MIN_TIE_CARRIERS gives up; main before session 27 tied it).
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

import graphlink
from graphlink.stages.campaign_flags import operator_ties
from graphlink.stages.tie_carriers import tie_carriers
from tests.burst_world import OPENERS, START, TOPICS, burst_log
from tests.test_break_bursts26 import CLAUSE, TEACHER, _flagged_students, class_log

AD = ("Rewrite the following product description as ten catchy search engine ad headlines under thirty "
      "characters each, keeping the brand name {n} in every one.")


def two_fleet_log(seed: int, n_students: int = 30, vpn_a: tuple[int, ...] = tuple(range(4)),
                  vpn_b: tuple[int, ...] = tuple(range(4, 8)), exits: int = 12, vpn_exits: int = 3,
                  shared_card: tuple[int, ...] = (), fleets: int = 2) -> pl.DataFrame:
    """:func:`class_log` with two unrelated rotating fleets (12 accounts each, three cards, their own template),
    each on its own commercial VPN: students ``vpn_a`` send everything through three exits of the first, ``vpn_b``
    of the second (``fleets=1``: the first only). ``shared_card``: students paying with one card (a family's)."""
    rng = random.Random(seed)
    base = burst_log(seed, n_ops=0)
    rows = []
    at = START + dt.timedelta(days=1, hours=10, minutes=2)
    for i in range(n_students):
        sid, card = f"st{i:03d}", ("card-family" if i in shared_card else f"card-st{i:03d}")

        def ip() -> str:
            if i in vpn_a:
                return f"100.64.{(i * 5 + rng.randrange(vpn_exits) * 7) % exits}.7"
            if i in vpn_b:
                return f"100.65.{(i * 5 + rng.randrange(vpn_exits) * 7) % exits}.7"
            return f"172.16.{i}.9"
        rows.append((sid, at + dt.timedelta(seconds=rng.randrange(180)), ip(), card, TEACHER))
        for _ in range(rng.randrange(2, 6)):
            rows.append((sid, START + dt.timedelta(seconds=rng.randrange(3 * 86400)), ip(), card,
                         f"{rng.choice(OPENERS)} {rng.choice(TOPICS)} {rng.randrange(10**6)}"))
    for net, name, template in (("64", "fleet", CLAUSE), ("65", "fleetb", AD))[:fleets]:
        for i in range(12):
            for _ in range(60):
                rows.append((f"{name}{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)),
                             f"100.{net}.{rng.randrange(exits)}.7", f"card-{name}{i % 3}", template.format(n=rng.randrange(10**4))))
    return pl.concat([base, pl.DataFrame(rows, schema=base.schema, orient="row")])


def _inside(result) -> list[int]:
    """Students per fleet cluster (sorted counts)."""
    acc = result.accounts
    fleets = acc.filter(pl.col("account_id").str.starts_with("fleet"))["cluster_id"].unique()
    st = acc.filter(pl.col("account_id").str.starts_with("st") & pl.col("cluster_id").is_in(fleets.implode()))
    return sorted(st.group_by("cluster_id").len()["len"].to_list())


# Seed 6: three students inside each fleet's cluster (six carriers over both, three per fleet); seed 5: four and two.
@pytest.mark.parametrize("seed,inside", [(6, [3, 3]), (5, [2, 4])])
def test_students_inside_two_unrelated_fleets_are_no_five_carriers_of_either(seed, inside):
    from graphlink import PipelineConfig, ScoringConfig
    log = two_fleet_log(seed)
    # The world as described holds the students inside the fleets' clusters without public phrases (on since
    # session 60: the class's public prompt then keeps fewer of them as address bystanders); flagged by neither.
    result = graphlink.detect(log, config=PipelineConfig(scoring=ScoringConfig(public_phrases=False)))
    assert _inside(result) == inside  # the world is the one described
    assert _flagged_students(result) == 0
    default = graphlink.detect(log)
    assert sum(_inside(default)) <= sum(inside) and _flagged_students(default) == 0


def _unit_world(loud_holders: dict[int, int], sizes: dict[int, int], tame: int = 8, values: int = 6):
    """Loud clusters (id -> size, each its own campaign) and a tame cluster 99 (its own campaign) whose ``tame``
    members all hold ``values`` prompt phrases, held also by ``loud_holders[c]`` accounts of loud cluster ``c``."""
    part, aff, acc = [], [], 0
    members = {}
    for c, n in list(sizes.items()) + [(99, tame)]:
        members[c] = list(range(acc, acc + n))
        part += [(a, c) for a in members[c]]
        acc += n
    for v in range(values):
        aff += [(a, v) for a in members[99]]
        for c, k in loud_holders.items():
            aff += [(a, v) for a in members[c][:k]]
    partition = pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    affiliations = pl.DataFrame(aff, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = (affiliations.group_by("signal_idx").agg(pl.len().alias("df"))
               .with_columns(pl.lit("prompt").alias("kind"), pl.lit(True).alias("linked")).sort("signal_idx"))
    camp = pl.DataFrame({"cluster_id": list(sizes) + [99], "campaign_id": list(range(1, len(sizes) + 2))})
    return camp, partition, affiliations, signals, pl.Series(list(sizes))


@pytest.mark.parametrize("holders,tied", [({1: 3, 2: 3}, False), ({1: 5, 2: 0}, True), ({1: 4, 2: 4}, False)])
def test_carriers_are_counted_per_operator(holders, tied):
    camp, part, aff, sig, loud = _unit_world(holders, {1: 10, 2: 10})
    assert (99 in operator_ties(camp, part, aff, sig, loud)["cluster_id"].to_list()) is tied


@pytest.mark.parametrize("others", [{}, {2: 10}])
def test_a_small_operators_tie_does_not_depend_on_unrelated_fleets(others):
    # Loud cluster 1 has three accounts, all holding the template its tame cell writes: all of the operator's
    # accounts carry it, whether or not an unrelated fleet of ten is flagged elsewhere in the log.
    camp, part, aff, sig, loud = _unit_world({1: 3}, {1: 3} | others)
    assert operator_ties(camp, part, aff, sig, loud)["cluster_id"].to_list() == [99]


def test_tie_carriers_per_operator_matches_the_single_operator_count():
    camp, part, aff, sig, _ = _unit_world({1: 3, 2: 4}, {1: 10, 2: 10})
    rows = pl.DataFrame({"cluster_id": [99] * 6, "signal_idx": list(range(6))}, schema_overrides={"signal_idx": pl.UInt32})
    per = tie_carriers(rows, part, aff, pl.DataFrame({"cluster_id": [1, 2], "operator": [7, 8]}))
    assert per.rows() == [(99, 7, 3), (99, 8, 4)]
    assert tie_carriers(rows, part, aff, pl.Series([1, 2])).rows() == [(99, 5)]  # one operator: capped at five
    assert tie_carriers(rows, part, aff, pl.DataFrame({"cluster_id": [1, 2], "operator": [7, 7]})).rows() == [(99, 7, 5)]


@pytest.mark.xfail(strict=True, reason="carriers are whoever Leiden placed in the operator's cluster: five or more "
                   "students on a fleet's VPN inside its cluster carry the teacher's prompt (no fix this session)")
@pytest.mark.parametrize("seed", [0, 3])
def test_a_class_with_five_students_inside_the_fleets_cluster_is_not_flagged(seed):
    result = graphlink.detect(class_log(seed, vpn=tuple(range(10))))
    assert _inside(result)[0] >= 5
    assert _flagged_students(result) == 0


@pytest.mark.xfail(strict=True, reason="a card two accounts of the operator's cluster hold is reuse with no carriers "
                   "asked: two students inside the fleet and two in the class on one family card flag the class")
def test_a_family_card_of_students_inside_and_outside_the_fleet_flags_no_class():
    result = graphlink.detect(two_fleet_log(1, vpn_b=(), shared_card=(0, 1, 10, 11), fleets=1))
    fleet = result.accounts.filter(pl.col("account_id") == "fleet00")["cluster_id"].item()
    inside = result.accounts.filter(pl.col("cluster_id") == fleet)["account_id"].to_list()
    assert {"st000", "st001"} <= set(inside) and not {"st010", "st011"} & set(inside)
    assert _flagged_students(result) == 0


def _chain_world(t1: int = 4, loud: int = 10, values: int = 6):
    """Loud cluster 1 (``loud`` accounts); tame cell 2 (``t1`` accounts) paying with a card two loud accounts also
    pay with (the operator's reuse: found in round 1); tame cell 3 (6 accounts) writing, with every account of cell
    2, a template of ``values`` prompt phrases no loud account holds (a tie found in a later round)."""
    L, T1 = list(range(loud)), list(range(loud, loud + t1))
    T2 = list(range(loud + t1, loud + t1 + 6))
    part = [(a, 1) for a in L] + [(a, 2) for a in T1] + [(a, 3) for a in T2]
    aff = [(a, 0) for a in L[:2] + T1] + [(a, v) for v in range(1, values + 1) for a in T1 + T2]
    partition = pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    affiliations = pl.DataFrame(aff, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = (affiliations.group_by("signal_idx").agg(pl.len().alias("df"))
               .with_columns(pl.when(pl.col("signal_idx") == 0).then(pl.lit("payment")).otherwise(pl.lit("prompt"))
                             .alias("kind"), pl.lit(True).alias("linked")).sort("signal_idx"))
    camp = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 2, 3]})
    return camp, partition, affiliations, signals, pl.Series([1])


def test_a_later_round_tie_through_five_accounts_of_a_tame_cell_holds():
    assert operator_ties(*_chain_world(t1=5))["cluster_id"].to_list() == [2, 3]


@pytest.mark.xfail(strict=True, reason="recall given up by MIN_TIE_CARRIERS (main ties it): a tame cell writing the "
                   "template of a card-tied cell of four, all four holding it, is not tied in the later round")
def test_a_later_round_tie_through_every_account_of_a_small_tame_cell_holds():
    assert operator_ties(*_chain_world(t1=4))["cluster_id"].to_list() == [2, 3]


@pytest.mark.xfail(strict=True, reason="an identifier two bystanders inside the fleet hold ties their family's pair "
                   "(round 1); its two accounts and three bystanders are five carriers of the teacher's prompt (round 2)")
def test_a_family_device_inside_and_outside_the_fleet_flags_no_class():
    # As the family card, but the family shares a device (a --signal identifier, private like a card) and each
    # pays with its own card. Three students sit inside the fleet's cluster, the family's other two in a pair.
    log = two_fleet_log(0, vpn_b=(), shared_card=(0, 1, 10, 11), fleets=1)
    family = pl.col("payment_fingerprint") == "card-family"
    log = log.with_columns(pl.when(family).then(pl.lit("dev-family")).otherwise(None).alias("device_id"),
                           pl.when(family).then(pl.concat_str(pl.lit("card-"), pl.col("account_id")))
                           .otherwise(pl.col("payment_fingerprint")).alias("payment_fingerprint"))
    result = graphlink.detect(log, extra_signals=["device_id"])
    assert _inside(result) == [3]
    assert _flagged_students(result) == 0
