"""Counted nouns in messages: ``1 seed``, ``2 seeds``, ``1,204 accounts``.

The one pluralisation helper of graphlink's command-line and report text.
"""

from __future__ import annotations

__all__ = ["noun", "plural"]


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
