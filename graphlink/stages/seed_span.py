"""The seeds' active span: an account acting mostly outside the time the seeds' cell lives leaves their list.

Used by :func:`graphlink.stages.expand.rank_accounts` after the clocks (reasoning and measurements
in BENCHMARKS.md, issue 15, "expand, eighth pass"). A cell is run for a while -- hours, days, the
whole log -- and its accounts act within that time whatever their schedule; a cell without a clock
(requests spread uniformly) still has that span. An operator's cells start and stop at their own
times, so a sibling cell the list ran into may act in days the seeds never did. The span is
estimated from the seeds as the creation span is (:func:`graphlink.stages.consensus.consensus_values`):
from the earliest seed's first active hour to the latest seed's last, widened on each side by
``range / (k - 1)`` (``k`` seeds with activity; the minimum-variance unbiased estimate of a uniform
interval's ends from ``k`` draws). A span that covers the run tells nobody apart and removes nobody.

The activity is ``activity.parquet`` (events per clustered account, UTC day and hour): unclustered
accounts have no rows and are never judged, nor accounts holding a card or identifier a seed holds
(:func:`graphlink.stages.seed_templates.private_ties`).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from graphlink.stages.seed_templates import private_ties

__all__ = ["MIN_INSIDE", "seed_span", "apply_span"]

#: A listed account leaves when less than this share of its events falls inside the seeds' span:
#: half. A member of the seeds' cell acts only within the cell's time, which the widened span covers
#: (dev worlds, 611 cells: no non-seed member with under half of its events inside).
MIN_INSIDE = 0.5


def _hours(activity: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return activity.lazy().select("account_id", "events", (pl.col("day").cast(pl.Datetime("us"))
                                                            + pl.duration(hours=pl.col("hour"))).alias("t"))


def seed_span(activity: pl.DataFrame | pl.LazyFrame | None, seeds: list[str]) -> tuple | None:
    """``(start, end)`` of the seeds' widened active span (hour starts, end exclusive); ``None`` without one.

    Parameters
    ----------
    activity : DataFrame, LazyFrame or None
        ``account_id, day, hour, events`` (``activity.parquet``).
    seeds : list of str
        Seed account ids; fewer than two with activity give ``None``.

    Returns
    -------
    tuple of datetime or None

    Examples
    --------
    Seeds active on 2 Jan and 4 Jan: the span widens by two days each side.

    >>> import datetime as dt
    >>> act = pl.DataFrame({"account_id": ["s1", "s2"], "day": [dt.date(2025, 1, 2), dt.date(2025, 1, 4)],
    ...                     "hour": [0, 0], "events": [1, 1]})
    >>> [t.isoformat() for t in seed_span(act, ["s1", "s2"])]
    ['2024-12-31T00:00:00', '2025-01-06T01:00:00']
    """
    if activity is None:
        return None
    seed_list = pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode()
    own = _hours(activity).filter(pl.col("account_id").is_in(seed_list)).collect()
    k = own["account_id"].n_unique()
    if k < 2:
        return None
    lo, hi = own["t"].min(), own["t"].max()
    pad = (hi - lo) / (k - 1)
    return lo - pad, hi + pad + timedelta(hours=1)


def apply_span(ordered: pl.DataFrame, keep: int, activity: pl.DataFrame | pl.LazyFrame | None, seeds: list[str],
               linking: pl.DataFrame | None = None, min_inside: float = MIN_INSIDE) -> tuple[pl.DataFrame, int]:
    """Hold an ``expand`` list to the seeds' active span (:func:`seed_span`).

    Listed non-seed accounts with activity and less than ``min_inside`` of their events inside the
    span leave the list (they follow it, in their order). Accounts without activity, and those
    holding a private value a seed holds (``linking``), are never judged.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    activity : DataFrame, LazyFrame or None
        ``activity.parquet``; ``None``: no test.
    seeds : list of str
        The seed ids.
    linking : DataFrame, optional
        ``linking.parquet`` (``account_id, kind, value``).
    min_inside : float
        :data:`MIN_INSIDE`.

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` rearranged (the kept prefix, the accounts leaving it, then the rest) and the new
        prefix length; unchanged without a span.

    Examples
    --------
    Seeds act on 2-3 Jan; ``a`` (listed) on 20 Jan, ``b`` on 3 Jan.

    >>> import datetime as dt
    >>> rows = [("s1", dt.date(2025, 1, 2)), ("s2", dt.date(2025, 1, 3)), ("a", dt.date(2025, 1, 20)),
    ...         ("b", dt.date(2025, 1, 3))]
    >>> act = pl.DataFrame(rows, schema=["account_id", "day"], orient="row").with_columns(hour=0, events=1)
    >>> out, keep = apply_span(pl.DataFrame({"account_id": ["s1", "s2", "a", "b"]}), 4, act, ["s1", "s2"])
    >>> out["account_id"].to_list()[:keep]
    ['s1', 's2', 'b']
    """
    span = seed_span(activity, seeds)
    if span is None or activity is None:
        return ordered, keep
    start, end = span
    head, rest = ordered.head(keep), ordered.slice(keep)
    inside = (_hours(activity).filter(pl.col("account_id").is_in(head["account_id"].implode()))
              .group_by("account_id").agg(
                  (pl.col("events").filter((pl.col("t") >= start) & (pl.col("t") < end)).sum()
                   / pl.col("events").sum()).alias("inside")).collect())
    outside = inside.filter(pl.col("inside") < min_inside)["account_id"].implode()
    leave = (~pl.col("account_id").is_in(pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode())
             & pl.col("account_id").is_in(outside))
    if linking is not None and linking.height:
        leave = leave & ~pl.col("account_id").is_in(private_ties(linking, seeds))
    kept = head.filter(~leave)
    return pl.concat([kept, head.filter(leave), rest]), kept.height
