"""The values tying each campaign's clusters, kept at detect time (``campaign_ties.parquet``).

A campaign's ``why`` counts the values of tie kinds its clusters share ("tied by 183 prompt phrases, 69 IP
addresses": :func:`graphlink.stages.campaigns.tie_values`). ``graphlink campaign`` listed them by recomputing from
``linking.parquet`` (no prompt phrases) and ``memberships.parquet`` (each cluster's strongest phrases only), so a
campaign tied by its templates showed a few of the phrases its ``why`` counted, or none (session 48).
:func:`campaign_tie_table` keeps the very values the ``why`` counts, with their text, so every view lists those.

Output: :data:`graphlink.contract.CAMPAIGN_TIES_SCHEMA`.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig
from graphlink.contract import CAMPAIGN_TIES_SCHEMA
from graphlink.stages.campaigns import held_ties, is_tie_kind
from graphlink.stages.rekeying import apply_mapping

__all__ = ["TIE_KIND_ORDER", "campaign_tie_table", "rekey_tie_clusters", "tie_order"]

#: The order of the tying kinds: cards (private to an operator), declared identifiers (1: any other kind), IP
#: addresses, prompt phrases (which a stock phrasing also shares).
TIE_KIND_ORDER = {"payment": 0, "ip": 2, "prompt": 3}


def tie_order(frame: pl.DataFrame, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """``frame`` (``kind, value, clusters, accounts, weight``) sorted by ``by``, then kind (:data:`TIE_KIND_ORDER`),
    most clusters, most accounts, heaviest, value: the order every view lists tying values in."""
    order = pl.col("kind").replace_strict(TIE_KIND_ORDER, default=1, return_dtype=pl.Int8)
    keys = [*by, order, "kind", pl.col("clusters").list.len(), "accounts", "weight", "value"]
    return frame.sort(keys, descending=[False] * (len(by) + 2) + [True, True, True, False])


def campaign_tie_table(campaign_of: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                       signals: pl.DataFrame, graph_config: GraphConfig | None = None) -> pl.DataFrame:
    """Each linked value of a tie kind held by two or more clusters of a campaign, with its text.

    The rows :func:`graphlink.stages.campaigns.tie_values` counts for a campaign's ``why`` (same holdings,
    :func:`graphlink.stages.campaigns.held_ties`; same kinds, :func:`graphlink.stages.campaigns.is_tie_kind`).

    Parameters
    ----------
    campaign_of : DataFrame
        ``cluster_id, campaign_id``.
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    signals : DataFrame
        ``signal_idx, kind, value, weight, linked``.
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong (defaults when omitted).

    Returns
    -------
    DataFrame
        :data:`graphlink.contract.CAMPAIGN_TIES_SCHEMA`, in its order (by campaign, :func:`tie_order`).

    Examples
    --------
    >>> camp = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [1, 1]})
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2], "cluster_id": [1, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 2], "signal_idx": [0, 0, 0]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0], "kind": ["prompt"], "value": ["act as"], "weight": [1.0],
    ...                     "linked": [True]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> campaign_tie_table(camp, part, aff, sig).rows()
    [(1, 'prompt', 'act as', [1, 2], 3, 1.0)]
    """
    empty = pl.DataFrame(schema=CAMPAIGN_TIES_SCHEMA)
    graph_config = graph_config or GraphConfig()
    kinds = [k for k in signals["kind"].unique().to_list() if is_tie_kind(k, graph_config)]
    mapped = partition.drop_nulls("cluster_id").join(campaign_of.select("cluster_id", "campaign_id"), on="cluster_id")
    ties = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds))["signal_idx"]
    if mapped.is_empty() or ties.is_empty():
        return empty
    held = held_ties(mapped, affiliations, ties).drop_nulls("campaign_id")
    tied = held.filter(pl.len().over("campaign_id", "signal_idx") >= 2)  # few rows: held by one cluster, most are
    # The text of the few values tying clusters, not of every linked value (prompt shingles: most of the signals).
    text = signals.select("signal_idx", "kind", "value", "weight").join(tied.select("signal_idx").unique(), on="signal_idx")
    table = (tied.group_by("campaign_id", "signal_idx")
             .agg(pl.col("cluster_id").sort().alias("clusters"), pl.col("h").sum().alias("accounts"))
             .join(text, on="signal_idx").select(list(CAMPAIGN_TIES_SCHEMA.names())).cast(dict(CAMPAIGN_TIES_SCHEMA)))
    return tie_order(table, ("campaign_id",))


def rekey_tie_clusters(table: pl.DataFrame | None, mapping: pl.DataFrame | None) -> pl.DataFrame | None:
    """``table``'s ``clusters`` lists rewritten to stable ids (``mapping``: ``cluster_id, stable_id``, as
    :func:`graphlink.stages.rekeying.rekey_campaigns` rewrites ``campaigns.parquet``'s); rows keep their order.

    Examples
    --------
    >>> t = pl.DataFrame({"campaign_id": [1], "clusters": [[1, 2]]})
    >>> rekey_tie_clusters(t, pl.DataFrame({"cluster_id": [1, 2], "stable_id": [7, 3]}))["clusters"].to_list()
    [[3, 7]]
    """
    if table is None or mapping is None or table.is_empty():
        return table
    dtype = table.schema["clusters"]
    rows = table.with_row_index("__row")
    lists = (rows.select("__row", "clusters").explode("clusters").pipe(apply_mapping, mapping, "clusters")
             .group_by("__row").agg(pl.col("clusters").drop_nulls().sort()))
    return (rows.drop("clusters").join(lists, on="__row", how="left").sort("__row")
            .with_columns(pl.col("clusters").cast(dtype)).select(table.columns))
