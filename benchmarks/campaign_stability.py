#!/usr/bin/env python
"""Campaign stability: perturb a world in ways that should not matter and compare with the unperturbed run.

BENCHMARKS.md "Fourteenth pass (session 14): campaign stability". Runs ``run_detect`` on WORLD (events only)
unperturbed, then with K random ordinary accounts detached from clusters holding no ring account (seeds
SEEDS; ``fleet_outsiders`` wrapped, labels used for the experiment only -- nothing a ring holds changes),
then with the community ``seed`` set to each of CSEEDS. Prints F1, P, R, ring accounts flagged, benign
flagged, campaigns, ARI by cell and by campaign, and, against the unperturbed run over ring accounts, the
ARI of clusters and of campaigns and the ring accounts whose flag was gained or lost.

Usage::

    WT=/path/to/checkout python benchmarks/campaign_stability.py /tmp/tl/ind_s3_11000 14 1,2,3,4 43
"""
import sys, os
WT = os.environ.get("WT", str(__import__("pathlib").Path(__file__).resolve().parent.parent)); sys.path.insert(0, WT)
import numpy as np, polars as pl
import graphlink.pipeline as P
import graphlink.stages.network_cells as NC
from graphlink.lab.evaluate import evaluate
from graphlink.config.build import build_config
from graphlink.lab.evaluate import adjusted_rand_index
def ari(x,y):
    return adjusted_rand_index(pl.DataFrame({'a':x,'b':y}),'a','b')
w=sys.argv[1]; K=int(sys.argv[2]); seeds=[int(s) for s in sys.argv[3].split(",") if s]
cseeds=[int(s) for s in sys.argv[4].split(",")] if len(sys.argv)>4 else []
tag=os.environ.get("TAG","x")
lab=pl.read_parquet(f"{w}/labels.parquet")
orig=P.fleet_outsiders; orig_ss=P.scoring_stage; orig_pc=P.piece_campaigns
state={}
def ss(partition, index, *a, **k):
    state['index']=index; return orig_ss(partition, index, *a, **k)
def fo(partition, *a, **k):
    r=orig(partition, *a, **k)
    if state['seed'] is None: return r
    m=partition.drop_nulls().join(state['index'].select("account_idx","account_id"),on="account_idx").join(lab,on="account_id")
    ringc=m.filter(pl.col("kind")=="ring").select("cluster_id").unique()
    cand=m.join(ringc,on="cluster_id",how="anti").filter(pl.col("kind")=="benign")["account_idx"].sort().to_numpy()
    pick=np.random.default_rng(state['seed']).choice(cand,K,replace=False)
    return pl.Series("account_idx", np.union1d(r.to_numpy(), pick).astype(np.uint32))
def pc(partition, pieces, affiliations, signals, gc, cc=None):
    state['cap']=(partition, pieces, affiliations, signals, gc, cc)
    return orig_pc(partition, pieces, affiliations, signals, gc, cc)
P.scoring_stage=ss; P.fleet_outsiders=fo; P.piece_campaigns=pc
runs=[("base",None,None)]+[(f"detach{s}",s,None) for s in seeds]+[(f"seed{c}",None,c) for c in cseeds]
res={}
for name,s,c in runs:
    state['seed']=s
    cfg=build_config(**({"seed": c} if c is not None else {})) if c is not None else None
    r=P.run_detect(f"{w}/events.parquet", None, cfg)
    ev=evaluate(r.accounts, r.clusters, lab)
    a=r.accounts.join(lab,on="account_id")
    fl=a.join(r.clusters.select("cluster_id","flagged"),on="cluster_id",how="left").with_columns(pl.col("flagged").fill_null(False))
    ringfl=fl.filter((pl.col("kind")=="ring")&pl.col("flagged")).height
    ncamp=r.clusters["campaign_id"].n_unique()
    res[name]=dict(ev=ev, acc=a.select("account_id","cluster_id","campaign_id","kind","ring_id"), fl=fl.select("account_id","flagged"), cap=state['cap'], ringfl=ringfl, ncamp=ncamp)
    print(os.path.basename(w), name, f"F1 {ev['f1']:.3f} P {ev['precision']:.3f} R {ev['recall']:.3f} ringflagged {ringfl} benign {ev['benign_flagged']} campaigns {ncamp} ARIcell {ev['ari_cell']:.3f} ARIcamp {ev['ari_campaign']:.3f}", flush=True)
# Compare to base over ring accounts: same cells? same campaigns?
b=res["base"]["acc"].filter(pl.col("kind")=="ring")
for name in res:
    if name=="base": continue
    o=res[name]["acc"].filter(pl.col("kind")=="ring")
    j=b.join(o,on="account_id",suffix="_o").with_columns(pl.col("cluster_id","campaign_id","cluster_id_o","campaign_id_o").fill_null(-1))
    # unclustered as singletons
    def lab_(c): 
        return j.select(pl.when(pl.col(c)<0).then(-pl.int_range(1,pl.len()+1)).otherwise(pl.col(c)).alias(c))[c].to_numpy()
    fb=res["base"]["fl"].join(res[name]["fl"],on="account_id",suffix="_o").join(lab,on="account_id").filter(pl.col("kind")=="ring")
    print(f"  {name} vs base on ring accounts: ARI cluster {ari(lab_('cluster_id'),lab_('cluster_id_o')):.3f} ARI campaign {ari(lab_('campaign_id'),lab_('campaign_id_o')):.3f} ring flag gained {fb.filter(~pl.col('flagged')&pl.col('flagged_o')).height} lost {fb.filter(pl.col('flagged')&~pl.col('flagged_o')).height}", flush=True)
