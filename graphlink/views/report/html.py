"""HTML rendering of the investigator report.

The report is one self-contained file: inline CSS, a few lines of inline
vanilla JavaScript (click a column header to sort a table; without JavaScript
the tables are simply shown ranked), and plots inlined as base64 PNG. It
needs no network access.

Security
--------
Prompts, user agents and account ids are written by the accounts under
investigation. Every value from the data is HTML-escaped
(:func:`graphlink.views.safety.html_safe`, or its polars form
:func:`graphlink.views.safety.html_safe_expr` for table columns), and the page
carries a Content-Security-Policy that allows only its own inline script and
style (by hash) and ``data:`` images, so even a value that escaped escaping
could not run script or load anything. The sort script reads cell text with
``textContent`` and never writes HTML.

Tables are rendered with polars expressions, one string per row.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import polars as pl

from graphlink.store.folder import Outputs, score_columns
from graphlink.views import plots
from graphlink.views.safety import html_safe, html_safe_expr

CSS = """
:root { --fg: #1d2733; --muted: #5b6776; --line: #d8dee6; --bg-alt: #f5f7fa; --accent: #b3261e; --link: #1f5fa8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; max-width: 1200px; padding: 0 24px 48px; }
header.top { border-bottom: 2px solid var(--fg); margin-bottom: 16px; padding: 16px 0 8px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; }
.redaction { background: #fff4e5; border: 1px solid #f0c36d; padding: 8px 12px; border-radius: 4px; }
nav.toc { font-size: 13px; margin: 8px 0; }
nav.toc a { margin-right: 10px; }
a { color: var(--link); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 140px; }
.card .n { font-size: 20px; font-weight: 600; }
.card .l { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { overflow-wrap: anywhere; max-width: 560px; }
tbody tr:nth-child(even) { background: #fbfcfd; }
table.sortable.js th { cursor: pointer; user-select: none; }
table.sortable.js th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable.js th[aria-sort="descending"]::after { content: " \\25BC"; }
table.kv th { text-align: left; background: none; font-weight: 500; color: var(--muted); }
.flag { color: var(--accent); font-weight: 600; }
section.cluster { border-top: 1px solid var(--line); margin-top: 28px; }
section.cluster h2 .flag { font-size: 13px; margin-left: 8px; }
ul.why { margin: 4px 0 8px; padding-left: 20px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 12px; color: var(--muted); max-width: 540px; }
.scroll { max-height: 480px; overflow: auto; border: 1px solid var(--line); }
.scroll table { margin: 0; }
.scroll th { position: sticky; top: 0; }
pre { background: var(--bg-alt); padding: 8px; overflow: auto; font-size: 12px; }
details { margin: 8px 0; }
"""

SORT_JS = """
(function () {
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    table.classList.add("js");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      th.setAttribute("role", "button");
      function key(row) {
        var cell = row.cells[col];
        var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
        if (th.getAttribute("data-type") === "num") {
          var n = parseFloat(raw);
          return isNaN(n) ? -Infinity : n;
        }
        return raw.toLowerCase();
      }
      function sort() {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var current = th.getAttribute("aria-sort");
        var numeric = th.getAttribute("data-type") === "num";
        var dir = current ? (current === "ascending" ? -1 : 1) : (numeric ? -1 : 1);
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; img-src data:; style-src {_csp_hash(CSS)}; script-src {_csp_hash(SORT_JS)}; "
    "base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class ReportOptions:
    """Limits that keep the report readable and its size bounded.

    Attributes
    ----------
    max_sections : int
        Flagged clusters given a detailed section (highest scores first); the
        rest are listed in the cluster table with a note.
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
    """

    max_sections: int = 100
    max_members: int = 500
    max_table_rows: int = 1000
    max_network_nodes: int = 150
    plots: bool = True
    seed: int = 0


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


def html_table(frame: pl.DataFrame, columns: list[Column], *, table_id: str = "", sortable: bool = True,
               css_class: str = "") -> str:
    """A ``<table>`` of ``frame`` with the given columns, one polars-built string per row.

    Examples
    --------
    >>> df = pl.DataFrame({"v": ["<b>"], "n": [2]})
    >>> html = html_table(df, [Column("value", pl.col("v")), Column("n", fmt_int(pl.col("n")), numeric=True,
    ...                                                                 sort=pl.col("n"))])
    >>> "<td class=\\"text\\">&lt;b&gt;</td>" in html, 'data-sort="2.0"' in html
    (True, True)
    """
    heads = []
    cells = []
    for col in columns:
        kind = "num" if col.numeric else "text"
        title = f' title="{html_safe(col.title)}"' if col.title else ""
        heads.append(f'<th scope="col" class="{kind}" data-type="{kind}"{title}>{html_safe(col.header)}</th>')
        text = html_safe_expr(col.text.cast(pl.String).fill_null(""))
        if col.link is not None:  # rows whose link is null render as plain text
            text = pl.coalesce(pl.concat_str([pl.lit('<a href="#'), html_safe_expr(col.link.cast(pl.String)),
                                              pl.lit('">'), text, pl.lit("</a>")]), text)
        opening = [pl.lit(f'<td class="{kind}"')]
        if col.sort is not None:
            opening += [pl.lit(' data-sort="'), col.sort.cast(pl.Float64).cast(pl.String).fill_null(""), pl.lit('"')]
        cells.append(pl.concat_str([*opening, pl.lit(">"), text, pl.lit("</td>")]))
    if frame.is_empty():
        body = ""
    else:
        rows = frame.select(pl.concat_str([pl.lit("<tr>"), *cells, pl.lit("</tr>")]).alias("row"))["row"]
        body = rows.str.join("\n").item()
    classes = " ".join(c for c in ("sortable" if sortable else "", css_class) if c)
    ident = f' id="{html_safe(table_id)}"' if table_id else ""
    return (f'<table{ident} class="{classes}">\n<thead><tr>{"".join(heads)}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table>")


def kv_table(pairs: list[tuple[str, Any]]) -> str:
    """A two-column key/value table of a few Python values (run metadata)."""
    rows = "".join(f'<tr><th scope="row">{html_safe(k)}</th><td>{html_safe(v)}</td></tr>' for k, v in pairs)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def figure(plot: plots.Plot, alt: str) -> str:
    """An inline ``<figure>`` with the PNG as a data URI."""
    data = base64.b64encode(plot.png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" width="{plot.width}" height="{plot.height}" '
            f'alt="{html_safe(alt)}"><figcaption>{html_safe(plot.caption)}</figcaption></figure>')


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


# -- sections ----------------------------------------------------------------------


def ranked(clusters: pl.DataFrame) -> pl.DataFrame:
    """Clusters by score, highest first (ties: larger first, then lower id)."""
    return clusters.sort(["score", "size", "cluster_id"], descending=[True, True, False], nulls_last=True)


def render_summary(outputs: Outputs) -> str:
    run = outputs.run
    counts = run.get("counts", {})
    events = (run.get("inputs") or {}).get("events") or {}
    accounts_in = (run.get("inputs") or {}).get("accounts")
    cards = [
        ("events read", events.get("rows_read")), ("events kept", events.get("rows_kept")),
        ("accounts", counts.get("accounts")), ("clusters", counts.get("clusters")),
        ("flagged clusters", counts.get("flagged_clusters")), ("accounts flagged", counts.get("accounts_flagged")),
    ]
    card_html = "".join(f'<div class="card"><div class="n">{html_safe(_n(v))}</div><div class="l">{html_safe(k)}</div></div>'
                        for k, v in cards if v is not None)
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
    warnings = run.get("warnings") or []
    warning_html = ("<ul>" + "".join(f"<li>{html_safe(w)}</li>" for w in warnings) + "</ul>") if warnings \
        else '<p class="muted">None.</p>'
    timings = run.get("timings") or {}
    timing_pairs = [(k, f"{float(v):.2f} s") for k, v in timings.items()]
    timing_pairs.append(("total", f"{sum(float(v) for v in timings.values()):.2f} s"))
    versions = run.get("versions") or {}
    params = json.dumps(run.get("parameters", {}), indent=2, sort_keys=True, default=str)
    return f"""<section id="summary">
<h2>Run summary</h2>
<div class="cards">{card_html}</div>
<h3>Inputs</h3>
{kv_table(inputs)}
<h3>Warnings</h3>
{warning_html}
<details><summary>Counts</summary>
{kv_table([(k, _n(v)) for k, v in sorted(counts.items())])}
</details>
<details><summary>Timings</summary>
{kv_table(timing_pairs)}
</details>
<details><summary>Parameters</summary>
<pre>{html_safe(params)}</pre>
</details>
<details><summary>Versions</summary>
{kv_table(sorted(versions.items()))}
</details>
</section>"""


def render_cluster_table(outputs: Outputs, sections: set[int], options: ReportOptions) -> str:
    clusters = ranked(outputs.clusters)
    total = clusters.height
    shown = clusters.head(options.max_table_rows)
    components = [c for c in score_columns(shown) if c != "score"]
    section_ids = pl.Series(sorted(sections), dtype=pl.Int64).implode()
    columns = [
        Column("cluster", fmt_int(pl.col("cluster_id")), numeric=True, sort=pl.col("cluster_id"),
               link=pl.when(pl.col("cluster_id").is_in(section_ids))
               .then(pl.concat_str([pl.lit("cluster-"), pl.col("cluster_id").cast(pl.String)]))),
        Column("size", fmt_int(pl.col("size")), numeric=True, sort=pl.col("size")),
        Column("score", fmt_float(pl.col("score")), numeric=True, sort=pl.col("score"),
               title="Higher is more suspicious"),
        *[Column(name, fmt_number(pl.col(name), shown.schema[name]), numeric=True, sort=pl.col(name))
          for name in components],
        Column("flagged", pl.when(pl.col("flagged")).then(pl.lit("flagged")).otherwise(pl.lit(""))),
        Column("linked by", fmt_list(pl.col("kinds"))),
        Column("why", pl.col("why")),
    ]
    table = html_table(shown, columns, table_id="clusters")
    note = ""
    if total > shown.height:
        note = (f'<p class="note">Showing the {shown.height:,} highest-scoring of {total:,} clusters; '
                "all are in clusters.parquet.</p>")
    return f"""<section id="clusters-section">
<h2>Clusters ranked by score</h2>
<p class="note">Click a column header to sort. Flagged clusters link to their section below.</p>
{note}
<div class="scroll">{table}</div>
</section>"""


def render_cluster(outputs: Outputs, cluster_id: int, options: ReportOptions) -> str:
    row = outputs.cluster_row(cluster_id)
    members = outputs.members(cluster_id)
    evidence = outputs.cluster_evidence(cluster_id)
    activity = outputs.cluster_activity(cluster_id)
    memberships = outputs.cluster_memberships(cluster_id)
    anchor = f"cluster-{int(cluster_id)}"
    flag = '<span class="flag">flagged</span>' if row.get("flagged") else ""
    first, last = members["first_seen"].min(), members["last_seen"].max()
    active = f" · active {first:%Y-%m-%d} to {last:%Y-%m-%d} UTC" if first is not None and last is not None else ""
    kinds = ", ".join(row.get("kinds") or []) or "none"
    reasons = [r for r in (row.get("why") or "").split("; ") if r]
    why = ("<ul class=\"why\">" + "".join(f"<li>{html_safe(r)}</li>" for r in reasons) + "</ul>") if reasons \
        else '<p class="muted">No shared evidence recorded.</p>'
    components = [(name, _fmt_value(row.get(name))) for name in score_columns(outputs.clusters)]
    top_values = row.get("top_values") or []
    evidence_columns = [
        Column("kind", pl.col("kind")),
        Column("value", pl.col("value")),
        Column("accounts sharing", fmt_int(pl.col("accounts_sharing")), numeric=True, sort=pl.col("accounts_sharing"),
               title="Members of this cluster carrying the value"),
        Column("weight", fmt_float(pl.col("weight")), numeric=True, sort=pl.col("weight"),
               title="Rarity weight of the value; 0 means too common to link accounts"),
        Column("accounts in input", fmt_int(pl.col("df")), numeric=True, sort=pl.col("df"),
               title="Accounts carrying the value in the whole input"),
    ]
    member_columns = [
        Column("account", pl.col("account_id")),
        Column("events", fmt_int(pl.col("events")), numeric=True, sort=pl.col("events")),
        Column("first seen (UTC)", fmt_time(pl.col("first_seen"))),
        Column("last seen (UTC)", fmt_time(pl.col("last_seen"))),
    ]
    shown = members.head(options.max_members)
    member_note = ""
    if members.height > shown.height:
        member_note = (f'<p class="note">Showing the {shown.height:,} most active of {members.height:,} members; '
                       f"export all with: graphlink export DIR --format csv --clusters {int(cluster_id)}</p>")
    return f"""<section class="cluster" id="{anchor}">
<h2>Cluster {int(cluster_id)} {flag}</h2>
<p class="muted">{int(row['size']):,} accounts · score {float(row['score']):.3f} · linked by {html_safe(kinds)}{html_safe(active)}</p>
<h3>Why</h3>
{why}
<div class="plots">
<div><h3>Score components</h3>{kv_table(components)}</div>
<div><h3>Top shared values</h3><ul class="why">{"".join(f"<li>{html_safe(v)}</li>" for v in top_values) or "<li>none</li>"}</ul></div>
</div>
<h3>Shared evidence</h3>
{html_table(evidence, evidence_columns, table_id=f"evidence-{int(cluster_id)}") if evidence.height else '<p class="muted">None.</p>'}
{_render_plots(cluster_id, activity, memberships, options)}
<h3>Members ({members.height:,})</h3>
{member_note}
<div class="scroll">{html_table(shown, member_columns, table_id=f"members-{int(cluster_id)}")}</div>
</section>"""


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return _n(value)


def _render_plots(cluster_id: int, activity: pl.DataFrame | None, memberships: pl.DataFrame | None,
                  options: ReportOptions) -> str:
    if not options.plots:
        return ""
    parts = []
    if activity is None:
        parts.append('<p class="note">No activity.parquet in this output folder (written by an older graphlink): '
                     "rerun detect for the hour-of-day and timeline plots.</p>")
    else:
        parts.append(figure(plots.hour_of_day(activity), f"Events by hour of day (UTC), cluster {cluster_id}"))
        parts.append(figure(plots.timeline(activity), f"Events and active accounts over time, cluster {cluster_id}"))
    if memberships is None:
        parts.append('<p class="note">No memberships.parquet in this output folder: rerun detect for the '
                     "network drawing.</p>")
    else:
        parts.append(figure(plots.network(memberships, max_nodes=options.max_network_nodes, seed=options.seed),
                            f"Network of accounts and shared signals, cluster {cluster_id}"))
    return '<h3>Activity and network</h3>\n<div class="plots">' + "\n".join(parts) + "</div>"


def section_ids(outputs: Outputs, options: ReportOptions) -> list[int]:
    """Flagged clusters that get a section: the ``max_sections`` highest-scoring loaded ones."""
    loaded = pl.Series(outputs.selected, dtype=pl.Int64).implode()
    flagged = ranked(outputs.clusters.filter(pl.col("flagged") & pl.col("cluster_id").is_in(loaded)))
    return flagged.head(options.max_sections)["cluster_id"].to_list()


def render_report(outputs: Outputs, options: ReportOptions | None = None,
                  generated_at: datetime | None = None) -> str:
    """The whole report as one HTML string.

    Parameters
    ----------
    outputs : Outputs
        From :func:`graphlink.store.outputs.load_outputs` (optionally redacted);
        sections are drawn for its loaded flagged clusters.
    options : ReportOptions, optional
    generated_at : datetime, optional
        Shown in the header (default: now).
    """
    options = options or ReportOptions()
    generated_at = generated_at or datetime.now(timezone.utc)
    ids = section_ids(outputs, options)
    n_flagged = int(outputs.clusters["flagged"].sum() or 0)
    sections = "\n".join(render_cluster(outputs, c, options) for c in ids)
    if not ids:
        sections = '<p class="muted">No cluster was flagged in this run.</p>'
    elif n_flagged > len(ids):
        sections = (f'<p class="note">Detailed sections for the {len(ids):,} highest-scoring of {n_flagged:,} '
                    "flagged clusters (raise the limit with graphlink report --max-sections).</p>\n" + sections)
    redaction = f'<p class="redaction">Redacted: {html_safe(outputs.redaction)}</p>' if outputs.redaction else ""
    toc = " ".join(f'<a href="#cluster-{c}">{c}</a>' for c in ids[:60])
    more = " …" if len(ids) > 60 else ""
    from graphlink import __version__ as version
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>graphlink report: {html_safe(outputs.path.name)}</title>
<style>{CSS}</style>
</head>
<body>
<header class="top">
<h1>graphlink report</h1>
<p class="muted">Output folder {html_safe(outputs.path)} · generated {generated_at:%Y-%m-%d %H:%M} UTC · graphlink {html_safe(version)}</p>
{redaction}
<nav class="toc"><a href="#summary">Summary</a> <a href="#clusters-section">Clusters</a> Flagged: {toc or "none"}{more}</nav>
</header>
{render_summary(outputs)}
{render_cluster_table(outputs, set(ids), options)}
<section id="flagged">
<h2>Flagged clusters</h2>
{sections}
</section>
<script>{SORT_JS}</script>
</body>
</html>
"""
