"""Output-folder safety: reruns keep what the user made, foreign folders are refused before any work,
an export is one consistent set."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.views.export import export
from tests._report_worlds import make_events, world, world_session  # noqa: F401

runner = CliRunner()


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.parquet"
    make_events(n_background=20).write_parquet(path)
    return path


def test_rerun_keeps_files_graphlink_did_not_write_in_this_run(events_file, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["detect", str(events_file), "--out", str(out), "-q"]).exit_code == 0
    assert runner.invoke(app, ["report", str(out), "--no-plots", "-q"]).exit_code == 0
    assert runner.invoke(app, ["export", str(out), "--format", "json", "-q"]).exit_code == 0
    assert runner.invoke(app, ["export", str(out), "--format", "csv", "-q"]).exit_code == 0
    (out / "notes.txt").write_text("my notes")
    (out / "campaigns.parquet").write_bytes(b"stale detect output of an older run")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["detect", str(events_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "kept in" in result.stderr and "cases/, csv/, notes.txt, report.html" in result.stderr
    for rel in (Path("report.html"), Path("notes.txt"), Path("csv/members.csv")):
        assert (out / rel).read_bytes() == before[rel]
    assert sorted(p.name for p in (out / "cases").iterdir()) == sorted(str(p.name) for p in before
                                                                         if p.parts[0] == "cases")
    # detect's own file from an older run is replaced by this run's, never kept
    assert (out / "campaigns.parquet").read_bytes() != before[Path("campaigns.parquet")]
    assert pl.read_parquet(out / "campaigns.parquet").columns[0] == "campaign_id"
    assert json.loads((out / "run.json").read_text())["counts"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_detect_refuses_a_foreign_folder_before_any_work(events_file, tmp_path, monkeypatch):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    import graphlink.pipeline as pipeline

    def must_not_run(*args, **kwargs):
        raise AssertionError("the pipeline ran before the --out check")

    monkeypatch.setattr(pipeline, "run_detect", must_not_run)
    result = runner.invoke(app, ["detect", str(events_file), "--out", str(foreign)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "not a graphlink output folder" in result.stderr and "nothing was written" in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["cat.jpg"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    result = runner.invoke(app, ["detect", str(events_file), "--out", str(a_file)])
    assert result.exit_code == 2 and "is a file" in result.stderr


def test_json_export_is_one_consistent_set(world):
    clusters = [1, 2, 3]
    export(world, "json", clusters)
    assert sorted(p.name for p in (world / "cases").iterdir()) == [f"cluster-{c}.json" for c in clusters]
    result = runner.invoke(app, ["export", str(world), "--format", "json", "-c", "2,3"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (world / "cases").iterdir()) == ["cluster-2.json", "cluster-3.json"]


def test_json_export_refuses_a_folder_with_other_files(world):
    target = world / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["export", str(world), "--format", "json", "--out", str(target)])
    assert result.exit_code == 2 and "not graphlink case files (notes.txt)" in result.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_a_damaged_table_is_named(world, tmp_path):
    """A truncated clusters.parquet: show and report exit 2 naming the file, no traceback."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(world, copy)
    damaged = copy / "clusters.parquet"
    damaged.write_bytes(damaged.read_bytes()[:100])
    for args in (["show", str(copy), "1"], ["report", str(copy)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "clusters.parquet: cannot read the table" in result.stderr and "Traceback" not in result.output


def test_out_as_a_uri_is_refused(events_file, tmp_path, monkeypatch):
    """--out s3a://bucket/out would silently become the local folder ./s3a:/bucket/out."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["detect", str(events_file), "--out", "s3a://bucket/out"])
    assert result.exit_code == 2 and "must be a local folder, not a URI" in result.stderr
    assert not (tmp_path / "s3a:").exists()
