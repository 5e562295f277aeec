#!/usr/bin/env python
"""Dump what ``network_cells`` joined, with each piece's active hours (session 52, helper cells52).

Usage::

    python benchmarks/join_hours52.py EVENTS OUT_PARQUET_PREFIX [detect args...]

Runs detect with ``scoring_stage`` and ``network_cells`` wrapped: writes PREFIX_pieces.parquet (``account_idx,
piece, joined``: the partition before and after the join), PREFIX_comps.parquet (``cluster_id, comp, group``: the
linked components and their clock groups, when clock groups ran), PREFIX_hours.parquet (``account_idx, abs_hour, events``:
clustered accounts' events per UTC hour since the epoch) and PREFIX_index.parquet (``account_idx, account_id``).
"""
import sys
import polars as pl
import graphlink.stages.scoring_stage as ss
import graphlink.stages.network_cells as ncmod

events, prefix = sys.argv[1], sys.argv[2]
orig_nc, orig_ss = ss.network_cells, ss.scoring_stage
grab = {}


orig_cg = ncmod.clock_groups


def cg(comp, *a, **k):
    out = orig_cg(comp, *a, **k)
    grab["comps"] = comp.join(out.rename({"comp": "group"}), on="cluster_id")
    return out


ncmod.clock_groups = cg


def nc(partition, *a, **k):
    out = orig_nc(partition, *a, **k)
    grab["pieces"] = partition.select("account_idx", pl.col("cluster_id").alias("piece")).join(
        out.select("account_idx", pl.col("cluster_id").alias("joined")), on="account_idx", how="left")
    return out


def scoring(partition, index, ev, signal_set, projection, activity_idx, *a, **k):
    activity_idx.select("account_idx", (pl.col("day").cast(pl.Int32).cast(pl.Int64) * 24 + pl.col("hour").cast(pl.Int64)).alias("abs_hour"),
                        "events").write_parquet(prefix + "_hours.parquet")
    index.select("account_idx", "account_id").write_parquet(prefix + "_index.parquet")
    out = orig_ss(partition, index, ev, signal_set, projection, activity_idx, *a, **k)
    grab["pieces"].write_parquet(prefix + "_pieces.parquet")
    if "comps" in grab:
        grab["comps"].write_parquet(prefix + "_comps.parquet")
    return out


ss.network_cells = nc
import graphlink.pipeline as pp
pp.scoring_stage = scoring
from graphlink.cli import app
sys.argv = ["graphlink", "detect", events, "--out", prefix + "_out", "-q", *sys.argv[3:]]
app()
