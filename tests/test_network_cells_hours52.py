"""Network cells join only pieces running on one clock (session 52, helper cells52; issue 17: ARI by cell at 224k).

``network_cells`` links clusters living on one exclusive network and sharing a specific mark; with the clustered
accounts' hours it cuts each component of links into groups whose hours read as one clock, by average linkage
(:mod:`graphlink.stages.clock_groups`). Hand-built inputs: every account lives on one /24 (``ip_net`` 100) that no
unclustered account uses and sends one template shingle (``prompt`` 200); no exact address or clock of its own
(no home) unless a case adds one. Each case is checked against the same input without hours (the components join
whole), so a pass is the clock's doing.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from graphlink.stages.clock_groups import average_groups, clock_agreement
from graphlink.stages.network_cells import network_cells

DAYS = 7


def _world(clusters: dict[int, list[list[int]]], office_ip: dict[int, int] | None = None):
    """Inputs of ``network_cells`` for ``clusters``: cluster id -> one list of active UTC hours of the day per member
    (each active every day of a week). ``office_ip``: cluster id -> an exact address (kind ``ip``) all its members
    send nearly all their events from (a NAT)."""
    part, mem, hours = [], [], []
    acc = 0
    for cid, members in clusters.items():
        for active in members:
            part.append((acc, cid))
            mem += [(acc, 100, 20), (acc, 200, 1)]
            if office_ip and cid in office_ip:
                mem.append((acc, office_ip[cid], 19))
            hours += [(acc, date(2024, 1, 1) + timedelta(days=d), h, 1) for d in range(DAYS) for h in active]
            acc += 1
    n = acc
    ips = sorted(set((office_ip or {}).values()))
    partition = pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    memberships = pl.DataFrame(mem, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "count": pl.Int64}, orient="row")
    df = memberships.group_by("signal_idx").agg(pl.len().alias("df"))
    kinds = {100: "ip_net", 200: "prompt", **{i: "ip" for i in ips}}
    signals = (pl.DataFrame({"signal_idx": list(kinds), "kind": list(kinds.values())}, schema={"signal_idx": pl.UInt32, "kind": pl.String})
               .join(df, on="signal_idx").with_columns(pl.col("df").cast(pl.Int64)))
    events = pl.DataFrame({"account_idx": list(range(n)), "events": [20] * n}, schema={"account_idx": pl.UInt32, "events": pl.Int64})
    activity = pl.DataFrame(hours, schema={"account_idx": pl.UInt32, "day": pl.Date, "hour": pl.Int8, "events": pl.Int64}, orient="row")
    return partition, memberships, signals, events, activity


def _groups(out: pl.DataFrame, partition: pl.DataFrame) -> list[set[int]]:
    """The input clusters found together in each output cluster."""
    both = partition.rename({"cluster_id": "piece"}).join(out, on="account_idx")
    return sorted((set(g["piece"].to_list()) for _, g in both.group_by("cluster_id")), key=min)


def _run(world, with_hours: bool) -> list[set[int]]:
    partition, memberships, signals, events, activity = world
    out = network_cells(partition, memberships, signals, events, hours=activity if with_hours else None)
    return _groups(out, partition)


def test_sibling_cells_on_one_block_at_different_hours_stay_apart():
    world = _world({1: [list(range(0, 6))] * 4, 2: [list(range(12, 18))] * 4})
    assert _run(world, with_hours=False) == [{1, 2}]  # the block and the template alone join them
    assert _run(world, with_hours=True) == [{1}, {2}]


def test_pieces_of_one_cell_at_the_same_hours_join():
    world = _world({1: [list(range(0, 6))] * 4, 2: [list(range(0, 6))] * 3})
    assert _run(world, with_hours=True) == [{1, 2}]


def test_a_small_piece_sending_in_part_of_its_cells_hours_still_joins():
    # The cell sends in hours 0-11; a piece of two accounts each sends in three of them (half the cell's hours between
    # them: Jaccard 0.5), as a small sample of the cell's clock would.
    world = _world({1: [list(range(0, 12))] * 8, 2: [[0, 1, 2], [6, 7, 8]]})
    assert _run(world, with_hours=True) == [{1, 2}]


def test_a_chain_through_a_middle_cluster_does_not_join_its_ends():
    # B sends in hours 0-19; A in 0-9 and C in 10-19 each read as a sample of B's clock, A and C share no hour.
    world = _world({1: [list(range(0, 10))] * 4, 2: [list(range(0, 20))] * 4, 3: [list(range(10, 20))] * 4})
    counts = np.zeros((3, 24))
    counts[0, 0:10], counts[1, 0:20], counts[2, 10:20] = 4, 4, 4
    sim = clock_agreement(counts)
    assert sim[0, 1] > 0.5 and sim[1, 2] > 0.5 and sim[0, 2] == 0  # the chain is there pairwise
    assert _run(world, with_hours=False) == [{1, 2, 3}]
    together = _run(world, with_hours=True)
    assert {1, 3} not in together and not any({1, 3} <= g for g in together)
    assert len(together) == 2


def test_a_cluster_sending_in_every_hour_does_not_absorb_a_cell_concentrated_in_a_few():
    # A cluster active round the clock contains every hour; a sibling with as many account-hours packed into four
    # hours a day is no sample of that clock.
    world = _world({1: [list(range(24))] * 2, 2: [[0, 1, 2, 3]] * 12})
    assert _run(world, with_hours=False) == [{1, 2}]
    assert _run(world, with_hours=True) == [{1}, {2}]


def test_offices_behind_their_own_nat_at_the_same_office_hours_stay_apart():
    # Two firms on one /24, one template, the same office hours: each has a home (its NAT address), so no clock
    # agreement joins them.
    office = list(range(8, 17))
    world = _world({1: [office] * 5, 2: [office] * 5}, office_ip={1: 300, 2: 301})
    assert _run(world, with_hours=True) == [{1}, {2}]
    assert _run(world, with_hours=False) == [{1}, {2}]


def test_average_groups_merges_only_above_the_threshold():
    sim = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.1], [0.1, 0.1, 1.0]])
    assert average_groups(sim, 0.5).tolist() == [0, 0, 1]
    assert average_groups(sim, 0.95).tolist() == [0, 1, 2]
    half = np.array([[1.0, 0.5], [0.5, 1.0]])
    assert average_groups(half, 0.5).tolist() == [0, 1]  # "more than": a tie at the threshold does not merge
