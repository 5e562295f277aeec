"""Account ids that are no account's never merge accounts silently (new-user review nu53, session 53).

* A Latin-1 file's ids ``user\\xff1``, ``user\\xfe1``, ``user\\xe91`` all read ``user\\ufffd1`` (the file is read as UTF-8,
  an undecodable byte as U+FFFD): three accounts merged into one, unsaid.
* A placeholder id (``None``, ``null``, ``nan`` as pandas and SQL exports write a missing one) made one super-account
  of every row lacking an id, unsaid.

Both are now rejected, counted by reason in run.json and warned about (:mod:`graphlink.stages.account_ids`).
"""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app

runner = CliRunner()
HEADER = b"account_id,timestamp,ip,payment_fingerprint\n"


def _rows(n: int, prefix: str = "ok", card: str = "pf") -> bytes:
    """``n`` ordinary rows, two accounts sharing each card (a cluster per pair)."""
    return b"".join(f"{prefix}{i},2025-01-01T00:{i % 60:02d}:00Z,10.0.{i}.1,{card}{i // 2}\n".encode() for i in range(n))


def test_latin1_ids_are_rejected_counted_and_warned_not_merged(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER + b"user\xff1,2025-01-01T00:00:00Z,1.2.3.4,pfA\n"
                     b"user\xfe1,2025-01-01T00:01:00Z,5.6.7.8,pfB\n" b"user\xe91,2025-01-01T00:02:00Z,9.9.9.9,pfC\n"
                     + _rows(20))
    result = graphlink.detect(path)
    ids = result.accounts["account_id"]
    assert not ids.str.contains("\ufffd", literal=True).any()  # no merged account
    assert ids.len() == 20
    assert result.run["inputs"]["events"]["rejected"] == {"undecodable_account_id": 3}
    assert result.run["inputs"]["events"]["rejected_rows"]["undecodable_account_id"] == [1, 2, 3]
    (warning,) = [w for w in result.warnings if "not UTF-8" in w]
    assert "3 rows rejected (the first: row 1)" in warning and "iconv" in warning


def test_placeholder_ids_are_rejected_counted_and_warned(tmp_path):
    path = tmp_path / "noneid.csv"
    # 12 rows whose id a tool wrote as a placeholder, each with an address and card of its own.
    placeholders = b"".join(f"{p},2025-01-01T01:{i:02d}:00Z,10.9.{i}.1,card_p{i}\n".encode()
                            for i, p in enumerate(["None", "null", "nan", "NaN", "NULL", "none"] * 2))
    path.write_bytes(HEADER + _rows(20) + placeholders)
    result = graphlink.detect(path)
    ids = set(result.accounts["account_id"].to_list())
    assert not ids & {"None", "null", "nan", "NaN", "NULL", "none"}
    assert result.run["inputs"]["events"]["rejected"] == {"placeholder_account_id": 12}
    assert any("12 rows rejected (the first: row 21)" in w and "placeholder" in w for w in result.warnings)


def test_cli_reports_them_and_an_accounts_file_rejects_them_too(tmp_path):
    events = tmp_path / "e.csv"
    events.write_bytes(HEADER + _rows(20) + b"None,2025-01-01T02:00:00Z,10.8.0.1,pfZ\n")
    accounts = tmp_path / "a.csv"
    accounts.write_bytes(b"account_id,created_at\nok1,2024-12-01T00:00:00Z\nnull,2024-12-01T00:00:00Z\n"
                         b"nan,2024-12-02T00:00:00Z\n")
    out = tmp_path / "out"
    done = runner.invoke(app, ["detect", str(events), "--accounts", str(accounts), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "placeholder" in done.output  # the warning reaches the terminal
    run = json.loads((out / "run.json").read_text())
    assert run["inputs"]["accounts"]["rejected"] == {"placeholder_account_id": 2}
    acc = pl.read_parquet(out / "accounts.parquet")
    assert not acc["account_id"].is_in(["None", "null", "nan"]).any()
