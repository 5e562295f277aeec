"""What two grouping steps did, said where an investigator reads a cluster: its ``why`` and each member's row.

Leiden and the support check make most clusters; two later steps add accounts on weaker evidence, and a reviewer
must see which memberships rest on them:

* own-value members (:mod:`graphlink.stages.pendants`, ``[communities] own_values``): an unclustered account most
  of whose strong values are one cluster's joins it -- a membership by the account's few own values, weaker than a
  member Leiden placed;
* hub twins (:mod:`graphlink.stages.hub_twins`, ``[communities] hub_twins``): the unclustered holders of a cluster's
  address, card or network writing its template, made a new cluster -- grouped by one shared hub and a template.

:func:`own_value_joins` and :func:`twin_joins` record each step's accounts (:data:`JOINS_SCHEMA`, keyed by account, so
the record survives later splits, detachments and renumbering); :func:`member_notes` words them per member
(``accounts.parquet``'s ``joined_by``, :data:`graphlink.contract.MEMBER_BEHAVIOUR_SCHEMA`) and
:func:`with_grouping_reason` appends to each final cluster's ``why``, as :func:`graphlink.stages.network_cells.with_join_reason`
does for network cells. Only accounts still clustered at the end are named or counted (a member the fleet-outsider
test detached is in no cluster).
"""

from __future__ import annotations

import polars as pl

from graphlink.config.kinds import kind_name_expr

__all__ = ["HUB_TWIN", "JOINS_SCHEMA", "MISPLACED", "OWN_VALUES", "joined_counts", "member_notes", "misplaced_joins",
           "own_value_joins", "twin_joins", "with_grouping_reason"]

#: ``step`` of an own-value member and of a hub twin.
OWN_VALUES, HUB_TWIN = "own values", "hub twin"
#: ``step`` of a misplaced member moved to the cluster whose cards it pays with (:mod:`graphlink.stages.misplaced`).
MISPLACED = "misplaced"
#: One row per account a step added: ``step``; ``values``, the ``signal_idx`` it joined through (own values: the
#: cluster's values it holds; a twin: its hub); ``owned, held`` (own values: how many of its strong values are the
#: cluster's, of how many; null for a twin).
JOINS_SCHEMA = pl.Schema({"account_idx": pl.UInt32, "step": pl.String, "values": pl.List(pl.UInt32),
                          "owned": pl.UInt32, "held": pl.UInt32})
#: Values named per cluster in ``why``.
MOST_VALUES = 3


def own_value_joins(joined: pl.DataFrame) -> pl.DataFrame:
    """:data:`JOINS_SCHEMA` rows of :func:`graphlink.stages.pendants.own_value_members`' ``joined``
    (``account_idx, owned, held, values``)."""
    return joined.select("account_idx", pl.lit(OWN_VALUES).alias("step"), "values", "owned", "held").cast(dict(JOINS_SCHEMA))


def twin_joins(twins: pl.DataFrame) -> pl.DataFrame:
    """:data:`JOINS_SCHEMA` rows of hub twins (``account_idx, hub``: :func:`graphlink.stages.hub_twins.hub_twins`)."""
    return twins.select("account_idx", pl.lit(HUB_TWIN).alias("step"), pl.concat_list("hub").alias("values"),
                        pl.lit(None).alias("owned"), pl.lit(None).alias("held")).cast(dict(JOINS_SCHEMA))


def misplaced_joins(moved: pl.DataFrame) -> pl.DataFrame:
    """:data:`JOINS_SCHEMA` rows of misplaced members (:func:`graphlink.stages.misplaced.misplaced_members`: ``account_idx,
    values``, the cards it carried)."""
    return moved.select("account_idx", pl.lit(MISPLACED).alias("step"), "values", pl.lit(None).alias("owned"),
                        pl.lit(None).alias("held")).cast(dict(JOINS_SCHEMA))


def _kept(joins: pl.DataFrame | None, partition: pl.DataFrame) -> pl.DataFrame:
    """The joins of accounts still clustered, with their final ``cluster_id``."""
    if joins is None or joins.is_empty():
        return pl.DataFrame(schema={**JOINS_SCHEMA, "cluster_id": pl.Int64})
    return joins.join(partition.drop_nulls("cluster_id").select("account_idx", "cluster_id"), on="account_idx")


def _value_text(signals: pl.DataFrame) -> pl.DataFrame:
    """``signal_idx, text``: "<kind name> <value>" of each signal."""
    return signals.select("signal_idx", (kind_name_expr(pl.col("kind")) + " " + pl.col("value").cast(pl.String)).alias("text"))


def joined_counts(joins: pl.DataFrame | None, partition: pl.DataFrame) -> dict[str, int]:
    """``{"own_value_members": n, "hub_twins": n}``: accounts each step added that are still clustered (run.json)."""
    kept = _kept(joins, partition)
    return {"own_value_members": int((kept["step"] == OWN_VALUES).sum()), "hub_twins": int((kept["step"] == HUB_TWIN).sum())}


def member_notes(joins: pl.DataFrame | None, partition: pl.DataFrame, signals: pl.DataFrame,
                 index: pl.DataFrame) -> pl.DataFrame:
    """``account_id, joined_by`` of each clustered account a step added.

    Own values: "joined: 3 of its 4 strong values are the cluster's (own values)"; a twin: "hub twin: holds IP
    address 10.0.0.1 and writes the template of the cluster on it".

    Parameters
    ----------
    joins : DataFrame or None
        :data:`JOINS_SCHEMA` rows of both steps (None: neither ran).
    partition : DataFrame
        The final ``account_idx, cluster_id``.
    signals : DataFrame
        ``signal_idx, kind, value``.
    index : DataFrame
        ``account_idx, account_id``.

    Returns
    -------
    DataFrame
        ``account_id`` (String), ``joined_by`` (String), one row per such account.
    """
    kept = _kept(joins, partition)
    hub = (kept.filter(pl.col("step") == HUB_TWIN).select("account_idx", pl.col("values").list.first().alias("signal_idx"))
           .join(_value_text(signals), on="signal_idx", how="left").select("account_idx", "text"))
    note = (pl.when(pl.col("step") == OWN_VALUES)
            .then(pl.concat_str([pl.lit("joined: "), pl.col("owned").cast(pl.String), pl.lit(" of its "),
                                 pl.col("held").cast(pl.String), pl.lit(" strong values are the cluster's (own values)")]))
            .when(pl.col("step") == MISPLACED)
            .then(pl.lit("moved: Leiden placed it in another cluster, but every card it shares is paid with by this "
                         "cluster's members, not by that one's (misplaced)"))
            .otherwise(pl.concat_str([pl.lit("hub twin: holds "), pl.col("text").fill_null("its hub"),
                                      pl.lit(" and writes the template of the cluster on it")])))
    return (kept.join(hub, on="account_idx", how="left").join(index.select("account_idx", "account_id"), on="account_idx")
            .select(pl.col("account_id").cast(pl.String), note.alias("joined_by")))


def with_grouping_reason(clusters: pl.DataFrame, joins: pl.DataFrame | None, partition: pl.DataFrame,
                         signals: pl.DataFrame) -> pl.DataFrame:
    """``clusters`` with ``why`` saying how many members each step added, and through what.

    "joined: 5 accounts by their own values (most of their strong values are the cluster's: payment card pf_1, ...)
    (own values)"; "joined: 183 hub twins, holders of IP address 10.0.0.1 writing the template of the cluster on it
    (hub twins)" -- or "183 of 183 members are hub twins, ..." when the cluster is all twins. At most
    :data:`MOST_VALUES` values, those most of its joined members hold.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, why`` (other columns kept).
    joins, partition, signals
        As for :func:`member_notes`.

    Returns
    -------
    DataFrame
        ``clusters``, ``why`` extended where a step added members.
    """
    kept = _kept(joins, partition)
    if kept.is_empty():
        return clusters
    sizes = partition.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.len().alias("size"))
    top = (kept.select("cluster_id", "step", "account_idx", pl.col("values")).explode("values")
           .rename({"values": "signal_idx"}).join(_value_text(signals), on="signal_idx", how="left")
           .group_by("cluster_id", "step", "text").agg(pl.len().alias("n"))
           .sort(["cluster_id", "step", "n", "text"], descending=[False, False, True, False])
           .group_by("cluster_id", "step", maintain_order=True).agg(pl.col("text").drop_nulls().head(MOST_VALUES).str.join(", ")))
    counts = kept.group_by("cluster_id", "step").agg(pl.len().alias("k")).join(top, on=["cluster_id", "step"], how="left").join(
        sizes, on="cluster_id", how="left")
    k, text = pl.col("k").cast(pl.String), pl.col("text").fill_null("")
    phrase = (pl.when(pl.col("step") == OWN_VALUES)
              .then(pl.concat_str([pl.lit("joined: "), k, pl.when(pl.col("k") == 1).then(pl.lit(" account")).otherwise(pl.lit(
                  " accounts")), pl.lit(" by their own values (most of their strong values "
                                   "are the cluster's: "), text, pl.lit(") (own values)")]))
              .when(pl.col("step") == MISPLACED)
              .then(pl.concat_str([pl.lit("moved in: "), k, pl.when(pl.col("k") == 1).then(pl.lit(" account")).otherwise(pl.lit(
                  " accounts")), pl.lit(" Leiden placed in other clusters, paying only with this cluster's cards ("), text,
                  pl.lit(") (misplaced members)")]))
              .when(pl.col("k") == pl.col("size"))
              .then(pl.concat_str([k, pl.lit(" of "), k, pl.lit(" members are hub twins, holders of "), text,
                                   pl.lit(" writing the template of the cluster on it (hub twins)")]))
              .otherwise(pl.concat_str([pl.lit("joined: "), k, pl.lit(" hub twins, holders of "), text,
                                        pl.lit(" writing the template of the cluster on it (hub twins)")])))
    reason = (counts.sort("cluster_id", "step").group_by("cluster_id", maintain_order=True)
              .agg(phrase.str.join("; ").alias("joined")).with_columns(pl.col("cluster_id").cast(clusters.schema["cluster_id"])))
    return (clusters.join(reason, on="cluster_id", how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("joined").is_null()).then(pl.col("why"))
                          .when(pl.col("why").is_null() | (pl.col("why") == "")).then(pl.col("joined"))
                          .otherwise(pl.concat_str([pl.col("why"), pl.lit("; "), pl.col("joined")])).alias("why"))
            .drop("joined"))
