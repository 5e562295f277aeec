"""Evidence: the shared values that explain why each cluster exists.

Output schema (:func:`cluster_evidence`)
----------------------------------------
============== ======= ==========================================================
column         dtype   meaning
============== ======= ==========================================================
cluster_id     Int64
kind           String  signal kind
value          String  the shared value (prompts: normalised shingle text, <= 200 chars)
accounts_sharing UInt32 cluster members carrying it
weight         Float64 its rarity weight (0 if over the hub cap: shared, but too common to link)
df             UInt32  accounts carrying it in the whole input
============== ======= ==========================================================

At most ``evidence_per_kind`` values per cluster and kind are kept: the most
shared, then the heaviest.
"""

from __future__ import annotations

import polars as pl

EVIDENCE_SCHEMA = pl.Schema({
    "cluster_id": pl.Int64, "kind": pl.String, "value": pl.String,
    "accounts_sharing": pl.UInt32, "weight": pl.Float64, "df": pl.UInt32,
})


def cluster_evidence(memberships: pl.DataFrame, signals: pl.DataFrame, clusters: pl.DataFrame,
                     per_kind: int = 10) -> pl.DataFrame:
    """Values shared by at least two members of a cluster (schema in the module docstring).

    Parameters
    ----------
    memberships : DataFrame
        ``account_idx, signal_idx`` (bipartite edges).
    signals : DataFrame
        ``signal_idx, kind, value, df, weight``.
    clusters : DataFrame
        ``account_idx, cluster_id`` (null cluster ids are ignored).
    per_kind : int
        Values kept per cluster and kind.
    """
    members = clusters.drop_nulls("cluster_id")
    shared = (
        memberships.join(members, on="account_idx")
        .group_by("cluster_id", "signal_idx").agg(pl.len().cast(pl.UInt32).alias("accounts_sharing"))
        .filter(pl.col("accounts_sharing") >= 2)
        .join(signals.select("signal_idx", "kind", "value", "df", "weight"), on="signal_idx")
    )
    ranked = shared.sort(
        ["cluster_id", "kind", "accounts_sharing", "weight", "value"],
        descending=[False, False, True, True, False],
    )
    return (
        ranked.group_by("cluster_id", "kind", maintain_order=True).head(per_kind)
        .select(list(EVIDENCE_SCHEMA.names()))
        .cast(dict(EVIDENCE_SCHEMA))
    )
