"""Session 33's attempt to break session 32's investigator views (issue 17): hints naming the user's folder, the
why/score_note of every export, case-file evidence order, and the folders and attacker-written text they meet.

World: :func:`evil_world`, :func:`tests.test_tie_evidence.tame_world`'s loud cell and tame cell of one operator,
the loud cell's account ids, the tame cell's cards, the operator's user agents and the template attacker-written (spreadsheet
formulas, HTML/XML, bidi overrides, zero-width and control characters, a 3,000-character id).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from tests.test_detection_classes import Log, add_people, add_ring

runner = CliRunner()

#: Account ids of the loud cell: formulas, markup, invisible and control characters, a very long id.
NASTY_IDS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=tab", "<script>alert(1)</script>",
             "]]><x>&amp;", "acct\u202egpj.exe", "zero\u200bwidth", "ctl\x01x", "ctl\x02x", "\ufeff=bom",
             "quote\"'`$(id)", "a;b; c", "semi; =x", "x" * 3000, "esc\x1b[2Jx", "bell\x07", "del\x7f", "c1\x9b"]
TEMPLATE = ("You are an expert <script>alert('x')</script> ]]> & \u202e solve =cmd|'/C calc'!A0 the task, "
            "show every intermediate step: {} ({})")
FORMULA = re.compile(r"^[=+\-@\t\r]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def evil_world() -> pl.DataFrame:
    rng = np.random.default_rng(21)
    log = Log()
    add_ring(log, rng, "opAloud", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], TEMPLATE)
    add_ring(log, rng, "opAtame", 12, 12, ["35.190.3.3"], TEMPLATE)
    add_people(log, rng, 100)
    return log.frame().with_columns(
        pl.col("account_id").replace({f"opAloud{i}": name for i, name in enumerate(NASTY_IDS)}),
        pl.col("payment_fingerprint").str.replace(r"^opAtame-card-(\d+)$", "=HYPERLINK(\"http://x/$1\")"),
        # The operator's client in both cells, the tame cell also an agent of its own every other request (a template
        # sent from another client with nothing else shared ties no cell, tests/test_break47.py).
        pl.when(pl.col("account_id").str.starts_with("opAtame") & (pl.int_range(pl.len()) % 2 == 0))
        .then(pl.lit("@evil <ua> ]]> \u200b& \x1b[31m"))
        .when(pl.col("account_id").str.starts_with("user")).then(pl.lit("Mozilla/5.0"))
        .otherwise(pl.lit("-2+5 curl/8")).alias("user_agent"))


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    events = evil_world()
    out = tmp_path_factory.mktemp("break33") / "out"
    write_outputs(run_detect(events), out)
    clusters = pl.read_parquet(out / "clusters.parquet").filter(pl.col("flagged")).sort("cluster_id")
    assert clusters.height == 2 and clusters["why"][1].startswith("tied to flagged cluster ")
    return events, out, clusters["cluster_id"].to_list()


def folder_copy(out: Path, where: Path) -> Path:
    where.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(out, where))


# -- hints: the folder as the user can paste it ------------------------------------------------------------------------

def test_a_hint_naming_a_relative_folder_that_starts_with_a_dash_runs_as_printed(evil, tmp_path, monkeypatch):
    """``graphlink show -out 2`` reads ``-out`` as options (``No such option: -o``); ``./-out`` is the folder."""
    from graphlink.views.report.tables import left_out_note
    from graphlink.views.words import shell_path

    _, out, (loud, tame) = evil
    monkeypatch.chdir(tmp_path)
    folder_copy(out, tmp_path / "-out")
    assert not shlex.split(shell_path("-out"))[0].startswith("-") and Path(shlex.split(shell_path("-out"))[0]) == Path("-out")
    shown = runner.invoke(app, ["show", "--members", "1", "--evidence", "0", "--", "-out", str(loud)])
    assert shown.exit_code == 0, shown.output
    hint = re.search(r"or (graphlink export .*? --clusters \d+)$", shown.output, re.M).group(1)  # "(N); M more: ..."
    done = runner.invoke(app, shlex.split(hint)[1:])
    assert done.exit_code == 0 and Path("-out/csv/members.csv").is_file(), done.output
    clusters = pl.read_parquet(tmp_path / "-out" / "clusters.parquet")
    note = left_out_note(clusters, {loud}, 1, "-out")
    command = re.search(r"\(e\.g\. (graphlink show .*? \d+)\)", note).group(1)
    again = runner.invoke(app, shlex.split(command)[1:])
    assert again.exit_code == 0 and f"Cluster {tame}" in again.output, (command, again.output)


@pytest.mark.parametrize("name", ["runs[2]", "x[/]y", "[red]x", "a$(touch PWN)b `id` it's"])
def test_show_on_a_terminal_names_the_folder_verbatim_and_never_as_markup(evil, tmp_path, name):
    """The member table's caption was a rich markup string: ``[red]`` vanished from the hint and ``[/]`` raised
    ``MarkupError`` (and a folder with ``[`` could not be read at all: polars read the path as a glob pattern)."""
    from rich.console import Console

    from graphlink.store.outputs import load_outputs
    from graphlink.views.terminal import cluster_tables

    _, out, (loud, _) = evil
    folder = folder_copy(out, tmp_path / name)
    heading, tables = cluster_tables(load_outputs(folder, [loud]), loud, members=1, evidence=1)
    console = Console(file=io.StringIO(), force_terminal=True, width=500, record=True)
    for table, _, _ in tables:
        console.print(table)
    text = "".join(console.export_text().split())  # the caption wraps to the table's width, a long path too
    assert "".join(f"graphlink export {shlex.quote(str(folder))} --format csv --clusters {loud}".split()) in text
    assert not (tmp_path / "PWN").exists()


# -- folders and input files whose names hold glob characters ----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_inputs_and_output_folders_with_glob_characters_are_read(evil, tmp_path, fmt):
    """polars expands ``[1]`` in a path as a glob (matching ``1``): ``detect runs[1]/events.parquet`` failed
    ("expanded paths were empty") and so did show, report, export and ``--previous`` on an output folder named
    ``day[2]`` ("damaged or not Parquet")."""
    events, out, (loud, tame) = evil
    source = tmp_path / "in [1] *?" / f"events.{fmt}"
    source.parent.mkdir()
    getattr(events.head(800) if fmt == "ndjson" else events, f"write_{fmt}")(source)
    first = runner.invoke(app, ["detect", str(source), "--out", str(tmp_path / "day[1]")])
    assert first.exit_code == 0, first.output
    done = runner.invoke(app, ["detect", str(source), "--out", str(tmp_path / "day[2]"),
                               "--previous", str(tmp_path / "day[1]")])
    assert done.exit_code == 0, done.output
    folder = tmp_path / "day[2]"
    clusters = pl.read_parquet(folder / "clusters.parquet", glob=False)
    if fmt != "ndjson":  # the whole log: both cells found again, the previous run read (null without it)
        assert clusters.filter(pl.col("flagged")).height == 2 and clusters["new_members"].to_list() == [0, 0]  # read
    for args in (["show", str(folder), str(clusters["cluster_id"][0])],
                 ["export", str(folder), "--format", "csv", "--clusters", "all"],
                 ["report", str(folder), "--no-plots", "--static", "-q"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


# -- attacker-written text in every export -----------------------------------------------------------------------------

def test_every_csv_cell_is_neutralised_new_columns_included(evil, tmp_path):
    from graphlink.views.export import export

    _, out, (loud, tame) = evil
    members, evidence, affiliations, ties, apart, _ = export(out, "csv", "all", out=tmp_path / "csv").paths  # and README.txt
    for path in (members, evidence, affiliations, ties, apart):  # campaign_ties.csv since session 48, set_apart.csv 57
        with path.open(newline="", encoding="utf-8-sig") as handle:  # the byte-order mark (session 41)
            rows = list(csv.DictReader(handle))
        assert rows and {"score_note", "why"} <= set(rows[0]) if path == members else rows or path == apart
        for row in rows:
            for column, cell in row.items():
                assert not FORMULA.match(cell) and not CONTROL.search(cell), (path.name, column, cell[:60])
    with members.open(newline="", encoding="utf-8-sig") as handle:
        ids = {row["account_id"] for row in csv.DictReader(handle)}
    assert "'=cmd|' /C calc'!A0" in ids and "'-2+3" in ids and "esc⟨U+001B⟩[2Jx" in ids  # spelled, read back by match and expand (session 42; was U+FFFD)


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_graph_exports_parse_back_with_the_why_of_each_flagged_cluster(evil, tmp_path, fmt):
    import networkx as nx

    from graphlink.views.export import export

    _, out, (loud, tame) = evil
    path = export(out, fmt, "all", out=tmp_path / f"graph.{fmt}").paths[0]
    graph = (nx.read_gexf if fmt == "gexf" else nx.read_graphml)(path)
    case = json.loads(runner.invoke(app, ["show", str(out), str(tame), "--json"]).output)
    tame_nodes = [d for _, d in graph.nodes(data=True) if d.get("type") == "account" and int(d["cluster_id"]) == tame]
    assert len(tame_nodes) == 12
    assert all(d["why"] == case["cluster"]["why"] and d["score_note"] == case["score_note"] for d in tame_nodes)
    labels = {d["label"] for _, d in graph.nodes(data=True)}
    assert "<script>alert(1)</script>" in labels and "]]><x>&amp;" in labels


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_accounts_whose_ids_differ_only_in_control_characters_stay_two_nodes(evil, tmp_path, fmt):
    """Node ids replaced characters XML cannot hold by U+FFFD (as labels do): accounts ``ctl\\x01x`` and ``ctl\\x02x``
    were one node, their edges one (older than session 32)."""
    import networkx as nx

    from graphlink.views.export import export

    _, out, (loud, _) = evil
    path = export(out, fmt, [loud], out=tmp_path / f"graph.{fmt}").paths[0]
    graph = (nx.read_gexf if fmt == "gexf" else nx.read_graphml)(path)
    accounts = [n for n, d in graph.nodes(data=True) if d.get("type") == "account"]
    size = pl.read_parquet(out / "accounts.parquet").filter(pl.col("cluster_id") == loud).height
    assert len(accounts) == size and "account:ctl⟨U+0001⟩x" in accounts


def test_why_and_score_note_read_alike_in_show_the_case_file_members_csv_and_the_report(evil, tmp_path):
    import html

    from graphlink.views.export import export

    _, out, (loud, tame) = evil
    export(out, "json", "all", out=tmp_path / "cases")
    export(out, "csv", "all", out=tmp_path / "csv")
    report = runner.invoke(app, ["report", str(out), "--no-plots", "--static", "--no-events", "-q",
                                 "--out", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "]]><x>" not in page and "\u202e" not in page and "\x1b" not in page
    with (tmp_path / "csv" / "members.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for cid in (loud, tame):
        shown = json.loads(runner.invoke(app, ["show", str(out), str(cid), "--json"]).output)
        case = json.loads((tmp_path / "cases" / f"cluster-{cid}.json").read_text(encoding="utf-8"))
        assert (case["why"], case["reasons"], case["flagged_with"], case["score_note"]) == (
            shown["cluster"]["why"], shown["reasons"], shown["flagged_with"], shown["score_note"])
        assert {(r["why"], r["score_note"]) for r in rows if int(r["cluster_id"]) == cid} == {(case["why"], case["score_note"])}
        assert html.escape(case["score_note"], quote=True) in page or not case["score_note"]
    assert json.loads((tmp_path / "cases" / f"cluster-{tame}.json").read_text())["flagged_with"]["cluster_id"] == loud


def test_exports_are_byte_identical_whatever_the_stored_row_order(evil, tmp_path):
    from graphlink.views.export import export

    _, out, _ = evil
    shuffled = folder_copy(out, tmp_path / "shuffled")
    for name in ("evidence", "memberships", "activity", "accounts"):
        path = shuffled / f"{name}.parquet"
        pl.read_parquet(path).sample(fraction=1.0, shuffle=True, seed=7).write_parquet(path)
    for fmt in ("csv", "json"):
        a = export(out, fmt, "all", out=tmp_path / f"a-{fmt}", exported_at=None).paths
        b = export(shuffled, fmt, "all", out=tmp_path / f"b-{fmt}").paths
        for x, y in zip(a, b):
            left, right = x.read_text(encoding="utf-8"), y.read_text(encoding="utf-8")
            if fmt == "json":
                left, right = (json.loads(t) for t in (left, right))
                for case in (left, right):
                    case.pop("exported_at"), case["source"].pop("output_folder")
            assert left == right, x.name


# -- timing rows: one per member set, alike rows told apart ------------------------------------------------------------

def timing_rows(members: dict[str, list[str]]) -> pl.DataFrame:
    """:func:`graphlink.views.schedule.timing_meanings` of cluster 5's timing values held by ``members``, every holder
    active at 14:00 on 2025-03-03 (so rows of as many members read alike)."""
    from datetime import date

    from graphlink.views.schedule import timing_meanings

    ids = sorted({a for accounts in members.values() for a in accounts})
    memberships = pl.DataFrame([(a, "timing", v, 5) for v, accounts in members.items() for a in accounts],
                               schema=["account_id", "kind", "value", "cluster_id"], orient="row")
    activity = pl.DataFrame({"account_id": ids, "hour": [14] * len(ids), "day": [date(2025, 3, 3)] * len(ids)})
    evidence = pl.DataFrame({"cluster_id": [5] * len(members), "kind": ["timing"] * len(members), "value": list(members),
                             "weight": [0.9] * len(members), "accounts_sharing": [len(m) for m in members.values()]})
    return timing_meanings(evidence, memberships, activity)


def test_alike_timing_rows_of_more_than_five_members_sharing_their_first_five_ids_read_apart():
    """Six members each, five ids in common: naming the first five by id left both rows reading
    "6 members (a, b, c, d, e, …) active in the same 60-second windows ..."."""
    rows = timing_rows({"band 1: 1": list("abcdef"), "band 2: 2": list("abcdeg")})
    assert rows.height == 2 and rows["meaning"].n_unique() == 2, rows["meaning"].to_list()
    assert rows["meaning"].to_list()[0].startswith("6 members (a, b, c, d, f, …) active")
    three = timing_rows({"band 1: 1": list("abc"), "band 2: 2": list("abd")})  # up to five: all named, as before
    assert [m.split(" active")[0] for m in three["meaning"]] == ["3 members (a, b, c)", "3 members (a, b, d)"]


def test_a_separator_inside_account_ids_does_not_make_two_member_sets_one_timing_row():
    """Member sets were compared as ids joined by U+001F: {"a\\x1fb", "c"} and {"a", "b\\x1fc"} read as one set,
    and the second timing value was dropped from the evidence as a duplicate."""
    rows = timing_rows({"band 1: 1": ["a\x1fb", "c"], "band 2: 2": ["a", "b\x1fc"]})
    assert sorted(rows["value"].to_list()) == ["band 1: 1", "band 2: 2"]


def test_the_verdict_of_a_same_operator_tie_names_the_other_flagged_cluster_a_card_leads_to():
    """``show``'s first line named the card of another flagged cluster for a "tied to" flag only: a "same operator as
    flagged cluster 3 ..., and to flagged cluster 17 by 1 payment card or identifier" flag read "same operator as flagged
    cluster 3 (campaign 1)", the card shared with cluster 17's operator unsaid."""
    from graphlink.views.explain import why_text

    why = "same operator as flagged cluster 3 (campaign 1) by 2 payment cards or identifiers, and to flagged cluster 17 by 1 payment card or identifier; x"
    evidence = pl.DataFrame(schema={"kind": pl.String, "value": pl.String, "accounts_sharing": pl.UInt32,
                                    "weight": pl.Float64, "df": pl.UInt32})
    row = {"cluster_id": 9, "size": 6, "score": 0.1, "flagged": True, "why": why, "campaign_id": 1, "kinds": []}
    first = why_text(row, evidence, 0.6, 5).splitlines()[0]
    assert "same operator as flagged cluster 3 (campaign 1), and by a card or identifier to flagged cluster 17" in first


def test_the_notebooks_case_export_lists_evidence_in_the_case_files_order(evil, tmp_path):
    """``ClusterView.export`` wrote ``cluster-<id>.json`` strongest first but ``cluster-<id>-evidence.csv`` beside it
    in the stored order (prompt phrases before the cards that bind the cluster more)."""
    import graphlink

    _, out, (loud, _) = evil
    paths = graphlink.load(out).cluster(loud).export(tmp_path / "case")
    case = [(e["kind"], e["value"]) for e in json.loads(paths["json"].read_text(encoding="utf-8"))["evidence"]]
    with paths["evidence"].open(newline="", encoding="utf-8") as handle:
        listed = [(row["kind"], row["value"].removeprefix("'")) for row in csv.DictReader(handle)]
    assert listed == [(kind, value) for kind, value in case] and case[0][0] == "payment"
