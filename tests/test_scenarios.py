"""Tests of the scenario family (graphlink.lab.simulate.scenarios) and the seed split."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.lab.simulate.scenarios import (
    SCENARIOS, draw_params, simulate_scenario, write_scenario,
)
from graphlink.lab.simulate.seeds import DEV_SEEDS, TEST_SEEDS, seeds


@pytest.fixture(scope="module")
def mixed():
    return simulate_scenario("mixed", 1000, "tiny")


@pytest.fixture(scope="module")
def worlds():
    return {s: simulate_scenario(s, 1001, "tiny") for s in SCENARIOS}


def _prefix(col: str = "group_id") -> pl.Expr:
    return pl.col(col).str.extract(r"^([a-z]+)", 1)


# ------------------------------------------------------------ seeds ----

def test_seed_split_disjoint_and_documented():
    assert len(DEV_SEEDS) == 20 and len(TEST_SEEDS) == 20
    assert not set(DEV_SEEDS) & set(TEST_SEEDS)
    assert seeds("dev", 2) == DEV_SEEDS[:2] and seeds("test") == TEST_SEEDS
    with pytest.raises(ValueError):
        seeds("train")


# ------------------------------------------------------- parameters ----

def test_parameters_vary_by_seed_and_repeat_per_seed():
    a, b = draw_params("mixed", 1000), draw_params("mixed", 1001)
    assert a == draw_params("mixed", 1000)
    assert a != b
    sizes = lambda p: [c["size"] for op in p["operators"] for c in op["cells"]]  # noqa: E731
    assert sizes(a) != sizes(b)
    camo = {op["camouflage"] for s in DEV_SEEDS[:5] for op in draw_params("mixed", s)["operators"]}
    assert len(camo) > 5 and all(0.0 <= c <= 0.5 for c in camo)


def test_parameter_ranges_cover_the_family():
    cells = [c for s in DEV_SEEDS for scen in SCENARIOS
             for op in draw_params(scen, s, "1m")["operators"] for c in op["cells"]]
    sizes = [c["size"] for c in cells]
    assert min(sizes) == 5 and max(sizes) >= 2000
    assert {c["schedule"] for c in cells} == {"burst", "uniform", "office", "cadence"}
    assert {c["ip"] for c in cells} == {"residential", "datacenter", "ipv6", "shared"}
    ratios = [c["pool_ratio"] for c in cells if c["ip"] == "residential"]
    assert min(ratios) < 1 < max(ratios)  # pools smaller and larger than the cell
    lives = [c["lifetime_h"] for c in cells]
    assert min(lives) < 48 and max(lives) > 24 * 14  # hours-long and log-long rings
    giant = max(op["cells"][0]["size"] for s in DEV_SEEDS[:5]
                for op in draw_params("giant", s, "campaign")["operators"])
    assert giant == 5000


def test_unknown_scenario_or_scale():
    with pytest.raises(ValueError, match="unknown scenario"):
        draw_params("nope", 1)
    with pytest.raises(ValueError, match="unknown scale"):
        draw_params("mixed", 1, "huge")


# ----------------------------------------------------------- worlds ----

def test_deterministic_per_seed(mixed):
    ev, acc, lab, _ = simulate_scenario("mixed", 1000, "tiny")
    assert ev.equals(mixed[0]) and acc.equals(mixed[1]) and lab.equals(mixed[2])
    other = simulate_scenario("mixed", 1002, "tiny")[0]
    assert not other.equals(ev)


def test_labels_consistent(worlds):
    for scenario, (ev, acc, lab, _) in worlds.items():
        assert lab.columns == ["account_id", "kind", "ring_id", "campaign_id", "group_id",
                               "scenario"]
        assert lab.schema["ring_id"] == pl.Int64 and lab.schema["campaign_id"] == pl.Int64
        assert lab["account_id"].n_unique() == lab.height == acc.height
        assert set(ev["account_id"].unique()) <= set(lab["account_id"])
        assert set(lab["kind"].unique()) == {"ring", "benign_linked", "benign"}
        assert (lab["scenario"] == scenario).all()
        ring = lab.filter(pl.col("kind") == "ring")
        assert ring.null_count().select("ring_id", "campaign_id", "group_id").sum_horizontal()[0] == 0
        # group id is the cell, spelled cellNNNN
        assert (ring["group_id"] == ring["ring_id"].map_elements(
            lambda i: f"cell{i:04d}", return_dtype=pl.String)).all()
        # a cell belongs to one operator
        assert ring.group_by("ring_id").agg(pl.col("campaign_id").n_unique())["campaign_id"].max() == 1
        rest = lab.filter(pl.col("kind") != "ring")
        assert rest["ring_id"].null_count() == rest.height == rest["campaign_id"].null_count()
        linked = lab.filter(pl.col("kind") == "benign_linked")
        assert linked["group_id"].null_count() == 0
        assert lab.filter(pl.col("kind") == "benign")["group_id"].null_count() == \
            (lab["kind"] == "benign").sum()


def test_mixed_has_every_hard_benign_case(mixed):
    ev, acc, lab, _ = mixed
    kinds = set(lab.filter(pl.col("kind") == "benign_linked").select(_prefix())["group_id"])
    assert kinds == {"team", "nat", "fam", "res", "fw"}
    j = ev.join(lab, on="account_id").join(acc, on="account_id")
    fam = j.filter(pl.col("group_id").str.starts_with("fam")).group_by("group_id").agg(
        pl.col("account_id").n_unique().alias("n"), pl.col("payment_fingerprint").n_unique())
    assert fam["n"].min() >= 2 and fam["n"].max() <= 6
    # a family pays with one card
    assert (fam["payment_fingerprint"] == 1).all()
    # a reseller runs many sub-accounts on one card with varied prompts
    res = j.filter(pl.col("group_id").str.starts_with("res")).group_by("group_id").agg(
        pl.col("account_id").n_unique(), pl.col("payment_fingerprint").n_unique().alias("cards"),
        (pl.col("prompt").n_unique() / pl.len()).alias("distinct"))
    assert (res["cards"] == 1).all() and (res["account_id"] >= 10).all()
    assert (res["distinct"] > 0.9).all()
    # framework users share a long system prompt but nothing else
    fw = j.filter(pl.col("group_id").str.starts_with("fw") & pl.col("prompt").str.starts_with("SYSTEM"))
    assert fw["prompt"].str.split("\n\n").list.first().str.len_chars().min() > 200
    fw_cards = j.filter(pl.col("group_id").str.starts_with("fw"))
    assert fw_cards["payment_fingerprint"].n_unique() > 10
    # NAT hub: many unrelated people behind a few addresses
    nat = j.filter(pl.col("group_id").str.starts_with("nat"))
    top = nat.group_by("group_id", "ip").agg(pl.col("account_id").n_unique()).sort(
        "account_id")["account_id"].max()
    assert top >= 50
    # teams: own email domain, one corporate card
    team = j.filter(pl.col("group_id").str.starts_with("team")).with_columns(
        dom=pl.col("email").str.extract(r"@(.+)$"))
    per = team.group_by("group_id").agg(pl.col("dom").n_unique(),
                                        pl.col("payment_fingerprint").n_unique())
    assert (per["dom"] == 1).all() and (per["payment_fingerprint"] == 1).all()
    assert not team["dom"].is_in(["gmail.com", "outlook.com"]).any()


def test_teams_share_cron_minutes_across_companies_and_zones():
    ev, acc, lab, p = simulate_scenario("schedules", 1000, "small")
    team = ev.join(lab, on="account_id").filter(pl.col("group_id").str.starts_with("team"))
    minute = (team.group_by("group_id", pl.col("timestamp").dt.minute().alias("m")).len()
              .sort("len", descending=True).group_by("group_id", maintain_order=True).first())
    counts = minute.group_by("m").len()
    top = dict(counts.iter_rows())
    assert top.get(0, 0) >= 3 and top.get(5, 0) >= 1  # several companies fire at :00, others at :05
    # teams spread across time zones: some team has members in several offices (IP sets)
    offices = team.group_by("group_id").agg(
        pl.col("ip").str.extract(r"^(\d+\.\d+\.\d+)\.").n_unique().alias("nets"))
    assert offices["nets"].max() >= 2


def test_ring_behaviours(worlds):
    ev, acc, lab, p = worlds["templates"]
    j = ev.join(lab, on="account_id")
    ring = j.filter(pl.col("kind") == "ring")
    prompts = ring["prompt"]
    assert prompts.str.contains(r"[\u4e00-\u9fff]").any()  # a script without spaces
    assert prompts.str.contains(r"^(Task|Job #|Item|任务|第)\s?\d+").any()  # numbered templates
    # camouflage: ring accounts also send ordinary free-text prompts
    free = ~prompts.str.contains(r"step|reason|推理|思路|Task|Job|Item|deduction|rationale")
    assert 0.1 < free.mean() < 0.7
    # IPv6 rotation: many distinct addresses per account inside one /48
    v6 = ring.filter(pl.col("ip").str.contains(":"))
    assert v6.height > 0 and v6["ip"].n_unique() > 0.9 * v6.height
    # operators that share a template family share no card
    fams = {op["family"] for op in p["operators"]}
    assert len(fams) < len(p["operators"])
    cards = ring.filter(pl.col("payment_fingerprint").is_not_null()).group_by(
        "payment_fingerprint").agg(pl.col("campaign_id").n_unique())
    assert cards["campaign_id"].max() == 1


def test_shared_pool_behind_several_operators(worlds):
    ev, acc, lab, p = worlds["pools"]
    ring = ev.join(lab, on="account_id").filter(pl.col("kind") == "ring")
    per_ip = ring.group_by("ip").agg(pl.col("campaign_id").n_unique(),
                                     pl.col("ring_id").n_unique())
    assert per_ip["campaign_id"].max() >= 2 and per_ip["ring_id"].max() >= 2


def test_emails_realistic(mixed):
    _, acc, lab, _ = mixed
    j = acc.join(lab, on="account_id").with_columns(dom=pl.col("email").str.extract(r"@(.+)$"))
    assert j["dom"].null_count() == 0
    people = j.filter(pl.col("kind") == "benign")
    assert people["dom"].is_in(["gmail.com", "outlook.com", "yahoo.com", "hotmail.com",
                                "icloud.com", "qq.com"]).mean() > 0.7
    ring = j.filter(pl.col("kind") == "ring")
    assert ring["email"].n_unique() > 0.95 * ring.height
    # rings register in bulk: a cell's sign-ups are close together (unless aged accounts)
    assert acc["created_at"].dtype == pl.Datetime("us", "UTC")


def test_write_scenario_matches_memory_and_cli(tmp_path, mixed):
    info = write_scenario(tmp_path / "w", "mixed", 1000, "tiny")
    assert info["n_accounts"] == mixed[1].height
    ev = pl.read_parquet(tmp_path / "w" / "events.parquet")
    assert ev.equals(mixed[0])
    assert pl.read_parquet(tmp_path / "w" / "labels.parquet").equals(mixed[2])
    params = json.loads((tmp_path / "w" / "params.json").read_text())
    assert params == json.loads(json.dumps(mixed[3]))
    runner = CliRunner()
    r = runner.invoke(app, ["simulate", str(tmp_path / "c"), "--scenario", "crowds",
                            "--seed", "3", "--scale", "tiny"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "accounts.parquet", "events.parquet", "labels.parquet", "params.json"]
    for args, msg in ((["--scenario", "nope"], "unknown scenario"),
                      (["--scenario", "mixed", "--scale", "huge"], "unknown scale")):
        r = runner.invoke(app, ["simulate", str(tmp_path / "x"), *args])
        assert r.exit_code == 2 and msg in r.output
    assert not (tmp_path / "x").exists()


def test_chunked_writes_bound_rows(tmp_path):
    write_scenario(tmp_path / "w", "giant", 1000, "tiny", chunk_events=3000)
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(tmp_path / "w" / "events.parquet").metadata
    assert meta.num_row_groups > 3
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert max(sizes) < 3000 + 200  # one chunk never exceeds the target by more than an account
    ev = pl.read_parquet(tmp_path / "w" / "events.parquet")
    assert ev["timestamp"].is_sorted() is False or ev.height > 0
    assert np.all(np.diff(ev["timestamp"].to_numpy()[:sizes[0]].astype(np.int64)) >= 0)
