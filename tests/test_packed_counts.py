"""Scoring steps rewritten for speed (packed integer keys, gathers by position) give the tables
of their join-based definitions, kept here as references, on random worlds."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphlink.config import GraphConfig
from graphlink.stages.campaign_flags import SPECIFIC_SHARE
from graphlink.stages.campaigns import is_tie_kind, tie_values
from graphlink.stages.card_pools import POOL_HOLDERS, card_alignment


def _world(seed: int):
    rng = np.random.default_rng(seed)
    n_accounts, n_clusters, n_cards, n_values = 400, 12, 15, 160
    cluster = rng.integers(0, n_clusters + 3, n_accounts)  # codes >= n_clusters: in no cluster
    partition = pl.DataFrame({"account_idx": np.arange(n_accounts, dtype=np.uint32),
                              "cluster_id": [int(c) + 1 if c < n_clusters else None for c in cluster]},
                             schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    kinds = ["payment"] * n_cards + list(rng.choice(["ip", "prompt", "user_agent", "ip_net"], n_values))
    rows = set()
    for account in range(n_accounts):
        # Cards shared within clusters (pools), other values around the cluster's own few.
        base = cluster[account] * 7
        for card in rng.choice(n_cards, rng.integers(0, 3), replace=False):
            rows.add((account, int((card + base) % n_cards)))
        for value in rng.integers(0, 20, rng.integers(1, 12)):
            rows.add((account, n_cards + int((value + base) % n_values)))
    memberships = pl.DataFrame(sorted(rows), schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32},
                               orient="row")
    df = memberships.group_by("signal_idx").agg(pl.len().cast(pl.UInt32).alias("df"))
    signals = (pl.DataFrame({"signal_idx": np.arange(n_cards + n_values, dtype=np.uint32), "kind": kinds,
                             "weight": rng.choice([0.0, 0.5, 1.0, 3.0], n_cards + n_values)})
               .join(df, on="signal_idx", how="left").with_columns(pl.col("df").fill_null(0))
               .with_columns((pl.col("weight") > 0).alias("linked")))
    return partition, memberships, signals


def _card_alignment_reference(members, memberships, signals):
    kinds = signals.select("signal_idx", "kind", pl.col("weight").cast(pl.Float64), "df")
    affil = memberships.select("account_idx", "signal_idx").join(members.select("cluster_id", "account_idx"),
                                                                 on="account_idx")
    pay = affil.join(kinds.filter(pl.col("kind") == "payment").select("signal_idx"), on="signal_idx")
    pooled = pay.with_columns(pl.len().over("cluster_id", "signal_idx").alias("holders")).filter(
        pl.col("holders") >= POOL_HOLDERS)
    card_of = (pooled.sort(["cluster_id", "account_idx", "holders", "signal_idx"],
                           descending=[False, False, True, False])
               .group_by("cluster_id", "account_idx", maintain_order=True).first()
               .select("cluster_id", "account_idx", pl.col("signal_idx").alias("card")))
    sizes = card_of.group_by("cluster_id", "card").agg(pl.len().cast(pl.Float64).alias("n_c"))
    expected = (sizes.group_by("cluster_id")
                .agg((pl.col("n_c") * (pl.col("n_c") - 1) / 2).sum().alias("same"),
                     pl.col("n_c").sum().alias("n"), pl.len().alias("cards"))
                .filter(pl.col("cards") >= 2)
                .select("cluster_id", (pl.col("same") / (pl.col("n") * (pl.col("n") - 1) / 2)).alias("e_same")))
    specific = (affil.join(kinds.filter((pl.col("kind") != "payment") & (pl.col("weight") > 0)), on="signal_idx")
                .group_by("cluster_id", "signal_idx")
                .agg(pl.len().alias("inside"), pl.col("df").first(), pl.col("kind").first(), pl.col("weight").first())
                .filter(pl.col("inside") >= SPECIFIC_SHARE * pl.col("df")).select("cluster_id", "signal_idx", "kind",
                                                                                   "weight"))
    others = (affil.join(card_of, on=["cluster_id", "account_idx"])
              .join(specific, on=["cluster_id", "signal_idx"])
              .join(expected.select("cluster_id"), on="cluster_id", how="semi"))
    pairs = pl.col("h") * (pl.col("h") - 1) / 2
    by_card = (others.group_by("cluster_id", "signal_idx", "card")
               .agg(pl.len().cast(pl.Float64).alias("h"), pl.col("weight").first(), pl.col("kind").first())
               .sort("cluster_id", "signal_idx", "card")
               .group_by("cluster_id", "signal_idx", maintain_order=True)
               .agg((pairs * pl.col("weight")).sum().alias("same_mass"),
                    pl.col("h").sum().alias("h"), pl.col("weight").first(), pl.col("kind").first()))
    text = pl.col("kind") == "prompt"
    observed = (by_card.group_by("cluster_id", maintain_order=True)
                .agg(pl.col("same_mass").sum(), (pairs * pl.col("weight")).sum().alias("mass"),
                     pl.col("same_mass").filter(text).sum().alias("text_same"),
                     (pairs * pl.col("weight")).filter(text).sum().alias("text_mass")))
    kappa = (lambda same, mass: ((pl.col(same) / pl.col(mass) - pl.col("e_same")) / (1 - pl.col("e_same"))).clip(-1, 1))
    text_factor = pl.when(pl.col("text_mass") > 0).then(kappa("text_same", "text_mass").clip(0, 1)).otherwise(1.0)
    return (expected.join(observed, on="cluster_id", how="left")
            .select(pl.col("cluster_id").cast(pl.Int64),
                    pl.when(pl.col("mass") > 0).then(kappa("same_mass", "mass") * text_factor)
                    .otherwise(None).cast(pl.Float64).alias("card_alignment"))
            .sort("cluster_id"))


@pytest.mark.parametrize("seed", range(6))
def test_card_alignment_equals_its_join_definition(seed):
    partition, memberships, signals = _world(seed)
    members = partition.drop_nulls("cluster_id")
    got = card_alignment(members, memberships, signals)
    assert got.height > 0  # the world has clusters with pooled cards
    assert got.equals(_card_alignment_reference(members, memberships, signals))


@pytest.mark.parametrize("seed", range(6))
def test_tie_values_equal_their_join_definition(seed):
    partition, memberships, signals = _world(seed)
    config = GraphConfig()
    rng = np.random.default_rng(seed)
    campaign_of = pl.DataFrame({"cluster_id": list(range(1, 13)), "campaign_id": rng.integers(1, 5, 12).tolist()})
    kinds = [k for k in signals["kind"].unique().to_list() if is_tie_kind(k, config)]
    mapped = partition.drop_nulls("cluster_id").join(campaign_of, on="cluster_id")
    reference = (
        memberships.join(signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx", "kind"),
                         on="signal_idx")
        .join(mapped, on="account_idx")
        .group_by("campaign_id", "kind", "signal_idx").agg(pl.col("cluster_id").n_unique().alias("n"),
                                                           pl.len().alias("inside"))
        .filter(pl.col("n") >= 2)
    )
    got = tie_values(campaign_of, partition, memberships, signals, config)
    order = ["campaign_id", "kind", "signal_idx"]
    assert got.height > 0
    assert got.sort(order).equals(reference.sort(order))


@pytest.mark.parametrize("seed", range(6))
def test_tie_holdings_are_the_join_and_group_by(seed):
    from graphlink.stages.campaign_flags import tie_holdings

    partition, memberships, signals = _world(seed)
    rng = np.random.default_rng(seed + 100)
    ids = partition["cluster_id"].drop_nulls().unique().sort()
    campaign_of = pl.DataFrame({"cluster_id": ids, "campaign_id": rng.integers(0, 4, ids.len())},
                               schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    mapped = partition.drop_nulls("cluster_id").join(campaign_of, on="cluster_id")
    ties = signals.filter(pl.col("linked") & pl.col("kind").is_in(["payment", "ip"]))["signal_idx"]
    found = tie_holdings(mapped, memberships, ties)
    expected = (mapped.join(memberships.select("account_idx", "signal_idx"), on="account_idx")
                .join(ties.to_frame(), on="signal_idx", how="semi")
                .group_by("campaign_id", "cluster_id", "signal_idx").agg(pl.len().alias("h")))
    keys = ["campaign_id", "cluster_id", "signal_idx"]
    assert expected.height > 0
    assert found.schema == expected.schema and found.sort(keys).equals(expected.sort(keys))
    # An account listed twice: the caller's join decides (rows doubled), so nothing is counted here.
    assert tie_holdings(pl.concat([mapped, mapped.head(1)]), memberships, ties) is None


@pytest.mark.parametrize("seed", range(4))
def test_clique_support_reads_the_rows_its_joins_gave(seed):
    from graphlink.stages.linking import clique_support

    partition, memberships, signals = _world(seed)
    rng = np.random.default_rng(seed + 200)
    memberships = memberships.with_columns(pl.Series("damp", rng.choice([1.0, 0.5, 0.25], memberships.height)))
    config = GraphConfig()
    found = clique_support(partition, memberships, signals, config)
    rows = (memberships.select("account_idx", "signal_idx", "damp").join(partition.drop_nulls("cluster_id"), on="account_idx")
            .join(signals.filter("linked").select("signal_idx", "kind", "weight"), on="signal_idx"))
    strong_kinds = [k for k in signals["kind"].unique().to_list() if config.spec(k).strong]
    per_value = rows.group_by("cluster_id", "signal_idx").agg(
        (pl.col("weight").first() * (pl.col("damp").sum() ** 2 - (pl.col("damp") ** 2).sum()) / 2).alias("w"),
        pl.col("kind").first().is_in(strong_kinds).alias("strong"))
    expected = per_value.group_by("cluster_id").agg(pl.col("w").filter("strong").sum().alias("strong"),
                                                     pl.col("w").filter(~pl.col("strong")).sum().alias("weak"))
    joined = found.join(expected, on="cluster_id", how="left", suffix="_ref").fill_null(0.0)
    assert found.height == partition["cluster_id"].drop_nulls().n_unique() and joined["strong"].sum() > 0
    for column in ("strong", "weak"):  # float sums: the same terms, summed in the same order up to rounding
        assert np.allclose(joined[column].to_numpy(), joined[column + "_ref"].to_numpy(), rtol=1e-12, atol=1e-9)
