"""Input that reads cleanly but loses evidence unseen is warned about (new-user review, session 51).

A partial ``--map`` left the address, card and prompt columns unread, and a log with most timestamps day-first lost
60 % of its rows, both with exit 0 and no warning; each is now one warning in the summary and in run.json.
"""

import json
from datetime import datetime, timedelta, timezone

import polars as pl
from typer.testing import CliRunner

from graphlink.cli import app

runner = CliRunner()
T0 = datetime(2025, 3, 1, 9, tzinfo=timezone.utc)


def _log(n: int = 40) -> pl.DataFrame:
    times = [T0 + timedelta(minutes=7 * i) for i in range(n)]
    return pl.DataFrame({
        "user_id": [f"u{i % 8}" for i in range(n)],
        "ts": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times],
        "client_ip": [f"10.0.0.{i % 3}" for i in range(n)],
        "card": [f"card{i % 2}" for i in range(n)],
        "text": ["explain the proof step by step"] * n,
    })


def _detect(tmp_path, frame: pl.DataFrame, mapping: str):
    path = tmp_path / "log.csv"
    frame.write_csv(path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["detect", str(path), "--out", str(out), "--map", mapping])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / "run.json").read_text())["warnings"]


def test_columns_left_unread_by_a_partial_map_are_named(tmp_path):
    output, warnings = _detect(tmp_path, _log(), "account_id=user_id,timestamp=ts")
    [hint] = [w for w in warnings if "columns not read" in w]
    for column in ("'client_ip'", "'card'", "'text'"):
        assert column in hint
    assert "columns not read" in output


def test_a_full_map_gives_no_unread_column_warning(tmp_path):
    _, warnings = _detect(tmp_path, _log(), "account_id=user_id,timestamp=ts,ip=client_ip,"
                                            "payment_fingerprint=card,prompt=text")
    assert not [w for w in warnings if "columns not read" in w or "rejected for their timestamp" in w]


def test_most_timestamps_in_another_spelling_are_warned_about(tmp_path):
    frame = _log().with_columns(
        pl.when(pl.int_range(pl.len()) % 5 < 3)  # 60 % of the rows day-first
        .then(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ").dt.strftime("%d/%m/%Y %H:%M")).otherwise(pl.col("ts")).alias("ts"))
    _, warnings = _detect(tmp_path, frame, "account_id=user_id,timestamp=ts,ip=client_ip,"
                                           "payment_fingerprint=card,prompt=text")
    [hint] = [w for w in warnings if "rejected for their timestamp" in w]
    assert "24 of 40 rows (60 %)" in hint and "'ts'" in hint and "--timestamp-format" in hint


def test_a_few_bad_timestamps_are_counted_not_warned(tmp_path):
    frame = _log().with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("never")).otherwise(pl.col("ts"))
                                .alias("ts"))
    _, warnings = _detect(tmp_path, frame, "account_id=user_id,timestamp=ts,ip=client_ip,"
                                           "payment_fingerprint=card,prompt=text")
    assert not [w for w in warnings if "rejected for their timestamp" in w]


def test_account_id_mapped_once_per_file_reads_each_files_own_id(tmp_path):
    """The events' id is ``user_id``, the accounts file's ``uid``: ``--map account_id=`` given for each."""
    _log().write_csv(tmp_path / "log.csv")
    pl.DataFrame({"uid": [f"u{i}" for i in range(8)], "signup": ["2025-02-01T00:00:00Z"] * 8,
                  "mail": [f"p{i}@example.org" for i in range(8)]}).write_csv(tmp_path / "acc.csv")
    args = ["detect", str(tmp_path / "log.csv"), "--accounts", str(tmp_path / "acc.csv"), "--out", str(tmp_path / "o"),
            "--map", "account_id=user_id,timestamp=ts,ip=client_ip,payment_fingerprint=card,prompt=text,"
            "account_id=uid,created_at=signup,email=mail"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    accounts = pl.read_parquet(tmp_path / "o" / "accounts.parquet")
    assert accounts.height == 8 and "appear only in the accounts file" not in result.output
    # a file holding both id columns is ambiguous: a one-line error, exit 2
    _log().with_columns(uid=pl.col("user_id")).write_csv(tmp_path / "both.csv")
    result = runner.invoke(app, [args[0], str(tmp_path / "both.csv"), *args[2:4], "--out", str(tmp_path / "o2"), *args[6:]])
    assert result.exit_code == 2 and "account_id is mapped to 2 columns of this file" in result.output


def test_simulate_says_when_it_replaces_an_earlier_simulated_world(tmp_path):
    """``graphlink simulate fixtures`` replaced the bundled world without a word (new-user review, session 51)."""
    world = tmp_path / "w"
    first = runner.invoke(app, ["simulate", str(world), "-q"])
    assert first.exit_code == 0 and "replaced" not in first.output
    again = runner.invoke(app, ["simulate", str(world), "-q", "--seed", "1"])
    assert again.exit_code == 0 and f"replaced the simulated world that was in {world}" in again.output
