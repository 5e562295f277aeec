"""Where graphlink fails on an independent world: flagged benign groups, missed cells, merges and splits.

Usage::

    python benchmarks/independent_failures.py /tmp/iw/s1_4500 [out|out_acc]
    python benchmarks/independent_failures.py --summary out /tmp/iw/s*_4500 /tmp/iw/s*_11000

Reads WORLD/labels.parquet, WORLD/params.json and WORLD/OUT/{accounts,clusters}.parquet
and prints (1) flagged accounts by label group type, with the `why` of each flagged
cluster holding non-ring accounts; (2) missed ring accounts per cell with the cell's
drawn behaviour; (3) the cell x cluster contingency: cells split over several clusters
and clusters holding several cells / operators.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl


def analyse(world: Path, out: str = "out") -> dict:
    lab = pl.read_parquet(world / "labels.parquet")
    params = json.loads((world / "params.json").read_text())
    acc = pl.read_parquet(world / out / "accounts.parquet").select("account_id", "cluster_id", "campaign_id")
    clu = pl.read_parquet(world / out / "clusters.parquet")
    cells = pl.DataFrame(params["cells"]).drop("card_mix").rename({"cell": "ring_id"})
    df = (lab.join(acc, on="account_id", how="left")
          .join(clu.select("cluster_id", "flagged", "score", "size"), on="cluster_id", how="left")
          .with_columns(pl.col("flagged").fill_null(False),
                        gtype=pl.col("group_id").str.extract(r"^([a-z]+)", 1).fill_null("ordinary")))
    res: dict = {}
    by_type = (df.group_by("gtype").agg(accounts=pl.len(), flagged=pl.col("flagged").sum(),
                                        clustered=pl.col("cluster_id").is_not_null().sum()).sort("gtype"))
    res["by_type"] = by_type
    # flagged clusters holding non-ring accounts
    fp_clusters = (df.filter(pl.col("flagged"))
                   .group_by("cluster_id")
                   .agg(size=pl.len(), ring=(pl.col("kind") == "ring").sum(),
                        nonring=(pl.col("kind") != "ring").sum(),
                        groups=pl.col("group_id").drop_nulls().unique().sort().head(6),
                        ordinary=(pl.col("gtype") == "ordinary").sum())
                   .filter(pl.col("nonring") > 0)
                   .join(clu.select("cluster_id", "score", "kinds", "why"), on="cluster_id")
                   .sort("nonring", descending=True))
    res["fp_clusters"] = fp_clusters
    ring = df.filter(pl.col("kind") == "ring")
    per_cell = (ring.group_by("ring_id")
                .agg(flagged=pl.col("flagged").sum(), clusters=pl.col("cluster_id").drop_nulls().n_unique(),
                     unclustered=pl.col("cluster_id").is_null().sum(),
                     largest=pl.col("cluster_id").drop_nulls().value_counts(sort=True).first().struct.field("count"))
                .join(cells, on="ring_id").with_columns(missed=pl.col("size") - pl.col("flagged"))
                .sort("ring_id"))
    res["per_cell"] = per_cell
    # clusters containing ring accounts: how many cells, operators and other accounts
    in_clusters = (df.filter(pl.col("cluster_id").is_not_null())
                   .group_by("cluster_id")
                   .agg(size=pl.len(), ring=(pl.col("kind") == "ring").sum(),
                        cells=pl.col("ring_id").drop_nulls().n_unique(),
                        operators=pl.col("campaign_id").drop_nulls().n_unique(),
                        flagged=pl.col("flagged").first())
                   .filter(pl.col("ring") > 0).sort("size", descending=True))
    res["ring_clusters"] = in_clusters
    camp = ring.filter(pl.col("campaign_id_right").is_not_null()) if "campaign_id_right" in ring.columns else None
    pred = "campaign_id_right" if camp is not None else None
    if pred:
        per_op = (ring.group_by("campaign_id")
                  .agg(accounts=pl.len(), campaigns=pl.col(pred).drop_nulls().n_unique(),
                       in_largest=pl.col(pred).drop_nulls().value_counts(sort=True).first().struct.field("count"),
                       uncampaigned=pl.col(pred).is_null().sum())
                  .sort("campaign_id"))
        mixed = (ring.filter(pl.col(pred).is_not_null()).group_by(pred)
                 .agg(n=pl.len(), operators=pl.col("campaign_id").n_unique()))
        res["per_operator"] = per_op
        res["ring_in_mixed_campaigns"] = int(mixed.filter(pl.col("operators") > 1)["n"].sum())
    # ring accounts left in no cluster: where does their link weight go?
    lonely = ring.filter(pl.col("cluster_id").is_null()).select("account_id", "ring_id")
    links = pl.read_parquet(world / out / "links.parquet")
    tag = lab.select("account_id", other=pl.col("ring_id"))
    both = pl.concat([links.select(a="source", b="target", w="weight"), links.select(a="target", b="source", w="weight")])
    lw = (both.join(lonely, left_on="a", right_on="account_id").join(tag, left_on="b", right_on="account_id")
          .with_columns(to=pl.when(pl.col("other") == pl.col("ring_id")).then(pl.lit("own cell"))
                        .when(pl.col("other").is_not_null()).then(pl.lit("other cell")).otherwise(pl.lit("non-ring")))
          .group_by("a").agg(own=pl.col("w").filter(pl.col("to") == "own cell").sum(),
                             other=pl.col("w").filter(pl.col("to") == "other cell").sum(),
                             nonring=pl.col("w").filter(pl.col("to") == "non-ring").sum()))
    res["unclustered_ring"] = {"accounts": lonely.height, "with_links": lw.height,
                               "more_weight_to_other_cells": lw.filter(pl.col("other") > pl.col("own")).height,
                               "no_link_to_own_cell": lw.filter(pl.col("own") == 0).height}
    return res


def summary(worlds: list[Path], out: str) -> None:
    """Aggregate failure patterns over several worlds (one output folder name each)."""
    cells, types, merges = [], [], []
    for w in worlds:
        res = analyse(w, out)
        tag = w.name
        cells.append(res["per_cell"].with_columns(world=pl.lit(tag)))
        types.append(res["by_type"].with_columns(world=pl.lit(tag)))
        rc = res["ring_clusters"]
        merges.append({"world": tag, "ring_clusters": rc.height,
                       "multi_cell": rc.filter(pl.col("cells") > 1).height,
                       "multi_operator": rc.filter(pl.col("operators") > 1).height,
                       "ring_in_multi_operator": int(rc.filter(pl.col("operators") > 1)["ring"].sum()),
                       "ring": int(rc["ring"].sum()),
                       "ring_in_mixed_campaigns": res.get("ring_in_mixed_campaigns"),
                       **{f"unclustered_{k}": v for k, v in res["unclustered_ring"].items()},
                       "campaigns_per_operator": res["per_operator"]["campaigns"].to_list()
                       if "per_operator" in res else None})
    c = pl.concat(cells, how="diagonal_relaxed").with_columns(
        kept=pl.col("largest").fill_null(0) / pl.col("size"))
    t = pl.concat(types)
    print("== flagged / clustered by label group type (all worlds)")
    print(t.group_by("gtype").agg(pl.col("accounts", "flagged", "clustered").sum()).sort("gtype"))
    print("== cells by behaviour: recall, share of the cell in its largest cluster, pieces")
    for col in ("primary_ip", "clock", "short", "japanese", "email"):
        print(c.group_by(col).agg(cells=pl.len(), accounts=pl.col("size").sum(),
                                  recall=pl.col("flagged").sum() / pl.col("size").sum(),
                                  kept=(pl.col("kept") * pl.col("size")).sum() / pl.col("size").sum(),
                                  pieces=pl.col("clusters").mean(),
                                  unclustered=pl.col("unclustered").sum()).sort(col))
    print("== size bands")
    print(c.with_columns(band=pl.when(pl.col("size") < 10).then(pl.lit("5-9")).when(pl.col("size") < 30)
                         .then(pl.lit("10-29")).when(pl.col("size") < 100).then(pl.lit("30-99"))
                         .otherwise(pl.lit("100+")))
          .group_by("band").agg(cells=pl.len(), accounts=pl.col("size").sum(),
                                recall=pl.col("flagged").sum() / pl.col("size").sum(),
                                kept=(pl.col("kept") * pl.col("size")).sum() / pl.col("size").sum(),
                                pieces=pl.col("clusters").mean(),
                                wholly_missed=(pl.col("flagged") == 0).sum()).sort("band"))
    print("== cells with no account flagged")
    print(c.filter(pl.col("flagged") == 0).select("world", "ring_id", "operator", "size", "clusters",
                                                  "unclustered", "clock", "short", "primary_ip", "secondary_ip",
                                                  "japanese", "camouflage"))
    print("== merges")
    print(pl.DataFrame(merges))


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--summary":
        summary([Path(x) for x in argv[2:]], argv[1])
        return
    world = Path(argv[0])
    out = argv[1] if len(argv) > 1 else "out"
    res = analyse(world, out)
    pl.Config.set_tbl_rows(80)
    pl.Config.set_tbl_cols(30)
    pl.Config.set_fmt_str_lengths(200)
    pl.Config.set_tbl_width_chars(250)
    print("== accounts by label group type")
    print(res["by_type"])
    print("== flagged clusters holding non-ring accounts")
    print(res["fp_clusters"])
    print("== per cell (missed = not flagged)")
    print(res["per_cell"].select("ring_id", "operator", "size", "flagged", "missed", "clusters", "largest",
                                 "unclustered", "clock", "short", "hours", "primary_ip", "secondary_ip",
                                 "japanese", "camouflage", "events"))
    rc = res["ring_clusters"]
    print("== clusters with ring accounts: merged cells / operators")
    print(rc.filter((pl.col("cells") > 1) | (pl.col("ring") < pl.col("size"))))
    print("== ring accounts in no cluster:", res["unclustered_ring"])
    if "per_operator" in res:
        print("== operators vs predicted campaigns")
        print(res["per_operator"])
        print(f"ring accounts in campaigns mixing operators: {res['ring_in_mixed_campaigns']}")
    print(f"clusters with ring accounts: {rc.height}; holding >1 cell: {rc.filter(pl.col('cells') > 1).height}; "
          f">1 operator: {rc.filter(pl.col('operators') > 1).height}")


if __name__ == "__main__":
    main()
