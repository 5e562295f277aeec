"""The two weaker grouping steps say themselves (new-user review nu53, session 53).

Own-value members (``[communities] own_values``) and hub twins (``[communities] hub_twins``), both on by default, put
accounts in clusters on weaker evidence than Leiden's; before this nothing in accounts.parquet, ``show``, the JSON,
members.csv or the report marked such a member, a cluster made only of hub twins never said so, run.json had no
hub-twin count and ``own_value_members`` counted accounts the fleet-outsider test later detached.
"""

from __future__ import annotations

import json
import re
import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.config.build import build_config
from graphlink.cli import app
from graphlink.pipeline import run_detect
from typer.testing import CliRunner

runner = CliRunner()

BLOCK = 30
OWN_NOTE = re.compile(r"^joined: (\d+) of its (\d+) strong values are the cluster's \(own values\)$")


def friend_log(seed: int = 0) -> pl.DataFrame:
    """``account_id, friend``: a block of 30 each listing 12 of 15 shared friends and itself; ``h0``-``h4`` list only
    themselves, each listed by two block members (a hidden friend list: joined by own values); ``o00``-``o39``
    ordinary accounts listing themselves and two friends of their own."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(BLOCK):
        rows += [(f"b{i:02d}", f"pool{f}") for f in rng.choice(15, 12, replace=False)] + [(f"b{i:02d}", f"b{i:02d}")]
    for j in range(5):
        rows += [(f"h{j}", f"h{j}")] + [(f"b{i:02d}", f"h{j}") for i in rng.choice(BLOCK, 2, replace=False)]
    for u in range(40):
        rows += [(f"o{u:02d}", f"o{u:02d}"), (f"o{u:02d}", f"o{u:02d}-x"), (f"o{u:02d}", f"o{u:02d}-y")]
    return pl.DataFrame(rows, schema=["account_id", "friend"], orient="row")


def test_own_value_members_are_marked_and_counted():
    result = run_detect(friend_log(), None, build_config(signals=("friend",)))
    acc = result.accounts
    assert "joined_by" in acc.columns
    hidden = acc.filter(pl.col("account_id").str.starts_with("h"))
    (cluster,) = hidden["cluster_id"].unique().to_list()
    assert cluster is not None
    for note in hidden["joined_by"].to_list():
        match = OWN_NOTE.match(note or "")
        assert match, note
        assert 2 * int(match[1]) > int(match[2])  # more than half of its values are the cluster's
    # The block's own members carry no note: Leiden placed them.
    assert acc.filter(pl.col("account_id").str.starts_with("b"))["joined_by"].null_count() == BLOCK
    why = result.clusters.filter(pl.col("cluster_id") == cluster)["why"][0]
    assert "joined: 5 accounts by their own values" in why and "(own values)" in why
    assert re.search(r"friend value h\d", why), why  # names the values they joined through
    counts = result.run["counts"]
    assert counts["own_value_members"] == 5 and counts["hub_twins"] == 0


def test_off_the_step_marks_nothing_and_counts_zero():
    result = run_detect(friend_log(), None, build_config(signals=("friend",), own_values=False))
    assert result.accounts["joined_by"].null_count() == result.accounts.height
    assert not result.clusters["why"].str.contains("own values").any()
    assert result.run["counts"]["own_value_members"] == 0


def test_show_json_members_csv_and_report_carry_the_note(tmp_path):
    events = tmp_path / "friends.csv"
    friend_log().write_csv(events)
    out = tmp_path / "out"

    def cli(*args: str) -> str:
        done = runner.invoke(app, list(args))
        assert done.exit_code == 0, done.output
        return done.stdout

    cli("detect", str(events), "--signal", "friend", "--out", str(out), "-q")
    acc = pl.read_parquet(out / "accounts.parquet")
    cluster = acc.filter(pl.col("account_id") == "h0")["cluster_id"][0]
    shown = cli("show", str(out), str(cluster), "--members", "40")
    h0 = [line for line in shown.splitlines() if line.startswith("h0\t")]
    assert h0 and "(own values)" in h0[0]
    members = {m["account_id"]: m for m in json.loads(cli("show", str(out), str(cluster), "--json", "--members", "40"))["members"]}
    assert OWN_NOTE.match(members["h0"]["joined_by"]) and members["b00"]["joined_by"] is None
    cli("export", str(out), "--format", "csv", "--clusters", str(cluster), "--out", str(tmp_path / "csv"))
    rows = pl.read_csv(tmp_path / "csv" / "members.csv")
    assert OWN_NOTE.match(rows.filter(pl.col("account_id") == "h0")["joined_by"][0])
    cli("report", str(out), "--out", str(tmp_path / "r.html"))
    assert "(own values)" in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def twins_result():
    from tests.test_hub_twins51 import _world  # a cell's own-card accounts on its datacenter address

    return graphlink.detect(_world())


def test_hub_twins_are_counted_and_named(twins_result):
    acc, clusters = twins_result.accounts, twins_result.clusters
    twins = acc.filter(pl.col("joined_by").str.starts_with("hub twin"))
    assert twins.height == twins_result.run["counts"]["hub_twins"] > 0
    assert twins["joined_by"].str.contains("IP (address|network) 203\\.0\\.113\\.").all()  # the hub: the cell's address or network
    # A cluster made of twins alone says so, with the hub.
    for cluster, size in clusters.select("cluster_id", "size").iter_rows():
        n = twins.filter(pl.col("cluster_id") == cluster).height
        why = clusters.filter(pl.col("cluster_id") == cluster)["why"][0]
        if n == size:
            assert re.search(f"{n} of {n} members are hub twins, holders of IP (address|network) 203\\.0\\.113\\.", why), why
        elif n:
            assert f"joined: {n} hub twins" in why, why
        else:
            assert "(hub twins)" not in why


def test_spark_engine_writes_the_same_notes(spark, tmp_path):
    pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")
    path = tmp_path / "friends.parquet"
    friend_log().write_parquet(path)
    config = build_config(signals=("friend",))
    runs = [graphlink.detect(path, None, config=config),
            graphlink.detect(str(path), None, config=config, engine="spark", spark=spark)]
    a, b = (r.accounts.select("account_id", "joined_by").sort("account_id") for r in runs)
    assert a.equals(b) and a["joined_by"].is_not_null().sum() == 5
    assert [r.run["counts"]["own_value_members"] for r in runs] == [5, 5]
    assert [r.run["counts"]["hub_twins"] for r in runs] == [0, 0]
    whys = [r.clusters.filter(pl.col("why").str.contains("own values"))["why"].to_list() for r in runs]
    assert whys[0] == whys[1] and len(whys[0]) == 1
