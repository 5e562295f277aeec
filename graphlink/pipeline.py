"""Pipeline: ingest -> signals -> graph -> communities -> scoring -> stable ids -> drill-down.

:func:`run_detect` is the one function behind ``graphlink detect`` and
``graphlink.detect``. It runs the stages of :mod:`graphlink.stages` in order,
handing each its own config (``config.ingest``, ``config.signals``...), one
small function per step (:func:`ingest_stage`, :func:`graphlink.stages.scoring_stage.scoring_stage`,
:func:`stable_ids_stage`, :func:`drilldown_stage`, :func:`run_record`).
:func:`graphlink.store.outputs.write_outputs` writes its result atomically;
file names and schemas are in :mod:`graphlink.contract`.

Vocabulary: the *partition* maps accounts to clusters (``account_idx, cluster_id``); the *affiliations* are the
bipartite account-value edges (``account_idx, signal_idx``). Besides the partition, clusters and evidence, two
drill-down tables about clustered accounts only are written so the report, ``show`` and ``export`` work from the output
folder alone: ``memberships.parquet`` (their affiliations, with values) and ``activity.parquet`` (their events per UTC
hour and day).

The allocator tuning for long runs (``_RJEM_MALLOC_CONF``, read once when polars loads) is set by the command-line entry
point, :mod:`graphlink.cli`, not on import: library users set it before importing polars.
"""

from __future__ import annotations

import functools
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

from graphlink.config import PipelineConfig
from graphlink.config.kinds import default_kinds
from graphlink.contract import ACCOUNTS_SCHEMA, OUTPUT_FILES
from graphlink.errors import ConfigError, GraphlinkError, InputError, safe_reason
from graphlink.stages.tie_table import rekey_tie_clusters
from graphlink.stages.set_apart import set_apart_rows
from graphlink.stages.stable_campaigns import record_campaigns, stable_campaigns
from graphlink.stages.unjoined import accounts_only_warnings
from graphlink.stages.blocks import split_wholes
from graphlink.stages.burst_writing import burst_writing
from graphlink.stages.bursts import template_bursts
from graphlink.stages.hub_twins import hub_twins
from graphlink.stages.join_notes import joined_counts, member_notes, own_value_joins, twin_joins
from graphlink.stages.pendants import own_value_members
from graphlink.stages.communities import detect_communities, dissolve_unsupported
from graphlink.stages.account_rows import minutes_of, of_accounts
from graphlink.stages.drilldown import (account_times, clustered_accounts, link_table, linking_order,
                                       linking_values, member_activity, member_affiliations, member_minutes, member_templates)
from graphlink.stages.member_behaviour import member_behaviour, with_member_behaviour
from graphlink.stages.encode import EncodedEvents, encode_events
from graphlink.stages.graph import project
from graphlink.stages.cotiming import with_co_timed_support
from graphlink.stages.linking import clique_support
from graphlink.stages.match_prep import prepared_indexes
from graphlink.stages.frames import accounts_from_frame
from graphlink.stages.ingest import AccountsInfo, Events, events_from_frame, load_accounts, load_events
from graphlink.stages.scoring_stage import Scored, scoring_stage
from graphlink.stages.signals import extract_signals
from graphlink.stages.placeholders import placeholder_warning
from graphlink.stages.signals.ip import invalid_ip_warning
from graphlink.stages.signals.prompt import prompt_heads
from graphlink.stages.wording_cells import split_wording
from graphlink.stages.client_cells import split_clients
from graphlink.stages.stable_ids import PreviousRun, cluster_history, later_seconds, load_previous, match_clusters, rekey, rekey_campaigns, same_log, summarise
from graphlink.store.outputs import input_path

STAGES = ("ingest", "signals", "graph", "communities", "scoring", "drilldown")
Progress = Callable[[str], None]


@dataclass
class DetectResult:
    """Everything a detection run produced.

    ``accounts`` (the partition), ``clusters`` and ``evidence`` are the output contract (:mod:`graphlink.contract`);
    ``run`` is the content of ``run.json``. ``signals`` (numbered, weighted signal values), ``affiliations`` (the
    bipartite account-value edges: account_idx, signal_idx) and ``index`` (account_idx -> account_id) are kept for
    drill-down. ``member_affiliations`` and ``activity`` are the drill-down outputs (``memberships.parquet``,
    ``activity.parquet``; see :mod:`graphlink.stages.drilldown`).
    """

    accounts: pl.DataFrame
    clusters: pl.DataFrame
    evidence: pl.DataFrame
    run: dict[str, Any]
    index: pl.DataFrame | None = None
    signals: pl.DataFrame | None = None
    affiliations: pl.DataFrame | None = None
    edges: pl.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    member_affiliations: pl.DataFrame | None = None
    activity: pl.DataFrame | None = None
    #: ``minutes.parquet`` / ``templates.parquet``: clustered accounts' events per UTC minute, prompt shingles.
    minutes: pl.DataFrame | None = None
    templates: pl.DataFrame | None = None
    #: With ``previous``: :func:`graphlink.stages.stable_ids.match_clusters`'s mapping.
    cluster_mapping: pl.DataFrame | None = None
    #: ``campaigns.parquet`` (clusters grouped by operator, :mod:`graphlink.stages.campaigns`) and ``campaign_ties.parquet``.
    campaigns: pl.DataFrame | None = None
    campaign_ties: pl.DataFrame | None = None
    #: ``set_apart.parquet``: the accounts clusters lost after Leiden, and why (:mod:`graphlink.stages.set_apart`).
    set_apart: pl.DataFrame | None = None
    #: ``links.parquet`` and ``linking.parquet``: the account graph and every account's linking values, for ``expand``
    #: and ``match`` (:func:`graphlink.stages.drilldown.link_table`); ``match_tables``: match's indexes by file name
    #: counted on codes (:func:`graphlink.stages.match_prep.prepared_indexes`; the text is grouped when absent).
    links: pl.DataFrame | None = None
    linking: pl.DataFrame | None = None
    match_tables: dict[str, pl.DataFrame] = field(default_factory=dict)


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
    """The Python and package versions ``run.json`` records (a fresh dict each call).

    Read once per process: ``importlib.metadata`` parses every package's metadata file (~10 ms per detect, a fiftieth
    of a small detect's time), and the modules this process imported do not change while it runs.
    """
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version()}
    for name in ("graphlink", "polars", "igraph", "leidenalg", "networkx", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # an optional extra not installed
            versions[name] = "not installed"
    return tuple(versions.items())


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
        most (see :mod:`graphlink.stages.stable_ids`); ``run.json`` gets a
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
    source += f" (or accounts file {accounts})" if isinstance(accounts, (str, Path)) else ""
    try:
        return _run_detect(events, accounts, config, progress, previous)
    except GraphlinkError:
        raise
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise InputError(f"could not process the input: {safe_reason(exc)}", file=source) from None


def _run_detect(events, accounts, config: PipelineConfig | None, progress: Progress | None,
                previous) -> DetectResult:
    """The stages in order, each handed its own config; timings and peak memory recorded per stage."""
    config = config or PipelineConfig()
    # A [kinds.NAME] table must name a built-in kind or a --signal column: a typo would configure nothing.
    known = list(default_kinds()) + list(config.signals.extra_signals)
    unknown = [kind for kind in config.graph.kinds if kind not in known]
    if unknown:
        raise ConfigError(f"[kinds.{unknown[0]}]: unknown signal kind {unknown[0]!r}; kinds are "
                          f"{', '.join(known)} (declare other columns with --signal)")
    prev: PreviousRun | None = None
    if previous is not None:
        prev = load_previous(previous, OUTPUT_FILES)
    timings: dict[str, float] = {}
    memory: dict[str, float | None] = {}  # peak RSS after each stage: which stage set the high-water mark
    with _stage("ingest", timings, progress, memory):
        ev, acc, encoded = ingest_stage(events, accounts, config)
        index = encoded.index
    n_accounts = index.height
    with _stage("signals", timings, progress, memory):
        signal_set = extract_signals(encoded, config.signals, acc, config.signals.extra_signals, release=True)
        del encoded  # the last use of the per-event frame: later steps cut the minute counts (signal_set.minute_counts)
    with _stage("graph", timings, progress, memory):
        # The affiliations carry everything later stages need from the pairs (1.2 GiB on 24M events): the projection frees them once numbered, before its high-water mark.
        projection = project(signal_set.take_pairs(), n_accounts, config.graph, seed=config.signals.seed,
                             value_counts=signal_set.value_counts, values=signal_set.values, minutes=signal_set.minutes,
                             ip_prefixes=(config.signals.ipv4_prefix, config.signals.ipv6_prefix))
    with _stage("communities", timings, progress, memory):
        early: dict[str, Any] = {}  # the drill-down's link tables and every account's hours and schedules need no partition: built beside Leiden
        partition = detect_communities(None, config.communities, projection.edges, wholes=True, n_vertices=n_accounts, beside=lambda: early.update(
            links=link_table(projection.edges, index), order=linking_order(projection.memberships, projection.signals), **account_times(signal_set.minute_counts, signal_set.account_stats)))
        partition, wholes = split_wholes(partition)
        partition = supported_partition(partition, projection.memberships, projection.signals, config, projection.co_timed)
        partition, wholes = template_bursts(partition, wholes, projection, signal_set, config, lambda a: minutes_of(signal_set.minute_counts, a), early.get("schedules"))
        joins = []  # what the hub twins and own-value members added (graphlink.stages.join_notes)
        if config.communities.hub_twins:
            partition, wholes, twins = hub_twins(partition, wholes, projection.memberships, projection.signals, config.graph, config.communities.min_cluster_size, n_accounts, with_twins=True)
            joins.append(twin_joins(twins))
        partition, wholes = split_wording(partition, wholes, projection.memberships, projection.signals, config.communities.seed) if config.communities.wording_cells else (partition, wholes)
        partition, wholes = split_clients(partition, wholes, projection.memberships, projection.signals, index) if config.communities.client_cells else (partition, wholes)
        if config.communities.own_values:  # last: onto the final cells (graphlink.stages.pendants)
            partition, wholes, joined = own_value_members(partition, wholes, projection.memberships, projection.signals, config.graph, signal_set.value_counts)
            joins.append(own_value_joins(joined))
        projection.joins = pl.concat(joins) if joins else None
        burst_writing(projection, signal_set, config, partition)  # opt-in: burst members' phrases, the partition final
    with _stage("scoring", timings, progress, memory):
        # Clustered accounts' events per minute (minutes.parquet), hour and day, and schedules, cut from every account's: for scoring and the drill-down.
        clustered = partition.drop_nulls("cluster_id").select("account_idx")
        minutes_idx, activity_idx, schedules = minutes_of(signal_set.minute_counts, clustered), of_accounts(early["hours"], clustered), of_accounts(early["schedules"], clustered)
        signal_set.minutes = signal_set.minute_counts = None
        scored = scoring_stage(partition, index, ev, signal_set, projection, activity_idx, config, wholes, minutes_idx, schedules)
        accounts_out, clusters, evidence, mapping, max_id = stable_ids_stage(scored, index, prev, config)
        accounts_out, clusters, campaigns, ties, campaign_ids = stable_campaigns(  # campaign ids carried over too
            prev, accounts_out, clusters, rekey_campaigns(scored.campaigns, mapping), rekey_tie_clusters(scored.ties, mapping), config.stable_ids.previous_min_jaccard)
    with _stage("drilldown", timings, progress, memory):
        signals_out, activity, minutes, templates, accounts_out = drilldown_stage(
            scored, index, accounts_out, projection, activity_idx, ev.columns, config, minutes_idx, signal_set.account_stats)
        links, linking = early["links"], linking_values(projection.memberships, projection.signals, index, accounts_out, early["order"])
        prepared = prepared_indexes(linking, early["order"], index, accounts_out, clusters)
    warnings = [*ev.warnings, *run_warnings(projection, signal_set, index, acc)]
    run = record_campaigns(run_record(config, ev, acc, n_accounts, signal_set, projection, clusters, scored, prev, mapping, max_id,
                                      timings, memory, warnings, accounts_out), campaign_ids)
    return DetectResult(accounts=accounts_out, clusters=clusters, evidence=evidence, run=run, index=index,
                        signals=projection.signals, affiliations=projection.memberships,
                        edges=projection.edges, warnings=warnings, cluster_mapping=mapping,
                        member_affiliations=signals_out, activity=activity, minutes=minutes, templates=templates,
                        campaigns=campaigns, campaign_ties=ties, set_apart=set_apart_rows(scored.set_apart, index, mapping),
                        links=links, linking=linking, match_tables=prepared)


def ingest_stage(events, accounts, config: PipelineConfig) -> tuple[Events, AccountsInfo | None, EncodedEvents]:
    """Read the events (and accounts) and encode them: ``(events, accounts, encoded)``."""
    ev: Events = (load_events(events, config.ingest, config.signals.extra_signals, keep_base=True) if isinstance(events, (str, Path))
                  else events_from_frame(events, config.ingest, extra_signals=config.signals.extra_signals))
    acc: AccountsInfo | None = None
    if isinstance(accounts, (str, Path)):
        acc = load_accounts(accounts, config.ingest)
    elif accounts is not None:
        acc = accounts_from_frame(accounts, config.ingest)
    # The prompt hashing pass keeps the text the prompt sampler needs (no second read of the prompts).
    return ev, acc, encode_events(ev, acc, salt=config.signals.seed, heads=prompt_heads(config.signals))


def stable_ids_stage(scored: Scored, index: pl.DataFrame, prev: PreviousRun | None, config: PipelineConfig,
                     ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame | None, int]:
    """``accounts.parquet`` rows, re-keyed to a previous run's ids when given: ``(accounts, clusters, evidence, mapping, max_id)``."""
    accounts_out = (
        index.join(scored.partition, on="account_idx", how="left")
        .join(scored.clusters.select("cluster_id", "campaign_id"), on="cluster_id", how="left")
        .select(list(ACCOUNTS_SCHEMA.names()))
        .cast(dict(ACCOUNTS_SCHEMA))
        .sort("account_id")
    )
    clusters, evidence, mapping = scored.clusters, scored.evidence, None
    max_id = int(clusters["cluster_id"].max() or 0)
    if prev is not None:
        mapping = match_clusters(prev.accounts, accounts_out, config.stable_ids.previous_min_jaccard,
                                 id_floor=prev.max_cluster_id)
        accounts_out, clusters, evidence = rekey(mapping, accounts_out, clusters, evidence)
        max_id = max(max_id, prev.max_cluster_id, int(clusters["cluster_id"].max() or 0))
    # How long each cluster has existed and how it changed (CLUSTER_HISTORY_SCHEMA).
    clusters = clusters.join(cluster_history(accounts_out, clusters, prev), on="cluster_id", how="left")
    return accounts_out, clusters, evidence, mapping, max_id


def drilldown_stage(scored: Scored, index: pl.DataFrame, accounts_out: pl.DataFrame, projection: Any,
                    activity_idx: pl.DataFrame, event_columns: Any, config: PipelineConfig,
                    minutes_idx: pl.DataFrame | None = None, account_stats: pl.DataFrame | None = None) -> tuple[pl.DataFrame, ...]:
    """``memberships``, ``activity``, ``minutes`` and ``templates.parquet`` rows, with the ids the outputs use, and
    ``accounts_out`` with what each member shares of its cluster's behaviour (:mod:`graphlink.stages.member_behaviour`)."""
    # After any re-keying, so the drill-down tables carry the ids the outputs use.
    rekeyed = index.select("account_idx", "account_id").join(
        accounts_out.select("account_id", "cluster_id"), on="account_id")
    clustered = clustered_accounts(index, rekeyed.select("account_idx", "cluster_id"))
    # Same partition, possibly re-keyed ids: relabel the shared values' clusters.
    relabel = scored.partition.drop_nulls("cluster_id").join(
        clustered.select("account_idx", pl.col("cluster_id").alias("new_id")), on="account_idx").select(
        "cluster_id", "new_id").unique("cluster_id")
    carried = [c for c in ("template", "step") if c in scored.shared.columns]  # cut again, as the evidence (top_per_kind)
    shared = scored.shared.join(relabel, on="cluster_id").select(pl.col("new_id").alias("cluster_id"), "signal_idx", "accounts_sharing", *carried)
    signals_out = member_affiliations(projection.memberships, projection.signals, clustered,
                                 config.drilldown.member_values_per_kind, shared)
    minutes = member_minutes(minutes_idx, event_columns if minutes_idx is not None else (), clustered)
    behaviour = member_behaviour(projection.memberships, projection.signals, clustered, account_stats).join(
        member_notes(projection.joins, scored.partition, projection.signals, index), on="account_id", how="left")  # joined_by
    return (signals_out, member_activity(activity_idx, event_columns, clustered), minutes,
            member_templates(projection.memberships, projection.signals, clustered), with_member_behaviour(accounts_out, behaviour))


def supported_partition(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                        config: PipelineConfig, co_timed: pl.DataFrame | None = None) -> pl.DataFrame:
    """The Leiden partition without clusters the exact clique projection does not support (CPM only;
    :func:`graphlink.stages.communities.dissolve_unsupported`). Every engine calls this.
    Pairs co-timing linked (``source, target, weight``) are explicit pairs: their weight inside a
    cluster is strong support."""
    c = config.communities
    if c.objective != "CPM" or not c.exact_support:
        return partition
    support = clique_support(partition, memberships, signals, config.graph)
    support = with_co_timed_support(support, partition, co_timed) if co_timed is not None and co_timed.height else support
    return dissolve_unsupported(partition, support, c.resolution, c.min_cluster_size)


def run_warnings(projection: Any, signal_set: Any, index: pl.DataFrame | None = None,
                 accounts: AccountsInfo | None = None) -> list[str]:
    """The projection's warnings, after one when most IP addresses are unreadable (the wrong column mapped?),
    one counting accounts of the accounts file that sent no event and the accounts file's own (created_at)."""
    warnings = list(projection.warnings)
    if accounts is not None and index is not None:
        warnings[:0] = accounts_only_warnings(index, accounts.path)  # sent no event; ids unjoined by normalisation
    invalid = invalid_ip_warning(signal_set.stats.get("ip_events", 0), signal_set.stats.get("invalid_ip_events", 0))
    first = [w for w in (invalid, placeholder_warning(getattr(projection, "signals", None), 0 if index is None else index.height)) if w]
    return [*(accounts.warnings if accounts is not None else []), *first, *warnings]


def run_record(config: PipelineConfig, ev: Events, acc: AccountsInfo | None, n_accounts: int, signal_set: Any,
               projection: Any, clusters: pl.DataFrame, scored: Scored, prev: PreviousRun | None,
               mapping: pl.DataFrame | None, max_id: int, timings: dict[str, float], memory: dict[str, float | None], warnings: list[str],
               accounts_out: pl.DataFrame | None = None) -> dict[str, Any]:
    """The content of ``run.json``, one record for both engines. With a previous run, ``accounts_out``
    (the run's accounts) gives ``later_seconds`` and ``same_log`` (:mod:`graphlink.stages.stable_ids`)."""
    return {
        "graphlink": "detect",
        "parameters": config.to_dict(),
        "inputs": {
            "events": {**input_path(ev.path), "rows_read": ev.rows_read, "rows_kept": ev.rows_kept,
                       "rejected": ev.rejected, "columns": list(ev.columns),
                       **({"rejected_rows": ev.rejected_rows} if hasattr(ev, "rejected_rows") else {}),  # polars only
                       **({"rows_without_timestamp": ev.rows_without_timestamp}  # kept, without timing
                          if getattr(ev, "rows_without_timestamp", None) is not None else {})},
            "accounts": None if acc is None else {**input_path(acc.path), "rows_read": acc.rows_read, "rejected": acc.rejected,
                                                  "rejected_rows": getattr(acc, "rejected_rows", {})},
        },
        "counts": {
            "accounts": n_accounts,
            **({"accounts_with_events": int((accounts_out["events"].fill_null(0) > 0).sum())}  # the rest: accounts file only
               if accounts_out is not None and "events" in accounts_out.columns else {}),
            **signal_set.stats,
            **projection.stats,
            **joined_counts(getattr(projection, "joins", None), scored.partition),  # still clustered at the end (0: the step is off)
            "clusters": clusters.height,
            "campaigns": scored.campaigns.height,
            "flagged_campaigns": int(scored.campaigns["flagged"].sum() or 0),
            "flagged_clusters": int(clusters["flagged"].sum() or 0),
            "accounts_in_clusters": int(scored.partition["cluster_id"].is_not_null().sum()),
            "accounts_detached_from_fleets": scored.detached,
            "accounts_flagged": int(clusters.filter("flagged")["size"].sum() or 0),
            "max_cluster_id": max_id,
        },
        "previous": None if prev is None else {
            "path": prev.path, "min_jaccard": config.stable_ids.previous_min_jaccard, **summarise(mapping, prev, accounts_out, clusters.filter("flagged")["cluster_id"].to_list()),
            "later_seconds": None if accounts_out is None else later_seconds(accounts_out, prev),
            # A rerun on the same log does not advance the clusters' runs.
            "same_log": None if accounts_out is None else same_log(accounts_out, prev)},
        "warnings": warnings,
        "versions": package_versions(),
        "timings": timings,
        "peak_rss_mb": memory,
        "timings_signals": signal_set.seconds,
    }
