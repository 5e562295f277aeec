#!/usr/bin/env python
"""Operators merged through a split whole (session 58, helper op58).

Usage (``cd /tmp``, ``PYTHONPATH`` at a checkout; dev worlds under ``/tmp/dev``)::

    python ari_op58.py capture WORLD CAPDIR [detect args]  # detect WORLD saving tied_wholes' inputs to CAPDIR/WORLD
    python ari_op58.py wholes CAPDIR WORLD...               # each split whole: its blocks' operators, which kind ties
                                                            # the blocks, each block's best tie outside, and whether
                                                            # placed blocks groups the whole from its blocks

``wholes`` prints, for every whole :func:`graphlink.stages.blocks.split_wholes` split into blocks, each block's
accounts by operator (labels' ``campaign_id``), the grouping's similarity of every pair of its blocks and its split by
kind (``ip``, ``payment``, ``prompt``; :func:`graphlink.stages.campaigns.cluster_similarity` on one kind's signals),
each block's strongest tie to a cluster outside the whole (that cluster's majority operator), and the number of
grouping nodes :func:`graphlink.stages.campaign_wholes.tied_wholes` returns with ``placed_blocks`` off and on.
"""

from __future__ import annotations

import os
import sys

import polars as pl


def capture(world: str, cap: str, extra: list[str]) -> None:
    import graphlink.stages.scoring_stage as stage
    original = stage.tied_wholes
    d = f"{cap}/{world}"
    os.makedirs(d, exist_ok=True)

    def saving(blocks, wholes, affiliations, signals, graph_config, config, n_accounts=None):
        if wholes is not None:
            for name, frame in (("blocks", blocks), ("wholes", wholes), ("aff", affiliations), ("signals", signals)):
                frame.write_parquet(f"{d}/tw_{name}.parquet")
            with open(f"{d}/tw_n", "w") as f:
                f.write(str(n_accounts))
        return original(blocks, wholes, affiliations, signals, graph_config, config, n_accounts)

    stage.tied_wholes = saving
    from graphlink.cli import app
    app(prog_name="graphlink", args=["detect", f"/tmp/dev/{world}/events.parquet", "--out", f"{d}/out", "-q", *extra],
        standalone_mode=False)


def wholes(cap: str, world: str) -> None:
    from graphlink.config import CommunityConfig, GraphConfig
    from graphlink.stages.campaign_wholes import tied_wholes
    from graphlink.stages.campaigns import cluster_similarity
    d = f"{cap}/{world}"
    if not os.path.exists(f"{d}/tw_wholes.parquet"):
        print(world, "no split whole")
        return
    blocks, whole, aff, sig = (pl.read_parquet(f"{d}/tw_{k}.parquet") for k in ("blocks", "wholes", "aff", "signals"))
    n = int(open(f"{d}/tw_n").read())
    ids = (pl.read_parquet(f"{d}/out/accounts.parquet").select("account_id").with_row_index("account_idx")
           .with_columns(pl.col("account_idx").cast(pl.UInt32)))
    ops = pl.read_parquet(f"/tmp/dev/{world}/labels.parquet").select("account_id", pl.col("campaign_id").alias("op"))
    j = (blocks.drop_nulls("cluster_id").join(whole.select("account_idx", pl.col("cluster_id").alias("whole")), on="account_idx")
         .join(ids, on="account_idx").join(ops, on="account_id", how="left"))
    split = j.group_by("whole").agg(pl.col("cluster_id").n_unique().alias("k")).filter(pl.col("k") > 1)
    major = j.group_by("cluster_id").agg(pl.col("op").drop_nulls().mode().first().alias("op"))
    sims = {}
    for kinds in (None, ["ip"], ["payment"], ["prompt"]):
        s = sig if kinds is None else sig.filter(pl.col("kind").is_in([*kinds, "user_agent"]))
        node, _, e = cluster_similarity(blocks, aff, s, GraphConfig(), CommunityConfig(), n)
        cid = dict(zip(node["node"].to_list(), node["cluster_id"].to_list()))
        sims["all" if kinds is None else kinds[0]] = {(cid[a], cid[b]): w for a, b, w in e.iter_rows()} | {
            (cid[b], cid[a]): w for a, b, w in e.iter_rows()}
    whole_of = dict(j.select("cluster_id", "whole").unique().iter_rows())
    op_of = dict(major.iter_rows())
    for w in split["whole"].to_list():
        members = j.filter(pl.col("whole") == w)
        print(f"{world} whole {w}:", members.group_by("cluster_id", "op").len().sort("cluster_id", "op").rows())
        bl = sorted(members["cluster_id"].unique().to_list())
        for i, a in enumerate(bl):
            for b in bl[i + 1:]:
                print(f"  blocks {a}-{b}:", {k: round(v.get((a, b), 0.0), 3) for k, v in sims.items()})
            out = [(c, v) for (x, c), v in sims["all"].items() if x == a and whole_of.get(c) != w]
            if out:
                c, v = max(out, key=lambda t: t[1])
                print(f"  block {a} (op {op_of.get(a)}): best outside cluster {c} (op {op_of.get(c)}) {v:.3f}")
    off = tied_wholes(blocks, whole, aff, sig, GraphConfig(), CommunityConfig(), n)["cluster_id"].n_unique()
    on = tied_wholes(blocks, whole, aff, sig, GraphConfig(), CommunityConfig(placed_blocks=True), n)["cluster_id"].n_unique()
    print(f"{world}: grouping nodes, placed blocks off {off}, on {on}")


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "capture":
        capture(rest[0], rest[1], rest[2:])
    elif cmd == "wholes":
        for w in rest[1:]:
            wholes(rest[0], w)
    else:
        raise SystemExit(__doc__)
