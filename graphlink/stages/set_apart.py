"""Accounts set apart: the members a cluster lost after Leiden, and why (``set_apart.parquet``).

The scoring stage detaches fleet outsiders and address bystanders (:func:`graphlink.stages.outsiders.set_apart_members`)
and renumbers; a piece left under ``min_cluster_size`` members dissolves, its accounts in no cluster (remnants); batch
members and block pieces move accounts and may leave such remnants too. Until session 57 only a count said so
(``run.json``'s ``accounts_detached_from_fleets``): an investigator holding such an account from an abuse report saw
it tied to a flagged ring, in no cluster, with no reason (new-user review nu56, finding 3). :func:`set_apart_table`
records each one; :func:`set_apart_rows` gives it the ids the outputs use. Nothing here changes a cluster, a flag or a
score: it compares the partition before the detachment with the final one.

Output schema (:data:`graphlink.contract.SET_APART_SCHEMA`)
-----------------------------------------------------------
``account_id`` (String), ``cluster_id`` (Int64: the final cluster holding most of the cluster it left, the one it
was set apart *from*; null when none of that cluster's members is clustered any more), ``flagged`` (Boolean: the
cluster it left was flagged when it was judged, the provisional scoring) and ``reason`` (String: ``outsider``,
``off_script``, ``bystander`` -- :data:`graphlink.stages.outsiders.SET_APART_REASONS` -- or ``remnant``), sorted by
account id.
"""

from __future__ import annotations

import polars as pl

from graphlink.contract import SET_APART_SCHEMA

__all__ = ["set_apart_table", "set_apart_rows", "REMNANT"]

#: The reason of an account no test set apart that is in no cluster at the end: the piece it was left in fell
#: under ``min_cluster_size`` members once the others were set apart or moved (:func:`graphlink.stages.communities.renumber`).
REMNANT = "remnant"


def set_apart_table(before: pl.DataFrame, detached: pl.DataFrame, provisional: pl.DataFrame,
                    after: pl.DataFrame) -> pl.DataFrame:
    """The accounts clustered in ``before`` and in no cluster in ``after``, where they came from and why.

    Parameters
    ----------
    before : DataFrame
        ``account_idx, cluster_id`` (null: unclustered): the partition the provisional scoring judged.
    detached : DataFrame
        ``account_idx, reason`` of the members the tests set apart (:func:`graphlink.stages.outsiders.set_apart_members`).
    provisional : DataFrame
        ``cluster_id, flagged`` of ``before``'s clusters (the provisional scoring).
    after : DataFrame
        ``account_idx, cluster_id``: the final partition.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (Int64, ``after``'s id holding most of the members of the cluster it
        left that are still clustered -- ties to the smaller id; null when none is), ``flagged`` (Boolean) and
        ``reason`` (String; :data:`REMNANT` when no test named it), sorted by ``account_idx``.

    Examples
    --------
    >>> before = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 1, 2, 2, None]},
    ...                       schema_overrides={"account_idx": pl.UInt32})
    >>> after = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [4, 4, None, None, None, None]},
    ...                      schema_overrides={"account_idx": pl.UInt32})
    >>> detached = pl.DataFrame({"account_idx": [2, 3], "reason": ["bystander", "outsider"]},
    ...                         schema_overrides={"account_idx": pl.UInt32})
    >>> provisional = pl.DataFrame({"cluster_id": [1, 2], "flagged": [True, False]})
    >>> set_apart_table(before, detached, provisional, after).rows()
    [(2, 4, True, 'bystander'), (3, None, False, 'outsider'), (4, None, False, 'remnant')]
    """
    was = before.drop_nulls("cluster_id").select(pl.col("account_idx").cast(pl.UInt32), pl.col("cluster_id").cast(pl.Int64))
    now = after.drop_nulls("cluster_id").select(pl.col("account_idx").cast(pl.UInt32), pl.col("cluster_id").cast(pl.Int64).alias("to"))
    lost = was.join(now, on="account_idx", how="anti")
    if lost.is_empty():
        return pl.DataFrame(schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64, "flagged": pl.Boolean,
                                    "reason": pl.String})
    went = (was.join(lost.select("cluster_id").unique(), on="cluster_id", how="semi").join(now, on="account_idx")
            .group_by("cluster_id", "to").len().sort(["cluster_id", "len", "to"], descending=[False, True, False])
            .unique("cluster_id", keep="first"))
    flags = provisional.select(pl.col("cluster_id").cast(pl.Int64), pl.col("flagged").cast(pl.Boolean))
    return (lost.join(detached.select(pl.col("account_idx").cast(pl.UInt32), "reason"), on="account_idx", how="left")
            .join(went.select("cluster_id", "to"), on="cluster_id", how="left")
            .join(flags, on="cluster_id", how="left")
            .select("account_idx", pl.col("to").alias("cluster_id"), pl.col("flagged").fill_null(False),
                    pl.col("reason").fill_null(REMNANT))
            .sort("account_idx"))


def set_apart_rows(table: pl.DataFrame | None, index: pl.DataFrame, mapping: pl.DataFrame | None = None) -> pl.DataFrame | None:
    """``set_apart.parquet``'s rows: :func:`set_apart_table` with account ids and, after ``--previous``, stable
    cluster ids (``mapping``, :func:`graphlink.stages.stable_ids.match_clusters`); None when ``table`` is.

    Examples
    --------
    >>> t = pl.DataFrame({"account_idx": [1], "cluster_id": [4], "flagged": [True], "reason": ["bystander"]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> index = pl.DataFrame({"account_idx": [0, 1], "account_id": ["a", "b"]}, schema_overrides={"account_idx": pl.UInt32})
    >>> set_apart_rows(t, index, pl.DataFrame({"cluster_id": [4], "stable_id": [9]})).rows()
    [('b', 9, True, 'bystander')]
    """
    if table is None:
        return None
    rows = table.join(index.select("account_idx", "account_id"), on="account_idx")
    if mapping is not None:
        from graphlink.stages.rekeying import apply_mapping

        rows = apply_mapping(rows, mapping)
    return rows.select(list(SET_APART_SCHEMA.names())).cast(dict(SET_APART_SCHEMA)).sort("account_id")
