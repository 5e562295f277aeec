"""Where ARI by cell goes on one world: splits against merges (BENCHMARKS.md, thirty-fifth pass).

Usage: ``python benchmarks/cell_pieces.py WORLD OUT`` -- ``WORLD`` holds ``labels.parquet`` (ring accounts with
``ring_id`` and ``campaign_id``), ``OUT`` is a detect output folder of its events. Prints ARI over ring accounts
(unclustered ones as singletons), the ARI with each cluster relabelled to its majority cell (splits mended) and
with clusters cut by cell (merges mended), the largest clusters' cells and operators, and each cell's pieces.
"""
import sys, polars as pl
from graphlink.lab.evaluate import adjusted_rand_index
def ars(a, b):
    return adjusted_rand_index(pl.DataFrame({"a": a, "b": b}), "a", ["b"])
w, o = sys.argv[1:3]
lab = pl.read_parquet(f"{w}/labels.parquet").filter(pl.col("kind") == "ring")
acc = pl.read_parquet(f"{o}/accounts.parquet")
d = lab.join(acc, on="account_id", how="left").with_columns(
    pred=pl.coalesce(pl.col("cluster_id").cast(pl.String), pl.lit("s_") + pl.col("account_id")))
d = d.with_columns(cell=pl.col("ring_id").cast(pl.String))
base = ars(d["cell"], d["pred"])
# splits mended: relabel each cluster to its majority cell (singletons too -> their cell)
maj = d.group_by("pred").agg(pl.col("cell").mode().first().alias("mcell"))
d2 = d.join(maj, on="pred")
split_m = ars(d2["cell"], d2["mcell"])
# merges mended: cut clusters by cell
merge_m = ars(d["cell"], d["pred"] + "|" + d["cell"])
print(f"ARI {base:.3f} splits-mended {split_m:.3f} merges-mended {merge_m:.3f}")
cl = d.filter(pl.col("cluster_id").is_not_null()).group_by("cluster_id").agg(
    n=pl.len(), cells=pl.col("cell").n_unique(), ops=pl.col("campaign_id").n_unique()).sort("n", descending=True)
print(cl.head(8))
ce = d.group_by("cell").agg(n=pl.len(), pieces=pl.col("cluster_id").drop_nulls().n_unique(),
    uncl=pl.col("cluster_id").is_null().sum(), top=pl.col("cluster_id").drop_nulls().value_counts(sort=True).first().struct.field("count"))
print(ce.sort("n", descending=True).head(12))
print("cells", ce.height, "median pieces", ce["pieces"].median(), "unclustered ring", d["cluster_id"].is_null().sum(), "of", d.height)
