"""Card campaigns (:mod:`graphlink.stages.card_campaigns`): a flagged campaign of several cells joins the larger
campaign whose cards it shares beyond chance; one card is not enough alone (a second card, or the two wholes' templates,
must agree); a copied template alone ties nothing; no flag moves.

Hand-built frames as the scoring stage holds them when the flags are decided: accounts numbered from 0, each cell's
accounts paying in pairs with cards of their own cell, a few cards moved between cells (held by two accounts on each
side), every account sending its operator's template (12 shingle values); clusters given with flags and the
grouping's campaigns. The log holds :data:`N` accounts (the rest unclustered, holding none of these values).
"""

from __future__ import annotations

import polars as pl
import pytest

import graphlink
from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.card_campaigns import CARD_ALPHA, card_campaigns
from tests._worlds import planted_world

N = 2000


class Log:
    """Cells of accounts, their values and the clusters' campaigns."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str]] = []
        self.members: dict[int, list[int]] = {}
        self.campaign: dict[int, int] = {}
        self.next = 0

    def cell(self, cluster: int, campaign: int, n: int, template: str | None) -> list[int]:
        """``n`` accounts of ``cluster`` (in ``campaign``), paying two by two with the cell's own cards, each sending
        the 12 shingles of ``template`` (None: no template)."""
        ids = list(range(self.next, self.next + n))
        self.next += n
        self.members[cluster], self.campaign[cluster] = ids, campaign
        for i, a in enumerate(ids):
            self.rows.append((a, "payment", f"card-{cluster}-{i // 2}"))
            if template:
                self.rows += [(a, "prompt", f"{template}-{j}") for j in range(12)]
        return ids

    def move_cards(self, source: int, target: int, cards: int) -> None:
        """``cards`` new cards, each held by two accounts of cluster ``source`` and two of cluster ``target``."""
        for k in range(cards):
            card = f"moved-{source}-{target}-{k}"
            for cluster in (source, target):
                self.rows += [(a, "payment", card) for a in self.members[cluster][2 * k:2 * k + 2]]

    def frames(self, flagged: dict[int, bool] | None = None) -> tuple[pl.DataFrame, ...]:
        """``clusters, partition, affiliations, signals`` (every cluster flagged unless ``flagged`` says not)."""
        rows = pl.DataFrame(self.rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String},
                            orient="row").unique()
        sig = (rows.group_by("kind", "value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("kind", "value")
               .with_row_index("signal_idx").with_columns(pl.col("signal_idx").cast(pl.UInt32), pl.lit(1.0).alias("weight"),
                                                          (pl.col("df") >= 2).alias("linked")))
        aff = rows.join(sig.select("kind", "value", "signal_idx"), on=["kind", "value"]).select("account_idx", "signal_idx")
        part = pl.DataFrame([(a, c) for c, ids in self.members.items() for a in ids],
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
        flagged = flagged or {}
        cl = pl.DataFrame({"cluster_id": list(self.campaign), "flagged": [flagged.get(c, True) for c in self.campaign],
                           "campaign_id": list(self.campaign.values())},
                          schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "campaign_id": pl.Int64})
        return cl.sort("cluster_id"), part, aff, sig.select("signal_idx", "kind", "df", "weight", "linked")


def operator_a(log: Log, piece_template: str | None = "A") -> None:
    """Operator A: campaign 1 (clusters 1 and 2, 30 + 20 accounts) and a piece the grouping left apart, campaign 2
    (clusters 3 and 4, 8 + 6 accounts), writing ``piece_template``."""
    log.cell(1, 1, 30, "A")
    log.cell(2, 1, 20, "A")
    log.cell(3, 2, 8, piece_template)
    log.cell(4, 2, 6, piece_template)


def moved(frames: tuple[pl.DataFrame, ...], **kw) -> dict[int, int]:
    # The cards' conditions (sessions 56-58) alone: ``own=False``. The second tie beside the cards (session 59) is
    # tests/test_card59.py's; these logs share nothing but cards and templates.
    kw.setdefault("own", False)
    cl, part, aff, sig = frames
    return dict(card_campaigns(cl, part, aff, sig, n_accounts=N, **kw).select("cluster_id", "campaign_id").iter_rows())


def test_a_piece_sharing_its_operators_cards_joins_its_campaign():
    log = Log()
    operator_a(log)
    log.move_cards(3, 1, 2)
    log.move_cards(4, 2, 1)
    assert moved(log.frames()) == {1: 1, 2: 1, 3: 1, 4: 1}


def test_without_shared_cards_the_piece_stays():
    log = Log()
    operator_a(log)
    assert moved(log.frames()) == {1: 1, 2: 1, 3: 2, 4: 2}


def test_two_operators_with_different_templates_and_one_resold_card_stay_two_campaigns():
    # Operator B (campaign 3, template B) pays with one card two of A's accounts pay with too: a card sold twice.
    log = Log()
    operator_a(log)
    log.cell(5, 3, 10, "B")
    log.cell(6, 3, 8, "B")
    log.move_cards(5, 1, 1)
    assert moved(log.frames()) == {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3}
    # Two more cards sold to both: the tie stands against chance with one left out, but 6 of B's 18 payers are on
    # them -- B pays mostly with its own cards (MOSTLY_SHARED, session 57), and stays apart.
    log.move_cards(6, 2, 2)
    assert moved(log.frames())[5] == 3


def test_cards_held_by_a_minority_of_the_target_tie_nothing():
    # Dev a3: operator B's whole (campaign 3) shares 15 cards with campaign 1 -- all held there by four of B's own cells
    # the grouping put among operator A's. Here B's cell 7 (6 accounts) sits in A's campaign 1 and shares three cards
    # with each of B's cells 5 and 6: campaign 1's clusters tied by cards hold 6 of its 56 flagged accounts.
    log = Log()
    operator_a(log)
    log.cell(5, 3, 10, "B")
    log.cell(6, 3, 8, "B")
    log.cell(7, 1, 6, "B")
    log.move_cards(5, 7, 3)
    log.move_cards(6, 7, 3)
    assert moved(log.frames()) == {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 1}
    # The same cards held by A's largest cell instead: carried, and B joins (a shared pool is an operator's).
    log = Log()
    operator_a(log)
    log.cell(5, 3, 10, "B")
    log.cell(6, 3, 8, "B")
    log.move_cards(5, 1, 3)
    log.move_cards(6, 1, 3)
    assert moved(log.frames())[5] == 1


def test_one_card_and_the_operators_template_join():
    log = Log()
    operator_a(log)
    log.move_cards(3, 1, 1)
    assert moved(log.frames()) == {1: 1, 2: 1, 3: 1, 4: 1}


def test_one_card_and_another_template_stay_apart():
    log = Log()
    operator_a(log, piece_template="B")
    log.move_cards(3, 1, 1)
    assert moved(log.frames()) == {1: 1, 2: 1, 3: 2, 4: 2}


def test_a_copied_template_alone_ties_nothing():
    # Dev a2: a 3-cell campaign of one operator writes the template another operator writes most.
    log = Log()
    operator_a(log)
    log.cell(5, 3, 10, "A")
    log.cell(6, 3, 8, "A")
    assert moved(log.frames())[5] == 3


def test_a_lone_cell_is_left_to_lone_cells():
    log = Log()
    log.cell(1, 1, 30, "A")
    log.cell(2, 1, 20, "A")
    log.cell(3, 2, 10, "A")
    log.move_cards(3, 1, 3)
    assert moved(log.frames())[3] == 2


def test_unflagged_clusters_neither_tie_nor_count():
    # Campaign 2's second cluster is unflagged: campaign 2 has one flagged cluster (a lone cell) and stays.
    log = Log()
    operator_a(log)
    log.move_cards(3, 1, 2)
    assert moved(log.frames(flagged={4: False})) == {1: 1, 2: 1, 3: 2, 4: 2}


def test_only_larger_campaigns_and_chains_end():
    # Campaign 3 (10 accounts) shares cards with campaign 2 (14), campaign 2 with campaign 1 (50): all end in 1;
    # the larger campaign never moves into the smaller.
    log = Log()
    operator_a(log)
    log.cell(5, 3, 6, "A")
    log.cell(6, 3, 4, "A")
    log.move_cards(3, 1, 2)
    log.move_cards(5, 3, 2)
    assert moved(log.frames()) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1}


def test_the_level_is_alpha():
    log = Log()
    operator_a(log)
    log.move_cards(3, 1, 2)
    frames = log.frames()
    assert moved(frames, alpha=CARD_ALPHA)[3] == 1
    assert moved(frames, alpha=1e-9)[3] == 2  # two cards in wholes of 14 and 50 of 2,000 are not that unlikely


def test_flags_partition_and_other_columns_unchanged():
    log = Log()
    operator_a(log)
    log.move_cards(3, 1, 2)
    cl, part, aff, sig = log.frames()
    cl = cl.with_columns(pl.lit(0.8).alias("score"), pl.format("flagged with cluster 1 (campaign {})", "campaign_id").alias("why"))
    out = card_campaigns(cl, part, aff, sig, n_accounts=N, own=False)
    assert out.drop("campaign_id", "why").equals(cl.drop("campaign_id", "why"))
    assert out.filter(pl.col("cluster_id") == 3)["why"].item() == "flagged with cluster 1 (campaign 1)"
    assert out.filter(pl.col("cluster_id") == 1)["why"].item() == "flagged with cluster 1 (campaign 1)"


@pytest.mark.parametrize("on", [False, True])
def test_switch_off_by_default_and_flags_equal_on(on):
    assert not ScoringConfig().card_campaigns
    events, _ = planted_world(3, n_benign=200, rings=(25, 15, 8))
    base = graphlink.detect(events)
    other = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(card_campaigns=on)))
    flags = [r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
             .select("account_id", "cluster_id", pl.col("flagged").fill_null(False)).sort("account_id") for r in (base, other)]
    assert flags[0].equals(flags[1])
