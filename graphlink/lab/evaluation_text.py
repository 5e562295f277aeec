"""Text of a :func:`graphlink.lab.evaluate.evaluate` result: ``[metric, value]`` rows and the CLI's table."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from graphlink.views.safety import terminal_safe

__all__ = ["evaluation_rows", "format_evaluation"]

#: Flagged accounts that are no ring's listed by name in the rows (all of them are in the result and ``--json``).
MAX_NAMED = 10


def _no_campaigns(result: dict) -> str:
    """Why there is no campaign ARI (``--json`` keeps the null): ``-`` alone read as a failure (new-user review,
    session 47, on the fixture's labels)."""
    if result.get("ring_accounts") == 0:
        return " (no ring accounts in the labels)"
    return " (the labels give no ring account a campaign_id: no operators to compare campaigns with)"


#: Metrics whose None the table explains, and how.
_WHY_NONE = {"ari_campaign": _no_campaigns,  # the next row points to it: the note twice read as a glitch (readme63)
             "campaigns": lambda r: " (as ari_campaign)" if "ari_campaign" in r else _no_campaigns(r)}


def evaluation_rows(result: dict, max_rings: int = 20) -> list[list[str]]:
    """``[metric, value]`` rows of an :func:`evaluate` result: metrics, then the worst-recovered rings.

    Examples
    --------
    >>> evaluation_rows({"precision": 1.0, "benign_flagged": 0, "ari_campaign": None, "per_ring": []})[2]
    ['ari_campaign', '- (the labels give no ring account a campaign_id: no operators to compare campaigns with)']
    >>> evaluation_rows({"rings": 15, "rings_detected": 14})[1]
    ['rings_detected', "14 (at least half of the ring's accounts flagged)"]
    """
    rows = []
    for key, value in result.items():
        if key in ("per_ring", "flagged_not_ring"):
            continue
        if isinstance(value, dict):
            text = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        elif value is None:
            text = "-" + _WHY_NONE.get(key, lambda r: "")(result)
        else:
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
        if key == "rings_detected" and value is not None:
            text += " (at least half of the ring's accounts flagged)"  # the count alone read as "every ring found"
        if key == "ring_not_in_run" and value:  # labels of a larger log: recall counts these as missed (session 51)
            text += " (ring accounts the run never saw, counted as missed: labels of a larger log?)"
        rows.append([key, text])
    wrong = result.get("flagged_not_ring") or []
    for r in wrong[:MAX_NAMED]:
        rows.append([f"flagged {r['kind']} account", f"{r['account_id']} in cluster {r['cluster_id']}"
                     + (f" (group {r['group']})" if r.get("group") else "")])
    if len(wrong) > MAX_NAMED:
        rows.append(["…", f"{len(wrong) - MAX_NAMED} more flagged accounts that are no ring's (--json lists all)"])
    rings = sorted(result.get("per_ring", []), key=lambda r: (r["recall"], r["ring_id"]))
    for r in rings[:max_rings]:
        rows.append([f"ring {r['ring_id']} (size {r['size']})",
                     f"{r['flagged_accounts']} flagged, recall {r['recall']:.2f}"])
    if len(rings) > max_rings:
        rows.append(["…", f"{len(rings) - max_rings} more rings"])
    return rows


def format_evaluation(result: dict, max_rings: int = 20) -> Table:
    """Render an :func:`evaluate` result as a rich table (the rows of :func:`evaluation_rows`).

    Parameters
    ----------
    result : dict
        Output of :func:`evaluate`.
    max_rings : int
        Per-ring rows shown (worst recall first).

    Returns
    -------
    rich.table.Table
        Metric / value rows followed by the worst-recovered rings.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> buf = io.StringIO()
    >>> Console(file=buf, width=80).print(format_evaluation(
    ...     {"precision": 1.0, "recall": 0.5, "per_ring": []}))
    >>> "recall" in buf.getvalue()
    True
    """
    table = Table(title="graphlink evaluation", show_lines=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, text in evaluation_rows(result, max_rings):
        # Text, not markup, made terminal-safe: ids and group names are the log's (``acct[red]y``, escapes).
        table.add_row(Text(terminal_safe(key)), Text(terminal_safe(text)))
    return table
