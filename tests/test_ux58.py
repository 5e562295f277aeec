"""Session 58 (helper ux58): a new user's walk of the investigator's lookups -- what tripped them, fixed.

Hand-built inputs; public names only. Each test fails on main ``1dca1cf`` (the finding it pins is named beside it:
BENCHMARKS.md, "Fifty-eighth pass (session 58, helper ux58)").
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "400"}
CARD = "card-secret-4111"
ADDRESS = "10.9.8.7"
BOSS = "ring.boss@example.com"  # an account id that is an e-mail address: --redact hashes it


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    """Six accounts on one card and one address (one of them named by an e-mail address), two people alone, saved."""
    members = [f"ring{i}" for i in range(5)] + [BOSS]
    rows = [{"account_id": a, "payment_fingerprint": CARD, "ip": ADDRESS, "user_agent": "curl/8"} for a in members]
    rows += [{"account_id": f"alone{i}", "payment_fingerprint": f"own{i}", "ip": f"10.0.0.{i}", "user_agent": "curl/8"}
             for i in (1, 2)]
    return graphlink.detect(pl.DataFrame(rows)).save(tmp_path / "out")


# -- finding 1: `account` printed cards, IPs and e-mail ids raw with no --redact (show, campaign, report, export have it)

def test_account_redact_hashes_cards_addresses_and_e_mail_ids(ring):
    plain = runner.invoke(app, ["account", str(ring), "ring0", "--values", "20"], env=WIDE)
    assert plain.exit_code == 0, plain.output
    assert CARD in plain.stdout and ADDRESS in plain.stdout  # control: unredacted, the values are as logged
    done = runner.invoke(app, ["account", str(ring), "ring0", "--values", "20", "--redact-key", "k"], env=WIDE)
    assert done.exit_code == 0, done.output
    assert CARD not in done.stdout and ADDRESS not in done.stdout
    assert "pay#" in done.stdout and "redacted:" in done.stdout
    boss = json.loads(runner.invoke(app, ["account", str(ring), BOSS, "--json", "--redact"]).stdout)
    assert "ring.boss" not in json.dumps(boss) and boss["account_id"].endswith("@example.com")
    assert boss["cluster"]["cluster_id"] == 1 and boss["redaction"]  # looked up by the id as logged


def test_account_redacted_tie_and_values_are_show_s_under_one_key(ring):
    data = json.loads(runner.invoke(app, ["account", str(ring), "ring0", "--json", "--redact-key", "k"]).stdout)
    shown = json.loads(runner.invoke(app, ["show", str(ring), "1", "--json", "--no-templates",
                                           "--redact-key", "k"]).stdout)
    member = next(m for m in shown["members"] if m["account_id"] == "ring0")
    assert data["tie"] == {"tie_strength": member["tie_strength"], "tied_by": member["tied_by"]}
    card = next(v for v in data["values"] if v["kind"] == "payment")
    evidence = {e["value"] for e in shown["evidence"] if e["kind"] == "payment"}
    assert card["value"] in evidence and card["in_cluster"] == 6  # the same hash, the counts of the raw value
    plain = json.loads(runner.invoke(app, ["account", str(ring), "ring0", "--json"]).stdout)
    assert plain["redaction"] is None and next(v for v in plain["values"] if v["kind"] == "payment")["value"] == CARD
