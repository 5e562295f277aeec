"""CLI conventions: --version, --json, -q everywhere, actionable help, progress and piped output."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from graphlink.cli import StageProgress, app
from tests._report_worlds import make_events, world, world_session  # noqa: F401

runner = CliRunner()
COMMANDS = sorted(typer.main.get_command(app).commands)
ROOT = Path(__file__).resolve().parents[1]


def test_version():
    from graphlink import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"graphlink {__version__}\n"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_a_person_can_act_on(name):
    command = typer.main.get_command(app).commands[name]
    text = runner.invoke(app, [name, "--help"]).stdout
    # No type placeholders: every value names what to give.
    for placeholder in ("<bool>", "<list", "<str>", "<path>", "<int>", "<float>", "{"):
        assert placeholder not in text, f"{name} --help shows {placeholder}"
    assert f"graphlink {name} [OPTIONS]" in text
    for param in command.params:
        if param.name == "help":
            continue
        assert param.help, f"{name} {param.name} has no help"
        if isinstance(param, typer.core.TyperOption) and not param.is_flag:
            assert param.metavar, f"{name} {param.opts[0]} has no placeholder"
            # A value used when the option is left out is shown ([default: ...]).
            with typer.main.get_command(app).make_context("graphlink", [name, "--help"],
                                                          resilient_parsing=True) as ctx:
                entry = " ".join(param.get_help_record(ctx))
            if param.default is not None or param.name in ("seed", "resolution", "threshold", "ipv4_prefix",
                                                            "ipv6_prefix", "camouflage", "out", "clusters"):
                assert "[default:" in entry, f"{name} {param.opts[-1]} shows no default"
    # Every command is quiet with -q.
    assert any("-q" in p.opts for p in command.params), f"{name} has no -q"


def test_choices_and_defaults_are_listed():
    detect = runner.invoke(app, ["detect", "--help"]).stdout
    assert "--format parquet|csv|tsv|ndjson" in detect
    assert re.search(r"--threshold SCORE\s.*\[default: 0\.6\]", detect.replace("\n", " "))
    for name in ("accounts.parquet", "clusters.parquet", "evidence.parquet", "memberships.parquet",
                 "activity.parquet", "run.json"):
        assert name in detect
    assert "--format gexf|graphml|json|csv" in runner.invoke(app, ["export", "--help"]).stdout
    assert "--preset small|medium|campaign" in runner.invoke(app, ["simulate", "--help"]).stdout


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.parquet"
    make_events(n_background=20).write_parquet(path)
    return path


def test_json_on_detect_show_and_evaluate(events_file, tmp_path, world_session):
    out = tmp_path / "out"
    result = runner.invoke(app, ["detect", str(events_file), "--out", str(out), "--json", "--top", "2"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["counts"]["clusters"] >= 3 and len(data["top_clusters"]) == 2
    assert {"cluster_id", "size", "score", "flagged", "campaign_id", "kinds", "why"} <= set(data["top_clusters"][0])
    shown = json.loads(runner.invoke(app, ["show", str(world_session), "1", "--json", "--members", "3"]).stdout)
    assert shown["cluster"]["cluster_id"] == 1 and len(shown["members"]) == 3 and shown["members_total"] == 12
    assert shown["evidence"] and shown["reasons"]
    # Times as the JSON case file writes them (one JSON date format), not Python's str() of a datetime.
    case_file = tmp_path / "case"
    assert runner.invoke(app, ["export", str(world_session), "--format", "json", "--clusters", "1",
                               "--out", str(case_file)]).exit_code == 0
    case = json.loads((case_file / "cluster-1.json").read_text())
    assert shown["members"][0]["first_seen"].endswith("Z") and "T" in shown["members"][0]["first_seen"]
    assert {m["first_seen"] for m in shown["members"]} <= {m["first_seen"] for m in case["members"]}
    labels = tmp_path / "labels.parquet"
    import polars as pl

    accounts = pl.read_parquet(out / "accounts.parquet")
    ring = pl.col("account_id").str.starts_with("ring")
    accounts.select("account_id", pl.when(ring).then(pl.col("account_id").str.slice(4, 1).cast(pl.Categorical)
                                                     .to_physical().cast(pl.Int64)).alias("ring_id"),
                    pl.when(ring).then(pl.lit("ring")).otherwise(pl.lit("benign")).alias("kind")).write_parquet(labels)
    target = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate", str(out), str(labels), "--json", "-o", str(target)])
    assert result.exit_code == 0
    metrics = json.loads(result.stdout)
    assert json.loads(target.read_text()) == json.loads(json.dumps(metrics))
    assert "precision" in json.dumps(metrics)


def test_quiet_everywhere(events_file, tmp_path, world):
    out = tmp_path / "out"
    runs = [["detect", str(events_file), "--out", str(out), "-q"],
            ["report", str(world), "-q", "--no-plots"],
            ["show", str(world), "1", "-q"],
            ["export", str(world), "--format", "csv", "-q"],
            ["simulate", str(tmp_path / "sim"), "-q", "--seed", "1"]]
    for args in runs:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert result.stdout == "" and result.stderr == "", args
    sim_out = tmp_path / "sim-out"
    result = runner.invoke(app, ["detect", str(tmp_path / "sim" / "events.parquet"), "--out", str(sim_out), "-q"])
    assert result.exit_code == 0 and result.stdout == ""
    result = runner.invoke(app, ["evaluate", str(sim_out), str(tmp_path / "sim" / "labels.parquet"), "-q"])
    assert result.exit_code == 0 and result.stdout == ""


def test_piped_detect_prints_tab_separated_rows_and_no_progress(events_file, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "graphlink", "detect", str(events_file), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split("\t") == ["cluster", "size", "score", "flagged", "campaign", "linked by", "why", "flag"]
    assert len(lines) > 1 and all(len(line.split("\t")) == 8 for line in lines)
    assert any(len(line) > 80 for line in lines)  # not wrapped to the 80-column terminal width
    assert "ingest" not in proc.stderr and "stages" not in proc.stderr  # no progress when not a terminal


def test_progress_on_a_terminal_counts_stages_and_time(events_file):
    from graphlink.pipeline import run_detect

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with StageProgress(console) as progress:
        run_detect(str(events_file), progress=progress)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", buffer.getvalue())  # colours and cursor codes
    for stage in StageProgress.STAGES:
        assert re.search(rf"✓ {stage} \d+\.\d s", text), stage
    assert "6/6" in text and re.search(r"\d:\d\d:\d\d", text)  # stages done and elapsed time
