"""Drill-down tables: what investigators need about clustered accounts beyond the clusters.

Both tables cover accounts that ended up in a multi-account cluster only, so
they stay small next to the input, and let the report, ``show`` and ``export``
work from the output folder alone.

Output schemas
--------------
:func:`member_affiliations` (``memberships.parquet``): the bipartite account-signal
edges of clustered accounts, linking or not, for values shared by at least two
members of the account's cluster (at most ``DrilldownConfig.member_values_per_kind``
values per cluster and kind: linking values first, then the most shared); sorted by account id, then signal.

========== ======= ====================================================
column     dtype   meaning
========== ======= ====================================================
account_id String
kind       String  signal kind
value      String  the signal value (prompts: a shingle as written in one prompt)
weight     Float64 the value's rarity weight (0: it links nobody)
========== ======= ====================================================

:func:`member_activity` (``activity.parquet``): events per account, UTC hour
of day and day.

========== ============ ======================================
column     dtype        meaning
========== ============ ======================================
account_id String
cluster_id Int64
hour       Int8         0-23, UTC
day        Date         UTC
events     Int64        the account's events in that hour and day
========== ============ ======================================

:func:`member_minutes` (``minutes.parquet``): events per account and UTC minute, one row
per active minute (a scripted cell's bursts are a minute wide; ``expand`` reads the seeds'
clock from it, :mod:`graphlink.stages.seed_clock`).

========== ================= ======================================
column     dtype             meaning
========== ================= ======================================
account_id String
cluster_id Int64
minute     Datetime(us, UTC) the minute's start
events     Int64             the account's events in that minute
========== ================= ======================================

:func:`member_templates` (``templates.parquet``): each clustered account's prompt shingles
(the word n-grams detect found templated), at most :data:`TEMPLATES_PER_ACCOUNT` per account
(``expand`` holds a list to the seeds' templates, :mod:`graphlink.stages.seed_templates`).

========== ======= ====================================================
column     dtype   meaning
========== ======= ====================================================
account_id String
cluster_id Int64
shingle    String  the shingle as written in one prompt
df         UInt32  how many accounts of the run sent it
========== ======= ====================================================
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.contract import (
    ACTIVITY_SCHEMA, LINKING_SCHEMA, LINKS_SCHEMA, MEMBERSHIPS_SCHEMA, MINUTES_SCHEMA, TEMPLATES_SCHEMA,
)
from graphlink.stages.account_rows import COUNTS_SCHEMA, in_accounts, minutes_of
from graphlink.stages.encode import count_by_account, sort_keys
from graphlink.stages.evidence import shared_in_clusters, top_per_kind
from graphlink.stages.schedules import scheduled_accounts


def clustered_accounts(index: pl.DataFrame, partition: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, account_id, cluster_id`` of accounts in a multi-account cluster of ``partition``."""
    return (
        index.select("account_idx", "account_id")
        .join(partition.drop_nulls("cluster_id"), on="account_idx")
        .select("account_idx", "account_id", "cluster_id")
    )


def member_affiliations(affiliations: pl.DataFrame, signals: pl.DataFrame, clustered: pl.DataFrame,
                        per_kind: int = 0, shared: pl.DataFrame | None = None) -> pl.DataFrame:
    """Affiliations of clustered accounts: the ``memberships.parquet`` rows (schema in the module docstring).

    ``affiliations`` are the bipartite ``account_idx, signal_idx`` edges.

    Only values at least two members of the same cluster share, and with
    ``per_kind`` > 0 only the ``per_kind`` values per cluster and kind shared by
    the most members (as :mod:`graphlink.stages.evidence` ranks them): what the
    report's drawing and the exports can show. A proxy fleet's members share
    hundreds of rotating IPs each; listing all of them made this the largest
    output (33M rows on the campaign preset) for no reader. ``shared`` is
    :func:`graphlink.stages.evidence.shared_in_clusters` for these clusters, if already computed.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 1, 2, 0], "signal_idx": [0, 0, 1, 1]}, schema=[
    ...     ("account_idx", pl.UInt32), ("signal_idx", pl.UInt32)])
    >>> s = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment", "ip"], "value": ["c1", "1.2.3.4"],
    ...                   "weight": [2.0, 0.0]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> c = pl.DataFrame({"account_idx": [0, 1], "account_id": ["a", "b"], "cluster_id": [1, 1]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> member_affiliations(m, s, c).rows()
    [('a', 'payment', 'c1', 2.0), ('b', 'payment', 'c1', 2.0)]
    """
    if shared is None:
        shared = shared_in_clusters(affiliations, clustered.select("account_idx", "cluster_id"))
    if per_kind > 0:
        shared = top_per_kind(shared, per_kind, signals)
    slot = (pl.col("cluster_id").cast(pl.UInt64) * 2**32 + pl.col("signal_idx")).alias("slot")
    # Only the listed values' affiliations are joined to clusters (a few hundred thousand of 38M).
    listed = shared["signal_idx"].unique().implode()
    rows = (
        affiliations.select("account_idx", "signal_idx").filter(pl.col("signal_idx").is_in(listed))
        .join(clustered.select("account_idx", "account_id", "cluster_id"), on="account_idx")
        .with_columns(slot)
        .join(shared.select(slot), on="slot", how="semi")
        .with_columns((pl.col("account_idx").cast(pl.UInt64) * 2**32 + pl.col("signal_idx")).alias("order"))
        .sort("order")
    )
    return (
        rows.join(signals.select("signal_idx", "kind", "value", "weight"), on="signal_idx", maintain_order="left")
        .select(list(MEMBERSHIPS_SCHEMA.names()))
        .cast(dict(MEMBERSHIPS_SCHEMA))
    )


#: At most this many prompt shingles per account in ``templates.parquet``: the ones with the smallest
#: signal number (a fixed hash of the shingle, :func:`graphlink.stages.graph.project`), so two accounts
#: sending one template keep the same sample of it (a bottom-k sketch: Cohen & Kaplan 2007, "Summarizing
#: data using bottom-k sketches"). Dev world mixed 1000 (small): 32 per account on average, 52 at most;
#: an account of a fleet sends its operator's 2-4 templates, of a few dozen shingles each.
TEMPLATES_PER_ACCOUNT = 128


def member_templates(memberships: pl.DataFrame, signals: pl.DataFrame, clustered: pl.DataFrame,
                     per_account: int = TEMPLATES_PER_ACCOUNT) -> pl.DataFrame:
    """Prompt shingles of clustered accounts (``templates.parquet``; schema in the module docstring).

    ``memberships`` are the projection's ``account_idx, signal_idx`` edges, ``signals`` its
    ``signal_idx, kind, value, df`` table (prompt shingles have kind ``prompt``), ``clustered``
    :func:`clustered_accounts`. Each account keeps its ``per_account`` shingles with the smallest
    ``signal_idx`` (0: all).

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 0, 0, 1], "signal_idx": [3, 1, 2, 1]}, schema=[
    ...     ("account_idx", pl.UInt32), ("signal_idx", pl.UInt32)])
    >>> s = pl.DataFrame({"signal_idx": [1, 2, 3], "kind": ["prompt", "ip", "prompt"], "value": ["step by", "1.2.3.4", "show all"],
    ...                   "df": [2, 5, 1]}, schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    >>> c = pl.DataFrame({"account_idx": [0, 1], "account_id": ["a", "b"], "cluster_id": [1, 1]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> member_templates(m, s, c, per_account=1).rows()
    [('a', 1, 'step by', 2), ('b', 1, 'step by', 2)]
    """
    prompts = signals.filter(pl.col("kind") == "prompt").select("signal_idx", pl.col("value").alias("shingle"), "df")
    members = clustered.select("account_idx", "account_id", "cluster_id")
    if memberships.is_empty() or members.is_empty() or prompts.is_empty() or prompts["signal_idx"].is_duplicated().any() \
            or members["account_idx"].is_duplicated().any():
        rows = (memberships.select("account_idx", "signal_idx").join(prompts, on="signal_idx")
                .join(members, on="account_idx").sort("account_idx", "signal_idx"))
    else:
        # The joins' rows sorted by (account, shingle number), a total order: the 38M memberships are cut by a
        # per-value and a per-account mask and sorted as one packed key (numpy), the text gathered after.
        n_accounts = int(max(memberships["account_idx"].max(), members["account_idx"].max())) + 1
        n_values = int(max(memberships["signal_idx"].max(), prompts["signal_idx"].max())) + 1
        member = pl.DataFrame({"account_idx": pl.int_range(n_accounts, dtype=pl.UInt32, eager=True)}).join(
            members.with_columns(pl.col("account_idx").cast(pl.UInt32), pl.lit(True).alias("__in")), on="account_idx",
            how="left", maintain_order="left")
        prompt = pl.DataFrame({"signal_idx": pl.int_range(n_values, dtype=pl.UInt32, eager=True)}).join(
            prompts.with_columns(pl.col("signal_idx").cast(pl.UInt32), pl.lit(True).alias("__in")), on="signal_idx",
            how="left", maintain_order="left")
        key = sort_keys(memberships.filter(pl.lit(member["__in"].fill_null(False)).gather(pl.col("account_idx"))
                                           & pl.lit(prompt["__in"].fill_null(False)).gather(pl.col("signal_idx")))
                        .select((pl.col("account_idx").cast(pl.UInt64) * 2**32 + pl.col("signal_idx")).alias("key"))["key"])
        rows = pl.DataFrame({"account_idx": (key // 2**32).cast(memberships.schema["account_idx"]),
                             "signal_idx": (key % 2**32).cast(memberships.schema["signal_idx"])})
        if per_account > 0:
            rows = rows.group_by("account_idx", maintain_order=True).head(per_account)
        at, value = rows["account_idx"].cast(pl.UInt32), rows["signal_idx"].cast(pl.UInt32)
        rows = rows.with_columns(prompt["shingle"].gather(value).alias("shingle"), prompt["df"].gather(value).alias("df"),
                                 member["account_id"].gather(at).alias("account_id"),
                                 member["cluster_id"].gather(at).alias("cluster_id"))
        return rows.select(list(TEMPLATES_SCHEMA.names())).cast(dict(TEMPLATES_SCHEMA)).sort("account_id", "shingle")
    if per_account > 0:
        rows = rows.group_by("account_idx", maintain_order=True).head(per_account)
    return rows.select(list(TEMPLATES_SCHEMA.names())).cast(dict(TEMPLATES_SCHEMA)).sort("account_id", "shingle")


def account_activity(events: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, hour, day, events``: encoded events per UTC hour and day of the given accounts.

    ``events`` is :attr:`graphlink.stages.encode.EncodedEvents.frame`; without a
    timestamp column the result is empty. The per-minute counts of :func:`account_minutes`,
    summed by :func:`hours_from_minutes` (detect counts the minutes once and keeps both).
    """
    return hours_from_minutes(account_minutes(events, accounts))


def account_minutes(events: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, key, count``: encoded events per UTC minute (``key``, minutes since the epoch) of the given accounts.

    ``events`` is :attr:`graphlink.stages.encode.EncodedEvents.frame`; sorted by account and
    minute; without a timestamp column the result is empty. :func:`hours_from_minutes` turns it
    into :func:`account_activity`'s table.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2025, 1, 1, 3, 7, tzinfo=dt.timezone.utc)
    >>> ev = pl.DataFrame({"account_idx": [0, 0, 0], "timestamp": [t, t + dt.timedelta(seconds=30), t + dt.timedelta(hours=1)]},
    ...                   schema_overrides={"account_idx": pl.UInt32})
    >>> [(k % 1440, n) for _, k, n in account_minutes(ev, pl.DataFrame({"account_idx": [0]}, schema={"account_idx": pl.UInt32})).rows()]
    [(187, 2), (247, 1)]
    """
    if "timestamp" not in events.columns or accounts.is_empty():
        return pl.DataFrame(schema=COUNTS_SCHEMA)
    minutes = (pl.col("timestamp").dt.epoch("s") // 60).cast(pl.UInt64).alias("minutes")
    # The accounts' rows through a per-account mask: the counts below do not depend on the rows' order.
    keep = in_accounts(accounts, int(events["account_idx"].max() or 0) + 1)
    timed = events.lazy().select("account_idx", minutes).filter(keep).drop_nulls("minutes").collect()
    return count_by_account(timed, "minutes").cast(COUNTS_SCHEMA)


def hours_from_minutes(minutes: pl.DataFrame) -> pl.DataFrame:
    """:func:`account_activity`'s table (events per UTC hour and day) from :func:`account_minutes`' counts.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 0, 0], "key": [60, 61, 125], "count": [1, 2, 1]},
    ...                  schema={"account_idx": pl.UInt32, "key": pl.UInt64, "count": pl.UInt32})
    >>> hours_from_minutes(m).select("hour", "events").rows()
    [(1, 3), (2, 1)]
    """
    # Sorted by account and minute, so by account and hour too: each (account, hour) is one run of
    # rows, summed where it starts (a segmented sum: ~20x faster than a group-by on 5M rows).
    account = minutes["account_idx"].to_numpy()
    hour = minutes["key"].to_numpy() // 60
    starts = np.flatnonzero(np.r_[True, (account[1:] != account[:-1]) | (hour[1:] != hour[:-1])]) \
        if len(account) else np.zeros(0, dtype=np.int64)
    counts = np.add.reduceat(minutes["count"].to_numpy().astype(np.int64), starts) if len(starts) else \
        np.zeros(0, dtype=np.int64)
    return activity_from_counts(pl.DataFrame({"account_idx": pl.Series(account[starts], dtype=pl.UInt32),
                                              "key": pl.Series(hour[starts], dtype=pl.UInt64),
                                              "count": pl.Series(counts, dtype=pl.Int64)}))


def account_times(counts: pl.DataFrame | None, account_stats: pl.DataFrame | None) -> dict[str, pl.DataFrame | None]:
    """``hours`` (:func:`hours_from_minutes`) and ``schedules`` (:func:`graphlink.stages.schedules.scheduled_accounts`;
    None without timestamps) of every account in ``counts`` (:func:`graphlink.stages.cotiming.minute_counts`; None:
    no timestamps). Both are per account: any accounts' are these rows cut out (:func:`graphlink.stages.account_rows.of_accounts`)."""
    minutes = (counts if counts is not None else minutes_of(None, pl.DataFrame())).rename({"minute": "key"}, strict=False)
    return {"hours": hours_from_minutes(minutes),
            "schedules": None if counts is None else scheduled_accounts(minutes, account_stats)}


def member_minutes(minutes: pl.DataFrame, columns: tuple[str, ...], clustered: pl.DataFrame) -> pl.DataFrame:
    """Events per UTC minute of clustered accounts (``minutes.parquet``; schema in the module docstring).

    ``minutes`` is :func:`account_minutes`' table; an input without a timestamp column gives an
    empty table.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 1], "key": [60, 60], "count": [2, 1]},
    ...                  schema={"account_idx": pl.UInt32, "key": pl.UInt64, "count": pl.UInt32})
    >>> c = pl.DataFrame({"account_idx": [0], "account_id": ["a"], "cluster_id": [1]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> member_minutes(m, ("account_id", "timestamp"), c).rows()
    [('a', 1, datetime.datetime(1970, 1, 1, 1, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 2)]
    """
    if "timestamp" not in columns or clustered.is_empty():
        return pl.DataFrame(schema=MINUTES_SCHEMA)
    return (
        by_member(minutes, clustered, pl.col("key"))
        .select("account_id", "cluster_id",
                (pl.col("key").cast(pl.Int64) * 60_000_000).cast(pl.Datetime("us", "UTC")).alias("minute"),
                pl.col("count").alias("events"))
        .cast(dict(MINUTES_SCHEMA))
    )


def by_member(rows: pl.DataFrame, clustered: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    """``rows`` of clustered accounts with their ``account_id, cluster_id``, sorted by (account id, ``key``).

    The ids are ranked once and the rows ordered by one integer (the rank above ``key``), which
    the pipeline's rows, in account order already, need no sort for: the same rows as joining the
    ids and sorting on (``account_id``, ``key``) where ``key`` is unique per account (the campaign
    preset's 16M minutes: a 16M-row string sort, seconds). Other keys take that join and sort.
    """
    ids = clustered.select("account_idx", "account_id", "cluster_id").sort("account_id")
    k = rows.select(key.cast(pl.Int64)).to_series()
    if rows.is_empty() or k.null_count() or not 0 <= int(k.min()) <= int(k.max()) < 2**32 \
            or ids["account_idx"].n_unique() < ids.height:
        return rows.join(ids, on="account_idx").with_columns(key.alias("__key")).sort("account_id", "__key").drop("__key")
    rank = np.full(max(int(ids["account_idx"].max()), int(rows["account_idx"].max())) + 1, -1, dtype=np.int64)
    rank[ids["account_idx"].to_numpy()] = np.arange(ids.height)
    member, at = pl.col("__member"), pl.col("__key")
    taken = rows.with_columns(pl.lit(pl.Series(rank)).gather(pl.col("account_idx")).alias("__member"), k.alias("__key")).filter(member >= 0)
    if not taken.select(((member > member.shift(1)) | ((member == member.shift(1)) & (at >= at.shift(1)))).all()).item():
        taken = taken.sort("__member", "__key", maintain_order=True)
    member = taken["__member"].cast(pl.UInt32)
    return taken.drop("__member", "__key").with_columns(ids["account_id"].gather(member), ids["cluster_id"].gather(member))


def activity_from_counts(counted: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, hour, day, events`` from ``account_idx, key`` (hours since the epoch), ``count``."""
    return counted.select(
        "account_idx", (pl.col("key") % 24).cast(pl.Int8).alias("hour"),
        (pl.col("key") // 24).cast(pl.Int32).cast(pl.Date).alias("day"), pl.col("count").cast(pl.Int64).alias("events"))


def member_activity(activity: pl.DataFrame, columns: tuple[str, ...], clustered: pl.DataFrame) -> pl.DataFrame:
    """Hour-of-day and daily event counts of clustered accounts (schema in the module docstring).

    ``activity`` is :func:`account_activity`'s table. Events without a
    timestamp are not counted; an input without a timestamp column gives an
    empty table.

    Examples
    --------
    >>> from datetime import date
    >>> act = pl.DataFrame({"account_idx": [0, 1], "hour": [3, 3], "day": [date(2024, 1, 2)] * 2, "events": [2, 1]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "hour": pl.Int8})
    >>> c = pl.DataFrame({"account_idx": [0], "account_id": ["a"], "cluster_id": [1]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> member_activity(act, ("account_id", "timestamp"), c).rows()
    [('a', 1, 3, datetime.date(2024, 1, 2), 2)]
    """
    if "timestamp" not in columns or clustered.is_empty():
        return pl.DataFrame(schema=ACTIVITY_SCHEMA)
    hour = pl.col("day").cast(pl.Int32).cast(pl.Int64) * 24 + pl.col("hour").cast(pl.Int64)  # (day, hour) order
    return by_member(activity, clustered, hour).select(list(ACTIVITY_SCHEMA.names())).cast(dict(ACTIVITY_SCHEMA))


#: Kinds ``linking.parquet`` leaves out (see :func:`linking_values`).
UNLISTED_KINDS = ("prompt", "timing", "burst")


def link_table(edges: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """``links.parquet``: the projection's ``source, target, weight`` edges keyed by account id.

    ``edges`` is :attr:`graphlink.stages.graph.Projection.edges` (account
    indices); the ids are ordered so that ``source < target`` and the rows
    are sorted by (source, target), so the file does not depend on numbering.
    """
    ids = index.select("account_idx", "account_id")
    named = (edges.join(ids.rename({"account_idx": "source", "account_id": "a"}), on="source")
             .join(ids.rename({"account_idx": "target", "account_id": "b"}), on="target"))
    return (named.select(pl.min_horizontal("a", "b").alias("source"), pl.max_horizontal("a", "b").alias("target"),
                         "weight")
            .sort("source", "target").cast(dict(LINKS_SCHEMA)))


def positional_ids(ids: pl.DataFrame) -> pl.DataFrame | None:
    """``ids`` sorted by ``account_idx`` when the index numbers accounts ``0 .. n-1`` in byte order of
    their ids (as :func:`graphlink.stages.ingest.finish_index` does), else None."""
    ordered = ids.sort("account_idx")
    positional = ordered["account_idx"].equals(pl.int_range(ordered.height, dtype=pl.UInt32, eager=True),
                                               check_names=False)
    if positional and ordered["account_id"].is_sorted() and ordered["account_id"].n_unique() == ordered.height:
        return ordered
    return None


def linking_order(affiliations: pl.DataFrame, signals: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """``(ranked, account, rank)``: the order of :func:`linking_values`' rows, which needs no partition.

    ``ranked`` lists the linking values (``rank``, ``signal_idx``, ``kind``, ``value``, ``df``,
    ``weight``) sorted by (kind, value); ``account`` and ``rank`` (``UInt32``) give each row's
    account index and value rank, sorted by (account, rank) as one integer key (the account
    index is the ids' byte order where the index is positional), instead of sorting three
    string columns (11M rows on the campaign preset); the columns are then read by position.
    The pipeline builds it beside Leiden (:func:`graphlink.stages.communities.detect_communities`).
    """
    linking = signals.filter((pl.col("weight") > 0) & ~pl.col("kind").is_in(UNLISTED_KINDS)).select(
        "signal_idx", "kind", "value", "df", "weight")
    # Sorted lazily: polars' eager DataFrame.sort on these string keys took 1.5 s of CPU for the campaign
    # preset's 1.2M linking values, the lazy sort 0.5 s (a total order: the same rows either way).
    # One chunk: linking_values gathers 11M rows from it, and a gather from a string column in several chunks
    # took 1.9 s (value) and 1.1 s (kind) on the campaign preset, from one chunk 0.1 s each.
    ranked = linking.lazy().sort("kind", "value", "signal_idx").collect().rechunk().with_row_index("rank")
    key = (
        affiliations.lazy().select("account_idx", "signal_idx")
        .join(ranked.lazy().select("signal_idx", "rank"), on="signal_idx")
        .select((pl.col("account_idx").cast(pl.UInt64) * 2**32 + pl.col("rank").cast(pl.UInt64)).alias("key"))
        .collect()["key"]
    )
    key = sort_keys(key)  # an account holds a value once: distinct keys, sorted alone (encode.sort_keys)
    account, rank = (key // 2**32).cast(pl.UInt32), (key % 2**32).cast(pl.UInt32)
    return ranked, account, rank


def linking_values(affiliations: pl.DataFrame, signals: pl.DataFrame, index: pl.DataFrame,
                   partition: pl.DataFrame | None = None,
                   order: tuple[pl.DataFrame, pl.Series, pl.Series] | None = None) -> pl.DataFrame:
    """``linking.parquet``: every account's values that link accounts (``weight`` > 0), with ``df``.

    ``partition`` (``account_id, cluster_id``, the output ids) gives each row
    its account's cluster, so ``match`` reads one table.

    Values nobody else has, or too common to link (weight 0), are left out:
    ``expand`` quotes only what tied two accounts, and ``match`` recognises
    a cluster only by values its members share. So are the kinds in
    :data:`UNLISTED_KINDS`: prompt shingles (half the rows, and never a link
    on their own; ``memberships.parquet`` has clustered accounts' templates)
    timing bands and template bursts (minutes of one log, meaningless in the next). ``order`` is
    :func:`linking_order` of the same affiliations and signals, if already built.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 1, 0], "signal_idx": [0, 0, 1]}, schema=[
    ...     ("account_idx", pl.UInt32), ("signal_idx", pl.UInt32)])
    >>> s = pl.DataFrame({"signal_idx": [0, 1], "kind": ["payment", "ip"], "value": ["c1", "1.2.3.4"],
    ...                   "df": [2, 1], "weight": [3.0, 0.0]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> i = pl.DataFrame({"account_idx": [0, 1], "account_id": ["a", "b"]}, schema_overrides={"account_idx": pl.UInt32})
    >>> linking_values(m, s, i).rows()
    [('a', 'payment', 'c1', 2, 3.0, None), ('b', 'payment', 'c1', 2, 3.0, None)]
    """
    linking = signals.filter((pl.col("weight") > 0) & ~pl.col("kind").is_in(UNLISTED_KINDS)).select(
        "signal_idx", "kind", "value", "df", "weight")
    ids = index.select("account_idx", "account_id")
    ids = (ids.join(partition.select("account_id", "cluster_id"), on="account_id", how="left")
           if partition is not None else ids.with_columns(pl.lit(None, pl.Int64).alias("cluster_id")))
    ordered = positional_ids(ids)
    if ordered is None:
        return (affiliations.select("account_idx", "signal_idx").join(linking, on="signal_idx")
                .join(ids, on="account_idx")
                .select(list(LINKING_SCHEMA.names())).cast(dict(LINKING_SCHEMA))
                .sort("account_id", "kind", "value"))
    ranked, account, rank = order if order is not None else linking_order(affiliations, signals)
    return pl.DataFrame({
        "account_id": ordered["account_id"].gather(account),
        **{name: ranked[name].gather(rank) for name in ("kind", "value", "df", "weight")},
        "cluster_id": ordered["cluster_id"].gather(account),
    }).select(list(LINKING_SCHEMA.names())).cast(dict(LINKING_SCHEMA))
