"""Account ids that are no account's: a placeholder ("None", "null", "nan") and an id whose bytes were not UTF-8.

An account id is the graph's vertex: every row with the same id is one account, and whatever those rows hold ties
their account to the others. Two spellings are no id at all:

* a *placeholder* a tool wrote for a missing id -- pandas writes ``None`` (an object column's None), ``nan``
  (a float's NaN), ``NaT``, ``<NA>``; SQL and JSON exports ``null``. Read as an id, every such row becomes one
  super-account holding every address and card of the rows lacking an id, tied to all their accounts (review
  nu53: a "None" account of 40 rows in a cluster of unrelated accounts); R writes ``NA``, spreadsheets ``#N/A``
  (review nu54: an ``NA`` account tied 18 users). Matched after NFKC (full-width ``Ｎｏｎｅ``), case-blind, stripped
  of white space, zero-width marks, quotes and brackets (:func:`is_placeholder`); an empty id is already no id
  (``missing_account_id``). The same set spells a missing timestamp (:mod:`graphlink.stages.ingest`).
* an *undecodable* id: a byte that is no UTF-8 (a Latin-1 ``ÿ``, ``é``) read as U+FFFD alone made ``user\\xff1``,
  ``user\\xfe1`` and ``user\\xe91`` all ``user\\ufffd1``: three accounts silently merged into one. Such bytes are now
  read losslessly (U+FFFD and ``\\xNN``, :mod:`graphlink.stages.text_bytes`), yet the id is still rejected: it would
  not match the same account's id written as UTF-8 elsewhere (the accounts file, labels, a later log), so the file
  should be re-encoded.

Both are rejected and counted like a row without an id (``run.json``'s ``inputs.*.rejected``:
``placeholder_account_id``, ``undecodable_account_id``) with a warning saying what to do: an account must never merge
with another silently, and a rejected row is visible in the counts where a merged account is not. A real account
named ``null`` is far rarer than an export writing one for every missing id; a file in another encoding should be
re-encoded (``iconv -f latin1 -t utf-8``) and read again, when every id stays distinct.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.text_bytes import REPLACEMENT  # what a byte that is not UTF-8 reads as (U+FFFD)
from graphlink.views.words import first_rows_text

__all__ = ["PLACEHOLDER_IDS", "REPLACEMENT", "WRAPPING", "id_reasons", "id_warnings", "is_placeholder", "written"]

#: A tool's spelling of "no value" (compared after NFKC, lower-cased, stripped of :data:`WRAPPING`): pandas (None,
#: nan, NaT, <NA>), SQL/JSON (null), R's write.csv (NA), spreadsheets (N/A, #N/A), C's printf of NULL ((null)),
#: JavaScript (undefined), Ruby/Go (nil). The account-id rule and the timestamp reader (a missing time) share it.
PLACEHOLDER_IDS = ("none", "null", "nan", "nat", "<na>", "na", "n/a", "#n/a", "undefined", "nil")
#: Stripped from both ends before comparing: white space, zero-width and byte-order marks, quotes and brackets
#: (``"None"``, ``(null)``, ``[null]`` spell the same missing value).
WRAPPING = " \t\r\n\u200b\u200c\u200d\u2060\ufeff\"'()[]"


def is_placeholder(text: pl.Expr) -> pl.Expr:
    """True where the String expression ``text`` is a placeholder (:data:`PLACEHOLDER_IDS`), null stays null.

    >>> pl.DataFrame({"t": [" NA ", "Ｎｏｎｅ", "(null)", "#N/A", "\ufeffnan", "Nadia", "n/a/b"]}).select(
    ...     is_placeholder(pl.col("t")))["t"].to_list()
    [True, True, True, True, True, False, False]
    """
    # NFKC of every value cost 5x the old lower-casing (8.7 s against 1.7 s per 5M ids): only values that can be one
    # are read -- ASCII ones of at most 16 bytes (lower-cased and stripped: NFKC changes no ASCII), other ones of at
    # most 64 bytes once each (NFKC) -- and every value is then looked up among those found (about 2 s per 5M ids).
    n = text.str.len_bytes()
    ascii_ = text.str.len_chars() == n
    plain, odd = text.filter(ascii_ & (n <= 16)), text.filter(~ascii_ & (n <= 64)).unique(maintain_order=True)
    folded = [t.str.to_lowercase().str.strip_chars(WRAPPING).is_in(list(PLACEHOLDER_IDS)) for t in (plain, odd.str.normalize("NFKC"))]
    return text.is_in(pl.concat([plain.filter(folded[0]), odd.filter(folded[1])]).implode())


def written(text: pl.Expr) -> pl.Expr:
    """True where the text expression holds a value: neither blank nor a placeholder (a timestamp cell ``NaT`` or
    ``nan`` is a missing time, kept as one, not an unparseable one that would drop its row: review nu54).

    >>> pl.DataFrame({"t": ["2024-01-01", " ", "NaT", "nan", "soon"]}).select(written(pl.col("t")))["t"].to_list()
    [True, False, False, False, True]
    """
    text = text.cast(pl.String)
    return (text.str.strip_chars().str.len_bytes() > 0) & ~is_placeholder(text)


def id_reasons(column: str = "account_id") -> dict[str, pl.Expr]:
    """``{reason: expr}``: True for a row whose (cleaned, non-null) ``column`` is a placeholder or was not UTF-8.

    >>> f = pl.DataFrame({"account_id": ["a", "None", "NaN", "u\\ufffd1", None]})
    >>> f.select(**id_reasons()).rows()
    [(False, False), (True, False), (True, False), (False, True), (False, False)]
    """
    ids = pl.col(column)
    return {"placeholder_account_id": is_placeholder(ids).fill_null(False),
            "undecodable_account_id": ids.str.contains(REPLACEMENT, literal=True).fill_null(False)}


def id_warnings(rejected: dict[str, int], path: str, first: dict[str, list[int]] | None = None) -> list[str]:
    """One warning per id reason that rejected rows (``rejected``: reason -> rows; ``first``: reason -> first rows).

    >>> id_warnings({"placeholder_account_id": 3}, "log.csv")[0][:72]
    'log.csv: 3 rows rejected: their account_id is a placeholder (None, null,'
    """
    first = first or {}
    said = {"placeholder_account_id": ("their account_id is a placeholder (None, null, nan, NaT, <NA>, NA, N/A, #N/A, "
                                       "undefined, nil: how tools write a missing id), which would make every such row one account tied to all the others; "
                                       "write a missing id as empty"),
            "undecodable_account_id": ("their account_id holds bytes that are not UTF-8 (the file is in another "
                                       "encoding?), which would merge distinct ids into one account; re-encode the file "
                                       "as UTF-8 (one wholly in Latin-1: iconv -f latin1 -t utf-8; a UTF-8 file with a "
                                       "few such rows: fix those rows) and run again")}
    out = []
    for reason, text in said.items():
        n = rejected.get(reason, 0)
        if n:
            rows = f" ({first_rows_text(first[reason][:1], n)})" if first.get(reason) else ""
            out.append(f"{path}: {n:,} {'row' if n == 1 else 'rows'} rejected{rows}: {text}")
    return out
