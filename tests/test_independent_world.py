"""Invariants of the independent world generator (benchmarks/independent_world.py).

These check the measuring stick itself, not graphlink's scores: every account
is labelled and has events, groups have their declared sizes, labels are in
the form `graphlink evaluate` reads, and a seed gives the same world.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import polars as pl
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "independent_world.py"


@pytest.fixture(scope="module")
def iw():
    spec = importlib.util.spec_from_file_location("independent_world", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["independent_world"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def world(iw):
    return iw.generate(seed=5, n_accounts=400)


def test_every_account_is_labelled_once_and_has_events(world):
    ev, acc, lab = world["events"], world["accounts"], world["labels"]
    assert lab.height == 400 == acc.height
    assert lab["account_id"].n_unique() == 400
    assert set(lab["account_id"]) == set(acc["account_id"]) == set(ev["account_id"])
    assert set(lab["kind"]) <= {"ring", "benign", "benign_linked"}
    assert {"ring", "benign", "benign_linked"} <= set(lab["kind"])


def test_columns_and_types(world):
    ev, acc = world["events"], world["accounts"]
    assert ev.columns == ["account_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"]
    assert ev.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert acc.columns == ["account_id", "created_at", "email_domain"]
    assert ev["ip"].null_count() == 0 and ev["prompt"].null_count() == 0
    first, last = ev["timestamp"].min(), ev["timestamp"].max()
    assert (last - first).days < 21


def test_groups_have_declared_sizes(world):
    lab, params = world["labels"], world["params"]
    counts = dict(lab.drop_nulls("group_id").group_by("group_id").len().iter_rows())
    declared = {g["group"]: g["size"] for g in params["groups"]}
    assert counts == declared
    cells = {f"cell{c['cell']:04d}": c["size"] for c in params["cells"]}
    assert all(counts[g] == s and s >= 5 for g, s in cells.items())
    assert sum(cells.values()) == lab.filter(pl.col("kind") == "ring").height
    # ring rows carry cell and operator; others carry neither
    ring = lab.filter(pl.col("kind") == "ring")
    assert ring["ring_id"].null_count() == 0 and ring["campaign_id"].null_count() == 0
    assert ring["campaign_id"].n_unique() == 3
    assert lab.filter(pl.col("kind") != "ring")["ring_id"].null_count() == lab.height - ring.height
    # benign_linked accounts all have a group, ordinary ones none
    assert lab.filter((pl.col("kind") == "benign_linked") & pl.col("group_id").is_null()).height == 0
    assert lab.filter((pl.col("kind") == "benign") & pl.col("group_id").is_not_null()).height == 0


def test_labels_are_read_by_evaluate(world):
    from graphlink.lab.evaluate import evaluate

    lab = world["labels"]
    ring = lab.filter(pl.col("kind") == "ring")
    # a perfect detector: clusters = cells, flagged; campaign = operator
    acc = ring.select("account_id", pl.col("ring_id").alias("cluster_id"), "campaign_id")
    clusters = ring.select(pl.col("ring_id").unique().alias("cluster_id")).with_columns(flagged=pl.lit(True))
    r = evaluate(acc, clusters, lab)
    assert r["precision"] == r["recall"] == r["ari_cell"] == r["ari_campaign"] == 1.0
    assert r["rings"] == len(world["params"]["cells"])


def test_seed_determinism(iw, world):
    again = iw.generate(seed=5, n_accounts=400)
    for name in ("events", "accounts", "labels"):
        assert again[name].equals(world[name]), name
    other = iw.generate(seed=6, n_accounts=400)
    assert not other["events"].equals(world["events"])


def test_write_round_trip(iw, world, tmp_path):
    iw.write(world, tmp_path)
    assert pl.read_parquet(tmp_path / "labels.parquet").equals(world["labels"])
    assert pl.read_parquet(tmp_path / "events.parquet").height == world["events"].height
    assert (tmp_path / "params.json").exists()
