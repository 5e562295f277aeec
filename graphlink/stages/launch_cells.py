"""Launch cells: flagged pieces of one campaign whose accounts were started and stopped together are one cell.

Why (issue 17, ARI by cell; BENCHMARKS.md "Sixty-third pass (session 63, helper big63)"): Leiden cuts an operator's
cell into pieces wherever the values its members share are also its sibling cells' (a rented pool, a datacenter
range, the operator's card pool): the pieces are flagged in one campaign but nothing in the projection gathers them.
What a cell's members share and its siblings do not is *when they run*: one scheduler starts a cell's accounts and
retires them together, so each member's first and last request lie close to the cell's launch and end, while the
siblings were launched and stopped at other hours or days. Creation time says the same for freshly opened accounts
(:mod:`graphlink.stages.sibling_parts`); the activity window says it for aged ones too.

How close is close is each account's own clock, not a constant: an account sending every few minutes starts within
minutes of its launch, one sending twice a day within hours. A member's *tolerance* is :data:`TOLERANCE` times its
mean gap between requests (``(last - first) / (events - 1)``, at least :data:`MIN_TOLERANCE`): the first request of
an account sending at rate ``r`` after a launch comes on average ``1 / r`` later. A flagged cluster has a *launch
window* (the median first and last request of its members) when it is **coherent** -- at least :data:`COHERENT` of
its members start and stop within their tolerance of it (a union of siblings launched apart is not: its members'
windows scatter) -- and **not censored**: a window that begins near the log's start or ends near its end (within
twice the cluster's median tolerance) says only that the cluster ran through the whole log, which every long-lived
cell does alike (dev crowds worlds: cells running the whole log, joined without this test, ARI by cell 0.947 ->
0.466). Two coherent, uncensored flagged clusters of one campaign whose windows agree within the smaller of their
tolerances, at both ends, are one launch; launches are taken together (connected components) and gather into their
largest cluster (ties: the smaller id).

It runs after the judgement and last among the partings (after sibling parts and card cells): a union of siblings
has no window until those steps part it (dev a1 with the step before them: nothing joined; after them: 17 accounts
gathered into one cluster, ARI by cell 0.680 -> 0.694). It moves whole flagged clusters of one campaign into a flagged cluster of that campaign:
no flag and no campaign changes by construction. The cluster that gathered keeps its score and its why says what
joined (:func:`launch_note`).

Source: graphlink session 63 (helper big63). Output: ``account_idx, to`` moves (:func:`launch_moves`).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.block_pieces import component_moves

__all__ = ["COHERENT", "MIN_TOLERANCE", "TOLERANCE", "launch_moves", "launch_note", "launch_windows"]

#: A member's tolerance is this many of its mean gaps between requests: its first request after a launch comes about
#: one gap later on average, and within two gaps nine times in ten for requests at random (Poisson: 1 - e^-2 = 0.86).
TOLERANCE = 2.0
#: ... and at least this many seconds (one minute: the timing signal's bucket; a scheduler's jitter).
MIN_TOLERANCE = 60.0
#: A cluster has a launch window when at least this share of its members start and stop within their tolerance of
#: its median window: most of them (a cell's stragglers, a bystander the partition left in), not a union of siblings.
COHERENT = 0.8


def launch_windows(members: pl.DataFrame, tolerance: float = TOLERANCE, coherent: float = COHERENT,
                   span: tuple[int, int] | None = None) -> pl.DataFrame:
    """Each cluster's launch window, where it has one.

    Parameters
    ----------
    members : DataFrame
        ``account_idx, cluster_id, events`` and ``first``, ``last`` (Int64 seconds) of each flagged member.
    tolerance : float
        A member's tolerance in its mean gaps between requests (:data:`TOLERANCE`).
    coherent : float
        The share of members that must start and stop within their tolerance of the window (:data:`COHERENT`).
    span : (int, int), optional
        The log's first and last request (seconds); windows within twice their tolerance of either end are censored
        and dropped. None: the members' own first and last.

    Returns
    -------
    DataFrame
        ``cluster_id, start, end, tol`` (the median first and last request, the median member tolerance) of the
        coherent, uncensored clusters.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 2], "events": [11] * 4,
    ...                   "first": [1000, 1010, 1000, 5000], "last": [2000, 2005, 2000, 9000]})
    >>> launch_windows(m, span=(0, 100_000)).rows()  # cluster 2's members started hours apart: no window
    [(1, 1005.0, 2002.5, 199.5)]
    """
    if span is None:
        span = (int(members["first"].min() or 0), int(members["last"].max() or 0))
    gap = (pl.col("last") - pl.col("first")) / pl.max_horizontal(pl.col("events") - 1, pl.lit(1))
    m = (members.with_columns(tol=pl.max_horizontal(pl.lit(MIN_TOLERANCE), tolerance * gap))
         .with_columns(start=pl.col("first").median().over("cluster_id"), end=pl.col("last").median().over("cluster_id")))
    inside = ((pl.col("first") - pl.col("start")).abs() <= pl.col("tol")) & ((pl.col("last") - pl.col("end")).abs() <= pl.col("tol"))
    w = m.group_by("cluster_id").agg(pl.col("start").first(), pl.col("end").first(), pl.col("tol").median(),
                                     inside.mean().alias("coherence"))
    return (w.filter((pl.col("coherence") >= coherent) & (pl.col("start") - span[0] > 2 * pl.col("tol"))
                     & (span[1] - pl.col("end") > 2 * pl.col("tol")))
            .select("cluster_id", pl.col("start").cast(pl.Float64), pl.col("end").cast(pl.Float64), pl.col("tol").cast(pl.Float64))
            .sort("cluster_id"))


def launch_moves(clusters: pl.DataFrame, partition: pl.DataFrame, index: pl.DataFrame,
                 tolerance: float = TOLERANCE, coherent: float = COHERENT) -> pl.DataFrame:
    """Moves gathering each campaign's flagged clusters of one launch into the largest of them.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged, campaign_id`` (the judgement).
    partition : DataFrame
        ``account_idx, cluster_id``.
    index : DataFrame
        ``account_idx, events, first_seen, last_seen`` (the account index; without timestamps nothing moves).
    tolerance, coherent : float
        As for :func:`launch_windows`.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``to`` (Int64): every member of a gathered cluster, to the launch's largest cluster.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "flagged": [True] * 3, "campaign_id": [7, 7, 7]})
    >>> part = pl.DataFrame({"account_idx": list(range(9)), "cluster_id": [1] * 4 + [2] * 3 + [3] * 2},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> t = [1000, 1010, 1005, 1003, 1002, 1008, 1001, 50_000, 50_010]
    >>> idx = pl.DataFrame({"account_idx": list(range(9)), "events": [11] * 9, "first_seen": t,
    ...                     "last_seen": [x + 1000 for x in t]}, schema_overrides={"account_idx": pl.UInt32}).with_columns(
    ...     pl.from_epoch("first_seen"), pl.from_epoch("last_seen"))
    >>> idx = pl.concat([idx, idx.head(1).with_columns(pl.lit(99, pl.UInt32).alias("account_idx"),
    ...     pl.from_epoch(pl.lit(0)).alias("first_seen"), pl.from_epoch(pl.lit(200_000)).alias("last_seen"))])
    >>> launch_moves(cl, part, idx).rows()  # cluster 2 launched with 1; 3 a day later
    [(4, 1), (5, 1), (6, 1)]
    """
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "to": pl.Int64})
    if "first_seen" not in index.columns or index["first_seen"].null_count() == index.height:
        return empty
    flagged = clusters.filter(pl.col("flagged") & pl.col("campaign_id").is_not_null()).select(
        pl.col("cluster_id").cast(pl.Int64), pl.col("campaign_id").cast(pl.Int64))
    secs = index.select("account_idx", "events", first=pl.col("first_seen").dt.epoch("s"), last=pl.col("last_seen").dt.epoch("s"))
    span = (int(secs["first"].min() or 0), int(secs["last"].max() or 0))
    members = (partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64))
               .join(flagged, on="cluster_id").join(secs, on="account_idx").drop_nulls(["first", "last"]))
    if members.is_empty():
        return empty
    win = launch_windows(members, tolerance, coherent, span).join(flagged, on="cluster_id")
    # Pairs within a campaign (quadratic in its coherent flagged clusters: 208 on the 224,000-account dev world).
    pairs = (win.join(win, on="campaign_id", suffix="_b").filter(pl.col("cluster_id") < pl.col("cluster_id_b"))
             .filter(((pl.col("start") - pl.col("start_b")).abs() <= pl.min_horizontal("tol", "tol_b"))
                     & ((pl.col("end") - pl.col("end_b")).abs() <= pl.min_horizontal("tol", "tol_b")))
             .select("cluster_id", "cluster_id_b"))
    if pairs.is_empty():
        return empty
    sizes = members.group_by("cluster_id").agg(pl.len().alias("size"))
    return component_moves(pairs.rename({"cluster_id_b": "large"}), sizes, members)


def launch_note(took: pl.Expr, size: pl.Expr) -> pl.Expr:
    """The why of a cluster that gathered a launch: ``judged on its SIZE accounts before TOOK more joined ...``."""
    return pl.concat_str([pl.lit("judged on its "), size.cast(pl.String), pl.lit(" accounts before "), took.cast(pl.String),
                          pl.lit(" more joined: flagged clusters of its campaign whose accounts started and stopped with its own (launch cells)")])
