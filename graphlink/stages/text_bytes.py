"""Bytes that are not UTF-8 in a text file (CSV/TSV/NDJSON), read losslessly: each as U+FFFD and its ``\\xNN``.

A text log is read as UTF-8. A byte that is no UTF-8 (a Latin-1 ``ÿ`` or ``é`` in a file written in another
encoding) used to read as U+FFFD alone, so distinct raw values became one: ``card\\xff42``, ``card\\xfe42`` and
``card\\xe942`` all read ``card\\ufffd42``, six strangers paying with "one card" (new-user review nu54), and two
addresses, user agents, ``--signal`` values or prompts merged the same way, unsaid. Now each such byte reads as
U+FFFD followed by its hex escape (``card\\ufffd\\xff42``, shown ``card�\\xff42``):

* lossless: distinct raw bytes give distinct text, so no two values merge through the replacement character;
* still marked: U+FFFD says "a byte here was not text" wherever the value is shown, and the account-id rule
  (:mod:`graphlink.stages.account_ids`, which rejects such ids) keeps matching it;
* counted: :func:`undecodable_warning` names each value column holding such bytes, with its rows, so the user is
  told and can re-encode the file.

A file that is UTF-8 is read as it is (one decoding pass, 16 MiB at a time, proves it); only a file holding such
bytes is decoded in memory. Parquet strings are UTF-8 by format (a binary column that is not is an error,
:mod:`graphlink.stages.ingest`). Prompts are compared after :mod:`graphlink.stages.signals.normalise`, which folds
digits to ``0``: two prompts differing only in an escaped byte's digits (``\\xe9``, ``\\xe8``) compare alike there
exactly as two differing in a written digit do, never through U+FFFD.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import polars as pl

from graphlink.views.words import first_rows_text

__all__ = ["REPLACEMENT", "escaped_bytes", "read_escaped", "undecodable_warning"]

REPLACEMENT = "\ufffd"
_CHUNK = 1 << 24
#: Files read with escapes: (resolved path, size, mtime) -> bytes escaped (what :func:`escaped_bytes` answers).
_ESCAPED: dict[tuple[str, int, int], int] = {}


def _handler(json: bool):
    def escape(error: UnicodeDecodeError) -> tuple[str, int]:
        bad = error.object[error.start:error.end]
        slash = "\\\\" if json else "\\"  # inside a JSON string a backslash is written twice
        return "".join(f"{REPLACEMENT}{slash}x{b:02x}" for b in bad), error.end
    return escape


codecs.register_error("graphlink-escape", _handler(False))
codecs.register_error("graphlink-escape-json", _handler(True))


def _key(path: Path) -> tuple[str, int, int]:
    stat = os.stat(path)
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def is_utf8(path: str | Path) -> bool:
    """Whether the whole file decodes as UTF-8 (read 16 MiB at a time, never whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def read_escaped(path: str | Path, data: bytes | None = None, json: bool = False) -> bytes | None:
    """The file's bytes (or ``data``, the same file's bytes already altered in place) with each byte that is not
    UTF-8 written as U+FFFD and ``\\xNN`` (``\\\\xNN`` for JSON); None for a file that is UTF-8.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
    ...     _ = f.write(b"id,card\\na,card\\xff42\\nb,card\\xfe42\\n")
    >>> read_escaped(f.name).decode().splitlines()[1:]
    ['a,card\\ufffd\\\\xff42', 'b,card\\ufffd\\\\xfe42']
    >>> escaped_bytes(f.name)
    2
    """
    path = Path(path)
    if data is None and is_utf8(path):
        return None
    raw = Path(path).read_bytes() if data is None else data
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8", "graphlink-escape-json" if json else "graphlink-escape")
    _ESCAPED[_key(path)] = text.count(REPLACEMENT) - raw.decode("utf-8", "ignore").count(REPLACEMENT)
    return text.encode("utf-8")


def escaped_bytes(path: str | Path) -> int:
    """How many bytes :func:`read_escaped` escaped when it last read this file as it is now (0: none or unread)."""
    try:
        return _ESCAPED.get(_key(Path(path)), 0)
    except OSError:
        return 0


def undecodable_warning(frame: pl.LazyFrame, columns: list[str], path: str) -> str | None:
    """One warning naming each of ``columns`` (value columns, already read) whose values hold bytes that were not
    UTF-8, with its rows and the first (1-based); None when none do.

    >>> lf = pl.LazyFrame({"ip": ["1.2.3.4", "1.2.3.\\ufffd\\\\xff"], "payment_fingerprint": ["a", "b"]})
    >>> undecodable_warning(lf, ["ip", "payment_fingerprint"], "log.csv")[:62]
    'log.csv: bytes that are not UTF-8 in ip (row 2): each such byt'
    """
    if not columns:
        return None
    has = [pl.col(c).str.contains(REPLACEMENT, literal=True).fill_null(False) for c in columns]
    counts = frame.select(*[h.sum().alias(c) for h, c in zip(has, columns)],
                          *[(h.arg_true().first() + 1).alias(f"{c}__first") for h, c in zip(has, columns)]).collect()
    said = [f"{c} ({'' if n == 1 else f'{n:,} rows, '}{first_rows_text([counts[f'{c}__first'][0]], n)})"
            for c in columns if (n := int(counts[c][0]))]
    if not said:
        return None
    return (f"{path}: bytes that are not UTF-8 in {', '.join(said)}: each such byte is read as \ufffd and its hex "
            "escape (\\xNN), so distinct values stay distinct; the file is in another encoding? re-encode it as UTF-8 "
            "and run again")
