"""Session 63 (big63): launch cells (``[scoring] launch_cells``, opt-in).

A campaign's flagged clusters whose accounts were started and stopped together (each member's first and last
request within two of its own request gaps of the cluster's window) are one cell Leiden cut on pools its siblings
share; they gather into the largest. Windows at the log's edges say nothing (every long-lived cell runs through the
whole log), a cluster whose members started apart has no window, and clusters of two campaigns or unflagged never
move. The judgement is kept: no flag and no campaign changes.
"""

import polars as pl

from graphlink.config import build_config
from graphlink.stages.launch_cells import launch_moves, launch_windows

HOUR = 3600
LOG_END = 30 * 24 * HOUR  # one account of the log runs from 0 to here (the log's span)


def _index(windows):
    """``windows``: one (first, last, events) per account, in account_idx order; plus a background account spanning the log."""
    rows = list(windows) + [(0, LOG_END, 1000)]
    return pl.DataFrame({"account_idx": list(range(len(rows))), "first_seen": [r[0] for r in rows],
                         "last_seen": [r[1] for r in rows], "events": [r[2] for r in rows]},
                        schema_overrides={"account_idx": pl.UInt32}).with_columns(
        pl.from_epoch("first_seen"), pl.from_epoch("last_seen"))


def _partition(sizes):
    ids = [c for c, n in sizes for _ in range(n)]
    return pl.DataFrame({"account_idx": list(range(len(ids))), "cluster_id": ids},
                        schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})


def _clusters(ids, campaigns=None, flagged=None):
    n = len(ids)
    return pl.DataFrame({"cluster_id": ids, "flagged": flagged or [True] * n, "campaign_id": campaigns or [1] * n},
                        schema_overrides={"cluster_id": pl.Int64, "campaign_id": pl.Int64})


def _cell(start, n, gap=60, events=100, jitter=30):
    """``n`` accounts launched at ``start`` sending every ``gap`` seconds ``events`` times, each a little apart."""
    return [(start + (i * jitter) % (2 * gap), start + gap * (events - 1) + (i * jitter) % (2 * gap), events) for i in range(n)]


def test_two_pieces_of_one_launch_gather_into_the_larger():
    # One cell of 9 launched on day 3 at 10:00, cut by Leiden into 6 + 3; a sibling of 5 launched on day 5.
    win = _cell(3 * 24 * HOUR + 10 * HOUR, 9) + _cell(5 * 24 * HOUR, 5)
    moves = launch_moves(_clusters([1, 2, 3]), _partition([(1, 6), (2, 3), (3, 5)]), _index(win))
    assert moves.rows() == [(6, 1), (7, 1), (8, 1)]


def test_a_sibling_launched_an_hour_later_stays_apart():
    # Fast senders (one request a minute): their tolerance is two minutes, so an hour apart is another launch.
    win = _cell(3 * 24 * HOUR, 6) + _cell(3 * 24 * HOUR + HOUR, 6)
    assert launch_moves(_clusters([1, 2]), _partition([(1, 6), (2, 6)]), _index(win)).is_empty()


def test_slow_senders_get_a_tolerance_of_their_own_gaps():
    # One request every 3 hours: accounts of one launch start up to hours apart and are still one launch.
    slow = [(3 * 24 * HOUR + i * 1800, 3 * 24 * HOUR + i * 1800 + 3 * HOUR * 49, 50) for i in range(8)]
    moves = launch_moves(_clusters([1, 2]), _partition([(1, 5), (2, 3)]), _index(slow))
    assert moves.rows() == [(5, 1), (6, 1), (7, 1)]


def test_windows_at_the_log_edges_join_nothing():
    # Two cells both running from the log's first hour to its last: their windows agree by censoring, not launch.
    win = _cell(0, 5, gap=LOG_END // 99) + _cell(0, 5, gap=LOG_END // 99)
    assert launch_moves(_clusters([1, 2]), _partition([(1, 5), (2, 5)]), _index(win)).is_empty()


def test_a_union_of_siblings_launched_apart_has_no_window():
    members = pl.DataFrame({"account_idx": list(range(6)), "cluster_id": [1] * 6, "events": [100] * 6,
                            "first": [HOUR * 24 * (1 + i) for i in range(6)], "last": [HOUR * 24 * (2 + i) for i in range(6)]})
    assert launch_windows(members, span=(0, LOG_END)).is_empty()
    one = members.with_columns(first=pl.lit(5 * 24 * HOUR), last=pl.lit(6 * 24 * HOUR))
    assert launch_windows(one, span=(0, LOG_END))["cluster_id"].to_list() == [1]


def test_other_campaigns_and_unflagged_clusters_never_move():
    win = _cell(3 * 24 * HOUR, 12)
    part = _partition([(1, 6), (2, 3), (3, 3)])
    cl = _clusters([1, 2, 3], campaigns=[1, 2, 1], flagged=[True, True, False])
    assert launch_moves(cl, part, _index(win)).is_empty()


def test_a_log_without_timestamps_moves_nothing():
    idx = pl.DataFrame({"account_idx": [0, 1], "events": [3, 3]}, schema_overrides={"account_idx": pl.UInt32})
    assert launch_moves(_clusters([1]), _partition([(1, 2)]), idx).is_empty()


def test_the_switch_is_off_by_default_and_read_from_the_scoring_section():
    assert build_config().scoring.launch_cells is False
    assert build_config(launch_cells=True).scoring.launch_cells is True
