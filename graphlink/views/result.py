"""The Python API: :func:`detect`, :func:`load` and the objects they return.

This is the notebook route into graphlink. :func:`detect` runs the same
pipeline as ``graphlink detect`` and :func:`load` reads a folder it wrote
(through :func:`graphlink.store.outputs.load_outputs`, the one folder reader);
both return a :class:`Result` whose :meth:`Result.cluster` opens a
:class:`~graphlink.views.cluster.ClusterView` on one ring: its members,
evidence, raw events, affiliations graph, activity over time and a
plain-language explanation.

Every frame is a polars frame. Nothing here prints; problems a user can fix
raise :class:`graphlink.errors.GraphlinkError` (or a subclass). Logged text
(prompts, user agents) is attacker-written, so the HTML and text renderings
pass it through :mod:`graphlink.views.safety`.

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

from pathlib import Path
from typing import Any

import polars as pl

from graphlink.config import PipelineConfig, build_config
from graphlink.config.kinds import kinds_text_expr
from graphlink.contract import MEMBERSHIPS_FILE, RUN_FILE
from graphlink.errors import ConfigError, GraphlinkError, InputError
from graphlink.engines import run_engine
from graphlink.pipeline import DetectResult
from graphlink.stages.ingest import scan_events
from graphlink.store.folder import Outputs
from graphlink.store.member_linking import member_linking as build_member_linking
from graphlink.store.outputs import events_file, load_outputs, write_outputs
from graphlink.views.cluster import ClusterView
from graphlink.views.explain import table_html
from graphlink.views import words
from graphlink.views.safety import html_safe, terminal_safe

__all__ = ["ClusterView", "Result", "Source", "detect", "load"]

Source = str | Path | pl.DataFrame | pl.LazyFrame


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
                 outputs: Outputs | None = None) -> None:
        self._raw = raw
        self._config = config
        self._events_source = events_source
        if outputs is None:  # a fresh detect: the same view of its tables as a loaded folder gives
            outputs = Outputs(path=Path("<memory>"), run=raw.run, clusters=raw.clusters,
                              selected=sorted(raw.clusters["cluster_id"].to_list()), accounts=raw.accounts,
                              evidence=raw.evidence, activity=raw.activity,
                              memberships=None if raw.member_affiliations is None else raw.member_affiliations.join(
                                  raw.accounts.select("account_id", "cluster_id"), on="account_id").select(
                                  "account_id", "cluster_id", "kind", "value", "weight"),  # as a loaded folder has them
                              campaigns=raw.campaigns, campaign_ties=raw.campaign_ties, set_apart=raw.set_apart,
                              links=None if raw.links is None else raw.links.lazy(),
                              linking=None if raw.linking is None else raw.linking.lazy(),
                              minutes=None if raw.minutes is None else raw.minutes.lazy(),
                              templates=None if raw.templates is None else raw.templates.lazy(),
                              member_linking=None if raw.linking is None else build_member_linking(
                                  raw.linking.lazy(), raw.accounts.lazy().select("account_id", "cluster_id", "campaign_id"),
                                  raw.clusters.filter("flagged")["cluster_id"], pl.col("cluster_id").is_not_null()))
            self._origin: str | None = None
        else:
            self._origin = str(outputs.path)
        self._outputs = outputs
        # A fresh detect's affiliations are its whole bipartite graph (memberships lists only some values).
        self._memberships = None if self._origin is None or outputs.memberships is None else outputs.memberships.lazy()

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
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:  # head(-1) is every cluster but the last
            raise GraphlinkError(f"top: the number of clusters must be a whole number, 0 or more, got {n!r}")
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
        graphlink.errors.GraphlinkError: no cluster 5 (cluster ids run from 1 to 1)
        """
        return ClusterView(self, cluster_id)

    def campaign(self, campaign_id: int) -> tuple[dict[str, Any], pl.DataFrame]:
        """One campaign's ``campaigns.parquet`` row and its clusters (``cluster_id, size, score, flagged, why,
        flag``: what the flag rests on), flagged first, as ``graphlink campaign`` shows them (:func:`graphlink.views.campaign.campaign_view`).

        Raises
        ------
        GraphlinkError
            If there is no campaign with that id.
        """
        from graphlink.views.campaign import campaign_view

        return campaign_view(self._outputs.campaigns, self.clusters, campaign_id, self.run, self._outputs.folder)

    def campaign_ties(self, campaign_id: int) -> pl.DataFrame:
        """The values tying one campaign's clusters, as ``graphlink campaign`` lists them
        (:func:`graphlink.views.campaign.campaign_ties`: ``kind, value, clusters, accounts, weight``; values as logged).

        The values detect kept (:attr:`graphlink.store.folder.Outputs.campaign_ties`, a fresh result's or a loaded
        folder's: all those the campaign's ``why`` counts).

        Raises
        ------
        GraphlinkError
            No such campaign, or a result in memory that has none of them.
        """
        from graphlink.views.campaign import CAMPAIGN_TIE_COLUMNS, campaign_ties

        row, _ = self.campaign(campaign_id)
        if self._outputs.campaign_ties is not None:
            return self._outputs.campaign_ties.filter(pl.col("campaign_id") == row["campaign_id"]).select(CAMPAIGN_TIE_COLUMNS)
        if self._outputs.folder is None:
            raise GraphlinkError("campaign_ties reads a detect output folder: save the result (result.save(DIR)) "
                                 "and open it with graphlink.load(DIR)")
        return campaign_ties(self._outputs.folder, row["clusters"] or [], self.config.graph)

    def account(self, account_id: str) -> dict[str, Any]:
        """One account: its cluster, campaign, flag, whether detect set it apart from a cluster (and why), the values
        tying it with how many accounts hold each, its activity -- as ``graphlink account`` prints it
        (:func:`graphlink.views.account.account_view`; values and times as logged).

        Raises
        ------
        GraphlinkError
            No such account in this run.
        """
        from graphlink.views.account import account_view

        return account_view(self._outputs, account_id)

    def save(self, out_dir: str | Path) -> Path:
        """Write the output folder (as ``graphlink detect --out``), atomically.

        Returns
        -------
        Path
            ``out_dir``.
        """
        return write_outputs(self._raw, out_dir)

    @property
    def outputs(self) -> Outputs:
        """The result as the output-folder view the report and exports read (:class:`graphlink.store.folder.Outputs`)."""
        return self._outputs

    def expand(self, seeds: str | list[str], *, restart: float | None = None, top: int | None = None) -> pl.DataFrame:
        """Rank the accounts most strongly tied to ``seeds`` (see :func:`graphlink.expand`).

        Returns
        -------
        DataFrame
            ``account_id, rank, score, cluster_id, campaign_id, why``, seeds first (rank 0).

        Raises
        ------
        GraphlinkError
            An unknown seed id, or a loaded folder without the account graph.
        """
        from graphlink.stages.expand import DEFAULT_RESTART
        from graphlink.views.expand import expand

        return expand(self._outputs, seeds, restart=DEFAULT_RESTART if restart is None else restart, top=top)

    # -- used by ClusterView -------------------------------------------------
    def activity_of(self, cluster_id: int) -> pl.DataFrame | None:
        """``activity.parquet`` rows (``account_id, cluster_id, hour, day, events``) of one cluster, or ``None``."""
        return self._outputs.cluster_activity(cluster_id)

    def scan_events(self) -> pl.LazyFrame:
        """The input events, lazily (see :meth:`ClusterView.events`).

        Raises
        ------
        GraphlinkError
            The events are not available (in-memory input, moved file).
        """
        source = self._events_source
        if source is None:
            path, found = events_file(self.run)
            if not path or path == "<frame>":
                raise GraphlinkError(
                    "this result was computed from an in-memory frame, so its events are not on disk; "
                    "pass the events to load(dir, events=...)")
            source = found or path
        if isinstance(source, (str, Path)) and not Path(source).is_file():
            raise GraphlinkError(f"events file {source} (recorded in run.json) not found; "
                                 "pass its current location to load(dir, events=...)")
        return scan_events(source, self.config.ingest)

    def affiliations(self) -> pl.LazyFrame:
        """Affiliations of clustered accounts: ``account_id, kind, value, weight`` (and ``df`` when known).

        Raises
        ------
        GraphlinkError
            A loaded folder without ``memberships.parquet``.
        """
        if self._memberships is not None:
            schema = self._memberships.collect_schema()
            missing = [c for c in ("account_id", "kind", "value", "weight") if c not in schema]
            if missing:
                raise GraphlinkError(f"{self._origin}/{MEMBERSHIPS_FILE}: missing column(s) {', '.join(missing)}")
            return self._memberships
        raw = self._raw
        if raw.affiliations is None or raw.signals is None or raw.index is None:
            where = f" in {self._origin}" if self._origin else ""
            raise GraphlinkError(
                f"no {MEMBERSHIPS_FILE}{where}: the account-signal graph needs an output folder written "
                "by a graphlink version that saves memberships; re-run graphlink.detect() on the events")
        clustered = self.accounts.lazy().drop_nulls("cluster_id").select("account_id")
        self._memberships = (
            raw.affiliations.lazy()
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
        return (f"{words.plural(self.accounts.height, 'account')}, {words.plural(n_clusters, 'cluster')} ({flagged:,} flagged), "
                f"events from {source}")

    def __repr__(self) -> str:
        return f"<graphlink.Result: {terminal_safe(self._summary())}>"

    def _repr_html_(self) -> str:
        table = self.top(10).select(
            "cluster_id", "size", "score", "flagged", kinds_text_expr("kinds").alias("linked by"), "why")  # kinds by name
        warnings = "".join(f"<p><b>warning:</b> {html_safe(terminal_safe(w))}</p>" for w in self.warnings)
        return (f"<div><p><b>graphlink result</b>: {html_safe(terminal_safe(self._summary()))}</p>{warnings}"
                f"<p>Top clusters:</p>{table_html(table)}</div>")


def detect(events: Source, accounts: str | Path | pl.DataFrame | pl.LazyFrame | None = None, *,
           config: PipelineConfig | None = None, engine: str = "polars", spark: Any = None,
           **overrides: Any) -> Result:
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
    engine : {"polars", "spark"}
        ``"spark"`` runs the heavy stages on Apache Spark
        (:mod:`graphlink.engines.spark`; ``pip install 'graphlink[spark]'``):
        ``events`` is then a path, URI or table name Spark reads. Both engines
        give the same outputs.
    spark : SparkSession, optional
        The session of ``engine="spark"`` (default: the active one, else a local one).
    **overrides
        Flat stage settings applied on top of ``config``: ``seed=7`` (Leiden),
        ``resolution=1.2``, ``ngram=4``, ``flag_threshold=0.6``,
        ``column_map={"account_id": "user"}``, ``kinds={"payment": {"max_accounts": 30}}``...
        See :func:`graphlink.config.override_names` and :func:`graphlink.config.build_config`.

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
    config = build_config(config, **overrides)
    if engine == "spark" and isinstance(events, str) and not Path(events).expanduser().exists():
        source: Source = events  # a URI or a table name: Spark resolves it
    elif isinstance(events, (str, Path)):
        # An absolute path in run.json lets load() find the events from any working directory.
        events = Path(events).expanduser().absolute()
        source = events
    else:
        if not isinstance(events, (pl.DataFrame, pl.LazyFrame)):
            raise InputError(f"events must be a path or a polars DataFrame/LazyFrame, not {type(events).__name__}")
        source = events
    if isinstance(accounts, pl.LazyFrame):
        accounts = accounts.collect()
    raw = run_engine(engine, events, accounts, config, spark=spark)
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
    outputs = load_outputs(out_dir, "all", whole=True)
    try:
        config = build_config(parameters=outputs.run.get("parameters") or {})
    except (TypeError, ValueError, ConfigError) as exc:
        raise GraphlinkError(f"{outputs.path / RUN_FILE}: unreadable parameters: {exc}") from None
    raw = DetectResult(accounts=outputs.accounts, clusters=outputs.clusters, evidence=outputs.evidence,
                       run=outputs.run, warnings=list(outputs.run.get("warnings") or []))
    return Result(raw, config=config, events_source=events, outputs=outputs)
