"""Session 45's break-it review of campaign neighbours (:mod:`graphlink.stages.campaign_neighbours`).

A neighbour tie between two direct groups stood when any account of one group shared a card with any
account of the other: one payer of one cell on the other operator's card confirmed every pair of two
operators' clusters (10 clusters, one campaign), and a benign cell sending a ring's public template, one
member paying with the ring's card, joined the ring's campaign. Now each tie stands when one of *its*
clusters vouches for the other's group: :data:`MIN_VOUCHERS` of its own payers on cards that as many
accounts of the other group pay with.
"""

from __future__ import annotations

import pytest

from graphlink.stages.campaign_neighbours import MIN_VOUCHERS
from test_campaign_neighbours45 import campaigns

# Two operators sending one template family X/Y (each with a template of its own, A or B), five cells each,
# and two ordinary cells sending X or Y alone. Operator 1 pays with card 1, operator 2 with card 2, one
# payer per cell.
OP1 = [["A", "X"], ["A", "Y"]] + [["A", "X", "Y"]] * 3
OP2 = [["B", "X"], ["B", "Y"]] + [["B", "X", "Y"]] * 3
OTHERS = [["X"], ["Y"]]
# A ring's X-only and Y-only cells and eight X+Y cells; its payers spread its cards: the two payers of the
# X-only cell pay with cards 0 and 1, the Y-only cell's with 2 and 3, the one payer of X+Y cell k with k mod 4.
RING = [["X"], ["Y"]] + [["X", "Y"]] * 8
RING_CARDS = [[0, 1], [2, 3]] + [[k % 4] for k in range(8)]


@pytest.mark.parametrize("op2_cards", [[1, 2, 2, 2, 2], [1, 1, 2, 2, 2]],
                         ids=["one payer of one cell", "one payer in each of two cells"])
def test_two_operators_sharing_one_payers_card_stay_two_campaigns(op2_cards):
    # Main: one (or two) of operator 2's payers on operator 1's card merged the two operators' 10 clusters.
    labels = campaigns(OP1 + OP2 + OTHERS, cards=[1] * 5 + op2_cards + [7, 8])
    assert len(set(labels[:5])) == 1 and len(set(labels[5:10])) == 1, labels
    assert labels[0] != labels[5], labels


def test_a_benign_cell_on_a_rings_public_template_and_card_does_not_join_its_campaign():
    # The ring (RING) and three office teams sending its public template X, each paying with its own
    # cards; one member of the first pays with the ring's card 0 (a customer whose card the ring stole).
    labels = campaigns(RING + [["X"]] * 3, cards=RING_CARDS + [[0, 17, 18], [27, 28], [37, 38]])
    assert set(labels[10:]).isdisjoint(labels[:10]), labels  # main: the first office joined the ring
    assert len(set(labels[:10])) == 1, labels  # the ring's cells vouch for each other: one campaign


def test_two_payers_of_a_cell_on_a_rings_cards_vouch_for_it_documented_limit():
    # The office's second member pays with the ring's card 1 too: two of its payers on cards two of the
    # ring's accounts pay with. That is the evidence the rule asks for (documented limit).
    assert MIN_VOUCHERS == 2
    labels = campaigns(RING + [["X"]] * 3, cards=RING_CARDS + [[0, 1, 18], [27, 28], [37, 38]])
    assert labels[10] == labels[0] and set(labels[11:]).isdisjoint(labels[:10]), labels
