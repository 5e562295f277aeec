"""Break-it review of session 19's four detection changes (issue 17; main e8e3017 -> 2489120).

1. :func:`graphlink.stages.campaign_flags.operator_ties`: a card or identifier ONE account of the loud
   clusters holds is a *contact*; it ties a tame cluster only together with a second value.
2. :mod:`graphlink.stages.blocks` rule 5: the seam refuses a split only with Vargha-Delaney A >= 0.56.
3. :func:`graphlink.stages.outsiders.address_bystanders`: a card no longer keeps an off-script member,
   and a cluster is known by its script (more than half of the other members on a template) too.
4. :mod:`graphlink.stages.network_cells` (opt-in): MARK_SPECIFIC counts a mark's holders over the
   clusters tied to ANY exclusive network.

Small hand-made logs through :func:`graphlink.pipeline.run_detect` (defaults, events only) or the stage
functions. ``xfail(strict=True)`` tests are defects (they pass once fixed); the reason gives the numbers
measured on this branch (main 2489120) and on e8e3017 (before the four changes). Plain tests are controls:
attacks that held.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.pipeline import run_detect
from graphlink.stages.campaign_flags import operator_ties
from tests.test_break_nc13 import FRAMEWORK_CLIENT, FRAMEWORK_PROMPT, OFF, ON, frame, flat
from tests.test_break_session18 import two_blocks, split_in_two
from tests.test_detection_classes import RING_TEMPLATE, T0, Log, _words, add_people, add_ring, add_team, clusters_of
from tests.test_operator_ties import GROUPINGS, LOUD, TAME
from tests.test_operator_ties import world as ties_world

DATACENTER = [f"34.{90 + k}.12.{k + 3}" for k in range(15)]
OFFICE = "192.0.2.44"


def staff(log: Log, rng: np.random.Generator, name: str, n: int, ip: str, cards: list[str]) -> list[str]:
    """``n`` office workers on one address, member ``i`` paying with ``cards[i]``, free-form questions
    at random office hours (no batch job, no template)."""
    names = []
    for i in range(n):
        acc = f"{name}{i}"
        names.append(acc)
        for _ in range(int(rng.integers(5, 10))):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(9, 17)),
                                minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, ip, cards[i], "how do I " + _words(rng, 6))
    return names


def free_writers(log: Log, rng: np.random.Generator, n: int, template_share: float, exits: list[str]) -> list[str]:
    """``n`` more accounts of the ring's operator: the ring's cards (``ring-card-{i % 5}``), addresses
    drawn from ``exits`` on every office hour of 4 days, the ring's template in ``template_share`` of
    their prompts and free-form questions otherwise."""
    names = []
    for i in range(n):
        acc = f"free{i}"
        names.append(acc)
        for d in range(4):
            for h in range(9, 18):
                ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)))
                prompt = (RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000)))
                          if rng.random() < template_share else "how do I " + _words(rng, 6))
                log.add(acc, ts, exits[int(rng.integers(0, len(exits)))], f"ring-card-{i % 5}", prompt)
    return names


def world(kind: str, seed: int = 3) -> tuple[Log, dict[str, list[str]]]:
    """A ring (20 accounts, 5 cards, datacenter exits, one template), 100 ordinary people, and:

    * ``office``: 12 office workers (free-form questions) on one office address and one corporate card;
      ring account 0 pays 3 times with that card from that office address (a ring account in a
      compromised office, or a stolen card used through the office's proxy).
    * ``office_tmpl``: the same with a batch-job team (its own template).
    * ``twocards``: 12 office workers on two department cards (6 each); ring accounts 0 and 1 each pay
      once with one of them, from their datacenter exits (a breach of the company's cards).
    * ``free<N>_<P>``: N more accounts of the ring's operator on its cards and exits, sending its
      template in P % of their prompts (free-form otherwise).
    * ``home<N>``: N accounts on the ring's cards, each on its own home address, free-form (the owners
      of stolen cards).
    """
    rng = np.random.default_rng(seed)
    log, g = Log(), {}
    g["ring"] = add_ring(log, rng, "ring", 20, 5, DATACENTER, RING_TEMPLATE)
    if kind in ("office", "office_tmpl"):
        g["co"] = (staff(log, rng, "co", 12, OFFICE, ["co-card"] * 12) if kind == "office"
                   else add_team(log, rng, "co", 12, OFFICE, "co-card"))
        for k in range(3):
            log.add("ring0", T0 + timedelta(hours=10 + k), OFFICE, "co-card", RING_TEMPLATE.format("a b c", k))
    elif kind == "twocards":
        g["co"] = staff(log, rng, "co", 12, OFFICE, ["dept-a"] * 6 + ["dept-b"] * 6)
        log.add("ring0", T0 + timedelta(hours=10), DATACENTER[0], "dept-a", RING_TEMPLATE.format("a b c", 1))
        log.add("ring1", T0 + timedelta(hours=11), DATACENTER[1], "dept-b", RING_TEMPLATE.format("a b c", 2))
    elif kind.startswith("free"):
        n, share = kind[4:].split("_")
        g["free"] = free_writers(log, rng, int(n), int(share) / 100, DATACENTER)
    elif kind.startswith("home"):
        g["free"] = free_writers(log, rng, int(kind[4:]), 0.0, [f"100.210.{k}.9" for k in range(int(kind[4:]))])
    g["people"] = add_people(log, rng, 100)
    return log, g


def flagged(result, accounts: list[str]) -> int:
    rows = result.accounts.filter(pl.col("account_id").is_in(accounts)).join(
        result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return int(rows["flagged"].fill_null(False).sum())


def clustered(result, accounts: list[str]) -> int:
    return int(result.accounts.filter(pl.col("account_id").is_in(accounts))["cluster_id"].is_not_null().sum())


# --- 1. operator_ties: contacts ----------------------------------------------------------------------

# Pre-existing (e8e3017 the same: 12 of 12 flagged). The brief's case: a company whose staff share one card
# and one office address with ONE ring account that used both (3 requests). Each value is that account's
# contact, but the rule counts the card and the address as two values of the operator's, and two tie:
# 'same operator as flagged cluster 1'. Principle for a fix: values held by the same single loud account
# are one contact, however many kinds they span -- the second value must be one the operator reuses
# (held by MIN_CELL_HOLDERS or more loud accounts), not a second trace of the same contact.
@pytest.mark.xfail(strict=True, reason=(
    "office: 12 office workers (free-form, one office address, one corporate card) and ring account 0 paying "
    "3 times with the card FROM the office address: 12 of 12 flagged 'same operator as flagged cluster 1' "
    "(ring 20/20); e8e3017 the same (12/12); office_tmpl (a batch-job team) the same on both"))
@pytest.mark.parametrize("kind", ["office", "office_tmpl"])
def test_one_ring_account_using_an_offices_card_and_address_does_not_flag_the_staff(kind):
    log, g = world(kind)
    result = run_detect(log.frame())
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["co"]) == 0


# Pre-existing (e8e3017 the same). Two department cards of one company, each paid with once by a different
# ring account (a breach of the company's card data): two contacts add up to 'two values of the operator's'.
# A trade-off with the evasion control below (an operator whose tame cell shares two cards, each with one
# loud account, is still tied). Principle for a fix: judge a contact from the holder's side as well -- a
# value the tame cluster pays with throughout while the loud account used it once or twice is the tame
# cluster's card the ring used (its rows, not its holders, say whose it is), not the operator's moved card.
@pytest.mark.xfail(strict=True, reason=(
    "twocards: 12 office workers on two department cards (6 each), ring accounts 0 and 1 each paying once "
    "with one of them from their datacenter exits: 12 of 12 flagged 'same operator as flagged cluster 1'; "
    "e8e3017 the same (12/12)"))
def test_two_stolen_department_cards_do_not_flag_the_company():
    log, g = world("twocards")
    result = run_detect(log.frame())
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["co"]) == 0


def test_an_operator_moving_one_card_per_loud_account_still_ties_its_tame_cell():
    # Control (evasion held): tests/test_operator_ties.py's world, the tame cell (no template) holding two
    # cards, each also held by ONE different loud account -- every card tie a 'contact' -- is still tied:
    # two contacts are two values. One such card alone ties nothing (the session-19 rule).
    part, aff, sig = ties_world(template_values=0, card_loud=1)
    assert TAME not in operator_ties(GROUPINGS["apart"], part, aff, sig, pl.Series([LOUD]))["cluster_id"].to_list()
    card = sig.height
    tame = part.filter(pl.col("cluster_id") == TAME)["account_idx"].to_list()
    loud = part.filter(pl.col("cluster_id") == LOUD)["account_idx"].to_list()
    holders = tame + [loud[1]]
    aff = pl.concat([aff, pl.DataFrame({"account_idx": holders, "signal_idx": [card] * len(holders)},
                                       schema=aff.schema)])
    sig = pl.concat([sig, pl.DataFrame({"signal_idx": [card], "df": [len(holders)], "kind": ["payment"],
                                        "linked": [True]}, schema=sig.schema)])
    assert TAME in operator_ties(GROUPINGS["apart"], part, aff, sig, pl.Series([LOUD]))["cluster_id"].to_list()


# --- 2. address_bystanders: the card no longer keeps an off-script member ----------------------------

# New in session 19 (0d01e56 + 8a04da8/2489120; e8e3017 kept and flagged them all). Evasion: the operator's
# accounts that write freely (no template) but pay with the ring's own cards AND use the ring's datacenter
# exits are detached as 'bystanders' and left unclustered, unflagged -- a card no longer keeps an off-script
# member and an address never did. The stolen card's owner (the case the change was for) shares the card
# only, from a home address (control below). Principle for a fix: a card and the fleet's exits together are
# two independent links to the fleet -- a member holding a card the fleet reuses (held by 2+ on-script
# members) and the fleet's addresses is the fleet's, whatever it writes; a card alone (or an address alone)
# does not keep it.
@pytest.mark.xfail(strict=True, reason=(
    "ring of 20 + N accounts on the ring's 5 cards and its 15 datacenter exits, template in P % of prompts: "
    "N=5 P=0: 0 of 5 clustered/flagged (e8e3017: 5/5 flagged); P=10: 2/5; P=20: 3/5 (e8e3017 5/5 both); "
    "N=8 and N=9, P=0: 0 of 8 / 0 of 9 (e8e3017 all flagged); ring 20/20 flagged throughout"))
@pytest.mark.parametrize("kind", ["free5_0", "free5_10", "free9_0"])
def test_operator_accounts_writing_freely_on_the_rings_cards_and_exits_stay_flagged(kind):
    log, g = world(kind)
    result = run_detect(log.frame())
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["free"]) == len(g["free"])


def test_the_owners_of_stolen_cards_on_their_home_addresses_are_not_flagged():
    # Control (innocents held; e8e3017 flagged all 5): 5 accounts each on its own home address, free-form,
    # paying with the ring's cards (the owners of the stolen cards) are detached and not flagged.
    log, g = world("home5")
    result = run_detect(log.frame())
    assert flagged(result, g["ring"]) == 20
    assert flagged(result, g["free"]) == 0 and flagged(result, g["people"]) == 0


def test_operator_accounts_with_the_template_in_two_fifths_of_prompts_stay_flagged():
    # Control: at 40 % templated prompts the free-writing accounts are on the script (or share template
    # passages with the ring) and stay in the ring's flagged cluster (5/5, as on e8e3017).
    log, g = world("free5_40")
    result = run_detect(log.frame())
    assert flagged(result, g["free"]) == 5
