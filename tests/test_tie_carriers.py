"""The operator's carriers of a tie (graphlink.stages.tie_carriers) against a plain-Python count as the oracle."""

from __future__ import annotations

import random

import polars as pl
import pytest

from graphlink.stages.tie_carriers import MIN_TIE_CARRIERS, tie_carriers


def _world(seed: int):
    """An operator's clusters (1, 2), tied clusters (10..14) and unclustered accounts holding random values: some
    held by many of the operator's accounts, some by one (a bystander), some by none."""
    rng = random.Random(seed)
    part, aff, rows = [], [], []
    acc = 0
    ops = []
    for c in (1, 2):
        for _ in range(rng.randrange(1, 12)):
            ops.append(acc)
            part.append((acc, c))
            acc += 1
    value = 0
    for c in range(10, 15):
        members = list(range(acc, acc + rng.randrange(1, 10)))
        acc += len(members)
        part += [(a, c) for a in members]
        for _ in range(rng.randrange(0, 8)):
            ours = rng.sample(ops, rng.choice([0, 1, rng.randrange(1, len(ops) + 1)]))
            aff += [(a, value) for a in ours + rng.sample(members, rng.randrange(1, len(members) + 1))]
            rows.append((c, value))
            value += 1
    for _ in range(6):  # unclustered holders and holders in a cluster of no side
        part.append((acc, None if rng.random() < 0.5 else 99))
        aff.append((acc, rng.randrange(max(value, 1))))
        acc += 1
    return (pl.DataFrame(rows, schema={"cluster_id": pl.Int64, "signal_idx": pl.UInt32}, orient="row"),
            pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row"),
            pl.DataFrame(aff, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row").unique())


def _oracle(rows: pl.DataFrame, part: pl.DataFrame, aff: pl.DataFrame, operator: set, cap: int) -> dict[int, int]:
    """Uncapped, then capped: per cluster, the operator's accounts holding any of its tying values."""
    cluster_of = dict(part.drop_nulls("cluster_id").iter_rows())
    holders: dict[int, set] = {}
    for a, v in aff.iter_rows():
        holders.setdefault(v, set()).add(a)
    out = {}
    for c, v in rows.iter_rows():
        ours = {a for a in holders.get(v, ()) if cluster_of.get(a) in operator}
        out.setdefault(c, set()).update(ours)
    return {c: min(len(s), cap) for c, s in out.items() if s}


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("cap", [1, 3, MIN_TIE_CARRIERS, 1000])
def test_carriers_equal_the_capped_count_of_a_plain_python_oracle(seed, cap):
    rows, part, aff = _world(seed)
    got = dict(tie_carriers(rows, part, aff, pl.Series([1, 2]), cap=cap).iter_rows())
    assert got == _oracle(rows, part, aff, {1, 2}, cap)


def test_many_values_through_one_operator_account_are_one_carrier():
    # Ten values each held by all four members of cluster 2 and by one account of the operator's cluster 1.
    part = pl.DataFrame({"account_idx": list(range(9)), "cluster_id": [1] * 5 + [2] * 4},
                        schema_overrides={"account_idx": pl.UInt32})
    aff = pl.DataFrame({"account_idx": [a for _ in range(10) for a in (0, 5, 6, 7, 8)],
                        "signal_idx": [v for v in range(10) for _ in range(5)]},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    rows = pl.DataFrame({"cluster_id": [2] * 10, "signal_idx": list(range(10))},
                        schema_overrides={"signal_idx": pl.UInt32})
    assert tie_carriers(rows, part, aff, pl.Series([1])).rows() == [(2, 1)]
    # Each value held by a different one of the operator's five accounts (a pool's exits): five carriers.
    pool = aff.with_columns(pl.when(pl.col("account_idx") == 0).then(pl.col("signal_idx") % 5)
                            .otherwise(pl.col("account_idx")).cast(pl.UInt32).alias("account_idx"))
    assert tie_carriers(rows, part, pool, pl.Series([1])).rows() == [(2, 5)]


def test_no_operator_or_no_rows_is_empty():
    part = pl.DataFrame({"account_idx": [0, 1], "cluster_id": [1, 2]}, schema_overrides={"account_idx": pl.UInt32})
    aff = pl.DataFrame({"account_idx": [0, 1], "signal_idx": [0, 0]},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    rows = pl.DataFrame({"cluster_id": [2], "signal_idx": [0]}, schema_overrides={"signal_idx": pl.UInt32})
    assert tie_carriers(rows, part, aff, pl.Series([], dtype=pl.Int64)).is_empty()
    assert tie_carriers(rows.clear(), part, aff, pl.Series([1])).is_empty()
    assert tie_carriers(rows, part, aff, pl.Series([1])).rows() == [(2, 1)]
