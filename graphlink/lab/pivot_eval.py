"""Measure ``expand`` and ``match`` on simulated worlds with known answers.

:func:`evaluate_expand` seeds each simulated ring cell with a few of its
members and scores the ranked result against the cell (and its operator);
:func:`evaluate_match` scores ``match`` assignments of a day-2 log
(:func:`graphlink.lab.simulate.day_two.write_day_two`) against its labels.
Used by ``benchmarks/pivot.py`` and the tests; nothing here prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from graphlink.stages.expand import DEFAULT_RESTART
from graphlink.views.expand import expand, graph_outputs

__all__ = ["evaluate_expand", "evaluate_match", "cluster_owners", "home_clusters"]


def evaluate_expand(out_dir: str | Path, labels: pl.DataFrame, *, n_seeds: int = 3, min_cell: int = 5,
                    seed: int = 0, restart: float = DEFAULT_RESTART) -> pl.DataFrame:
    """Expand from ``n_seeds`` random members of every ring cell of at least ``min_cell`` accounts.

    Parameters
    ----------
    out_dir : path
        Detect output of the world.
    labels : DataFrame
        The world's ``labels.parquet`` (``account_id, kind, ring_id, campaign_id``).
    n_seeds : int
        Seeds drawn per cell (without replacement).
    min_cell : int
        Smaller cells are skipped (3 seeds of a 4-account cell leave one to find).
    seed : int
        Seeds the draw of seed accounts.
    restart : float
        Restart probability of the walk.

    Returns
    -------
    DataFrame
        One row per cell: ``ring_id, campaign_id, size, listed, found`` (cell
        members listed, seeds excluded), ``recall`` (found over the cell's
        non-seed members), ``precision`` (found over listed) and
        ``precision_operator`` (listed accounts of the same operator over listed;
        1.0 when nothing was listed) and ``purity``: the share of the cell's
        accounts in the detect cluster holding most of them (null when
        unclustered): below 1, detect merged the cell with others, and the graph
        does not separate them either.
    """
    outputs = graph_outputs(out_dir)
    ring = labels.filter(pl.col("kind") == "ring")
    cells = (ring.group_by("ring_id", "campaign_id").agg(pl.col("account_id").sort(), pl.len().alias("size"))
             .filter(pl.col("size") >= min_cell).sort("ring_id"))
    clusters = outputs.accounts.select("account_id", "cluster_id").drop_nulls("cluster_id")
    sizes = clusters.group_by("cluster_id").len().rename({"len": "cluster_size"})
    main = (ring.join(clusters, on="account_id").group_by("ring_id", "cluster_id").len()
            .sort(["ring_id", "len", "cluster_id"], descending=[False, True, False])
            .group_by("ring_id", maintain_order=True).first().join(sizes, on="cluster_id")
            .select("ring_id", (pl.col("len") / pl.col("cluster_size")).alias("purity")))
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for cell in cells.iter_rows(named=True):  # one expand per cell (tens per world), not per row
        members = cell["account_id"]
        seeds = sorted(rng.choice(members, n_seeds, replace=False).tolist())
        listed = expand(outputs, seeds, restart=restart).filter(pl.col("rank") > 0).select("account_id")
        judged = listed.join(labels.select("account_id", "ring_id", "campaign_id"), on="account_id", how="left")
        found = judged.filter(pl.col("ring_id") == cell["ring_id"]).height
        same_op = judged.filter(pl.col("campaign_id") == cell["campaign_id"]).height
        rows.append({"ring_id": cell["ring_id"], "campaign_id": cell["campaign_id"], "size": cell["size"],
                     "listed": listed.height, "found": found,
                     "recall": found / max(cell["size"] - n_seeds, 1),
                     "precision": found / listed.height if listed.height else 1.0,
                     "precision_operator": same_op / listed.height if listed.height else 1.0})
    schema = {"ring_id": pl.Int64, "campaign_id": pl.Int64, "size": pl.Int64, "listed": pl.Int64, "found": pl.Int64,
              "recall": pl.Float64, "precision": pl.Float64, "precision_operator": pl.Float64}
    return pl.DataFrame(rows, schema=schema).join(main, on="ring_id", how="left")


def cluster_owners(known_dir: str | Path, labels: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id, group_id``: the labelled group (ring cell, team, hub...) holding most of each known cluster.

    A cell Leiden split in two owns both halves; a cluster of unlabelled
    ordinary accounts has a null owner.
    """
    accounts = graph_outputs(known_dir).accounts.select("account_id", "cluster_id").drop_nulls("cluster_id")
    return (accounts.join(labels.select("account_id", "group_id"), on="account_id", how="left")
            .group_by("cluster_id", "group_id").len()
            .sort(["cluster_id", "len", "group_id"], descending=[False, True, False], nulls_last=True)
            .group_by("cluster_id", maintain_order=True).first().select("cluster_id", "group_id"))


def home_clusters(known_dir: str | Path, labels: pl.DataFrame) -> pl.DataFrame:
    """``group_id, cluster_id``: the known cluster holding most of each group's day-1 accounts."""
    accounts = graph_outputs(known_dir).accounts.select("account_id", "cluster_id").drop_nulls("cluster_id")
    return (labels.drop_nulls("group_id").join(accounts, on="account_id")
            .group_by("group_id", "cluster_id").len()
            .sort(["group_id", "len", "cluster_id"], descending=[False, True, False])
            .group_by("group_id", maintain_order=True).first().select("group_id", "cluster_id"))


def evaluate_match(matches: pl.DataFrame, day2_labels: pl.DataFrame, known_dir: str | Path,
                   known_labels: pl.DataFrame) -> dict[str, Any]:
    """Score ``match`` on a day-2 log against its labels.

    A match is correct when the known cluster is *owned* by the account's
    group (:func:`cluster_owners`: a cell Leiden split owns each part) or is
    the group's *home* (:func:`home_clusters`: a cell detect merged into a
    bigger cluster lives there): a new ring account assigned to its cell's
    cluster, a new team member to its team's.

    Only new accounts are scored when the labels say which are new (``new``).

    Parameters
    ----------
    matches : DataFrame
        ``matches.parquet`` of the day-2 log.
    day2_labels : DataFrame
        Labels of the day-2 accounts (``account_id, kind, group_id``, optional ``new``).
    known_dir : path
        The day-1 detect output the matches refer to.
    known_labels : DataFrame
        Day-1 labels.

    Returns
    -------
    dict
        ``ring_accounts`` (new ring accounts whose cell owns a known
        cluster), ``ring_matched`` (assigned to one of those), ``recall``;
        ``matched`` (accounts assigned to any cluster), ``correct``,
        ``precision``; ``campaign_precision`` (right, or in the campaign of
        the group's home cluster: an operator's cells share its card pool, so
        a new account may use a card only another cell used before);
        ``ring_cluster_precision`` (of the accounts assigned
        to a ring cell's cluster, the share that are right);
        ``benign_linked_flagged`` / ``benign_flagged``: benign accounts
        assigned to a cluster a ring cell owns (must be 0);
        ``unknown_cells``: new ring accounts of cells that own no cluster.
    """
    owners = cluster_owners(known_dir, known_labels)
    ring_groups = known_labels.filter(pl.col("kind") == "ring")["group_id"].unique()
    ring_clusters = owners.filter(pl.col("group_id").is_in(ring_groups.implode()))
    homes = home_clusters(known_dir, known_labels).select("group_id", pl.col("cluster_id").alias("home"))
    campaign_of = graph_outputs(known_dir, [], whole=False).clusters.select("cluster_id", "campaign_id")
    homes = homes.join(campaign_of.rename({"cluster_id": "home", "campaign_id": "home_campaign"}), on="home",
                       how="left")
    ring_clusters = pl.concat([ring_clusters, homes.filter(pl.col("group_id").is_in(ring_groups.implode())).select(
        pl.col("home").alias("cluster_id"), "group_id")]).unique()
    if "new" in day2_labels.columns:  # continuing accounts are known members: score the new ones
        matches = matches.join(day2_labels.filter("new").select("account_id"), on="account_id", how="semi")
    judged = (matches.join(day2_labels.select("account_id", "kind", "group_id"), on="account_id", how="left")
              .join(owners.rename({"group_id": "owner"}), on="cluster_id", how="left")
              .join(homes, on="group_id", how="left")
              .with_columns(((pl.col("owner") == pl.col("group_id")) | (pl.col("cluster_id") == pl.col("home")))
                            .fill_null(False).alias("right")))
    ring = judged.filter(pl.col("kind") == "ring")
    findable = ring.filter(pl.col("group_id").is_in(ring_clusters["group_id"].implode()))
    hit = findable.filter("right").height
    matched = judged.filter(pl.col("cluster_id").is_not_null())
    correct = matched.filter("right").height
    to_rings = matched.filter(pl.col("cluster_id").is_in(ring_clusters["cluster_id"].implode()))
    into_rings = to_rings.filter(pl.col("kind") != "ring")
    return {
        "ring_accounts": findable.height, "ring_matched": hit,
        "recall": hit / findable.height if findable.height else 1.0,
        "matched": matched.height, "correct": correct,
        "precision": correct / matched.height if matched.height else 1.0,
        "campaign_precision": (matched.filter(pl.col("right") | (pl.col("campaign_id") == pl.col("home_campaign")).fill_null(
            False)).height / matched.height if matched.height else 1.0),
        "ring_cluster_precision": (to_rings.filter("right").height
                                   / to_rings.height if to_rings.height else 1.0),
        "benign_linked_flagged": into_rings.filter(pl.col("kind") == "benign_linked").height,
        "benign_flagged": into_rings.filter(pl.col("kind") == "benign").height,
        "unknown_cells": ring.height - findable.height,
    }
