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


# -- finding 2: a set-apart row's `flagged` (the cluster's flag when the account was judged) and its note (the flag in
# the output) contradicted each other wherever the flag changed later in the run (dev a1: 9 of 60 rows)

def _set_apart(folder: Path, rows: list[tuple]) -> None:
    pl.DataFrame(rows, schema={"account_id": pl.String, "cluster_id": pl.Int64, "flagged": pl.Boolean,
                               "reason": pl.String}, orient="row").write_parquet(folder / "set_apart.parquet")


def test_set_apart_note_says_when_the_cluster_s_flag_changed_after_the_account_was_judged():
    from graphlink.views.set_apart import set_apart_note

    later = set_apart_note("bystander", 7, True, judged=False)
    assert later.startswith("set apart from flagged cluster 7: an address bystander")
    assert "not yet when this account was set apart" in later
    lost = set_apart_note("bystander", 7, False, judged=True)
    assert lost.startswith("set apart from cluster 7: ") and "flagged when this account was set apart" in lost
    assert set_apart_note("bystander", 7, True, judged=True) == set_apart_note("bystander", 7, True)


def test_set_apart_flag_and_note_agree_in_every_view(ring):
    assert not pl.read_parquet(ring / "clusters.parquet")["flagged"][0]  # the ring of six is not flagged in the output
    _set_apart(ring, [("alone1", 1, True, "bystander")])  # ...but was when alone1 was judged
    said = "flagged when this account was set apart, not in the run's output"
    assert said in graphlink.load(ring).cluster(1).set_apart()["note"][0]
    assert said in json.loads(runner.invoke(app, ["account", str(ring), "alone1", "--json"]).stdout)["set_apart"]["note"]
    done = runner.invoke(app, ["export", str(ring), "-f", "csv", "--clusters", "all"])
    assert done.exit_code == 0, done.output
    row = pl.read_csv(ring / "csv" / "set_apart.csv").row(0, named=True)
    assert row["flagged"] is True and said in row["note"]


# -- finding 3: `account --values 0` printed a table of headers and no rows ("18 more: --values 18" under it)

def test_account_values_zero_prints_the_count_alone(ring):
    done = runner.invoke(app, ["account", str(ring), "ring0", "--values", "0"], env=WIDE)
    assert done.exit_code == 0, done.output
    last = done.stdout.strip().splitlines()[-1]
    assert "values it holds:" in last and "--values" in last
    assert not any(line.split("\t")[0] == "kind" for line in done.stdout.splitlines())  # no header row


# -- finding 5: `account` refused an id as the views spell it (show's set-apart line says "graphlink account DIR ID
# says why", but an id holding a control or bidi character is shown spelled, and the CSV export guards a formula);
# expand and match read such ids back

RLO, ESC = "\u202e", "\x1b"


@pytest.fixture
def spelled(tmp_path: Path) -> Path:
    """A ring of six; three accounts alone whose ids hold a bidi override, an escape and a formula, set apart."""
    odd = [f"a{RLO}b", f"id{ESC}]0;x", "=HYPERLINK(1)"]
    rows = [{"account_id": f"ring{i}", "payment_fingerprint": "c", "user_agent": "curl/8"} for i in range(6)]
    rows += [{"account_id": a, "payment_fingerprint": f"own{i}", "user_agent": "curl/8"} for i, a in enumerate(odd)]
    folder = graphlink.detect(pl.DataFrame(rows)).save(tmp_path / "out")
    _set_apart(folder, [(a, 1, False, "bystander") for a in odd])
    return folder


def test_account_reads_back_an_id_as_show_and_the_csv_export_wrote_it(spelled):
    line = next(x for x in runner.invoke(app, ["show", str(spelled), "1", "--no-templates"], env=WIDE).stdout.splitlines()
                if "set apart from this cluster" in x)
    shown = "a⟨U+202E⟩b"
    assert shown in line  # what the investigator copies
    done = runner.invoke(app, ["account", str(spelled), shown, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["account_id"] == f"a{RLO}b" and json.loads(done.stdout)["set_apart"]["cluster_id"] == 1
    assert json.loads(runner.invoke(app, ["account", str(spelled), "id⟨U+001B⟩]0;x", "--json"]).stdout)["account_id"] == f"id{ESC}]0;x"
    assert runner.invoke(app, ["export", str(spelled), "-f", "csv", "--clusters", "all"]).exit_code == 0
    guarded = pl.read_csv(spelled / "csv" / "set_apart.csv").filter(pl.col("account_id").str.contains("HYPERLINK"))["account_id"][0]
    assert guarded.startswith("'")
    assert json.loads(runner.invoke(app, ["account", str(spelled), guarded, "--json"]).stdout)["account_id"] == "=HYPERLINK(1)"
    assert graphlink.load(spelled).account(shown)["account_id"] == f"a{RLO}b"  # the notebook reads it back too
    missing = runner.invoke(app, ["account", str(spelled), "'nobody"])
    assert missing.exit_code == 2 and "no account" in missing.output


# -- finding 4: the report's set-apart note spelled an id's control character twice ("a⟨U+27E8⟩U+202E⟩b": the note
# was made visible before the templates made every printed value visible again)

def test_report_spells_a_set_apart_id_once(spelled):
    done = runner.invoke(app, ["report", str(spelled), "--no-plots"])
    assert done.exit_code == 0, done.output
    page = (spelled / "report.html").read_text(encoding="utf-8")
    note = next(x for x in page.splitlines() if "set apart from this cluster" in x)
    assert "a⟨U+202E⟩b" in note and "id⟨U+001B⟩]0;x" in note
    assert "U+27E8" not in note and RLO not in page and ESC not in page


# -- finding 6: show and the report list five set-apart ids "and 19 more" without saying where the rest are

def test_set_apart_line_says_where_the_rest_are_listed(ring):
    _set_apart(ring, [(f"gone{i}", 1, False, "bystander") for i in range(7)])
    done = runner.invoke(app, ["show", str(ring), "1", "--no-templates"], env=WIDE)
    line = next(x for x in done.stdout.splitlines() if "set apart from this cluster" in x)
    assert "and 2 more (graphlink show" in line and "--json lists them all" in line
    assert len(json.loads(runner.invoke(app, ["show", str(ring), "1", "--json", "--no-templates"]).stdout)["set_apart"]) == 7
    assert runner.invoke(app, ["report", str(ring), "--no-plots"]).exit_code == 0
    page = (ring / "report.html").read_text(encoding="utf-8")
    note = next(x for x in page.splitlines() if "set apart from this cluster" in x)
    assert "and 2 more (graphlink export" in note and "set_apart.csv" in note


# -- finding 7: the quick start and the worked example never named `graphlink account`; the example's id is checked

def test_worked_example_s_account_lookup_runs_on_the_fixture(fixture_detected):
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme[readme.index("## Worked example"):], re.S).group(1)
    lookup = next(shlex.split(line[2:], comments=True) for line in block.splitlines() if " account " in line)
    assert lookup[:3] == ["graphlink", "account", "out/"]
    done = runner.invoke(app, ["account", str(fixture_detected), *lookup[3:], "--json"])
    assert done.exit_code == 0, done.output
    record = json.loads(done.stdout)
    assert record["flagged"] and record["cluster"]["cluster_id"] is not None  # a ring account of the fixture
    assert "`graphlink account out/ ID`" in readme[readme.index("## Quick start"):readme.index("## Input")]


# -- finding 8: an account the accounts file lists with no event read "Leiden placed it in none"

def test_account_with_no_event_says_so(tmp_path):
    events = pl.DataFrame([{"account_id": f"r{i}", "payment_fingerprint": "c", "user_agent": "curl/8"} for i in range(4)])
    accounts = pl.DataFrame({"account_id": ["r0", "quiet"], "email_domain": ["x.org", "y.org"]})
    folder = graphlink.detect(events, accounts).save(tmp_path / "out")
    assert pl.read_parquet(folder / "accounts.parquet").filter(pl.col("account_id") == "quiet")["events"][0] == 0
    lines = runner.invoke(app, ["account", str(folder), "quiet"], env=WIDE).stdout.splitlines()
    assert any("no event in this log" in x for x in lines) and not any("Leiden placed it" in x for x in lines)
    member = runner.invoke(app, ["account", str(folder), "r1"], env=WIDE).stdout
    assert "no event in this log" not in member


# -- finding 9: expand printed one note line per set-apart seed before its table (a cluster's set_apart.csv as seeds:
# 24 lines on dev a1)

def test_expand_prints_a_few_seed_notes_then_says_where_the_rest_are(tmp_path):
    rows = [{"account_id": f"ring{i}", "payment_fingerprint": "c", "ip": "10.1.1.1", "user_agent": "curl/8"}
            for i in range(6)]
    rows += [{"account_id": f"gone{i}", "payment_fingerprint": f"own{i}", "ip": f"10.2.2.{i}", "user_agent": "curl/8"}
             for i in range(8)]
    folder = graphlink.detect(pl.DataFrame(rows)).save(tmp_path / "out")
    gone = [f"gone{i}" for i in range(8)]
    assert pl.read_parquet(folder / "accounts.parquet").filter(pl.col("account_id").is_in(gone))["cluster_id"].null_count() == 8
    _set_apart(folder, [(a, 1, False, "bystander") for a in gone])
    done = runner.invoke(app, ["expand", str(folder), "--seeds", ",".join(gone), "--top", "2"], env=WIDE)
    assert done.exit_code == 0, done.output
    notes = [x for x in done.output.splitlines() if x.startswith("seed gone")]
    assert len(notes) == 5 and "and 3 more seeds set apart" in done.output
    listed = json.loads(runner.invoke(app, ["expand", str(folder), "--seeds", ",".join(gone), "--json"]).stdout)
    assert len(listed["set_apart"]) == 8  # --json keeps every note
