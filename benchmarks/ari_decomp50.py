#!/usr/bin/env python
"""Where ARI by cell is lost, by oracle repair of each loss (session 50, helper ari50; issue 17).

Usage::

    python benchmarks/ari_decomp50.py WORLD:OUT [WORLD:OUT ...]    # WORLD has events/labels.parquet, OUT a detect output

ARI by cell is computed as ``graphlink evaluate`` does: over ring accounts only, ``ring_id`` against
``cluster_id``, an unclustered ring account its own singleton. ARI is a function of four pair counts over
ring accounts: TP (one cell, one cluster), FN (one cell, apart), FP (two cells, one cluster) and the rest.
The losses are

* ``uncl``: FN pairs with an unclustered account (ring accounts left out of every cluster);
* ``split``: FN pairs of two clustered accounts (a cell in several clusters);
* ``m_op``: FP pairs of two cells of one operator in one cluster (sibling merges);
* ``m_x``: FP pairs of two operators' cells in one cluster.

Each is repaired by pair arithmetic (FN pairs counted found, FP pairs counted apart), alone and all but one,
so ``fix_X`` is the ARI with loss X repaired and ``only_X`` the ARI with everything but X repaired (the bar
the other levers cannot pass). Realised partitions too: ``cut`` (each cluster cut by cell: every merge undone)
and ``cut+uncl`` (then each unclustered ring account put with its cell's largest piece).

For split cells, the FN pair mass by what the two accounts' clusters (pieces) share of the cell's values:
card, exact address, /24 (IPv4) or /48 (IPv6) network, user agent, a prompt word 4-gram, an active day; and
whether each piece is pure (its cluster holds no other cell's ring accounts).

Separability (question 2 of the brief): a cell's *own* values are values held by 2+ of its accounts and by no
other account of the world (ring or not): exact address, card, active minute, prompt word 4-gram (digits
``#``, last 40 words of each distinct prompt) -- ``benchmarks/cell_oracle.py``'s definition. ``own`` is the ARI
of cutting each cell into the connected components of its own values (the evidence-only yardstick), and for
the sibling-merge FP mass the share whose two cells each have a component of own values covering >= 80 % of
the cell (``sep``: evidence could tell them apart) or neither does (``insep``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import igraph as ig
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cell_oracle import own_values  # noqa: E402


def c2(x):
    return x * (x - 1) // 2


def ari_from(tp: int, t: int, p: int, n2: int) -> float:
    e = t * p / n2
    d = (t + p) / 2 - e
    return 1.0 if d == 0 else (tp - e) / d


def ari_part(frame: pl.DataFrame, truth: str, pred: str) -> float:
    n2 = c2(frame.height)
    t = int(frame.group_by(truth).len().select(c2(pl.col("len").cast(pl.Int64)).sum()).item())
    p = int(frame.group_by(pred).len().select(c2(pl.col("len").cast(pl.Int64)).sum()).item())
    tp = int(frame.group_by(truth, pred).len().select(c2(pl.col("len").cast(pl.Int64)).sum()).item())
    return ari_from(tp, t, p, n2)


def piece_values(world: str, ring: pl.DataFrame) -> pl.DataFrame:
    """(account_id, kind, v) for ring accounts: card, ip, net, ua, gram, day."""
    e = (pl.scan_parquet(f"{world}/events.parquet")
         .join(ring.lazy().select("account_id"), on="account_id", how="semi")
         .select("account_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"))
    v6 = pl.col("ip").str.contains(":")
    net = (pl.when(v6).then(pl.col("ip").str.split(":").list.head(3).list.join(":"))
           .otherwise(pl.col("ip").str.split(".").list.head(3).list.join(".")))
    words = pl.col("prompt").str.to_lowercase().str.replace_all(r"[0-9]+", "#").str.split(" ").list.tail(40)
    grams = (e.select("account_id", w=words).unique()
             .with_columns(i=pl.int_ranges(0, (pl.col("w").list.len().cast(pl.Int64) - 3).clip(0))).explode("i")
             .drop_nulls("i").select("account_id", kind=pl.lit("gram"), v=pl.concat_str(
                 [pl.col("w").list.get(pl.col("i") + k) for k in range(4)], separator=" ")))
    parts = [e.select("account_id", kind=pl.lit("card"), v=pl.col("payment_fingerprint")),
             e.select("account_id", kind=pl.lit("ip"), v=pl.col("ip")),
             e.select("account_id", kind=pl.lit("net"), v=net),
             e.select("account_id", kind=pl.lit("ua"), v=pl.col("user_agent")),
             e.select("account_id", kind=pl.lit("day"), v=pl.col("timestamp").dt.date().cast(pl.String)),
             grams]
    return pl.concat(parts).drop_nulls().unique().collect()


def own_cover(world: str, lab: pl.DataFrame, purity: float = 1.0, held: pl.DataFrame | None = None
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per ring account its own-value component (cell-level); per cell the largest component's share.

    A value links the accounts of cell c holding it when c's accounts are at least ``purity`` of its holders
    (every account of the world counts) and two or more.
    """
    if held is None:
        held = own_values(world).join(lab.select("account_id", "kind", "cell"), on="account_id")
    holders = held.group_by("v").agg(h=pl.len())
    own = (held.drop_nulls("cell").group_by("v", "cell").agg(c=pl.len()).join(holders, on="v")
           .filter((pl.col("c") >= purity * pl.col("h")) & (pl.col("c") >= 2)).select("v", "cell"))
    rings = lab.filter(pl.col("kind") == "ring").select("account_id", "cell").with_row_index("n")
    links = held.filter(pl.col("kind") == "ring").join(own, on=["v", "cell"]).join(rings.select("account_id", "n"), on="account_id")
    values = links.select("v").unique().with_row_index("m")
    links = links.join(values, on="v")
    g = ig.Graph(n=rings.height + values.height,
                 edges=list(zip(links["n"].to_list(), (links["m"] + rings.height).to_list())))
    comp = pl.Series("own", g.connected_components().membership[:rings.height], dtype=pl.Int64)
    out = rings.with_columns(comp).drop("n")
    cover = (out.group_by("cell", "own").len().group_by("cell")
             .agg(size=pl.col("len").sum(), top=pl.col("len").max())
             .with_columns(cover=pl.col("top") / pl.col("size")))
    return out, cover


def _sources(world: str) -> pl.DataFrame | None:
    """Independent worlds: each cell's primary and secondary address source (generator parameters)."""
    import json
    try:
        cells = json.loads(Path(f"{world}/params.json").read_text())["cells"]
        return pl.DataFrame({"cell": [str(c["cell"]) for c in cells],
                             "src": [f'{c["primary_ip"]}/{c["secondary_ip"]}' for c in cells]})
    except (KeyError, OSError, TypeError):
        return None


def decompose(world: str, out: str) -> dict:
    lab = pl.read_parquet(f"{world}/labels.parquet").with_columns(
        cell=pl.col("ring_id").cast(pl.String), op=pl.col("campaign_id").cast(pl.String))
    acc = pl.read_parquet(f"{out}/accounts.parquet").select("account_id", "cluster_id").unique("account_id")
    ring = lab.filter(pl.col("kind") == "ring").join(acc, on="account_id", how="left")
    ring = ring.with_columns(pred=pl.coalesce(pl.col("cluster_id").cast(pl.String), pl.lit("s_") + pl.col("account_id")),
                             uncl=pl.col("cluster_id").is_null())
    n2 = c2(ring.height)
    cells = ring.group_by("cell").agg(n=pl.len(), op=pl.col("op").first(), nu=pl.col("uncl").sum())
    t = int(cells.select(c2(pl.col("n").cast(pl.Int64)).sum()).item())
    # FN pairs with an unclustered account: all cell pairs minus pairs of two clustered accounts
    fn_uncl = int(cells.select((c2(pl.col("n").cast(pl.Int64)) - c2((pl.col("n") - pl.col("nu")).cast(pl.Int64))).sum()).item())
    cl = ring.filter(~pl.col("uncl"))
    cc = cl.group_by("cluster_id", "cell").agg(k=pl.len(), op=pl.col("op").first())
    tp = int(cc.select(c2(pl.col("k").cast(pl.Int64)).sum()).item())
    fn_split = t - tp - fn_uncl
    # FP by operator: pairs of (cell a, cell b) in one cluster
    pc = cc.join(cc, on="cluster_id", suffix="_b").filter(pl.col("cell") < pl.col("cell_b"))
    pc = pc.with_columns(pairs=(pl.col("k") * pl.col("k_b")).cast(pl.Int64), same=pl.col("op") == pl.col("op_b"))
    m_op = int(pc.filter(pl.col("same"))["pairs"].sum())
    m_x = int(pc.filter(~pl.col("same"))["pairs"].sum())
    p = tp + m_op + m_x
    res = {"world": Path(world).name, "ring": ring.height, "cells": cells.height, "uncl_acc": int(ring["uncl"].sum()),
           "ari": ari_from(tp, t, p, n2)}
    loss = {"uncl": (fn_uncl, 0), "split": (fn_split, 0), "m_op": (0, m_op), "m_x": (0, m_x)}
    for name, (fn, fp) in loss.items():
        res[f"fix_{name}"] = ari_from(tp + fn, t, p + fn - fp, n2)
        ofn = sum(v[0] for k, v in loss.items() if k != name)
        ofp = sum(v[1] for k, v in loss.items() if k != name)
        res[f"only_{name}"] = ari_from(tp + ofn, t, p + ofn - ofp, n2)
    res["fix_merges"] = ari_from(tp, t, tp, n2)
    res["pairs"] = {"T": t, "TP": tp, "fn_uncl": fn_uncl, "fn_split": fn_split, "m_op": m_op, "m_x": m_x}
    # realised: cut clusters by cell; then unclustered to the cell's largest piece
    cut = ring.with_columns(cp=pl.col("pred") + "|" + pl.col("cell"))
    res["cut"] = ari_part(cut, "cell", "cp")
    big = (cl.group_by("cell", "cluster_id").len().sort("len", descending=True).unique("cell", keep="first")
           .select("cell", bigc=pl.col("cluster_id").cast(pl.String)))
    cu = cut.join(big, on="cell", how="left").with_columns(
        cp=pl.when(pl.col("uncl") & pl.col("bigc").is_not_null()).then(pl.col("bigc") + "|" + pl.col("cell"))
        .otherwise(pl.col("cp")))
    res["cut+uncl"] = ari_part(cu, "cell", "cp")
    # what split pieces share (piece = cluster within a cell), FN_split mass by kind
    pure = cc.group_by("cluster_id").agg(ncell=pl.len())
    vals = piece_values(world, ring.select("account_id"))
    pv = (vals.join(cl.select("account_id", "cell", "cluster_id"), on="account_id")
          .select("cell", "cluster_id", "kind", "v").unique())
    sh = (pv.join(pv, on=["cell", "kind", "v"], suffix="_b").filter(pl.col("cluster_id") < pl.col("cluster_id_b"))
          .select("cell", "cluster_id", "cluster_id_b", "kind").unique())
    pp = cc.join(cc.select("cell", pl.col("cluster_id").alias("cluster_id_b"), pl.col("k").alias("k_b")), on="cell")
    pp = (pp.filter(pl.col("cluster_id") < pl.col("cluster_id_b"))
          .with_columns(pairs=(pl.col("k") * pl.col("k_b")).cast(pl.Int64))
          .join(pure.rename({"ncell": "na"}), on="cluster_id")
          .join(pure.rename({"cluster_id": "cluster_id_b", "ncell": "nb"}), on="cluster_id_b"))
    kinds = ["card", "ip", "net", "ua", "gram", "day"]
    for k in kinds:
        pp = pp.join(sh.filter(pl.col("kind") == k).select("cell", "cluster_id", "cluster_id_b", pl.lit(True).alias(k)),
                     on=["cell", "cluster_id", "cluster_id_b"], how="left").with_columns(pl.col(k).fill_null(False))
    tot = max(int(pp["pairs"].sum()), 1)
    res["split_by"] = {k: round(int(pp.filter(pl.col(k))["pairs"].sum()) / tot, 3) for k in kinds}
    res["split_by"]["no_card_ip"] = round(int(pp.filter(~pl.col("card") & ~pl.col("ip"))["pairs"].sum()) / tot, 3)
    res["split_by"]["both_pure"] = round(int(pp.filter((pl.col("na") == 1) & (pl.col("nb") == 1))["pairs"].sum()) / tot, 3)
    # the split mass by cell: the cells losing most
    per_cell = (pp.group_by("cell").agg(fn=pl.col("pairs").sum())
                .join(cells.select("cell", "n", "op"), on="cell").join(
                    cl.group_by("cell").agg(pieces=pl.col("cluster_id").n_unique()), on="cell")
                .join(cl.group_by("cell", "cluster_id").len().group_by("cell").agg(top=pl.col("len").max()), on="cell")
                .sort("fn", descending=True))
    src = _sources(world)
    if src is not None:
        per_cell = per_cell.join(src, on="cell", how="left")
        res["split_by_source"] = {r[0]: round(r[1] / max(fn_split, 1), 3) for r in
                                  per_cell.group_by("src").agg(pl.col("fn").sum()).sort("fn", descending=True).rows()}
        res["m_op_by_source"] = {f"{r[0]}+{r[1]}": round(r[2] / max(m_op, 1), 3) for r in
                                 pc.filter(pl.col("same")).join(src, on="cell").join(
                                     src.rename({"cell": "cell_b", "src": "src_b"}), on="cell_b")
                                 .group_by("src", "src_b").agg(pl.col("pairs").sum()).sort("pairs", descending=True).head(5).rows()}
    res["split_cells"] = per_cell.head(5).drop("op").rows()
    # separability by own evidence
    held = own_values(world).join(lab.select("account_id", "kind", "cell"), on="account_id")
    own9, _ = own_cover(world, lab, 0.9, held)
    res["own90"] = ari_part(own9.with_columns(o=pl.col("own").cast(pl.String)), "cell", "o")
    own, cover = own_cover(world, lab, 1.0, held)
    res["own"] = ari_part(own.with_columns(o=pl.col("own").cast(pl.String)), "cell", "o")
    res["own_single"] = round(float(own.group_by("own").len().filter(pl.col("len") == 1)["len"].sum()) / own.height, 3)
    cv = cover.select("cell", "cover")
    pm = (pc.filter(pl.col("same")).group_by("cell", "cell_b").agg(pl.col("pairs").sum())
          .join(cv, on="cell").join(cv.rename({"cell": "cell_b", "cover": "cover_b"}), on="cell_b"))
    tm = max(int(pm["pairs"].sum()), 1)
    res["m_op_sep"] = round(int(pm.filter((pl.col("cover") >= 0.8) & (pl.col("cover_b") >= 0.8))["pairs"].sum()) / tm, 3)
    res["m_op_insep"] = round(int(pm.filter((pl.col("cover") < 0.8) & (pl.col("cover_b") < 0.8))["pairs"].sum()) / tm, 3)
    px = (pc.filter(~pl.col("same")).group_by("cell", "cell_b").agg(pl.col("pairs").sum())
          .join(cv, on="cell").join(cv.rename({"cell": "cell_b", "cover": "cover_b"}), on="cell_b"))
    tx = max(int(px["pairs"].sum()), 1)
    res["m_x_sep"] = round(int(px.filter((pl.col("cover") >= 0.8) & (pl.col("cover_b") >= 0.8))["pairs"].sum()) / tx, 3)
    # the largest merged clusters
    res["merge_clusters"] = (pc.group_by("cluster_id").agg(op=pl.col("pairs").filter(pl.col("same")).sum(),
                                                           x=pl.col("pairs").filter(~pl.col("same")).sum())
                             .with_columns(m=pl.col("op") + pl.col("x")).sort("m", descending=True).head(3).rows())
    # cells with low own cover: the split-by-evidence limit
    res["cells_cover_lt_0.8"] = int((cover["cover"] < 0.8).sum())
    return res


def main(argv: list[str]) -> None:
    keys = ["ari", "fix_uncl", "fix_split", "fix_m_op", "fix_m_x", "fix_merges", "only_split", "only_m_op", "cut", "cut+uncl", "own", "own90"]
    print("world ring cells uncl_acc " + " ".join(keys))
    for arg in argv:
        world, out = arg.split(":")
        r = decompose(world, out)
        print(r["world"], r["ring"], r["cells"], r["uncl_acc"], " ".join(f"{r[k]:.3f}" for k in keys), flush=True)
        print("   pairs", r["pairs"], "split_by", r["split_by"])
        print("   split by source", r.get("split_by_source"), "m_op by source", r.get("m_op_by_source"))
        print("   split cells (cell, fn, size, pieces, largest piece, src)", r["split_cells"], "merge clusters (id, op, x, sum)", r["merge_clusters"])
        print("   m_op separable", r["m_op_sep"], "inseparable", r["m_op_insep"], "m_x separable", r["m_x_sep"],
              "cells own-cover<0.8", r["cells_cover_lt_0.8"],
              "ring accounts alone in own evidence", r["own_single"], flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
