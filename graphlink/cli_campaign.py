"""``graphlink campaign``: one campaign in the terminal, its clusters side by side.

Parses its arguments, makes one library call (:func:`graphlink.views.campaign.campaign_view` over the two tables
:func:`graphlink.store.outputs.read_clusters` reads) and renders the result; library errors become a one-line
message and exit code 2 (:func:`graphlink.cli_support.cli_errors`). :mod:`graphlink.cli` registers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table
from rich.text import Text

from graphlink.cli_support import QuietJsonOpt, RedactKeyOpt, RedactOpt, cli_errors, emit_json, out, print_table
from graphlink.config.kinds import kind_name
from graphlink.phrase_quotes import shown_value
from graphlink.views.safety import terminal_safe
from graphlink.views.words import plural

__all__ = ["campaign_command"]

HEADERS = ["cluster", "size", "score", "flagged", "why"]  # flagged: what the flag rests on (flag_basis_expr)
TIE_HEADERS = ["kind", "value", "clusters", "accounts", "weight"]


@cli_errors
def campaign_command(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                            help="Output folder written by graphlink detect --out.")],
    campaign_id: Annotated[int, typer.Argument(metavar="CAMPAIGN_ID", show_default=False,
                                               help="Campaign id (the campaign column of detect, show and report).")],
    shown: Annotated[int, typer.Option("--clusters", min=0, metavar="N",
                                       help="Clusters listed, flagged first, then by score (--json has all).")] = 50,
    ties: Annotated[int, typer.Option("--ties", min=0, metavar="N",
                                      help="Values tying its clusters listed per kind (cards, identifiers, "
                                           "addresses, prompt phrases held in two or more of them), most clusters "
                                           "first; 0 lists none (--json has all).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the campaign, all its clusters and all the values "
                                                          "tying them as JSON on standard output.")] = False,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
    quiet: QuietJsonOpt = False,
) -> None:
    """Show one campaign: why it is (not) flagged, where its score comes from, each cluster's size, score, flag and
    reason, and the values that tie its clusters.

    A campaign is the clusters graphlink takes for one operator's cells; `show DIR CLUSTER_ID` opens one of them.
    """
    from graphlink.contract import CAMPAIGNS_FILE
    from graphlink.store.campaign_ties import ties_note
    from graphlink.store.folder import folder_path
    from graphlink.store.outputs import read_clusters, read_run
    from graphlink.views.campaign import CAMPAIGN_CLUSTER_COLUMNS, campaign_score_from, campaign_ties, campaign_view

    campaigns = read_clusters(out_dir, ("campaign_id", "clusters", "accounts", "score", "flagged", "why"), CAMPAIGNS_FILE)
    # flag: what each flag rests on, in the words of detect's table, show and the report (new-user review nu47)
    row, members = campaign_view(campaigns, read_clusters(out_dir, CAMPAIGN_CLUSTER_COLUMNS), campaign_id,
                                 read_run(folder_path(out_dir)), folder_path(out_dir))
    if quiet and not as_json:
        return
    tying = campaign_ties(out_dir, row["clusters"] or []) if (ties or as_json) else None
    note = ties_note(folder_path(out_dir))  # all the values the why counts, or an older folder's part of them
    redaction = None
    if redact or redact_key:  # the tying values and the reasons, hashed as show --redact hashes them
        row, members, tying, redaction = _redacted(out_dir, row, members, tying, redact_key)
    if as_json:
        emit_json({"campaign": {**{k: row[k] for k in ("campaign_id", "clusters", "accounts", "score", "flagged", "why")},
                                "score_from": campaign_score_from(row, members)},
                   "clusters": members.to_dicts(), "ties": tying.to_dicts(), "ties_note": note, "redaction": redaction})
        return
    score = "no score" if row["score"] is None else f"score {row['score']:.3f} ({campaign_score_from(row, members)})"
    flag = "flagged" if row["flagged"] else "not flagged"
    out.print(Text(f"campaign {campaign_id} · {flag} · {score} · {plural(len(row['clusters'] or []), 'cluster')} · "
                   f"{plural(int(row['accounts'] or 0), 'account')}"))
    out.print(Text(f"why: {terminal_safe(row['why'] or '')}"))
    if redaction:
        out.print(Text(f"redacted: {redaction}", style="yellow"))
    listed = members.head(shown)
    more = members.height - listed.height
    table = Table(title=f"clusters of campaign {campaign_id}",
                  caption=f"{more} more: --clusters {members.height}" if more else None)
    for name in HEADERS:
        table.add_column(name, justify="right" if name in ("cluster", "size", "score") else "left",
                         overflow="fold")
    rows = []
    for r in listed.iter_rows(named=True):
        cells = [r["cluster_id"], r["size"], None if r["score"] is None else f"{r['score']:.3f}",
                 r["flag"], terminal_safe(r["why"] or "")]
        rows.append(cells)
        table.add_row(*(Text("" if c is None else str(c)) for c in cells))
    print_table(table, rows, HEADERS, titled=True)
    if tying is None or len(row["clusters"] or []) < 2:
        return
    if tying.is_empty():  # a folder without linking.parquet and memberships.parquet (older), or a tie of other kinds
        out.print(Text("values tying its clusters: none in this folder (campaign_ties.parquet, or an older folder's "
                       "linking.parquet and memberships.parquet)"))
        return
    shown_ties = tying.filter(pl.int_range(pl.len()).over("kind") < ties)
    more = tying.height - shown_ties.height
    per_kind = tying.group_by("kind", maintain_order=True).len().rows()
    counts = ", ".join(f"{n:,} {kind_name(k, n)}" for k, n in per_kind)
    most = max(n for _, n in per_kind) if per_kind else 0
    table = Table(title=f"values tying its clusters: {counts}",
                  caption=f"{note}{f'; {more:,} more: --ties {most}' if more else ''}")
    for name in TIE_HEADERS:
        table.add_column(name, justify="right" if name in ("accounts", "weight") else "left", overflow="fold")
    rows = []  # piped: the kind's code and the value as logged (tsv_cell), as show's evidence rows
    for r in shown_ties.iter_rows(named=True):
        rest = [",".join(str(c) for c in r["clusters"]), r["accounts"], f"{r['weight']:.3f}"]
        value = shown_value(r["kind"], r["value"])  # a phrase's numbers as ⟨#⟩; --json keeps it as logged
        rows.append([r["kind"], value, *rest])
        table.add_row(*(Text(str(c)) for c in [kind_name(r["kind"]), terminal_safe(value, limit=80), *rest]))
    print_table(table, rows, TIE_HEADERS, titled=True)


def _redacted(out_dir: Path, row: dict, members: pl.DataFrame, tying: pl.DataFrame | None, key: str | None,
              ) -> tuple[dict, pl.DataFrame, pl.DataFrame | None, str]:
    """The campaign's row, clusters and tying values with cards, e-mail addresses and IPs hashed by one key (the
    clusters' reasons as :meth:`graphlink.store.redact.Redactor.outputs` redacts them for ``show --redact``)."""
    from graphlink.store.outputs import load_outputs
    from graphlink.store.redact import redactor_for

    outputs = load_outputs(out_dir, [int(c) for c in row["clusters"] or []])
    redactor = redactor_for(outputs, key)
    pairs = tying.select("kind", "value") if tying is not None else None
    whys = redactor.outputs(outputs, context=pairs).clusters.select("cluster_id", pl.col("why").alias("__why"))
    members = (members.join(whys, on="cluster_id", how="left", maintain_order="left")
               .with_columns(pl.coalesce("__why", "why").alias("why")).drop("__why"))
    if tying is not None:
        tying = redactor.apply_value_map(tying, redactor.value_map(pairs))
    row = {**row, "why": redactor.text(pl.Series([row["why"] or ""], dtype=pl.String))[0]}
    return row, members, tying, redactor.note
