"""Findings of the session-39 new-user review (helper nu39), each fixed by its principle."""

from __future__ import annotations

import numpy as np
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
    dotfile = CliRunner().invoke(app, ["export", str(formula_ids), "-f", "gexf", "-c", "all", "-o", str(tmp_path / ".graphml")])
    assert dotfile.exit_code == 2 and not (tmp_path / ".graphml").exists()  # a name that is only the suffix (brk39)
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


def one_seed_world() -> pl.DataFrame:
    """A 10-account cell rotating over 12 proxy exits on two cards; its seed once used a line a person also used."""
    rng = np.random.default_rng(3)
    rows = [(a, str(ip), "card-ring" if i % 2 else "card-ring2")
            for i, a in enumerate(f"r{i}" for i in range(10))
            for ip in rng.choice([f"10.0.0.{k}" for k in range(12)], 4, replace=False)]
    rows += [("r0", "192.0.2.7", "card-ring2"), ("v", "192.0.2.7", "card-v"), ("v", "198.51.100.1", "card-v")]
    rows += [(f"p{k}", f"203.0.113.{k}", f"card-p{k}") for k in range(40)]
    return pl.DataFrame(rows, schema=["account_id", "ip", "payment_fingerprint"], orient="row")


def test_one_seed_ranks_its_cell_before_an_account_tied_to_the_seed_alone(tmp_path):
    """From one seed the walk's rate p/d put a person who shared one address with the seed, and nothing with
    anyone else, at rank 1 with score 0.5 ahead of the seed's whole cell (new-user review, session 39: a benign
    account at rank 1 on the fixture). One seed is ordered by the walk's visit probability p."""
    out = graphlink.detect(one_seed_world()).save(tmp_path / "out")
    ranked = graphlink.expand(out, ["r0"]).filter(pl.col("rank") > 0)
    cell = ranked.filter(pl.col("account_id").str.starts_with("r"))
    assert cell.height == 9 and cell["rank"].max() < 10
    person = ranked.filter(pl.col("account_id") == "v")
    assert person.height == 0 or (person["rank"][0] > cell["rank"].max()
                                  and person["score"][0] < 0.5 * cell["score"].min())


def test_the_one_seed_table_title_says_the_best_tie_is_half(tmp_path, monkeypatch):
    """The title said "1.0 = seeds and best tie" where one seed's best tie scores 0.5 (new-user review)."""
    import io

    from rich.console import Console

    out = graphlink.detect(one_seed_world()).save(tmp_path / "out")
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=250)
    for module in ("graphlink.cli_support", "graphlink.cli_pivot"):  # the table's console and the summary's
        monkeypatch.setattr(f"{module}.out", console)
    assert CliRunner().invoke(app, ["expand", str(out), "--seeds", "r0"]).exit_code == 0
    shown = " ".join(buffer.getvalue().split())
    assert "0.5 = best tie (one seed" in shown and "1.0 = seeds and best tie" not in shown


def test_expand_why_names_the_account_the_walk_came_through_not_a_client_shared_with_the_seed():
    """An account reached through another account's address read "shares user agent anthropic-python (277
    accounts) with seed ...": a client links no one (new-user review, session 39). Given the account graph, the
    why's anchor is an account it is linked to."""
    from graphlink.stages.expand_reasons import tie_reasons

    ranked = pl.DataFrame({"account_id": ["s", "a", "b"], "rank": [0, 1, 2]})
    linking = pl.DataFrame({"account_id": ["s", "a", "s", "b", "a", "b"],
                            "kind": ["payment", "payment", "user_agent", "user_agent", "ip", "ip"],
                            "value": ["c1", "c1", "anthropic-python", "anthropic-python", "1.2.3.4", "1.2.3.4"],
                            "df": [2, 2, 277, 277, 2, 2], "weight": [3.0, 3.0, 0.04, 0.04, 1.0, 1.0]})
    links = pl.DataFrame({"source": ["s", "a"], "target": ["a", "b"], "weight": [3.0, 1.0]})
    why = dict(tie_reasons(ranked, linking, links=links).rows())
    assert why["b"] == "shares IP address 1.2.3.4 (2 accounts) with rank-1 a"
    assert why["a"] == "shares payment card c1 (2 accounts) with seed s"
    unlinked = dict(tie_reasons(ranked, linking).rows())  # without the graph: the seed first, as before
    assert unlinked["b"].endswith("with seed s")


def test_members_csv_lists_each_clusters_weakest_tie_first_as_show_does(fixture_outputs, tmp_path):
    """members.csv was sorted by events: a bystander flagged with a fleet (shares "addresses only") sat at row 84 of
    91 while show and the notebook list it first (new-user review, session 39)."""
    export(fixture_outputs, "csv", "all", tmp_path / "csv")
    members = pl.read_csv(tmp_path / "csv" / "members.csv", infer_schema=False)
    assert members["cluster_id"].cast(pl.Int64).is_sorted()
    result = graphlink.load(fixture_outputs)
    checked = 0
    for cluster_id in result.clusters.sort("size", descending=True)["cluster_id"].head(4):
        rows = members.filter(pl.col("cluster_id") == str(cluster_id))
        expected = result.cluster(cluster_id).member_ties()
        assert rows["account_id"].to_list() == expected["account_id"].to_list()  # ties broken alike (brk39)
        assert ((rows["shared_behaviour"] == "addresses only").fill_null(False).to_list()
                == (expected["shared_behaviour"] == "addresses only").fill_null(False).to_list())
        assert rows["tie_strength"].cast(pl.Float64).round(9).to_list() == expected["tie_strength"].round(9).to_list()
        checked += rows.height > 2 and not rows["events"].cast(pl.Int64).is_sorted(descending=True)
    assert checked


def test_evidence_csv_says_which_passage_each_prompt_phrase_belongs_to(fixture_outputs, tmp_path):
    """evidence.csv listed 78 overlapping five-word phrases where show, the report and why() list the passages they
    chain into (new-user review, session 39): every phrase row stays, and ``passage`` names its passage, the text
    those views show."""
    from graphlink.contract import EVIDENCE_CSV_COLUMNS
    from graphlink.views.passages import with_passages

    export(fixture_outputs, "csv", "all", tmp_path / "csv")
    rows = pl.read_csv(tmp_path / "csv" / "evidence.csv", infer_schema=False)
    assert rows.columns == list(EVIDENCE_CSV_COLUMNS) and rows.columns.index("passage") == rows.columns.index("value") + 1
    assert rows.filter(pl.col("kind") != "prompt")["passage"].null_count() == rows.filter(pl.col("kind") != "prompt").height
    prompts = rows.filter(pl.col("kind") == "prompt")
    assert prompts.height and prompts["passage"].null_count() == 0
    folded = 0
    for (cluster_id,), part in prompts.group_by("cluster_id", maintain_order=True):
        assert set(part["passage"]) == set(with_passages(part.select("kind", "value"))["value"])
        folded += part["passage"].n_unique() < part.height
    assert folded  # some phrases chain: the column groups them


def test_notebook_why_gives_the_reasons_and_score_components_show_gives(fixture_outputs):
    """ClusterView.why() of a cluster flagged on its own evidence left out the plain-language reasons and the score
    components that show, the case file and members.csv carry (new-user review, session 39)."""
    from graphlink.contract import why_reasons

    result = graphlink.load(fixture_outputs)
    row = result.clusters.filter(pl.col("flagged")).sort("score", descending=True).row(0, named=True)
    text = result.cluster(row["cluster_id"]).why()
    reasons = why_reasons(row["why"])
    assert reasons and all(f"  - {r}" in text for r in reasons)
    components = next(line for line in text.splitlines() if line.startswith("Score components: "))
    assert f"coordination {row['coordination']:.3f}" in components and "score " not in components


def test_match_on_a_list_of_accounts_says_where_each_stands(fixture_outputs, tmp_path):
    """A file with only account_id is a list of accounts to look up (README): match warned that the log lacked
    ip, card and timestamp columns, offered "graphlink detect <list>" as the full run, and could not tell an account
    the earlier run had in no cluster from one it never saw (new-user review, session 39)."""
    accounts = pl.read_parquet(fixture_outputs / "accounts.parquet")
    member = accounts.drop_nulls("cluster_id")["account_id"][0]
    loner = accounts.filter(pl.col("cluster_id").is_null())["account_id"][0]
    (tmp_path / "ids.csv").write_text(f"account_id\n{member}\n{loner}\nnobody_123\n")
    result = CliRunner().invoke(app, ["match", str(fixture_outputs), str(tmp_path / "ids.csv"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "warning" not in said and "for a full run" not in said
    assert "1 in the earlier run in no cluster, 1 not in the earlier run" in said
    # every id in the table, not only the members (brk39); an id in no cluster has no score (nu40)
    assert "nobody_123\t\t\t\t\tnot in the earlier run" in result.output
    assert f"{loner}\t\t\t\t\tin the earlier run, in no cluster" in result.output
    why = dict(pl.read_parquet(tmp_path / "m" / "matches.parquet").select("account_id", "why").rows())
    assert why[loner] == "in the earlier run, in no cluster" and why["nobody_123"] is None
    assert why[member] == "a member of this cluster in the earlier run"


def test_export_takes_the_flagged_clusters_and_more_ids(fixture_outputs, tmp_path):
    """``-c flagged,56`` was refused: one unflagged cluster could not be added to the flagged set (nu39)."""
    clusters = pl.read_parquet(fixture_outputs / "clusters.parquet")
    flagged = clusters.filter("flagged")["cluster_id"].to_list()
    extra = clusters.filter(~pl.col("flagged"))["cluster_id"][0]
    result = CliRunner().invoke(app, ["export", str(fixture_outputs), "-f", "csv", "-c", f"flagged,{extra}",
                                      "-o", str(tmp_path / "csv"), "-q"])
    assert result.exit_code == 0, result.output
    got = set(pl.read_csv(tmp_path / "csv" / "members.csv")["cluster_id"].to_list())
    assert got == {*flagged, extra}
    bad = CliRunner().invoke(app, ["export", str(fixture_outputs), "-f", "csv", "-c", "flagged,x", "-o", str(tmp_path / "c2")])
    assert bad.exit_code == 2 and "--clusters expects flagged, all or cluster ids" in bad.output


def test_evaluate_table_prints_flagged_ids_as_text_not_markup():
    """Break-it review (brk39): an id ``acct[/]x`` in flagged_not_ring crashed the terminal table (rich markup);
    ``acct[red]y`` printed as ``accty`` in red, and escape sequences reached the terminal."""
    import io

    from rich.console import Console

    from graphlink.lab.evaluate import evaluate, format_evaluation

    ids = ["acct[/]x", "acct[red]y", "acct\x1b]0;pwned\x07z", "r1", "r2"]
    labels = pl.DataFrame({"account_id": ids, "ring_id": [None, None, None, 1, 1],
                           "kind": ["benign", "benign", "benign", "ring", "ring"], "group_id": ["[bold]g", None, None, None, None]})
    result = evaluate(pl.DataFrame({"account_id": ids, "cluster_id": [1] * 5}), pl.DataFrame({"cluster_id": [1], "flagged": [True]}), labels)
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, width=200).print(format_evaluation(result))
    shown = buffer.getvalue()
    assert "acct[/]x" in shown and "acct[red]y" in shown and "[bold]g" in shown and "\x1b]0;" not in shown


def test_match_looks_up_ids_copied_back_from_members_csv(formula_ids, tmp_path):
    """Break-it review (brk39): expand read members.csv's guarded ids back as the accounts, match's id lookup read
    them as accounts never seen ("'+1-555-0100": cluster null, why null)."""
    export(formula_ids, "csv", "all", tmp_path / "csv")
    ids = pl.read_csv(tmp_path / "csv" / "members.csv", infer_schema=False).select("account_id")
    assert "'+1-555-0100" in ids["account_id"].to_list()
    ids.write_csv(tmp_path / "ids.csv")
    result = graphlink.match(formula_ids, tmp_path / "ids.csv")
    found = result.matches.filter(pl.col("cluster_id").is_not_null())["account_id"].to_list()
    assert set(found) == set(IDS)


def test_match_map_of_the_new_log_replaces_the_earlier_runs_map(tmp_path):
    """Break-it review (brk39): after a detect run with ``--map account_id=user_id``, a list of ids named
    ``account_id`` failed ("column 'user_id' ... not found") and ``--map account_id=account_id`` did not help: the
    earlier run's map came first. A map given to match replaces the earlier run's map of that column."""
    (tmp_path / "log.csv").write_text("user_id,payment_fingerprint\n" + "".join(f"u{i},k\n" for i in range(4)) + "x,z\n")
    assert CliRunner().invoke(app, ["detect", str(tmp_path / "log.csv"), "--map", "account_id=user_id",
                                    "--out", str(tmp_path / "out"), "-q"]).exit_code == 0
    (tmp_path / "ids.csv").write_text("account_id\nu1\nnobody\n")
    result = CliRunner().invoke(app, ["match", str(tmp_path / "out"), str(tmp_path / "ids.csv"), "--map",
                                      "account_id=account_id", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    matches = pl.read_parquet(tmp_path / "m" / "matches.parquet")
    assert matches.filter(pl.col("account_id") == "u1")["cluster_id"].is_not_null().all()
