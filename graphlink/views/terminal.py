"""Terminal renderings: one cluster for ``graphlink show``.

Functions here build rich renderables and return them; the CLI prints them.
Logged values are attacker-written and pass through
:func:`graphlink.views.safety.terminal_safe`.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from graphlink.store.folder import score_columns
from graphlink.store.outputs import load_outputs
from graphlink.views.safety import terminal_safe

__all__ = ["show_cluster", "sparkline"]


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


def show_cluster(out_dir: str | Path, cluster_id: int, *, members: int = 25, evidence: int = 30,
                 redact: bool = False, redact_key: str | None = None) -> list[RenderableType]:
    """One cluster of an output folder for the terminal: title, reasons, members and shared evidence.

    Parameters
    ----------
    out_dir : path
        A detect output folder (read with :func:`graphlink.store.outputs.load_outputs`).
    cluster_id : int
    members, evidence : int
        Members (most active first) and evidence rows (most shared first) listed.
    redact, redact_key
        As for :func:`graphlink.store.outputs.load_outputs`.

    Returns
    -------
    list of rich renderables, to print in order.

    Raises
    ------
    GraphlinkError
        Not an output folder or no such cluster.
    """
    parts: list[RenderableType] = []
    outputs = load_outputs(out_dir, [cluster_id], redact=redact, redact_key=redact_key)
    row = outputs.cluster_row(cluster_id)
    member_rows = outputs.members(cluster_id)
    evidence_rows = outputs.cluster_evidence(cluster_id)
    hours = outputs.hour_profile(cluster_id)

    title = Text(f"Cluster {cluster_id}", style="bold")
    if row["flagged"]:
        title.append("  flagged", style="bold red")
    parts.append(title)
    first, last = member_rows["first_seen"].min(), member_rows["last_seen"].max()
    active = f"; active {first:%Y-%m-%d} to {last:%Y-%m-%d} UTC" if first and last else ""
    parts.append(Text(f"{row['size']:,} accounts; score {row['score']:.3f}{active}"))
    if outputs.redaction:
        parts.append(Text(f"redacted: {outputs.redaction}", style="yellow"))

    reasons = Table(title="Reasons", title_justify="left", show_header=False, box=None, padding=(0, 2))
    reasons.add_column("what", style="dim")
    reasons.add_column("value", overflow="fold")
    for reason in [r for r in (row.get("why") or "").split("; ") if r] or ["no shared evidence recorded"]:
        reasons.add_row("why", Text(terminal_safe(reason, limit=300)))
    for name in score_columns(outputs.clusters):
        value = row[name]
        reasons.add_row(Text(terminal_safe(name)), Text(f"{value:.3f}" if isinstance(value, float) else f"{value}"))
    reasons.add_row("linked by", Text(terminal_safe(", ".join(row.get("kinds") or []) or "none")))
    if hours and any(hours):
        reasons.add_row("hours (UTC)", Text(f"00 {sparkline(hours)} 23"))
    parts.append(reasons)

    table = Table(title=f"Members ({member_rows.height:,})", title_justify="left")
    for name, justify in (("account", "left"), ("events", "right"), ("first seen (UTC)", "left"),
                          ("last seen (UTC)", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    stamp = lambda t: f"{t:%Y-%m-%d %H:%M}" if t is not None else ""  # noqa: E731
    for m in member_rows.head(members).iter_rows(named=True):
        table.add_row(Text(terminal_safe(m["account_id"], limit=80)), f"{m['events']:,}",
                      stamp(m["first_seen"]), stamp(m["last_seen"]))
    if member_rows.height > members:
        table.caption = f"{member_rows.height - members:,} more (graphlink export DIR --format csv --clusters {cluster_id})"
    parts.append(table)

    table = Table(title=f"Shared evidence ({evidence_rows.height:,})", title_justify="left")
    for name, justify in (("kind", "left"), ("value", "left"), ("sharing", "right"), ("weight", "right"),
                          ("in input", "right")):
        table.add_column(name, justify=justify, overflow="fold")
    for e in evidence_rows.head(evidence).iter_rows(named=True):
        table.add_row(Text(terminal_safe(e["kind"])), Text(terminal_safe(e["value"], limit=120)),
                      f"{e['accounts_sharing']:,}", f"{e['weight']:.3f}", f"{e['df']:,}")
    if evidence_rows.height > evidence:
        table.caption = f"{evidence_rows.height - evidence:,} more (use --evidence)"
    parts.append(table)
    return parts
