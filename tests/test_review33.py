"""Session 33's new-user review of the investigator's views (issue 17): an unflagged cluster scoring the threshold says
why it is not flagged, ``timing_sync`` reads 0 (not n/a) when the input has timestamps, an unmapped timestamp column
is warned about, templates of scripts written without spaces, and small wording and ordering fixes.

Worlds: the fixture log (``fixtures/``) detected with a ``min_flag_size`` no campaign reaches, so that its loud
clusters score the threshold and stay unflagged; small hand-written logs for the rest.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


@pytest.fixture(scope="module")
def too_small(tmp_path_factory) -> Path:
    """The fixture log detected with ``min_flag_size`` above every campaign's accounts: nothing is flagged."""
    import graphlink
    from graphlink.config import PipelineConfig

    base = PipelineConfig()
    config = replace(base, scoring=replace(base.scoring, min_flag_size=100_000))
    return graphlink.detect(FIXTURES / "events.parquet", FIXTURES / "accounts.parquet", config=config).save(
        tmp_path_factory.mktemp("review33") / "out")


# -- 1. an unflagged cluster at or above the threshold says why it is not flagged ------------------------------------

def test_an_unflagged_cluster_scoring_the_threshold_says_why_everywhere(too_small, tmp_path):
    from graphlink.views.export import export
    from graphlink.views.report import ReportOptions, write_report

    out = Path(shutil.copytree(too_small, tmp_path / "out"))
    clusters = pl.read_parquet(out / "clusters.parquet")
    campaigns = pl.read_parquet(out / "campaigns.parquet")
    high = clusters.filter(pl.col("score") >= 0.6).sort("score", descending=True)
    assert high.height and not clusters["flagged"].any()
    top = high.row(0, named=True)
    accounts = campaigns.filter(pl.col("campaign_id") == top["campaign_id"])["accounts"][0]
    shown = json.loads(runner.invoke(app, ["show", str(out), str(top["cluster_id"]), "--json"]).output)
    note = shown["score_note"]
    assert note.startswith("not flagged") and "min_flag_size 100000" in note and f"{accounts:,}" in note
    assert shown["flagged_with"] is None
    text = runner.invoke(app, ["show", str(out), str(top["cluster_id"])]).output
    assert note in " ".join(text.split())
    export(out, "json", clusters=[top["cluster_id"]], out=tmp_path / "cases")
    case = json.loads(next((tmp_path / "cases").rglob("*.json")).read_text())
    assert case["score_note"] == note
    export(out, "csv", clusters=[top["cluster_id"]], out=tmp_path / "csv")
    with open(next((tmp_path / "csv").rglob("members.csv")), newline="") as f:
        assert {r["score_note"] for r in csv.DictReader(f)} == {note}
    # Below the threshold: nothing to explain.
    low = clusters.filter(pl.col("score") < 0.6)
    if low.height:
        below = json.loads(runner.invoke(app, ["show", str(out), str(low["cluster_id"][0]), "--json"]).output)
        assert below["score_note"] == ""
    info = write_report(out, options=ReportOptions(max_sections=0, max_unflagged_sections=high.height, plots=False,
                                                   interactive=False, events=False))
    page = html.unescape(info.path.read_text())
    assert note in page
    sentence = page[page.index("not flagged have a section"):][:600]
    assert "below the flag threshold" not in sentence.split(";")[0] or "except" in sentence
    assert "min_flag_size" in sentence


# -- 2. timing_sync is 0, not n/a, when the input has timestamps ------------------------------------------------------

def test_timing_sync_is_zero_with_timestamps_and_null_only_without(too_small, tmp_path):
    import graphlink

    clusters = pl.read_parquet(too_small / "clusters.parquet")
    assert clusters["timing_sync"].null_count() == 0  # the fixture log has timestamps
    assert (clusters["timing_sync"] == 0).any()  # ... and clusters whose members share no clock
    zero = clusters.filter(pl.col("timing_sync") == 0)["cluster_id"][0]
    shown = runner.invoke(app, ["show", str(too_small), str(zero)]).output
    label = "same-minute activity"  # timing_sync as show names it (graphlink.contract.COMPONENT_LABELS)
    assert label in shown and not any(label in line and "n/a" in line for line in shown.splitlines())
    events = pl.read_parquet(FIXTURES / "events.parquet").drop("timestamp")
    untimed = graphlink.detect(events).save(tmp_path / "untimed")
    assert pl.read_parquet(untimed / "clusters.parquet")["timing_sync"].null_count() == \
        pl.read_parquet(untimed / "clusters.parquet").height


# -- 3. an unmapped timestamp column is warned about ------------------------------------------------------------------

def _renamed_log(path: Path, time_column: str) -> Path:
    """The first 2,000 fixture events as a CSV with ``user`` for ``account_id`` and the time under another name."""
    events = pl.read_parquet(FIXTURES / "events.parquet").head(2000)
    events.select(pl.col("account_id").alias("user"), pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                  .alias(time_column), "ip", "payment_fingerprint", "prompt").write_csv(path)
    return path


@pytest.mark.parametrize("time_column", ["ts", "moment"])  # a name that reads like a time; values that parse as times
def test_an_unmapped_time_column_is_warned_about_naming_the_fix(tmp_path, time_column):
    log = _renamed_log(tmp_path / "log.csv", time_column)
    done = runner.invoke(app, ["detect", str(log), "--map", "account_id=user", "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    warnings = json.loads((tmp_path / "out" / "run.json").read_text())["warnings"]
    hinted = [w for w in warnings if f"--map timestamp={time_column}" in w]
    assert len(hinted) == 1 and repr(time_column) in hinted[0]
    assert f"--map timestamp={time_column}" in " ".join(done.output.split())
    # Mapped, it is read and nothing is said.
    mapped = runner.invoke(app, ["detect", str(log), "--map", "account_id=user", "--map", f"timestamp={time_column}",
                                 "--out", str(tmp_path / "mapped")])
    assert mapped.exit_code == 0, mapped.output
    assert not [w for w in json.loads((tmp_path / "mapped" / "run.json").read_text())["warnings"] if "--map timestamp" in w]


def test_a_log_with_no_time_like_column_gets_no_timestamp_warning(tmp_path):
    events = pl.read_parquet(FIXTURES / "events.parquet").head(2000).drop("timestamp")
    events.write_csv(tmp_path / "log.csv")
    done = runner.invoke(app, ["detect", str(tmp_path / "log.csv"), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert not [w for w in json.loads((tmp_path / "out" / "run.json").read_text())["warnings"] if "timestamp" in w]


# -- 4. templates of scripts written without spaces -------------------------------------------------------------------

JAPANESE = ["あなたは優秀な家庭教師です。次の{}の課題を、思考の流れがすべて見えるように番号付きの手順で丁寧に解説してください。"
            "省略は禁止です。課題：ある{}を計算せよ。".format(topic, thing)
            for topic, thing in [("algebra", "数列"), ("SQL optimisation", "化合物"), ("contract law", "契約"),
                                 ("thermodynamics", "グラフ"), ("Rust", "関数"), ("biology", "細胞")]]


def test_template_view_reads_a_spaceless_script_by_characters_as_detection_does():
    from graphlink.stages.signals.normalise import normalise_prompt
    from graphlink.views.templates import tokenise

    for text in JAPANESE + ["請把下面這段話翻譯成英文：Hello", "ภาษาไทย ทดสอบ", "YouAreAnExpert, step-by-step!"]:
        normalised = pl.DataFrame({"p": [text]}).select(normalise_prompt(pl.col("p")))["p"][0].split()
        tokens = tokenise(text)
        assert len(tokens) == len(normalised), text
        assert all(text[a:b].lower() == w or w == "0" for w, a, b in tokens)


def test_a_japanese_template_is_rebuilt_with_an_example_from_prompts_and_from_shingles_alone():
    from graphlink.views.templates import reconstruct_templates

    prompts = [(f"acct{i}", p) for i, p in enumerate(JAPANESE)]
    templates = reconstruct_templates(prompts=prompts)
    assert templates and templates[0].example in JAPANESE and templates[0].accounts == len(JAPANESE)
    text = templates[0].text()
    assert "あなたは優秀な家庭教師です。次の" in text and "⟨…⟩" in text and "手順で丁寧に解説してください" in text
    # From the evidence's shingles alone (5 characters each, as detect quotes them): no spaces put between characters.
    head = JAPANESE[0][:20]
    shingles = [head[i:i + 5] for i in range(len(head) - 4)]
    alone = reconstruct_templates(shingles=shingles)
    assert alone and "あなたは優秀な家庭教師" in alone[0].text()


def test_a_burst_of_a_spaceless_script_is_named_as_the_prompt_evidence_quotes_it():
    from graphlink.stages.burst_templates import prompt_openings
    from graphlink.stages.signals.normalise import normalise_prompt

    norm = pl.DataFrame({"p": [JAPANESE[0], "Explain step by step how to fix it"]}).select(
        normalise_prompt(pl.col("p")))["p"]
    texts = pl.DataFrame({"text_hash": pl.Series([1, 2], dtype=pl.UInt64), "norm": norm})
    shingles = pl.DataFrame({"text_hash": pl.Series([1, 2], dtype=pl.UInt64), "pos": pl.Series([0, 0], dtype=pl.UInt32),
                             "shingle_hash": pl.Series([11, 12], dtype=pl.UInt64)})
    keys = pl.DataFrame({"key": pl.Series([1, 2], dtype=pl.UInt64), "text_hash": pl.Series([1, 2], dtype=pl.UInt64)})
    _, named = prompt_openings(shingles, keys, texts, 5)
    assert set(named["opening"].to_list()) == {"あなたは優", "explain step by step how"}


# -- 5. small: "N more" says what to pass, config typos get a suggestion, one order of kinds --------------------------

def test_show_says_how_many_more_and_the_value_that_lists_them(too_small):
    clusters = pl.read_parquet(too_small / "clusters.parquet")
    evidence = pl.read_parquet(too_small / "evidence.parquet").filter(pl.col("weight") > 0)
    counts = evidence.group_by("cluster_id").len().filter(pl.col("len") > 3).sort("len", descending=True)
    cid, total = counts.row(0)
    shown = runner.invoke(app, ["show", str(too_small), str(cid), "--evidence", "2"]).output
    heading = next(line for line in shown.splitlines() if line.startswith("# Shared evidence"))
    assert f"{total - 2} more: --evidence {total}" in heading
    assert "((" not in heading and not any(line.count("(") > 1 and "more (" in line for line in shown.splitlines())
    every = runner.invoke(app, ["show", str(too_small), str(cid), "--evidence", str(total)]).output
    block = every[every.index("# Shared evidence"):].split("\n# ")[0].splitlines()
    assert "more: --evidence" not in block[0] and len([r for r in block[2:] if r.strip()]) == total
    assert clusters.height


@pytest.mark.parametrize("toml, expected", [
    ("[scoring]\nflag_treshold = 0.5\n", ["flag_treshold", "did you mean flag_threshold?", "min_flag_size"]),
    ("[scorng]\nflag_threshold = 0.5\n", ["scorng", "did you mean scoring?", "communities", "signals"]),
    ("[scoring]\nresolution = 0.5\n", ["resolution", "[communities]"]),
    ("[kinds.ip]\nwieght = 2.0\n", ["wieght", "did you mean weight?"]),
])
def test_a_config_typo_gets_the_name_it_resembles_and_the_valid_names(tmp_path, toml, expected):
    from graphlink.config import build_config
    from graphlink.errors import ConfigError

    path = tmp_path / "graphlink.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        build_config(toml=path)
    assert all(text in str(err.value) for text in expected), str(err.value)


def test_kinds_are_ordered_alike_in_clusters_parquet_show_and_the_notebooks_why():
    from graphlink.stages.evidence import evidence_summary
    from graphlink.views.evidence import evidence_by_kind, strongest_first
    from graphlink.config.kinds import kind_name
    from graphlink.views.explain import why_text

    # ip and timing tie on strength (weight x members), timing with more values: the tie is broken one way everywhere.
    ev = pl.DataFrame({"cluster_id": [1] * 6, "kind": ["timing", "timing", "timing", "ip", "payment", "prompt"],
                       "value": ["t1", "t2", "t3", "1.2.3.4", "card", "a b c d e"],
                       "accounts_sharing": pl.Series([6, 5, 4, 6, 2, 3], dtype=pl.UInt32),
                       "weight": [0.5, 0.4, 0.3, 0.5, 2.0, 0.1], "df": pl.Series([6, 5, 4, 6, 3, 30], dtype=pl.UInt32)})
    kinds = evidence_summary(ev)[0]["kinds"][0].to_list()
    assert list(dict.fromkeys(strongest_first(ev)["kind"])) == kinds
    assert [g.kind for g in evidence_by_kind(ev)] == kinds
    row = {"cluster_id": 1, "size": 8, "score": 0.7, "flagged": True, "kinds": kinds, "why": "x"}
    lines = [line for line in why_text(row, ev, 0.6, 5).splitlines() if line.startswith("  - ")]
    labels = [next(k for k in kinds if f"share {kind_name(k)} " in line or f"share {kind_name(k)}:" in line) for line in lines]
    assert labels == kinds


def test_cluster_view_evidence_is_listed_strongest_first_as_show_lists_it(too_small):
    import graphlink

    result = graphlink.load(too_small)
    cid = pl.read_parquet(too_small / "clusters.parquet").sort("size", descending=True)["cluster_id"][0]
    view = result.cluster(cid).evidence.filter(pl.col("weight") > 0)
    shown = json.loads(runner.invoke(app, ["show", str(too_small), str(cid), "--json", "--evidence", "1000"]).output)
    assert [(e["kind"], e["value"]) for e in shown["evidence"]] == list(zip(view["kind"], view["value"]))
