"""Match's indexes counted on codes (graphlink.stages.match_prep) are the tables match's functions give on
``linking.parquet``'s text, on random worlds; where codes cannot stand for the text, nothing is prepared."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphlink.contract import MATCH_INDEX_FILE, MATCH_INDEX_SCHEMA, MATCH_POOLS_FILE, MATCH_POOLS_SCHEMA
from graphlink.stages.drilldown import linking_order, linking_values
from graphlink.stages.match import DEFAULT_MIN_CONCENTRATION, cluster_values
from graphlink.stages.match_pools import address_holdings
from graphlink.stages.match_prep import prepared_indexes


def _world(seed: int, n_accounts: int = 300, n_values: int = 120):
    rng = np.random.default_rng(seed)
    n_clusters = 10
    cluster = rng.integers(0, n_clusters + 4, n_accounts)  # >= n_clusters: unclustered
    ids = sorted({f"acc{int(x):05d}" for x in rng.choice(10**5, n_accounts * 2, replace=False)})[:n_accounts]
    index = pl.DataFrame({"account_idx": np.arange(n_accounts, dtype=np.uint32), "account_id": ids})
    accounts = pl.DataFrame({"account_id": ids, "cluster_id": [int(c) * 3 + 1 if c < n_clusters else None
                                                               for c in cluster]}, schema_overrides={"cluster_id": pl.Int64})
    kinds = rng.choice(["ip", "payment", "user_agent", "ip_net", "prompt"], n_values)
    values = [f"v{int(x)}" for x in rng.choice(10**4, n_values, replace=False)]
    rows = set()
    for account in range(n_accounts):
        base = int(cluster[account]) * 9  # a cluster's accounts draw from the same few values
        for v in rng.integers(0, 14, rng.integers(1, 10)):
            rows.add((account, int((v + base) % n_values)))
    memberships = pl.DataFrame(sorted(rows), schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    df = memberships.group_by("signal_idx").agg(pl.len().alias("df"))
    signals = (pl.DataFrame({"signal_idx": np.arange(n_values, dtype=np.uint32), "kind": list(kinds), "value": values,
                             "weight": rng.choice([0.0, 0.5, 1.0, 3.0], n_values)})
               .join(df, on="signal_idx", how="left").with_columns(pl.col("df").fill_null(0)))
    campaign = {c * 3 + 1: (int(rng.integers(0, 4)) if rng.random() < 0.8 else None) for c in range(n_clusters)}
    clusters = pl.DataFrame({"cluster_id": list(campaign), "campaign_id": list(campaign.values())},
                            schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    return memberships, signals, index, accounts, clusters


@pytest.mark.parametrize("seed", range(8))
def test_prepared_indexes_are_match_functions_on_the_text(seed):
    memberships, signals, index, accounts, clusters = _world(seed)
    order = linking_order(memberships, signals)
    linking = linking_values(memberships, signals, index, accounts, order)
    prepared = prepared_indexes(linking, order, index, accounts, clusters)
    expected = cluster_values(linking, DEFAULT_MIN_CONCENTRATION, campaigns=clusters).cast(dict(MATCH_INDEX_SCHEMA))
    assert expected.height > 0
    assert prepared[MATCH_INDEX_FILE].equals(expected)
    pools = address_holdings(linking).sort("cluster_id", "value").cast(dict(MATCH_POOLS_SCHEMA))
    assert pools.height > 0
    assert prepared[MATCH_POOLS_FILE].equals(pools)
    # Without campaigns, the per-cluster credit only.
    alone = prepared_indexes(linking, order, index, accounts, clusters.drop("campaign_id"))
    assert alone[MATCH_INDEX_FILE].equals(cluster_values(linking, DEFAULT_MIN_CONCENTRATION).cast(dict(MATCH_INDEX_SCHEMA)))


def test_nothing_is_prepared_where_codes_cannot_stand_for_the_text():
    memberships, signals, index, accounts, clusters = _world(1)
    order = linking_order(memberships, signals)
    linking = linking_values(memberships, signals, index, accounts, order)
    assert prepared_indexes(linking, None, index, accounts, clusters) == {}
    # Two values of one kind spelled alike: the text would merge them.
    listed = signals.filter((pl.col("weight") > 0) & (pl.col("kind") == "ip"))
    first, second = listed["signal_idx"][0], listed["signal_idx"][1]
    alike = signals.with_columns(pl.when(pl.col("signal_idx") == second).then(pl.lit(listed["value"][0]))
                                 .otherwise(pl.col("value")).alias("value"))
    assert alike.filter(pl.col("signal_idx").is_in([first, second]))["value"].n_unique() == 1
    order = linking_order(memberships, alike)
    assert prepared_indexes(linking_values(memberships, alike, index, accounts, order), order, index, accounts,
                            clusters) == {}
    # Ids not in index order: linking is sorted on the text, not in the order's rows.
    shuffled = index.with_columns(pl.col("account_id").reverse())
    order = linking_order(memberships, signals)
    assert prepared_indexes(linking_values(memberships, signals, shuffled, accounts, order), order, shuffled, accounts,
                            clusters) == {}


def test_a_run_without_linking_values_prepares_empty_indexes():
    memberships, signals, index, accounts, clusters = _world(2)
    signals = signals.with_columns(pl.lit(0.0).alias("weight"))
    order = linking_order(memberships, signals)
    linking = linking_values(memberships, signals, index, accounts, order)
    assert linking.height == 0
    prepared = prepared_indexes(linking, order, index, accounts, clusters)
    assert prepared[MATCH_INDEX_FILE].height == 0 and prepared[MATCH_INDEX_FILE].schema == MATCH_INDEX_SCHEMA
    assert prepared[MATCH_POOLS_FILE].height == 0 and prepared[MATCH_POOLS_FILE].schema == MATCH_POOLS_SCHEMA
