"""Session 60's suite-time helpers (helper suite60): ``fixture_cli_detect`` (tests/conftest.py) answers the CLI's
detect of the bundled fixture with a copy of the session's fixture run, and nothing else."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink.engines as engines
import graphlink.pipeline as pipeline
from graphlink.cli import app
from graphlink.config.build import build_config
from tests.conftest import FIXTURES

EVENTS, ACCOUNTS = FIXTURES / "events.parquet", FIXTURES / "accounts.parquet"


def no_detect(*args, **kwargs):
    raise AssertionError("detected again")


def test_the_fixtures_cli_detect_is_the_sessions_run_without_detecting(fixture_cli_detect, fixture_result, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(pipeline, "run_detect", no_detect)  # the real engine would fail here
    result = CliRunner().invoke(app, ["detect", str(EVENTS), "--accounts", str(ACCOUNTS), "--out", str(tmp_path / "o"),
                                      "-q"])
    assert result.exit_code == 0, result.output
    for name in ("accounts", "clusters", "evidence"):
        assert pl.read_parquet(tmp_path / "o" / f"{name}.parquet").equals(getattr(fixture_result, name)), name


def test_the_answer_is_a_copy_the_caller_may_change(fixture_cli_detect, fixture_result):
    before = fixture_result.run["counts"]["accounts"]
    got = engines.run_engine("polars", EVENTS, ACCOUNTS, build_config())
    got.run["counts"]["accounts"] = -1
    got.warnings.append("changed")
    assert fixture_result.run["counts"]["accounts"] == before and "changed" not in fixture_result.warnings


@pytest.mark.parametrize("case", ["other settings", "no accounts file", "a previous run", "another log"])
def test_any_other_detect_runs_the_engine(fixture_cli_detect, monkeypatch, tmp_path, case):
    ran = []
    monkeypatch.setattr(pipeline, "run_detect", lambda *args, **kwargs: ran.append(args) or "detected")
    other = tmp_path / "events.parquet"
    pl.DataFrame({"account_id": ["a", "b"], "ip": ["1.2.3.4", "1.2.3.4"]}).write_parquet(other)
    args = {"other settings": ("polars", EVENTS, ACCOUNTS, build_config(seed=1)),
            "no accounts file": ("polars", EVENTS, None, build_config()),
            "a previous run": ("polars", EVENTS, ACCOUNTS, build_config(), None, tmp_path),
            "another log": ("polars", other, ACCOUNTS, build_config())}[case]
    assert engines.run_engine(*args) == "detected" and len(ran) == 1
