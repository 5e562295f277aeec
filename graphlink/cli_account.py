"""``graphlink account``: one account in the terminal -- cluster, campaign, flag, set apart or not, what ties it.

Parses its arguments, makes one library call (:func:`graphlink.views.account.account_view`, reading through the
output-folder reader) and renders the result; library errors become a one-line message and exit code 2
(:func:`graphlink.cli_support.cli_errors`). :mod:`graphlink.cli` registers it.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table
from rich.text import Text

from graphlink.cli_support import QuietJsonOpt, RedactKeyOpt, RedactOpt, cli_errors, emit_json, out, print_table
from graphlink.config.kinds import kind_name
from graphlink.phrase_quotes import shown_value
from graphlink.store.folder import Outputs
from graphlink.views.set_apart import set_apart_from, set_apart_json, set_apart_line
from graphlink.views.safety import terminal_safe
from graphlink.views.words import plural

__all__ = ["account_command", "account_lines", "print_set_apart", "set_apart_part", "seeds_set_apart"]

VALUE_HEADERS = ["kind", "value", "accounts", "in cluster", "in campaign", "weight"]


@cli_errors
def account_command(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                            help="Output folder written by graphlink detect --out.")],
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT_ID", show_default=False,
                                              help="The account, as the input logged it (accounts.parquet), or as show, the "
                                                   "report or the CSV export wrote it (⟨U+202E⟩, a leading ').")],
    shown: Annotated[int, typer.Option("--values", min=0, metavar="N",
                                       help="Values it holds listed: those it holds with another account of its cluster "
                                            "or campaign first, then the rarest (--json has all).")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the account's record and all the values it holds as "
                                                          "JSON on standard output.")] = False,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
    quiet: QuietJsonOpt = False,
) -> None:
    """Look up one account: its cluster and campaign, whether it is flagged and on what, whether detect set it apart
    from a cluster (and why: fleet outsider, off the fleet's script, address bystander, remnant), the values tying it
    to its cluster and campaign with how many accounts hold each, and its own activity.

    An account in no cluster that was never set apart is listed with the values it holds (graphlink expand DIR
    --seeds ID ranks the accounts tied to it).
    """
    from graphlink.views.account import account_view

    view = account_view(out_dir, account_id, redact=redact, redact_key=redact_key)
    if quiet and not as_json:
        return
    if as_json:
        emit_json(view)
        return
    for line in account_lines(view):
        out.print(Text(line))
    if view["redaction"]:
        out.print(Text(f"redacted: {view['redaction']}", style="yellow"))
    values = view["values"]
    if not values:
        return
    listed = values[:shown]
    where = view["cluster"] or view["set_apart"] or {}
    title = f"values it holds: {plural(len(values), 'value')}" + (
        f" (in cluster: of cluster {where['cluster_id']})" if where.get("cluster_id") is not None else "")
    if not listed:  # --values 0: the count alone (a table of headers and no rows read as an empty list)
        out.print(Text(("" if out.is_terminal else "# ") + f"{title}; --values {len(values)} lists them"))
        return
    table = Table(title=title,
                  caption=f"{len(values) - len(listed)} more: --values {len(values)}" if len(values) > len(listed) else None)
    for name in VALUE_HEADERS:
        table.add_column(name, justify="left" if name in ("kind", "value") else "right", overflow="fold")
    rows = []  # piped: the kind's code and the value as logged (tsv_cell), as show's evidence rows
    for v in listed:
        value = shown_value(v["kind"], v["value"])  # a phrase's numbers as ⟨#⟩; --json keeps it as logged
        rest = [v["df"], v["in_cluster"], v["in_campaign"], f"{v['weight']:.3f}"]
        rows.append([v["kind"], value, *rest])
        table.add_row(*(Text(str(c)) for c in [kind_name(v["kind"]), terminal_safe(value, limit=80), *rest]))
    print_table(table, rows, VALUE_HEADERS, titled=True)


def account_lines(view: dict[str, Any]) -> list[str]:
    """The account's record as the lines ``graphlink account`` prints above its values (logged text spelled safe)."""
    acc, cluster, campaign, apart = view["account"], view["cluster"], view["campaign"], view["set_apart"]
    head = [f"account {view['account_id']}", "flagged" if view["flagged"] else "not flagged"]
    head.append(f"cluster {cluster['cluster_id']}" if cluster else "in no cluster")
    if acc.get("campaign_id") is not None:
        head.append(f"campaign {acc['campaign_id']}")
    lines = [terminal_safe(" · ".join(head))]
    if cluster:
        score = "no score" if cluster.get("score") is None else f"score {cluster['score']:.3f}"
        flag = f"flagged ({cluster['flag']})" if cluster.get("flagged") else "not flagged"
        lines.append(f"cluster {cluster['cluster_id']}: {plural(int(cluster.get('size') or 0), 'account')}, {score}, "
                     f"{flag}; why: {terminal_safe(cluster.get('why') or '')}")
    if campaign:
        lines.append(f"campaign {campaign['campaign_id']}: {plural(len(campaign['clusters'] or []), 'cluster')}, "
                     f"{plural(int(campaign['accounts'] or 0), 'account')}, {'flagged' if campaign['flagged'] else 'not flagged'}; "
                     f"why: {terminal_safe(campaign.get('why') or '')}")
    tie = view["tie"]
    if tie:
        strength = "not known" if tie.get("tie_strength") is None else f"{tie['tie_strength']:.2f}"
        lines.append(f"tie to its cluster: strength {strength}; tied by {terminal_safe(tie.get('tied_by') or 'nothing listed')}")
    if cluster:
        share = acc.get("template_share")
        lines.append(f"shares of its cluster's behaviour: {terminal_safe(acc.get('shared_behaviour') or 'not known')}"
                     + ("" if share is None else f" (template share {share:.2f})"))
        if acc.get("joined_by"):
            lines.append(f"joined: {terminal_safe(acc['joined_by'])}")
    if apart:
        lines.append(terminal_safe(apart["note"]))
    elif not view["set_apart_known"]:
        lines.append("set apart: not recorded (a folder written before set_apart.parquet; rerun detect)")
    elif not cluster and not acc.get("events"):  # listed by the accounts file alone: nothing of it was clustered
        lines.append("in no cluster: no event in this log (the accounts file lists it; it links only through its "
                     "columns)")
    elif not cluster:
        lines.append("in no cluster: Leiden placed it in none (not set apart from one)")
    first, last = acc.get("first_seen"), acc.get("last_seen")
    span = f", {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC" if first is not None and last is not None else ""
    hours = ", ".join(f"{h['hour']:02d}:00 ({h['events']})" for h in view["hours"])
    lines.append(f"activity: {plural(int(acc.get('events') or 0), 'event')}{span}"
                 + (f"; busiest UTC hours {hours}" if hours else ""))
    return lines


def set_apart_part(outputs: Outputs, cluster_id: int) -> dict[str, Any]:
    """``show --json``'s ``set_apart``: the accounts detect set apart from the cluster (``account_id, reason, note``;
    null for a folder written before ``set_apart.parquet``)."""
    return {"set_apart": set_apart_json(set_apart_from(outputs, cluster_id))}


def print_set_apart(outputs: Outputs, cluster_id: int) -> None:
    """``show``'s line under the members: how many accounts detect set apart from the cluster, by reason, the first
    ids (spelled safe: ids are logged text); nothing when none (or a folder written before ``set_apart.parquet``)."""
    folder = shlex.quote(str(outputs.path))
    line = set_apart_line(set_apart_from(outputs, cluster_id), folder=folder,
                          more=f"graphlink show {folder} {cluster_id} --json lists them all")
    if line:  # piped: a comment line, as the tables' titles, so the rows above stay a table
        out.print(Text(("" if out.is_terminal else "# ") + terminal_safe(line)))


def seeds_set_apart(outputs: Outputs, seeds: list[str]) -> list[dict[str, Any]] | None:
    """``expand``'s seeds that detect set apart from a cluster (``account_id, reason, note``): a seed from an abuse
    report listed in no cluster says why (new-user review nu56, finding 3); None for a folder written before
    ``set_apart.parquet``."""
    rows = set_apart_from(outputs)
    if rows is None:
        return None
    return rows.filter(pl.col("account_id").is_in(pl.Series(seeds, dtype=pl.String).implode())).select(
        "account_id", "reason", "note").to_dicts()
