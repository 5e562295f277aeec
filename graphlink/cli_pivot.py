"""``graphlink expand`` and ``graphlink match``: start from known accounts or known rings.

Each command parses its arguments, calls one library function
(:func:`graphlink.views.expand.expand`, :func:`graphlink.views.match.match`)
and renders the result; library errors become a one-line message and exit
code 2 (:func:`graphlink.cli_support.cli_errors`). :mod:`graphlink.cli`
registers them on the application.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import polars as pl
import typer
from rich.table import Table
from rich.text import Text

from graphlink.cli_support import QuietJsonOpt, cli_errors, emit_json, err, out, print_table
from graphlink.stages.expand import DEFAULT_RESTART
from graphlink.views.safety import terminal_safe

__all__ = ["expand_command", "match_command"]

EXPAND_HEADERS = ["rank", "account", "score", "cluster", "campaign", "why"]


def _id(value: object) -> str:
    return "" if value is None else str(value)


@cli_errors
def expand_command(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                            help="Output folder written by graphlink detect --out.")],
    seeds: Annotated[list[str], typer.Option("--seeds", "-s", metavar="FILE|ID", show_default=False,
                                             help="Seed accounts: account ids or files of them (one id per line, "
                                                  "or a Parquet/CSV table with account_id); repeatable.")],
    out_file: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE.parquet", show_default=False,
                                                     help="Also write the ranking (account_id, rank, score, "
                                                          "cluster_id, campaign_id, why; seeds rank 0) to this "
                                                          "Parquet file, atomically.")] = None,
    top: Annotated[Optional[int], typer.Option(min=0, metavar="N", show_default=False,
                                               help="List this many accounts besides the seeds [default: the "
                                                    "ring the walk finds around the seeds].")] = None,
    restart: Annotated[float, typer.Option(min=0.01, max=0.99, metavar="P",
                                           help="Restart probability of the random walk: higher stays closer "
                                                "to the seeds.")] = DEFAULT_RESTART,
    shown: Annotated[int, typer.Option("--show", min=0, metavar="N",
                                       help="Rows printed in the terminal table (the file and --json have all).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ranking as JSON on standard output.")] = False,
    quiet: QuietJsonOpt = False,
) -> None:
    """Rank the accounts most strongly tied to a few known accounts (seeds).

    A random walk with restart (personalised PageRank) over the weighted
    account graph detect built: accounts the walk visits most, per unit of
    their own link weight, come first; the list stops where the seeds' ring
    ends (the first tight conductance minimum) unless --top says otherwise.
    Each account comes with the values it shares with a seed (or with a
    better-ranked account), how rare they are, and its cluster and campaign.
    """
    from graphlink.views.expand import expand, write_parquet_atomic

    ranked = expand(out_dir, seeds, restart=restart, top=top)
    if out_file is not None:
        write_parquet_atomic(ranked, out_file)
    if as_json:
        emit_json({"out": None if out_file is None else str(out_file),
                   "seeds": ranked.filter(pl.col("rank") == 0).height, "listed": ranked.filter(pl.col("rank") > 0).height,
                   "accounts": ranked.to_dicts()})
        return
    if quiet:
        return
    listed = ranked.filter(pl.col("rank") > 0)
    clusters = listed.drop_nulls("cluster_id")["cluster_id"].n_unique()
    say = out.print if out.is_terminal else err.print
    say(Text(f"{listed.height:,} accounts tied to {ranked.height - listed.height:,} seeds "
             f"(in {clusters:,} cluster{'' if clusters == 1 else 's'})" + (f"; wrote {terminal_safe(out_file)}" if out_file else "")))
    rows = [[r["rank"], r["account_id"], round(r["score"], 3), _id(r["cluster_id"]), _id(r["campaign_id"]),
             r["why"] or ""] for r in ranked.head(shown).iter_rows(named=True)]
    table = Table(title="Accounts tied to the seeds", title_justify="left")
    for name, justify in zip(EXPAND_HEADERS, ("right", "left", "right", "right", "right", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(str(row[0]), Text(terminal_safe(row[1])), f"{row[2]:.3f}", row[3], row[4],
                      Text(terminal_safe(row[5], limit=200)))
    print_table(table, rows, EXPAND_HEADERS)
