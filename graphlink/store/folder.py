"""A detect output folder in memory: :class:`Outputs` and the helpers that navigate it.

:func:`graphlink.store.outputs.load_outputs` builds an :class:`Outputs`; the
notebook objects (:mod:`graphlink.views`), the report, ``show`` and ``export``
read it. File names and schemas are in :mod:`graphlink.contract`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.contract import ACCOUNTS_FILE, NON_COMPONENT_COLUMNS
from graphlink.errors import GraphlinkError

Selection = str | Sequence[int | str]


def folder_path(value: Any) -> Path:
    """``value`` as the path of an output folder; anything else (``None``, a number) is a
    :class:`GraphlinkError` naming what was expected, not a bare ``TypeError`` from :class:`Path`."""
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise GraphlinkError(f"an output folder is a path (the --out folder of graphlink detect), not "
                         f"{type(value).__name__}")


@dataclass(frozen=True)
class Outputs:
    """A detect output folder, restricted to some clusters.

    Attributes
    ----------
    path : Path
        The folder.
    run : dict
        ``run.json``.
    clusters : DataFrame
        Every cluster (``clusters.parquet``), whatever the selection.
    selected : list of int
        Cluster ids the other tables are restricted to, in cluster-id order.
    accounts : DataFrame
        Members of the selected clusters (``accounts.parquet`` columns).
    evidence : DataFrame
        Evidence of the selected clusters.
    memberships : DataFrame or None
        ``account_id, cluster_id, kind, value, weight`` of the selected
        clusters' members; ``None`` if the folder has no ``memberships.parquet``.
    activity : DataFrame or None
        ``activity.parquet`` rows of the selected clusters, or ``None``.
    campaigns : DataFrame or None
        ``campaigns.parquet`` (every campaign), or ``None`` for folders written
        before campaigns existed.
    links, linking : LazyFrame or None
        ``links.parquet`` and ``linking.parquet``, scanned when read with
        ``load_outputs(..., graph=True)`` (``expand``, ``match``).
    minutes : LazyFrame or None
        ``minutes.parquet`` (clustered accounts' events per UTC minute), scanned with
        ``graph=True`` when the folder has it; the clock of ``expand``.
    templates : LazyFrame or None
        ``templates.parquet`` (clustered accounts' prompt shingles), scanned with
        ``graph=True`` when the folder has it; whose templates ``expand`` holds a list to.
    member_linking : DataFrame or None
        ``linking.parquet`` rows (``account_id, cluster_id, kind, value, df, weight``) of the selected clusters'
        members, read with the drill-down tables; ``None`` if the folder has no ``linking.parquet``. Why each
        member is in its cluster (:func:`graphlink.views.member_ties.member_ties`).
    campaign_ties : DataFrame or None
        The values tying the clusters of the selected clusters' campaigns (:data:`graphlink.contract.CAMPAIGN_TIES_SCHEMA`,
        :func:`graphlink.store.campaign_ties.read_campaign_ties`: what each campaign's ``why`` counts); ``None`` for
        a folder without campaigns or read without the drill-down tables.
    set_apart : DataFrame or None
        ``set_apart.parquet`` (:data:`graphlink.contract.SET_APART_SCHEMA`): every account a cluster lost after Leiden,
        the cluster it left and why; ``None`` for a folder written before it (session 57).
    redaction : str or None
        Set by :meth:`graphlink.store.redact.Redactor.outputs`: what was redacted and how.
    """

    path: Path
    run: dict[str, Any]
    clusters: pl.DataFrame
    selected: list[int]
    accounts: pl.DataFrame
    evidence: pl.DataFrame
    memberships: pl.DataFrame | None
    activity: pl.DataFrame | None
    campaigns: pl.DataFrame | None = None
    redaction: str | None = None
    links: pl.LazyFrame | None = None
    linking: pl.LazyFrame | None = None
    minutes: pl.LazyFrame | None = None
    templates: pl.LazyFrame | None = None
    member_linking: pl.DataFrame | None = None
    campaign_ties: pl.DataFrame | None = None
    set_apart: pl.DataFrame | None = None

    @property
    def folder(self) -> Path | None:
        """The output folder these tables were read from; None for a detect result in memory (``<memory>``)."""
        return self.path if self.path.is_dir() else None

    def cluster_row(self, cluster_id: int) -> dict[str, Any]:
        """The ``clusters.parquet`` row of ``cluster_id`` as a dict."""
        rows = self.clusters.filter(pl.col("cluster_id") == cluster_id)
        if rows.is_empty():
            raise GraphlinkError(unknown_cluster_message(self.path, [cluster_id], self.clusters))
        return rows.row(0, named=True)

    def members(self, cluster_id: int) -> pl.DataFrame:
        """Members of one cluster, most active first."""
        return (self.accounts.filter(pl.col("cluster_id") == cluster_id)
                .sort(["events", "account_id"], descending=[True, False]))

    def cluster_evidence(self, cluster_id: int) -> pl.DataFrame:
        """Evidence of one cluster, most shared and heaviest first."""
        return (self.evidence.filter(pl.col("cluster_id") == cluster_id)
                .sort(["accounts_sharing", "weight", "kind", "value"], descending=[True, True, False, False]))

    def cluster_memberships(self, cluster_id: int) -> pl.DataFrame | None:
        """Account-signal edges of one cluster's members, or ``None`` without ``memberships.parquet``."""
        if self.memberships is None:
            return None
        return self.memberships.filter(pl.col("cluster_id") == cluster_id)

    def cluster_activity(self, cluster_id: int) -> pl.DataFrame | None:
        """Activity rows of one cluster's members, or ``None`` without ``activity.parquet``."""
        if self.activity is None:
            return None
        return self.activity.filter(pl.col("cluster_id") == cluster_id)

    def known_ids(self, ids: pl.Series, unclustered: bool = False) -> pl.Series:
        """Those of ``ids`` (account ids) the run had (``unclustered``: in no cluster), read from ``accounts.parquet``
        whatever clusters were loaded (``accounts`` holds only the selected clusters' members unless read whole); a
        result in memory: its whole ``accounts``."""
        wanted = pl.col("account_id").is_in(ids.cast(pl.String).implode()) & (
            pl.col("cluster_id").is_null() if unclustered else pl.lit(True))
        if not (self.path / ACCOUNTS_FILE).is_file():  # a detect result in memory: its accounts are whole
            return self.accounts.filter(wanted)["account_id"]
        try:
            rows = (pl.scan_parquet(self.path / ACCOUNTS_FILE, glob=False).select("account_id", "cluster_id")
                    .filter(wanted).collect())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise GraphlinkError(f"{self.path / ACCOUNTS_FILE}: cannot read the table: {str(exc).splitlines()[0]}") from None
        return rows["account_id"]

    def hour_profile(self, cluster_id: int) -> list[int] | None:
        """Events of one cluster per UTC hour of day (24 counts), or ``None`` without ``activity.parquet``."""
        activity = self.cluster_activity(cluster_id)
        if activity is None:
            return None
        return hour_counts(activity)["events"].to_list()


def score_columns(clusters: pl.DataFrame) -> list[str]:
    """Numeric cluster columns shown as score components: ``score`` first, then any others.

    Later scoring versions add component columns; they are picked up here
    without code changes.

    Examples
    --------
    >>> df = pl.DataFrame({"cluster_id": [1], "size": [3], "score": [0.5], "why": ["x"], "ip_share": [0.2]})
    >>> score_columns(df)
    ['score', 'ip_share']
    """
    numeric = [name for name, dtype in clusters.schema.items()
               if dtype.is_numeric() and name not in NON_COMPONENT_COLUMNS]
    return sorted(numeric, key=lambda name: (name != "score", numeric.index(name)))


def unknown_id_message(what: str, missing: Sequence[int], known: pl.Series, path: Path | str | None = None,
                       note: str = "") -> str:
    """The one wording of an id a run does not have (``show``, ``export``, ``campaign``, the notebook's
    :meth:`graphlink.Result.cluster` and :meth:`graphlink.Result.campaign`): the folder first when there is one,
    then the ids there are, lowest to highest (not 1 to the count: ids kept with ``--previous`` leave gaps).
    ``what``: ``cluster`` or ``campaign``; ``note``: what else names those ids. Three wordings until session 47.

    Examples
    --------
    >>> unknown_id_message("cluster", [9999], pl.Series([1, 7]), "out")
    'out: no cluster 9999 (cluster ids run from 1 to 7)'
    >>> unknown_id_message("campaign", [5], pl.Series([], dtype=pl.Int64))
    'no campaign 5: this run found no campaigns'
    """
    where = f"{path}: " if path is not None and str(path) != "" else ""
    ids = ", ".join(str(c) for c in missing)
    if known.len() == 0:
        return f"{where}no {what} {ids}: this run found no {what}s"
    return f"{where}no {what} {ids} ({what} ids run from {known.min()} to {known.max()}{note})"


def unknown_cluster_message(path: Path | str | None, missing: Sequence[int], clusters: pl.DataFrame) -> str:
    """The error text for cluster ids a folder does not have (:func:`unknown_id_message`)."""
    return unknown_id_message("cluster", missing, clusters["cluster_id"], path)


def hour_counts(rows: pl.DataFrame, hour: str = "hour", events: str | None = "events") -> pl.DataFrame:
    """Events per UTC hour of day: 24 rows ``hour`` (Int8, 0-23), ``events`` (Int64), empty hours 0.

    The one hour-of-day profile of graphlink (case files, report, notebook).

    Parameters
    ----------
    rows : DataFrame
        One row per event (``events=None``) or per count (``activity.parquet``
        rows: an ``hour`` column and an ``events`` column).
    hour, events : str
        Column names.

    Examples
    --------
    >>> activity = pl.DataFrame({"hour": [9, 9, 11], "events": [2, 1, 4]}, schema={"hour": pl.Int8, "events": pl.Int64})
    >>> hour_counts(activity).filter(pl.col("events") > 0).rows()
    [(9, 3), (11, 4)]
    """
    count = pl.len() if events is None else pl.col(events).sum()
    counts = rows.group_by(pl.col(hour).cast(pl.Int8).alias("hour")).agg(count.cast(pl.Int64).alias("events"))
    return (pl.DataFrame({"hour": pl.int_range(0, 24, eager=True).cast(pl.Int8)})
            .join(counts, on="hour", how="left")
            .with_columns(pl.col("events").fill_null(0)).sort("hour"))


def select_clusters(clusters: pl.DataFrame, selection: Selection, path: Path | str = "") -> list[int]:
    """Resolve ``"flagged"``, ``"all"`` or explicit cluster ids to a sorted list of ids.

    Raises
    ------
    GraphlinkError
        An explicit id that is not a cluster, or an unknown keyword.

    Examples
    --------
    >>> df = pl.DataFrame({"cluster_id": [1, 2, 3], "flagged": [True, False, True]})
    >>> select_clusters(df, "flagged"), select_clusters(df, "all"), select_clusters(df, [3, 1, 3])
    ([1, 3], [1, 2, 3], [1, 3])
    >>> select_clusters(df, ["flagged", 2])  # the flagged clusters and cluster 2
    [1, 2, 3]
    """
    if isinstance(selection, str):
        if selection == "flagged":
            return sorted(clusters.filter("flagged")["cluster_id"].to_list())
        if selection == "all":
            return sorted(clusters["cluster_id"].to_list())
        raise GraphlinkError(f"unknown cluster selection {selection!r}; use flagged, all or cluster ids")
    words = {c for c in selection if isinstance(c, str)}
    if words:  # a keyword among ids: its clusters and the ids (flagged,56)
        ids = [c for c in selection if not isinstance(c, str)]
        return sorted(set(select_clusters(clusters, ids, path)).union(*(select_clusters(clusters, w) for w in words)))
    wanted = sorted({int(c) for c in selection})
    known = set(clusters["cluster_id"].to_list())
    missing = [c for c in wanted if c not in known]
    if missing:
        raise GraphlinkError(unknown_cluster_message(path, missing, clusters))
    return wanted
