#!/usr/bin/env python
"""Which evidence separates a world's cells: the own-value yardstick of ``ari_decomp50.py`` by kind (session 50).

Usage: ``python benchmarks/own_kinds50.py WORLD [WORLD ...]``

For each subset of kinds (exact address ``ip``, card ``card``, active UTC minute ``min``, prompt word 4-gram
``ng``; ``benchmarks/cell_oracle.py``'s values), the ARI by cell of cutting each cell into the connected
components of values held by 2+ of its accounts and by no account outside it (ring accounts only, unlinked
accounts singletons) -- what linking by that cell-exclusive evidence alone could recover -- and the same at 0.9
purity (a value linking cell c's holders when c holds >= 90 % of its holders).
"""
from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ari_decomp50 import ari_part, own_cover  # noqa: E402
from cell_oracle import own_values  # noqa: E402

SUBSETS = {"all": ("ip", "card", "min", "ng"), "ip+card": ("ip", "card"), "ng": ("ng",), "min": ("min",),
           "all-min": ("ip", "card", "ng"), "all-ng": ("ip", "card", "min")}

if __name__ == "__main__":
    print("world " + " ".join(f"{k}(1.0/0.9)" for k in SUBSETS))
    for world in sys.argv[1:]:
        lab = pl.read_parquet(f"{world}/labels.parquet").with_columns(cell=pl.col("ring_id").cast(pl.String))
        held = own_values(world).join(lab.select("account_id", "kind", "cell"), on="account_id").with_columns(
            k=pl.col("v").str.extract(r"^([a-z]+):", 1))
        out = []
        for kinds in SUBSETS.values():
            h = held.filter(pl.col("k").is_in(list(kinds)))
            a = [ari_part(own_cover(world, lab, p, h)[0].with_columns(o=pl.col("own").cast(pl.String)), "cell", "o")
                 for p in (1.0, 0.9)]
            out.append(f"{a[0]:.3f}/{a[1]:.3f}")
        print(Path(world).name, " ".join(out), flush=True)
