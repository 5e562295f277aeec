"""Resource guard: too many planned pairs thins popular values' circulants, then lowers the hub cap, with a warning."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.config import GraphConfig, PipelineConfig
from graphlink.stages.graph import project
from graphlink.pipeline import run_detect
from tests._worlds import planted_world


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=25), st.integers(0, 3000), st.integers(0, 2**16))
def test_budget_bounds_the_projection_and_drops_whole_popularity_levels(dfs, max_pairs, seed):
    rng = np.random.default_rng(seed)
    # A strong kind (every shared value links on its own), no hub cap by default.
    rows = [(int(a), "ip", f"v{i}") for i, df in enumerate(dfs) for a in rng.choice(500, df, replace=False)]
    pairs = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String}, orient="row")
    config = GraphConfig(max_pairs=max_pairs)
    assert config.spec("ip").max_accounts is None and config.spec("ip").strong
    projection = project(pairs, 10_000, config)
    signals = projection.signals
    linked = signals.filter("linked")
    assert projection.stats["planned_pairs"] <= max_pairs
    assert projection.edges.height <= max_pairs
    would_link = signals.filter(pl.col("df") >= 2)
    dropping = [w for w in projection.warnings if "were not linked" in w]
    assert all("max_pairs" in w for w in projection.warnings)
    if dropping:
        # Fewer circulant generators did not suffice: everything at or under the new cap links,
        # everything above it does not.
        cap = linked["df"].max() or 0
        assert (would_link.filter(pl.col("df") <= cap)["linked"]).all()
        assert not (would_link.filter(pl.col("df") > cap)["linked"]).any()
        assert would_link.filter(pl.col("df") > cap).height > 0
    else:
        # No budget cut, or only thinner circulants: every shared value still links.
        assert linked.height == would_link.height
    if projection.warnings:
        # The planned pairs exceeded the budget before the cut.
        full = project(pairs, 10_000, GraphConfig())
        assert full.stats["planned_pairs"] > max_pairs


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
    # Just under what is planned: the popular template's circulant is thinned (it keeps linking).
    tight = run_detect(events, config=PipelineConfig(graph=GraphConfig(max_pairs=planned - 1)))
    assert tight.warnings and tight.run["warnings"] == tight.warnings
    assert len(tight.warnings) == 1
    assert "pair budget" in tight.warnings[0] and "circulant generator" in tight.warnings[0]
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
    # In process (was python -m graphlink: ~3 s of start-up, nothing it asserted needs a process of its own).
    proc = CliRunner().invoke(app, ["detect", str(path), "--out", str(tmp_path / "out"), "--config", str(config)])
    assert proc.exit_code == 0, proc.output
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: pair budget")]
    # Thinning circulants to one generator is not enough: the most popular values are dropped too.
    assert len(warnings) == 2 and all("max_pairs 2,000" in w for w in warnings)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert len(run["warnings"]) == 2 and all(w.startswith("pair budget") for w in run["warnings"])
    assert "at most 1 circulant generator" in run["warnings"][0] and "were not linked" in run["warnings"][1]
    assert run["parameters"]["graph"]["max_pairs"] == 2000
