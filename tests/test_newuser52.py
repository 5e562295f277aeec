"""New-user findings left by session 51's review: rejected rows named, a world folder whose name holds glob characters.

- A log with some rows rejected said how many per reason, but no row to open: ``run.json`` and the summary name the
  first rows of each reason now (1-based data rows, as the input errors do).
- ``graphlink simulate "w[1]x"`` refused to replace its own earlier world: the labels' path was read as a glob pattern.
"""

import json
from datetime import datetime, timedelta, timezone

import polars as pl
from typer.testing import CliRunner

from graphlink.cli import app

runner = CliRunner()
T0 = datetime(2025, 3, 1, 9, tzinfo=timezone.utc)


def _log(n: int = 300) -> pl.DataFrame:
    times = [(T0 + timedelta(minutes=3 * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n)]
    return pl.DataFrame({
        "account_id": [None if i % 41 == 7 else f"u{i % 30}" for i in range(n)],
        "timestamp": ["31/12/2025 10:00" if i % 23 == 4 else t for i, t in enumerate(times)],
        "ip": [f"10.0.{i % 5}.{i % 7}" for i in range(n)],
        "payment_fingerprint": [f"card{i % 9}" for i in range(n)],
        "prompt": [f"question {i % 13} about the proof" for i in range(n)],
    })


def test_rejected_rows_are_named_by_reason(tmp_path):
    frame = _log()
    frame.write_csv(tmp_path / "log.csv")
    result = runner.invoke(app, ["detect", str(tmp_path / "log.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    # the expected rows, worked out from the frame itself (1-based; a row counts under its first failing reason)
    numbered = frame.with_row_index("row", offset=1)
    missing = numbered.filter(pl.col("account_id").is_null())["row"].to_list()
    bad_time = numbered.filter(pl.col("account_id").is_not_null() & pl.col("timestamp").str.contains("/"))["row"].to_list()
    events = json.loads((tmp_path / "o" / "run.json").read_text())["inputs"]["events"]
    assert events["rejected"] == {"missing_account_id": len(missing), "unparseable_timestamp": len(bad_time)}
    assert events["rejected_rows"] == {"missing_account_id": missing[:5], "unparseable_timestamp": bad_time[:5]}
    shown = ", ".join(map(str, bad_time[:5]))
    assert f"unparseable_timestamp: {len(bad_time)} (rows {shown}, …)" in result.output
    report = runner.invoke(app, ["report", str(tmp_path / "o")])
    assert report.exit_code == 0, report.output
    assert f"unparseable_timestamp: {len(bad_time)} (rows {shown}, …)" in (tmp_path / "o" / "report.html").read_text()


def test_a_clean_log_names_no_rejected_rows(tmp_path):
    _log().with_columns(pl.col("account_id").fill_null("u0"), pl.lit("2025-03-01T09:00:00Z").alias("timestamp")
                        ).write_csv(tmp_path / "log.csv")
    result = runner.invoke(app, ["detect", str(tmp_path / "log.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    events = json.loads((tmp_path / "o" / "run.json").read_text())["inputs"]["events"]
    assert events["rejected"] == {} and events["rejected_rows"] == {} and "rejected none" in result.output


def test_simulate_replaces_its_own_world_in_a_folder_named_like_a_pattern(tmp_path):
    world = tmp_path / "w[1]x"
    assert runner.invoke(app, ["simulate", str(world), "-q"]).exit_code == 0
    again = runner.invoke(app, ["simulate", str(world), "-q", "--seed", "1"])
    assert again.exit_code == 0, again.output
    assert f"replaced the simulated world that was in {world}" in again.output
    # and a user's own events.parquet in such a folder is still refused
    own = tmp_path / "d[2]"
    own.mkdir()
    pl.DataFrame({"account_id": ["a"]}).write_parquet(own / "events.parquet")
    refused = runner.invoke(app, ["simulate", str(own), "-q"])
    assert refused.exit_code == 2 and "did not write" in refused.output
