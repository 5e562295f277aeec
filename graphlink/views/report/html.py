"""HTML rendering of the investigator report.

The report is one self-contained file rendered from the Jinja2 templates in ``templates/`` (``report.html.j2``
and the partials it includes; style in ``report.css``, scripts beside it): inline CSS, inline JavaScript (click a
column header to sort a table; without JavaScript the tables are simply shown ranked), and plots inlined as base64
PNG. It needs no network access. A designer can change the markup without touching the pipeline: this module only
builds plain values (texts computed with polars expressions) for the templates.

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

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl
from markupsafe import Markup

from graphlink.config.kinds import kinds_text, kinds_text_expr
from graphlink.contract import component_label, why_reasons
from graphlink.store.folder import Outputs, score_columns
from graphlink.stages.tie_words import LEAD_PATTERN, also_tied_to, carried_text, carried_to
from graphlink.views.member_behaviour import ADDRESSES_ONLY
from graphlink.views.member_ties import outputs_member_ties, with_member_ties
from graphlink.views.passages import passage_summary
from graphlink.views.explain import FLAG_TITLE, flag_basis, flag_basis_expr, flag_settings, flag_words, score_note, tying_values
from graphlink.views.report.campaign_ties import campaign_ties_context
from graphlink.views.report.evidence_section import evidence_context, tie_columns
from graphlink.views.report.assets import CSS, NETVIEW_JS, SORT_JS, content_security_policy, cytoscape_js, environment
from graphlink.views.report.figures import SectionPlots, section_plots, start_section_plots
from graphlink.views.report.members import MemberEvents, member_columns, network_data
from graphlink.views.report.tables import (
    Column, Table, build_table, fmt_float, fmt_int, fmt_number, history_text, left_out_note,
    number_text, unflagged_note, value_text,
)
from graphlink.views.schedule import timing_bucket, timing_meanings
from graphlink.views.set_apart import set_apart_from, set_apart_line
from graphlink.views.shared_counts import outputs_shared_totals
from graphlink.views.words import csv_export_command, plural, rejected_text, shell_path


@dataclass(frozen=True)
class ReportOptions:
    """Limits that keep the report readable and its size bounded.

    Attributes
    ----------
    max_sections : int
        Flagged clusters given a detailed section (highest scores first; 1,000: every flagged cluster of the
        runs measured, 147 sections 13.2 MB in 77 s, BENCHMARKS.md); the report names the flagged clusters left out.
    max_unflagged_sections : int
        Highest-scoring clusters that are *not* flagged also given a section
        (marked "not flagged"), so a run with nothing flagged still offers
        something to review.
    max_members : int
        Members listed per cluster, weakest tie first as ``show`` and ``members.csv`` list them (members sharing
        none of the cluster's behaviour first: the ones to check before acting), then by events.
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
    workers : int, optional
        Helper processes drawing plots besides this one (0: none; default: one per idle
        CPU, :func:`graphlink.views.report.figures.plot_workers`). The report is the same.
    """

    max_sections: int = 1000
    max_unflagged_sections: int = 10
    max_members: int = 500
    max_table_rows: int = 1000
    max_network_nodes: int = 150
    plots: bool = True
    seed: int = 0
    events: bool = True
    max_values_per_kind: int = 10
    interactive: bool = True
    workers: int | None = None


# -- sections ----------------------------------------------------------------------


def ranked(clusters: pl.DataFrame) -> pl.DataFrame:
    """Flagged clusters first, then by score, highest first (ties: larger first, then lower id): a
    cluster flagged through its campaign can score under an unflagged one, and a capped table must
    not drop it."""
    return clusters.sort(["flagged", "score", "size", "cluster_id"], descending=[True, True, True, False],
                         nulls_last=True)


def ranked_campaigns(campaigns: pl.DataFrame) -> pl.DataFrame:
    """Flagged campaigns first, by score, highest first, then the rest by score (ties: more accounts first, then
    lower id), as :func:`ranked` ranks clusters: a campaign flagged through a tie, or one whose clusters the threshold
    barely passed, can score under an unflagged pair of accounts (under ``min_flag_size``), and the table listed
    such one-cluster campaigns ahead of flagged ones -- a capped table could drop a flagged campaign."""
    return (campaigns.with_columns(pl.col("flagged").fill_null(False))
            .sort(["flagged", "score", "accounts", "campaign_id"], descending=[True, True, True, False], nulls_last=True))


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
    accounts = outputs.accounts
    if "shared_behaviour" in accounts.columns and counts.get("accounts_flagged"):
        # The flagged members to check before acting: they share none of their cluster's behaviour (nu41).
        flagged = outputs.clusters.filter(pl.col("flagged").fill_null(False)).select("cluster_id")
        cards.append(("flagged, tied by addresses (or stock phrases) only", accounts.join(flagged, on="cluster_id", how="semi").filter(
            pl.col("shared_behaviour") == ADDRESSES_ONLY).height))
    return [(k, number_text(v)) for k, v in cards if v is not None]


def summary_context(outputs: Outputs) -> dict[str, Any]:
    """Inputs, warnings, counts, timings, parameters and versions of the run, as plain text pairs."""
    run = outputs.run
    counts = run.get("counts", {})
    events = (run.get("inputs") or {}).get("events") or {}
    accounts_in = (run.get("inputs") or {}).get("accounts")
    rejected = events.get("rejected") or {}
    rejected_shown = rejected_text(sorted(rejected.items()), events.get("rejected_rows"), number_text)
    inputs = [("events file", events.get("path", "")), ("rows read", number_text(events.get("rows_read", ""))),
              ("rows kept", number_text(events.get("rows_kept", ""))), ("rows rejected", rejected_shown),
              ("columns", ", ".join(events.get("columns") or []))]
    if accounts_in:
        acc_rejected = rejected_text(sorted((accounts_in.get("rejected") or {}).items()), None, number_text)
        inputs += [("accounts file", accounts_in.get("path", "")),
                   ("accounts rows read", number_text(accounts_in.get("rows_read", ""))),
                   ("accounts rows rejected", acc_rejected)]
    else:
        inputs.append(("accounts file", "none"))
    timings = run.get("timings") or {}
    timing_pairs = [(k, f"{float(v):.2f} s") for k, v in timings.items()]
    timing_pairs.append(("total", f"{sum(float(v) for v in timings.values()):.2f} s"))
    return {
        "inputs": inputs,
        "warnings": [str(w) for w in run.get("warnings") or []],
        "counts": [(k, number_text(v)) for k, v in sorted(counts.items())],
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
    link = lambda c: pl.when(c.is_in(section_ids)).then(pl.format("cluster-{}", c))  # noqa: E731 - to its section
    ident = Column("cluster", fmt_int(pl.col("cluster_id")), numeric=True, sort=pl.col("cluster_id"),
                   link=link(pl.col("cluster_id")))
    kinds = kinds_text_expr("kinds") if "kinds" in shown.columns else pl.lit("")  # named as every view names them
    shown = shown if "why" in shown.columns else shown.with_columns(why=pl.lit(None, pl.String))  # none: no flag basis claimed
    why = pl.col("why").fill_null("")
    main = build_table(shown, [
        ident,
        Column("size", fmt_int(pl.col("size")), numeric=True, sort=pl.col("size")),
        Column("score", fmt_float(pl.col("score")), numeric=True, sort=pl.col("score"),
               title="Higher is more suspicious"),
        Column("flagged", flag_basis_expr(min_flag_size=flag_settings(outputs.run)[1],  # "with cluster 12" links to 12
                                          campaign="campaign_id" if "campaign_id" in shown.columns else None), css="flagcell", title=FLAG_TITLE,
               link=link(why.str.extract(LEAD_PATTERN, 2).cast(pl.Int64))),
        *([Column("campaign", pl.col("campaign_id").cast(pl.String), link=pl.concat_str(
            [pl.lit("campaign-"), pl.col("campaign_id").cast(pl.String)]))] if "campaign_id" in shown.columns else []),
        *([Column("runs", fmt_int(pl.col("runs")), numeric=True, sort=pl.col("runs"),
                  title="Detect runs in a row (--previous) this cluster has been found in")]
          if "runs" in shown.columns else []),
        Column("linked by", kinds, cell_title=kinds, css="kinds"),
        Column("why", why, cell_title=why, css="why"),
    ], table_id="clusters", css_class="ranked")
    comps = build_table(shown, [
        ident,
        Column("score", fmt_float(pl.col("score")), numeric=True, sort=pl.col("score")),
        *[Column(component_label(name), fmt_number(pl.col(name), shown.schema[name]), numeric=True, sort=pl.col(name),
                 title=f"clusters.parquet column {name}") for name in components],
    ], table_id="components")
    note = "Click a column header to sort; hover a reason to read it whole. Clusters with a section link to it."
    if total > shown.height:
        note += (f" Showing the {shown.height:,} first of {total:,} clusters (flagged first, then by score); "
                 "all are in clusters.parquet.")
    return main, comps, note


def cluster_context(outputs: Outputs, cluster_id: int, options: ReportOptions,
                    events: MemberEvents | None = None, drawn: SectionPlots | None = None, ties=None) -> dict[str, Any]:
    """Everything the cluster section template shows, as plain values (``drawn``: its plots, being drawn; ``ties``:
    the loaded members' :func:`graphlink.views.member_ties.outputs_member_ties`, if already built)."""
    row = outputs.cluster_row(cluster_id)
    # Why each member is in it, weakest tie first as show and members.csv list them (nu41: a bystander sharing
    # addresses only was row 221 of 224, most active first).
    members = with_member_ties(outputs.members(cluster_id), outputs, cluster_id, sort="strength", ties=ties)
    activity, memberships = outputs.cluster_activity(cluster_id), outputs.cluster_memberships(cluster_id)
    evidence = timing_meanings(outputs.cluster_evidence(cluster_id), memberships, activity, timing_bucket(outputs.run))
    first, last = members["first_seen"].min(), members["last_seen"].max()
    active = f" · active {first:%Y-%m-%d} to {last:%Y-%m-%d} UTC" if first is not None and last is not None else ""
    kinds = kinds_text(row.get("kinds"))
    shown = members.head(options.max_members)
    member_note = ""
    if members.height > shown.height:
        member_note = (f"Showing the {shown.height:,} weakest-tied of {members.height:,} members; "
                       f"export all with: {csv_export_command(outputs.path, cluster_id, bool(outputs.redaction))}")
    apart = set_apart_line(set_apart_from(outputs, cluster_id), folder=shell_path(outputs.path),  # who, and why
                           more=f"{csv_export_command(outputs.path, cluster_id, bool(outputs.redaction))} lists them all "
                                "in set_apart.csv")
    # Spelled safe once, by the templates' finalize (visible_text): spelling it here too wrote an id's U+202E as
    # "⟨U+27E8⟩U+202E⟩" (finalize spells a logged "⟨" before "U+" so that it cannot pass for a spelled character).
    member_note = " ".join(part for part in (member_note, apart) if part)
    figures, notes = (drawn.get(cluster_id) if drawn is not None else section_plots(
        cluster_id, activity, memberships, options.max_network_nodes, options.seed) if options.plots else ([], []))
    network = None
    if options.interactive and memberships is not None:
        network = network_data(memberships, max_nodes=options.max_network_nodes, seed=options.seed)
    return {
        "id": int(cluster_id),
        "flagged": bool(row.get("flagged")),
        "flag_words": flag_words(flag_basis(row, flag_settings(outputs.run)[1])),  # on its own evidence, with cluster 12: the badge
        "subtitle": (f"{plural(int(row['size']), 'account')} · score {float(row['score']):.3f}"
                     f"{f', {note}' if (note := score_note(row, outputs.run, outputs.campaigns)) else ''} · linked by {kinds}{active}"
                     f"{history_text(row)}"),
        # ... and the clusters whose flag came from this one (graphlink.stages.tie_words.carried_to), as show lists them
        "why": why_reasons(row.get("why")) + [f"flag carried to {carried_text(c)}" for c in [carried_to(outputs.clusters, cluster_id)] if c],
        "components": [(component_label(name), value_text(row.get(name))) for name in score_columns(outputs.clusters)],
        "evidence": evidence_context(cluster_id, evidence, int(row["size"]), events, members, options,
                                     outputs_shared_totals(outputs, cluster_id)),  # of how many per kind
        "figures": figures,
        "network": network,
        "plots_note": "",
        "notes": notes,
        "n_members": f"{members.height:,}",
        "member_note": member_note,
        "members": build_table(shown, member_columns(), table_id=f"members-{int(cluster_id)}"),
        # What tied an inherited flag (graphlink.stages.tie_evidence): the values, not only their count in the why.
        "ties": (build_table(tying, tie_columns(), table_id=f"ties-{int(cluster_id)}")  # headed as show heads them
                 if (tying := tying_values(evidence, passages=True)).height else None),
        "n_ties": passage_summary(tying),  # prompt phrases read as the passages they overlap into
        "tied_to_several": bool(also_tied_to(row.get("why") or "")),
    }


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
    from graphlink.store.outputs import read_clusters

    clusters = read_clusters(out_dir)
    flagged, unflagged = _section_plan(clusters, options)
    return sorted(flagged + unflagged)


def section_ids(outputs: Outputs, options: ReportOptions) -> list[int]:
    """Clusters that get a section, in report order: the ``max_sections`` highest-scoring flagged
    ones, then the ``max_unflagged_sections`` highest-scoring unflagged ones (only loaded clusters)."""
    loaded = pl.Series(outputs.selected, dtype=pl.Int64).implode()
    flagged, unflagged = _section_plan(outputs.clusters.filter(pl.col("cluster_id").is_in(loaded)), options)
    return flagged + unflagged


def campaigns_context(outputs: Outputs, sections: set[int], options: ReportOptions) -> dict[str, Any] | None:
    """The campaigns table and sections, when the folder has ``campaigns.parquet`` (operator level).

    Expected columns: ``campaign_id``, ``clusters`` (list of cluster ids),
    ``accounts``, ``score``, ``flagged``, ``why``; missing optional columns
    are tolerated. Campaigns come first in the report, ranked by :func:`ranked_campaigns`.
    """
    campaigns = outputs.campaigns  # read with the folder (graphlink.store.outputs.load_outputs)
    if campaigns is None or "campaign_id" not in campaigns.columns:
        return None
    defaults = {"clusters": pl.lit(None, pl.List(pl.Int64)), "accounts": pl.lit(None, pl.Int64),
                "score": pl.lit(None, pl.Float64), "flagged": pl.lit(False), "why": pl.lit("")}
    campaigns = campaigns.with_columns([v.alias(k) for k, v in defaults.items() if k not in campaigns.columns])
    campaigns = ranked_campaigns(campaigns)
    # A section for every flagged campaign and every campaign of two or more clusters;
    # a lone unflagged cluster is its own campaign and has nothing to add.
    has_section = pl.col("flagged").fill_null(False) | (pl.col("clusters").list.len() >= 2)
    # Only those are listed (nu41: ~15 rows of "1 cluster, 8 accounts" filled the first screen after the flagged
    # ones): an unflagged one-cluster campaign is its cluster, which the cluster table lists.
    lone = campaigns.filter(~has_section).height
    shown = campaigns.filter(has_section).head(options.max_table_rows)
    table = build_table(shown, [
        Column("campaign", pl.col("campaign_id").cast(pl.String), link=pl.when(has_section).then(pl.concat_str(
            [pl.lit("campaign-"), pl.col("campaign_id").cast(pl.String)]))),
        Column("clusters", pl.col("clusters").list.len(), numeric=True, sort=pl.col("clusters").list.len()),
        Column("accounts", fmt_int(pl.col("accounts")), numeric=True, sort=pl.col("accounts")),
        Column("score", fmt_float(pl.col("score")), numeric=True, sort=pl.col("score")),
        Column("flagged", pl.when(pl.col("flagged")).then(pl.lit("flagged")).otherwise(pl.lit("")), css="flagcell"),
        Column("why", pl.col("why"), cell_title=pl.col("why"), css="why"),
    ], table_id="campaigns", css_class="ranked")
    items = []
    for row in shown.filter(has_section).iter_rows(named=True):
        clusters = sorted(int(c) for c in (row["clusters"] or []))
        accounts = f"{plural(int(row['accounts']), 'account')} · " if row["accounts"] is not None else ""
        score = f"score {float(row['score']):.3f}" if row["score"] is not None else "no score"
        items.append({"id": str(row["campaign_id"]), "flagged": bool(row["flagged"]),
                      "summary": f"{accounts}{plural(len(clusters), 'cluster')} · {score}",
                      "why": why_reasons(row["why"]),
                      "clusters": [(c, c in sections) for c in clusters],
                      "ties": campaign_ties_context(outputs, row["campaign_id"], clusters)})
    note = (f"{plural(lone, 'unflagged campaign')} of one cluster each not listed: the cluster table lists their "
            "clusters." if lone else "")
    return {"table": table, "sections": items, "note": note}


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
        The members' original events (:func:`graphlink.views.report.members.member_events`), for schedules
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
        notes.append(left_out_note(outputs.clusters, set(ids), n_flagged_sections, outputs.path))
    if len(ids) > n_flagged_sections:
        notes.append(unflagged_note(outputs.clusters, ids[n_flagged_sections:], outputs.run))
    if events is not None and events.note:
        notes.append(events.note)
    main, comps, table_note = cluster_tables(outputs, set(ids), options)
    with start_section_plots(outputs, ids, enabled=options.plots, max_nodes=options.max_network_nodes,
                             seed=options.seed, workers=options.workers) as drawn:  # a share in helper processes
        ties = outputs_member_ties(outputs)  # every section's members, built once
        sections = [cluster_context(outputs, c, options, events, drawn, ties) for c in ids]
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
