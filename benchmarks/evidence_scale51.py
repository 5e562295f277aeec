#!/usr/bin/env python
"""How much of the evidence separates an operator's cells, by kind, as a world grows (session 51, helper big51).

Usage::

    NOGRAM=1 python benchmarks/evidence_scale51.py WORLD     # NOGRAM: skip prompt 4-grams (needed at 224k: >18 GB)

For each kind -- exact address (ip), card, /24 or /48 (net), active minute (min), address within one day
(ipday) or six hours (ip6h), network within one day (netday), prompt word 4-gram (gram) -- over values held
only by ring accounts and by two or more: the share held by one cell (own), and the *within-cell share* of the
holder pairs (pairs of one cell / all pairs the values tie): how much of what the value links is one cell and how
much is sibling cells. Then the evidence yardstick of ``ari_decomp50.py`` (each cell cut into the components of
values exclusive to it, ARI by cell) for sets of kinds, plain and time-scoped.
"""
import sys, os, polars as pl, igraph as ig
NOGRAM=bool(os.environ.get("NOGRAM"))
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parent))
from ari_decomp50 import ari_part
def vals(world):
    e = pl.scan_parquet(f"{world}/events.parquet").select("account_id","timestamp","ip","payment_fingerprint","prompt")
    v6 = pl.col("ip").str.contains(":")
    net = (pl.when(v6).then(pl.col("ip").str.split(":").list.head(3).list.join(":")).otherwise(pl.col("ip").str.split(".").list.head(3).list.join(".")))
    parts = {"ip": e.select("account_id", v=pl.col("ip")), "card": e.select("account_id", v=pl.col("payment_fingerprint")),
             "net": e.select("account_id", v=net), "min": e.select("account_id", v=pl.col("timestamp").dt.truncate("1m").cast(pl.String)),
             "ipday": e.select("account_id", v=pl.col("ip")+"|"+pl.col("timestamp").dt.truncate("1d").cast(pl.String)),
             "ip6h": e.select("account_id", v=pl.col("ip")+"|"+pl.col("timestamp").dt.truncate("6h").cast(pl.String)),
             "netday": e.select("account_id", v=net+"|"+pl.col("timestamp").dt.truncate("1d").cast(pl.String))}
    out = {k: p.drop_nulls().unique().collect() for k, p in parts.items()}
    # grams: from distinct prompts
    lab = pl.read_parquet(f"{world}/labels.parquet").select("account_id","kind")
    if NOGRAM: return out
    pr = e.select("account_id","prompt").unique().collect().join(lab, on="account_id")
    words = pl.col("prompt").str.to_lowercase().str.replace_all(r"[0-9]+", "#").str.split(" ").list.tail(40)
    def grams(p):
        return p.with_columns(w=words).with_columns(i=pl.int_ranges(0, (pl.col("w").list.len().cast(pl.Int64) - 3).clip(0))).explode("i").drop_nulls("i").select(*(c for c in p.columns if c!="prompt"), v=pl.concat_str([pl.col("w").list.get(pl.col("i") + k) for k in range(4)], separator=" ").hash().cast(pl.String)).unique()
    ringp = pr.filter(pl.col("kind")=="ring")
    rg = grams(ringp.select("account_id","prompt"))
    outside = grams(pr.filter(pl.col("kind")!="ring").select("prompt").unique()).join(rg.select("v").unique(), on="v", how="semi")
    # a placeholder outside account per outside-held gram
    ob = lab.filter(pl.col("kind")!="ring").head(1)["account_id"][0]
    out["gram"] = pl.concat([rg, outside.select(account_id=pl.lit(ob), v="v")])
    del pr
    return out
def main(world):
    lab = pl.read_parquet(f"{world}/labels.parquet").with_columns(cell=pl.col("ring_id").cast(pl.String), op=pl.col("campaign_id"))
    V = vals(world)
    rings = lab.filter(pl.col("kind")=="ring").select("account_id","cell","op").with_row_index("n")
    print(world, 'ring', rings.height)
    links_all = []
    for k, d in V.items():
        h = d.join(lab.select("account_id","kind","cell","op"), on="account_id")
        pv = h.group_by("v").agg(hold=pl.len(), out=(pl.col("kind")!="ring").sum())
        rv = h.filter(pl.col("kind")=="ring").group_by("v","cell","op").agg(c=pl.len())
        # ring-only values held by 2+
        ro = rv.join(pv.filter(pl.col("out")==0), on="v")
        tot = ro.group_by("v").agg(h=pl.col("c").sum(), same=(pl.col("c")*(pl.col("c")-1)//2).sum(), ncell=pl.len()).filter(pl.col("h")>=2)
        pairs = int(tot.select((pl.col("h")*(pl.col("h")-1)//2).sum()).item()); same=int(tot["same"].sum())
        own = tot.filter(pl.col("ncell")==1).height
        print(f"  {k}: ring-only values held by 2+: {tot.height}, own(one cell) {own/max(tot.height,1):.3f}; holder pairs {pairs}, within-cell share {same/max(pairs,1):.3f}; values spanning 5+ cells {tot.filter(pl.col('ncell')>=5).height}", flush=True)
        ownv = tot.filter(pl.col("ncell")==1).select("v")
        links_all.append(h.filter(pl.col("kind")=="ring").join(ownv, on="v").select("account_id", v=pl.lit(k+":")+pl.col("v")))
    sets=(("ip+card", [0,1]), ("ip+card+min", [0,1,3]), ("all", [0,1,3,4]), ("all+net", [0,1,2,3,4])) if not NOGRAM else (("ip+card", [0,1]), ("ip+card+min+net", [0,1,2,3]), ("ipday+card", [4,1]), ("ip6h+card", [5,1]), ("ipday+card+netday", [4,1,6]))
    for name, ks in sets:
        links = pl.concat([links_all[i] for i in ks]).join(rings.select("account_id","n"), on="account_id")
        values = links.select("v").unique().with_row_index("m"); links = links.join(values, on="v")
        g = ig.Graph(n=rings.height+values.height, edges=list(zip(links["n"].to_list(), (links["m"]+rings.height).to_list())))
        comp = pl.Series("o", g.connected_components().membership[:rings.height]).cast(pl.String)
        print(f"  own yardstick {name}: ARI {ari_part(rings.with_columns(comp), 'cell', 'o'):.3f}", flush=True)
main(sys.argv[1])
