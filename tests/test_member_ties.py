"""Per-member evidence: why THIS account is in the cluster (:mod:`graphlink.views.member_ties`), on a hand-built folder.

Cluster 1: a fleet of six accounts on two cards (three each) and two pool addresses, plus one bystander who shares
only a NAT address with two of them (the NAT has seven other users, outside every cluster). Known answers, by hand:

* bystander ``by``: ``tied_by`` names the NAT address alone (3 members); strength ``0.5*2 / (0.5*9)`` = 0.2222;
* ``f0`` (card c1, both pool addresses, the NAT): ``(3*2 + 1*5 + 1.2*3 + 0.5*2) / (3*2 + 1*5 + 1.2*3 + 0.5*9)`` = 15.6/19.1;
* ``f2`` (card c1, the first pool address): 1.0.
"""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.contract import (
    ACCOUNTS_SCHEMA, CLUSTERS_SCHEMA, COMPONENTS, EVIDENCE_SCHEMA, LINKING_SCHEMA, MEMBER_TIES_SCHEMA, MEMBERSHIPS_SCHEMA,
)
from graphlink.phrase_quotes import number_slots
from graphlink.store.outputs import load_outputs
from graphlink.views.export import export
from graphlink.views.member_ties import member_ties, outputs_member_ties
from graphlink.views.report import write_report
from graphlink.views.terminal import cluster_json, cluster_tables

FORMULA = '=HYPERLINK("http://evil.example","x")'
SCRIPT = "<script>alert(1)</script> [red]now[/]"
FLEET = ["f0", "f1", "f2", "f3", "f4", FORMULA]  # f5's id is a spreadsheet formula
BYSTANDER = "by"
NAT = "100.64.0.1"
EXPECTED = {"by": 1.0 / 4.5, "f0": 15.6 / 19.1, "f2": 1.0}

# kind, value, weight, df, holders in cluster 1 (the NAT's other seven holders are unclustered accounts)
VALUES = [
    ("payment", "c1", 3.0, 3, ["f0", "f1", "f2"]),
    ("payment", "c2", 3.0, 3, ["f3", "f4", FORMULA]),
    ("ip", "10.0.0.1", 1.0, 6, FLEET),
    ("ip", "10.0.0.2", 1.2, 4, ["f0", "f1", "f3", "f4"]),
    ("ip", NAT, 0.5, 10, ["f0", "f1", BYSTANDER]),
]
PROMPT = ("prompt", SCRIPT, 0.3, 6, FLEET)  # a prompt phrase: memberships.parquet only (linking does not list prompts)


def write_folder(root: Path) -> Path:
    """A detect output folder holding cluster 1 only, built from the contract's schemas."""
    root.mkdir()
    members = [*FLEET, BYSTANDER]
    outsiders = [f"o{i}" for i in range(7)]
    t0 = pl.datetime(2025, 1, 6, time_zone="UTC")
    accounts = pl.DataFrame({"account_id": members + outsiders, "cluster_id": [1] * 7 + [None] * 7,
                             "campaign_id": [1] * 7 + [None] * 7, "events": [20, 19, 18, 17, 16, 15, 3] + [2] * 7},
                            ).with_columns(first_seen=t0, last_seen=t0).cast(dict(ACCOUNTS_SCHEMA))
    accounts.write_parquet(root / "accounts.parquet")
    linking = [(a, k, v, df, w, 1) for k, v, w, df, holders in VALUES for a in holders]
    linking += [(o, "ip", NAT, 10, 0.5, None) for o in outsiders]
    pl.DataFrame(linking, schema=list(LINKING_SCHEMA), orient="row").cast(dict(LINKING_SCHEMA)).sort(
        "account_id", "kind", "value").write_parquet(root / "linking.parquet")
    memberships = [(a, k, v, w) for k, v, w, _, holders in [*VALUES, PROMPT] for a in holders]
    pl.DataFrame(memberships, schema=list(MEMBERSHIPS_SCHEMA), orient="row").cast(dict(MEMBERSHIPS_SCHEMA)).write_parquet(
        root / "memberships.parquet")
    pl.DataFrame([(1, k, v, len(h), w, df, False, 0) for k, v, w, df, h in [*VALUES, PROMPT]],
                 schema=list(EVIDENCE_SCHEMA), orient="row").cast(dict(EVIDENCE_SCHEMA)).write_parquet(
        root / "evidence.parquet")
    row = {"cluster_id": 1, "size": 7, "score": 0.9, "flagged": True, "coordination": 0.9, "evasion": 0.9,
           **dict.fromkeys(COMPONENTS, 0.5), "org_coherence": 0.0, "kinds": ["payment", "ip", "prompt"],
           "top_values": ["payment=c1"], "why": "2 cards shared by the fleet", "campaign_id": 1}
    pl.DataFrame([row], schema=CLUSTERS_SCHEMA).write_parquet(root / "clusters.parquet")
    (root / "run.json").write_text(json.dumps({"parameters": {}, "inputs": {}, "counts": {"accounts": 14}}))
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("ties") / "out")


@pytest.fixture(scope="module")
def ties(folder) -> dict[str, dict]:
    frame = outputs_member_ties(load_outputs(folder, "all"))
    assert frame.schema == MEMBER_TIES_SCHEMA
    return {r["account_id"]: r for r in frame.iter_rows(named=True)}


def test_the_bystander_is_weaker_than_every_core_member_and_tied_by_the_address_alone(ties):
    bystander = ties[BYSTANDER]
    assert bystander["tied_by"] == f"IP address {NAT} (3 members)"
    assert all(bystander["tie_strength"] < ties[a]["tie_strength"] for a in FLEET)
    for account, strength in EXPECTED.items():
        assert ties[account]["tie_strength"] == pytest.approx(strength)


def test_counts_strongest_values_and_kind_order_are_right(ties):
    # payment first (its best value 3.0 x 3 members outweighs 1.0 x 6), then ip, then the prompt phrase (memberships)
    assert ties["f0"]["tied_by"] == (f'payment card c1 (3 members); 3 IP addresses, strongest 10.0.0.1 (6 members); '
                                     f'prompt phrase "{number_slots(SCRIPT)}" (6 members)')  # its numbers as ⟨#⟩ (nu56)
    assert ties["f2"]["tied_by"].startswith("payment card c1 (3 members); IP address 10.0.0.1 (6 members); ")


def test_without_linking_parquet_ties_come_from_memberships_and_strength_is_unknown(folder):
    outputs = load_outputs(folder, "all")
    frame = member_ties(outputs.accounts, outputs.memberships, None, outputs.evidence)
    row = frame.filter(pl.col("account_id") == BYSTANDER).row(0, named=True)
    assert row["tie_strength"] is None and row["tied_by"] == f"IP address {NAT} (3 members)"


def test_every_front_shows_the_builders_numbers(folder, ties, tmp_path):
    outputs = load_outputs(folder, "all")
    shown = {m["account_id"]: m for m in cluster_json(outputs, 1, members=100)["members"]}
    case = export(folder, "json", out=tmp_path / "cases")
    in_case = {m["account_id"]: m for m in json.loads(case.paths[0].read_text())["members"]}
    export(folder, "csv", out=tmp_path / "csv")
    with open(tmp_path / "csv" / "members.csv", newline="") as fh:
        in_csv = {r["account_id"].lstrip("'"): r for r in csv.DictReader(fh)}
    export(folder, "gexf", out=tmp_path / "g.gexf")
    gexf = ET.parse(tmp_path / "g.gexf").getroot()
    ns = {"g": gexf.tag.split("}")[0][1:]}
    ids = {a.get("title"): a.get("id") for a in gexf.iterfind(".//g:attributes[@class='node']/g:attribute", ns)}
    in_gexf = {n.get("label"): {v.get("for"): v.get("value") for v in n.iterfind(".//g:attvalue", ns)}
               for n in gexf.iterfind(".//g:node", ns)}
    notebook = {r["account_id"]: r for r in graphlink.load(folder).cluster(1).member_ties().iter_rows(named=True)}
    report = write_report(folder, tmp_path / "r.html").path.read_text()
    for account, want in ties.items():
        strength, text = want["tie_strength"], want["tied_by"]
        assert shown[account]["tie_strength"] == in_case[account]["tie_strength"] == notebook[account]["tie_strength"] == strength
        assert shown[account]["tied_by"] == in_case[account]["tied_by"] == notebook[account]["tied_by"] == text
        assert float(in_csv[account]["tie_strength"]) == pytest.approx(strength)
        assert in_csv[account]["tied_by"].lstrip("'") == text
        node = in_gexf[account]
        assert float(node[ids["tie_strength"]]) == pytest.approx(strength) and node[ids["tied_by"]] == text
        assert f">{strength:.2f}<" in report
    tables, headers = [(rows, headers) for table, rows, headers in cluster_tables(outputs, 1, members=100)[1]
                       if "tied by" in headers][0]
    assert {r[0]: r[headers.index("strength")] for r in tables}[BYSTANDER] == f"{EXPECTED['by']:.2f}"


def test_show_can_list_the_periphery_first(folder):
    result = CliRunner().invoke(app, ["show", str(folder), "1", "--sort-members", "strength", "--json"])
    assert result.exit_code == 0, result.output
    members = json.loads(result.output)["members"]
    assert members[0]["account_id"] == BYSTANDER
    assert [m["tie_strength"] for m in members] == sorted(m["tie_strength"] for m in members)


def test_csv_neutralises_a_formula_account_and_keeps_its_ties(folder, ties, tmp_path):
    export(folder, "csv", out=tmp_path / "csv")
    text = (tmp_path / "csv" / "members.csv").read_text()
    with open(tmp_path / "csv" / "members.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    formula = [r for r in rows if FORMULA in r["account_id"]]
    assert formula and formula[0]["account_id"] == "'" + FORMULA
    assert not any(cell.startswith("=") for r in rows for cell in r.values())
    assert formula[0]["tied_by"] == ties[FORMULA]["tied_by"] and "payment card c2" in text


def test_html_and_terminal_escape_the_logged_values(folder, tmp_path):
    report = write_report(folder, tmp_path / "r.html").path.read_text()
    assert "<script>alert(1)</script>" not in report and "&lt;script&gt;alert(" in report
    notebook = graphlink.load(folder).cluster(1)._repr_html_()  # the notebook's member preview
    assert "tied_by" in notebook and "<script>" not in notebook and "&lt;script&gt;" in notebook
    outputs = load_outputs(folder, "all")
    console = Console(record=True, width=400, color_system=None)
    for table, _, headers in cluster_tables(outputs, 1, members=100)[1]:
        if "tied by" in headers:
            console.print(table)
    shown = console.export_text()
    assert "[red]now[/]" in shown  # printed as written, not eaten as rich markup
    assert re.search(r"prompt phrase \"<script>alert\(⟨#⟩\)</script> \[red\]now", shown)  # its number a slot (nu56)


def test_redacted_views_redact_the_values_a_member_is_tied_by(folder):
    outputs = load_outputs(folder, "all", redact_key="k")
    by = [m for m in cluster_json(outputs, 1, members=100)["members"] if m["tie_strength"] == pytest.approx(EXPECTED["by"])]
    assert len(by) == 1 and NAT not in by[0]["tied_by"] and by[0]["tied_by"].startswith("IP address ")


def test_values_of_weak_kinds_shared_outside_do_not_lower_the_strength():
    """A pair sharing only weak values (an e-mail provider, a /24) is not linked (KindSpec.strong), so what a member
    shares that way with thousands outside is not link weight it has outside: gmail.com held by 3,000 accounts leaves
    f2's strength at 1.0; the run's own [graph] settings decide which kinds are weak."""
    accounts = pl.DataFrame({"account_id": ["f0", "f1", "f2"], "cluster_id": [1, 1, 1]})
    rows = [(a, 1, "payment", "c1", 3, 3.0) for a in ("f0", "f1", "f2")]
    rows += [(a, 1, "email_domain", "gmail.com", 3000, 0.02) for a in ("f1", "f2")]
    linking = pl.DataFrame(rows, schema=["account_id", "cluster_id", "kind", "value", "df", "weight"], orient="row")
    ties = {r["account_id"]: r for r in member_ties(accounts, None, linking).iter_rows(named=True)}
    assert ties["f2"]["tie_strength"] == pytest.approx(1.0)
    assert "e-mail domain gmail.com (2 members)" in ties["f2"]["tied_by"]  # still named among its ties
    # A run that made e-mail domains a strong kind counts them: (3*2 + 0.02*1) / (3*2 + 0.02*2999).
    strong = member_ties(accounts, None, linking, weak=())
    assert strong.filter(pl.col("account_id") == "f2")["tie_strength"].item() == pytest.approx(6.02 / (6 + 0.02 * 2999))


def test_the_weak_kinds_come_from_the_runs_recorded_settings():
    from graphlink.views.member_ties import weak_kinds

    run = {"parameters": {"graph": {"kinds": {"ip": {"strong": True}, "email_domain": {"strong": False},
                                              "user_agent": {"strong": True}}}}}
    assert weak_kinds(run) == ("email_domain",)
    assert "email_domain" in weak_kinds({}) and "payment" not in weak_kinds({})  # an older folder: the defaults


def test_links_to_the_members_campaign_or_to_flagged_clusters_are_not_outside():
    """Session 34's new-user review (dev agent ind_s3_11000): 15 % of the ring members of flagged clusters read as
    bystanders when only their own cluster counted; their outside links went to sibling clusters of their campaign
    (74 %) or to other flagged clusters (23 %). Suspects are the member's campaign and every flagged cluster."""
    from graphlink.store.member_linking import member_linking

    # Cluster 1 (campaign 1, selected) and its sibling cluster 2 (campaign 1); cluster 3 flagged (campaign 3);
    # cluster 4 unflagged (campaign 4); u0-u2 unclustered.
    owners = pl.DataFrame({"account_id": ["a", "b", "s1", "s2", "f1", "n1", "u0", "u1", "u2", "by"],
                           "cluster_id": [1, 1, 2, 2, 3, 4, None, None, None, 1],
                           "campaign_id": [1, 1, 1, 1, 3, 4, None, None, None, 1]})
    rows = [("a", 1, "payment", "card", 4, 3.0), ("b", 1, "payment", "card", 4, 3.0),
            ("s1", 2, "payment", "card", 4, 3.0), ("s2", 2, "payment", "card", 4, 3.0),  # a's card: its campaign
            ("a", 1, "ip", "exit", 2, 1.0), ("f1", 3, "ip", "exit", 2, 1.0),  # a's exit: a flagged cluster
            ("by", 1, "ip", "nat", 5, 0.5), ("b", 1, "ip", "nat", 5, 0.5), ("n1", 4, "ip", "nat", 5, 0.5),
            ("u0", None, "ip", "nat", 5, 0.5), ("u1", None, "ip", "nat", 5, 0.5)]  # by's NAT: mostly unsuspected
    linking = pl.DataFrame(rows, schema={"account_id": pl.String, "cluster_id": pl.Int64, "kind": pl.String,
                                         "value": pl.String, "df": pl.UInt32, "weight": pl.Float64}, orient="row")
    rows = member_linking(linking.lazy(), owners.lazy(), pl.Series([3]), pl.col("cluster_id") == 1)
    suspects = {(r["account_id"], r["value"]): r["suspects"] for r in rows.iter_rows(named=True)}
    assert suspects[("a", "card")] == 4 and suspects[("a", "exit")] == 2 and suspects[("by", "nat")] == 2
    ties = {r["account_id"]: r["tie_strength"]
            for r in member_ties(owners.filter(pl.col("cluster_id") == 1), None, rows).iter_rows(named=True)}
    assert ties["a"] == pytest.approx(1.0)  # every card and address it shares goes to suspects
    assert ties["by"] == pytest.approx(0.5 * 1 / (0.5 * 4))  # one of the NAT's four other holders is suspected
    assert ties["b"] == pytest.approx((3.0 * 3 + 0.5 * 1) / (3.0 * 3 + 0.5 * 4))
    # Counting only cluster 1, a would have read 3*1 / (3*3 + 1*1) = 0.3: a bystander's number.
    alone = {r["account_id"]: r["tie_strength"] for r in member_ties(
        owners.filter(pl.col("cluster_id") == 1), None, rows.drop("suspects")).iter_rows(named=True)}
    assert alone["a"] == pytest.approx(0.3)


def test_weakest_first_lists_members_sharing_no_card_or_address_first(folder):
    from graphlink.views.member_ties import with_member_ties

    outputs = load_outputs(folder, "all")
    members = outputs.accounts.filter(pl.col("cluster_id") == 1).select("account_id", "cluster_id")
    members = pl.concat([members, pl.DataFrame({"account_id": ["loner"], "cluster_id": [1]}).cast(members.schema)])
    ordered = with_member_ties(members, outputs, sort="strength")
    assert ordered["account_id"][0] == "loner" and ordered["tie_strength"][0] is None
    assert ordered["account_id"][1] == BYSTANDER


def test_a_capped_member_list_names_both_ways_to_see_the_rest_and_keeps_redaction(folder):
    """The member hint names ``--members N`` (the simpler fix) and, in a redacted view, a redacted export."""
    plain = runner_invoke(["show", str(folder), "1", "--members", "2", "--evidence", "0"])
    assert "5 more: --members 7, or graphlink export" in plain and "--redact" not in plain
    redacted = runner_invoke(["show", str(folder), "1", "--members", "2", "--evidence", "0", "--redact"])
    assert "--clusters 1 --redact" in " ".join(redacted.split())


def runner_invoke(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout
