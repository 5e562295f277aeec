"""Independent carriers of a tie (graphlink.stages.tie_carriers) against networkx's matching as the oracle."""

from __future__ import annotations

import random

import networkx as nx
import polars as pl
import pytest

from graphlink.stages.tie_carriers import MIN_TIE_CARRIERS, tie_carriers


def _world(seed: int):
    """An operator's clusters (1, 2) and tied clusters (10..14) holding random values with them: some values
    held by many accounts on both sides, some by one account on one side (a bystander), some by a few."""
    rng = random.Random(seed)
    part, aff, rows = [], [], []
    acc = 0
    operator = {1: [], 2: []}
    for c in operator:
        for _ in range(rng.randrange(1, 9)):
            operator[c].append(acc)
            part.append((acc, c))
            acc += 1
    ops = operator[1] + operator[2]
    value = 0
    for c in range(10, 15):
        members = list(range(acc, acc + rng.randrange(1, 10)))
        acc += len(members)
        part += [(a, c) for a in members]
        for _ in range(rng.randrange(0, 8)):
            mode = rng.random()
            ours = rng.sample(ops, 1 if mode < 0.3 else rng.randrange(1, len(ops) + 1))
            theirs = rng.sample(members, 1 if mode > 0.7 else rng.randrange(1, len(members) + 1))
            aff += [(a, value) for a in ours + theirs]
            rows.append((c, value))
            value += 1
        for _ in range(rng.randrange(0, 3)):  # values only the cluster holds: carry nothing
            aff += [(a, value) for a in rng.sample(members, rng.randrange(1, len(members) + 1))]
            rows.append((c, value))
            value += 1
    for _ in range(4):  # unclustered holders of a tying value: no side
        aff.append((acc, rng.randrange(max(value, 1))))
        part.append((acc, None))
        acc += 1
    frames = (pl.DataFrame(rows, schema={"cluster_id": pl.Int64, "signal_idx": pl.UInt32}, orient="row"),
              pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row"),
              pl.DataFrame(aff, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row").unique())
    return frames, set(ops)


def _oracle(rows: pl.DataFrame, part: pl.DataFrame, aff: pl.DataFrame, ops: set, cap: int) -> dict[int, int]:
    """Uncapped: per cluster, networkx's maximum bipartite matching between its holders and the operator's."""
    cluster_of = dict(part.drop_nulls("cluster_id").iter_rows())
    holders: dict[int, set] = {}
    for a, v in aff.iter_rows():
        holders.setdefault(v, set()).add(a)
    out = {}
    for c in rows["cluster_id"].unique().to_list():
        g = nx.Graph()
        for v in rows.filter(pl.col("cluster_id") == c)["signal_idx"].to_list():
            theirs = [a for a in holders.get(v, ()) if cluster_of.get(a) == c]
            ours = [b for b in holders.get(v, ()) if b in ops]
            g.add_edges_from((("a", a), ("b", b)) for a in theirs for b in ours)
        if g.number_of_edges():
            top = {n for n in g if n[0] == "a"}
            size = len(nx.bipartite.maximum_matching(g, top_nodes=top)) // 2
            out[c] = min(size, cap)
    return out


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("cap", [2, MIN_TIE_CARRIERS, 50])
def test_carriers_equal_the_capped_maximum_matching_of_networkx(seed, cap):
    (rows, part, aff), ops = _world(seed)
    got = dict(tie_carriers(rows, part, aff, pl.Series([1, 2]), cap=cap).iter_rows())
    assert got == _oracle(rows, part, aff, ops, cap)


def test_values_through_one_account_are_one_carrier_however_many():
    # Ten values, each held by the same member of cluster 2 and by the operator's five accounts: one carrier.
    part = pl.DataFrame({"account_idx": list(range(9)), "cluster_id": [1] * 5 + [2] * 4},
                        schema_overrides={"account_idx": pl.UInt32})
    aff = pl.DataFrame({"account_idx": [a for v in range(10) for a in [0, 1, 2, 3, 4, 5]],
                        "signal_idx": [v for v in range(10) for _ in range(6)]},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    rows = pl.DataFrame({"cluster_id": [2] * 10, "signal_idx": list(range(10))},
                        schema_overrides={"signal_idx": pl.UInt32})
    assert tie_carriers(rows, part, aff, pl.Series([1])).rows() == [(2, 1)]
    # The same values held by all four members: four carriers (the operator has five accounts).
    spread = pl.concat([aff, pl.DataFrame({"account_idx": [a for v in range(10) for a in (6, 7, 8)],
                                           "signal_idx": [v for v in range(10) for _ in range(3)]},
                                          schema=aff.schema)])
    assert tie_carriers(rows, part, spread, pl.Series([1])).rows() == [(2, 4)]


def test_no_operator_or_no_rows_is_empty():
    part = pl.DataFrame({"account_idx": [0, 1], "cluster_id": [1, 2]}, schema_overrides={"account_idx": pl.UInt32})
    aff = pl.DataFrame({"account_idx": [0, 1], "signal_idx": [0, 0]},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    rows = pl.DataFrame({"cluster_id": [2], "signal_idx": [0]}, schema_overrides={"signal_idx": pl.UInt32})
    assert tie_carriers(rows, part, aff, pl.Series([], dtype=pl.Int64)).is_empty()
    assert tie_carriers(rows.clear(), part, aff, pl.Series([1])).is_empty()
    assert tie_carriers(rows, part, aff, pl.Series([1])).rows() == [(2, 1)]
