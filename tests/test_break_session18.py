"""Break-it review of session 18's two detection changes: campaign card ties and the seam rank test.

1. :mod:`graphlink.stages.campaign_ties`: two clusters sharing cards (or declared identifiers) are tied
   by ``P(Poisson(E) < S)``.
2. :mod:`graphlink.stages.blocks` rule 5: a one-sided Mann-Whitney test (``SEAM_ALPHA`` 1 %) of the
   seam's link weights against the blocks' refuses a split.

Small hand-made logs run through :func:`graphlink.pipeline.run_detect` with the defaults (events only),
or the stage functions on hand-made frames. ``xfail(strict=True)`` tests show a defect (they pass once
it is fixed); the reason gives what was measured on this branch and on main ``018f709`` (before the
two changes). Plain tests are controls: attacks that held.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.config import GraphConfig
from graphlink.pipeline import run_detect
from graphlink.stages.blocks import split_blocks
from graphlink.stages.campaigns import cluster_campaigns
from tests.test_blocks import random_blocks
from tests.test_detection_classes import OTHER_TEMPLATE, RING_TEMPLATE, T0, Log, add_people, add_ring, add_team
from tests.test_private_ties import ACCOUNTS, CELLS
from tests.test_private_ties import log as private_log

DATACENTER = [f"34.{90 + k}.12.{k + 3}" for k in range(15)]


def family(log: Log, rng: np.random.Generator, name: str, n: int, card: str, ip: str) -> list[str]:
    """A household: ``n`` accounts on one home address paying with one card, free-form questions."""
    names = []
    for i in range(n):
        acc = f"{name}{i}"
        names.append(acc)
        for _ in range(int(rng.integers(4, 9))):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, ip, card, "how do I " + " ".join(rng.choice(["cat", "tax", "poem", "soup", "rain"], 5)))
    return names


def world(kind: str, seed: int = 3) -> tuple[Log, dict[str, list[str]]]:
    """A ring (20 accounts, 5 cards of its own, datacenter exits, one template), ordinary people, and:

    * ``corpown``: a company team of 12 (office address, one card per employee, batch job); one
      ring account pays three times with employee 3's card (a stolen or borrowed card).
    * ``tworings``: a second ring (other exits, other template, own cards); one of its accounts pays
      three times with one of the first ring's cards (one card sold by a carding shop to both).
    * ``twocos``: two company teams, each one card per employee; one employee of each also pays
      three times with one contractor's card.
    * ``corp``: a company team of 12 on one corporate card; one ring account pays once with it.
    * ``stolen``: a household of 3 on its home address whose card the ring also pays with;
      ``stolen_lone``: a household of 2 and 4 people on their own addresses, all on that card.
    """
    rng = np.random.default_rng(seed)
    log, g = Log(), {}
    g["ring"] = add_ring(log, rng, "ring", 20, 5, DATACENTER, RING_TEMPLATE)
    if kind == "corpown":
        g["corp"] = add_team(log, rng, "corp", 12, "192.0.2.44", None, own_cards=True)
        for k in range(3):
            log.add("ring0", T0 + timedelta(hours=10 + k), DATACENTER[0], "corp-card-3", RING_TEMPLATE.format("a b c", k))
    elif kind == "tworings":
        g["other"] = add_ring(log, rng, "ringb", 20, 5, [f"52.{100 + k}.2.2" for k in range(10)], OTHER_TEMPLATE)
        for k in range(3):
            log.add("ringb0", T0 + timedelta(hours=10 + k), "52.100.2.2", "ring-card-0", OTHER_TEMPLATE.format("x y", k))
    elif kind == "twocos":
        g["coa"] = add_team(log, rng, "coa", 12, "192.0.2.44", None, own_cards=True)
        g["cob"] = add_team(log, rng, "cob", 12, "192.0.2.55", None, own_cards=True, minute=30)
        for k in range(3):
            for co, ip, minute in (("coa", "192.0.2.44", 5), ("cob", "192.0.2.55", 35)):
                log.add(f"{co}0", T0 + timedelta(hours=11 + k, minutes=minute), ip, "contractor",
                        f"{co} nightly job: summarise ticket x {k} for the weekly report")
    elif kind == "corp":
        g["corp"] = add_team(log, rng, "corp", 12, "192.0.2.44", "corp-card")
        log.add("ring0", T0 + timedelta(hours=10), DATACENTER[0], "corp-card", RING_TEMPLATE.format("a b c", 1))
    elif kind == "stolen":
        g["fam"] = family(log, rng, "fam", 3, "ring-card-0", "100.200.1.1")
    elif kind == "stolen_lone":
        g["fam"] = family(log, rng, "fam", 2, "ring-card-0", "100.200.1.1")
        for k in range(4):
            g["fam"] += family(log, rng, f"lone{k}_", 1, "ring-card-0", f"100.201.{k}.9")
    g["people"] = add_people(log, rng, 100)
    return log, g


def campaigns_of(result, accounts: list[str]) -> set[int]:
    return set(result.accounts.filter(pl.col("account_id").is_in(accounts))["campaign_id"].drop_nulls().to_list())


def flagged(result, accounts: list[str]) -> int:
    rows = result.accounts.filter(pl.col("account_id").is_in(accounts)).join(
        result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return int(rows["flagged"].fill_null(False).sum())


# --- 1. Campaign ties: one card contact between two groups ----------------------------------------

# Fixed in session 18 (campaign_ties.MIN_SIDE_HOLDERS): a tie is the operator's reuse, seen on both
# sides. One card value held by one account on each side is what a stolen, borrowed or resold card gives
# (a contact between two accounts, not between two cells): corpown (a ring account paying 3 times with a
# company employee's card) listed the company as the ring's cell in its flagged campaign, tworings (one
# carding-shop card in both rings) and twocos (a contractor's card in two companies) made one campaign.
# Main 018f709 kept each pair apart; now the shared values must be held by two accounts of each side.
@pytest.mark.parametrize("kind,first,second", [("corpown", "ring", "corp"), ("tworings", "ring", "other"),
                                               ("twocos", "coa", "cob")])
def test_one_card_held_by_one_account_of_each_group_does_not_make_them_one_campaign(kind, first, second):
    log, g = world(kind)
    result = run_detect(log.frame())
    a, b = campaigns_of(result, g[first]), campaigns_of(result, g[second])
    assert len(a) == 1 and len(b) == 1  # each group one cluster's campaign (holds on both)
    assert a != b


def test_one_card_contact_does_not_spread_the_rings_flag_to_the_company():
    # Control: the company pulled into the ring's campaign (above) is not flagged: operator_ties asks
    # for MIN_CELL_HOLDERS (2) of its members on the value, and only employee 3 holds it.
    log, g = world("corpown")
    result = run_detect(log.frame())
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["corp"]) == 0 and flagged(result, g["people"]) == 0


def test_campaigns_do_not_depend_on_row_order():
    # Control: the tie world shuffled gives the same clusters and campaigns (also checked by hand
    # with POLARS_MAX_THREADS=1 vs 2: identical).
    log, _ = world("twocos")
    frame = log.frame()
    cols = ["account_id", "cluster_id", "campaign_id"]
    a = run_detect(frame).accounts.select(cols).sort("account_id")
    b = run_detect(frame.sample(fraction=1.0, shuffle=True, seed=1)).accounts.select(cols).sort("account_id")
    assert a.equals(b)


# Pre-existing (main 018f709 did the same; found while probing session 18): one ring account paying ONCE
# with a 12-person company's corporate card flagged all 12 ('same operator as flagged cluster 1').
# Fixed in session 19 by the principle: a flag spreads along what the flagged operator reuses, and a card
# one loud account holds is that account's contact -- it ties only with a second value of the operator's
# (campaign_flags.operator_ties; tests/test_operator_ties.py).
def test_a_ring_account_paying_once_with_a_corporate_card_does_not_flag_the_company():
    log, g = world("corp")
    result = run_detect(log.frame())
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["corp"]) == 0


# Pre-existing (main 018f709 did the same: the household of 3 joined the ring's cluster and was flagged).
# Fixed in session 19 by the principle: a household tied to a ring by its own card only (the ring used the
# stolen card) shares nothing else of the ring (home address, free-form questions, no template): it is the
# victim, not a member (outsiders.address_bystanders: a card does not keep a member off the script).
@pytest.mark.parametrize("kind", ["stolen", "stolen_lone"])
def test_the_household_whose_card_a_ring_used_is_not_flagged(kind):
    log, g = world(kind)
    result = run_detect(log.frame())
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["fam"]) == 0


# --- 2. Campaign ties: what chance gives, diluted by one popular value ----------------------------

def with_placeholder(holders: int, kind: str = "payment") -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """tests/test_private_ties.py's log (operator 1 cells 1-2, operator 2 cells 3-4, two moved cards
    each) plus one payment value held by one account of each cell and ``holders`` unclustered accounts
    (a gift card or a sandbox test card number many ordinary accounts pay with); of ``kind`` (a
    declared identifier column's default value, ``device_id``, for instance)."""
    part, aff, sig = private_log()
    new = sig.height
    members = [CELLS[c][9] for c in CELLS] + list(range(ACCOUNTS - holders, ACCOUNTS))
    aff = pl.concat([aff, pl.DataFrame({"account_idx": members, "signal_idx": [new] * len(members)},
                                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})])
    sig = pl.concat([sig, pl.DataFrame({"signal_idx": [new], "kind": [kind], "df": [len(members)],
                                        "weight": [1.0 / np.sqrt(len(members))], "linked": [True]},
                                       schema=sig.schema)])
    return part, aff, sig


def test_a_value_hundreds_hold_neither_ties_the_operators_nor_undoes_their_moved_cards():
    # Control: the value held by one account of each cell and 300 others (of 2,000): each operator's
    # cells stay one campaign, the two operators two (main 018f709: four campaigns).
    camp = dict(cluster_campaigns(*with_placeholder(300), GraphConfig()).iter_rows())
    assert camp[1] == camp[2] and camp[3] == camp[4] and camp[1] != camp[3]


# Fixed in session 18 (as the one-card contact above): a placeholder or sandbox card number ("4242...",
# "0000") or an identifier column's default held by one account in each of a few cells is rare in a small
# log, so chance gives ~0 and it tied every pair of its holders' clusters at ~1, across operators (two
# operators' four cells were one campaign; main 018f709: four campaigns).
@pytest.mark.parametrize("others,kind", [(0, "payment"), (4, "payment"), (4, "device_id")])
def test_a_placeholder_card_held_by_one_account_per_cell_does_not_merge_two_operators(others, kind):
    camp = dict(cluster_campaigns(*with_placeholder(others, kind), GraphConfig()).iter_rows())
    assert camp[1] != camp[3]


# Fixed in session 18 (campaign_ties.expected_shared): one value held by 1,000 of 2,000 accounts, paid with
# once per cell, made E ~5 for every pair (E summed the outside holders of all a cluster's values) and the two
# moved cards read as chance -- a cheap evasion and an innocent hazard (a ring's gift card). A value chance
# gives the other cluster anyway is now taken out of the shared count instead of inflating the mean.
def test_one_popular_value_does_not_undo_the_moved_card_tie():
    camp = dict(cluster_campaigns(*with_placeholder(1_000), GraphConfig()).iter_rows())
    assert camp[1] == camp[2] and camp[3] == camp[4]


# --- 3. The seam rank test ------------------------------------------------------------------------

def two_blocks(sizes, inside, seam, seed, weights):
    edges, block = random_blocks(list(sizes), inside=inside, seam=seam, seed=seed)
    src, dst = edges["source"].to_numpy().astype(np.int64), edges["target"].to_numpy().astype(np.int64)
    weight = weights(block[src] != block[dst], block[src], np.random.default_rng(seed + 77))
    labels = split_blocks(np.zeros(len(block), dtype=np.int64), src, dst, seed, weight=weight)
    return labels, block


def split_in_two(labels, block) -> bool:
    major = [np.bincount(labels[block == b]).argmax() for b in (0, 1)]
    return major[0] != major[1] and all((labels[block == b] == major[b]).mean() >= 0.9 for b in (0, 1))


# Significance is not size (found by session 18's review, fixed in session 19): a seam that only just
# outweighs the blocks (a rank effect of 0.52: the seam link wins 52 % of seam-inner pairs) is no
# operator's rarer values, whatever the number of links; the measured one-cell seams won 70-88 %, splits
# between cells 25-51 %. blocks.SEAM_EFFECT asks for Vargha & Delaney's "small" effect (0.56) as well.
def test_a_seam_trivially_heavier_in_a_huge_cluster_does_not_refuse_the_split():
    labels, block = two_blocks((400, 300), 0.3, 0.02, 0,
                               lambda across, _, rng: rng.lognormal(0, 1, len(across)) * np.where(across, 1.1, 1.0))
    assert split_in_two(labels, block)


# Trade-off of pooling (the mirror of test_blocks' heavy-and-light-blocks test, which pooling wins).
# Principle for a fix: a block whose own links are all one light value (one popular card: every link
# the same weight) tied to the rest by heavier, varied values is a sub-group of one cell; the heavy
# block's many links should not mask that the seam outweighs the light block's every link.
@pytest.mark.xfail(strict=True, reason=(
    "one cell: a 60-account sub-group on many rare values (links lognormal(2.5, .5)), a 30-account one "
    "on one popular card (every link 0.3), seam links of the operator's rarer values (lognormal(1, .5)): "
    "split in 3 of 3 seeds (pooled, the seam is lighter than the heavy block); main's per-block mean rule "
    "kept all 3 whole"))
@pytest.mark.parametrize("seed", range(3))
def test_a_light_one_card_sub_group_of_a_heavy_cell_is_not_split_off(seed):
    def weights(across, block, rng):
        heavy = rng.lognormal(2.5, 0.5, len(across))
        return np.where(across, rng.lognormal(1.0, 0.5, len(across)), np.where(block == 0, heavy, 0.3))
    labels, _ = two_blocks((60, 30), 0.4, 0.08, seed, weights)
    assert (labels == 0).all()


# Fixed in session 18: NaN weights are an input error, not an order (they were ranked heaviest, as np.unique
# sorts NaN last: half the blocks' links NaN split the cluster, NaN on the seam kept it whole); split_blocks
# refuses them with a ValueError naming the count.
def test_nan_weights_are_refused():
    def weights(across, _, rng):
        w = rng.lognormal(0, 1, len(across))
        w[~across & (rng.random(len(across)) < 0.5)] = np.nan
        return w
    with pytest.raises(ValueError):
        two_blocks((60, 40), 0.4, 0.05, 0, weights)


def test_a_few_infinite_seam_weights_and_all_equal_weights_do_not_keep_two_blocks_whole():
    # Controls. Five seam links of weight inf (of ~120) are five ranks, not an infinite mean (main
    # refused the split); every weight equal is no evidence (z = 0) and the blocks split on links.
    def infinite(across, _, rng):
        w = rng.lognormal(0, 1, len(across))
        w[np.flatnonzero(across)[:5]] = np.inf
        return w
    assert split_in_two(*two_blocks((60, 40), 0.4, 0.05, 0, infinite))
    assert split_in_two(*two_blocks((60, 40), 0.4, 0.05, 0, lambda across, _, rng: np.ones(len(across))))
