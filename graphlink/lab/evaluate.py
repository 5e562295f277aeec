"""Score a detector's output against simulator ground truth.

An account is *flagged* when its cluster is flagged.  Ring accounts
(``kind == "ring"``) are the positives; ``benign`` and ``benign_linked``
accounts are negatives, and flagging a linked-but-benign team is reported
separately because it is the costly false positive for investigators.

Ring recovery is scored with the adjusted Rand index (ARI) between
``ring_id`` and ``cluster_id`` over ring accounts, computed from polars
contingency counts.  A ring account without a cluster (null ``cluster_id``
or missing from the detector output) is its own singleton cluster.

Examples
--------
>>> import polars as pl
>>> labels = pl.DataFrame({"account_id": ["a", "b", "c", "d"],
...                        "ring_id": [1, 1, None, None],
...                        "kind": ["ring", "ring", "benign", "benign_linked"]})
>>> accounts = pl.DataFrame({"account_id": ["a", "b", "c", "d"],
...                          "cluster_id": [7, 7, 7, None]})
>>> clusters = pl.DataFrame({"cluster_id": [7], "flagged": [True]})
>>> r = evaluate(accounts, clusters, labels)
>>> r["precision"], r["recall"], r["benign_flagged"], r["ari"]
(0.6666666666666666, 1.0, 1, 1.0)
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from rich.table import Table

__all__ = ["evaluate", "evaluate_dir", "adjusted_rand_index", "format_evaluation"]


def _pairs(col: str) -> pl.Expr:
    c = pl.col(col).cast(pl.Int64)
    return (c * (c - 1) // 2).sum()


def adjusted_rand_index(frame: pl.DataFrame, truth: str, predicted: str | list[str]) -> float:
    """Adjusted Rand index between two labelings of the rows of ``frame``.

    Parameters
    ----------
    frame : polars.DataFrame
        One row per item.
    truth : str
        Column with the reference labels.
    predicted : str or list[str]
        Column(s) whose combined value is the predicted label; nulls are
        ordinary label values (use a second, per-row column to make them
        singletons).

    Returns
    -------
    float
        ARI in ``[-1, 1]``; ``1.0`` for identical partitions, including the
        degenerate cases (fewer than two items, or both labelings all
        singletons / one block), as in scikit-learn.

    Examples
    --------
    >>> df = pl.DataFrame({"t": [0, 0, 0, 1, 1, 1], "p": [0, 0, 1, 1, 2, 2]})
    >>> round(adjusted_rand_index(df, "t", "p"), 6)
    0.242424
    """
    pred = [predicted] if isinstance(predicted, str) else list(predicted)
    n = frame.height
    if n < 2:
        return 1.0
    nij = frame.group_by([truth, *pred]).len().select(_pairs("len")).item()
    ai = frame.group_by(truth).len().select(_pairs("len")).item()
    bj = frame.group_by(pred).len().select(_pairs("len")).item()
    total = n * (n - 1) // 2
    expected = ai * bj / total
    max_index = (ai + bj) / 2
    if max_index == expected:  # only when both partitions are identical and trivial
        return 1.0
    return float((nij - expected) / (max_index - expected))


def evaluate(accounts: pl.DataFrame, clusters: pl.DataFrame, labels: pl.DataFrame) -> dict:
    """Compare detector output with ground-truth labels.

    Parameters
    ----------
    accounts : polars.DataFrame
        ``account_id`` and ``cluster_id`` (Int64, null = no cluster).
    clusters : polars.DataFrame
        ``cluster_id`` and ``flagged`` (bool).  Clusters missing here are
        unflagged.
    labels : polars.DataFrame
        ``account_id``, ``ring_id`` (null unless ring) and ``kind``.
        Labelled accounts missing from ``accounts`` count as unflagged and
        unclustered.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (flagged vs ring accounts; 0.0
        when undefined), ``true_positives``, ``false_positives``,
        ``false_negatives``, ``flagged_accounts``, ``ring_accounts``,
        ``benign_flagged`` (kind ``benign``), ``benign_linked_flagged``,
        ``benign_linked_accounts``, ``benign_linked_flagged_share``,
        ``flagged_clusters``, ``ari`` (ring recovery), ``rings``,
        ``rings_detected`` (rings with at least half their accounts flagged),
        ``unlabelled_accounts`` (in the output but not in the labels) and
        ``per_ring`` (list of ``{ring_id, size, flagged_accounts,
        recall}`` sorted by ``ring_id``).
    """
    acc = accounts.select(
        pl.col("account_id").cast(pl.String), pl.col("cluster_id").cast(pl.Int64)
    ).unique("account_id", keep="first")
    flags = (clusters.select(pl.col("cluster_id").cast(pl.Int64),
                             pl.col("flagged").cast(pl.Boolean).fill_null(False))
             .group_by("cluster_id").agg(pl.col("flagged").any()))
    df = (
        labels.select(pl.col("account_id").cast(pl.String), pl.col("ring_id").cast(pl.Int64),
                      pl.col("kind").cast(pl.String))
        .join(acc, on="account_id", how="left")
        .join(flags, on="cluster_id", how="left")
        .with_columns(pl.col("flagged").fill_null(False),
                      (pl.col("kind") == "ring").alias("is_ring"))
    )
    counts = df.select(
        tp=(pl.col("flagged") & pl.col("is_ring")).sum(),
        fp=(pl.col("flagged") & ~pl.col("is_ring")).sum(),
        fn=(~pl.col("flagged") & pl.col("is_ring")).sum(),
        benign=(pl.col("flagged") & (pl.col("kind") == "benign")).sum(),
        linked_flagged=(pl.col("flagged") & (pl.col("kind") == "benign_linked")).sum(),
        linked=(pl.col("kind") == "benign_linked").sum(),
        ring=pl.col("is_ring").sum(),
        flagged_clusters=pl.col("cluster_id").filter(pl.col("flagged")).n_unique(),
    ).row(0, named=True)
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    rings = df.filter(pl.col("is_ring")).with_columns(
        singleton=pl.when(pl.col("cluster_id").is_null()).then(pl.col("account_id")))
    ari = adjusted_rand_index(rings, "ring_id", ["cluster_id", "singleton"])
    per_ring = (
        rings.group_by("ring_id")
        .agg(size=pl.len(), flagged_accounts=pl.col("flagged").sum())
        .with_columns(recall=pl.col("flagged_accounts") / pl.col("size"))
        .sort("ring_id")
    )
    unlabelled = acc.join(labels.select(pl.col("account_id").cast(pl.String)),
                          on="account_id", how="anti").height
    linked = counts["linked"]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "flagged_accounts": tp + fp,
        "ring_accounts": counts["ring"],
        "benign_flagged": counts["benign"],
        "benign_linked_flagged": counts["linked_flagged"],
        "benign_linked_accounts": linked,
        "benign_linked_flagged_share": counts["linked_flagged"] / linked if linked else 0.0,
        "flagged_clusters": counts["flagged_clusters"],
        "ari": ari,
        "rings": per_ring.height,
        "rings_detected": per_ring.filter(pl.col("recall") >= 0.5).height,
        "unlabelled_accounts": unlabelled,
        "per_ring": per_ring.to_dicts(),
    }


def evaluate_dir(detect_dir: str | os.PathLike, labels_path: str | os.PathLike) -> dict:
    """Evaluate a ``graphlink detect`` output directory.

    Parameters
    ----------
    detect_dir : str or os.PathLike
        Directory containing ``accounts.parquet`` and ``clusters.parquet``.
    labels_path : str or os.PathLike
        The simulator's ``labels.parquet``.

    Returns
    -------
    dict
        See :func:`evaluate`.
    """
    d = Path(detect_dir)
    return evaluate(pl.read_parquet(d / "accounts.parquet"),
                    pl.read_parquet(d / "clusters.parquet"),
                    pl.read_parquet(labels_path))


def format_evaluation(result: dict, max_rings: int = 20) -> Table:
    """Render an :func:`evaluate` result as a rich table.

    Parameters
    ----------
    result : dict
        Output of :func:`evaluate`.
    max_rings : int
        Per-ring rows shown (worst recall first).

    Returns
    -------
    rich.table.Table
        Metric / value rows followed by the worst-recovered rings.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> buf = io.StringIO()
    >>> Console(file=buf, width=80).print(format_evaluation(
    ...     {"precision": 1.0, "recall": 0.5, "per_ring": []}))
    >>> "recall" in buf.getvalue()
    True
    """
    table = Table(title="graphlink evaluation", show_lines=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if key == "per_ring":
            continue
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(key, text)
    rings = sorted(result.get("per_ring", []), key=lambda r: (r["recall"], r["ring_id"]))
    for r in rings[:max_rings]:
        table.add_row(f"ring {r['ring_id']} (size {r['size']})",
                      f"{r['flagged_accounts']} flagged, recall {r['recall']:.2f}")
    if len(rings) > max_rings:
        table.add_row("…", f"{len(rings) - max_rings} more rings")
    return table
