"""How much of a world's cells (or operators) the log can tell apart at all: a separability oracle for ARI.

Usage: ``python benchmarks/cell_oracle.py WORLD [WORLD ...] [--level cell|campaign] [--out OUT ...]``

``WORLD`` holds ``events.parquet`` and ``labels.parquet`` (ring accounts with ``ring_id`` (cell) and
``campaign_id`` (operator)). The oracle reads the labels, which no detector can: it keeps only values held by two or
more ring accounts of **one** group (cell or operator) and by no account outside it -- exact IP, payment
fingerprint, normalised prompt word 4-grams (lower case, digit runs as ``#``, the last 40 words of each distinct
prompt) and active UTC minute -- and links the ring accounts through them (connected components of the bipartite
account--value graph). Its ARI against the groups (ring accounts only, an account tied to none a singleton, as
``graphlink evaluate``'s ``ari_cell``) bounds what linking by shared values can recover: where a cell's accounts share
nothing that is the cell's own (a rotating commercial exit, the operator's card pool and templates), no
partition by shared evidence finds the cell, however good. It can still be beaten -- a detector may join pieces
through values shared with a sibling cell, timing or sizes -- so it is a yardstick for the gap, not a ceiling.

With ``--out OUT`` (one ``graphlink detect`` output folder per world, same order) it also prints the detector's
ARI at that level and its ratio to the oracle's.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import igraph as ig
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from graphlink.lab.evaluate import adjusted_rand_index  # noqa: E402


def own_values(world: str | Path) -> pl.DataFrame:
    """Every (ring account, value, group) with the value held by that account; ``v`` a tagged string."""
    e = pl.scan_parquet(f"{world}/events.parquet").select("account_id", "timestamp", "ip", "payment_fingerprint", "prompt")
    words = pl.col("prompt").str.to_lowercase().str.replace_all(r"[0-9]+", "#").str.split(" ").list.tail(40)
    grams = (e.select("account_id", w=words).unique()
             .with_columns(i=pl.int_ranges(0, (pl.col("w").list.len().cast(pl.Int64) - 3).clip(0))).explode("i")
             .drop_nulls("i").select("account_id", v=pl.lit("ng:") + pl.concat_str(
                 [pl.col("w").list.get(pl.col("i") + k) for k in range(4)], separator=" ")))
    parts = [e.select("account_id", v=pl.lit("ip:") + pl.col("ip")),
             e.select("account_id", v=pl.lit("card:") + pl.col("payment_fingerprint")),
             e.select("account_id", v=pl.lit("min:") + pl.col("timestamp").dt.truncate("1m").cast(pl.String)), grams]
    return pl.concat(parts).drop_nulls().unique().collect()


def oracle_partition(world: str | Path, level: str = "cell") -> pl.DataFrame:
    """Ring accounts with ``group`` (the truth at ``level``) and ``oracle`` (component id, null alone)."""
    group = "ring_id" if level == "cell" else "campaign_id"
    lab = pl.read_parquet(f"{world}/labels.parquet").select("account_id", "kind", pl.col(group).alias("group"))
    held = own_values(world).join(lab, on="account_id")
    per_value = held.group_by("v").agg(holders=pl.len(), groups=pl.col("group").n_unique(),
                                       outside=(pl.col("kind") != "ring").sum())
    own = per_value.filter((pl.col("groups") == 1) & (pl.col("outside") == 0) & (pl.col("holders") >= 2)).select("v")
    rings = lab.filter(pl.col("kind") == "ring").select("account_id", "group").with_row_index("n")
    links = held.filter(pl.col("kind") == "ring").join(own, on="v").join(rings.select("account_id", "n"), on="account_id")
    values = links.select("v").unique().with_row_index("m")
    links = links.join(values, on="v")
    graph = ig.Graph(n=rings.height + values.height,
                     edges=list(zip(links["n"].to_list(), (links["m"] + rings.height).to_list())))
    comp = pl.Series("oracle", graph.connected_components().membership[:rings.height], dtype=pl.Int64)
    out = rings.with_columns(comp)
    alone = out.group_by("oracle").len().filter(pl.col("len") == 1).select("oracle", single=pl.lit(True))
    return out.join(alone, on="oracle", how="left").with_columns(
        pl.when(pl.col("single")).then(None).otherwise(pl.col("oracle")).alias("oracle")).drop("single", "n")


def ari(frame: pl.DataFrame, predicted: str) -> float:
    """ARI of ``predicted`` against ``group``; nulls are singletons."""
    f = frame.with_columns(pl.coalesce(pl.col(predicted).cast(pl.String), pl.lit("s_") + pl.col("account_id")).alias("p"))
    return adjusted_rand_index(f, "group", ["p"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("worlds", nargs="+")
    ap.add_argument("--level", choices=("cell", "campaign"), default="cell")
    ap.add_argument("--out", nargs="*", default=[])
    a = ap.parse_args(argv)
    for i, world in enumerate(a.worlds):
        part = oracle_partition(world, a.level)
        line = f"{Path(world).name:22s} {a.level} oracle ARI {ari(part, 'oracle'):.3f}"
        if i < len(a.out):
            acc = pl.read_parquet(f"{a.out[i]}/accounts.parquet").select("account_id", "cluster_id", "campaign_id")
            col = "cluster_id" if a.level == "cell" else "campaign_id"
            got = ari(part.join(acc, on="account_id", how="left"), col)
            line += f"  detector {got:.3f}  ratio {got / max(ari(part, 'oracle'), 1e-9):.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
