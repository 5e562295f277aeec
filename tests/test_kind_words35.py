"""One vocabulary of signal kinds, named evidence in ``tied_by`` and a readable terminal member table (session 35).

* Every view names a kind alike (:data:`graphlink.config.kinds.KIND_NAMES`): a cluster's ``why`` (the notebook's and
  case file's long form, and the short ``why`` stages write), ``show``'s evidence and tying tables, ``tied_by``.
* ``tied_by`` names template bursts and quotes their opening and window as ``show`` lists them, and shows a value's
  ``"`` and ``\\`` as they were logged, escaped as a string literal is, in every renderer.
* ``show``'s terminal member table cuts a long ``tied_by`` (a proxy fleet's) to its strongest kinds; ``--json``,
  piped rows and the exports keep it whole.
"""

from __future__ import annotations

import ast
import csv
import html
import json
import re
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.config.kinds import KIND_NAMES, kind_name
from graphlink.contract import (
    ACCOUNTS_SCHEMA, CLUSTERS_SCHEMA, COMPONENTS, EVIDENCE_SCHEMA, LINKING_SCHEMA, MEMBERSHIPS_SCHEMA,
)
from graphlink.stages.campaigns import score_campaigns
from graphlink.stages.components import reason_exprs
from graphlink.stages.tie_words import inherited_why
from graphlink.store.outputs import load_outputs
from graphlink.views.evidence import evidence_by_kind
from graphlink.views.explain import why_text
from graphlink.views.export import export
from graphlink.views.member_ties import TERMINAL_CHARS, member_ties, short_tied_by
from graphlink.views.report import write_report
from graphlink.views.terminal import cluster_json, cluster_tables

MEMBERS = [f"m{i}" for i in range(6)]
QUOTED = 'say "hi"; C:\\tmp\\x'  # a logged value holding a double quote, a separator and backslashes
BURST = "Solve step by step the following olympiad problem @ 2025-01-06T10:00Z (+10 min)"
LINKED = [  # kind, value, weight, holders: linking.parquet lists these kinds
    ("payment", "pf_card", 3.0, MEMBERS[:4]),
    ("ip", "203.0.113.7", 1.0, MEMBERS),
    ("ip_net", "203.0.113.0/24", 0.5, MEMBERS),
    ("asn", "AS64500", 0.2, MEMBERS),
    ("user_agent", QUOTED, 0.2, MEMBERS),
    ("email_domain", "mailbox.example", 0.5, MEMBERS[:3]),
    ("created_hour", "2025-01-05T04:00:00Z", 0.3, MEMBERS),
    ("device_id", "dev-77", 1.0, MEMBERS[:3]),  # a --signal kind: named by its column
]
UNLISTED = [  # memberships.parquet only
    ("prompt", "show all of your reasoning", 0.3, MEMBERS),
    ("timing", "t:9f2c", 1.0, MEMBERS[:2]),
    ("burst", BURST, 1.0, MEMBERS),
]


def write_folder(root: Path, linked=LINKED, unlisted=UNLISTED, why: str = "40 accounts pay with 7 payment cards") -> Path:
    """A detect output folder of one flagged cluster of six members sharing a value of every kind."""
    root.mkdir(parents=True)
    t0 = pl.datetime(2025, 1, 6, time_zone="UTC")
    pl.DataFrame({"account_id": MEMBERS, "cluster_id": [1] * 6, "campaign_id": [1] * 6, "events": [9] * 6}).with_columns(
        first_seen=t0, last_seen=t0).cast(dict(ACCOUNTS_SCHEMA)).write_parquet(root / "accounts.parquet")
    pl.DataFrame([(a, k, v, len(h), w, 1) for k, v, w, h in linked for a in h], schema=list(LINKING_SCHEMA),
                 orient="row").cast(dict(LINKING_SCHEMA)).write_parquet(root / "linking.parquet")
    pl.DataFrame([(a, k, v, w) for k, v, w, h in [*linked, *unlisted] for a in h], schema=list(MEMBERSHIPS_SCHEMA),
                 orient="row").cast(dict(MEMBERSHIPS_SCHEMA)).write_parquet(root / "memberships.parquet")
    pl.DataFrame([(1, k, v, len(h), w, len(h), True, 0) for k, v, w, h in [*linked, *unlisted]],
                 schema=list(EVIDENCE_SCHEMA), orient="row").cast(dict(EVIDENCE_SCHEMA)).write_parquet(root / "evidence.parquet")
    row = {"cluster_id": 1, "size": 6, "score": 0.9, "flagged": True, "coordination": 0.9, "evasion": 0.9,
           **dict.fromkeys(COMPONENTS, 0.5), "org_coherence": 0.0, "kinds": [k for k, *_ in [*linked, *unlisted]],
           "top_values": [], "why": why, "campaign_id": 1}
    pl.DataFrame([row], schema=CLUSTERS_SCHEMA).write_parquet(root / "clusters.parquet")
    (root / "run.json").write_text(json.dumps({"parameters": {}, "inputs": {}, "counts": {"accounts": 6}}))
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("kinds35") / "out")


def rendered(outputs, cluster_id: int, header: str, **kw) -> str:
    """The terminal's rendering of the one ``show`` table whose headers hold ``header``."""
    console = Console(record=True, width=250, color_system=None)
    for table, _, headers in cluster_tables(outputs, cluster_id, **kw)[1]:
        if header in headers:
            console.print(table)
    return console.export_text()


def shows_kind_names(text: str) -> dict[str, str]:
    """``value -> kind name`` of a rendered evidence table's rows (the first cell, the second cell's start)."""
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]
    return {r[1]: r[0] for r in rows if len(r) > 2 and r[0]}


# --------------------------------------------------------------------------- item 1: one vocabulary


def test_the_why_and_shows_evidence_name_every_kind_alike(folder):
    outputs = load_outputs(folder, "all")
    evidence = outputs.cluster_evidence(1)
    why = why_text(outputs.cluster_row(1), evidence, 0.6, 5)
    # "  - 6 of 6 members share IP address '1.2.3.4' (...": the value as Python writes a string literal
    in_why = {ast.literal_eval(value): name
              for name, value in re.findall(r"share (.+?) ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") \(", why)}
    in_show = shows_kind_names(rendered(outputs, 1, "weight", evidence=100))
    for kind, value in evidence.select("kind", "value").iter_rows():
        if kind == "timing":  # quoted by its meaning, not its hash: the kind is named alike all the same
            assert re.search(rf"share {kind_name(kind)}: ", why) and kind_name(kind) in in_show.values()
            continue
        shown = next(name for v, name in in_show.items() if value.startswith(v.rstrip("…")) or v.startswith(value[:20]))
        assert in_why[value[:80]] == shown == kind_name(kind), (kind, in_why.get(value), shown)
    assert kind_name("device_id") == "device_id value" and "burst value" not in why


def test_the_stage_written_why_and_campaign_why_use_the_same_names():
    frame = pl.DataFrame({"card_accounts": [40], "cards": [7], "shared_cards": [3], "ips": [46.0],
                          "networks_per_account": [1.0], "lines_per_account": [1.0]})  # ip_lines (session 49)
    reasons = frame.select(**{k: reason_exprs()[k] for k in ("payment_reuse", "card_pool", "ip_spread")}).row(0)
    evidence = pl.DataFrame({"kind": ["payment"] * 7, "value": [f"c{i}" for i in range(7)], "accounts_sharing": [2] * 7,
                             "weight": [1.0] * 7})
    assert evidence_by_kind(evidence)[0].label == KIND_NAMES["payment"][1] == "payment cards"  # show's and the report's
    assert reasons == ("40 accounts pay with 7 payment cards", "3 payment cards each shared by several accounts (a card pool)",
                       "median account used 46 IP addresses in 1 IP network")
    cl = pl.DataFrame({"cluster_id": [1, 2], "size": [3, 2], "score": [0.9, 0.2], "flagged": [True, False],
                       "campaign_id": [1, 1]})
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 1, 2, 2]},
                        schema_overrides={"account_idx": pl.UInt32})
    aff = pl.DataFrame({"account_idx": [0, 3, 1, 4], "signal_idx": [7, 7, 8, 8]},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [7, 8], "kind": ["payment", "device_id"], "linked": [True, True]},
                       schema_overrides={"signal_idx": pl.UInt32})
    why = score_campaigns(cl, part, aff, sig)["why"][0]
    assert why.endswith("tied by 1 device_id value, 1 payment card"), why  # not "1 payment value"
    tied = pl.DataFrame({"lead": [3], "campaign_id": [1], "why": ["x"], "cards": [0], "texts": [8], "addresses": [2]})
    assert f"by 8 {kind_name('prompt', 8)}, 2 {kind_name('ip', 2)}" in tied.select(inherited_why())["why"][0]  # was "8 prompt values"


def test_a_detected_clusters_why_and_show_name_its_kinds_alike(fixture_detected):
    outputs = load_outputs(fixture_detected, "all")
    cid = outputs.clusters.sort(["flagged", "size"], descending=True)["cluster_id"][0]
    why = graphlink.load(fixture_detected).cluster(cid).why()
    named = set(re.findall(r"members share (.+?)(?: '|: )", why))
    shown = set(shows_kind_names(rendered(outputs, cid, "weight", evidence=1000)).values())
    assert named and named <= shown, (named, shown)
    assert named <= {kind_name(k) for k in outputs.cluster_evidence(cid)["kind"].unique()}


# --------------------------------------------------------------------------- item 2: tied_by names and quotes values


def test_tied_by_names_a_template_burst_with_its_opening_and_window(folder):
    ties = member_ties(*(lambda o: (o.accounts, o.memberships, o.member_linking, o.evidence))(load_outputs(folder, "all")))
    text = ties.filter(pl.col("account_id") == "m5")["tied_by"][0]
    assert 'template burst "Solve step by step the following olympi… @ 2025-01-06T10:00Z (+10 min)" (6 members)' in text
    assert "burst value" not in text
    assert "account-creation hour 2025-01-05T04:00:00Z (6 members)" in text  # a creation burst's hour, named too


def test_a_quote_or_backslash_in_a_value_is_shown_as_logged_escaped(folder, tmp_path):
    outputs = load_outputs(folder, "all")
    text = member_ties(outputs.accounts, outputs.memberships, outputs.member_linking, outputs.evidence)["tied_by"][0]
    quoted = re.search(r'user agent ("(?:[^"\\]|\\.)*") \(6 members\)', text)
    assert quoted and ast.literal_eval(quoted.group(1)) == QUOTED  # read back as a string literal: the logged value
    assert "'hi'" not in text
    # Every renderer shows that text: show --json, the terminal, members.csv, the report (HTML-escaped).
    assert cluster_json(outputs, 1)["members"][0]["tied_by"] == text
    small = load_outputs(write_folder(tmp_path / "small", LINKED[:2] + LINKED[4:5], []), "all")  # fits a terminal
    assert quoted.group(0) in rendered(small, 1, "tied by", members=10)
    export(folder, "csv", out=tmp_path / "csv")
    with open(tmp_path / "csv" / "members.csv", newline="") as fh:
        assert next(csv.DictReader(fh))["tied_by"].lstrip("'") == text
    report = write_report(small.path, tmp_path / "r.html").path.read_text()
    assert quoted.group(0) not in report and quoted.group(0) in html.unescape(report)  # escaped in the member table


# --------------------------------------------------------------------------- item 3: the terminal member table


def test_shows_terminal_table_cuts_a_long_tied_by_and_machines_get_it_whole(folder):
    outputs = load_outputs(folder, "all")
    whole = cluster_json(outputs, 1)["members"][0]["tied_by"]
    assert len(whole) > TERMINAL_CHARS
    shown = rendered(outputs, 1, "tied by", members=10)
    assert "more kinds" in shown and f"cut to {TERMINAL_CHARS} characters" in shown
    assert whole not in shown.replace("\n", "")
    plain = [rows for _, rows, headers in cluster_tables(outputs, 1, members=10)[1] if "tied by" in headers][0]
    assert plain[0][-1] == whole  # piped rows are whole
    piped = CliRunner().invoke(app, ["show", str(folder), "1"]).output
    assert whole in piped and "cut to" not in piped


def test_the_cut_keeps_whole_kinds_and_never_splits_a_quoted_value():
    text = 'prompt phrase "a; b; c; d; e; f; g; h" (3 members); IP address 1.2.3.4 (3 members); user agent x (2 members)'
    cut = pl.select(short_tied_by(pl.lit(text), 60)).item()
    assert cut == 'prompt phrase "a; b; c; d; e; f; g; h" (3 members); … 2 more kinds'
    assert pl.select(short_tied_by(pl.lit(text), len(text))).item() == text
    assert pl.select(short_tied_by(pl.lit(""), 10)).item() == ""
