#!/usr/bin/env python
"""Run detect once per world and keep what a partition study needs (session 12, issue 17's ARI).

Usage::

    WT=/path/to/checkout python benchmarks/ari_dump.py OUTDIR WORLD [WORLD ...] ['{"network_cells": true}']

Writes ``OUTDIR/<world>/``: ``accounts.parquet`` (account_id, account_idx, cluster_id, campaign_id,
flagged, kind, cell, operator, group), ``memberships.parquet`` (account_idx, signal_idx, count, damp),
``signals.parquet`` (signal_idx, kind, df, weight, linked) and ``edges.parquet`` (the account graph).
``benchmarks/ari_loss.py`` reads them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

WT = os.environ.get("WT", str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, WT)

import polars as pl  # noqa: E402

from graphlink.pipeline import run_detect  # noqa: E402


def dump(world: Path, out: Path, over: dict | None = None) -> None:
    from graphlink.config.build import build_config
    r = run_detect(world / "events.parquet", None, build_config(**over) if over else None)
    out.mkdir(parents=True, exist_ok=True)
    lab = pl.read_parquet(world / "labels.parquet")
    lab = lab.select(pl.col("account_id").cast(pl.String), pl.col("kind").cast(pl.String),
                     pl.col("ring_id" if "ring_id" in lab.columns else "group_id").cast(pl.String).alias("cell"),
                     pl.col("campaign_id").cast(pl.String).alias("operator") if "campaign_id" in lab.columns
                     else pl.lit(None, pl.String).alias("operator"),
                     pl.col("group_id").cast(pl.String).alias("group") if "group_id" in lab.columns
                     else pl.lit(None, pl.String).alias("group"))
    acc = (r.index.select("account_idx", pl.col("account_id").cast(pl.String))
           .join(r.accounts.select(pl.col("account_id").cast(pl.String), "cluster_id", "campaign_id"), on="account_id", how="left")
           .join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
           .with_columns(pl.col("flagged").fill_null(False))
           .join(lab, on="account_id", how="left"))
    acc.write_parquet(out / "accounts.parquet")
    r.affiliations.select("account_idx", "signal_idx", "count", "damp").write_parquet(out / "memberships.parquet")
    r.signals.select("signal_idx", "kind", "df", "weight", "linked").write_parquet(out / "signals.parquet")
    r.edges.write_parquet(out / "edges.parquet")
    print(world.name, acc.height, r.clusters.height, flush=True)


if __name__ == "__main__":
    import json
    dest = Path(sys.argv[1])
    over = json.loads(sys.argv[-1]) if sys.argv[-1].startswith("{") else None
    for w in [a for a in sys.argv[2:] if not a.startswith("{")]:
        dump(Path(w), dest / Path(w).name, over)
