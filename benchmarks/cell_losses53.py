#!/usr/bin/env python
"""ARI by cell lost, by class of loss, in ARI points (session 53, helper cell53; issue 17).

Usage::

    python benchmarks/cell_losses53.py WORLD:OUT [WORLD:OUT ...]

Pairs of ring accounts as in ``benchmarks/ari_decomp50.py`` (``graphlink evaluate``'s ARI by cell: unclustered ring
accounts are singletons). Each class of loss is repaired alone by pair arithmetic and its ARI points printed:

* ``split short``: pairs of one cell in two clusters, for cells whose events (first to last, in the log) span at
  most 1/20 of the log -- a batch run for a few hours (:mod:`graphlink.stages.batch_cells`);
* ``split long``: the same for the other cells;
* ``uncl``: pairs of one cell with an unclustered account;
* ``merge client``: pairs of two cells of one operator in one cluster whose clients differ (Jaccard of the user
  agents the two cells send < 0.2: one sends the operator's client, the other rotates browsers);
* ``merge card``: other sibling pairs where the two cells share a card (the operator's card pool);
* ``merge other``: the remaining sibling pairs; ``merge x-op``: pairs of two operators' cells.

Also ``short-merge``: sibling pairs of two short-lived cells whose lifetimes overlap (what the log's hours cannot part).
"""
from __future__ import annotations

import sys
from pathlib import Path

import polars as pl


sys.path.insert(0, str(Path(__file__).resolve().parent))
from ari_decomp50 import ari_from, c2  # noqa: E402 -- the pair arithmetic, one copy


def losses(world: str, out: str) -> dict:
    lab = pl.read_parquet(f"{world}/labels.parquet").filter(pl.col("kind") == "ring").select(
        pl.col("account_id").cast(pl.String), cell=pl.col("ring_id").cast(pl.Int64), op=pl.col("campaign_id").cast(pl.Int64))
    acc = pl.read_parquet(f"{out}/accounts.parquet").select(pl.col("account_id").cast(pl.String), "cluster_id").unique("account_id")
    r = lab.join(acc, on="account_id", how="left")
    ev = pl.scan_parquet(f"{world}/events.parquet").select(pl.col("account_id").cast(pl.String), "timestamp", "user_agent", "payment_fingerprint")
    span = ev.select((pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_seconds()).collect().item()
    rev = ev.join(lab.lazy(), on="account_id").collect()
    life = rev.group_by("cell").agg(life=(pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_seconds(),
                                    a=pl.col("timestamp").min(), b=pl.col("timestamp").max(),
                                    ua=pl.col("user_agent").unique(), card=pl.col("payment_fingerprint").unique())
    life = life.with_columns(short=pl.col("life") <= span / 20)
    n2 = c2(r.height)
    cells = r.group_by("cell").agg(n=pl.len(), nu=pl.col("cluster_id").is_null().sum()).join(life.select("cell", "short"), on="cell")
    t = int(cells.select(c2(pl.col("n").cast(pl.Int64)).sum()).item())
    cl = r.drop_nulls("cluster_id")
    cc = cl.group_by("cluster_id", "cell").agg(k=pl.len(), op=pl.col("op").first())
    tp = int(cc.select(c2(pl.col("k").cast(pl.Int64)).sum()).item())
    p = int(cl.group_by("cluster_id").len().select(c2(pl.col("len").cast(pl.Int64)).sum()).item())
    base = ari_from(tp, t, p, n2)
    # FN by cell: unclustered and split
    per = (cl.group_by("cell", "cluster_id").len().group_by("cell").agg(same=c2(pl.col("len").cast(pl.Int64)).sum())
           .join(cells, on="cell", how="right").with_columns(pl.col("same").fill_null(0)))
    per = per.with_columns(fn_u=c2(pl.col("n").cast(pl.Int64)) - c2((pl.col("n") - pl.col("nu")).cast(pl.Int64)),
                           fn_s=c2((pl.col("n") - pl.col("nu")).cast(pl.Int64)) - pl.col("same"))
    out = {"world": Path(world).name, "ari": base, "short_cells": int(cells["short"].sum()), "cells": cells.height}
    for name, fn in (("split short", per.filter("short")["fn_s"].sum()), ("split long", per.filter(~pl.col("short"))["fn_s"].sum()),
                     ("uncl", per["fn_u"].sum())):
        out[name] = ari_from(tp + int(fn), t, p + int(fn), n2) - base
    # FP: cell pairs in one cluster
    pc = (cc.join(cc, on="cluster_id", suffix="_b").filter(pl.col("cell") < pl.col("cell_b"))
          .with_columns(pairs=(pl.col("k") * pl.col("k_b")).cast(pl.Int64), same=pl.col("op") == pl.col("op_b"))
          .group_by("cell", "cell_b", "same").agg(pl.col("pairs").sum()))
    lf = life.select("cell", "ua", "card", "short", "a", "b")
    pc = pc.join(lf, on="cell").join(lf.rename({c: f"{c}_b" for c in lf.columns}), on="cell_b")
    rows = []
    for row in pc.iter_rows(named=True):
        ua, ub = set(row["ua"]), set(row["ua_b"])
        client = len(ua & ub) / max(1, len(ua | ub)) < 0.2
        card = bool(set(row["card"]) & set(row["card_b"]))
        both_short = row["short"] and row["short_b"] and row["a"] <= row["b_b"] and row["a_b"] <= row["b"]
        cls = "merge x-op" if not row["same"] else "merge client" if client else "merge card" if card else "merge other"
        rows.append((cls, row["pairs"], both_short))
    for cls in ("merge client", "merge card", "merge other", "merge x-op"):
        fp = sum(x[1] for x in rows if x[0] == cls)
        out[cls] = ari_from(tp, t, p - fp, n2) - base
    fp = sum(x[1] for x in rows if x[2])
    out["short-merge"] = ari_from(tp, t, p - fp, n2) - base
    return out


def main(argv: list[str]) -> None:
    keys = ["split short", "split long", "uncl", "merge client", "merge card", "merge other", "merge x-op", "short-merge"]
    print("world ARI " + " | ".join(keys) + " | short cells")
    for arg in argv:
        world, out = arg.split(":")
        r = losses(world, out)
        print(f"{r['world']} {r['ari']:.3f} " + " | ".join(f"+{r[k]:.3f}" for k in keys) + f" | {r['short_cells']}/{r['cells']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
