"""One cluster of a result: :class:`ClusterView`, the notebook's drill-down.

Obtained with :meth:`graphlink.Result.cluster`: members, evidence, raw events,
the bipartite account-value graph (affiliations), activity over time and a
plain-language explanation (:func:`graphlink.views.explain.why_text`).
"""

from __future__ import annotations

import dataclasses
import operator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from graphlink.contract import component_label, why_reasons
from graphlink.errors import GraphlinkError
from graphlink.store.folder import hour_counts, score_columns, unknown_cluster_message
from graphlink.views.evidence import strongest_first
from graphlink.stages.tie_words import carried_text, carried_to
from graphlink.views.explain import score_note, table_html, tying_values, why_text
from graphlink.views.shared_counts import outputs_shared_totals
from graphlink.views.schedule import timing_bucket, timing_meanings
from graphlink.views.safety import html_safe, terminal_safe
from graphlink.views.terminal import component_text
from graphlink.views.words import plural

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from graphlink.views.result import Result

__all__ = ["ClusterView"]


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
    ['account:a', 'account:b', 'account:c', 'signal:payment:k']
    """

    def __init__(self, result: Result, cluster_id: int) -> None:
        try:
            cid = operator.index(cluster_id)
        except TypeError:
            raise GraphlinkError(f"cluster id must be an integer, got {cluster_id!r}") from None
        if isinstance(cluster_id, bool):
            raise GraphlinkError(f"cluster id must be an integer, got {cluster_id!r}")
        rows = result.clusters.filter(pl.col("cluster_id") == cid)
        if rows.height == 0:  # worded as show's (the folder, when read from one), not "no cluster 5; ..." (txt47)
            raise GraphlinkError(unknown_cluster_message(result.outputs.folder, [cid], result.clusters))
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
        """The cluster's rows of :attr:`Result.evidence`: the values its members share, strongest first as every other
        view lists them (:func:`graphlink.views.evidence.strongest_first`)."""
        return strongest_first(self._result.evidence.filter(pl.col("cluster_id") == self.cluster_id))

    @property
    def ties(self) -> pl.DataFrame:
        """What tied an inherited flag: ``kind, value, accounts_sharing, df, outside_flagged`` of the values that tied this cluster to
        the flagged cluster its ``why`` names (:func:`graphlink.views.explain.tying_values`); empty otherwise. Every prompt phrase
        is a row: :func:`graphlink.views.passages.with_passages` folds them into the passages ``show`` lists."""
        return tying_values(self.evidence)

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
        return self._result.scan_events().filter(pl.col("account_id").is_in(ids.implode()))

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
        total = max(ts.height, 1)
        return (hour_counts(ts.select(pl.col("timestamp").dt.hour().alias("hour")), events=None)
                .with_columns((pl.col("events") / total).alias("share")))

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
            self._result.affiliations()
            .filter(pl.col("account_id").is_in(ids.implode()))
            .group_by("kind", "value")
            .agg(pl.col("weight").first(), pl.len().cast(pl.UInt32).alias("accounts_sharing"),
                 pl.col("account_id").sort().alias("accounts"))
            .filter(pl.col("accounts_sharing") >= min_shared)
            .sort(["accounts_sharing", "weight", "kind", "value"], descending=[True, True, False, False])
            .collect()
        )

    def affiliations(self) -> pl.DataFrame:
        """The members' affiliations: ``account_id, kind, value, weight``, one row per account and value.

        Raises
        ------
        GraphlinkError
            For a loaded result whose folder has no ``memberships.parquet``.
        """
        ids = self.members["account_id"]
        return (self._result.affiliations().filter(pl.col("account_id").is_in(ids.implode()))
                .select("account_id", "kind", "value", "weight").collect())

    def graph(self, min_shared: int = 2) -> nx.Graph:
        """The bipartite graph of the cluster's accounts and the signal values they share.

        The same graph as ``graphlink export --format gexf`` for this cluster
        (:func:`graphlink.views.export.cluster_graph`).

        Parameters
        ----------
        min_shared : int
            Signal values carried by fewer members are left out.

        Returns
        -------
        networkx.Graph
            Nodes ``account:<account_id>`` (``type="account"``, ``label``,
            ``cluster_id``, ``score``, ``flagged``, ``events``, ``first_seen``,
            ``last_seen``) and ``signal:<kind>:<value>`` (``type="signal"``,
            ``kind``, ``value``, ``weight``: the value's rarity weight, 0 for
            values too common to link, ``accounts``: members carrying it); an
            edge joins an account to each shared value it carries, with the
            value's ``weight``. Every member is a node, even without edges.

        Raises
        ------
        GraphlinkError
            For a loaded result whose folder has no ``memberships.parquet``.
        """
        from graphlink.views.export import cluster_graph  # networkx: imported on first use

        affiliations = self.affiliations().with_columns(pl.lit(self.cluster_id, dtype=pl.Int64).alias("cluster_id"))
        outputs = dataclasses.replace(self._result.outputs, selected=[self.cluster_id],
                                      accounts=self.members, evidence=self.evidence,
                                      memberships=affiliations.select("account_id", "cluster_id", "kind", "value",
                                                                      "weight"))
        return cluster_graph(outputs, min_shared)

    def member_ties(self, sort: str = "strength") -> pl.DataFrame:
        """Why each member is in the cluster: :attr:`members` with ``tie_strength`` (the share of the member's card and
        address link weight that goes to accounts already suspected -- its campaign or a flagged cluster --, in [0, 1];
        low: tied mostly to unsuspected accounts, as a bystander behind a fleet's NAT address is) and ``tied_by`` (per
        kind, the cluster's shared values it holds and its strongest), beside what of the cluster's behaviour it
        shares (``template_share``, ``shared_behaviour``: :mod:`graphlink.stages.member_behaviour`), weakest tie first --
        members sharing ``addresses only`` first (``sort="events"``: most active first). The numbers ``show``, the
        exports and the report give (:mod:`graphlink.views.member_ties`).
        """
        from graphlink.views.member_ties import with_member_ties

        listed = self._result.outputs.memberships  # memberships.parquet's rows, as show and the exports read them
        if listed is not None:
            affiliations = listed.filter(pl.col("cluster_id") == self.cluster_id)
        else:
            try:
                affiliations = self.affiliations().with_columns(pl.lit(self.cluster_id, dtype=pl.Int64).alias("cluster_id"))
            except GraphlinkError:  # a folder without memberships.parquet: its linking values only
                affiliations = None
        outputs = dataclasses.replace(self._result.outputs, accounts=self.members, evidence=self.evidence,
                                      memberships=affiliations)
        # Most active first before the strength order, as show and members.csv: equal ties come out in one order.
        members = self.members.sort(["events", "account_id"], descending=[True, False])
        return with_member_ties(members, outputs, self.cluster_id, sort)

    def set_apart(self) -> pl.DataFrame | None:
        """The accounts detect set apart from this cluster after Leiden (fleet outsiders, address bystanders, the
        remnants they left): ``account_id, cluster_id, flagged, reason, note`` (:func:`graphlink.views.set_apart.set_apart_from`);
        None for a folder written before ``set_apart.parquet``."""
        from graphlink.views.set_apart import set_apart_from

        return set_apart_from(self._result.outputs, self.cluster_id)

    def why(self) -> str:
        """Plain-language explanation of the cluster: size, score, verdict, its reasons (``why``) and score
        components as ``show`` lists them, and its strongest evidence.

        Logged values are made terminal-safe (control characters replaced) and shortened.

        Examples
        --------
        >>> import polars as pl, graphlink
        >>> events = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "ip": ["9.9.9.9"] * 3 + ["8.8.8.8"],
        ...                        "payment_fingerprint": ["k", "k", "x", "y"]})
        >>> ring = graphlink.detect(events).cluster(1)
        >>> print(ring.why())  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
        Cluster 1: 3 accounts, score 0..., not flagged (flag_threshold 0.6, min_flag_size 5)
        Why:
          - 3 accounts pay with 2 payment cards
        Score components: coordination 0.333; evasion 0.000; card reuse 0.333; ...
        Linked by: payment cards, IP addresses, IP networks
        Shared evidence:
          - 2 of 3 members share payment card 'k' (2 accounts carry it in the whole input)
          - 3 of 3 members share IP address '9.9.9.9' (3 accounts carry it in the whole input)
          - 3 of 3 members share IP network '9.9.9.0/24' (3 accounts carry it in the whole input)
        """
        scoring = self._result.config.scoring
        try:  # timing values are quoted by what they mean (members, hours): needs the affiliations
            affiliations = self.affiliations()
        except GraphlinkError:
            affiliations = None
        evidence = timing_meanings(self.evidence, affiliations, self._result.activity_of(self.cluster_id),
                                   timing_bucket(self._result.run))
        try:  # of how many values per kind the evidence lists the strongest (memberships and linking)
            totals = outputs_shared_totals(self._result.outputs, self.cluster_id)
        except GraphlinkError:
            totals = None
        text = why_text(self._row, evidence, scoring.flag_threshold, scoring.min_flag_size, totals).split("\n")
        # The reasons and score components show, the case file and members.csv carry (new-user review, session 39).
        outputs = self._result.outputs
        note = score_note(self._row, outputs.run, outputs.campaigns)
        carried = carried_to(outputs.clusters, self.cluster_id)  # the clusters whose flag came from this one
        reasons = [f"  - {terminal_safe(r, limit=300)}" for r in why_reasons(self._row.get("why"))]
        parts = [f"{component_label(c)} {component_text(self._row[c])}" for c in score_columns(outputs.clusters) if c != "score"]
        return "\n".join([text[0], *([f"Score: {note}"] if note else []), *(["Why:", *reasons] if reasons else []),
                          *([f"Flag carried to: {carried_text(carried)}"] if carried else []),
                          *([f"Score components: {'; '.join(parts)}"] if parts else []), *text[1:]])

    def schedule(self):
        """The clock the members act on, from their event timestamps, or ``None``.

        Returns
        -------
        graphlink.views.schedule.Schedule or None
            ``.text()`` reads e.g. "every 10 min at :03:20 ± 30 s, 24 h a day,
            96% of members" (:func:`graphlink.views.schedule.describe_schedule`).

        Raises
        ------
        GraphlinkError
            The events are not available, or have no timestamp column.
        """
        from graphlink.views.schedule import describe_schedule

        return describe_schedule(self._timestamps())

    def templates(self, accounts: int = 20, prompts_per_account: int = 5, max_templates: int = 3):
        """The prompt templates of the cluster, each once, variable parts marked, with an example prompt; at most
        ``max_templates``, most accounts first (the report and ``show`` list 3 and say when there are more).

        Built from the cluster's shared prompt shingles and, when the events
        are available, a sample of its members' prompts: the report's template view
        (:func:`graphlink.views.templates.cluster_templates`).

        Returns
        -------
        list of graphlink.views.templates.Template
            ``text()`` and ``example`` safe to print (invisible and bidi characters spelled out),
            ``raw_text()`` and ``raw_example`` as typed.
        """
        from graphlink.views.templates import cluster_templates, sample_prompts

        sample = None
        try:
            lf = self.events()
            if "prompt" in lf.collect_schema():
                sample = sample_prompts(lf, self.members.select("account_id", pl.lit(self.cluster_id).alias("cluster_id")),
                                        accounts=accounts, prompts_per_account=prompts_per_account)
        except GraphlinkError:
            pass  # in-memory or moved events: shingles only
        return cluster_templates(self.evidence, sample, max_templates=max_templates)

    def export(self, out_dir: str | Path, bom: bool = False) -> dict[str, Path]:
        """Write the cluster's case file and its members, evidence and affiliations as CSV.

        The same files as ``graphlink export --format json`` and ``--format csv``
        (:mod:`graphlink.views.export`): ``cluster-<id>.json`` (schema
        ``graphlink.case/1``: score and components, reasons, members, evidence,
        hour profile, run provenance), ``cluster-<id>-members.csv``,
        ``cluster-<id>-evidence.csv`` and ``cluster-<id>-affiliations.csv`` (who holds each listed value; columns:
        ``graphlink.views.export_csv.data_dictionary()``). CSV text cells are neutralised against
        spreadsheet formulas (:func:`graphlink.views.safety.csv_safe`); with ``bom``
        each CSV starts with a UTF-8 byte-order mark, as ``export --bom`` writes, so Excel reads non-ASCII ids
        as UTF-8 (:mod:`graphlink.views.export_csv`). Files
        are written atomically.

        Returns
        -------
        dict of str to Path
            ``{"json": ..., "members": ..., "evidence": ..., "affiliations": ...}``.

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
        >>> names, sorted(members)
        (['cluster-1-affiliations.csv', 'cluster-1-evidence.csv', 'cluster-1-members.csv', 'cluster-1.json'], ['a', 'b', 'c'])
        """
        from graphlink.views.export import write_case  # networkx and json writers: on first use only

        return write_case(self._result.outputs, self.cluster_id, Path(out_dir), bom)

    # -- display -----------------------------------------------------------
    def __repr__(self) -> str:
        verdict = "flagged" if self.flagged else "not flagged"
        return f"<graphlink.ClusterView {self.cluster_id}: {plural(self.size, 'account')}, score {self.score:.3f}, {verdict}>"

    def _repr_html_(self) -> str:
        why = html_safe(self.why())
        evidence = self.evidence.select("kind", "value", "accounts_sharing", "df", "weight")
        return (f"<div><p><b>{html_safe(repr(self))}</b></p><pre>{why}</pre>"
                f"<p>Evidence:</p>{table_html(evidence, 15)}"
                f"<p>Members:</p>{table_html(self.member_ties('events').drop('cluster_id'), 10)}</div>")
