"""Co-timing: pairs a template or a clock proposes, linked when their minutes agree.

A template (prompt n-grams) is shared by a whole operator and by strangers
writing stock phrases; a clock (a MinHash band of active minutes, kind
``timing``) by unrelated companies whose cron jobs fire at :00. Each alone is
weak evidence (``KindSpec.strong = False``: it only reinforces a link a card,
an address or an identifier made). An operator that pays with a card per
account and rotates through a residential pool leaves nothing strong at all,
and its cells used to fall apart into slivers of chance address meetings.
What its script does leave is the same minutes, again and again, on the
accounts of one cell: SynchroTrap (Cao et al., CCS 2014) matches users on
time *and* action jointly, CopyCatch (Beutel et al., WWW 2013) on lockstep
behaviour.

So the pairs these weak kinds project (:data:`CANDIDATE_KINDS`) that nothing
strong links are checked against their exact active minutes
(:func:`verify_pairs`):

* the rarity-weighted Jaccard similarity of the two minute sets, a minute
  weighing ``log(N / d)`` where ``d`` accounts were active in it (a busy
  minute says little), at least :data:`MIN_MINUTE_JACCARD`;
* at least :data:`MIN_SHARED_MINUTES` shared minutes;
* shared minutes spread over the hour: at least :data:`MIN_PHASES` distinct
  minutes past the hour (each at its own minute past the hour when only two
  are shared), none holding more than :data:`MAX_PHASE_SHARE` of them.
  Co-activity a common schedule explains (every job at :00, or :00 and :30)
  is what unrelated companies share, again and again: their many shared
  minutes fall on one or two phases. A script's bursts fall at any minute;
* each account of the pair agrees so with another account too
  (:data:`MIN_PARTNERS`): lockstep is a group's (CopyCatch looks for groups of
  at least ``m`` users acting together), while two strangers busy in the same
  evening make an agreeing pair by chance and rarely a third.

A verified pair is linked as strongly as ``GraphConfig.co_timing_weight``.

Output schemas
--------------
:func:`account_minutes`: ``account_idx`` UInt32, ``minute`` UInt32 (minutes since the epoch),
distinct, sorted.
:func:`verify_pairs`: ``key`` UInt64 (``source * 2**32 + target``), ``weight`` Int64 (integer units
of :data:`graphlink.stages.linking.WEIGHT_SCALE`), sorted by key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from graphlink.stages.components import fmt_int
from graphlink.stages.encode import value_counts
from graphlink.stages.linking import WEIGHT_SCALE

__all__ = ["CoTiming", "CANDIDATE_KINDS", "MIN_MINUTE_JACCARD", "MIN_SHARED_MINUTES", "MIN_PHASES", "MAX_PHASE_SHARE", "MIN_PARTNERS", "MAX_MINUTES",
           "account_minutes", "minute_counts", "verify_pairs", "with_co_timed_support", "with_co_timing_reason"]

#: Weak kinds whose projected pairs are checked: a template and a clock. Not networks, ASNs, user
#: agents, e-mail domains or creation hours, which neighbours and colleagues share by where they are.
CANDIDATE_KINDS = ("prompt", "timing")
#: Smallest rarity-weighted minute Jaccard of a verified pair. Independent dev world 1 (11,000
#: accounts), pairs sharing a value and no card or address: 22 % of same-cell pairs reach 0.1,
#: pairs of two cells of one operator 0.0 %, of two operators 0 %, other pairs 0.0 %; pairs of two
#: benign teams 0.6 % (cron jobs at :00, which the phase rule below removes).
MIN_MINUTE_JACCARD = 0.1
#: Fewest shared minutes: one shared minute is a coincidence whatever the Jaccard of two tiny sets.
MIN_SHARED_MINUTES = 2
#: Fewest distinct minutes past the hour among the shared minutes (a job at :00 and :30 has 2), or
#: as many as there are shared minutes when fewer. Two shared minutes at two phases are what a
#: short-lived ring's members send a few requests each in its bursts most often share (its cells'
#: pairs rarely share three: independent dev world 1, a cell of 85 such accounts, 118 pairs pass
#: with 3 phases required of two or more shared minutes, 656 with this rule); a schedule's pairs share
#: many minutes on one or two phases (four at :00/:30 have 2 phases of 4 minutes and fail).
MIN_PHASES = 3
#: Largest share of the shared minutes at one minute past the hour.
MAX_PHASE_SHARE = 0.5
#: Most active minutes of an account co-timing checks: a week of requests every other minute. An
#: always-on client's minutes are no clock, and the check walks each pair's smaller minute set.
MAX_MINUTES = 5_040
#: Fewest accounts each account of a kept pair agrees with (itself in the pair included): lockstep
#: is a group's, and a pair alone is what two busy strangers in one evening make by chance.
MIN_PARTNERS = 2


def minute_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, minute, count`` (UInt32): events per account and active minute (60-second buckets
    from the epoch, whatever the timing signal's bucket) of events (``account_idx, timestamp``), sorted.

    One count serves co-timing (:func:`account_minutes`: its rows without the count) and the drill-down's
    per-minute table (:func:`graphlink.stages.drilldown.minutes_of`), which counted the events again.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = [datetime(2026, 1, 1, 0, m, s, tzinfo=timezone.utc) for m, s in ((0, 5), (0, 50), (3, 0))]
    >>> f = pl.DataFrame({"account_idx": [1, 1, 0], "timestamp": t}, schema_overrides={"account_idx": pl.UInt32})
    >>> minute_counts(f).rows()
    [(0, 29453763, 1), (1, 29453760, 2)]
    """
    # One packed key (account in the top 32 bits, minute below) sorted and read off its runs: on
    # the campaign preset's 24M events 1.5 s of CPU, against 4-10 s for unique() and a sort on
    # two columns (tests/test_packed_counts.py checks it against that definition); numpy sorts
    # the key (sort_keys: ~0.3 s of the 1.5).
    bucket = (pl.col("timestamp").dt.epoch("s") // 60).cast(pl.UInt32)
    packed = (pl.col("account_idx").cast(pl.UInt64) * 2**32 + bucket).alias("packed")
    runs = value_counts(frame.lazy().select(packed).drop_nulls().collect()["packed"])
    return runs.select((pl.col("packed") // 2**32).cast(pl.UInt32).alias("account_idx"),
                       (pl.col("packed") % 2**32).cast(pl.UInt32).alias("minute"), "count")


def account_minutes(frame: pl.DataFrame) -> pl.DataFrame:
    """Distinct ``account_idx, minute`` (60-second buckets from the epoch, whatever the timing
    signal's bucket) of events (``account_idx, timestamp``), sorted: :func:`minute_counts` without the count.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = [datetime(2026, 1, 1, 0, m, s, tzinfo=timezone.utc) for m, s in ((0, 5), (0, 50), (3, 0))]
    >>> f = pl.DataFrame({"account_idx": [1, 1, 0], "timestamp": t}, schema_overrides={"account_idx": pl.UInt32})
    >>> account_minutes(f).rows()
    [(0, 29453763), (1, 29453760)]
    """
    return minute_counts(frame).select("account_idx", "minute")


def verify_pairs(candidates: pl.DataFrame, minutes: pl.DataFrame, n_accounts: int, weight: float = 3.0,
                 min_jaccard: float = MIN_MINUTE_JACCARD, min_shared: int = MIN_SHARED_MINUTES,
                 min_phases: int = MIN_PHASES, max_phase_share: float = MAX_PHASE_SHARE) -> pl.DataFrame:
    """The candidate pairs whose active minutes agree (rules in the module docstring).

    Parameters
    ----------
    candidates : DataFrame
        ``key`` (UInt64 pair key, source in the top 32 bits); other columns are ignored.
    minutes : DataFrame
        ``account_idx, minute`` (:func:`account_minutes`).
    n_accounts : int
        Accounts in the run (the ``N`` of a minute's rarity ``log(N / d)``).
    weight : float
        Weight of a verified pair.

    Returns
    -------
    DataFrame
        ``key, weight`` (Int64 units of ``WEIGHT_SCALE``) of the verified pairs, sorted by key.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3],
    ...                   "minute": [7, 131, 250, 7, 131, 250, 7, 131, 250, 60, 120]},
    ...                  schema={"account_idx": pl.UInt32, "minute": pl.UInt32})
    >>> c = pl.DataFrame({"key": [1, 2, 3, 2**32 + 2]}, schema={"key": pl.UInt64})  # (0,1) (0,2) (0,3) (1,2)
    >>> verify_pairs(c, m, 100, weight=1.0)["key"].to_list()  # 0, 1, 2 share minutes at :07, :11, :10
    [1, 2, 4294967298]
    """
    empty = pl.DataFrame(schema={"key": pl.UInt64, "weight": pl.Int64})
    if candidates.is_empty() or minutes.is_empty():
        return empty
    log_n = math.log(max(n_accounts, 2))
    idf = (log_n - pl.col("d").cast(pl.Float64).log()).clip(lower_bound=0.0).alias("idf")
    # Each minute's rarity read by a gather from a dense table over the log's span of minutes (its accounts counted
    # by a bincount), not a group-by and two joins on minute: the same idf values, by the same expression
    # (campaign preset: 20M minutes over 43,200, ~3 s of CPU less); a span far longer than the rows is grouped.
    lo, hi = int(minutes["minute"].min()), int(minutes["minute"].max())
    if hi - lo < max(4 * minutes.height, 1 << 20):
        d = np.bincount((minutes["minute"] - lo).to_numpy(), minlength=hi - lo + 1)
        seen = np.flatnonzero(d)
        rarity = pl.DataFrame({"minute": (seen + lo).astype(np.uint32), "d": d[seen].astype(np.uint32)}).select(
            "minute", idf)
        dense = np.zeros(hi - lo + 1)
        dense[seen] = rarity["idf"].to_numpy()
        rare = pl.lit(pl.Series(dense)).gather(pl.col("minute") - lo).alias("idf")

        def with_idf(frame: pl.LazyFrame) -> pl.LazyFrame:
            return frame.with_columns(rare)
    else:
        rarity = minutes.group_by("minute").agg(pl.len().alias("d")).select("minute", idf)

        def with_idf(frame: pl.LazyFrame) -> pl.LazyFrame:
            return frame.join(rarity.lazy(), on="minute")
    per_account = (with_idf(minutes.lazy()).group_by("account_idx")
                   .agg(pl.col("idf").sum().alias("total"), pl.len().alias("n")).collect())
    pairs = (
        candidates.lazy().select(pl.col("key").unique())
        .select("key", (pl.col("key") // 2**32).cast(pl.UInt32).alias("a"),
                (pl.col("key") % 2**32).cast(pl.UInt32).alias("b"))
        .join(per_account.lazy().select(pl.col("account_idx").alias("a"), pl.col("total").alias("ta"),
                                        pl.col("n").alias("na")), on="a")
        .join(per_account.lazy().select(pl.col("account_idx").alias("b"), pl.col("total").alias("tb"),
                                        pl.col("n").alias("nb")), on="b")
        # Enough minutes on both sides to share min_shared; an account active in more than
        # MAX_MINUTES minutes (always on) is not checked: its minutes are no clock.
        .filter((pl.min_horizontal("na", "nb") >= min_shared) & (pl.max_horizontal("na", "nb") <= MAX_MINUTES))
        .collect()
    ).with_row_index("pair")
    # Walk the smaller minute set of each pair and look each minute up in the other's.
    walk = pairs.select("pair", pl.when(pl.col("na") <= pl.col("nb")).then("a").otherwise("b").alias("walk"),
                        pl.when(pl.col("na") <= pl.col("nb")).then("b").otherwise("a").alias("look"))
    # A walked minute is shared when (look account, minute) is one of the looked-up accounts'
    # minutes: one packed 64-bit key tested against a hash set of those accounts' minutes only
    # (campaign preset: 39M walked minutes against 10M, 2 s of CPU where a semi-join on the two
    # columns against all 20M took 6 s). A filter keeps the walked rows' order, so every sum
    # below adds the same numbers in the same order as the semi-join did.
    packed = pl.col("account_idx").cast(pl.UInt64) * 2**32 + pl.col("minute")
    looked = (minutes.lazy().join(walk.lazy().select(pl.col("look").unique().alias("account_idx")),
                                  on="account_idx", how="semi").select(packed.alias("packed")).collect()["packed"])
    hits = with_idf(
        walk.lazy()
        .join(minutes.lazy().select(pl.col("account_idx").alias("walk"), "minute"), on="walk")
        .filter((pl.col("look").cast(pl.UInt64) * 2**32 + pl.col("minute")).is_in(looked.implode()))
        .select("pair", "minute")
    ).collect()
    # The phases (minute of the hour) of each pair's shared minutes: (pair, phase) groups counted on one packed
    # integer (a pair's row number, not its 64-bit key), then per pair -- integer counts, exact in any order.
    cell = (pl.col("pair").cast(pl.UInt64) * 60 + pl.col("minute") % 60).alias("cell")
    phase = (hits.lazy().group_by(cell).len()
             .group_by((pl.col("cell") // 60).cast(pl.UInt32).alias("pair"))
             .agg(pl.len().alias("phases"), pl.col("len").max().alias("top_phase")))
    shared = (hits.lazy().group_by("pair").agg(pl.col("idf").sum().alias("shared"), pl.len().alias("n_shared"))
              .join(phase, on="pair").collect())
    del hits
    union = pl.col("ta") + pl.col("tb") - pl.col("shared")
    agreed = (
        pairs.join(shared, on="pair")
        .filter((pl.col("n_shared") >= min_shared) & (pl.col("shared") > 0) & (pl.col("shared") >= min_jaccard * union)
                & (pl.col("phases") >= pl.min_horizontal(pl.lit(min_phases), pl.col("n_shared"))) & (pl.col("top_phase") <= max_phase_share * pl.col("n_shared")))
        .select("key", "a", "b")
    )
    # Lockstep is a group's (CopyCatch's m >= 3 accounts): each account of a kept pair agrees with
    # another account too. Two people busy in the same evening meet by chance; a third is rare.
    partners = pl.concat([agreed["a"], agreed["b"]]).value_counts(name="partners")
    partners = partners.rename({partners.columns[0]: "account"})
    return (
        agreed.join(partners.rename({"account": "a", "partners": "pa"}), on="a")
        .join(partners.rename({"account": "b", "partners": "pb"}), on="b")
        .filter((pl.col("pa") >= MIN_PARTNERS) & (pl.col("pb") >= MIN_PARTNERS))
        .select("key", pl.lit(math.floor(weight * WEIGHT_SCALE), pl.Int64).alias("weight")).sort("key")
    )


def _inside(partition: pl.DataFrame, co_timed: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id, co_timed, pairs``: weight and count of the co-timed pairs inside each cluster."""
    cluster = partition.select("account_idx", "cluster_id").drop_nulls("cluster_id")
    return (co_timed.join(cluster.rename({"account_idx": "source"}), on="source")
            .join(cluster.rename({"account_idx": "target", "cluster_id": "other"}), on="target")
            .filter(pl.col("cluster_id") == pl.col("other"))
            .group_by("cluster_id").agg(pl.col("weight").sum().alias("co_timed"), pl.len().alias("pairs")))


@dataclass
class CoTiming:
    """The ``verify`` step of :func:`graphlink.stages.linking.link` (both engines): checks the
    candidate keys with :func:`verify_pairs` and keeps what it linked for the later stages."""

    minutes: pl.DataFrame
    n_accounts: int
    weight: float
    verified: pl.DataFrame | None = None

    def __call__(self, candidates: pl.DataFrame) -> pl.DataFrame:
        self.verified = verify_pairs(candidates, self.minutes, self.n_accounts, weight=self.weight)
        return self.verified

    def edges(self) -> pl.DataFrame | None:
        """``source, target, weight`` of the verified pairs (None before the check ran)."""
        if self.verified is None:
            return None
        return self.verified.select((pl.col("key") // 2**32).cast(pl.UInt32).alias("source"),
                                    (pl.col("key") % 2**32).cast(pl.UInt32).alias("target"),
                                    (pl.col("weight").cast(pl.Float64) / WEIGHT_SCALE).alias("weight"))


def with_co_timing_reason(clusters: pl.DataFrame, partition: pl.DataFrame, co_timed: pl.DataFrame) -> pl.DataFrame:
    """``clusters`` with ``why`` naming the co-timed pairs inside each cluster, when it has any:
    "N account pairs active in the same minutes again and again (co-timing)"."""
    counts = _inside(partition, co_timed).select("cluster_id", "pairs")
    reason = pl.concat_str([fmt_int(pl.col("pairs")),  # 1,166 as every count of a why
                            pl.when(pl.col("pairs") == 1).then(pl.lit(" account pair")).otherwise(pl.lit(" account pairs")),
                            pl.lit(" active in the same minutes again and again (co-timing)")])
    return (clusters.join(counts, on="cluster_id", how="left")
            .with_columns(pl.when(pl.col("pairs").is_null()).then(pl.col("why"))
                          .when(pl.col("why").is_null() | (pl.col("why") == "")).then(reason)
                          .otherwise(pl.concat_str([pl.col("why"), pl.lit("; "), reason])).alias("why"))
            .drop("pairs"))


def with_co_timed_support(support: pl.DataFrame, partition: pl.DataFrame, co_timed: pl.DataFrame) -> pl.DataFrame:
    """``support`` (:func:`graphlink.stages.linking.clique_support`) with the weight of the co-timed
    pairs (``source, target, weight``) inside each cluster of ``partition`` added to ``strong``:
    explicit pairs, so support as a card's clique is, and never a slice of one value."""
    inside = _inside(partition, co_timed).select("cluster_id", "co_timed")
    return (support.join(inside, on="cluster_id", how="left")
            .with_columns((pl.col("strong") + pl.col("co_timed").fill_null(0.0)).alias("strong"))
            .drop("co_timed"))
