"""Counted nouns in messages: ``1 seed``, ``2 seeds``, ``1,204 accounts``; a folder in a suggested command.

The one pluralisation helper of graphlink's command-line and report text.
"""

from __future__ import annotations

import shlex
from pathlib import Path

__all__ = ["campaign_ids_text", "csv_export_command", "first_rows_text", "more_text", "noun", "plural", "rejected_text",
           "shell_path"]


def shell_path(path: str | Path | None) -> str:
    """A folder as a suggested command names it: the user's own path, quoted for a POSIX shell when it needs it.

    Hints that tell the user what to run next (``graphlink show out 12``) name the folder they ran on, never a
    placeholder such as ``DIR``; the text is still made terminal-safe or HTML-escaped where it is shown. A relative
    folder whose name starts with ``-`` is named ``./-out``: quoting alone would leave it read as an option.

    Examples
    --------
    >>> shell_path(Path("/tmp/out")), shell_path("runs/day 2"), shell_path(None), shell_path("-out")
    ('/tmp/out', "'runs/day 2'", '.', './-out')
    """
    text = str(path if path is not None else ".")
    return shlex.quote("./" + text if text.startswith("-") else text)


def csv_export_command(path: str | Path | None, cluster_id: int, redacted: bool = False) -> str:
    """The command exporting one cluster's members as CSV, as hints name it; a redacted view names a redacted export.

    Examples
    --------
    >>> csv_export_command("runs/day 2", 7), csv_export_command("out", 7, redacted=True)
    ("graphlink export 'runs/day 2' --format csv --clusters 7", 'graphlink export out --format csv --clusters 7 --redact')
    """
    return (f"graphlink export {shell_path(path)} --format csv --clusters {int(cluster_id)}"
            + (" --redact" if redacted else ""))


def noun(n: int | float | None, singular: str, plural_form: str | None = None) -> str:
    """The noun alone, singular for exactly one, else ``plural_form`` (default ``singular + "s"``).

    Examples
    --------
    >>> noun(1, "seed"), noun(0, "seed"), noun(2, "match", "matches")
    ('seed', 'seeds', 'matches')
    """
    return singular if n == 1 else (plural_form or singular + "s")


def plural(n: int | float | None, singular: str, plural_form: str | None = None) -> str:
    """A count with its noun: thousands separated, singular for exactly one.

    Examples
    --------
    >>> plural(1, "seed"), plural(3, "seed"), plural(1204, "account"), plural(1, "IP address", "IP addresses")
    ('1 seed', '3 seeds', '1,204 accounts', '1 IP address')
    """
    count = f"{n:,}" if isinstance(n, int) else str(n)
    return f"{count} {noun(n, singular, plural_form)}"


def more_text(total: int, shown: int, option: str = "--evidence") -> str:
    """What a list cut at ``shown`` of ``total`` rows leaves out and the option value that lists them all.

    >>> more_text(50, 30)
    '20 more: --evidence 50'
    """
    return f"{total - shown:,} more: {option} {total}"


def first_rows_text(rows: list[int], total: int | None = None) -> str:
    """Which rows a warning means, one wording everywhere (1-based data rows, the header not counted): ``row 4`` for a
    lone row, else ``the first: row 4`` / ``the first: rows 3, 40, 41`` (``total``: how many there are; None: more).

    >>> first_rows_text([4], 1), first_rows_text([4]), first_rows_text([3, 40, 41], 9)
    ('row 4', 'the first: row 4', 'the first: rows 3, 40, 41')
    """
    if total == 1 and len(rows) == 1:
        return f"row {rows[0]}"
    return f"the first: {'row' if len(rows) == 1 else 'rows'} {', '.join(map(str, rows))}"


def rejected_text(counts, first: dict[str, list[int]] | None = None, number=lambda v: f"{v:,}") -> str:
    """Rows rejected by reason, each with its first rows where the run named them (``run.json``'s ``rejected``
    and ``rejected_rows``); ``counts`` is an iterable of ``(reason, rows)`` in the order to show.

    Examples
    --------
    >>> rejected_text({"missing_account_id": 2, "unparseable_timestamp": 7}.items(), {"unparseable_timestamp": [4, 9]})
    'missing_account_id: 2, unparseable_timestamp: 7 (rows 4, 9, …)'
    >>> rejected_text({"missing_account_id": 1}.items(), {"missing_account_id": [6]})
    'missing_account_id: 1 (row 6)'
    >>> rejected_text([])
    'none'
    """
    first = first or {}
    return ", ".join(f"{k}: {number(v)}" + (f" ({'row' if len(first[k]) == 1 else 'rows'} {', '.join(map(str, first[k]))}{', …' if v > len(first[k]) else ''})"
                                           if first.get(k) else "") for k, v in counts) or "none"


def campaign_ids_text(section: dict | None) -> str:
    """``detect --previous``'s words on campaign ids (``run.json``'s ``previous.campaigns``,
    :mod:`graphlink.stages.stable_campaigns`); "" when the previous run's campaigns were not followed.

    Examples
    --------
    >>> campaign_ids_text({"matched": 2, "new": 1, "merged": 0, "vanished": 3})
    '; campaigns: 2 kept their id, 1 new, 3 vanished'
    >>> campaign_ids_text(None)
    ''
    """
    if not section:
        return ""
    merged = f", {section['merged']:,} merged into another" if section.get("merged") else ""
    return (f"; campaigns: {section['matched']:,} kept their id, {section['new']:,} new{merged}, "
            f"{section['vanished']:,} vanished")
