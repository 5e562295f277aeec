"""``graphlink campaign``: one campaign in the terminal, its clusters side by side.

Parses its arguments, makes one library call (:func:`graphlink.views.campaign.campaign_view` over the two tables
:func:`graphlink.store.outputs.read_clusters` reads) and renders the result; library errors become a one-line
message and exit code 2 (:func:`graphlink.cli_support.cli_errors`). :mod:`graphlink.cli` registers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from graphlink.cli_support import QuietJsonOpt, cli_errors, emit_json, out, print_table
from graphlink.views.safety import terminal_safe
from graphlink.views.words import plural

__all__ = ["campaign_command"]

HEADERS = ["cluster", "size", "score", "flagged", "why"]


@cli_errors
def campaign_command(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                            help="Output folder written by graphlink detect --out.")],
    campaign_id: Annotated[int, typer.Argument(metavar="CAMPAIGN_ID", show_default=False,
                                               help="Campaign id (the campaign column of detect, show and report).")],
    shown: Annotated[int, typer.Option("--clusters", min=0, metavar="N",
                                       help="Clusters listed, flagged first, then by score (--json has all).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the campaign and all its clusters as JSON on "
                                                          "standard output.")] = False,
    quiet: QuietJsonOpt = False,
) -> None:
    """Show one campaign: why it is (not) flagged, what ties its clusters, and each cluster's size, score, flag and reason.

    A campaign is the clusters graphlink takes for one operator's cells; `show DIR CLUSTER_ID` opens one of them.
    """
    from graphlink.contract import CAMPAIGNS_FILE
    from graphlink.store.outputs import read_clusters
    from graphlink.views.campaign import CAMPAIGN_CLUSTER_COLUMNS, campaign_score_note, campaign_view

    campaigns = read_clusters(out_dir, ("campaign_id", "clusters", "accounts", "score", "flagged", "why"), CAMPAIGNS_FILE)
    row, members = campaign_view(campaigns, read_clusters(out_dir, CAMPAIGN_CLUSTER_COLUMNS), campaign_id)
    if as_json:
        emit_json({"campaign": {**{k: row[k] for k in ("campaign_id", "clusters", "accounts", "score", "flagged", "why")},
                                "score_note": campaign_score_note(row, members)},
                   "clusters": members.to_dicts()})
        return
    if quiet:
        return
    note = campaign_score_note(row, members)
    score = "no score" if row["score"] is None else f"score {row['score']:.3f} ({note})"
    flag = "flagged" if row["flagged"] else "not flagged"
    out.print(Text(f"campaign {campaign_id} · {flag} · {score} · {plural(len(row['clusters'] or []), 'cluster')} · "
                   f"{plural(int(row['accounts'] or 0), 'account')}"))
    out.print(Text(f"why: {terminal_safe(row['why'] or '')}"))
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
                 "flagged" if r["flagged"] else "", terminal_safe(r["why"] or "")]
        rows.append(cells)
        table.add_row(*(Text("" if c is None else str(c)) for c in cells))
    print_table(table, rows, HEADERS, titled=True)
