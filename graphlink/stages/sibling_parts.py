"""Sibling parts: a flagged cluster that holds several of one operator's cells, parted where each cell's own evidence parts it.

Why (issue 17, BENCHMARKS.md "Fifty-seventh pass (session 57, helper cell57)"): on the dev independent worlds a
large share of what ARI by cell loses is clusters that are unions of sibling cells -- an operator's cells drawing on
its residential and commercial address pools, so that Leiden (or a batch join) puts several cells in one cluster
(dev a1 cluster 4: 169 accounts of 9 cells, each pair of cells sharing 76-90 % of their /24 networks and the
operator's hours). Addresses cannot part them: the operator reuses its pools across cells (cells share exact
addresses with each other as often as within). What one cell holds for itself and its sibling does not is when it
was *made*: a cell's accounts are opened together, in one sitting (a1's cells: 65 accounts opened within 2.5 hours,
31 within 2, 14 within minutes), sibling cells days apart; and the cards it pays with, when it pays with its own.

:func:`sibling_moves` parts a flagged cluster when

* its members' first active hours (in the log) fall in two or more **creation bursts** -- runs of members each
  opened within :data:`GAP_HOURS` of the previous one -- of at least ``min_part`` members each (``min_flag_size``:
  each part is a group the tool could flag on its own size);
* each burst is **internally tied by cards** (some of its members share a card: a burst whose members each pay
  with a card of their own has only its creation to say it is a unit, and one kind of evidence parts nothing), and
* no two bursts are tied by **cards**: two bursts stay together when they share cards across, per pair of members,
  at least :data:`EXCHANGE` of the rate at which *either* shares them inside. One cell opened in two sittings
  pays with its cards in both: its members are exchangeable, sharing cards across about as often as within each
  sitting. A sitting that shares its own cards inside far more often than with the other is a unit of its own
  even when the other is loose (a1 cluster 4: a cell paying from the operator's pool, 0.007 inside, beside a
  sibling on cards of its own, 0.04-0.7 inside; 0.002-0.006 across).

Measured (BENCHMARKS.md, session 57, cell57): without the internal tie (a burst with no shared card kept as a part)
8 templates worlds lost up to 0.016 ARI by cell -- one cell opened in several sittings, no card shared anywhere, cut
by its creation alone; reading the tie against the looser burst's rate (not either's) kept dev a1 / t1 / o1 /
ind176 / ind178 to +0.00-0.02 instead of +0.03-0.08.

Members opened outside every burst (a cell that trickles in accounts over the log, a stray, a burst with no card
tie) join the part whose cards they share most often per member, else the largest part. Bursts are merged by the card test pairwise, most
exchangeable first, until no pair is tied.

**Sittings within a long opening** (``sittings=True``, ``[scoring] sibling_sittings``, on; BENCHMARKS.md "Fifty-eighth pass (session 58, helper
cell58)"). In a large union the bursts run together: accounts a long-lived cell trickles in over days fill every
three-hour gap, so at 224k accounts a network-cells union of 166 cells opened over 487 hours held 4 gaps of more
than three hours and stayed one burst, while its cells' own sittings stood out of that background (589 accounts
opened within 4 hours, 200 within 4, beside 0-3 openings in a typical hour). So each part the bursts make is read
again by :func:`opening_sittings`: an hour is a sitting's when it opens at least ``min_part`` accounts and more
than the part's own background -- the median accounts opened per hour over its span, hours with none counted --
would put in any one of its hours by chance (a Poisson tail below one over the span's hours: fewer than one such
hour expected in the whole span); sitting hours within :data:`GAP_HOURS` of each other are one sitting, the other
members strays. The sittings are then tied by cards and parted exactly as the bursts are. The first reading is
kept as it was: the second only parts a part further, so a cluster whose bursts stand apart parts as before.

Only flagged clusters are parted, after the judgement, and each part keeps the judgement of the cluster it was part
of (score, flag, campaign; :func:`carry_parts`): the parting says which *cell* an account belongs to, not whether
it is the operator's -- the accounts were judged together and stay judged so. So no flag and no campaign changes by
construction.

What it cannot part: siblings opened in the same hours (two batches of one operator run together: batch cells'
named limit), and siblings paying from one shared card pool (the card test ties them). What it may cut: one cell
opened in two sittings each paying with cards of its own, shared within the sitting and not across (dev ind177: a
cell of 76 in two such sittings, cross 0.0015 against 0.05 and 0.08 inside).

Reads only each member's first active hour and the clustered accounts' card memberships; no constant of a simulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl

from graphlink.stages.block_pieces import EXCHANGE

__all__ = ["CARD_KINDS", "EXCHANGE", "GAP_HOURS", "carry_parts", "creation_bursts", "part_origins", "opening_sittings", "sibling_moves"]

#: Members opened more than this many hours after the previous one start a new creation burst. An operator opens a
#: cell's accounts in one sitting; three hours with no account opened is a sitting ended (dev a1 / a3 / ind176 /
#: ind177 / ind178: 1 h and 6 h gave ARI by cell within 0.03 of 3 h; 12 h ran ind178's sittings together,
#: BENCHMARKS.md session 57, cell57).
GAP_HOURS = 3
#: A part's why after "parted into N" (:func:`carry_parts`).
SIBLING_NOTE = " by when its accounts were opened: sittings hours apart, each sharing its cards within far more often than with the others (sibling parts)"
#: The kinds whose shared values tie two bursts as one cell's: its cards (addresses are the operator's pools).
CARD_KINDS = ("payment",)


def creation_bursts(first: np.ndarray, min_part: int, gap: float = GAP_HOURS) -> np.ndarray:
    """Label each member by its creation burst: runs of first active hours each within ``gap`` of the previous.

    Parameters
    ----------
    first : ndarray of int64, shape (n,)
        Each member's first active hour (hours since any fixed origin).
    min_part : int
        Runs with fewer members are no burst (label -1).
    gap : float
        :data:`GAP_HOURS`.

    Returns
    -------
    ndarray of int64, shape (n,)
        Burst labels 0..k-1 in order of time, -1 outside every burst.

    Examples
    --------
    >>> creation_bursts(np.array([0, 1, 2, 50, 51, 52, 200]), 3).tolist()
    [0, 0, 0, 1, 1, 1, -1]
    """
    order = np.argsort(first, kind="stable")
    cuts = np.r_[0, np.flatnonzero(np.diff(first[order]) > gap) + 1, len(first)]
    label = np.full(len(first), -1, dtype=np.int64)
    k = 0
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b - a >= min_part:
            label[order[a:b]] = k
            k += 1
    return label


def _poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(``lam``); 0 for ``k >= 1`` when ``lam`` is 0 (no background: any opening is one)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    term, below = math.exp(-lam), 0.0
    for i in range(k):
        below += term
        term *= lam / (i + 1)
    return max(0.0, 1.0 - below)


def opening_sittings(first: np.ndarray, min_part: int, gap: float = GAP_HOURS) -> np.ndarray:
    """Label members by the sittings of a long opening: hours opening more accounts than the background would by chance.

    The background is the median number of members opened per hour over the members' span (first to last opening
    hour, hours with none counted): a cell trickling accounts in over days, or several doing so. An hour is a
    sitting's when it opens at least ``min_part`` members and a Poisson count with the background's mean reaches
    its count with probability below one over the span's hours (fewer than one such hour is expected by chance in
    the whole span). Sitting hours within ``gap`` of each other make one sitting; a member belongs to the sitting
    whose first to last hour holds its first hour.

    Parameters
    ----------
    first : ndarray of int64, shape (n,)
        Each member's first active hour (hours since any fixed origin).
    min_part : int
        The fewest members a sitting hour opens (a part the tool could flag on its size).
    gap : float
        :data:`GAP_HOURS`: sitting hours further apart start a new sitting.

    Returns
    -------
    ndarray of int64, shape (n,)
        Sitting labels 0..k-1 in order of time, -1 for members opened outside every sitting (empty input: empty).

    Examples
    --------
    Two to three accounts opened every hour for a day (the background), with 12 opened at hour 5 and 12 at hour 15:
    two sittings; an hour opening 5 among that background is none.

    >>> first = np.r_[np.repeat(np.arange(24), 2), [7] * 3, [5] * 12, [15] * 12]
    >>> lab = opening_sittings(first, 5)
    >>> sorted(set(lab[first == 5].tolist())), sorted(set(lab[first == 15].tolist())), sorted(set(lab[first == 7].tolist()))
    ([0], [1], [-1])
    """
    label = np.full(len(first), -1, dtype=np.int64)
    if len(first) == 0:
        return label
    # Counted over the occupied hours only (memory in the members, not in their dates' span): the span's empty hours
    # enter the median as zeros, at most one more than the occupied hours (beyond that the median is 0 either way).
    at, count = np.unique(first.astype(np.int64), return_counts=True)
    span = int(at[-1] - at[0]) + 1
    background = float(np.median(np.r_[np.zeros(min(span - len(at), len(at) + 1), dtype=np.int64), count]))
    hours = at[np.array([c >= min_part and _poisson_tail(int(c), background) < 1.0 / span for c in count], dtype=bool)]
    if len(hours) == 0:
        return label
    runs = np.r_[0, np.flatnonzero(np.diff(hours) > gap) + 1, len(hours)]
    for k, (a, b) in enumerate(zip(runs[:-1], runs[1:])):
        label[(first >= hours[a]) & (first <= hours[b - 1])] = k
    return label


def _card_rates(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Shared-card pairs per pair of members between parts (off the diagonal) and within each (the diagonal).

    ``counts`` (k, V): members of each part holding each card; ``sizes`` (k,): members per part; returns (k, k)."""
    pairs = counts @ counts.T
    rate = pairs / np.outer(sizes, sizes)
    inside = (np.diag(pairs) - counts.sum(1)) / np.maximum(sizes * (sizes - 1), 1)
    np.fill_diagonal(rate, inside)
    return rate


def _parts(first: np.ndarray, cards: list[np.ndarray], min_part: int, gap: float, exchange: float,
           bursts: Callable[[np.ndarray, int, float], np.ndarray] = creation_bursts) -> np.ndarray | None:
    """One cluster's parts (labels 0..k-1 for every member), or None when it stays whole; ``bursts`` labels the units."""
    label = bursts(first, min_part, gap)
    k = int(label.max()) + 1
    if k < 2:
        return None
    held = np.concatenate(cards) if cards else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(cards)), [len(c) for c in cards])
    values, col = np.unique(held, return_inverse=True)

    def counts(lab: np.ndarray, k: int) -> np.ndarray:
        out = np.zeros((k, len(values)))
        at = lab[owner] >= 0
        np.add.at(out, (lab[owner][at], col[at]), 1.0)
        return out

    inside = np.diag(_card_rates(counts(label, k), np.bincount(label[label >= 0], minlength=k).astype(float)))
    if (inside <= 0).any():  # a burst none of whose members share a card is no block of its own: its members are strays
        keep = np.flatnonzero(inside > 0)
        remap = np.full(k + 1, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        label, k = remap[label], len(keep)
    while k >= 2:  # merge the most exchangeable pair of bursts while cards tie one
        rate = _card_rates(counts(label, k), np.bincount(label[label >= 0], minlength=k).astype(float))
        inside = np.diag(rate)
        need = exchange * np.maximum.outer(inside, inside)
        tied = (rate > 0) & (rate >= need)
        np.fill_diagonal(tied, False)
        if not tied.any():
            break
        score = np.where(tied, rate / np.maximum(need, 1e-12), -1.0)
        i, j = sorted(np.unravel_index(int(np.argmax(score)), score.shape))
        label[label == j] = i
        label[label > j] -= 1
        k -= 1
    if k < 2:
        return None
    sizes = np.bincount(label[label >= 0], minlength=k).astype(float)
    rest = np.flatnonzero(label < 0)
    if len(rest):  # members outside every burst: the part whose cards they share most per member, else the largest
        per = counts(label, k) / sizes[:, None]
        share = np.zeros((len(first), k))
        np.add.at(share, owner, per[:, col].T)
        pick = share[rest]
        label[rest] = np.where(pick.max(1) > 0, pick.argmax(1), int(np.argmax(sizes)))
    return label


def _nested_parts(first: np.ndarray, cards: list[np.ndarray], min_part: int, gap: float, exchange: float) -> np.ndarray | None:
    """The creation bursts' parts, each parted again by its sittings (:func:`opening_sittings`); None when whole."""
    label = _parts(first, cards, min_part, gap, exchange)
    label = np.zeros(len(first), dtype=np.int64) if label is None else label.copy()
    k = int(label.max()) + 1
    for part in range(k):
        at = np.flatnonzero(label == part)
        if len(at) < 2 * min_part:
            continue
        sub = _parts(first[at], [cards[i] for i in at], min_part, gap, exchange, bursts=opening_sittings)
        if sub is None:
            continue
        keep = int(np.argmax(np.bincount(sub)))
        for q in range(int(sub.max()) + 1):
            if q != keep:
                label[at[sub == q]] = k
                k += 1
    return label if k >= 2 else None


def sibling_moves(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                  hours: pl.DataFrame, min_part: int, gap: float = GAP_HOURS, exchange: float = EXCHANGE,
                  kinds: tuple[str, ...] = CARD_KINDS, sittings: bool = False) -> pl.DataFrame:
    """Members of flagged clusters to move into new clusters: the parts sibling cells make of them (module docstring).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged`` (judged; other columns ignored).
    partition : DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (Int64; null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx``: the clustered accounts' memberships.
    signals : DataFrame
        ``signal_idx, kind``.
    hours : DataFrame
        ``account_idx, day`` (Date), ``hour`` (0-23), ``events``: events per account and UTC hour; an account's first
        hour with events is when it was opened, as the log sees it.
    min_part : int
        The fewest members a part holds (the pipeline passes ``min_flag_size``).
    gap, exchange : float
        :data:`GAP_HOURS`, :data:`EXCHANGE`.
    kinds : tuple of str
        :data:`CARD_KINDS`.
    sittings : bool
        Part each part the creation bursts make again by its sittings (:func:`opening_sittings`; module docstring).

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``to`` (Int64, a new id above every cluster id): the members of every part but the
        largest of each parted cluster; empty when nothing is parted.

    Examples
    --------
    Ten members opened in two sittings two days apart, each sitting paying with its own two cards: two parts.

    >>> import datetime as dt
    >>> day = [dt.date(1970, 1, 1)] * 5 + [dt.date(1970, 1, 3)] * 5
    >>> h = pl.DataFrame({"account_idx": list(range(10)), "day": day, "hour": [1] * 10, "events": [1] * 10},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> p = pl.DataFrame({"account_idx": list(range(10)), "cluster_id": [1] * 10}, schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": list(range(10)), "signal_idx": [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2, 3], "kind": ["payment"] * 4}, schema_overrides={"signal_idx": pl.UInt32})
    >>> cl = pl.DataFrame({"cluster_id": [1], "flagged": [True]})
    >>> sibling_moves(cl, p, aff, sig, h, 5).rows()
    [(5, 2), (6, 2), (7, 2), (8, 2), (9, 2)]
    """
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "to": pl.Int64})
    if "flagged" not in clusters.columns or partition.drop_nulls("cluster_id").is_empty():
        return empty
    flagged = clusters.filter("flagged").select(pl.col("cluster_id").cast(pl.Int64))
    members = (partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64)).join(flagged, on="cluster_id")
               .filter(pl.len().over("cluster_id") >= 2 * min_part))
    if members.is_empty():
        return empty
    slot = (pl.col("day").cast(pl.Int32).cast(pl.Int64) * 24 + pl.col("hour").cast(pl.Int64))
    first = (hours.filter(pl.col("events") > 0).join(members.select("account_idx"), on="account_idx")
             .group_by("account_idx").agg(slot.min().alias("first")))
    members = members.join(first, on="account_idx").sort("cluster_id", "account_idx")
    card_ids = signals.filter(pl.col("kind").is_in(list(kinds))).select("signal_idx")
    held = (affiliations.select("account_idx", "signal_idx").join(card_ids, on="signal_idx")
            .join(members.select("account_idx"), on="account_idx").group_by("account_idx").agg(pl.col("signal_idx").cast(pl.Int64)))
    members = members.join(held, on="account_idx", how="left").sort("cluster_id", "account_idx")
    next_id = int(partition["cluster_id"].max() or 0) + 1
    out = []
    for (cid,), group in members.group_by("cluster_id", maintain_order=True):
        cards = [np.asarray(c if c is not None else [], dtype=np.int64) for c in group["signal_idx"].to_list()]
        label = (_nested_parts if sittings else _parts)(group["first"].to_numpy(), cards, min_part, gap, exchange)
        if label is None:
            continue
        largest = int(np.argmax(np.bincount(label)))
        ids = group["account_idx"].to_numpy()
        for part in range(int(label.max()) + 1):
            if part == largest:
                continue
            at = label == part
            out.append(pl.DataFrame({"account_idx": ids[at], "to": np.full(int(at.sum()), next_id, dtype=np.int64)},
                                    schema={"account_idx": pl.UInt32, "to": pl.Int64}))
            next_id += 1
    return pl.concat(out).sort("account_idx") if out else empty


def carry_parts(clusters: pl.DataFrame, before: pl.DataFrame, after: pl.DataFrame, note: str = SIBLING_NOTE) -> pl.DataFrame:
    """``clusters`` (judged on ``before``) for ``after``, where clusters were only parted: each part keeps the judgement.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, size, why`` and any other columns (score, flag, campaign...), by ``before``'s ids.
    before, after : DataFrame
        ``account_idx, cluster_id``: the partition judged, and it parted (renumbered): every cluster of ``after``
        lies within one cluster of ``before``.
    note : str
        What parted it, after "parted into N" in a part's why (:data:`SIBLING_NOTE`; card cells pass their own).

    Returns
    -------
    DataFrame
        ``clusters``' columns, one row per cluster of ``after`` (by ``cluster_id``), with its new ``size``; a part's
        why says it was judged with its siblings.

    Examples
    --------
    >>> b = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [7, 7, 7, 7]}, schema_overrides={"account_idx": pl.UInt32})
    >>> a = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> c = pl.DataFrame({"cluster_id": [7], "size": [4], "flagged": [True], "why": ["a card pool"]})
    >>> carry_parts(c, b, a).select("cluster_id", "size", "flagged").rows()
    [(1, 2, True), (2, 2, True)]
    """
    origin = (after.drop_nulls("cluster_id").join(before.select("account_idx", pl.col("cluster_id").alias("was")), on="account_idx")
              .group_by("cluster_id").agg(pl.col("was").first(), pl.len().alias("new_size")))
    parts = origin.group_by("was").agg(pl.len().alias("parts"))
    note = pl.concat_str([pl.lit("judged as one cluster of "), pl.col("size").cast(pl.String), pl.lit(" accounts before it was parted into "),
                          pl.col("parts").cast(pl.String),
                          pl.lit(note)])
    why = (pl.when(pl.col("parts") < 2).then(pl.col("why")).when(pl.col("why").is_null() | (pl.col("why") == "")).then(note)
           .otherwise(pl.concat_str([pl.col("why"), pl.lit("; "), note])))
    out = (origin.join(parts, on="was").join(clusters.rename({"cluster_id": "was"}), on="was").with_columns(why.alias("why"))
           .drop("size").rename({"new_size": "size"})
           .with_columns(pl.col("size").cast(clusters.schema["size"]), pl.col("cluster_id").cast(clusters.schema["cluster_id"])))
    return out.select(clusters.columns).sort("cluster_id")


def part_origins(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Each cluster of ``after`` (clusters of ``before`` only parted) with the cluster it was part of.

    Returns
    -------
    DataFrame
        ``cluster_id, was`` (``before``'s id), ``took`` (0), ``gave`` (1 when ``was`` was parted into two or more, else
        0), ``followed`` (0): the origins frame the evidence recount reads, as
        :func:`graphlink.stages.batch_judgement.cluster_origins` gives it for joins.

    Examples
    --------
    >>> b = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [7, 7, 7, 8]}, schema_overrides={"account_idx": pl.UInt32})
    >>> a = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 3]}, schema_overrides={"account_idx": pl.UInt32})
    >>> part_origins(b, a).sort("cluster_id").select("cluster_id", "was", "gave").rows()
    [(1, 7, 1), (2, 7, 1), (3, 8, 0)]
    """
    return (after.drop_nulls("cluster_id").join(before.select("account_idx", pl.col("cluster_id").alias("was")), on="account_idx")
            .group_by("cluster_id").agg(pl.col("was").first()).with_columns(took=pl.lit(0, pl.Int64),
            gave=(pl.len().over("was") > 1).cast(pl.Int64), followed=pl.lit(0, pl.Int64)))
