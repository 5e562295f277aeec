"""The split guard: a block split off by its wording is flagged on its own score only if its whole would be.

Why. :mod:`graphlink.stages.wording_cells` splits a cluster whose members write in clearly different ways into its
blocks (an operator's sibling cells). Each block is then scored on its own members, and the counter-evidence that
only the whole shows is gone: a company of three departments, each sending its own job template, on the company's
own e-mail domain is private to the company (``org_coherence`` 1.0, the score discounted) but a third of that
domain's accounts are no majority of it, so a department read as no organisation and was flagged; a remote team of
32 on one corporate card, half sending a support template and half a sales one, scored 0.53 as one cluster but
0.71 as the support half ("100 % of prompts are templated": the half no longer shares the team's card with staff
who write other things), and the other half was flagged through the card (session 46's suite and break-it
review, BENCHMARKS.md). Splitting is a claim about *how many* groups there are, not new evidence of abuse: the
split is kept for what it gives (cells, ARI by cell and by operator), and the flag keeps the evidence it had.

Rule (:func:`held_blocks`). Each cluster the wording step split (its *whole*: the cluster as it was before, with the
members still clustered) is scored too, by the same :func:`graphlink.stages.scoring.score_clusters` on the whole's
members, exactly as it is scored with wording cells off. A block scoring ``flag_threshold`` or more is *held* --
not flagged on its own score, nor on its own score with its campaign's accounts counted for ``min_flag_size``
(:func:`graphlink.stages.campaign_flags.flag_with_campaign`) -- when its whole scores under the threshold. Nothing
else changes: a block whose whole is flagged is flagged only on its own score (an office's block inside an
operator's whole stays unflagged: the split's precision), and a held block still takes a flag through its ties to a
flagged cluster or with its campaign scored as a whole, as any cluster (a flag earned by evidence outside it).
Scoring the whole, rather than carrying one counter-evidence feature (the domain's share) into each block, covers
every feature the split dilutes or sharpens -- the private domain, the card's alignment with offices, the template
share -- with the one scoring code, and needs no list of them kept in step with it. Network cells
(:mod:`graphlink.stages.network_cells`) run after the split and may join a block to accounts from no split whole (a
remote team's support block and three contractors on the team's VPN sending its support template: break-it review
bw47, 35 benign accounts flagged, none with wording cells off): such a cluster is held as a block is, unless those
accounts, scored as a group of their own, would be flagged (``min_flag_size`` of them scoring the threshold) --
what the cluster would be without the split is its whole and those accounts apart.

Column and ``why``. The pipeline carries :data:`HELD` (the whole's words, null when not held) from scoring to
the campaign flags; :func:`held_why` opens an unflagged held block's ``why`` with it (:data:`HELD_PATTERN`:
``split by wording from a cluster of N accounts scoring S``, read back by :mod:`graphlink.views.explain`) and
drops the column.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from graphlink.stages.components import fmt_int

__all__ = ["HELD", "HELD_PATTERN", "HELD_WORDS", "SPLIT_FROM", "held_blocks", "held_why", "wording_wholes"]

#: The column :func:`graphlink.stages.wording_cells.split_wording` adds to the wholes it returns: each account's
#: cluster before the wording split when that cluster was split (null otherwise).
SPLIT_FROM = "split_from"
#: The scored clusters' column of a held block (:func:`held_blocks`): its whole's words (null: not held).
HELD = "held_by_whole"
#: How a held block's ``why`` opens, before its own reasons: ``HELD_WORDS`` + ``"N accounts scoring S"``.
HELD_WORDS = "split by wording from a cluster of "
#: :data:`HELD_WORDS` read back: group 1 the whole's accounts (thousands separated), group 2 its score.
HELD_PATTERN = "^" + HELD_WORDS + r"([\d,]+) accounts scoring (\d+\.\d+)"


def wording_wholes(wholes: pl.DataFrame | None) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """``(split_from, wholes)``: the wording step's wholes (``account_idx, cluster_id`` of the accounts whose cluster
    it split, None when it split none) and the wholes for campaigns without :data:`SPLIT_FROM`."""
    if wholes is None or SPLIT_FROM not in wholes.columns:
        return None, wholes
    split = wholes.select("account_idx", pl.col(SPLIT_FROM).alias("cluster_id")).drop_nulls("cluster_id")
    return (split if split.height else None), wholes.drop(SPLIT_FROM)


def held_blocks(clusters: pl.DataFrame, partition: pl.DataFrame, split_from: pl.DataFrame | None,
                score: Callable[[pl.DataFrame], pl.DataFrame], flag_threshold: float,
                min_flag_size: int = 1) -> pl.DataFrame:
    """``clusters`` with the blocks whose whole scores under ``flag_threshold`` held (module docstring).

    Parameters
    ----------
    clusters : DataFrame
        Scored clusters: ``cluster_id, score, flagged`` (any other columns kept).
    partition : DataFrame
        ``account_idx, cluster_id`` the clusters were scored from.
    split_from : DataFrame or None
        ``account_idx, cluster_id`` (the whole) of the accounts whose cluster the wording step split
        (:func:`wording_wholes`); None: nothing is held.
    score : callable
        Scores a partition (``account_idx, cluster_id``) as ``clusters`` were scored: a frame with
        ``cluster_id, size, score`` per cluster. Called once, when any whole lies in two or more clusters of
        ``partition``: on those wholes' members and on the accounts from no such whole in a cluster with a block
        of one (each such cluster's own group).
    flag_threshold : float
        :attr:`graphlink.config.ScoringConfig.flag_threshold`.
    min_flag_size : int
        :attr:`graphlink.config.ScoringConfig.min_flag_size`: the accounts a later step joined to a block would
        be flagged on their own only with this many (a whole is judged on its score alone).

    Returns
    -------
    DataFrame
        ``clusters`` (same rows and order) with ``flagged`` False for a held block and :data:`HELD` (String: its
        whole's ``N accounts scoring S``, null when not held). A cluster holding members of a whole that lies in two
        or more clusters -- a block of it, or a block a later step joined to other accounts (network cells joins
        a support team's block to contractors on its VPN: bw47) -- is held when it scores the threshold or more
        and nothing it would be without the split would be flagged: no whole it holds members of scores the
        threshold, and its accounts from no such whole, scored as a group, do not score it with
        ``min_flag_size`` accounts. The words name the highest-scoring whole it holds members of.

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": range(6), "cluster_id": [1, 1, 1, 2, 2, 2]})
    >>> split = pl.DataFrame({"account_idx": range(6), "cluster_id": [7] * 6})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2], "score": [0.8, 0.1], "flagged": [True, False]})
    >>> tame = lambda p: p.group_by("cluster_id").agg(pl.len().alias("size"), pl.lit(0.5).alias("score"))
    >>> held_blocks(cl, part, split, tame, 0.6).rows()
    [(1, 0.8, False, '6 accounts scoring 0.500'), (2, 0.1, False, None)]
    >>> loud = lambda p: p.group_by("cluster_id").agg(pl.len().alias("size"), pl.lit(0.9).alias("score"))
    >>> held_blocks(cl, part, split, loud, 0.6)["flagged"].to_list()
    [True, False]
    """
    out = clusters.with_columns(pl.lit(None, pl.String).alias(HELD))
    if split_from is None:
        return out
    members = (partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64))
               .join(split_from.select("account_idx", pl.col("cluster_id").cast(pl.Int64).alias("whole")),
                     on="account_idx", how="left"))
    # Wholes still split over two or more clusters, and the clusters holding their members: the blocks, and a
    # cluster a later step (network cells) joined a block into with accounts from no split whole.
    split = (members.drop_nulls("whole").group_by("whole").agg(pl.col("cluster_id").n_unique().alias("parts"))
             .filter(pl.col("parts") > 1).select("whole"))
    if split.is_empty():
        return out
    touched = members.join(split, on="whole", how="semi").select("cluster_id").unique()
    # What each such cluster would be without the split: the whole(s) it holds members of, and its members from no
    # split whole (joined in later) as a group of their own, under an id past every whole's and cluster's.
    past = int(max(members["cluster_id"].max(), members["whole"].max())) + 1
    groups = (members.join(touched, on="cluster_id", how="semi")
              .with_columns(pl.col("whole").is_in(split["whole"].implode()).alias("__in"))
              .with_columns(pl.when(pl.col("__in")).then(pl.col("whole")).otherwise(pl.col("cluster_id") + past).alias("group")))
    scored = score(groups.select("account_idx", pl.col("group").alias("cluster_id"))).select(
        pl.col("cluster_id").cast(pl.Int64).alias("group"), pl.col("size").alias("__wsize"),
        pl.col("score").fill_null(0.0).alias("__wscore"))
    # A group would be flagged: a whole scoring the threshold; the joined accounts scoring it and min_flag_size many.
    parts = (groups.select("cluster_id", "group", "__in").unique().join(scored, on="group")
             .with_columns(((pl.col("__wscore") >= flag_threshold) & (pl.col("__in") | (pl.col("__wsize") >= min_flag_size))).alias("__loud")))
    # The words name the loudest whole it holds members of.
    named = parts.filter(pl.col("__in")).sort("__wscore", "group", descending=[True, False]).unique("cluster_id", keep="first")
    tame = (parts.group_by("cluster_id").agg(pl.col("__loud").any()).filter(~pl.col("__loud"))
            .join(named.select("cluster_id", "__wsize", "__wscore"), on="cluster_id")
            .select(pl.col("cluster_id").cast(clusters.schema["cluster_id"]),
                    pl.concat_str([fmt_int(pl.col("__wsize")), pl.lit(" accounts scoring "),
                                   pl.col("__wscore").round(3).cast(pl.String).str.pad_end(5, "0")])
                    .alias("__words")))
    held = pl.col("__words").is_not_null() & (pl.col("score") >= flag_threshold)
    return (out.join(tame, on="cluster_id", how="left", maintain_order="left")
            .with_columns(pl.when(held).then(pl.lit(False)).otherwise(pl.col("flagged")).alias("flagged"),
                          pl.when(held).then(pl.col("__words")).otherwise(pl.lit(None, pl.String)).alias(HELD))
            .drop("__words"))


def held_why(clusters: pl.DataFrame) -> pl.DataFrame:
    """``clusters`` without :data:`HELD`, the ``why`` of each held block still unflagged opened with it (module
    docstring): ``split by wording from a cluster of N accounts scoring S; <its reasons>``. A held block flagged
    later (through a tie, with its campaign) keeps the ``why`` that says how.

    >>> cl = pl.DataFrame({"flagged": [False, True], "why": ["templated", "same operator as flagged cluster 3; x"],
    ...                    HELD: ["32 accounts scoring 0.530", "9 accounts scoring 0.100"]})
    >>> held_why(cl)["why"].to_list()
    ['split by wording from a cluster of 32 accounts scoring 0.530; templated', 'same operator as flagged cluster 3; x']
    """
    if HELD not in clusters.columns:
        return clusters
    note = pl.col(HELD).is_not_null() & ~pl.col("flagged").fill_null(False)
    opened = pl.concat_str([pl.lit(HELD_WORDS), pl.col(HELD), pl.lit("; "), pl.col("why").fill_null("")]).str.strip_suffix("; ")
    return clusters.with_columns(pl.when(note).then(opened).otherwise(pl.col("why")).alias("why")).drop(HELD)
