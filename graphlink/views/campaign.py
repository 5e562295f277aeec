"""One campaign on its own: its row of ``campaigns.parquet`` and the clusters it groups.

``graphlink show`` takes a cluster; an investigator deciding on an operator needs the campaign's cells side by
side -- which are flagged on their own score, which through a tie, which not at all -- without opening the HTML
report (new-user review, session 46). :func:`campaign_view` is the one function behind ``graphlink campaign`` and
the notebook's :meth:`graphlink.Result.campaign`.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.config import GraphConfig
from graphlink.contract import CAMPAIGN_TIES_SCHEMA
from graphlink.errors import GraphlinkError
from graphlink.store.folder import unknown_id_message
from graphlink.views.explain import flag_basis_expr, flag_settings

__all__ = ["CAMPAIGN_CLUSTER_COLUMNS", "CAMPAIGN_TIE_COLUMNS", "campaign_score_from", "campaign_ties", "campaign_view"]

#: The columns of a campaign's cluster table, in order.
CAMPAIGN_CLUSTER_COLUMNS = ("cluster_id", "size", "score", "flagged", "why")
#: The columns of the values tying a campaign's clusters (:func:`campaign_ties`), in order.
CAMPAIGN_TIE_COLUMNS = ("kind", "value", "clusters", "accounts", "weight")


def campaign_view(campaigns: pl.DataFrame | None, clusters: pl.DataFrame, campaign_id: int,
                  run: dict[str, Any] | None = None, folder: Path | str | None = None) -> tuple[dict[str, Any], pl.DataFrame]:
    """A campaign's row and its clusters, flagged first, then by score (highest first), size, id.

    Parameters
    ----------
    campaigns : polars.DataFrame or None
        ``campaigns.parquet`` (:data:`graphlink.contract.CAMPAIGNS_SCHEMA`: at least ``campaign_id``,
        ``clusters``, ``accounts``, ``score``, ``flagged``, ``why``); ``None`` for a folder written before
        campaigns existed.
    clusters : polars.DataFrame
        ``clusters.parquet`` rows with at least :data:`CAMPAIGN_CLUSTER_COLUMNS`.
    campaign_id : int
        The campaign (``campaign_id`` of ``accounts.parquet`` and ``clusters.parquet``).
    run : dict, optional
        The folder's ``run.json`` (its ``min_flag_size``, for ``flag``; the default settings when omitted).
    folder : path, optional
        The output folder the tables come from, named first in the error for an unknown id
        (:func:`graphlink.store.folder.unknown_id_message`, as ``show`` names it); None for a result in memory.

    Returns
    -------
    row : dict
        The campaign's row of ``campaigns``.
    members : polars.DataFrame
        One row per cluster of the campaign, :data:`CAMPAIGN_CLUSTER_COLUMNS` and ``flag``: what its flag rests on
        (:func:`graphlink.views.explain.flag_basis_expr`: ``own evidence``, ``with cluster N``, ``own score, size of
        campaign N``; "" when not flagged), in the words of detect's table, ``show`` and the report; ``size`` in
        accounts.

    Raises
    ------
    GraphlinkError
        No campaigns (an older folder), no such campaign, or a ``campaign_id`` that is no integer (``"3"``,
        ``3.0``, ``True``, ``None``: as :meth:`graphlink.Result.cluster` says of a cluster id; a text id was a polars
        ``ComputeError``, ``None`` a warning and "no campaign None", new-user review nu47).

    Examples
    --------
    >>> camps = pl.DataFrame({"campaign_id": [1], "clusters": [[3, 4]], "accounts": [9], "score": [0.9],
    ...                       "flagged": [True], "why": ["2 clusters"]})
    >>> cl = pl.DataFrame({"cluster_id": [3, 4, 5], "size": [4, 5, 2], "score": [0.2, 0.9, 0.1],
    ...                    "flagged": [False, True, False], "why": ["a", "b", "c"]})
    >>> row, members = campaign_view(camps, cl, 1)
    >>> row["accounts"], members["cluster_id"].to_list(), members["flag"].to_list()
    (9, [4, 3], ['own evidence', ''])
    """
    try:
        if isinstance(campaign_id, bool):
            raise TypeError
        campaign_id = operator.index(campaign_id)
    except TypeError:
        raise GraphlinkError(f"campaign id must be an integer, got {campaign_id!r}") from None
    if campaigns is None:
        raise GraphlinkError("this folder has no campaigns.parquet (written by an older graphlink); rerun "
                             "graphlink detect")
    found = campaigns.filter(pl.col("campaign_id") == campaign_id)
    if found.is_empty():
        raise GraphlinkError(unknown_id_message("campaign", [campaign_id], campaigns["campaign_id"], folder,
                                                ": the campaign column of detect, show and the report"))
    row = found.row(0, named=True)
    ids = pl.Series("cluster_id", [int(c) for c in row["clusters"] or []], dtype=pl.Int64)
    members = (clusters.filter(pl.col("cluster_id").is_in(ids.implode()))
               .select(CAMPAIGN_CLUSTER_COLUMNS)
               .sort(["flagged", "score", "size", "cluster_id"], descending=[True, True, True, False],
                     nulls_last=True)
               .with_columns(pl.lit(row["campaign_id"]).alias("campaign_id"))
               .with_columns(flag_basis_expr(min_flag_size=flag_settings(run or {})[1])).drop("campaign_id"))
    return row, members


def campaign_score_from(row: dict[str, Any], members: pl.DataFrame) -> str:
    """Where a campaign's score comes from, in words: its best cluster's score, or the campaign scored as a whole.

    A campaign's score is the larger of its highest cluster score and, for a campaign scored as a whole, its
    pooled score (:func:`graphlink.stages.campaigns.score_campaigns`); ``graphlink campaign`` printed the number
    alone, and an investigator could not tell which cell it came from (new-user review nu47).

    Parameters
    ----------
    row : dict
        The campaign's row (:func:`campaign_view`): at least ``score`` (0-1, or None).
    members : polars.DataFrame
        Its clusters (:func:`campaign_view`): ``cluster_id``, ``score``.

    Returns
    -------
    str
        ``"cluster 4's, the highest of its clusters"``, ``"scored as a whole; its best cluster, 4, scores
        0.900"``, or ``"no score"``.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [3, 4], "score": [0.2, 0.9]})
    >>> campaign_score_from({"score": 0.9}, cl), campaign_score_from({"score": 0.95}, cl)
    ("cluster 4's, the highest of its clusters", 'scored as a whole; its best cluster, 4, scores 0.900')
    >>> campaign_score_from({"score": 0.2}, cl.head(1))
    "cluster 3's, its only one"
    """
    score = row.get("score")
    if score is None:
        return "no score"
    scored = members.drop_nulls("score").sort(["score", "cluster_id"], descending=[True, False])
    if scored.is_empty():
        return "scored as a whole"
    best, top = int(scored["cluster_id"][0]), float(scored["score"][0])
    if score > top + 1e-9:  # the pooled score is higher: the campaign was scored as one group of accounts
        return f"scored as a whole; its best cluster, {best}, scores {top:.3f}"
    return f"cluster {best}'s, the highest of its clusters" if members.height > 1 else f"cluster {best}'s, its only one"


def campaign_ties(out_dir: str | Path, cluster_ids: list[int], graph_config: GraphConfig | None = None) -> pl.DataFrame:
    """The values that tie a campaign's clusters: each value of a tie kind held by members of two or more of them.

    What the campaign's ``why`` counts ("tied by 183 prompt phrases, 69 IP addresses") by value, so an investigator
    can check the tie in the log before acting on the cells that are not flagged on their own (new-user review
    nu47: no command, file or report section listed them). Read by
    :func:`graphlink.store.campaign_ties.read_campaign_ties`: from the folder's ``campaign_ties.parquet``, the very
    values the ``why`` counts, kept at detect (session 48: recomputed from ``linking.parquet`` and
    ``memberships.parquet``, a campaign tied by its templates listed only each cluster's strongest phrases, or
    none); a folder written before that file existed falls back to that recomputation
    (:func:`graphlink.store.campaign_ties.ties_note` says which).

    Parameters
    ----------
    out_dir : str or Path
        A detect output folder.
    cluster_ids : list of int
        The campaign's clusters (its ``clusters``).
    graph_config : GraphConfig, optional
        Which kinds tie an operator's cells, for an older folder (:func:`graphlink.stages.campaigns.is_tie_kind`:
        cards, IP addresses, prompt phrases and strong ``--signal`` kinds; never user agents, networks, domains or
        timing); default: the settings the folder's ``run.json`` records, as detect grouped the campaign by them.

    Returns
    -------
    polars.DataFrame
        :data:`CAMPAIGN_TIE_COLUMNS`: ``kind``, ``value`` (as logged: escape before printing), ``clusters`` (the
        ids of the campaign's clusters whose members hold it, ascending), ``accounts`` (the campaign's accounts
        holding it), ``weight`` (its rarity weight). By kind, the operator's own infrastructure first (cards,
        declared identifiers, IP addresses, then prompt phrases, which a stock phrasing also shares), and within a
        kind most clusters first, then most accounts, heaviest, value. Empty when the folder has none of the
        tables or the campaign has one cluster.

    Raises
    ------
    GraphlinkError
        A damaged ``campaign_ties``, ``accounts``, ``linking`` or ``memberships`` table (the message names the
        folder and the files).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     pl.DataFrame({"account_id": list("abcd"), "cluster_id": [1, 1, 2, 3]}).write_parquet(f"{tmp}/accounts.parquet")
    ...     pl.DataFrame({"account_id": list("abcd"), "kind": ["ip", "ip", "ip", "user_agent"],
    ...                   "value": ["1.1.1.1"] * 3 + ["curl"], "weight": 0.5}).write_parquet(f"{tmp}/linking.parquet")
    ...     campaign_ties(tmp, [1, 2, 3]).select("kind", "value", "clusters", "accounts").rows()
    [('ip', '1.1.1.1', [1, 2], 3)]
    """
    from graphlink.store.campaign_ties import read_campaign_ties

    ids = sorted({int(c) for c in cluster_ids})
    if len(ids) < 2:
        return pl.DataFrame(schema={name: CAMPAIGN_TIES_SCHEMA[name] for name in CAMPAIGN_TIE_COLUMNS})
    campaign_of = pl.DataFrame({"cluster_id": ids, "campaign_id": None}, schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    return read_campaign_ties(Path(out_dir), campaign_of, graph_config).select(CAMPAIGN_TIE_COLUMNS)
