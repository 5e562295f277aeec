"""Seed consensus: the values every seed account has, and who else has them.

Used by :mod:`graphlink.stages.expand` to order accounts before the walk (its
module docstring has the reasoning and the measurements). Common neighbours
in the bipartite account-value graph (Liben-Nowell & Kleinberg 2007, "The
link-prediction problem for social networks"), rarity-weighted as in Adamic &
Adar 2003 ("Friends and neighbors on the Web"), required of the whole seed set
(Ghahramani & Heller 2005, "Bayesian sets"). Creation times count as a span:
seeds of one registration batch rarely share an hour but share the batch's
hours (:data:`TIME_KINDS`).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

__all__ = ["BATCH_OVER_TYPICAL", "CARD_KINDS", "MIN_CONSENSUS_SEEDS", "MAX_CHANCE", "TIME_KINDS", "batch_run",
           "card_evidence", "consensus_values", "seed_consensus"]

#: Seed consensus needs at least this many seeds: a value every one of two or more seeds holds
#: is the ring's; every value of a single seed is only that seed's.
MIN_CONSENSUS_SEEDS = 2
#: A value every seed has is the ring's evidence only if that is unlikely by chance:
#: ``(df / accounts) ** seeds <= MAX_CHANCE`` (3 seeds: held by at most 4.6 % of the run's accounts).
#: Without it, a popular client every seed uses (half the accounts of a crowded world) put thousands
#: of ordinary accounts level with the cell, ahead of the members that use another client
#: (crowds world 1004: 8 of 15 cells found instead of 11). Dev worlds (mixed 1000-1004): 1e-4 and
#: 1e-5 find 59 of 85 cells, 1e-6 and below 57, no bound 60; with the creation span, the reach rule
#: and the evidence's end as a boundary, 1e-4 66 (mixed 1005-1009: 165 of 201), 1e-5 62 (166).
MAX_CHANCE = 1e-4
#: Kinds whose values are the starts of time buckets (``%Y-%m-%dT%H:%M:%SZ``): a batch of accounts
#: registered over a few hours spreads over consecutive buckets, so seeds of one batch rarely share
#: one; for seed consensus they share the span from the earliest seed's bucket to the latest's.
TIME_KINDS = ("created_hour",)
#: Kinds whose values are cards: one holder's or one operator's, never a crowd's. When the seeds
#: share no value (each on its own card, a client the whole run uses), the accounts sharing a card
#: with any seed are their evidence (:func:`card_evidence`).
CARD_KINDS = ("payment",)
#: A creation bucket is part of a registration batch when it holds at least this many times the run's
#: median bucket: a script registering a cell's accounts fills consecutive hours far above the run's
#: ordinary sign-ups. The seeds then share every consecutive such bucket around theirs
#: (:func:`batch_run`): seeds that all fell in one hour of a four-hour batch shared that hour alone and
#: their list was cut to a quarter of the cell. Dev worlds (mixed 1000-1019, 614 cells, BENCHMARKS.md
#: "expand, ninth pass"): with the fall measured from the best evidence, 569 -> 574 cells at recall and
#: precision >= 0.9 at 3, none lost; 573 at 2 with buckets also holding half the seeds' own (the batch's
#: thinner edges then left out). With the rules of :mod:`graphlink.stages.seed_batch`, 578 at 3 and at 2
#: (2: one cell gained whose batch's edge hour holds 4 sign-ups, one 5-account cell lost).
BATCH_OVER_TYPICAL = 3.0


def batch_run(values: pl.DataFrame, seeds_at: pl.Series, width: timedelta,
              over: float = BATCH_OVER_TYPICAL) -> pl.DataFrame | None:
    """The seeds' registration batch: the runs of consecutive busy buckets holding a seed's bucket.

    A bucket is *busy* when it holds at least ``over`` times the run's median bucket (``df``). When the
    seeds' own buckets are busy on average, the consecutive busy buckets around them (each ``width``
    after the last, none skipped) are one batch registered by one script: seeds of it share all of it
    (:func:`consensus_values`), not only the hours they fell in.

    Parameters
    ----------
    values : DataFrame
        ``value, df, at`` of every bucket of one time kind in the run, sorted by ``at`` (datetime).
    seeds_at : Series
        The seeds' buckets (datetimes).
    width : timedelta
        The bucket width.
    over : float
        :data:`BATCH_OVER_TYPICAL`.

    Returns
    -------
    DataFrame or None
        The batch's rows of ``values``; ``None`` when the seeds' buckets do not stand out.

    Examples
    --------
    Sign-ups at 01:00-04:00 of 2, 20, 25 and 18 where the run's median hour holds 1: the seeds at
    02:00 share 02:00-04:00 (01:00 is no busier than the run).

    >>> from datetime import datetime, timezone
    >>> at = [datetime(2025, 1, 1, h, tzinfo=timezone.utc) for h in (1, 2, 3, 4, 9, 10, 11, 12, 13)]
    >>> values = pl.DataFrame({"value": [str(a) for a in at], "df": [2, 20, 25, 18, 1, 1, 1, 1, 1], "at": at})
    >>> batch_run(values, pl.Series([at[1]]), timedelta(hours=1))["df"].to_list()
    [20, 25, 18]
    """
    own = values.filter(pl.col("at").is_in(seeds_at.unique().implode()))
    floor = over * float(values["df"].median())
    if own.is_empty() or float(own["df"].mean()) < floor:
        return None  # the seeds' hours do not stand out from the run's typical hour: no batch to follow
    runs = values.with_columns(
        (((pl.col("at") - pl.col("at").shift(1)) != width).fill_null(True) | (pl.col("df") < floor)).cum_sum().alias("run"))
    keep = runs.filter(pl.col("at").is_in(seeds_at.unique().implode()) & (pl.col("df") >= floor))["run"].unique().implode()
    batch = runs.filter(pl.col("run").is_in(keep) & (pl.col("df") >= floor)).drop("run")
    return batch if batch.height else None


def consensus_values(linking: pl.DataFrame, seeds: list[str], n_accounts: int,
                     max_chance: float = MAX_CHANCE) -> pl.DataFrame:
    """``kind, value, weight`` of the values every seed has and that many seeds sharing by chance is unlikely.

    ``(df / n_accounts) ** len(seeds) <= max_chance`` (:data:`MAX_CHANCE`);
    parameters as :func:`seed_consensus`. Each value keeps its rarity weight,
    except a kind of :data:`TIME_KINDS` (bucket starts): there the seeds share
    their *span*, every bucket overlapping the seeds' earliest to latest bucket
    widened on each side by ``range / (seeds - 1)`` (the minimum-variance
    unbiased estimate of a uniform interval's ends from that many draws), when
    every seed has a bucket. The span counts as one value held by the accounts
    of all its buckets (``df`` summed, the chance test on that sum) and weighs
    as that rare (``weight x sqrt(df / df_span)``: weights fall as ``1 / sqrt(df)``).
    When the seeds' buckets stand out from the run's typical bucket, the span also takes in the
    consecutive busy buckets around them (:func:`batch_run`: the registration batch, whose length
    three seeds of one hour cannot show), unless that makes it too common by the same chance test.
    Shape (n, 3), sorted by kind and value.

    Examples
    --------
    Three seeds registered at 10:00, 11:00 and 12:00; the span reaches 09:00 and 13:00.

    >>> hours = ["2025-01-01T%02d:00:00Z" % h for h in (8, 9, 10, 11, 12, 13, 14)]
    >>> linking = pl.DataFrame({"account_id": ["x", "a", "s1", "s2", "s3", "b", "y"], "kind": "created_hour",
    ...                         "value": hours, "df": 2, "weight": 0.2})
    >>> span = consensus_values(linking, ["s1", "s2", "s3"], n_accounts=10_000)["value"]
    >>> span.len(), span.first(), span.last()
    (5, '2025-01-01T09:00:00Z', '2025-01-01T13:00:00Z')
    """
    seed_list = pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String)
    is_seed = pl.col("account_id").is_in(seed_list.implode())
    n = seed_list.len()
    chance = (pl.col("df").cast(pl.Float64) / max(n_accounts, 1)).pow(n)
    timed = pl.col("kind").is_in(pl.Series(TIME_KINDS, dtype=pl.String).implode())
    shared = [linking.filter(is_seed & ~timed & (chance <= max_chance)).group_by("kind", "value")
              .agg(pl.col("account_id").n_unique().alias("k"), pl.col("weight").first())
              .filter(pl.col("k") == n).select("kind", "value", pl.col("weight").cast(pl.Float64))]
    at = pl.col("value").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False, time_zone="UTC")
    for kind in TIME_KINDS if n >= MIN_CONSENSUS_SEEDS else ():
        values = (linking.filter(pl.col("kind") == kind).group_by("value")
                  .agg(pl.col("df").first(), pl.col("weight").first(), is_seed.any().alias("seed"))
                  .with_columns(at.alias("at")).drop_nulls("at").sort("at"))
        seeds_at = linking.filter(is_seed & (pl.col("kind") == kind)).with_columns(at.alias("at")).drop_nulls("at")
        if seeds_at["account_id"].n_unique() < n or values.height < 2:
            continue  # a seed without a bucket: no span every seed shares
        width = values["at"].diff().drop_nulls().min()  # the bucket width (the closest buckets held)
        if width is None or width <= timedelta(0):
            continue
        lo, hi = seeds_at["at"].min(), seeds_at["at"].max()
        pad = (hi - lo) / (n - 1)
        span = values.filter((pl.col("at") + width > lo - pad) & (pl.col("at") < hi + width + pad))
        batch = batch_run(values, seeds_at["at"], width)
        if batch is not None and ((int(batch["df"].sum()) / max(n_accounts, 1)) ** n <= max_chance):
            span = pl.concat([span, batch]).unique("value").sort("at")
        df_span = int(span["df"].sum())
        if (df_span / max(n_accounts, 1)) ** n > max_chance:
            continue
        weight = float((span["weight"] * (span["df"].cast(pl.Float64) / df_span).sqrt()).mean())
        shared.append(span.select(pl.lit(kind).alias("kind"), "value", pl.lit(weight).alias("weight")))
    return pl.concat(shared).sort("kind", "value")


def seed_consensus(linking: pl.DataFrame, seeds: list[str], n_accounts: int,
                   max_chance: float = MAX_CHANCE, shared: pl.DataFrame | None = None) -> pl.DataFrame:
    """Evidence each account shares with every seed: the summed weight of the values all seeds have.

    Parameters
    ----------
    linking : DataFrame
        ``account_id, kind, value, df, weight`` (``linking.parquet``: one row
        per linking value of an account, ``df`` how many accounts of the run
        have it, ``weight`` its rarity weight, the same for every holder).
    seeds : list of str
        Seed account ids.
    n_accounts : int
        Accounts in the run (the chance a random account has a value is ``df / n_accounts``).
    max_chance : float
        A value counts only if every seed having it by chance is this unlikely:
        ``(df / n_accounts) ** len(seeds) <= max_chance`` (:data:`MAX_CHANCE`).
    shared : DataFrame, optional
        :func:`consensus_values` of the same arguments, when the caller has it
        already (computed here otherwise).

    Returns
    -------
    DataFrame
        ``account_id, evidence, specific``: ``evidence`` (float, > 0) the
        summed weight of the values of :func:`consensus_values` each non-seed
        account holds (an hour of the seeds' creation span weighs as the span)
        times the share of those values it holds (the span counts as one value),
        ``specific`` how many accounts of the run hold the rarest of them (the
        span: every account of its buckets), one row per account holding at
        least one, sorted by id, shape (n, 3). Empty when the seeds share no such value.

    Notes
    -----
    Common neighbours in the bipartite account-value graph (Liben-Nowell &
    Kleinberg 2007), rarity-weighted (Adamic & Adar 2003), required of the
    whole seed set (module docstring).

    Examples
    --------
    Both seeds pay with card ``c1``; an address one seed used is not the ring's evidence.

    >>> linking = pl.DataFrame({"account_id": ["s1", "s2", "a", "b", "s1", "b"],
    ...                         "kind": ["payment"] * 4 + ["ip", "ip"],
    ...                         "value": ["c1", "c1", "c1", "c2", "9.9.9.9", "9.9.9.9"],
    ...                         "df": [3, 3, 3, 1, 2, 2], "weight": [3.0, 3.0, 3.0, 3.0, 1.0, 1.0]})
    >>> seed_consensus(linking, ["s1", "s2"], n_accounts=1000).rows()
    [('a', 3.0, 3)]
    """
    if shared is None:
        shared = consensus_values(linking, seeds, n_accounts, max_chance)
    is_seed = pl.col("account_id").is_in(pl.Series(seeds, dtype=pl.String).implode())
    timed = pl.col("kind").is_in(pl.Series(TIME_KINDS, dtype=pl.String).implode())
    held = linking.filter(~is_seed).drop("weight").join(shared, on=["kind", "value"])
    # How many accounts of the run hold the value (a time span: all its buckets).
    spans = (linking.join(shared.filter(timed).select("kind", "value"), on=["kind", "value"])
             .group_by("kind").agg(pl.col("account_id").n_unique().alias("span_df")))
    held = held.join(spans, on="kind", how="left").with_columns(
        pl.when(timed).then(pl.col("span_df")).otherwise(pl.col("df")).alias("held"))
    # Each value every seed has counts once; the creation span (all its buckets) is one value.
    one = pl.when(timed).then(pl.col("kind")).otherwise(pl.concat_str("kind", pl.lit("\x00"), "value"))
    n_values = max(shared.select(one.n_unique()).item() if shared.height else 1, 1)
    # Evidence is scaled by the share of the seeds' common values the account holds (a query's
    # consistent features all count: Ghahramani & Heller 2005): one of the operator's clients
    # alone, without the seeds' burst or card, is a sibling cell's, not theirs.
    return (held.group_by("account_id").agg(pl.col("weight").sum().alias("evidence"),
                                            pl.col("held").min().alias("specific"), pl.len().alias("n"))
            .with_columns(pl.col("evidence") * pl.col("n") / n_values).drop("n")
            .filter(pl.col("evidence") > 0).sort("account_id"))


def card_evidence(linking: pl.DataFrame, seeds: list[str], kinds: tuple[str, ...] = CARD_KINDS) -> pl.DataFrame:
    """Evidence of the accounts sharing a card with any seed: the fallback when the seeds share no value.

    Parameters
    ----------
    linking : DataFrame
        ``account_id, kind, value, df, weight`` (``linking.parquet``).
    seeds : list of str
        Seed account ids.
    kinds : tuple of str
        Card kinds (:data:`CARD_KINDS`).

    Returns
    -------
    DataFrame
        ``account_id, evidence, specific``: ``evidence`` the summed weight of the seeds' cards each
        non-seed account holds times the share of the seeds it shares one with, ``specific`` how many
        accounts hold the rarest of them (as :func:`seed_consensus`), sorted by id, shape (n, 3).

    Examples
    --------
    >>> linking = pl.DataFrame({"account_id": ["s1", "s2", "a", "b", "c"], "kind": "payment",
    ...                         "value": ["c1", "c2", "c1", "c2", "c9"], "df": [2, 2, 2, 2, 1], "weight": 3.0})
    >>> card_evidence(linking, ["s1", "s2"]).rows()
    [('a', 1.5, 2), ('b', 1.5, 2)]
    """
    seed_list = pl.Series(seeds, dtype=pl.String).implode()
    cards = linking.filter(pl.col("account_id").is_in(seed_list) & pl.col("kind").is_in(list(kinds)))
    held = (linking.filter(~pl.col("account_id").is_in(seed_list))
            .join(cards.select("kind", "value", pl.col("account_id").alias("seed")), on=["kind", "value"]))
    return (held.group_by("account_id").agg((pl.col("weight").sum() * pl.col("seed").n_unique() / len(seeds))
                                            .alias("evidence"), pl.col("df").min().cast(pl.Int64).alias("specific"))
            .sort("account_id"))
