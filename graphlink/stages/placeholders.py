"""A payment fingerprint most accounts hold: a placeholder (``none``, ``N/A``, ``0``) written for accounts without
a card, not a card. It links every such account into one cluster ("80 accounts pay with 1 payment fingerprint"),
so detect says so once, as it does when most IP addresses are unreadable; the value is never quoted.
"""

from __future__ import annotations

import polars as pl

__all__ = ["MIN_ACCOUNTS", "SHARE", "placeholder_warning"]

#: A payment value held by more than this share of the accounts, and by at least MIN_ACCOUNTS, is warned about.
SHARE, MIN_ACCOUNTS = 0.5, 20


def placeholder_warning(signals: pl.DataFrame | None, n_accounts: int) -> str | None:
    """The warning for a payment fingerprint held by more than half the accounts (``signals``: ``kind``, ``df``).

    Examples
    --------
    >>> signals = pl.DataFrame({"kind": ["payment", "payment", "ip"], "df": [80, 3, 100]})
    >>> placeholder_warning(signals, 120)[:66]
    'one payment_fingerprint value is held by 80 of 120 accounts (67%):'
    >>> placeholder_warning(signals, 200) is None
    True
    """
    if signals is None or not {"kind", "df"} <= set(signals.columns) or not n_accounts:
        return None
    held = signals.filter(pl.col("kind") == "payment")["df"].max()
    if held is None or held < MIN_ACCOUNTS or held <= SHARE * n_accounts:
        return None
    return (f"one payment_fingerprint value is held by {held:,} of {n_accounts:,} accounts ({held / n_accounts:.0%}): a "
            "placeholder for accounts without a card (none, N/A, 0)? As a card it ties every account holding it to the "
            "others and is listed as their shared card; write it as empty")
