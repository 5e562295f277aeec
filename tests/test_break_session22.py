"""Break-it review of session 22's campaign rule for split clusters (stages/campaign_wholes, main dc45c25..e482202).

A cluster the block split cut into blocks enters the campaign grouping as its blocks when (1) the blocks are
untied (similarity over the whole's account pairs across blocks < ``campaign_resolution``) and (2) a block is
tied at least that much to a cluster outside the whole; otherwise as one node, as before.

Findings:

* **Fixed** -- a cluster outside tied to *every* block of the whole was taken for evidence placing the blocks
  apart. Three cells sharing one proxy pool, the outside cell sharing a card with each of the two blocks
  (similarity 0.397 to each, the blocks 0.08 to each other): the whole was grouped from its blocks and
  Leiden put one block with the outside cell and left the other a campaign of its own (before session 22:
  one campaign). The same through ``run_detect`` with friend lists: sibling cell ``c`` sharing private friends
  with both blocks (0.39 and 0.69) left ``a`` alone. A cluster tied to all the blocks ties them together; the
  evidence is a cluster tied to some blocks and not the others (the fix in ``tied_wholes``). vk-bots with the
  fix: as main (campaign pair F1 0.176, P 0.476 / R 0.108, ARI bots 0.130); the 18 small scenario worlds
  (6 scenarios x seeds 1-3, with accounts): clusters, campaigns and flags identical to main (2 split wholes,
  neither regrouped on either).
* **xfail** -- the rule's outcome depends on accounts that hold no value: 2,000 idle accounts listed in an
  ``--accounts`` file (no events) turn session 22's own two-trader case (``a`` apart from ``b``, 3/3 seeds) back
  into one campaign, since the private ties' chance is counted over every account of the index.
* The Spark engine groups both friend cases as polars does, account for account.
* Odd inputs (blocks of one account, no affiliations, no similarity edge, a whole left with one block, no
  block at all): no crash, the schema ``account_idx: UInt32, cluster_id: Int64`` and the wholes unchanged
  where nothing places a block apart.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.config.build import build_config
from graphlink.pipeline import run_detect
from graphlink.stages.campaign_wholes import tied_wholes
from graphlink.stages.campaigns import cluster_campaigns, cluster_similarity
from tests.test_campaign_wholes import SPLIT_SEEDS, friend_log

SCHEMA = pl.Schema({"account_idx": pl.UInt32, "cluster_id": pl.Int64})


def frames(values: list[tuple[str, list[int]]], blocks: list, whole: list):
    """``blocks, wholes, affiliations, signals`` of hand-made values ``(kind, holders)`` (one signal each)."""
    n = len(blocks)
    part = pl.DataFrame({"account_idx": range(n), "cluster_id": blocks}, schema=SCHEMA)
    wholes = pl.DataFrame({"account_idx": range(n), "cluster_id": whole}, schema=SCHEMA)
    rows = [(a, s) for s, (_, holders) in enumerate(values) for a in holders]
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": range(len(values)), "kind": [k for k, _ in values],
                        "df": [len(h) for _, h in values], "weight": [1.0] * len(values),
                        "linked": [True] * len(values)}, schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    return part, wholes, aff, sig


def proxy_pool_world(seed: int, card_to_b: bool):
    """One operator's three 8-account cells on one proxy pool (each account 2 of 30 addresses).

    Blocks A (0-7) and B (8-15) are one whole; X (16-23) a cluster of its own. Each cell pays with two
    cards of its own; X shares a card with three of A (and, ``card_to_b``, another with three of B). 36
    ordinary accounts on addresses of their own.
    """
    rng = np.random.default_rng(seed)
    a, b, x = list(range(8)), list(range(8, 16)), list(range(16, 24))
    pool: dict[int, list[int]] = {}
    for acc in a + b + x:
        for ip in rng.choice(30, 2, replace=False):
            pool.setdefault(int(ip), []).append(acc)
    values = [("ip", h) for h in pool.values()]
    values += [("payment", a)] * 2 + [("payment", b)] * 2 + [("payment", x)] * 2
    values += [("payment", a[:3] + x[:2])]
    if card_to_b:
        values += [("payment", b[:3] + x[2:4])]
    values += [("ip", [u]) for u in range(24, 60)]
    return frames(values, [1] * 8 + [2] * 8 + [3] * 8 + [None] * 36, [1] * 16 + [2] * 8 + [None] * 36)


def campaigns_of(part, wholes, aff, sig) -> tuple[list, dict]:
    """``(the clusters grouped from, {block: campaign})`` as the pipeline groups them (piece_campaigns' vote)."""
    grouped = tied_wholes(part, wholes, aff, sig, GraphConfig(), CommunityConfig(), part.height)
    camp = cluster_campaigns(grouped, aff, sig, GraphConfig(), CommunityConfig(), part.height)
    of_block = (part.drop_nulls().join(grouped.rename({"cluster_id": "node"}), on="account_idx")
                .join(camp.rename({"cluster_id": "node"}), on="node")
                .group_by("cluster_id").agg(pl.col("campaign_id").mode().min()))
    return grouped["cluster_id"].to_list(), dict(of_block.iter_rows())


@pytest.mark.parametrize("seed", range(4))
def test_a_cluster_tied_to_every_block_keeps_the_whole_one_campaign(seed):
    # X is tied to A and to B alike (a card each, 0.397 each); the blocks share only the proxy pool (0.08).
    # Before the fix the whole was grouped from its blocks and B (or A) was left a campaign of its own.
    part, wholes, aff, sig = proxy_pool_world(seed, card_to_b=True)
    node, _, edges = cluster_similarity(part, aff, sig, GraphConfig(), CommunityConfig(), part.height)
    weight = {tuple(sorted(r[:2])): r[2] for r in edges.rows()}
    res = CommunityConfig().campaign_resolution
    assert weight.get((0, 1), 0.0) < res <= min(weight[(0, 2)], weight[(1, 2)])  # untied blocks, X tied to both
    grouped, campaign = campaigns_of(part, wholes, aff, sig)
    assert grouped[:16] == [1] * 16                                             # the whole stays one node
    assert campaign[1] == campaign[2] == campaign[3]


@pytest.mark.parametrize("seed", range(4))
def test_a_cluster_tied_to_one_block_only_still_places_it(seed):
    # The control: X shares a card with A alone; B is placed apart (the session's rule, kept by the fix).
    part, wholes, aff, sig = proxy_pool_world(seed, card_to_b=False)
    grouped, campaign = campaigns_of(part, wholes, aff, sig)
    assert len(set(grouped[:16])) == 2
    assert campaign[1] == campaign[3] != campaign[2]


def friends_of_both(seed: int) -> pl.DataFrame:
    """``friend_log(seed)`` with sibling ``c`` also sharing 12 private friends with ``a`` (2 of ``a``, 2 of ``c``
    each), as it shares 12 with ``b``: tied to both blocks (similarity 0.39 and 0.69; the blocks 0.08)."""
    rng = np.random.default_rng(seed + 100)
    rows = []
    for k in range(12):
        rows += [(f"a{i:02d}", f"acell{k}") for i in rng.choice(25, 2, replace=False)]
        rows += [(f"c{i:02d}", f"acell{k}") for i in rng.choice(10, 2, replace=False)]
    return pl.concat([friend_log(seed), pl.DataFrame(rows, schema=["account_id", "friend"], orient="row")])


def group_campaigns(log: pl.DataFrame, accounts: pl.DataFrame | None = None) -> dict:
    """``{group: campaign_id}`` of groups a, b, c (each asserted one cluster of its own)."""
    result = run_detect(log, accounts, build_config(signals=("friend",)))
    found = (result.accounts.with_columns(pl.col("account_id").str.slice(0, 1).alias("group"))
             .filter(pl.col("group").is_in(["a", "b", "c"])).group_by("group", "cluster_id", "campaign_id").len())
    assert found["group"].is_unique().all() and found["cluster_id"].is_unique().all(), found
    assert found["campaign_id"].null_count() == 0
    return dict(zip(found["group"], found["campaign_id"]))


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_a_sibling_cell_tied_to_both_blocks_does_not_tear_the_whole_apart(seed):
    # Before the fix: c tied to both, so "a block tied outside" held, and a was left alone ({b, c}, {a}).
    campaign = group_campaigns(friends_of_both(seed))
    assert campaign["a"] == campaign["b"] == campaign["c"]


def accounts_file(log: pl.DataFrame, idle: int) -> pl.DataFrame:
    """Every account of ``log`` created an hour apart, plus ``idle`` registered accounts with no event."""
    t0 = dt.datetime(2024, 1, 1)
    ids = log["account_id"].unique().sort().to_list() + [f"z{i:05d}" for i in range(idle)]
    return pl.DataFrame({"account_id": ids, "created_at": [t0 + dt.timedelta(hours=i) for i in range(len(ids))],
                         "email_domain": ["gmail.com"] * len(ids)})


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_an_accounts_file_without_idle_accounts_keeps_the_rule(seed):
    # The two-trader case with an accounts file (creation hours, one email domain): as without it.
    log = friend_log(seed)
    campaign = group_campaigns(log, accounts_file(log, 0))
    assert campaign["a"] != campaign["b"] == campaign["c"]


@pytest.mark.xfail(strict=True, reason=(
    "accounts with no event change the rule's outcome: friend_log's two traders (a apart from b, 3/3 seeds) "
    "are one campaign again when the --accounts file also lists 2,000 idle accounts -- n_accounts is the "
    "index's 2,105 instead of 105, and the private ties' chance over it ties the seam (a-b 0.08 -> 1.0, b-c "
    "0.83 -> 1.0), though no account holds anything more; chance should count accounts that could hold a friend"))
@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_idle_accounts_in_the_accounts_file_do_not_regroup_the_blocks(seed):
    log = friend_log(seed)
    campaign = group_campaigns(log, accounts_file(log, 2_000))
    assert campaign["a"] != campaign["b"] == campaign["c"]


# --- odd inputs -----------------------------------------------------------------------------------------


def grouped(values, blocks, whole, no_affiliations: bool = False) -> pl.DataFrame:
    part, wholes, aff, sig = frames(values or [("ip", [0])], blocks, whole)
    out = tied_wholes(part, wholes, aff.clear() if no_affiliations else aff, sig, GraphConfig(), CommunityConfig(), 100)
    assert out.schema == SCHEMA and out.height == part.height
    return out


def test_blocks_of_one_account_are_grouped_when_one_is_tied_across_wholes():
    # wholes 1 = {0 | 1}, 2 = {2 | 3}; a card of accounts 0 and 2 ties block 1 to block 3 and nothing else.
    out = grouped([("payment", [0, 2])] * 2, [1, 2, 3, 4], [1, 1, 2, 2])
    assert out["cluster_id"].n_unique() == 4 and out["cluster_id"].min() > 2   # block ids above the wholes'


@pytest.mark.parametrize("case", ["no affiliations", "no similarity edge", "one block left", "no block"])
def test_odd_wholes_stay_as_they_are(case):
    whole = [1, 1, 1, 1, 2, 2]
    blocks, values, bare = {
        "no affiliations": ([1, 1, 2, 2, 3, 3], None, True),
        "no similarity edge": ([1, 1, 2, 2, 3, 3], [("ip", [0]), ("ip", [2])], False),
        "one block left": ([1, 1, None, None, 3, 3], [("payment", [0, 1, 4, 5])], False),
        "no block": ([None] * 6, [("payment", [0, 1, 4, 5])], False),
    }[case]
    assert grouped(values, blocks, whole, bare)["cluster_id"].to_list() == whole


# --- the Spark engine -----------------------------------------------------------------------------------


@pytest.mark.parametrize("both", [False, True])
def test_spark_engine_groups_the_split_whole_as_polars(spark, tmp_path, both):
    # The two traders placed apart (friend_log) and the sibling tied to both blocks (one campaign): the
    # Spark engine's clusters and campaigns are the polars engine's, account for account.
    pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")
    import graphlink

    path = tmp_path / "friends.parquet"
    (friends_of_both(0) if both else friend_log(0)).write_parquet(path)
    config = build_config(signals=("friend",))
    runs = [graphlink.detect(path, None, config=config),
            graphlink.detect(str(path), None, config=config, engine="spark", spark=spark)]
    a, b = (r.accounts.select("account_id", "cluster_id", "campaign_id").sort("account_id") for r in runs)
    assert a.equals(b)
    camp = dict(a.select(pl.col("account_id").str.slice(0, 1), "campaign_id").unique().iter_rows())
    assert (camp["a"] == camp["b"]) is both
