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

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from tests.test_detection_classes import cluster_row, run
from tests.test_tie_evidence import tame_outputs

runner = CliRunner()


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    return tame_outputs(tmp_path_factory.mktemp("review31") / "out")


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
    assert "# Shared evidence" not in shown and "# Values that tied it" not in shown and "more: --evidence" not in shown
    assert "# Members" in shown
    nothing = runner.invoke(app, ["show", str(out), cid, "--members", "0", "--evidence", "0"]).output
    assert "more" not in nothing and "# Reasons" in nothing
    # --json still counts what it leaves out.
    as_json = json.loads(runner.invoke(app, ["show", str(out), cid, "--json", "--members", "0", "--evidence", "0"]).output)
    assert as_json["members"] == [] and as_json["members_total"] == tame["size"] and as_json["evidence"] == []
    assert as_json["tied_by"]  # all tying values, whatever --evidence


def test_every_flagged_cluster_gets_a_report_section_by_default(tied, tmp_path):
    """147 flagged clusters on dev ind_s3_11000 (68 through a tie, most scoring under the threshold): 100 sections
    left 47 out; all of them cost 13.2 MB and 77 s against 9.8 MB and 62 s (BENCHMARKS.md, thirty-first pass)."""
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
    assert f"graphlink show {folder} ID" in page and "--max-sections N" in page  # the folder, not DIR (issue 17, s32)
    assert any(note in w for w in info.warnings)  # the command line says it too
    done = runner.invoke(app, ["report", str(folder), "--max-sections", "1", "--no-plots", "--static", "--no-events"])
    assert note in done.output


# -- templates behind a framework's system prompt: one function for the report and the notebook ------------------

FRAMEWORK = ("You are OrbitAgent, an autonomous assistant running inside the OrbitKit framework. You can call tools "
             "by emitting a JSON block with the fields tool and arguments. Always reason about which tool fits the "
             "user's goal, never invent tool names, keep answers under three hundred words unless asked otherwise, "
             "cite the tool output you used, and ask a clarifying question when the request is ambiguous. Available "
             "tools: search, calculator, calendar, notes, weather, maps, translation, code runner, spreadsheet, "
             "mail, documents, images and the web browser.\n\nUser: ")
FLEET_A = "Reason through this exercise as thoroughly as possible and number each reasoning step you take: {} ({})"
FLEET_B = "Return a JSON object with the keys trace and final for the following prompt and keep every step: {} ({})"


def test_templates_behind_a_shared_head_are_each_shown_after_it():
    """Behind a framework's system prompt a fleet writes its own templates; read as one template, the head made
    every prompt a follower and the fleet's templates read as varying ('User: ⟨…⟩')."""
    import numpy as np

    from graphlink.views.templates import cluster_templates

    rng = np.random.default_rng(31)
    words = ["river", "garden", "budget", "poem", "chess", "market", "violin", "castle", "desert", "lamp"]
    rows = []
    for i in range(12):
        for k in range(5):
            fill = " ".join(words[j] for j in rng.integers(0, len(words), 3))
            rows.append((f"fleet{i}", FRAMEWORK + (FLEET_A if (i + k) % 2 else FLEET_B).format(fill, k)))
    rows += [(f"dev{i}", FRAMEWORK + f"what is the weather in {words[i]} tomorrow") for i in range(3)]
    prompts = pl.DataFrame(rows, schema=["account_id", "prompt"], orient="row")
    texts = [t.text() for t in cluster_templates(pl.DataFrame({"kind": [], "value": []}, schema={
        "kind": pl.String, "value": pl.String}), prompts)]
    for fleet in (FLEET_A, FLEET_B):
        own = fleet.split(":")[0]
        shown = [t for t in texts if own in t]
        assert shown and shown[0].startswith("You are OrbitAgent") and "User: " + own in shown[0], texts


def test_the_report_and_the_notebook_show_the_same_templates(tmp_path):
    import numpy as np

    import graphlink
    from tests.test_detection_classes import Log, add_people, add_ring

    rng = np.random.default_rng(7)
    log = Log()
    add_ring(log, rng, "fleet", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], FRAMEWORK + FLEET_A)
    add_people(log, rng, 60)
    tmp_path.mkdir(exist_ok=True)
    log.frame().write_parquet(tmp_path / "events.parquet")
    out = tmp_path / "out"
    done = runner.invoke(app, ["detect", str(tmp_path / "events.parquet"), "--out", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    fleet = pl.read_parquet(out / "accounts.parquet").filter(pl.col("account_id") == "fleet0")["cluster_id"][0]
    notebook = graphlink.load(out).cluster(fleet).templates()
    assert notebook and any("Reason through this exercise" in t.text() for t in notebook)  # past 500 characters
    assert runner.invoke(app, ["report", str(out), "--quiet", "--no-plots", "--static"]).exit_code == 0
    page = (out / "report.html").read_text()
    section = page[page.index(f'id="cluster-{fleet}"'):]
    section = section[:section.index("</section>")]
    import html

    shown = [html.unescape(re.sub(r"<[^>]+>", "", d)) for d in re.findall(r'<div class="template">(.*?)</div>',
                                                                           section, re.S)]
    assert shown == ["".join(p for p, _ in t.parts) for t in notebook]  # the parts concatenate (session 41)


# -- evidence quotes the logged text ---------------------------------------------------------------------------------

CAMEL = "You are OrbitAgent; use the OrbitKit tool-runner, step-by-step: {} ({}). Show every intermediate result!"


def test_prompt_evidence_quotes_the_logged_text_so_a_search_of_the_log_finds_it():
    """'Orbit Agent' was quoted for the logged 'OrbitAgent' (and 'step by step' for 'step-by-step'): normalisation
    is for comparing, not for display."""
    import numpy as np

    from graphlink.contract import why_reasons
    from tests.test_detection_classes import Log, add_people, add_ring

    rng = np.random.default_rng(5)
    log = Log()
    ring = add_ring(log, rng, "orbit", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], CAMEL)
    add_people(log, rng, 60)
    result = run(log)
    logged = "\x00".join(log.frame()["prompt"].drop_nulls().unique().to_list())
    values = result.evidence.filter(pl.col("kind") == "prompt")["value"].to_list()
    assert values and all(v in logged for v in values), [v for v in values if v not in logged]
    # (The phrases kept run along the template from its start (session 42): "tool-runner" stands for the hyphens.)
    assert any("OrbitAgent" in v for v in values) and any("tool-runner" in v for v in values)
    assert not any("Orbit Agent" in v or "step by step" in v or "tool runner" in v for v in values)
    shingles = result.templates["shingle"].unique().to_list() if result.templates is not None else []
    assert all(s in logged for s in shingles)
    # A quote holding "; " (punctuation kept) stays inside its reason of the why.
    row = cluster_row(result, ring[0])
    reasons = why_reasons(row["why"])
    quoted = [r for r in reasons if "templated (" in r]
    assert quoted and all(r.endswith('")') for r in quoted), reasons


# -- match reads a prompt as detect reads it ------------------------------------------------------------------------

def test_match_reads_a_template_behind_a_framework_prompt_as_detect_does(tmp_path):
    """Detect reads a long prompt past the head other accounts' long prompts share (a framework's system prompt);
    match read only the first 64 words, the framework's, which ordinary people send too: a ring newcomer through one
    address of the ring's pool, wrapping the ring's template in the framework's prompt, was not matched."""
    import datetime as dt
    import random
    from datetime import timedelta

    import graphlink
    from tests.test_match_templates import COLUMNS, N_PEOPLE, TEMPLATE, WORDS, free_text, once_through_the_pool

    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    rng = random.Random(7)

    def wrapped(own: str) -> str:
        return FRAMEWORK + own

    def ring_prompt() -> str:
        return wrapped(TEMPLATE.format(" ".join(rng.choice(WORDS) for _ in range(3))))

    assert len(FRAMEWORK.split()) > 64  # the ring's template lies past the first 64 words
    rows = [(a, "card-ring", f"203.0.113.{i % 3 + 1}", "curl/8.0", t0 + timedelta(days=d, hours=h, minutes=i),
             ring_prompt()) for i, a in enumerate(f"ring{i}" for i in range(6)) for d in range(3) for h in (2, 3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", t0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i),
              wrapped(free_text(rng)) if i % 2 else free_text(rng))  # half of them use the framework too
             for i, p in enumerate(f"person{i:02d}" for i in range(N_PEOPLE)) for d in range(3)]
    known = graphlink.detect(pl.DataFrame(rows, schema=COLUMNS, orient="row"), seed=1).save(tmp_path / "known")
    ring = pl.read_parquet(known / "accounts.parquet").filter(pl.col("account_id").str.starts_with("ring"))
    assert ring["cluster_id"].null_count() == 0 and ring["cluster_id"].n_unique() == 1
    new = [(f"new{i:02d}", f"card-new{i}", once_through_the_pool(i, k), "Go-http-client/2.0",
            t0 + timedelta(days=5, hours=h, minutes=k), ring_prompt())
           for i in range(10) for k, h in enumerate((9, 15, 20))]
    # The framework's users of day two, asking their own questions behind its prompt: the head ends where they differ.
    new += [(f"dev{i}", f"card-dev{i}", f"10.9.{i}.1", "Mozilla/5.0", t0 + timedelta(days=5, hours=10 + k, minutes=i),
             wrapped(free_text(rng))) for i in range(6) for k in range(3)]
    matches = graphlink.match(known, pl.DataFrame(new, schema=COLUMNS, orient="row")).matches
    fleet = matches.filter(pl.col("account_id").str.starts_with("new"))
    assert fleet["cluster_id"].to_list() == [ring["cluster_id"][0]] * 10
    assert fleet["why"].str.contains("templates").all()
    assert matches.filter(pl.col("account_id").str.starts_with("dev"))["cluster_id"].null_count() == 6


def test_match_shingles_a_long_prompt_with_detects_reading_of_it():
    """The words match shingles are detect's (graphlink.stages.signals.shared_heads): a head shared by two accounts'
    long prompts is read past, no shingle spans the cut, a lone long prompt is read from its start."""
    from graphlink.stages.match_templates import prompt_shingles
    from graphlink.stages.signals.shared_heads import CUT

    tail_a, tail_b = "reason through this exercise carefully now", "return a json object with keys"
    prompts = pl.DataFrame({"account_id": ["a", "b", "c"],
                            "prompt": [FRAMEWORK + tail_a, FRAMEWORK + tail_b, "lone " + FRAMEWORK + "lone tail words"]})
    grams = prompt_shingles(prompts, 5, 64, 10)
    values = set(grams["value"])
    assert "reason through this exercise carefully" in values and "return a json object with" in values
    assert not any(CUT in v for v in values)
    assert "lone tail words" not in " ".join(grams.filter(pl.col("account_id") == "c")["value"])
