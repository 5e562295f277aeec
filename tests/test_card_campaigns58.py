"""Card campaigns at scale (:mod:`graphlink.stages.card_campaigns`, session 58): the target carries the *card* tie as a
whole whichever path made it -- a template completes a one-card tie's significance, not whose cards they are.

Dev ind177big (224,000 accounts): operator 1's pieces (205 and 64 flagged accounts) joined campaign 1, 20,490 flagged
accounts of which 17,118 are operator 2's -- every card they shared with it held there by operator 1's 3,221 alone.
Most of their payers were not on those cards (the card path refused them), so the one-card-plus-template path moved
them, and the target "carried" that tie by templates, which the two operators share. Hand-built frames
(:class:`tests.test_card_campaigns56.Log`: each cell's accounts pay two by two with the cell's own cards, every account
of a cell sends its template's 12 values) in a log of :data:`BIG` accounts, where chance gives almost nothing: any card
shared by two accounts on each side stands against it.
"""

from __future__ import annotations

import pytest

from graphlink.stages.card_campaigns import card_campaigns
from tests.test_card_campaigns56 import Log

BIG = 224_000


def moved(log: Log) -> dict[int, int]:
    """Each cluster's campaign after card campaigns, in a log of :data:`BIG` accounts, by the cards' conditions alone
    (``own=False``: the second tie beside the cards, session 59, is tests/test_card59.py's)."""
    cl, part, aff, sig = log.frames()
    return dict(card_campaigns(cl, part, aff, sig, n_accounts=BIG, own=False).select("cluster_id", "campaign_id").iter_rows())


def share(log: Log, source: int, target: int, cards: int, start: int) -> None:
    """``cards`` new cards, each held by two accounts of cluster ``source`` (from its ``start``-th account on) and two
    of cluster ``target`` (from its first)."""
    for k in range(cards):
        card = f"pool-{source}-{target}-{k}"
        log.rows += [(a, "payment", card) for a in log.members[source][start + 2 * k:start + 2 * k + 2]]
        log.rows += [(a, "payment", card) for a in log.members[target][2 * k:2 * k + 2]]


def main_campaign(log: Log, template: str = "T") -> None:
    """Operator A's main campaign 1: six cells of 40 accounts (clusters 1-6), writing ``template``."""
    for c in range(1, 7):
        log.cell(c, 1, 40, template)


def test_a_merged_campaign_does_not_carry_the_cards_its_minority_holds():
    # Campaign 1 merges operator B's cells 1 (40) and 2 (30) with operator A's cell 7 (10); A's piece (campaign 2:
    # cells 3 and 4, 8 + 6) shares two cards with cell 7 -- 4 of its 14 payers, so the card path refuses it -- and
    # every cell writes one ring template. By templates campaign 1 carries the tie as a whole; by cards, 10 of its 80
    # flagged accounts hold it: the piece stays.
    log = Log()
    log.cell(1, 1, 40, "T")
    log.cell(2, 1, 30, "T")
    log.cell(7, 1, 10, "T")
    log.cell(3, 2, 8, "T")
    log.cell(4, 2, 6, "T")
    log.move_cards(3, 7, 2)
    assert moved(log) == {1: 1, 2: 1, 7: 1, 3: 2, 4: 2}
    # The same two cards held in campaign 1 by its largest cell (40 of 80 is not most; with cell 2's 30 too, it is).
    log = Log()
    log.cell(1, 1, 40, "T")
    log.cell(2, 1, 30, "T")
    log.cell(7, 1, 10, "T")
    log.cell(3, 2, 8, "T")
    log.cell(4, 2, 6, "T")
    log.move_cards(3, 1, 2)
    assert moved(log)[3] == 2
    log.move_cards(4, 2, 1)
    assert moved(log)[3] == 1


@pytest.mark.parametrize("template", ["T", "B"])
def test_a_carding_shops_cards_bought_by_two_operators_at_scale_stay_apart(template):
    # A carding shop sold three cards to operator A (main campaign of six cells, 240 accounts) and to operator B
    # (campaign 2: cells 11 and 12, 10 + 8 accounts); the cards sit in A's cells 1 and 2 (80 of 240) and 6 of B's 18
    # payers hold them. B writes A's ring template (no one else writes it: "T") or its own ("B"). At this log's size
    # the three cards stand far beyond chance, with one left out too; B pays mostly with its own cards, and A's cells
    # holding the shop's cards are a third of A: B stays apart.
    log = Log()
    main_campaign(log)
    log.cell(11, 2, 10, template)
    log.cell(12, 2, 8, template)
    log.move_cards(11, 1, 2)
    log.move_cards(12, 2, 1)
    assert moved(log)[11] == 2 and moved(log)[12] == 2


@pytest.mark.parametrize("template", ["T", "P"])
def test_an_operators_own_card_pool_across_cells_joins_at_scale(template):
    # Operator A's piece (campaign 2: cells 11 and 12, 10 + 8 accounts) pays with cards of A's pool that A's cells 1-4
    # (160 of 240) pay with too: 14 of its 18 accounts, each pair on a card of a different cell. It joins A's campaign
    # whether it writes A's template or another.
    log = Log()
    main_campaign(log)
    log.cell(11, 2, 10, template)
    log.cell(12, 2, 8, template)
    share(log, 11, 1, 2, 0)
    share(log, 11, 2, 2, 4)
    share(log, 12, 3, 2, 0)
    share(log, 12, 4, 1, 4)
    assert moved(log)[11] == 1 and moved(log)[12] == 1


def test_a_campaign_joins_its_strongest_tie_that_the_target_carries():
    # A's piece (campaign 2: cells 3 and 4, 8 + 6, A's ring template) shares four cards with A's cell 7 inside campaign
    # 1 (80 accounts, merging B's cells 1 and 2 with cell 7) and one card each with the two cells of A's other campaign
    # 5 (cells 8 and 9, 12 + 10). The tie to campaign 1 is the stronger against chance, but only its minority holds the
    # cards: the piece joins campaign 5, whose cells hold the cards they share with it (with session 57's order --
    # strongest tie first, then carried -- it stayed).
    log = Log()
    log.cell(1, 1, 40, "T")
    log.cell(2, 1, 30, "T")
    log.cell(7, 1, 10, "T")
    log.cell(8, 5, 12, "T")
    log.cell(9, 5, 10, "T")
    log.cell(3, 2, 8, "T")
    log.cell(4, 2, 6, "T")
    log.move_cards(3, 7, 4)
    log.move_cards(3, 8, 1)
    log.move_cards(4, 9, 1)
    assert moved(log) == {1: 1, 2: 1, 7: 1, 8: 5, 9: 5, 3: 5, 4: 5}


def test_a_minority_of_the_moving_campaign_does_not_carry_it():
    # Dev ind176big: a campaign of operator 1's 82-account cell and operator 3's two small cells (8 + 4) tied by
    # operator 3's cards (held by its small cells alone) and the ring template to operator 3's main campaign. Here
    # campaign 2 is B's cell 3 (30) and A's cell 4 (8), all writing A's template; cell 4 shares three cards with A's
    # main campaign 1 (cells 1 and 2, 40 + 30). Campaign 1 carries the tie whole, but on the moving side only cell
    # 4 (8 of 38) holds it: campaign 2 stays. With B's cell holding the cards too, it joins.
    log = Log()
    log.cell(1, 1, 40, "T")
    log.cell(2, 1, 30, "T")
    log.cell(3, 2, 30, "T")
    log.cell(4, 2, 8, "T")
    log.move_cards(4, 1, 2)
    log.move_cards(4, 2, 1)
    assert moved(log)[3] == 2 and moved(log)[4] == 2
    share(log, 3, 2, 3, 10)
    assert moved(log)[3] == 1 and moved(log)[4] == 1
