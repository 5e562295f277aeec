"""What an investigator reads (session 36): kinds by name in every readable view, inherited flags marked, and a
member table that reads at 80 columns with the weakest-tied members first.

* No kind code (``ip``, ``ip_net``, ``payment`` ...) is left as a bare word in the rendered text of ``detect``'s table,
  ``show``, the report, ``expand`` and ``match`` on the fixture world; the score components are named in words there
  too. Machine-read outputs keep the codes, and ``evidence.csv`` adds ``kind_name`` beside ``kind``.
* Detect's table, ``show``'s heading and the report say whether a flag rests on the cluster's own evidence or came
  with a flagged cluster it is tied to (``own evidence``, ``with cluster 12``).
* ``show``'s member table drops first/last seen and cuts ``tied by`` under 140 columns, and lists the weakest-tied
  members first by default.
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.config.kinds import KIND_NAMES, kind_name
from graphlink.contract import COMPONENTS, EVIDENCE_CSV_COLUMNS, component_label
from graphlink.store.outputs import load_outputs
from graphlink.views.report import ReportOptions, write_report
from graphlink.views.terminal import cluster_json, cluster_tables, clusters_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()

#: Every display name, longest first: removed before looking for codes ("IP network" holds no code, "payment card"
#: holds the English word a code is spelled as).
NAMES = sorted({name for pair in KIND_NAMES.values() for name in pair}, key=len, reverse=True)
#: English phrases that hold a code's spelling as a plain word (a creation burst is no template burst; a report's
#: example of a template is a prompt, as sent).
ENGLISH = ("burst hours", "burst hour", "creation burst", "Example prompt", "sampled prompt")


def stray_codes(text: str) -> list[str]:
    """Kind codes written as words in ``text`` (with 50 characters either side), once the kinds' display names and
    English phrases spelled alike are taken out. A code inside an identifier (``payment_reuse``), a path or a domain
    (``tmpbox.net``) or a hyphenated word (``co-timing``) is no bare word."""
    for name in (*NAMES, *ENGLISH):
        text = text.replace(name, " ")
    return [f"{code}: {text[max(0, m.start() - 50):m.end() + 50]!r}" for code in KIND_NAMES
            for m in re.finditer(rf"(?<![\w./-]){code}(?![\w-])", text)]


def rendered(renderables, width: int = 600) -> str:
    """As a terminal shows them, wide enough that no cell wraps (a name cut over two lines reads as two words)."""
    console = Console(file=io.StringIO(), force_terminal=True, width=width, record=True)
    for item in renderables:
        console.print(item)
    return console.export_text()


def report_text(page: str) -> str:
    """What a reader of the report sees: its visible text, hover titles and the network's hover tips, up to the run
    details (the run's settings, named as ``graphlink.toml`` names them: ``[kinds.asn]``)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    visible = html.unescape(re.sub(r"<[^>]+>", " ", body)).rsplit("Run details", 1)[0]  # the heading, not the contents link
    titles = [html.unescape(t) for t in re.findall(r'title="([^"]*)"', page)]
    tips = re.findall(r'"tip":\s*"((?:[^"\\]|\\.)*)"', page)
    return "\n".join([visible, *titles, *tips])


@pytest.fixture(scope="module")
def views(fixture_detected, tmp_path_factory) -> dict[str, str]:
    """The fixture world's detect table, show of every flagged and the top unflagged clusters, report, an expand from
    three members of the largest cluster and a match of a cluster's members under new ids, as rendered."""
    folder = fixture_detected
    outputs = load_outputs(folder)
    clusters = outputs.clusters.sort("score", descending=True)
    shown = [*clusters.filter("flagged")["cluster_id"], *clusters.filter(~pl.col("flagged"))["cluster_id"].head(3)]
    text = {"detect": rendered([clusters_table(outputs.clusters, 20, "Top clusters")])}
    show = []
    for cid in shown:
        heading, tables = cluster_tables(load_outputs(folder, [cid]), cid, members=10, evidence=40)
        show.append(rendered([*heading, *(t for t, _, _ in tables)]))
    text["show"] = "\n".join(show)
    page = tmp_path_factory.mktemp("report") / "report.html"
    write_report(folder, page, options=ReportOptions(plots=False, max_unflagged_sections=3, workers=0))
    text["report"] = report_text(page.read_text(encoding="utf-8"))
    accounts = pl.read_parquet(folder / "accounts.parquet")
    largest = accounts.filter(pl.col("cluster_id") == 1)["account_id"].sort().to_list()
    expand = runner.invoke(app, ["expand", str(folder), "--seeds", ",".join(largest[:3]), "--show", "40"])
    assert expand.exit_code == 0, expand.output
    text["expand"] = expand.output
    second = accounts.filter(pl.col("cluster_id") == int(clusters.filter("flagged")["cluster_id"][1]))["account_id"]
    day_two = tmp_path_factory.mktemp("day-two")
    (pl.read_parquet(FIXTURES / "events.parquet").filter(pl.col("account_id").is_in(second.implode()))
     .with_columns((pl.lit("new-") + pl.col("account_id")).alias("account_id")).write_parquet(day_two / "events.parquet"))
    match = runner.invoke(app, ["match", str(folder), str(day_two / "events.parquet"), "--out", str(day_two / "m"),
                                "--show", "40"])
    assert match.exit_code == 0, match.output
    text["match"] = match.output
    return text


@pytest.mark.parametrize("view", ["detect", "show", "report", "expand", "match"])
def test_no_kind_code_is_left_in_what_an_investigator_reads(views, view):
    """``show``'s "linked by" line, the report's tables and sections, detect's table and the reasons of ``expand`` and
    ``match`` ("shares ip_net 2406:84a4:4436::/48 (185 accounts)") wrote kinds by their codes."""
    text = views[view]
    assert "shares" in text or view not in ("expand", "match")  # the reasons were rendered
    assert stray_codes(text) == []


def test_views_name_kinds_and_score_components_in_words(views):
    """The kinds as :func:`kind_name` names them, and the score components in words (``payment_reuse`` was shown as
    the column name, whose first half is a kind code), in show and the report."""
    assert "linked by" in views["show"] and kind_name("payment", 2) in views["show"]
    assert "shares payment card " in views["expand"] and "IP address" in views["match"]
    for view in ("show", "report"):
        assert "card reuse" in views[view] and "network spread" in views[view]
    assert [c for c in COMPONENTS if component_label(c) != c and c in views["show"]] == []


def test_evidence_csv_names_the_kind_beside_its_code(fixture_outputs, tmp_path):
    """``evidence.csv`` is opened by people in case tools: ``kind_name`` ("payment card") sits beside ``kind``, whose
    code ("payment") scripts keep reading; the case's own evidence CSV alike."""
    result = runner.invoke(app, ["export", str(fixture_outputs), "--format", "csv", "--clusters", "all"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((fixture_outputs / "csv" / "evidence.csv").open(encoding="utf-8-sig")))  # the BOM
    header = list(rows[0])
    assert header == [c for c in EVIDENCE_CSV_COLUMNS if c in header] and header.index("kind_name") == header.index("kind") + 1
    assert {r["kind"] for r in rows} <= set(KIND_NAMES) and "payment" in {r["kind"] for r in rows}
    assert all(r["kind_name"] == kind_name(r["kind"]) for r in rows)
    from graphlink.views.export import write_case

    case = write_case(load_outputs(fixture_outputs, [1]), 1, tmp_path)
    first = next(csv.DictReader(case["evidence"].open(encoding="utf-8")))
    assert first["kind_name"] == kind_name(first["kind"])


# -- inherited flags marked -------------------------------------------------------------------------------------------

@pytest.fixture
def inherited(fixture_outputs) -> tuple[Path, dict[int, str]]:
    """The fixture's output with two more flags as ``flag_with_campaign`` words them: the third flagged cluster
    inherits its flag from the first (a card ties them), and the best unflagged cluster is flagged with its campaign
    scored as a whole. Returns the folder and each flagged cluster's expected ``flag``."""
    clusters = pl.read_parquet(fixture_outputs / "clusters.parquet")
    ranked = clusters.sort("score", descending=True)
    lead, tied = ranked.filter("flagged")["cluster_id"][0], ranked.filter("flagged")["cluster_id"][2]
    whole = ranked.filter(~pl.col("flagged"))["cluster_id"][0]
    why = (pl.when(pl.col("cluster_id") == tied)
           .then(pl.format("same operator as flagged cluster {} (campaign 1) by 2 payment cards or identifiers; ", pl.lit(lead))
                 + pl.col("why"))
           .when(pl.col("cluster_id") == whole).then(pl.lit("campaign 9 as a whole (120 accounts): a, b; this cluster: ")
                                                     + pl.col("why"))
           .otherwise(pl.col("why")))
    clusters.with_columns(why.alias("why"), (pl.col("flagged") | (pl.col("cluster_id") == whole)).alias("flagged")
                          ).write_parquet(fixture_outputs / "clusters.parquet")
    expected = {int(c): "own evidence" for c in clusters.filter("flagged")["cluster_id"]}
    expected.update({int(tied): f"with cluster {lead}", int(whole): "with campaign 9"})
    return fixture_outputs, expected


def test_detect_table_marks_flags_inherited_from_another_cluster(inherited):
    """Detect's table said ``yes`` for every flagged cluster, whether flagged on its own evidence or with its operator
    (``flagged_own`` false, a score that alone flags nothing); the terminal's ``flagged`` column and the piped rows'
    last column, ``flag``, now say which."""
    from graphlink.views.terminal import CLUSTER_HEADERS, cluster_rows

    folder, expected = inherited
    clusters = load_outputs(folder).clusters
    rows = cluster_rows(clusters, len(expected))
    assert CLUSTER_HEADERS[-1] == "flag" and CLUSTER_HEADERS[:7] == ["cluster", "size", "score", "flagged", "campaign",
                                                                     "linked by", "why"]
    assert {r[0]: r[-1] for r in rows} == expected
    text = rendered([clusters_table(clusters, len(expected), "Top clusters")])
    for cid, flag in expected.items():
        assert re.search(rf"│\s+{cid} │.*│ {flag}\s+│", text), (cid, flag)


def test_show_and_the_report_say_what_a_flag_rests_on(inherited, tmp_path):
    """``show``'s heading and the report's badge said "flagged", its ranked table "flagged", for an inherited flag
    alike: now "flagged on its own evidence" / "flagged with cluster 1" (linked to that cluster's section)."""
    folder, expected = inherited
    for cid, flag in expected.items():
        heading, _ = cluster_tables(load_outputs(folder, [cid]), cid, members=0, evidence=0)
        words = "on its own evidence" if flag == "own evidence" else flag
        assert heading[0].plain == f"Cluster {cid}  flagged {words}"
    page = write_report(folder, tmp_path / "r.html", options=ReportOptions(plots=False, max_unflagged_sections=0,
                                                                          workers=0, events=False)).path.read_text()
    for cid, flag in expected.items():
        words = "on its own evidence" if flag == "own evidence" else flag
        assert f'id="cluster-{cid}">\n<h2>Cluster {cid} <span class="flag badge">flagged {words}</span>' in page
    tied, lead = next((c, f.split()[-1]) for c, f in expected.items() if f.startswith("with cluster"))
    assert re.search(rf'<a href="#cluster-{tied}">{tied}</a>(?:(?!</tr>).)*<a href="#cluster-{lead}">with cluster {lead}</a>',
                     page, flags=re.S)  # in the tied cluster's row of the ranked table


# -- the member table: readable at 80 columns, weakest tie first ------------------------------------------------------

def member_lines(folder: Path, cluster_id: int, width: int) -> tuple[list[str], list[list], str]:
    """``show``'s member table as a ``width``-column terminal shows it: its body lines, plain rows and whole text."""
    _, tables = cluster_tables(load_outputs(folder, [cluster_id]), cluster_id, members=10, evidence=0, width=width)
    table, rows, _ = next(t for t in tables if str(t[0].title).startswith("Members"))
    text = rendered([table], width)
    body = text.split("┡")[1].split("\n", 1)[1]
    body = re.split(r"\n[├└]", body)[0]
    return body.splitlines(), rows, text


@pytest.mark.parametrize("width", [80, 160])
def test_show_member_table_reads_at_80_and_160_columns(fixture_detected, width):
    """At 80 columns the six columns left ``tied by`` 14 characters: a member took 16 lines, its id broken over two.
    Under 140 columns first and last seen (the heading gives the span) are left out and ``tied by`` cut to about two
    lines; a member takes at most three lines at 80 and 160 columns, its id whole on one; piped rows keep all."""
    lines, rows, text = member_lines(fixture_detected, 1, width)
    assert all(len(line) <= width for line in text.splitlines())
    assert len(rows) == 10 and len(lines) <= 3 * len(rows)
    for account, *_ in rows:
        assert sum(account in line for line in lines) == 1, account  # the id unbroken, on one line
    header = text.split("┡")[0]
    assert "Members (142), most active first" in header  # the order is in view (cluster_tables' default order)
    assert ("first seen" in header) == (width >= 160) and "strength" in header and "tied by" in header
    if width < 160:
        assert "first and last seen: a wider terminal" in text
    assert all(len(r) == 7 and r[2] and r[6] for r in rows)  # piped: every column (shares: session 37), tied_by whole


def test_show_lists_the_weakest_tied_members_first_by_default(fixture_detected):
    """A ban decision turns on the members weakly tied to suspected accounts (a bystander on a fleet's NAT address).
    ``show`` listed the 25 most active first, so in a cluster of 142 they were rarely in view; it now lists the weakest
    tie first (members sharing no card or address before them) and says so; ``--sort-members events`` gives the old
    order."""
    outputs = load_outputs(fixture_detected)
    ties = {c: [m["tie_strength"] for m in cluster_json(load_outputs(fixture_detected, [c]), c, members=1000,
                                                          evidence=0)["members"]]
            for c in outputs.clusters.sort("score", descending=True)["cluster_id"].head(10)}
    cid = min(ties, key=lambda c: min(t for t in ties[c] if t is not None))  # the widest range of ties

    def listed(*extra: str) -> list[list[str]]:
        result = runner.invoke(app, ["show", str(fixture_detected), str(cid), "--evidence", "0", *extra])
        assert result.exit_code == 0, result.output
        block = result.output.split("# Members")[1].splitlines()
        assert ("weakest tie first" in block[0]) == ("events" not in extra)
        return [line.split("\t") for line in block[2:] if line and not line.startswith("#")]

    # Members sharing none of the cluster's behaviour ("addresses only", session 37) first, then by strength.
    # ("addresses and stock phrases only" since session 56: the same class, its tie naming a phrase under the template bar.)
    strengths = [(r[5] not in ("addresses only", "addresses and stock phrases only"), -1.0 if r[4] == "" else float(r[4]))
                 for r in listed()]
    assert strengths == sorted(strengths) and strengths[0] < strengths[-1]
    events = [int(r[1]) for r in listed("--sort-members", "events")]
    assert events == sorted(events, reverse=True)
