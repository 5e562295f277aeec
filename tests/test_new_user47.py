"""New-user review, session 47: what a trust-and-safety investigator met following the README on the fixture."""

from __future__ import annotations

import json
import re
import shlex

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


def test_every_command_detect_suggests_next_runs(tmp_path, fixture_cli_detect):  # the fixture's run: the session's
    # got: "next: ... graphlink export out (...)", a usage error (exit 2): export's --format is required; and no word
    # of graphlink campaign, though the first cluster is one of its operator's several
    out = tmp_path / "out"
    detected = runner.invoke(app, ["detect", str(FIXTURES / "events.parquet"), "--accounts",
                                   str(FIXTURES / "accounts.parquet"), "--out", str(out), "--top", "1"],
                             env={"COLUMNS": "400"})
    assert detected.exit_code == 0, detected.output
    line = " ".join(re.search(r"next: (.*)", detected.output, re.S).group(1).split())
    commands = re.findall(r"(graphlink \S+ .*?) \(", line)
    assert [shlex.split(c)[1] for c in commands] == ["show", "campaign", "report", "export"]
    for command in commands:
        words = shlex.split(command)[1:]
        if words[0] == "report":
            continue  # drawing the report takes seconds; its command line is DIR alone
        ran = runner.invoke(app, words + ["-q"])
        assert ran.exit_code == 0, (command, ran.output)


@pytest.mark.parametrize("given", ["1", 1.0, True, None])
def test_result_campaign_says_an_id_is_no_integer(fixture_detected, given):
    # got: "1" a polars ComputeError; None a polars UserWarning and "no campaign None"; 1.0 and True campaign 1
    result = graphlink.load(fixture_detected)
    with pytest.raises(graphlink.GraphlinkError, match="campaign id must be an integer"):
        result.campaign(given)


def test_campaign_says_which_cluster_its_score_is(fixture_detected):
    # got: "score 1.000" alone: which of its cells scores that, or was it scored as a whole?
    camps = pl.read_parquet(fixture_detected / "campaigns.parquet")
    camp = camps.sort(pl.col("clusters").list.len(), "campaign_id", descending=[True, False]).row(0, named=True)
    clusters = pl.read_parquet(fixture_detected / "clusters.parquet").filter(
        pl.col("campaign_id") == camp["campaign_id"]).sort(["score", "cluster_id"], descending=[True, False])
    best = clusters["cluster_id"][0]
    doc = json.loads(runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json"]).stdout)
    assert doc["campaign"]["score_from"] == f"cluster {best}'s, the highest of its clusters"
    shown = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"])], env={"COLUMNS": "300"})
    assert f"score {camp['score']:.3f} (cluster {best}'s, the highest of its clusters)" in shown.output


def test_campaign_lists_the_values_tying_its_clusters(fixture_detected):
    # got: "tied by 183 prompt phrases, 69 IP addresses" and no command, file or report section naming one of them
    camps = pl.read_parquet(fixture_detected / "campaigns.parquet")
    camp = camps.sort(pl.col("clusters").list.len(), "campaign_id", descending=[True, False]).row(0, named=True)
    ran = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json"])
    assert ran.exit_code == 0, ran.output
    ties = json.loads(ran.stdout)["ties"]
    assert ties and all(len(t["clusters"]) >= 2 and set(t["clusters"]) <= set(camp["clusters"]) for t in ties)
    ips = int(re.search(r"tied by .*?([\d,]+) IP addresses", camp["why"]).group(1).replace(",", ""))
    assert sum(t["kind"] == "ip" for t in ties) == ips  # the why's count, value by value
    # each listed address is held by members of the clusters it names, as many as it says
    accounts = pl.read_parquet(fixture_detected / "accounts.parquet")
    linking = pl.read_parquet(fixture_detected / "linking.parquet")
    top = next(t for t in ties if t["kind"] == "ip")
    holders = linking.filter((pl.col("kind") == "ip") & (pl.col("value") == top["value"])).join(
        accounts.filter(pl.col("campaign_id") == camp["campaign_id"]).select("account_id", pl.col("cluster_id").alias("c")),
        on="account_id")
    assert (sorted(holders["c"].unique().to_list()), holders["account_id"].n_unique()) == (top["clusters"],
                                                                                        top["accounts"])
    shown = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"])], env={"COLUMNS": "300"})
    assert "values tying its clusters" in shown.output and top["value"] in shown.output


def test_campaign_says_what_each_flag_rests_on_as_detect_and_show_do(fixture_detected):
    # got: "flagged" or "" per cluster, where detect's table, show and the report say "own evidence", "with cluster N"
    camps = pl.read_parquet(fixture_detected / "campaigns.parquet")
    camp = camps.sort(pl.col("clusters").list.len(), "campaign_id", descending=[True, False]).row(0, named=True)
    doc = json.loads(runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json"]).stdout)
    assert [c["flag"] for c in doc["clusters"]] == ["own evidence" if c["flagged"] else "" for c in doc["clusters"]]
    assert graphlink.load(fixture_detected).campaign(camp["campaign_id"])[1]["flag"].to_list() == [
        c["flag"] for c in doc["clusters"]]  # the notebook says the same
    shown = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"])], env={"COLUMNS": "300"})
    heading = runner.invoke(app, ["show", str(fixture_detected), str(doc["clusters"][0]["cluster_id"]), "--members", "0",
                                  "--evidence", "0", "--no-templates"], env={"COLUMNS": "300"}).output.splitlines()[0]
    assert "flagged on its own evidence" in heading and "own evidence" in shown.output


def test_report_help_says_which_campaigns_it_lists():
    # got: "flagged ones first, by score, then the rest": the report leaves unflagged one-cluster campaigns to the
    # cluster table ("117 unflagged campaigns of one cluster each not listed")
    text = " ".join(runner.invoke(app, ["report", "--help"]).stdout.split())
    assert "then the others of two or more clusters" in text and "then the rest" not in text


def test_campaign_redact_hashes_the_tying_addresses_and_cards(fixture_detected):
    # the values tying a campaign's clusters are cards and addresses: --redact hashes them, as show --redact does
    camps = pl.read_parquet(fixture_detected / "campaigns.parquet")
    camp = camps.sort(pl.col("clusters").list.len(), "campaign_id", descending=[True, False]).row(0, named=True)
    plain = json.loads(runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json"]).stdout)
    raw = [t["value"] for t in plain["ties"] if t["kind"] in ("ip", "payment")]
    assert raw
    ran = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--redact-key", "k"],
                        env={"COLUMNS": "300"})
    assert ran.exit_code == 0, ran.output
    assert "redacted:" in ran.output and not any(v in ran.output for v in raw)
    doc = json.loads(runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json",
                                         "--redact-key", "k"]).stdout)
    assert doc["redaction"] and all("#" in t["value"] for t in doc["ties"] if t["kind"] in ("ip", "payment"))
    assert [t["clusters"] for t in doc["ties"]] == [t["clusters"] for t in plain["ties"]]


def test_the_notebook_lists_a_campaigns_tying_values_as_the_command_does(fixture_detected):
    camps = pl.read_parquet(fixture_detected / "campaigns.parquet")
    camp = camps.sort(pl.col("clusters").list.len(), "campaign_id", descending=[True, False]).row(0, named=True)
    doc = json.loads(runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json"]).stdout)
    ties = graphlink.load(fixture_detected).campaign_ties(camp["campaign_id"])
    assert ties.select("kind", "value", "clusters", "accounts").to_dicts() == [
        {k: t[k] for k in ("kind", "value", "clusters", "accounts")} for t in doc["ties"]]


def test_a_missing_cluster_names_the_ids_there_are_after_previous(tmp_path):
    # got: "no cluster 4; cluster ids are 1 to 1" where the one cluster kept its earlier id 3 (--previous)
    def log(cards):
        return pl.DataFrame({"account_id": [f"{c}{i}" for c in cards for i in range(4)],
                             "payment_fingerprint": [f"card_{c}" for c in cards for _ in range(4)]})
    log("abc").write_parquet(tmp_path / "day1.parquet")
    log("c").write_parquet(tmp_path / "day2.parquet")
    assert runner.invoke(app, ["detect", str(tmp_path / "day1.parquet"), "--out", str(tmp_path / "one"), "-q"]).exit_code == 0
    assert runner.invoke(app, ["detect", str(tmp_path / "day2.parquet"), "--out", str(tmp_path / "two"), "--previous",
                               str(tmp_path / "one"), "-q"]).exit_code == 0
    result = graphlink.load(tmp_path / "two")
    (kept,) = result.clusters["cluster_id"].to_list()
    assert kept == pl.read_parquet(tmp_path / "one" / "accounts.parquet").filter(
        pl.col("account_id") == "c0")["cluster_id"][0]
    with pytest.raises(graphlink.GraphlinkError, match=f"cluster ids run from {kept} to {kept}"):
        result.cluster(kept + 1)


def test_campaign_names_a_damaged_table(fixture_outputs):
    # got: "error: could not process the input: parquet: File out of specification ...": which file?
    (fixture_outputs / "linking.parquet").write_bytes(b"garbage")
    (fixture_outputs / "campaign_ties.parquet").write_bytes(b"garbage")  # read first since session 48
    camps = pl.read_parquet(fixture_outputs / "campaigns.parquet")
    camp = camps.sort(pl.col("clusters").list.len(), descending=True)["campaign_id"][0]
    ran = runner.invoke(app, ["campaign", str(fixture_outputs), str(camp)])
    assert ran.exit_code == 2 and "linking.parquet" in ran.output and "Traceback" not in ran.output


def test_show_points_to_the_campaign_of_a_cell(fixture_detected):
    # got: "campaign 2: 2 clusters, ..." and no word of the command that opens it
    camps = pl.read_parquet(fixture_detected / "campaigns.parquet")
    camp = camps.sort(pl.col("clusters").list.len(), "campaign_id", descending=[True, False]).row(0, named=True)
    shown = runner.invoke(app, ["show", str(fixture_detected), str(camp["clusters"][0]), "--members", "0", "--evidence",
                                "0", "--no-templates"], env={"COLUMNS": "400"})
    command = re.search(r"(graphlink campaign .*)", shown.output).group(1).strip()
    assert shlex.split(command)[2:] == [str(fixture_detected), str(camp["campaign_id"])]
    assert runner.invoke(app, shlex.split(command)[1:] + ["-q"]).exit_code == 0
