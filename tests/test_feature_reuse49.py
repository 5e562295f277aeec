"""The scoring stage's second pass reuses per-cluster features of clusters that lost no member (session 49, perf49)."""

from __future__ import annotations

import polars as pl

from graphlink.stages.card_pools import card_alignment, office_members
from graphlink.stages.feature_reuse import ClusterReuse, unchanged_clusters


def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Three clusters of 12 on two pooled cards each (members 0-5, 6-11), the first two with an office per card."""
    rows = []
    for c in range(3):
        for i in range(12):
            a = 12 * c + i
            office = [(a, 100 + 2 * c + i // 6, 3)] if c < 2 else []  # clusters 1, 2: each card's office address
            rows += [(a, 2 * c + i // 6, 1), *office, (a, 200 + a % 4, 1)]
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "count": pl.UInt32},
                               orient="row")
    df = memberships.group_by("signal_idx").agg(pl.len().alias("df"))
    signals = df.with_columns(kind=pl.when(pl.col("signal_idx") < 100).then(pl.lit("payment")).otherwise(pl.lit("ip")),
                              weight=pl.lit(1.0))
    return memberships, signals


def test_second_pass_equals_computing_every_cluster_again():
    memberships, signals = world()
    first = pl.DataFrame({"cluster_id": [c + 1 for c in range(3) for _ in range(12)], "account_idx": list(range(36))},
                         schema={"cluster_id": pl.Int64, "account_idx": pl.UInt32})
    # Account 13 detached from cluster 2; clusters renumbered (1 -> 5, 3 -> 4, 2 -> 6).
    second = first.filter(pl.col("account_idx") != 13).with_columns(
        pl.col("cluster_id").replace_strict({1: 5, 2: 6, 3: 4}))
    assert unchanged_clusters(first, second).rows() == [(3, 4), (1, 5)]
    reuse = ClusterReuse()
    align = lambda m: card_alignment(m, memberships, signals)  # noqa: E731
    offices = lambda m: office_members(m, memberships, signals)  # noqa: E731
    assert reuse.per_cluster("a", first, align).equals(align(first))
    assert reuse.per_account("o", first, offices).equals(offices(first))
    assert offices(first)["office"].sum() == 24 and align(first)["card_alignment"].to_list() == [1.0, 1.0, None]
    computed = []
    counting = lambda m: computed.append(m["cluster_id"].unique().sort().to_list()) or align(m)  # noqa: E731
    assert reuse.per_cluster("a", second, counting).equals(align(second))
    assert computed == [[6]]  # only the cluster that lost a member is computed again
    assert reuse.per_account("o", second, offices).equals(offices(second))


def test_members_per_cluster_and_value_counted_on_packed_keys():
    """cluster_similarity's profiles: every (cluster, value) a member carries (at_least=1), of the values asked for only."""
    from graphlink.stages.evidence import shared_in_clusters

    memberships, _ = world()
    memberships = pl.concat([memberships, pl.DataFrame({"account_idx": [5], "signal_idx": [300], "count": [1]},
                                                       schema=memberships.schema)])  # one member's own value
    clusters = pl.DataFrame({"account_idx": list(range(30)), "cluster_id": [c // 10 + 1 for c in range(30)]},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    values = pl.Series("signal_idx", [0, 1, 2, 200, 203, 300], dtype=pl.UInt32)
    expected = (memberships.filter(pl.col("signal_idx").is_in(values.implode())).join(clusters, on="account_idx")
                .group_by("cluster_id", "signal_idx").agg(pl.len().cast(pl.UInt32).alias("accounts_sharing"))
                .sort("cluster_id", "signal_idx"))
    got = shared_in_clusters(memberships, clusters, 1, values)
    assert got.equals(expected.select(got.columns).cast(got.schema))
    assert got.filter(pl.col("accounts_sharing") == 1).height > 0  # values one member carries are counted too
    assert shared_in_clusters(memberships, clusters).filter(pl.col("accounts_sharing") < 2).is_empty()
