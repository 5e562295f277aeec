#!/usr/bin/env python
"""Offline variants of joining clusters through shared networks (session 12, BENCHMARKS.md twelfth pass).

Reads folders written by ``benchmarks/ari_dump.py`` (main's partitions) and prints, per world, ARI by cell
before and after a candidate rule and who the joined groups hold (benign accounts put with ring accounts,
groups mixing operators, accounts newly sharing a group with a flagged cluster). Throwaway measuring code
kept for reproducibility; the rule that landed is :mod:`graphlink.stages.network_cells` (``rule4`` with
``cover=0.8``).

Usage::

    python benchmarks/ari_variants.py '{"kinds": ["ip_net"], "cover": 0.8}' /tmp/ari12/main/*     # rule4
""" 
import sys, json
import polars as pl
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parent))
from ari_loss import load, losses

def rule(acc, mem, sig, kinds=("ip_net",), clustered_share=0.9, cover=0.5, min_values=1, max_holders=None):
    part = acc.select("account_idx", "cluster_id")
    sizes = part.drop_nulls().group_by("cluster_id").agg(pl.len().alias("size"))
    s = sig.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx", "kind")
    m = mem.select("account_idx", "signal_idx").join(s, on="signal_idx").join(part, on="account_idx")
    hold = m.group_by("signal_idx").agg(pl.len().alias("holders"))
    per = (m.drop_nulls("cluster_id").group_by("signal_idx", "cluster_id").agg(pl.len().alias("n"))
           .join(sizes, on="cluster_id").filter(pl.col("n") >= cover * pl.col("size")))
    val = (per.group_by("signal_idx").agg(pl.col("n").sum().alias("covered"), pl.len().alias("nclusters"))
           .join(hold, on="signal_idx").filter((pl.col("covered") >= clustered_share * pl.col("holders")) & (pl.col("nclusters") >= 2)))
    if max_holders:
        val = val.filter(pl.col("holders") <= max_holders)
    ties = per.join(val.select("signal_idx"), on="signal_idx")
    # pairs of clusters tied: use star to first cluster per value (components), but require min_values per pair
    if min_values > 1:
        p = ties.select("signal_idx", "cluster_id").join(ties.select("signal_idx", pl.col("cluster_id").alias("c2")), on="signal_idx").filter(pl.col("cluster_id") < pl.col("c2"))
        p = p.group_by("cluster_id", "c2").agg(pl.len().alias("v")).filter(pl.col("v") >= min_values)
        src, dst = p["cluster_id"].to_numpy(), p["c2"].to_numpy()
    else:
        first = ties.group_by("signal_idx").agg(pl.col("cluster_id").min().alias("c2"))
        p = ties.join(first, on="signal_idx")
        src, dst = p["cluster_id"].to_numpy(), p["c2"].to_numpy()
    n = int(sizes["cluster_id"].max() or 0) + 1
    g = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    newid = pl.DataFrame({"cluster_id": np.arange(n), "merged": lab}).with_columns(pl.col("cluster_id").cast(acc["cluster_id"].dtype))
    out = acc.join(newid, on="cluster_id", how="left")
    return out, val.height

def contamination(out):
    g = out.drop_nulls("merged").group_by("merged").agg(
        pl.col("cluster_id").n_unique().alias("k"),
        (pl.col("kind") == "ring").sum().alias("ring"), (pl.col("kind") == "benign").sum().alias("ord"),
        (pl.col("kind") == "benign_linked").sum().alias("linked"), pl.col("flagged").any().alias("fl"),
        pl.col("operator").drop_nulls().n_unique().alias("ops"), pl.col("cell").drop_nulls().n_unique().alias("cells"))
    mg = g.filter(pl.col("k") > 1)
    # benign accounts newly put with a flagged cluster: in merged groups with any flagged, but own cluster unflagged
    fl = out.drop_nulls("merged").with_columns(pl.col("flagged").any().over("merged").alias("gfl"))
    newly = fl.filter(pl.col("gfl") & ~pl.col("flagged"))
    return dict(merged_groups=mg.height, clusters_merged=int(mg["k"].sum() or 0),
                groups_with_benign=mg.filter((pl.col("ord") + pl.col("linked")) > 0).height,
                benign_in_mixed=int(mg.filter(pl.col("ring") > 0)["ord"].sum() + mg.filter(pl.col("ring") > 0)["linked"].sum()),
                multi_op=mg.filter(pl.col("ops") > 1).height,
                newly_ord=newly.filter(pl.col("kind") == "benign").height,
                newly_linked=newly.filter(pl.col("kind") == "benign_linked").height,
                newly_ring=newly.filter(pl.col("kind") == "ring").height)

def main_rule1(kw, dirs):
    """The first, cover-only pairwise rule (``rule``)."""
    rows = []
    for d in dirs:
        acc, mem, sig = load(__import__("pathlib").Path(d))
        out, nv = rule(acc, mem, sig, **kw)
        single = pl.lit("s") + pl.col("account_id")
        out = out.with_columns(pl.coalesce(pl.col("merged").cast(pl.String), single).alias("piece2"))
        rings = out.filter(pl.col("kind") == "ring")
        b = losses(rings, "cell", "piece"); a = losses(rings, "cell", "piece2")
        rows.append(dict(world=d.split("/")[-1], values=nv, ari=b["ari"], ari_new=a["ari"], nomerge=a["ari_no_merge"], nosplit=a["ari_no_split"], **contamination(out)))
    t = pl.DataFrame(rows)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250):
        print(t); print(t.select(pl.exclude("world").mean().round(3)))

def inspect(d, **kw):
    acc, mem, sig = load(__import__("pathlib").Path(d))
    part = acc.select("account_idx", "cluster_id")
    kinds = kw.get("kinds", ("ip_net",)); cover = kw.get("cover", 0.5); cs = kw.get("clustered_share", 0.9)
    sizes = part.drop_nulls().group_by("cluster_id").agg(pl.len().alias("size"))
    s = sig.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx", "kind")
    m = mem.select("account_idx", "signal_idx").join(s.select("signal_idx"), on="signal_idx").join(acc.select("account_idx","cluster_id","kind","cell","operator"), on="account_idx")
    hold = m.group_by("signal_idx").agg(pl.len().alias("holders"), (pl.col("kind")=="ring").sum().alias("ring"), (pl.col("kind")=="benign").sum().alias("ord"), (pl.col("kind")=="benign_linked").sum().alias("linked"), pl.col("cell").drop_nulls().n_unique().alias("cells"), pl.col("operator").drop_nulls().n_unique().alias("ops"))
    per = (m.drop_nulls("cluster_id").group_by("signal_idx", "cluster_id").agg(pl.len().alias("n"))
           .join(sizes, on="cluster_id").filter(pl.col("n") >= cover * pl.col("size")))
    val = (per.group_by("signal_idx").agg(pl.col("n").sum().alias("covered"), pl.len().alias("nclusters"), pl.col("size").sum().alias("sizes"))
           .join(hold, on="signal_idx").filter((pl.col("covered") >= cs * pl.col("holders")) & (pl.col("nclusters") >= 2)))
    return val.sort("holders", descending=True)

def rule2(acc, mem, sig, kinds=("ip_net",), principal=0.5, cover=0.5, clustered_share=0.9, attach=False, min_holders=2):
    """v ties clusters where >= cover of members hold v as principal value of its kind (>= principal of their
    events of that kind); v qualifies when >= clustered_share of its holders are in such clusters."""
    part = acc.select("account_idx", "cluster_id")
    sizes = part.drop_nulls().group_by("cluster_id").agg(pl.len().alias("size"))
    s = sig.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= min_holders)).select("signal_idx", "kind")
    m = (mem.select("account_idx", "signal_idx", "count").join(s, on="signal_idx")
         .with_columns((pl.col("count") / pl.col("count").sum().over("account_idx", "kind")).alias("share"))
         .join(part, on="account_idx"))
    m = m.with_columns((pl.col("share") >= principal).alias("main"))
    hold = m.group_by("signal_idx").agg(pl.len().alias("holders"))
    per = (m.filter("main").drop_nulls("cluster_id").group_by("signal_idx", "cluster_id").agg(pl.len().alias("n"))
           .join(sizes, on="cluster_id").filter(pl.col("n") >= cover * pl.col("size")))
    # holders in covering clusters (all their members holding v, principal or not)
    inc = m.join(per.select("signal_idx", "cluster_id"), on=["signal_idx", "cluster_id"], how="semi")
    cov = inc.group_by("signal_idx").agg(pl.len().alias("covered"), pl.col("cluster_id").n_unique().alias("nclusters"))
    val = cov.join(hold, on="signal_idx").filter((pl.col("covered") >= clustered_share * pl.col("holders")) & (pl.col("nclusters") >= 2))
    ties = per.join(val.select("signal_idx"), on="signal_idx")
    first = ties.group_by("signal_idx").agg(pl.col("cluster_id").min().alias("c2"))
    p = ties.join(first, on="signal_idx")
    src, dst = p["cluster_id"].to_numpy(), p["c2"].to_numpy()
    n = int(sizes["cluster_id"].max() or 0) + 1
    g = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    newid = pl.DataFrame({"cluster_id": np.arange(n), "merged": lab}).with_columns(pl.col("cluster_id").cast(acc["cluster_id"].dtype))
    out = acc.join(newid, on="cluster_id", how="left")
    return out, val.height

def run(fn, kw, dirs):
    rows = []
    for d in dirs:
        acc, mem, sig = load(__import__("pathlib").Path(d))
        out, nv = fn(acc, mem, sig, **kw)
        single = pl.lit("s") + pl.col("account_id")
        out = out.with_columns(pl.coalesce(pl.col("merged").cast(pl.String), single).alias("piece2"))
        rings = out.filter(pl.col("kind") == "ring")
        b = losses(rings, "cell", "piece"); a = losses(rings, "cell", "piece2")
        rows.append(dict(world=d.split("/")[-1], values=nv, ari=b["ari"], ari_new=a["ari"], nomerge=a["ari_no_merge"], nosplit=a["ari_no_split"], **contamination(out)))
    t = pl.DataFrame(rows)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250):
        print(t); print(t.select(pl.exclude("world").mean().round(3)))
    return t

def rule3(acc, mem, sig, kinds=("ip_net",), principal=0.5, edge_share=0.34, clustered_share=0.9, cover=0.5, max_clusters=None):
    """Bipartite components: cluster -- value when >= edge_share of its members have v as principal value;
    v kept when >= clustered_share of its holders are in clusters it has an edge to. Then a cluster joins its
    component's group when >= cover of its members have a principal value in the component."""
    part = acc.select("account_idx", "cluster_id")
    sizes = part.drop_nulls().group_by("cluster_id").agg(pl.len().alias("size"))
    s = sig.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx", "kind")
    m = (mem.select("account_idx", "signal_idx", "count").join(s, on="signal_idx")
         .with_columns((pl.col("count") / pl.col("count").sum().over("account_idx", "kind")).alias("share"))
         .join(part, on="account_idx"))
    hold = m.group_by("signal_idx").agg(pl.len().alias("holders"))
    per = (m.filter(pl.col("share") >= principal).drop_nulls("cluster_id").group_by("signal_idx", "cluster_id").agg(pl.len().alias("n"))
           .join(sizes, on="cluster_id").filter(pl.col("n") >= edge_share * pl.col("size")))
    inc = m.join(per.select("signal_idx", "cluster_id"), on=["signal_idx", "cluster_id"], how="semi")
    cov = inc.group_by("signal_idx").agg(pl.len().alias("covered"))
    val = cov.join(hold, on="signal_idx").filter(pl.col("covered") >= clustered_share * pl.col("holders"))
    e = per.join(val.select("signal_idx"), on="signal_idx")
    n = int(sizes["cluster_id"].max() or 0) + 1
    nv = int(sig["signal_idx"].max()) + 1
    src = e["cluster_id"].to_numpy(); dst = e["signal_idx"].to_numpy().astype(np.int64) + n
    g = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n + nv, n + nv))
    _, lab = connected_components(g, directed=False)
    lab = lab[:n]
    newid = pl.DataFrame({"cluster_id": np.arange(n), "merged": lab}).with_columns(pl.col("cluster_id").cast(acc["cluster_id"].dtype))
    out = acc.join(newid, on="cluster_id", how="left")
    return out, val.height

def rule4(acc, mem, sig, kinds=("ip_net",), principal=0.5, edge_min=2, clustered_share=0.9, cover=0.5, max_holders=None):
    part = acc.select("account_idx", "cluster_id")
    sizes = part.drop_nulls().group_by("cluster_id").agg(pl.len().alias("size"))
    s = sig.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx", "kind")
    m = (mem.select("account_idx", "signal_idx", "count").join(s, on="signal_idx")
         .with_columns((pl.col("count") / pl.col("count").sum().over("account_idx", "kind")).alias("share"))
         .join(part, on="account_idx"))
    hold = m.group_by("signal_idx").agg(pl.len().alias("holders"))
    main = m.filter(pl.col("share") >= principal)
    per = (main.drop_nulls("cluster_id").group_by("signal_idx", "cluster_id").agg(pl.len().alias("n"))
           .filter(pl.col("n") >= edge_min))
    cov = m.drop_nulls("cluster_id").group_by("signal_idx").agg(pl.len().alias("covered"))
    val = cov.join(hold, on="signal_idx").filter(pl.col("covered") >= clustered_share * pl.col("holders"))
    if max_holders:
        val = val.filter(pl.col("holders") <= max_holders)
    e = per.join(val.select("signal_idx"), on="signal_idx")
    n = int(sizes["cluster_id"].max() or 0) + 1
    nv = int(sig["signal_idx"].max()) + 1
    src = e["cluster_id"].to_numpy(); dst = e["signal_idx"].to_numpy().astype(np.int64) + n
    g = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n + nv, n + nv))
    _, lab = connected_components(g, directed=False)
    comp_c = pl.DataFrame({"cluster_id": np.arange(n), "comp": lab[:n]}).with_columns(pl.col("cluster_id").cast(acc["cluster_id"].dtype))
    comp_v = pl.DataFrame({"signal_idx": np.arange(nv), "vcomp": lab[n:]}).with_columns(pl.col("signal_idx").cast(pl.UInt32))
    # cover: share of a cluster's members whose principal value lies in the cluster's component (kept values only)
    mm = (main.drop_nulls("cluster_id").join(val.select("signal_idx"), on="signal_idx").join(comp_v, on="signal_idx")
          .join(comp_c, on="cluster_id").filter(pl.col("vcomp") == pl.col("comp"))
          .group_by("cluster_id").agg(pl.col("account_idx").n_unique().alias("in_comp")))
    ok = mm.join(sizes, on="cluster_id").filter(pl.col("in_comp") >= cover * pl.col("size")).select("cluster_id")
    comp_c = comp_c.join(ok, on="cluster_id", how="semi")
    # a group needs two clusters
    comp_c = comp_c.filter(pl.len().over("comp") >= 2).rename({"comp": "merged"})
    out = acc.join(comp_c, on="cluster_id", how="left").with_columns(
        pl.coalesce(pl.col("merged").cast(pl.Int64), -pl.col("cluster_id").cast(pl.Int64)).alias("merged"))
    return out, val.height


if __name__ == "__main__":
    run(rule4, json.loads(sys.argv[1]), sys.argv[2:])


def rule5(acc, mem, sig, kinds=("ip_net",), clustered_share=0.9, live=0.5, cosine=0.5):
    """Profiles over exclusive networks: clusters whose members mostly (``live``) send their events over
    exclusive networks are joined when the cosine of their network profiles is at least ``cosine``.
    Needs the module global ``EVENTS`` (``account_idx, events``: every account's events, from the world's
    events.parquet) set by the caller."""
    part = acc.select("account_idx", "cluster_id")
    sizes = part.drop_nulls().group_by("cluster_id").agg(pl.len().alias("size"))
    nets = sig.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx", "df")
    m = mem.select("account_idx", "signal_idx", "count").join(nets, on="signal_idx").join(part.drop_nulls(), on="account_idx")
    excl = m.group_by("signal_idx").agg(pl.len().alias("c"), pl.col("df").first()).filter(pl.col("c") >= clustered_share * pl.col("df")).select("signal_idx")
    m = m.join(excl, on="signal_idx").join(EVENTS, on="account_idx").with_columns((pl.col("count") / pl.col("events")).alias("share"))
    prof = m.group_by("cluster_id", "signal_idx").agg(pl.col("share").sum()).join(sizes, on="cluster_id").with_columns(pl.col("share") / pl.col("size"))
    liv = prof.group_by("cluster_id").agg(pl.col("share").sum().alias("live"), (pl.col("share") ** 2).sum().sqrt().alias("norm")).filter(pl.col("live") >= live)
    prof = prof.join(liv, on="cluster_id")
    pairs = prof.select("cluster_id", "signal_idx", "share", "norm").join(prof.select(pl.col("cluster_id").alias("c2"), "signal_idx", pl.col("share").alias("s2"), pl.col("norm").alias("n2")), on="signal_idx").filter(pl.col("cluster_id") < pl.col("c2"))
    cos = pairs.group_by("cluster_id", "c2").agg(((pl.col("share") * pl.col("s2")).sum() / (pl.col("norm").first() * pl.col("n2").first())).alias("cos")).filter(pl.col("cos") >= cosine)
    n = int(sizes["cluster_id"].max() or 0) + 1
    g = coo_matrix((np.ones(cos.height), (cos["cluster_id"].to_numpy(), cos["c2"].to_numpy())), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    cc = pl.DataFrame({"cluster_id": np.arange(n), "merged": lab}).with_columns(pl.col("cluster_id").cast(acc["cluster_id"].dtype))
    cc = cc.filter(pl.len().over("merged") >= 2)
    out = acc.join(cc, on="cluster_id", how="left").with_columns(pl.coalesce(pl.col("merged").cast(pl.Int64), -pl.col("cluster_id").cast(pl.Int64)).alias("merged"))
    return out, excl.height
