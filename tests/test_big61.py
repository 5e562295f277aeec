"""Session 61 (big61): the pair budget past ``max_pairs`` is graded by popularity (``[graph] graded_budget``).

Without it, a log whose planned pairs pass ``max_pairs`` by one pair halves every popular value's circulant at once
and projects every value shared by more than four times the new generator count as cycles instead of its clique:
how a cell's card of 20 is projected then depends on how large the rest of the log is. With it, whole popularity
levels are thinned from the most popular down, only as far as the budget needs.
"""

import polars as pl
import pytest

from graphlink.config import GraphConfig
from graphlink.stages.graph import project
from graphlink.stages.linking import apply_pair_budget, graded_thinning


def _pairs(rows):
    return pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String}, orient="row")


CARD = [(i, "payment", "cell-card") for i in range(20)]            # one cell's card: a clique of 190 pairs
POPULAR = [(i, "ip", "proxy-exit") for i in range(100, 500)]       # 400 accounts on one exit: 8 cycles, 3,200 pairs
PLANNED = 190 + 400 * 8


def _card_pairs(projection) -> int:
    edges = projection.edges.filter((pl.col("source") < 20) & (pl.col("target") < 20))
    return edges.height


def test_a_small_log_projects_the_card_as_its_clique_either_way():
    for graded in (False, True):
        projection = project(_pairs(CARD), 1_000, GraphConfig(max_pairs=PLANNED, graded_budget=graded))
        assert projection.warnings == []
        assert _card_pairs(projection) == 190


def test_one_pair_past_the_budget_turns_the_card_into_cycles_under_the_uniform_halving():
    projection = project(_pairs(CARD + POPULAR), 1_000, GraphConfig(max_pairs=PLANNED - 1))
    assert len(projection.warnings) == 1 and "at most 4 circulant generator" in projection.warnings[0]
    # 20 > 4 * 4: the card is now 4 random cycles (at most 80 pairs), no longer its clique.
    assert _card_pairs(projection) <= 80


def test_graded_budget_thins_only_the_popular_exit_and_keeps_the_card_whole():
    projection = project(_pairs(CARD + POPULAR), 1_000,
                         GraphConfig(max_pairs=PLANNED - 1, graded_budget=True))
    assert len(projection.warnings) == 1 and "the rest as under the budget" in projection.warnings[0]
    assert _card_pairs(projection) == 190
    # The exit went to 4 cycles: 1,600 pairs at most among its 400 holders, still one connected block.
    exit_edges = projection.edges.filter(pl.col("source") >= 100)
    assert 0 < exit_edges.height <= 1_600
    holders = set(exit_edges["source"].to_list()) | set(exit_edges["target"].to_list())
    assert holders == set(range(100, 500))


def test_graded_thinning_takes_whole_popularity_levels_from_the_top():
    frame = pl.DataFrame({"df": [40, 400, 400, 4000], "generators": [8, 8, 8, 8], "sparse": [True] * 4})
    planned = (40 + 400 + 400 + 4000) * 8
    # 16,000 saved by the 4,000 level alone.
    out, degree = graded_thinning(frame, planned - 16_000, 8)
    assert out["generators"].to_list() == [8, 8, 8, 4] and degree == 4
    # One more pair: the next level (both values of 400, never one of them alone) is thinned too.
    out, degree = graded_thinning(frame, planned - 16_001, 8)
    assert out["generators"].to_list() == [8, 4, 4, 4] and degree == 4


def test_graded_thinning_goes_on_halving_when_one_halving_of_everything_does_not_fit():
    frame = pl.DataFrame({"df": [40, 4000], "generators": [8, 8], "sparse": [True, True]})
    # Every value at 4 generators plans 16,160 pairs; 10,000 needs the 4,000 level at 2 (8,000 + 160).
    out, degree = graded_thinning(frame, 10_000, 8)
    assert out["generators"].to_list() == [4, 2] and degree == 2


@pytest.mark.parametrize("graded", [False, True])
def test_a_log_under_the_budget_is_untouched(graded):
    frame = pl.DataFrame({"signal_idx": [0, 1], "kind": ["ip", "payment"], "df": [40, 20],
                          "generators": [8, 8], "sparse": [True, False]})
    out, warnings = apply_pair_budget(frame, GraphConfig(max_pairs=40 * 8 + 190, graded_budget=graded))
    assert warnings == [] and out.equals(frame)
