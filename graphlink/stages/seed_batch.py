"""The seeds' registration batch as the structure of an ``expand`` list.

Used by :func:`graphlink.stages.expand.rank_accounts` (reasoning and measurements in BENCHMARKS.md,
issue 15, "expand, ninth pass"). A ring's cell is registered by a script in a burst of consecutive
hours that stands out from the run's ordinary sign-ups; :func:`graphlink.stages.consensus.consensus_values`
gives the seeds the whole burst (:func:`graphlink.stages.consensus.batch_run`). Inside a block of cells
Leiden merged on a shared proxy pool, the links, the pool and the operator's clients tie the cell to its
block-mates alike, but the registration batch is the cell's own: the block-mates were registered on
other days.

* :func:`fill_batch`: members of the seeds' own Leiden cluster registered in the seeds' batch join the
  list (the cell, where the evidence's first fall, a card some of it holds, ended the list early).
* :func:`hold_to_batch`: when the seeds' batch stands out, a listed account registered more than
  :data:`BATCH_MARGIN` (or the batch's own length, if longer) away from it leaves the list: it is of
  another registration, a sibling cell reached through the operator's values. Accounts without a
  creation time, and accounts holding a card or identifier a seed holds, are never judged.

Accounts registered together in bulk are a classic fake-account signal (Xiao, Freeman & Hwa 2015,
"Detecting clusters of fake accounts in online social networks", classify clusters of accounts
registered together; Cao et al. 2014, "Uncovering large groups of active malicious accounts in online
social networks" (SynchroTrap), the loosely synchronised actions of such groups): read here from the seeds.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from graphlink.stages.consensus import BATCH_OVER_TYPICAL, TIME_KINDS
from graphlink.stages.seed_templates import hold_prefix

__all__ = ["BATCH_MARGIN", "seed_batch", "fill_batch", "hold_to_batch"]

#: A listed account registered further than this from the seeds' batch (or than the batch's own length,
#: if longer) is of another registration. A script registering a cell's accounts runs within a day; an
#: account of the same operator registered on another day is another cell's. Dev worlds (mixed
#: 1000-1019, 614 cells, BENCHMARKS.md "expand, ninth pass"): 569 cells at recall and precision >= 0.9
#: without the rules of this module; with the batch's own length as the margin 577 (2 lost: seeds all
#: registered in one hour, the batch's thinner edges 3-4 hours away); a day 578, none lost; 12 hours 579
#: (a sibling registered 12-24 hours after the batch), not kept: a script paced over a day is still one
#: batch, and the margin was not to be fitted to the simulator's batches of 2-6 hours.
BATCH_MARGIN = timedelta(hours=24)

_AT = pl.col("value").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False, time_zone="UTC")


def seed_batch(linking: pl.DataFrame, shared: pl.DataFrame) -> pl.DataFrame | None:
    """The seeds' creation span (``kind, value`` of :data:`~graphlink.stages.consensus.TIME_KINDS`) when it stands out.

    Parameters
    ----------
    linking : DataFrame
        ``account_id, kind, value, df`` (``linking.parquet``).
    shared : DataFrame
        ``kind, value``: :func:`graphlink.stages.consensus.consensus_values` of the seeds.

    Returns
    -------
    DataFrame or None
        The span's buckets, shape (n, 2); ``None`` when the seeds share no span or its busiest bucket holds
        fewer than :data:`~graphlink.stages.consensus.BATCH_OVER_TYPICAL` times the run's median
        bucket (sign-ups as busy as any hour's are no batch).

    Examples
    --------
    >>> lk = pl.DataFrame({"account_id": ["s1", "s2", "a", "b"], "kind": "created_hour",
    ...                    "value": ["2025-01-01T02:00:00Z"] * 2 + ["2025-02-01T00:00:00Z", "2025-02-02T00:00:00Z"],
    ...                    "df": [12, 12, 1, 1]})
    >>> seed_batch(lk, pl.DataFrame({"kind": ["created_hour"], "value": ["2025-01-01T02:00:00Z"]})).height
    1
    """
    span = shared.filter(pl.col("kind").is_in(list(TIME_KINDS))).select("kind", "value")
    if span.is_empty():
        return None
    buckets = linking.filter(pl.col("kind").is_in(list(TIME_KINDS))).group_by("kind", "value").agg(pl.col("df").first())
    own = buckets.join(span, on=["kind", "value"], how="semi")
    if own.is_empty() or float(own["df"].max()) < BATCH_OVER_TYPICAL * float(buckets["df"].median()):
        return None
    return span


def fill_batch(ordered: pl.DataFrame, keep: int, accounts: pl.DataFrame, linking: pl.DataFrame,
               shared: pl.DataFrame, seeds: list[str]) -> tuple[pl.DataFrame, int]:
    """List the members of the seeds' Leiden cluster registered in the seeds' creation span.

    When every seed is in one cluster, the accounts of that cluster (reached by the walk: rows of
    ``ordered``) holding a bucket of the seeds' span are the seeds' batch as detect drew it and follow
    the list, in their order. Dev world 1000, cell 0 (14 accounts in a cluster of 105 that Leiden merged on
    a shared pool): the seeds' card ended the list at its 9 holders; the cell's other two members were
    registered in the seeds' span, and the cluster's other accounts were not.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    accounts : DataFrame
        ``account_id, cluster_id`` of every account of the run.
    linking : DataFrame
        ``account_id, kind, value`` (``linking.parquet``).
    shared : DataFrame
        ``kind, value``: the seeds' common values (their span among them).
    seeds : list of str
        The seed ids.

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` with those accounts moved right after the prefix, and the new prefix length;
        unchanged when the seeds share no span or are not all in one cluster.
    """
    span = shared.filter(pl.col("kind").is_in(list(TIME_KINDS))).select("kind", "value")
    seed_clusters = accounts.filter(pl.col("account_id").is_in(pl.Series(seeds, dtype=pl.String).implode()))["cluster_id"]
    if span.is_empty() or seed_clusters.null_count() or seed_clusters.n_unique() != 1:
        return ordered, keep
    members = accounts.filter(pl.col("cluster_id") == seed_clusters[0])["account_id"].implode()
    batch = linking.join(span, on=["kind", "value"], how="semi")["account_id"].implode()
    rest = ordered.slice(keep)
    join = pl.col("account_id").is_in(members) & pl.col("account_id").is_in(batch)
    extra = rest.filter(join)
    return pl.concat([ordered.head(keep), extra, rest.filter(~join)]), keep + extra.height


def hold_to_batch(ordered: pl.DataFrame, keep: int, linking: pl.DataFrame, shared: pl.DataFrame,
                  seeds: list[str], margin: timedelta = BATCH_MARGIN) -> tuple[pl.DataFrame, int]:
    """Listed accounts registered far from the seeds' batch (:func:`seed_batch`) leave the list.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    linking : DataFrame
        ``account_id, kind, value, df`` (``linking.parquet``).
    shared : DataFrame
        ``kind, value``: the seeds' common values.
    seeds : list of str
        The seed ids (never judged).
    margin : timedelta
        :data:`BATCH_MARGIN`: how far before the batch's first bucket or after its last an account may
        have been registered (the batch's own length when longer).

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` rearranged (the kept prefix, the accounts leaving it, then the rest) and the new
        prefix length; unchanged without a batch that stands out.

    Examples
    --------
    Seeds registered in a burst at 02:00 (12 sign-ups where the run's hours hold one); ``a`` was
    registered in it, ``b`` a month later, ``c`` has no creation time.

    >>> rows = [(x, "2025-01-01T02:00:00Z", 12) for x in ("s1", "s2", "a")] + [
    ...     ("b", "2025-02-01T00:00:00Z", 1), ("o1", "2025-02-02T00:00:00Z", 1), ("o2", "2025-02-03T00:00:00Z", 1)]
    >>> lk = pl.DataFrame(rows, schema=["account_id", "value", "df"], orient="row").with_columns(kind=pl.lit("created_hour"))
    >>> shared = pl.DataFrame({"kind": ["created_hour"], "value": ["2025-01-01T02:00:00Z"]})
    >>> out, keep = hold_to_batch(pl.DataFrame({"account_id": ["s1", "s2", "b", "a", "c"]}), 5, lk, shared, ["s1", "s2"])
    >>> out["account_id"].to_list()[:keep]
    ['s1', 's2', 'a', 'c']
    """
    span = seed_batch(linking, shared)
    if span is None:
        return ordered, keep
    lo, hi = span.select(_AT.min(), _AT.max().alias("hi")).row(0)
    width = linking.filter(pl.col("kind").is_in(list(TIME_KINDS))).select(_AT.unique().sort().diff().min()).item()
    reach = max(hi - lo + (width or timedelta(0)), margin)
    timed = linking.filter(pl.col("kind").is_in(list(TIME_KINDS))
                           & pl.col("account_id").is_in(ordered.head(keep)["account_id"].implode()))
    near = timed.filter(_AT.is_between(lo - reach, hi + reach))["account_id"].implode()
    leave = pl.col("account_id").is_in(timed["account_id"].implode()) & ~pl.col("account_id").is_in(near)
    return hold_prefix(ordered, keep, leave, seeds, linking)
