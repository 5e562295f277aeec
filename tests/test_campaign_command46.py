"""``graphlink campaign DIR ID`` and ``Result.campaign``: one campaign's clusters side by side (new-user review, session 46).

An investigator deciding on an operator had no command-line view of a campaign: only the HTML report listed a
campaign's clusters.
"""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app

runner = CliRunner()


def _largest_campaign(out) -> dict:
    camps = pl.read_parquet(out / "campaigns.parquet")
    return camps.sort(pl.col("clusters").list.len(), "campaign_id", descending=[True, False]).row(0, named=True)


def test_campaign_lists_each_of_its_clusters_with_its_flag_and_reason(fixture_detected):
    camp = _largest_campaign(fixture_detected)
    assert len(camp["clusters"]) >= 2  # the fixture's operator runs several cells
    result = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["campaign"]["campaign_id"] == camp["campaign_id"]
    clusters = pl.read_parquet(fixture_detected / "clusters.parquet")
    mine = clusters.filter(pl.col("campaign_id") == camp["campaign_id"])
    assert sorted(c["cluster_id"] for c in doc["clusters"]) == sorted(mine["cluster_id"].to_list())
    by_id = {r["cluster_id"]: r for r in mine.iter_rows(named=True)}
    for c in doc["clusters"]:
        assert (c["flagged"], c["why"], c["size"]) == (by_id[c["cluster_id"]]["flagged"], by_id[c["cluster_id"]]["why"],
                                                       by_id[c["cluster_id"]]["size"])
    flags = [c["flagged"] for c in doc["clusters"]]
    assert flags == sorted(flags, reverse=True)  # flagged first


def test_campaign_table_is_capped_and_says_how_many_more(fixture_detected):
    camp = _largest_campaign(fixture_detected)
    result = runner.invoke(app, ["campaign", str(fixture_detected), str(camp["campaign_id"]), "--clusters", "1"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert len(rows) == 1
    assert f"{len(camp['clusters']) - 1} more: --clusters {len(camp['clusters'])}" in result.stdout
    assert result.stdout.startswith(f"campaign {camp['campaign_id']} · ")


def test_an_unknown_campaign_is_a_one_line_error(fixture_detected):
    result = runner.invoke(app, ["campaign", str(fixture_detected), "99999"])
    assert result.exit_code == 2
    assert "no campaign 99999" in result.output and "Traceback" not in result.output


def test_the_notebook_opens_the_same_campaign(fixture_detected):
    camp = _largest_campaign(fixture_detected)
    row, members = graphlink.load(fixture_detected).campaign(camp["campaign_id"])
    assert row["accounts"] == camp["accounts"]
    assert sorted(members["cluster_id"].to_list()) == sorted(camp["clusters"])
    with pytest.raises(graphlink.GraphlinkError, match="no campaign"):
        graphlink.load(fixture_detected).campaign(-5)
