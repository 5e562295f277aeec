"""The Python API: graphlink.detect / load, Result, ClusterView and the plots."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import networkx as nx
import polars as pl
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from polars.testing import assert_frame_equal

import graphlink
import graphlink.config.build
from graphlink.config import build_config, override_names
from graphlink.errors import ConfigError, GraphlinkError
from graphlink.views.plots import plot_cluster_network, plot_hour_profile, plot_timeline


@pytest.fixture(scope="module")
def result(world):
    events, _ = world
    return graphlink.detect(events)


@pytest.fixture(scope="module")
def events_file(world, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("events") / "events.parquet"
    world[0].write_parquet(path)
    return path


def ring_cluster(result, members: list[str]) -> int:
    ids = result.accounts.filter(pl.col("account_id").is_in(members))["cluster_id"].unique()
    assert ids.len() == 1 and ids[0] is not None
    return int(ids[0])


# ---------------------------------------------------------------- detect


def test_detect_finds_planted_rings(result, world):
    _, rings = world
    assert result.clusters.height == 2
    # Lock-step templated accounts are coordinated; nothing here shows fleet tooling (proxies,
    # bulk sign-up), so neither small ring is flagged on its own.
    info = {name: result.cluster(ring_cluster(result, members)).info for name, members in rings.items()}
    # The ring's template has a fixed lead of 11 words before its fill: prompts sharing only that
    # (7 shingles) fall short of a template's passage (TEMPLATE_SHINGLES, 12 words); those whose
    # fill another member used too count, so most but not all prompts do.
    assert info["template"]["template_share"] >= 0.8 and info["template"]["coordination"] > info["card"]["coordination"]
    assert not any(i["flagged"] for i in info.values())
    for members in rings.values():
        view = result.cluster(ring_cluster(result, members))
        assert sorted(view.members["account_id"]) == sorted(members)
    assert result.accounts.filter(pl.col("account_id").str.starts_with("user"))["cluster_id"].null_count() == 60


def test_detect_from_path_matches_frame(result, events_file):
    from_file = graphlink.detect(events_file)
    assert_frame_equal(from_file.clusters, result.clusters)
    assert_frame_equal(from_file.accounts, result.accounts)
    assert Path(from_file.run["inputs"]["events"]["path"]).is_absolute()


def test_detect_is_deterministic(world, result):
    again = graphlink.detect(world[0])
    assert_frame_equal(again.clusters, result.clusters)
    assert_frame_equal(again.evidence, result.evidence)


def test_overrides_reach_configs(world):
    events, _ = world
    res = graphlink.detect(events, seed=7, resolution=1.2, ngram=4, flag_threshold=0.99, signals__seed=3)
    cfg = res.config
    assert (cfg.communities.seed, cfg.communities.resolution) == (7, 1.2)
    assert (cfg.signals.ngram, cfg.signals.seed, cfg.scoring.flag_threshold) == (4, 3, 0.99)
    params = res.run["parameters"]
    assert params["communities"]["seed"] == 7 and params["signals"]["ngram"] == 4
    assert not res.clusters["flagged"].any()  # the threshold reached scoring


def test_overrides_on_top_of_config():
    base = build_config(ngram=3)
    cfg = build_config(base, resolution=2.0, kinds={"payment": {"max_accounts": 5}})
    assert cfg.signals.ngram == 3 and cfg.communities.resolution == 2.0
    assert cfg.graph.kinds["payment"].max_accounts == 5
    assert cfg.graph.kinds["payment"].weight == 3.0 and "ip" in cfg.graph.kinds


def test_unknown_override_lists_valid_names(world):
    with pytest.raises(ConfigError, match=r"unknown setting 'resolutoin'.*did you mean resolution.*ngram"):
        graphlink.detect(world[0], resolutoin=1.0)


def test_ambiguous_override(monkeypatch):
    monkeypatch.setattr(graphlink.config.build, "ALIASES", {})
    with pytest.raises(ConfigError, match="ambiguous; use one of signals__seed, communities__seed"):
        build_config(seed=1)


@pytest.mark.parametrize("overrides, message", [
    ({"resolution": "high"}, "resolution: expected float"),
    ({"ngram": 2.5}, "ngram: expected int"),
    ({"ngram": 0}, "ngram must be at least 1"),
    ({"kinds": {"payment": {"wieght": 1}}}, "unknown setting"),
])
def test_invalid_override_values(overrides, message):
    with pytest.raises(ConfigError, match=message):
        build_config(**overrides)


def test_override_names():
    names = override_names()
    assert {"seed", "resolution", "ngram", "flag_threshold", "signals__seed", "communities__seed"} <= set(names)
    assert "kinds" in names


# ---------------------------------------------------------------- save / load


def test_load_round_trips(result, tmp_path):
    out = result.save(tmp_path / "out")
    loaded = graphlink.load(out)
    for name in ("clusters", "accounts", "evidence"):
        assert_frame_equal(getattr(loaded, name), getattr(result, name))
    # run.json also lists match's indexes written with it (rows, bytes): a property of the folder, not of the run.
    saved = {k: v for k, v in loaded.run.items() if k != "match_indexes"}
    assert saved == json.loads(json.dumps(result.run, default=str))
    assert set(loaded.run["match_indexes"]) == {"match_index.parquet", "match_pools.parquet", "match_mates.parquet",
                                                "match_clocks.parquet", "match_templates.parquet"}
    assert loaded.config == result.config
    cid = result.clusters["cluster_id"][0]
    assert loaded.cluster(cid).why() == result.cluster(cid).why()


def test_load_errors(tmp_path):
    with pytest.raises(GraphlinkError, match="no such output folder"):
        graphlink.load(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "run.json").write_text("{}")
    with pytest.raises(GraphlinkError, match="missing accounts.parquet, clusters.parquet, evidence.parquet"):
        graphlink.load(tmp_path / "x")


def test_loaded_events_from_recorded_path(events_file, tmp_path):
    res = graphlink.detect(events_file)
    loaded = graphlink.load(res.save(tmp_path / "out"))
    view = loaded.cluster(1)
    assert isinstance(view.events(), pl.LazyFrame)
    assert_frame_equal(view.events().collect(), res.cluster(1).events().collect())


def test_loaded_events_need_a_source(result, world, tmp_path):
    loaded = graphlink.load(result.save(tmp_path / "out"))
    with pytest.raises(GraphlinkError, match=r"in-memory frame.*load\(dir, events=\.\.\.\)"):
        loaded.cluster(1).events()
    with_events = graphlink.load(tmp_path / "out", events=world[0])
    assert with_events.cluster(1).events().collect().height > 0


def test_loaded_events_file_moved(events_file, tmp_path):
    moved = tmp_path / "events.parquet"
    moved.write_bytes(events_file.read_bytes())
    res = graphlink.detect(moved)
    out = res.save(tmp_path / "out")
    moved.unlink()
    with pytest.raises(GraphlinkError, match="not found; pass its current location"):
        graphlink.load(out).cluster(1).events()


def test_loaded_graph_reads_memberships_file(result, tmp_path):
    out = result.save(tmp_path / "out")
    result.affiliations().select("account_id", "kind", "value", "weight").collect() \
        .write_parquet(out / "memberships.parquet")
    pl.DataFrame({"account_id": ["x"]}).write_parquet(out / "memberships.parquet")
    with pytest.raises(GraphlinkError, match="memberships.parquet: missing column"):
        graphlink.load(out)  # the one reader checks every table's columns
    result.affiliations().select("account_id", "kind", "value", "weight").collect() \
        .write_parquet(out / "memberships.parquet")
    loaded = graphlink.load(out).cluster(1).graph()
    expected = result.cluster(1).graph()
    assert set(loaded.nodes) == set(expected.nodes) and set(loaded.edges) == set(expected.edges)


# ---------------------------------------------------------------- cluster views


def test_cluster_members_match_accounts(result):
    for cid in result.clusters["cluster_id"]:
        view = result.cluster(cid)
        expected = result.accounts.filter(pl.col("cluster_id") == cid)
        assert_frame_equal(view.members, expected)
        assert view.size == view.members.height
        assert view.evidence["cluster_id"].unique().to_list() == [cid]


def test_unknown_cluster(result):
    with pytest.raises(GraphlinkError, match=r"no cluster 99 \(cluster ids run from 1 to 2\)"):
        result.cluster(99)
    with pytest.raises(GraphlinkError, match="must be an integer"):
        result.cluster("1")


def test_graph_agrees_with_memberships(result):
    view = result.cluster(1)
    graph = view.graph()
    assert isinstance(graph, nx.Graph)
    members = set(view.members["account_id"])
    memberships = result.affiliations().collect().filter(pl.col("account_id").is_in(list(members)))
    shared = memberships.group_by("kind", "value").agg(pl.len().alias("n")).filter(pl.col("n") >= 2)
    links = memberships.join(shared, on=["kind", "value"], how="semi")
    assert graph.number_of_nodes() == len(members) + shared.height
    assert graph.number_of_edges() == links.height
    types = nx.get_node_attributes(graph, "type")
    assert sum(t == "account" for t in types.values()) == len(members)
    assert {n for n, t in types.items() if t == "account"} == {f"account:{a}" for a in members}
    signal = next(n for n, t in types.items() if t == "signal")
    assert signal == f"signal:{graph.nodes[signal]['kind']}:{graph.nodes[signal]['value']}"
    assert all("weight" in d for _, _, d in graph.edges(data=True))
    # Every evidence value is a signal node of the graph.
    for kind, value in view.evidence.select("kind", "value").iter_rows():
        assert f"signal:{kind}:{value}" in graph


def test_events_only_cluster_accounts(result, world):
    view = result.cluster(2)
    events = view.events()
    assert isinstance(events, pl.LazyFrame)
    frame = events.collect()
    members = set(view.members["account_id"])
    assert set(frame["account_id"]) == members
    assert frame.height == int(view.members["events"].sum())
    assert set(world[0].columns) <= set(frame.columns)


def test_timeline_and_hour_profile(result):
    view = result.cluster(2)
    total = int(view.members["events"].sum())
    timeline = view.timeline("1h")
    assert timeline.columns == ["timestamp", "events", "accounts"]
    assert int(timeline["events"].sum()) == total
    assert timeline["timestamp"].diff().drop_nulls().unique().to_list() == [timedelta(hours=1)]
    profile = view.hour_profile()
    assert profile["hour"].to_list() == list(range(24))
    assert int(profile["events"].sum()) == total
    assert profile["share"].sum() == pytest.approx(1.0)
    with pytest.raises(GraphlinkError, match="invalid every"):
        view.timeline("fortnight")


def test_no_timestamps():
    events = pl.DataFrame({"account_id": ["a", "b", "c"], "payment_fingerprint": ["k", "k", "z"]})
    view = graphlink.detect(events).cluster(1)
    with pytest.raises(GraphlinkError, match="no timestamp column"):
        view.hour_profile()


def test_column_map_applies_to_events(world):
    events = world[0].rename({"account_id": "user", "timestamp": "ts"})
    res = graphlink.detect(events, column_map={"account_id": "user", "timestamp": "ts"})
    frame = res.cluster(1).events().collect()
    assert "account_id" in frame.columns and frame["timestamp"].dtype == pl.Datetime("us", "UTC")


def test_why_mentions_evidence(result):
    text = result.cluster(1).why()
    assert text.startswith("Cluster 1: 8 accounts") and "flagged" in text
    assert "Shared evidence:" in text


HOSTILE = '<script>alert(1)</script>\x1b[31m$x^{'


def test_html_repr_escapes_attacker_text():
    events = pl.DataFrame({"account_id": ["a", "b", "c"], "user_agent": [HOSTILE] * 2 + ["ok"],
                           "payment_fingerprint": [HOSTILE, HOSTILE, "z"]})
    res = graphlink.detect(events)
    for obj in (res, res.cluster(1)):
        html = obj._repr_html_()
        assert "<script>" not in html and "\x1b" not in html
        assert "\x1b" not in repr(obj)
    assert "&lt;script&gt;" in res.cluster(1)._repr_html_()
    assert "\x1b" not in res.cluster(1).why()


def test_export(result, tmp_path):
    paths = result.cluster(1).export(tmp_path / "case")
    data = json.loads(paths["json"].read_text())
    # The same case file as `graphlink export --format json` (one format, graphlink.case/1).
    assert data["schema"] == "graphlink.case/1" and data["cluster_id"] == 1 and len(data["members"]) == 8
    members = pl.read_csv(paths["members"])
    assert sorted(members["account_id"]) == sorted(result.cluster(1).members["account_id"])
    assert pl.read_csv(paths["evidence"]).height == result.cluster(1).evidence.height


def test_export_neutralises_formulas(tmp_path):
    events = pl.DataFrame({"account_id": ["a", "b", "c"], "user_agent": ["=HYPERLINK(1)"] * 2 + ["ok"],
                           "payment_fingerprint": ["k", "k", "z"]})
    paths = graphlink.detect(events).cluster(1).export(tmp_path)
    assert "'=HYPERLINK" in paths["evidence"].read_text()


# ---------------------------------------------------------------- plots


def test_plots_return_figures(result, tmp_path):
    view = result.cluster(1)
    for fig in (plot_hour_profile(view), plot_timeline(view, every="2h"), plot_cluster_network(view, seed=1)):
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / "x.png")


def test_plots_leave_no_pyplot_state(result):
    """Figures are built without pyplot: nothing registered globally, nothing shown (Agg/server safe)."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    view = result.cluster(1)
    figs = [plot_cluster_network(view), plot_hour_profile(view), plot_timeline(view)]
    assert plt.get_fignums() == before
    assert all(fig.canvas.manager is None for fig in figs)


def test_network_plot_caps_nodes(result):
    view = result.cluster(2)  # template ring: many shared shingles and timing bands
    n_nodes = view.graph().number_of_nodes()
    assert n_nodes > 20
    fig = plot_cluster_network(view, max_nodes=20)
    title = fig.axes[0].get_title(loc="left")
    assert "showing" in title
    drawn = sum(len(c.get_offsets()) for c in fig.axes[0].collections if isinstance(c, PathCollection))
    assert drawn <= 20


def test_hostile_labels_render(tmp_path):
    events = pl.DataFrame({"account_id": ["a", "b", "c"], "user_agent": [HOSTILE] * 2 + ["ok"],
                           "payment_fingerprint": ["k", "k", "z"]})
    fig = plot_cluster_network(graphlink.detect(events).cluster(1))
    fig.savefig(tmp_path / "hostile.png")  # a stray "$" must not break mathtext


def test_events_drop_rows_detection_rejected():
    events = pl.DataFrame({
        "account_id": ["a", "b", "c", "a", " ", "b"],
        "payment_fingerprint": ["k", "k", "z", "k", "k", "k"],
        "timestamp": ["2024-05-01T09:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z",
                      "not a time", "2024-05-01T12:00:00Z", "1970-01-01T00:00:00Z"],
    })
    res = graphlink.detect(events)
    view = res.cluster(1)
    assert view.events().collect().height == int(view.members["events"].sum()) == 2
