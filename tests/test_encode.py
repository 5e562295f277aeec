"""Encoded events and the sort-based counting behind every extractor, against polars group-by oracles."""

import numpy as np
import polars as pl
import pytest

from graphlink.encode import count_by_account, encode_frame
from graphlink.errors import GraphlinkError


def _oracle(frame: pl.DataFrame, column: str, weight: str | None = None) -> pl.DataFrame:
    total = pl.col(weight).sum() if weight else pl.len()
    return (frame.drop_nulls(column).group_by("account_idx", pl.col(column).alias("key"))
            .agg(total.cast(pl.UInt32).alias("count")).sort("account_idx", "key"))


def _frame(rng, n_rows, n_accounts, keys) -> pl.DataFrame:
    return pl.DataFrame({
        "account_idx": rng.integers(0, n_accounts, n_rows).astype(np.uint32),
        "key": rng.choice(keys, n_rows).astype(np.uint64),
        "w": rng.integers(1, 9, n_rows).astype(np.uint32),
    })


@pytest.mark.parametrize("key_range", ["hash", "small"])
@pytest.mark.parametrize("weight", [None, "w"])
def test_count_by_account_matches_group_by(key_range, weight):
    rng = np.random.default_rng(11)
    keys = (rng.integers(0, 2**63, 500, dtype=np.uint64) * 2 if key_range == "hash"
            else rng.integers(0, 5000, 500).astype(np.uint64))  # "small": packed losslessly
    frame = _frame(rng, 20_000, 300, keys)
    frame = frame.with_columns(pl.when(pl.col("w") == 1).then(None).otherwise("key").alias("key"))  # some nulls
    got = count_by_account(frame, "key", 300, weight=weight)
    assert got.equals(_oracle(frame, "key", weight))
    assert got["account_idx"].is_sorted()


def test_count_by_account_falls_back_when_truncated_hashes_collide():
    # Too large to pack whole beside 1 account bit, and equal in every bit the packing keeps.
    frame = pl.DataFrame({"account_idx": [0, 0, 0, 1], "key": [2**63, 2**63 + 1, 2**63, 2**63 + 1]},
                         schema={"account_idx": pl.UInt32, "key": pl.UInt64})
    assert count_by_account(frame, "key", 2).equals(_oracle(frame, "key"))
    assert count_by_account(frame, "key", 2)["count"].to_list() == [2, 1, 1]


def test_encoded_frame_keeps_row_order_and_missing_values():
    enc = encode_frame(pl.DataFrame({"account_id": ["z", "a", "z"], "ip": ["1.1.1.1", None, "1.1.1.1"]}))
    assert enc.frame["account_idx"].to_list() == [1, 0, 1]
    assert enc.frame["ip"].null_count() == 1 and enc.frame["ip"][0] == enc.frame["ip"][2]
    table = enc.dictionary("ip")
    assert table.rows() == [(enc.frame["ip"][0], "1.1.1.1")]


def test_a_hash_collision_raises_instead_of_merging_values(monkeypatch):
    real_hash = pl.Expr.hash

    def colliding(self, seed=0, *args):  # every value collides under the main salt only
        return pl.lit(7, pl.UInt64) if seed == 0 else real_hash(self, seed, *args)

    monkeypatch.setattr(pl.Expr, "hash", colliding)
    with pytest.raises(GraphlinkError, match="hash collision between two (account_id|card) values"):
        encode_frame(pl.DataFrame({"account_id": ["a", "b"], "card": ["c1", "c2"]}))
