"""Match on a shared address pool, second step: the pool's riders told apart by the minutes they act in.

An account matched on a shared proxy pool's addresses alone (no card, no
``--signal`` value of any known cluster) is matched to the pool's cluster it
shares the most concentrated addresses with: its biggest user, by chance. The
pool says only that the account is one of the pool's clusters
(:mod:`graphlink.stages.match_pools`). Its *riders*, clusters whose address
holdings are mostly on the matched cluster's addresses (:func:`graphlink.stages.match_pools.pool_mates`),
are the alternatives, and the new log tells them apart the way detection does
(:mod:`graphlink.stages.seed_minutes`): a cell fires in bursts a minute wide,
so a newcomer of the cell sends many of its requests within a minute of its
cell-mates' requests, and a stranger only by chance.

A rider's *minutes* are those within :data:`graphlink.stages.seed_minutes.MINUTE_TOLERANCE`
of a request of its earlier members seen again in the new log (they keep
their ids and clusters; accounts newly matched on other values are left out:
on the small dev worlds 1000-1005 with them, 13 newcomers of one cell went
to a 7-account cluster a newcomer of their cell had been matched to on other
values: recall 0.925, precision 0.962 against 0.930 and 0.966 without), and
only when those members keep a minute clock together, as seeds must in
:func:`graphlink.stages.seed_minutes.seed_minutes`: at least two of them, each
with its requests tied beyond chance to the others' minutes. Two earlier
members of different cells that Leiden left in one small cluster are no
cell's bursts (small dev 1011 and 1012: 9 newcomers moved to such 4- and
7-account clusters without this; over small dev 1000-1019 recall / precision
0.9487 / 0.9835 without it, 0.9494 / 0.9840 with it, 0.9513 / 0.9856 asking
only half the members to be tied, but that lets 39 newcomers of 1m dev 1003
move to a cluster of a sibling cell firing in the same instants). An
account in doubt moves to the rider whose minutes hold its requests beyond
chance (the Chernoff bound of :func:`graphlink.stages.seed_minutes.chance_bound`
at most :data:`graphlink.stages.seed_minutes.MAX_CHANCE`, with the chance the
share of the log's minutes that are the rider's) *and* beyond its own
schedule (at least :data:`graphlink.stages.seed_minutes.BEYOND_SCHEDULE` times
as densely as in the rider's minutes shifted by a few hours, so office hours
two clusters keep alike do not count, and as in them shifted by a day,
:data:`DAY_SHIFTS`, so a daily job at a rider's minute does not count either:
a rider whose bursts come at one time each day is told from a cron job by
nothing the minutes hold), most significantly of the riders, and
more than with the cluster it was matched to. Otherwise it stays.
"""

from __future__ import annotations

import math

import polars as pl

from graphlink.stages.match_pools import DEFAULT_MIN_POOL_SHARE, POOL_KINDS, pool_mates
from graphlink.stages.seed_minutes import BEYOND_SCHEDULE, MAX_CHANCE, MINUTE_TOLERANCE, SCHEDULE_SHIFTS, chance_bound

__all__ = ["DAY_SHIFTS", "in_doubt", "move_to_riders", "new_minutes", "riders_by_minutes"]

#: Hours by which the rider's minutes are shifted to read a *daily* schedule, apart from the hour shifts
#: (:data:`graphlink.stages.seed_minutes.SCHEDULE_SHIFTS`): a job firing at one time of day hits a rider's
#: daily burst at that minute every day, and as often the same minute a day before or after; an hour off
#: it, never. Each clock is averaged over its own shifts (averaged with the hour shifts, a daily job would
#: show a third of its hits off the rider's minutes and pass). A log of one day has no day shift to read
#: (shifted minutes fall outside it): the control costs nothing there.
DAY_SHIFTS = (-24, 24)


def new_minutes(frame: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """``account_id, m, events``: each account's requests per UTC minute of the new log (``m``: minutes since the epoch).

    ``frame`` is the encoded events (``account_idx, timestamp``), ``index`` their account ids (row order);
    empty without timestamps.
    """
    if "timestamp" not in frame.columns:
        return pl.DataFrame(schema={"account_id": pl.String, "m": pl.Int64, "events": pl.Int64})
    per = (frame.select("account_idx", (pl.col("timestamp").dt.epoch("s") // 60).alias("m")).drop_nulls("m")
           .group_by("account_idx", "m").agg(pl.len().cast(pl.Int64).alias("events")))
    ids = index.select(pl.col("account_id").cast(pl.String)).with_row_index("account_idx")
    return (per.join(ids.with_columns(pl.col("account_idx").cast(per.schema["account_idx"])), on="account_idx")
            .select("account_id", "m", "events"))


def in_doubt(best: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
    """``account_id, cluster_id``: the matched accounts whose strong values shared with known clusters are all addresses.

    ``best`` has each matched account's ``cluster_id``; ``hits`` its shared values (``kind``, ``strong``).
    """
    other = hits.filter(pl.col("strong") & ~pl.col("kind").is_in(POOL_KINDS)).select("account_id").unique()
    return best.select("account_id", "cluster_id").join(other, on="account_id", how="anti")


def riders_by_minutes(doubt: pl.DataFrame, settled: pl.DataFrame, minutes: pl.DataFrame,
                      held: pl.DataFrame, addresses: pl.DataFrame, min_share: float = DEFAULT_MIN_POOL_SHARE,
                      max_chance: float = MAX_CHANCE, beyond: float = BEYOND_SCHEDULE,
                      tolerance: int = MINUTE_TOLERANCE, mates: pl.DataFrame | None = None) -> pl.DataFrame:
    """The accounts in doubt that move to a rider of their cluster's pool, and why.

    Parameters
    ----------
    doubt : DataFrame
        ``account_id, cluster_id``: accounts matched on addresses alone (:func:`in_doubt`).
    settled : DataFrame
        ``account_id, cluster_id``: the earlier run's members seen again in the new log.
    minutes : DataFrame
        ``account_id, m, events`` of the new log (:func:`new_minutes`).
    held : DataFrame
        :func:`graphlink.stages.match_pools.address_holdings` of the earlier run.
    addresses : DataFrame
        ``account_id, value``: the doubted accounts' addresses known to the
        earlier run. A cluster that held none of an account's addresses is
        not among its riders (it would be one by chance, not by its pool).
    min_share, max_chance, beyond, tolerance : float, float, float, int
        :data:`graphlink.stages.match_pools.DEFAULT_MIN_POOL_SHARE`,
        :data:`graphlink.stages.seed_minutes.MAX_CHANCE`,
        :data:`graphlink.stages.seed_minutes.BEYOND_SCHEDULE`,
        :data:`graphlink.stages.seed_minutes.MINUTE_TOLERANCE`.
    mates : DataFrame, optional
        :func:`graphlink.stages.match_pools.all_pool_mates` of ``held``, looked up instead of judged.

    Returns
    -------
    DataFrame
        ``account_id, cluster_id, k, n``: the new cluster and how many of the
        account's ``n`` requests fell in its minutes (``k``); one row per moved account.
    """
    empty = pl.DataFrame(schema={"account_id": pl.String, "cluster_id": pl.Int64, "k": pl.Int64, "n": pl.Int64})
    if not doubt.height or not minutes.height or not settled.height:
        return empty
    # Riders of each doubted account's cluster: clusters with accounts in the new log that held one of the
    # account's addresses too and whose addresses lie mostly on the cluster's (pool_mates).
    present = settled.select(pl.col("cluster_id").alias("rider")).unique()
    touched = (addresses.join(held.select("value", pl.col("cluster_id").alias("rider")), on="value")
               .join(present, on="rider").join(doubt, on="account_id")
               .filter(pl.col("cluster_id") != pl.col("rider")).select("account_id", "cluster_id", "rider").unique())
    if not touched.height:
        return empty
    pairs = touched.select(pl.col("rider").alias("cluster_id"), pl.col("cluster_id").alias("mate_id")).unique()
    riders = pool_mates(held, pairs, min_share, mates).select(pl.col("mate_id").alias("cluster_id"),
                                                       pl.col("cluster_id").alias("rider"))
    candidates = pl.concat([doubt.select("account_id", "cluster_id", pl.col("cluster_id").alias("rider")),
                            touched.join(riders, on=["cluster_id", "rider"])])
    if candidates.height == doubt.height:
        return empty
    # Each candidate cluster's minutes (its settled accounts', widened by the tolerance) and their share of the log.
    span = max(int(minutes["m"].max() - minutes["m"].min()) + 1, 1)
    active = (minutes.join(settled.filter(pl.col("cluster_id").is_in(candidates["rider"].unique().implode())),
                           on="account_id").select(pl.col("cluster_id").alias("rider"), "m").unique())
    wide = pl.concat([active.select("rider", pl.col("m") + d) for d in range(-tolerance, tolerance + 1)]).unique()
    share = wide.group_by("rider").agg((pl.len() / span).alias("q"))
    # The chance q is a column: each rider's own.
    bound = chance_bound(pl.col("k").cast(pl.Float64), pl.col("n").cast(pl.Float64), pl.col("q"))
    # A rider's minutes are a clock only if its earlier members keep one together (seed_minutes' test: each of
    # them tied beyond chance to the others' minutes): two members of different cells are no cell's bursts.
    ridden = riders.select("rider").unique()
    rows = minutes.join(settled.join(ridden, left_on="cluster_id", right_on="rider", how="semi"), on="account_id")
    near = (pl.concat([rows.select(pl.col("cluster_id").alias("rider"), "account_id", pl.col("m") + d)
                       for d in range(-tolerance, tolerance + 1)]).unique()
            .group_by("rider", "m").agg(pl.col("account_id").n_unique().alias("with")))
    tied = (rows.rename({"cluster_id": "rider"}).join(near, on=["rider", "m"])
            .group_by("rider", "account_id").agg(pl.col("events").filter(pl.col("with") >= 2).sum().alias("k"),
                                                 pl.col("events").sum().alias("n"))
            .join(share, on="rider").with_columns(bound.alias("bound")))
    clocked = (tied.group_by("rider").agg(((pl.len() >= 2) & (pl.col("bound") <= math.log(max_chance)).all())
                                          .alias("clock")).filter("clock").select("rider"))
    candidates = pl.concat([candidates.filter(pl.col("rider") == pl.col("cluster_id")),
                            candidates.filter(pl.col("rider") != pl.col("cluster_id")).join(clocked, on="rider")])
    if candidates.height == doubt.height:
        return empty
    own = minutes.join(candidates.select("account_id").unique(), on="account_id")
    n = own.group_by("account_id").agg(pl.col("events").sum().alias("n"))

    def hits(shift: int, pairs: pl.DataFrame) -> pl.DataFrame:
        return (own.with_columns(pl.col("m") + 60 * shift).join(pairs.select("account_id", "rider"), on="account_id")
                .join(wide, on=["rider", "m"]).group_by("account_id", "rider").agg(pl.col("events").sum().alias("k")))

    scored = (candidates.join(hits(0, candidates), on=["account_id", "rider"], how="left").join(n, on="account_id")
              .join(share, on="rider", how="left").with_columns(pl.col("k").fill_null(0), pl.col("q").fill_null(0.0))
              .with_columns(bound.alias("bound")))
    stay = scored.filter(pl.col("rider") == pl.col("cluster_id")).select("account_id", pl.col("bound").alias("stay"))
    chance = (scored.filter((pl.col("rider") != pl.col("cluster_id")) & (pl.col("bound") <= math.log(max_chance)))
              .join(stay, on="account_id", how="left").filter(pl.col("bound") < pl.col("stay").fill_null(0.0)))
    if not chance.height:
        return empty
    # ... and beyond the account's own schedule: the rider's minutes shifted by hours hold far fewer of its requests,
    # and so do they shifted by a day (a daily job at the rider's minute is a schedule too), each on average.
    off = (pl.concat([hits(s, chance).with_columns(pl.lit(i).alias("clock"), (pl.col("k") / len(shifts)).alias("k"))
                      for i, shifts in enumerate((SCHEDULE_SHIFTS, DAY_SHIFTS)) for s in shifts])
           .group_by("account_id", "rider", "clock").agg(pl.col("k").sum().alias("k_off"))
           .group_by("account_id", "rider").agg(pl.col("k_off").max()))
    best = (chance.join(off, on=["account_id", "rider"], how="left")
            .filter(pl.col("k") >= beyond * pl.col("k_off").fill_null(0.0))
            .sort(["account_id", "bound", "rider"]).group_by("account_id", maintain_order=True).first())
    return best.select("account_id", pl.col("rider").cast(pl.Int64).alias("cluster_id"),
                       pl.col("k").cast(pl.Int64), pl.col("n").cast(pl.Int64))


def move_to_riders(matched: pl.DataFrame, best: pl.DataFrame, hits: pl.DataFrame, members: pl.DataFrame | None,
                   clusters: pl.DataFrame, minutes: pl.DataFrame, held: pl.DataFrame,
                   mates: pl.DataFrame | None = None) -> pl.DataFrame:
    """``matched`` with the accounts in doubt moved to the rider they act with (:func:`riders_by_minutes`).

    ``matched`` has ``account_id, cluster_id, campaign_id, score, why`` (the
    newly matched accounts), ``best`` each one's ``cluster_id``, ``hits`` the
    shared values, ``members`` the earlier run's members seen again
    (``account_id, cluster_id``: never in doubt, and the only accounts whose
    minutes are a cluster's, so that an account matched by mistake does not
    carry its own cell's minutes to another cluster), ``clusters``
    ``cluster_id, campaign_id``,
    ``held`` :func:`graphlink.stages.match_pools.address_holdings` (``mates``, optional, their
    :func:`graphlink.stages.match_pools.all_pool_mates`).
    A moved account keeps its score (the pool's addresses count alike for
    the rider) and its ``why`` says the move.
    """
    if members is None or not members.height:
        return matched
    doubt = in_doubt(best, hits).join(members, on="account_id", how="anti")
    addresses = hits.filter(pl.col("kind") == "ip").join(doubt, on="account_id", how="semi").select("account_id", "value")
    moved = riders_by_minutes(doubt, members.select("account_id", "cluster_id").unique("account_id"), minutes, held,
                              addresses.unique(), mates=mates)
    if not moved.height:
        return matched
    rows = (moved.join(clusters.select("cluster_id", pl.col("campaign_id").alias("moved_campaign")).unique("cluster_id"),
                       on="cluster_id", how="left").rename({"cluster_id": "moved"}))
    note = pl.format("; acts within a minute of this cluster's earlier members, who rode the same address pool "
                     "({} of its {} requests)", "k", "n")
    return (matched.join(rows.with_columns(note.alias("note")), on="account_id", how="left")
            .with_columns(pl.coalesce("moved", "cluster_id").alias("cluster_id"),
                          pl.when(pl.col("moved").is_null()).then(pl.col("campaign_id"))
                          .otherwise(pl.col("moved_campaign")).alias("campaign_id"),
                          pl.concat_str([pl.col("why"), pl.col("note").fill_null("")]).alias("why"))
            .select(matched.columns))
