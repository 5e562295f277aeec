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
import platform
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.atomic import cleanup_stale, write_dir_atomically
from graphlink.communities import build_graph, detect_communities, renumber
from graphlink.config import PipelineConfig
from graphlink.drilldown import account_activity, clustered_accounts, member_activity, member_signals
from graphlink.encode import encode_events
from graphlink.errors import GraphlinkError, InputError, safe_reason
from graphlink.evidence import EVIDENCE_SCHEMA, cluster_evidence, shared_in_clusters, top_per_kind
from graphlink.graph import project
from graphlink.ingest import AccountsInfo, Events, events_from_frame, load_accounts, load_events
from graphlink.scoring import fleet_outsiders, score_clusters, scored_memberships
from graphlink.signals import extract_signals
from graphlink.stable_ids import PreviousRun, load_previous, match_clusters, rekey, summarise

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
    #: With ``previous``: :func:`graphlink.stable_ids.match_clusters`'s mapping.
    cluster_mapping: pl.DataFrame | None = None


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MiB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@contextmanager
def _stage(name: str, timings: dict[str, float], progress: Progress | None, memory: dict[str, float | None]):
    if progress:
        progress(name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 4)
    memory[name] = peak_rss_mb()


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
    previous: str | Path | pl.DataFrame | None = None,
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
    previous : path or DataFrame, optional
        A previous run's output folder (or its ``account_id, cluster_id``
        frame): clusters keep the id of the previous cluster they overlap
        most (see :mod:`graphlink.stable_ids`); ``run.json`` gets a
        ``previous`` section listing matched, new and vanished ids.

    Returns
    -------
    DetectResult

    Raises
    ------
    GraphlinkError
        Bad input or configuration. Any data error polars raises while the
        lazy input is read deep in the pipeline becomes an :class:`InputError`
        naming the file.
    """
    source = str(events) if isinstance(events, (str, Path)) else "<frame>"
    if isinstance(accounts, (str, Path)):
        source += f" (or accounts file {accounts})"
    try:
        return _run_detect(events, accounts, config, progress, previous)
    except GraphlinkError:
        raise
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise InputError(f"could not process the input: {safe_reason(exc)}", file=source) from None


def _run_detect(events, accounts, config: PipelineConfig | None, progress: Progress | None,
                previous) -> DetectResult:
    config = config or PipelineConfig()
    prev: PreviousRun | None = None
    if previous is not None:
        prev = load_previous(previous, OUTPUT_FILES)
    timings: dict[str, float] = {}
    # Peak RSS after each stage: which stage set the process's memory high-water mark.
    memory: dict[str, float | None] = {}
    with _stage("ingest", timings, progress, memory):
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
        encoded = encode_events(ev, acc, salt=config.signals.seed)
        index = encoded.index
    n_accounts = index.height
    with _stage("signals", timings, progress, memory):
        signal_set = extract_signals(encoded, config.signals, acc, config.ingest.extra_signals, release=True)
    with _stage("graph", timings, progress, memory):
        # The memberships carry everything later stages need from the pairs (1.2 GiB on 24M
        # events): the projection frees them once numbered, before its own high-water mark.
        projection = project(signal_set.take_pairs(), n_accounts, config.graph, seed=config.signals.seed,
                             value_counts=signal_set.value_counts, values=signal_set.values)
    with _stage("communities", timings, progress, memory):
        graph = build_graph(projection.edges, n_accounts)
        membership = detect_communities(graph, config.communities, projection.edges)
        del graph
    with _stage("scoring", timings, progress, memory):
        # One pass over the events' timestamps serves every scoring pass below.
        # Clustered accounts' events per hour and day, from the encoded events: serves
        # every scoring pass and the drill-down (cluster ids are attached later).
        clustered_idx = membership.drop_nulls("cluster_id").select("account_idx")
        activity_idx = account_activity(encoded.frame, clustered_idx)
        del encoded  # the last use of the per-event frame
        hour_counts = None
        if "timestamp" in ev.columns:
            hour_counts = activity_idx.group_by("account_idx", "hour").agg(pl.col("events").sum().alias("n")).join(
                index.select("account_idx", "account_id"), on="account_idx").select("account_id", "hour", "n")

        # Both scoring passes read the same few kinds: cut their memberships out once.
        scoring_rows = scored_memberships(projection.memberships, projection.signals)

        def score(membership: pl.DataFrame, shared: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
            evidence = (cluster_evidence(projection.memberships, projection.signals, membership,
                                         config.scoring.evidence_per_kind, shared)
                        if shared is not None else pl.DataFrame(schema=EVIDENCE_SCHEMA))
            clusters = score_clusters(membership, index, scoring_rows, projection.signals, evidence,
                                      ev.frame, signal_set.account_stats, config.scoring, signal_set.value_counts,
                                      hour_counts)
            return evidence, clusters

        # A provisional pass finds fleet outsiders: flags do not depend on the evidence
        # table (it only words the "why"), so it is computed once, for the final clusters.
        _, provisional = score(membership)
        outsiders = fleet_outsiders(membership, provisional, signal_set.value_counts, config.scoring)
        if outsiders.len():
            # Detached members leave their cluster; clusters are renumbered and rescored.
            detached = membership.with_columns(
                pl.when(pl.col("account_idx").is_in(outsiders.implode())).then(None)
                .otherwise(pl.col("cluster_id")).alias("cluster_id"))
            membership = renumber(detached, config.communities.min_cluster_size)
        # Values shared inside the final clusters, cut once to what the evidence and the
        # drill-down list (a longest list's top values contain every shorter one's).
        shared = shared_in_clusters(projection.memberships, membership)
        listed_per_kind = config.scoring.member_values_per_kind
        if listed_per_kind > 0:
            shared = top_per_kind(shared, max(listed_per_kind, config.scoring.evidence_per_kind),
                                  projection.signals)
        evidence, clusters = score(membership, shared)
        detached_count = outsiders.len()
        accounts_out = (
            index.join(membership, on="account_idx", how="left")
            .select(list(ACCOUNTS_SCHEMA.names()))
            .cast(dict(ACCOUNTS_SCHEMA))
            .sort("account_id")
        )
        mapping = None
        max_id = int(clusters["cluster_id"].max() or 0)
        if prev is not None:
            mapping = match_clusters(prev.accounts, accounts_out, config.communities.previous_min_jaccard,
                                     id_floor=prev.max_cluster_id)
            accounts_out, clusters, evidence = rekey(mapping, accounts_out, clusters, evidence)
            max_id = max(max_id, prev.max_cluster_id, int(clusters["cluster_id"].max() or 0))
    with _stage("drilldown", timings, progress, memory):
        # After any re-keying, so the drill-down tables carry the ids the outputs use.
        rekeyed = index.select("account_idx", "account_id").join(
            accounts_out.select("account_id", "cluster_id"), on="account_id")
        clustered = clustered_accounts(index, rekeyed.select("account_idx", "cluster_id"))
        # Same partition, possibly re-keyed ids: relabel the shared values' clusters.
        relabel = membership.drop_nulls("cluster_id").join(
            clustered.select("account_idx", pl.col("cluster_id").alias("new_id")), on="account_idx").select(
            "cluster_id", "new_id").unique("cluster_id")
        shared = shared.join(relabel, on="cluster_id").select(pl.col("new_id").alias("cluster_id"), "signal_idx",
                                                              "accounts_sharing")
        signals_out = member_signals(projection.memberships, projection.signals, clustered,
                                     config.scoring.member_values_per_kind, shared)
        activity = member_activity(activity_idx, ev.columns, clustered)
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
            "accounts_detached_from_fleets": detached_count,
            "accounts_flagged": int(clusters.filter("flagged")["size"].sum() or 0),
            "max_cluster_id": max_id,
        },
        "previous": None if prev is None else {
            "path": prev.path, "min_jaccard": config.communities.previous_min_jaccard, **summarise(mapping)},
        "warnings": projection.warnings,
        "versions": package_versions(),
        "timings": timings,
        "peak_rss_mb": memory,
        "timings_signals": signal_set.seconds,
    }
    return DetectResult(accounts=accounts_out, clusters=clusters, evidence=evidence, run=run, index=index,
                        signals=projection.signals, memberships=projection.memberships,
                        edges=projection.edges, warnings=projection.warnings, cluster_mapping=mapping,
                        member_signals=signals_out, activity=activity)


#: Every name a detect run may write into its output folder: these are replaced or removed by the next run.
DETECT_WRITES = frozenset(OUTPUT_FILES) | {"memberships.parquet", "activity.parquet", "campaigns.parquet"}


def check_out_dir(out_dir: str | Path) -> None:
    """Refuse an ``--out`` that exists and is not a graphlink output folder (call before any work).

    Also removes leftovers of killed runs writing ``out_dir`` (see
    :func:`graphlink.atomic.cleanup_stale`).

    Raises
    ------
    GraphlinkError
        ``out_dir`` is a file, or a non-empty folder without ``run.json``.
    """
    out_dir = Path(out_dir)
    cleanup_stale(out_dir, OUTPUT_FILES)
    if out_dir.exists() and not out_dir.is_dir():
        raise GraphlinkError(f"{out_dir}: exists and is a file, not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "run.json").exists():
        raise GraphlinkError(f"{out_dir}: exists and is not a graphlink output folder (no run.json); "
                             "nothing was written: choose another --out")


def carried_over(out_dir: str | Path) -> list[str]:
    """Names in an existing output folder that the next detect run keeps (it did not write them).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("run.json", "report.html", "clusters.parquet", ".hidden"):
    ...         _ = (Path(tmp) / name).write_text("x")
    ...     (Path(tmp) / "cases").mkdir()
    ...     carried_over(tmp)
    ['cases/', 'report.html']
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    return sorted(p.name + ("/" if p.is_dir() else "") for p in out_dir.iterdir()
                  if not p.name.startswith(".") and p.name not in DETECT_WRITES)


def write_outputs(result: DetectResult, out_dir: str | Path) -> Path:
    """Write the output contract to ``out_dir`` atomically.

    Files are written to a hidden temporary folder beside ``out_dir`` which is
    renamed into place only when complete, so an interrupted (even killed) run
    leaves either the previous output or none; leftovers of killed runs are
    cleaned up by the next write (see :mod:`graphlink.atomic`). An existing
    ``out_dir`` is replaced only if it is empty or a previous graphlink output
    (it has a ``run.json``). Files and folders in it that detect does not
    write (``report.html``, ``graph.gexf``, ``cases/``, ``csv/``, notes of
    yours) are kept; detect outputs of the previous run that this run does
    not write are removed (see :func:`carried_over`).
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir)

    def write(tmp: Path) -> None:
        result.accounts.write_parquet(tmp / "accounts.parquet")
        result.clusters.write_parquet(tmp / "clusters.parquet")
        result.evidence.write_parquet(tmp / "evidence.parquet")
        if result.member_signals is not None:
            result.member_signals.write_parquet(tmp / "memberships.parquet")
        if result.activity is not None:
            result.activity.write_parquet(tmp / "activity.parquet")
        # run.json last: a folder with it is complete.
        (tmp / "run.json").write_text(json.dumps(result.run, indent=2, sort_keys=True, default=str) + "\n")

    return write_dir_atomically(out_dir, write, OUTPUT_FILES, keep=lambda name: name not in DETECT_WRITES)
