"""Tie evidence: the values that tied a cluster to the flagged cluster it inherited its flag from.

A cluster flagged through a tie (:func:`graphlink.stages.campaign_flags.operator_ties`) says in its
``why`` which flagged cluster (its *lead*) and how many values of each kind tied it ("tied to flagged
cluster 3 (campaign 1) by 60 prompt phrases"). An investigator deciding whether to ban its accounts
needs the values themselves: a framework's public system prompt and an operator's own template read
alike as a count, not as text. This module marks them in ``evidence.parquet`` (column ``ties``) and adds
those the per-kind cut (``evidence_per_kind``) left out, so ``show``, the report, ``export`` and the
notebook list exactly what tied the cluster, with how many of its members hold each value
(``accounts_sharing``; a strong cell's template values may be held by one member), how many accounts
in the input do (``df``) and how many of those are in no flagged cluster (``outside_flagged``).

Output schema
-------------
:func:`with_tie_evidence`: the evidence table (:data:`graphlink.contract.EVIDENCE_SCHEMA`), ``ties`` True on
the tying values' rows (with ``outside_flagged``; null elsewhere), sorted as
:func:`graphlink.stages.evidence.top_per_kind` sorts it.
"""

from __future__ import annotations

import polars as pl

from graphlink.contract import EVIDENCE_SCHEMA

__all__ = ["with_tie_evidence", "tying_pairs"]


def tying_pairs(tied: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id`` (Int64), ``signal_idx`` (UInt32): the values tying each cluster whose flag is inherited.

    ``tied`` is :func:`graphlink.stages.campaign_flags.operator_ties`'s table (``cluster_id, values``),
    ``clusters`` the flagged clusters (``cluster_id, flagged, flagged_own``, as
    :func:`graphlink.stages.campaign_flags.flag_with_campaign` returns them): a tied cluster flagged on
    its own evidence names no lead, so its ties are not listed.

    Examples
    --------
    >>> tied = pl.DataFrame({"cluster_id": [2, 3], "values": [[4, 7], [5]]},
    ...                     schema={"cluster_id": pl.Int64, "values": pl.List(pl.UInt32)})
    >>> cl = pl.DataFrame({"cluster_id": [2, 3], "flagged": [True, True], "flagged_own": [False, True]})
    >>> tying_pairs(tied, cl).rows()
    [(2, 4), (2, 7)]
    """
    inherited = clusters.filter(pl.col("flagged") & ~pl.col("flagged_own")).select(pl.col("cluster_id").cast(pl.Int64))
    return (tied.select(pl.col("cluster_id").cast(pl.Int64), pl.col("values").alias("signal_idx"))
            .join(inherited, on="cluster_id").explode("signal_idx").drop_nulls("signal_idx")
            .select("cluster_id", pl.col("signal_idx").cast(pl.UInt32)).unique().sort("cluster_id", "signal_idx"))


def with_tie_evidence(evidence: pl.DataFrame, tied: pl.DataFrame, clusters: pl.DataFrame, partition: pl.DataFrame,
                      affiliations: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """``evidence`` with the values tying each cluster that inherited its flag marked (``ties``), all of them listed.

    Parameters
    ----------
    evidence : DataFrame
        :data:`graphlink.contract.EVIDENCE_SCHEMA` rows (``ties`` False).
    tied : DataFrame
        ``cluster_id, values`` (:func:`graphlink.stages.campaign_flags.operator_ties`).
    clusters : DataFrame
        ``cluster_id, flagged, flagged_own`` (:func:`graphlink.stages.campaign_flags.flag_with_campaign`).
    partition, affiliations : DataFrame
        ``account_idx, cluster_id`` and ``account_idx, signal_idx``.
    signals : DataFrame
        ``signal_idx, kind, value, weight, df``.

    Returns
    -------
    DataFrame
        ``evidence`` plus the tying values the per-kind cut left out (``accounts_sharing``: the
        cluster's members holding the value, which may be one), every tying row with ``ties`` True and
        ``outside_flagged``: its holders in the input (``df``) in no flagged cluster.

    Examples
    --------
    >>> ev = pl.DataFrame({"cluster_id": [2], "kind": ["payment"], "value": ["card"], "accounts_sharing": [2],
    ...                    "weight": [1.0], "df": [5], "ties": [False], "outside_flagged": [None]}).cast(dict(EVIDENCE_SCHEMA))
    >>> tied = pl.DataFrame({"cluster_id": [2], "values": [[0, 1]]}, schema={"cluster_id": pl.Int64,
    ...                     "values": pl.List(pl.UInt32)})
    >>> cl = pl.DataFrame({"cluster_id": [2], "flagged": [True], "flagged_own": [False]})
    >>> part = pl.DataFrame({"account_idx": [0, 1], "cluster_id": [2, 2]}, schema={"account_idx": pl.UInt32,
    ...                     "cluster_id": pl.Int64})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 0], "signal_idx": [0, 0, 1]}, schema={"account_idx": pl.UInt32,
    ...                    "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment", "prompt"], "value": ["card", "think step by step"],
    ...                     "weight": [1.0, 0.5], "df": [5, 9]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> with_tie_evidence(ev, tied, cl, part, aff, sig).select("kind", "value", "accounts_sharing", "ties",
    ...                                                        "outside_flagged").rows()  # the 2 holders are flagged
    [('payment', 'card', 2, True, 3), ('prompt', 'think step by step', 1, True, 8)]
    """
    if "outside_flagged" not in evidence.columns:
        evidence = evidence.with_columns(pl.lit(None, pl.UInt32).alias("outside_flagged"))
    pairs = tying_pairs(tied, clusters) if tied.height else None  # (nothing tied: no flag was inherited)
    if pairs is None or pairs.is_empty():
        return evidence
    # The tying values' holders in flagged clusters (a cluster inheriting its flag is one): the members of each
    # tied cluster holding them, and what is left of ``df`` -- the holders no flag reached (a public passage's
    # ordinary users; an operator's own template has few).
    flagged = (partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64))
               .join(clusters.filter("flagged").select(pl.col("cluster_id").cast(pl.Int64)), on="cluster_id"))
    holders = (affiliations.select("account_idx", "signal_idx").join(pairs.select("signal_idx").unique(), on="signal_idx")
               .join(flagged, on="account_idx"))
    held = (holders.join(pairs, on=["cluster_id", "signal_idx"])
            .group_by("cluster_id", "signal_idx").agg(pl.len().alias("accounts_sharing")))
    in_flagged = holders.group_by("signal_idx").agg(pl.col("account_idx").n_unique().alias("__in"))
    rows = (held.join(signals.select("signal_idx", "kind", "value", "weight", "df"), on="signal_idx")
            .join(in_flagged, on="signal_idx", how="left")
            .with_columns(pl.lit(True).alias("ties"),
                          (pl.col("df").cast(pl.Int64) - pl.col("__in").fill_null(0)).clip(0).alias("outside_flagged"))
            .select(list(EVIDENCE_SCHEMA.names())).cast(dict(EVIDENCE_SCHEMA)))
    key = ["cluster_id", "kind", "value"]
    marked = evidence.join(rows.select(*key, pl.lit(True).alias("__t"), pl.col("outside_flagged").alias("__o")), on=key,
                           how="left", maintain_order="left")
    marked = marked.with_columns((pl.col("ties") | pl.col("__t").fill_null(False)).alias("ties"),
                                 pl.coalesce("__o", "outside_flagged").alias("outside_flagged")).drop("__t", "__o")
    # Listed in the order the evidence is (top_per_kind): linking values first, strongest, most shared, heaviest, by text.
    return (pl.concat([marked, rows.join(evidence.select(key), on=key, how="anti")])
            .sort(["cluster_id", "kind", pl.col("weight") > 0, pl.col("weight") * pl.col("accounts_sharing"),
                   "accounts_sharing", "weight", "value"], descending=[False, False, True, True, True, True, False]))
