"""Session 32's new-user review of the investigator's views (issue 17): hints name the user's folder, every export
of a flagged cluster says why it is flagged (the score note too), case-file evidence strongest first, one row per
timing signature, a tie names every kind of value that carried it, and what ``show --evidence 0`` leaves out.

World: :func:`tests.test_tie_evidence.tame_world` (a loud cell flagged on its own evidence and a tame cell of the
same operator, flagged through the template tie, 100 people).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from tests.test_tie_evidence import tame_outputs

runner = CliRunner()


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    return tame_outputs(tmp_path_factory.mktemp("review32") / "out")


# -- 1. hints name the folder the user ran on ------------------------------------------------------------------------

def test_report_hints_name_the_users_folder_not_a_placeholder(tied, tmp_path):
    from graphlink.views.report import ReportOptions, write_report

    out, loud, tame = tied
    folder = Path(shutil.copytree(out, tmp_path / "day 2"))  # a space: the command quotes it
    info = write_report(folder, options=ReportOptions(max_sections=1, max_unflagged_sections=0, max_members=2,
                                                      plots=False, interactive=False, events=False))
    page = html.unescape(info.path.read_text())
    quoted = f"'{folder}'"
    assert f"graphlink show {quoted} ID (e.g. graphlink show {quoted} {tame['cluster_id']})" in page
    assert f"graphlink report {quoted} --max-sections N" in page
    assert f"graphlink export {quoted} --format csv --clusters {loud['cluster_id']}" in page  # more members than shown
    warned = " ".join(info.warnings)
    assert f"graphlink show {quoted} ID" in warned
    for text in (page, warned):
        assert not re.search(r"graphlink (show|export|report) DIR\b", text)
    done = runner.invoke(app, ["report", str(folder), "--max-sections", "1", "--no-plots", "--static", "--no-events"])
    assert f"graphlink show {quoted} ID" in " ".join(done.output.split()) and " DIR " not in done.output


# -- 2. every export of a flagged cluster says why, the score note too ------------------------------------------------

def test_every_export_of_a_flagged_cluster_carries_its_why_and_score_note(tied, tmp_path):
    import csv
    import json

    import networkx as nx

    from graphlink.views.export import export

    out, loud, tame = tied
    shown = json.loads(runner.invoke(app, ["show", str(out), str(tame["cluster_id"]), "--json"]).output)
    note = shown["score_note"]
    assert "its own score alone would not flag it" in note
    export(out, "json", out=tmp_path / "cases")
    case = json.loads((tmp_path / "cases" / f"cluster-{tame['cluster_id']}.json").read_text())
    assert case["score_note"] == note and case["why"] == tame["why"] and case["reasons"] == shown["reasons"]
    assert case["flagged_with"] == shown["flagged_with"] and case["flagged_with"]["cluster_id"] == loud["cluster_id"]
    loud_case = json.loads((tmp_path / "cases" / f"cluster-{loud['cluster_id']}.json").read_text())
    assert loud_case["score_note"] == "" and loud_case["why"] == loud["why"]
    members = export(out, "csv", out=tmp_path / "csv").paths[0]
    with members.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_cluster = {}
    for row in rows:
        by_cluster.setdefault(int(row["cluster_id"]), set()).add((row["score_note"], row["why"]))
    assert by_cluster[tame["cluster_id"]] == {(note, tame["why"])}
    assert by_cluster[loud["cluster_id"]] == {("", loud["why"])}
    graph = nx.read_gexf(export(out, "gexf", out=tmp_path / "graph.gexf").paths[0])
    tame_nodes = [d for _, d in graph.nodes(data=True) if d.get("type") == "account" and d.get("cluster_id") == tame["cluster_id"]]
    assert tame_nodes and all(d["score_note"] == note and d["why"] == tame["why"] for d in tame_nodes)


# -- 3. case-file evidence strongest first, as show lists it ------------------------------------------------------------

def test_case_file_evidence_is_in_shows_order_whatever_the_stored_order(tied, tmp_path):
    import json

    import polars as pl

    from graphlink.views.export import export

    out, _, tame = tied
    cid = str(tame["cluster_id"])
    # A user agent every member sends, too common to link: the most shared value, the weakest evidence.
    out = Path(shutil.copytree(out, tmp_path / "out"))
    stored = pl.read_parquet(out / "evidence.parquet")
    common = stored.head(1).with_columns(pl.lit(tame["cluster_id"], pl.Int64).alias("cluster_id"),
                                         pl.lit("user_agent").alias("kind"), pl.lit("okhttp/4.12").alias("value"),
                                         pl.lit(tame["size"], pl.UInt32).alias("accounts_sharing"),
                                         pl.lit(0.0).alias("weight"), pl.lit(900, pl.UInt32).alias("df"),
                                         pl.lit(False).alias("ties"), pl.lit(None, pl.UInt32).alias("outside_flagged"))
    # A card two members pay with, rare: shared by few, the strongest evidence (a card binds more than a /24).
    card = common.with_columns(pl.lit("payment").alias("kind"), pl.lit("card-77").alias("value"),
                               pl.lit(2, pl.UInt32).alias("accounts_sharing"), pl.lit(5.0).alias("weight"),
                               pl.lit(2, pl.UInt32).alias("df"))
    pl.concat([common, stored, card]).write_parquet(out / "evidence.parquet")
    shown = json.loads(runner.invoke(app, ["show", str(out), cid, "--json", "--all-values", "--evidence", "100000"]).output)
    listed = [(e["kind"], e["value"]) for e in shown["evidence"]]
    assert listed[0] == ("payment", "card-77") and listed[-1] == ("user_agent", "okhttp/4.12")
    export(out, "json", out=tmp_path / "a")
    case = json.loads((tmp_path / "a" / f"cluster-{cid}.json").read_text())
    assert [(e["kind"], e["value"]) for e in case["evidence"]] == listed and len(listed) > 3
    strength = [e["weight"] * e["accounts_sharing"] for e in case["evidence"] if e["kind"] == case["evidence"][0]["kind"]]
    assert strength == sorted(strength, reverse=True)
    # The stored rows reversed: the same order out (deterministic).
    folder = Path(shutil.copytree(out, tmp_path / "reversed"))
    pl.read_parquet(folder / "evidence.parquet").reverse().write_parquet(folder / "evidence.parquet")
    export(folder, "json", out=tmp_path / "b")
    again = json.loads((tmp_path / "b" / f"cluster-{cid}.json").read_text())
    assert [(e["kind"], e["value"]) for e in again["evidence"]] == listed


# -- 4. one row per timing signature -------------------------------------------------------------------------------------

def test_a_timing_signature_held_by_the_same_members_in_several_bands_is_listed_once():
    """MinHash bands: members acting in nearly the same windows collide in several bands, each a value of its own;
    they showed as identical rows ("3 members active in the same 60-second windows ..." twice)."""
    from datetime import date

    import polars as pl

    from graphlink.views.schedule import timing_meanings

    members = {"band 2: 11": ["a", "b", "c"], "band 7: 12": ["a", "b", "c"], "band 9: 13": ["a", "b", "d"]}
    memberships = pl.DataFrame([(a, "timing", v, 5) for v, accounts in members.items() for a in accounts],
                               schema=["account_id", "kind", "value", "cluster_id"], orient="row")
    activity = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "hour": [14] * 4, "day": [date(2025, 3, 3)] * 4})
    evidence = pl.DataFrame({"cluster_id": [5] * 4, "kind": ["timing", "timing", "timing", "ip"],
                             "value": ["band 7: 12", "band 2: 11", "band 9: 13", "1.2.3.4"],
                             "weight": [0.8, 0.9, 0.8, 1.0], "accounts_sharing": [3, 3, 3, 2]})
    read = timing_meanings(evidence, memberships, activity)
    assert read["value"].to_list() == ["band 2: 11", "band 9: 13", "1.2.3.4"]  # the heavier of a, b, c's two bands
    # a, b, c and a, b, d act in the same hours on the same day: the two rows name their members, or read alike.
    assert read["meaning"].head(2).to_list() == [
        "3 members (a, b, c) active in the same 60-second windows; hours when all of them act: 14:00–15:00 UTC, on 2025-03-03",
        "3 members (a, b, d) active in the same 60-second windows; hours when all of them act: 14:00–15:00 UTC, on 2025-03-03"]
    again = timing_meanings(evidence.reverse(), memberships, activity)
    assert sorted(again["value"].to_list()) == sorted(read["value"].to_list())
    # Another cluster's same accounts are its own evidence.
    other = pl.concat([evidence, evidence.with_columns(pl.lit(6, pl.Int64).alias("cluster_id"))])
    both = pl.concat([memberships, memberships.with_columns(pl.lit(6, pl.Int64).alias("cluster_id"))])
    assert timing_meanings(other, both, activity).height == 6


def test_exports_list_each_timing_signature_once(tied, tmp_path):
    import json
    from collections import Counter

    import polars as pl

    from graphlink.views.export import export

    out, _, _ = tied
    memberships = pl.read_parquet(out / "memberships.parquet").filter(pl.col("kind") == "timing")
    holders = dict(memberships.group_by("value").agg(pl.col("account_id").sort().str.join(",")).iter_rows())
    export(out, "json", "all", out=tmp_path / "cases")
    for path in (tmp_path / "cases").glob("cluster-*.json"):
        case = json.loads(path.read_text())
        members = {m["account_id"] for m in case["members"]}
        sets = Counter(",".join(sorted(set(holders.get(e["value"], e["value"]).split(",")) & members))
                       for e in case["evidence"] if e["kind"] == "timing")
        assert all(n == 1 for n in sets.values()), (path.name, sets)


# -- 5. a tie names every card that carried it ---------------------------------------------------------------------------

def test_a_contact_card_leading_to_another_flagged_cluster_is_named_in_the_tie():
    """The cell writes flagged cluster 2's template and pays with a card one account of flagged cluster 1 paid with
    (a contact). Its why named cluster 2 and the prompt phrases only: the card went unsaid (on dev ind_s3_11000 a cell
    read "tied to flagged cluster 2 (campaign 1) by 2 IP addresses", the card of another flagged cluster carrying it)."""
    import polars as pl

    from graphlink.stages.rekeying import rekey_why
    from graphlink.stages.tie_words import also_tied_to, flagged_with
    from graphlink.views.explain import tied_to_text, why_text
    from tests.test_break_lead28 import NO_EVIDENCE, TAME, two_operators

    ties, out = two_operators(loud_card_holders=1)
    row = ties.row(0, named=True)
    assert (row["lead"], row["cards"], row["texts"], row["other_cards"], row["others"]) == (2, 0, 6, 1, [1])
    assert len(row["values"]) == 7  # the six passages and the card: what the evidence lists as tying
    tame = out.filter(pl.col("cluster_id") == TAME).row(0, named=True)
    first = tame["why"].split("; ")[0]
    assert first == "tied to flagged cluster 2 (campaign 2) by 6 prompt phrases, and to flagged cluster 1 by 1 payment card or identifier"
    # "tied to", not "same operator as": no card of cluster 2's operator ties it, and it stays in its campaign.
    assert flagged_with(tame["why"]) == {"cluster_id": 2, "campaign_id": 2, "same_operator": False}
    assert tame["campaign_id"] == 3 and also_tied_to(tame["why"]) == [1]
    assert tied_to_text(tame["why"]) == "flagged clusters 2 and 1"
    assert "by a card or identifier to flagged cluster 1" in why_text({**tame, "size": 6, "kinds": []}, NO_EVIDENCE, 0.6, 5)
    # Both ids are re-keyed with --previous.
    rekeyed = rekey_why(out, pl.DataFrame({"cluster_id": [1, 2, 3], "stable_id": [41, 42, 43]}))
    assert rekeyed.filter(pl.col("cluster_id") == TAME)["why"][0].startswith(
        "tied to flagged cluster 42 (campaign 2) by 6 prompt phrases, and to flagged cluster 41 by 1 payment card or identifier; ")


def test_a_card_leading_to_the_lead_itself_adds_no_clause():
    from tests.test_break_lead28 import two_operators

    ties, out = two_operators(loud_card_holders=2)  # a reused card of cluster 1: it names 1, the template is 2's
    assert ties["others"].to_list() == [[]] and ties["other_cards"].to_list() == [0]
    assert ", and to flagged cluster" not in out["why"].str.join(" ")


# -- 6. show --evidence 0 --------------------------------------------------------------------------------------------------

def test_show_help_says_evidence_0_hides_the_tie_list_too_and_the_reasons_still_name_the_tie(tied):
    out, loud, tame = tied
    helped = " ".join(runner.invoke(app, ["show", "--help"]).output.split())
    assert "0 lists neither" in helped and "tied" in helped
    shown = runner.invoke(app, ["show", str(out), str(tame["cluster_id"]), "--evidence", "0"]).output
    assert f"flagged cluster {loud['cluster_id']}" in shown  # the why still names the tie and its counts
