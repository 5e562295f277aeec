#!/usr/bin/env python
"""Where ARI by operator is lost: mixed clusters or split operators (session 46, helper op46).

Usage (from outside the checkout, the code to measure on ``PYTHONPATH``)::

    PYTHONPATH=/path/to/checkout python benchmarks/campaign_loss46.py WORLD [WORLD ...]

Runs ``detect`` on each ``WORLD/events.parquet`` (labels in ``WORLD/labels.parquet``: ``kind``, ``ring_id``,
``campaign_id`` = operator) and prints, per operator, where its ring accounts are: in the campaign holding most
of them, in other campaigns, unclustered. For each operator's main campaign it lists the *pieces* (the clusters
campaigns are grouped from, :func:`graphlink.stages.network_cells.piece_campaigns`) holding other operators'
accounts -- a piece holding several operators' cells is the partition's merge, which no campaign tie can undo
-- and the ARI by operator of three oracles: each piece's accounts in its majority operator's main campaign
(what the grouping could reach on these pieces); every account of another operator moved out of each main
campaign into its own operator's (the mixed pieces split); every clustered account in its operator's main
campaign. Main campaigns are assigned greedily, one operator each, largest (operator, campaign) count first.

Then, for the piece holding most other operators' accounts, the account pairs sharing exact addresses there:
``S`` shared against ``E = k_a k_b / M`` (``k``: each account's distinct addresses, ``M``: the piece's distinct
addresses -- what two accounts drawing their exits at random from the piece's addresses would share), by how the
pair is related (same cell, sibling cells of one operator, two operators, with a non-ring account), and the share
of pairs whose ``S`` chance (Poisson of mean ``E``) reaches with probability under 0.001.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

import graphlink.pipeline as pipeline
from graphlink.lab.evaluate import adjusted_rand_index
from graphlink.stages.campaign_ties import chance_below


def exit_chance(result, members: pl.DataFrame) -> pl.DataFrame:
    """Pairs of ``members`` (``account_id, op, cell``) sharing addresses: shared against chance, by relation."""
    ids = result.index.join(members, on="account_id")
    ips = result.signals.filter(pl.col("kind") == "ip").select("signal_idx")
    held = (result.affiliations.select("account_idx", "signal_idx").join(ids.select("account_idx"), on="account_idx")
            .join(ips, on="signal_idx").unique())
    m = held["signal_idx"].n_unique()
    k = held.group_by("account_idx").agg(pl.len().alias("k"))
    who = ids.select("account_idx", "op", "cell")
    pairs = (held.join(held, on="signal_idx", suffix="_b").filter(pl.col("account_idx") < pl.col("account_idx_b"))
             .group_by("account_idx", "account_idx_b").agg(pl.len().alias("S"))
             .join(k, on="account_idx").join(k.rename({"account_idx": "account_idx_b", "k": "k_b"}), on="account_idx_b")
             .with_columns((pl.col("k") * pl.col("k_b") / m).alias("E"))
             .join(who, on="account_idx").join(who.rename({c: f"{c}_b" for c in who.columns}), on="account_idx_b"))
    rel = (pl.when(pl.col("op").is_null() | pl.col("op_b").is_null()).then(pl.lit("with a non-ring account"))
           .when(pl.col("cell") == pl.col("cell_b")).then(pl.lit("same cell"))
           .when(pl.col("op") == pl.col("op_b")).then(pl.lit("sibling cells")).otherwise(pl.lit("two operators")))
    beyond = 1.0 - chance_below(pairs["S"].to_numpy(), pairs["E"].to_numpy())  # P(X >= S)
    return (pairs.with_columns(rel.alias("pair"), pl.Series("p", beyond < 0.001))
            .group_by("pair").agg(pl.len().alias("pairs"), pl.col("S").mean().round(2).alias("S mean"),
                                  pl.col("E").mean().round(2).alias("E mean"), pl.col("p").mean().round(4).alias("share p<0.001"))
            .sort("pair"))


def run(world: Path) -> None:
    seen: dict = {}
    original = pipeline.piece_campaigns

    def capture(partition, pieces, *args, **kwargs):
        seen["pieces"] = pieces if pieces is not None else partition
        return original(partition, pieces, *args, **kwargs)

    pipeline.piece_campaigns = capture
    try:
        result = pipeline.run_detect(world / "events.parquet")
    finally:
        pipeline.piece_campaigns = original
    labels = pl.read_parquet(world / "labels.parquet").select(
        "account_id", "kind", pl.col("campaign_id").alias("op"), pl.col("ring_id").alias("cell"))
    lab = labels.filter(pl.col("kind") == "ring").select("account_id", "op")
    pieces = seen["pieces"].join(result.index.select("account_idx", "account_id"), on="account_idx").select(
        "account_id", pl.col("cluster_id").alias("piece"))
    acc = (lab.join(result.accounts.select("account_id", "campaign_id"), on="account_id", how="left")
           .join(pieces, on="account_id", how="left"))
    # Each operator's main campaign: (operator, campaign) pairs by accounts, each campaign to one operator.
    owned: dict = {}
    for op, campaign, _ in (acc.drop_nulls("campaign_id").group_by("op", "campaign_id").len()
                            .sort(["len", "op"], descending=[True, False]).rows()):
        if op not in owned and campaign not in owned.values():
            owned[op] = campaign
    main = pl.DataFrame({"op": list(owned), "main": list(owned.values())},
                        schema={"op": acc.schema["op"], "main": acc.schema["campaign_id"]})
    acc = acc.join(main, on="op", how="left")
    print(f"== {world.name}: {acc.height:,} ring accounts, {acc['op'].n_unique()} operators")
    for op, n, inmain, other, alone in (acc.group_by("op").agg(
            pl.len().alias("n"), (pl.col("campaign_id") == pl.col("main")).sum().alias("inmain"),
            (pl.col("campaign_id").is_not_null() & (pl.col("campaign_id") != pl.col("main"))).sum().alias("other"),
            pl.col("campaign_id").is_null().sum().alias("alone")).sort("op").rows()):
        print(f"operator {op}: {n:,} accounts; {inmain:,} in its main campaign, {other:,} in "
              f"{acc.filter((pl.col('op') == op) & (pl.col('campaign_id') != pl.col('main')))['campaign_id'].n_unique()}"
              f" other campaigns, {alone:,} unclustered")
    owner = main.rename({"op": "owner", "main": "campaign_id"})
    foreign = acc.join(owner, on="campaign_id").filter(pl.col("op") != pl.col("owner"))
    for row in (foreign.group_by("owner", "op", "piece").len().sort("len", descending=True).head(8).rows()):
        size = acc.filter(pl.col("piece") == row[2]).group_by("op").len().sort("op").rows() if row[2] is not None else []
        print(f"  operator {row[1]}'s {row[3]} accounts in operator {row[0]}'s main campaign sit in piece {row[2]}"
              f" (its ring accounts by operator: {size})")
    majority = (acc.drop_nulls("piece").group_by("piece", "op").len().sort("len", descending=True)
                .group_by("piece").first().select("piece", pl.col("op").alias("piece_op")))
    acc = acc.join(majority, on="piece", how="left").join(main.rename({"op": "piece_op", "main": "piece_main"}),
                                                          on="piece_op", how="left")
    # A piece's accounts to its majority operator's main campaign; another operator's accounts out of a main
    # campaign (to their own operator's); every clustered account to its operator's main campaign.
    joined = pl.coalesce("piece_main", "campaign_id")
    split = pl.when(pl.col("campaign_id").is_in(main["main"].implode()) & (pl.col("campaign_id") != pl.col("main"))).then(
        pl.coalesce("main", -pl.col("op"))).otherwise(pl.col("campaign_id"))
    both = pl.when(pl.col("piece").is_not_null()).then(pl.coalesce("main", -pl.col("op"))).otherwise(pl.col("campaign_id"))

    def ari(expr: pl.Expr) -> float:
        frame = acc.with_columns(expr.alias("__p"), pl.col("account_id").alias("__single"))
        frame = frame.with_columns(pl.when(pl.col("__p").is_null()).then(pl.col("__single")).alias("__single"))
        return adjusted_rand_index(frame, "op", ["__p", "__single"])

    print(f"ARI by operator {ari(pl.col('campaign_id')):.3f}; each piece to its majority's main campaign "
          f"{ari(joined):.3f}; other operators' accounts out of main campaigns {ari(split):.3f}; "
          f"every clustered account in its operator's main campaign {ari(both):.3f}")
    if foreign.height:
        piece = foreign.drop_nulls("piece").group_by("piece").len().sort("len", descending=True)["piece"][0]
        members = pieces.filter(pl.col("piece") == piece).join(labels, on="account_id").select("account_id", "op", "cell")
        with pl.Config(tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            print(f"address pairs in piece {piece} ({members.height} accounts):")
            print(exit_chance(result, members))


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        run(Path(arg))
