"""Kernels rewritten for speed (session 12) give what their former definitions gave, kept here as
references, on random worlds: signal numbering with the kind as an Enum code and the numbering sort
collected lazily (``graph.weigh_signals`` / ``project``), and integer keys sorted by numpy
(``encode.sort_keys``: ``value_counts``, ``cotiming.account_minutes``, ``drilldown.linking_order``);
and the largest component's Leiden in a second process beside the drill-down's link tables
(``communities.detect_communities(beside=...)``, :mod:`graphlink.stages.offload`); campaign ties
grouped on one sorted integer key (``campaigns.tie_values``)."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages import offload
from graphlink.stages.campaigns import tie_values
from graphlink.stages.communities import build_graph, component_edges, detect_communities, partition_component
from graphlink.stages.drilldown import linking_order, linking_values
from graphlink.stages.encode import count_by_account, n_distinct, sort_keys, value_counts
from graphlink.stages.graph import coded_kinds, project, sort_unique_keys, weigh_signals
from graphlink.stages.portable import signal_hash

KINDS = ["ip", "ip_net", "payment", "prompt", "timing"]


def _pairs(seed: int, n_accounts: int = 300, n_rows: int = 6000) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keyed ``(pairs, values)``: unique (account, kind, value_key) rows, popular and rare values."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, len(KINDS), n_rows)
    # A few popular values per kind and a long tail, so df ranges from 1 to ~100.
    key = np.where(rng.random(n_rows) < 0.5, rng.integers(0, 20, n_rows), rng.integers(0, 5000, n_rows))
    frame = pl.DataFrame({"account_idx": rng.integers(0, n_accounts, n_rows).astype(np.uint32),
                          "kind": [KINDS[k] for k in kind], "value_key": key.astype(np.uint64),
                          "count": rng.integers(1, 9, n_rows).astype(np.uint32)})
    pairs = frame.unique(["account_idx", "kind", "value_key"], keep="first", maintain_order=True)
    values = pairs.select("kind", "value_key").unique().with_columns(
        pl.format("{}-{}", "kind", "value_key").alias("value"))
    return pairs, values


def _number_reference(pairs: pl.DataFrame, values: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Session 11's numbering: the text kinds hashed, sorted on (signal hash, account) eagerly."""
    hashed = signal_hash(sorted(set(values["kind"].to_list()) | set(pairs["kind"].to_list())))
    rows = (pairs.select("account_idx", "kind", "value_key", "count", hashed.alias("signal_hash"))
            .sort("signal_hash", "account_idx")
            .with_columns(pl.col("signal_hash").rle_id().cast(pl.UInt32).alias("signal_idx")))
    signals = (rows.group_by("signal_idx", maintain_order=True)
               .agg(pl.col("kind").first(), pl.col("value_key").first(), pl.len().cast(pl.UInt32).alias("df"))
               .join(values, on=["kind", "value_key"], how="left", maintain_order="left"))
    return rows.select("account_idx", "signal_idx", "count"), signals


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_numbering_matches_former_definition(seed):
    pairs, values = _pairs(seed)
    members_ref, signals_ref = _number_reference(pairs, values)
    for given in (pairs, coded_kinds(pairs, values)):
        signals, members = weigh_signals(given, 300, GraphConfig(), values=values)
        assert members.select("account_idx", "signal_idx", "count").equals(members_ref)
        assert signals.select("signal_idx", "kind", "value", "df").equals(
            signals_ref.select("signal_idx", "kind", "value", "df"))
    assert signals_ref["df"].max() > 20 and signals_ref["df"].min() == 1  # popular and unshared values


def test_coded_kinds_is_an_enum_of_all_kinds_and_keeps_rows():
    pairs, values = _pairs(5)
    extra = pl.DataFrame({"kind": ["user_agent"], "value_key": [1], "value": ["ua"]},
                         schema=values.schema)
    coded = coded_kinds(pairs, pl.concat([values, extra]))
    assert coded["kind"].dtype == pl.Enum(sorted(KINDS + ["user_agent"]))
    assert coded.with_columns(pl.col("kind").cast(pl.String)).equals(pairs)


@pytest.mark.parametrize("seed", [0, 1])
def test_project_same_with_text_or_coded_kinds(seed):
    pairs, values = _pairs(seed)
    text = project(pairs, 300, GraphConfig(), seed=3, values=values)
    coded = project(coded_kinds(pairs, values), 300, GraphConfig(), seed=3, values=values)
    assert text.edges.height > 0
    assert text.edges.equals(coded.edges)
    assert text.signals.equals(coded.signals)
    assert text.memberships.equals(coded.memberships)


@pytest.mark.parametrize("dtype", [pl.UInt64, pl.UInt32, pl.Int64, pl.UInt8])
def test_sort_keys_and_value_counts_match_polars_sort(dtype):
    rng = np.random.default_rng(7)
    high = 200 if dtype == pl.UInt8 else 2**31
    raw = rng.integers(0, high, 50_000)
    values = pl.Series("k", raw, dtype=dtype)
    got = sort_keys(values)
    assert got.dtype == dtype and got.name == "k"
    assert got.equals(values.sort())
    assert got.flags["SORTED_ASC"]
    # value_counts' former definition: polars' sort read off its runs.
    runs = values.sort().rle().struct.unnest()
    expected = runs.select(pl.col("value").alias("k"), pl.col("len").cast(pl.UInt32).alias("count"))
    counted = value_counts(values)
    assert counted.equals(expected)
    assert counted["count"].max() > 1  # repeated keys: runs are read, not just rows


def test_sort_keys_falls_back_for_nulls_text_and_short():
    with_null = pl.Series("k", [3, None, 1], dtype=pl.UInt64)
    assert sort_keys(with_null).equals(with_null.sort())
    text = pl.Series("k", ["b", "a"])
    assert sort_keys(text).to_list() == ["a", "b"]
    assert sort_keys(pl.Series("k", [], dtype=pl.UInt64)).len() == 0
    wide = pl.Series("k", [2**70, 1, 5], dtype=pl.Int128)  # no numpy dtype: polars sorts it
    assert sort_keys(wide).to_list() == [1, 5, 2**70] and n_distinct(wide) == 3
    assert value_counts(with_null).rows() == [(1, 1), (3, 1)]


@pytest.mark.parametrize("share_one", [0.0, 0.3, 0.85, 1.0])
def test_sort_unique_keys_matches_sort_with_counts(share_one):
    rng = np.random.default_rng(int(share_one * 10))
    keys = np.unique(rng.integers(0, 2**64 - 1, 20_000, dtype=np.uint64))
    rng.shuffle(keys)
    counts = np.where(rng.random(keys.size) < share_one, 1, rng.integers(2, 40, keys.size)).astype(np.uint32)
    keyed = pl.DataFrame({"__packed": keys, "count": counts})
    got = sort_unique_keys(keyed)
    assert got.equals(keyed.sort("__packed"))
    assert got["count"].n_unique() > (1 if share_one < 1 else 0)


def test_sort_unique_keys_repeated_key_sorts_with_counts():
    keyed = pl.DataFrame({"__packed": [5, 3, 5, 1], "count": [1, 1, 1, 2]},
                         schema={"__packed": pl.UInt64, "count": pl.UInt32})
    assert sort_unique_keys(keyed).equals(keyed.sort("__packed"))


@pytest.mark.parametrize("seed", [0, 1])
def test_n_distinct_matches_n_unique(seed):
    rng = np.random.default_rng(seed)
    values = pl.Series("h", rng.integers(0, 500, 20_000), dtype=pl.UInt64)
    with_nulls = pl.select(pl.when(pl.int_range(values.len()) % 7 != 0).then(pl.lit(values))).to_series()
    for series in (values, with_nulls, values.clear(), pl.Series([None], dtype=pl.UInt64),
                   pl.Series(["a", None, "a"])):
        assert n_distinct(series) == series.n_unique()


def _component_world(seed: int) -> tuple[pl.DataFrame, int]:
    """A large noisy component of planted groups, a few small components and isolated accounts."""
    rng = np.random.default_rng(seed)
    groups = [range(s, s + 8) for s in range(0, 160, 8)]
    rows = [(a, b, float(rng.uniform(2, 6))) for g in groups for a in g for b in g if a < b]
    rows += [tuple(sorted(rng.choice(160, 2, replace=False).tolist())) + (0.3,) for _ in range(120)]
    rows += [(200, 201, 4.0), (202, 203, 0.01), (204, 205, 3.0), (205, 206, 3.0)]
    edges = (pl.DataFrame(rows, schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64},
                          orient="row").group_by("source", "target").agg(pl.col("weight").sum())
             .sort("source", "target"))
    return edges, 210


@pytest.mark.parametrize("seed", [0, 1])
def test_offloaded_component_gives_the_same_partition(seed):
    edges, n = _component_world(seed)
    config = CommunityConfig(seed=seed + 2)
    inline = detect_communities(build_graph(edges, n), config, edges)
    calls = []
    offloaded = detect_communities(build_graph(edges, n), config, edges, beside=lambda: calls.append(1),
                                   offload_edges=100)  # the large component goes to a second process
    assert calls == [1]
    assert offloaded.equals(inline)
    assert inline["cluster_id"].drop_nulls().n_unique() >= 10


def test_offload_falls_back_in_process_when_the_child_cannot_start(monkeypatch):
    edges, n = _component_world(3)
    config = CommunityConfig(seed=4)
    inline = detect_communities(build_graph(edges, n), config, edges)
    parts = component_edges(edges, n, build_graph(edges, n))
    vertices, source, target, weight = max(parts, key=lambda p: len(p[1]))
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    job = offload.start(source, target, weight, len(vertices), config)
    assert job.process is None
    assert np.array_equal(offload.finish(job), partition_component(source, target, weight, len(vertices), config))
    assert detect_communities(build_graph(edges, n), config, edges, beside=lambda: None,
                              offload_edges=100).equals(inline)


def test_offload_cancelled_when_beside_fails():
    edges, n = _component_world(0)

    def fail() -> None:
        raise RuntimeError("beside failed")

    with pytest.raises(RuntimeError, match="beside failed"):
        detect_communities(build_graph(edges, n), CommunityConfig(), edges, beside=fail, offload_edges=100)


def test_linking_order_given_or_built_gives_the_same_table():
    pairs, values = _pairs(4)
    proj = project(pairs, 300, GraphConfig(), seed=1, values=values)
    index = pl.DataFrame({"account_idx": np.arange(300, dtype=np.uint32),
                          "account_id": [f"acct{i:04d}" for i in range(300)]})
    order = linking_order(proj.memberships, proj.signals)
    built = linking_values(proj.memberships, proj.signals, index)
    assert built.height > 0
    assert linking_values(proj.memberships, proj.signals, index, order=order).equals(built)
    # Former definition (session 11): the lazy sort of the packed key.
    key = (proj.memberships.lazy().select("account_idx", "signal_idx")
           .join(order[0].lazy().select("signal_idx", "rank"), on="signal_idx")
           .select((pl.col("account_idx").cast(pl.UInt64) * 2**32 + pl.col("rank").cast(pl.UInt64)).alias("key"))
           .sort("key").collect()["key"])
    assert order[1].equals((key // 2**32).cast(pl.UInt32)) and order[2].equals((key % 2**32).cast(pl.UInt32))


def _tie_world(seed: int) -> tuple[pl.DataFrame, ...]:
    """Clusters in campaigns sharing cards and IPs (tie kinds) and timing (not one)."""
    rng = np.random.default_rng(seed)
    n_accounts, n_values = 400, 120
    partition = pl.DataFrame({"account_idx": np.arange(n_accounts, dtype=np.uint32),
                              "cluster_id": rng.integers(1, 40, n_accounts), "alone": rng.random(n_accounts) < 0.15},
                             schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64, "alone": pl.Boolean}).select(
        "account_idx", pl.when(~pl.col("alone")).then(pl.col("cluster_id")).alias("cluster_id"))
    campaign_of = pl.DataFrame({"cluster_id": np.arange(1, 40), "campaign_id": rng.integers(1, 9, 39)},
                               schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    affiliations = pl.DataFrame({"account_idx": rng.integers(0, n_accounts, 3000).astype(np.uint32),
                                 "signal_idx": rng.integers(0, n_values, 3000).astype(np.uint32)}).unique()
    signals = pl.DataFrame({"signal_idx": np.arange(n_values, dtype=np.uint32),
                            "kind": rng.choice(["payment", "ip", "timing"], n_values).tolist(),
                            "linked": rng.random(n_values) < 0.9,
                            "df": rng.integers(2, 50, n_values)})
    return campaign_of, partition, affiliations, signals


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_loud", [False, True])
def test_tie_values_match_the_group_by(seed, with_loud):
    campaign_of, partition, affiliations, signals = _tie_world(seed)
    loud = pl.Series("cluster_id", [1, 5, 9], dtype=pl.Int64) if with_loud else None
    got = tie_values(campaign_of, partition, affiliations, signals, GraphConfig(), loud)
    expected = _tie_values_reference(campaign_of, partition, affiliations, signals, loud)
    order = ["campaign_id", "signal_idx"]
    assert got.schema == expected.schema
    assert got.sort(order).equals(expected.sort(order))
    assert got.height > 10 and got["n"].max() > 2


def _tie_values_reference(campaign_of, partition, affiliations, signals, loud):
    """Session 11's tie_values core: joins and a hash group-by with a distinct count."""
    kinds = ["ip", "payment"]
    mapped = partition.drop_nulls("cluster_id").join(campaign_of, on="cluster_id")
    ties = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx", "kind")
    rows = (affiliations.join(ties.select("signal_idx"), on="signal_idx")
            .join(mapped, on="account_idx").select("campaign_id", "cluster_id", "signal_idx"))
    aggs = [pl.col("cluster_id").n_unique().alias("n"), pl.len().alias("inside")]
    if loud is not None:
        rows = rows.with_columns(pl.col("cluster_id").is_in(loud.implode()).alias("__loud"))
        aggs.append(pl.col("__loud").sum().alias("__loud_in"))
    grouped = rows.group_by("campaign_id", "signal_idx").agg(aggs)
    columns = ["campaign_id", "kind", "signal_idx", "n", "inside"]
    if loud is not None:
        totals = rows.filter("__loud").group_by("signal_idx").agg(pl.len().alias("__loud_all"))
        grouped = grouped.join(totals, on="signal_idx", how="left").with_columns(
            (pl.col("__loud_all").fill_null(0) - pl.col("__loud_in")).cast(pl.UInt32).alias("loud_outside"))
        columns.append("loud_outside")
    return grouped.filter(pl.col("n") >= 2).join(ties, on="signal_idx").select(columns)


def test_spawned_process_dismissed_when_no_component_is_large_enough():
    edges, n = _component_world(2)
    # Two copies of the world side by side: twice the edges, the same largest component.
    both = pl.concat([edges, edges.with_columns(pl.col("source") + n, pl.col("target") + n)])
    largest = max(len(p[1]) for p in component_edges(both, 2 * n, build_graph(both, 2 * n)))
    assert largest < both.height
    config = CommunityConfig(seed=6)
    inline = detect_communities(build_graph(both, 2 * n), config, both)
    calls = []
    beside = detect_communities(build_graph(both, 2 * n), config, both, beside=lambda: calls.append(1),
                                offload_edges=largest + 1)  # spawned (enough edges in all), then dismissed
    assert calls == [1] and beside.equals(inline)


@pytest.mark.parametrize("seed", [0, 1])
def test_count_by_account_small_keys_match_the_lazy_sort(seed):
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame({"account_idx": rng.integers(0, 500, 30_000).astype(np.uint32),
                          "cluster_id": rng.integers(0, 60, 30_000)})
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) % 11 != 3).then(pl.col("cluster_id")).alias("cluster_id"))
    got = count_by_account(frame, "cluster_id", 500)
    # Former definition (session 11): the packed key sorted in a lazy query and read off its runs.
    bits = 9
    packed = (pl.col("account_idx").cast(pl.UInt64) * 2 ** (64 - bits) + pl.col("cluster_id")).alias("p")
    rows = frame.lazy().select(packed).drop_nulls().sort("p").collect().cast({"p": pl.UInt64})
    expected = (rows.group_by("p", maintain_order=True).agg(pl.len().cast(pl.UInt32).alias("count"))
                .select((pl.col("p") // 2 ** (64 - bits)).cast(pl.UInt32).alias("account_idx"),
                        (pl.col("p") % 2 ** (64 - bits)).cast(pl.UInt64).alias("key"), "count"))
    assert got.equals(expected)
    assert got["count"].max() > 1
