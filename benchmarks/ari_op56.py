#!/usr/bin/env python
"""Where ARI by operator is lost, and card campaigns measured on captured scoring frames (session 56, helper opari56).

Usage (``cd /tmp``, ``PYTHONPATH`` at a checkout; dev worlds under ``--dev``, default ``/tmp/dev``)::

    python ari_op56.py decomp OUT_PREFIX WORLD...   # causes of loss on detect outputs OUT_PREFIX_WORLD
    python ari_op56.py capture WORLD CAPDIR         # detect WORLD, saving lone cells' inputs to CAPDIR/WORLD
    python ari_op56.py apply CAPDIR WORLD...        # lone cells, then card campaigns, on the captured frames

ARI by operator is computed as ``graphlink evaluate`` does: over every ring account, ``campaign_id`` (the
operator) against the predicted ``campaign_id``, an account in no cluster its own singleton, one in an unflagged
cluster with that cluster's campaign. ``decomp`` repairs one cause at a time, by oracle, and prints the ARI gain
(accounts repaired): *unclust* (ring accounts in no cluster), *unflag* (in an unflagged cluster), *split* (flagged,
in a campaign whose majority is its own operator but not the operator's main campaign -- the one holding most of
its flagged accounts) each relabelled to the operator's main campaign; *merged* (flagged, in a campaign whose
majority is another operator) given a campaign of their own. ``apply`` prints ARI by operator after lone cells
(main) and after card campaigns, and each move with the two campaigns' majority operators.
"""

from __future__ import annotations

import os
import sys

import polars as pl


def _ari(frame: pl.DataFrame, col: str) -> float:
    from graphlink.lab.evaluate import adjusted_rand_index
    return adjusted_rand_index(frame.with_columns(pl.col("op").cast(pl.String)), "op", col)


def _labels(dev: str, world: str) -> pl.DataFrame:
    return pl.read_parquet(f"{dev}/{world}/labels.parquet").rename({"campaign_id": "op"})


def decomp(out: str, world: str, dev: str) -> str:
    """One line: ARI by operator of detect output ``out`` and the gain of each oracle repair."""
    c = pl.read_parquet(f"{out}/clusters.parquet").select("cluster_id", "flagged")
    a = (pl.read_parquet(f"{out}/accounts.parquet").select("account_id", "cluster_id", "campaign_id")
         .join(c, on="cluster_id", how="left"))
    r = (_labels(dev, world).filter(pl.col("kind") == "ring").select("account_id", "op").join(a, on="account_id", how="left")
         .with_columns(pl.col("flagged").fill_null(False),
                       pred=pl.when(pl.col("campaign_id").is_not_null()).then(pl.col("campaign_id").cast(pl.String))
                       .otherwise("u" + pl.col("account_id"))))
    flagged = r.filter("flagged").group_by("op", "campaign_id").len().sort("len", descending=True)
    main = flagged.group_by("op").first().select("op", main=pl.col("campaign_id").cast(pl.String))
    major = (r.filter("flagged").group_by("campaign_id", "op").len().sort("len", descending=True)
             .group_by("campaign_id").first().select("campaign_id", maj=pl.col("op")))
    r = r.join(main, on="op", how="left").join(major, on="campaign_id", how="left")
    base = _ari(r, "pred")
    has_main = pl.col("main").is_not_null()
    fixes = {
        "unclust": pl.col("cluster_id").is_null() & has_main,
        "unflag": pl.col("cluster_id").is_not_null() & ~pl.col("flagged") & has_main,
        "split": pl.col("flagged") & (pl.col("maj") == pl.col("op")) & has_main,
    }
    line = f"{world:14s} ari {base:.3f} |"
    for name, when in fixes.items():
        x = r.with_columns(p=pl.when(when).then(pl.col("main")).otherwise(pl.col("pred")))
        line += f" +{name} {_ari(x, 'p') - base:+.3f} ({x.filter(pl.col('p') != pl.col('pred')).height})"
    x = r.with_columns(p=pl.when(pl.col("flagged") & (pl.col("maj") != pl.col("op")))
                       .then(pl.col("pred") + "x" + pl.col("op").cast(pl.String)).otherwise(pl.col("pred")))
    return line + f" +merged {_ari(x, 'p') - base:+.3f} ({x.filter(pl.col('p') != pl.col('pred')).height})"


def capture(world: str, capdir: str, dev: str) -> None:
    """Detect ``world`` with the checkout on ``PYTHONPATH``, writing lone cells' inputs and the output."""
    import graphlink.stages.scoring_stage as stage
    original = stage.lone_cells

    def saving(clusters, partition, affiliations, signals, graph_config, config, n):
        d = f"{capdir}/{world}"
        os.makedirs(d, exist_ok=True)
        for name, frame in (("clusters", clusters), ("partition", partition), ("aff", affiliations), ("signals", signals)):
            frame.write_parquet(f"{d}/{name}.parquet")
        with open(f"{d}/n", "w") as f:
            f.write(str(n))
        return original(clusters, partition, affiliations, signals, graph_config, config, n)

    stage.lone_cells = saving
    from graphlink.cli import app
    app(prog_name="graphlink", args=["detect", f"{dev}/{world}/events.parquet", "--out", f"{capdir}/{world}/out", "-q"],
        standalone_mode=False)


def apply(capdir: str, world: str, dev: str) -> str:
    """ARI by operator after lone cells and after card campaigns on ``world``'s captured frames, and the moves."""
    from graphlink.config import CommunityConfig, GraphConfig
    from graphlink.stages.card_campaigns import card_campaigns, card_ties
    from graphlink.stages.lone_cells import lone_cells
    d = f"{capdir}/{world}"
    cl, part, aff, sig = (pl.read_parquet(f"{d}/{k}.parquet") for k in ("clusters", "partition", "aff", "signals"))
    n = int(open(f"{d}/n").read())
    lone = lone_cells(cl, part, aff, sig, GraphConfig(), CommunityConfig(), n)
    cards = card_campaigns(lone, part, aff, sig, GraphConfig(), n, config=CommunityConfig())
    ties = card_ties(lone, part, aff, sig, GraphConfig(), n, config=CommunityConfig())
    acc = pl.read_parquet(f"{d}/out/accounts.parquet").select("account_id", "cluster_id")
    ring = _labels(dev, world).filter(pl.col("kind") == "ring").join(acc, on="account_id", how="left")

    def score(clusters: pl.DataFrame) -> float:
        j = ring.join(clusters.select(pl.col("cluster_id").cast(pl.Int64), "campaign_id"), on="cluster_id", how="left")
        return _ari(j.with_columns(p=pl.when(pl.col("campaign_id").is_not_null()).then(pl.col("campaign_id").cast(pl.String))
                                   .otherwise("u" + pl.col("account_id"))), "p")

    flagged = (acc.join(_labels(dev, world), on="account_id")
               .join(lone.select(pl.col("cluster_id").cast(pl.Int64), "campaign_id", "flagged"), on="cluster_id").filter("flagged"))
    major = flagged.group_by("campaign_id").agg(pl.col("op").drop_nulls().mode().first(), pl.len())
    moves = (ties.join(major, on="campaign_id", how="left")
             .join(major.rename({"campaign_id": "to", "op": "to_op", "len": "to_len"}), on="to", how="left"))
    return f"{world:14s} lone cells {score(lone):.4f} card campaigns {score(cards):.4f} moves {moves.rows()}"


if __name__ == "__main__":
    dev = os.environ.get("DEV", "/tmp/dev")
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "decomp":
        for w in rest[1:]:
            print(decomp(f"{rest[0]}_{w}", w, dev), flush=True)
    elif cmd == "capture":
        capture(rest[0], rest[1], dev)
    elif cmd == "apply":
        for w in rest[1:]:
            print(apply(rest[0], w, dev), flush=True)
    else:
        raise SystemExit(__doc__)
