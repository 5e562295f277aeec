"""Session 31's new-user review of the investigator's views (issue 17): what a flag the score alone would not
give says beside the score, and count options of 0 that list nothing.

World: :func:`tests.test_tie_evidence.tame_world` (a loud cell flagged on its own evidence and a tame cell of the
same operator, flagged through the template tie, 100 people).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.store.outputs import write_outputs
from tests.test_detection_classes import cluster_row, run
from tests.test_tie_evidence import tame_world

runner = CliRunner()


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    log, loud, tame = tame_world()
    result = run(log)
    out = tmp_path_factory.mktemp("review31") / "out"
    write_outputs(result, out)
    return out, cluster_row(result, loud[0]), cluster_row(result, tame[0])


def test_a_cluster_flagged_through_a_tie_under_the_threshold_says_so_beside_its_score(tied):
    out, loud, tame = tied
    assert tame["flagged"] and tame["score"] < 0.6 and loud["flagged"] and loud["score"] >= 0.6
    shown = runner.invoke(app, ["show", str(out), str(tame["cluster_id"])]).output
    line = next(s for s in shown.splitlines() if "; score " in s)
    assert re.search(rf"score {tame['score']:.3f}, flagged through its tie to flagged cluster {loud['cluster_id']} "
                     r"\(campaign \d+\): its own score alone would not flag it \(threshold 0\.6\)", line), line
    as_json = json.loads(runner.invoke(app, ["show", str(out), str(tame["cluster_id"]), "--json"]).output)
    assert "its own score alone would not flag it" in as_json["score_note"]
    # A cluster flagged on its own evidence: the score says it all.
    loud_shown = runner.invoke(app, ["show", str(out), str(loud["cluster_id"])]).output
    assert "would not flag" not in loud_shown and "flagged through its tie" not in loud_shown
    assert json.loads(runner.invoke(app, ["show", str(out), str(loud["cluster_id"]), "--json"]).output)["score_note"] == ""


def test_the_report_section_says_so_beside_the_score_too(tied, tmp_path):
    out, loud, tame = tied
    folder = Path(shutil.copytree(out, tmp_path / "out"))
    assert runner.invoke(app, ["report", str(folder), "--quiet", "--no-plots", "--static"]).exit_code == 0
    page = (folder / "report.html").read_text()
    section = page[page.index(f'id="cluster-{tame["cluster_id"]}"'):]
    section = section[:section.index("<h3>")]
    assert (f"score {tame['score']:.3f}, flagged through its tie to flagged cluster {loud['cluster_id']}" in section
            and "its own score alone would not flag it" in section)
    loud_section = page[page.index(f'id="cluster-{loud["cluster_id"]}"'):]
    assert "would not flag it" not in loud_section[:loud_section.index("<h3>")]


def test_show_with_0_members_or_0_evidence_lists_nothing_and_says_no_more(tied):
    out, _, tame = tied
    cid = str(tame["cluster_id"])
    shown = runner.invoke(app, ["show", str(out), cid, "--members", "0"]).output
    assert "# Members" not in shown and "more: graphlink export" not in shown
    assert "# Shared evidence" in shown and "# Values that tied it" in shown
    shown = runner.invoke(app, ["show", str(out), cid, "--evidence", "0"]).output
    assert "# Shared evidence" not in shown and "# Values that tied it" not in shown and "(use --evidence)" not in shown
    assert "# Members" in shown
    nothing = runner.invoke(app, ["show", str(out), cid, "--members", "0", "--evidence", "0"]).output
    assert "more" not in nothing and "# Reasons" in nothing
    # --json still counts what it leaves out.
    as_json = json.loads(runner.invoke(app, ["show", str(out), cid, "--json", "--members", "0", "--evidence", "0"]).output)
    assert as_json["members"] == [] and as_json["members_total"] == tame["size"] and as_json["evidence"] == []
    assert as_json["tied_by"]  # all tying values, whatever --evidence


def test_every_flagged_cluster_gets_a_report_section_by_default(tied, tmp_path):
    """147 flagged clusters on dev ind_s3_11000 (68 through a tie, most scoring under the threshold): 100 sections
    left 47 out; all of them cost 13.0 MB and 99 s against 9.8 MB and 78 s (BENCHMARKS.md, session 31)."""
    import polars as pl

    from graphlink.views.report import ReportOptions
    from graphlink.views.report.html import planned_sections

    out, _, tame = tied
    folder = Path(shutil.copytree(out, tmp_path / "many"))
    clusters = pl.read_parquet(folder / "clusters.parquet")
    top = int(clusters["cluster_id"].max())
    copies = pl.concat([clusters.filter(pl.col("cluster_id") == tame["cluster_id"])] * 150).with_columns(
        (pl.int_range(1, 151, dtype=pl.Int64) + top).alias("cluster_id"), pl.lit(True).alias("flagged"))
    pl.concat([clusters, copies]).write_parquet(folder / "clusters.parquet")
    flagged = set(pl.read_parquet(folder / "clusters.parquet").filter("flagged")["cluster_id"].to_list())
    assert len(flagged) > 150
    assert flagged <= set(planned_sections(folder, ReportOptions()))


def test_a_capped_report_names_the_flagged_clusters_it_leaves_out_and_how_to_read_them(tied, tmp_path):
    import polars as pl

    from graphlink.views.report import ReportOptions, write_report

    out, loud, tame = tied
    folder = Path(shutil.copytree(out, tmp_path / "capped"))
    flagged = pl.read_parquet(folder / "clusters.parquet").filter("flagged")
    info = write_report(folder, options=ReportOptions(max_sections=1, max_unflagged_sections=0, plots=False,
                                                      interactive=False, events=False))
    page = info.path.read_text()
    left = sorted(set(flagged["cluster_id"].to_list()) - {loud["cluster_id"]})
    assert tame["cluster_id"] in left and f'id="cluster-{tame["cluster_id"]}"' not in page
    note = f"left out: {len(left)} flagged cluster"
    assert note in page and all(f"{c}" in page[page.index(note):page.index(note) + 300] for c in left)
    assert "graphlink show DIR ID" in page and "--max-sections N" in page
    assert any(note in w for w in info.warnings)  # the command line says it too
    done = runner.invoke(app, ["report", str(folder), "--max-sections", "1", "--no-plots", "--static", "--no-events"])
    assert note in done.output
