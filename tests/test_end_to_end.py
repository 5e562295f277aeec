"""End to end on simulated worlds: the bundled fixture and a camouflaged world."""

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.lab.evaluate import evaluate
from graphlink.pipeline import run_detect
from graphlink.lab.simulate import PRESETS, simulate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_fixture_rings_recovered_and_teams_not_flagged(fixture_result):
    result = fixture_result  # graphlink.detect(FIXTURES / "events.parquet", FIXTURES / "accounts.parquet"), conftest
    metrics = evaluate(result.accounts, result.clusters, pl.read_parquet(FIXTURES / "labels.parquet"))
    assert metrics["f1"] >= 0.97
    assert metrics["ari"] >= 0.9
    assert metrics["benign_linked_flagged"] == 0
    flagged = result.clusters.filter("flagged")
    assert flagged["why"].str.len_chars().min() > 0


def test_camouflaged_rings_are_still_found():
    # 30% of every ring account's traffic replaced by benign-looking traffic; a seed
    # never used to tune the score.
    world = simulate(PRESETS["small"].replace(camouflage_share=0.3), seed=2024)
    result = run_detect(world.events, world.accounts)
    metrics = evaluate(result.accounts, result.clusters, world.labels)
    assert metrics["recall"] >= 0.9
    assert metrics["benign_linked_flagged"] == 0


def test_simulate_detect_evaluate_cli(tmp_path):
    runner = CliRunner()
    world = tmp_path / "world"
    assert runner.invoke(app, ["simulate", str(world), "--seed", "5"]).exit_code == 0
    detect = runner.invoke(app, ["detect", str(world / "events.parquet"), "--accounts",
                                 str(world / "accounts.parquet"), "--out", str(tmp_path / "out"), "-q"])
    assert detect.exit_code == 0, detect.output
    result = runner.invoke(app, ["evaluate", str(tmp_path / "out"), str(world / "labels.parquet"),
                                 "-o", str(tmp_path / "eval.json")])
    assert result.exit_code == 0 and "precision" in result.output
    assert (tmp_path / "eval.json").exists()


@pytest.mark.parametrize("args, message", [
    (["simulate", "x", "--preset", "huge"], "unknown preset"),
    (["evaluate", "/nonexistent", "/nonexistent/labels.parquet"], "file not found"),
])
def test_simulate_evaluate_errors(args, message):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and message in result.output
