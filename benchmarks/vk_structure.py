#!/usr/bin/env python
"""How far linking by shared friends alone can go on ``vk-bots`` (analysis behind BENCHMARKS.md).

Prints, for ``DATA/vk-bots`` (``events.parquet``: ``account_id, friend``; ``labels.parquet``):

1. per trader, how many bots share a friend with a same-trader bot and the size of the largest
   connected component those links make (an upper bound for one cluster per trader);
2. shared friends per linked pair, same trader against other pairs;
3. pair precision / recall / F1 ("same cluster" vs "same trader", users as singletons) of a plain
   Leiden-CPM on the projection weighted ``(2 / df) ** 0.5`` per shared friend, over resolutions.

Example::

    python benchmarks/vk_structure.py --data ../shared/data --resolutions 0.1,0.3,1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import igraph as ig
import leidenalg as la
import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphlink.lab.evaluate import pair_scores  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--resolutions", default="0.05,0.1,0.3,1,4")
    ap.add_argument("--weight", choices=("rarity", "idf"), default="rarity",
                    help="per shared friend: graphlink's (2/df)^0.5, or log(N/df)")
    args = ap.parse_args(argv)
    folder = Path(args.data) / "vk-bots"
    events = pl.read_parquet(folder / "events.parquet")
    labels = pl.read_parquet(folder / "labels.parquet")
    ids = events.select("account_id").unique().sort("account_id").with_row_index("a")
    held = events.join(ids, on="account_id").select("a", "friend")
    held = held.join(held.group_by("friend").agg(pl.len().alias("df")), on="friend").filter(pl.col("df") >= 2)
    per_friend = ((2 / pl.col("df")).pow(0.5) if args.weight == "rarity"
                  else (ids.height / pl.col("df")).log())
    pairs = (held.join(held, on="friend").filter(pl.col("a") < pl.col("a_right"))
             .group_by("a", "a_right").agg(pl.len().alias("shared"),
                                           per_friend.sum().alias("weight")))
    trader = ids.join(labels.select("account_id", "trader"), on="account_id", how="left").select("a", "trader")
    typed = (pairs.join(trader, on="a").join(trader.rename({"a": "a_right", "trader": "t2"}), on="a_right")
             .with_columns(same=(pl.col("trader") == pl.col("t2")).fill_null(False)))
    print("shared friends per linked pair (median):",
          dict(typed.group_by("same").agg(pl.col("shared").median()).iter_rows()))
    for name in sorted(labels["trader"].drop_nulls().unique().to_list()):
        own = typed.filter((pl.col("trader") == name) & (pl.col("t2") == name))
        graph = ig.Graph(n=ids.height, edges=own.select("a", "a_right").to_numpy().tolist())
        sizes = sorted((len(c) for c in graph.connected_components() if len(c) > 1), reverse=True)
        print(f"{name}: {labels.filter(pl.col('trader') == name).height} bots, "
              f"{sum(sizes)} share a friend with a same-trader bot, largest component {sizes[:1]}")
    graph = ig.Graph(n=ids.height, edges=pairs.select("a", "a_right").to_numpy().tolist())
    graph.es["weight"] = pairs["weight"].to_list()
    truth = labels.select("account_id", pl.col("trader").alias("group_id"))
    for resolution in (float(r) for r in args.resolutions.split(",")):
        membership = np.asarray(la.find_partition(graph, la.CPMVertexPartition, weights="weight",
                                                  resolution_parameter=resolution, seed=1).membership)
        part = ids.with_columns(pl.Series("cluster", membership)).join(truth, on="account_id", how="right")
        part = part.with_columns(pl.when(pl.len().over("cluster") >= 2).then(pl.col("cluster")).alias("cluster"))
        score = pair_scores(part, "group_id", "cluster")
        print(f"CPM {resolution}: pair P {score['pair_precision']:.3f} R {score['pair_recall']:.3f} "
              f"F1 {score['pair_f1']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
