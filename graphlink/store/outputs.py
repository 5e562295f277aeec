"""The one reader and the one writer of a ``graphlink detect`` output folder.

:func:`load_outputs` is how every consumer reads a folder: the notebook
(:func:`graphlink.load`), the report, ``show`` and ``export``. It reads the
clusters table whole and everything else only for the clusters asked for
(Parquet predicate pushdown), so drilling into a few clusters of a huge run
stays cheap. Folders written before the drill-down tables existed still load:
``memberships`` and ``activity`` are then ``None`` and the consumers say what
they cannot show. :func:`write_outputs` writes a folder atomically. File names
and schemas are in :mod:`graphlink.contract`.
"""

from __future__ import annotations

import glob
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from graphlink.contract import (
    ACCOUNTS_FILE, ACTIVITY_FILE, ACTIVITY_SCHEMA, CLUSTERS_FILE, EVIDENCE_FILE, MATCH_CLOCKS_FILE,
    MATCH_CLOCKS_SCHEMA, MATCH_INDEX_FILE, MATCH_INDEX_FILES, MATCH_INDEX_SCHEMA, MATCH_MATES_FILE,
    MATCH_MATES_SCHEMA, MATCH_POOLS_FILE, MATCH_POOLS_SCHEMA, MATCH_TEMPLATES_FILE, MATCH_TEMPLATES_SCHEMA,
    MEMBERSHIPS_FILE, MEMBERSHIPS_SCHEMA, MINUTES_FILE, MINUTES_SCHEMA, TEMPLATES_FILE, TEMPLATES_SCHEMA,
    OUTPUT_FILES, ACCOUNTS_READ_COLUMNS, EVIDENCE_READ_COLUMNS, CAMPAIGNS_FILE, CAMPAIGN_TIES_FILE, GRAPH_FILES,
    LINKING_FILE, LINKING_SCHEMA, LINKS_FILE, LINKS_SCHEMA, REQUIRED_FILES, RUN_FILE, with_member_behaviour_columns,
    OPTIONAL_FILES, SET_APART_FILE, SET_APART_SCHEMA,
)
from graphlink.errors import GraphlinkError
from graphlink.store.atomic import cleanup_stale, write_atomic, write_dir_atomically
from graphlink.store.campaign_ties import read_campaign_ties
from graphlink.store.member_linking import member_linking as build_member_linking
from graphlink.store.folder import Outputs, Selection, folder_path, score_columns, select_clusters
from graphlink.store.redact import SAFE_KINDS, redactor_for

if TYPE_CHECKING:  # pragma: no cover
    from graphlink.pipeline import DetectResult

__all__ = ["Outputs", "Selection", "events_file", "input_path", "load_outputs", "read_clusters", "read_run",
           "score_columns", "select_clusters", "write_atomic", "write_outputs"]


def input_path(path: str | os.PathLike) -> dict[str, str]:
    """How ``run.json`` records an input: ``path`` absolute (symlinks resolved) for a local file,
    and ``given``, the path as typed, when it differs.

    URIs (``s3a://…``), Spark table names and placeholders (``<stdin>``, ``<frame>``) are
    kept as given, so a report or notebook reads the events back from any working directory.

    Examples
    --------
    >>> input_path("<stdin>"), input_path("s3a://logs/day/")
    ({'path': '<stdin>'}, {'path': 's3a://logs/day/'})
    """
    given = str(path)
    if given.startswith("<") or re.match(r"[A-Za-z][A-Za-z0-9+.-]+:/", given) or not Path(given).exists():
        return {"path": given}
    resolved = str(Path(given).expanduser().resolve())
    return {"path": resolved} if resolved == given else {"path": resolved, "given": given}


def events_file(run: dict[str, Any]) -> tuple[str, Path | None]:
    """The events file a run read: ``(its path as recorded, the existing file or None)``.

    Tries the recorded ``path`` (absolute since graphlink records it so), then the path as typed
    (``given``, relative to the working directory), so an output folder moved together with its
    events still finds them. ``None`` when neither is a file or the run read no file (``<frame>``,
    ``<stdin>``, a URI).
    """
    events = (run.get("inputs") or {}).get("events") or {}
    recorded = str(events.get("path") or "")
    for candidate in (recorded, str(events.get("given") or "")):
        if candidate and not candidate.startswith("<") and Path(candidate).is_file():
            return recorded, Path(candidate)
    return recorded, None


def check_folder(out_dir: Path) -> None:
    """Raise :class:`GraphlinkError` unless ``out_dir`` has every required output file."""
    if not out_dir.is_dir():
        kept = sorted(out_dir.parent.glob(f".{glob.escape(out_dir.name)}.old-*"))  # a writer died between renames
        hint = (f"; the previous output is kept in {kept[-1]} (graphlink detect --out {out_dir} --previous {out_dir} "
                "restores it)") if kept else ""
        raise GraphlinkError(f"{out_dir}: no such output folder (not a folder); "
                             f"pass the --out folder of graphlink detect{hint}")
    missing = [name for name in REQUIRED_FILES if not (out_dir / name).is_file()]
    if missing:
        raise GraphlinkError(f"{out_dir}: not a graphlink detect output (missing {', '.join(missing)})")


def read_run(out_dir: Path) -> dict[str, Any]:
    """``run.json`` of an output folder as a dict.

    Raises
    ------
    GraphlinkError
        Not valid JSON, not a JSON object, or an object recording no run (``{}``).
    """
    path = out_dir / RUN_FILE
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GraphlinkError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(run, dict):
        raise GraphlinkError(f"{path}: expected a JSON object")
    if not {"counts", "inputs", "parameters"} & set(run):  # emptied to {} (review nu54): no run recorded in it
        raise GraphlinkError(f"{path}: holds no record of a detect run (none of counts, inputs, parameters): damaged "
                             "or not graphlink's; run detect again")
    # The settings detect ran with, read by every view: a section that is not a table (a hand-edited or damaged
    # run.json) is left out here, once, so each view falls back to that section's defaults instead of failing.
    parameters = run.get("parameters")
    run["parameters"] = ({k: v for k, v in parameters.items() if isinstance(v, dict)}
                         if isinstance(parameters, dict) else {})
    return run


def load_outputs(out_dir: str | Path, selection: Selection = "flagged", limit: int | None = None, *,
                 redact: bool = False, redact_key: str | None = None, whole: bool = False,
                 graph: bool = False, drilldown: bool = True, account: str | None = None) -> Outputs:
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
    whole : bool
        Read ``accounts``, ``evidence`` and ``activity`` whole, unclustered
        accounts included (the notebook's :func:`graphlink.load`).
    graph : bool
        Also scan ``links.parquet`` and ``linking.parquet`` (lazily: ``expand``
        reads them whole, ``match`` only the kinds it matches on); an error if
        the folder lacks them. ``minutes.parquet`` is scanned too when the folder
        has it (``expand``'s clock; folders written before it existed have none), and
        ``templates.parquet`` likewise (the seeds' templates).
    account : str, optional
        Count ``member_linking``'s ``suspects`` for this account's rows alone (``graphlink account``; the other rows
        read 1): its tie strength is exact, the rest of the cluster's are not asked.
    drilldown : bool
        Read ``memberships`` and ``activity`` (False: both None unread, for a reader that needs neither:
        ``match`` with detect's clock index; they are the largest tables at scale).

    Returns
    -------
    Outputs
        ``memberships`` / ``activity`` are ``None`` when the folder lacks them.

    Raises
    ------
    GraphlinkError
        Not an output folder, unreadable ``run.json`` or tables, unknown cluster
        ids, or (with ``graph``) no account graph, or ``graph`` with ``redact``.
    """
    out_dir = folder_path(out_dir)
    check_folder(out_dir)
    run = read_run(out_dir)
    if graph and (redact or redact_key):
        raise GraphlinkError("the account graph tables (links, linking) are not redacted: read them without --redact")
    missing = [name for name in GRAPH_FILES if graph and not (out_dir / name).is_file()]
    if missing:
        raise GraphlinkError(f"{out_dir}: has no {' or '.join(missing)} (written by an older graphlink); "
                             "rerun graphlink detect to write the account graph")
    try:
        outputs = _read_tables(out_dir, run, selection, limit, redact, redact_key, whole, drilldown, account)
        if graph:
            minutes = (_scan(out_dir, MINUTES_FILE, tuple(MINUTES_SCHEMA)) if (out_dir / MINUTES_FILE).is_file()
                       else None)  # written since the minute clock; older folders have none
            templates = (_scan(out_dir, TEMPLATES_FILE, tuple(TEMPLATES_SCHEMA))
                         if (out_dir / TEMPLATES_FILE).is_file() else None)  # likewise, since the template test
            outputs = replace(outputs, links=_scan(out_dir, LINKS_FILE, tuple(LINKS_SCHEMA)),
                              linking=_scan(out_dir, LINKING_FILE, tuple(LINKING_SCHEMA)), minutes=minutes,
                              templates=templates)
        return outputs
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise GraphlinkError(f"{out_dir}: cannot read outputs: {str(exc).splitlines()[0]}") from None


def read_clusters(out_dir: str | os.PathLike, columns: tuple[str, ...] = ("cluster_id", "size", "score", "flagged"),
                  name: str = CLUSTERS_FILE, where: pl.Expr | None = None) -> pl.DataFrame | None:
    """``columns`` of an output folder's ``clusters.parquet`` (or table ``name``: an optional one, e.g.
    ``campaigns.parquet``, is None when a folder written before it lacks it) alone: cheap planning reads; ``where``
    keeps the rows it holds true for, read from the file (one account's rows of ``linking.parquet``, ``account``).

    Raises
    ------
    GraphlinkError
        Not an output folder, or the table is damaged or lacks a column (the message names the file).
    """
    out_dir = folder_path(out_dir)
    check_folder(out_dir)
    if name in OPTIONAL_FILES and not (out_dir / name).is_file():
        return None
    try:
        lf = _scan(out_dir, name, columns)
        return (lf if where is None else lf.filter(where)).select(list(columns)).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise GraphlinkError(f"{out_dir / name}: cannot read the table: {str(exc).splitlines()[0]}") from None


def _scan(out_dir: Path, name: str, columns: tuple[str, ...]) -> pl.LazyFrame:
    """Scan one table, checking it has the columns readers rely on."""
    try:
        lf = pl.scan_parquet(out_dir / name, glob=False)
        present = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise GraphlinkError(f"{out_dir / name}: cannot read the table (damaged or not Parquet): "
                             f"{str(exc).splitlines()[0]}") from None
    missing = [c for c in columns if c not in present]
    if missing:
        raise GraphlinkError(f"{out_dir / name}: missing column(s) {', '.join(missing)}")
    return lf


def _read_tables(out_dir: Path, run: dict[str, Any], selection: Selection, limit: int | None,
                 redact: bool, redact_key: str | None, whole: bool = False, drilldown: bool = True,
                 account: str | None = None) -> Outputs:
    clusters = _scan(out_dir, CLUSTERS_FILE, ("cluster_id", "size", "score", "flagged")).collect()
    selected = select_clusters(clusters, selection, out_dir)
    if limit is not None and len(selected) > limit:
        top = (clusters.filter(pl.col("cluster_id").is_in(pl.Series(selected, dtype=pl.Int64).implode()))
               .sort(["score", "size", "cluster_id"], descending=[True, True, False], nulls_last=True)
               .head(max(limit, 0)))
        selected = sorted(top["cluster_id"].to_list())
    ids = pl.Series("cluster_id", selected, dtype=pl.Int64)
    in_selection = pl.col("cluster_id").is_in(ids.implode())
    keep = pl.lit(True) if whole else in_selection
    accounts = _scan(out_dir, ACCOUNTS_FILE, ACCOUNTS_READ_COLUMNS).filter(keep).collect()
    accounts = with_member_behaviour_columns(accounts)  # written before them: not known
    evidence = _scan(out_dir, EVIDENCE_FILE, EVIDENCE_READ_COLUMNS).filter(keep).collect()
    for name, dtype in (("ties", pl.Boolean), ("outside_flagged", pl.UInt32)):  # written before the tie evidence:
        if name not in evidence.columns:  # not known (null), so nothing is listed
            evidence = evidence.with_columns(pl.lit(None, dtype).alias(name))
    memberships = None
    if drilldown and (out_dir / MEMBERSHIPS_FILE).is_file():
        memberships = (
            _scan(out_dir, MEMBERSHIPS_FILE, tuple(MEMBERSHIPS_SCHEMA))
            .join(accounts.lazy().select("account_id", "cluster_id"), on="account_id")
            .select("account_id", "cluster_id", "kind", "value", "weight")
            .collect()
        )
    activity = None
    if drilldown and (out_dir / ACTIVITY_FILE).is_file():
        activity = _scan(out_dir, ACTIVITY_FILE, tuple(ACTIVITY_SCHEMA)).filter(keep).collect()
    member_linking = None
    if drilldown and (out_dir / LINKING_FILE).is_file():  # why each member is in its cluster (its linking values)
        member_linking = build_member_linking(
            _scan(out_dir, LINKING_FILE, tuple(LINKING_SCHEMA)),
            _scan(out_dir, ACCOUNTS_FILE, ("account_id", "cluster_id")).select("account_id", "cluster_id", (
                pl.col("campaign_id") if "campaign_id" in accounts.columns else pl.lit(None, pl.Int64)).alias("campaign_id")),
            clusters.filter("flagged")["cluster_id"], in_selection, None if account is None else pl.col("account_id") == account)
    campaigns = ties = None
    if (out_dir / CAMPAIGNS_FILE).is_file():
        campaigns = _scan(out_dir, CAMPAIGNS_FILE, ("campaign_id", "clusters", "accounts", "score", "flagged",
                                                    "why")).collect()
        if drilldown:  # the values tying the campaigns of the selected clusters (graphlink.store.campaign_ties)
            ties = read_campaign_ties(out_dir, campaigns.select("campaign_id", pl.col("clusters").alias("cluster_id"))
                                      .explode("cluster_id").filter(pl.col("cluster_id").is_in(ids.implode()).any()
                                                                    .over("campaign_id")))
    set_apart = (_scan(out_dir, SET_APART_FILE, tuple(SET_APART_SCHEMA)).collect()  # since session 57: None before
                 if (out_dir / SET_APART_FILE).is_file() else None)
    outputs = Outputs(path=out_dir, run=run, clusters=clusters, selected=selected, accounts=accounts, evidence=evidence,
                      memberships=memberships, activity=activity, campaigns=campaigns, member_linking=member_linking,
                      campaign_ties=ties, set_apart=set_apart)
    if redact or redact_key:
        # why / top_values of every cluster quote evidence values: recognise them all.
        context = (pl.scan_parquet(out_dir / EVIDENCE_FILE, glob=False)
                   .filter(~pl.col("kind").is_in(SAFE_KINDS) & ~in_selection)
                   .select("kind", "value").unique().collect())
        outputs = redactor_for(outputs, redact_key).outputs(outputs, context)
    return outputs


#: Every name a detect run may write into its output folder: these are replaced or removed by the next run.
DETECT_WRITES = frozenset(OUTPUT_FILES) | {MEMBERSHIPS_FILE, ACTIVITY_FILE, "campaigns.parquet"}


def check_out_dir(out_dir: str | Path) -> None:
    """Refuse an ``--out`` that exists and is not a graphlink output folder (call before any work).

    Also removes leftovers of killed runs writing ``out_dir`` (see
    :func:`graphlink.store.atomic.cleanup_stale`).

    Raises
    ------
    GraphlinkError
        ``out_dir`` is a URI, a file, or a non-empty folder without ``run.json``.
    """
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:/", str(out_dir)):  # s3a://b/out (Path makes it "s3a:/b/out")
        raise GraphlinkError(f"{out_dir}: --out must be a local folder, not a URI "
                             "(write locally, then copy the folder)")
    out_dir = Path(out_dir)
    cleanup_stale(out_dir, OUTPUT_FILES)
    if out_dir.exists() and not out_dir.is_dir():
        raise GraphlinkError(f"{out_dir}: exists and is a file, not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / RUN_FILE).exists():
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


def match_index(result: DetectResult) -> pl.DataFrame | None:
    """``match_index.parquet`` of a detect result (:data:`graphlink.contract.MATCH_INDEX_SCHEMA`), None without linking.

    The values each cluster is known by at ``match``'s default ``min_concentration``, over every kind (``match``
    keeps the kinds it matches on: each kind's rows are counted apart, so filtering after is the same), with the
    campaign credit (``clusters.parquet``'s ``campaign_id``). Prepared here once so ``match`` does not group
    ``linking.parquet``'s rows on each run (0.5 s of 1.8 s at the 1m scale).
    """
    if result.linking is None or result.clusters is None:
        return None
    from graphlink.stages.match import DEFAULT_MIN_CONCENTRATION, cluster_values  # stages read the store, not back
    campaigns = (result.clusters.select("cluster_id", "campaign_id") if "campaign_id" in result.clusters.columns
                 else None)
    return cluster_values(result.linking, DEFAULT_MIN_CONCENTRATION, campaigns=campaigns).cast(dict(MATCH_INDEX_SCHEMA))


def match_pools(result: DetectResult) -> pl.DataFrame | None:
    """``match_pools.parquet`` (:data:`graphlink.contract.MATCH_POOLS_SCHEMA`): each cluster's address holdings, None
    without linking; prepared once so ``match`` does not count ``linking.parquet``'s address rows on each run."""
    if result.linking is None:
        return None
    from graphlink.stages.match_pools import address_holdings  # stages read the store, not back

    return address_holdings(result.linking).sort("cluster_id", "value").cast(dict(MATCH_POOLS_SCHEMA))  # same bytes


def match_mates(pools: pl.DataFrame | None) -> pl.DataFrame | None:
    """``match_mates.parquet`` (:data:`graphlink.contract.MATCH_MATES_SCHEMA`) of :func:`match_pools`' holdings: the
    clusters riding one another's address pools, judged once here (0.15 s at 1m) instead of on each ``match``."""
    if pools is None:
        return None
    from graphlink.stages.match_pools import all_pool_mates  # stages read the store, not back

    return all_pool_mates(pools).cast(dict(MATCH_MATES_SCHEMA))


def match_clocks(result: DetectResult) -> pl.DataFrame | None:
    """``match_clocks.parquet`` (:data:`graphlink.contract.MATCH_CLOCKS_SCHEMA`): each cluster's busy hours, from the
    clustered rows of the activity (what ``match`` reads of ``activity.parquet``), None without activity."""
    if result.activity is None:
        return None
    from graphlink.stages.match_clocks import cluster_clocks  # stages read the store, not back

    return cluster_clocks(result.activity.drop_nulls("cluster_id")).cast(dict(MATCH_CLOCKS_SCHEMA))


def match_templates(result: DetectResult) -> pl.DataFrame | None:
    """``match_templates.parquet`` (:data:`graphlink.contract.MATCH_TEMPLATES_SCHEMA`): the templates each cluster
    (campaign) is known by at ``match``'s default ``min_concentration``, normalised and counted once here; None
    without templates."""
    if result.templates is None or result.clusters is None or "campaign_id" not in result.clusters.columns:
        return None
    from graphlink.stages.match import DEFAULT_MIN_CONCENTRATION  # stages read the store, not back
    from graphlink.stages.match_templates import known_templates

    n_accounts = int((result.run.get("counts") or {}).get("accounts") or 0)
    return (known_templates(result.templates, result.clusters.select("cluster_id", "campaign_id"), n_accounts,
                            DEFAULT_MIN_CONCENTRATION).sort("cluster_id", "value").cast(dict(MATCH_TEMPLATES_SCHEMA)))


def write_outputs(result: DetectResult, out_dir: str | Path) -> Path:
    """Write a detect result to ``out_dir`` atomically (the output contract, :mod:`graphlink.contract`).

    Files are written to a hidden temporary folder beside ``out_dir`` which is
    renamed into place only when complete, so an interrupted (even killed) run
    leaves either the previous output or none; leftovers of killed runs are
    cleaned up by the next write (see :mod:`graphlink.store.atomic`). An existing
    ``out_dir`` is replaced only if it is empty or a previous graphlink output
    (it has a ``run.json``). Files and folders in it that detect does not
    write (``report.html``, ``graph.gexf``, ``cases/``, ``csv/``, notes of
    yours) are kept; detect outputs of the previous run that this run does
    not write are removed (see :func:`carried_over`).

    Raises
    ------
    GraphlinkError
        ``out_dir`` exists and is something else.
    """
    out_dir = folder_path(out_dir)
    check_out_dir(out_dir)

    def write(tmp: Path) -> None:
        tables = [(result.linking, LINKING_FILE), (result.links, LINKS_FILE), (result.activity, ACTIVITY_FILE),
                  (result.minutes, MINUTES_FILE), (result.templates, TEMPLATES_FILE),
                  (result.accounts, ACCOUNTS_FILE), (result.member_affiliations, MEMBERSHIPS_FILE),
                  (result.clusters, CLUSTERS_FILE), (result.evidence, EVIDENCE_FILE),
                  (result.campaigns, CAMPAIGNS_FILE), (result.campaign_ties, CAMPAIGN_TIES_FILE),
                  (getattr(result, "set_apart", None), SET_APART_FILE)]
        # Two at a time, largest first (the same bytes: each file is written as before; polars
        # releases the GIL while it encodes). The detect tables start writing while match's indexes are
        # derived (~2 s of CPU on the campaign preset: they overlap the writes). Errors are raised here, before run.json.
        with ThreadPoolExecutor(2) as pool:
            writing = [pool.submit(frame.write_parquet, tmp / name) for frame, name in tables if frame is not None]
            # Counted on codes by the pipeline (graphlink.stages.match_prep) when it could; else grouped from the text.
            prepared = result.match_tables
            pools = prepared[MATCH_POOLS_FILE] if MATCH_POOLS_FILE in prepared else match_pools(result)
            derived = [(prepared[MATCH_INDEX_FILE] if MATCH_INDEX_FILE in prepared else match_index(result), MATCH_INDEX_FILE),
                       (pools, MATCH_POOLS_FILE), (match_mates(pools), MATCH_MATES_FILE),
                       (match_clocks(result), MATCH_CLOCKS_FILE), (match_templates(result), MATCH_TEMPLATES_FILE)]
            writing += [pool.submit(frame.write_parquet, tmp / name) for frame, name in derived if frame is not None]
            tables += derived
            for done in writing:
                done.result()
        # run.json last: a folder with it is complete. It lists match's indexes written with it (match ignores others).
        indexes = {name: {"rows": frame.height, "bytes": (tmp / name).stat().st_size} for frame, name in tables
                   if frame is not None and name in MATCH_INDEX_FILES}
        run = {**result.run, "match_indexes": indexes}
        (tmp / RUN_FILE).write_text(json.dumps(run, indent=2, sort_keys=True, default=str) + "\n")

    return write_dir_atomically(out_dir, write, OUTPUT_FILES, keep=lambda name: name not in DETECT_WRITES)
