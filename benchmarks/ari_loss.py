#!/usr/bin/env python
"""Where ARI by cell is lost: splits against merges, and what a split cell's pieces share.

Usage::

    python benchmarks/ari_loss.py DUMPDIR/*          # folders written by benchmarks/ari_dump.py

Per world, over ring accounts (an unclustered account is its own singleton, as in
:func:`graphlink.lab.evaluate.evaluate`):

* ``ari`` by cell; ``ari_no_merge`` = ARI of the partition cut by cell (every merge undone, the splits
  kept); ``ari_no_split`` = ARI from the pair counts with every split pair counted as found (the merges
  kept). ``1 - ari_no_merge`` is the loss splits alone leave, ``1 - ari_no_split`` merges alone.
* The same for campaigns against operators.

Then, over all worlds, for cells cut into several pieces (clusters and unclustered accounts): the values
held by accounts of two or more of a cell's pieces, by kind, and who else holds them: the cell's own
accounts only, its operator's other cells, other operators, linked-but-benign groups, ordinary users.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from graphlink.lab.evaluate import adjusted_rand_index  # noqa: E402


def pair_counts(frame: pl.DataFrame, truth: str, pred: str) -> tuple[int, int, int, int]:
    def p(cols):
        return int(frame.group_by(cols).len().select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item())
    n = frame.height
    both, t, q = p([truth, pred]), p([truth]), p([pred])
    tp, fn, fp = both, t - both, q - both
    return tp, fn, fp, n * (n - 1) // 2 - tp - fn - fp


def ari_from(tp: int, fn: int, fp: int, tn: int) -> float:
    num = 2 * (tp * tn - fn * fp)
    den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)
    return num / den if den else 1.0


def losses(rings: pl.DataFrame, truth: str, pred: str) -> dict:
    tp, fn, fp, tn = pair_counts(rings, truth, pred)
    cut = rings.with_columns((pl.col(pred) + "|" + pl.col(truth)).alias("__cut"))
    return {"ari": round(adjusted_rand_index(rings, truth, pred), 3),
            "ari_no_merge": round(adjusted_rand_index(cut, truth, "__cut"), 3),
            "ari_no_split": round(ari_from(tp + fn, 0, fp, tn), 3),
            "pair_recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
            "pair_precision": round(tp / (tp + fp), 3) if tp + fp else 1.0}


def load(d: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    acc = pl.read_parquet(d / "accounts.parquet")
    single = pl.lit("s") + pl.col("account_id")
    acc = acc.with_columns(pl.coalesce(pl.col("cluster_id").cast(pl.String), single).alias("piece"),
                           pl.coalesce(pl.col("campaign_id").cast(pl.String), single).alias("camp"))
    return acc, pl.read_parquet(d / "memberships.parquet"), pl.read_parquet(d / "signals.parquet")


def cross_piece_values(acc: pl.DataFrame, mem: pl.DataFrame, sig: pl.DataFrame, world: str) -> pl.DataFrame:
    """Values held by two or more pieces of one split cell, with who else holds them."""
    rings = acc.filter(pl.col("kind") == "ring")
    split = rings.group_by("cell").agg(pl.col("piece").n_unique().alias("pieces"), pl.len().alias("cell_size")) \
        .filter(pl.col("pieces") > 1)
    m = mem.select("account_idx", "signal_idx").join(
        acc.select("account_idx", "kind", "cell", "operator", "piece", "flagged"), on="account_idx")
    held = (m.filter(pl.col("cell").is_in(split["cell"].implode()))
            .group_by("cell", "signal_idx").agg(pl.col("piece").n_unique().alias("pieces_holding"),
                                                 pl.len().alias("in_cell"), pl.col("operator").first())
            .filter(pl.col("pieces_holding") >= 2))
    holders = m.group_by("signal_idx").agg(
        pl.len().alias("holders"),
        (pl.col("kind") == "ring").sum().alias("ring"),
        (pl.col("kind") == "benign_linked").sum().alias("linked"),
        (pl.col("kind") == "benign").sum().alias("ordinary"),
        pl.struct("operator", "cell").filter(pl.col("kind") == "ring").alias("ringcells"))
    out = held.join(holders, on="signal_idx").join(sig.select("signal_idx", "kind"), on="signal_idx")
    out = out.with_columns(
        pl.col("ringcells").list.eval(pl.element().struct.field("operator")).alias("ops"),
    )
    # holders in the same operator (any cell) vs other operators
    same_op = out.select("cell", "signal_idx", "operator", "ops").explode("ops").group_by("cell", "signal_idx").agg(
        (pl.col("ops") == pl.col("operator")).sum().alias("same_operator"))
    out = out.join(same_op, on=["cell", "signal_idx"]).with_columns(
        (pl.col("same_operator") - pl.col("in_cell")).alias("sibling_cells"),
        (pl.col("ring") - pl.col("same_operator")).alias("other_operators")).drop("ringcells", "ops")
    return out.join(split, on="cell").with_columns(pl.lit(world).alias("world"))


def exclusivity_class(out: pl.DataFrame) -> pl.DataFrame:
    share = pl.col("in_cell") / pl.col("holders")
    return out.with_columns(
        pl.when(share >= 0.9).then(pl.lit("a: cell only (>=90%)"))
        .when((pl.col("same_operator") / pl.col("holders")) >= 0.9).then(pl.lit("b: operator only"))
        .when(((pl.col("ring")) / pl.col("holders")) >= 0.9).then(pl.lit("c: rings only, several operators"))
        .when(pl.col("linked") > pl.col("ordinary")).then(pl.lit("e: mostly linked-benign"))
        .otherwise(pl.lit("d: shared with ordinary users")).alias("who"))


def main(dirs: list[str]) -> None:
    per_world, cross = [], []
    for d in map(Path, dirs):
        acc, mem, sig = load(d)
        rings = acc.filter(pl.col("kind") == "ring")
        c = losses(rings, "cell", "piece")
        k = losses(rings, "operator", "camp")
        per_world.append({"world": d.name, "ring": rings.height,
                          "cells": rings["cell"].n_unique(), "pieces": rings.select(pl.struct("cell", "piece").n_unique()).item(),
                          **{f"cell_{a}": b for a, b in c.items()}, **{f"camp_{a}": b for a, b in k.items()}})
        cross.append(cross_piece_values(acc, mem, sig, d.name))
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250):
        t = pl.DataFrame(per_world)
        print(t)
        print(t.select(pl.exclude("world").mean().round(3)))
        vals = exclusivity_class(pl.concat(cross, how="diagonal_relaxed"))
        print("values held by >=2 pieces of a split cell, by kind and holders")
        print(vals.group_by("kind", "who").agg(pl.len().alias("values"),
                                                pl.col("pieces_holding").mean().round(1).alias("pieces_mean"),
                                                pl.col("holders").median().alias("holders_med"))
              .sort("kind", "who"))
        vals.write_parquet("/tmp/ari12_cross_values.parquet")


if __name__ == "__main__":
    main(sys.argv[1:])
