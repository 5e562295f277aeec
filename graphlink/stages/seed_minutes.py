"""The seeds' minute clock: the minutes in which the seed accounts act, and who else acts within them.

Used by :func:`graphlink.stages.expand.rank_accounts` after the hour clock
(:mod:`graphlink.stages.seed_clock`; reasoning and measurements in BENCHMARKS.md, issue 15,
"expand, sixth pass"). A scripted cell fires in bursts a minute wide (or a job at a fixed minute
of the hour), and each of its accounts takes part in some of the bursts: three seeds rarely fire in
the *same* minute, but a member of the cell sends a large share of its requests within a minute of
*some* seed's request, while an operator's other cells, on their own burst instants, and strangers
do so only by chance. The hour clock cannot see this where a sibling fires in the same hours, or a
job fires every hour.

The clock is read from ``minutes.parquet`` (events per clustered account and UTC minute; an
unclustered account has no row there and is never judged). The seeds' *minutes* are every minute
within :data:`MINUTE_TOLERANCE` of a seed's request (a burst straddles a minute's edge); their
share of the run's minutes ``q`` is what a stranger's requests hit by chance. Co-activity beyond
chance is tested with the Chernoff bound on the binomial tail (Chernoff 1952; Hoeffding 1963):
``P(X >= k) <= exp(-n KL(k/n || q))`` for ``X ~ Binomial(n, q)``, so ``k`` of an account's ``n``
requests in the seeds' minutes is no chance when that bound is at most :data:`MAX_CHANCE`. The
seeds *keep a minute clock* when each seed with rows is tied that way to the other seeds' minutes
(seeds acting uniformly around the clock are not). Then a listed account with rows and less than
:data:`OFF_MINUTES` of its requests in the seeds' minutes leaves the list, and an account further
down the order with at least :data:`ON_MINUTES` there, beyond chance, joins it. This is the
"lockstep" signal of CopyCatch (Beutel et al. 2013) and SynchroTrap (Cao et al. 2014) at the
resolution of a burst, read from the seeds instead of searched for.
"""

from __future__ import annotations

import math

import polars as pl

__all__ = ["BEYOND_SCHEDULE", "CLUSTER_ON_MINUTES", "MAX_CHANCE", "MINUTE_TOLERANCE", "OFF_MINUTES", "ON_MINUTES",
           "SCHEDULE_SHIFTS", "apply_minute_clock",
           "chance_bound",
           "minute_fit", "seed_minutes"]

#: A request is in the seeds' minutes when it falls within this many minutes of a seed's request
#: (bursts of up to two minutes straddle a minute's edge).
MINUTE_TOLERANCE = 1
#: Co-activity counts when the Chernoff bound on its chance is at most this (1 in 1,000).
MAX_CHANCE = 1e-3
#: A listed account whose minutes are known leaves the list with less than this share of its requests in
#: the seeds' minutes (chance is 1-5 % on the dev worlds; a cell's members send 10-80 % there).
OFF_MINUTES = 0.08
#: An account further down the order joins the list with at least this share there (and beyond chance):
#: dev worlds 544 cells at 0.2, 545 at 0.3, 541 at 0.1 (see BENCHMARKS.md).
ON_MINUTES = 0.3
#: ... or this share, for an account in the Leiden cluster every seed is in (with ``accounts`` given). Inside a
#: block of an operator's cells Leiden merged on its shared proxy pool, the links, the pool and the clients tie
#: the cell to its block-mates alike, and the minutes the seeds act in are what an investigator reads it by:
#: on dev (mixed 1000-1019, the seeds' cluster of cells whose seeds keep a minute clock) 14,051 cell members
#: and 104 others had at least 0.2 of their requests there beyond chance, 12,758 and 22 at 0.3; no benign
#: account either way. Dev cells at recall and precision >= 0.9 (BENCHMARKS.md "expand, eleventh pass"): 584 at
#: 0.3 (i.e. without this), 585 at 0.2 (1019/18), 586 at 0.15 (1011/12 too, but two more sibling accounts listed).
CLUSTER_ON_MINUTES = 0.2

#: Hours by which the seeds' minutes are shifted to read an account's own schedule: a job firing at :00 every
#: hour hits the seeds' :00 bursts and, as often, the :00 minutes one and two hours away; a member of the
#: seeds' cell fires with their bursts and rarely an hour off them.
SCHEDULE_SHIFTS = (-2, -1, 1, 2)
#: An account's co-activity with the seeds counts only when its requests fall in the seeds' minutes at least
#: this many times as densely (per minute) as in those shifted minutes: co-activity a common schedule explains
#: (cron at :00, hourly probes) is no one operator's mark (SynchroTrap, Cao et al. 2014, matches on time *and*
#: action; issue 17's first failure class). 2 is the smallest ratio a schedule cannot reach by its own jitter.
BEYOND_SCHEDULE = 2.0

_MINUTE_US = 60_000_000


def chance_bound(k: pl.Expr, n: pl.Expr, q: float | pl.Expr) -> pl.Expr:
    """Natural log of the Chernoff bound on ``P(X >= k)``, ``X ~ Binomial(n, q)``: ``-n KL(k/n || q)``, 0 when ``k/n <= q``.

    ``q`` is one chance for every row, or a column of them (each row's own).

    Examples
    --------
    One, ten and twenty of 20 requests in minutes that hold 5 % of the run's (``20 ln 0.05`` is -59.9):

    >>> df = pl.DataFrame({"k": [1.0, 10.0, 20.0], "n": [20.0, 20.0, 20.0]})
    >>> [round(v, 2) for v in df.select(chance_bound(pl.col("k"), pl.col("n"), 0.05).alias("b"))["b"]]
    [0.0, -16.61, -59.91]
    """
    q = q.clip(1e-12, 1 - 1e-12) if isinstance(q, pl.Expr) else pl.lit(min(max(q, 1e-12), 1 - 1e-12))
    f = k / n
    inner = f * (f / q).log() + (1 - f) * ((1 - f) / (1 - q)).log()
    kl = pl.when(f >= 1).then(-q.log()).otherwise(inner)
    return pl.when(f <= q).then(0.0).otherwise(-n * kl)


def _wide(minutes: pl.DataFrame, tolerance: int) -> pl.DataFrame:
    """``m``: every minute (int, minutes since the epoch) within ``tolerance`` of one of ``minutes``' ``m``."""
    base = minutes.select("m").unique()
    return pl.concat([base.select(pl.col("m") + d) for d in range(-tolerance, tolerance + 1)]).unique()


def minute_fit(minutes: pl.DataFrame, wide: pl.DataFrame, q: float) -> pl.DataFrame:
    """``account_id, k, n, fit, chance``: requests in ``wide``'s minutes, all requests, their share, the log chance bound.

    ``minutes`` has ``account_id, m, events`` (``m`` minutes since the epoch); ``wide`` has ``m``.

    Examples
    --------
    >>> m = pl.DataFrame({"account_id": ["a", "a", "b"], "m": [5, 9, 9], "events": [3, 1, 2]})
    >>> minute_fit(m, pl.DataFrame({"m": [5]}), 0.01).sort("account_id").select("account_id", "fit").rows()
    [('a', 0.75), ('b', 0.0)]
    """
    marked = minutes.join(wide.with_columns(pl.lit(True).alias("_in")), on="m", how="left")
    return (marked.group_by("account_id").agg(pl.col("events").filter(pl.col("_in").is_not_null()).sum().alias("k"),
                                              pl.col("events").sum().alias("n"))
            .with_columns((pl.col("k") / pl.col("n")).alias("fit"),
                          chance_bound(pl.col("k").cast(pl.Float64), pl.col("n").cast(pl.Float64), q).alias("chance")))


def _as_minutes(frame: pl.DataFrame) -> pl.DataFrame:
    """``account_id, m, events`` from ``minutes.parquet`` rows (``minute`` a UTC datetime)."""
    return frame.select("account_id", (pl.col("minute").dt.epoch("us") // _MINUTE_US).alias("m"),
                        pl.col("events").cast(pl.Int64))


def seed_minutes(minutes: pl.DataFrame, seeds: list[str], span: int, tolerance: int = MINUTE_TOLERANCE,
                 max_chance: float = MAX_CHANCE) -> pl.DataFrame | None:
    """The seeds' minutes when they keep a minute clock; else ``None``.

    Parameters
    ----------
    minutes : DataFrame
        ``account_id, m, events`` of the seeds (``m``: minutes since the epoch; other accounts' rows are ignored).
    seeds : list of str
        Seed account ids.
    span : int
        Minutes the run covers (first to last active minute): the chance a minute is the seeds'
        is their minutes over ``span``.
    tolerance : int
        :data:`MINUTE_TOLERANCE`.
    max_chance : float
        :data:`MAX_CHANCE`.

    Returns
    -------
    DataFrame or None
        ``m``: every minute within ``tolerance`` of a seed's request, shape (n, 1); ``None`` when
        fewer than two seeds have rows or a seed's requests are not tied beyond chance to the
        other seeds' minutes (each seed tested against the others: leave one out).

    Examples
    --------
    Three seeds firing in the same three bursts out of a day's minutes:

    >>> rows = [(s, m, 2) for s in ("s1", "s2", "s3") for m in (100, 500, 900)]
    >>> mins = pl.DataFrame(rows, schema=["account_id", "m", "events"], orient="row")
    >>> seed_minutes(mins, ["s1", "s2", "s3"], span=1440).height
    9
    """
    log_max = math.log(max_chance)
    own = minutes.filter(pl.col("account_id").is_in(pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode()))
    active = own["account_id"].unique().sort().to_list()
    if len(active) < 2 or span <= 0:
        return None
    for seed in active:
        others = _wide(own.filter(pl.col("account_id") != seed), tolerance)
        fit = minute_fit(own.filter(pl.col("account_id") == seed), others, others.height / span)
        if float(fit["chance"][0]) > log_max:
            return None
    return _wide(own, tolerance)


def apply_minute_clock(ordered: pl.DataFrame, keep: int, minutes: pl.DataFrame | pl.LazyFrame | None,
                       seeds: list[str], tolerance: int = MINUTE_TOLERANCE, max_chance: float = MAX_CHANCE,
                       off: float = OFF_MINUTES, on: float = ON_MINUTES, accounts: pl.DataFrame | None = None,
                       cluster_on: float = CLUSTER_ON_MINUTES) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """Hold an ``expand`` list to the seeds' minute clock, when they keep one (:func:`seed_minutes`).

    Listed non-seed accounts with rows in ``minutes`` and less than ``off`` of their requests in the
    seeds' minutes leave the list; accounts further down the order with at least ``on`` there (``cluster_on``
    for an account of the Leiden cluster every seed is in, with ``accounts``), beyond chance, join it after the
    kept ones, in their order. Accounts without rows (unclustered) are never judged.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    minutes : DataFrame, LazyFrame or None
        ``minutes.parquet`` (``account_id, cluster_id, minute, events``); ``None``: no clock.
    seeds : list of str
        The seed ids.
    tolerance, max_chance, off, on
        :data:`MINUTE_TOLERANCE`, :data:`MAX_CHANCE`, :data:`OFF_MINUTES`, :data:`ON_MINUTES`.
    accounts : DataFrame, optional
        ``account_id, cluster_id`` of every account of the run: the seeds' common cluster (none when a seed is
        unclustered or the seeds are in several), whose members join at ``cluster_on``; without it, ``on`` only.
    cluster_on : float
        :data:`CLUSTER_ON_MINUTES`.

    Returns
    -------
    tuple of (DataFrame, int, DataFrame)
        ``ordered`` rearranged (the kept prefix, the accounts joining, then the rest), the new prefix
        length, and ``account_id, fit`` of the listed non-seed accounts tied to the clock (at least
        ``on`` of their requests in the seeds' minutes, beyond chance; empty, and ``ordered`` and
        ``keep`` unchanged, when the seeds keep no minute clock).

    Examples
    --------
    Seeds s1-s3 and ``b`` fire in the same bursts; ``a`` (listed) fires at other minutes.

    >>> import datetime as dt
    >>> t0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    >>> bursts = [t0 + dt.timedelta(minutes=m) for m in (100, 500, 900, 1300)]
    >>> rows = [(s, 1, b, 1) for s in ("s1", "s2", "s3", "b") for b in bursts]
    >>> rows += [("a", 1, b + dt.timedelta(minutes=30), 1) for b in bursts] + [("z", 1, t0 + dt.timedelta(days=2), 1)]
    >>> mins = pl.DataFrame(rows, schema=["account_id", "cluster_id", "minute", "events"], orient="row")
    >>> ordered = pl.DataFrame({"account_id": ["s1", "s2", "s3", "a", "b"]})
    >>> out, keep, joined = apply_minute_clock(ordered, 4, mins, ["s1", "s2", "s3"])
    >>> out["account_id"].to_list()[:keep], joined["account_id"].to_list()
    (['s1', 's2', 's3', 'b'], ['b'])
    """
    none = pl.DataFrame(schema={"account_id": pl.String, "fit": pl.Float64})
    if minutes is None:
        return ordered, keep, none
    lazy = minutes.lazy()
    bounds = lazy.select(pl.col("minute").min().alias("lo"), pl.col("minute").max().alias("hi")).collect().row(0)
    if bounds[0] is None:
        return ordered, keep, none
    span = int((bounds[1] - bounds[0]).total_seconds() // 60) + 1
    seed_list = pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode()
    own = _as_minutes(lazy.filter(pl.col("account_id").is_in(seed_list)).collect())
    wide = seed_minutes(own, seeds, span, tolerance, max_chance)
    if wide is None:
        return ordered, keep, none
    every = _as_minutes(lazy.collect())
    fit = minute_fit(every, wide, wide.height / span)
    # The same minutes an hour or two away, the seeds' own excluded: what the account's schedule alone hits.
    shifted = pl.concat([wide.select(pl.col("m") + 60 * h) for h in SCHEDULE_SHIFTS]).unique().join(wide, on="m",
                                                                                                   how="anti")
    control = minute_fit(every, shifted, shifted.height / span).select("account_id", pl.col("k").alias("k_shifted"))
    fit = fit.join(control, on="account_id", how="left").with_columns(
        (pl.col("k") * max(shifted.height, 1) >= BEYOND_SCHEDULE * pl.col("k_shifted").fill_null(0) * wide.height)
        .alias("beyond"))
    is_seed = pl.col("account_id").is_in(seed_list)
    home = pl.Series("account_id", [], dtype=pl.String)
    if accounts is not None:
        clusters = accounts.filter(pl.col("account_id").is_in(seed_list))["cluster_id"]
        if not clusters.null_count() and clusters.n_unique() == 1:
            home = accounts.filter(pl.col("cluster_id") == clusters[0])["account_id"]
    # The share an account needs: lower inside the seeds' own cluster (the block's cells told apart by their minutes).
    need = pl.when(pl.col("account_id").is_in(home.implode())).then(pl.lit(min(on, cluster_on))).otherwise(pl.lit(on))
    marked = ordered.with_row_index("_pos").join(fit.select("account_id", "fit", "chance", "beyond"), on="account_id",
                                                  how="left").sort("_pos")
    head, rest = marked.head(keep), marked.slice(keep)
    stay = is_seed | pl.col("fit").is_null() | (pl.col("fit") >= off)
    kept, dropped = head.filter(stay), head.filter(~stay)
    tied = (pl.col("fit") >= need) & (pl.col("chance") <= math.log(max_chance)) & pl.col("beyond")
    joining = rest.filter(tied)
    others = rest.join(joining.select("account_id"), on="account_id", how="anti")
    out = pl.concat([kept, joining, dropped, others]).drop("_pos", "fit", "chance", "beyond")
    tied = ~is_seed & tied
    on_clock = pl.concat([kept, joining]).filter(tied)
    return out, kept.height + joining.height, on_clock.select("account_id", pl.col("fit").cast(pl.Float64))
