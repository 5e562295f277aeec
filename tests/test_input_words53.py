"""Input gaps and wording the new-user review nu53 found (session 53): missing timestamps, the previous run's damaged
file, the summary's account count, one wording of rejected rows, detect --help on standard input."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.stages.join_notes import joined_counts, own_value_joins

runner = CliRunner()


def _events(n: int = 20, ts: list | None = None) -> pl.DataFrame:
    """``n`` rows, two accounts per card (a cluster per pair)."""
    return pl.DataFrame({"account_id": [f"a{i}" for i in range(n)],
                         "timestamp": ts if ts is not None else [f"2025-01-01T00:{i:02d}:00Z" for i in range(n)],
                         "ip": [f"10.0.{i}.1" for i in range(n)], "payment_fingerprint": [f"pf{i // 2}" for i in range(n)]})


def test_an_all_empty_timestamp_column_warns_and_is_counted(tmp_path):
    path = tmp_path / "e.csv"
    _events(ts=[""] * 20).write_csv(path)
    result = graphlink.detect(path)
    assert result.run["inputs"]["events"]["rows_without_timestamp"] == 20
    assert result.run["inputs"]["events"]["rejected"] == {}
    assert any("no row has a timestamp" in w for w in result.warnings)


def test_a_nan_epoch_keeps_its_row_as_an_empty_csv_timestamp_does(tmp_path):
    seconds = [1_735_689_600.0 + 60 * i for i in range(20)]
    seconds[3] = seconds[7] = float("nan")
    parquet = tmp_path / "f.parquet"
    _events(ts=seconds).write_parquet(parquet)
    text = [f"2025-01-01T00:{i:02d}:00Z" for i in range(20)]
    text[3] = text[7] = ""
    csv = tmp_path / "f.csv"
    _events(ts=text).write_csv(csv)
    runs = [graphlink.detect(parquet), graphlink.detect(csv)]
    for run in runs:
        assert run.run["inputs"]["events"]["rejected"] == {}
        assert run.run["inputs"]["events"]["rows_kept"] == 20
        assert run.run["inputs"]["events"]["rows_without_timestamp"] == 2
    a, b = (r.accounts.select("account_id", "cluster_id").sort("account_id") for r in runs)
    assert a.equals(b)


def test_a_damaged_previous_clusters_file_is_named(tmp_path):
    path = tmp_path / "e.csv"
    _events().write_csv(path)
    out = tmp_path / "prev"
    assert runner.invoke(app, ["detect", str(path), "--out", str(out), "-q"]).exit_code == 0
    (out / "clusters.parquet").write_bytes(b"PAR1 damaged PAR1")
    done = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "next"), "--previous", str(out)])
    assert done.exit_code != 0
    assert "clusters.parquet" in done.output and "accounts.parquet" not in done.output


def test_the_summary_counts_accounts_with_events_and_run_json_names_rejected_account_rows(tmp_path):
    events = tmp_path / "e.csv"
    _events().write_csv(events)
    accounts = tmp_path / "a.csv"
    pl.DataFrame({"account_id": ["a1", "x1", "x2", None], "created_at": ["2024-12-01T00:00:00Z"] * 4}).write_csv(accounts)
    out = tmp_path / "out"
    done = runner.invoke(app, ["detect", str(events), "--accounts", str(accounts), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "from 20 accounts (22 accounts with the accounts file)" in done.output
    run = json.loads((out / "run.json").read_text())
    assert run["inputs"]["accounts"]["rejected_rows"] == {"missing_account_id": [4]}
    assert run["counts"]["accounts_with_events"] == 20 and run["counts"]["accounts"] == 22


def test_rejected_rows_have_one_wording(tmp_path):
    # The error when every row is rejected words reasons as the summary and run.json do.
    path = tmp_path / "e.csv"
    _events(n=2).with_columns(pl.lit(None, pl.String).alias("account_id")).write_csv(path)
    done = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "o")])
    assert done.exit_code == 2 and "missing_account_id: 2" in done.output
    # A created_at warning names its rows as the other warnings do.
    events = tmp_path / "ok.csv"
    _events().write_csv(events)
    accounts = tmp_path / "a.csv"
    pl.DataFrame({"account_id": ["a1", "a2", "a3"], "created_at": ["2024-12-01T00:00:00Z", "soon", "later"]}).write_csv(accounts)
    result = graphlink.detect(events, accounts)
    (said,) = [w for w in result.warnings if "created_at" in w]
    assert "(the first: row 2)" in said


def test_detect_help_says_ndjson_is_sniffed_and_lists_the_join_steps():
    shown = " ".join(runner.invoke(app, ["detect", "--help"]).output.split())
    assert "NDJSON when its first line is a JSON object" in shown
    for text in ("own_value_members", "[communities] own_values = false", "hub_twins", "[communities] hub_twins = false"):
        assert text in shown


def test_own_value_count_is_net_of_later_detachment():
    # Accounts 5 and 6 joined by own values; 6 was later detached (in no cluster at the end): counted once.
    joined = pl.DataFrame({"account_idx": [5, 6], "owned": [1, 2], "held": [1, 3], "values": [[1], [1, 2]]},
                          schema={"account_idx": pl.UInt32, "owned": pl.UInt32, "held": pl.UInt32, "values": pl.List(pl.UInt32)})
    final = pl.DataFrame({"account_idx": [4, 5, 6], "cluster_id": [1, 1, None]},
                         schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    assert joined_counts(own_value_joins(joined), final) == {"own_value_members": 1, "hub_twins": 0}
    assert joined_counts(None, final) == {"own_value_members": 0, "hub_twins": 0}
