"""Card campaigns' session-57 rules (:mod:`graphlink.stages.card_campaigns`): a card tie moves a campaign only when
most of its card-paying flagged accounts pay with the target's cards (a carding shop's resold cards are a few of each
buyer's), and a template completes a one-card tie only with values the flagged campaigns hold almost alone (a public
jailbreak ordinary users paste too is no operator's).

Hand-built frames (:class:`tests.test_card_campaigns56.Log`): operator A's campaign 1 (clusters 1 and 2, 30 + 20
accounts, template A) and a piece, campaign 2 (clusters 3 and 4, 8 + 6 accounts), each cell's accounts paying two by
two with the cell's own cards; moved cards are held by two accounts on each side.
"""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.stages.card_campaigns import MOSTLY_SHARED, PRIVATE_TEMPLATE, private_templates
from tests.test_card_campaigns56 import Log, moved, operator_a


def paste(log: Log, template: str, accounts: int) -> None:
    """``accounts`` ordinary accounts in no cluster, each pasting the 12 values of ``template``."""
    for a in range(log.next, log.next + accounts):
        log.rows += [(a, "prompt", f"{template}-{j}") for j in range(12)]
    log.next += accounts


@pytest.mark.parametrize("cards,joins", [((3, 2), True), ((4, 3), True), ((2, 1), False), ((1, 1), False)])
def test_a_piece_joins_by_cards_only_when_most_of_its_payers_hold_the_targets(cards, joins):
    # The piece writes a template of its own (C): only the cards can tie it. Cluster 3 (8) holds 2 x cards[0] of
    # campaign 1's cards, cluster 4 (6) 2 x cards[1]: 10 or 14 of 14 payers (joins), 6 or 4 (a buyer's few resold
    # cards: stays) -- every case ties against chance with one card left out except the last.
    log = Log()
    operator_a(log, piece_template="C")
    log.move_cards(3, 1, cards[0])
    log.move_cards(4, 2, cards[1])
    assert moved(log.frames())[3] == (1 if joins else 2)


def test_exactly_half_the_payers_on_the_targets_cards_is_not_most():
    # 4 + 3 = 7 of 14 payers: half, not more (MOSTLY_SHARED is strictly exceeded).
    assert MOSTLY_SHARED == 0.5
    log = Log()
    operator_a(log, piece_template="C")
    log.move_cards(3, 1, 2)
    log.rows += [(a, "payment", "moved-4-2-x") for a in log.members[4][:3] + log.members[2][:2]]
    assert moved(log.frames())[3] == 2
    log.rows += [(log.members[4][3], "payment", "moved-4-2-x")]  # one more payer: 8 of 14
    assert moved(log.frames())[3] == 1


@pytest.mark.parametrize("outsiders,joins", [(0, True), (2, True), (20, False), (200, False)])
def test_one_card_and_a_template_join_only_when_the_template_is_the_flagged_campaigns_own(outsiders, joins):
    # One card and operator A's template: joins (dev t1's piece). The same template pasted by ordinary accounts in no
    # cluster: with 2 of its 66 holders outside (0.97) it is still the operator's; with 20 (0.77) or 200 it is a
    # public one two operators may both copy, and one card is no tie.
    log = Log()
    operator_a(log)
    log.move_cards(3, 1, 1)
    paste(log, "A", outsiders)
    assert moved(log.frames())[3] == (1 if joins else 2)


def test_two_operators_on_a_public_template_and_two_resold_cards_stay_apart():
    # brk56's shop with a shared template, made public: B (campaign 3: 10 + 8 accounts) writes A's template, pays with
    # two cards two of A's accounts pay with too, and 40 ordinary users paste the template.
    log = Log()
    operator_a(log)
    log.cell(5, 3, 10, "A")
    log.cell(6, 3, 8, "A")
    log.move_cards(5, 1, 2)
    assert moved(log.frames())[5] == 1  # held by the two operators alone, the template is theirs: joined (open limit)
    paste(log, "A", 40)
    assert moved(log.frames())[5] == 3


def test_private_templates_keeps_values_the_flagged_hold_almost_alone():
    # Value 0: 9 of 10 holders flagged (kept at PRIVATE_TEMPLATE = 0.9); value 1: 8 of 10 (dropped); value 2 a card.
    assert PRIVATE_TEMPLATE == 0.9
    aff = pl.DataFrame({"account_idx": list(range(10)) + list(range(8)) + [10, 11] + [0, 1],
                        "signal_idx": [0] * 10 + [1] * 10 + [2, 2]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["prompt", "burst", "payment"], "df": [10, 10, 2],
                        "weight": [1.0] * 3, "linked": [True] * 3}, schema_overrides={"signal_idx": pl.UInt32})
    wholes = pl.DataFrame({"account_idx": list(range(9))}, schema={"account_idx": pl.UInt32})
    out = private_templates(sig, aff, wholes)
    assert out["linked"].to_list() == [True, False, False]
    assert out.drop("linked").equals(sig.drop("linked"))
    wholes8 = wholes.filter(pl.col("account_idx") < 8)
    assert private_templates(sig, aff, wholes8)["linked"].to_list() == [False, False, False]
