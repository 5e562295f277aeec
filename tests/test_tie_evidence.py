"""An inherited flag lists the values that tied it (session 30, the investigator's view).

A cluster flagged through a tie says in its ``why`` which flagged cluster it was tied to and how many values
of each kind tied it ("tied to flagged cluster 3 (campaign 1) by 60 prompt phrases"); a framework's public
system prompt and an operator's own template read alike as a count. ``evidence.parquet`` marks the tying
values (``ties``) and lists them all; ``show``, ``show --json``, the notebook and the case file read them.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.config import PipelineConfig
from graphlink.stages.tie_evidence import tying_pairs, with_tie_evidence
from graphlink.stages.tie_words import TEMPLATE_CELL
from graphlink.store.outputs import write_outputs
from graphlink.views.explain import tying_values
from tests.test_detection_classes import RING_TEMPLATE, Log, add_people, add_ring, cluster_row, run

runner = CliRunner()
PER_KIND = 4
COUNTS = re.compile(r"by (?:(\d+) cards? or identifiers?)?(?:, )?(?:(\d+) prompt phrases?)?(?:, )?(?:(\d+) address(?:es)?)?")


def tame_world() -> tuple[Log, list[str], list[str]]:
    """A loud cell and a tame cell of one operator sending one template (tests/test_detection_classes.py)."""
    rng = np.random.default_rng(21)
    log = Log()
    loud = add_ring(log, rng, "opAloud", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], RING_TEMPLATE)
    tame = add_ring(log, rng, "opAtame", 12, 12, ["35.190.3.3"], RING_TEMPLATE)
    add_people(log, rng, 100)
    return log, loud, tame


def tame_outputs(out: Path) -> tuple[Path, dict, dict]:
    """:func:`tame_world` detected with defaults and written to ``out``: the folder, the loud and tame cells' rows."""
    log, loud, tame = tame_world()
    result = run(log)
    write_outputs(result, out)
    return out, cluster_row(result, loud[0]), cluster_row(result, tame[0])


@pytest.fixture(scope="module")
def detected(tmp_path_factory):
    log, loud, tame = tame_world()
    base = PipelineConfig()
    # Four values per kind in the evidence: fewer than the template values that tie the tame cell.
    result = run(log, config=replace(base, scoring=replace(base.scoring, evidence_per_kind=PER_KIND)))
    out = tmp_path_factory.mktemp("ties") / "out"
    write_outputs(result, out)
    return result, out, cluster_row(result, loud[0]), cluster_row(result, tame[0])


def test_the_tame_cell_lists_exactly_as_many_tying_values_as_its_why_counts(detected):
    result, _, loud, tame = detected
    assert tame["why"].startswith(f"tied to flagged cluster {loud['cluster_id']} (campaign ")
    assert TEMPLATE_CELL not in tame["why"]  # its campaign holds the template with the loud cell: not a strong cell
    counted = COUNTS.search(tame["why"].split(";")[0])
    cards, texts, addresses = (int(g or 0) for g in counted.groups())
    rows = result.evidence.filter((pl.col("cluster_id") == tame["cluster_id"]) & pl.col("ties"))
    by_kind = dict(rows.group_by("kind").len().iter_rows())
    assert texts > PER_KIND  # more than the per-kind evidence cut: all are listed
    others = result.evidence.filter((pl.col("cluster_id") == tame["cluster_id"]) & (pl.col("kind") == "prompt"))
    assert others.height == texts
    assert by_kind.get("prompt", 0) == texts and by_kind.get("payment", 0) == cards
    assert rows.height == cards + texts + addresses
    # The operator's template, held by the tame cell's members and by the loud cell's (more than the cell alone).
    template = " ".join(re.sub(r"[^\w\s]", " ", RING_TEMPLATE.lower()).split())
    # (values are quoted as logged, punctuation kept: session 31)
    assert all(" ".join(re.sub(r"[^\w\s]", " ", v.lower()).split()) in template for v in rows["value"])
    assert (rows["df"] > rows["accounts_sharing"]).all()
    # Every holder of the template is the operator's (both cells flagged): none outside a flagged cluster.
    assert rows["outside_flagged"].to_list() == [0] * rows.height
    assert result.evidence.filter(~pl.col("ties"))["outside_flagged"].null_count() == result.evidence.filter(~pl.col("ties")).height


def test_a_cluster_flagged_on_its_own_evidence_lists_no_tying_values(detected):
    result, _, loud, _ = detected
    assert loud["flagged"]
    assert result.evidence.filter((pl.col("cluster_id") == loud["cluster_id"]) & pl.col("ties")).height == 0


def test_show_lists_the_tying_values_under_the_reasons(detected):
    _, out, loud, tame = detected
    shown = runner.invoke(app, ["show", str(out), str(tame["cluster_id"]), "--evidence", "5"])
    assert shown.exit_code == 0, shown.output
    n = int(re.search(r"(\d+) prompt phrases", tame["why"]).group(1))
    # The n phrases are overlapping shingles of the operator's template: listed as the passages they chain into.
    heading = re.search(rf"Values that tied it to flagged cluster {loud['cluster_id']} "
                        r"\((\d+) prompt phrases in (\d+) passages?\)", shown.output)
    assert heading and int(heading.group(1)) == n and int(heading.group(2)) < n
    rows = int(heading.group(2))
    assert (f"{rows - 5} more: --evidence {rows}" in shown.output) == (rows > 5)
    assert shown.output.index("Values that tied it") < shown.output.index("# Members")
    assert "kind\tvalue\taccounts sharing\taccounts in input\tin no flagged cluster" in shown.output
    listed = shown.output.split("in no flagged cluster\n", 1)[1].split("\n# ", 1)[0].splitlines()
    assert len(listed) == min(rows, 5) and {line.split("\t")[0] for line in listed} == {"prompt"}
    # the passages hold every phrase's words: the longest is far longer than one five-word phrase
    assert max(len(line.split("\t")[1].split()) for line in listed) > 5
    as_json = json.loads(runner.invoke(app, ["show", str(out), str(tame["cluster_id"]), "--json"]).output)
    assert len(as_json["tied_by"]) == n and {r["kind"] for r in as_json["tied_by"]} == {"prompt"}
    assert {r["outside_flagged"] for r in as_json["tied_by"]} == {0}
    assert as_json["flagged_with"] == {"cluster_id": loud["cluster_id"], "campaign_id": loud["campaign_id"],
                                       "same_operator": False}  # the case file's structure, no why parsing
    loud_json = json.loads(runner.invoke(app, ["show", str(out), str(loud["cluster_id"]), "--json"]).output)
    assert loud_json["tied_by"] == [] and loud_json["flagged_with"] is None


def test_the_report_lists_the_tying_values_under_the_why(detected, tmp_path):
    import shutil

    _, out, _, tame = detected
    folder = Path(shutil.copytree(out, tmp_path / "out"))
    assert runner.invoke(app, ["report", str(folder), "--quiet"]).exit_code == 0
    page = (folder / "report.html").read_text()
    section = page[page.index(f'id="cluster-{tame["cluster_id"]}"'):]
    n = int(re.search(r"(\d+) prompt phrases", tame["why"]).group(1))
    assert section.index(f"named above ({n} prompt phrases in ") < section.index("<h3>Evidence</h3>")
    assert page.count("Values that tied it") == 1  # the tame cell only


def test_the_notebook_and_the_case_file_carry_the_tying_values(detected, tmp_path):
    _, out, loud, tame = detected
    view = graphlink.load(out).cluster(tame["cluster_id"])
    assert view.ties.height == int(re.search(r"(\d+) prompt phrases", tame["why"]).group(1))
    assert f"Values that tied it to flagged cluster {loud['cluster_id']}" in view.why()
    files = view.export(tmp_path / "case")
    case = json.loads(files["json"].read_text())
    assert sum(bool(e["ties"]) for e in case["evidence"]) == view.ties.height


def test_a_folder_written_before_the_tie_evidence_still_reads(detected, tmp_path):
    import shutil

    _, out, _, tame = detected
    old = tmp_path / "old"
    shutil.copytree(out, old)
    ev = pl.read_parquet(old / "evidence.parquet").drop("ties")
    ev.write_parquet(old / "evidence.parquet")
    shown = runner.invoke(app, ["show", str(old), str(tame["cluster_id"])])
    assert shown.exit_code == 0, shown.output
    assert "Values that tied it" not in shown.output
    assert graphlink.load(old).cluster(tame["cluster_id"]).ties.height == 0


def test_re_keyed_ids_carry_their_tying_values():
    log, loud, tame = tame_world()
    previous = pl.DataFrame({"account_id": loud + tame, "cluster_id": [50] * len(loud) + [60] * len(tame)})
    result = run(log, previous=previous)
    assert cluster_row(result, tame[0])["cluster_id"] == 60
    assert set(result.evidence.filter("ties")["cluster_id"].unique()) == {60}


def test_only_inherited_flags_list_ties_and_cut_values_are_added():
    tied = pl.DataFrame({"cluster_id": [2, 3, 4], "values": [[0, 1], [0], [1]]},
                        schema={"cluster_id": pl.Int64, "values": pl.List(pl.UInt32)})
    clusters = pl.DataFrame({"cluster_id": [2, 3, 4], "flagged": [True, True, False], "flagged_own": [False, True, False]})
    assert tying_pairs(tied, clusters).rows() == [(2, 0), (2, 1)]
    ev = pl.DataFrame({"cluster_id": [2, 3], "kind": ["payment", "payment"], "value": ["card", "card"],
                       "accounts_sharing": [2, 3], "weight": [1.0, 1.0], "df": [9, 9], "ties": [False, False]},
                      schema_overrides={"accounts_sharing": pl.UInt32, "df": pl.UInt32})
    part = pl.DataFrame({"account_idx": [0, 1, 2], "cluster_id": [2, 2, 3]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    aff = pl.DataFrame({"account_idx": [0, 1, 2, 1], "signal_idx": [0, 0, 0, 1]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment", "ip"], "value": ["card", "1.2.3.4"],
                        "weight": [1.0, 0.0], "df": [9, 400]}, schema_overrides={"signal_idx": pl.UInt32})
    out = with_tie_evidence(ev, tied, clusters, part, aff, sig)
    assert out.select("cluster_id", "kind", "value", "accounts_sharing", "ties").rows() == [
        (2, "ip", "1.2.3.4", 1, True), (2, "payment", "card", 2, True), (3, "payment", "card", 3, False)]
    # Cards first, then prompts, then addresses, as the why counts them.
    assert tying_values(out.filter(pl.col("cluster_id") == 2))["kind"].to_list() == ["payment", "ip"]


def test_holders_outside_flagged_clusters_are_counted_per_tying_value():
    # Cluster 2 (tied) and 3 (flagged on its own) hold value 0; cluster 4 (not flagged) and df say 6 more hold it.
    tied = pl.DataFrame({"cluster_id": [2], "values": [[0]]}, schema={"cluster_id": pl.Int64, "values": pl.List(pl.UInt32)})
    clusters = pl.DataFrame({"cluster_id": [2, 3, 4], "flagged": [True, True, False], "flagged_own": [False, True, False]})
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [2, 2, 3, 3, 4, 4]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    aff = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "signal_idx": [0] * 6},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [0], "kind": ["prompt"], "value": ["you are orbit agent an"], "weight": [0.1],
                        "df": [10]}, schema_overrides={"signal_idx": pl.UInt32})
    from graphlink.contract import EVIDENCE_SCHEMA
    out = with_tie_evidence(pl.DataFrame(schema=EVIDENCE_SCHEMA), tied, clusters, part, aff, sig)
    assert out.select("cluster_id", "accounts_sharing", "df", "outside_flagged").rows() == [(2, 2, 10, 6)]
