"""Offline study of pool ties between clusters (session 53, helper camp53; BENCHMARKS.md "Fifty-third pass ... camp53").

Applies a campaign move read from shared addresses to existing detect outputs (flags and partition stay as they are)
and prints ARI by operator before and after, per world. Addresses are read from the world's ``events.parquet``
(``ip`` column, exact strings), clusters, campaigns and flags from the output (``accounts.parquet``,
``clusters.parquet``); labels from ``labels.parquet``.

usage: PYTHONPATH=<checkout> python benchmarks/pool_pieces53.py TAU MIN_VALUES OUTPUT_PREFIX WORLD... (worlds under
/tmp/dev; the output of WORLD is OUTPUT_PREFIX + WORLD). Variants by environment variable:

MODE      soft (shared values weighted by the pair's share of their holders), strict (values held by the two clusters
          only), closed (values all of whose holders are members of flagged clusters: the shipped rule)
COV       each side's share of members holding a pair-exclusive shared value (default 0: no test)
OPEN      with LOOSE=uncl, unclustered holders count as open (else: unflagged); clusters whose share of open values
          exceeds OPEN are left out (default: no test)
CLIENTS   1: both clusters need a client signature and must agree (campaign_clients' cosine and own clients);
          principal: and the same principal client products; veto: only signed disagreement drops a pair
LONE      only a cluster alone in its campaign moves, to its strongest tie's campaign (the shipped rule); else
          campaigns of tied clusters merge (union-find)
DIRECTED  with LONE, containment read from the moving cluster's own pool (the shipped rule)
MOVES     1: count moved clusters whose majority operator is / is not the target campaign's; 2: also list the wrong
DBG, DIST tables of the kept pairs / of ring accounts per (operator, campaign) after the move
Shipped rule: MODE=closed LONE=1 DIRECTED=1 with TAU = campaign_resolution (0.35) and MIN_VALUES = 5.
"""
import sys, polars as pl, numpy as np
from graphlink.lab.evaluate import adjusted_rand_index
tau, minx, prefix = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import os; MODE = os.environ.get("MODE", "soft")
def find(par, x):
    while par[x] != x:
        par[x] = par[par[x]]; x = par[x]
    return x
tot = []; REL = []; MOV = []
for name in sys.argv[4:]:
    world, out = f"/tmp/dev/{name}", f"{prefix}{name}"
    ev = pl.read_parquet(f"{world}/events.parquet", columns=["account_id", "ip"]).drop_nulls().unique()
    lab = pl.read_parquet(f"{world}/labels.parquet")
    acc = pl.read_parquet(f"{out}/accounts.parquet", columns=["account_id", "cluster_id", "campaign_id"])
    cl = pl.read_parquet(f"{out}/clusters.parquet", columns=["cluster_id", "flagged", "size"])
    df = ev.group_by("ip").agg(pl.len().alias("df"))
    h = ev.join(acc.drop_nulls("cluster_id"), on="account_id").group_by("cluster_id", "ip").agg(pl.len().alias("a")).join(df, on="ip")
    nip = h.group_by("cluster_id").agg((pl.col("df") >= 2).sum().alias("nip2"))
    if MODE == "closed":
        hf = h.join(cl.select("cluster_id", "flagged"), on="cluster_id")
        closed = hf.group_by("ip").agg((pl.col("a") * pl.col("flagged").cast(pl.Int64)).sum().alias("fa"), pl.col("df").first()).filter(pl.col("fa") == pl.col("df")).select("ip")
        s = h.filter(pl.col("a") < pl.col("df")).join(closed, on="ip")
    else:
        s = h.filter(pl.col("a") < pl.col("df"))
    p = s.join(s, on="ip", suffix="_b").filter(pl.col("cluster_id") < pl.col("cluster_id_b"))
    pairs = p.group_by("cluster_id", "cluster_id_b").agg(
        (pl.col("a") + pl.col("a_b") == pl.col("df")).sum().alias("excl"), pl.len().alias("n_shared"),
        ((pl.col("a") + pl.col("a_b")) / pl.col("df")).sum().alias("soft"),
        (pl.col("a").max() >= 2).alias("ha"), (pl.col("a_b").max() >= 2).alias("hb"))
    pairs = pairs.join(nip, on="cluster_id").join(nip, left_on="cluster_id_b", right_on="cluster_id", suffix="_b").with_columns(
        ((pl.col("soft") if MODE == "soft" else pl.col("excl") if MODE == "strict" else pl.col("n_shared")) / pl.min_horizontal("nip2", "nip2_b")).alias("softc"))
    # values held by exactly two clusters and no one else: member coverage per side
    ex = p.filter(pl.col("a") + pl.col("a_b") == pl.col("df")).select("ip", "cluster_id", "cluster_id_b")
    held = ev.join(acc.drop_nulls("cluster_id"), on="account_id").select("account_id", "cluster_id", "ip")
    covA = held.join(ex, on=["ip", "cluster_id"]).group_by("cluster_id", "cluster_id_b").agg(pl.col("account_id").n_unique().alias("ma"))
    covB = held.rename({"cluster_id": "cluster_id_b"}).join(ex, on=["ip", "cluster_id_b"]).group_by("cluster_id", "cluster_id_b").agg(pl.col("account_id").n_unique().alias("mb"))
    sz = cl.select("cluster_id", "size")
    pairs = (pairs.join(covA, on=["cluster_id", "cluster_id_b"], how="left").join(covB, on=["cluster_id", "cluster_id_b"], how="left")
             .join(sz, on="cluster_id").join(sz, left_on="cluster_id_b", right_on="cluster_id", suffix="_b")
             .with_columns(pl.min_horizontal(pl.col("ma") / pl.col("size"), pl.col("mb") / pl.col("size_b")).fill_null(0).alias("cov")))
    COV = float(os.environ.get("COV", "0"))
    # openness: holdings of a cluster's addresses by accounts in no flagged cluster
    fl_acc = (acc.drop_nulls("cluster_id") if os.environ.get("LOOSE") == "uncl" else acc.join(cl.filter("flagged").select("cluster_id"), on="cluster_id")).select("account_id")
    loose = ev.join(fl_acc, on="account_id", how="anti").select("ip").unique().with_columns(pl.lit(1).alias("loose"))
    openness = h.join(loose, on="ip", how="left").group_by("cluster_id").agg(pl.col("loose").fill_null(0).sum().alias("open"), pl.len().alias("nall"))
    pairs = pairs.join(openness, on="cluster_id").join(openness, left_on="cluster_id_b", right_on="cluster_id", suffix="_b")
    OPEN = float(os.environ.get("OPEN", "1e9"))
    pairs = pairs.filter((pl.col("open") <= OPEN * pl.col("nall")) & (pl.col("open_b") <= OPEN * pl.col("nall_b")))
    if os.environ.get("CLIENTS"):
        ua = pl.read_parquet(f"{world}/events.parquet", columns=["account_id", "user_agent"]).drop_nulls().unique().join(acc.drop_nulls("cluster_id"), on="account_id")
        sz2 = acc.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.len().alias("n"))
        prof = ua.group_by("cluster_id", "user_agent").agg(pl.len().alias("k")).join(sz2, on="cluster_id").with_columns((pl.col("k") / pl.col("n")).alias("p"),
                 pl.col("user_agent").str.split("/").list.first().alias("product"))
        cov_ = ua.group_by("cluster_id").agg(pl.col("account_id").n_unique().alias("senders")).join(sz2, on="cluster_id")
        sigd = (prof.group_by("cluster_id").agg(((pl.col("p") ** 2).sum() / pl.col("p").sum() ** 2).alias("conc"), (pl.col("p") ** 2).sum().sqrt().alias("norm"))
                .join(cov_, on="cluster_id").filter((pl.col("conc") >= 0.3) & (pl.col("n") >= 5) & (pl.col("senders") >= 0.5 * pl.col("n"))))
        cand = pairs.select("cluster_id", "cluster_id_b").join(sigd.select("cluster_id", "norm"), on="cluster_id").join(sigd.select(pl.col("cluster_id").alias("cluster_id_b"), pl.col("norm").alias("norm_b")), on="cluster_id_b")
        pp = prof.select("cluster_id", "user_agent", "p")
        dot = cand.join(pp, on="cluster_id").join(pp.rename({"cluster_id": "cluster_id_b", "p": "p_b"}), on=["cluster_id_b", "user_agent"]).group_by("cluster_id", "cluster_id_b").agg((pl.col("p") * pl.col("p_b")).sum().alias("dot"))
        cand = cand.join(dot, on=["cluster_id", "cluster_id_b"], how="left").with_columns(pl.col("dot").fill_null(0.0))
        prin = prof.filter(pl.col("p") >= 0.5).select("cluster_id", "product")
        prods = prof.select("cluster_id", "product").unique()
        def owns(a, b):
            return (cand.select("cluster_id", "cluster_id_b").join(prin.rename({"cluster_id": a}), on=a)
                    .join(prods.rename({"cluster_id": b}), on=[b, "product"], how="anti").select("cluster_id", "cluster_id_b").unique())
        both_own = owns("cluster_id", "cluster_id_b").join(owns("cluster_id_b", "cluster_id"), on=["cluster_id", "cluster_id_b"])
        agree = cand.filter(pl.col("dot") >= 0.1 * pl.col("norm") * pl.col("norm_b")).join(both_own, on=["cluster_id", "cluster_id_b"], how="anti").select("cluster_id", "cluster_id_b")
        if os.environ.get("CLIENTS") == "principal":
            ps = prin.unique().group_by("cluster_id").agg(pl.col("product").sort().str.join(",").alias("ps"))
            agree = (agree.join(ps, on="cluster_id").join(ps.rename({"cluster_id": "cluster_id_b", "ps": "ps_b"}), on="cluster_id_b")
                     .filter(pl.col("ps") == pl.col("ps_b")).select("cluster_id", "cluster_id_b"))
        if os.environ.get("CLIENTS") == "veto":
            signed_pairs = cand.select("cluster_id", "cluster_id_b")
            vetoed = signed_pairs.join(agree, on=["cluster_id", "cluster_id_b"], how="anti")
            pairs = pairs.join(vetoed, on=["cluster_id", "cluster_id_b"], how="anti")
        else:
            pairs = pairs.join(agree, on=["cluster_id", "cluster_id_b"])
    keep = pairs.filter((pl.col("softc") >= tau) & (pl.col("n_shared" if MODE == "closed" else "excl") >= minx) & (pl.col("cov") >= COV))
    if os.environ.get("DBG"):
        pl.Config.set_tbl_cols(30); pl.Config.set_tbl_width_chars(250); pl.Config.set_tbl_rows(40)
        cm = acc.drop_nulls("cluster_id").join(lab, on="account_id", how="left").with_columns(
            pl.coalesce(pl.col("campaign_id_right").cast(pl.String), pl.col("kind")).alias("who"))
        comp = cm.group_by("cluster_id").agg(pl.col("who").value_counts(sort=True).head(3).alias("comp"))
        print(keep.join(comp, on="cluster_id").join(comp, left_on="cluster_id_b", right_on="cluster_id", suffix="_b")
              .join(acc.select("cluster_id", "campaign_id").unique("cluster_id"), on="cluster_id")
              .join(acc.select("cluster_id", "campaign_id").unique("cluster_id"), left_on="cluster_id_b", right_on="cluster_id", suffix="_b")
              .drop("soft", "ha", "hb"))
    cm2 = acc.drop_nulls("cluster_id").join(lab, on="account_id", how="left").with_columns(
        pl.coalesce(pl.col("campaign_id_right").cast(pl.String), pl.lit("b")).alias("who"))
    maj = cm2.group_by("cluster_id", "who").agg(pl.len().alias("n")).sort("n", descending=True).group_by("cluster_id").agg(pl.col("who").first())
    kk = keep.join(maj, on="cluster_id").join(maj, left_on="cluster_id_b", right_on="cluster_id", suffix="_b")
    REL.append((kk.filter((pl.col("who") == pl.col("who_b")) & (pl.col("who") != "b")).height,
                kk.filter((pl.col("who") != pl.col("who_b")) & (pl.col("who") != "b") & (pl.col("who_b") != "b")).height,
                kk.filter((pl.col("who") == "b") | (pl.col("who_b") == "b")).height))
    camp = dict(acc.drop_nulls("cluster_id").select("cluster_id", "campaign_id").unique().iter_rows())
    flag = dict(cl.select("cluster_id", "flagged").iter_rows())
    par = {c: c for c in set(camp.values())}
    edges = keep.select("cluster_id", "cluster_id_b", "softc").iter_rows()
    if os.environ.get("LONE"):
        from collections import Counter
        ncl = Counter(camp.values())
        best = {}
        for a, b, w, na, nb, sh in keep.select("cluster_id", "cluster_id_b", "softc", "nip2", "nip2_b", "n_shared").iter_rows():
            for x, y, nx in ((a, b, na), (b, a, nb)):
                if os.environ.get("DIRECTED"):
                    w = sh / nx
                    if w < tau:
                        continue
                if ncl[camp[x]] == 1 and camp[x] != camp[y]:
                    if x not in best or (w, -y) > best[x][0]:
                        best[x] = ((w, -y), y)
        edges = [(x, y, 0) for x, (_, y) in best.items()]
        if os.environ.get("MOVES"):
            cm3 = acc.drop_nulls("cluster_id").join(lab, on="account_id", how="left").with_columns(pl.coalesce(pl.col("campaign_id_right").cast(pl.String), pl.col("kind")).alias("who"))
            camp_maj = cm3.group_by("campaign_id", "who").agg(pl.len().alias("n")).sort("n", descending=True).group_by("campaign_id").agg(pl.col("who").first().alias("cwho"), pl.col("n").sum().alias("csize"))
            cl_maj = cm3.group_by("cluster_id", "who").agg(pl.len().alias("n")).sort("n", descending=True).group_by("cluster_id").agg(pl.col("who").first().alias("who"), pl.col("n").sum().alias("size"))
            mv = pl.DataFrame([(x, y, camp[y]) for x, (_, y) in best.items()], schema={"cluster_id": pl.Int64, "partner": pl.Int64, "to": pl.Int64}, orient="row")
            mv = mv.join(cl_maj, on="cluster_id").join(camp_maj, left_on="to", right_on="campaign_id")
            MOV.append((mv.filter(pl.col("who") == pl.col("cwho"))["size"].sum(), mv.filter(pl.col("who") != pl.col("cwho"))["size"].sum(), mv.filter(pl.col("who") == pl.col("cwho")).height, mv.filter(pl.col("who") != pl.col("cwho")).height))
            if os.environ.get("MOVES") == "2":
                print(mv.filter(pl.col("who") != pl.col("cwho")))
    for a, b, _w in edges:
        ra, rb = find(par, camp[a]), find(par, camp[b])
        if ra != rb: par[max(ra, rb)] = min(ra, rb)
    newc = {c: find(par, k) for c, k in camp.items()}
    acc2 = acc.with_columns(pl.col("cluster_id").replace_strict(newc, default=None).alias("campaign_new"))
    d = lab.join(acc2, on="account_id", how="left", suffix="_p")
    rings = d.filter(pl.col("kind") == "ring").with_columns(pl.col("campaign_id").cast(pl.String).fill_null("?").alias("op"),
        pl.when(pl.col("campaign_id_p").is_null()).then(pl.col("account_id")).alias("single"),
        pl.col("campaign_id_p").cast(pl.String), pl.col("campaign_new").cast(pl.String))
    if os.environ.get("DIST"):
        print(rings.group_by("op", "campaign_new").agg(pl.len()).sort("len", descending=True).head(12))
    a0 = adjusted_rand_index(rings, "op", ["campaign_id_p", "single"])
    a1 = adjusted_rand_index(rings, "op", ["campaign_new", "single"])
    # benign clusters whose campaign changed / benign accounts newly in a campaign holding a flagged cluster
    fc = acc2.drop_nulls("cluster_id").join(cl, on="cluster_id")
    flagged_old = set(fc.filter("flagged")["campaign_id"].to_list()); flagged_new = set(fc.filter("flagged")["campaign_new"].to_list())
    ben = d.filter(pl.col("kind") != "ring").drop_nulls("cluster_id")
    moved_ben = ben.filter(pl.col("campaign_new") != pl.col("campaign_id_p")).height
    newly = ben.filter(~pl.col("campaign_id_p").is_in(list(flagged_old)) & pl.col("campaign_new").is_in(list(flagged_new))).height
    print(f"{name:14s} ARIop {a0:.3f} -> {a1:.3f}  joins {keep.height:4d}  benign-moved {moved_ben:4d}  benign-now-in-flagged-campaign {newly:4d}", flush=True)
    tot.append((a0, a1))
print("pairs joined: same operator / two operators / with a benign-majority cluster", np.sum(REL, axis=0).tolist(), "worlds up", sum(t[1] > t[0] + 0.001 for t in tot), "down", sum(t[1] < t[0] - 0.001 for t in tot))
print("moves (accounts right, accounts wrong, clusters right, clusters wrong):", np.sum(MOV, axis=0).tolist() if MOV else None)
print("mean", np.mean([t[0] for t in tot]).round(4), np.mean([t[1] for t in tot]).round(4))
