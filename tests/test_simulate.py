"""Tests of the campaign simulator (small worlds only; never medium/campaign)."""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from graphlink.lab.simulate import PRESETS, SimulationConfig, simulate, write_world
from graphlink.lab.simulate.text import RING_TEMPLATES

SMALL = PRESETS["small"]
# A reduced world for tests that simulate several variants.
TINY = SMALL.replace(n_benign=600, n_ring_accounts=200, n_teams=3,
                     n_university_nats=1, n_corporate_nats=1,
                     university_nat_accounts=(60, 80), corporate_nat_accounts=(30, 50))

EVENT_SCHEMA = {
    "account_id": pl.String,
    "timestamp": pl.Datetime("us", time_zone="UTC"),
    "ip": pl.String,
    "payment_fingerprint": pl.String,
    "prompt": pl.String,
    "user_agent": pl.String,
}


@pytest.fixture(scope="module")
def world():
    return simulate(SMALL, seed=7)


@pytest.fixture(scope="module")
def joined(world):
    return world.events.join(world.labels, on="account_id", how="left")


def test_schema_and_dtypes(world):
    assert dict(world.events.schema) == EVENT_SCHEMA
    assert dict(world.accounts.schema) == {
        "account_id": pl.String,
        "created_at": pl.Datetime("us", time_zone="UTC"),
        "email_domain": pl.String,
    }
    assert dict(world.labels.schema) == {
        "account_id": pl.String, "ring_id": pl.Int64, "kind": pl.String}
    assert world.events.select(pl.exclude("payment_fingerprint").null_count()).sum_horizontal().item() == 0


def test_small_preset_scale(world):
    kinds = dict(world.labels.group_by("kind").len().iter_rows())
    assert 2000 <= world.accounts.height <= 4000
    assert set(kinds) == {"benign", "benign_linked", "ring"}
    assert world.labels.filter(pl.col("kind") == "ring")["ring_id"].n_unique() >= 3


def test_same_seed_identical_different_seed_differs(world):
    again = simulate(SMALL, seed=7)
    assert again.events.equals(world.events)
    assert again.accounts.equals(world.accounts)
    assert again.labels.equals(world.labels)
    other = simulate(SMALL, seed=8)
    assert not other.events.equals(world.events)
    assert set(other.accounts["account_id"]).isdisjoint(set(world.accounts["account_id"]))


def test_write_world_byte_identical_and_matches_simulate(tmp_path):
    info_a = write_world(tmp_path / "a", TINY, seed=3)
    info_b = write_world(tmp_path / "b", TINY, seed=3)
    for name in ("events.parquet", "accounts.parquet", "labels.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert info_a["n_events"] == info_b["n_events"]
    w = simulate(TINY, seed=3)
    assert pl.read_parquet(tmp_path / "a" / "events.parquet").equals(w.events)
    assert pl.read_parquet(tmp_path / "a" / "labels.parquet").equals(w.labels)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_chunked_writing_row_groups(tmp_path):
    import pyarrow.parquet as pq

    cfg = TINY.replace(chunk_events=4000)
    info = write_world(tmp_path / "w", cfg, seed=1)
    meta = pq.ParquetFile(tmp_path / "w" / "events.parquet").metadata
    assert meta.num_row_groups > 3
    assert meta.num_rows == info["n_events"]
    # the population does not depend on the chunk size
    whole = simulate(TINY, seed=1)
    assert pl.read_parquet(tmp_path / "w" / "labels.parquet").equals(whole.labels)


def test_write_world_into_existing_dir_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    write_world(out, TINY, seed=2)
    assert (out / "notes.txt").read_text() == "keep me"
    assert {p.name for p in out.iterdir()} == {
        "notes.txt", "events.parquet", "accounts.parquet", "labels.parquet"}


def test_write_world_failure_leaves_nothing(tmp_path, monkeypatch):
    import graphlink.lab.simulate.world as world_mod

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(world_mod, "generate_chunk", boom)
    with pytest.raises(RuntimeError):
        write_world(tmp_path / "out", TINY, seed=2)
    assert list(tmp_path.iterdir()) == []


def test_small_preset_written_under_5mb(tmp_path):
    info = write_world(tmp_path / "small", SMALL, seed=7)
    assert sum(info["bytes"].values()) < 5 * 1024 * 1024


def test_labels_consistent_with_events_and_accounts(world):
    ev_accounts = world.events.select("account_id").unique()
    assert ev_accounts.join(world.labels, on="account_id", how="anti").height == 0
    assert ev_accounts.join(world.accounts, on="account_id", how="anti").height == 0
    assert world.labels["account_id"].is_unique().all()
    assert world.accounts["account_id"].is_unique().all()
    assert set(world.labels["account_id"]) == set(world.accounts["account_id"])
    lab = world.labels
    assert lab.filter((pl.col("kind") == "ring") & pl.col("ring_id").is_null()).height == 0
    assert lab.filter((pl.col("kind") != "ring") & pl.col("ring_id").is_not_null()).height == 0
    assert set(lab["kind"].unique()) <= {"benign", "benign_linked", "ring"}


def test_benign_linked_teams_share_card_domain_and_office(world, joined):
    team = joined.filter(pl.col("kind") == "benign_linked")
    per_account = team.group_by("account_id").agg(
        cards=pl.col("payment_fingerprint").n_unique(),
        card=pl.col("payment_fingerprint").first())
    assert (per_account["cards"] == 1).all()
    assert per_account["card"].null_count() == 0
    groups = per_account.join(world.accounts, on="account_id").group_by("card").agg(
        size=pl.len(), domains=pl.col("email_domain").n_unique(),
        created_span=pl.col("created_at").max() - pl.col("created_at").min())
    assert groups.height == SMALL.n_teams
    assert (groups["size"] >= SMALL.team_size[0]).all()
    assert (groups["domains"] == 1).all()
    # provisioned over months, not in a burst
    assert (groups.filter(pl.col("size") >= 10)["created_span"] > timedelta(days=14)).all()
    # most team traffic leaves through one office address
    top_ip_share = (team.join(per_account.select("account_id", "card"), on="account_id")
                    .group_by("card", "ip").len()
                    .group_by("card").agg(share=pl.col("len").max() / pl.col("len").sum()))
    assert (top_ip_share["share"] > 0.3).all()


def test_ring_cells_created_in_bursts_and_share_cards(world, joined):
    rings = world.labels.filter(pl.col("kind") == "ring").join(world.accounts, on="account_id")
    spans = rings.group_by("ring_id").agg(span=pl.col("created_at").max() - pl.col("created_at").min())
    assert (spans["span"] <= timedelta(hours=SMALL.ring_creation_hours)).all()
    cards = (joined.filter(pl.col("kind") == "ring")
             .group_by("payment_fingerprint").agg(pl.col("account_id").n_unique()))
    assert cards["account_id"].max() >= SMALL.card_pool_size[0]


def test_ring_bursts_fire_within_the_same_minute(joined):
    ring = joined.filter(pl.col("kind") == "ring").with_columns(
        minute=pl.col("timestamp").dt.truncate("1m"))
    buckets = ring.group_by("ring_id", "minute").agg(accounts=pl.col("account_id").n_unique())
    busy = ring.join(buckets, on=["ring_id", "minute"])
    # apart from camouflage, ring requests come in crowds of the cell
    assert (busy["accounts"] >= 5).mean() > 0.7


def test_proxy_networks_overlap_benign_networks(joined):
    v4 = joined.filter(~pl.col("ip").str.contains(":")).with_columns(
        net=pl.col("ip").str.replace(r"\.\d+$", ""))
    ring_nets = set(v4.filter(pl.col("kind") == "ring")["net"])
    benign_nets = set(v4.filter(pl.col("kind") == "benign")["net"])
    assert len(ring_nets & benign_nets) > 0.1 * len(ring_nets)


def test_ips_are_valid_and_canonical(world):
    ips = world.events["ip"].unique().to_list()
    parsed = [ipaddress.ip_address(ip) for ip in ips]
    assert all(str(p) == ip for p, ip in zip(parsed, ips))
    v6 = [p for p in parsed if p.version == 6]
    assert v6 and any("::" in str(p) for p in v6)
    assert all(not p.is_private for p in parsed if p.version == 4)


def test_field_formats(world):
    ev = world.events
    cards = ev["payment_fingerprint"].drop_nulls()
    assert cards.str.contains(r"^pf_[0-9a-f]{16}$").all()
    assert ev["payment_fingerprint"].null_count() > 0  # free tier exists
    words = ev["prompt"].str.split(" ").list.len()
    assert words.min() >= 5 and words.max() <= 60
    assert 15 <= words.mean() <= 50
    ua = ev["user_agent"].value_counts(sort=True)
    assert ua["count"][0] > 0.05 * ev.height  # a few very popular strings
    assert ua.height > 100  # and a long tail


def test_timestamps_inside_window_and_after_creation(world):
    start = SMALL.start
    end = start + timedelta(days=SMALL.days)
    ts = world.events["timestamp"]
    assert ts.min() >= start and ts.max() < end
    late = world.events.join(world.accounts, on="account_id").filter(
        pl.col("timestamp") < pl.col("created_at"))
    assert late.height == 0


def test_benign_hubs_exist(joined):
    per_ip = joined.filter(pl.col("kind") == "benign").group_by("ip").agg(
        pl.col("account_id").n_unique())
    assert per_ip["account_id"].max() >= 100  # a NAT with hundreds of accounts


def _ring_template_share(w) -> float:
    prefixes = [t.prefix for t in RING_TEMPLATES]
    ring = w.events.join(w.labels, on="account_id").filter(pl.col("kind") == "ring")
    hit = pl.any_horizontal([pl.col("prompt").str.starts_with(p) for p in prefixes])
    return ring.select(hit.mean()).item()


def test_camouflage_share_changes_ring_traffic():
    low = _ring_template_share(simulate(TINY.replace(camouflage_share=0.1), seed=5))
    high = _ring_template_share(simulate(TINY.replace(camouflage_share=0.3), seed=5))
    assert low == pytest.approx(0.9, abs=0.03)
    assert high == pytest.approx(0.7, abs=0.03)


def test_campaign_preset_meets_scale_targets():
    cfg = PRESETS["campaign"]
    ring_events = cfg.n_ring_accounts * sum(cfg.ring_events) / 2
    benign_mean = math.exp(math.log(cfg.benign_events_median) + cfg.benign_events_sigma ** 2 / 2)
    assert cfg.n_ring_accounts >= 24_000
    assert cfg.n_benign >= 200_000
    assert ring_events * (1 - cfg.camouflage_share) >= 16e6
    assert ring_events + cfg.n_benign * benign_mean * 0.95 >= 22e6
    assert cfg.ring_cell_size[1] <= 1000  # cells of tens to hundreds


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        SMALL.n_benign = 5  # type: ignore[misc]
    assert SimulationConfig().replace(days=3).days == 3


def test_fixtures_match_small_seed_7(world):
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    if not (fixtures / "events.parquet").exists():
        pytest.skip("fixtures not generated")
    assert pl.read_parquet(fixtures / "events.parquet").equals(world.events)
    assert pl.read_parquet(fixtures / "labels.parquet").equals(world.labels)


def test_benign_diurnal_and_ring_flat_hour_profiles():
    import pyarrow as pa

    from graphlink.lab.simulate import iter_event_chunks

    plan, chunks = iter_event_chunks(TINY, seed=11)
    events = pl.from_arrow(pa.concat_tables(list(chunks)))
    acc = pl.DataFrame({"account_id": plan.account_id, "tz_min": plan.tz_min,
                        "kind": plan.kind})
    ev = events.join(acc, on="account_id").with_columns(
        local_hour=(pl.col("timestamp") + pl.duration(minutes=pl.col("tz_min"))).dt.hour(),
        utc_hour=pl.col("timestamp").dt.hour())
    benign = ev.filter(pl.col("kind") == 0)
    night = benign.select(pl.col("local_hour").is_between(1, 5).mean()).item()
    day = benign.select(pl.col("local_hour").is_between(9, 17).mean()).item()
    assert night < 0.06 and day > 0.55
    # rings fire around the clock: a third of their traffic in any 8-hour window
    ring = ev.filter(pl.col("kind") == 2)
    for lo in (0, 8, 16):
        share = ring.select(pl.col("utc_hour").is_between(lo, lo + 7).mean()).item()
        assert 0.2 < share < 0.47
