"""HTML rendering of the investigator report.

The report is one self-contained file rendered from the Jinja2 templates in
``templates/`` (``report.html.j2`` and the partials it includes; style in
``report.css``, scripts beside it): inline CSS, inline JavaScript (click a
column header to sort a table; without JavaScript the tables are simply shown
ranked), and plots inlined as base64 PNG. It needs no network access. A
designer can change the markup without touching the pipeline: this module
only builds plain values (texts computed with polars expressions) for the
templates.

Security
--------
Prompts, user agents and account ids are written by the accounts under
investigation. The Jinja2 environment escapes every value by default
(``autoescape=True``); only the report's own style sheet and scripts are
inserted unescaped. The page carries a Content-Security-Policy that allows
only its own inline scripts and style (by hash) and ``data:`` images, so even
a value that escaped escaping could not run script or load anything. Data for
scripts travels in ``<script type="application/json">`` blocks written with
Jinja2's ``tojson`` (``<``, ``>``, ``&`` and quotes escaped), which are never
executed. The scripts read text with ``textContent`` and never write HTML.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
from markupsafe import Markup

from graphlink.store.folder import Outputs, score_columns
from graphlink.views import plots
from graphlink.views.evidence import evidence_by_kind, reconstruct_templates
from graphlink.views.schedule import describe_schedule, describe_sync, hours_text

TEMPLATES = Path(__file__).parent / "templates"


def _read(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


#: The report's style sheet and scripts, inlined and allowed by hash in the CSP.
CSS = _read("report.css")
SORT_JS = _read("sort.js")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(scripts: list[str]) -> str:
    """The page's Content-Security-Policy: only its own style and the given inline scripts (by hash).

    Examples
    --------
    >>> csp = content_security_policy(["1"])
    >>> "script-src 'sha256-" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    True
    """
    return (f"default-src 'none'; img-src data:; style-src {_csp_hash(CSS)}; "
            f"script-src {' '.join(_csp_hash(s) for s in scripts)}; base-uri 'none'; form-action 'none'")


CONTENT_SECURITY_POLICY = content_security_policy([SORT_JS])
VENDOR = Path(__file__).parent / "vendor"
NETVIEW_JS = _read("netview.js")


@lru_cache(maxsize=1)
def cytoscape_js() -> str:
    """Cytoscape.js (MIT, ``vendor/cytoscape.LICENSE``), inlined for the interactive cluster views.

    Raises
    ------
    ValueError
        The vendored file could end the inline ``<script>`` element early.
    """
    text = (VENDOR / "cytoscape.min.js").read_text(encoding="utf-8")
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError("vendor/cytoscape.min.js cannot be inlined in a <script> element")
    return text


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates: autoescaping on, undefined names are errors."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)


@dataclass(frozen=True)
class ReportOptions:
    """Limits that keep the report readable and its size bounded.

    Attributes
    ----------
    max_sections : int
        Flagged clusters given a detailed section (highest scores first); the
        rest are listed in the cluster table with a note.
    max_unflagged_sections : int
        Highest-scoring clusters that are *not* flagged also given a section
        (marked "not flagged"), so a run with nothing flagged still offers
        something to review.
    max_members : int
        Members listed per cluster (most active first).
    max_table_rows : int
        Clusters listed in the cluster table (highest scores first).
    max_network_nodes : int
        Nodes in each network drawing.
    plots : bool
        Draw plots (False gives a text-only report, for speed).
    seed : int
        Seed of the network layouts.
    events : bool
        Read the members' original events (the events file recorded in
        ``run.json``, if it is still there) for schedules and example prompts.
    max_values_per_kind : int
        Values listed per evidence kind before "more" (the rest are one click away).
    interactive : bool
        Add an interactive network view per section (Cytoscape.js, inlined:
        about 440 kB once per report); the static drawing stays for print.
    """

    max_sections: int = 100
    max_unflagged_sections: int = 10
    max_members: int = 500
    max_table_rows: int = 1000
    max_network_nodes: int = 150
    plots: bool = True
    seed: int = 0
    events: bool = True
    max_values_per_kind: int = 10
    interactive: bool = True


@dataclass(frozen=True)
class Column:
    """One rendered table column.

    ``text`` is an expression giving the cell's plain text (escaped when
    rendered); ``sort`` an optional numeric sort key; ``link`` an optional
    expression giving an in-page anchor to wrap the text in (null: no link).
    """

    header: str
    text: pl.Expr
    numeric: bool = False
    sort: pl.Expr | None = None
    link: pl.Expr | None = None
    title: str = ""
    cell_title: pl.Expr | None = None
    css: str = ""


# -- cell formatting (expressions) ---------------------------------------------


def fmt_int(expr: pl.Expr) -> pl.Expr:
    """Integer text.

    Examples
    --------
    >>> pl.select(fmt_int(pl.lit(1234))).item()
    '1234'
    """
    return expr.cast(pl.Int64).cast(pl.String)


def fmt_float(expr: pl.Expr, digits: int = 3) -> pl.Expr:
    """Fixed-point text with ``digits`` decimals.

    Examples
    --------
    >>> pl.DataFrame({"x": [0.5, -2.25, 3.0]}).select(fmt_float(pl.col("x"), 2).alias("x"))["x"].to_list()
    ['0.50', '-2.25', '3.00']
    """
    scale = 10**digits
    scaled = (expr.cast(pl.Float64).abs() * scale).round(0).cast(pl.Int64, strict=False)
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    frac = (scaled % scale).cast(pl.String).str.zfill(digits)
    return pl.concat_str([sign, (scaled // scale).cast(pl.String), pl.lit("."), frac]) if digits else \
        pl.concat_str([sign, scaled.cast(pl.String)])


def fmt_number(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Integers as integers, floats with 3 decimals."""
    return fmt_int(expr) if dtype.is_integer() else fmt_float(expr, 3)


def fmt_time(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD HH:MM`` (UTC)."""
    return expr.dt.strftime("%Y-%m-%d %H:%M")


def fmt_list(expr: pl.Expr) -> pl.Expr:
    """Comma-separated list items."""
    return expr.list.join(", ")


# -- building blocks -------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table ready for the ``table`` template macro: plain values, escaped when rendered."""

    id: str
    classes: str
    columns: list[dict[str, str]]
    rows: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def height(self) -> int:
        return len(self.rows)


def build_table(frame: pl.DataFrame, columns: list[Column], *, table_id: str = "", sortable: bool = True,
                css_class: str = "") -> Table:
    """Cell texts, sort keys, links and titles of ``frame`` computed with polars, for the template.

    Examples
    --------
    >>> df = pl.DataFrame({"v": ["<b>"], "n": [2]})
    >>> t = build_table(df, [Column("value", pl.col("v")), Column("n", fmt_int(pl.col("n")), numeric=True,
    ...                                                               sort=pl.col("n"))])
    >>> t.rows[0][0]["text"], t.rows[0][1]["sort"]
    ('<b>', '2.0')
    """
    heads = []
    exprs = []
    for i, col in enumerate(columns):
        kind = "num" if col.numeric else "text"
        heads.append({"header": col.header, "kind": kind, "title": col.title,
                      "cell_class": " ".join(c for c in (kind, col.css) if c)})
        exprs.append(col.text.cast(pl.String).fill_null("").alias(f"t{i}"))
        exprs.append((col.sort.cast(pl.Float64).cast(pl.String) if col.sort is not None
                      else pl.lit(None, pl.String)).alias(f"s{i}"))
        exprs.append((col.link.cast(pl.String) if col.link is not None else pl.lit(None, pl.String)).alias(f"l{i}"))
        exprs.append((col.cell_title.cast(pl.String) if col.cell_title is not None
                      else pl.lit(None, pl.String)).alias(f"h{i}"))
    rows: list[list[dict[str, Any]]] = []
    if not frame.is_empty():
        values = frame.select(exprs).rows()
        n = len(columns)
        rows = [[{"text": r[4 * i], "sort": r[4 * i + 1], "link": r[4 * i + 2], "title": r[4 * i + 3]}
                 for i in range(n)] for r in values]
    classes = " ".join(c for c in ("sortable" if sortable else "", css_class) if c)
    return Table(id=table_id, classes=classes, columns=heads, rows=rows)


def figure(plot: plots.Plot, alt: str) -> dict[str, Any]:
    """An inline figure (PNG as base64) for the ``figure`` template macro."""
    return {"data": base64.b64encode(plot.png).decode("ascii"), "width": plot.width, "height": plot.height,
            "alt": alt, "caption": plot.caption, "network": False}


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return _n(value)


# -- sections ----------------------------------------------------------------------


def ranked(clusters: pl.DataFrame) -> pl.DataFrame:
    """Clusters by score, highest first (ties: larger first, then lower id)."""
    return clusters.sort(["score", "size", "cluster_id"], descending=[True, True, False], nulls_last=True)


def summary_cards(outputs: Outputs) -> list[tuple[str, str]]:
    """The headline counts of the run."""
    run = outputs.run
    counts = run.get("counts", {})
    events = (run.get("inputs") or {}).get("events") or {}
    cards = [
        ("events read", events.get("rows_read")), ("events kept", events.get("rows_kept")),
        ("accounts", counts.get("accounts")), ("clusters", counts.get("clusters")),
        ("flagged clusters", counts.get("flagged_clusters")), ("accounts flagged", counts.get("accounts_flagged")),
    ]
    return [(k, _n(v)) for k, v in cards if v is not None]


def summary_context(outputs: Outputs) -> dict[str, Any]:
    """Inputs, warnings, counts, timings, parameters and versions of the run, as plain text pairs."""
    run = outputs.run
    counts = run.get("counts", {})
    events = (run.get("inputs") or {}).get("events") or {}
    accounts_in = (run.get("inputs") or {}).get("accounts")
    rejected = events.get("rejected") or {}
    rejected_text = ", ".join(f"{k}: {_n(v)}" for k, v in sorted(rejected.items())) or "none"
    inputs = [("events file", events.get("path", "")), ("rows read", _n(events.get("rows_read", ""))),
              ("rows kept", _n(events.get("rows_kept", ""))), ("rows rejected", rejected_text),
              ("columns", ", ".join(events.get("columns") or []))]
    if accounts_in:
        acc_rejected = ", ".join(f"{k}: {_n(v)}" for k, v in sorted((accounts_in.get("rejected") or {}).items()))
        inputs += [("accounts file", accounts_in.get("path", "")),
                   ("accounts rows read", _n(accounts_in.get("rows_read", ""))),
                   ("accounts rows rejected", acc_rejected or "none")]
    else:
        inputs.append(("accounts file", "none"))
    timings = run.get("timings") or {}
    timing_pairs = [(k, f"{float(v):.2f} s") for k, v in timings.items()]
    timing_pairs.append(("total", f"{sum(float(v) for v in timings.values()):.2f} s"))
    return {
        "inputs": inputs,
        "warnings": [str(w) for w in run.get("warnings") or []],
        "counts": [(k, _n(v)) for k, v in sorted(counts.items())],
        "timings": timing_pairs,
        "parameters": json.dumps(run.get("parameters", {}), indent=2, sort_keys=True, default=str),
        "versions": sorted((str(k), str(v)) for k, v in (run.get("versions") or {}).items()),
    }


def cluster_tables(outputs: Outputs, sections: set[int], options: ReportOptions) -> tuple[Table, Table, str]:
    """The ranked cluster table (one line per cluster), the score-components table and a note."""
    clusters = ranked(outputs.clusters)
    total = clusters.height
    shown = clusters.head(options.max_table_rows)
    components = [c for c in score_columns(shown) if c != "score"]
    section_ids = pl.Series(sorted(sections), dtype=pl.Int64).implode()
    link = pl.when(pl.col("cluster_id").is_in(section_ids)).then(
        pl.concat_str([pl.lit("cluster-"), pl.col("cluster_id").cast(pl.String)]))
    ident = Column("cluster", fmt_int(pl.col("cluster_id")), numeric=True, sort=pl.col("cluster_id"), link=link)
    kinds = fmt_list(pl.col("kinds")) if "kinds" in shown.columns else pl.lit("")
    why = pl.col("why") if "why" in shown.columns else pl.lit("")
    main = build_table(shown, [
        ident,
        Column("size", fmt_int(pl.col("size")), numeric=True, sort=pl.col("size")),
        Column("score", fmt_float(pl.col("score")), numeric=True, sort=pl.col("score"),
               title="Higher is more suspicious"),
        Column("flagged", pl.when(pl.col("flagged")).then(pl.lit("flagged")).otherwise(pl.lit("")), css="flagcell"),
        *([Column("campaign", pl.col("campaign_id").cast(pl.String), link=pl.concat_str(
            [pl.lit("campaign-"), pl.col("campaign_id").cast(pl.String)]))] if "campaign_id" in shown.columns else []),
        Column("linked by", kinds, cell_title=kinds, css="kinds"),
        Column("why", why, cell_title=why, css="why"),
    ], table_id="clusters", css_class="ranked")
    comps = build_table(shown, [
        ident,
        Column("score", fmt_float(pl.col("score")), numeric=True, sort=pl.col("score")),
        *[Column(name, fmt_number(pl.col(name), shown.schema[name]), numeric=True, sort=pl.col(name))
          for name in components],
    ], table_id="components")
    note = "Click a column header to sort; hover a reason to read it whole. Clusters with a section link to it."
    if total > shown.height:
        note += (f" Showing the {shown.height:,} highest-scoring of {total:,} clusters; "
                 "all are in clusters.parquet.")
    return main, comps, note


def _value_columns(kind: str) -> list[Column]:
    return [
        Column("value", pl.col("value"), css="text"),
        Column("accounts sharing", fmt_int(pl.col("accounts_sharing")), numeric=True, sort=pl.col("accounts_sharing"),
               title="Members of this cluster carrying the value"),
        Column("accounts in input", fmt_int(pl.col("df")), numeric=True, sort=pl.col("df"),
               title="Accounts carrying the value in the whole input"),
        Column("weight", fmt_float(pl.col("weight")), numeric=True, sort=pl.col("weight"),
               title="Rarity weight of the value; 0 means too common to link accounts"),
    ]


def evidence_context(cluster_id: int, evidence: pl.DataFrame, size: int, events: MemberEvents | None,
                     members: pl.DataFrame, options: ReportOptions) -> dict[str, Any]:
    """The evidence of one cluster in human terms: its clock, then each kind, strongest first.

    Built on :mod:`graphlink.views.evidence` and :mod:`graphlink.views.schedule` (shared with ``show``
    and notebooks).
    """
    cid = int(cluster_id)
    ids = members["account_id"].implode()
    times = prompts = None
    if events is not None and events.times is not None:
        times = events.times.filter(pl.col("account_id").is_in(ids))
    if events is not None and events.prompts is not None:
        prompts = events.prompts.filter(pl.col("account_id").is_in(ids))
    clock = ""
    if times is not None and times.height:
        schedule = describe_schedule(times)
        hours = times["timestamp"].dt.hour().unique().to_list()
        clock = (f"Acts on a clock: {schedule.text()}." if schedule is not None else
                 f"No repeating schedule found; active {hours_text(hours)}.")
        sync = describe_sync(times)
        if sync:
            clock += f" {sync[0].upper()}{sync[1:]}."
    kinds = []
    limit = max(options.max_values_per_kind, 1)
    for group in evidence_by_kind(evidence, size):
        item: dict[str, Any] = {"kind": group.kind, "label": group.label, "summary": group.summary,
                                "templates": [], "table": None, "more": None}
        values = group.values
        if group.kind == "prompt":
            item["templates"] = [
                {"parts": t.parts, "example": t.example,
                 "used": (f"followed by {t.prompts:,} sampled prompts of {t.accounts:,} accounts"
                          if t.accounts else "reconstructed from the shared phrases")}
                for t in reconstruct_templates(values["value"].to_list(), prompts if prompts is not None else ())]
        elif group.kind == "timing":
            item["summary"] = (f"{values.height:,} shared activity signatures: accounts active in the same "
                               f"60-second windows again and again (the largest group: "
                               f"{int(values['accounts_sharing'].max()):,} accounts). A signature is a hash of "
                               "the windows, to match, not to read.")
        columns = _value_columns(group.kind)
        if group.kind in ("prompt", "timing"):  # the template / clock says it; the raw values on request
            item["more"] = build_table(values, columns, table_id=f"evidence-{cid}-{group.kind}")
        else:
            item["table"] = build_table(values.head(limit), columns, table_id=f"evidence-{cid}-{group.kind}")
            if values.height > limit:
                item["more"] = build_table(values.slice(limit), columns, table_id=f"evidence-{cid}-{group.kind}-more")
        kinds.append(item)
    zero = evidence.filter(pl.col("weight").fill_null(0.0) <= 0)
    common = None
    if zero.height:
        common = build_table(zero.sort(["kind", "accounts_sharing"], descending=[False, True]),
                             [Column("kind", pl.col("kind")), *_value_columns("")[:3]],
                             table_id=f"evidence-{cid}-common")
    return {"clock": clock, "kinds": kinds, "common": common, "n_common": f"{zero.height:,}"}


def cluster_context(outputs: Outputs, cluster_id: int, options: ReportOptions,
                    events: MemberEvents | None = None) -> dict[str, Any]:
    """Everything the cluster section template shows, as plain values."""
    row = outputs.cluster_row(cluster_id)
    members = outputs.members(cluster_id)
    evidence = outputs.cluster_evidence(cluster_id)
    activity = outputs.cluster_activity(cluster_id)
    memberships = outputs.cluster_memberships(cluster_id)
    first, last = members["first_seen"].min(), members["last_seen"].max()
    active = f" · active {first:%Y-%m-%d} to {last:%Y-%m-%d} UTC" if first is not None and last is not None else ""
    kinds = ", ".join(row.get("kinds") or []) or "none"
    member_columns = [
        Column("account", pl.col("account_id"), css="text"),
        Column("events", fmt_int(pl.col("events")), numeric=True, sort=pl.col("events")),
        Column("first seen (UTC)", fmt_time(pl.col("first_seen"))),
        Column("last seen (UTC)", fmt_time(pl.col("last_seen"))),
    ]
    shown = members.head(options.max_members)
    member_note = ""
    if members.height > shown.height:
        member_note = (f"Showing the {shown.height:,} most active of {members.height:,} members; "
                       f"export all with: graphlink export DIR --format csv --clusters {int(cluster_id)}")
    figures, notes = _plots(cluster_id, activity, memberships, options)
    network = None
    if options.interactive and memberships is not None:
        network = network_data(memberships, max_nodes=options.max_network_nodes, seed=options.seed)
    return {
        "id": int(cluster_id),
        "flagged": bool(row.get("flagged")),
        "subtitle": f"{int(row['size']):,} accounts · score {float(row['score']):.3f} · linked by {kinds}{active}",
        "why": [r for r in (row.get("why") or "").split("; ") if r],
        "components": [(name, _fmt_value(row.get(name))) for name in score_columns(outputs.clusters)],
        "evidence": evidence_context(cluster_id, evidence, int(row["size"]), events, members, options),
        "figures": figures,
        "network": network,
        "plots_note": "",
        "notes": notes,
        "n_members": f"{members.height:,}",
        "member_note": member_note,
        "members": build_table(shown, member_columns, table_id=f"members-{int(cluster_id)}"),
    }


def network_data(memberships: pl.DataFrame, max_nodes: int = 150, seed: int = 0) -> dict[str, Any] | None:
    """Nodes (with positions, colours and hover texts) and edges of one cluster's interactive view.

    The same sample of accounts and signals as the static drawing
    (:func:`graphlink.views.plots.sample_network`) and the same seeded
    spring layout (networkx), so both show the same picture. Returns
    ``None`` when no signal is shared by two members.
    """
    import networkx as nx

    edges, _ = plots.sample_network(memberships, max_nodes=max_nodes)
    if edges.is_empty():
        return None
    signals = (edges.select("kind", "value", "sharing", "weight").unique(["kind", "value"]).sort("kind", "value")
               .with_row_index("n").with_columns(pl.format("v{}", pl.col("n")).alias("node")))
    edges = edges.join(signals.select("kind", "value", "node"), on=["kind", "value"])
    accounts = edges["account_id"].unique().sort()
    account_node = {a: f"a{i}" for i, a in enumerate(accounts.to_list())}
    graph = nx.Graph()
    graph.add_nodes_from(account_node.values())
    graph.add_nodes_from(signals["node"].to_list())
    pairs = list(zip([account_node[a] for a in edges["account_id"].to_list()], edges["node"].to_list()))
    graph.add_edges_from(pairs)
    pos = nx.spring_layout(graph, seed=seed, iterations=60)
    kinds = signals["kind"].unique().sort().to_list()
    # Hover text of an account: every value it shares with other members (memberships), linking ones first.
    shared = (memberships.filter(pl.col("account_id").is_in(accounts.implode()))
              .sort(["account_id", "weight", "kind", "value"], descending=[False, True, False, False])
              .group_by("account_id", maintain_order=True)
              .agg(pl.concat_str([pl.col("kind"), pl.lit("="), pl.col("value").str.slice(0, 80)]).head(12).alias("v"),
                   pl.len().alias("n")))
    tips = {a: f"account {a}\nshares {n:,} value(s): " + "; ".join(v) + (" …" if n > len(v) else "")
            for a, v, n in shared.iter_rows()}
    top = max(int(signals["sharing"].max()), 1)
    nodes = [{"id": account_node[a], "kind": "account", "colour": plots.ACCOUNT_COLOUR, "size": 8,
              "x": round(float(pos[account_node[a]][0]) * 300, 2), "y": round(float(pos[account_node[a]][1]) * 300, 2),
              "tip": tips.get(a, f"account {a}")} for a in accounts.to_list()]
    nodes += [{"id": node, "kind": kind, "colour": plots.kind_colour(kind, kinds),
               "size": round(10 + 16 * (sharing / top) ** 0.5, 1),
               "x": round(float(pos[node][0]) * 300, 2), "y": round(float(pos[node][1]) * 300, 2),
               "tip": f"{kind} {value}\nshared by {sharing:,} members · weight {weight:.2f}"}
              for _, kind, value, sharing, weight, node in signals.iter_rows()]
    return {"nodes": nodes, "edges": [list(p) for p in pairs], "kinds": [[k, plots.kind_colour(k, kinds)] for k in kinds]}


def _plots(cluster_id: int, activity: pl.DataFrame | None, memberships: pl.DataFrame | None,
           options: ReportOptions) -> tuple[list[dict[str, Any]], list[str]]:
    if not options.plots:
        return [], []
    figures, notes = [], []
    if activity is None:
        notes.append("No activity.parquet in this output folder (written by an older graphlink): "
                     "rerun detect for the hour-of-day and timeline plots.")
    else:
        figures.append(figure(plots.hour_of_day(activity), f"Events by hour of day (UTC), cluster {cluster_id}"))
        figures.append(figure(plots.timeline(activity), f"Events and active accounts over time, cluster {cluster_id}"))
    if memberships is None:
        notes.append("No memberships.parquet in this output folder: rerun detect for the network drawing.")
    else:
        figures.append(figure(plots.network(memberships, max_nodes=options.max_network_nodes, seed=options.seed),
                              f"Network of accounts and shared signals, cluster {cluster_id}") | {"network": True})
    return figures, notes


def _section_plan(clusters: pl.DataFrame, options: ReportOptions) -> tuple[list[int], list[int]]:
    flagged = ranked(clusters.filter(pl.col("flagged")))
    unflagged = ranked(clusters.filter(~pl.col("flagged")))
    return (flagged.head(options.max_sections)["cluster_id"].to_list(),
            unflagged.head(options.max_unflagged_sections)["cluster_id"].to_list())


def planned_sections(out_dir: str | Path, options: ReportOptions) -> list[int]:
    """Cluster ids a report of ``out_dir`` gives a section (read from ``clusters.parquet`` alone).

    Raises
    ------
    GraphlinkError
        ``out_dir`` is not a detect output folder.
    """
    from graphlink.store.outputs import check_folder

    check_folder(Path(out_dir))
    clusters = pl.read_parquet(Path(out_dir) / "clusters.parquet", columns=["cluster_id", "size", "score", "flagged"])
    flagged, unflagged = _section_plan(clusters, options)
    return sorted(flagged + unflagged)


def section_ids(outputs: Outputs, options: ReportOptions) -> list[int]:
    """Clusters that get a section, in report order: the ``max_sections`` highest-scoring flagged
    ones, then the ``max_unflagged_sections`` highest-scoring unflagged ones (only loaded clusters)."""
    loaded = pl.Series(outputs.selected, dtype=pl.Int64).implode()
    flagged, unflagged = _section_plan(outputs.clusters.filter(pl.col("cluster_id").is_in(loaded)), options)
    return flagged + unflagged


@dataclass(frozen=True)
class MemberEvents:
    """Original events of the section clusters' members, read back from the events file.

    Attributes
    ----------
    times : DataFrame or None
        ``account_id, timestamp`` of every member event (None: no timestamp column).
    prompts : DataFrame or None
        ``account_id, prompt``: a few prompts of a sample of each cluster's members.
    note : str
        Why something is missing ("" when all is there).
    """

    times: pl.DataFrame | None
    prompts: pl.DataFrame | None
    note: str = ""


def member_events(outputs: Outputs, *, prompts: bool = True, accounts_per_cluster: int = 20,
                  prompts_per_account: int = 5, max_prompt_rows: int = 100_000) -> MemberEvents:
    """Read the section clusters' members' events from the events file recorded in ``run.json``.

    Two streaming scans of the events file: ``account_id, timestamp`` of every
    member (16 bytes per event), and the prompts (cut to 500 characters) of
    ``accounts_per_cluster`` members per cluster, at most ``max_prompt_rows``
    read, ``prompts_per_account`` kept per account.

    Never raises for a missing or unreadable events file: the note says why
    and the report falls back to what the output folder holds.
    """
    from graphlink.config import build_config
    from graphlink.errors import GraphlinkError
    from graphlink.stages.ingest import scan_events

    path = ((outputs.run.get("inputs") or {}).get("events") or {}).get("path")
    if not path or path == "<frame>" or not Path(path).is_file():
        return MemberEvents(None, None, f"The events file ({path or 'an in-memory frame'}) is not available, so "
                                        "schedules and example prompts are not shown; rerun the report where it is.")
    try:
        config = build_config(parameters=outputs.run.get("parameters") or {})
        lf = scan_events(path, config.ingest)
        schema = lf.collect_schema()
        members = outputs.accounts.select("account_id", "cluster_id")
        ids = members["account_id"].implode()
        times = None
        if "timestamp" in schema:
            times = (lf.filter(pl.col("account_id").is_in(ids)).select("account_id", "timestamp")
                     .drop_nulls("timestamp").collect(engine="streaming"))
        sample = None
        if prompts and "prompt" in schema:
            chosen = (members.sort("account_id").group_by("cluster_id", maintain_order=True)
                      .head(accounts_per_cluster)["account_id"])
            sample = (lf.filter(pl.col("account_id").is_in(chosen.implode()) & pl.col("prompt").is_not_null())
                      .select("account_id", pl.col("prompt").cast(pl.String).str.slice(0, 500))
                      .head(max_prompt_rows).collect(engine="streaming").group_by("account_id", maintain_order=True)
                      .head(prompts_per_account)
                      .sort("account_id", "prompt"))
    except (GraphlinkError, pl.exceptions.PolarsError, OSError, TypeError, ValueError) as exc:
        return MemberEvents(None, None, f"The events file {path} could not be read back "
                                        f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}), "
                                        "so schedules and example prompts are not shown.")
    note = "" if prompts else "Example prompts are left out of a redacted report."
    return MemberEvents(times, sample, note)


def campaigns_context(outputs: Outputs, sections: set[int], options: ReportOptions) -> dict[str, Any] | None:
    """The campaigns table and sections, when the folder has ``campaigns.parquet`` (operator level).

    Expected columns: ``campaign_id``, ``clusters`` (list of cluster ids),
    ``accounts``, ``score``, ``flagged``, ``why``; missing optional columns
    are tolerated. Campaigns come first in the report, highest score first.
    """
    campaigns = outputs.campaigns  # read with the folder (graphlink.store.outputs.load_outputs)
    if campaigns is None or "campaign_id" not in campaigns.columns:
        return None
    defaults = {"clusters": pl.lit(None, pl.List(pl.Int64)), "accounts": pl.lit(None, pl.Int64),
                "score": pl.lit(None, pl.Float64), "flagged": pl.lit(False), "why": pl.lit("")}
    campaigns = campaigns.with_columns([v.alias(k) for k, v in defaults.items() if k not in campaigns.columns])
    campaigns = campaigns.sort(["score", "campaign_id"], descending=[True, False], nulls_last=True)
    shown = campaigns.head(options.max_table_rows)
    table = build_table(shown, [
        Column("campaign", pl.col("campaign_id").cast(pl.String), link=pl.concat_str(
            [pl.lit("campaign-"), pl.col("campaign_id").cast(pl.String)])),
        Column("clusters", pl.col("clusters").list.len(), numeric=True, sort=pl.col("clusters").list.len()),
        Column("accounts", fmt_int(pl.col("accounts")), numeric=True, sort=pl.col("accounts")),
        Column("score", fmt_float(pl.col("score")), numeric=True, sort=pl.col("score")),
        Column("flagged", pl.when(pl.col("flagged")).then(pl.lit("flagged")).otherwise(pl.lit("")), css="flagcell"),
        Column("why", pl.col("why"), cell_title=pl.col("why"), css="why"),
    ], table_id="campaigns", css_class="ranked")
    items = []
    for row in shown.iter_rows(named=True):
        clusters = sorted(int(c) for c in (row["clusters"] or []))
        accounts = f"{int(row['accounts']):,} accounts · " if row["accounts"] is not None else ""
        score = f"score {float(row['score']):.3f}" if row["score"] is not None else "no score"
        items.append({"id": str(row["campaign_id"]), "flagged": bool(row["flagged"]),
                      "summary": f"{accounts}{len(clusters):,} clusters · {score}",
                      "why": [r for r in str(row["why"] or "").split("; ") if r],
                      "clusters": [(c, c in sections) for c in clusters]})
    return {"table": table, "sections": items}


def render_report(outputs: Outputs, options: ReportOptions | None = None,
                  generated_at: datetime | None = None, events: MemberEvents | None = None) -> str:
    """The whole report as one HTML string, rendered from the Jinja2 templates in ``templates/``.

    Parameters
    ----------
    outputs : Outputs
        From :func:`graphlink.store.outputs.load_outputs` (optionally redacted);
        sections are drawn for its loaded flagged clusters.
    options : ReportOptions, optional
    generated_at : datetime, optional
        Shown in the header (default: now).
    events : MemberEvents, optional
        The members' original events (:func:`member_events`), for schedules
        and example prompts; without them the report says so.
    """
    from graphlink import __version__ as version

    options = options or ReportOptions()
    generated_at = generated_at or datetime.now(timezone.utc)
    ids = section_ids(outputs, options)
    n_flagged = int(outputs.clusters["flagged"].sum() or 0)
    n_flagged_sections = sum(1 for c in ids if c in set(outputs.clusters.filter("flagged")["cluster_id"].to_list()))
    notes = []
    if not n_flagged:
        notes.append("No cluster was flagged in this run.")
    elif n_flagged > n_flagged_sections:
        notes.append(f"Detailed sections for the {n_flagged_sections:,} highest-scoring of {n_flagged:,} flagged "
                     "clusters (raise the limit with graphlink report --max-sections).")
    if len(ids) > n_flagged_sections:
        notes.append(f"The {len(ids) - n_flagged_sections:,} highest-scoring clusters that are not flagged have a "
                     "section too, marked \"not flagged\": linked accounts below the flag threshold, worth a look.")
    if events is not None and events.note:
        notes.append(events.note)
    main, comps, table_note = cluster_tables(outputs, set(ids), options)
    sections = [cluster_context(outputs, c, options, events) for c in ids]
    scripts = [SORT_JS]
    if any(s["network"] for s in sections):
        scripts += [cytoscape_js(), NETVIEW_JS]
    context = {
        "csp": content_security_policy(scripts),
        "css": Markup(CSS),
        "scripts": [Markup(s) for s in scripts],
        "folder_name": outputs.path.name,
        "folder": str(outputs.path),
        "generated": f"{generated_at:%Y-%m-%d %H:%M}",
        "version": version,
        "redaction": outputs.redaction,
        "cards": summary_cards(outputs),
        "campaigns": campaigns_context(outputs, set(ids), options),
        "ranked": main,
        "components": comps,
        "table_note": table_note,
        "section_notes": notes,
        "sections": sections,
        "has_network": any(s["network"] for s in sections),
        "summary": summary_context(outputs),
    }
    return environment().get_template("report.html.j2").render(context)
