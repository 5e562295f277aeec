"""What the views say about a flag must be true (session 37, a new user's review).

* A cluster flagged on its own score whose own accounts are under ``min_flag_size`` -- flagged because its
  campaign's accounts were counted for the size -- is no flag "on its own evidence": detect's table, ``show``'s
  heading, the report, ``show --json``, the case file and ``members.csv`` say ``own score, size of campaign N``, in
  the words ``score_note`` uses beside the score.
* A kind ``evidence.parquet`` cut to its strongest values says of how many (``48 payment cards shared (10
  listed)``) in ``show`` and the report, not "10 payment cards shared".
* Naming leftovers: an inherited ``why`` names kinds as every view does; the tying tables of ``show`` and the report
  have one set of headers; piped detect names kinds in words (``--json`` keeps codes); ``show`` says why its member
  table is not weakest-first; the narrow-terminal note and the README agree on the width.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.store.outputs import load_outputs
from graphlink.views.explain import flag_basis, score_note
from graphlink.views.report import ReportOptions, write_report
from graphlink.views.terminal import cluster_rows, cluster_tables, clusters_table

runner = CliRunner()
BORROWED = "own score, size of campaign 1"


def rendered(renderables, width: int = 400) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, width=width, record=True)
    for item in renderables:
        console.print(item)
    return console.export_text()


@pytest.fixture(scope="module")
def borrowed(fixture_detected, tmp_path_factory) -> Path:
    """The fixture world's folder as a run with ``min_flag_size`` 100 would describe it: its clusters 2 (95 accounts)
    and 3 (94) score over the threshold and are flagged, their campaign 1 (331 accounts) counted for the size --
    the flag the review found on a two-account cluster. Detection is not rerun: only ``run.json``'s setting changes,
    which is all the views read to tell a borrowed size."""
    folder = Path(shutil.copytree(fixture_detected, tmp_path_factory.mktemp("borrowed") / "out"))
    run = json.loads((folder / "run.json").read_text())
    run["parameters"]["scoring"]["min_flag_size"] = 100
    (folder / "run.json").write_text(json.dumps(run))
    clusters = pl.read_parquet(folder / "clusters.parquet").filter(pl.col("cluster_id").is_in([1, 2, 3]))
    assert clusters["flagged"].all() and clusters["campaign_id"].to_list() == [1, 1, 1]
    assert clusters["size"].to_list() == [142, 95, 94] and (clusters["score"] >= 0.6).all()
    return folder


def test_borrowed_size_is_not_own_evidence_in_any_view(borrowed, tmp_path):
    """Before: every view said "own evidence" / "flagged on its own evidence" for clusters 2 and 3, while their
    score_note said "flagged with its campaign: its own 95 accounts alone are under min_flag_size 100"."""
    outputs = load_outputs(borrowed)
    row = outputs.cluster_row(2)
    assert flag_basis(row, 100) == BORROWED and flag_basis(outputs.cluster_row(1), 100) == "own evidence"
    note = score_note(row, outputs.run, outputs.campaigns)
    assert note == ("flagged on its own score, with campaign 1's accounts counted for min_flag_size: "
                    "its own 95 accounts alone are under min_flag_size 100")
    # detect: the terminal's flagged column and the piped rows' flag
    table = rendered([clusters_table(outputs.clusters, 5, "Top clusters", outputs.run)])
    line = next(t for t in table.splitlines() if re.match(r"\W*2\s", t))
    assert BORROWED in line and "own evidence" not in line
    assert {r[0]: r[-1] for r in cluster_rows(outputs.clusters, 5, outputs.run)}[3] == BORROWED
    # show: heading, --json
    heading, _ = cluster_tables(outputs, 2)
    assert str(heading[0]) == "Cluster 2  flagged on its own score, with campaign 1's accounts counted for min_flag_size"
    shown = json.loads(runner.invoke(app, ["show", str(borrowed), "2", "--json"]).output)
    assert shown["flag"] == BORROWED and shown["score_note"] == note
    # report: the badge and the ranked table's flagged column
    page = Path(write_report(borrowed, tmp_path / "r.html", options=ReportOptions(plots=False, workers=0, events=False)).path).read_text()
    start = page.index('id="cluster-2"')
    section = page[start:page.index('id="cluster-', start + 5)]
    badge = html.unescape(re.search(r'<span class="flag badge">(.*?)</span>', section).group(1))
    assert badge == "flagged on its own score, with campaign 1's accounts counted for min_flag_size"
    ranked = page[page.index('id="clusters"'):]
    assert html.unescape(ranked).count(BORROWED) >= 2  # clusters 2 and 3
    # exports: members.csv and the case file carry it
    cases = tmp_path / "cases"
    assert runner.invoke(app, ["export", str(borrowed), "--format", "json", "--out", str(cases)]).exit_code == 0
    case = json.loads((cases / "cluster-2.json").read_text())
    assert case["flag"] == BORROWED and case["score_note"] == note
    members = tmp_path / "members"
    assert runner.invoke(app, ["export", str(borrowed), "--format", "csv", "--out", str(members)]).exit_code == 0
    with open(members / "members.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["flag"] for r in rows if r["cluster_id"] == "2"} == {BORROWED}
    assert {r["flag"] for r in rows if r["cluster_id"] == "1"} == {"own evidence"}


def test_own_evidence_unchanged_with_the_runs_size(fixture_detected):
    """With the run's own min_flag_size 5 nothing is borrowed: the fixture's flags stay "own evidence"."""
    outputs = load_outputs(fixture_detected)
    assert {r[-1] for r in cluster_rows(outputs.clusters, 3, outputs.run)} == {"own evidence"}


def test_cut_evidence_says_of_how_many(fixture_detected, tmp_path):
    """Cluster 1 of the fixture (142 accounts) shares many more IP addresses than evidence.parquet's ten. Before: the
    report said "10 IP addresses shared" and show "Shared evidence, strongest kind first (50)"."""
    outputs = load_outputs(fixture_detected)
    linking = outputs.member_linking.filter((pl.col("cluster_id") == 1) & (pl.col("kind") == "ip"))
    shared = int(linking.group_by("value").len().filter(pl.col("len") >= 2).height)
    assert shared > 10
    _, tables = cluster_tables(outputs, 1, evidence=80)
    evidence_table = tables[-1][0]
    assert re.search(r"\(\d+ of [\d,]+\+? shared\)$", str(evidence_table.title)), evidence_table.title
    assert f"{shared:,} IP addresses shared (10 listed)" in str(evidence_table.caption)
    page = Path(write_report(fixture_detected, tmp_path / "r.html", options=ReportOptions(plots=False, workers=0, events=False)).path).read_text()
    start = page.index('id="cluster-1"')
    section = html.unescape(page[start:page.index('id="cluster-', start + 5)])
    assert f"{shared:,} IP addresses shared (10 listed); the most shared by" in section
    assert "10 IP addresses shared;" not in section


# -- naming leftovers (the review's item 8 and 9) ---------------------------------------------------------------------

def test_inherited_why_names_kinds_as_every_view_does():
    """Before: "by 1 card or identifier, 130 prompt phrases, 2 addresses" -- the only place left calling a card a
    card and an IP address an address; now the names of graphlink.config.kinds (payment card, IP address)."""
    from graphlink.config.kinds import kind_name
    from graphlink.stages.tie_words import inherited_why

    tied = pl.DataFrame({"lead": [3, 3], "campaign_id": [1, 1], "why": ["x", "y"], "cards": [1, 0], "texts": [130, 0],
                         "addresses": [2, 1], "other_cards": [0, 2], "others": [[], [17]]})
    whys = tied.select(inherited_why(columns=tuple(tied.columns)))["why"].to_list()
    assert whys == [f"same operator as flagged cluster 3 (campaign 1) by 1 {kind_name('payment', 1)} or identifier, "
                    f"130 {kind_name('prompt', 2)}, 2 {kind_name('ip', 2)}; x",
                    f"tied to flagged cluster 3 (campaign 1) by 1 {kind_name('ip', 1)}, and to flagged cluster 17 by 2 "
                    f"{kind_name('payment', 2)} or identifiers; y"]


@pytest.fixture
def tied_folder(fixture_outputs) -> Path:
    """The fixture's output with cluster 3 flagged through a tie to cluster 1: its why says so, and three of its
    evidence rows are the values that tied it (``ties``, ``outside_flagged``), as detect writes them."""
    clusters = pl.read_parquet(fixture_outputs / "clusters.parquet")
    clusters.with_columns(pl.when(pl.col("cluster_id") == 3).then(
        pl.lit("tied to flagged cluster 1 (campaign 1) by 3 IP addresses; ") + pl.col("why")).otherwise(pl.col("why"))
        .alias("why")).write_parquet(fixture_outputs / "clusters.parquet")
    evidence = pl.read_parquet(fixture_outputs / "evidence.parquet")
    mark = (pl.col("cluster_id") == 3) & (pl.col("kind") == "ip") & (pl.int_range(pl.len()).over("cluster_id", "kind") < 3)
    evidence.with_columns(pl.when(mark).then(True).otherwise(pl.col("ties")).alias("ties"),
                          pl.when(mark).then(pl.lit(0, pl.UInt32)).otherwise(pl.col("outside_flagged")).alias("outside_flagged")
                          ).write_parquet(fixture_outputs / "evidence.parquet")
    return fixture_outputs


def test_tying_tables_have_one_set_of_headers(tied_folder, tmp_path):
    """Before: show headed them "sharing / in input / outside flagged", the report "accounts sharing / accounts in
    input / in no flagged cluster"."""
    _, tables = cluster_tables(load_outputs(tied_folder, [3]), 3)
    tie = next(t for t in tables if str(t[0].title).startswith("Values that tied it"))
    shown = [str(c.header) for c in tie[0].columns]
    assert shown == tie[2] == ["kind", "value", "accounts sharing", "accounts in input", "in no flagged cluster"]
    page = Path(write_report(tied_folder, tmp_path / "r.html", options=ReportOptions(
        plots=False, workers=0, events=False)).path).read_text()
    table = re.search(r'<table[^>]*id="ties-3".*?</thead>', page, flags=re.S).group(0)
    assert [html.unescape(re.sub(r"<[^>]+>", "", h)).strip() for h in re.findall(r"<th\b.*?</th>", table, flags=re.S)] == shown


def test_piped_detect_names_kinds_in_words_json_keeps_codes(tmp_path, fixture_cli_detect):
    """Before: piped detect's ``linked by`` held codes (``payment, ip, ip_net``) beside a ``why`` in words. (The
    fixture's run comes from the session's: ``fixture_cli_detect``.)"""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    out = tmp_path / "out"
    piped = runner.invoke(app, ["detect", str(fixtures / "events.parquet"), "--accounts", str(fixtures / "accounts.parquet"),
                                "--out", str(out), "--top", "3"])
    assert piped.exit_code == 0, piped.output
    rows = [line.split("\t") for line in piped.stdout.splitlines()]
    linked = [r[rows[0].index("linked by")] for r in rows[1:]]
    assert linked and all(re.search(r"\b(payment cards|IP addresses|prompt phrases)\b", t) for t in linked), linked
    assert not any(re.search(r"(^|, )(payment|ip|ip_net|prompt)(,|$)", t) for t in linked), linked
    as_json = runner.invoke(app, ["detect", str(fixtures / "events.parquet"), "--accounts", str(fixtures / "accounts.parquet"),
                                  "--out", str(tmp_path / "out2"), "--top", "3", "--json"])
    kinds = json.loads(as_json.stdout)["top_clusters"][0]["kinds"]
    assert re.fullmatch(r"[a-z_]+(, [a-z_]+)*", kinds) and "payment" in kinds.split(", ")


def test_one_burst_on_both_grids_is_one_burst():
    """Before: "(+1 more bursts)" for one burst listed at 14:01Z and 14:06Z (the two grids, half a window apart)."""
    from graphlink.stages.bursts import BURST_KIND, with_burst_reason

    one = pl.DataFrame({"cluster_id": [1, 1], "kind": [BURST_KIND] * 2, "accounts_sharing": [9, 9],
                        "value": ["solve step by step @ 2025-01-06T14:01Z (+10 min)",
                                  "solve step by step @ 2025-01-06T14:06Z (+10 min)"]})
    why = with_burst_reason(pl.DataFrame({"cluster_id": [1], "why": ["active 3 h a day"]}), one)["why"][0]
    assert "more bursts" not in why and why.endswith("; active 3 h a day")
    later = one.vstack(pl.DataFrame({"cluster_id": [1], "kind": [BURST_KIND], "accounts_sharing": [6],
                                     "value": ["solve step by step @ 2025-01-06T18:00Z (+10 min)"]}).cast(one.schema))
    assert "(+1 more bursts)" in with_burst_reason(pl.DataFrame({"cluster_id": [1], "why": [""]}), later)["why"][0]


def test_show_says_why_its_members_are_not_weakest_first(fixture_detected):
    """Before: asked for the weakest tie first, show retitled the table "most active first" without saying why."""
    import dataclasses

    loaded = load_outputs(fixture_detected, [1])
    # A folder written before linking.parquet and the behaviour columns: nothing to order by.
    old = loaded.accounts.with_columns(pl.lit(None, pl.String).alias("shared_behaviour"),
                                       pl.lit(None, pl.Float64).alias("template_share"))
    outputs = dataclasses.replace(loaded, member_linking=None, accounts=old)
    _, tables = cluster_tables(outputs, 1, sort="strength")
    title = next(str(t[0].title) for t in tables if str(t[0].title).startswith("Members"))
    assert title.startswith("Members (142), most active first (") and "linking.parquet" in title


def test_narrow_note_names_the_width_the_readme_gives(fixture_detected):
    """Before: under 140 columns the note said "a wider terminal (COLUMNS=160)", while the README gives 140."""
    from graphlink.views.terminal import NARROW_COLUMNS

    _, tables = cluster_tables(load_outputs(fixture_detected, [1]), 1, width=100)
    caption = next(str(t[0].caption) for t in tables if str(t[0].title).startswith("Members"))
    assert f"a wider terminal (COLUMNS={NARROW_COLUMNS})" in caption
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"narrower than {NARROW_COLUMNS} columns" in readme
