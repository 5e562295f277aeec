"""Network cells (session 12, narrowed in session 13): clusters joined when their members live on networks no
one else uses, share a template or client, and have no address or clock of their own.

Hand-built partitions with the answer known, each beside the control that must not be joined, then one
small event log through the whole pipeline with the setting on and off.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import GraphConfig
from graphlink.config.build import build_config
from graphlink.pipeline import run_detect
from graphlink.stages.campaigns import cluster_campaigns
from graphlink.stages.network_cells import network_cells, piece_campaigns

U32 = {"account_idx": pl.UInt32, "signal_idx": pl.UInt32}


def frames(clusters: dict[int, int | None], holdings: list[tuple[int, int, int]], df: dict[int, int],
           kinds: dict[int, str] | None = None):
    """Partition ``{account: cluster}``, memberships ``(account, signal, events)``, signals with ``df`` and
    every account's events."""
    part = pl.DataFrame({"account_idx": list(clusters), "cluster_id": list(clusters.values())},
                        schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    mem = pl.DataFrame(holdings, schema=["account_idx", "signal_idx", "count"], orient="row",
                       schema_overrides={**U32, "count": pl.UInt32})
    kinds = kinds or {}
    sig = pl.DataFrame({"signal_idx": list(df), "kind": [kinds.get(s, "ip_net") for s in df], "df": list(df.values())},
                       schema_overrides={"signal_idx": pl.UInt32})
    # Every account's events: those its networks carry (a home network no one shares is not a membership).
    ev = mem.group_by("account_idx").agg(pl.col("count").sum().cast(pl.Int64).alias("events"))
    return part, mem, sig, ev


def with_template(part, mem, sig, accounts, signal: int = 99):
    """The frames with a template shingle (``prompt`` value ``signal``) sent by ``accounts``."""
    mem = pl.concat([mem, pl.DataFrame({"account_idx": accounts, "signal_idx": [signal] * len(accounts),
                                        "count": [1] * len(accounts)}, schema=mem.schema)])
    sig = pl.concat([sig, pl.DataFrame({"signal_idx": [signal], "kind": ["prompt"], "df": [len(accounts)]}, schema=sig.schema)])
    return part, mem, sig


def groups(part: pl.DataFrame) -> list[list[int]]:
    """The partition's clusters as sorted lists of accounts, unclustered accounts left out."""
    return sorted(sorted(g) for g in part.drop_nulls("cluster_id").group_by("cluster_id")
                  .agg(pl.col("account_idx").cast(pl.Int64))["account_idx"].to_list())


def test_card_groups_of_one_datacenter_cell_are_joined():
    # Three card groups (clusters 1-3) whose members all send their traffic from one /24 (signal 7)
    # nobody else uses, each account from its own VM address, one template: one cell.
    clusters = {a: 1 + a // 4 for a in range(12)}
    part, mem, sig, ev = frames(clusters, [(a, 7, 20) for a in range(12)], {7: 12})
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    assert groups(network_cells(part, mem, sig, ev)) == [list(range(12))]


def test_groups_on_one_block_that_share_no_template_stay_apart():
    # The same block with nothing else shared (a building's households, two operators renting one block).
    clusters = {a: 1 + a // 4 for a in range(12)}
    part, mem, sig, ev = frames(clusters, [(a, 7, 20) for a in range(12)], {7: 12})
    assert groups(network_cells(part, mem, sig, ev)) == groups(part)
    # A template sent by one group only (one member of another group once asked it too) ties nobody.
    part, mem, sig = with_template(part, mem, sig, [0, 1, 2, 3, 4])
    assert groups(network_cells(part, mem, sig, ev)) == groups(part)


def test_a_group_with_an_address_of_its_own_is_a_unit():
    # Cluster 3's members all send from one office address (signal 50) no one else uses: a branch office
    # of the block's company, not a card group of a cell. Clusters 1-2 (own VM per account) are joined.
    clusters = {a: 1 + a // 4 for a in range(12)}
    holdings = [(a, 7, 20) for a in range(12)] + [(a, 50, 20) for a in range(8, 12)]
    part, mem, sig, ev = frames(clusters, holdings, {7: 12, 50: 4}, kinds={50: "ip"})
    ev = ev.with_columns(pl.lit(20, pl.Int64).alias("events"))
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    assert groups(network_cells(part, mem, sig, ev)) == [list(range(8)), list(range(8, 12))]


def test_a_few_light_accounts_on_the_block_do_not_make_it_shared():
    # Four throw-away accounts in no cluster, one request each on the cell's /24: 4 of 244 events
    # (exclusivity is by traffic, not by the 12 of 16 accounts).
    clusters = {**{a: 1 + a // 4 for a in range(12)}, **{a: None for a in range(12, 16)}}
    part, mem, sig, ev = frames(clusters, [(a, 7, 20) for a in range(12)] + [(a, 7, 1) for a in range(12, 16)], {7: 16})
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    assert groups(network_cells(part, mem, sig, ev)) == [list(range(12))]


def test_a_network_shared_with_people_in_no_cluster_joins_nobody():
    # The same clusters on a residential block where six neighbours in no cluster also live: a third
    # of its traffic is theirs.
    clusters = {**{a: 1 + a // 4 for a in range(12)}, **{a: None for a in range(12, 18)}}
    part, mem, sig, ev = frames(clusters, [(a, 7, 20) for a in range(18)], {7: 18})
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    assert groups(network_cells(part, mem, sig, ev)) == groups(part)


def test_an_occasional_network_is_not_where_members_live():
    # Members each live on their own home /24 (signals 100+) and send one request in ten over a carrier
    # exit block (signal 7) only they use: the carrier is nobody's principal network.
    # The home networks link nobody, so they are no memberships: only the account's events count them.
    clusters = {a: 1 + a // 4 for a in range(12)}
    part, mem, sig, ev = frames(clusters, [(a, 7, 2) for a in range(12)], {7: 12})
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    ev = ev.with_columns(pl.lit(2, pl.Int64).alias("events"))
    assert groups(network_cells(part, mem, sig, ev)) == [list(range(12))]  # without the home events
    ev = ev.with_columns(pl.lit(20, pl.Int64).alias("events"))
    assert groups(network_cells(part, mem, sig, ev)) == groups(part)


def test_a_cluster_only_partly_on_the_networks_keeps_its_id():
    # Clusters 1 and 2 live on /24 signal 7; cluster 3 has two members there and three at home
    # (cover 2/5 < 0.8): it touches the cell's network but is not of the cell.
    clusters = {**{a: 1 + a // 4 for a in range(8)}, **{a: 3 for a in range(8, 13)}}
    holdings = [(a, 7, 20) for a in range(10)] + [(a, 100 + a, 20) for a in range(10, 13)]
    part, mem, sig, ev = frames(clusters, holdings, {7: 10, **{100 + a: 2 for a in range(10, 13)}})
    part, mem, sig = with_template(part, mem, sig, list(range(13)))
    assert groups(network_cells(part, mem, sig, ev)) == [list(range(8)), list(range(8, 13))]


def test_several_blocks_of_one_cell_are_one_group():
    # A cell renting two /24s (signals 7 and 8); each card group has members on both, none of them
    # mostly on one block: the bipartite component of clusters and blocks is the cell.
    clusters = {a: 1 + a // 4 for a in range(12)}
    holdings = [(a, 7 if a % 2 else 8, 20) for a in range(12)]
    part, mem, sig, ev = frames(clusters, holdings, {7: 6, 8: 6})
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    assert groups(network_cells(part, mem, sig, ev)) == [list(range(12))]


def test_a_cell_spread_evenly_over_three_blocks_lives_on_them():
    # Each account sends a third of its events from each of three /24s: no single block carries half,
    # the two largest do (principal networks are a set of up to three).
    clusters = {a: 1 + a // 4 for a in range(12)}
    holdings = [(a, net, 10) for a in range(12) for net in (7, 8, 9)]
    part, mem, sig, ev = frames(clusters, holdings, {7: 12, 8: 12, 9: 12})
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    assert groups(network_cells(part, mem, sig, ev)) == [list(range(12))]
    # Over seven blocks (a rotating network), the fewest carrying half are more than three: no join.
    holdings = [(a, net, 10) for a in range(12) for net in range(7, 14)]
    part, mem, sig, ev = frames(clusters, holdings, {n: 12 for n in range(7, 14)})
    part, mem, sig = with_template(part, mem, sig, list(range(12)))
    assert groups(network_cells(part, mem, sig, ev)) == groups(part)


def test_other_kinds_do_not_join():
    # The same sharing through a prompt shingle (an operator's template, shared by its sibling cells)
    # is no network.
    clusters = {a: 1 + a // 4 for a in range(12)}
    part, mem, sig, ev = frames(clusters, [(a, 7, 20) for a in range(12)], {7: 12}, kinds={7: "prompt"})
    assert groups(network_cells(part, mem, sig, ev)) == groups(part)


def test_joined_clusters_take_their_pieces_majority_campaign():
    # Pieces 1 and 2 pay with one card (one campaign), piece 3 alone; joining 2 and 3 (4 + 2 members)
    # leaves the joined cluster in the campaign of most of its members.
    pieces = pl.DataFrame({"account_idx": list(range(10)), "cluster_id": [1] * 4 + [2] * 4 + [3] * 2},
                          schema_overrides={"account_idx": pl.UInt32})
    joined = pieces.with_columns(pl.when(pl.col("cluster_id") == 3).then(2).otherwise(pl.col("cluster_id"))
                                 .alias("cluster_id"))
    aff = pl.DataFrame({"account_idx": list(range(8)), "signal_idx": [9] * 8}, schema_overrides=U32)
    sig = pl.DataFrame({"signal_idx": [9], "kind": ["payment"], "df": [8], "weight": [3.0], "linked": [True]},
                       schema_overrides={"signal_idx": pl.UInt32})
    of_pieces = cluster_campaigns(pieces, aff, sig, GraphConfig())
    assert of_pieces["campaign_id"].to_list()[:2] == [1, 1] and of_pieces["campaign_id"].to_list()[2] != 1
    got = piece_campaigns(joined, pieces, aff, sig, GraphConfig())
    assert got["cluster_id"].to_list() == [1, 2]
    assert got["campaign_id"].n_unique() == 1
    assert piece_campaigns(pieces, None, aff, sig, GraphConfig()).equals(of_pieces)


def cell_and_neighbours_log(seed: int = 3) -> pl.DataFrame:
    """Ordinary users, a datacenter cell in three card groups (one VM address per account, one /24 nobody
    else uses, one template), and two households on a residential /24 shared with ten neighbours in no cluster."""
    rng = np.random.default_rng(seed)
    vocab = np.array("the a cat dog model water river light code bread music train glass paper stone".split())
    rows = []

    def user(name: str, ips: list[str], card: str, n: int) -> None:
        for _ in range(n):
            rows.append((name, int(rng.integers(0, 14 * 86400)), str(rng.choice(ips)),
                         card, " ".join(rng.choice(vocab, 8)), "python-requests/2.31"))

    for a in range(80):
        user(f"user{a:03d}", [f"{20 + a % 150}.{a % 7}.{a}.{a % 250 + 1}"], f"pf_u{a}", int(rng.integers(4, 12)))
    for g in range(3):
        for i in range(5):  # one VM address per account, the operator's template (session 13: a shared mark)
            for _ in range(20):
                rows.append((f"cell_g{g}_{i}", int(rng.integers(0, 14 * 86400)), f"203.0.113.{10 + 5 * g + i}", f"pf_cell{g}",
                             "You are an expert. Solve the following task and show every step: " + " ".join(rng.choice(vocab, 4)),
                             "python-requests/2.31"))
    for h in range(2):
        for i in range(3):
            user(f"home{h}_{i}", [f"198.51.100.{20 + h}"], f"pf_home{h}", 12)
    for n in range(10):
        user(f"neighbour{n}", [f"198.51.100.{100 + n}"], f"pf_n{n}", 8)
    frame = pl.DataFrame(rows, schema=["account_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"],
                         orient="row")
    start = pl.datetime(2026, 3, 2, time_zone="UTC")
    return frame.with_columns((start + pl.duration(seconds=pl.col("timestamp"))).alias("timestamp"))


def test_pipeline_joins_the_cell_and_not_the_households():
    events = cell_and_neighbours_log()
    ids = {}
    for on in (False, True):
        out = run_detect(events, config=build_config(network_cells=on)).accounts
        ids[on] = dict(zip(out["account_id"], out["cluster_id"]))
    cell = [f"cell_g{g}_{i}" for g in range(3) for i in range(5)]
    homes = [[f"home{h}_{i}" for i in range(3)] for h in range(2)]
    # Off: the cell is its three card groups; on: one cluster.
    assert len({ids[False][a] for a in cell}) == 3
    assert len({ids[True][a] for a in cell}) == 1 and ids[True][cell[0]] is not None
    # The households stay two clusters apart from the cell, their neighbours in none.
    for on in (False, True):
        home_ids = [{ids[on][a] for a in home} for home in homes]
        assert all(len(h) == 1 and None not in h for h in home_ids) and home_ids[0] != home_ids[1]
        assert not (home_ids[0] | home_ids[1]) & {ids[on][a] for a in cell}
        assert all(ids[on][f"neighbour{n}"] is None for n in range(10))


# Engine parity of the joined cells runs on the drag world (tests/test_break_nc13.py::
# test_spark_engine_joins_the_drag_world_alike: the same scoring stage, memberships and flags); this world's own Spark
# run (24 s of test time) was dropped in session 42 for suite time.
