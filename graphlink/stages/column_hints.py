"""Warnings for input that reads without error but loses evidence unseen: columns left unread, times mostly bad.

Two mistakes leave a run that looks clean (no error, no warning) while most of the evidence is gone:

- a partial ``--map`` (``--map account_id=user_id,timestamp=ts`` on a log whose address, card and prompt columns are
  called ``client_ip``, ``card``, ``text``): those columns are not read, and the ring links by timing alone;
- timestamps in another spelling for part of the file (day-first ``31/12/2025 10:00`` beside ISO rows): those rows
  are rejected whole, every signal with them, counted but not explained.

:func:`input_hints` words one warning for each (for run.json and the detect summary, as
:func:`graphlink.stages.timestamp_hint.timestamp_hint` does for a missing time column). Column names are quoted
(terminal-safe when printed); values never are.
"""

from __future__ import annotations

import difflib
import shlex

import polars as pl

from graphlink.config import EVENT_COLUMNS
from graphlink.stages.reading import collect_frame

__all__ = ["missing_timestamp_warning", "BAD_TIMESTAMP_SHARE", "REJECTED_ROWS_SHOWN", "input_hints", "rejected_rows"]

#: Rejected rows named per reason: enough to open the file at them and see the pattern (a second spelling of the
#: time, a column left empty by one exporter), few enough for one line of the summary; the counts beside them are
#: exact (new-user review, session 51: the counts alone gave no row to look at).
REJECTED_ROWS_SHOWN = 5

#: Share of rows rejected for their timestamp (unparseable or out of range) from which the user is warned. A row
#: rejected loses all its evidence (address, card, prompt), not only its time; a twentieth of the log is more than
#: a few stray lines and usually a second spelling of the times (a day-first export appended to an ISO one).
BAD_TIMESTAMP_SHARE = 0.05


def input_hints(columns: list[str], used: list[str], rows: int, rejected: dict[str, int], path: str,
                ts_name: str = "timestamp", ts_format: str | None = None) -> list[str]:
    """Warnings (0-2 strings) for columns left unread while event columns are missing, and for many bad timestamps.

    Parameters
    ----------
    columns : the source's columns after ``--map`` renames; ``used``: the ones graphlink reads.
    rows, rejected : rows read and rows rejected by reason (``unparseable_timestamp``, ``timestamp_out_of_range``).
    path, ts_name, ts_format : the file, its name of the time column, ``--timestamp-format`` if given.

    A column is *unread* when it is neither read nor ``account_id``; it is worth a warning only when one of the
    five event columns (:data:`graphlink.config.EVENT_COLUMNS` but ``account_id``) is missing, as then an unread
    column may be it. Bad timestamps warn from :data:`BAD_TIMESTAMP_SHARE` of the rows.

    Examples
    --------
    >>> input_hints(["account_id", "timestamp", "client_ip", "card"], ["account_id", "timestamp"], 10, {}, "log.csv")[0][:96]
    "log.csv: columns not read: 'client_ip', 'card' (none of ip, payment_fingerprint, prompt, user_ag"
    >>> input_hints(["account_id", "timestamp", "ip"], ["account_id", "timestamp", "ip"], 100,
    ...             {"unparseable_timestamp": 60}, "log.csv", "ts")[0][:75]
    "log.csv: 60 of 100 rows (60 %) rejected for their timestamp (column 'ts'): "
    >>> read = ["account_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"]
    >>> input_hints([*read, "model"], read, 100, {"unparseable_timestamp": 1}, "x")  # every column there: no hint
    []
    """
    hints = []
    missing = [c for c in EVENT_COLUMNS[1:] if c not in used]
    unread = [c for c in columns if c not in used and c != "account_id"]
    if missing and unread:
        shown = ", ".join(repr(c) for c in unread[:8]) + (f" and {len(unread) - 8} more" if len(unread) > 8 else "")
        # A misspelt event column (payment_fingerprnt: review nu54) named with its fix, as the TOML checks do.
        typos = [(c, close[0]) for c in unread if (close := difflib.get_close_matches(c.lower(), missing, n=1, cutoff=0.8))]
        fix = (f"did you mean {typos[0][1]}? map it with --map {shlex.quote(f'{typos[0][1]}={typos[0][0]}')}" if typos
               else f"if one of them is such a column, map it (--map {missing[0]}=COLUMN)")
        hints.append(f"{path}: columns not read: {shown} (none of {', '.join(missing)} was found); {fix} "
                     "or read it as its own signal (--signal COLUMN)")
    bad = rejected.get("unparseable_timestamp", 0) + rejected.get("timestamp_out_of_range", 0)
    if rows and bad >= BAD_TIMESTAMP_SHARE * rows:
        fix = (f"do they all match --timestamp-format {ts_format!r}?" if ts_format else "if they are another "
               "spelling such as 31/12/2025 10:00, pass --timestamp-format (one format for the column) or write "
               "them as ISO-8601")
        hints.append(f"{path}: {bad:,} of {rows:,} rows ({100 * bad / rows:.0f} %) rejected for their timestamp "
                     f"(column {ts_name!r}): each such row loses all its evidence (address, card, prompt); {fix}")
    return hints


def rejected_rows(lf: pl.LazyFrame, reasons: dict[str, pl.Expr], path: str,
                  shown: int = REJECTED_ROWS_SHOWN) -> dict[str, list[int]]:
    """The first ``shown`` rejected rows of each reason, as 1-based data rows (the header is not a row).

    Parameters
    ----------
    lf : LazyFrame
        The cleaned input in file order, before rejected rows are filtered out.
    reasons : dict of str to Expr
        Reason name -> True for a row rejected for it; a row counts under its first failing reason, as the counts do.
    path : str
        The file, for the error when it cannot be read.
    shown : int
        Rows named per reason.

    Returns
    -------
    dict of str to list of int
        Reason -> its first rows, ascending, in the order of ``reasons``; reasons no row failed are left out.
        One more pass over the input: call it only when a row was rejected.

    Examples
    --------
    >>> lf = pl.LazyFrame({"account_id": ["a", None, "b", None], "t": [1, 2, None, 4]})
    >>> rejected_rows(lf, {"missing_account_id": pl.col("account_id").is_null(), "bad_t": pl.col("t").is_null()}, "x")
    {'missing_account_id': [2, 4], 'bad_t': [3]}
    """
    names = list(reasons)
    label = pl.lit(None, pl.UInt32)
    for code, bad in reversed(list(enumerate(reasons.values()))):  # the first failing reason wins
        label = pl.when(bad).then(pl.lit(code, pl.UInt32)).otherwise(label)
    found = collect_frame(lf.with_row_index("__row", offset=1).select("__row", label.alias("__reason"))
                          .filter(pl.col("__reason").is_not_null())
                          .group_by("__reason").agg(pl.col("__row").bottom_k(shown).sort()), path)
    rows = dict(zip(found["__reason"].to_list(), found["__row"].to_list()))
    return {names[code]: [int(r) for r in rows[code]] for code in range(len(names)) if code in rows}


def missing_timestamp_warning(missing: int, kept: int, path: str, ts_name: str = "timestamp") -> str | None:
    """A warning for kept rows without a timestamp (empty, null or NaN: kept with their other evidence, no timing from
    them): always when none of them has one (every timing signal is off, ``accounts_with_timing`` 0), else from
    :data:`BAD_TIMESTAMP_SHARE` of the kept rows; None below that.

    >>> missing_timestamp_warning(10, 10, "log.csv")[:56]
    "log.csv: no row has a timestamp (column 'timestamp' is e"
    >>> missing_timestamp_warning(1, 100, "log.csv") is None
    True
    """
    if not missing or not kept:
        return None
    if missing >= kept:
        return (f"{path}: no row has a timestamp (column {ts_name!r} is empty or NaT, nan, null): the rows are kept, but no timing "
                "evidence (activity signatures, co-timing, template bursts, hours) can be read; check the column "
                "(--map timestamp=COLUMN)")
    if missing < BAD_TIMESTAMP_SHARE * kept:
        return None
    return (f"{path}: {missing:,} of {kept:,} rows ({100 * missing / kept:.0f} %) have no timestamp (column {ts_name!r} "
            "empty or NaT, nan, null): kept with their other evidence, without timing")

