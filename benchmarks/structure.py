#!/usr/bin/env python
"""Where the structure is lost: ARI by cell and by campaign, with and without shared-network cells.

For each simulated world folder (``graphlink simulate OUT --scenario S --seed N``:
``events.parquet``, ``labels.parquet``, ``params.json``) this runs detection in
process with default settings on events only and prints the ARI of clusters
against cells and of campaigns against operators over ring accounts
(unclustered accounts are singletons, as in :func:`graphlink.lab.evaluate.evaluate`),
then the same two figures leaving out the ring accounts of cells whose
addresses come from the one residential proxy network the simulator shares
between operators (``"ip": "shared"`` in ``params.json``).

Examples::

    python benchmarks/structure.py /tmp/dev/giant_1003 /tmp/dev/crowds_1003
    python benchmarks/structure.py /tmp/dev/*_100[0-5]      # BENCHMARKS.md "Third pass"
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphlink.lab.evaluate import adjusted_rand_index  # noqa: E402
from graphlink.pipeline import run_detect  # noqa: E402


def cell_address_types(params: dict) -> dict[str, str]:
    """``group_id -> address type`` of every ring cell, in the simulator's cell numbering."""
    cells = [cell for op in params["operators"] for cell in op["cells"]]
    return {f"cell{i:04d}": cell["ip"] for i, cell in enumerate(cells)}


def structure(world: Path) -> dict:
    """ARI by cell and campaign for one world, over all ring accounts and without shared-network cells."""
    params = json.loads((world / "params.json").read_text())
    result = run_detect(world / "events.parquet")
    labels = (pl.read_parquet(world / "labels.parquet").filter(pl.col("kind") == "ring")
              .with_columns(pl.col("group_id").replace_strict(cell_address_types(params), default="?").alias("ip"),
                            pl.col("campaign_id").cast(pl.String).alias("operator")))
    own = pl.lit("singleton:") + pl.col("account_id")
    rows = labels.join(result.accounts.select("account_id", pl.col("cluster_id").cast(pl.String).alias("cluster"),
                                              pl.col("campaign_id").cast(pl.String).alias("campaign")),
                       on="account_id", how="left").with_columns(
        pl.col("cluster").fill_null(own), pl.col("campaign").fill_null(own))
    apart = rows.filter(pl.col("ip") != "shared")
    return {"world": world.name, "shared_share": round(float((rows["ip"] == "shared").mean() or 0), 3),
            "ari_cell": round(adjusted_rand_index(rows, "group_id", "cluster"), 3),
            "ari_cell_without_shared": round(adjusted_rand_index(apart, "group_id", "cluster"), 3),
            "ari_campaign": round(adjusted_rand_index(rows, "operator", "campaign"), 3),
            "ari_campaign_without_shared": round(adjusted_rand_index(apart, "operator", "campaign"), 3)}


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    table = pl.DataFrame([structure(Path(p)) for p in argv])
    with pl.Config(tbl_rows=-1, tbl_width_chars=200):
        print(table)
        print(table.select(pl.exclude("world").mean().round(3)))


if __name__ == "__main__":
    main(sys.argv[1:])
