"""Who carries a tie on the operator's side: how many of its accounts hold the values tying a cluster to it.

A tie between a cluster ``C`` and an operator's clusters is the set of values both hold
(:func:`graphlink.stages.campaign_flags.operator_ties`). Counted by values alone, a tie through
one or two of the operator's accounts looks as strong as one through its whole fleet: four
students of a class send everything through a commercial VPN a fleet rotates over, two of them
land in the fleet's cluster (they share its exits), and the teacher's prompt the whole class
pasted -- held inside the fleet by those two only -- ties the class to the fleet by eighteen
prompt phrases. Those values are the class's own text, not anything the operator reuses.

What an operator reuses, its accounts hold: its template is written by many of them, its proxy
pool passes through many of them (each exit through a few, different ones). So a tie by values is
the operator's only when at least :data:`MIN_TIE_CARRIERS` distinct accounts of the operator's
clusters hold the tying values -- the operator's *carriers* of the tie. The other side needs no
such count: a tame cell's template may reach the sampled prompts of only a few of its members
(dev worlds: a cell of 8 whose 40 tying template values are held by 3 members and 131 of the
operator's accounts; a burst cell of 10, 4 members and 38).

Only whether the count reaches a small ``cap`` matters, so each value keeps at most ``cap`` of its
operator holders (the smallest account indexes): if any value has ``cap`` or more, the kept ones
alone reach it; if none has, nothing was dropped. A count of thousands of holders per value over
hundreds of values and clusters never materialises.

Schema: :func:`tie_carriers` returns ``cluster_id`` (Int64), ``carriers`` (UInt32, at most ``cap``), one
row per cluster of ``tie_rows`` whose values some operator account holds; given the operators as a frame
(``cluster_id, operator``), ``cluster_id, operator`` (Int64), ``carriers``, one row per cluster and operator.
"""

from __future__ import annotations

import polars as pl

__all__ = ["tie_carriers", "loud_voices", "MIN_TIE_CARRIERS"]

#: A tie by values (no shared card or identifier) is an operator's only when at least this many of
#: the operator's accounts hold its values (or all of them, when the operator has fewer): the size
#: below which nothing is flagged (``min_flag_size``), so that a flag never spreads through fewer of
#: the operator's accounts than it takes to flag one.
MIN_TIE_CARRIERS = 5

_SCHEMA = {"cluster_id": pl.Int64, "carriers": pl.UInt32}


def tie_carriers(tie_rows: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                 operator: pl.Series | pl.DataFrame, cap: int = MIN_TIE_CARRIERS) -> pl.DataFrame:
    """Distinct accounts of the operator's clusters holding each cluster's tying values, capped at ``cap``.

    Parameters
    ----------
    tie_rows : DataFrame
        ``cluster_id, signal_idx``: the values tying each cluster (one row per cluster and value).
    partition : DataFrame
        ``account_idx, cluster_id`` (null: unclustered).
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    operator : Series or DataFrame
        Ids of the operator's clusters (the other side of every tie); or ``cluster_id, operator`` (Int64)
        when several operators are flagged: carriers are then counted per operator (an account of one
        fleet and an account of another unrelated one are no two carriers of either's reuse), and the
        result has an ``operator`` column, one row per cluster and operator.
    cap : int
        Count carriers up to this many (:data:`MIN_TIE_CARRIERS`).

    Returns
    -------
    DataFrame
        ``cluster_id`` (Int64), ``carriers`` (UInt32): how many distinct accounts of the operator's
        clusters hold at least one of the cluster's tying values, at most ``cap``; clusters none of
        whose values an operator account holds have no row.

    Examples
    --------
    Cluster 2's three values are held by three different accounts of the operator's cluster 1; cluster
    3's four values by one and the same account (account 9):

    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    ...                      "cluster_id": [1, 1, 1, 2, 2, 2, 3, 3, 3, 1]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 3, 1, 4, 2, 5] + [9, 6, 7] * 4,
    ...                     "signal_idx": [10, 10, 11, 11, 12, 12] + [13] * 3 + [14] * 3 + [15] * 3 + [16] * 3},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> rows = pl.DataFrame({"cluster_id": [2, 2, 2, 3, 3, 3, 3], "signal_idx": [10, 11, 12, 13, 14, 15, 16]},
    ...                     schema_overrides={"signal_idx": pl.UInt32})
    >>> tie_carriers(rows, part, aff, pl.Series([1])).rows()
    [(2, 3), (3, 1)]
    """
    grouped = isinstance(operator, pl.DataFrame)
    schema = {"cluster_id": pl.Int64, "operator": pl.Int64, "carriers": pl.UInt32} if grouped else _SCHEMA
    if tie_rows.is_empty() or operator.is_empty():
        return pl.DataFrame(schema=schema)
    ops = (operator.select(pl.col("cluster_id").cast(pl.Int64), pl.col("operator").cast(pl.Int64)) if grouped
           else pl.DataFrame({"cluster_id": operator.cast(pl.Int64)}).with_columns(pl.lit(0, pl.Int64).alias("operator")))
    rows = tie_rows.select(pl.col("cluster_id").cast(pl.Int64), pl.col("signal_idx").cast(pl.UInt32)).unique()
    ours = (partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64))
            .join(ops.unique(), on="cluster_id").select("account_idx", "operator"))
    held = (affiliations.select("account_idx", pl.col("signal_idx").cast(pl.UInt32))
            .join(rows.select("signal_idx").unique(), on="signal_idx", how="semi")
            .join(ours, on="account_idx")
            .sort("operator", "signal_idx", "account_idx").group_by("operator", "signal_idx", maintain_order=True).head(cap))
    out = (rows.join(held, on="signal_idx")
           .group_by("cluster_id", "operator").agg(pl.col("account_idx").n_unique().clip(0, cap).cast(pl.UInt32).alias("carriers"))
           .sort("cluster_id", "operator"))
    return out if grouped else out.drop("operator")


def loud_voices(per_camp: pl.DataFrame, loud_members: pl.DataFrame, affiliations: pl.DataFrame, min_holders: int = 2) -> pl.DataFrame:
    """``signal_idx, loud_campaign, voice, many``: who of each loud campaign holds each value -- the one
    account (``voice``) where the campaign holds it with fewer than ``min_holders``, ``many`` otherwise.

    ``per_camp``: ``signal_idx, campaign_id, kh`` (holders per operator campaign); ``loud_members``:
    ``account_idx, campaign_id`` of the operator's clusters; ``affiliations``: ``account_idx, signal_idx``.
    Used by :func:`graphlink.stages.campaign_flags.operator_ties` to tell a card's reuse from a contact.

    Examples
    --------
    >>> per = pl.DataFrame({"signal_idx": [0, 1], "campaign_id": [1, 1], "kh": [3, 1]})
    >>> members = pl.DataFrame({"account_idx": [5, 6], "campaign_id": [1, 1]})
    >>> aff = pl.DataFrame({"account_idx": [5, 6], "signal_idx": [0, 1]})
    >>> loud_voices(per, members, aff).sort("signal_idx").rows()
    [(0, 1, None, True), (1, 1, 6, False)]
    """
    many = per_camp.filter(pl.col("kh") >= min_holders).select(
        "signal_idx", pl.col("campaign_id").alias("loud_campaign"), pl.lit(None, pl.Int64).alias("voice"),
        pl.lit(True).alias("many"))
    single = per_camp.filter(pl.col("kh") < min_holders).select("signal_idx", pl.col("campaign_id").alias("loud_campaign"))
    one = (affiliations.select("account_idx", "signal_idx")
           .filter(pl.col("signal_idx").is_in(single["signal_idx"].unique().implode()))
           .join(loud_members.select("account_idx", pl.col("campaign_id").alias("loud_campaign")), on="account_idx")
           .join(single, on=["signal_idx", "loud_campaign"])
           .select("signal_idx", "loud_campaign", pl.col("account_idx").cast(pl.Int64).alias("voice"),
                   pl.lit(False).alias("many")))
    return pl.concat([many.cast(one.schema), one])
