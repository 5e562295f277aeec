#!/usr/bin/env python
"""Per-cell ``expand`` figures on cached simulated worlds: the design harness of the expand passes (issue 15).

Each world (``--scenario``, ``--seeds``) is simulated and detected once into ``--work`` (reused when
present); then ``expand`` is rerun from 3 random members of every ring cell of at least 5 accounts,
with the draw of :func:`graphlink.lab.pivot_eval.evaluate_expand` (so the cells and seeds are
``benchmarks/pivot.py``'s), and one row per cell is written to ``--out`` (Parquet): the cell's size,
the accounts listed and found, the listed accounts of sibling cells (same operator), of other
operators' cells and benign ones, how the cell and its seeds fall over detect's clusters, and the
simulator's schedule and address source of the cell (``params.json``). ``--against`` prints the
cells gained and lost against an earlier ``--out``. Run it from the checkout whose code is measured
(``PYTHONPATH=<checkout>``); dev seeds only (``graphlink.lab.simulate.seeds``).

Examples::

    PYTHONPATH=. python benchmarks/expand_cells.py --seeds 1000-1019 --work /tmp/cells --out /tmp/cells/main.parquet
    PYTHONPATH=. python benchmarks/expand_cells.py --seeds 1000-1019 --work /tmp/cells --out /tmp/cells/new.parquet \\
        --against /tmp/cells/main.parquet
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

import graphlink
from graphlink.lab.commands import simulate_scenario_world
from graphlink.views.expand import expand, graph_outputs


def cell_params(params: dict) -> pl.DataFrame:
    """``ring_id, schedule, ip, n_cards`` of every cell, numbered as the simulator numbers them."""
    cells = [c for op in params["operators"] for c in op["cells"]]
    return pl.DataFrame({"ring_id": list(range(len(cells))), "schedule": [c["schedule"] for c in cells],
                         "ip": [c["ip"] for c in cells], "n_cards": [c["n_cards"] for c in cells]})


def world_cells(folder: Path, scenario: str, seed: int) -> pl.DataFrame:
    if not (folder / "out" / "links.parquet").exists():
        simulate_scenario_world(folder, scenario, seed=seed)
        graphlink.detect(folder / "events.parquet", folder / "accounts.parquet").save(folder / "out")
    labels = pl.read_parquet(folder / "labels.parquet")
    outputs = graph_outputs(folder / "out")
    clusters = outputs.accounts.select("account_id", "cluster_id")
    cells = (labels.filter(pl.col("kind") == "ring").group_by("ring_id", "campaign_id")
             .agg(pl.col("account_id").sort(), pl.len().alias("size")).filter(pl.col("size") >= 5).sort("ring_id"))
    rng = np.random.default_rng(seed)  # evaluate_expand's draw
    rows = []
    for cell in cells.iter_rows(named=True):  # one expand per cell (tens per world)
        seeds = sorted(rng.choice(cell["account_id"], 3, replace=False).tolist())
        start = time.perf_counter()
        listed = expand(outputs, seeds).filter(pl.col("rank") > 0).select("account_id")
        seconds = time.perf_counter() - start
        judged = listed.join(labels.select("account_id", "kind", "ring_id", "campaign_id"), on="account_id", how="left")
        own = pl.col("ring_id") == cell["ring_id"]
        sibling = (pl.col("campaign_id") == cell["campaign_id"]) & ~own
        other = (pl.col("kind") == "ring") & (pl.col("campaign_id") != cell["campaign_id"])
        counts = judged.select(own.sum().alias("found"), sibling.sum().alias("siblings"), other.sum().alias("others"),
                               (pl.col("kind") != "ring").sum().alias("benign")).row(0, named=True)
        seed_clusters = clusters.filter(pl.col("account_id").is_in(seeds))["cluster_id"]
        cell_clusters = clusters.filter(pl.col("account_id").is_in(pl.Series(cell["account_id"]).implode()))["cluster_id"]
        rows.append({"world": seed, "ring_id": cell["ring_id"], "size": cell["size"], "listed": listed.height, **counts,
                     "seed_clusters": seed_clusters.drop_nulls().n_unique(), "seeds_unclustered": seed_clusters.null_count(),
                     "cell_clusters": cell_clusters.drop_nulls().n_unique(), "cell_unclustered": cell_clusters.null_count(),
                     "seconds": seconds})
    params = json.loads((folder / "params.json").read_text())
    return (pl.DataFrame(rows).join(cell_params(params), on="ring_id", how="left")
            .with_columns((pl.col("found") / (pl.col("size") - 3)).alias("recall"),
                          pl.when(pl.col("listed") > 0).then(pl.col("found") / pl.col("listed")).otherwise(1.0)
                          .alias("precision"))
            .with_columns(((pl.col("recall") >= 0.9) & (pl.col("precision") >= 0.9)).alias("ok")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="mixed")
    parser.add_argument("--seeds", default="1000-1019", help="A-B (dev seeds)")
    parser.add_argument("--work", type=Path, required=True, help="folder caching the simulated, detected worlds")
    parser.add_argument("--out", type=Path, required=True, help="per-cell figures (Parquet)")
    parser.add_argument("--against", type=Path, help="an earlier --out: print the cells gained and lost")
    args = parser.parse_args()
    lo, _, hi = args.seeds.partition("-")
    frames = [world_cells(args.work / f"{args.scenario}_{s}", args.scenario, s) for s in range(int(lo), int(hi or lo) + 1)]
    cells = pl.concat(frames)
    cells.write_parquet(args.out)
    failing = cells.filter(~pl.col("ok"))
    print(f"{cells['ok'].sum()}/{cells.height} cells at recall and precision >= 0.9 (mean precision "
          f"{cells['precision'].mean():.3f}, recall {cells['recall'].mean():.3f}); too short "
          f"{cells.filter(pl.col('recall') < 0.9).height}, too long {cells.filter(pl.col('precision') < 0.9).height}; "
          f"failing lists hold {failing['siblings'].sum()} siblings' and {failing['others'].sum()} other operators' "
          f"accounts; {cells['benign'].sum()} benign listed; {cells['seconds'].sum():.0f} s of expand")
    if args.against:
        both = pl.read_parquet(args.against).join(cells, on=["world", "ring_id"], suffix="_new")
        for name, flip in (("gained", ~pl.col("ok") & pl.col("ok_new")), ("lost", pl.col("ok") & ~pl.col("ok_new"))):
            print(name, both.filter(flip).select("world", "ring_id", "size", "schedule", "ip").rows())


if __name__ == "__main__":
    main()
