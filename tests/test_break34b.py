"""Session 34, second break round: per-member evidence (``tie_strength``, ``tied_by``) under odd inputs.

Each test is a failure found by trying to break :mod:`graphlink.views.member_ties`; see the session notes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import graphlink


@pytest.fixture(scope="module")
def detected(fixture_result, fixture_detected):
    """A fresh ``graphlink.detect`` result of the fixture and the same result saved to a folder (conftest's
    session pair: the folder is ``fixture_result.save(...)``; these tests only read both)."""
    return fixture_result, fixture_detected


def test_a_fresh_detect_gives_the_same_member_ties_as_its_saved_folder(detected):
    # A notebook's graphlink.detect() result counted only the member's own cluster as suspects (no campaign, no
    # flagged clusters), so its tie_strength differed from the saved-and-loaded folder's for the same member.
    result, folder = detected
    loaded = graphlink.load(folder)
    flagged = result.clusters.filter("flagged")["cluster_id"].to_list()
    assert flagged
    for cluster_id in flagged:
        fresh = result.cluster(cluster_id).member_ties("events").select("account_id", "tie_strength", "tied_by")
        saved = loaded.cluster(cluster_id).member_ties("events").select("account_id", "tie_strength", "tied_by")
        assert _same(fresh, saved), cluster_id


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    j = a.join(b, on="account_id", how="full", suffix="_b")
    bad = j.filter(((pl.col("tie_strength") - pl.col("tie_strength_b")).abs() > 1e-9)
                   | (pl.col("tie_strength").is_null() != pl.col("tie_strength_b").is_null())
                   | (pl.col("tied_by") != pl.col("tied_by_b")) | pl.col("account_id_b").is_null()
                   | pl.col("account_id").is_null())
    return bad.is_empty()


def _with_parameters(folder: Path, target: Path, **parameters) -> Path:
    shutil.copytree(folder, target)
    run = json.loads((target / "run.json").read_text())
    run["parameters"] = {**(run.get("parameters") or {}), **parameters}
    (target / "run.json").write_text(json.dumps(run))
    return target


@pytest.mark.parametrize("parameters", [{"graph": None}, {"graph": "x"}, {"graph": {"kinds": ["ip"]}},
                                        {"drilldown": None}, {"drilldown": {"member_values_per_kind": True}}],
                         ids=["graph-null", "graph-text", "kinds-list", "drilldown-null", "per-kind-true"])
def test_an_odd_run_json_gives_the_default_ties_and_no_crash(detected, tmp_path, parameters):
    # run.json written by an older or edited graphlink: show crashed with AttributeError in weak_kinds / the
    # member_values_per_kind lookup; a bool member_values_per_kind (True == 1) marked every count a lower bound.
    from graphlink.views.member_ties import outputs_member_ties
    from graphlink.store.outputs import load_outputs

    _, folder = detected
    odd = _with_parameters(folder, tmp_path / "odd", **parameters)
    want = outputs_member_ties(load_outputs(folder, "flagged"))
    got = outputs_member_ties(load_outputs(odd, "flagged"))
    assert got.equals(want)


def test_the_same_folder_exports_byte_identical_members_csv(detected, tmp_path):
    # tie_strength's float sums ran in the order a parallel join left the rows: its last bits (and so
    # members.csv's bytes) changed from one export of the same folder to the next.
    from graphlink.views.export import export

    _, folder = detected
    texts = {export(folder, "csv", clusters="all", out=tmp_path / f"csv{i}").paths[0].read_bytes() for i in range(3)}
    assert len(texts) == 1


def test_an_empty_shared_value_is_shown_as_an_empty_quoted_value():
    # An empty logged value ("" e-mail domain) read "e-mail domain  (2 members)": no value at all, two spaces.
    from graphlink.views.member_ties import member_ties

    accounts = pl.DataFrame({"account_id": ["a", "b"], "cluster_id": [1, 1]})
    linking = pl.DataFrame({"account_id": ["a", "b"], "cluster_id": [1, 1], "kind": ["email_domain"] * 2,
                            "value": ["", ""], "df": [2, 2], "weight": [0.5, 0.5]})
    assert member_ties(accounts, None, linking)["tied_by"].to_list() == ['e-mail domain "" (2 members)'] * 2


def test_the_notebook_refuses_an_unknown_member_order(detected):
    # ClusterView.member_ties("weakest") silently listed the members by events; the CLI refuses the same value.
    _, folder = detected
    view = graphlink.load(folder).cluster(graphlink.load(folder).top(1)["cluster_id"][0])
    with pytest.raises(ValueError, match="events or strength"):
        view.member_ties("weakest")


def test_show_survives_a_run_json_whose_parameters_is_text(detected, tmp_path):
    # views.schedule.timing_bucket and views.explain.flag_settings read it as a table (AttributeError); read_run now
    # leaves out whatever is not a table, once, and every view uses the defaults of what is missing.
    from typer.testing import CliRunner

    from graphlink.cli import app

    _, folder = detected
    odd = shutil.copytree(folder, tmp_path / "odd")
    run = json.loads((odd / "run.json").read_text())
    (odd / "run.json").write_text(json.dumps({**run, "parameters": "text"}))
    cluster_id = str(graphlink.load(folder).top(1)["cluster_id"][0])
    result = CliRunner().invoke(app, ["show", str(odd), cluster_id, "--members", "3"])
    assert result.exit_code == 0, result.output
