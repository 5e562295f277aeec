"""Terminal renderings: one cluster for ``graphlink show``.

Functions here build rich renderables and return them; the CLI prints them.
Logged values are attacker-written and pass through
:func:`graphlink.views.safety.terminal_safe`.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from graphlink.config.kinds import kind_name, kinds_text
from graphlink.contract import component_label, why_reasons
from graphlink.phrase_quotes import shown_value
from graphlink.stages.tie_words import carried_text, carried_to
from graphlink.store.folder import Outputs, score_columns
from graphlink.views.explain import (TIE_HEADERS, discount_note, flag_basis, flag_basis_expr, flag_explanation,
                                     flag_settings, flag_words, score_note, tied_to_text)
from graphlink.views.member_behaviour import behaviour_text
from graphlink.views.member_ties import TERMINAL_CHARS, short_tied_by
from graphlink.views.passages import passage_kind_name, passage_summary, with_passages
from graphlink.views.safety import LINE_BREAK, Spelled, spell_invisible, terminal_safe
from graphlink.views.words import campaign_ids_text, csv_export_command, more_text, plural

__all__ = ["CLUSTER_HEADERS", "StageProgress", "cluster_json", "cluster_rows", "cluster_tables", "clusters_table",
           "human_size", "plain_argument_usage", "previous_summary", "sparkline", "tsv_cell"]


def sparkline(values: list[int]) -> str:
    """Unicode block sparkline of non-negative counts.

    Examples
    --------
    >>> sparkline([0, 1, 2, 4])
    ' ▂▄█'
    """
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(values) if values else 0
    if top <= 0:
        return " " * len(values)
    return "".join(blocks[0 if v <= 0 else max(1, round(v / top * 8))] for v in values)


# --------------------------------------------------------------------------- detect summary and progress

#: Detect's table of top clusters as piped rows have it: ``flag`` (last, so the columns before keep their place) is
#: what the flag rests on (:func:`graphlink.views.explain.flag_basis_expr`: ``own evidence``, ``own score, size of
#: campaign 4``, ``with cluster 12``).
CLUSTER_HEADERS = ["cluster", "size", "score", "flagged", "campaign", "linked by", "why", "flag"]


def clusters_table(clusters: pl.DataFrame, top: int, title: str, run: dict | None = None) -> Table:
    """Detect's table of top clusters on a terminal: ``flagged`` says what the flag rests on (``own evidence``, ``own
    score, size of campaign 4``: its campaign's accounts counted for ``min_flag_size``, ``with cluster 12``: inherited
    with its operator; ``run``: the run's ``run.json``, its ``min_flag_size``) and ``linked by`` names the three
    strongest kinds (``, 4 more``); the piped rows name every kind (:func:`cluster_rows`)."""
    table = Table(title=title, title_justify="left")
    for name, justify in zip(CLUSTER_HEADERS[:7], ("right", "right", "right", "left", "right", "left", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    ranked = _ranked(clusters, top, run)  # kinds from the list: a --signal column's name may hold ", "
    for row, kinds in zip(_rows(ranked), ranked["kinds"].to_list()):
        table.add_row(str(row[0]), f"{row[1]:,}", f"{row[2]:.3f}", row[7], "" if row[4] is None else str(row[4]),
                      Text(terminal_safe(kinds_text(kinds or [], empty="", most=3))),
                      Text(terminal_safe(row[6], limit=160)))
    return table


def cluster_rows(clusters: pl.DataFrame, top: int, run: dict | None = None, words: bool = False) -> list[list]:
    """The summary's top clusters (flagged first, then by score) as plain values, in ``CLUSTER_HEADERS`` order
    (``campaign`` None for a cluster in no campaign, or an output written before campaigns). ``linked by``: the
    kinds' codes (``--json``), or with ``words`` their names as the terminal gives them, every kind (piped rows)."""
    return _rows(_ranked(clusters, top, run), words)


def _ranked(clusters: pl.DataFrame, top: int, run: dict | None = None) -> pl.DataFrame:
    # Ties broken by cluster id, so the table and detect's "next:" hint name the same first cluster.
    return clusters.sort(["flagged", "score", "size", "cluster_id"], descending=[True, True, True, False]).head(top).with_columns(
        flag_basis_expr(min_flag_size=flag_settings(run or {})[1]))


def _rows(ranked: pl.DataFrame, words: bool = False) -> list[list]:
    # Unflagged and discounted for a private e-mail domain: said before the reasons (new-user review, session 51).
    return [[row["cluster_id"], row["size"], round(float(row["score"]), 3), bool(row["flagged"]),
             row.get("campaign_id"), kinds_text(row["kinds"] or [], empty="") if words else ", ".join(row["kinds"] or []),
             "; ".join(t for t in ("" if row["flagged"] else discount_note(row), row.get("why") or "") if t), row["flag"]]
            for row in ranked.iter_rows(named=True)]


class StageProgress:
    """Rich progress for detect on a terminal: stage k of n, the current stage, elapsed time, done stages."""

    STAGES = ("ingest", "signals", "graph", "communities", "scoring", "drilldown")

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, \
            TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("stages"), TimeElapsedColumn(),
                                 console=console, transient=False)
        self.task = self.progress.add_task("starting", total=len(self.STAGES))
        self.current: str | None = None
        self.started = 0.0

    def __enter__(self) -> StageProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._finish_stage()
        self.progress.__exit__(*exc)

    def _finish_stage(self) -> None:
        import time

        if self.current is not None:
            self.progress.console.print(f"[dim]✓ {self.current} {time.perf_counter() - self.started:.1f} s[/dim]")
            self.progress.advance(self.task)
            self.current = None

    def __call__(self, stage: str) -> None:
        import time

        self._finish_stage()
        self.current, self.started = stage, time.perf_counter()
        self.progress.update(self.task, description=stage)


# --------------------------------------------------------------------------- show


def _cluster_parts(outputs: Outputs, cluster_id: int, all_values: bool, sort: str = "events"):
    from graphlink.views.evidence import evidence_by_kind
    from graphlink.views.explain import tying_values
    from graphlink.views.member_ties import with_member_ties
    from graphlink.views.schedule import timing_bucket, timing_meanings

    row = outputs.cluster_row(cluster_id)
    member_rows = with_member_ties(outputs.members(cluster_id), outputs, cluster_id, sort)  # why each is in it
    all_evidence = timing_meanings(outputs.cluster_evidence(cluster_id), outputs.cluster_memberships(cluster_id),
                                   outputs.cluster_activity(cluster_id), timing_bucket(outputs.run))
    groups = evidence_by_kind(all_evidence, int(row["size"]), include_zero=all_values)
    hidden = 0 if all_values else int((all_evidence["weight"].fill_null(0.0) <= 0).sum())
    evidence_rows = (pl.concat([g.values.with_columns(pl.lit(g.kind).alias("kind")) for g in groups],
                               how="vertical_relaxed")
                     .select("kind", "value", "accounts_sharing", "weight", "df", "meaning") if groups
                     else all_evidence.clear().select("kind", "value", "accounts_sharing", "weight", "df", "meaning"))
    return row, member_rows, evidence_rows, hidden, outputs.hour_profile(cluster_id), tying_values(all_evidence)


def _evidence_totals(outputs: Outputs, cluster_id: int, evidence_rows: pl.DataFrame, shown: pl.DataFrame) -> tuple[str, str]:
    """What ``show``'s evidence title adds to the rows it prints, ``shown`` (`` of 1,571+ shared``, over every kind of
    ``evidence_rows``: it does not shrink with ``--evidence``, nu46), and the caption naming the kinds ``evidence.parquet``
    cut among the printed rows (:func:`graphlink.views.shared_counts.totals_caption`, nu43); ``("", "")`` if none is cut."""
    from graphlink.views.shared_counts import outputs_shared_totals, totals_caption

    totals, linking = outputs_shared_totals(outputs, cluster_id), evidence_rows.filter(pl.col("weight").fill_null(0.0) > 0)
    if not totals_caption(totals, linking):
        return "", ""
    caption = totals_caption(totals, shown.filter(pl.col("weight").fill_null(0.0) > 0))
    listed = linking.group_by("kind").agg(pl.len().alias("n"))
    total = (listed.join(totals, on="kind", how="left")
             .select(pl.max_horizontal("n", pl.col("shared").fill_null(0)).sum(), pl.col("lower_bound").fill_null(False).any()))
    zero = evidence_rows.height - linking.height
    return f"{shown.height:,} of {int(total.item(0, 0)) + zero:,}{'+' if total.item(0, 1) else ''} shared", caption


def cluster_json(outputs: Outputs, cluster_id: int, *, members: int = 25, evidence: int = 30,
                 all_values: bool = False, sort: str = "events") -> dict[str, Any]:
    """One cluster for ``show --json``: its row, reasons, hour profile, members (with ``tie_strength`` and ``tied_by``,
    :mod:`graphlink.views.member_ties`; ``sort``: ``events`` or ``strength``) and evidence (strongest kind first)."""
    row, member_rows, evidence_rows, hidden, hours, tying = _cluster_parts(outputs, cluster_id, all_values, sort)
    explained = flag_explanation(row, outputs.run, outputs.campaigns, outputs.clusters)  # as the case file has them
    return {"cluster": row, **{k: v for k, v in explained.items() if k != "why"},
            "tied_by": tying.to_dicts(),
            "redaction": outputs.redaction, "hours_utc": hours,
            "members_total": member_rows.height, "members": member_rows.head(members).to_dicts(),
            "evidence_total": evidence_rows.height, "evidence_hidden_weight_0": hidden,
            "evidence": evidence_rows.head(evidence).to_dicts()}


def cluster_tables(outputs: Outputs, cluster_id: int, *, members: int = 25, evidence: int = 30, all_values: bool = False,
                   sort: str = "events", width: int | None = None) -> tuple[list[Text], list[tuple[Table, list[list], list[str]]]]:
    """``show``: heading lines, then (rich table, plain rows, headers) for reasons, members and evidence.

    Evidence is grouped by kind, strongest kind first (:func:`graphlink.views.evidence.evidence_by_kind`);
    values of weight 0 are hidden unless ``all_values``. The CLI prints the rich tables on a terminal
    and the plain rows, tab-separated, otherwise.
    """
    row, member_rows, evidence_rows, hidden, hours, tying = _cluster_parts(outputs, cluster_id, all_values, sort)
    title = Text(f"Cluster {cluster_id}", style="bold")
    if row["flagged"]:  # on its own evidence or score, or with the flagged cluster (its operator's) it is tied to
        words = flag_words(flag_basis(row, flag_settings(outputs.run)[1]))  # no why: no claim
        title.append(f"  flagged {words}".rstrip(), style="bold red")
    first, last = member_rows["first_seen"].min(), member_rows["last_seen"].max()
    active = f"; active {first:%Y-%m-%d} to {last:%Y-%m-%d} UTC" if first and last else ""
    note = score_note(row, outputs.run, outputs.campaigns)  # a flag the score alone would not give: say where it came from
    heading = [title, Text(f"{plural(row['size'], 'account')}; score {row['score']:.3f}{f', {note}' if note else ''}"
                           f"{active}")]
    if row.get("campaign_id") is not None and outputs.campaigns is not None:
        camp = outputs.campaigns.filter(pl.col("campaign_id") == row["campaign_id"])
        if camp.height:
            heading.append(Text(f"campaign {row['campaign_id']}: {terminal_safe(camp['why'][0], limit=1000)}"))
    if outputs.redaction:
        heading.append(Text(f"redacted: {outputs.redaction}", style="yellow"))

    reasons = Table(title="Reasons", title_justify="left", show_header=False, box=None, padding=(0, 2))
    reasons.add_column("what", style="dim")
    reasons.add_column("value", overflow="fold")
    reason_rows: list[list] = []
    reason_rows += [["why", terminal_safe(reason, limit=300)] for reason in why_reasons(row.get("why")) or ["no shared evidence recorded"]]
    reason_rows += [["flag carried to", carried_text(c)] for c in [carried_to(outputs.clusters, cluster_id)] if c]  # ties to it
    for name in score_columns(outputs.clusters):  # read, not parsed (--json has the columns): named as the report does
        reason_rows.append([component_label(name), component_text(row[name])])
    reason_rows.append(["linked by", kinds_text(row.get("kinds"))])
    if hours and any(hours):
        reason_rows.append(["hours (UTC)", f"00 {sparkline(hours)} 23"])
    for what, value in reason_rows:
        reasons.add_row(Text(terminal_safe(what)), Text(terminal_safe(value)))

    table, member_list, member_headers = member_table(outputs, cluster_id, member_rows, members, sort, width)

    # Counted over the rows printed (--evidence): "(10 listed)" is what the table shows (new-user review nu43).
    of_total, cut = _evidence_totals(outputs, cluster_id, evidence_rows, evidence_rows.head(evidence))
    ev_table = Table(title=f"Shared evidence, strongest kind first ({of_total or f'{evidence_rows.height:,}'})",
                     title_justify="left", caption_justify="left")
    ev_headers = ["kind", "value", "sharing", "weight", "in input"]
    for name, justify in zip(ev_headers, ("left", "left", "right", "right", "right")):
        ev_table.add_column(name, justify=justify, overflow="fold")
    # A timing value is a hash: show what it means (who acts in the same windows, and when); a phrase, its numbers as ⟨#⟩.
    ev_list = [[e["kind"], e["meaning"] or shown_value(e["kind"], e["value"]), e["accounts_sharing"], round(e["weight"], 3),
                e["df"]] for e in evidence_rows.head(evidence).iter_rows(named=True)]
    for r in ev_list:  # the kind as every view names it (graphlink.config.kinds); piped rows keep its code
        ev_table.add_row(Text(terminal_safe(kind_name(r[0]))), Text(terminal_safe(r[1], limit=120)), f"{r[2]:,}",
                         f"{r[3]:.3f}", f"{r[4]:,}")
    notes = [cut] if cut else []
    if evidence_rows.height > evidence:
        notes.append(more_text(evidence_rows.height, evidence))
    if hidden:
        notes.append(f"{plural(hidden, 'value')} too common to link hidden: --all-values")
    if notes:
        ev_table.caption = Text("; ".join(notes))  # plain text, never markup
    tables = [(reasons, reason_rows, ["what", "value"])]
    if tying.height and evidence:  # what tied an inherited flag, listed whole up to --evidence, phrases as passages
        tying = with_passages(tying)
        tie_table = Table(title=f"Values that tied it to {tied_to_text(row.get('why') or '')} ({passage_summary(tying)})",
                          title_justify="left")
        tie_headers = list(TIE_HEADERS)  # as the report's table of them
        for name, justify in zip(tie_headers, ("left", "left", "right", "right", "right")):
            tie_table.add_column(name, justify=justify, overflow="fold")
        tie_list = [list(r[:5]) for r in tying.head(evidence).iter_rows()]  # piped: the kind's code, the passage's text
        for r, phrases in zip(tie_list, tying["phrases"]):
            tie_table.add_row(Text(terminal_safe(passage_kind_name(r[0], phrases))), Text(terminal_safe(r[1], limit=120)), f"{r[2]:,}", f"{r[3]:,}",
                              "" if r[4] is None else f"{r[4]:,}")
        if tying.height > evidence:
            tie_table.caption = more_text(tying.height, evidence)
        tables.append((tie_table, tie_list, tie_headers))
    # A count of 0 (--members 0, --evidence 0) leaves that list out, not an empty table with "N more".
    return heading, [*tables, *([(table, member_list, member_headers)] if members else []),
                     *([(ev_table, ev_list, ev_headers)] if evidence else [])]


#: Below this many columns ``show``'s member table leaves out first and last seen (the heading gives the cluster's
#: active span) and cuts ``tied by`` to about two lines: at 80 columns a member took 16 lines, ids broken in two.
NARROW_COLUMNS = 140


def member_table(outputs: Outputs, cluster_id: int, member_rows: pl.DataFrame, members: int, sort: str,
                 width: int | None = None) -> tuple[Table, list[list], list[str]]:
    """``show``'s member table for a terminal ``width`` columns wide (None: wide), its plain rows and their headers.

    The plain rows (piped, whole) keep every column; the table keeps whole account ids on a line and, under
    :data:`NARROW_COLUMNS`, leaves out first and last seen and cuts ``tied by`` to what two lines hold."""
    stamp = lambda t: f"{t:%Y-%m-%d %H:%M}" if t is not None else ""  # noqa: E731
    member_headers = ["account", "events", "first seen (UTC)", "last seen (UTC)", "strength", "shares", "tied by"]
    shown, narrow = member_rows.head(members), width is not None and width < NARROW_COLUMNS
    member_list = [[m["account_id"], m["events"], stamp(m["first_seen"]), stamp(m["last_seen"]),  # strength: share of its
                    "" if m["tie_strength"] is None else f"{m['tie_strength']:.2f}", shares, m["tied_by"]]  # link weight inside
                   for m, shares in zip(shown.iter_rows(named=True), behaviour_text(shown, brief=narrow))]  # (a join's label)
    ids = [terminal_safe(r[0], limit=80) for r in member_list]
    id_width = min(max((len(i) for i in ids), default=7), 24)
    # shares: what of the cluster's behaviour the member shares; narrow, it opens the tied-by cell ("addresses only —
    # IP address ..."): a column of its own left tied by too little at 80 columns (a member took four lines).
    keep = [0, 1, 4, 6] if narrow else list(range(7))
    shares_width = min(max((len(r[5]) for r in member_list), default=6), 18)
    # A proxy fleet's member is tied by a dozen kinds: the terminal shows the strongest that fit (short_tied_by), the
    # piped rows, --json and the exports the whole text: what about two lines of the column left hold.
    widths = (id_width, 6, 16, 16, 8, shares_width)  # each column's text, then 3 for its padding and border
    left = None if width is None else width - 1 - sum(widths[i] + 3 for i in keep[:-1]) - 3  # tied by's width
    chars = TERMINAL_CHARS if left is None else min(TERMINAL_CHARS, max(40, 2 * left - 6))
    lead = max((len(r[5]) + 3 for r in member_list if r[5]), default=0) if narrow else 0  # "addresses only — "
    short = shown.select(short_tied_by(pl.col("tied_by"), max(20, chars - lead)))["tied_by"].to_list()
    # Without any member's tie strength (a folder written before links.parquet/linking.parquet) "strength" keeps the
    # events order: the title says the order the rows are in, not the one asked for.
    ranked = sort == "strength" and any(member_rows[c].is_not_null().any() for c in ("tie_strength", "shared_behaviour")
                                        if c in member_rows.columns)
    order = "weakest tie first" if ranked else "most active first"
    if sort == "strength" and not ranked:  # asked for, not possible: say why rather than retitle silently
        why = ("" if outputs is None else ": this folder has no linking.parquet" if outputs.member_linking is None
               else ": no member shares a card or address with another account")
        order += f" (no tie strength to order by{why})"
    table = Table(title=f"Members ({member_rows.height:,}), {order}", title_justify="left")
    for i in keep:
        header = "shares — tied by" if narrow and i == 6 else member_headers[i]
        table.add_column(header, justify="right" if i in (1, 4) else "left", overflow="fold",
                         min_width=id_width if i == 0 else None, no_wrap=i in (1, 2, 3, 4))
    for r, account, tied in zip(member_list, ids, short):
        tied = f"{r[5]} — {tied}" if narrow and r[5] else tied
        cells = [Text(account), f"{r[1]:,}", r[2], r[3], r[4], Text(terminal_safe(r[5])), Text(terminal_safe(tied))]
        table.add_row(*(cells[i] for i in keep))
    notes = []
    if any(t != r[6] for t, r in zip(short, member_list)):  # a footer: the terminal's alone, piped rows are whole
        table.show_footer = True
        table.columns[-1].footer = Text(f"cut to {max(20, chars - lead)} characters: --json or the export "
                                        "lists every kind")
    if narrow and member_list:
        notes.append(f"first and last seen: a wider terminal (COLUMNS={NARROW_COLUMNS}), --json or the export")
    if member_rows.height > members:  # not markup; a redacted view points at a redacted export
        notes.append(f"{member_rows.height - members:,} more: --members {member_rows.height}, or "
                     + csv_export_command(outputs.path, cluster_id, bool(outputs.redaction)))
    if notes:
        table.caption = Text(terminal_safe("; ".join(notes)))
    return table, member_list, member_headers


# --------------------------------------------------------------------------- CLI help and piped output


def plain_argument_usage() -> None:
    """Show required arguments as ``EVENTS`` (not ``{EVENTS}``) in usage lines (typer >= 0.20 braces them)."""
    argument = getattr(typer.core, "TyperArgument", None)
    if argument is not None and hasattr(argument, "_usage_display_name"):
        def usage(self) -> str:
            name = self.metavar or self.name.upper()
            name = name if self.required else f"[{name}]"
            return name + ("..." if self.nargs != 1 else "")

        argument._usage_display_name = usage
    if argument is not None and hasattr(argument, "display_type"):
        original = argument.display_type

        def display_type(self, ctx):  # the metavar says it: EVENTS, not EVENTS <path>
            return "" if self.metavar else original(self, ctx)

        argument.display_type = display_type


def component_text(value: Any) -> str:
    """A score component as shown: 3 decimals, ``n/a`` when the log lacks its data (null).

    Examples
    --------
    >>> component_text(0.12345), component_text(None), component_text(1)
    ('0.123', 'n/a', '1')
    """
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else f"{value}"


def tsv_cell(value) -> str:
    r"""A table cell as plain text for tab-separated output: exact, but for tabs, line breaks and unseen characters.

    Piped output is for scripts (``cut``, ``--seeds`` files) and read by people: ids and values are written as
    they are (no formula prefix), but tabs and newlines (and the other line breaks, NEL, U+2028 and U+2029:
    :data:`graphlink.views.safety.LINE_BREAKS`) become spaces and control and invisible characters (an escape,
    a bidi override) are spelled ``⟨U+001B⟩`` as on the terminal (:func:`graphlink.views.safety.spell_invisible`;
    ``expand --seeds`` and ``match`` read a spelled id back), so printing the stream can neither drive a terminal
    nor reorder a row; text spelled already (:class:`graphlink.views.safety.Spelled`: a ``why``, a template) is not
    spelled twice. For a spreadsheet use ``graphlink export --format csv`` (:func:`graphlink.views.safety.csv_safe`).

    Examples
    --------
    >>> tsv_cell("a\tb\nc"), tsv_cell(None), tsv_cell(0.5), tsv_cell("-42"), tsv_cell("\x1b[2J\u202e")
    ('a b c', '', '0.5', '-42', '⟨U+001B⟩[2J⟨U+202E⟩')
    """
    if value is None:
        return ""
    text = str(value).replace("\t", " ").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return text if isinstance(value, Spelled) else spell_invisible(text if text.isascii() else LINE_BREAK.sub(" ", text))


def previous_summary(section: dict, limit: int = 12) -> str:
    """One line on how this run's cluster ids relate to the previous run's."""
    def ids(values: list[int]) -> str:
        shown = ", ".join(str(v) for v in values[:limit])
        return f" ({shown}{', …' if len(values) > limit else ''})" if values else ""

    later = section.get("later_seconds")
    period = ("; members gone quiet are not counted (this log does not reach past the previous run's last "
              "event, or either run has no times)"
              if later is None else f"; members gone quiet counted over the {duration_text(later)} after the "
              "previous run's last event")
    if section.get("same_log"):
        period += "; the same log as the previous run, so no cluster's run count grew"
    return (f"vs previous run: {plural(section['matched'], 'cluster')} kept their id, "
            f"{section['new']:,} new{ids(section['new_ids'])}, "
            + (f"{section['merged']:,} merged into another{ids(section['merged_ids'])}, " if section.get("merged") else "")
            + f"{section['vanished']:,} vanished{ids(section['vanished_ids'])}{flagged_gone(section, limit)}"
            + (f"; {plural(len(lost), 'cluster')} flagged before not flagged now{ids(lost)}" if (lost := section.get("unflagged_ids")) else "")
            + period + campaign_ids_text(section.get("campaigns")))  # campaign ids kept too (graphlink.stages.stable_campaigns)


def flagged_gone(section: dict, limit: int = 12) -> str:
    """``; 3 of them flagged before: 15 (now in 602, 608), 128 (not clustered in this log), 131 (none of its members
    in this log)`` ('' when none or unknown; 131's wording needs ``vanished_flagged_absent``, else it reads as 128's)."""
    gone, to = section.get("vanished_flagged_ids") or [], section.get("vanished_flagged_to") or {}
    absent = set(section.get("vanished_flagged_absent") or [])
    parts = [f"{g} ({'now in ' + ', '.join(str(c) for c in to[str(g)][:limit]) if to.get(str(g)) else 'none of its members in this log' if g in absent else 'not clustered in this log'})"
             for g in gone[:limit]]
    return f"; {len(gone)} of them flagged before: {', '.join(parts)}{', …' if len(gone) > limit else ''}" if gone else ""


def duration_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``5.5 h``, ``3.2 days``.

    Examples
    --------
    >>> duration_text(1), duration_text(720), duration_text(19800), duration_text(276480)
    ('1 s', '12 min', '5.5 h', '3.2 days')
    """
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def human_size(n_bytes: int) -> str:
    """``1.2 MB``-style size.

    Examples
    --------
    >>> human_size(512), human_size(2_500_000)
    ('512 B', '2.4 MB')
    """
    size = float(n_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover
