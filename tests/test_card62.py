"""Card cells on by default (session 62, card62): a cell's own clock told from a worker's shift.

Card cells (:mod:`graphlink.stages.card_cells`) parts a flagged cluster bound by a rented pool into its card groups
where they behave apart. Session 61 left it off: one kind apart was enough, so one cell whose card groups keep shifts
(or call from their cards' countries, or each run their own task template) was cut. Now a pair of card groups parts
on two kinds apart, or on one while no other kind ties it -- the pool's tie is no vote, a clock ties only where the
two meet beyond chance -- or on a clock apart that is not one plan's: the two clocks meet as often as independent
clocks would by chance, or they work on other days. Phrases are read only with the wording split on.

Hand-built inputs: each member's cards and, per evidence kind (addresses, phrases, minutes since the epoch), the
values it holds; ``card_parts(..., pool=0, clock=2)`` as the pipeline calls it.
"""

from __future__ import annotations

import numpy as np

from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.card_cells import DAY, card_kinds, card_parts

DAYS = 10


def _cards(groups: int, per: int) -> list[np.ndarray]:
    return [np.array([i // per]) for i in range(groups * per)]


def _pool(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Each member on 6 of one pool's 60 addresses at random: exchangeable."""
    return [rng.choice(60, 6, replace=False) for _ in range(n)]


def _template(rng: np.random.Generator, n: int, first: int = 0) -> list[np.ndarray]:
    """Each member writing 8 of a template's 20 phrases (ids from ``first``)."""
    return [rng.choice(20, 8, replace=False) + first for _ in range(n)]


def _bursts(rng: np.random.Generator, hours: tuple[int, int], days: range = range(DAYS), per_day: int = 30) -> np.ndarray:
    """A cell's burst minutes: ``per_day`` random minutes a day within ``hours`` (UTC) on ``days``."""
    return np.concatenate([d * DAY + rng.choice(np.arange(hours[0] * 60, hours[1] * 60), per_day, replace=False)
                           for d in days])


def _members(rng: np.random.Generator, bursts: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` members each active in most (80 %) of their cell's burst minutes: a clock kept together."""
    return [rng.choice(bursts, int(0.8 * len(bursts)), replace=False) for _ in range(n)]


def test_two_cells_on_independent_clocks_part_though_they_write_alike():
    """Two cells of one operator (one template) on one pool, each with its own bursts over the same days and hours,
    drawn apart: they meet in about the minutes independent clocks meet by chance -- two cells, parted."""
    rng = np.random.default_rng(1)
    minutes = _members(rng, _bursts(rng, (0, 24)), 12) + _members(rng, _bursts(rng, (0, 24)), 12)
    label = card_parts(_cards(4, 6), [_pool(rng, 24), _template(rng, 24), minutes], 5, pool=0, clock=2)
    assert label is not None and label.tolist() == [0] * 12 + [1] * 12


def test_one_cell_in_two_shifts_stays_whole():
    """The same cell's two halves keep shifts (hours 0-12 and 12-24, the same days): their clocks avoid each other --
    they meet in no minute where independent clocks would meet in dozens -- one plan, whole."""
    rng = np.random.default_rng(1)
    minutes = _members(rng, _bursts(rng, (0, 12)), 12) + _members(rng, _bursts(rng, (12, 24)), 12)
    assert card_parts(_cards(4, 6), [_pool(rng, 24), _template(rng, 24), minutes], 5, pool=0, clock=2) is None


def test_worker_per_card_on_its_own_minutes_of_the_hour_stays_whole():
    """Six workers of one cell, each firing at its own minutes past every office hour (test_break_scoring's worker
    ring): the clocks interleave and never meet -- one plan's phases, whole."""
    rng = np.random.default_rng(2)
    minutes = [np.array([d * DAY + h * 60 + (7 * (i // 5) + 30 * k) % 60 for d in range(4) for h in range(9, 18)
                         for k in range(2)]) for i in range(30)]
    assert card_parts(_cards(6, 5), [_pool(rng, 30), _template(rng, 30), minutes], 5, pool=0, clock=2) is None


def test_a_short_lived_cell_on_other_days_parts():
    """A cell living two days inside a long-lived sibling's twelve, too thin for chance to say whether their clocks
    are independent: most of the long one's minutes fall on days the short one does not work -- not shifts, parted."""
    rng = np.random.default_rng(3)
    long = _members(rng, _bursts(rng, (0, 24), range(12), per_day=20), 10)
    short = _members(rng, _bursts(rng, (0, 24), range(3, 5), per_day=4), 5)
    label = card_parts(_cards(3, 5), [_pool(rng, 15), _template(rng, 15), long + short], 5, pool=0, clock=2)
    assert label is not None and len(set(label[:10].tolist())) == 1 and set(label[10:].tolist()) == {1 - label[0]}


def test_card_groups_on_their_own_exits_writing_alike_stay_whole():
    """One cell whose card groups each call from exits of their own (their card's country), one template, one clock:
    the addresses are one kind against the phrases' tie -- whole (brk61's country finding)."""
    rng = np.random.default_rng(4)
    exits = [rng.choice(10, 3, replace=False) + 10 * (i // 6) for i in range(24)]
    minutes = _members(rng, _bursts(rng, (0, 24)), 24)
    assert card_parts(_cards(4, 6), [exits, _template(rng, 24), minutes], 5, pool=0, clock=2) is None


def test_the_pools_tie_is_no_vote_and_a_uniform_clock_ties_nothing():
    """Two operators' cells on one pool writing their own templates, both sending at random minutes (no clock): the
    pool and the uniform minutes are shared across as inside, yet neither says they are one -- parted on the phrases.
    On one burst clock kept together instead, the clock ties them: whole."""
    rng = np.random.default_rng(5)
    phrases = _template(rng, 12) + _template(rng, 12, first=100)
    uniform = [rng.choice(DAYS * DAY, 60, replace=False) for _ in range(24)]
    label = card_parts(_cards(4, 6), [_pool(rng, 24), phrases, uniform], 5, pool=0, clock=2)
    assert label is not None and label.tolist() == [0] * 12 + [1] * 12
    together = _members(rng, _bursts(rng, (0, 24)), 24)
    assert card_parts(_cards(4, 6), [_pool(rng, 24), phrases, together], 5, pool=0, clock=2) is None


def test_phrases_are_read_only_with_the_wording_split_on():
    assert card_kinds(True) == ("ip", "prompt") and card_kinds(False) == ("ip",)


def test_card_cells_on_by_default():
    assert ScoringConfig().card_cells is True and PipelineConfig().scoring.card_cells is True
