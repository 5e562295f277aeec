"""The Python API: :func:`detect`, :func:`load` and the objects they return.

This is the notebook route into graphlink. :func:`detect` runs the same
pipeline as ``graphlink detect`` and :func:`load` reads a folder it wrote;
both return a :class:`Result` whose :meth:`Result.cluster` opens a
:class:`ClusterView` on one ring: its members, evidence, raw events, account-
signal graph, activity over time and a plain-language explanation.

Every frame is a polars frame. Nothing here prints; problems a user can fix
raise :class:`graphlink.errors.GraphlinkError` (or a subclass). Logged text
(prompts, user agents) is attacker-written, so the HTML and text renderings
pass it through :mod:`graphlink.safety`.

Examples
--------
>>> import polars as pl, graphlink
>>> events = pl.DataFrame({
...     "account_id": [f"ring{i}" for i in range(6)] + ["alice", "bob"],
...     "payment_fingerprint": ["card-1"] * 6 + ["card-a", "card-b"],
...     "timestamp": [1_700_000_000 + 600 * i for i in range(8)],
... })
>>> result = graphlink.detect(events, seed=7)
>>> result.clusters.select("cluster_id", "size").rows()
[(1, 6)]
>>> ring = result.cluster(1)
>>> ring.members["account_id"].to_list()
['ring0', 'ring1', 'ring2', 'ring3', 'ring4', 'ring5']
>>> print(ring.why().splitlines()[0])  # doctest: +ELLIPSIS
Cluster 1: 6 accounts, score 0..., not flagged (flag_threshold 0.6, min_flag_size 5)
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from graphlink.config import (
    CommunityConfig,
    GraphConfig,
    IngestConfig,
    KindSpec,
    PipelineConfig,
    ScoringConfig,
    SignalConfig,
)
from graphlink.errors import ConfigError, GraphlinkError, InputError
from graphlink.ingest import _EARLIEST, _LATEST, _apply_column_map, _clean_text, _schema, parse_timestamp, scan
from graphlink.pipeline import OUTPUT_FILES, DetectResult, run_detect, write_outputs
from graphlink.safety import csv_safe_expr, html_safe, terminal_safe

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = ["ClusterView", "Result", "apply_overrides", "config_from_dict", "detect", "load", "override_names"]

#: File (written by newer ``write_outputs``) with ``account_id, kind, value, weight``
#: for clustered accounts; :meth:`ClusterView.graph` of a loaded result needs it.
MEMBERSHIPS_FILE = "memberships.parquet"

_STAGES: dict[str, type] = {
    "ingest": IngestConfig,
    "signals": SignalConfig,
    "graph": GraphConfig,
    "communities": CommunityConfig,
    "scoring": ScoringConfig,
}
#: Flat names that would be ambiguous but have one obvious meaning. ``seed`` is
#: the Leiden seed, as in ``graphlink detect --seed``; the hashing seed is
#: ``signals__seed``.
_ALIASES: dict[str, tuple[str, str]] = {"seed": ("communities", "seed")}

Source = str | Path | pl.DataFrame | pl.LazyFrame

_KIND_LABELS = {
    "payment": "payment fingerprint", "ip": "IP address", "ip_net": "IP network", "asn": "ASN",
    "prompt": "prompt phrase", "timing": "activity-timing signature", "user_agent": "user agent",
    "email_domain": "email domain", "created_hour": "account-creation hour",
}


# --------------------------------------------------------------------------- overrides


def _override_index() -> dict[str, list[tuple[str, str]]]:
    index: dict[str, list[tuple[str, str]]] = {}
    for stage, cls in _STAGES.items():
        for f in dataclasses.fields(cls):
            index.setdefault(f.name, []).append((stage, f.name))
            index.setdefault(f"{stage}__{f.name}", []).append((stage, f.name))
    for name, target in _ALIASES.items():
        index[name] = [target]
    return index


def override_names() -> list[str]:
    """Setting names :func:`detect` accepts as keyword overrides.

    Each stage setting can be given by its bare name when only one stage has
    it (``resolution``, ``ngram``, ``flag_threshold``...) and always as
    ``stage__name`` (``signals__seed``). ``seed`` is the Leiden seed.

    Examples
    --------
    >>> names = override_names()
    >>> "resolution" in names, "signals__seed" in names, "seed" in names
    (True, True, True)
    """
    return sorted(_override_index())


def _coerce(name: str, current: Any, value: Any) -> Any:
    """Check ``value`` against the type of the setting's current value."""
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(current, tuple):
        if name == "column_map" and isinstance(value, Mapping):
            value = tuple(value.items())
        ok = isinstance(value, (list, tuple))
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value) if ok else value
    elif current is None or isinstance(current, str):  # optional strings: format, asn_table
        ok = value is None or isinstance(value, (str, Path))
        value = str(value) if isinstance(value, Path) else value
    else:
        ok = True
    if not ok:
        raise ConfigError(f"{name}: expected {type(current).__name__}, got {value!r}")
    return value


def _merge_kinds(current: dict[str, KindSpec], value: Any) -> dict[str, KindSpec]:
    if not isinstance(value, Mapping):
        raise ConfigError("kinds: expected a dict of kind -> KindSpec or dict of settings")
    kinds = dict(current)
    for kind, spec in value.items():
        if isinstance(spec, KindSpec):
            kinds[kind] = spec
        elif isinstance(spec, Mapping):
            base = kinds.get(kind, GraphConfig().spec(kind))
            unknown = sorted(set(spec) - {f.name for f in dataclasses.fields(KindSpec)})
            if unknown:
                raise ConfigError(f"kinds[{kind!r}]: unknown setting(s) {', '.join(unknown)}; "
                                  "valid: weight, max_accounts, strong")
            kinds[kind] = dataclasses.replace(base, **spec)
        else:
            raise ConfigError(f"kinds[{kind!r}]: expected a KindSpec or a dict, got {spec!r}")
    return kinds


def apply_overrides(config: PipelineConfig | None = None, **overrides: Any) -> PipelineConfig:
    """Apply flat keyword settings to the right stage configs.

    Parameters
    ----------
    config : PipelineConfig, optional
        The base (defaults when omitted).
    **overrides
        Settings by name (see :func:`override_names`). ``kinds`` is merged
        per kind: ``kinds={"payment": {"max_accounts": 30}}`` changes only that.

    Returns
    -------
    PipelineConfig

    Raises
    ------
    ConfigError
        Unknown or ambiguous names (the message lists valid ones), values of
        the wrong type or out of range.

    Examples
    --------
    >>> cfg = apply_overrides(seed=7, resolution=1.2, ngram=4, flag_threshold=0.6)
    >>> cfg.communities.seed, cfg.communities.resolution, cfg.signals.ngram, cfg.scoring.flag_threshold
    (7, 1.2, 4, 0.6)
    >>> apply_overrides(signals__seed=3).signals.seed
    3
    >>> apply_overrides(resolutoin=2.0)
    Traceback (most recent call last):
    ...
    graphlink.errors.ConfigError: unknown setting 'resolutoin' (did you mean resolution?); valid settings: ...
    """
    config = config or PipelineConfig()
    index = _override_index()
    updates: dict[str, dict[str, Any]] = {}
    for name, value in overrides.items():
        targets = index.get(name.replace(".", "__"))
        if targets is None:
            import difflib

            close = difflib.get_close_matches(name, list(index), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            bare = sorted(n for n in index if "__" not in n)
            raise ConfigError(f"unknown setting {name!r}{hint}; valid settings: {', '.join(bare)} "
                              "(or stage__name, e.g. signals__seed)")
        if len(targets) > 1:
            options = ", ".join(f"{stage}__{field}" for stage, field in targets)
            raise ConfigError(f"setting {name!r} is ambiguous; use one of {options}")
        stage, field = targets[0]
        current = getattr(getattr(config, stage), field)
        if field == "kinds":
            value = _merge_kinds(updates.get(stage, {}).get("kinds", current), value)
        else:
            value = _coerce(name, current, value)
        updates.setdefault(stage, {})[field] = value
    replaced = {stage: dataclasses.replace(getattr(config, stage), **values) for stage, values in updates.items()}
    return dataclasses.replace(config, **replaced)


def config_from_dict(data: Mapping[str, Any]) -> PipelineConfig:
    """Rebuild a :class:`PipelineConfig` from its ``run.json`` form (``run["parameters"]``).

    Examples
    --------
    >>> cfg = apply_overrides(ngram=4, column_map={"account_id": "user"})
    >>> config_from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    True
    """
    def tuples(value: Any) -> Any:
        return tuple(tuples(v) for v in value) if isinstance(value, list) else value

    stages: dict[str, Any] = {}
    for stage, cls in _STAGES.items():
        values = {k: tuples(v) for k, v in dict(data.get(stage) or {}).items()}
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        if stage == "graph" and "kinds" in values:
            values["kinds"] = {k: KindSpec(**spec) for k, spec in values["kinds"].items()}
        stages[stage] = cls(**values)
    return PipelineConfig(**stages)


# --------------------------------------------------------------------------- events


def _scan_events(source: Source, ingest: IngestConfig) -> pl.LazyFrame:
    """The input events, lazily, with canonical ``account_id`` and ``timestamp``.

    Column mapping, timestamp parsing and row rejection (no account id,
    unparseable or out-of-range timestamp) follow
    :func:`graphlink.ingest.load_events`, so the rows are those detection
    counted; other columns are kept as they are so investigators see
    everything logged.
    """
    if isinstance(source, (str, Path)):
        lf = scan(source, ingest.format)
        where = str(source)
    else:
        lf = source.lazy()
        where = "<frame>"
    schema = _schema(lf, where)
    lf = _apply_column_map(lf, schema, ingest.column_map, where)
    schema = _schema(lf, where)
    if "account_id" not in schema:
        raise InputError("no account_id column", file=where)
    lf = lf.with_columns(_clean_text("account_id")).filter(pl.col("account_id").is_not_null())
    if "timestamp" in schema:
        raw = pl.col("__graphlink_raw_ts")
        present = raw.is_not_null()
        if schema["timestamp"] == pl.String:
            present = present & (raw.str.strip_chars().str.len_bytes() > 0)
        ts = pl.col("timestamp")
        rejected = (present & ts.is_null()) | (ts.is_not_null() & ((ts < _EARLIEST) | (ts >= _LATEST)))
        lf = (
            lf.with_columns(pl.col("timestamp").alias("__graphlink_raw_ts"))
            .with_columns(parse_timestamp("timestamp", schema["timestamp"]))
            .filter(~rejected)
            .drop("__graphlink_raw_ts")
        )
    return lf


# --------------------------------------------------------------------------- results


def _table_html(frame: pl.DataFrame, max_rows: int = 10, max_chars: int = 120) -> str:
    """A small HTML table with every cell escaped (cells are attacker-controlled)."""
    head = "".join(f"<th>{html_safe(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(max_rows).iter_rows():
        cells = []
        for value in row:
            if isinstance(value, float):
                text = f"{value:.3f}"
            elif isinstance(value, list):
                text = ", ".join(map(str, value))
            else:
                text = "" if value is None else str(value)
            cells.append(f"<td style='text-align:left'>{html_safe(terminal_safe(text, limit=max_chars))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = (f"<p><small>… {frame.height - max_rows:,} more rows</small></p>" if frame.height > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


class Result:
    """The outcome of :func:`detect` or :func:`load`.

    Attributes
    ----------
    clusters : DataFrame
        ``cluster_id, size, score, flagged, kinds, top_values, why``.
    accounts : DataFrame
        ``account_id, cluster_id, events, first_seen, last_seen``.
    evidence : DataFrame
        ``cluster_id, kind, value, accounts_sharing, weight, df``.
    run : dict
        The run record (``run.json``): parameters, inputs, counts, timings.
    config : PipelineConfig
        The configuration the run used.

    Examples
    --------
    >>> import polars as pl, graphlink
    >>> events = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "payment_fingerprint": ["k", "k", "k", "z"]})
    >>> result = graphlink.detect(events)
    >>> result
    <graphlink.Result: 4 accounts, 1 cluster (0 flagged), events from <frame>>
    >>> result.top(1)["cluster_id"].to_list()
    [1]
    """

    def __init__(self, raw: DetectResult, *, config: PipelineConfig, events_source: Source | None = None,
                 memberships: pl.LazyFrame | None = None, origin: str | None = None) -> None:
        self._raw = raw
        self._config = config
        self._events_source = events_source
        self._memberships = memberships
        self._origin = origin

    # -- frames ------------------------------------------------------------
    @property
    def clusters(self) -> pl.DataFrame:
        return self._raw.clusters

    @property
    def accounts(self) -> pl.DataFrame:
        return self._raw.accounts

    @property
    def evidence(self) -> pl.DataFrame:
        return self._raw.evidence

    @property
    def run(self) -> dict[str, Any]:
        return self._raw.run

    @property
    def config(self) -> PipelineConfig:
        return self._config

    @property
    def warnings(self) -> list[str]:
        """Warnings of the run (e.g. the pair budget cut some links)."""
        return list(self.run.get("warnings") or [])

    # -- navigation ----------------------------------------------------------
    def top(self, n: int = 10) -> pl.DataFrame:
        """The ``n`` most suspicious clusters: flagged first, then by score and size.

        Same order as the table ``graphlink detect`` prints.

        Examples
        --------
        >>> import polars as pl, graphlink
        >>> events = pl.DataFrame({"account_id": list("abcdefg"), "payment_fingerprint": list("kkkzzqr")})
        >>> graphlink.detect(events).top(5).select("cluster_id", "size").rows()
        [(1, 3), (2, 2)]
        """
        return self.clusters.sort(["flagged", "score", "size", "cluster_id"],
                                  descending=[True, True, True, False]).head(n)

    def cluster(self, cluster_id: int) -> ClusterView:
        """Open one cluster (see :class:`ClusterView`).

        Raises
        ------
        GraphlinkError
            If there is no cluster with that id.

        Examples
        --------
        >>> import polars as pl, graphlink
        >>> result = graphlink.detect(pl.DataFrame({"account_id": list("abc"), "payment_fingerprint": list("kkz")}))
        >>> result.cluster(1).size
        2
        >>> result.cluster(5)
        Traceback (most recent call last):
        ...
        graphlink.errors.GraphlinkError: no cluster 5; cluster ids are 1 to 1
        """
        return ClusterView(self, cluster_id)

    def save(self, out_dir: str | Path) -> Path:
        """Write the output folder (as ``graphlink detect --out``), atomically.

        Returns
        -------
        Path
            ``out_dir``.
        """
        return write_outputs(self._raw, out_dir)

    # -- internals used by ClusterView ----------------------------------------
    def _events(self) -> pl.LazyFrame:
        source = self._events_source
        if source is None:
            path = ((self.run.get("inputs") or {}).get("events") or {}).get("path")
            if not path or path == "<frame>":
                raise GraphlinkError(
                    "this result was computed from an in-memory frame, so its events are not on disk; "
                    "pass the events to load(dir, events=...)")
            source = path
        if isinstance(source, (str, Path)) and not Path(source).is_file():
            raise GraphlinkError(f"events file {source} (recorded in run.json) not found; "
                                 "pass its current location to load(dir, events=...)")
        return _scan_events(source, self.config.ingest)

    def _membership_frame(self) -> pl.LazyFrame:
        """``account_id, kind, value, weight`` (and ``df`` when known) for clustered accounts."""
        if self._memberships is not None:
            schema = _schema(self._memberships, f"{self._origin}/{MEMBERSHIPS_FILE}")
            missing = [c for c in ("account_id", "kind", "value", "weight") if c not in schema]
            if missing:
                raise GraphlinkError(f"{self._origin}/{MEMBERSHIPS_FILE}: missing column(s) {', '.join(missing)}")
            return self._memberships
        raw = self._raw
        if raw.memberships is None or raw.signals is None or raw.index is None:
            where = f" in {self._origin}" if self._origin else ""
            raise GraphlinkError(
                f"no {MEMBERSHIPS_FILE}{where}: the account-signal graph needs an output folder written "
                "by a graphlink version that saves memberships; re-run graphlink.detect() on the events")
        clustered = self.accounts.lazy().drop_nulls("cluster_id").select("account_id")
        self._memberships = (
            raw.memberships.lazy()
            .join(raw.index.lazy().select("account_idx", "account_id"), on="account_idx")
            .join(clustered, on="account_id", how="semi")
            .join(raw.signals.lazy().select("signal_idx", "kind", "value", "weight", "df"), on="signal_idx")
            .select("account_id", "kind", "value", "weight", "df")
            .collect()
            .lazy()
        )
        return self._memberships

    # -- display -----------------------------------------------------------
    def _summary(self) -> str:
        n_clusters = self.clusters.height
        flagged = int(self.clusters["flagged"].sum() or 0)
        source = ((self.run.get("inputs") or {}).get("events") or {}).get("path", "?")
        plural = "" if n_clusters == 1 else "s"
        return (f"{self.accounts.height:,} accounts, {n_clusters:,} cluster{plural} ({flagged:,} flagged), "
                f"events from {source}")

    def __repr__(self) -> str:
        return f"<graphlink.Result: {terminal_safe(self._summary())}>"

    def _repr_html_(self) -> str:
        table = self.top(10).select(
            "cluster_id", "size", "score", "flagged", pl.col("kinds").alias("linked by"), "why")
        warnings = "".join(f"<p><b>warning:</b> {html_safe(terminal_safe(w))}</p>" for w in self.warnings)
        return (f"<div><p><b>graphlink result</b>: {html_safe(terminal_safe(self._summary()))}</p>{warnings}"
                f"<p>Top clusters:</p>{_table_html(table)}</div>")


class ClusterView:
    """One cluster of a :class:`Result`: who is in it, why, and what they did.

    Obtain it with :meth:`Result.cluster`.

    Attributes
    ----------
    cluster_id : int
    size : int
    score : float
    flagged : bool

    Examples
    --------
    >>> import polars as pl, graphlink
    >>> events = pl.DataFrame({
    ...     "account_id": ["a", "b", "c", "d"],
    ...     "payment_fingerprint": ["k", "k", "k", "z"],
    ...     "timestamp": ["2024-05-01T09:10:00Z", "2024-05-01T09:50:00Z", "2024-05-01T11:05:00Z", "2024-05-01T12:00:00Z"],
    ... })
    >>> ring = graphlink.detect(events).cluster(1)
    >>> ring
    <graphlink.ClusterView 1: 3 accounts, score 0..., not flagged>
    >>> ring.events().collect()["account_id"].to_list()
    ['a', 'b', 'c']
    >>> ring.timeline("1h").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.datetime(2024, 5, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 2, 2),
     (datetime.datetime(2024, 5, 1, 10, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 0, 0),
     (datetime.datetime(2024, 5, 1, 11, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 1, 1)]
    >>> ring.hour_profile().filter(pl.col("events") > 0).rows()
    [(9, 2, 0.6666666666666666), (11, 1, 0.3333333333333333)]
    >>> g = ring.graph()
    >>> sorted(g.nodes)
    [('account', 'a'), ('account', 'b'), ('account', 'c'), ('signal', 'payment', 'k')]
    """

    def __init__(self, result: Result, cluster_id: int) -> None:
        try:
            cid = operator.index(cluster_id)
        except TypeError:
            raise GraphlinkError(f"cluster id must be an integer, got {cluster_id!r}") from None
        if isinstance(cluster_id, bool):
            raise GraphlinkError(f"cluster id must be an integer, got {cluster_id!r}")
        rows = result.clusters.filter(pl.col("cluster_id") == cid)
        if rows.height == 0:
            n = result.clusters.height
            known = f"cluster ids are 1 to {n}" if n else "this result has no clusters"
            raise GraphlinkError(f"no cluster {cid}; {known}")
        self._result = result
        self._row = rows.row(0, named=True)
        self.cluster_id: int = cid
        self.size: int = int(self._row["size"])
        self.score: float = float(self._row["score"])
        self.flagged: bool = bool(self._row["flagged"])

    @property
    def info(self) -> dict[str, Any]:
        """The cluster's row of :attr:`Result.clusters` as a dict."""
        return dict(self._row)

    @property
    def members(self) -> pl.DataFrame:
        """The cluster's rows of :attr:`Result.accounts` (sorted by account id)."""
        return self._result.accounts.filter(pl.col("cluster_id") == self.cluster_id)

    @property
    def evidence(self) -> pl.DataFrame:
        """The cluster's rows of :attr:`Result.evidence`: the values its members share."""
        return self._result.evidence.filter(pl.col("cluster_id") == self.cluster_id)

    def events(self) -> pl.LazyFrame:
        """The input events of the cluster's accounts, as a lazy frame.

        All logged columns are kept; ``account_id`` and ``timestamp`` are in
        canonical form (column mapping applied, timestamps parsed to UTC).
        A result from :func:`load` scans the events file recorded in
        ``run.json`` (or the one passed to ``load(..., events=)``).

        Raises
        ------
        GraphlinkError
            If the events are not available (in-memory input, moved file).
        """
        ids = self.members["account_id"]
        return self._result._events().filter(pl.col("account_id").is_in(ids.implode()))

    def _timestamps(self) -> pl.DataFrame:
        lf = self.events()
        if "timestamp" not in lf.collect_schema():
            raise GraphlinkError("the events have no timestamp column; activity over time is unavailable")
        return lf.select("account_id", "timestamp").drop_nulls("timestamp").collect()

    def timeline(self, every: str = "1h") -> pl.DataFrame:
        """Events (and distinct active accounts) per time window, empty windows included.

        Parameters
        ----------
        every : str
            Window length as a polars duration: ``"1m"``, ``"15m"``, ``"1h"``, ``"1d"``.

        Returns
        -------
        DataFrame
            ``timestamp`` (window start, UTC), ``events``, ``accounts`` (Int64).
        """
        ts = self._timestamps()
        schema = {"timestamp": pl.Datetime("us", "UTC"), "events": pl.Int64, "accounts": pl.Int64}
        if ts.height == 0:
            return pl.DataFrame(schema=schema)
        try:
            counts = (
                ts.group_by(pl.col("timestamp").dt.truncate(every))
                .agg(pl.len().alias("events"), pl.col("account_id").n_unique().alias("accounts"))
            )
            start, end = counts["timestamp"].min(), counts["timestamp"].max()
            windows = pl.datetime_range(start, end, interval=every, eager=True, time_unit="us",
                                        time_zone="UTC").alias("timestamp")
        except (pl.exceptions.PolarsError, ValueError) as exc:
            raise GraphlinkError(f"invalid every={every!r} (use a polars duration such as '15m', '1h', '1d'): "
                                 f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        return (
            windows.to_frame().join(counts, on="timestamp", how="left")
            .with_columns(pl.col("events", "accounts").fill_null(0))
            .cast(schema)
        )

    def hour_profile(self) -> pl.DataFrame:
        """Events by hour of day (UTC): 24 rows, hours 0 to 23.

        Human users follow a day; scripted fleets run around the clock or in
        one operator's working hours.

        Returns
        -------
        DataFrame
            ``hour`` (Int8), ``events`` (Int64), ``share`` (Float64, of the cluster's events).
        """
        ts = self._timestamps()
        counts = ts.group_by(pl.col("timestamp").dt.hour().alias("hour")).agg(pl.len().cast(pl.Int64).alias("events"))
        total = max(ts.height, 1)
        return (
            pl.DataFrame({"hour": pl.int_range(0, 24, eager=True).cast(pl.Int8)})
            .join(counts, on="hour", how="left")
            .with_columns(pl.col("events").fill_null(0))
            .with_columns((pl.col("events") / total).alias("share"))
        )

    def shared_signals(self, min_shared: int = 2) -> pl.DataFrame:
        """Every signal value at least ``min_shared`` members carry, with their accounts.

        Unlike :attr:`evidence` (the top values per kind) this is complete.

        Returns
        -------
        DataFrame
            ``kind, value, weight, accounts_sharing, accounts`` (list of account ids),
            most shared first.

        Examples
        --------
        >>> import polars as pl, graphlink
        >>> events = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "ip": ["9.9.9.9"] * 3 + ["8.8.8.8"],
        ...                        "payment_fingerprint": ["k", "k", "x", "y"]})
        >>> ring = graphlink.detect(events).cluster(1)
        >>> ring.shared_signals().select("kind", "value", "accounts").rows()
        [('ip', '9.9.9.9', ['a', 'b', 'c']), ('ip_net', '9.9.9.0/24', ['a', 'b', 'c']), ('payment', 'k', ['a', 'b'])]
        """
        ids = self.members["account_id"]
        return (
            self._result._membership_frame()
            .filter(pl.col("account_id").is_in(ids.implode()))
            .group_by("kind", "value")
            .agg(pl.col("weight").first(), pl.len().cast(pl.UInt32).alias("accounts_sharing"),
                 pl.col("account_id").sort().alias("accounts"))
            .filter(pl.col("accounts_sharing") >= min_shared)
            .sort(["accounts_sharing", "weight", "kind", "value"], descending=[True, True, False, False])
            .collect()
        )

    def graph(self, min_shared: int = 2) -> nx.Graph:
        """The bipartite graph of the cluster's accounts and the signals they share.

        Parameters
        ----------
        min_shared : int
            Signal values carried by fewer members are left out.

        Returns
        -------
        networkx.Graph
            Nodes ``("account", account_id)`` (attributes ``type="account"``,
            ``account_id``, ``events``) and ``("signal", kind, value)``
            (``type="signal"``, ``kind``, ``value``, ``weight``,
            ``accounts_sharing``); an edge joins an account to each shared
            signal it carries, with the signal's rarity ``weight`` (0 for values
            too common to link). Every member is a node, even without edges.

        Raises
        ------
        GraphlinkError
            For a loaded result whose folder has no ``memberships.parquet``.
        """
        import networkx as nx  # imported here: `import graphlink` stays quick

        shared = self.shared_signals(min_shared)
        members = self.members
        graph = nx.Graph(cluster_id=self.cluster_id)
        graph.add_nodes_from(
            (("account", aid), {"type": "account", "account_id": aid, "events": ev})
            for aid, ev in zip(members["account_id"], members["events"])
        )
        graph.add_nodes_from(
            (("signal", k, v), {"type": "signal", "kind": k, "value": v, "weight": w, "accounts_sharing": n})
            for k, v, w, n in zip(shared["kind"], shared["value"], shared["weight"], shared["accounts_sharing"])
        )
        links = shared.select("kind", "value", "weight", "accounts").explode("accounts")
        graph.add_edges_from(
            (("account", a), ("signal", k, v), {"weight": w})
            for k, v, w, a in zip(links["kind"], links["value"], links["weight"], links["accounts"])
        )
        return graph

    def why(self) -> str:
        """Plain-language explanation of the cluster: size, score, verdict and strongest evidence.

        Logged values are made terminal-safe (control characters replaced) and shortened.

        Examples
        --------
        >>> import polars as pl, graphlink
        >>> events = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "ip": ["9.9.9.9"] * 3 + ["8.8.8.8"],
        ...                        "payment_fingerprint": ["k", "k", "x", "y"]})
        >>> ring = graphlink.detect(events).cluster(1)
        >>> print(ring.why())  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
        Cluster 1: 3 accounts, score 0..., not flagged (flag_threshold 0.6, min_flag_size 5)
        Linked by: payment, ip, ip_net
        Shared evidence:
          - 2 of 3 members share payment fingerprint 'k' (2 accounts carry it in the whole input)
          - 3 of 3 members share IP address '9.9.9.9' (3 accounts carry it in the whole input)
          - 3 of 3 members share IP network '9.9.9.0/24' (3 accounts carry it in the whole input)
        """
        scoring = self._result.config.scoring
        verdict = "flagged" if self.flagged else "not flagged"
        lines = [f"Cluster {self.cluster_id}: {self.size:,} accounts, score {self.score:.3f}, {verdict} "
                 f"(flag_threshold {scoring.flag_threshold:g}, min_flag_size {scoring.min_flag_size})"]
        kinds = self._row.get("kinds") or []
        if kinds:
            lines.append("Linked by: " + ", ".join(terminal_safe(k) for k in kinds))
        # One line per kind (linking kinds in strength order first): its most shared value.
        order = {k: i for i, k in enumerate(kinds)}
        ranked = (
            self.evidence.sort(["accounts_sharing", "weight", "value"], descending=[True, True, False])
            .group_by("kind", maintain_order=True)
            .agg(pl.col("value").first(), pl.col("accounts_sharing").first(), pl.col("weight").first(),
                 pl.col("df").first(), pl.len().alias("n_values"))
            .with_columns(pl.col("kind").replace_strict(order, default=len(order), return_dtype=pl.Int64)
                          .alias("rank"))
            .sort(["rank", "accounts_sharing", "kind"], descending=[False, True, False])
        )
        if ranked.height:
            lines.append("Shared evidence:")
        else:
            lines.append("No value is shared by two or more members.")
        for kind, value, n, weight, df, n_values in ranked.select(
                "kind", "value", "accounts_sharing", "weight", "df", "n_values").iter_rows():
            label = _KIND_LABELS.get(kind, terminal_safe(kind))
            note = (f"{df:,} accounts carry it in the whole input" if weight > 0
                    else f"too common to link on its own: {df:,} accounts carry it")
            more = f"; {n_values - 1} more shared {label} value(s) in the evidence" if n_values > 1 else ""
            lines.append(f"  - {n:,} of {self.size:,} members share {label} "
                         f"{terminal_safe(value, limit=80)!r} ({note}{more})")
        return "\n".join(lines)

    def schedule(self):
        """The clock the members act on, from their event timestamps, or ``None``.

        Returns
        -------
        graphlink.explain.Schedule or None
            ``.text()`` reads e.g. "every 10 min at :03:20 ± 30 s, 24 h a day,
            96% of members" (:func:`graphlink.explain.describe_schedule`).

        Raises
        ------
        GraphlinkError
            The events are not available, or have no timestamp column.
        """
        from graphlink.explain import describe_schedule

        return describe_schedule(self._timestamps())

    def templates(self, accounts: int = 20, prompts_per_account: int = 5):
        """The prompt templates of the cluster, each once, variable parts marked, with an example prompt.

        Built from the cluster's shared prompt shingles and, when the events
        are available, a sample of its members' prompts
        (:func:`graphlink.explain.reconstruct_templates`).

        Returns
        -------
        list of graphlink.explain.Template
        """
        from graphlink.explain import reconstruct_templates

        shingles = self.evidence.filter(pl.col("kind") == "prompt")["value"].to_list()
        sample: pl.DataFrame | list = []
        try:
            lf = self.events()
            if "prompt" in lf.collect_schema():
                chosen = self.members["account_id"].sort().head(accounts).implode()
                sample = (lf.filter(pl.col("account_id").is_in(chosen) & pl.col("prompt").is_not_null())
                          .select("account_id", pl.col("prompt").cast(pl.String))
                          .collect().group_by("account_id", maintain_order=True).head(prompts_per_account)
                          .sort("account_id", "prompt"))
        except GraphlinkError:
            pass  # in-memory or moved events: shingles only
        return reconstruct_templates(shingles, sample)

    def export(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the cluster for a case file: JSON summary plus members and evidence CSVs.

        Files are ``cluster-<id>.json`` (row, explanation, member ids, evidence,
        run provenance), ``cluster-<id>-members.csv`` and
        ``cluster-<id>-evidence.csv``. CSV text cells are neutralised against
        spreadsheet formulas (:func:`graphlink.safety.csv_safe`).

        Returns
        -------
        dict of str to Path
            ``{"json": ..., "members": ..., "evidence": ...}``.

        Examples
        --------
        >>> import polars as pl, graphlink
        >>> events = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "ip": ["9.9.9.9"] * 3 + ["8.8.8.8"],
        ...                        "payment_fingerprint": ["k", "k", "x", "y"]})
        >>> ring = graphlink.detect(events).cluster(1)
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     paths = ring.export(tmp)
        ...     names = sorted(p.name for p in paths.values())
        ...     members = pl.read_csv(paths["members"])["account_id"].to_list()
        >>> names, members
        (['cluster-1-evidence.csv', 'cluster-1-members.csv', 'cluster-1.json'], ['a', 'b', 'c'])
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"cluster-{self.cluster_id}"
        run = self._result.run
        summary = {
            "cluster": self.info,
            "why": self.why(),
            "members": self.members["account_id"].to_list(),
            "evidence": self.evidence.drop("cluster_id").to_dicts(),
            "run": {"inputs": run.get("inputs"), "parameters": run.get("parameters"),
                    "versions": run.get("versions")},
        }
        paths = {"json": out / f"{stem}.json", "members": out / f"{stem}-members.csv",
                 "evidence": out / f"{stem}-evidence.csv"}
        paths["json"].write_text(json.dumps(summary, indent=2, default=_json_default) + "\n", encoding="utf-8")
        for key, frame in (("members", self.members), ("evidence", self.evidence)):
            text_cols = [c for c, t in frame.schema.items() if t == pl.String]
            frame.with_columns([csv_safe_expr(c) for c in text_cols]).write_csv(paths[key])
        return paths

    # -- display -----------------------------------------------------------
    def __repr__(self) -> str:
        verdict = "flagged" if self.flagged else "not flagged"
        return f"<graphlink.ClusterView {self.cluster_id}: {self.size:,} accounts, score {self.score:.3f}, {verdict}>"

    def _repr_html_(self) -> str:
        why = html_safe(self.why())
        evidence = self.evidence.select("kind", "value", "accounts_sharing", "df", "weight")
        return (f"<div><p><b>{html_safe(repr(self))}</b></p><pre>{why}</pre>"
                f"<p>Evidence:</p>{_table_html(evidence, 15)}"
                f"<p>Members:</p>{_table_html(self.members.drop('cluster_id'), 10)}</div>")


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- entry points


def detect(events: Source, accounts: str | Path | pl.DataFrame | pl.LazyFrame | None = None, *,
           config: PipelineConfig | None = None, **overrides: Any) -> Result:
    """Run detection on an API log and return a :class:`Result`.

    Parameters
    ----------
    events : path or polars frame
        Parquet, CSV/TSV or NDJSON file, or a DataFrame / LazyFrame with at
        least ``account_id`` (input schema in the README).
    accounts : path or DataFrame, optional
        ``account_id, created_at, email_domain`` (or ``email``).
    config : PipelineConfig, optional
        Base configuration (defaults when omitted).
    **overrides
        Flat stage settings applied on top of ``config``: ``seed=7`` (Leiden),
        ``resolution=1.2``, ``ngram=4``, ``flag_threshold=0.6``,
        ``column_map={"account_id": "user"}``, ``kinds={"payment": {"max_accounts": 30}}``...
        See :func:`override_names` and :func:`apply_overrides`.

    Returns
    -------
    Result

    Raises
    ------
    ConfigError
        Unknown, ambiguous or invalid settings.
    InputError
        Unreadable or malformed input.

    Examples
    --------
    >>> import polars as pl, graphlink
    >>> events = pl.DataFrame({"user": ["a", "b", "c", "d"], "ip": ["9.9.9.9"] * 3 + ["8.8.8.8"]})
    >>> result = graphlink.detect(events, column_map={"account_id": "user"}, min_cluster_size=3)
    >>> result.clusters["size"].to_list(), result.config.communities.min_cluster_size
    ([3], 3)
    """
    config = apply_overrides(config, **overrides)
    if isinstance(events, (str, Path)):
        # An absolute path in run.json lets load() find the events from any working directory.
        events = Path(events).expanduser().absolute()
        source: Source = events
    else:
        if not isinstance(events, (pl.DataFrame, pl.LazyFrame)):
            raise InputError(f"events must be a path or a polars DataFrame/LazyFrame, not {type(events).__name__}")
        source = events
    if isinstance(accounts, pl.LazyFrame):
        accounts = accounts.collect()
    raw = run_detect(events, accounts, config)
    return Result(raw, config=config, events_source=source)


def load(out_dir: str | Path, *, events: Source | None = None) -> Result:
    """Open an output folder written by ``graphlink detect`` or :meth:`Result.save`.

    Parameters
    ----------
    out_dir : path
        Folder with ``accounts.parquet``, ``clusters.parquet``, ``evidence.parquet``, ``run.json``.
    events : path or polars frame, optional
        Where the events are now, for :meth:`ClusterView.events` and the
        activity views; by default the path recorded in ``run.json``, scanned lazily.

    Returns
    -------
    Result
        :meth:`ClusterView.graph` works when the folder has ``memberships.parquet``.

    Raises
    ------
    GraphlinkError
        Missing folder or files, unreadable ``run.json``.

    Examples
    --------
    >>> import tempfile, polars as pl, graphlink
    >>> events = pl.DataFrame({"account_id": ["a", "b", "c"], "payment_fingerprint": ["k", "k", "z"]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     saved = graphlink.detect(events).save(f"{tmp}/out")
    ...     loaded = graphlink.load(saved)
    >>> loaded.clusters["size"].to_list()
    [2]
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise GraphlinkError(f"{folder}: no such output folder")
    missing = [name for name in OUTPUT_FILES if not (folder / name).is_file()]
    if missing:
        raise GraphlinkError(f"{folder}: not a graphlink output folder (missing {', '.join(missing)})")
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GraphlinkError(f"{folder / 'run.json'}: not valid JSON: {exc}") from None
    if not isinstance(run, dict):
        raise GraphlinkError(f"{folder / 'run.json'}: expected a JSON object")
    try:
        frames = {name: pl.read_parquet(folder / f"{name}.parquet") for name in ("accounts", "clusters", "evidence")}
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise GraphlinkError(f"{folder}: cannot read outputs: {str(exc).splitlines()[0]}") from None
    try:
        config = config_from_dict(run.get("parameters") or {})
    except (TypeError, ValueError, ConfigError) as exc:
        raise GraphlinkError(f"{folder / 'run.json'}: unreadable parameters: {exc}") from None
    memberships_path = folder / MEMBERSHIPS_FILE
    memberships = pl.scan_parquet(memberships_path) if memberships_path.is_file() else None
    raw = DetectResult(accounts=frames["accounts"], clusters=frames["clusters"], evidence=frames["evidence"],
                       run=run, warnings=list(run.get("warnings") or []))
    return Result(raw, config=config, events_source=events, memberships=memberships, origin=str(folder))
