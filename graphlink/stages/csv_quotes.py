"""Double quotes inside unquoted CSV values (``a 5" screen``, ``hello "world``), which polars cannot read.

polars toggles its quoted state at every double quote, wherever it stands in a field (its maintainers keep the
hot loop free of the check), so one stray quote makes the rest of the file one quoted value: the read fails
(``CSV malformed``, or ``could not parse`` blamed on the header), or a later quote closes it and the rows between
vanish. A quote with an ordinary character on each side (neither the separator, a quote nor a line end) cannot
open or close a quoted value in any CSV dialect, so it is a literal quote. :func:`csv_source` finds those quotes
with one vectorised pass over the bytes (numpy, 16 MiB at a time) and, when there are any, gives polars the
file's bytes with each replaced by a control byte the file does not hold; :func:`literal_quotes` turns it back
into ``"`` in every value. Their rows are counted in a warning (:func:`quote_warning`). A file that still ends
inside a quoted value (a quote opening a value no later quote closes) is an error naming the row where it
opens. The same pass counts the file's line breaks (:func:`line_breaks`, for :mod:`graphlink.stages.csv_rows`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from graphlink.errors import InputError

__all__ = ["CsvSource", "csv_source", "line_breaks", "literal_quotes", "quote_warning"]

_QUOTE, _LF, _CR = 34, 10, 13
_CHUNK = 1 << 24
#: Bytes that may stand for a literal quote while polars reads the file: control bytes a text log never holds.
_PLACEHOLDERS = (0x1A, 0x1F, 0x1E, 0x1D, 0x1C, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0E, 0x0F)


@dataclass
class CsvSource:
    """What polars reads for a CSV/TSV file: its path, or its bytes with literal quotes replaced."""

    source: str | bytes
    placeholder: str | None = None  #: the character standing for ``"`` in ``source`` (None: the file as is)
    breaks: int = 0  #: ``\\n`` bytes in the file
    rows: list[int] = field(default_factory=list)  #: 1-based data rows holding a literal quote (the first few)
    quoted_rows: int = 0  #: how many rows hold one


_CACHE: dict[tuple, CsvSource] = {}


def csv_source(path: str | Path, separator: str) -> CsvSource:
    """The source to scan for ``path`` (cached for the file's size and modification time; one entry).

    Raises
    ------
    InputError
        A quote opens a value that no later quote closes (named by row), or every placeholder byte occurs.
    """
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, separator)
    if key not in _CACHE:
        _CACHE.clear()  # the repaired bytes of one file at most are kept
        _CACHE[key] = _read_source(Path(path), separator)
    return _CACHE[key]


def line_breaks(path: str | Path, separator: str) -> int:
    """The number of ``\\n`` bytes in the file (from :func:`csv_source`'s pass)."""
    return csv_source(path, separator).breaks


def literal_quotes(lf: pl.LazyFrame, source: CsvSource) -> pl.LazyFrame:
    """``lf`` (all text columns) with the placeholder read back as ``"``; ``lf`` itself for a file read as is."""
    if source.placeholder is None:
        return lf
    return lf.with_columns(pl.all().str.replace_all(source.placeholder, '"', literal=True))


def quote_warning(source: CsvSource, path: str) -> list[str]:
    """One warning for the rows read with a literal quote inside an unquoted value; ``[]`` for none."""
    if not source.quoted_rows:
        return []
    rows = ", ".join(str(r) for r in source.rows)
    if source.quoted_rows == 1:
        which = f"1 row of {path} has a double quote inside a value (row {rows})"
    else:
        which = f"{source.quoted_rows:,} rows of {path} have a double quote inside a value (the first: rows {rows})"
    return [f"{which}, which polars cannot read as written; read as a literal quote (where the file is written, "
            'quote such values: "a 5"" screen")']


def _read_source(path: Path, separator: str) -> CsvSource:
    sep = separator.encode()[0] if len(separator.encode()) == 1 else None
    data = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
    quotes = breaks = 0
    strays = []
    for start in range(0, data.size, _CHUNK):
        chunk = data[start:start + _CHUNK]
        breaks += int(np.count_nonzero(chunk == _LF))
        at = np.flatnonzero(chunk == _QUOTE)
        quotes += at.size
        if at.size:
            strays.append(_strays(data, start + at, sep))
    stray = np.concatenate(strays) if strays else np.zeros(0, np.int64)
    if not stray.size and quotes % 2 == 0:
        return CsvSource(str(path), breaks=breaks)
    return _repair(path, data, stray, sep, breaks)


def _strays(data: np.ndarray, at: np.ndarray, sep: int | None) -> np.ndarray:
    """Of the quotes at offsets ``at``, those with an ordinary byte on each side (literal quotes)."""
    inner = at[(at > 0) & (at < data.size - 1)]
    before, after = data[inner - 1], data[inner + 1]
    special = [_QUOTE, _LF, _CR] + ([sep] if sep is not None else [])
    return inner[~np.isin(before, special) & ~np.isin(after, special)]


def _repair(path: Path, data: np.ndarray, stray: np.ndarray, sep: int | None, breaks: int) -> CsvSource:
    """Rows of each literal quote; the file's bytes with them replaced, or the error naming an unclosed quote."""
    ends = np.flatnonzero(data == _LF)  # line i (0 = header) ends at ends[i]
    stray = stray[np.searchsorted(ends, stray) > 0]  # a quote in the header line is left as written
    quote_at = np.flatnonzero(data == _QUOTE)
    quote_at = quote_at[~np.isin(quote_at, stray)]
    lines = ends.size + 1
    per_line = np.bincount(np.searchsorted(ends, quote_at), minlength=lines)
    inside_after = np.cumsum(per_line) % 2 == 1  # inside a quoted value at the end of each line
    inside_before = np.concatenate([[False], inside_after[:-1]])
    row_of_line = np.cumsum(~inside_before) - 1  # data row (1-based) each line belongs to; the header is 0
    if inside_after[-1]:
        raise InputError("a double quote opens a value that no later quote closes, so the rest of the file cannot be "
                         "read as rows; check the quoting there (a quote inside a value is written twice, within a "
                         "quoted value)", file=str(path), row=_unclosed_row(data, ends, quote_at, inside_before,
                                                                             inside_after, row_of_line, sep))
    rows = np.unique(row_of_line[np.searchsorted(ends, stray)])
    present = np.zeros(256, dtype=bool)
    for start in range(0, data.size, _CHUNK):
        present[np.unique(data[start:start + _CHUNK])] = True
    free = next((b for b in _PLACEHOLDERS if not present[b]), None)
    if free is None:
        raise InputError("has double quotes inside unquoted values and holds every control byte graphlink could "
                         "read them with; quote those values", file=str(path), row=int(rows[0]))
    fixed = np.array(data)
    fixed[stray] = free
    return CsvSource(fixed.tobytes(), chr(free), breaks, [int(r) for r in rows[:5]], int(rows.size))


def _unclosed_row(data, ends, quote_at, inside_before, inside_after, row_of_line, sep) -> int:
    """The data row of the quote nobody closed: the first line that opens a quoted value with a quote not at a
    value's start (``abc",x``), else the last line that opens one."""
    opening = np.flatnonzero(~inside_before & inside_after)
    last_quote = np.full(inside_after.size, -1, dtype=np.int64)
    np.maximum.at(last_quote, np.searchsorted(ends, quote_at), quote_at)
    at = last_quote[opening]
    prev = np.where(at > 0, data[np.maximum(at - 1, 0)], _LF)
    starts_value = np.isin(prev, [_LF] + ([sep] if sep is not None else []))
    odd = opening[~starts_value]
    line = odd[0] if odd.size else opening[-1]
    return int(max(row_of_line[line], 1))
