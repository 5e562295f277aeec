"""Standard input spooled to a temporary file, so ``graphlink detect -`` reads it like any events file."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from graphlink.errors import InputError

__all__ = ["PARQUET_MAGIC", "sniff_format", "stdin_file"]


#: The first bytes of a Parquet file (it ends with them too).
PARQUET_MAGIC = b"PAR1"


@contextlib.contextmanager
def stdin_file(fmt: str | None) -> Iterator[Path]:
    """Standard input copied to a temporary file, removed on exit: named for ``fmt``, else sniffed
    (:func:`sniff_format`): ``cat log.parquet | graphlink detect -`` and ``cat log.ndjson | graphlink detect -``
    need no ``--format``.

    Raises
    ------
    InputError
        Input that could be NDJSON or CSV (it opens with ``{`` or ``[`` but its first line is no JSON object).
    """
    with tempfile.TemporaryDirectory(prefix="graphlink-stdin-") as tmp:
        path = Path(tmp) / "stdin"
        with open(path, "wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        if not fmt:
            with open(path, "rb") as handle:
                fmt = sniff_format(handle.read(_PROBE + 1))
        suffix = {"parquet": ".parquet", "tsv": ".tsv", "ndjson": ".ndjson"}.get(fmt.lower(), ".csv")
        yield path.rename(path.with_suffix(suffix))


#: How much of standard input is read to tell its format: an NDJSON record longer than this is not sniffed.
_PROBE = 1 << 20


def sniff_format(head: bytes) -> str:
    """``parquet`` for Parquet's magic bytes, ``ndjson`` when the first line (after a byte-order mark and white
    space) is a JSON object, else ``csv``; input opening with ``{`` or ``[`` whose first line is no JSON object
    (a JSON array, a broken record, a CSV header named so) is an error asking for ``--format``.

    Examples
    --------
    >>> sniff_format(b'PAR1...'), sniff_format(b'{"account_id": "a"}\\n{"account_id": "b"}\\n'), sniff_format(b"a,b\\n")
    ('parquet', 'ndjson', 'csv')
    """
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text.startswith((b"{", b"[")):
        return "csv"
    line = text.split(b"\n", 1)[0]
    try:
        record = json.loads(line) if len(text) <= _PROBE or b"\n" in text else None
    except ValueError:
        record = None
    if isinstance(record, dict):
        return "ndjson"
    raise InputError("cannot tell whether it is NDJSON or CSV: it opens with a bracket but its first line is no JSON "
                     "object (NDJSON holds one object a line, not a JSON array); pass --format ndjson or --format "
                     "csv", file="<stdin>")
