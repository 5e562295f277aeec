"""Clock groups: which of the clusters one operator's block links run on one clock.

:func:`graphlink.stages.network_cells.network_cells` links clusters living on one exclusive network and sharing a
specific mark (an operator's template or client) and proposes each connected component of those links as one cell.
That is right when the block holds one cell cut into card groups, and wrong when an operator rents one block for
many cells: at 224k accounts the independent dev world's operators put dozens of sibling cells on each datacenter
/24 and IPv6 /48, and the components joined 231 and 150 Leiden clusters into clusters mixing 178 and 80 cells
(BENCHMARKS.md, session 51, helper big51). What survives the shared block is the clock: the pieces of one cell send
in the same hours (the Jaccard of the UTC hours two halves of one cell send in: median 1.00), sibling cells on one
block do not (median 0.01-0.03; 2-4 % of sibling pairs reach 0.5).

:func:`clock_groups` cuts each component into groups of clusters whose active hours read as one clock
(:func:`clock_agreement`: the smaller cluster's account-hours fall in the larger's hours and spread over as many of
them as a sample of that size would), merged by average linkage (:data:`SAME_CLOCK`): a cluster joins a group only
when it agrees with the group's members *on average*, so two groups never merge through one cluster that resembles
one member of each (single linkage, i.e. connected components of the pairs that pass, percolates at 224k: 3.9 % of
1,891 sibling pairs is ~2.4 links per cell). The grouping only cuts components: it never joins clusters the links
did not, so it adds no join (a branch office behind its own NAT has a home and is never linked; offices on one block
keeping the same office hours stay as they were). What it cannot tell apart: sibling cells that run on one clock
(the same shift, the same cron hours) stay joined; a cell whose pieces send in disjoint hours (a relay of shifts)
is cut into its shifts; a cluster sending in every hour agrees with any cluster that is spread as widely.

Reads only timestamps (events per account and UTC hour); no constant of a simulator.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: Groups merge while the mean :func:`clock_agreement` between their members is *more* than this: more than half of
#: the smaller's activity in the larger's hours and more than half the spread a sample of it would show (a majority,
#: not a fitted value; "more than" so that a cluster agreeing with one of two members and not the other stays out).
#: Hours are UTC hours since the epoch (a day's hour, not an hour of the day). Dev 11k ind176/178/179, the pieces
#: main's components joined: pairs of one cell above it 90-98 %, sibling pairs 21-64 % (Jaccard of the hour sets:
#: one cell 70-80 %; it cut cells' small pieces away); ind176 at 224k: 85 % and 43.5 % -- the linkage, not the pair,
#: keeps siblings apart there.
SAME_CLOCK = 0.5


def cluster_hours(activity: pl.DataFrame, partition: pl.DataFrame, clusters: pl.Series) -> pl.DataFrame:
    """The UTC hours each of ``clusters`` sends in.

    Parameters
    ----------
    activity : DataFrame
        ``account_idx, day`` (Date), ``hour`` (0-23), ``events``: events per account and UTC hour
        (:func:`graphlink.stages.drilldown.hours_from_minutes`); rows with no events count as no activity.
    partition : DataFrame
        ``account_idx, cluster_id``.
    clusters : Series
        The cluster ids wanted.

    Returns
    -------
    DataFrame
        ``cluster_id, slot`` (Int64: hours since the epoch), ``accounts`` (UInt32: members active in it), one row
        per cluster and hour it sent in.
    """
    members = partition.filter(pl.col("cluster_id").is_in(clusters.implode())).select("account_idx", "cluster_id")
    slot = (pl.col("day").cast(pl.Int32).cast(pl.Int64) * 24 + pl.col("hour").cast(pl.Int64)).alias("slot")
    return (activity.filter(pl.col("events") > 0).join(members, on="account_idx").select("cluster_id", slot, "account_idx")
            .group_by("cluster_id", "slot").agg(pl.col("account_idx").n_unique().alias("accounts")))


def clock_agreement(counts: np.ndarray) -> np.ndarray:
    """How well each pair of clusters reads as two samples of one clock.

    Of two clusters, the one with fewer account-hours is read as a *sample* and the other as the *clock*: the
    sample agrees with the clock by the lesser of (a) the share of its account-hours that fall in hours the clock
    sends in, and (b) the number of distinct hours it sends in over the number it would cover if its account-hours
    were drawn from the clock's hours in proportion (``sum_h 1 - (1 - p_h) ** n``; capped at 1). (a) alone lets a
    cluster sending in every hour absorb any other; (b) is what a small piece of a cell shows (few account-hours,
    few hours, all inside the cell's) and a sibling cell concentrated in a few hours does not (many account-hours
    in few hours). Plain Jaccard of the hour sets cuts a small piece from its own cell: on dev 11k worlds pieces of
    2-10 accounts of a cell active in ~200 hours send in 70-110 of them (Jaccard 0.17-0.35).

    Parameters
    ----------
    counts : ndarray, shape (k, h)
        Accounts of each cluster active in each UTC hour (any non-negative numbers).

    Returns
    -------
    ndarray, shape (k, k)
        float64 in [0, 1], symmetric, 1 on the diagonal; 0 for a cluster with no activity.
    """
    x = np.asarray(counts, dtype=np.float64)
    k = x.shape[0]
    n = x.sum(axis=1)
    sends = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(n[:, None] > 0, x @ sends.T.astype(np.float64) / n[:, None], 0.0)  # [i, j]: i's share in j's hours
        p = np.where(n[:, None] > 0, x / n[:, None], 0.0)
        spread = np.zeros((k, k))
        for i in range(k):  # [i, j]: i's distinct hours over those i would cover drawn from j's hours
            expected = (1.0 - (1.0 - p) ** n[i]).sum(axis=1)
            spread[i] = np.where(expected > 0, np.minimum(1.0, sends[i].sum() / expected), 0.0)
    sample = np.minimum(inside, spread)  # [i, j]: i read as a sample of j's clock
    smaller = n[:, None] < n[None, :]
    sim = np.where(smaller, sample, np.where(smaller.T, sample.T, np.maximum(sample, sample.T)))
    np.fill_diagonal(sim, 1.0)
    return sim


def average_groups(sim: np.ndarray, threshold: float = SAME_CLOCK) -> np.ndarray:
    """Groups by average linkage: repeatedly merge the two groups with the highest mean pairwise similarity while
    it is at least ``threshold`` (UPGMA cut at ``threshold``; ties: the lowest indices).

    Parameters
    ----------
    sim : ndarray, shape (k, k)
        Symmetric similarities in [0, 1].
    threshold : float
        Least mean similarity between two groups that merge.

    Returns
    -------
    ndarray, shape (k,)
        int64 group of each item, numbered 0, 1, ... in order of each group's first item.

    Examples
    --------
    A chain a~b, b~c with a, c apart does not join all three:

    >>> s = np.array([[1, .6, 0], [.6, 1, .6], [0, .6, 1]])
    >>> average_groups(s, 0.5).tolist()
    [0, 0, 1]
    """
    k = sim.shape[0]
    label = np.arange(k)
    if k < 2:
        return label.astype(np.int64)
    total = sim.astype(np.float64).copy()  # summed similarity between live groups
    count = np.ones(k)
    alive = np.ones(k, dtype=bool)
    np.fill_diagonal(total, -np.inf)
    while True:
        mean = total / np.outer(count, count)
        mean[~alive, :] = -np.inf
        mean[:, ~alive] = -np.inf
        best = int(np.argmax(mean))
        i, j = divmod(best, k)
        if not mean[i, j] > threshold:
            break
        i, j = min(i, j), max(i, j)
        total[i, :] += total[j, :]
        total[:, i] += total[:, j]
        total[i, i] = -np.inf
        count[i] += count[j]
        alive[j] = False
        label[label == j] = i
    return np.unique(label, return_inverse=True)[1].astype(np.int64)  # a group's label is its first item's index


def clock_groups(comp: pl.DataFrame, partition: pl.DataFrame, activity: pl.DataFrame,
                 threshold: float = SAME_CLOCK) -> pl.DataFrame:
    """Cut each component of linked clusters into groups whose active hours agree (see the module docstring).

    Parameters
    ----------
    comp : DataFrame
        ``cluster_id, comp``: each linked cluster's component.
    partition : DataFrame
        ``account_idx, cluster_id``.
    activity : DataFrame
        As for :func:`cluster_hours`.
    threshold : float
        :data:`SAME_CLOCK`.

    Returns
    -------
    DataFrame
        ``cluster_id, comp`` (Int64): ``comp`` now numbers the groups (a refinement of the components: two clusters
        share a group only if they shared a component).
    """
    slots = cluster_hours(activity, partition, comp["cluster_id"]).join(comp.select("cluster_id", "comp"), on="cluster_id")
    by_comp = {key[0]: rows for key, rows in slots.partition_by("comp", as_dict=True).items()}
    rows_c, rows_g, base = [], [], 0
    for (c_id,), g in comp.sort("comp", "cluster_id").group_by("comp", maintain_order=True):
        ids = g["cluster_id"].to_list()
        mine = by_comp.get(c_id, slots.clear())
        hours = np.unique(mine["slot"].to_numpy())
        counts = np.zeros((len(ids), len(hours)))
        at = {c: i for i, c in enumerate(ids)}
        counts[[at[c] for c in mine["cluster_id"].to_list()], np.searchsorted(hours, mine["slot"].to_numpy())] = mine["accounts"].to_numpy()
        labels = average_groups(clock_agreement(counts), threshold)
        rows_c += ids
        rows_g += (labels + base).tolist()
        base += int(labels.max()) + 1
    return pl.DataFrame({"cluster_id": rows_c, "comp": rows_g},
                        schema={"cluster_id": comp.schema["cluster_id"], "comp": pl.Int64})
