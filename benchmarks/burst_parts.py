"""Detect on worlds and keep each account's cluster and flag (input to burst_values.py).
usage: WT=checkout python benchmarks/burst_parts.py OUTDIR WORLD...   (writes OUTDIR/<world>.parquet)"""
import os, sys, time
WT = os.environ.get("WT", os.path.dirname(os.path.dirname(os.path.abspath(__file__)))); sys.path.insert(0, WT)
import polars as pl
from graphlink.pipeline import run_detect
out = sys.argv[1]
for w in sys.argv[2:]:
    t = time.perf_counter()
    r = run_detect(f"{w}/events.parquet")
    a = r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left").select(
        "account_id", "cluster_id", pl.col("flagged").fill_null(False))
    a.write_parquet(f"{out}/{os.path.basename(w)}.parquet")
    print(w, a.height, "clustered", a["cluster_id"].is_not_null().sum(), "flagged", a["flagged"].sum(), f"{time.perf_counter()-t:.0f}s", flush=True)
