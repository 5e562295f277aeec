"""Card cells (:mod:`graphlink.stages.card_cells`): a flagged cluster whose card groups behave apart -- other minutes,
other phrases, other exact addresses, beyond chance -- while the values that bind it (a pool several cells rent) are
shared across as inside, is parted into them; one cell's card groups on one clock, one cell whose groups differ only
in volume, groups too thin for chance to say anything, and sibling cells sharing cards stay whole; no flag moves.

Hand-built inputs: each member's cards and, per evidence kind, the values it holds (integer ids); then the tables the
scoring stage holds (partition, judged clusters, memberships, values' kinds, active minutes).
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.card_cells import MIN_EXPECTED, card_cell_moves, card_parts
from tests._worlds import planted_world

POOL = 400  # addresses of a rented pool: each member draws a few at random


def _pool(rng: np.random.Generator, n: int, each: int = 12) -> list[np.ndarray]:
    """``n`` members each on ``each`` addresses of one pool drawn at random: exchangeable, whatever cell they are in."""
    return [rng.choice(POOL, each, replace=False) for _ in range(n)]


def _clock(rng: np.random.Generator, n: int, bursts: np.ndarray, per: int = 20) -> list[np.ndarray]:
    """``n`` members each active in ``per`` of the cell's burst minutes (a cell works together)."""
    return [rng.choice(bursts, per, replace=False) for _ in range(n)]


def _cards(groups: list[int], first: int = 0) -> list[np.ndarray]:
    """Members paying in groups of the given sizes, one card per group (card ids from ``first``)."""
    return [np.array([first + g]) for g, size in enumerate(groups) for _ in range(size)]


def test_two_cells_on_one_pool_with_their_own_clocks_part():
    """Two cells of 10 on one rented pool, each with two cards and its own burst minutes: parted along the cells,
    not along the cards (each cell's two card groups work in the same minutes)."""
    rng = np.random.default_rng(1)
    cards = _cards([5, 5]) + _cards([5, 5], first=10)
    minutes = _clock(rng, 10, np.arange(0, 40)) + _clock(rng, 10, np.arange(1000, 1040))
    label = card_parts(cards, [_pool(rng, 20), minutes], 5)
    assert label is not None
    assert len(set(label[:10].tolist())) == 1 and len(set(label[10:].tolist())) == 1 and label[0] != label[10]


def test_one_cell_on_one_clock_is_not_cut_along_its_cards():
    """One cell of 20 paying with four cards, all on one clock and one pool: its card groups are exchangeable."""
    rng = np.random.default_rng(2)
    cards = _cards([5, 5, 5, 5])
    assert card_parts(cards, [_pool(rng, 20), _clock(rng, 20, np.arange(40))], 5) is None


def test_heavier_card_group_of_one_cell_stays():
    """One cell whose one card group sends four times what the other does (more minutes, more addresses): the rate
    across is the geometric mean of the rates inside, so volume alone parts nothing."""
    rng = np.random.default_rng(3)
    cards = _cards([8, 8])
    bursts = np.arange(200)
    minutes = _clock(rng, 8, bursts, per=80) + _clock(rng, 8, bursts, per=20)
    pool = _pool(rng, 8, each=40) + _pool(rng, 8, each=10)
    assert card_parts(cards, [pool, minutes], 5) is None


def test_thin_evidence_parts_nothing():
    """Two card groups of one cell on a uniform clock, so few minutes that chance decides what they share: fewer than
    ``MIN_EXPECTED`` shared minutes would be expected across, so the minutes say nothing, whatever they show."""
    rng = np.random.default_rng(4)
    cards = _cards([5, 5])
    minutes = [rng.choice(20_000, 3, replace=False) for _ in range(10)]
    minutes[0] = minutes[1] = np.array([7, 8, 9])  # a chance coincidence inside one group
    assert card_parts(cards, [minutes], 5) is None
    assert MIN_EXPECTED >= 3


def test_cells_sharing_a_card_are_one_unit():
    """Two groups with their own clocks but paying partly with one card (an operator's card reused by two cells): one
    card unit, which card cells never cut."""
    rng = np.random.default_rng(5)
    cards = _cards([10, 10])
    cards[0] = np.array([0, 1])  # one member pays with both cards
    minutes = _clock(rng, 10, np.arange(40)) + _clock(rng, 10, np.arange(1000, 1040))
    assert card_parts(cards, [_pool(rng, 20), minutes], 5) is None


def test_other_phrases_part_two_operators_on_one_pool():
    """Two operators' cells on one pool, on one uniform clock, writing their own templates: parted by the phrases."""
    rng = np.random.default_rng(6)
    cards = _cards([6, 6])
    phrases = [rng.choice(np.arange(30), 20, replace=False) for _ in range(6)] + \
              [rng.choice(np.arange(100, 130), 20, replace=False) for _ in range(6)]
    label = card_parts(cards, [_pool(rng, 12), phrases], 5)
    assert label is not None and label[:6].tolist() == [0] * 6 and label[6:].tolist() == [1] * 6


def test_strays_follow_the_part_they_work_with():
    """Members paying with no card (or a card of their own) follow the part whose minutes they share."""
    rng = np.random.default_rng(7)
    cards = _cards([6, 6]) + [np.zeros(0, dtype=np.int64), np.array([99])]
    minutes = _clock(rng, 6, np.arange(40)) + _clock(rng, 6, np.arange(1000, 1040))
    minutes += [rng.choice(np.arange(1000, 1040), 20, replace=False), rng.choice(np.arange(40), 20, replace=False)]
    label = card_parts(cards, [_pool(rng, 14), minutes], 5)
    assert label is not None
    assert label[12] == label[6] and label[13] == label[0]


def test_a_part_needs_min_part_members():
    """A card group of 3 that works apart is no part of its own (``min_part`` 5): the cluster stays whole."""
    rng = np.random.default_rng(8)
    cards = _cards([10, 3])
    minutes = _clock(rng, 10, np.arange(40)) + _clock(rng, 3, np.arange(1000, 1040))
    assert card_parts(cards, [_pool(rng, 13), minutes], 5) is None


def _tables(flagged: bool) -> tuple[pl.DataFrame, ...]:
    """Cluster 7 (20 members: two cells of 10 on one pool, own cards and minutes), cluster 8 (4 members), judged."""
    rng = np.random.default_rng(9)
    cards = _cards([10, 10], first=1000)
    pool = [p + 2000 for p in _pool(rng, 20)]
    minutes = _clock(rng, 10, np.arange(40)) + _clock(rng, 10, np.arange(1000, 1040))
    aff = [(a, int(v)) for a in range(20) for v in np.r_[cards[a], pool[a]]]
    signals = pl.DataFrame({"signal_idx": [1000, 1001] + list(range(2000, 2000 + POOL)),
                            "kind": ["payment", "payment"] + ["ip"] * POOL}, schema_overrides={"signal_idx": pl.UInt32})
    part = pl.DataFrame({"account_idx": list(range(24)), "cluster_id": [7] * 20 + [8] * 4},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    clusters = pl.DataFrame({"cluster_id": [7, 8], "flagged": [flagged, True]})
    affiliations = pl.DataFrame(aff, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    mins = pl.DataFrame([(a, int(m)) for a in range(20) for m in minutes[a]], schema={"account_idx": pl.UInt32, "key": pl.UInt64}, orient="row")
    return clusters, part, affiliations, signals, mins


def test_moves_part_a_flagged_cluster_the_largest_keeping_its_id():
    clusters, part, aff, sig, mins = _tables(True)
    moves = card_cell_moves(clusters, part, aff, sig, mins, 5)
    assert sorted(moves["account_idx"].to_list()) in (list(range(10)), list(range(10, 20)))
    assert moves["to"].unique().to_list() == [9]  # a new id above every cluster's


def test_moves_leave_unflagged_clusters_and_need_minutes_or_other_evidence():
    clusters, part, aff, sig, mins = _tables(False)
    assert card_cell_moves(clusters, part, aff, sig, mins, 5).is_empty()
    clusters, part, aff, sig, mins = _tables(True)
    assert card_cell_moves(clusters, part, aff, sig, None, 5).is_empty()  # the pool alone parts nothing


def test_on_by_default_and_moves_no_flag():
    assert ScoringConfig().card_cells is True
    events, _ = planted_world(3, n_benign=200, rings=(25, 15, 8))
    off = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(card_cells=False)))
    on = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(card_cells=True)))
    flagged = lambda r: set(r.accounts.join(r.clusters.filter("flagged").select("cluster_id"), on="cluster_id")["account_id"].to_list())
    assert flagged(on) == flagged(off)
