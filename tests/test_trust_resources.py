"""Resource guard: too many planned pairs lowers the hub cap with a warning instead of exhausting memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.config import GraphConfig, PipelineConfig
from graphlink.stages.graph import project
from graphlink.pipeline import run_detect
from tests._worlds import planted_world

ROOT = Path(__file__).resolve().parents[1]


def _planned(df: int, config: GraphConfig) -> int:
    return df * (df - 1) // 2 if df <= config.clique_limit else df * config.sparse_degree


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=25), st.integers(0, 3000), st.integers(0, 2**16))
def test_budget_bounds_the_projection_and_drops_whole_popularity_levels(dfs, max_pairs, seed):
    rng = np.random.default_rng(seed)
    rows = [(int(a), "prompt", f"v{i}") for i, df in enumerate(dfs) for a in rng.choice(500, df, replace=False)]
    pairs = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String}, orient="row")
    config = GraphConfig(max_pairs=max_pairs)
    projection = project(pairs, 10_000, config)
    signals = projection.signals
    linked = signals.filter("linked")
    assert sum(_planned(df, config) for df in linked["df"]) <= max_pairs
    assert projection.edges.height <= max_pairs
    would_link = signals.filter((pl.col("df") >= 2) & (pl.col("df") <= config.spec("prompt").max_accounts))
    if projection.warnings:
        # everything at or under the new cap links, everything above it does not
        cap = linked["df"].max() or 0
        assert (would_link.filter(pl.col("df") <= cap)["linked"]).all()
        assert not (would_link.filter(pl.col("df") > cap)["linked"]).any()
        assert "max_pairs" in projection.warnings[0]
    else:
        assert linked.height == would_link.height


def _world_with_a_popular_template():
    """Planted rings plus 400 benign accounts that all send one popular prompt template."""
    events, truth = planted_world(seed=4, n_benign=400)
    popular = (events.filter(pl.col("account_id").str.starts_with("user"))
               .group_by("account_id").agg(pl.all().first())
               .with_columns(pl.lit("please translate the following text into french for me thanks").alias("prompt")))
    return pl.concat([events, popular.select(events.columns)]), truth


def test_pipeline_warns_and_still_finds_the_rings_under_a_tight_budget(tmp_path):
    events, truth = _world_with_a_popular_template()
    generous = run_detect(events)
    assert not generous.warnings
    needed = generous.run["counts"]["projected_pairs"]
    planned = generous.run["counts"]["planned_pairs"]
    # Just under what is planned: the popular template (the most popular level) must go.
    tight = run_detect(events, config=PipelineConfig(graph=GraphConfig(max_pairs=planned - 1)))
    assert tight.warnings and tight.run["warnings"] == tight.warnings
    assert "pair budget" in tight.warnings[0] and "prompt" in tight.warnings[0]
    assert tight.run["counts"]["planned_pairs"] < planned
    assert tight.run["counts"]["projected_pairs"] <= needed
    flagged = tight.accounts.join(tight.clusters.filter("flagged"), on="cluster_id")
    for ring in set(truth.values()):
        members = {a for a, r in truth.items() if r == ring}
        assert members <= set(flagged["account_id"]), f"ring {ring} lost under the budget"


def test_cli_shows_the_budget_warning_and_records_it(tmp_path):
    events, _ = _world_with_a_popular_template()
    path = tmp_path / "events.parquet"
    events.write_parquet(path)
    config = tmp_path / "graphlink.toml"
    config.write_text("[graph]\nmax_pairs = 2000\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "graphlink", "detect", str(path), "--out", str(tmp_path / "out"),
                           "--config", str(config)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: pair budget")]
    assert len(warnings) == 1 and "max_pairs 2,000" in warnings[0]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["warnings"] and run["warnings"][0].startswith("pair budget")
    assert run["parameters"]["graph"]["max_pairs"] == 2000
