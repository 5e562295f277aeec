"""Session 57 (helper ux57): an investigator's lookups -- one account (``graphlink account``, ``Result.account``),
the accounts detect set apart from a cluster (``set_apart.parquet``, shown wherever members are listed) and campaign
ids carried across ``--previous``. Hand-built inputs; public names only."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.stages.outsiders import fleet_outsiders, set_apart_members
from graphlink.stages.set_apart import set_apart_table
from graphlink.stages.stable_campaigns import rekey_campaign_ids

runner = CliRunner()
ESC = "\x1b"


def _log(groups: dict[str, list[str]], agent: str = "curl/8") -> pl.DataFrame:
    """One event per account: its card (accounts on one card form a cluster) and a user agent."""
    return pl.DataFrame([{"account_id": a, "payment_fingerprint": card, "user_agent": agent}
                         for card, accounts in groups.items() for a in accounts])


@pytest.fixture(scope="module")
def detected_once(tmp_path_factory) -> Path:
    """A ring of six on one card (one of them named with an escape), two people alone, written as a detect output
    once per module (:func:`saved` copies it for each test)."""
    ring = [f"ring{i}" for i in range(5)] + [f"ring{ESC}[31m5"]
    events = _log({"card-r": ring, "z1": ["alone1"], "z2": ["alone2"]}, agent=f"bot{ESC}]0;pwned{chr(7)}")
    return graphlink.detect(events).save(tmp_path_factory.mktemp("ux57") / "out")


@pytest.fixture
def saved(detected_once: Path, tmp_path: Path) -> Path:
    """:func:`detected_once`'s folder copied to the test's ``tmp_path`` (tests write set_apart.parquet and exports
    into it)."""
    return Path(shutil.copytree(detected_once, tmp_path / "out"))


def _with_set_apart(folder: Path, rows: list[tuple]) -> None:
    """Write ``set_apart.parquet`` by hand (what detect records when it sets members apart)."""
    pl.DataFrame(rows, schema={"account_id": pl.String, "cluster_id": pl.Int64, "flagged": pl.Boolean,
                               "reason": pl.String}, orient="row").write_parquet(folder / "set_apart.parquet")


# -- (1) one account -----------------------------------------------------------------------------------------------

def test_account_command_is_listed_with_help():
    assert "account" in typer.main.get_command(app).commands
    text = runner.invoke(app, ["account", "--help"]).stdout
    assert "graphlink account [OPTIONS] DIR ACCOUNT_ID" in text and "--json" in text and "set" in text


def test_account_lookup_names_cluster_campaign_and_the_values_tying_it(saved):
    done = runner.invoke(app, ["account", str(saved), "ring0"], env={"COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    first = done.stdout.splitlines()[0]
    assert first.startswith("account ring0 · ") and "cluster 1" in first and "campaign" in first
    assert "activity: 1 event" in done.stdout
    data = json.loads(runner.invoke(app, ["account", str(saved), "ring0", "--json"]).stdout)
    assert data["account"]["cluster_id"] == 1 and data["cluster"]["size"] == 6
    card = next(v for v in data["values"] if v["kind"] == "payment")
    assert card["value"] == "card-r" and card["df"] == 6 and card["in_cluster"] == 6  # held by all six, itself included
    assert data["values"][0] == card  # the value it holds with its cluster comes first
    assert data["set_apart"] is None and data["set_apart_known"] is True
    # Its tie (counted for it alone) is the one show lists for it among every member.
    shown = json.loads(runner.invoke(app, ["show", str(saved), "1", "--json", "--no-templates"]).stdout)
    member = next(m for m in shown["members"] if m["account_id"] == "ring0")
    assert data["tie"] == {"tie_strength": member["tie_strength"], "tied_by": member["tied_by"]}


def test_account_outside_any_cluster(saved):
    data = json.loads(runner.invoke(app, ["account", str(saved), "alone1", "--json"]).stdout)
    assert data["cluster"] is None and data["flagged"] is False and data["tie"] is None
    assert runner.invoke(app, ["account", str(saved), "alone1"]).stdout.splitlines()[0].endswith("in no cluster")


def test_account_errors_are_one_line_exit_2(saved, tmp_path):
    unknown = runner.invoke(app, ["account", str(saved), "nobody"])
    assert unknown.exit_code == 2 and "no account 'nobody'" in unknown.output and len(unknown.output.strip().splitlines()) == 1
    (tmp_path / "plain").mkdir()
    folder = runner.invoke(app, ["account", str(tmp_path / "plain"), "ring0"])
    assert folder.exit_code == 2 and "not a graphlink detect output" in folder.output
    assert len(folder.output.strip().splitlines()) == 1


def test_account_escapes_logged_text(saved):
    hostile = f"ring{ESC}[31m5"
    shown = runner.invoke(app, ["account", str(saved), hostile, "--values", "5"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    assert ESC not in shown.stdout and chr(7) not in shown.stdout and "⟨U+001B⟩" in shown.stdout
    as_json = runner.invoke(app, ["account", str(saved), hostile, "--json"]).stdout
    assert ESC not in as_json and chr(7) not in as_json
    assert json.loads(as_json)["account_id"] == hostile  # the id as logged, escaped only in the JSON text


def test_notebook_account_is_the_command_s_record(saved):
    loaded = graphlink.load(saved).account("ring0")
    from_cli = json.loads(runner.invoke(app, ["account", str(saved), "ring0", "--json"]).stdout)
    assert loaded["cluster"]["cluster_id"] == from_cli["cluster"]["cluster_id"]
    assert [(v["kind"], v["value"], v["in_cluster"]) for v in loaded["values"]] == [
        (v["kind"], v["value"], v["in_cluster"]) for v in from_cli["values"]]
    fresh = graphlink.detect(_log({"k": list("abc"), "q": ["d"]}))
    assert fresh.account("a")["cluster"]["size"] == 3
    with pytest.raises(graphlink.GraphlinkError, match="no account 'zz'"):
        fresh.account("zz")


# -- (2) accounts set apart ----------------------------------------------------------------------------------------

def test_set_apart_table_names_the_cluster_left_and_the_remnants():
    before = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 6], "cluster_id": [7, 7, 7, 7, 9, 9, None]},
                          schema_overrides={"account_idx": pl.UInt32})
    after = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 6], "cluster_id": [2, 2, 2, None, None, None, None]},
                         schema_overrides={"account_idx": pl.UInt32})
    detached = pl.DataFrame({"account_idx": [3, 4], "reason": ["bystander", "outsider"]},
                            schema_overrides={"account_idx": pl.UInt32})
    table = set_apart_table(before, detached, pl.DataFrame({"cluster_id": [7, 9], "flagged": [True, True]}), after)
    # 3 left cluster 7 (now 2); 4 left cluster 9, whose last member 5 was then too few to stay; 6 was never clustered
    assert table.rows() == [(3, 2, True, "bystander"), (4, None, True, "outsider"), (5, None, True, "remnant")]
    assert set_apart_table(before, detached.clear(), pl.DataFrame({"cluster_id": [7], "flagged": [True]}), before).is_empty()


def test_set_apart_members_says_why_and_fleet_outsiders_is_its_ids():
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1] * 5}, schema_overrides={"account_idx": pl.UInt32})
    scored = pl.DataFrame({"cluster_id": [1], "flagged": [True], "ip_spread": [1.0]})
    counts = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "kind": ["ip_net"] * 5, "n_values": [40, 50, 60, 1, 2]},
                          schema_overrides={"account_idx": pl.UInt32})
    reasons = set_apart_members(part, scored, counts)
    assert reasons.rows() == [(3, 1, "outsider"), (4, 1, "outsider")]
    assert fleet_outsiders(part, scored, counts).to_list() == reasons["account_idx"].to_list()
    calm = scored.with_columns(pl.lit(False).alias("flagged"))
    assert set_apart_members(part, calm, counts).is_empty()


def test_set_apart_is_shown_wherever_the_members_are(saved):
    _with_set_apart(saved, [("alone1", 1, True, "bystander"), ("alone2", None, False, "remnant")])
    shown = runner.invoke(app, ["show", str(saved), "1", "--no-templates"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.stdout.splitlines() if "set apart from this cluster" in x)
    assert "1 account (1 address bystander): alone1" in line and "alone2" not in line
    data = json.loads(runner.invoke(app, ["show", str(saved), "1", "--json", "--no-templates"]).stdout)
    assert [r["account_id"] for r in data["set_apart"]] == ["alone1"]
    flagged = pl.read_parquet(saved / "clusters.parquet").filter(pl.col("cluster_id") == 1)["flagged"][0]
    assert data["set_apart"][0]["note"].startswith(f"set apart from {'flagged ' if flagged else ''}cluster 1: an address bystander")
    view = graphlink.load(saved).cluster(1).set_apart()
    assert view["account_id"].to_list() == ["alone1"] and view["reason"].to_list() == ["bystander"]
    record = json.loads(runner.invoke(app, ["account", str(saved), "alone1", "--json"]).stdout)
    assert record["set_apart"]["reason"] == "bystander" and record["set_apart"]["cluster_id"] == 1
    card = next(v for v in record["values"] if v["kind"] == "user_agent")
    assert card["in_cluster"] == 6  # counted against the cluster it was set apart from
    remnant = runner.invoke(app, ["account", str(saved), "alone2"]).stdout
    assert "set apart from a cluster that dissolved: a remnant" in remnant


def test_set_apart_in_the_exports(saved):
    _with_set_apart(saved, [("alone1", 1, True, "bystander")])
    done = runner.invoke(app, ["export", str(saved), "-f", "csv", "--clusters", "all"])
    assert done.exit_code == 0, done.output
    with open(saved / "csv" / "set_apart.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["account_id"], r["cluster_id"], r["reason"]) for r in rows] == [("alone1", "1", "bystander")]
    assert "set_apart.csv: " in (saved / "csv" / "README.txt").read_text(encoding="ascii")
    done = runner.invoke(app, ["export", str(saved), "-f", "json", "--clusters", "all"])
    assert done.exit_code == 0, done.output
    case = json.loads((saved / "cases" / "cluster-1.json").read_text(encoding="utf-8"))
    assert [r["account_id"] for r in case["set_apart"]] == ["alone1"]


def test_a_folder_written_before_set_apart_says_not_recorded(saved):
    (saved / "set_apart.parquet").unlink()
    record = json.loads(runner.invoke(app, ["account", str(saved), "alone1", "--json"]).stdout)
    assert record["set_apart"] is None and record["set_apart_known"] is False
    assert "not recorded" in runner.invoke(app, ["account", str(saved), "alone1"]).stdout
    assert json.loads(runner.invoke(app, ["show", str(saved), "1", "--json", "--no-templates"]).stdout)["set_apart"] is None


# -- (3) campaign ids across --previous ----------------------------------------------------------------------------

def _detect(tmp_path: Path, name: str, events: pl.DataFrame, previous: Path | None = None) -> Path:
    events.write_parquet(tmp_path / f"{name}.parquet")
    out = tmp_path / name
    args = ["detect", str(tmp_path / f"{name}.parquet"), "--out", str(out), "-q"]
    done = runner.invoke(app, args + (["--previous", str(previous)] if previous else []))
    assert done.exit_code == 0, done.output
    return out


def _campaign_of(folder: Path) -> dict[str, int]:
    rows = pl.read_parquet(folder / "accounts.parquet").drop_nulls("campaign_id")
    return dict(rows.select("account_id", "campaign_id").iter_rows())


def test_campaign_ids_follow_their_accounts_across_previous(tmp_path):
    a, b = [f"a{i}" for i in range(6)], [f"b{i}" for i in range(4)]
    day1 = _detect(tmp_path, "day1", _log({"kA": a, "kB": b, "z": ["p"]}))
    one = _campaign_of(day1)
    # Day two: A's operator is down to three accounts, B's doubled -- numbered afresh, B would take A's id.
    day2_log = _log({"kA": a[:3], "kB": b + [f"b{i}" for i in range(4, 8)], "z": ["p"]})
    fresh = _campaign_of(_detect(tmp_path, "fresh", day2_log))
    assert fresh["b0"] == one["a0"]  # the renumbering this fixes
    kept = _campaign_of(_detect(tmp_path, "day2", day2_log, previous=day1))
    assert kept["a0"] == one["a0"] and kept["b0"] == one["b0"] and kept["b7"] == one["b0"]
    day2 = tmp_path / "day2"
    assert set(pl.read_parquet(day2 / "campaigns.parquet")["campaign_id"]) == {one["a0"], one["b0"]}
    clusters = pl.read_parquet(day2 / "clusters.parquet")
    assert dict(clusters.select("cluster_id", "campaign_id").iter_rows()) == {1: one["a0"], 2: one["b0"]}
    summary = runner.invoke(app, ["detect", str(tmp_path / "day2.parquet"), "--out", str(tmp_path / "again"),
                                  "--previous", str(day1)], env={"COLUMNS": "400"}).output
    assert "campaigns: 2 kept their id, 0 new, 0 vanished" in summary  # the detect summary says it too
    run = json.loads((day2 / "run.json").read_text())
    assert run["previous"]["campaigns"]["matched"] == 2 and run["counts"]["max_campaign_id"] == 2
    # Day three: A gone, a new operator C: C takes a fresh id, never A's (an id issued is not reused).
    day3 = _detect(tmp_path, "day3", _log({"kB": b, "kC": ["c0", "c1", "c2"]}), previous=day2)
    three = _campaign_of(day3)
    assert three["b0"] == one["b0"] and three["c0"] == 3
    assert json.loads((day3 / "run.json").read_text())["previous"]["campaigns"]["vanished_ids"] == [one["a0"]]


def test_campaign_ids_in_the_whys_follow():
    mapping = pl.DataFrame({"cluster_id": [1, 2, 3], "stable_id": [4, 1, 9]})
    clusters = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 2, 3], "why": [
        "same operator as flagged cluster 2 (campaign 2) by 1 payment card or identifier; x",
        "campaign 2 as a whole (30 accounts): y; this cluster: z",
        'templated ("about a D&D campaign (campaign 2)")']})
    campaigns = pl.DataFrame({"campaign_id": [1, 2, 3], "why": [
        "1 cluster, 4 accounts, 1 flagged (0 on their own score); flagged through cluster 2 (campaign 2), cluster 3 (campaign 3)",
        "2 clusters", "1 cluster"]})
    ties = pl.DataFrame({"campaign_id": [2, 1], "value": ["v2", "v1"]})
    accounts = pl.DataFrame({"account_id": ["a", "b"], "campaign_id": [3, None]}, schema_overrides={"campaign_id": pl.Int64})
    accounts, clusters, campaigns, ties = rekey_campaign_ids(mapping, accounts, clusters, campaigns, ties)
    assert accounts["campaign_id"].to_list() == [9, None]
    assert clusters["campaign_id"].to_list() == [4, 1, 9]
    assert clusters["why"].to_list() == [
        "same operator as flagged cluster 2 (campaign 1) by 1 payment card or identifier; x",
        "campaign 1 as a whole (30 accounts): y; this cluster: z",
        'templated ("about a D&D campaign (campaign 2)")']  # logged text is never rewritten
    assert campaigns.rows() == [(1, "2 clusters"), (4, "1 cluster, 4 accounts, 1 flagged (0 on their own score); "
                                                      "flagged through cluster 2 (campaign 1), cluster 3 (campaign 9)"),
                                (9, "1 cluster")]
    assert ties.rows() == [(1, "v2"), (4, "v1")]


def test_expand_and_match_say_a_seed_was_set_apart(saved, tmp_path):
    _with_set_apart(saved, [("alone1", 1, True, "bystander")])
    expanded = json.loads(runner.invoke(app, ["expand", str(saved), "--seeds", "alone1", "--json"]).stdout)
    assert [r["account_id"] for r in expanded["set_apart"]] == ["alone1"]
    shown = runner.invoke(app, ["expand", str(saved), "--seeds", "alone1"], env={"COLUMNS": "300"})
    assert "seed alone1: set apart from" in shown.output and "an address bystander" in shown.output
    (tmp_path / "ids.csv").write_text("account_id\nalone1\nalone2\n")
    done = runner.invoke(app, ["match", str(saved), str(tmp_path / "ids.csv"), "--out", str(tmp_path / "m"), "--json"])
    assert done.exit_code == 0, done.output
    why = dict(pl.read_parquet(tmp_path / "m" / "matches.parquet").select("account_id", "why").iter_rows())
    assert why["alone1"].startswith("in the earlier run, in no cluster; set apart from") and "bystander" in why["alone1"]
    assert why["alone2"] == "in the earlier run, in no cluster"  # never set apart: as before
    assert json.loads(done.stdout)["counts"]["earlier_unclustered"] == 2
