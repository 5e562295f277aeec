"""``run_detect`` on Spark: the heavy stages on the cluster, scoring and drill-down on the driver.

Stages and where they run (see the package docstring for what is collected):

=============== ================================================================
ingest          Spark (:mod:`graphlink.engines.spark.ingest`); the account index
                is numbered on the driver
signals         Spark, with driver-side keying of distinct values
                (:mod:`graphlink.engines.spark.signals`)
graph           Spark (:mod:`graphlink.engines.spark.projection`)
communities     Spark components, Leiden per component on workers / driver
                (:mod:`graphlink.engines.spark.communities`)
scoring,        the polars engine's own functions
drilldown       (:func:`graphlink.stages.scoring_stage.scoring_stage` and the rest) on the
                clustered accounts' memberships and activity, collected
=============== ================================================================

The result is the polars engine's :class:`graphlink.pipeline.DetectResult`,
written by the same atomic writer.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.config import PipelineConfig
from graphlink.config.kinds import default_kinds
from graphlink.engines.spark.communities import spark_partition
from graphlink.engines.spark.ingest import (
    NANOS_AS_LONG, SparkEvents, account_index, check_source, read_events, to_polars,
)
from graphlink.engines.spark.projection import spark_project
from graphlink.engines.spark.session import cancelled, get_session, spark_reason
from graphlink.engines.spark.signals import spark_signals, to_spark
from graphlink.stages.wording_cells import split_wording
from graphlink.stages.client_cells import split_clients
from graphlink.stages.blocks import split_wholes
from graphlink.stages.burst_writing import burst_writing
from graphlink.stages.bursts import template_bursts
from graphlink.stages.hub_twins import hub_twins, hub_values
from graphlink.stages.join_notes import own_value_joins, twin_joins
from graphlink.stages.pendants import cluster_values, own_value_members
from graphlink.errors import ConfigError, GraphlinkError, InputError
from graphlink.pipeline import (
    DetectResult, Progress, drilldown_stage, peak_rss_mb, run_record, run_warnings, scoring_stage, stable_ids_stage,
    supported_partition,
)
from graphlink.contract import OUTPUT_FILES
from graphlink.stages.drilldown import UNLISTED_KINDS, hours_from_minutes, link_table, linking_values
from graphlink.stages.graph import Projection
from graphlink.stages.frames import accounts_from_frame
from graphlink.stages.ingest import AccountsInfo, Events, load_accounts
from graphlink.stages.network_cells import NETWORK_KINDS
from graphlink.stages.signals import SignalSet
from graphlink.stages.stable_ids import PreviousRun, load_previous, rekey_campaigns
from graphlink.stages.tie_table import rekey_tie_clusters
from graphlink.stages.set_apart import set_apart_rows
from graphlink.stages.stable_campaigns import record_campaigns, stable_campaigns

__all__ = ["run_detect_spark"]

_DEBUG = bool(__import__("os").environ.get("GRAPHLINK_SPARK_DEBUG"))


def _events_record(events: SparkEvents) -> Events:
    """The polars engine's :class:`Events` bookkeeping for ``run.json`` (no frame: the events stay on Spark)."""
    frame = pl.LazyFrame(schema={c: pl.String for c in events.columns if c != "timestamp"})
    return Events(frame=frame, path=events.path, rows_read=events.rows_read, rejected=events.rejected,
                  columns=events.columns, rows_without_timestamp=events.rows_without_timestamp)


def _minutes(events: Any, index: pl.DataFrame, clustered: pl.DataFrame) -> pl.DataFrame:
    """:func:`graphlink.stages.drilldown.account_minutes` of the clustered accounts, counted on Spark."""
    from pyspark.sql import functions as F

    spark = events.sparkSession
    wanted = to_spark(spark, index.join(clustered.select("account_idx"), on="account_idx").select(
        "account_id", "account_idx"))
    counted = (events.where(F.col("__ts").isNotNull()).join(F.broadcast(wanted), on="account_id")
               .select("account_idx", F.floor(F.col("__ts") / 60_000_000).cast("long").alias("key"))
               .groupBy("account_idx", "key").agg(F.count(F.lit(1)).alias("count")))
    return to_polars(counted).select(pl.col("account_idx").cast(pl.UInt32), pl.col("key").cast(pl.UInt64),
                                     pl.col("count").cast(pl.UInt32)).sort("account_idx", "key")


def _collect_memberships(memberships: Any, accounts: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, signal_idx, count, damp`` of ``accounts`` from the Spark memberships, sorted by signal and account.

    The clustered accounts' memberships, prompt shingles included, are the largest collect (1.05 GiB
    at 32 bytes a row on the campaign preset, ~780 per clustered account): collected as 4-byte
    integers and the 8-byte damping factor (20 bytes a row).
    """
    from pyspark.sql import functions as F

    wanted = to_spark(memberships.sparkSession, accounts.select("account_idx"))
    return to_polars(memberships.join(F.broadcast(wanted), on="account_idx").select(
        F.col("account_idx").cast("int"), F.col("signal_idx").cast("int"), F.col("count").cast("int"), "damp")
    ).select(
        pl.col("account_idx").cast(pl.UInt32), pl.col("signal_idx").cast(pl.UInt32),
        pl.col("count").cast(pl.UInt32), pl.col("damp").cast(pl.Float64)).sort("signal_idx", "account_idx")


def _holders(memberships: Any, hubs: pl.DataFrame, partition: pl.DataFrame) -> pl.DataFrame:
    """``account_idx`` of the unclustered accounts holding a hub (``hubs``: :func:`graphlink.stages.hub_twins.hub_values`)."""
    from pyspark.sql import functions as F

    if hubs.is_empty():
        return partition.clear().select("account_idx")
    wanted = to_spark(memberships.sparkSession, hubs.select(pl.col("hub").alias("signal_idx")).unique())
    held = to_polars(memberships.join(F.broadcast(wanted), on="signal_idx").select(F.col("account_idx").cast("int")).distinct())
    return (held.select(pl.col("account_idx").cast(pl.UInt32))
            .join(partition.filter(pl.col("cluster_id").is_null()).select("account_idx"), on="account_idx", how="semi"))


def run_detect_spark(events: str | Path, accounts: str | Path | pl.DataFrame | None = None,
                     config: PipelineConfig | None = None, progress: Progress | None = None,
                     previous: str | Path | pl.DataFrame | None = None, spark: Any = None,
                     master: str | None = None) -> DetectResult:
    """Run detection with the heavy stages on Spark; same arguments and result as :func:`graphlink.pipeline.run_detect`.

    Parameters
    ----------
    events : str or Path
        A path or URI Spark reads (Parquet, CSV/TSV, NDJSON) or a catalog table name.
    spark : SparkSession, optional
        The session to use; else the active one, else a new one on ``master``.
    master : str, optional
        Spark master URL for a new session (``local[*]`` when omitted).

    Raises
    ------
    GraphlinkError
        Bad input or configuration, PySpark missing, Spark failing to start.
    """
    config = config or PipelineConfig()
    if not isinstance(events, (str, Path)):
        raise InputError("the Spark engine reads events from a path, URI or table name, not a frame")
    known = list(default_kinds()) + list(config.signals.extra_signals)
    unknown = [kind for kind in config.graph.kinds if kind not in known]
    if unknown:
        raise ConfigError(f"[kinds.{unknown[0]}]: unknown signal kind {unknown[0]!r}; kinds are {', '.join(known)}")
    if config.signals.asn_table:
        raise ConfigError("[signals] asn_table is not supported with --engine spark (use the polars engine)")
    if config.graph.transient_share > 0:
        raise ConfigError("[graph] transient_share is not supported with --engine spark (use the polars engine)")
    if config.communities.backend != "igraph":
        raise ConfigError("the Spark engine runs igraph's Leiden; backend = 'leidenalg' needs the polars engine")
    prev: PreviousRun | None = load_previous(previous, OUTPUT_FILES) if previous is not None else None
    check_source(str(events), config.ingest)  # a missing local file: one line, before Java starts
    asked = time.perf_counter()
    session = get_session(spark, master)
    started = time.perf_counter() - asked  # the JVM's start (0 for a running session): counted in the run's time
    # The prompt handover folder: local in local mode; on a cluster a folder both the executors
    # and the driver's polars reach (GRAPHLINK_SPARK_SCRATCH, e.g. s3://bucket/tmp or a shared mount).
    shared = os.environ.get("GRAPHLINK_SPARK_SCRATCH")
    local = None if shared else tempfile.mkdtemp(prefix="graphlink-spark-")
    scratch = f"{shared.rstrip('/')}/graphlink-{os.getpid()}-{time.time_ns()}" if shared else local
    # Timestamps without an offset are UTC (README "Timestamps"); Spark reads them in the
    # session's time zone, so the run sets UTC and puts the caller's setting back after.
    zone = session.conf.get("spark.sql.session.timeZone", None)
    session.conf.set("spark.sql.session.timeZone", "UTC")
    # Column names are matched exactly, as polars matches them: with Spark's default (case-insensitive)
    # a Parquet file holding both Account_ID and account_id cannot even be read; graphlink then refuses
    # it with the polars engine's message (graphlink.stages.validation.check_columns).
    case_sensitive = session.conf.get("spark.sql.caseSensitive", None)
    session.conf.set("spark.sql.caseSensitive", "true")
    nanos_as_long = session.conf.get(NANOS_AS_LONG, None)  # read_events may set it (nanosecond Parquet times)
    try:
        return _run(session, str(events), accounts, config, progress, prev, scratch, started)
    except GraphlinkError:
        raise
    except Exception as exc:  # Spark's own errors (Py4J, analysis, worker failures) become one line
        from pyspark.errors import PySparkException
        from py4j.protocol import Py4JError

        if isinstance(exc, (PySparkException, Py4JError)) and cancelled(exc):
            # Ctrl-C: PySpark's SIGINT handler cancels every job, and the running call returns that
            # cancellation instead of the interrupt; it is one (exit 130), not a failure of the input.
            raise KeyboardInterrupt from None
        if isinstance(exc, (PySparkException, Py4JError, pl.exceptions.PolarsError, OSError)) and not _DEBUG:
            raise InputError(f"Spark failed: {spark_reason(exc)}", file=str(events)) from None
        raise
    finally:
        # The scratch copy first: an interrupted run (Ctrl-C, or SIGTERM, which the CLI turns into
        # an exception) may leave the Spark connection unusable for the time zone reset.
        if local:
            shutil.rmtree(local, ignore_errors=True)
        if zone is not None and zone != "UTC":
            session.conf.set("spark.sql.session.timeZone", zone)
        if case_sensitive != "true":
            session.conf.set("spark.sql.caseSensitive", case_sensitive or "false")
        if session.conf.get(NANOS_AS_LONG, None) != nanos_as_long:
            session.conf.set(NANOS_AS_LONG, nanos_as_long or "false")


def _run(spark: Any, source: str, accounts: Any, config: PipelineConfig, progress: Progress | None,
         prev: PreviousRun | None, scratch: str, started: float = 0.0) -> DetectResult:
    from pyspark.sql import functions as F

    # "session": starting Spark (a minute or two for a new JVM), so the run's total is its wall time.
    timings: dict[str, float] = {"session": round(started, 4)}
    memory: dict[str, float | None] = {"session": peak_rss_mb()}
    clock = [time.perf_counter()]

    def stage(name: str) -> None:
        if progress:
            progress(name)

    def done(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - clock[0], 4)
        memory[name] = peak_rss_mb()
        clock[0] = now

    stage("ingest")
    sev = read_events(spark, source, config.ingest, config.signals.extra_signals, scratch)
    acc: AccountsInfo | None = None
    if isinstance(accounts, (str, Path)):
        acc = load_accounts(accounts, config.ingest)
    elif accounts is not None:
        acc = accounts_from_frame(accounts, config.ingest)
    index = account_index(sev, acc)
    # The account numbering, joined (broadcast) to rows already reduced per account and value.
    ids = to_spark(spark, index.filter(pl.col("events") > 0).select("account_id", "account_idx"))
    n_accounts = index.height
    done("ingest")
    stage("signals")
    found = spark_signals(sev, ids, index, config.signals, acc, scratch)
    done("signals")
    stage("graph")
    projected = spark_project(found.pairs, found.values, found.value_counts, config.graph, seed=config.signals.seed,
                              minutes=found.minutes, n_accounts=n_accounts)
    found.minutes = None
    done("graph")
    stage("communities")
    partition, on_driver = spark_partition(projected.edges, n_accounts, config.communities)
    done("communities")
    stage("scoring")
    before = partition.drop_nulls("cluster_id").select("account_idx")
    memberships = _collect_memberships(projected.memberships, before)
    partition, wholes = split_wholes(partition)  # the clusters before blocks were split: campaigns
    partition = supported_partition(partition, memberships, projected.signals, config, projected.co_timed)
    projection = Projection(edges=pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32,
                                                        "weight": pl.Float64}),
                            signals=projected.signals, memberships=memberships, n_accounts=n_accounts,
                            stats=projected.stats, warnings=projected.warnings, co_timed=projected.co_timed,
                            network_events=(network_totals(projected.memberships, projected.signals)
                                            if config.communities.network_cells else None))
    partition, wholes = template_bursts(partition, wholes, projection, found, config,
                                        lambda left: _minutes(sev.frame, index, left))
    clustered = partition.drop_nulls("cluster_id").select("account_idx")
    added = clustered.join(before, on="account_idx", how="anti")
    if added.height:  # accounts template bursts clustered: their memberships too, in the same order
        projection.memberships = pl.concat([projection.memberships, _collect_memberships(projected.memberships, added)]
                                           ).sort("signal_idx", "account_idx")
    joins = []  # what the hub twins and own-value members added (graphlink.stages.join_notes)
    if config.communities.hub_twins:  # (graphlink.stages.hub_twins) with the hubs' unclustered holders' memberships
        # (those of accounts Leiden clustered before the support check are there already)
        extra = _collect_memberships(projected.memberships, _holders(projected.memberships, hub_values(
            partition, projection.memberships, projection.signals, config.graph), partition).join(before, on="account_idx", how="anti"))
        partition, wholes, twins_made = hub_twins(partition, wholes, pl.concat([projection.memberships, extra]), projection.signals,
                                                  config.graph, config.communities.min_cluster_size, n_accounts, with_twins=True)
        joins.append(twin_joins(twins_made))
        twins = extra.join(partition.drop_nulls("cluster_id").select("account_idx"), on="account_idx", how="semi")
        if twins.height:  # the twins' memberships too, in the same order (and their minutes, below)
            projection.memberships = pl.concat([projection.memberships, twins]).sort("signal_idx", "account_idx")
            clustered = partition.drop_nulls("cluster_id").select("account_idx")
    if config.communities.wording_cells:  # after the bursts, as the in-memory pipeline (graphlink.stages.wording_cells)
        partition, wholes = split_wording(partition, wholes, projection.memberships, projection.signals, config.communities.seed)
    if config.communities.client_cells:  # after the wording split, as the in-memory pipeline (graphlink.stages.client_cells)
        partition, wholes = split_clients(partition, wholes, projection.memberships, projection.signals, index)
    if config.communities.own_values:  # last, as the in-memory pipeline, with the candidates' memberships (stages.pendants)
        owned = cluster_values(partition, projection.memberships, projection.signals, config.graph)
        extra = projection.memberships.clear() if owned.is_empty() else _collect_memberships(projected.memberships, _holders(
            projected.memberships, owned.select(pl.col("signal_idx").alias("hub")), partition).join(
            projection.memberships.select("account_idx").unique(), on="account_idx", how="anti"))  # no Spark job without values
        partition, wholes, joined = own_value_members(partition, wholes, pl.concat([projection.memberships, extra]),
                                                      projection.signals, config.graph, found.value_counts)
        joins.append(own_value_joins(joined))
        if joined.height:  # the joined accounts' memberships too, in the same order (and their minutes, below)
            projection.memberships = pl.concat([projection.memberships, extra.join(joined, on="account_idx", how="semi")]
                                               ).sort("signal_idx", "account_idx")
            clustered = partition.drop_nulls("cluster_id").select("account_idx")
    projection.joins = pl.concat(joins) if joins else None
    burst_writing(projection, found, config, partition)  # opt-in: burst members' phrases, the partition final (stages.bursts)
    signal_set = SignalSet(pairs=pl.DataFrame(), values=found.values, stats=found.stats,
                           account_stats=found.account_stats, value_counts=found.value_counts,
                           seconds=found.seconds)
    ev = _events_record(sev)
    minutes_idx = (_minutes(sev.frame, index, clustered) if "timestamp" in sev.columns else
                   pl.DataFrame(schema={"account_idx": pl.UInt32, "key": pl.UInt64, "count": pl.UInt32}))
    activity_idx = hours_from_minutes(minutes_idx)
    scored = scoring_stage(partition, index, ev, signal_set, projection, activity_idx, config, wholes, minutes_idx)
    accounts_out, clusters, evidence, mapping, max_id = stable_ids_stage(scored, index, prev, config)
    accounts_out, clusters, campaigns, ties, campaign_ids = stable_campaigns(  # campaign ids carried over too
        prev, accounts_out, clusters, rekey_campaigns(scored.campaigns, mapping), rekey_tie_clusters(scored.ties, mapping), config.stable_ids.previous_min_jaccard)
    done("scoring")
    stage("drilldown")
    signals_out, activity, minutes, templates, accounts_out = drilldown_stage(
        scored, index, accounts_out, projection, activity_idx, ev.columns, config, minutes_idx, signal_set.account_stats)
    # links.parquet / linking.parquet (expand, match): the edges and the linking values,
    # collected to the driver (one row per account pair, per account and linking value), as
    # 4-byte integers and only the columns used: on the campaign preset the memberships with
    # all four columns (32 bytes a row, ~33M rows) were 1.05 GiB, over Spark's default
    # spark.driver.maxResultSize; the two int columns are a quarter of that.
    edges = to_polars(projected.edges.select(F.col("source").cast("int"), F.col("target").cast("int"), "weight")
                      ).select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32),
                               pl.col("weight").cast(pl.Float64))
    listed = projected.signals.filter((pl.col("weight") > 0) & ~pl.col("kind").is_in(UNLISTED_KINDS))
    linking_rows = to_polars(projected.memberships.join(F.broadcast(to_spark(spark, listed.select("signal_idx"))),
                                                         on="signal_idx").select(
        F.col("account_idx").cast("int"), F.col("signal_idx").cast("int"))).select(
        pl.col("account_idx").cast(pl.UInt32), pl.col("signal_idx").cast(pl.UInt32))
    links, linking = link_table(edges, index), linking_values(linking_rows, projected.signals, index, accounts_out)
    done("drilldown")
    warnings = [*sev.warnings, *run_warnings(projection, signal_set, index, acc)]
    run = record_campaigns(run_record(config, ev, acc, n_accounts, signal_set, projection, clusters, scored, prev, mapping, max_id,
                                      timings, memory, warnings, accounts_out), campaign_ids)
    run["engine"] = {"name": "spark", "master": spark.sparkContext.master, "spark": spark.version,
                     "components_on_driver": on_driver}
    return DetectResult(accounts=accounts_out, clusters=clusters, evidence=evidence, run=run, index=index,
                        signals=projection.signals, affiliations=projection.memberships, edges=None, warnings=warnings,
                        cluster_mapping=mapping, member_affiliations=signals_out, activity=activity,
                        minutes=minutes, templates=templates, campaigns=campaigns,
                        campaign_ties=ties, set_apart=set_apart_rows(scored.set_apart, index, mapping), links=links, linking=linking)


def network_totals(memberships: Any, signals: pl.DataFrame, kinds: tuple[str, ...] = NETWORK_KINDS) -> pl.DataFrame:
    """``signal_idx, all``: events per network value over every account (Spark ``memberships`` of the
    whole log), the denominator of :mod:`graphlink.stages.network_cells`' exclusivity, since the
    memberships collected to the driver hold only clustered accounts."""
    from pyspark.sql import functions as F

    nets = signals.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select(pl.col("signal_idx").cast(pl.Int64))
    rows = memberships.join(F.broadcast(to_spark(memberships.sparkSession, nets)), on="signal_idx").groupBy("signal_idx").agg(
        F.sum("count").cast("long").alias("all"))
    return to_polars(rows).select(pl.col("signal_idx").cast(pl.UInt32), pl.col("all").cast(pl.Int64))
