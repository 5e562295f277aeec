"""A flagged cluster says which clusters took its flag through their tie to it (new-user review, session 45).

A tame cell tied to a flagged ring (a card the ring reuses) is flagged "same operator as flagged cluster 1"; its own
views named the ring, but the ring's did not name it, so an investigator acting on the ring missed the cells its flag
was carried to. ``show`` (table and ``--json``), the case file, the report and the notebook's ``why()`` now list them
(:func:`graphlink.stages.tie_words.carried_to`).

World: a planted evasive ring (20 accounts, cards ``pf_ring0_0..3``) and two tame cells of 8 accounts on an office
address each, office hours, own work prompts, three members of each paying with one of the ring's cards.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from tests._worlds import planted_world


def tame_cells_log(seed: int = 0) -> pl.DataFrame:
    events, _ = planted_world(seed, n_benign=300, rings=(20,))
    rng = np.random.default_rng(seed + 1)
    start = np.datetime64("2024-05-01T00:00:00")
    frames = [events]
    for k, name in enumerate(("tame0", "tame1")):
        acc = np.repeat(np.arange(8), 6)
        seconds = rng.integers(0, 10, len(acc)) * 86400 + rng.integers(9, 17, len(acc)) * 3600 + rng.integers(0, 3600, len(acc))
        frames.append(pl.DataFrame({
            "account_id": [f"{name}_{i:02d}" for i in acc],
            "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
            "ip": f"34.{90 + k}.1.7",
            "payment_fingerprint": [f"pf_ring0_{k}" if i < 3 else f"pf_{name}_{i}" for i in acc],
            "prompt": [f"weekly report for {name} item {j}" for j in rng.integers(0, 1000, len(acc))],
            "user_agent": "python-requests/2.31",
        }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")))
    return pl.concat(frames)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("carried") / "out"
    result = graphlink.detect(tame_cells_log())
    result.save(out)
    return out, result


def ids(result, prefix: str) -> list[int]:
    return sorted(result.accounts.filter(pl.col("account_id").str.starts_with(prefix))["cluster_id"].unique().to_list())


def test_the_ring_lists_the_cells_its_flag_was_carried_to(folder):
    out, result = folder
    ring, = ids(result, "ring0_")
    cells = ids(result, "tame0_") + ids(result, "tame1_")
    assert len(cells) == 2 and result.clusters.filter(pl.col("cluster_id").is_in(cells))["flagged"].all()
    runner = CliRunner()
    shown = json.loads(runner.invoke(app, ["show", str(out), str(ring), "--json"]).output)
    assert [c["cluster_id"] for c in shown["carried_to"]] == cells
    assert all(c["same_operator"] and c["size"] == 8 for c in shown["carried_to"])
    table = runner.invoke(app, ["show", str(out), str(ring), "--members", "0", "--evidence", "0"]).output
    assert f"flag carried to\tclusters {cells[0]}, {cells[1]} (16 accounts)" in table
    # A cell's own flag came from the ring: it carried nothing on.
    cell = json.loads(runner.invoke(app, ["show", str(out), str(cells[0]), "--json"]).output)
    assert cell["carried_to"] == [] and cell["flagged_with"]["cluster_id"] == ring


def test_case_file_report_and_notebook_say_it_too(folder, tmp_path):
    out, result = folder
    ring, = ids(result, "ring0_")
    cells = ids(result, "tame0_") + ids(result, "tame1_")
    runner = CliRunner()
    assert runner.invoke(app, ["export", str(out), "--format", "json", "-c", str(ring), "-o", str(tmp_path / "cases")]).exit_code == 0
    case = json.loads((tmp_path / "cases" / f"cluster-{ring}.json").read_text())
    assert [c["cluster_id"] for c in case["carried_to"]] == cells
    assert runner.invoke(app, ["report", str(out), "--no-plots", "-o", str(tmp_path / "r.html")]).exit_code == 0
    assert f"flag carried to clusters {cells[0]}, {cells[1]} (16 accounts)" in (tmp_path / "r.html").read_text()
    assert f"Flag carried to: clusters {cells[0]}, {cells[1]} (16 accounts)" in graphlink.load(out).cluster(ring).why()
