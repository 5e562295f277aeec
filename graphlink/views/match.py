"""``graphlink match`` and :func:`graphlink.match`: yesterday's rings, today's new accounts.

Reads the earlier run through :func:`graphlink.store.outputs.load_outputs`
(``graph=True``: ``linking.parquet`` has the values each cluster is known by
and their rarity in that run), reads and encodes the new log with the earlier
run's settings (column map, IP prefixes, ``--signal`` columns) and assigns its
accounts with :func:`graphlink.stages.match.match_accounts` (method and
defaults there). No detection runs; :func:`write_matches` writes
``DIR/matches.parquet`` and ``DIR/match.json`` atomically. Nothing here prints.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.contract import (MATCH_CLOCKS_FILE, MATCH_CLOCKS_SCHEMA, MATCH_INDEX_FILE, MATCH_INDEX_FILES,
                                MATCH_INDEX_SCHEMA, MATCH_MATES_FILE, MATCH_MATES_SCHEMA, MATCH_POOLS_FILE,
                                MATCH_POOLS_SCHEMA, MATCH_RUN_FILE, MATCH_TEMPLATES_FILE, MATCH_TEMPLATES_SCHEMA,
                                MATCHES_FILE)
from graphlink.errors import GraphlinkError, InputError, safe_reason
from graphlink.stages.encode import encode_events
from graphlink.stages.match_coact import new_minutes
from graphlink.stages.match_templates import doubt_reader
from graphlink.stages.frames import accounts_from_frame
from graphlink.stages.ingest import AccountsInfo, load_accounts
from graphlink.stages.match import (
    DEFAULT_MIN_CONCENTRATION, DEFAULT_MIN_EVIDENCE, KNOWN_MEMBER_WHY, MATCH_KINDS, account_clocks, account_values,
    cluster_clocks, cluster_values, match_accounts)
from graphlink.stages.signals.ip import invalid_ip_warning
from graphlink.store.atomic import write_dir_atomically
from graphlink.store.folder import Outputs
from graphlink.views.expand import exported_ids, graph_outputs
from graphlink.views.match_input import id_list, known_config, read_events

__all__ = ["MatchResult", "flagged_counts", "match", "write_matches", "EARLIER_UNCLUSTERED_WHY", "with_unclustered",
           "redact_matches"]

#: Event columns each matched kind is read from.
KIND_COLUMNS = {"payment": "payment_fingerprint", "ip": "ip", "ip_net": "ip", "user_agent": "user_agent"}


@dataclass
class MatchResult:
    """What :func:`match` found.

    Attributes
    ----------
    matches : DataFrame
        :data:`graphlink.contract.MATCHES_SCHEMA`, one row per account of the new log.
    run : dict
        ``match.json``: inputs, parameters, counts, seconds.
    """

    matches: pl.DataFrame
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def unmatched(self) -> pl.Series:
        """Accounts that matched no known cluster: run ``graphlink detect`` on the new log for them."""
        return self.matches.filter(pl.col("cluster_id").is_null())["account_id"]


def check_schema(outputs: Outputs, new_columns: tuple[str, ...], kinds: set[str]) -> tuple[set[str], list[str]]:
    """The kinds the new log can be matched on, and a warning for each column of the earlier log it lacks.

    The log's required columns are the events file's
    (:func:`graphlink.stages.validation.check_columns`: ``account_id`` and
    one event column, or ``account_id`` alone, which says which accounts are
    members already); a kind whose column is missing (a card, a client, the
    timestamps the clocks need) is left out, with a warning saying so and
    how to map a column of another name.

    Returns
    -------
    tuple
        ``(kinds, warnings)``: ``kinds`` without those whose column is missing.
    """
    if set(new_columns) <= {"account_id"}:  # a list of accounts to look up: no column is missing from it
        return kinds, []
    before = ((outputs.run.get("inputs") or {}).get("events") or {}).get("columns") or []
    needed = {KIND_COLUMNS.get(kind, kind) for kind in kinds - {"email_domain"}} | {"timestamp"}
    missing = sorted(c for c in needed if c in before and c not in new_columns)
    if not missing:
        return kinds, []
    lost = sorted(k for k in kinds if KIND_COLUMNS.get(k, k) in missing)
    without = ([f"{', '.join(lost)} values"] if lost else []) + (["activity clocks"] if "timestamp" in missing else [])
    one = len(missing) == 1
    warning = (f"the new log has no column {', '.join(missing)} (the earlier log had {'it' if one else 'them'}): "
               f"matching without {' and '.join(without)}; if {'it is' if one else 'they are'} there under another "
               "name, map with --map CANONICAL=COLUMN")
    return kinds - set(lost), [warning]


#: Detect's indexes for match (:mod:`graphlink.contract`) and their schemas.
INDEX_SCHEMAS = {MATCH_INDEX_FILE: MATCH_INDEX_SCHEMA, MATCH_POOLS_FILE: MATCH_POOLS_SCHEMA,
                 MATCH_MATES_FILE: MATCH_MATES_SCHEMA, MATCH_CLOCKS_FILE: MATCH_CLOCKS_SCHEMA,
                 MATCH_TEMPLATES_FILE: MATCH_TEMPLATES_SCHEMA}


def read_index(outputs: Outputs, name: str) -> pl.DataFrame | None:
    """One of detect's indexes for match in the earlier run's folder, None when absent (an older folder).

    Raises
    ------
    GraphlinkError
        The file is damaged, not Parquet, or lacks a column of its schema (naming the file; deleting it makes
        ``match`` count the earlier run's tables instead, rerunning detect writes it again).
    """
    path = Path(outputs.path) / name if outputs.path is not None else None
    if path is None or not path.is_file() or not listed(outputs, name):
        return None
    fix = "delete it (match then counts the run's tables itself) or rerun graphlink detect"
    try:
        frame = pl.read_parquet(path, glob=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise GraphlinkError(f"{path}: cannot read the table (damaged or not Parquet): {safe_reason(exc)}; {fix}"
                             ) from None
    schema = INDEX_SCHEMAS[name]
    wrong = [c for c, dtype in schema.items() if frame.schema.get(c) != dtype]
    if wrong:
        raise GraphlinkError(f"{path}: missing or mistyped column(s) {', '.join(wrong)}; {fix}")
    return frame.select(list(schema)).rechunk()


def listed(outputs: Outputs, name: str) -> bool:
    """Whether ``run.json`` lists the index file ``name`` as written with it (the same bytes as in the folder)."""
    entry = (outputs.run.get("match_indexes") or {}).get(name)
    path = Path(outputs.path) / name
    return isinstance(entry, dict) and entry.get("bytes") == path.stat().st_size


def stale_indexes(outputs: Outputs) -> list[str]:
    """Index files in the folder that its ``run.json`` does not list as written with it (:func:`listed`): an
    older graphlink rerun into the folder kept them, or they were copied in. ``match`` ignores them."""
    if outputs.path is None:
        return []
    return [name for name in MATCH_INDEX_FILES if (Path(outputs.path) / name).is_file() and not listed(outputs, name)]


def known_cluster_values(outputs: Outputs, min_concentration: float, kinds: tuple[str, ...]) -> pl.DataFrame:
    """:func:`cluster_values` of the known run: detect's ``match_index.parquet`` when present at the default
    ``min_concentration``, else counted from ``linking.parquet`` (an older folder, another threshold)."""
    index = read_index(outputs, MATCH_INDEX_FILE) if min_concentration == DEFAULT_MIN_CONCENTRATION else None
    if index is not None:
        return index.filter(pl.col("kind").is_in(list(kinds))).rechunk()
    return cluster_values(outputs.linking, min_concentration, kinds,
                          campaigns=outputs.clusters.select("cluster_id", "campaign_id"))


def known_pools(outputs: Outputs) -> pl.DataFrame | pl.LazyFrame | None:
    """Detect's ``match_pools.parquet`` (the clusters' address holdings) when present, else ``linking.parquet``."""
    pools = read_index(outputs, MATCH_POOLS_FILE)
    return pools if pools is not None else outputs.linking


def known_clocks(outputs: Outputs) -> pl.DataFrame | None:
    """The clusters' clocks: detect's ``match_clocks.parquet`` when present, else :func:`cluster_clocks` of the
    activity read; None without either (or with no activity at all)."""
    clocks = read_index(outputs, MATCH_CLOCKS_FILE)
    if clocks is not None:
        return clocks if clocks.height else None
    if outputs.activity is None or not outputs.activity.height:
        return None
    return cluster_clocks(outputs.activity)


def earlier_members(outputs: Outputs, seen: pl.DataFrame) -> pl.DataFrame:
    """``account_id, cluster_id``: the earlier run's clustered accounts among ``seen`` (``account_id``).

    Read from its partition (``accounts.parquet``) when every cluster's accounts were read, else (a notebook's
    selection) from ``linking.parquet``, which holds every clustered account's values.
    """
    if outputs.accounts is not None and len(outputs.selected) == outputs.clusters.height:
        return (outputs.accounts.select("account_id", "cluster_id").drop_nulls("cluster_id")
                .join(seen, on="account_id", how="semi").unique())
    return (outputs.linking.select("account_id", "cluster_id").drop_nulls("cluster_id")
            .join(seen.lazy(), on="account_id", how="semi").unique().collect())


def known_template_index(outputs: Outputs, min_concentration: float) -> pl.DataFrame | None:
    """Detect's ``match_templates.parquet`` at the default ``min_concentration``, else None (counted from
    ``templates.parquet``)."""
    return read_index(outputs, MATCH_TEMPLATES_FILE) if min_concentration == DEFAULT_MIN_CONCENTRATION else None


def known_mates(outputs: Outputs) -> pl.DataFrame | None:
    """Detect's ``match_mates.parquet`` (the clusters riding one another's pools; the same pairs whether the holdings
    come from ``match_pools.parquet`` or linking), else None (``match`` judges the pairs it needs from the holdings)."""
    return read_index(outputs, MATCH_MATES_FILE)


def match(known: str | Path | Outputs, events: str | Path | pl.DataFrame | pl.LazyFrame,
          accounts: str | Path | pl.DataFrame | None = None, *, min_evidence: float = DEFAULT_MIN_EVIDENCE,
          min_concentration: float = DEFAULT_MIN_CONCENTRATION,
          columns: tuple[tuple[str, str], ...] = (), format: str | None = None,  # noqa: A002  (detect's name)
          timestamp_format: str | None = None, separator: str | None = None) -> MatchResult:
    """Assign the accounts of a new log to the clusters and campaigns of an earlier detect run.

    Parameters
    ----------
    known : path or Outputs
        The earlier run's output folder (written by a graphlink that saves
        ``linking.parquet``).
    events : path or polars frame
        The new log, in the earlier log's schema (or mapped with ``columns``).
    accounts : path or DataFrame, optional
        The new accounts file (adds e-mail domains).
    min_evidence : float
        Evidence needed to assign an account (default 1.0: a card, or two
        addresses of a cluster's own pool; see :mod:`graphlink.stages.match`).
    min_concentration : float
        Share of a value's earlier holders that must have been the cluster's
        for the value to identify it (default 0.5).
    columns : tuple of (canonical, column)
        Column map for the new log on top of the earlier run's.
    format, timestamp_format, separator : str, optional
        How the new log is read (as ``graphlink detect``'s options); None
        keeps the earlier run's setting.

    Returns
    -------
    MatchResult
        ``matches`` (one row per new account) and the ``match.json`` record.

    Raises
    ------
    GraphlinkError
        ``known`` is not a graphlink output or lacks ``linking.parquet``; the
        new log is unreadable, has no ``account_id``, or has other columns
        but no event column (an accounts file given as the log)
        (:class:`InputError`, naming the file and the missing columns). A
        column the clusters are known by that the new log lacks is a warning
        (``run["warnings"]``): that kind is left out, the rest matched.
    """
    start = time.perf_counter()
    # Clusters, run.json, the scanned linking values and the clustered accounts' activity (their clocks).
    # With detect's clock index the activity (0.5M rows at 1m) and memberships are not read.
    indexed = isinstance(known, (str, Path)) and (Path(known) / MATCH_CLOCKS_FILE).is_file()
    outputs = graph_outputs(known, "all", whole=False, drilldown=not indexed)
    if indexed and not listed(outputs, MATCH_CLOCKS_FILE):  # not this run's: its activity is read instead
        indexed, outputs = False, graph_outputs(known, "all", whole=False)
    config = known_config(outputs, columns, events, format=format, timestamp_format=timestamp_format, separator=separator)
    known_values = known_cluster_values(outputs, min_concentration, MATCH_KINDS + config.signals.extra_signals)
    kinds = set(known_values["kind"].unique().to_list())
    source = str(events) if isinstance(events, (str, Path)) else "<frame>"
    extra, read_map = config.signals.extra_signals, config.ingest.column_map  # as match.json records the read (brk41)
    try:
        ev = read_events(events, config.ingest, extra)
    except InputError as error:  # a list of ids lacks the earlier run's other mapped and --signal columns
        (ev, read_map), extra = id_list(events, config, error), ()
    mapping = (exported_ids(ev.frame.select(pl.col("account_id").cast(pl.String).unique()).collect()["account_id"]
                            .drop_nulls(), outputs) if set(ev.columns) <= {"account_id"} else {})
    if mapping:  # a list to look up: ids copied back from members.csv read as the ids (every view of the rows)
        fix = pl.col("account_id").replace(mapping)
        ev = replace(ev, frame=ev.frame.with_columns(fix), base=None if ev.base is None else ev.base.with_columns(fix),
                     unfiltered=None if ev.unfiltered is None else ev.unfiltered.with_columns(fix))
    kinds, warnings = check_schema(outputs, ev.columns, kinds)
    warnings = [*ev.warnings, *warnings]  # the log's own (CSV rows ignored or swallowed, a time column unmapped)
    stale = stale_indexes(outputs)
    if stale:
        warnings = warnings + [f"{outputs.path}: {', '.join(stale)} not written with this run.json (an older graphlink "
                               "rerun into the folder keeps them, or copied in): ignored, the run's own tables counted "
                               "instead; delete them or rerun graphlink detect"]
    known_values = known_values.filter(pl.col("kind").is_in(sorted(kinds)))
    acc: AccountsInfo | None = None
    if isinstance(accounts, (str, Path)):
        acc = load_accounts(accounts, config.ingest)
    elif accounts is not None:
        acc = accounts_from_frame(accounts, config.ingest)
    # Only the columns matched on are encoded (prompts, the costly part of detection, are not read).
    needed = {KIND_COLUMNS.get(kind, kind) for kind in kinds} | {"timestamp"}
    # ... except for the accounts in doubt, whose prompts are read and shingled when it comes to them.
    doubt = None
    if "prompt" in ev.columns and outputs.templates is not None:
        doubt = doubt_reader(ev.frame, outputs.templates, outputs.clusters.select("cluster_id", "campaign_id"),
                             config.signals, int((outputs.run.get("counts") or {}).get("accounts") or 0),
                             min_concentration, known_template_index(outputs, min_concentration))
    ev = replace(ev, columns=tuple(c for c in ev.columns if c == "account_id" or c in needed))
    try:
        enc = encode_events(ev, acc, salt=config.signals.seed)
        ip_stats: dict[str, int] = {}
        values = account_values(enc, config, kinds, None if acc is None else acc.frame, stats=ip_stats)
        clusters = outputs.clusters.select("cluster_id", "campaign_id", "size", "flagged")
        members = earlier_members(outputs, enc.index.select("account_id"))
        clocks = None
        busy = known_clocks(outputs)
        if busy is not None and "timestamp" in ev.columns:
            clocks = (account_clocks(enc), busy)
        elif outputs.activity is None and not indexed and "timestamp" in ev.columns:  # say so, as for a log without times
            warnings = warnings + [f"{outputs.path}: has no activity.parquet (an older graphlink's, or copied in "
                                   "part): matched without the clusters' clocks; rerun graphlink detect for them"]
        matches = match_accounts(values, enc.index["account_id"], known_values, clusters, config, min_evidence,
                                 members=members, clocks=clocks, pools=known_pools(outputs), mates=known_mates(outputs),
                                 minutes=new_minutes(enc.frame, enc.index) if "timestamp" in ev.columns else None,
                                 templates=doubt)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"could not process the input: {safe_reason(exc)}", file=source) from None
    matches = with_unclustered(matches, outputs)
    matched = matches.filter(pl.col("cluster_id").is_not_null())
    run = {
        "graphlink": "match",
        "known": str(outputs.path),
        "inputs": {"events": {"path": source, "rows_read": ev.rows_read, "rows_kept": ev.rows_kept,
                              "rejected": dict(ev.rejected), "rejected_rows": dict(ev.rejected_rows),
                              "columns_read": list(ev.columns),
                              "column_map": dict(read_map), "signals": list(extra)},
                   "accounts": None if acc is None else {"path": acc.path, "rows_read": acc.rows_read,
                                                         "rejected": dict(acc.rejected)}},
        "parameters": {"min_evidence": min_evidence, "min_concentration": min_concentration,
                       "kinds": sorted(kinds)},
        "counts": {"accounts": matches.height, "matched": matched.height, "known_members": members.height,
                   "matched_new": matched.height - members.height, **flagged_counts(matched),
                   "unmatched": matches.height - matched.height,
                   "earlier_unclustered": matches.filter(pl.col("why").str.starts_with(EARLIER_UNCLUSTERED_WHY)).height,
                   "clusters_matched": matched["cluster_id"].n_unique(),
                   "known_values": known_values.height,
                   "invalid_ip_events": ip_stats.get("invalid_ip_events", 0)},
        "warnings": warnings + (acc.warnings if acc is not None else []) + [w for w in (invalid_ip_warning(ip_stats.get("ip_events", 0),
                                                               ip_stats.get("invalid_ip_events", 0)),) if w],
        "seconds": round(time.perf_counter() - start, 4),
    }
    return MatchResult(matches=matches, run=run)


#: ``why`` of an unmatched account that the earlier run had, in no cluster (looked up, not new: session 39); one the
#: earlier run set apart from a cluster has its note after it (``; set apart from flagged cluster 4: ...``).
EARLIER_UNCLUSTERED_WHY = "in the earlier run, in no cluster"


def with_unclustered(matches: pl.DataFrame, outputs: Outputs) -> pl.DataFrame:
    """``matches`` with :data:`EARLIER_UNCLUSTERED_WHY` as the ``why`` of unmatched accounts the earlier run had but
    put in no cluster, so a list of accounts to look up tells them from accounts the run never saw (null ``why``).
    Read from the earlier run's ``accounts.parquet`` (:meth:`graphlink.store.folder.Outputs.known_ids`)."""
    unclustered = outputs.known_ids(matches.filter(pl.col("cluster_id").is_null())["account_id"], unclustered=True).implode()
    from graphlink.views.set_apart import set_apart_from  # one set apart from a cluster says which and why (nu56)

    apart = set_apart_from(outputs)
    notes = (apart.select("account_id", pl.concat_str([pl.lit("; "), pl.col("note")]).alias("__note")) if apart is not None
             else pl.DataFrame(schema={"account_id": pl.String, "__note": pl.String}))
    return (matches.join(notes, on="account_id", how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("cluster_id").is_null() & pl.col("account_id").is_in(unclustered))
                          .then(pl.lit(EARLIER_UNCLUSTERED_WHY) + pl.col("__note").fill_null(""))
                          .otherwise(pl.col("why")).alias("why")).drop("__note"))


def flagged_counts(matched: pl.DataFrame) -> dict[str, int]:
    """``match.json`` counts of the matched rows apart by whether the earlier run flagged their cluster.

    ``matched_to_flagged`` / ``matched_to_unflagged`` accounts, of them
    ``new_to_flagged`` / ``new_to_unflagged`` newly matched (not members in
    the earlier run), and the clusters they went to
    (``flagged_clusters_matched`` / ``unflagged_clusters_matched``).

    Examples
    --------
    >>> rows = pl.DataFrame({"cluster_id": [1, 1, 2], "flagged": [True, True, False],
    ...                      "why": ["shares ...", "a member of this cluster in the earlier run", "shares ..."]})
    >>> flagged_counts(rows)["new_to_flagged"], flagged_counts(rows)["unflagged_clusters_matched"]
    (1, 1)
    """
    counts: dict[str, int] = {}
    for name, rows in (("flagged", matched.filter(pl.col("flagged").fill_null(False))),
                       ("unflagged", matched.filter(~pl.col("flagged").fill_null(False)))):
        counts[f"matched_to_{name}"] = rows.height
        counts[f"new_to_{name}"] = rows.filter(pl.col("why") != KNOWN_MEMBER_WHY).height
        counts[f"{name}_clusters_matched"] = rows["cluster_id"].n_unique()
    return counts


def write_matches(result: MatchResult, out_dir: str | Path) -> Path:
    """Write ``matches.parquet`` and ``match.json`` into ``out_dir`` atomically.

    An existing ``out_dir`` is replaced only if it is empty or an earlier
    match output (other files in it are kept).

    Raises
    ------
    GraphlinkError
        ``out_dir`` is a file, a detect output, or a non-empty folder that is not a match output.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GraphlinkError(f"{out_dir}: exists and is a file, not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MATCH_RUN_FILE).exists():
        raise GraphlinkError(f"{out_dir}: exists and is not a graphlink match output (no {MATCH_RUN_FILE}); "
                             "nothing was written: choose another --out")
    names = (MATCHES_FILE, MATCH_RUN_FILE)

    def write(tmp: Path) -> None:
        result.matches.write_parquet(tmp / MATCHES_FILE)
        (tmp / MATCH_RUN_FILE).write_text(json.dumps(result.run, indent=2, sort_keys=True, default=str) + "\n")

    return write_dir_atomically(out_dir, write, names, keep=lambda name: name not in names)


def redact_matches(matches: pl.DataFrame, known: str | Path | Outputs, key: str | None = None) -> tuple[pl.DataFrame, str]:
    """:func:`match`'s rows with cards, e-mail addresses and IPs hashed as ``show --redact`` hashes them.

    ``account_id`` and ``why`` are redacted (:mod:`graphlink.store.redact`: HMAC-SHA256, IP networks and e-mail
    domains kept): every e-mail or IP address found in them, and every value the matched clusters' members held in
    the earlier run (``linking.parquet``: the values a ``why`` quotes), whole or cut. ``matches.parquet`` itself is
    written raw, as detect's folder is (redact where the rows leave: the printed table, ``--json``).

    Parameters
    ----------
    matches : DataFrame
        :data:`graphlink.contract.MATCHES_SCHEMA` (:attr:`MatchResult.matches`).
    known : path or Outputs
        The earlier run the rows were matched against.
    key : str, optional
        HMAC key; else ``$GRAPHLINK_REDACT_KEY``, else a random key for this call only.

    Returns
    -------
    tuple
        The rows (same rows, order and schema) and the sentence saying what was hashed with which key's source.

    Examples
    --------
    >>> import graphlink, tempfile, pathlib
    >>> from graphlink.contract import MATCHES_SCHEMA
    >>> events = pl.DataFrame({"account_id": ["a1", "a2", "a3"], "timestamp": ["2026-01-01T00:00:00"] * 3,
    ...                        "ip": ["10.0.0.1"] * 3, "payment_fingerprint": ["tok_card9"] * 3, "prompt": ["hi"] * 3})
    >>> rows = pl.DataFrame({"account_id": ["bob@example.com"], "cluster_id": [None], "flagged": [None],
    ...                      "campaign_id": [None], "score": [0.0], "why": ["shares card tok_card9"],
    ...                      "earlier_member": [None]}, schema=dict(MATCHES_SCHEMA))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = graphlink.detect(events).save(pathlib.Path(d) / "run")
    ...     redacted, note = redact_matches(rows, pathlib.Path(d) / "run", key="k")
    >>> redacted["account_id"][0].endswith("@example.com"), "bob" in redacted["account_id"][0]
    (True, False)
    """
    from graphlink.store.redact import redactor_for

    outputs = graph_outputs(known, "all", whole=False, drilldown=False)
    redactor = redactor_for(outputs, key)
    clusters = matches["cluster_id"].drop_nulls().unique()
    members = outputs.accounts.filter(pl.col("cluster_id").is_in(clusters.implode())).select("account_id")
    pairs = (outputs.linking.join(members.lazy(), on="account_id", how="semi").select("kind", "value").unique().collect()
             if outputs.linking is not None else pl.DataFrame(schema={"kind": pl.String, "value": pl.String}))
    forms = redactor.cut_forms(redactor.value_map(pairs))
    return (matches.with_columns(redactor.text(matches["account_id"], forms), redactor.text(matches["why"], forms)),
            redactor.note)
