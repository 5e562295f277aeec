#!/usr/bin/env python
"""vk-bots: where campaign-level pair recall and precision go, and what any campaign grouping could reach.

Runs ``graphlink detect`` in-process on ``DATA/vk-bots/events.parquet`` with ``--signal friend`` and default
settings, keeps the clusters campaigns are grouped from (the input of
:func:`graphlink.stages.network_cells.piece_campaigns`) and prints, against the traders of ``labels.parquet``:

* each cluster's majority label (a trader, or ``user``) and the campaign similarity edges
  (:func:`graphlink.stages.campaigns.cluster_similarity`) by pair type: within one trader, across labels, or
  between two user-majority clusters, and how many reach ``campaign_resolution`` through the shrunk cosine
  and through the private ties (:mod:`graphlink.stages.campaign_ties`);
* how each trader's clustered bots spread over campaigns;
* pair precision / recall / F1 of "same campaign" against "same trader" (users and unclustered accounts as
  singletons, as ``benchmarks/real_data.py``) for the grouping itself and for oracle regroupings of the same
  clusters: trader-majority clusters joined along every within-trader tie (no cross or user tie), user-majority
  clusters left ungrouped, both, and all trader-majority clusters merged by trader.

Issue 17 (session 24): the oracles bound what a change to the campaign grouping alone can reach.

Examples::

    python benchmarks/vk_campaign_bounds.py --data /work/shared/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import igraph as ig  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

import graphlink.pipeline as pipeline  # noqa: E402
from graphlink.config import build_config  # noqa: E402
from graphlink.stages import campaigns  # noqa: E402

TRADERS = ("OLENI", "PARIK", "MARSHRUTKA")


def captured_run(events: Path) -> dict:
    """Run detect (defaults, ``--signal friend``) and return the campaign grouping's inputs and the account index."""
    cap: dict = {}
    piece, stable = pipeline.piece_campaigns, pipeline.stable_ids_stage

    def keep_pieces(partition, pieces, affiliations, signals, graph_config, config=None, n_accounts=None):
        cap.update(pieces=pieces if pieces is not None else partition, affiliations=affiliations, signals=signals,
                   graph_config=graph_config, config=config, n_accounts=n_accounts)
        return piece(partition, pieces, affiliations, signals, graph_config, config, n_accounts)

    def keep_index(scored, index, *args, **kwargs):
        cap["index"] = index.select("account_idx", "account_id")
        return stable(scored, index, *args, **kwargs)

    pipeline.piece_campaigns, pipeline.stable_ids_stage = keep_pieces, keep_index
    try:
        pipeline.run_detect(str(events), None, build_config(signals=("friend",)))
    finally:
        pipeline.piece_campaigns, pipeline.stable_ids_stage = piece, stable
    return cap


def pair_scores(frame: pl.DataFrame, pred: str) -> tuple[float, float, float]:
    """Pair precision, recall, F1 of ``pred`` against ``trader`` (null: a singleton) over ``frame``'s accounts."""
    pairs = (pl.col("len") * (pl.col("len") - 1) / 2).sum()
    true = frame.drop_nulls("trader").group_by("trader").len().select(pairs).item()
    predicted = frame.drop_nulls(pred).group_by(pred).len().select(pairs).item()
    correct = frame.drop_nulls([pred, "trader"]).group_by(pred, "trader").len().select(pairs).item()
    p, r = correct / max(predicted, 1), correct / max(true, 1)
    return round(p, 3), round(r, 3), round(2 * p * r / max(p + r, 1e-12), 3)


def tie_components(edges: pl.DataFrame, n: int) -> np.ndarray:
    """Connected components (a label per node) of ``edges`` (``source, target``) over ``n`` nodes."""
    graph = ig.Graph(n=n, edges=edges.select("source", "target").rows())
    return np.asarray(graph.connected_components().membership)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    data = args.data / "vk-bots"
    cap = captured_run(data / "events.parquet")
    run = (cap["pieces"], cap["affiliations"], cap["signals"], cap["graph_config"], cap["config"], cap["n_accounts"])
    resolution = cap["config"].campaign_resolution
    node, _, edges = campaigns.cluster_similarity(*run)
    private = campaigns.private_ties
    campaigns.private_ties = lambda *a, **k: pl.DataFrame(schema=campaigns.SIMILARITY_SCHEMA)
    try:
        cosine = campaigns.cluster_similarity(*run)[2]
    finally:
        campaigns.private_ties = private
    grouped = campaigns.cluster_campaigns(*run)
    labels = (cap["index"].join(pl.read_parquet(data / "labels.parquet"), on="account_id", how="left")
              .select("account_idx", "trader", pl.col("trader").fill_null("user").alias("label")))
    members = (cap["pieces"].drop_nulls("cluster_id").join(labels, on="account_idx")
               .join(grouped, on="cluster_id"))
    majority = (members.group_by("cluster_id", "label").len().sort(["len", "label"], descending=[True, False])
                .group_by("cluster_id", maintain_order=True).agg(pl.col("label").first().alias("majority")))
    nodes = node.join(majority, on="cluster_id").select(pl.col("node").cast(pl.UInt32), "cluster_id", "majority")
    typed = (edges.join(cosine.rename({"weight": "cosine"}), on=["source", "target"], how="left")
             .join(nodes.select(pl.col("node").alias("source"), pl.col("majority").alias("a")), on="source")
             .join(nodes.select(pl.col("node").alias("target"), pl.col("majority").alias("b")), on="target")
             .with_columns(pl.when(pl.col("a") == pl.col("b")).then(pl.col("a")).otherwise(pl.lit("across"))
                           .alias("pair"), pl.col("cosine").fill_null(0.0)))
    pl.Config.set_tbl_rows(40)
    print(f"clusters {nodes.height}, similarity edges {edges.height}, campaign_resolution {resolution}")
    print(typed.group_by("pair").agg(
        pl.len().alias("edges"), (pl.col("weight") >= resolution).sum().alias("at_resolution"),
        (pl.col("cosine") >= resolution).sum().alias("by_cosine"),
        pl.col("weight").median().alias("median")).sort("pair"))
    for trader in TRADERS:
        spread = members.filter(pl.col("trader") == trader).group_by("campaign_id").len().sort("len", descending=True)
        print(f"{trader}: {spread['len'].sum()} clustered bots in {spread.height} campaigns, largest "
              f"{spread['len'].head(5).to_list()}")
    is_user = pl.col("majority") == "user"
    within = typed.filter(pl.col("pair").is_in(TRADERS) & (pl.col("weight") >= resolution))
    comp = tie_components(within, int(nodes["node"].max()) + 1)
    oracle = members.join(nodes.select("cluster_id", "majority", pl.Series("comp", comp[nodes["node"].to_numpy()])),
                          on="cluster_id")
    as_is = pl.lit("c") + pl.col("campaign_id").cast(pl.String)
    rows = {
        "campaigns (this grouping)": as_is,
        "trader clusters joined along within-trader ties only": pl.when(is_user).then(as_is)
        .otherwise(pl.lit("k") + pl.col("comp").cast(pl.String)),
        "user-majority clusters left ungrouped": pl.when(is_user).then(pl.lit("u") + pl.col("cluster_id").cast(pl.String))
        .otherwise(as_is),
        "both of the above": pl.when(is_user).then(pl.lit("u") + pl.col("cluster_id").cast(pl.String))
        .otherwise(pl.lit("k") + pl.col("comp").cast(pl.String)),
        "trader-majority clusters merged by trader (no evidence needed)": pl.when(is_user).then(as_is)
        .otherwise(pl.col("majority")),
    }
    everyone = labels.select("account_idx", "trader")
    print("| grouping of the same clusters | pair P | pair R | pair F1 |\n|---|---|---|---|")
    for name, expr in rows.items():
        frame = everyone.join(oracle.select("account_idx", expr.alias("pred")), on="account_idx", how="left")
        p, r, f = pair_scores(frame, "pred")
        print(f"| {name} | {p} | {r} | {f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
