"""Findings of the session-39 new-user review (helper nu39), each fixed by its principle."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.views.export import export

#: Phone-number-like account ids a spreadsheet reads as formulas: the CSV export writes them with a leading '.
IDS = ["+1-555-0100", "+1-555-0101", "=2", "-3", "r5", "r6"]


@pytest.fixture
def formula_ids(tmp_path):
    events = pl.DataFrame({"account_id": [*IDS, "x", "y"],
                           "payment_fingerprint": ["k"] * len(IDS) + ["z", "w"]})
    return graphlink.detect(events).save(tmp_path / "out")


def test_ids_copied_back_from_the_csv_export_are_read_as_the_accounts(formula_ids, tmp_path):
    """members.csv guards "+1-555-0100" as "'+1-555-0100" (CSV injection); handing that file or its cells back to
    expand read the guard as part of the id: "unknown seed account" (new-user review, session 39)."""
    export(formula_ids, "csv", "all", tmp_path / "csv")
    members = pl.read_csv(tmp_path / "csv" / "members.csv", infer_schema=False)
    assert "'+1-555-0100" in members["account_id"].to_list()  # the guard is still written
    ranked = graphlink.expand(formula_ids, ["'+1-555-0100", "'=2"])
    assert ranked.filter(pl.col("rank") == 0)["account_id"].sort().to_list() == ["+1-555-0100", "=2"]
    assert set(ranked["account_id"]) == set(IDS)
    member_file = tmp_path / "seeds.csv"
    members.filter(pl.col("account_id").is_in(["'+1-555-0101", "'-3"])).select("account_id").write_csv(member_file)
    assert set(graphlink.expand(formula_ids, member_file)["account_id"]) == set(IDS)


def test_a_guarded_looking_id_the_run_has_is_taken_as_written(tmp_path):
    """Only a seed the run does not have is read without its guard: an account really named "'=x" stays itself."""
    events = pl.DataFrame({"account_id": ["'=x", "=x", "a"], "payment_fingerprint": ["k", "q", "k"]})
    out = graphlink.detect(events).save(tmp_path / "out")
    assert graphlink.expand(out, ["'=x"]).filter(pl.col("rank") == 0)["account_id"].to_list() == ["'=x"]
    with pytest.raises(graphlink.GraphlinkError, match="unknown seed"):
        graphlink.expand(out, ["'=y"])


def test_a_graph_export_named_for_the_other_format_is_refused(formula_ids, tmp_path):
    """``-f gexf -o g.graphml`` wrote GEXF into a .graphml file, which Gephi then fails to read as GraphML."""
    result = CliRunner().invoke(app, ["export", str(formula_ids), "-f", "gexf", "-c", "all",
                                      "-o", str(tmp_path / "g.graphml")])
    assert result.exit_code == 2 and "names a .graphml file but the format is gexf" in result.output
    assert not (tmp_path / "g.graphml").exists()
    ok = CliRunner().invoke(app, ["export", str(formula_ids), "-f", "graphml", "-c", "all", "-q",
                                  "-o", str(tmp_path / "g.graphml")])
    assert ok.exit_code == 0 and (tmp_path / "g.graphml").read_text().lstrip().startswith("<?xml")


def test_evaluate_names_the_flagged_accounts_that_are_no_rings(tmp_path):
    """evaluate counted flagged benign accounts but never said which (new-user review, session 39): the result
    lists them with their kind, group and cluster, and the table shows them."""
    from graphlink.lab.evaluate import evaluate, evaluation_rows

    labels = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"], "ring_id": [1, 1, None, None, None],
                           "kind": ["ring", "ring", "benign", "benign_linked", "benign"],
                           "group_id": [None, None, None, "team3", None]})
    accounts = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"], "cluster_id": [7, 7, 7, 8, 9]})
    clusters = pl.DataFrame({"cluster_id": [7, 8, 9], "flagged": [True, True, False]})
    result = evaluate(accounts, clusters, labels)
    assert result["flagged_not_ring"] == [
        {"account_id": "c", "kind": "benign", "group": None, "cluster_id": 7},
        {"account_id": "d", "kind": "benign_linked", "group": "team3", "cluster_id": 8}]
    rows = dict(map(tuple, evaluation_rows(result)))
    assert rows["flagged benign_linked account"] == "d in cluster 8 (group team3)"
    assert "flagged_not_ring" not in rows
