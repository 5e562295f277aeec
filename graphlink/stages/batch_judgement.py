"""Batch members after the judgement: what :func:`graphlink.stages.batch_cells.member_moves` changes, and what it keeps.

Batch members (``[communities] batch_members``, on with ``batch_cells`` since session 54) moves a batch's accounts out of the card groups they share with
an operator's long-lived cells, after every cluster is scored, flagged and placed in a campaign. The moves change no
judgement: the moved accounts take their batch's flag, and every cluster keeps its own score and flag -- a cluster that
gave members leaves a remnant that is no new evidence (:func:`carry_judgement` says why); an account the moves would leave
alone (a cluster of one dissolves) goes with its cluster-mates' batch when a card or addresses tie it to them and both
are flagged (:func:`remnants_followed`, session 56). Split out of
:mod:`graphlink.stages.batch_cells` (module size); session 54, helper cell54 (BENCHMARKS.md).
"""

from __future__ import annotations

from typing import Callable

import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.campaigns import MIN_TIE_VALUES, PRIVATE_TIE_KINDS, TIE_KINDS, is_tie_kind
from graphlink.stages.account_rows import in_accounts
from graphlink.stages.evidence import shared_in_clusters

__all__ = ["carry_evidence", "carry_judgement", "carry_shared", "cluster_origins", "judged_moves", "moves_made_later", "remnants_followed"]


def cluster_origins(before: pl.DataFrame, after: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """Which cluster of ``before`` each cluster of ``after`` is, and what :func:`graphlink.stages.batch_cells.member_moves` changed in it.

    Members move only from long-lived clusters into batch clusters, which keep all their own members; so the members
    of an ``after`` cluster that did not move were all in one ``before`` cluster: the one it is.

    Parameters
    ----------
    before, after : DataFrame
        ``account_idx, cluster_id``: the partition the moves were found on, and it with them made (renumbered).
    moves : DataFrame
        ``account_idx, to`` (:func:`graphlink.stages.batch_cells.member_moves`).

    Returns
    -------
    DataFrame
        ``cluster_id`` (``after``'s), ``was`` (``before``'s), ``took`` (members it received), ``gave`` (members it lost
        to batches), ``followed`` (of ``took``, accounts a move left alone that followed their cluster-mates: ``moves``'
        ``left``, :func:`remnants_followed`; 0 without it), one row per ``after`` cluster. A ``before`` cluster whose
        remnant dissolved or followed has no row.

    Examples
    --------
    >>> b = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 2, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> mv = pl.DataFrame({"account_idx": [2], "to": [1]}, schema_overrides={"account_idx": pl.UInt32})
    >>> from graphlink.stages.batch_cells import moved_partition
    >>> from graphlink.stages.communities import renumber
    >>> a = renumber(moved_partition(b, mv))
    >>> cluster_origins(b, a, mv).select("was", "took", "gave").sort("was").rows()
    [(1, 1, 0), (2, 0, 1)]
    """
    was = before.select("account_idx", pl.col("cluster_id").alias("was"))
    stay = after.drop_nulls("cluster_id").join(moves, on="account_idx", how="anti").join(was, on="account_idx")
    left = pl.col("left").sum() if "left" in moves.columns else pl.lit(0)
    took = moves.join(after, on="account_idx").group_by("cluster_id").agg(pl.len().alias("took"), left.cast(pl.Int64).alias("followed"))
    gave = moves.join(was, on="account_idx").group_by("was").agg(pl.len().alias("gave"))
    return (stay.select("cluster_id", "was").unique().join(took, on="cluster_id", how="left").join(gave, on="was", how="left")
            .with_columns(pl.col("took").fill_null(0).cast(pl.Int64), pl.col("gave").fill_null(0).cast(pl.Int64),
                          pl.col("followed").fill_null(0).cast(pl.Int64))
            .select("cluster_id", "was", "took", "gave", "followed").sort("cluster_id"))


def carry_judgement(clusters: pl.DataFrame, origins: pl.DataFrame, before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """``clusters`` (scored and flagged on the partition before :func:`graphlink.stages.batch_cells.member_moves`) for the partition after them.

    Each cluster keeps the judgement -- score, features, flag, campaign -- of the cluster it was before the moves:
    a batch that took members keeps its own (the moved accounts take their batch's flag and campaign), and a cluster
    that gave members keeps its own too. Why not re-score what is left (issue 17, BENCHMARKS.md session 54, cell54):
    the move only says which *cell* an account belongs to -- it adds no evidence about the accounts left behind,
    which are still tied to the moved ones by every value Leiden grouped them on -- and a remnant is a group no
    evidence proposed (it is what the batch did not take), whose profile and score are the former cluster's cut by
    chance. Re-scored, such a remnant was voted into another campaign and flagged (dev a2: a person and one ring
    account, left of a cluster of three scoring 0.85 unflagged in a campaign of three, were voted into a flagged
    operator's campaign and flagged at 0.62), and flagged siblings left in pairs fell under ``min_flag_size`` (dev
    ind179: 9 ring accounts unflagged). So batch members changes flags only of the accounts it moves.
    ``size`` is the new count; ``why`` (whose figures are of the cluster judged) says so and what moved. A batch that
    took members is placed as every cluster is (:func:`graphlink.stages.network_cells.piece_campaigns`): in the campaign
    holding most of its members, each counted in the campaign of the cluster it was judged in (ties: its own) -- the
    moved accounts bring their operator's campaign to a batch grouping had left in one of its own (dev a1: ARI by
    operator 0.48 with the batch's own campaign kept).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, size, why`` and any other columns, by ``before``'s ids.
    origins : DataFrame
        :func:`cluster_origins`.
    before, after : DataFrame
        ``account_idx, cluster_id``: the partition judged, and it after the moves.

    Returns
    -------
    DataFrame
        ``clusters``' columns, one row per cluster of ``after``, by ``cluster_id``.

    Examples
    --------
    >>> o = pl.DataFrame({"cluster_id": [1, 2], "was": [5, 6], "took": [1, 0], "gave": [0, 1]})
    >>> a = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 1, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> c = pl.DataFrame({"cluster_id": [5, 6], "size": [2, 3], "flagged": [True, False], "why": ["a batch", "one card"]})
    >>> b = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [5, 5, 6, 6, 6]}, schema_overrides={"account_idx": pl.UInt32})
    >>> carry_judgement(c, o, b, a).select("size", "flagged").rows()
    [(3, True), (2, False)]
    """
    size = after.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.len().alias("size"))
    followed = pl.col("followed") if "followed" in origins.columns else pl.lit(0)
    took = pl.concat_str([pl.lit("judged on its "), pl.col("size").cast(pl.String), pl.lit(" accounts before it took "),
                          (pl.col("took") - followed).cast(pl.String),
                          pl.lit(" of longer-lived clusters active only in its hours and writing its template"),
                          pl.when(followed > 0).then(pl.concat_str([pl.lit(" and "), followed.cast(pl.String),
                                                                    pl.lit(" left alone by them, tied to them by a card or addresses")]))
                          .otherwise(pl.lit("")), pl.lit(" (batch members)")])
    gave = pl.concat_str([pl.lit("judged as the "), pl.col("size").cast(pl.String), pl.lit(" accounts it was before "), pl.col("gave").cast(pl.String),
                          pl.lit(" moved to a batch active only in their hours (batch members)")])
    note = pl.when(pl.col("took") > 0).then(took).when(pl.col("gave") > 0).then(gave)
    why = (pl.when(note.is_null()).then(pl.col("why")).when(pl.col("why").is_null() | (pl.col("why") == "")).then(note)
           .otherwise(pl.concat_str([pl.col("why"), pl.lit("; "), note])))
    out = (origins.join(clusters.rename({"cluster_id": "was"}), on="was")  # the notes count the accounts judged (size before)
           .with_columns(why.alias("why")).drop("size")
           .join(size.with_columns(pl.col("size").cast(clusters.schema["size"])), on="cluster_id")
           .with_columns(pl.col("cluster_id").cast(clusters.schema["cluster_id"])))
    if "campaign_id" in clusters.columns:
        took = out.filter(pl.col("took") > 0).select("cluster_id", pl.col("campaign_id").alias("own"))
        votes = (after.join(took, on="cluster_id").join(before.select("account_idx", pl.col("cluster_id").alias("was")), on="account_idx")
                 .join(clusters.select(pl.col("cluster_id").alias("was"), "campaign_id"), on="was")
                 .group_by("cluster_id", "own", "campaign_id").agg(pl.len().alias("n"))
                 .sort(["cluster_id", "n", pl.col("campaign_id") == pl.col("own")], descending=[False, True, True])
                 .group_by("cluster_id", maintain_order=True).first().select("cluster_id", pl.col("campaign_id").alias("voted")))
        out = (out.join(votes, on="cluster_id", how="left")
               .with_columns(pl.coalesce("voted", "campaign_id").cast(clusters.schema["campaign_id"]).alias("campaign_id")))
    return out.select(clusters.columns).sort("cluster_id")


def carry_evidence(evidence: pl.DataFrame, origins: pl.DataFrame, fresh: pl.DataFrame) -> pl.DataFrame:
    """``evidence`` (by the ids before :func:`graphlink.stages.batch_cells.member_moves`) for the clusters after them: a cluster that took or gave
    members lists ``fresh`` (its shared values recomputed on its new members) beside the tying values it kept
    (``ties``); the others keep their rows. Rows of a dissolved remnant are dropped."""
    changed = origins.filter((pl.col("took") > 0) | (pl.col("gave") > 0))
    kept = (evidence.rename({"cluster_id": "was"}).join(origins.select("cluster_id", "was"), on="was").drop("was")
            .filter(~pl.col("cluster_id").is_in(changed["cluster_id"].implode()) | pl.col("ties").fill_null(False)))
    fresh = fresh.filter(pl.col("cluster_id").is_in(changed["cluster_id"].implode())).join(kept, on=["cluster_id", "kind", "value"], how="anti")
    return pl.concat([kept.select(evidence.columns).cast(evidence.schema), fresh.select(evidence.columns).cast(evidence.schema)]).sort("cluster_id")


def carry_shared(shared: pl.DataFrame, origins: pl.DataFrame, memberships: pl.DataFrame, after: pl.DataFrame,
                 cut: Callable[[pl.DataFrame], pl.DataFrame] | None = None) -> pl.DataFrame:
    """``shared`` (the values shared in each cluster before :func:`graphlink.stages.batch_cells.member_moves`) for the
    clusters after them, counting again only the clusters that took or gave members.

    A cluster the moves left alone has the same members, so its shared values are its rows of ``shared`` under its new
    id; only a changed cluster's are counted again (:func:`graphlink.stages.evidence.shared_in_clusters`), and over its
    own members' memberships only. So the pass costs memory in proportion to what moved, not a second count over every
    clustered membership (224k dev: the whole count peaked ~0.3 GB over the RSS it started at; session 55, helper memb55).
    The rows equal a count of every cluster from scratch, cut the same way, in the same order: ``cut`` and the count
    work cluster by cluster, and each cluster's rows keep their order -- except the numbers ``template`` gives a
    cluster's prompt templates (:func:`graphlink.stages.evidence.prompt_templates`), which are read only within a
    cluster and may differ.

    Parameters
    ----------
    shared : DataFrame
        ``cluster_id`` (``before``'s ids), ``signal_idx, accounts_sharing`` and any columns ``cut`` adds, one row per
        cluster and value, sorted by ``cluster_id``; computed on the partition the moves were made on.
    origins : DataFrame
        :func:`cluster_origins` of the moves.
    memberships : DataFrame
        ``account_idx, signal_idx``: every clustered account's memberships (the table ``shared`` was counted from).
    after : DataFrame
        ``account_idx, cluster_id``: the partition after the moves (renumbered).
    cut : callable, optional
        What was applied to :func:`graphlink.stages.evidence.shared_in_clusters` to make ``shared`` (the pipeline's
        :func:`graphlink.stages.evidence.top_per_kind`): applied to the recounted clusters' rows. None: none.

    Returns
    -------
    DataFrame
        ``shared``'s columns, by ``after``'s ids, sorted by ``cluster_id`` (within a cluster, in ``shared``'s order or
        ``cut``'s). A dissolved remnant has no rows.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 1, 2, 3, 2, 3], "signal_idx": [7, 7, 8, 8, 9, 9]}, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> b = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> a = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [2, 2, 1, 1]}, schema_overrides={"account_idx": pl.UInt32})
    >>> o = pl.DataFrame({"cluster_id": [1, 2], "was": [2, 1], "took": [0, 0], "gave": [0, 0]})
    >>> carry_shared(shared_in_clusters(m, b), o, m, a).rows()
    [(1, 8, 2), (1, 9, 2), (2, 7, 2)]
    """
    changed = origins.filter((pl.col("took") > 0) | (pl.col("gave") > 0)).select(pl.col("cluster_id").cast(pl.Int64))
    same = origins.join(changed, on="cluster_id", how="anti").select(pl.col("was").cast(shared.schema["cluster_id"]), "cluster_id")
    kept = (shared.rename({"cluster_id": "was"}).join(same, on="was", maintain_order="left")
            .select(pl.col("cluster_id").cast(shared.schema["cluster_id"]), *[c for c in shared.columns if c != "cluster_id"]))
    members = after.drop_nulls("cluster_id").filter(pl.col("cluster_id").cast(pl.Int64).is_in(changed["cluster_id"].implode()))
    if members.is_empty():
        return kept.sort("cluster_id", maintain_order=True)
    # Only the changed clusters' members' memberships are counted: a mask read by position, not a join over all rows.
    fresh = shared_in_clusters(memberships.filter(in_accounts(members, int(memberships["account_idx"].max() or 0) + 1)), members)
    fresh = cut(fresh) if cut is not None else fresh
    return pl.concat([kept, fresh.select(shared.columns).cast(shared.schema)]).sort("cluster_id", maintain_order=True)


def moves_made_later(batches: pl.DataFrame, moves: pl.DataFrame, partition: pl.DataFrame) -> pl.DataFrame:
    """``moves`` found on ``batches`` (the partition batch cells left) made on ``partition`` (it after the judgement).

    The moves are found where Leiden's card groups still hold the batch's accounts -- before fleet outsiders, which
    detach some of them from groups they do not fit (dev ind179 ARI by cell 0.85 with moves found after, 0.94 before)
    -- and made once every cluster is judged. A batch loses no member to a move, so its cluster in ``partition`` is
    the one holding most of its own members; a move to a batch no longer clustered, or into the cluster the account
    is already in, is dropped.

    Returns
    -------
    DataFrame
        ``account_idx, to`` (``partition``'s cluster ids), by account.

    Examples
    --------
    >>> b = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 2, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> later = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [7, 7, 8, 8, None]}, schema_overrides={"account_idx": pl.UInt32})
    >>> mv = pl.DataFrame({"account_idx": [2, 4], "to": [1, 1]}, schema={"account_idx": pl.UInt32, "to": pl.Int64})
    >>> moves_made_later(b, mv, later).rows()
    [(2, 7), (4, 7)]
    """
    own = (batches.join(moves, on="account_idx", how="anti").rename({"cluster_id": "to"}).join(partition.drop_nulls("cluster_id"), on="account_idx")
           .group_by("to", "cluster_id").agg(pl.len().alias("n")).sort(["to", "n", "cluster_id"], descending=[False, True, False])
           .group_by("to", maintain_order=True).first().select("to", pl.col("cluster_id").alias("final")))
    return (moves.join(own, on="to").join(partition, on="account_idx", how="left")
            .filter(pl.col("cluster_id").ne_missing(pl.col("final")))
            .select("account_idx", pl.col("final").cast(pl.Int64).alias("to")).sort("account_idx"))


def judged_moves(moves: pl.DataFrame, partition: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """``moves`` (:func:`moves_made_later`) kept only out of a cluster judged to be the batch's operator's: flagged, or
    placed in the batch's campaign (``campaign_id``, when ``clusters`` has it).

    Why (issue 17, BENCHMARKS.md session 54, brk54 / fixcell54): a batch member is an account of the operator's batch
    that Leiden left in a card group it shares with the operator's long-lived cells (dev a1: the donors are card
    groups of the operator's own cells, flagged or in its campaign). Lifetime, template and tool alone do not say
    whose it is: a one-session visitor of an office's NAT, or a family's teenager, pasting the ring's public template
    in the batch's hours from a stock browser, passes all three, and moved it took the ring's flag (brk54: visitors
    8/8, teenagers 6/6). The judgement of the cluster it sits in does say it: an office or a family is neither
    flagged nor in the ring's campaign. An account no cluster holds any more (a fleet outsider detached after the
    moves were found) has no benign cluster to be taken from; its move is kept.

    Parameters
    ----------
    moves : DataFrame
        ``account_idx, to`` (``partition``'s cluster ids).
    partition : DataFrame
        ``account_idx, cluster_id``: the partition judged.
    clusters : DataFrame
        ``cluster_id, flagged`` and optionally ``campaign_id``, by ``partition``'s ids.

    Returns
    -------
    DataFrame
        ``moves``' rows kept, same columns.

    Examples
    --------
    >>> p = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 2, 3, None]}, schema_overrides={"account_idx": pl.UInt32})
    >>> c = pl.DataFrame({"cluster_id": [1, 2, 3], "flagged": [True, False, False], "campaign_id": [1, 1, 3]})
    >>> mv = pl.DataFrame({"account_idx": [1, 2, 3], "to": [1, 1, 1]}, schema={"account_idx": pl.UInt32, "to": pl.Int64})
    >>> judged_moves(mv, p, c)["account_idx"].to_list()
    [1, 3]
    """
    camp = "campaign_id" in clusters.columns
    cols = ["cluster_id", "flagged"] + (["campaign_id"] if camp else [])
    donor = clusters.select(cols).rename({"flagged": "donor_flagged"} | ({"campaign_id": "donor_campaign"} if camp else {}))
    target = clusters.select([c for c in cols if c != "flagged"]).rename({"cluster_id": "to"} | ({"campaign_id": "to_campaign"} if camp else {}))
    rows = (moves.join(partition, on="account_idx", how="left").join(donor.with_columns(pl.col("cluster_id").cast(pl.Int64)),
                                                                     on="cluster_id", how="left")
            .join(target.with_columns(pl.col("to").cast(pl.Int64)), on="to", how="left"))
    same = pl.col("donor_campaign").eq(pl.col("to_campaign")).fill_null(False) if camp else pl.lit(False)
    keep = pl.col("cluster_id").is_null() | pl.col("donor_flagged").fill_null(False) | same
    return rows.filter(keep).select(moves.columns)


def remnants_followed(moves: pl.DataFrame, partition: pl.DataFrame, clusters: pl.DataFrame, affiliations: pl.DataFrame,
                      signals: pl.DataFrame, min_cluster_size: int = 2, graph_config: GraphConfig | None = None) -> pl.DataFrame:
    """``moves`` (:func:`judged_moves`) and the accounts they would leave alone: each follows the batch that took its
    cluster-mates when its tie to them is its operator's and the judgement is kept.

    A flagged card group that gives all its members but one to batches leaves a remnant under ``min_cluster_size``,
    which dissolves: the account left loses its cluster and its flag (session 55, test independent 209: 8 ring
    accounts, remnants of 2-13-account flagged cells). What the moves say is that the moved accounts belong to their
    batch's cell; they say nothing against the account left -- it is still tied to them by the values Leiden grouped
    them on (:func:`carry_judgement`). So the account left goes with a batch that took its cluster-mates when the
    two conditions below hold -- of several such batches, the one that took most of them (ties: the lower cluster id):

    * the tie is one an operator owns, not one it writes: with the mates that batch took it shares (each value
      counted once, however many of them hold it) a card (or a
      user-declared strong identifier: :data:`graphlink.stages.campaigns.PRIVATE_TIE_KINDS` and strong ``--signal``
      kinds), or at least :data:`graphlink.stages.campaigns.MIN_TIE_VALUES` addresses -- a campaign's *infrastructure*
      tie (:func:`graphlink.stages.campaign_flags.substantial_campaigns`). A template is no tie here: a person pasting
      the ring's public template in its hours shares it, and one address may be a home a residential proxy exits from;
    * the judgement does not change: the cluster it was in and the batch are both flagged. A remnant of an unflagged
      cluster never follows into a flagged batch (the tie alone flags no one), and one of a flagged cluster does not
      follow an unflagged batch (it would leave the flag either way).

    Otherwise it dissolves, as before. Only linked values count (a value over its kind's cap links no one).

    Parameters
    ----------
    moves : DataFrame
        ``account_idx, to``: the moves to be made (``partition``'s cluster ids).
    partition : DataFrame
        ``account_idx, cluster_id``: the partition judged.
    clusters : DataFrame
        ``cluster_id, flagged``, by ``partition``'s ids.
    affiliations : DataFrame
        ``account_idx, signal_idx``: the clustered accounts' memberships.
    signals : DataFrame
        ``signal_idx, kind, linked``.
    min_cluster_size : int
        A cluster under this many accounts dissolves (:func:`graphlink.stages.communities.renumber`).
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong.

    Returns
    -------
    DataFrame
        ``account_idx, to, left`` (bool: an account left alone, following): ``moves`` (``left`` False) and the
        followers, by account.

    Examples
    --------
    Card group 2 (accounts 3-5) gives 4 and 5 to batch 1; account 3 pays with their card (signal 7): it follows.

    >>> p = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 1, 2, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> c = pl.DataFrame({"cluster_id": [1, 2], "flagged": [True, True]})
    >>> mv = pl.DataFrame({"account_idx": [4, 5], "to": [1, 1]}, schema={"account_idx": pl.UInt32, "to": pl.Int64})
    >>> a = pl.DataFrame({"account_idx": [3, 4, 5], "signal_idx": [7, 7, 7]}, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> s = pl.DataFrame({"signal_idx": [7], "kind": ["payment"], "linked": [True]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> remnants_followed(mv, p, c, a, s).rows()
    [(3, 1, True), (4, 1, False), (5, 1, False)]
    """
    out = moves.select("account_idx", pl.col("to").cast(pl.Int64), pl.lit(False).alias("left"))
    part = partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64))
    mates = moves.join(part, on="account_idx").select("account_idx", pl.col("to").cast(pl.Int64), "cluster_id")
    alone = (part.join(moves, on="account_idx", how="anti").filter(pl.len().over("cluster_id") < min_cluster_size)
             .join(mates.select("cluster_id").unique(), on="cluster_id"))
    flagged = clusters.filter(pl.col("flagged").fill_null(False)).select(pl.col("cluster_id").cast(pl.Int64))
    alone = alone.join(flagged, on="cluster_id")
    if alone.is_empty():
        return out.sort("account_idx")
    graph_config = graph_config or GraphConfig()
    # Only the accounts left and their moved mates' memberships are read: a mask by position, not a join over every
    # clustered membership (38M rows at 224k; memb55).
    keys = pl.concat([alone.select(pl.col("account_idx").cast(pl.UInt32)), mates.select(pl.col("account_idx").cast(pl.UInt32))])
    affiliations = (affiliations.filter(in_accounts(keys, int(affiliations["account_idx"].max() or 0) + 1))
                    .select("account_idx", "signal_idx"))
    kinds = [k for k in signals["kind"].unique().to_list() if is_tie_kind(k, graph_config)]
    owned = (signals.filter(pl.col("linked").fill_null(False) & pl.col("kind").is_in(kinds))
             .select("signal_idx", (pl.col("kind").is_in(PRIVATE_TIE_KINDS) | ~pl.col("kind").is_in(TIE_KINDS)).alias("private"),
                     (pl.col("kind") == "ip").alias("address")))
    # what each account left shares with the mates each batch took (one row per value, however many mates hold it)
    theirs = (mates.join(flagged.rename({"cluster_id": "to"}), on="to").join(affiliations.select("account_idx", "signal_idx"), on="account_idx")
              .select("cluster_id", "to", "signal_idx").unique())
    tied = (alone.join(affiliations.select("account_idx", "signal_idx"), on="account_idx").join(owned, on="signal_idx")
            .join(theirs, on=["cluster_id", "signal_idx"])
            .group_by("account_idx", "to").agg(pl.col("private").any(), pl.col("address").sum())
            .filter(pl.col("private") | (pl.col("address") >= MIN_TIE_VALUES)))
    taken = mates.group_by("cluster_id", "to").agg(pl.len().alias("n"))
    follow = (tied.join(alone, on="account_idx").join(taken, on=["cluster_id", "to"])
              .sort(["account_idx", "n", "to"], descending=[False, True, False]).group_by("account_idx", maintain_order=True).first()
              .select("account_idx", "to", pl.lit(True).alias("left")))
    return pl.concat([out, follow.cast(out.schema)]).sort("account_idx")
