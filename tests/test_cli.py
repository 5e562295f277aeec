"""CLI: help text everywhere, clean errors, the detect summary."""

import subprocess
import sys

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from graphlink.cli import app
from tests._worlds import planted_world

runner = CliRunner()


def test_every_command_has_help_text():
    group = typer.main.get_command(app)
    assert group.help
    assert group.commands, "no commands registered"
    for name, command in group.commands.items():
        assert command.help and command.help.strip(), f"{name} has no help"
        for param in command.params:
            if isinstance(param, typer.core.TyperOption) and param.name != "help":
                assert param.help, f"{name} --{param.name} has no help"
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "graphlink", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("setup, expected", [
    ("missing", "file not found"),
    ("unknown_format", "unknown file format"),
    ("no_account", "no account_id column"),
    ("bad_timestamps", "no timestamp could be parsed"),
])
def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path, setup, expected):
    """One case runs ``python -m graphlink`` in a subprocess (the real exit code and stderr, ~3 s of
    start-up each under load); the others go through the same ``app`` in process (CliRunner): an
    exception escaping the command would be ``result.exception`` with exit code 1, not a SystemExit(2)."""
    path = tmp_path / "events.csv"
    if setup == "unknown_format":
        path = tmp_path / "events.txt"  # an .xlsx is "a spreadsheet workbook" (tests/test_readme63.py)
        path.write_text("x")
    elif setup == "no_account":
        pl.DataFrame({"user": ["a"]}).write_csv(path)
    elif setup == "bad_timestamps":
        pl.DataFrame({"account_id": ["a"], "timestamp": ["never"]}).write_csv(path)
    args = ("detect", str(path), "--out", str(tmp_path / "out"))
    if setup == "missing":
        proc = _run(*args)
        code, stderr = proc.returncode, proc.stderr
    else:
        result = runner.invoke(app, list(args))
        assert isinstance(result.exception, SystemExit), result.exception
        code, stderr = result.exit_code, result.stderr
    assert code == 2
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0]
    assert not (tmp_path / "out").exists()


def test_bad_map_is_a_clean_error(tmp_path):
    path = tmp_path / "e.csv"
    pl.DataFrame({"account_id": ["a"]}).write_csv(path)
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "o"), "--map", "nonsense"])
    assert result.exit_code == 2 and "--map expects" in result.output


def test_bad_argument_found_in_a_command_body_is_a_usage_error_exit_2(fixture_detected):
    """typer.BadParameter raised inside a command (``show --sort-members``) is bad input: exit 2 and typer's
    usage message, not "failed unexpectedly" (typer >= 0.29's exceptions are not click's)."""
    proc = _run("show", str(fixture_detected), "1", "--sort-members", "foo")
    assert proc.returncode == 2, proc.stderr
    assert "use events or strength" in proc.stderr and "unexpectedly" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_detect_prints_summary_and_writes_outputs(tmp_path):
    events, _ = planted_world(seed=1, n_benign=120)
    path = tmp_path / "e.csv"
    events.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(path)
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out"), "--top", "3"])
    assert result.exit_code == 0, result.output
    # Not a terminal: the summary lines go to stderr, stdout carries tab-separated rows only.
    assert "clusters" in result.stderr and "outputs in" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "cluster\tsize\tscore\tflagged\tcampaign\tlinked by\twhy\tflag"  # flag: own evidence, with cluster N
    assert 1 <= len(lines) - 1 <= 3 and all(line.count("\t") == 7 for line in lines)
    assert (tmp_path / "out" / "clusters.parquet").exists()
    # The summary counts campaigns, and each row names its cluster's campaign as clusters.parquet does.
    clusters = pl.read_parquet(tmp_path / "out" / "clusters.parquet")
    campaigns = pl.read_parquet(tmp_path / "out" / "campaigns.parquet")
    assert f"in {campaigns.height:,} campaign" in result.stderr
    of = dict(clusters.select("cluster_id", "campaign_id").iter_rows())
    for line in lines[1:]:
        cells = line.split("\t")
        assert cells[4] == ("" if of[int(cells[0])] is None else str(of[int(cells[0])]))


def test_detect_on_empty_file_says_so(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("account_id,timestamp\n")
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0 and "no events" in result.output


def test_attacker_markup_in_prompts_is_not_interpreted(tmp_path):
    events = pl.DataFrame({
        "account_id": ["a", "b"],
        "payment_fingerprint": ["[bold red]card[/]\x1b[2J", "[bold red]card[/]\x1b[2J"],
    })
    path = tmp_path / "e.parquet"
    events.write_parquet(path)
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert "\x1b[2J" not in result.output
