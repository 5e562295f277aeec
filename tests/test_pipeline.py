"""End-to-end pipeline: recovery of planted rings, determinism, atomic output."""

import json

import polars as pl
import pytest

from graphlink.errors import GraphlinkError
from graphlink.contract import OUTPUT_FILES
from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from tests._worlds import planted_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    events, truth = planted_world(seed=0)
    path = tmp_path_factory.mktemp("world") / "events.parquet"
    events.write_parquet(path)
    return path, events, truth


@pytest.fixture(scope="module")
def result(world):
    return run_detect(world[0])


def test_planted_rings_are_recovered_and_flagged(world, result):
    _, _, truth = world
    accounts = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    for ring in set(truth.values()):
        members = [a for a, r in truth.items() if r == ring]
        rows = accounts.filter(pl.col("account_id").is_in(members))
        assert rows["cluster_id"].n_unique() == 1 and rows["cluster_id"][0] is not None
        cluster = rows["cluster_id"][0]
        assert accounts.filter(pl.col("cluster_id") == cluster).height == len(members)  # nobody else
        assert rows["flagged"].all()


def test_output_contract(result, tmp_path):
    out = write_outputs(result, tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    accounts = pl.read_parquet(out / "accounts.parquet")
    assert accounts.schema["account_id"] == pl.String and accounts.schema["cluster_id"] == pl.Int64
    assert {"events", "first_seen", "last_seen"} <= set(accounts.columns)
    clusters = pl.read_parquet(out / "clusters.parquet")
    assert clusters.schema["score"] == pl.Float64 and clusters.schema["flagged"] == pl.Boolean
    evidence = pl.read_parquet(out / "evidence.parquet")
    assert {"cluster_id", "kind", "value", "accounts_sharing", "weight"} <= set(evidence.columns)
    assert evidence.filter(pl.col("kind") == "prompt")["value"].str.len_chars().max() <= 200
    run = json.loads((out / "run.json").read_text())
    assert run["inputs"]["events"]["rows_read"] == result.run["inputs"]["events"]["rows_read"]
    assert set(run["timings"]) == {"ingest", "signals", "graph", "communities", "scoring", "drilldown"}
    assert "polars" in run["versions"]


def test_same_input_and_seed_give_identical_files(world, result, tmp_path):
    write_outputs(result, tmp_path / "a")
    write_outputs(run_detect(world[0]), tmp_path / "b")
    for name in ("accounts.parquet", "clusters.parquet", "evidence.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_shuffled_rows_give_the_same_partition(world, result, tmp_path):
    _, events, _ = world
    shuffled = tmp_path / "shuffled.parquet"
    events.sample(fraction=1.0, shuffle=True, seed=11).write_parquet(shuffled)
    again = run_detect(shuffled)
    assert again.accounts.equals(result.accounts)
    assert again.clusters.equals(result.clusters)
    assert again.evidence.equals(result.evidence)


def test_failed_write_leaves_no_output(result, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", boom)
    with pytest.raises(OSError):
        write_outputs(result, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_a_folder_that_is_not_graphlink_output(result, tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "case.txt").write_text("keep me")
    with pytest.raises(GraphlinkError, match="not a graphlink output"):
        write_outputs(result, precious)
    assert (precious / "case.txt").read_text() == "keep me"


def test_rerun_replaces_previous_output(result, tmp_path):
    write_outputs(result, tmp_path / "out")
    write_outputs(result, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_frame_input_matches_file_input(world, result):
    _, events, _ = world
    assert run_detect(events).clusters.equals(result.clusters)


def test_empty_input_gives_empty_outputs(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("account_id,ip,timestamp\n")
    empty = run_detect(path)
    assert empty.accounts.height == 0 and empty.clusters.height == 0 and empty.evidence.height == 0
    write_outputs(empty, tmp_path / "out")
    assert pl.read_parquet(tmp_path / "out" / "clusters.parquet").height == 0
