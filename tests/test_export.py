"""Exports (GEXF, GraphML, JSON case files, CSV) and their CLI."""

from __future__ import annotations

import csv
import json
import networkx as nx
import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.errors import GraphlinkError
from graphlink.views.export import CASE_SCHEMA, cluster_graph, export
from graphlink.store.outputs import load_outputs
from tests._report_worlds import FORMULA_ACCOUNT, RING_B_CARDS, world, world_session  # noqa: F401


@pytest.mark.parametrize("fmt, reader", [("gexf", nx.read_gexf), ("graphml", nx.read_graphml)])
def test_graph_round_trip(world, fmt, reader):
    info = export(world, fmt)
    assert info.paths == [world / f"graph.{fmt}"]
    expected = cluster_graph(load_outputs(world, "flagged"))
    loaded = reader(info.paths[0])
    assert (loaded.number_of_nodes(), loaded.number_of_edges()) == (expected.number_of_nodes(),
                                                                    expected.number_of_edges())
    assert (info.nodes, info.edges) == (expected.number_of_nodes(), expected.number_of_edges())
    assert set(loaded.nodes) == set(expected.nodes)
    types = {data["type"] for _, data in loaded.nodes(data=True)}
    assert types == {"account", "signal"}
    accounts = [d for _, d in loaded.nodes(data=True) if d["type"] == "account"]
    assert len(accounts) == pl.read_parquet(world / "clusters.parquet").filter("flagged")["size"].sum()
    assert all({"cluster_id", "score", "events", "label"} <= set(d) for d in accounts)
    signals = [d for _, d in loaded.nodes(data=True) if d["type"] == "signal"]
    assert all({"kind", "value", "weight", "accounts", "cluster_id", "score"} <= set(d) for d in signals)
    assert all(float(d["weight"]) >= 0 and "cluster_id" in d for _, _, d in loaded.edges(data=True))
    # Bipartite: every edge joins an account and a signal.
    for u, v in loaded.edges():
        assert {loaded.nodes[u]["type"], loaded.nodes[v]["type"]} == {"account", "signal"}


def test_graph_is_xml_safe_for_control_characters(world):
    # Ring B's user agent carries ESC and BEL, which XML 1.0 cannot hold.
    path = export(world, "gexf", [2]).paths[0]
    text = path.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "⟨U+001B⟩]0;pwned⟨U+0007⟩" in text  # U+FFFD until session 47
    assert nx.read_gexf(path).number_of_nodes() > 0


def test_graph_selection_and_signals_shared_only(world):
    outputs = load_outputs(world, [2])
    graph = cluster_graph(outputs)
    accounts = [n for n, d in graph.nodes(data=True) if d["type"] == "account"]
    assert len(accounts) == 8
    for node, data in graph.nodes(data=True):
        if data["type"] == "signal":
            assert graph.degree(node) >= 2 and data["accounts"] == graph.degree(node)
    all_graph = cluster_graph(load_outputs(world, "all"))
    assert all_graph.number_of_nodes() > graph.number_of_nodes()


def test_json_case_files(world, tmp_path):
    info = export(world, "json", out=tmp_path / "cases")
    flagged = pl.read_parquet(world / "clusters.parquet").filter("flagged")
    assert sorted(p.name for p in info.paths) == sorted(f"cluster-{c}.json" for c in flagged["cluster_id"])
    case = json.loads((tmp_path / "cases" / "cluster-1.json").read_text())
    assert case["schema"] == CASE_SCHEMA and case["cluster_id"] == 1 and case["flagged"] is True
    assert len(case["members"]) == case["size"] == 12
    assert {"account_id", "events", "first_seen", "last_seen"} <= set(case["members"][0])
    assert case["members"][0]["first_seen"].endswith("Z")
    assert case["evidence"] and {"kind", "value", "accounts_sharing", "weight", "df"} <= set(case["evidence"][0])
    assert case["score_components"]["score"] == pytest.approx(case["score"])
    assert case["why"] and case["kinds"][0] == "payment"
    assert len(case["events_by_hour_utc"]) == 24 and sum(case["events_by_hour_utc"][2:5]) == 144
    assert case["source"]["parameters"]["communities"]["seed"] == 42
    assert case["redaction"] is None


def test_csv_members_and_evidence_are_formula_safe(world):
    info = export(world, "csv", "all")
    members_path, evidence_path, affiliations_path, *_ = info.paths  # and campaign_ties.csv, README.txt
    assert members_path == world / "csv" / "members.csv"
    with members_path.open(newline="", encoding="utf-8-sig") as handle:  # the byte-order mark (session 41)
        members = list(csv.DictReader(handle))
    with evidence_path.open(newline="", encoding="utf-8-sig") as handle:
        evidence = list(csv.DictReader(handle))
    with affiliations_path.open(newline="", encoding="utf-8-sig") as handle:
        affiliations = list(csv.DictReader(handle))
    assert len(members) == pl.read_parquet(world / "clusters.parquet")["size"].sum()
    from graphlink.views.safety import csv_safe

    campaign_of = {csv_safe(a): c for a, c in
                   pl.read_parquet(world / "accounts.parquet").select("account_id", "campaign_id").iter_rows()}
    assert all(int(row["campaign_id"]) == campaign_of[row["account_id"]] for row in members)
    cells = [v for row in members + evidence + affiliations for k, v in row.items() if k not in ("score", "weight")]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    ids = {row["account_id"] for row in members}
    assert "'" + FORMULA_ACCOUNT in ids and FORMULA_ACCOUNT not in ids
    values = {row["value"] for row in evidence}
    assert "'" + RING_B_CARDS[1] in values


def test_unknown_format_and_clusters(world):
    with pytest.raises(GraphlinkError, match="unknown export format"):
        export(world, "xlsx")
    with pytest.raises(GraphlinkError, match="no cluster 42"):
        export(world, "csv", [1, 42])


def test_graph_export_needs_memberships(world):
    (world / "memberships.parquet").unlink()
    with pytest.raises(GraphlinkError, match="memberships.parquet"):
        export(world, "gexf")
    assert export(world, "csv").paths  # tables still export


@pytest.mark.parametrize("fmt, expected", [("gexf", "graph.gexf"), ("graphml", "graph.graphml"),
                                           ("json", "cases"), ("csv", "csv")])
def test_export_cli(world, fmt, expected):
    result = CliRunner().invoke(app, ["export", str(world), "--format", fmt, "--clusters", "1,3"])
    assert result.exit_code == 0, result.output
    assert f"wrote {fmt} (2 clusters" in result.stdout
    assert (world / expected).exists()


def test_export_cli_errors(world_session, tmp_path):
    runner = CliRunner()
    for args in (["--format", "gexf", "--clusters", "99"], ["--format", "pdf"], ["--format", "csv", "-c", "x"]):
        result = runner.invoke(app, ["export", str(world_session), *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error:") and result.stderr.count("\n") == 1
    result = runner.invoke(app, ["export", str(tmp_path / "missing"), "--format", "csv"])
    assert result.exit_code == 2 and "not a folder" in result.stderr


def test_export_out_paths(world, tmp_path):
    runner = CliRunner()
    target = tmp_path / "gephi" / "ring.gexf"
    result = runner.invoke(app, ["export", str(world), "-f", "gexf", "-c", "all", "-o", str(target), "-q"])
    assert result.exit_code == 0 and result.stdout == "" and target.is_file()
    assert nx.read_gexf(target).number_of_nodes() == cluster_graph(load_outputs(world, "all")).number_of_nodes()
    clash = tmp_path / "file.txt"
    clash.write_text("x")
    result = runner.invoke(app, ["export", str(world), "-f", "json", "-o", str(clash)])
    assert result.exit_code == 2 and "is not a folder" in result.stderr


def test_commands_have_help():
    runner = CliRunner()
    for command in ("report", "show", "export"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        # Every option line carries help text (rich help boxes list option then its help).
        assert "--redact-key" in result.stdout and "HMAC" in result.stdout
    from graphlink.cli import app as typer_app
    import typer.main

    group = typer.main.get_command(typer_app)
    for name in ("report", "show", "export"):
        command = group.commands[name]
        assert command.help
        for param in command.params:
            assert getattr(param, "help", None), (name, param.name)


def test_csv_cells_carry_no_terminal_control_characters():
    # An attacker-written card or prompt with escape sequences must not retitle or
    # clear the terminal of an investigator who prints the exported CSV.
    from graphlink.views.export import csv_bytes

    frame = pl.DataFrame({"kind": ["payment", "prompt"], "value": ["\x1b]0;pwned\x07", "=\x1b[2J please"],
                          "note": ["line one\nline two", "tab\there"]})
    text = csv_bytes(frame).decode("utf-8")
    assert not any(ch in text for ch in ("\x1b", "\x07"))
    # spelled out, so the cell reads back as the value (session 42; was U+FFFD, which two values shared)
    assert "⟨U+001B⟩]0;pwned⟨U+0007⟩" in text and "'=⟨U+001B⟩[2J please" in text
    assert "line one\nline two" in text and "tab\there" in text  # ordinary whitespace is kept


def test_csv_evidence_says_what_a_timing_value_means(tmp_path):
    """A timing value is a hash: the CSV's ``meaning`` names its holders and the hours they all act
    (the bundled fixture's rings run on a scripted clock)."""
    from pathlib import Path

    from graphlink.pipeline import run_detect
    from graphlink.store.outputs import write_outputs

    fixture = Path(__file__).resolve().parent.parent / "fixtures"
    write_outputs(run_detect(fixture / "events.parquet"), tmp_path / "out")
    info = export(tmp_path / "out", "csv", "flagged")
    evidence = pl.read_csv(info.paths[1], infer_schema=False)
    timing = evidence.filter(pl.col("kind") == "timing")
    assert timing.height and timing["meaning"].null_count() == 0
    assert timing["meaning"].str.contains("members active in the same").all()
    assert evidence.filter(pl.col("kind") != "timing")["meaning"].null_count() == evidence.filter(
        pl.col("kind") != "timing").height
