"""Session 47 consistency review: one spelling of an attacker's control and invisible characters wherever a person
reads them, one wording of an unknown id, and ``evaluate`` saying why a metric is missing."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.views.export import xml_text
from graphlink.views.safety import csv_safe, spell_invisible, terminal_safe, unspelled, visible_text
from graphlink.views.terminal import tsv_cell
from tests._report_worlds import make_events
from tests.conftest import FIXTURES

runner = CliRunner()
ESC_UA, BEL_UA = "bot/1 \x1b ua", "bot/1 \x07 ua"
RAW = ("\x1b", "\x07", "\u202e", "\ufffd")


@pytest.mark.parametrize("text", [ESC_UA, BEL_UA, "id\u202ex", "a\x9bb\x7f", "z\u200b\u200bw"])
def test_every_renderer_spells_a_character_one_way(text):
    # got: U+FFFD on the terminal, in piped rows, the report and graph labels; ⟨U+001B⟩ in the CSV; a bidi override
    # raw in piped rows and the CSV
    spelled = spell_invisible(text)
    assert not any(c in spelled for c in RAW) and unspelled(spelled) == text
    frame = pl.DataFrame({"t": [text]})
    assert terminal_safe(text) == visible_text(text) == tsv_cell(text) == csv_safe(text) == spelled
    assert frame.select(xml_text(pl.col("t")))["t"][0] == spelled


def test_escape_and_bell_read_apart_in_show_export_and_graphs(tmp_path):
    ua = {f"ringB-0{i}": ESC_UA if i < 4 else BEL_UA for i in range(8)}
    events = make_events(n_background=20).with_columns(
        pl.col("account_id").replace_strict(ua, default=pl.col("user_agent")).alias("user_agent"),
        pl.col("account_id").replace({"ringB-01": "id\u202ex"}))
    out = graphlink.detect(events).save(tmp_path / "out")
    cid = graphlink.load(out).accounts.filter(pl.col("account_id") == "id\u202ex")["cluster_id"][0]
    shown = runner.invoke(app, ["show", str(out), str(cid), "--evidence", "50"])  # piped: tab-separated rows
    assert shown.exit_code == 0, shown.output
    assert not any(c in shown.output for c in RAW)
    evidence = [line.split("\t") for line in shown.output.splitlines() if line.startswith("user_agent\t")]
    assert sorted(row[1] for row in evidence) == ["bot/1 ⟨U+0007⟩ ua", "bot/1 ⟨U+001B⟩ ua"]
    assert "id⟨U+202E⟩x\t" in shown.output  # the member, as in the CSV and the report
    # tied_by reads as the evidence does (got: "bot/1 \x1b ua" with a backslash, \u202e in ids' values)
    assert re.search(r'user agent "bot/1 ⟨U\+001B⟩ ua"', shown.output) and "\\x1b" not in shown.output
    as_json = json.loads(runner.invoke(app, ["show", str(out), str(cid), "--json"]).stdout)
    ties = " ".join(m["tied_by"] for m in as_json["members"])  # --json: exact, as JSON escapes it
    assert f'user agent "{ESC_UA}"' in ties and f'user agent "{BEL_UA}"' in ties
    runner.invoke(app, ["export", str(out), "--format", "csv", "--clusters", str(cid), "--out", str(tmp_path / "csv")])
    members = (tmp_path / "csv" / "members.csv").read_text(encoding="utf-8")
    assert 'user agent ""bot/1 ⟨U+001B⟩ ua""' in members and "\\x1b" not in members
    assert not any(c in members for c in RAW)
    runner.invoke(app, ["export", str(out), "--format", "graphml", "--clusters", str(cid), "--out",
                        str(tmp_path / "g.graphml")])
    graph = (tmp_path / "g.graphml").read_text(encoding="utf-8")
    assert "bot/1 ⟨U+0007⟩ ua" in graph and "bot/1 ⟨U+001B⟩ ua" in graph and not any(c in graph for c in RAW)


def test_unknown_ids_are_worded_one_way(fixture_detected):
    # got: "no campaign 999: campaign ids run from ..." (no folder), "out: no cluster 9999 (...)", and the notebook's
    # "no cluster 9999; cluster ids run from ..."
    folder = str(fixture_detected)
    form = re.compile(re.escape(folder) + r": no (cluster|campaign) 9999 \(\1 ids run from \d+ to \d+")
    for words in (["show", folder, "9999"], ["campaign", folder, "9999"]):
        failed = runner.invoke(app, words)
        assert failed.exit_code == 2 and form.search(" ".join(failed.output.split())), failed.output
    result = graphlink.load(fixture_detected)
    for call in (result.cluster, result.campaign):
        with pytest.raises(graphlink.GraphlinkError) as raised:
            call(9999)
        assert form.match(str(raised.value)), str(raised.value)


def test_evaluate_says_why_there_is_no_campaign_score(fixture_detected):
    # got: "ari_campaign  -" and nothing saying the labels have no campaign_id column
    words = ["evaluate", str(fixture_detected), str(FIXTURES / "labels.parquet")]
    shown = runner.invoke(app, words)
    row = next(line for line in shown.output.splitlines() if line.startswith("ari_campaign"))
    assert "no ring account a campaign_id" in row
    assert json.loads(runner.invoke(app, [*words, "--json"]).stdout)["ari_campaign"] is None
