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

from graphlink.errors import InputError, safe_reason
from graphlink.lab.evaluation_text import evaluation_rows, format_evaluation  # (re-exported: the one rendering)
from graphlink.stages.reading import check_parquet_magic

__all__ = ["evaluate", "evaluate_dir", "adjusted_rand_index", "pair_scores", "format_evaluation", "evaluation_rows"]


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


def pair_scores(frame: pl.DataFrame, truth: str, predicted: str) -> dict:
    """Pairwise precision, recall and F1 of "same cluster" against "same group".

    A pair of rows is *predicted* when both have the same non-null
    ``predicted`` value and *true* when both have the same non-null ``truth``
    value; a null on either side makes the row a singleton there.  This is
    the pair-counting score used for labelled real data (e.g. bot traders:
    two users in one cluster are a false pair).

    Parameters
    ----------
    frame : polars.DataFrame
        One row per item.
    truth, predicted : str
        Column names (any dtype; nulls are singletons).

    Returns
    -------
    dict
        ``pair_precision``, ``pair_recall``, ``pair_f1`` (0.0 when
        undefined), ``true_pairs``, ``predicted_pairs``, ``correct_pairs``.

    Examples
    --------
    >>> df = pl.DataFrame({"g": ["a", "a", "a", None], "c": [1, 1, 2, 2]})
    >>> r = pair_scores(df, "g", "c")
    >>> r["correct_pairs"], r["true_pairs"], r["predicted_pairs"]
    (1, 3, 2)
    """
    def pairs(cols: list[str]) -> int:
        sub = frame.select(cols).drop_nulls()
        if sub.height == 0:
            return 0
        return int(sub.group_by(cols).len().select(_pairs("len")).item() or 0)

    both = pairs([truth, predicted])
    t = pairs([truth])
    p = pairs([predicted])
    precision = both / p if p else 0.0
    recall = both / t if t else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pair_precision": precision, "pair_recall": recall, "pair_f1": f1,
            "true_pairs": t, "predicted_pairs": p, "correct_pairs": both}


#: The label kinds :func:`evaluate` understands.
LABEL_KINDS = ("ring", "benign_linked", "benign")


def _labels_frame(labels: pl.DataFrame, source: str = "labels") -> pl.DataFrame:
    """Canonical labels: account_id, kind, cell (String), campaign (String), group (String), ring_id."""
    cols = labels.columns
    missing = [c for c in ("account_id", "kind") if c not in cols]
    if missing or not ({"ring_id", "group_id"} & set(cols)):
        need = missing or ["ring_id or group_id"]
        raise InputError(
            f"labels need account_id, kind and ring_id or group_id; missing {', '.join(need)} "
            f"(columns: {_describe(labels)})", file=source)
    if labels.schema["kind"] not in (pl.String, pl.Categorical, pl.Enum):
        raise InputError(f"expected text (ring, benign_linked, benign), found "
                         f"{labels.schema['kind']}", file=source, column="kind")
    if labels.height == 0:
        raise InputError("the labels table has no rows", file=source)
    unknown = labels.filter(~pl.col("kind").cast(pl.String).is_in(list(LABEL_KINDS))).height
    if unknown:
        raise InputError(f"{unknown:,} row(s) with a kind other than {', '.join(LABEL_KINDS)}",
                         file=source, column="kind")
    duplicated = labels.height - labels["account_id"].n_unique()
    if duplicated:
        raise InputError(f"{duplicated:,} account(s) labelled more than once", file=source, column="account_id")
    is_ring = pl.col("kind").cast(pl.String) == "ring"
    group = pl.col("group_id").cast(pl.String) if "group_id" in cols else pl.lit(None, pl.String)
    ring_raw = pl.col("ring_id") if "ring_id" in cols else pl.col("group_id")
    cell = pl.when(is_ring).then(ring_raw.cast(pl.String))
    campaign = (pl.when(is_ring).then(pl.col("campaign_id").cast(pl.String))
                if "campaign_id" in cols else pl.lit(None, pl.String))
    return labels.select(
        pl.col("account_id").cast(pl.String),
        pl.col("kind").cast(pl.String),
        pl.when(is_ring).then(ring_raw).alias("ring_id"),
        cell.alias("cell"),
        campaign.alias("campaign"),
        # old labels carry only ring_id: a ring's cell is its group
        pl.coalesce(group, cell).alias("group"),
    )


def _describe(frame: pl.DataFrame) -> str:
    """Column names and types, never values: ``account_id (String), ...``."""
    return ", ".join(f"{name} ({dtype})" for name, dtype in frame.schema.items())


def evaluate(accounts: pl.DataFrame, clusters: pl.DataFrame, labels: pl.DataFrame,
             source: str = "labels") -> dict:
    """Compare detector output with ground-truth labels.

    Parameters
    ----------
    accounts : polars.DataFrame
        ``account_id`` and ``cluster_id`` (null = no cluster); optional
        ``campaign_id`` (the detector's operator-level grouping, used for the
        campaign-level ARI; ``cluster_id`` is used when absent).
    clusters : polars.DataFrame
        ``cluster_id`` and ``flagged`` (bool).  Clusters missing here are
        unflagged.
    labels : polars.DataFrame
        ``account_id``, ``kind`` (``ring`` | ``benign_linked`` | ``benign``)
        and the ring cell as ``ring_id`` and/or ``group_id`` (integer or
        string ids); optional ``campaign_id`` (operator) and ``group_id``
        (the benign group of a ``benign_linked`` account, e.g. ``team0012``).
        Labelled accounts missing from ``accounts`` count as unflagged and
        unclustered.
    source : str
        Name of the labels file, used in error messages.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (flagged vs ring accounts; 0.0
        when undefined), ``true_positives``, ``false_positives``,
        ``false_negatives``, ``flagged_accounts``, ``ring_accounts``,
        ``benign_flagged`` (kind ``benign``), ``benign_linked_flagged``,
        ``benign_linked_accounts``, ``benign_linked_flagged_share``,
        ``flagged_clusters``, ``ari`` and ``ari_cell`` (ARI of clusters vs
        cells over ring accounts, unclustered = singletons),
        ``ari_campaign`` (ARI of the predicted campaign vs the operator over
        ring accounts; None without ``campaign_id`` labels),
        ``campaigns``, ``pair_precision``/``pair_recall``/``pair_f1`` (pairs
        in one cluster vs pairs in one ring cell, every other labelled
        account a singleton), ``group_pair_f1`` (same, with benign groups
        as groups too), ``accounts_by_kind`` and ``flagged_by_kind`` (kind ->
        count), ``benign_linked_flagged_by_type`` (group prefix such as
        ``team`` -> flagged accounts), ``rings``, ``rings_detected`` (rings
        with at least half their accounts flagged), ``unlabelled_accounts``
        (in the output but not in the labels), ``labelled_not_in_run`` and ``ring_not_in_run`` (labelled accounts,
        and ring accounts among them, the run never saw: counted unflagged, so missed; labels of a larger log
        lower recall by them) and ``per_ring`` (list of
        ``{ring_id, size, flagged_accounts, recall}`` sorted by ``ring_id``), ``flagged_not_ring`` (the false
        positives by name: ``{account_id, kind, group, cluster_id}`` per flagged account that is no ring's, by
        cluster then id).

    Raises
    ------
    InputError
        Labels without the needed columns or with a non-text ``kind``; the
        message names the file, the columns and their types, never values.
    """
    lab = _labels_frame(labels, source)
    has_campaign_pred = "campaign_id" in accounts.columns
    acc = accounts.select(
        pl.col("account_id").cast(pl.String), pl.col("cluster_id").cast(pl.Int64),
        (pl.col("campaign_id").cast(pl.String) if has_campaign_pred
         else pl.col("cluster_id").cast(pl.String)).alias("campaign_pred"),
    ).unique("account_id", keep="first")
    flags = (clusters.select(pl.col("cluster_id").cast(pl.Int64),
                             pl.col("flagged").cast(pl.Boolean).fill_null(False))
             .group_by("cluster_id").agg(pl.col("flagged").any()))
    if acc.height and lab.join(acc, on="account_id", how="semi").height == 0:
        raise InputError("no labelled account appears in the detect output (labels of another log?)", file=source)
    df = (
        lab.join(acc, on="account_id", how="left")
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
        singleton=pl.when(pl.col("cluster_id").is_null()).then(pl.col("account_id")),
        campaign_single=pl.when(pl.col("campaign_pred").is_null()).then(pl.col("account_id")))
    ari = adjusted_rand_index(rings, "cell", ["cluster_id", "singleton"])
    has_campaign = rings.height > 0 and rings["campaign"].null_count() < rings.height
    ari_campaign = (adjusted_rand_index(rings.with_columns(pl.col("campaign").fill_null("?")),
                                        "campaign", ["campaign_pred", "campaign_single"])
                    if has_campaign else None)
    per_ring = (
        rings.group_by("ring_id")
        .agg(size=pl.len(), flagged_accounts=pl.col("flagged").sum())
        .with_columns(recall=pl.col("flagged_accounts") / pl.col("size"))
        .sort("ring_id")
    )
    unlabelled = acc.join(lab.select("account_id"), on="account_id", how="anti").height
    unseen = df.join(acc.select("account_id"), on="account_id", how="anti")  # labelled, never in the run: missed
    linked = counts["linked"]
    by_kind = dict(df.group_by("kind").len().sort("kind").iter_rows())
    flagged_by_kind = {k: 0 for k in by_kind}
    flagged_by_kind.update(dict(df.filter(pl.col("flagged")).group_by("kind").len().iter_rows()))
    by_type = dict(
        df.filter(pl.col("flagged") & (pl.col("kind") == "benign_linked"))
        .group_by(pl.col("group").str.extract(r"^([A-Za-z_]+)", 1).fill_null("?"))
        .len().sort("group").iter_rows())
    pairs = pair_scores(df, "cell", "cluster_id")
    group_pairs = pair_scores(df, "group", "cluster_id")
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
        "ari_cell": ari,
        "ari_campaign": ari_campaign,
        "campaigns": rings["campaign"].n_unique() if has_campaign else None,
        "pair_precision": pairs["pair_precision"],
        "pair_recall": pairs["pair_recall"],
        "pair_f1": pairs["pair_f1"],
        "group_pair_f1": group_pairs["pair_f1"],
        "accounts_by_kind": by_kind,
        "flagged_by_kind": flagged_by_kind,
        "benign_linked_flagged_by_type": by_type,
        "rings": per_ring.height,
        "rings_detected": per_ring.filter(pl.col("recall") >= 0.5).height,
        "unlabelled_accounts": unlabelled,
        "labelled_not_in_run": unseen.height,
        "ring_not_in_run": unseen.filter(pl.col("is_ring")).height,
        "per_ring": per_ring.to_dicts(),
        # Who the false positives are, not only how many (new-user review, session 39).
        "flagged_not_ring": df.filter(pl.col("flagged") & ~pl.col("is_ring")).sort("cluster_id", "account_id").select(
            "account_id", "kind", "group", "cluster_id").to_dicts(),
    }


def _read_table(path: Path, output: bool = False) -> pl.DataFrame:
    """Read a Parquet, CSV/TSV or NDJSON table; errors name the file, never values (``output``: a detect output's
    table, damaged, not the user's labels: review nu54)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            return pl.read_csv(path, separator="\t" if suffix == ".tsv" else ",",
                               infer_schema_length=10_000, glob=False)
        if suffix in (".ndjson", ".jsonl", ".json"):
            return pl.read_ndjson(path.read_bytes() if path.is_file() else path)  # a path, not a glob pattern
        return pl.read_parquet(path, glob=False)
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        if output:
            raise InputError("cannot read the table (damaged or not Parquet): a file of the detect output; run "
                             "detect again", file=str(path)) from None
        if suffix not in (".csv", ".tsv", ".ndjson", ".jsonl", ".json"):
            try:
                check_parquet_magic(path)
            except InputError:
                raise InputError("not a Parquet file (no PAR1 markers at its start and end); a labels table is "
                                 "read by its suffix: .parquet, .csv, .tsv or .ndjson", file=str(path)) from None
        raise InputError(f"cannot read the table: {safe_reason(exc)}", file=str(path)) from None


def evaluate_dir(detect_dir: str | os.PathLike, labels_path: str | os.PathLike) -> dict:
    """Evaluate a ``graphlink detect`` output directory.

    Parameters
    ----------
    detect_dir : str or os.PathLike
        Directory containing ``accounts.parquet`` and ``clusters.parquet``.
    labels_path : str or os.PathLike
        Labels (Parquet, CSV/TSV or NDJSON) with the columns described in
        :func:`evaluate`, e.g. the simulator's ``labels.parquet``.

    Returns
    -------
    dict
        See :func:`evaluate`.

    Raises
    ------
    InputError
        A file is missing or unreadable, or a column is missing or of the
        wrong type; the message names the file and keeps column names and
        types but never cell values.
    """
    d = Path(detect_dir)
    labels_path = Path(labels_path)
    accounts = _read_table(d / "accounts.parquet", output=True)
    clusters = _read_table(d / "clusters.parquet", output=True)
    labels = _read_table(labels_path)
    for frame, path, need in ((accounts, d / "accounts.parquet", ("account_id", "cluster_id")),
                              (clusters, d / "clusters.parquet", ("cluster_id", "flagged"))):
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise InputError(f"missing column {', '.join(missing)} (columns: {_describe(frame)})",
                             file=str(path))
    try:
        return evaluate(accounts, clusters, labels, source=str(labels_path))
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"cannot evaluate ({safe_reason(exc)}); labels columns: {_describe(labels)}; "
            f"accounts columns: {_describe(accounts)}", file=str(labels_path)) from None
