"""Session 48, the investigator's view: the values tying a campaign's clusters everywhere an investigator looks (the
report's campaign sections, every export format), the very values the campaign's ``why`` counts (prompt phrases were
recomputed from ``memberships.parquet``, each cluster's strongest only), and an unexpected error as one line."""

from __future__ import annotations

import json
import re

import networkx as nx
import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.views.export import export
from graphlink.views.report import ReportOptions, write_report

runner = CliRunner()
FAST = ReportOptions(plots=False, max_sections=2)
#: A prompt phrase an attacker wrote: markup, a formula, an escape sequence and a bidi override.
HOSTILE = "=HYPERLINK(\"http://x\")<script>alert(1)</script>\x1b[31m\u202e"


def _tied(folder) -> dict:
    """The campaign of the fixture tied by the most values, its row."""
    camps = pl.read_parquet(folder / "campaigns.parquet").filter(pl.col("clusters").list.len() >= 2)
    return camps.sort(pl.col("why").str.len_chars(), "campaign_id", descending=[True, False]).row(0, named=True)


def _why_counts(why: str) -> dict[str, int]:
    tied = why.split("tied by ", 1)[1].split(";")[0]
    return {name: int(n.replace(",", "")) for n, name in re.findall(r"([\d,]+) ([a-zA-Z ]+?)(?:,|$)", tied)}


def test_campaign_lists_every_value_its_why_counts(fixture_detected):
    # got (fixture, campaign 2: "tied by 167 prompt phrases, 5 IP addresses"): --json listed 49 prompt phrases, those
    # memberships.parquet kept (each cluster's strongest); the phrases that decided the campaign were not shown
    camp = _tied(fixture_detected)
    ran = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json"])
    assert ran.exit_code == 0, ran.output
    ties = pl.DataFrame(json.loads(ran.stdout)["ties"])
    names = {"prompt": "prompt phrases", "ip": "IP addresses", "payment": "payment cards"}
    listed = {names[k]: n for k, n in ties.group_by("kind").len().rows()}
    assert listed == _why_counts(camp["why"])
    assert "all those its why counts" in json.loads(ran.stdout)["ties_note"]
    # the notebook reads the same rows, in memory and loaded
    loaded = graphlink.load(fixture_detected).campaign_ties(camp["campaign_id"])
    assert loaded.height == ties.height
    assert set(ties["clusters"].explode()) <= set(camp["clusters"])


@pytest.fixture
def hostile(fixture_outputs):
    """The fixture's output with an attacker's phrase tying its most tied campaign."""
    camp = _tied(fixture_outputs)
    path = fixture_outputs / "campaign_ties.parquet"
    ties = pl.read_parquet(path)
    row = ties.filter(pl.col("campaign_id") == camp["campaign_id"]).head(1).with_columns(
        pl.lit("prompt").alias("kind"), pl.lit(HOSTILE).alias("value"), pl.lit(10_000, pl.UInt32).alias("accounts"))
    pl.concat([row, ties]).write_parquet(path)
    return fixture_outputs, camp


def test_report_campaign_section_lists_the_tying_values_escaped(hostile):
    # got: a campaign section said "tied by 167 prompt phrases, 5 IP addresses" and listed none of them
    folder, camp = hostile
    html = write_report(folder, options=FAST).path.read_text(encoding="utf-8")
    start = html.index(f'id="campaign-{camp["campaign_id"]}"')
    section = html[start:html.index("</section>", start)]
    assert f'id="campaign-{camp["campaign_id"]}-ties"' in section and "Values tying its clusters" in section
    # (a phrase's digits are shown as ⟨#⟩ since session 56: "alert(1)" reads "alert(⟨#⟩)")
    assert "&lt;script&gt;alert(⟨#⟩)&lt;/script&gt;" in section and "<script>alert" not in html
    assert "\x1b" not in html and "\u202e" not in section and "⟨U+001B⟩" in section


def test_report_redacts_the_tying_values(fixture_outputs):
    camp = _tied(fixture_outputs)
    ips = pl.read_parquet(fixture_outputs / "campaign_ties.parquet").filter(
        (pl.col("campaign_id") == camp["campaign_id"]) & (pl.col("kind") == "ip"))["value"].to_list()
    assert ips
    html = write_report(fixture_outputs, options=FAST).path.read_text(encoding="utf-8")
    assert ips[0] in html
    html = write_report(fixture_outputs, options=FAST, redact_key="k").path.read_text(encoding="utf-8")
    assert not [ip for ip in ips if ip in html]


def test_csv_export_lists_campaign_ties_formula_safe_and_redacted(hostile, tmp_path):
    folder, camp = hostile
    info = export(folder, "csv", "flagged", tmp_path / "csv")
    table = pl.read_csv(tmp_path / "csv" / "campaign_ties.csv")
    mine = table.filter(pl.col("campaign_id") == camp["campaign_id"])
    assert mine.height == pl.read_parquet(folder / "campaign_ties.parquet").filter(
        pl.col("campaign_id") == camp["campaign_id"]).height
    value = mine.filter(pl.col("accounts") == 10_000)["value"][0]
    assert value.startswith("'=HYPERLINK") and "\x1b" not in value and "⟨U+001B⟩" in value
    assert "campaign_ties.csv:" in (tmp_path / "csv" / "README.txt").read_text()
    assert any(p.name == "campaign_ties.csv" for p in info.paths)
    export(folder, "csv", "flagged", tmp_path / "red", redact_key="k")
    raw = set(mine.filter(pl.col("kind") == "ip")["value"])
    redacted = pl.read_csv(tmp_path / "red" / "campaign_ties.csv")
    assert raw and not raw & set(redacted["value"]) and redacted.height == table.height


def test_case_file_and_graph_carry_the_campaign_ties(fixture_outputs, tmp_path):
    camp = _tied(fixture_outputs)
    cluster = camp["clusters"][0]
    export(fixture_outputs, "json", [cluster], tmp_path / "cases")
    case = json.loads((tmp_path / "cases" / f"cluster-{cluster}.json").read_text())
    kept = pl.read_parquet(fixture_outputs / "campaign_ties.parquet").filter(pl.col("campaign_id") == camp["campaign_id"])
    assert len(case["campaign_ties"]) == kept.height and case["campaign_ties_note"]
    export(fixture_outputs, "gexf", camp["clusters"], tmp_path / "g.gexf")
    graph = nx.read_gexf(tmp_path / "g.gexf")
    tying = [d for _, d in graph.nodes(data=True) if d.get("type") == "signal"
             and str(camp["campaign_id"]) in str(d.get("ties_campaigns", "")).split(";")]
    assert tying


def test_campaign_ties_in_memory(fixture_detected):
    # got: "campaign_ties reads a detect output folder: save the result ..." though detect had them in memory
    from tests.conftest import FIXTURES

    events = pl.read_parquet(FIXTURES / "events.parquet")
    result = graphlink.detect(events.filter(pl.col("account_id").hash(3) % 3 > 0))
    camp = result.outputs.campaigns.filter(pl.col("clusters").list.len() >= 2).row(0, named=True)
    assert result.campaign_ties(camp["campaign_id"]).height > 0


def test_campaign_ties_clusters_follow_stable_ids(fixture_detected, tmp_path):
    # the table's cluster lists are rewritten with --previous as campaigns.parquet's are (most ids change here)
    from graphlink.pipeline import run_detect
    from graphlink.store.outputs import write_outputs
    from tests.conftest import FIXTURES

    events = pl.read_parquet(FIXTURES / "events.parquet").sample(fraction=0.9, seed=3)
    second = write_outputs(run_detect(events, previous=fixture_detected), tmp_path / "b")
    camps = pl.read_parquet(second / "campaigns.parquet").explode("clusters").select(
        "campaign_id", pl.col("clusters").alias("cluster"))
    ties = pl.read_parquet(second / "campaign_ties.parquet").with_row_index().explode("clusters")
    joined = ties.join(camps, left_on="clusters", right_on="cluster", how="left", suffix="_of")
    assert joined.height and (joined["campaign_id"] == joined["campaign_id_of"]).all()


def test_an_unexpected_error_is_one_line_and_exit_1(fixture_detected, monkeypatch):
    # got: a Python traceback and exit 1 from any bug below the CLI
    import graphlink.views.campaign as campaign_module

    def broken(*args, **kwargs):
        raise RuntimeError("internal state 'secret-cell' lost")

    monkeypatch.setattr(campaign_module, "campaign_view", broken)
    monkeypatch.delenv("GRAPHLINK_DEBUG", raising=False)
    ran = runner.invoke(app, ["campaign", str(fixture_detected), "1"])
    assert ran.exit_code == 1 and "Traceback" not in ran.output
    lines = ran.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: graphlink campaign failed unexpectedly: RuntimeError")
    assert "GRAPHLINK_DEBUG=1" in lines[0] and "secret-cell" not in lines[0]
    # the traceback when asked for, by the variable or the option
    ran = runner.invoke(app, ["campaign", str(fixture_detected), "1"], env={"GRAPHLINK_DEBUG": "1"})
    assert isinstance(ran.exception, RuntimeError)
    ran = runner.invoke(app, ["--debug", "campaign", str(fixture_detected), "1"])
    assert isinstance(ran.exception, RuntimeError)
    monkeypatch.delenv("GRAPHLINK_DEBUG", raising=False)  # --debug set it in this process


def test_bad_input_still_exits_2(fixture_detected):
    ran = runner.invoke(app, ["campaign", str(fixture_detected), "99999"])
    assert ran.exit_code == 2 and "Traceback" not in ran.output
