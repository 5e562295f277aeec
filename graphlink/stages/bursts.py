"""Template bursts: accounts the pairwise evidence left alone, grouped by one template sent in one short window.

An operator that gives each account one short life -- a few requests in one
burst, its own proxy exit, often its own card -- leaves nothing strong two
accounts share, and a pair of them shares one or two minutes, which co-timing
rightly calls chance for a pair (:data:`graphlink.stages.cotiming.MIN_SHARED_MINUTES`).
The *group* is no chance: hundreds of accounts open their prompts with the
operator's template in the same few minutes. CopyCatch (Beutel et al., WWW
2013) looks for exactly that -- groups of accounts acting on the same target
in the same short window -- and SynchroTrap (Cao et al., CCS 2014) matches time
jointly with the action.

The test runs on the accounts the partition left unclustered (every engine
calls :func:`burst_partition` after the support check): a burst speaks only for
accounts no pairwise evidence placed, so no cluster the cards, addresses and
co-timing made is changed. Among those accounts, minus any on a schedule
(:func:`graphlink.stages.schedules.scheduled_accounts`: companies' jobs sending
one framework's system prompt at :00 are co-active by their schedulers, not by
one hand; active in :data:`MIN_SCHEDULED_HOURS` distinct hours or more, or three
quarters of a shorter log's, so a one-off account cannot pass as a job with three
runs):

* a *template* is a prompt's opening shingle -- its first ``ngram`` normalised
  words, the prompt signal's own shingle (:func:`graphlink.stages.signals.prompt.prompt_pairs`
  returns each sampled prompt's opening), so Unicode look-alikes and case are
  folded as for every prompt comparison;
* a *window* is :data:`WINDOW` minutes, on two grids shifted by half a window
  (a burst shorter than half a window lies whole inside one window of one grid);
* ``k`` accounts sent the template in the window; independence of *what* is
  sent and *when* predicts ``lambda`` of them: each of the template's ``n_t``
  senders is in the window with its own chance ``min(1, r * a_w / N)`` (``r``
  the windows it sent the template in, ``a_w`` the accounts active in the
  window, ``N`` the account-windows of the log), and ``lambda`` is their sum.
  Accounts are not equally likely to be in a window: a framework's heavy users
  are in every busy one, and counted alike (``lambda = n_t * a_w / n``, the
  pre-session-35 null) their usual 18 a window read as a burst in every window
  (18-20 framework users flagged on two independent test worlds); a template's
  senders pooled by their windows instead (``N_t * a_w / N``) let an operator
  hide a burst behind a few accounts sending its template all the time (the
  break-it review of session 35). Where every sender is in one window the
  three nulls agree;
* the value (template, window) is a *burst* when ``k >=`` :data:`MIN_HOLDERS`
  (a group, never a pair) and ``P(Poisson(lambda) >= k) < ALPHA / M``, a
  Bonferroni bound over ``M`` = templates x windows, every value the log could
  hold. The tail is bounded from above (:func:`graphlink.stages.burst_tails.trials_tail_bound`:
  the Poisson tail, or Chernoff-Hoeffding and Bernstein bounds when the burst is
  most of the window's traffic), so the test errs towards calling no burst.

Burst values are grouped when they share half the holders of the smaller one
(connected components), each account joins the smallest group among its bursts'
that makes a cluster (one account in two bursts does not merge them); a group of ``min_cluster_size``
accounts or more is a new cluster (and its own whole for the campaign stage),
scored like any other.
Each burst is a value of kind ``burst`` in the run's signals (``<opening> @
<window start>``), so the cluster's evidence, ``why`` and drill-down name it.

Output schemas
--------------
:func:`burst_values`: ``held`` -- ``account_idx`` UInt32, ``value_key`` UInt64,
``count`` UInt32 (the account's events of the template in the window);
``values`` -- ``value_key`` UInt64, ``value`` String, ``holders`` UInt32,
``expected`` Float64 (``lambda``), ``log10_p`` Float64 (the tail's upper bound).

References
----------
A. Beutel, W. Xu, V. Guruswami, C. Palow, C. Faloutsos, "CopyCatch: Stopping
Group Attacks by Spotting Lockstep Behavior in Social Networks", WWW 2013.
Q. Cao, X. Yang, J. Yu, C. Palow, "Uncovering Large Groups of Active Malicious
Accounts in Online Social Networks", CCS 2014.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import polars as pl

from graphlink.stages.account_rows import of_accounts
from graphlink.stages.burst_tails import hypergeometric_tail_bound, poisson_tail_bound, trials_tail_bound
from graphlink.stages.burst_templates import head_bystanders
from graphlink.stages.encode import distinct_pairs
from graphlink.stages.schedules import scheduled_accounts

__all__ = ["ALPHA", "BURST_KIND", "MIN_HOLDERS", "MIN_SCHEDULED_HOURS", "WINDOW", "append_clusters", "burst_partition", "burst_sent",
           "burst_signals", "burst_values", "hypergeometric_tail_bound", "poisson_tail_bound",
           "template_bursts", "with_burst_reason"]

#: Minutes of a window. A scripted burst lasts minutes; a window of ten holds one whole on one of the two
#: grids when it lasts five minutes or less, and still holds most of a longer one.
WINDOW = 10
#: Family-wise error rate over every (template, window) value of the log: on a log with no burst at all,
#: one in a hundred runs finds a false one.
ALPHA = 0.01
#: Fewest holders of a burst value: a group (CopyCatch's ``m >= 3``), never a pair.
MIN_HOLDERS = 3
#: Fewest distinct active hours of a scheduled account left out of the test (or three quarters of a shorter
#: log's hours): a company's hourly job runs for days, while three runs at one minute of the hour (what
#: :func:`scheduled_accounts` asks) cost a one-off account two extra requests and would hide it from the test
#: (break-it review, session 25).
MIN_SCHEDULED_HOURS = 24
#: The signal kind of burst values in a run's signals and evidence.
BURST_KIND = "burst"

_HELD_SCHEMA = {"account_idx": pl.UInt32, "value_key": pl.UInt64, "count": pl.UInt32}
_VALUE_SCHEMA = {"value_key": pl.UInt64, "value": pl.String, "holders": pl.UInt32, "expected": pl.Float64,
                 "log10_p": pl.Float64}


def burst_sent(frame: pl.DataFrame, openings: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, minute, template``: which template an account opened a sampled prompt with, when.

    ``frame`` holds one row per event: ``account_idx``, ``prompt`` (the prompt's
    hash, :mod:`graphlink.stages.encode`) and ``timestamp`` (or ``minute``:
    minutes since the epoch); ``openings`` is ``key, template`` (a sampled
    prompt's hash and its opening shingle's hash,
    :func:`graphlink.stages.signals.prompt.prompt_pairs`). Distinct rows,
    ``minute`` Int64; events without a time or an opening give none.
    """
    minute = (pl.col("minute").cast(pl.Int64) if "minute" in frame.columns
              else (pl.col("timestamp").dt.epoch("s") // 60).cast(pl.Int64)).alias("minute")
    return (frame.lazy().select("account_idx", minute, pl.col("prompt").alias("key")).drop_nulls()
            .join(openings.lazy().select("key", "template"), on="key")
            .select("account_idx", "minute", "template").unique().sort("account_idx", "minute", "template")
            .collect())


def _expected(cand: pl.DataFrame, sends: pl.DataFrame, pop: int) -> pl.DataFrame:
    """``cand`` (``template, win, k, a_w``) with ``n_t`` (the template's senders), ``expected`` and ``var``: the
    mean and variance of how many of them send it in the window when each does so independently, with chance
    ``min(1, r * a_w / pop)`` (``sends``: ``template, account_idx, r`` -- the windows the account sent it in;
    ``pop`` the log's account-windows). Summed over each template's senders by their number of windows
    (prefix sums, one as-of join), not sender by sender."""
    hist = (sends.group_by("template", "r").agg(pl.len().alias("c")).sort("r")
            .with_columns(pl.col("r").cast(pl.Float64))
            .with_columns(pl.col("c").cum_sum().over("template").alias("cn"),
                          (pl.col("r") * pl.col("c")).cum_sum().over("template").alias("cr"),
                          (pl.col("r") ** 2 * pl.col("c")).cum_sum().over("template").alias("cr2")))
    n_t = sends.group_by("template").agg(pl.len().alias("n_t"))
    rate = pl.col("a_w").cast(pl.Float64) / pop  # an account in r windows is in this one with chance r * rate
    cand = cand.join(n_t, on="template").with_columns((1.0 / rate).alias("tau")).sort("tau")
    below = hist.select("template", pl.col("r").alias("tau"), "cn", "cr", "cr2")  # senders with chance r * rate < 1
    cand = (cand.join_asof(below, on="tau", by="template", strategy="backward", check_sortedness=False)
            .with_columns(pl.col("cn", "cr", "cr2").fill_null(0)))
    return cand.with_columns((rate * pl.col("cr") + pl.col("n_t") - pl.col("cn")).alias("expected"),
                             (rate * pl.col("cr") - rate ** 2 * pl.col("cr2")).alias("var")
                             ).drop("tau", "cn", "cr", "cr2")


def burst_values(sent: pl.DataFrame, minutes: pl.DataFrame, texts: pl.DataFrame | None = None,
                 window: int = WINDOW, alpha: float = ALPHA, min_holders: int = MIN_HOLDERS,
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(held, values)``: the burst values among ``sent`` and who holds them (schemas in the module docstring).

    Parameters
    ----------
    sent : DataFrame
        ``account_idx, minute, template`` (:func:`burst_sent`) of the accounts tested.
    minutes : DataFrame
        ``account_idx, key``: the tested accounts' active minutes (any event, minutes since the epoch): the
        window's traffic ``a_w`` and the population ``n`` (account-windows, on each grid).
    texts : DataFrame, optional
        ``template, opening``: the text each burst is named by (the template's hash otherwise).
    window, alpha, min_holders : int, float, int
        :data:`WINDOW`, :data:`ALPHA`, :data:`MIN_HOLDERS`.

    Examples
    --------
    Two hundred accounts, each sending one request; eight open template 7 within three minutes, the
    others one of 20 other templates spread over 1,000 minutes:

    >>> rows = [(a, 500 + a % 3, 7) for a in range(8)] + [(a, a * 37 % 1000, a % 20 + 10) for a in range(8, 200)]
    >>> sent = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "minute": pl.Int64, "template": pl.UInt64},
    ...                     orient="row")
    >>> held, values = burst_values(sent, sent.select("account_idx", pl.col("minute").alias("key")))
    >>> sorted(held["account_idx"].unique().to_list())
    [0, 1, 2, 3, 4, 5, 6, 7]
    >>> values.select("holders", pl.col("expected").round(2), pl.col("log10_p").round(1)).rows()  # both grids
    [(8, 0.32, -11.2), (8, 0.32, -11.2)]
    """
    if sent.is_empty() or minutes.is_empty():
        return pl.DataFrame(schema=_HELD_SCHEMA), pl.DataFrame(schema=_VALUE_SCHEMA)
    mins = minutes.select("account_idx", pl.col("key").cast(pl.Int64).alias("minute"))
    n = mins["account_idx"].n_unique()
    t0, t1 = int(mins["minute"].min()), int(mins["minute"].max())
    n_templates = sent["template"].n_unique()
    half = max(window // 2, 1)
    found, n_windows = [], 0
    for shift in (0, half):
        win = ((pl.col("minute") - t0 + shift) // window).alias("win")
        n_windows += (t1 - t0 + shift) // window + 1
        traffic = distinct_pairs(mins.select("account_idx", win)).group_by("win").agg(pl.len().alias("a_w"))
        pop = int(traffic["a_w"].sum())  # account-windows of the log (on this grid)
        held = sent.select("template", "account_idx", win).unique()
        counts = held.group_by("template", "win").agg(pl.len().alias("k"))
        found.append(_expected(counts.filter(pl.col("k") >= min_holders).join(traffic, on="win"),
                               held.group_by("template", "account_idx").agg(pl.len().alias("r")), pop)
                     .with_columns(pl.lit(shift).alias("shift")))
    cand = pl.concat(found)
    if cand.is_empty():
        return pl.DataFrame(schema=_HELD_SCHEMA), pl.DataFrame(schema=_VALUE_SCHEMA)
    bound = math.log(alpha / (n_templates * n_windows))
    log_p = trials_tail_bound(cand["k"].to_numpy(), cand["expected"].to_numpy(), cand["var"].to_numpy(),
                              cand["n_t"].to_numpy())
    cand = cand.with_columns(pl.Series("log_p", log_p)).filter(pl.col("log_p") < bound)
    if cand.is_empty():
        return pl.DataFrame(schema=_HELD_SCHEMA), pl.DataFrame(schema=_VALUE_SCHEMA)
    windows = pl.concat([sent.with_columns(((pl.col("minute") - t0 + s) // window).alias("win"), pl.lit(s).alias("shift"))
                         for s in (0, half)])
    rows = windows.join(cand.select("template", "win", "shift"), on=["template", "win", "shift"])
    if texts is not None and "head" in texts.columns:
        rows = head_bystanders(rows, windows, cand, texts, n, alpha, min_holders)
        kept = rows.group_by("template", "win", "shift").agg(pl.col("account_idx").n_unique().alias("k"))
        cand = cand.drop("k").join(kept.filter(pl.col("k") >= min_holders), on=["template", "win", "shift"])
        cand = cand.with_columns(pl.Series("log_p", trials_tail_bound(  # the holders left, as tested
            cand["k"].to_numpy(), cand["expected"].to_numpy(), cand["var"].to_numpy(), cand["n_t"].to_numpy()))
        ).filter(pl.col("log_p") < bound)
    start = ((pl.col("win") * window - pl.col("shift") + t0) * 60_000_000).cast(pl.Datetime("us", "UTC"))
    named = texts.select("template", "opening") if texts is not None else pl.DataFrame(
        schema={"template": pl.UInt64, "opening": pl.String})
    # Keys by (window start, template): the same in every engine (the template is the seed-salted shingle hash).
    cand = (cand.with_columns(start.alias("start")).sort("start", "template", "shift")
            .with_row_index("value_key").with_columns(pl.col("value_key").cast(pl.UInt64))
            .join(named, on="template", how="left", maintain_order="left"))
    label = pl.coalesce("opening", pl.col("template").cast(pl.String))
    values = cand.select("value_key", pl.concat_str([label, pl.lit(" @ "), pl.col("start").dt.strftime("%Y-%m-%dT%H:%MZ"),
                                                     pl.lit(f" (+{window} min)")]).alias("value"),
                         pl.col("k").cast(pl.UInt32).alias("holders"), "expected",
                         (pl.col("log_p") / math.log(10)).alias("log10_p"))
    held = (rows.join(cand.select("template", "win", "shift", "value_key"), on=["template", "win", "shift"])
            .group_by("account_idx", "value_key").agg(pl.len().alias("count"))
            .sort("value_key", "account_idx"))
    return held.cast(_HELD_SCHEMA), values.cast(_VALUE_SCHEMA)


def burst_partition(partition: pl.DataFrame, sent: pl.DataFrame, minutes: pl.DataFrame,
                    account_stats: pl.DataFrame | None, min_size: int, wholes: pl.DataFrame | None = None,
                    texts: pl.DataFrame | None = None, schedules: pl.DataFrame | None = None,
                    ) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Group the unclustered accounts that share burst values: ``(partition, wholes, held, values, stats)``.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: unclustered), after the support check.
    sent, minutes : DataFrame
        :func:`burst_values`' inputs for (at least) the unclustered accounts; other accounts are ignored.
    account_stats : DataFrame, optional
        Per-account prompt counts: which accounts :func:`graphlink.stages.schedules.scheduled_accounts` tests.
    min_size : int
        Fewest accounts of a new cluster (``CommunityConfig.min_cluster_size``).
    wholes : DataFrame, optional
        The clusters before blocks were split (:func:`graphlink.stages.blocks.split_wholes`): each new
        cluster is its own whole.
    texts : DataFrame, optional
        ``template, opening`` (burst names).
    schedules : DataFrame, optional
        :func:`graphlink.stages.schedules.scheduled_accounts` of every account (with ``account_stats``), already
        computed (the pipeline's, beside Leiden): cut to the unclustered accounts instead of testing them again.

    Returns
    -------
    partition, wholes
        With new clusters numbered after the largest id.
    held, values
        :func:`burst_values` restricted to the new clusters' members.
    stats
        ``burst_values``, ``burst_accounts`` (holders), ``burst_clusters`` (new clusters),
        ``burst_scheduled`` (unclustered accounts left out as scheduled: on a schedule in
        :data:`MIN_SCHEDULED_HOURS` distinct hours or more, or three quarters of a shorter log's).
    """
    left = partition.filter(pl.col("cluster_id").is_null()).select("account_idx")
    mins = minutes.join(left, on="account_idx", how="semi").select("account_idx", "key")
    # (scheduled_accounts answers only the accounts it tests: the others are not on a schedule)
    # (per account, so every account's, ``schedules``, cut to these is the same rows: the pipeline has them)
    tested = scheduled_accounts(mins, account_stats) if schedules is None else of_accounts(schedules, left)
    scheduled = tested.filter("scheduled").select("account_idx")
    # (only a schedule kept up for a day of hours, or three quarters of a shorter log's: a one-off account
    # with three runs is no company's job)
    hour = pl.col("key").cast(pl.Int64) // 60
    log_hours = 0 if mins.is_empty() else int(mins.select(hour.max() - hour.min() + 1).item())
    lasting = (mins.join(scheduled, on="account_idx", how="semi")
               .group_by("account_idx").agg(hour.n_unique().alias("hours"))
               .filter(pl.col("hours") >= min(MIN_SCHEDULED_HOURS, 3 * log_hours // 4)))
    scheduled = scheduled.join(lasting, on="account_idx", how="semi")
    held, values = burst_values(sent.join(left, on="account_idx", how="semi").join(scheduled, on="account_idx", how="anti"),
                                mins.join(scheduled, on="account_idx", how="anti"), texts)
    stats = {"burst_values": values.height, "burst_accounts": held["account_idx"].n_unique(), "burst_clusters": 0,
             "burst_scheduled": scheduled.height}
    if held.is_empty():
        return partition, wholes, held, values, stats
    import igraph as ig  # (loaded only here: commands that build no graph do not load igraph)

    # Bursts are grouped, not accounts: two burst values are one group's when they share half the holders of
    # the smaller (the two grids of one burst, the windows of a longer one, one fleet's next burst). One account
    # sharing two bursts does not join them: an operator's account pasting a workshop's prompt in the
    # workshop's minutes would bring the whole class into the operator's cluster (break-it review, session 25).
    vals = (held.group_by("value_key").agg(pl.len().alias("h")).sort("value_key").with_row_index("v")
            .with_columns(pl.col("v").cast(pl.Int64)))
    by_v = held.join(vals, on="value_key").select("account_idx", "v", "h")
    shared = (by_v.join(by_v, on="account_idx", suffix="_b").filter(pl.col("v") < pl.col("v_b"))
              .group_by("v", "v_b").agg(pl.len().alias("both"), pl.col("h").first(), pl.col("h_b").first())
              .filter(2 * pl.col("both") >= pl.min_horizontal("h", "h_b")))
    graph = ig.Graph(n=vals.height, edges=shared.select("v", "v_b").to_numpy().tolist())
    groups = vals.with_columns(pl.Series("comp", graph.connected_components().membership, dtype=pl.Int64))
    # Each account joins the smallest group among its bursts' that makes a cluster (ties: the group of the
    # smaller first account, then the group of the first burst value, comp: components are numbered by their
    # values' order) and keeps only that group's burst values: one account of a fleet pasting a
    # workshop's prompt joins the class, not the class the fleet. Without the last key, an account first of two
    # groups of one size joined either as the unordered rows fell (dev mixed 1009: one account between two
    # 3-account groups moved with PYTHONHASHSEED; break-it review, session 49).
    in_group = by_v.join(groups.select("v", "comp"), on="v").select("account_idx", "comp").unique()
    sizes = in_group.group_by("comp").agg(pl.len().alias("size"), pl.col("account_idx").min().alias("first"))
    comp = (in_group.join(sizes, on="comp").with_columns((pl.col("size") < min_size).alias("small"))
            .sort("account_idx", "small", "size", "first", "comp").group_by("account_idx", maintain_order=True)
            .agg(pl.col("comp").first()))
    held = held.join(groups.select("value_key", "comp"), on="value_key").join(
        comp, on=["account_idx", "comp"], how="semi").drop("comp")
    big = comp.group_by("comp").agg(pl.len().alias("n"), pl.col("account_idx").min().alias("first")).filter(
        pl.col("n") >= min_size)
    if big.is_empty():
        return partition, wholes, held.clear(), values.clear(), stats
    out, wholes, new = append_clusters(partition, wholes, comp, big)
    held = held.join(new.select("account_idx"), on="account_idx", how="semi")
    values = values.join(held.select("value_key").unique(), on="value_key", how="semi")
    stats["burst_clusters"] = big.height
    return out, wholes, held, values, stats


def append_clusters(partition: pl.DataFrame, wholes: pl.DataFrame | None, assigned: pl.DataFrame,
                    groups: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame]:
    """Unclustered accounts given new clusters: ``(partition, wholes, new)``.

    ``assigned`` maps ``account_idx`` to a group key (its one other column); ``groups`` holds the keys to add with
    ``first``, each group's smallest account. New ids follow ``partition``'s largest, numbered by ``first`` (the same
    whatever the groups' order); ``wholes`` (when given) gets them after its own largest. ``new``: ``account_idx``,
    ``new`` (the id in ``partition``). Used by the burst groups and :mod:`graphlink.stages.hub_twins`.
    """
    key = next(c for c in assigned.columns if c != "account_idx")
    top = int(partition["cluster_id"].max() or 0)
    new = assigned.join(groups.select(key, (pl.col("first").rank("dense") + top).alias("new")), on=key).select(
        "account_idx", pl.col("new").cast(partition.schema["cluster_id"]))
    out = partition.join(new, on="account_idx", how="left", maintain_order="left").with_columns(
        pl.coalesce("cluster_id", "new").alias("cluster_id")).drop("new")
    if wholes is not None:
        shift = int(wholes["cluster_id"].max() or 0) - top
        wholes = wholes.join(new, on="account_idx", how="left", maintain_order="left").with_columns(
            pl.coalesce("cluster_id", (pl.col("new") + shift).cast(wholes.schema["cluster_id"])).alias("cluster_id")
        ).drop("new")
    return out, wholes, new


def burst_signals(signals: pl.DataFrame, memberships: pl.DataFrame, held: pl.DataFrame, values: pl.DataFrame,
                  weight: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(signals, memberships)`` with the burst values appended (kind :data:`BURST_KIND`, numbered after the
    last signal, so both tables keep their order), so that evidence, ``why`` and drill-down show them.
    ``weight``: what one burst value weighs (``GraphConfig.co_timing_weight``: group co-timing as strong as a
    verified co-timed pair)."""
    if values.is_empty():
        return signals, memberships
    first = signals.height and int(signals["signal_idx"].max()) + 1
    numbered = values.sort("value_key").with_row_index("signal_idx", offset=first)
    rows = numbered.select("signal_idx", pl.lit(BURST_KIND).alias("kind"), "value", pl.col("holders").alias("df"),
                           pl.lit(weight, pl.Float64).alias("weight"), pl.lit(True).alias("linked"))
    extra = [c for c in signals.columns if c not in rows.columns]
    rows = rows.with_columns([pl.lit(None).alias(c) for c in extra]).select(signals.columns).cast(signals.schema)
    member = (held.join(numbered.select("value_key", "signal_idx"), on="value_key")
              .select("account_idx", "signal_idx", "count", pl.lit(1.0).alias("damp")))
    member = member.select([c for c in memberships.columns]).cast(memberships.schema).sort("signal_idx", "account_idx")
    return pl.concat([signals, rows]), pl.concat([memberships, member])


def template_bursts(partition: pl.DataFrame, wholes: pl.DataFrame | None, projection: Any, signal_set: Any,
                    config: Any, minutes: Callable[[pl.DataFrame], pl.DataFrame], schedules: pl.DataFrame | None = None,
                    ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The burst step every engine runs after the support check: ``(partition, wholes)``.

    ``projection``'s ``signals`` and ``memberships`` are extended in place with the bursts
    (:func:`burst_signals`) and ``signal_set.stats`` with :func:`burst_partition`'s counts. Nothing happens
    when ``config.communities.template_bursts`` is off or the log has no prompts or no timestamps
    (``signal_set.openings`` None: ``(sent, opening_texts, thin)``, :func:`burst_sent` of the sampled prompts,
    ``template, opening`` and the thin accounts' phrases, :mod:`graphlink.stages.burst_writing`). ``minutes(left)``
    gives the engine's active minutes (``account_idx, key``) of the unclustered accounts ``left`` (``account_idx``);
    ``schedules``: every account's schedules, if already known (:func:`burst_partition`).
    """
    openings, min_size = signal_set.openings, config.communities.min_cluster_size
    left = partition.filter(pl.col("cluster_id").is_null()).select("account_idx")
    if (not config.communities.template_bursts or openings is None or openings[0].is_empty()
            or left.height < max(min_size, MIN_HOLDERS)):
        return partition, wholes
    partition, wholes, held, values, stats = burst_partition(partition, openings[0], minutes(left),
                                                             signal_set.account_stats, min_size, wholes, openings[1], schedules)
    projection.signals, projection.memberships = burst_signals(projection.signals, projection.memberships, held,
                                                               values, config.graph.co_timing_weight)
    signal_set.stats.update(stats)
    return partition, wholes


def with_burst_reason(clusters: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """``clusters`` with ``why`` opening with the template burst that grouped each burst cluster (evidence of
    kind :data:`BURST_KIND`): "N accounts opened their prompts with one template within 10 minutes: <value>"
    (the most held burst value; "(+K more bursts)" when there are others). One burst tested on both grids of
    :func:`burst_values` (windows half a window apart) is two values, "opening @ 14:01Z" and "opening @ 14:06Z":
    values of one opening whose windows overlap are counted as one burst, K counts the others.

    >>> ev = pl.DataFrame({"cluster_id": [1, 1, 1], "kind": [BURST_KIND] * 3, "accounts_sharing": [9, 8, 5],
    ...                    "value": ["hi @ 2025-01-06T14:01Z (+10 min)", "hi @ 2025-01-06T14:06Z (+10 min)",
    ...                              "hi @ 2025-01-07T09:00Z (+10 min)"]})
    >>> with_burst_reason(pl.DataFrame({"cluster_id": [1], "why": [""]}), ev)["why"][0]
    '9 accounts opened their prompts with one template within 10 minutes, far beyond chance: hi @ 2025-01-06T14:01Z (+10 min) (+1 more bursts)'
    """
    bursts = evidence.filter(pl.col("kind") == BURST_KIND)
    if bursts.is_empty():
        return clusters
    # One burst per opening and run of overlapping windows (both grids' values of one burst start < WINDOW apart).
    opening = pl.col("value").str.replace(r" @ \d{4}-\d\d-\d\dT\d\d:\d\dZ \(\+\d+ min\)$", "")
    start = pl.col("value").str.extract(r" @ (\d{4}-\d\d-\d\dT\d\d:\d\dZ) \(\+\d+ min\)$", 1).str.to_datetime(
        "%Y-%m-%dT%H:%MZ", strict=False)
    distinct = (bursts.select("cluster_id", opening.alias("_o"), start.alias("_s")).sort("cluster_id", "_o", "_s")
                .with_columns(((pl.col("_s").diff().over("cluster_id", "_o") >= pl.duration(minutes=WINDOW))
                               | pl.col("_s").diff().over("cluster_id", "_o").is_null()).alias("_new"))
                .group_by("cluster_id").agg(pl.col("_new").sum().alias("_k")))
    top = (bursts.sort("cluster_id", "accounts_sharing", "value", descending=[False, True, False])
           .group_by("cluster_id", maintain_order=True).agg(pl.col("accounts_sharing").first().alias("_n"),
                                                            pl.col("value").first().alias("_v"))
           .join(distinct, on="cluster_id", how="left"))
    reason = pl.concat_str([pl.col("_n").cast(pl.String), pl.lit(f" accounts opened their prompts with one template within "
                                                                  f"{WINDOW} minutes, far beyond chance: "), pl.col("_v"),
                            pl.when(pl.col("_k") > 1).then(pl.format(" (+{} more bursts)", pl.col("_k") - 1)).otherwise(pl.lit(""))])
    return (clusters.join(top, on="cluster_id", how="left")
            .with_columns(pl.when(pl.col("_n").is_null()).then(pl.col("why"))
                          .when(pl.col("why").is_null() | (pl.col("why") == "")).then(reason)
                          .otherwise(pl.concat_str([reason, pl.lit("; "), pl.col("why")])).alias("why"))
            .drop("_n", "_v", "_k"))
