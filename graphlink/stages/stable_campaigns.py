"""Stable campaign ids: a campaign keeps its id from the previous run (``--previous``) when it holds most of the same
accounts, as a cluster keeps its id (:mod:`graphlink.stages.stable_ids`).

Campaign ids were numbered afresh on every run: the same operator was campaign 3 on day one and campaign 2 on day two,
and day two's campaign 3 was someone else, so a case citing "campaign 3" read another group the next day (new-user
review nu56, finding 1). :func:`match_campaigns` pairs the two runs' campaigns by member overlap with
:func:`graphlink.stages.stable_ids.match_clusters` itself -- the same Jaccard similarity over the accounts with an event
in the new log, the same ``previous_min_jaccard`` bar, the same deterministic greedy best-first pairing, fresh ids
above every id issued before (the previous run's ``counts.max_campaign_id``, so a vanished campaign's id is never
reused) -- and :func:`rekey_campaign_ids` writes the ids everywhere an output names a campaign: ``accounts``,
``clusters`` and ``campaigns``' ``campaign_id``, ``campaign_ties``' ``campaign_id``, a cluster ``why`` naming its lead's
campaign ("tied to flagged cluster N (campaign M)") or its campaign scored as a whole ("campaign M as a whole (...)"),
and a campaign ``why``'s "flagged through cluster N (campaign M)". Nothing else changes: the grouping, the flags and the
scores are the run's own; only the numbers move. Without ``--previous`` (or with a previous run given as a frame, or
a folder written before campaigns) campaign ids are the run's own, as before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.stages.campaign_flags import AS_A_WHOLE
from graphlink.stages.rekeying import apply_mapping
from graphlink.stages.stable_ids import PreviousRun, match_clusters, summarise
from graphlink.stages.tie_words import LEAD_CAMPAIGN_PATTERN, THROUGH, THROUGH_PATTERN

__all__ = ["previous_campaigns", "match_campaigns", "rekey_campaign_ids", "stable_campaigns", "record_campaigns"]

#: A cluster ``why`` of a campaign scored as a whole: group 1 the campaign id (polars' regex syntax).
_WHOLE = r"^campaign (\d+)" + AS_A_WHOLE.replace("(", r"\(")


def previous_campaigns(prev: PreviousRun | None) -> tuple[pl.DataFrame | None, int]:
    """``account_id, campaign_id`` of a previous output folder (``accounts.parquet``) and the highest campaign id it
    issued (``run.json``'s ``counts.max_campaign_id`` when recorded, else the highest its accounts hold); ``(None, 0)``
    for no previous run, a frame, or a folder without campaign ids (written before campaigns). Unreadable: ``(None, 0)``
    too (the previous run's ``accounts.parquet`` was read already by :func:`graphlink.stages.stable_ids.load_previous`)."""
    folder = Path(prev.path) if prev is not None and prev.path != "<frame>" else None
    if folder is None or not (folder / "accounts.parquet").is_file():
        return None, 0
    try:
        if "campaign_id" not in pl.scan_parquet(folder / "accounts.parquet", glob=False).collect_schema():
            return None, 0
        rows = pl.read_parquet(folder / "accounts.parquet", columns=["account_id", "campaign_id"], glob=False)
    except (pl.exceptions.PolarsError, OSError):
        return None, 0
    rows = rows.select(pl.col("account_id").cast(pl.String), pl.col("campaign_id").cast(pl.Int64).alias("cluster_id"))
    top = int(rows["cluster_id"].max() or 0)
    try:
        recorded = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("counts", {}).get("max_campaign_id")
        top = max(top, int(recorded or 0))
    except (ValueError, TypeError, AttributeError, OSError, OverflowError):
        pass  # an older or odd run.json: the accounts' ids are the floor
    return rows, top


def match_campaigns(previous: pl.DataFrame, accounts: pl.DataFrame, min_jaccard: float, id_floor: int = 0) -> pl.DataFrame:
    """Map this run's campaign ids onto the previous run's: :func:`graphlink.stages.stable_ids.match_clusters` over
    campaign memberships (its schema: ``cluster_id`` this run's campaign id, ``previous_id``, ``stable_id``, ``jaccard``,
    ``status``).

    Parameters
    ----------
    previous : DataFrame
        ``account_id, cluster_id`` -- the previous run's campaign of each account (:func:`previous_campaigns`).
    accounts : DataFrame
        This run's ``account_id, campaign_id`` (and ``events``: only accounts with an event in the new log count the
        previous campaign's size).
    min_jaccard : float
        The overlap a pair needs (``[stable_ids] previous_min_jaccard``, as for clusters).
    id_floor : int
        Fresh ids start above it (the highest campaign id ever issued).

    Examples
    --------
    >>> prev = pl.DataFrame({"account_id": list("abcdef"), "cluster_id": [1, 1, 1, 2, 2, 2]})
    >>> now = pl.DataFrame({"account_id": list("abcdefg"), "campaign_id": [2, 2, 2, 1, 1, 1, 1]})
    >>> match_campaigns(prev, now, 0.5).select("cluster_id", "stable_id", "status").rows()
    [(2, 1, 'matched'), (1, 2, 'matched')]
    """
    new = accounts.select("account_id", pl.col("campaign_id").alias("cluster_id"),
                          *([pl.col("events")] if "events" in accounts.columns else []))
    return match_clusters(previous, new, min_jaccard, id_floor=id_floor)


def _mapped(ids: pl.Expr, mapping: tuple[list[int], list[int]]) -> pl.Expr:
    """The campaign ids (digits, as text) ``ids`` names, rewritten by ``mapping`` (old ids, new ids); others kept."""
    number = ids.cast(pl.Int64, strict=False)  # an id past Int64 is no run's: kept as written, as the per-row rewrite did (brk60)
    return pl.when(number.is_in(mapping[0])).then(number.replace(*mapping).cast(pl.String)).otherwise(ids)


def _cluster_why(why: pl.Expr, mapping: tuple[list[int], list[int]]) -> pl.Expr:
    """A ``clusters`` why with the campaign ids it names rewritten: the lead's ``(campaign N)``
    (:data:`LEAD_CAMPAIGN_PATTERN`) and ``campaign N as a whole (``; nothing else (quoted text is logged text)."""
    lead = f"^({LEAD_CAMPAIGN_PATTERN[1:]})"  # group 1 the whole lead, group 4 its campaign
    whole, camp = why.str.extract(lead, 1), why.str.extract(lead, 4)
    after_lead = why.str.slice(whole.str.len_chars())
    led = pl.concat_str([whole.str.slice(0, whole.str.len_chars() - camp.str.len_chars() - 1), _mapped(camp, mapping),
                         pl.lit(")"), after_lead])
    number = why.str.extract(_WHOLE, 1)
    as_whole = pl.concat_str([pl.lit("campaign "), _mapped(number, mapping),
                              why.str.slice(number.str.len_chars() + len("campaign "))])
    return pl.when(camp.is_not_null()).then(led).when(number.is_not_null()).then(as_whole).otherwise(why)


def _campaign_why(why: pl.Expr, mapping: tuple[list[int], list[int]]) -> pl.Expr:
    """A ``campaigns`` why with the ``(campaign N)`` of its ``flagged through`` items (:data:`THROUGH_PATTERN`)
    rewritten; the rest kept. Every ``(campaign N)`` form is swapped at once (:meth:`polars.Expr.str.replace_many`:
    no id is rewritten twice; ``(campaign 1)`` cannot match inside ``(campaign 12)``)."""
    olds, news = mapping
    items = why.str.extract(THROUGH_PATTERN, 2)
    swapped = items.str.replace_many([f"(campaign {o})" for o in olds], [f"(campaign {n})" for n in news])
    return pl.when(items.is_not_null()).then(pl.concat_str([
        why.str.extract(THROUGH_PATTERN, 1), pl.lit(THROUGH), swapped, why.str.extract(THROUGH_PATTERN, 3)])
    ).otherwise(why)


def rekey_campaign_ids(mapping: pl.DataFrame, accounts: pl.DataFrame, clusters: pl.DataFrame,
                       campaigns: pl.DataFrame | None, ties: pl.DataFrame | None) -> tuple[pl.DataFrame, ...]:
    """The four tables with the stable campaign ids of ``mapping`` (:func:`match_campaigns`): ``campaign_id`` columns
    and the ids the ``why`` texts name; ``campaigns`` sorted by the new ids, ``ties`` by campaign (each one's rows in
    their order), ``accounts`` and ``clusters`` in their order.

    Examples
    --------
    >>> m = pl.DataFrame({"cluster_id": [1, 2], "stable_id": [5, 1]})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [1, 2],
    ...                    "why": ["proxies", "tied to flagged cluster 1 (campaign 1) by 3 prompt phrases"]})
    >>> camps = pl.DataFrame({"campaign_id": [1, 2], "why": ["1 cluster", "1 cluster; flagged through cluster 1 (campaign 1)"]})
    >>> _, cl, camps, _ = rekey_campaign_ids(m, pl.DataFrame({"account_id": ["a"], "campaign_id": [2]}), cl, camps, None)
    >>> cl["why"][1], camps.rows()
    ('tied to flagged cluster 1 (campaign 5) by 3 prompt phrases', [(1, '1 cluster; flagged through cluster 1 (campaign 5)'), (5, '1 cluster')])
    """
    pairs = mapping.drop_nulls(["cluster_id", "stable_id"]).select(pl.col("cluster_id").cast(pl.Int64), pl.col(
        "stable_id").cast(pl.Int64)).unique("cluster_id", keep="last", maintain_order=True)  # as a dict keeps them
    ids = (pairs["cluster_id"].to_list(), pairs["stable_id"].to_list())  # one pair per campaign, not per row

    def whys(frame: pl.DataFrame, campaign_why: bool) -> pl.DataFrame:
        if "why" not in frame.columns or frame.is_empty() or not ids[0]:
            return frame
        rewrite = _campaign_why if campaign_why else _cluster_why
        return frame.with_columns(rewrite(pl.col("why"), ids).alias("why"))
    accounts = apply_mapping(accounts, mapping, "campaign_id")
    clusters = whys(apply_mapping(clusters, mapping, "campaign_id"), False) if "campaign_id" in clusters.columns else clusters
    if campaigns is not None:
        campaigns = whys(apply_mapping(campaigns, mapping, "campaign_id"), True).sort("campaign_id", maintain_order=True)
    if ties is not None:
        ties = apply_mapping(ties, mapping, "campaign_id").sort("campaign_id", maintain_order=True)
    return accounts, clusters, campaigns, ties


def stable_campaigns(prev: PreviousRun | None, accounts: pl.DataFrame, clusters: pl.DataFrame,
                     campaigns: pl.DataFrame | None, ties: pl.DataFrame | None, min_jaccard: float,
                     ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None, dict[str, Any] | None]:
    """The outputs with campaign ids carried over from ``prev`` (both engines call this after the cluster ids), and
    ``run.json``'s ``previous.campaigns`` (:func:`graphlink.stages.stable_ids.summarise` of the mapping; None when there is
    no previous run's campaigns to follow: the tables are returned as they are)."""
    previous, top = previous_campaigns(prev)
    if previous is None or "campaign_id" not in accounts.columns:
        return accounts, clusters, campaigns, ties, None
    mapping = match_campaigns(previous, accounts, min_jaccard, id_floor=top)
    accounts, clusters, campaigns, ties = rekey_campaign_ids(mapping, accounts, clusters, campaigns, ties)
    return accounts, clusters, campaigns, ties, {**summarise(mapping), "max_campaign_id": max(
        top, int(accounts["campaign_id"].max() or 0), int(campaigns["campaign_id"].max() or 0) if campaigns is not None and campaigns.height else 0)}


def record_campaigns(run: dict[str, Any], summary: dict[str, Any] | None) -> dict[str, Any]:
    """``run`` (``run.json``) with :func:`stable_campaigns`' summary as ``previous.campaigns`` and the highest campaign
    id issued as ``counts.max_campaign_id`` (the next run's floor); ``run`` as it is without one."""
    if summary is None or run.get("previous") is None:
        return run
    summary = dict(summary)
    run["counts"]["max_campaign_id"] = summary.pop("max_campaign_id")
    run["previous"]["campaigns"] = summary
    return run
