"""Session 60 (lead): ``match --redact`` -- the table and the JSON hash cards, e-mail ids and IPs as ``show --redact``
does; the folder's ``matches.parquet`` stays raw (as detect's folder). Hand-built logs; public names only."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.views.match import redact_matches

runner = CliRunner()
CARD = "tok_ringcard_7741"


def _log(prefix: str, n: int, start: str) -> pl.DataFrame:
    rows = [{"account_id": f"{prefix}{i}@mail.example", "timestamp": f"{start}T0{i % 6}:00:00",
             "ip": f"198.51.100.{i % 4 + 1}", "payment_fingerprint": CARD, "user_agent": "ringbot/2",
             "prompt": "explain step by step how you reach the answer"} for i in range(n)]
    rows += [{"account_id": f"person{i}@home.example", "timestamp": f"{start}T12:00:00", "ip": f"203.0.113.{i + 10}",
              "payment_fingerprint": f"own_{i}", "user_agent": "browser", "prompt": f"recipe {i}"} for i in range(4)]
    return pl.DataFrame(rows)


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    return graphlink.detect(_log("ring", 8, "2026-01-01")).save(tmp_path / "day1")


def test_match_redact_hashes_ids_cards_and_ips_in_json_and_keeps_the_folder_raw(earlier, tmp_path):
    new = tmp_path / "day2.parquet"
    _log("fresh", 5, "2026-01-02").write_parquet(new)
    plain = runner.invoke(app, ["match", str(earlier), str(new), "--out", str(tmp_path / "m0"), "--json"])
    assert plain.exit_code == 0, plain.output
    raw = json.loads(plain.stdout)["matched"]
    assert raw and any(CARD in (r["why"] or "") for r in raw)  # the raw run quotes the card (the test can fail)
    done = runner.invoke(app, ["match", str(earlier), str(new), "--out", str(tmp_path / "m1"), "--json",
                               "--redact-key", "k1"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    text = json.dumps(body["matched"])
    assert CARD not in text and "fresh0@" not in text and "198.51.100.1 " not in text
    assert "@mail.example" in text  # domains kept, as show --redact keeps them
    assert len(body["matched"]) == len(raw) and "HMAC" in body["redaction"]
    written = pl.read_parquet(tmp_path / "m1" / "matches.parquet")  # the folder stays raw
    assert written["account_id"].str.starts_with("fresh0@").any()


def test_match_redact_table_prints_no_raw_card_and_says_it_is_redacted(earlier, tmp_path):
    new = tmp_path / "day2.parquet"
    _log("fresh", 5, "2026-01-02").write_parquet(new)
    done = runner.invoke(app, ["match", str(earlier), str(new), "--out", str(tmp_path / "m"), "--redact"])
    assert done.exit_code == 0, done.output
    assert CARD not in done.output and "fresh1@mail" not in done.output
    assert "redacted:" in done.output


def test_redact_matches_keeps_rows_and_order_and_is_keyed(earlier, tmp_path):
    result = graphlink.match(earlier, _log("fresh", 5, "2026-01-02"))
    a, _ = redact_matches(result.matches, earlier, key="k1")
    b, _ = redact_matches(result.matches, earlier, key="k1")
    c, _ = redact_matches(result.matches, earlier, key="k2")
    assert a.schema == result.matches.schema and a.height == result.matches.height
    assert a["cluster_id"].to_list() == result.matches["cluster_id"].to_list()
    assert a.equals(b) and not a.equals(c)
