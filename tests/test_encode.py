"""Encoded events and the sort-based counting behind every extractor, against polars group-by oracles."""

import numpy as np
import polars as pl
import pytest

from graphlink.stages.encode import count_by_account, encode_frame
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
@pytest.mark.parametrize("strategy", ["sort", "hash"])
def test_count_by_account_matches_group_by(key_range, weight, strategy):
    rng = np.random.default_rng(11)
    keys = (rng.integers(0, 2**63, 500, dtype=np.uint64) * 2 if key_range == "hash"
            else rng.integers(0, 5000, 500).astype(np.uint64))  # "small": packed losslessly
    frame = _frame(rng, 20_000, 300, keys)
    frame = frame.with_columns(pl.when(pl.col("w") == 1).then(None).otherwise("key").alias("key"))  # some nulls
    got = count_by_account(frame, "key", 300, weight=weight, strategy=strategy)
    assert got.equals(_oracle(frame, "key", weight))
    assert got["account_idx"].is_sorted()



@pytest.mark.parametrize("key_top", [5, 2**33, 2**44, 2**54])
@pytest.mark.parametrize("weight_top", [2, 3000, 2**16, 2**24])
def test_count_by_account_sums_weights_packed_beside_the_key_or_not(key_top, weight_top):
    # The weight rides in the packed key's low bits when key, account and weight fit in 64 bits.
    rng = np.random.default_rng(key_top % 97 + weight_top % 89)
    frame = pl.DataFrame({"account_idx": rng.integers(0, 300, 5_000).astype(np.uint32),
                          "key": rng.integers(0, key_top, 5_000).astype(np.uint64),
                          "w": rng.integers(0, weight_top, 5_000).astype(np.uint32)})  # sums stay below 2**32
    frame = pl.concat([frame, frame.head(2_000)])  # repeated pairs: sums of several weights
    assert count_by_account(frame, "key", 300, weight="w").equals(_oracle(frame, "key", "w"))

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
    with pytest.raises(GraphlinkError, match="hash collision between two account_id values"):
        encode_frame(pl.DataFrame({"account_id": ["a", "b"], "card": ["c1", "c1"]}))
    with pytest.raises(GraphlinkError, match="hash collision between two card values"):
        encode_frame(pl.DataFrame({"account_id": ["a", "a"], "card": ["c1", "c2"]}))


def test_account_activity_matches_a_group_by_over_hours_and_days():
    from graphlink.stages.drilldown import account_activity

    rng = np.random.default_rng(4)
    n = 5000
    events = pl.DataFrame({
        "account_idx": rng.integers(0, 40, n).astype(np.uint32),
        "timestamp": pl.Series(rng.integers(1_700_000_000, 1_703_000_000, n) * 1_000_000).cast(
            pl.Datetime("us", "UTC")),
    })
    accounts = pl.DataFrame({"account_idx": np.arange(0, 40, 2, dtype=np.uint32)})
    ts = pl.col("timestamp")
    expected = (
        events.filter(pl.col("account_idx").is_in(accounts["account_idx"].implode()))
        .group_by("account_idx", ts.dt.hour().cast(pl.Int8).alias("hour"), ts.dt.date().alias("day"))
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort("account_idx", "day", "hour")
    )
    got = account_activity(events, accounts).sort("account_idx", "day", "hour")
    assert got.equals(expected.select(got.columns))


def test_member_signals_keep_the_most_shared_values_per_cluster_and_kind():
    from graphlink.stages.drilldown import member_affiliations

    # Cluster 1 (accounts 0-3) shares ip 10 (4 members), ip 11 (3), ip 12 (2); a card (2); ip 13 is one member's.
    memberships = pl.DataFrame(
        {"account_idx": [0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 0], "signal_idx": [10, 10, 10, 10, 11, 11, 11, 12, 12, 20, 20, 13]},
        schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    signals = pl.DataFrame({"signal_idx": [10, 11, 12, 13, 20], "kind": ["ip"] * 4 + ["payment"],
                            "value": ["a", "b", "c", "d", "card"], "weight": [1.0] * 5},
                           schema_overrides={"signal_idx": pl.UInt32})
    clustered = pl.DataFrame({"account_idx": [0, 1, 2, 3], "account_id": ["w", "x", "y", "z"], "cluster_id": [1] * 4},
                             schema_overrides={"account_idx": pl.UInt32})
    everything = member_affiliations(memberships, signals, clustered)
    assert sorted(set(everything["value"])) == ["a", "b", "c", "card"]  # "d" is not shared
    capped = member_affiliations(memberships, signals, clustered, per_kind=2)
    assert sorted(set(capped["value"])) == ["a", "b", "card"]
    assert capped.filter(pl.col("value") == "a").height == 4
    assert capped["account_id"].is_sorted()


def _templates_by_hand(rows):
    """{(cluster, words): (template, step)} of prompt values: chains of values overlapping by all but one word."""
    from collections import deque

    out = {}
    for cluster in sorted({c for c, _ in rows}):
        nodes = sorted({w for c, w in rows if c == cluster})
        after = {u: [v for v in nodes if v != u and u.split()[1:] == v.split()[:-1]] for u in nodes}
        parent = {u: u for u in nodes}

        def root(u):
            while parent[u] != u:
                u = parent[u]
            return u
        for u in nodes:
            for v in after[u]:
                parent[root(u)] = root(v)
        preceded = {v for u in nodes for v in after[u]}
        starts = [u for u in nodes if u not in preceded]
        opened = {root(u) for u in starts}
        starts += [u for u in nodes if root(u) not in opened and u == min(x for x in nodes if root(x) == root(u))]
        step = {u: 0 for u in starts}
        queue = deque(starts)
        while queue:
            u = queue.popleft()
            for v in after[u]:
                if v not in step:
                    step[v] = step[u] + 1
                    queue.append(v)
        for u in nodes:
            out[(cluster, u)] = (f"{cluster}/{root(u)}", step.get(u, len(rows)))
    return out


def test_top_per_kind_matches_a_full_sort_with_ties_at_the_cut():
    from graphlink.stages.evidence import top_per_kind

    rng = np.random.default_rng(9)
    n = 3000
    kinds = rng.choice(["ip", "payment", "prompt"], n)
    # Prompt values: 5-word shingles of 6 templates of 30 words (letters only: digits normalise alike).
    words = [[f"{chr(97 + t)}{chr(97 + k // 26)}{chr(97 + k % 26)}" for k in range(34)] for t in range(6)]
    shingles = [" ".join(words[rng.integers(0, 6)][k:k + 5]) for k in rng.integers(0, 30, n)]
    signals = pl.DataFrame({
        "signal_idx": np.arange(n, dtype=np.uint32),
        "kind": kinds,
        "value": [s if k == "prompt" else f"v{rng.integers(0, 500)}" for k, s in zip(kinds, shingles)],
        "weight": rng.choice([0.0, 0.5, 1.0, 2.0], n),  # few distinct weights (0: over the cap): many ties
        "df": rng.integers(2, 50, n).astype(np.uint32),
    })
    shared = pl.DataFrame({
        "cluster_id": rng.integers(1, 30, n),
        "signal_idx": np.arange(n, dtype=np.uint32),
        "accounts_sharing": rng.integers(2, 5, n).astype(np.uint32),
    })
    joined = shared.join(signals, on="signal_idx")
    prompts = joined.filter(pl.col("kind") == "prompt")
    chains = _templates_by_hand(list(zip(prompts["cluster_id"].to_list(), prompts["value"].to_list())))
    joined = joined.with_columns(
        template=pl.struct("cluster_id", "value").map_elements(lambda r: chains.get((r["cluster_id"], r["value"]), (None, 0))[0],
                                                               return_dtype=pl.String),
        step=pl.struct("cluster_id", "value").map_elements(lambda r: chains.get((r["cluster_id"], r["value"]), (None, 0))[1],
                                                           return_dtype=pl.Int64))
    # A template's phrases past its 3 strongest (ties: along the chain, then by text) come after the other values, and
    # so do those of templates past a cluster's 4 strongest (by their strongest phrase); the kind lists 3 of each of its
    # first 4 linking templates when that is more than 4.
    is_prompt, row = pl.col("kind") == "prompt", pl.int_range(pl.len())
    full = (joined.with_columns((pl.col("weight") > 0).alias("links"), (pl.col("weight") * pl.col("accounts_sharing")).alias("strength"))
            .sort(["links", "strength", "accounts_sharing", "weight", "step", "value"], descending=[True, True, True, True, False, False])
            .with_row_index("row").with_columns(first=pl.col("row").min().over("template"),
                          linking=pl.col("template").filter("links").n_unique().over("cluster_id", "kind"))
            .with_columns(rank=pl.col("first").rank("dense").over("cluster_id", "kind") - 1)
            .with_columns(over=is_prompt & ((row.over("template") >= 3) | (pl.col("rank") >= 4)),
                          limit=pl.when(is_prompt).then(pl.max_horizontal(4, 3 * pl.col("linking").clip(0, 4))).otherwise(4))
            .sort(["cluster_id", "kind", "links", "over", "strength", "accounts_sharing", "weight", "step", "value"],
                  descending=[False, False, True, False, True, True, True, False, False])
            .filter(row.over("cluster_id", "kind") < pl.col("limit")))
    assert full.filter(is_prompt).group_by("cluster_id").len()["len"].max() == 12  # 3 of each of 4 templates
    assert full.filter(pl.col("kind") == "prompt")["template"].n_unique() > 29  # clusters quote several templates
    got = top_per_kind(shared, 4, signals)
    cols = ["cluster_id", "kind", "accounts_sharing", "weight", "value"]
    assert got.select(cols).equals(full.select(cols))
    # A longer list cut first (the pipeline cuts once for evidence and drill-down) holds the shorter one.
    nested = top_per_kind(top_per_kind(shared, 12, signals), 4, signals)
    assert nested.select(cols).equals(got.select(cols))


@pytest.mark.parametrize("seed", range(4))
def test_distinct_pairs_is_unique_on_sorted_and_unsorted_frames(seed):
    """distinct_pairs reads runs off a frame sorted by both columns, and hashes any other: the rows of unique()."""
    from graphlink.stages.encode import distinct_pairs

    rng = np.random.default_rng(seed)
    frame = pl.DataFrame({"account_idx": rng.integers(0, 30, 500).astype(np.uint32),
                          "win": rng.integers(-5, 40, 500)})
    for f in (frame, frame.sort("account_idx", "win"), frame.sort("win", "account_idx"), frame.head(1), frame.clear()):
        got = distinct_pairs(f)
        assert got.schema == f.schema
        assert got.sort("account_idx", "win").equals(f.unique().sort("account_idx", "win"))
