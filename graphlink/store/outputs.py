"""Reading a ``graphlink detect`` output folder back, for the report, ``show`` and ``export``.

:func:`load_outputs` reads the clusters table whole and everything else only
for the clusters asked for (Parquet predicate pushdown), so drilling into a
few clusters of a huge run stays cheap. Folders written before the drill-down
tables existed still load: ``memberships`` and ``activity`` are then ``None``
and the consumers say what they cannot show.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.errors import GraphlinkError

REQUIRED_FILES = ("accounts.parquet", "clusters.parquet", "evidence.parquet", "run.json")
#: Cluster columns that are not score components.
NON_COMPONENT_COLUMNS = ("cluster_id", "size", "flagged")

Selection = str | Sequence[int]


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
    redaction: str | None = None

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

    def hour_profile(self, cluster_id: int) -> list[int] | None:
        """Events of one cluster per UTC hour of day (24 counts), or ``None`` without ``activity.parquet``."""
        activity = self.cluster_activity(cluster_id)
        if activity is None:
            return None
        return (pl.DataFrame({"hour": list(range(24))}, schema={"hour": pl.Int8})
                .join(activity.group_by("hour").agg(pl.col("events").sum()), on="hour", how="left")
                .sort("hour")["events"].fill_null(0).to_list())


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


def unknown_cluster_message(path: Path, missing: Sequence[int], clusters: pl.DataFrame) -> str:
    ids = ", ".join(str(c) for c in missing)
    if clusters.is_empty():
        return f"{path}: no cluster {ids}: this run found no clusters"
    low, high = clusters["cluster_id"].min(), clusters["cluster_id"].max()
    return f"{path}: no cluster {ids} (cluster ids run from {low} to {high})"


def _check_folder(out_dir: Path) -> None:
    if not out_dir.is_dir():
        raise GraphlinkError(f"{out_dir}: not a folder; pass the --out folder of graphlink detect")
    missing = [name for name in REQUIRED_FILES if not (out_dir / name).is_file()]
    if missing:
        raise GraphlinkError(f"{out_dir}: not a graphlink detect output (missing {', '.join(missing)})")


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
    """
    if isinstance(selection, str):
        if selection == "flagged":
            return sorted(clusters.filter("flagged")["cluster_id"].to_list())
        if selection == "all":
            return sorted(clusters["cluster_id"].to_list())
        raise GraphlinkError(f"unknown cluster selection {selection!r}; use flagged, all or cluster ids")
    wanted = sorted({int(c) for c in selection})
    known = set(clusters["cluster_id"].to_list())
    missing = [c for c in wanted if c not in known]
    if missing:
        raise GraphlinkError(unknown_cluster_message(Path(path), missing, clusters))
    return wanted


def load_outputs(out_dir: str | Path, selection: Selection = "flagged", limit: int | None = None, *,
                 redact: bool = False, redact_key: str | None = None) -> Outputs:
    """Read a detect output folder, restricted to the selected clusters.

    Parameters
    ----------
    out_dir : str or Path
        The ``--out`` folder of ``graphlink detect``.
    selection : "flagged", "all" or sequence of int
        Which clusters' members, evidence and drill-down rows to read.
    limit : int, optional
        Read at most this many of the selected clusters, highest scores first.
    redact : bool
        Replace payment fingerprints, e-mails and IPs with keyed hashes
        (:mod:`graphlink.store.redact`; uses the run's ``ip_net`` prefixes).
    redact_key : str, optional
        HMAC key; implies ``redact``. Default: ``GRAPHLINK_REDACT_KEY``, else random.

    Raises
    ------
    GraphlinkError
        Not an output folder, unreadable ``run.json``, or unknown cluster ids.
    """
    out_dir = Path(out_dir)
    _check_folder(out_dir)
    try:
        run = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GraphlinkError(f"{out_dir / 'run.json'}: not valid JSON: {exc}") from None
    clusters = pl.read_parquet(out_dir / "clusters.parquet")
    selected = select_clusters(clusters, selection, out_dir)
    if limit is not None and len(selected) > limit:
        top = (clusters.filter(pl.col("cluster_id").is_in(pl.Series(selected, dtype=pl.Int64).implode()))
               .sort(["score", "size", "cluster_id"], descending=[True, True, False], nulls_last=True)
               .head(max(limit, 0)))
        selected = sorted(top["cluster_id"].to_list())
    ids = pl.Series("cluster_id", selected, dtype=pl.Int64)
    in_selection = pl.col("cluster_id").is_in(ids.implode())
    accounts = pl.scan_parquet(out_dir / "accounts.parquet").filter(in_selection).collect()
    evidence = pl.scan_parquet(out_dir / "evidence.parquet").filter(in_selection).collect()
    memberships = None
    if (out_dir / "memberships.parquet").is_file():
        memberships = (
            pl.scan_parquet(out_dir / "memberships.parquet")
            .join(accounts.lazy().select("account_id", "cluster_id"), on="account_id")
            .select("account_id", "cluster_id", "kind", "value", "weight")
            .collect()
        )
    activity = None
    if (out_dir / "activity.parquet").is_file():
        activity = pl.scan_parquet(out_dir / "activity.parquet").filter(in_selection).collect()
    outputs = Outputs(path=out_dir, run=run, clusters=clusters, selected=selected, accounts=accounts,
                      evidence=evidence, memberships=memberships, activity=activity)
    if redact or redact_key:
        from graphlink.store.redact import SAFE_KINDS, redactor_for  # redact builds on this module

        # why / top_values of every cluster quote evidence values: recognise them all.
        context = (pl.scan_parquet(out_dir / "evidence.parquet")
                   .filter(~pl.col("kind").is_in(SAFE_KINDS) & ~in_selection)
                   .select("kind", "value").unique().collect())
        outputs = redactor_for(outputs, redact_key).outputs(outputs, context)
    return outputs


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write a file so readers see the old content or the new, never a partial file.

    The data goes to a hidden temporary file beside ``path``, is flushed to
    disk, then renamed over ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
