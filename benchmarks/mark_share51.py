#!/usr/bin/env python
"""How specific a big cell's template marks are (session 51, helper big51): the input of network_cells' MARK_SPECIFIC.

Usage::

    python benchmarks/mark_share51.py WORLD CELL

The word 4-grams held by half the cell's accounts (``network_cells.MARK_SHARE``) and, for each, the share of its
holders in the whole log that are the cell's (``network_cells`` joins a cell's pieces on one network only through a
mark whose holders are at least half on the block, ``MARK_SPECIFIC``). Prints the six most specific and the best.
"""
import sys, polars as pl
w, cell = sys.argv[1], int(sys.argv[2])
lab=pl.read_parquet(w+'/labels.parquet')
e=pl.read_parquet(w+'/events.parquet', columns=['account_id','prompt'])
ids=lab.filter(pl.col('ring_id')==cell)['account_id']
ce=e.filter(pl.col('account_id').is_in(ids.implode()))
words=pl.col('prompt').str.to_lowercase().str.split(' ')
g=(ce.select('account_id','prompt').unique().with_columns(w=words).with_columns(i=pl.int_ranges(0,(pl.col('w').list.len().cast(pl.Int64)-3).clip(0))).explode('i').drop_nulls('i')
   .select('account_id', v=pl.concat_str([pl.col('w').list.get(pl.col('i')+k) for k in range(4)],separator=' ')).unique())
n=ids.len()
top=g.group_by('v').agg(h=pl.len()).filter(pl.col('h')>=0.5*n).sort('h',descending=True)
print('cell',cell,'size',n,'grams held by half', top.height)
dp=e.with_columns(lp=pl.col('prompt').str.to_lowercase())
res=[]
for v,h in top.head(40).rows():
    holders=dp.filter(pl.col('lp').str.contains(v, literal=True)).select('account_id').unique().join(lab,on='account_id')
    res.append((v,h,holders.height,holders.filter(pl.col('ring_id')==cell).height/holders.height, holders['ring_id'].n_unique()))
res.sort(key=lambda r:-r[3])
for r in res[:6]: print('  ', r)
print('  best share of a half-held gram inside the cell:', max(r[3] for r in res) if res else None)
