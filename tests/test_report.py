"""The HTML report, the show command and report-level safety (XSS, CSP, redaction)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.views.report import ReportOptions, write_report
from graphlink.views.report.assets import CONTENT_SECURITY_POLICY, NETVIEW_JS, SORT_JS, cytoscape_js
from tests._report_worlds import RING_A_UA, XSS_ACCOUNT, XSS_IMG, XSS_SCRIPT, world, world_session  # noqa: F401

FIXED = datetime(2024, 5, 1, tzinfo=timezone.utc)
FAST = ReportOptions(plots=False)


class Page(HTMLParser):
    """Collects what the tests look at: elements with ids, tables' rows, scripts, images, attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}
        self.stack: list[tuple[str, dict]] = []
        self.rows: dict[str, int] = {}
        self.scripts: list[str] = []  # executable inline scripts
        self.data_scripts: list[str] = []  # <script type="application/json"> (never executed)
        self.images: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.meta: dict[str, str] = {}
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        self.attributes.extend(attrs)
        if "id" in attrs_d:
            self.ids[attrs_d["id"]] = tag
        if tag == "tr" and any(t == "tbody" for t, _ in self.stack):
            table = next((a.get("id") for t, a in reversed(self.stack) if t == "table"), None)
            if table:
                self.rows[table] = self.rows.get(table, 0) + 1
        if tag == "script":
            self._in_script = True
            target = self.data_scripts if attrs_d.get("type") == "application/json" else self.scripts
            target.append("")
            self._script_list = target
        if tag == "img":
            self.images.append(attrs_d.get("src") or "")
        if tag == "meta" and "http-equiv" in attrs_d:
            self.meta[attrs_d["http-equiv"]] = attrs_d.get("content") or ""
        if tag not in ("meta", "img", "br", "input", "link"):
            self.stack.append((tag, attrs_d))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._in_script:
            self._script_list[-1] += data
        else:
            self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def flagged_ids(out_dir: Path) -> list[int]:
    return pl.read_parquet(out_dir / "clusters.parquet").filter("flagged")["cluster_id"].to_list()


def test_report_structure(world):
    info = write_report(world, generated_at=FIXED)
    assert info.path == world / "report.html" and info.path.is_file()
    html = info.path.read_text(encoding="utf-8")
    page = parse(html)
    clusters = pl.read_parquet(world / "clusters.parquet")
    assert page.ids["clusters"] == "table"
    assert page.rows["clusters"] == clusters.height
    for cluster_id in flagged_ids(world):
        assert page.ids[f"cluster-{cluster_id}"] == "section"
        assert any(page.rows.get(f"evidence-{cluster_id}-{kind}", 0) >= 1 for kind in ("payment", "ip", "prompt"))
        assert page.rows[f"members-{cluster_id}"] == clusters.filter(pl.col("cluster_id") == cluster_id)["size"][0]
        assert f'href="#cluster-{cluster_id}"' in html
    unflagged = clusters.filter(~pl.col("flagged"))["cluster_id"].to_list()
    for cluster_id in unflagged:  # the top unflagged clusters get a section too, marked as such
        assert page.ids[f"cluster-{cluster_id}"] == "section"
    assert html.count('<span class="unflagged badge">not flagged</span>') == len(unflagged)
    # Three inline plots per section, nothing fetched from anywhere.
    assert len(page.images) == 3 * clusters.height
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    for src in page.images:
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for name, value in page.attributes:
        if name in ("src", "href") and value:
            assert value.startswith(("#", "data:")), (name, value)
    text = " ".join(page.text)
    assert "Run details" in text and "events read" in text and "rows rejected" in text
    assert info.sections == clusters.height and info.bytes == len(html.encode())


def test_report_table_ranked_by_score_without_js(world):
    html = write_report(world, options=FAST).path.read_text()
    table = html[html.index('id="clusters"'):]
    table = table[: table.index("</table>")]
    rows = [re.findall(r'data-sort="([^"]*)"', row) for row in re.findall(r"<tr><td(.*?)</tr>", table)]
    ids_in_order = [int(float(cells[0])) for cells in rows]
    scores = [float(cells[2]) for cells in rows]
    clusters = pl.read_parquet(world / "clusters.parquet").sort("score", descending=True)
    assert ids_in_order == clusters["cluster_id"].to_list()
    assert scores == sorted(scores, reverse=True)


def test_xss_renders_as_text(world):
    html = write_report(world, generated_at=FIXED).path.read_text()
    for raw in (XSS_SCRIPT, XSS_IMG, "<img src=x", "<svg onload", XSS_ACCOUNT):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # markupsafe escapes quotes as &#34;
    assert "ringA-11&#34;&gt;&lt;svg onload=alert(2)&gt;" in html
    page = parse(html)
    # The planted text reads back as text, and the only scripts are the report's own.
    assert any(RING_A_UA in t for t in page.text)
    assert page.scripts == [SORT_JS, cytoscape_js(), NETVIEW_JS]
    # Graph data (with the planted account ids) travels as JSON that cannot close its script element.
    assert page.data_scripts and all("<" not in d and ">" not in d for d in page.data_scripts)
    assert any(json.loads(d) for d in page.data_scripts)
    assert any(XSS_ACCOUNT in n["tip"] for d in page.data_scripts for n in json.loads(d)["nodes"])
    assert not [n for n, _ in page.attributes if n.startswith("on")]


def test_content_security_policy_allows_only_own_script(world):
    page = parse(write_report(world, options=FAST).path.read_text())
    csp = page.meta["Content-Security-Policy"]
    digests = [base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in page.scripts]
    assert len(digests) == 3  # sorting, Cytoscape.js, the network views
    assert f"script-src {' '.join(f'{chr(39)}sha256-{d}{chr(39)}' for d in digests)};" in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    no_network = parse(write_report(world, options=ReportOptions(plots=False, interactive=False)).path.read_text())
    assert no_network.scripts == [SORT_JS] and no_network.meta["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_limits_and_notes(world):
    html = write_report(world, options=ReportOptions(max_sections=1, max_unflagged_sections=0, max_members=3,
                                                     plots=False)).path.read_text()
    page = parse(html)
    sections = [i for i, tag in page.ids.items() if i.startswith("cluster-") and tag == "section"]
    ranked = pl.read_parquet(world / "clusters.parquet").filter("flagged").sort(
        ["score", "cluster_id"], descending=[True, False])
    top, size = ranked["cluster_id"][0], ranked["size"][0]
    assert ranked.height == 3 and ranked["score"][0] > ranked["score"][1]  # one clear top
    assert sections == [f"cluster-{top}"]  # the highest score
    assert page.rows[f"members-{top}"] == 3
    assert f"Showing the 3 weakest-tied of {size} members" in html
    assert "Detailed sections for the 1 highest-scoring of 3" in html


def test_report_without_drilldown_tables(world):
    (world / "memberships.parquet").unlink()
    (world / "activity.parquet").unlink()
    html = write_report(world).path.read_text()
    assert "No activity.parquet" in html and "No memberships.parquet" in html
    assert parse(html).rows["clusters"] == pl.read_parquet(world / "clusters.parquet").height


def test_report_nothing_flagged(world):
    clusters = pl.read_parquet(world / "clusters.parquet").with_columns(pl.lit(False).alias("flagged"))
    clusters.write_parquet(world / "clusters.parquet")
    html = write_report(world, options=FAST).path.read_text()
    page = parse(html)
    assert "No cluster was flagged" in html and page.rows["clusters"] == clusters.height
    # Nothing flagged, yet the top clusters by score are there to review, marked as not flagged.
    top = clusters.sort("score", descending=True)["cluster_id"].to_list()
    assert [i for i in page.ids if i.startswith("cluster-")] == [f"cluster-{c}" for c in top]
    assert html.count("not flagged</span>") == clusters.height


def test_extra_score_columns_render_generically(world):
    clusters = pl.read_parquet(world / "clusters.parquet").with_columns(
        (pl.col("score") / 2).alias("payment_component"), pl.lit(7, pl.Int32).alias("distinct_cards"))
    clusters.write_parquet(world / "clusters.parquet")
    html = write_report(world, options=FAST).path.read_text()
    assert '<th scope="col" class="num" data-type="num" title="clusters.parquet column payment_component">payment component</th>' in html
    assert '<th scope="col" class="num" data-type="num" title="clusters.parquet column distinct_cards">distinct cards</th>' in html
    assert "distinct cards</th><td>7</td>" in html  # score components of each section, named in words


def test_report_is_atomic_and_replaces(world, monkeypatch):
    target = world / "report.html"
    target.write_text("<title>graphlink report: old</title>")  # an earlier report (other files are refused)
    import graphlink.views.report as report_module

    def boom(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(report_module, "render_report", boom)
    with pytest.raises(RuntimeError):
        write_report(world)
    assert target.read_text() == "<title>graphlink report: old</title>"
    assert not [p for p in world.iterdir() if p.name.startswith(".report.html")]


def test_report_cli(world, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(world), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.stdout and (world / "report.html").is_file()
    other = tmp_path / "elsewhere" / "r.html"
    result = runner.invoke(app, ["report", str(world), "--out", str(other), "--quiet", "--no-plots"])
    assert result.exit_code == 0 and result.stdout == "" and other.is_file()


def test_report_cli_bad_folder(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")
    assert "not a graphlink detect output" in result.stderr


def test_show_cluster(world_session):
    result = CliRunner().invoke(app, ["show", str(world_session), "1", "--members", "50"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Cluster 1" in out and "flagged" in out and "ringA-00" in out
    assert "payment" in out and "Shared evidence" in out and "hours (UTC)" in out
    # Attacker text is printed as text, never interpreted as rich markup or terminal escapes.
    assert "ExtractBot/1.0" in out and "alert(1)" in out
    result = CliRunner().invoke(app, ["show", str(world_session), "2"])
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "⟨U+001B⟩]0;pwned⟨U+0007⟩" in result.stdout  # U+FFFD both until session 47


def test_show_markup_in_data_is_not_interpreted(world):
    evidence = pl.read_parquet(world / "evidence.parquet").with_columns(
        pl.when(pl.col("kind") == "payment").then(pl.lit("[bold red]pwned[/] [link=http://x]y[/link]"))
        .otherwise(pl.col("value")).alias("value"))
    evidence.write_parquet(world / "evidence.parquet")
    result = CliRunner().invoke(app, ["show", str(world), "1"])
    assert result.exit_code == 0
    assert "[bold red]pwned[/]" in result.stdout


def test_show_unknown_cluster_exits_2_with_one_line(world_session):
    result = CliRunner().invoke(app, ["show", str(world_session), "999"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error:") and "no cluster 999" in result.stderr


def test_plots_are_deterministic(world_session):
    from graphlink.store.outputs import load_outputs
    from graphlink.views import plots

    outputs = load_outputs(world_session, [1])
    memberships = outputs.cluster_memberships(1)
    shuffled = memberships.sample(fraction=1.0, shuffle=True, seed=3)
    first, again = plots.network(memberships), plots.network(shuffled)
    assert first.png == again.png and first.caption == again.caption
    activity = outputs.cluster_activity(1)
    assert plots.hour_of_day(activity).png == plots.hour_of_day(activity.reverse()).png
    assert plots.timeline(activity).png == plots.timeline(activity.reverse()).png


def test_network_sampling_caps_nodes():
    from graphlink.views.plots import sample_network

    # One 400-account ring sharing 50 values: the drawing keeps to the node budget.
    accounts = [f"a{i:03d}" for i in range(400)]
    memberships = pl.DataFrame({
        "account_id": [a for a in accounts for _ in range(5)],
        "kind": "payment",
        "value": [f"card{(i * 7 + j) % 50}" for i in range(400) for j in range(5)],
        "weight": 2.0,
    })
    edges, stats = sample_network(memberships, max_nodes=150, max_signals=30)
    assert stats["signals_shown"] == 30 and stats["signals_total"] == 50
    assert stats["accounts_shown"] + stats["signals_shown"] <= 150
    assert edges["account_id"].n_unique() == stats["accounts_shown"]
    again, _ = sample_network(memberships.reverse(), max_nodes=150, max_signals=30)
    assert edges.equals(again)


def _with_events_file(world: Path) -> Path:
    """Point the world's run.json at a real events file (make_world detects from an in-memory frame)."""
    import json

    from tests._report_worlds import make_events

    events = world.parent / "events.parquet"
    make_events().write_parquet(events)
    run = json.loads((world / "run.json").read_text())
    run["inputs"]["events"]["path"] = str(events)
    (world / "run.json").write_text(json.dumps(run))
    return events


def test_evidence_in_human_terms(world):
    _with_events_file(world)
    html = write_report(world, options=FAST).path.read_text()
    section = html[html.index('id="cluster-1"'):]
    section = section[: section.index('<section class="cluster"', 10)] if '<section class="cluster"' in section[10:] \
        else section
    # Ring A's template once, numbers and the varying word marked, with an original prompt as example.
    assert section.count('<div class="template">') == 1
    assert ('<div class="template">Think step by step and show all of your reasoning before answering question '
            '<mark title="a number that varies between prompts">#</mark> about '  # each slot says what it is (tv41)
            '<mark title="words that vary between prompts">…</mark>'
            '</div>') in section
    example = re.search(r'<blockquote class="example">(.*?)</blockquote>', section).group(1)
    assert re.fullmatch(r"Think step by step and show all of your reasoning before answering question [0-3] about \w+",
                        example)
    # Kinds strongest first; timing said in words, with a minute to check; weight-0 values collapsed.
    kinds = re.findall(r'id="kind-1-(\w+)"', section)
    assert kinds[0] == "payment" and "prompt" in kinds
    assert "No repeating schedule found; active 02:00–05:00 UTC." in section
    assert "band " not in section.split("<details>")[0]
    common = re.search(r"<details><summary>(\d+) values? shared but too common to link anybody \(weight 0\), hidden",
                       section)
    evidence = pl.read_parquet(world / "evidence.parquet").filter((pl.col("cluster_id") == 1) & (pl.col("weight") == 0))
    assert (int(common.group(1)) if common else 0) == evidence.height


def test_report_without_events_file_says_so(world):
    html = write_report(world, options=FAST).path.read_text()  # run.json records an in-memory frame
    assert "Schedules and example prompts are not shown: the events were read from memory" in html
    assert '<div class="template">' in html  # templates still reconstructed from the shared phrases


def test_redacted_report_leaves_example_prompts_out(world):
    _with_events_file(world)
    html = write_report(world, options=FAST, redact_key="k").path.read_text()
    assert "Example prompts are left out of a redacted report" in html
    assert '<blockquote class="example">' not in html


def test_campaigns_open_the_report_when_present(world):
    clusters = pl.read_parquet(world / "clusters.parquet")
    ids = sorted(clusters["cluster_id"].to_list())
    pl.DataFrame({"campaign_id": ["op-7", "op-2"], "clusters": [ids[:2], ids[2:]],
                  "accounts": [20, 9], "score": [0.4, 0.9], "flagged": [False, True],
                  "why": ["two cells share one card", "<b>one operator</b>; same clock"]}
                 ).write_parquet(world / "campaigns.parquet")
    clusters.with_columns(pl.when(pl.col("cluster_id").is_in(ids[:2])).then(pl.lit("op-7")).otherwise(pl.lit("op-2"))
                          .alias("campaign_id")).write_parquet(world / "clusters.parquet")
    html = write_report(world, options=FAST).path.read_text()
    page = parse(html)
    assert html.index('id="campaigns-section"') < html.index('id="clusters-section"')
    assert page.rows["campaigns"] == 2
    order = re.findall(r'id="campaign-([^"]+)"', html)
    assert order == ["op-2", "op-7"]  # highest score first, every campaign has a section
    section = html[html.index('id="campaign-op-2"'):html.index('id="campaign-op-7"')]
    assert "&lt;b&gt;one operator&lt;/b&gt;" in section and "not flagged" not in section
    assert all(f'href="#cluster-{c}"' in section for c in ids[2:])
    assert html.count('<a href="#campaign-op-7">op-7</a>') == 1 + 2  # campaigns table + its two clusters' rows


def test_campaigns_section_only_with_campaigns_file(world):
    html = write_report(world, options=FAST).path.read_text()
    assert 'id="campaigns-section"' in html  # detect writes campaigns.parquet
    (world / "campaigns.parquet").unlink()  # a folder from before campaigns existed
    html = write_report(world, options=FAST).path.read_text()
    assert 'id="campaigns-section"' not in html


def test_show_groups_evidence_and_hides_zero_weight(world_session):
    evidence = pl.read_parquet(world_session / "evidence.parquet").filter(pl.col("cluster_id") == 1)
    zero = evidence.filter(pl.col("weight") == 0).height
    result = CliRunner().invoke(app, ["show", str(world_session), "1", "--evidence", "500"])
    block = result.stdout[result.stdout.index("# Shared evidence"):].splitlines()
    rows = [line.split("\t") for line in block[2:]]
    assert len(rows) == evidence.height - zero and all(float(r[3]) > 0 for r in rows)
    kinds = list(dict.fromkeys(r[0] for r in rows))
    assert kinds[0] == "payment"  # strongest kind first
    if zero:
        assert f"{zero} values too common to link hidden: --all-values" in block[0]
    every = CliRunner().invoke(app, ["show", str(world_session), "1", "--evidence", "500", "--all-values"])
    block = every.stdout[every.stdout.index("# Shared evidence"):].splitlines()
    assert len(block) - 2 == evidence.height


def test_campaign_sections_only_where_they_add_something(world):
    campaigns = pl.read_parquet(world / "campaigns.parquet")
    html = write_report(world, options=FAST).path.read_text()
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # no element id twice
    for row in campaigns.iter_rows(named=True):
        wanted = row["flagged"] or len(row["clusters"]) >= 2
        assert (f'id="campaign-{row["campaign_id"]}"' in html) == wanted
        # the campaigns table links a campaign only when its section exists
        assert (f'href="#campaign-{row["campaign_id"]}"' in html) == wanted


def test_show_names_the_campaign(world_session):
    clusters = pl.read_parquet(world_session / "clusters.parquet")
    campaigns = pl.read_parquet(world_session / "campaigns.parquet")
    cid, camp = clusters.select("cluster_id", "campaign_id").row(0)
    result = CliRunner().invoke(app, ["show", str(world_session), str(cid)])
    assert result.exit_code == 0, result.output
    why = campaigns.filter(pl.col("campaign_id") == camp)["why"][0]
    assert f"campaign {camp}: {why}" in result.stdout.replace("\n", " ") or f"campaign {camp}:" in result.stdout


def test_ranked_puts_clusters_flagged_through_their_campaign_before_higher_unflagged_ones():
    """A cluster flagged with its operator can score 0; a table capped at N rows must still list it."""
    from graphlink.views.report.html import ranked
    clusters = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "score": [0.0, 0.55, 0.9, None],
                             "size": [13, 40, 8, 2], "flagged": [True, False, True, False]})
    assert ranked(clusters)["cluster_id"].to_list() == [3, 1, 2, 4]


def test_components_the_input_has_no_data_for_read_n_a_not_none(world):
    """A component with no data (no accounts file: no creation times; one member: no timing)
    is null in clusters.parquet: the report says ``n/a`` as ``show`` does, never Python's None."""
    clusters = pl.read_parquet(world / "clusters.parquet").with_columns(
        pl.lit(None, pl.Float64).alias("creation_burst"))
    clusters.write_parquet(world / "clusters.parquet")
    html = write_report(world, options=FAST).path.read_text()
    assert "creation burst</th><td>n/a</td>" in html
    assert "<td>None</td>" not in html
