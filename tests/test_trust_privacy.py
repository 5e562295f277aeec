"""Privacy: run.json, warnings and error messages never carry raw input values.

Canary values are planted in every input column (account ids, IPs, cards,
prompts, user agents, a declared signal, emails, timestamps). Only the
deliberate places may show them: the parquet outputs and the CLI's cluster
table, which shows the evidence to the investigator (see the README, "What
each output file may contain").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.config import GraphConfig, PipelineConfig, SignalConfig
from graphlink.errors import GraphlinkError
from graphlink.pipeline import run_detect
from tests._worlds import planted_world

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "qzx"  # in every planted text value; absent from graphlink's own vocabulary
CANARY_IPS = ("203.0.113.", "beef:cafe")  # every planted IP is in one of these ranges
CANARY_DAY = "2031-07-0"  # every planted timestamp falls on 2031-07-0x


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [c for c in (TOKEN, *CANARY_IPS, CANARY_DAY) if c in lowered]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("privacy")
    events, _ = planted_world(seed=3, n_benign=150)
    n = events.height
    canaries = events.with_columns(
        (pl.lit(f"{TOKEN}-") + pl.col("account_id")).alias("account_id"),
        (pl.col("timestamp") + (pl.datetime(2031, 7, 1, time_zone="UTC") - pl.datetime(2024, 5, 1, time_zone="UTC"))
         .alias("d")).alias("timestamp"),
        pl.when(pl.int_range(n) % 2 == 0)
        .then(pl.lit("203.0.113.") + (pl.col("ip").str.split(".").list.get(3)))
        .otherwise(pl.lit("2001:db8:beef:cafe::") + pl.col("ip").str.split(".").list.get(1)).alias("ip"),
        (pl.lit(f"card-{TOKEN}-") + pl.col("payment_fingerprint")).alias("payment_fingerprint"),
        (pl.lit(f"{TOKEN}secret ") + pl.col("prompt")).alias("prompt"),
        (pl.lit(f"{TOKEN}-agent/") + pl.col("user_agent")).alias("user_agent"),
        (pl.lit(f"dev-{TOKEN}-") + (pl.col("payment_fingerprint").hash(1) % 40).cast(pl.String)).alias("device_id"),
    ).drop("d", strict=False)
    path = folder / "events.csv"
    canaries.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(path)
    ids = canaries["account_id"].unique().sort()
    accounts = pl.DataFrame({
        "account_id": ids,
        "created_at": [f"2031-07-01T0{i % 10}:00:00" for i in range(ids.len())],
        "email": [f"{TOKEN}.person{i}@{TOKEN}-mail{i % 3}.example" for i in range(ids.len())],
    })
    accounts.write_csv(folder / "accounts.csv")
    assert all(_leaks(str(v)) for v in canaries.row(0))  # every column carries a canary
    return folder


def test_run_json_and_warnings_never_contain_input_values(planted):
    config = PipelineConfig(signals=SignalConfig(extra_signals=("device_id",)),
                            graph=GraphConfig(max_pairs=1000))  # forces a warning too
    result = run_detect(planted / "events.csv", planted / "accounts.csv", config)
    assert result.clusters.height and result.warnings
    # the outputs themselves do carry the values (that is their purpose) ...
    assert any(_leaks(v) for v in result.evidence["value"].to_list())
    # ... run.json and warnings never do
    text = json.dumps(result.run, default=str)
    assert _leaks(text.replace(str(planted), "")) == []
    assert _leaks(" ".join(result.warnings)) == []


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "graphlink", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=180)


def test_cli_output_shows_values_only_in_the_cluster_table(planted, tmp_path):
    config = tmp_path / "graphlink.toml"
    config.write_text("[graph]\nmax_pairs = 1000\n")
    out = tmp_path / "out"
    proc = _cli("detect", planted / "events.csv", "--accounts", planted / "accounts.csv", "--signal", "device_id",
                "--config", config, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert _leaks(proc.stderr.replace(str(planted), "")) == []
    assert "warning: pair budget" in proc.stderr
    # Piped: stdout is the cluster table's tab-separated rows only; the summary lines are on stderr.
    table = proc.stdout
    assert table.startswith("cluster\tsize\tscore"), "no cluster table"
    assert "outputs in" in proc.stderr
    # The table is for the investigator and may quote evidence (a template's words); it is
    # the only place a raw value may appear.
    assert _leaks((out / "run.json").read_text().replace(str(planted), "")) == []


@pytest.mark.parametrize("name, body", [
    ("broken.ndjson", f'{{"account_id": "{TOKEN}1"}}\n{{"account_id": "{TOKEN}2", "ip": 203.0.113.9}}\n'),
    ("quote.csv", f'account_id,prompt\n{TOKEN}1,"{TOKEN} unterminated\n{TOKEN}2,x\n'),
    ("times.csv", f"account_id,timestamp\n{TOKEN}1,{TOKEN}-time\n{TOKEN}2,{TOKEN}-later\n"),
    ("struct.parquet", None),
    ("binary.parquet", None),
])
def test_error_messages_never_quote_cell_values(tmp_path, name, body):
    path = tmp_path / name
    if name == "struct.parquet":
        pl.DataFrame({"account_id": ["a"], "ip": [{f"{TOKEN}key": f"{TOKEN}val"}]}).write_parquet(path)
    elif name == "binary.parquet":
        pl.DataFrame({"account_id": [f"\xff{TOKEN}".encode("latin-1")]}).write_parquet(path)
    else:
        path.write_text(body)
    with pytest.raises(GraphlinkError) as info:
        run_detect(path)
    message = str(info.value).replace(str(tmp_path), "")
    assert _leaks(message) == [], message
    if name == "quote.csv":  # the CLI's line too (in process: the same app, its stderr kept apart)
        result = CliRunner().invoke(app, ["detect", str(path), "--out", str(tmp_path / "out")])
        assert result.exit_code == 2 and "error:" in result.stderr
        assert _leaks(result.stderr.replace(str(tmp_path), "")) == []


def test_a_real_polars_error_echoing_a_value_is_scrubbed(tmp_path, monkeypatch):
    path = tmp_path / "e.csv"
    path.write_text(f"account_id\n{TOKEN}1\n")

    def strict_cast(*args, **kwargs):  # polars quotes the failing value in its message
        return pl.Series([f"{TOKEN}-value"]).cast(pl.Int64)

    with pytest.raises(pl.exceptions.PolarsError) as raw:
        strict_cast()
    assert TOKEN in str(raw.value)
    monkeypatch.setattr("graphlink.pipeline.extract_signals", strict_cast)
    with pytest.raises(GraphlinkError) as info:
        run_detect(path)
    assert _leaks(str(info.value).replace(str(tmp_path), "")) == []
