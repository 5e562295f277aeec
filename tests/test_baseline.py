"""Tests of the shared-identifier connected-components baseline."""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.lab.baseline import BaselineConfig, baseline_detect


def frame(rows: list[tuple[str, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"account_id": pl.String, "payment_fingerprint": pl.String,
                                      "ip": pl.String}, orient="row")


def clusters_of(accounts: pl.DataFrame) -> dict[str, int | None]:
    return dict(accounts.select("account_id", "cluster_id").iter_rows())


def test_shared_card_links_accounts():
    ev = frame([("a", "pf_1", "10.0.0.1"), ("b", "pf_1", "10.0.0.2"),
                ("c", "pf_2", "10.0.0.3"), ("a", "pf_1", "10.0.0.4")])
    accounts, clusters = baseline_detect(ev, BaselineConfig(min_component_size=2))
    got = clusters_of(accounts)
    assert got["a"] == got["b"] is not None
    assert got["c"] is None
    assert clusters.to_dicts() == [{"cluster_id": 0, "size": 2, "score": 2.0, "flagged": True}]


def test_exact_ip_links_and_chains_across_identifiers():
    # a-b share a card, b-c share an IP, c-d share an IP: one component of 4
    ev = frame([("a", "pf_1", "1.1.1.1"), ("b", "pf_1", "2.2.2.2"),
                ("c", None, "2.2.2.2"), ("c", None, "3.3.3.3"), ("d", None, "3.3.3.3"),
                ("e", None, "4.4.4.4")])
    accounts, clusters = baseline_detect(ev, BaselineConfig(min_component_size=4))
    got = clusters_of(accounts)
    assert got["a"] == got["b"] == got["c"] == got["d"] == 0
    assert got["e"] is None
    assert clusters["flagged"].to_list() == [True]


def test_identifier_shared_by_more_than_k_links_nobody():
    k = 5
    over = [(f"n{i}", None, "9.9.9.9") for i in range(k + 1)]  # NAT with k+1 accounts
    at_k = [(f"m{i}", None, "8.8.8.8") for i in range(k)]  # exactly k accounts
    accounts, clusters = baseline_detect(
        frame(over + at_k), BaselineConfig(max_accounts_per_identifier=k, min_component_size=2))
    got = clusters_of(accounts)
    assert all(got[f"n{i}"] is None for i in range(k + 1))
    assert len({got[f"m{i}"] for i in range(k)}) == 1 and got["m0"] is not None
    assert clusters.height == 1 and clusters["size"].item() == k


def test_component_size_threshold():
    big = [(f"b{i}", "pf_big", f"10.0.1.{i}") for i in range(5)]
    small = [(f"s{i}", "pf_small", f"10.0.2.{i}") for i in range(4)]
    accounts, clusters = baseline_detect(frame(big + small), BaselineConfig())
    assert clusters.to_dicts() == [
        {"cluster_id": 0, "size": 5, "score": 5.0, "flagged": True},
        {"cluster_id": 1, "size": 4, "score": 4.0, "flagged": False},
    ]
    assert clusters_of(accounts)["b3"] == 0 and clusters_of(accounts)["s0"] == 1


def test_cluster_ids_deterministic_size_then_smallest_account():
    ev = frame([("z1", "pf_z", "1.0.0.1"), ("z2", "pf_z", "1.0.0.2"),
                ("a1", "pf_a", "1.0.0.3"), ("a2", "pf_a", "1.0.0.4"),
                ("m1", "pf_m", "1.0.0.5"), ("m2", "pf_m", "1.0.0.6"), ("m3", "pf_m", "1.0.0.7")])
    accounts, clusters = baseline_detect(ev, BaselineConfig(min_component_size=2))
    got = clusters_of(accounts)
    assert (got["m1"], got["a1"], got["z1"]) == (0, 1, 2)
    shuffled, _ = baseline_detect(ev.sample(fraction=1.0, shuffle=True, seed=3),
                                  BaselineConfig(min_component_size=2))
    assert clusters_of(shuffled) == got


def test_lazy_input_and_schema():
    ev = frame([("a", "pf_1", "1.1.1.1"), ("b", "pf_1", "1.1.1.2")])
    accounts, clusters = baseline_detect(ev.lazy(), BaselineConfig(min_component_size=2))
    assert dict(accounts.schema) == {"account_id": pl.String, "cluster_id": pl.Int64}
    assert dict(clusters.schema) == {"cluster_id": pl.Int64, "size": pl.Int64,
                                     "score": pl.Float64, "flagged": pl.Boolean}
    assert accounts.height == 2


def test_empty_input():
    accounts, clusters = baseline_detect(frame([]))
    assert accounts.height == 0 and clusters.height == 0
    assert dict(accounts.schema) == {"account_id": pl.String, "cluster_id": pl.Int64}


def test_config_frozen_defaults():
    cfg = BaselineConfig()
    assert (cfg.max_accounts_per_identifier, cfg.min_component_size) == (20, 5)
    assert cfg.identifiers == ("payment_fingerprint", "ip")
    with pytest.raises(AttributeError):
        cfg.min_component_size = 3  # type: ignore[misc]


def test_runs_on_simulated_world():
    from graphlink.lab.evaluate import evaluate
    from graphlink.lab.simulate import PRESETS, simulate

    w = simulate(PRESETS["small"].replace(n_benign=400, n_ring_accounts=120, n_teams=2,
                                          n_university_nats=1, n_corporate_nats=1,
                                          university_nat_accounts=(50, 60),
                                          corporate_nat_accounts=(30, 40)), seed=4)
    accounts, clusters = baseline_detect(w.events)
    r = evaluate(accounts, clusters, w.labels)
    assert r["recall"] > 0.9  # shared cards and proxy reuse catch the rings
    assert accounts["account_id"].n_unique() == w.events["account_id"].n_unique()
