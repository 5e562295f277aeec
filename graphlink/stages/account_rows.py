"""Rows of given accounts by a per-account mask, and the drill-down's per-minute counts cut from one count.

Detect counts every account's events per active minute once, for co-timing
(:func:`graphlink.stages.cotiming.minute_counts`), and cuts what the later steps read out of that count:
the unclustered accounts' minutes (template bursts), the clustered accounts' minutes, and their hours and
schedules (scoring and the drill-down). They counted the events again, for each set of accounts.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["COUNTS_SCHEMA", "in_accounts", "of_accounts", "minutes_of"]

COUNTS_SCHEMA = {"account_idx": pl.UInt32, "key": pl.UInt64, "count": pl.UInt32}


def in_accounts(accounts: pl.DataFrame, size: int = 0) -> pl.Expr:
    """True on the rows whose ``account_idx`` is one of ``accounts``' (``size``: at least the largest account
    index filtered plus one). A per-account mask gathered by position: 0.7 s against 1.6 s for a semi-join on the
    campaign preset's 24M events, and a filter keeps the rows' order."""
    wanted = accounts["account_idx"].to_numpy()
    mask = np.zeros(max(size, int(wanted.max(initial=0)) + 1), dtype=bool)
    mask[wanted] = True
    return pl.lit(pl.Series(mask)).gather(pl.col("account_idx"))


def of_accounts(frame: pl.DataFrame | None, accounts: pl.DataFrame) -> pl.DataFrame | None:
    """The rows of ``frame`` (``account_idx`` and more) of the given accounts, in order (None: None).

    Examples
    --------
    >>> f = pl.DataFrame({"account_idx": [3, 0, 3, 1], "x": [1, 2, 3, 4]}, schema_overrides={"account_idx": pl.UInt32})
    >>> of_accounts(f, pl.DataFrame({"account_idx": [3, 1]}, schema={"account_idx": pl.UInt32}))["x"].to_list()
    [1, 3, 4]
    """
    return None if frame is None else frame.filter(in_accounts(accounts, int(frame["account_idx"].max() or 0) + 1))


def minutes_of(counts: pl.DataFrame | None, accounts: pl.DataFrame) -> pl.DataFrame:
    """:func:`graphlink.stages.drilldown.account_minutes`' table (``account_idx, key, count``: events per minute
    since the epoch, sorted) of ``accounts``, cut from every account's ``counts``
    (:func:`graphlink.stages.cotiming.minute_counts`; None when the events have no timestamp)."""
    if counts is None or accounts.is_empty():
        return pl.DataFrame(schema=COUNTS_SCHEMA)
    return of_accounts(counts, accounts).select("account_idx", pl.col("minute").cast(pl.UInt64).alias("key"), "count")
