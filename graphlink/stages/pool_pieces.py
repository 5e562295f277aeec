"""Pool pieces: a flagged cell left alone in its campaign joins the campaign whose private address pool it draws from.

:func:`graphlink.stages.campaigns.cluster_campaigns` weighs two clusters' addresses by the cosine of their
profiles. An operator's residential pool cut by card into pieces of unequal size (dev mixed 1001: one cell of 669
accounts on 8,958 addresses, cut into 2 x 163-176 and ~35 pieces of 4-27) gives each small piece a cosine of ~0.1
with the large ones -- its few hundred addresses are a sliver of theirs -- and each piece becomes a campaign of its
own. What they share is read here instead as *containment*: how much of a piece's pool another cluster holds.

Addresses alone do not say "one operator": two operators renting one proxy network share exits as rare, pair by
pair, as one operator's (BENCHMARKS.md, eighteenth pass, camp18), and a commercial network's exits are held by
ordinary VPN users too. Three conditions keep the reading to an operator's own pool:

* **Closed values.** Only addresses every holder of which is in a *flagged* cluster count
  (:func:`closed_values`): an exit a VPN user, an office's staff, a family or any unflagged or unclustered account
  also holds is a shared network's, not a private pool's. Benign hubs (an office NAT, a carrier's CGNAT) are held
  by unflagged accounts, so they never tie, and flags are never read from here (below).
* **Containment, read from the piece.** A cluster is tied to another when they share at least
  :data:`graphlink.stages.campaigns.MIN_TIE_VALUES` closed addresses and those are at least ``containment`` of *its*
  addresses held by two or more accounts (by default ``campaign_resolution``: the tie is read on the grouping's own
  scale): the piece's pool is held by the other, not the other way round. Read from the smaller side of the pair,
  a 272-account cluster the partition mixed from three operators followed a 2-account piece whose 28 addresses it
  held (28 of its 1,502) into another operator's campaign (dev templates 1005, offline: ARI by operator 0.727 ->
  0.578).
* **Lone pieces only.** Only a cluster the grouping left alone in its campaign moves, to the campaign of the
  cluster whose tie to it is strongest (:func:`pool_pieces`). Two campaigns of several clusters are never merged:
  a cluster the partition mixed from two operators (dev pools 1000: 5 accounts of one operator in a 9-account
  cluster of another's campaign) holds both pools, and a merge through it joined two operators' campaigns
  (offline, ARI by operator 0.959 -> 0.823); a lone piece follows one tie, so each campaign after the move holds
  at most one campaign of several clusters from before.

Flags are not touched: the move comes after every flag is decided, so it changes ``campaign_id`` and what
campaigns count and list, never which accounts are flagged, nor the partition (as
:mod:`graphlink.stages.lead_campaigns`).

Known limit: two operators renting one pool that no one else uses, each cell flagged, are one pool to this test
(dev crowds 1000: two operators' cells share 76 of the smaller one's 82 addresses, no other holder): a lone cell
of one joins the other's campaign. Nothing in the addresses tells them apart; the lone condition keeps such
moves to single cells.
"""

from __future__ import annotations

import polars as pl

__all__ = ["chain_ends", "moved_campaigns", "ADDRESS_KINDS", "closed_values", "pool_pieces", "pool_ties"]

#: Kinds whose values are network addresses an operator draws from a pool.
ADDRESS_KINDS = ("ip",)


def closed_values(partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                  flagged: pl.Series) -> pl.DataFrame:
    """Address values held by two or more accounts, all of them members of flagged clusters.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx``: at least every clustered account's (others are not read).
    signals : DataFrame
        ``signal_idx, kind, df``: ``df`` the value's holders in the whole log.
    flagged : Series
        Ids of the flagged clusters.

    Returns
    -------
    DataFrame
        ``cluster_id, signal_idx, a`` (UInt32: the cluster's holders of the value), one row per (cluster,
        closed value) -- only values of :data:`ADDRESS_KINDS` whose ``df`` holders are all in flagged clusters.
    """
    values = signals.filter(pl.col("kind").is_in(ADDRESS_KINDS) & (pl.col("df") >= 2)).select("signal_idx", "df")
    members = partition.drop_nulls("cluster_id").filter(pl.col("cluster_id").is_in(flagged.implode()))
    held = (affiliations.select("account_idx", "signal_idx").join(values.select("signal_idx"), on="signal_idx")
            .join(members.select("account_idx", "cluster_id"), on="account_idx")
            .group_by("cluster_id", "signal_idx").agg(pl.len().cast(pl.UInt32).alias("a")))
    inside = held.group_by("signal_idx").agg(pl.col("a").sum().alias("__in"))
    closed = inside.join(values, on="signal_idx").filter(pl.col("__in") >= pl.col("df")).select("signal_idx")
    return held.join(closed, on="signal_idx", how="semi")


def pool_ties(partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame, flagged: pl.Series,
              containment: float, min_values: int, movers: pl.Series | None = None) -> pl.DataFrame:
    """Flagged clusters whose address pool another flagged cluster holds (module docstring), as directed pairs.

    Parameters
    ----------
    partition, affiliations, signals, flagged
        As :func:`closed_values`.
    containment : float
        The shared closed values must be at least this share of ``cluster_id``'s address values held by two or more
        accounts (its *pool*).
    min_values : int
        ... and at least this many.
    movers : Series, optional
        Ids of the clusters whose ties are wanted (``cluster_id`` side); all flagged clusters when omitted. The pairs
        are counted from these clusters' closed values only: a value a whole operator's hundreds of cells hold
        costs its holders x movers rows, not its holders squared.

    Returns
    -------
    DataFrame
        ``cluster_id, other, shared`` (UInt32: closed addresses both hold), ``containment`` (Float64: ``shared`` over
        ``cluster_id``'s pool); a row per direction that passes.
    """
    empty = pl.DataFrame(schema={"cluster_id": pl.Int64, "other": pl.Int64, "shared": pl.UInt32,
                                 "containment": pl.Float64})
    if flagged.is_empty():
        return empty
    values = signals.filter(pl.col("kind").is_in(ADDRESS_KINDS) & (pl.col("df") >= 2)).select("signal_idx")
    pool = (affiliations.select("account_idx", "signal_idx").join(values, on="signal_idx")
            .join(partition.drop_nulls("cluster_id").filter(pl.col("cluster_id").is_in(flagged.implode())),
                  on="account_idx")
            .group_by("cluster_id").agg(pl.col("signal_idx").n_unique().alias("pool")))
    closed = closed_values(partition, affiliations, signals, flagged).filter(pl.len().over("signal_idx") >= 2)
    if closed.is_empty():
        return empty
    ids = closed.schema["cluster_id"]
    side = closed if movers is None else closed.filter(pl.col("cluster_id").is_in(movers.implode()))
    pairs = (side.select("cluster_id", "signal_idx").join(closed.select(pl.col("cluster_id").alias("other"), "signal_idx"),
                                                          on="signal_idx")
             .filter(pl.col("cluster_id") != pl.col("other"))
             .group_by("cluster_id", "other").agg(pl.len().cast(pl.UInt32).alias("shared")))
    return (pairs.join(pool, on="cluster_id")
            .with_columns((pl.col("shared") / pl.col("pool").cast(pl.Float64)).alias("containment"))
            .filter((pl.col("shared") >= min_values) & (pl.col("containment") >= containment))
            .select(pl.col("cluster_id").cast(ids), pl.col("other").cast(ids), "shared", "containment")
            .cast({"cluster_id": pl.Int64, "other": pl.Int64}))


def pool_pieces(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                containment: float, min_values: int) -> pl.DataFrame:
    """``clusters`` with each flagged cluster alone in its campaign moved to its strongest pool tie's campaign.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, size, flagged, campaign_id`` (one row per cluster; other columns kept).
    partition, affiliations, signals
        As :func:`closed_values`.
    containment, min_values
        As :func:`pool_ties`.

    Returns
    -------
    DataFrame
        ``clusters``, same rows and columns, ``campaign_id`` changed for the moved clusters only. A lone cluster
        follows the tie of highest containment, then most shared values, then the partner of the smallest id; a
        chain of lone clusters ends in the campaign it reaches, and lone clusters tied only to each other share
        the campaign of their largest (then smallest campaign id); a ``why`` naming a moved cluster's campaign as
        its lead's ("... flagged cluster N (campaign M)") names the campaign it moved to (:func:`moved_campaigns`).
        Source: graphlink session 53 (BENCHMARKS.md, helper camp53).

    Examples
    --------
    Cluster 1 (campaign 1, with cluster 3) and lone cluster 2 hold five addresses no one else does; cluster 2 moves.

    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 2, 2, 3, 3]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 2] * 5, "signal_idx": [v for v in range(5) for _ in (0, 1)]},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": list(range(5)), "kind": ["ip"] * 5, "df": [2] * 5},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [2, 2, 2], "flagged": [True] * 3, "campaign_id": [1, 2, 1]})
    >>> pool_pieces(cl, part, aff, sig, 0.35, 5)["campaign_id"].to_list()
    [1, 1, 1]
    """
    if clusters.is_empty() or "campaign_id" not in clusters.columns:
        return clusters
    flagged = clusters.filter(pl.col("flagged").fill_null(False))["cluster_id"]
    camp = clusters.select(pl.col("cluster_id").cast(pl.Int64), pl.col("campaign_id").cast(pl.Int64), "size",
                           pl.col("flagged").fill_null(False))
    lone = camp.filter(pl.col("campaign_id").is_not_null() & (pl.len().over("campaign_id") == 1) & pl.col("flagged"))
    ties = pool_ties(partition, affiliations, signals, flagged, containment, min_values, lone["cluster_id"])
    if ties.is_empty():
        return clusters
    best = (ties.join(lone.select("cluster_id", "campaign_id"), on="cluster_id")
            .join(camp.select(pl.col("cluster_id").alias("other"), pl.col("campaign_id").alias("to")), on="other")
            .filter(pl.col("to").is_not_null() & (pl.col("to") != pl.col("campaign_id")))
            .sort(["cluster_id", "containment", "shared", "other"], descending=[False, True, True, False])
            .unique("cluster_id", keep="first", maintain_order=True))
    if best.is_empty():
        return clusters
    # Each lone cluster points at one campaign; campaigns of several clusters point nowhere, so following the
    # pointers ends in one of them or in a cycle of lone clusters (union-find over campaign ids).
    parent: dict[int, int] = {}

    def root(c: int) -> int:
        while parent.get(c, c) != c:
            parent[c] = parent.get(parent[c], parent[c])
            c = parent[c]
        return c

    size_of = dict(camp.group_by("campaign_id").agg(pl.col("size").sum()).drop_nulls("campaign_id").iter_rows())
    multi = set(camp.drop_nulls("campaign_id").group_by("campaign_id").len().filter(pl.col("len") > 1)["campaign_id"])
    for source, target in best.select("campaign_id", "to").iter_rows():
        a, b = root(source), root(target)
        if a == b:
            continue
        # The surviving id: a campaign of several clusters if either is one, else the larger, then the smaller id.
        keep, drop = sorted((a, b), key=lambda c: (c not in multi, -size_of.get(c, 0), c))
        parent[drop] = keep
        size_of[keep] = size_of.get(keep, 0) + size_of.get(drop, 0)
    return moved_campaigns(clusters, {c: root(c) for c in list(parent)})


def chain_ends(to: dict[int, int]) -> dict[int, int]:
    """Each campaign of ``to`` (campaign -> the one it joins) mapped to where its chain of joins ends.

    The callers point each campaign into a strictly larger one (or a smaller id), so every chain ends.

    >>> chain_ends({3: 2, 2: 1, 5: 4})
    {3: 1, 2: 1, 5: 4}
    """
    def end(c: int) -> int:
        while c in to:
            c = to[c]
        return c
    return {c: end(c) for c in to}


def moved_campaigns(clusters: pl.DataFrame, moved: dict[int, int]) -> pl.DataFrame:
    """``clusters`` with campaign ``c`` renamed ``moved[c]`` in ``campaign_id`` and in ``why``.

    The one place a campaign move is written (:func:`pool_pieces`, :func:`graphlink.stages.lone_cells.lone_cells`):
    a flag inherited from a moved cell names its lead's campaign ("... flagged cluster N (campaign M)"), which must
    be the campaign the lead is in now. ``moved`` maps old to final ids (no chains); ``clusters`` keeps its rows,
    columns and dtypes; ``why``, when present, has each "(campaign c)" replaced at once (no replacement is
    replaced again).
    """
    if not moved:
        return clusters
    out = clusters.with_columns(pl.col("campaign_id").replace(moved).cast(clusters.schema["campaign_id"]))
    if "why" in out.columns:
        out = out.with_columns(pl.col("why").str.replace_many([f"(campaign {c})" for c in moved],
                                                              [f"(campaign {moved[c]})" for c in moved]))
    return out
