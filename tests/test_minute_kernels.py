"""Kernels rewritten for speed (session 11) give what their former definitions gave, kept here as
references, on random worlds: active minutes by one packed sort, timing buckets taken from those
minutes, co-timing's shared minutes by a packed hash lookup, components read off the caller's
graph, and count_by_account's lazily collected sort."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from graphlink.config import CommunityConfig
from graphlink.stages.communities import build_graph, component_edges, detect_communities
from graphlink.stages.cotiming import MAX_MINUTES, MIN_PARTNERS, account_minutes, verify_pairs
from graphlink.stages.encode import count_by_account, encode_frame
from graphlink.stages.linking import WEIGHT_SCALE
from graphlink.stages.signals.timing import timing_pairs

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _events(seed: int, n_accounts: int = 60, n_events: int = 4000, with_nulls: bool = True) -> pl.DataFrame:
    """``account_idx, timestamp``: a few scripted groups acting in the same minutes, and noise."""
    rng = np.random.default_rng(seed)
    account = rng.integers(0, n_accounts, n_events)
    group_minutes = rng.integers(0, 3 * 1440, (n_accounts // 4 + 1, 25))
    # Half the events at one of the account's group's script minutes, half anywhere in three days.
    scripted = rng.random(n_events) < 0.5
    minute = np.where(scripted, group_minutes[account // 4, rng.integers(0, 25, n_events)],
                      rng.integers(0, 3 * 1440, n_events))
    stamps = [T0 + timedelta(minutes=int(m), seconds=int(s)) for m, s in zip(minute, rng.integers(0, 60, n_events))]
    frame = pl.DataFrame({"account_idx": account.astype(np.uint32), "timestamp": stamps},
                         schema={"account_idx": pl.UInt32, "timestamp": pl.Datetime("us", "UTC")})
    if with_nulls:
        frame = frame.with_columns(pl.when(pl.int_range(pl.len()) % 97 == 5).then(None)
                                   .otherwise(pl.col("timestamp")).alias("timestamp"))
    return frame


def _account_minutes_reference(frame: pl.DataFrame) -> pl.DataFrame:
    bucket = (pl.col("timestamp").dt.epoch("s") // 60).cast(pl.UInt32).alias("minute")
    return (frame.lazy().select("account_idx", bucket).drop_nulls().unique()
            .sort("account_idx", "minute").collect())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_account_minutes_matches_unique_and_sort(seed):
    frame = _events(seed)
    got = account_minutes(frame)
    expected = _account_minutes_reference(frame)
    assert got.schema == expected.schema
    assert got.equals(expected)
    assert got.height < frame.height  # repeated minutes collapsed: the check is not vacuous


def test_account_minutes_empty_and_all_null():
    empty = _events(0).clear()
    assert account_minutes(empty).equals(_account_minutes_reference(empty))
    nulls = _events(1).with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("timestamp"))
    assert account_minutes(nulls).is_empty()


def _encoded(seed: int):
    frame = _events(seed, with_nulls=True)
    canonical = frame.select(pl.format("acct{}", pl.col("account_idx")).alias("account_id"), "timestamp")
    return encode_frame(canonical)


@pytest.mark.parametrize("seed", [3, 4])
def test_timing_pairs_from_minutes_match_counted_buckets(seed):
    enc = _encoded(seed)
    minutes = account_minutes(enc.frame.select("account_idx", "timestamp"))
    counted = timing_pairs(enc, 60, 5, 8, 2, seed)
    reused = timing_pairs(enc, 60, 5, 8, 2, seed, minutes)
    assert counted[0].height > 0  # some band values are shared
    assert counted[0].equals(reused[0])
    # The values table comes from an unordered unique(): compared as sets of rows.
    assert counted[1].sort("value_key").equals(reused[1].sort("value_key"))
    assert counted[2] == reused[2]
    assert counted[3].equals(reused[3])


def test_timing_pairs_ignore_minutes_for_other_buckets():
    enc = _encoded(5)
    minutes = account_minutes(enc.frame.select("account_idx", "timestamp"))
    # 120-second buckets are not minutes: the events are bucketed again.
    assert timing_pairs(enc, 120, 3, 8, 2, 5, minutes)[0].equals(timing_pairs(enc, 120, 3, 8, 2, 5)[0])


def _verify_reference(candidates, minutes, n_accounts, weight=3.0, min_jaccard=0.1, min_shared=2, min_phases=3,
                      max_phase_share=0.5):
    """verify_pairs as it was before session 11 (semi-join on look account and minute)."""
    log_n = math.log(max(n_accounts, 2))
    rarity = (minutes.group_by("minute").agg(pl.len().alias("d"))
              .select("minute", (log_n - pl.col("d").cast(pl.Float64).log()).clip(lower_bound=0.0).alias("idf")))
    per_account = (minutes.lazy().join(rarity.lazy(), on="minute").group_by("account_idx")
                   .agg(pl.col("idf").sum().alias("total"), pl.len().alias("n")).collect())
    pairs = (
        candidates.lazy().select(pl.col("key").unique())
        .select("key", (pl.col("key") // 2**32).cast(pl.UInt32).alias("a"),
                (pl.col("key") % 2**32).cast(pl.UInt32).alias("b"))
        .join(per_account.lazy().select(pl.col("account_idx").alias("a"), pl.col("total").alias("ta"),
                                        pl.col("n").alias("na")), on="a")
        .join(per_account.lazy().select(pl.col("account_idx").alias("b"), pl.col("total").alias("tb"),
                                        pl.col("n").alias("nb")), on="b")
        .filter((pl.min_horizontal("na", "nb") >= min_shared) & (pl.max_horizontal("na", "nb") <= MAX_MINUTES))
        .collect()
    )
    walk = pairs.select("key", pl.when(pl.col("na") <= pl.col("nb")).then("a").otherwise("b").alias("walk"),
                        pl.when(pl.col("na") <= pl.col("nb")).then("b").otherwise("a").alias("look"))
    shared = (
        walk.lazy()
        .join(minutes.lazy().select(pl.col("account_idx").alias("walk"), "minute"), on="walk")
        .join(minutes.lazy().select(pl.col("account_idx").alias("look"), "minute"), on=["look", "minute"],
              how="semi")
        .join(rarity.lazy(), on="minute")
        .group_by("key").agg(pl.col("idf").sum().alias("shared"), pl.len().alias("n_shared"),
                             (pl.col("minute") % 60).n_unique().alias("phases"),
                             (pl.col("minute") % 60).value_counts(sort=True).first().struct.field("count")
                             .alias("top_phase"))
        .collect()
    )
    union = pl.col("ta") + pl.col("tb") - pl.col("shared")
    agreed = (
        pairs.join(shared, on="key")
        .filter((pl.col("n_shared") >= min_shared) & (pl.col("shared") > 0) & (pl.col("shared") >= min_jaccard * union)
                & (pl.col("phases") >= pl.min_horizontal(pl.lit(min_phases), pl.col("n_shared")))
                & (pl.col("top_phase") <= max_phase_share * pl.col("n_shared")))
        .select("key", "a", "b")
    )
    partners = pl.concat([agreed["a"], agreed["b"]]).value_counts(name="partners")
    partners = partners.rename({partners.columns[0]: "account"})
    return (
        agreed.join(partners.rename({"account": "a", "partners": "pa"}), on="a")
        .join(partners.rename({"account": "b", "partners": "pb"}), on="b")
        .filter((pl.col("pa") >= MIN_PARTNERS) & (pl.col("pb") >= MIN_PARTNERS))
        .select("key", pl.lit(math.floor(weight * WEIGHT_SCALE), pl.Int64).alias("weight")).sort("key")
    )


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_verify_pairs_matches_semi_join_definition(seed):
    rng = np.random.default_rng(seed)
    n_accounts = 60
    minutes = account_minutes(_events(seed, n_accounts))
    a, b = rng.integers(0, n_accounts, 600), rng.integers(0, n_accounts, 600)
    # Random pairs, and every pair inside a scripted group of four (most of which agree).
    group = np.arange(n_accounts)
    inside = [(int(x), int(y)) for x in group for y in group if x < y and x // 4 == y // 4]
    pairs = {(int(min(x, y)), int(max(x, y))) for x, y in zip(a, b) if x != y} | set(inside)
    candidates = pl.DataFrame({"key": [x * 2**32 + y for x, y in sorted(pairs)]}, schema={"key": pl.UInt64})
    got = verify_pairs(candidates, minutes, n_accounts)
    expected = _verify_reference(candidates, minutes, n_accounts)
    assert got.height > 0  # some pairs verified: the comparison is not vacuous
    assert got.height < candidates.height  # and some rejected
    assert got.equals(expected)


@pytest.mark.parametrize("seed", [9, 10])
def test_components_read_off_the_callers_graph(seed):
    rng = np.random.default_rng(seed)
    n = 300
    pairs = {(int(min(x, y)), int(max(x, y))) for x, y in rng.integers(0, n, (400, 2)) if x != y}
    edges = pl.DataFrame({"source": [p[0] for p in sorted(pairs)], "target": [p[1] for p in sorted(pairs)],
                          "weight": rng.choice([0.1, 0.5, 1.0, 2.0], len(pairs))},
                         schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    graph = build_graph(edges, n)
    built, read_off = component_edges(edges, n), component_edges(edges, n, graph)
    assert len(built) == len(read_off) > 1
    for one, other in zip(built, read_off):
        for x, y in zip(one, other):
            assert x.dtype == y.dtype and np.array_equal(x, y)
    # The partition itself: Leiden per component is unchanged whichever way the components were found.
    config = CommunityConfig()
    assert detect_communities(graph, config, edges).equals(detect_communities(graph, config))


@pytest.mark.parametrize("weight", [None, "w"])
def test_count_by_account_sorted_lazily_matches_group_by_across_morsels(weight):
    # Session 11 sorts the packed keys in a lazy query (the streaming engine in polars 2.x): on a
    # frame of many morsels the counts must still be the exact group-by's, in (account, key) order.
    rng = np.random.default_rng(12)
    n_rows, n_accounts = 600_000, 5_000
    keys = rng.integers(0, 2**63, 3_000, dtype=np.uint64) * 2
    frame = pl.DataFrame({"account_idx": rng.integers(0, n_accounts, n_rows).astype(np.uint32),
                          "key": rng.choice(keys, n_rows), "w": rng.integers(1, 9, n_rows).astype(np.uint32)})
    total = pl.col(weight).sum() if weight else pl.len()
    expected = (frame.group_by("account_idx", "key").agg(total.cast(pl.UInt32).alias("count"))
                .sort("account_idx", "key"))
    got = count_by_account(frame, "key", n_accounts, weight=weight)
    assert got.height < n_rows  # repeated (account, key) rows were counted together
    assert got.equals(expected)
