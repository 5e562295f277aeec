"""Pipeline: ingest -> signals -> graph -> communities -> evidence/scoring.

:func:`run_detect` is the one function behind ``graphlink detect`` and
``graphlink.detect``; :func:`write_outputs` writes its result atomically.

Besides the output contract (``accounts.parquet``, ``clusters.parquet``,
``evidence.parquet``, ``run.json``), two drill-down tables about clustered
accounts only are written so the report, ``show`` and ``export`` work from
the output folder alone (schemas in :mod:`graphlink.drilldown`):

* ``memberships.parquet``: ``account_id, kind, value, weight``, the
  account-signal edges of clustered accounts, linking or not;
* ``activity.parquet``: ``account_id, cluster_id, hour, day, events``, each
  clustered account's events per UTC hour of day and day.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.communities import build_graph, detect_communities
from graphlink.config import PipelineConfig
from graphlink.drilldown import clustered_accounts, member_activity, member_signals
from graphlink.errors import GraphlinkError
from graphlink.evidence import cluster_evidence
from graphlink.graph import project
from graphlink.ingest import AccountsInfo, Events, build_account_index, events_from_frame, load_accounts, load_events
from graphlink.scoring import score_clusters
from graphlink.signals import extract_signals

ACCOUNTS_SCHEMA = pl.Schema({
    "account_id": pl.String, "cluster_id": pl.Int64, "events": pl.Int64,
    "first_seen": pl.Datetime("us", "UTC"), "last_seen": pl.Datetime("us", "UTC"),
})
OUTPUT_FILES = ("accounts.parquet", "clusters.parquet", "evidence.parquet", "run.json",
                "memberships.parquet", "activity.parquet")
STAGES = ("ingest", "signals", "graph", "communities", "scoring", "drilldown")

Progress = Callable[[str], None]


@dataclass
class DetectResult:
    """Everything a detection run produced.

    ``accounts``, ``clusters`` and ``evidence`` are the output contract (see the
    README); ``run`` is the content of ``run.json``. ``signals`` (numbered,
    weighted signal values) and ``memberships`` (account_idx, signal_idx) and
    ``index`` (account_idx -> account_id) are kept for drill-down.
    ``member_signals`` and ``activity`` are the drill-down outputs
    (``memberships.parquet``, ``activity.parquet``; see :mod:`graphlink.drilldown`).
    """

    accounts: pl.DataFrame
    clusters: pl.DataFrame
    evidence: pl.DataFrame
    run: dict[str, Any]
    index: pl.DataFrame | None = None
    signals: pl.DataFrame | None = None
    memberships: pl.DataFrame | None = None
    edges: pl.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    member_signals: pl.DataFrame | None = None
    activity: pl.DataFrame | None = None


@contextmanager
def _stage(name: str, timings: dict[str, float], progress: Progress | None):
    if progress:
        progress(name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 4)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("graphlink", "polars", "igraph", "leidenalg", "networkx", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_detect(
    events: str | Path | pl.DataFrame | pl.LazyFrame,
    accounts: str | Path | pl.DataFrame | None = None,
    config: PipelineConfig | None = None,
    progress: Progress | None = None,
) -> DetectResult:
    """Run the whole detection pipeline.

    Parameters
    ----------
    events : path or polars frame
        The API log (input schema in the README).
    accounts : path or DataFrame, optional
        ``account_id, created_at, email_domain`` (or ``email``).
    config : PipelineConfig
    progress : callable, optional
        Called with each stage name as it starts (the CLI shows it).

    Returns
    -------
    DetectResult
    """
    config = config or PipelineConfig()
    timings: dict[str, float] = {}
    with _stage("ingest", timings, progress):
        ev: Events = (
            load_events(events, config.ingest)
            if isinstance(events, (str, Path))
            else events_from_frame(events, config.ingest)
        )
        acc: AccountsInfo | None = None
        if isinstance(accounts, (str, Path)):
            acc = load_accounts(accounts, config.ingest)
        elif accounts is not None:
            acc = AccountsInfo(frame=accounts, path="<frame>", rows_read=accounts.height)
        index = build_account_index(ev, acc)
    n_accounts = index.height
    with _stage("signals", timings, progress):
        signal_set = extract_signals(ev, index, config.signals, acc, config.ingest.extra_signals)
    with _stage("graph", timings, progress):
        projection = project(signal_set.pairs, n_accounts, config.graph, seed=config.signals.seed)
    with _stage("communities", timings, progress):
        graph = build_graph(projection.edges, n_accounts)
        membership = detect_communities(graph, config.communities, projection.edges)
        del graph
    with _stage("scoring", timings, progress):
        evidence = cluster_evidence(projection.memberships, projection.signals, membership,
                                    config.scoring.evidence_per_kind)
        clusters = score_clusters(membership, index, projection.memberships, projection.signals, evidence,
                                  ev.frame, signal_set.account_stats, config.scoring)
        accounts_out = (
            index.join(membership, on="account_idx", how="left")
            .select(list(ACCOUNTS_SCHEMA.names()))
            .cast(dict(ACCOUNTS_SCHEMA))
            .sort("account_id")
        )
    with _stage("drilldown", timings, progress):
        clustered = clustered_accounts(index, membership)
        signals_out = member_signals(projection.memberships, projection.signals, clustered)
        activity = member_activity(ev.frame, ev.columns, clustered)
    run = {
        "graphlink": "detect",
        "parameters": config.to_dict(),
        "inputs": {
            "events": {"path": ev.path, "rows_read": ev.rows_read, "rows_kept": ev.rows_kept,
                       "rejected": ev.rejected, "columns": list(ev.columns)},
            "accounts": None if acc is None else {"path": acc.path, "rows_read": acc.rows_read,
                                                  "rejected": acc.rejected},
        },
        "counts": {
            "accounts": n_accounts,
            **signal_set.stats,
            **projection.stats,
            "clusters": clusters.height,
            "flagged_clusters": int(clusters["flagged"].sum() or 0),
            "accounts_in_clusters": int(membership["cluster_id"].is_not_null().sum()),
            "accounts_flagged": int(clusters.filter("flagged")["size"].sum() or 0),
        },
        "warnings": projection.warnings,
        "versions": package_versions(),
        "timings": timings,
    }
    return DetectResult(accounts=accounts_out, clusters=clusters, evidence=evidence, run=run, index=index,
                        signals=projection.signals, memberships=projection.memberships,
                        edges=projection.edges, warnings=projection.warnings,
                        member_signals=signals_out, activity=activity)


def write_outputs(result: DetectResult, out_dir: str | Path) -> Path:
    """Write the output contract to ``out_dir`` atomically.

    Files are written to a hidden temporary folder beside ``out_dir`` which is
    renamed into place only when complete, so an interrupted run leaves either
    the previous output or none. An existing ``out_dir`` is replaced only if it
    is empty or a previous graphlink output (it has a ``run.json``).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "run.json").exists())):
        raise GraphlinkError(f"{out_dir}: exists and is not a graphlink output folder; choose another --out")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        result.accounts.write_parquet(tmp / "accounts.parquet")
        result.clusters.write_parquet(tmp / "clusters.parquet")
        result.evidence.write_parquet(tmp / "evidence.parquet")
        if result.member_signals is not None:
            result.member_signals.write_parquet(tmp / "memberships.parquet")
        if result.activity is not None:
            result.activity.write_parquet(tmp / "activity.parquet")
        (tmp / "run.json").write_text(json.dumps(result.run, indent=2, sort_keys=True, default=str) + "\n")
        _fsync_dir(tmp)
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())
