"""Invariants of the independent world generator (benchmarks/independent_world.py).

These check the measuring stick itself, not graphlink's scores: every account
is labelled and has events, groups have their declared sizes, labels are in
the form `graphlink evaluate` reads, and a seed gives the same world.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import polars as pl
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "independent_world.py"


@pytest.fixture(scope="module")
def iw():
    spec = importlib.util.spec_from_file_location("independent_world", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["independent_world"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def world(iw):
    return iw.generate(seed=5, n_accounts=400)


def test_every_account_is_labelled_once_and_has_events(world):
    ev, acc, lab = world["events"], world["accounts"], world["labels"]
    assert lab.height == 400 == acc.height
    assert lab["account_id"].n_unique() == 400
    assert set(lab["account_id"]) == set(acc["account_id"]) == set(ev["account_id"])
    assert set(lab["kind"]) <= {"ring", "benign", "benign_linked"}
    assert {"ring", "benign", "benign_linked"} <= set(lab["kind"])


def test_columns_and_types(world):
    ev, acc = world["events"], world["accounts"]
    assert ev.columns == ["account_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"]
    assert ev.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert acc.columns == ["account_id", "created_at", "email_domain"]
    assert ev["ip"].null_count() == 0 and ev["prompt"].null_count() == 0
    first, last = ev["timestamp"].min(), ev["timestamp"].max()
    assert (last - first).days < 21


def test_groups_have_declared_sizes(world):
    lab, params = world["labels"], world["params"]
    counts = dict(lab.drop_nulls("group_id").group_by("group_id").len().iter_rows())
    declared = {g["group"]: g["size"] for g in params["groups"]}
    assert counts == declared
    cells = {f"cell{c['cell']:04d}": c["size"] for c in params["cells"]}
    assert all(counts[g] == s and s >= 5 for g, s in cells.items())
    assert sum(cells.values()) == lab.filter(pl.col("kind") == "ring").height
    # ring rows carry cell and operator; others carry neither
    ring = lab.filter(pl.col("kind") == "ring")
    assert ring["ring_id"].null_count() == 0 and ring["campaign_id"].null_count() == 0
    assert ring["campaign_id"].n_unique() == 3
    assert lab.filter(pl.col("kind") != "ring")["ring_id"].null_count() == lab.height - ring.height
    # benign_linked accounts all have a group, ordinary ones none
    assert lab.filter((pl.col("kind") == "benign_linked") & pl.col("group_id").is_null()).height == 0
    assert lab.filter((pl.col("kind") == "benign") & pl.col("group_id").is_not_null()).height == 0


def test_labels_are_read_by_evaluate(world):
    from graphlink.lab.evaluate import evaluate

    lab = world["labels"]
    ring = lab.filter(pl.col("kind") == "ring")
    # a perfect detector: clusters = cells, flagged; campaign = operator
    acc = ring.select("account_id", pl.col("ring_id").alias("cluster_id"), "campaign_id")
    clusters = ring.select(pl.col("ring_id").unique().alias("cluster_id")).with_columns(flagged=pl.lit(True))
    r = evaluate(acc, clusters, lab)
    assert r["precision"] == r["recall"] == r["ari_cell"] == r["ari_campaign"] == 1.0
    assert r["rings"] == len(world["params"]["cells"])


def test_seed_determinism(iw, world):
    again = iw.generate(seed=5, n_accounts=400)
    for name in ("events", "accounts", "labels"):
        assert again[name].equals(world[name]), name
    other = iw.generate(seed=6, n_accounts=400)
    assert not other["events"].equals(world["events"])


def test_write_round_trip(iw, world, tmp_path):
    iw.write(world, tmp_path)
    assert pl.read_parquet(tmp_path / "labels.parquet").equals(world["labels"])
    assert pl.read_parquet(tmp_path / "events.parquet").height == world["events"].height
    assert (tmp_path / "params.json").exists()


# ------------------------------------------------------------------ --orgs: benign organisations (session 12)

_ORG_PREFIXES = ("corp", "host", "cowork")


@pytest.fixture(scope="module")
def pair(iw):
    """The same seed with and without organisations (1,500 accounts: every organisation shape appears)."""
    return iw.generate(seed=3, n_accounts=1500), iw.generate(seed=3, n_accounts=1500, orgs=True)


def _with_group(world):
    return world["events"].join(world["labels"], on="account_id").with_columns(
        prefix=pl.col("group_id").str.extract(r"^([a-z]+)", 1))


def test_orgs_off_is_the_default(iw, world):
    assert iw.generate(seed=5, n_accounts=400, orgs=False)["events"].equals(world["events"])
    assert "orgs" not in world["params"]


def test_orgs_leave_the_rest_of_the_world_unchanged(pair):
    plain, orgs = (_with_group(w) for w in pair)
    cols = ["group_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"]
    for prefix in ("cell", "team", "nat", "fam", "res", "fw"):
        a = plain.filter(pl.col("prefix") == prefix).select(cols).sort(cols)
        b = orgs.filter(pl.col("prefix") == prefix).select(cols).sort(cols)
        assert a.height > 0 or prefix in ("nat", "res", "fw")
        assert a.equals(b), prefix
    assert pair[1]["labels"].height == pair[0]["labels"].height
    # the organisations' accounts come out of the ordinary users
    n_org = pair[1]["labels"].filter(pl.col("group_id").str.contains(r"^(corp|host|cowork)")).height
    n_ord = lambda w: w["labels"].filter(pl.col("kind") == "benign").height
    assert n_org > 0 and n_ord(pair[0]) - n_ord(pair[1]) == n_org


def test_org_groups_are_linked_benign_several_cards_one_exclusive_block(pair):
    ev = _with_group(pair[1]).with_columns(block=pl.col("ip").str.replace(r"\.\d+$", ""))
    org = ev.filter(pl.col("prefix").is_in(_ORG_PREFIXES))
    assert set(org["prefix"].unique()) == set(_ORG_PREFIXES)
    assert set(org["kind"].unique()) == {"benign_linked"}
    per = org.group_by("group_id", "prefix").agg(
        cards=pl.col("payment_fingerprint").drop_nulls().n_unique(),
        top_block=pl.col("block").mode().first())
    assert per["cards"].min() >= 2  # split by cards, the shape that reads as a card pool
    # hosting and co-working /24s: nobody outside the group sends from the group's main block
    shared = per.filter(pl.col("prefix") != "corp")
    users = ev.join(shared.select(pl.col("top_block").alias("block"), pl.col("group_id").alias("owner")),
                    on="block")
    assert users.height > 0 and (users["group_id"] == users["owner"]).all()


def test_evaluate_counts_org_groups_as_linked_but_benign(pair):
    from graphlink.lab.evaluate import evaluate

    lab = pair[1]["labels"]
    org = lab.filter(pl.col("group_id").str.contains(r"^(corp|host|cowork)"))
    # a detector that flags every organisation as one cluster each
    acc = org.select("account_id", pl.col("group_id").rank("dense").cast(pl.Int64).alias("cluster_id"))
    clusters = acc.select(pl.col("cluster_id").unique()).with_columns(flagged=pl.lit(True))
    r = evaluate(acc, clusters, lab)
    assert r["benign_linked_flagged"] == org.height and r["benign_flagged"] == 0
    assert set(r["benign_linked_flagged_by_type"]) == set(_ORG_PREFIXES)


# ------------------------------------------------------------------ --agent-fleets (session 29)

def test_agent_fleets_wrap_only_the_chosen_cells_in_a_framework_users_prompt(iw):
    plain = iw.generate(seed=3, n_accounts=1500)
    wrapped = iw.agent_fleets(iw.generate(seed=3, n_accounts=1500), 3)
    notes = wrapped["params"]["agent_fleets"]
    assert 1 <= len(notes) <= 2 and sum(n["cells"] for n in notes) >= 1
    a = plain["events"].join(plain["labels"], on="account_id")
    b = wrapped["events"].join(wrapped["labels"], on="account_id")
    assert a.select("account_id", "timestamp", "ip").equals(b.select("account_id", "timestamp", "ip"))
    changed = a.with_columns(new=b["prompt"]).filter(pl.col("prompt") != pl.col("new"))
    # Only ring cells of the chosen operators change, each request prefixed by one framework users' system prompt.
    assert changed.height > 0 and set(changed["kind"].unique()) == {"ring"}
    assert set(changed["campaign_id"].unique()) <= {n["operator"] for n in notes}
    prompts = {iw.FRAMEWORK_PROMPTS[n["framework"] - 1] for n in notes}
    assert changed.select(pl.col("new").str.split("\n\nUser: ").list.first().is_in(list(prompts)).all()).item()
    assert changed.select((pl.col("new").str.split("\n\nUser: ").list.last() == pl.col("prompt")).all()).item()
    # Whole cells: every request of a changed cell is wrapped.
    cells = changed["ring_id"].unique()
    assert a.filter(pl.col("ring_id").is_in(cells.implode())).height == changed.height
    # Framework users send that same prompt.
    fw = b.filter(pl.col("group_id").str.starts_with("fw"))["prompt"].str.split("\n\nUser: ").list.first().unique()
    assert prompts <= set(fw.to_list())
    # Deterministic.
    again = iw.agent_fleets(iw.generate(seed=3, n_accounts=1500), 3)
    assert again["events"]["prompt"].equals(wrapped["events"]["prompt"])


# ------------------------------------------------------------------ --pool-scale: operator pools grown with the world (session 51)


def test_pool_scale_grows_operator_pools_and_is_off_by_default(iw, world):
    """Without ``pool_scale`` an operator's address pools are fixed while its cells grow with the world (the
    224k collapse of ARI by cell, BENCHMARKS.md session 51 big51); with it they grow by ``n / pool_scale``."""
    assert iw.generate(seed=5, n_accounts=400, pool_scale=400)["events"].equals(world["events"])
    grown = iw.generate(seed=5, n_accounts=400, pool_scale=100)
    before = [o["resi_ips"] for o in world["params"]["operators"]]
    after = [o["resi_ips"] for o in grown["params"]["operators"]]
    assert all(a >= 3 * b for a, b in zip(after, before))
    ring = lambda w: w["events"].join(w["labels"].filter(pl.col("kind") == "ring"), on="account_id")
    assert ring(grown)["ip"].n_unique() > ring(world)["ip"].n_unique()
