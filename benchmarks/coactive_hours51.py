#!/usr/bin/env python
"""Do the cells merged in one cluster keep their own hours? (session 51, helper big51)

Usage::

    python benchmarks/coactive_hours51.py WORLD OUT CLUSTER_ID

For each cell of 10+ ring accounts in the cluster, the Jaccard of the UTC hours in which two halves of its accounts
(split by account hash) send, and the same between half 0 of one cell and half 1 of another (sibling pairs):
quantiles, the share of sibling pairs at 0.5 or more and of cells whose halves fall under 0.5.
"""
import sys, polars as pl, numpy as np
w,o,cid=sys.argv[1],sys.argv[2],int(sys.argv[3])
lab=pl.read_parquet(w+'/labels.parquet').filter(pl.col('kind')=='ring')
acc=pl.read_parquet(o+'/accounts.parquet').select('account_id','cluster_id').filter(pl.col('cluster_id')==cid)
members=lab.join(acc,on='account_id')
e=pl.scan_parquet(w+'/events.parquet').select('account_id','timestamp').join(members.lazy().select('account_id','ring_id'),on='account_id').collect()
# halves: split each cell's accounts by hash parity
e=e.with_columns(half=(pl.col('account_id').hash()%2), h=pl.col('timestamp').dt.truncate('1h'))
big=members.group_by('ring_id').len().filter(pl.col('len')>=10)['ring_id']
e=e.filter(pl.col('ring_id').is_in(big.implode()))
sets={}
for (r,hf),g in e.group_by(['ring_id','half']):
    sets[(r,hf)]=set(g['h'].to_list())
def jac(a,b): return len(a&b)/max(1,len(a|b))
within=[jac(sets[(r,0)],sets[(r,1)]) for r in big.to_list() if (r,0) in sets and (r,1) in sets]
cells=[r for r in big.to_list() if (r,0) in sets]
between=[jac(sets[(a,0)],sets[(b,1)]) for i,a in enumerate(cells) for b in cells[i+1:] if (b,1) in sets]
q=lambda x:[round(float(np.quantile(x,p)),2) for p in (0.1,0.5,0.9)]
print('cluster',cid,'cells>=10:',len(cells),'within-cell halves hour-Jaccard q10/50/90',q(within),'sibling pairs',q(between),'share of sibling pairs >= 0.5', round(float(np.mean(np.array(between)>=0.5)),3), 'share of within < 0.5', round(float(np.mean(np.array(within)<0.5)),3))
