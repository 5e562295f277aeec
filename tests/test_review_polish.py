"""Review items on what investigators read: README's score formula, wording, paths, rendering."""

from __future__ import annotations

import re
from pathlib import Path

from graphlink.config import ScoringConfig
from graphlink.contract import COORDINATION, EVASION
from tests._report_worlds import world, world_session  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent


def test_readme_score_formula_states_the_code_weights():
    """README's score formula lists every component with the weight ScoringConfig gives it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    header = re.search(r"^\| component \| (`.*`) \|$", readme, re.M)
    weights = re.search(r"^\| weight `w` \| (.*) \|$", readme, re.M)
    assert header and weights, "README has no component weight table"
    names = [n.strip().strip("`") for n in header.group(1).split("|")]
    values = [float(v) for v in weights.group(1).split("|")]
    config = ScoringConfig()
    assert dict(zip(names, values)) == dict(config.component_weights)
    assert set(names) == set(COORDINATION) | set(EVASION)
    assert f"× (1 − {config.org_discount:g} × org_coherence × (1 − tooling))" in readme


def test_counted_nouns_agree_with_their_count(tmp_path):
    """'1 seed', '1 event had', '1 cluster kept': one helper (graphlink.views.words) for every counted noun."""
    import graphlink
    import polars as pl
    from typer.testing import CliRunner

    from graphlink.cli import app
    from graphlink.cli_support import read_summary
    from graphlink.views.report.tables import history_text
    from graphlink.views.terminal import previous_summary
    from graphlink.views.words import plural

    assert [plural(1, "seed"), plural(2, "seed"), plural(0, "account"), plural(1_000, "event")] == \
        ["1 seed", "2 seeds", "0 accounts", "1,000 events"]
    assert read_summary({"rows_read": 1, "rows_kept": 1, "rejected": {}}, 1, 1) == [
        "read 1 event (1 kept; rejected none) from 1 account", "1 event had an invalid IP (kept for other signals)"]
    assert previous_summary({"matched": 1, "new": 0, "new_ids": [], "vanished": 0, "vanished_ids": [],
                             "later_seconds": None}).startswith("vs previous run: 1 cluster kept their id")
    assert "1 new member since" in history_text({"runs": 2, "since": None, "new_members": 1, "quiet_members": None})
    ring = [f"ring{i}" for i in range(6)]
    events = pl.DataFrame({"account_id": ring * 2 + ["loner"], "payment_fingerprint": ["card"] * 12 + ["own"],
                           "ip": ["203.0.113.9"] * 13})
    known = graphlink.detect(events, seed=1).save(tmp_path / "known")
    said = CliRunner().invoke(app, ["expand", str(known), "-s", "ring0"])
    assert said.exit_code == 0, said.output
    assert " tied to 1 seed (in 1 cluster)" in said.output and "1 seeds" not in said.output


def test_report_finds_the_events_from_another_directory_and_warns_when_they_are_gone(tmp_path, monkeypatch):
    """run.json records the events file absolutely (and as typed); a missing file is one warning line."""
    import json

    from typer.testing import CliRunner

    from graphlink.cli import app
    from tests._report_worlds import make_events

    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir(), elsewhere.mkdir()
    make_events().write_parquet(work / "events.parquet")
    runner = CliRunner()
    monkeypatch.chdir(work)
    done = runner.invoke(app, ["detect", "events.parquet", "--out", "out", "--threshold", "0", "-q"])
    assert done.exit_code == 0, done.output
    recorded = json.loads((work / "out" / "run.json").read_text())["inputs"]["events"]
    assert recorded == {**recorded, "path": str((work / "events.parquet").resolve()), "given": "events.parquet"}
    monkeypatch.chdir(elsewhere)
    shown = runner.invoke(app, ["report", str(work / "out"), "--static", "--no-plots"])
    assert shown.exit_code == 0, shown.output
    assert "warning" not in shown.output
    html = (work / "out" / "report.html").read_text()
    assert "Acts on a clock" in html or "No repeating schedule" in html
    (work / "events.parquet").rename(work / "moved.parquet")
    shown = runner.invoke(app, ["report", str(work / "out"), "--static", "--no-plots"])
    assert shown.exit_code == 0, shown.output
    warnings = [line for line in shown.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "events file" in warnings[0] and "events.parquet" in warnings[0]
    html = (work / "out" / "report.html").read_text()
    assert "Schedules and example prompts are not shown: the events file" in html
    assert "Acts on a clock" not in html and "No repeating schedule" not in html


def test_identical_rerun_is_not_another_run_in_the_history(tmp_path):
    """``runs`` counts distinct logs: rerunning detect on the same log into the same folder (--previous it)
    keeps the history as it was; a later log advances it once, and rerunning that keeps it."""
    import polars as pl
    from typer.testing import CliRunner

    from graphlink.cli import app
    from tests._report_worlds import make_events

    day1, day2 = tmp_path / "day1.parquet", tmp_path / "day2.parquet"
    events = make_events()
    events.write_parquet(day1)
    pl.concat([events, events.with_columns(pl.col("timestamp") + pl.duration(days=7))]).write_parquet(day2)
    out, runner = tmp_path / "out", CliRunner()

    def detect(log):
        done = runner.invoke(app, ["detect", str(log), "--out", str(out), "--previous", str(out), "-q"]
                             if out.exists() else ["detect", str(log), "--out", str(out), "-q"])
        assert done.exit_code == 0, done.output
        return pl.read_parquet(out / "clusters.parquet").sort("cluster_id")

    first = detect(day1)
    assert first.height and (first["runs"] == 1).all()
    again = detect(day1)
    assert again.select("cluster_id", "runs", "since").equals(first.select("cluster_id", "runs", "since"))
    later = detect(day2)
    assert later.filter(pl.col("cluster_id").is_in(first["cluster_id"].implode()))["runs"].max() == 2
    rerun = detect(day2)
    assert rerun.select("cluster_id", "runs").equals(later.select("cluster_id", "runs"))
    shown = runner.invoke(app, ["detect", str(day2), "--out", str(out), "--previous", str(out)])
    assert "the same log as the previous run" in shown.output


def test_report_spells_out_invisible_and_control_characters_and_still_escapes(tmp_path):
    """Account ids, prompts and user agents with bidi overrides, zero-width and control characters are
    shown as ⟨U+XXXX⟩ / U+FFFD in the page and in the network hover data; HTML stays escaped."""
    import json
    import re

    import polars as pl

    from graphlink.config import PipelineConfig, ScoringConfig
    from graphlink.pipeline import run_detect
    from graphlink.store.outputs import write_outputs
    from graphlink.views.report import ReportOptions, write_report
    from tests._report_worlds import make_events

    hostile = {"ringA-00": "ringA-00\u202egpj.exe", "ringA-01": "ringA\u200b-01", "ringA-02": "ringA-02\x1b[2J<b>"}
    events = make_events().with_columns(
        pl.col("account_id").replace(hostile),
        pl.when(pl.col("account_id") == "ringA-03").then(pl.lit("curl/8.0\u2066 \u200d")).otherwise("user_agent")
        .alias("user_agent"))
    import dataclasses

    config = dataclasses.replace(PipelineConfig(), scoring=ScoringConfig(flag_threshold=0.0))
    out = write_outputs(run_detect(events, config=config), tmp_path / "out")
    html = write_report(out, options=ReportOptions(plots=False, events=False)).path.read_text(encoding="utf-8")
    page = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # the vendored Cytoscape.js has its own \u200b
    for char in ("\u202e", "\u200b", "\u2066", "\u200d", "\x1b"):
        assert char not in page
    assert "ringA-00⟨U+202E⟩gpj.exe" in page and "ringA⟨U+200B⟩-01" in page
    assert "ringA-02⟨U+001B⟩[2J&lt;b&gt;" in page and "[2J<b>" not in page
    graphs = [json.loads(g) for g in re.findall(r'<script type="application/json" id="graph-\d+">(.*?)</script>',
                                                html, re.S)]
    tips = " ".join(node["tip"] for graph in graphs for node in graph["nodes"])
    assert "⟨U+202E⟩" in tips and "\u202e" not in tips


def _clocked_ring_run(tmp_path):
    """Eight accounts on one card acting in the same 30 minutes (14:00-15:00 UTC, two days); 30 people at random."""
    from datetime import datetime, timedelta, timezone

    import numpy as np
    import polars as pl

    import graphlink

    start = datetime(2025, 3, 3, 14, 0, 5, tzinfo=timezone.utc)
    minutes = [start + timedelta(days=d, minutes=2 * k) for d in (0, 1) for k in range(15)]
    rng = np.random.default_rng(4)
    rows = [(f"ring{i}", t, "card-ring") for i in range(8) for t in minutes]
    rows += [(f"user{j:02d}", start + timedelta(seconds=int(s)), f"card{j}")
             for j in range(30) for s in rng.integers(0, 20 * 86400, 12)]
    events = pl.DataFrame(rows, schema=["account_id", "timestamp", "payment_fingerprint"], orient="row")
    return graphlink.detect(events, seed=1).save(tmp_path / "out")


def test_timing_evidence_says_who_acts_together_and_when_not_a_band_hash(tmp_path):
    """report, show, the case file and why() quote a timing value by its meaning (members, shared
    windows, the hours all of them act), not as 'band 3: <hash>'."""
    import json
    import re

    import polars as pl
    from typer.testing import CliRunner

    import graphlink
    from graphlink.cli import app
    from graphlink.views.report import ReportOptions, write_report

    out = _clocked_ring_run(tmp_path)
    timing = pl.read_parquet(out / "evidence.parquet").filter(pl.col("kind") == "timing")
    assert timing.height and timing["value"].str.starts_with("band ").all()  # detection output unchanged
    cluster = int(timing["cluster_id"][0])
    meaning = "8 members active in the same 60-second windows; hours when all of them act: 14:00–15:00 UTC, " \
              "on 2 days from 2025-03-03 to 2025-03-04"
    html = write_report(out, options=ReportOptions(plots=False, interactive=False)).path.read_text()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert meaning in cells and not any(c.startswith("band ") for c in cells)
    shown = CliRunner().invoke(app, ["show", str(out), str(cluster)])
    assert meaning in shown.output and "band " not in shown.output
    case = json.loads(CliRunner().invoke(app, ["show", str(out), str(cluster), "--json"]).stdout)
    assert {e["meaning"] for e in case["evidence"] if e["kind"] == "timing"} == {meaning}
    why = graphlink.load(out).cluster(cluster).why()
    assert f"activity signature: {meaning}" in why and "band " not in why
    exported = CliRunner().invoke(app, ["export", str(out), "--format", "json", "--clusters", str(cluster)])
    assert exported.exit_code == 0, exported.output
    case_file = json.loads((out / "cases" / f"cluster-{cluster}.json").read_text())
    assert {e["meaning"] for e in case_file["evidence"] if e["kind"] == "timing"} == {meaning}


def test_report_is_the_same_drawn_here_or_in_helper_processes(world, monkeypatch):
    """Plots drawn by a helper process (graphlink.views.report.figures) give the very same report bytes,
    and a helper that cannot start is replaced by drawing here."""
    from datetime import datetime, timezone

    from graphlink.views.report import ReportOptions, write_report
    from graphlink.views.report import figures

    when = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def report(workers):
        path = world / f"report-{workers}.html"
        write_report(world, path, options=ReportOptions(interactive=False, workers=workers), generated_at=when)
        return path.read_bytes()

    here = report(0)
    assert b"data:image/png;base64," in here
    assert report(2) == here
    monkeypatch.setattr(figures.sys, "executable", "/nonexistent/python")
    assert report(1) == here
    monkeypatch.undo()
    assert figures.plot_workers(3) == 0 and figures.plot_workers(40, requested=2) == 2
    # The helper itself (not its fallback) draws what this process draws.
    import pickle
    import subprocess
    import sys

    from graphlink.store.outputs import load_outputs

    outputs = load_outputs(world, "all")
    jobs = [(c, outputs.cluster_activity(c), outputs.cluster_memberships(c), 150, 0) for c in outputs.selected[:1]]
    done = subprocess.run([sys.executable, "-m", "graphlink.views.report.figures"], input=pickle.dumps(jobs),
                          capture_output=True, check=True)
    assert pickle.loads(done.stdout) == {job[0]: figures.section_plots(*job) for job in jobs}
