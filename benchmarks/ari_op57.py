#!/usr/bin/env python
"""What ties a split operator's campaigns, and what ties two operators' (session 57, helper op57).

Usage (``cd /tmp``, ``PYTHONPATH`` at a checkout; captures from ``benchmarks/ari_op56.py capture``; dev worlds under
``/tmp/dev``)::

    python ari_op57.py share CAPDIR KINDS OUT.parquet WORLD...   # each smaller flagged campaign's best larger match
    python ari_op57.py parts CAPDIR KINDS WORLD...               # each large campaign's components by KINDS

``share``: after lone cells, for each flagged campaign M and each larger flagged campaign T, the share of M's
*private* values of ``KINDS`` (comma-separated signal kinds; a value is private when at least 0.9 of its holders in
the log are flagged accounts) that T's flagged accounts hold too (``fv``), the next best campaign's share (``fv2``),
and whether the two campaigns' majority operators are the same (``same``); one row per M, its best T, written to
OUT.parquet and printed for ``fv >= 0.3``. ``parts``: the six largest campaigns of three or more flagged clusters,
cut into connected components of clusters sharing any linked value of ``KINDS``, with each component's accounts and
operators.
"""

from __future__ import annotations

import os
import sys

import polars as pl


def _frames(cap: str, w: str):
    d = f"{cap}/{w}"
    cl, part, aff, sig = (pl.read_parquet(f"{d}/{k}.parquet") for k in ("clusters", "partition", "aff", "signals"))
    outp = f"{d}/out" if os.path.exists(f"{d}/out") else f"{cap}/../capout_{w}"
    ids = (pl.read_parquet(f"{outp}/accounts.parquet").select("account_id").with_row_index("account_idx")
           .with_columns(pl.col("account_idx").cast(pl.UInt32)))
    labels = pl.read_parquet(f"/tmp/dev/{w}/labels.parquet").select("account_id", pl.col("campaign_id").alias("op"))
    return d, cl, part, aff, sig, ids, labels, outp


def share(cap: str, kinds: list[str], out: str, worlds: list[str]) -> pl.DataFrame:
    from graphlink.config import CommunityConfig, GraphConfig
    from graphlink.stages.lone_cells import lone_cells
    rows = []
    for w in worlds:
        d, cl, part, aff, sig, ids, labels, _ = _frames(cap, w)
        n = int(open(f"{d}/n").read())
        lone = lone_cells(cl, part, aff, sig, GraphConfig(), CommunityConfig(), n)
        flag = lone.filter(pl.col("flagged").fill_null(False)).select(pl.col("cluster_id").cast(pl.Int64), "campaign_id")
        acc = part.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64)).join(flag, on="cluster_id")
        accl = acc.join(ids, on="account_idx").join(labels, on="account_id", how="left")
        size = accl.group_by("campaign_id").agg(pl.len(), pl.col("op").drop_nulls().mode().first(),
                                                pl.col("cluster_id").n_unique().alias("ncl"))
        vals = sig.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx", "df")
        h = aff.join(vals, on="signal_idx").join(acc.select("account_idx", "campaign_id"), on="account_idx")
        private = h.group_by("signal_idx").agg(pl.len().alias("i"), pl.col("df").first()).filter(pl.col("i") >= 0.9 * pl.col("df"))
        cv = h.join(private.select("signal_idx"), on="signal_idx").select("campaign_id", "signal_idx").unique()
        nv = cv.group_by("campaign_id").len().rename({"len": "nv"})
        pr = (cv.join(cv.rename({"campaign_id": "other"}), on="signal_idx").filter(pl.col("campaign_id") != pl.col("other"))
              .group_by("campaign_id", "other").len().rename({"len": "sh"})
              .join(nv, on="campaign_id").with_columns(fv=pl.col("sh") / pl.col("nv"))
              .join(size, on="campaign_id")
              .join(size.rename({"campaign_id": "other", "len": "len_r", "op": "op_r", "ncl": "ncl_r"}), on="other")
              .filter(pl.col("len") < pl.col("len_r")).sort("fv", descending=True)
              .group_by("campaign_id", maintain_order=True).agg(pl.all().first(), pl.col("fv").slice(1, 1).first().alias("fv2")))
        rows.append(pr.with_columns(pl.lit(w).alias("w"), same=pl.col("op") == pl.col("op_r"))
                    .select("w", "campaign_id", "op", "len", "ncl", "other", "op_r", "len_r", "nv", "sh", "fv", "fv2", "same"))
    r = pl.concat(rows)
    r.write_parquet(out)
    return r


def parts(cap: str, kinds: list[str], worlds: list[str]) -> None:
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    for w in worlds:
        _, _, part, aff, sig, ids, labels, outp = _frames(cap, w)
        out = pl.read_parquet(f"{outp}/clusters.parquet").select(pl.col("cluster_id").cast(pl.Int64), "campaign_id", "flagged")
        acc = (part.drop_nulls("cluster_id").join(out.filter("flagged"), on="cluster_id").join(ids, on="account_idx")
               .join(labels, on="account_id", how="left"))
        cop = acc.group_by("cluster_id").agg(pl.col("op").mode().first(), pl.col("campaign_id").first(), pl.len())
        big = (cop.group_by("campaign_id").agg(pl.len().alias("ncl"), pl.col("len").sum().alias("acc"), pl.col("op").n_unique().alias("nops"))
               .filter(pl.col("ncl") >= 3).sort("acc", descending=True).head(6))
        v = sig.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx")
        h = (aff.join(v, on="signal_idx").join(acc.select("account_idx", "cluster_id", "campaign_id"), on="account_idx")
             .select("signal_idx", "cluster_id", "campaign_id").unique())
        print(w, kinds)
        for camp, ncl, nacc, nops in big.rows():
            cs = cop.filter(pl.col("campaign_id") == camp).sort("cluster_id")
            idx = {c: i for i, c in enumerate(cs["cluster_id"].to_list())}
            hh = h.filter(pl.col("campaign_id") == camp)
            pr = hh.join(hh, on="signal_idx").filter(pl.col("cluster_id") < pl.col("cluster_id_right")).select("cluster_id", "cluster_id_right").unique()
            m = csr_matrix((np.ones(pr.height), ([idx[a] for a in pr["cluster_id"]], [idx[b] for b in pr["cluster_id_right"]])),
                           shape=(len(idx), len(idx)))
            k, lab = connected_components(m, directed=False)
            comp = (cs.with_columns(comp=pl.Series(lab)).group_by("comp").agg(pl.col("len").sum(), pl.col("op").unique().alias("ops"))
                    .sort("len", descending=True))
            print(f"  campaign {camp}: {ncl} clusters {nacc} accounts, {nops} operators -> {k} components:",
                  [(r[1], sorted(x for x in r[2] if x is not None)) for r in comp.rows()][:8])


if __name__ == "__main__":
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_tbl_rows(80)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "share":
        print(share(rest[0], rest[1].split(","), rest[2], rest[3:]).filter(pl.col("fv") >= 0.3).sort("fv", descending=True))
    elif cmd == "parts":
        parts(rest[0], rest[1].split(","), rest[2:])
    else:
        raise SystemExit(__doc__)
