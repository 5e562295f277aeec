"""Accounts of the accounts file that no event joined, counted for ``run.json``'s warnings (both engines).

Identifiers are compared as text, exactly (trimmed). An id of the accounts file that matches an events id only
after Unicode normalisation -- ``é`` written precomposed (NFC) in one file and as ``e`` plus a combining accent
(NFD) in the other, as macOS file names and some exports write it -- is a different string: it is not joined (two
distinct ids are never merged silently), but it is counted in a warning of its own, which says why.
"""

from __future__ import annotations

import polars as pl

__all__ = ["accounts_only_warnings", "normalisation_matches"]


def normalisation_matches(index: pl.DataFrame) -> int:
    """How many ids of the account index with no event (accounts-file only) equal an id with events after NFC
    normalisation of both.

    Examples
    --------
    >>> index = pl.DataFrame({"account_id": ["caf\\u00e9", "cafe\\u0301", "tea", "te\\u0301a"], "events": [3, 0, 2, 0]})
    >>> normalisation_matches(index)
    1
    """
    nfc = pl.col("account_id").str.normalize("NFC").alias("nfc")
    active = index.filter(pl.col("events") > 0).select(nfc).unique()
    return index.filter(pl.col("events") == 0).select(nfc).join(active, on="nfc", how="semi").height


def accounts_only_warnings(index: pl.DataFrame, accounts_path: str) -> list[str]:
    """The warnings on accounts of the accounts file that sent no event: how many (with the index's size), and how
    many of those match an events id only after Unicode normalisation (NFC)."""
    silent = int((index["events"] == 0).sum())
    if not silent:
        return []
    said = [f"{silent:,} of {index.height:,} account{'' if index.height == 1 else 's'} {'appears' if silent == 1 else 'appear'} only in the "
            "accounts file (no event): kept with 0 events; they link only through its columns (a different log's "
            "accounts?)"]
    unjoined = normalisation_matches(index)
    if unjoined:
        said.append(f"{unjoined:,} account {'id' if unjoined == 1 else 'ids'} of {accounts_path} "
                    f"{'matches' if unjoined == 1 else 'match'} an events id only after Unicode normalisation (NFC); "
                    f"{'it was' if unjoined == 1 else 'they were'} not joined (ids are compared as written): write "
                    "both files' ids in one form")
    return said
