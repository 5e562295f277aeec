#!/usr/bin/env python
"""Where ARI by cell goes as a world grows: pair counts, pieces and merged clusters (session 51, helper big51).

Usage::

    python benchmarks/ari_scale51.py WORLD:OUT [WORLD:OUT ...]   # WORLD has labels.parquet, OUT a detect output

The cheap half of ``ari_decomp50.py`` (no value tables, so it runs at 224k in seconds): ARI by cell as
``graphlink evaluate`` computes it, each loss repaired alone (``fix_uncl``, ``fix_split``, ``fix_m_op`` sibling
merges, ``fix_m_x`` cross-operator merges), the ring clusters' sizes and how many cells each mixes, pieces per
cell and the largest piece's share, and the share of merged pair mass in clusters mixing 2 / 3-10 / 11-50 / 51+
cells. (``ari_op`` is a rough operator-level figure from the same pairs, not evaluate's ``ari_campaign``.)
"""
import sys, polars as pl
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parent))
from ari_decomp50 import c2, ari_from
def dec(world, out):
    lab = pl.read_parquet(f"{world}/labels.parquet").with_columns(cell=pl.col("ring_id").cast(pl.String), op=pl.col("campaign_id").cast(pl.String))
    acc = pl.read_parquet(f"{out}/accounts.parquet").select("account_id", "cluster_id").unique("account_id")
    ring = lab.filter(pl.col("kind") == "ring").join(acc, on="account_id", how="left").with_columns(uncl=pl.col("cluster_id").is_null())
    n2 = c2(ring.height)
    cells = ring.group_by("cell").agg(n=pl.len(), op=pl.col("op").first(), nu=pl.col("uncl").sum())
    t = int(cells.select(c2(pl.col("n").cast(pl.Int64)).sum()).item())
    fn_uncl = int(cells.select((c2(pl.col("n").cast(pl.Int64)) - c2((pl.col("n") - pl.col("nu")).cast(pl.Int64))).sum()).item())
    cl = ring.filter(~pl.col("uncl"))
    cc = cl.group_by("cluster_id", "cell").agg(k=pl.len(), op=pl.col("op").first())
    tp = int(cc.select(c2(pl.col("k").cast(pl.Int64)).sum()).item())
    fn_split = t - tp - fn_uncl
    # fp by cluster
    cs = cc.group_by("cluster_id").agg(tot=pl.col("k").sum(), same=c2(pl.col("k").cast(pl.Int64)).sum(), ops=pl.col("op").n_unique(), ncell=pl.len())
    # pairs same op
    co = cc.group_by("cluster_id","op").agg(ko=pl.col("k").sum())
    opp = int(co.select(c2(pl.col("ko").cast(pl.Int64)).sum()).item())
    allp = int(cs.select(c2(pl.col("tot").cast(pl.Int64)).sum()).item())
    m_op = opp - tp; m_x = allp - opp
    p = tp + m_op + m_x
    r = dict(ring=ring.height, cells=cells.height, uncl_acc=int(ring['uncl'].sum()), ari=ari_from(tp,t,p,n2))
    loss = {"uncl": (fn_uncl, 0), "split": (fn_split, 0), "m_op": (0, m_op), "m_x": (0, m_x)}
    for name,(fn,fp) in loss.items(): r['fix_'+name]=ari_from(tp+fn,t,p+fn-fp,n2)
    r['pairs']=dict(T=t,TP=tp,fn_uncl=fn_uncl,fn_split=fn_split,m_op=m_op,m_x=m_x)
    # op-level ARI
    ot = int(ring.group_by('op').len().select(c2(pl.col('len').cast(pl.Int64)).sum()).item())
    r['ari_op']=ari_from(opp, ot, p, n2)
    # cluster sizes containing ring
    r['ring_clusters']=cs.height
    r['ringcl_size_q']=[cs['tot'].quantile(q) for q in (0.5,0.9,0.99)]+[cs['tot'].max()]
    r['ncell_per_cluster']=[cs['ncell'].quantile(q) for q in (0.5,0.9,0.99)]+[cs['ncell'].max()]
    pieces = cc.group_by('cell').agg(pieces=pl.len(), top=pl.col('k').max(), n=pl.col('k').sum())
    r['pieces_per_cell']=[pieces['pieces'].quantile(q) for q in (0.5,0.9)]+[pieces['pieces'].max()]
    r['top_share_med']=float((pieces['top']/pieces['n']).median())
    r['big_merge']= cs.sort('tot',descending=True).head(5).rows()
    # fp mass in clusters with >=k cells
    cs2 = cs.with_columns(fp=c2(pl.col('tot').cast(pl.Int64))-pl.col('same'))
    r['fp_by_ncell']={b: round(int(cs2.filter(pl.col('ncell').is_between(lo,hi))['fp'].sum())/max(m_op+m_x,1),3) for b,(lo,hi) in {'2':(2,2),'3-10':(3,10),'11-50':(11,50),'51+':(51,10**9)}.items()}
    return r
for a in sys.argv[1:]:
    w,o=a.split(':'); r=dec(w,o)
    print(w, o); [print('  ',k,v) for k,v in r.items()]
