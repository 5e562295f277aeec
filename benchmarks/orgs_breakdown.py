#!/usr/bin/env python
"""Which benign organisations of ``independent_world.py --orgs`` worlds a setting flags, by shape.

Usage::

    WT=/path/to/checkout python benchmarks/orgs_breakdown.py "/tmp/orgs/*" ['{"network_cells": true}']

Runs detect (events only) on each world, then prints per organisation kind and company egress (``offices``:
each office its own /24; ``hq_nat``/``vpn``: one company /24) the groups, groups with a flagged member,
accounts, flagged accounts and flagged accounts sharing a cluster with ring accounts.
"""

import glob, json, os, sys
from pathlib import Path

sys.path.insert(0, os.environ.get("WT", str(Path(__file__).resolve().parent.parent)))
import polars as pl  # noqa: E402
from graphlink.config.build import build_config  # noqa: E402
from graphlink.pipeline import run_detect  # noqa: E402

over = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
rows = []
for w in sorted(glob.glob(sys.argv[1])):
    r = run_detect(f"{w}/events.parquet", None, build_config(**over) if over else None)
    lab = pl.read_parquet(f"{w}/labels.parquet")
    flagged = r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id").filter("flagged")
    P = json.loads(Path(f"{w}/params.json").read_text())["orgs"]
    meta = {g["group"]: (k, g.get("egress", "")) for k in ("companies", "hosting", "coworking") for g in P[k]}
    ring = r.accounts.join(lab, on="account_id").group_by("cluster_id").agg(ring=(pl.col("kind") == "ring").sum())
    d = (lab.filter(pl.col("group_id").is_in(list(meta)))
         .with_columns(flagged=pl.col("account_id").is_in(flagged["account_id"]))
         .join(r.accounts.select("account_id", "cluster_id"), on="account_id", how="left")
         .join(ring, on="cluster_id", how="left"))
    for gid, n, f, wr in d.group_by("group_id").agg(
            n=pl.len(), f=pl.col("flagged").sum(), wr=(pl.col("flagged") & (pl.col("ring") > 0)).sum()).iter_rows():
        rows.append(dict(world=os.path.basename(w), group=gid, kind=meta[gid][0], egress=meta[gid][1], n=n,
                         flagged=f, with_ring=wr))
df = pl.DataFrame(rows)
with pl.Config(tbl_rows=20):
    print(df.group_by("kind", "egress").agg(
        groups=pl.len(), groups_flagged=(pl.col("flagged") > 0).sum(), accounts=pl.col("n").sum(),
        flagged=pl.col("flagged").sum(), in_ring_clusters=pl.col("with_ring").sum()).sort("kind", "egress"))
