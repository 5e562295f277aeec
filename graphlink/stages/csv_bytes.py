"""One vectorised pass over a CSV/TSV file's bytes: literal quotes polars cannot read, rows of the wrong length.

Quotes. polars toggles its quoted state at every double quote, wherever it stands in a field (its maintainers keep
the hot loop free of the check), so one quote inside an unquoted value (``a 5" screen``, ``hello "world``) makes
the rest of the file one quoted value: the read fails (``CSV malformed``, or ``could not parse`` blamed on the
header), or a later quote closes it and the rows between vanish. A quote with an ordinary byte on each side
(neither the separator, a quote nor a line end) cannot open or close a quoted value in any CSV dialect, so it is a
literal quote. When there are any, :func:`csv_source` gives polars the file's bytes with each replaced by a control
byte the file does not hold, and :func:`literal_quotes` turns it back into ``"`` in every value. A file that still
ends inside a quoted value (a quote opening a value no later quote closes) is an error naming the row where it opens.

Rows. polars fills a row with too few fields with nulls, exactly as it reads empty fields, and drops the fields of
a row with too many (``truncate_ragged_lines``): neither can be told from the values. The same pass counts each
row's separators outside quoted values (quoted state as polars sees it, literal quotes excluded), so both are
counted and named by row (:func:`row_warnings`); blank lines are not (polars reads them as rows without an
account id, counted as such). And it counts the line breaks, so :mod:`graphlink.stages.csv_rows` knows whether any
value spans lines without reading the file again.

numpy, 16 MiB at a time: about 1 s of one CPU for 800 MB, 3M rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from graphlink.errors import InputError
from graphlink.stages.text_bytes import read_escaped
from graphlink.views.words import first_rows_text

__all__ = ["CsvSource", "csv_source", "literal_quotes", "row_warnings"]

_QUOTE, _LF, _CR = 34, 10, 13
_CHUNK = 1 << 24
_FIRST = 5  # row numbers named in a warning
#: Bytes that may stand for a literal quote while polars reads the file: control bytes a text log never holds.
_PLACEHOLDERS = (0x1A, 0x1F, 0x1E, 0x1D, 0x1C, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0E, 0x0F)


@dataclass
class RowCount:
    """Data rows (1-based, header excluded, polars' numbering) of one kind: how many and the first few."""

    n: int = 0
    first: list[int] = field(default_factory=list)
    last: int = 0

    def add(self, rows: np.ndarray) -> None:
        """Count ``rows`` (increasing, after those counted so far but for a row spanning two chunks)."""
        rows = rows[rows > self.last]
        self.last = int(rows[-1]) if rows.size else self.last
        self.n += int(rows.size)
        self.first.extend(int(r) for r in rows[: _FIRST - len(self.first)])


@dataclass
class CsvSource:
    """What polars reads for a CSV/TSV file (its path, or its bytes with literal quotes replaced) and what the
    pass over its bytes counted."""

    source: str | bytes
    placeholder: str | None = None  #: the character standing for ``"`` in ``source`` (None: the file as is)
    breaks: int = 0  #: ``\\n`` bytes in the file
    rows: int = 0  #: data rows, as polars reads them (blank lines included)
    quoted: RowCount = field(default_factory=RowCount)  #: rows holding a literal quote
    short: RowCount = field(default_factory=RowCount)  #: rows with fewer fields than the header (filled empty)
    surplus: RowCount = field(default_factory=RowCount)  #: rows with more fields than the header (extra dropped)
    #: some line inside a quoted value holds as many separators as a row or more (a row swallowed by a stray quote
    #: may be among them: :mod:`graphlink.stages.csv_rows` reads the values then, and only then)
    row_like: bool = False


_CACHE: dict[tuple, CsvSource] = {}


def csv_source(path: str | Path, separator: str) -> CsvSource:
    """The source to scan for ``path`` and its row counts (cached for the file's size and modification time;
    one entry, so the repaired bytes of one file at most are kept).

    Raises
    ------
    InputError
        A quote opens a value that no later quote closes (named by row), or every placeholder byte occurs.
    """
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, separator)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _read_source(Path(path), separator)
    return _CACHE[key]


def literal_quotes(lf: pl.LazyFrame, source: CsvSource) -> pl.LazyFrame:
    """``lf`` (all text columns) with the placeholder read back as ``"``; ``lf`` itself for a file read as is."""
    if source.placeholder is None:
        return lf
    return lf.with_columns(pl.all().str.replace_all(source.placeholder, '"', literal=True))


def row_warnings(source: CsvSource, path: str) -> list[str]:
    """Warnings for the rows read with a literal quote, with too few and with too many fields; ``[]`` for none."""
    out = []
    for count, what, then in (
            (source.quoted, "a double quote inside a value", "polars cannot read it as written, so it was read as a "
             'literal quote (where the file is written, quote such values: "a 5"" screen")'),
            (source.short, "fewer fields than its header", "the missing fields were read as empty"),
            (source.surplus, "more fields than its header", "their extra fields were ignored")):
        if count.n:
            which = first_rows_text(count.first, count.n)
            out.append(f"{count.n:,} {'row' if count.n == 1 else 'rows'} of {path} had {what} ({which}); {then}")
    return out


def _read_source(path: Path, separator: str) -> CsvSource:
    sep = separator.encode()[0] if len(separator.encode()) == 1 else None
    data = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
    out = CsvSource(str(path))
    first = np.flatnonzero(data[:1 << 24] == _LF)  # the header line ends at the first line break
    header_end = int(first[0]) if first.size else data.size
    quotes, done, pending, row_start, fields, extra_at = 0, 0, 0, 0, None, -1
    strays = []
    for start in range(0, data.size, _CHUNK):
        chunk = data[start:start + _CHUNK]
        at = np.flatnonzero(chunk == _QUOTE) + start
        literal = _literal(data, at, sep) & (at > header_end)  # a quote in the header line is left as written
        good = at[~literal]
        breaks = np.flatnonzero(chunk == _LF) + start
        ends = breaks[(quotes + np.searchsorted(good, breaks)) % 2 == 0]  # row ends: line breaks outside quoted values
        seps = np.flatnonzero(chunk == sep) + start if sep is not None else np.zeros(0, np.int64)
        per_row = np.diff(np.concatenate([[0], np.searchsorted(seps, ends), [seps.size]]))  # 0 = the row continued
        per_row -= _quoted_seps(good, quotes % 2 == 1, start, start + chunk.size, seps, ends)
        per_row[0] += pending
        if fields is None and ends.size:
            fields = int(per_row[0]) + 1  # the header's
        out.row_like |= _row_like(breaks, ends, seps, fields)
        if literal.any():
            strays.append(at[literal])
            out.quoted.add(np.unique(done + np.searchsorted(ends, at[literal])))
        # the separator opening each row's first field beyond the header's (its rank in the row is fields - 1)
        extra = np.full(ends.size + 1, -1, dtype=np.int64)
        extra[0] = extra_at
        if fields is not None and (per_row >= fields).any():  # rows with a field too many (rare): where it starts
            seps = seps[(quotes + np.searchsorted(good, seps)) % 2 == 0]
            row = np.searchsorted(ends, seps)
            rank = np.arange(row.size) - np.searchsorted(row, row) + np.where(row == 0, pending, 0)
            extra[row[rank == fields - 1]] = seps[rank == fields - 1]
        if ends.size:
            starts = np.concatenate([[row_start], ends[:-1] + 1])
            _count_rows(out, data, starts, ends, per_row[:-1] + 1, done, fields, extra[:-1], sep)
            row_start = int(ends[-1]) + 1
        pending, extra_at, quotes, done = int(per_row[-1]), int(extra[-1]), quotes + good.size, done + ends.size
        out.breaks += breaks.size
    if row_start < data.size:  # a last row without a line break
        _count_rows(out, data, np.array([row_start]), np.array([data.size]), np.array([pending + 1]), done,
                    fields or pending + 1, np.array([extra_at]), sep)
    if quotes % 2:
        stray = np.concatenate(strays) if strays else np.zeros(0, np.int64)
        raise InputError("a double quote opens a value that no later quote closes, so the rest of the file cannot be "
                         "read as rows; check the quoting there (a quote inside a value is written twice, within a "
                         "quoted value)", file=str(path), row=_unclosed_row(data, stray, sep))
    if strays:
        out.source, out.placeholder = _replaced(path, data, np.concatenate(strays), out.quoted.first[0])
    escaped = read_escaped(path, out.source if isinstance(out.source, bytes) else None)  # bytes not UTF-8: kept
    out.source = out.source if escaped is None else escaped  # distinct (graphlink.stages.text_bytes)
    return out


def _row_like(breaks: np.ndarray, ends: np.ndarray, seps: np.ndarray, fields: int | None) -> bool:
    """Whether a line starting inside a quoted value (after a line break that ends no row) holds ``fields - 1``
    separators or more up to the next line break; a line running past the chunk's end counts as one."""
    inside = breaks[~np.isin(breaks, ends)]
    if not inside.size:
        return False
    if fields is None or inside[-1] == breaks[-1]:
        return True
    following = breaks[np.searchsorted(breaks, inside) + 1]
    return bool((np.searchsorted(seps, following) - np.searchsorted(seps, inside) >= fields - 1).any())


def _quoted_seps(good: np.ndarray, inside: bool, lo: int, hi: int, seps: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per row of the chunk ``lo:hi`` (as ``ends`` cut it, 0 the one continued): its separators inside quoted
    values, the spans between the chunk's ``good`` quotes (``inside``: the chunk starts within one)."""
    bounds = np.concatenate([[lo], good]) if inside else good
    if bounds.size % 2:
        bounds = np.concatenate([bounds, [hi]])
    opens, closes = bounds[0::2], bounds[1::2]
    within = np.searchsorted(seps, closes) - np.searchsorted(seps, opens)
    return np.bincount(np.searchsorted(ends, opens), weights=within, minlength=ends.size + 1).astype(np.int64)


def _count_rows(out: CsvSource, data: np.ndarray, starts: np.ndarray, ends: np.ndarray, fields: np.ndarray,
                done: int, header: int, extra: np.ndarray, sep: int | None) -> None:
    """Count the complete rows ``done, done + 1, ...`` (row 0 the header) spanning ``starts[i]:ends[i]`` with
    ``fields[i]`` fields, ``extra[i]`` the offset of the separator opening a field beyond the header's ``header``
    (-1: none): a row with more is counted only when those fields hold something (``a,b,c,`` loses nothing)."""
    ids = done + np.arange(ends.size)
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (data[np.maximum(ends - 1, 0)] == _CR))
    data_row = (ids > 0) & ~blank
    out.rows += int(np.count_nonzero(ids > 0))
    out.short.add(ids[data_row & (fields < header)])
    over = np.flatnonzero(data_row & (fields > header) & (extra >= 0))
    if over.size:
        lo, hi = int(extra[over].min()), int(ends[over].max())
        region = data[lo:hi]
        ordinary = ~np.isin(region, [_CR, _LF, _QUOTE] + ([sep] if sep is not None else []))
        last = np.maximum.accumulate(np.where(ordinary, np.arange(lo, hi), -1))  # last byte holding something
        out.surplus.add(ids[over[last[ends[over] - 1 - lo] > extra[over]]])


def _literal(data: np.ndarray, at: np.ndarray, sep: int | None) -> np.ndarray:
    """Of the quotes at offsets ``at``, which have an ordinary byte on each side (literal quotes)."""
    inner = (at > 0) & (at < data.size - 1)
    before, after = data[np.maximum(at - 1, 0)], data[np.minimum(at + 1, data.size - 1)]
    special = [_QUOTE, _LF, _CR] + ([sep] if sep is not None else [])
    return inner & ~np.isin(before, special) & ~np.isin(after, special)


def _replaced(path: Path, data: np.ndarray, stray: np.ndarray, first_row: int) -> tuple[bytes, str]:
    """The file's bytes with the literal quotes replaced by a byte it does not hold, and that byte."""
    present = np.zeros(256, dtype=bool)
    for start in range(0, data.size, _CHUNK):
        present[np.unique(data[start:start + _CHUNK])] = True
    free = next((b for b in _PLACEHOLDERS if not present[b]), None)
    if free is None:
        raise InputError("has double quotes inside unquoted values and holds every control byte graphlink could "
                         "read them with; quote those values", file=str(path), row=first_row)
    fixed = np.array(data)
    fixed[stray] = free
    return fixed.tobytes(), chr(free)


def _unclosed_row(data: np.ndarray, stray: np.ndarray, sep: int | None) -> int:
    """The data row of the quote nobody closed: the first line that opens a quoted value with a quote not at a
    value's start (``abc",x``), else the last line that opens one (only a failing file pays this)."""
    ends = np.flatnonzero(data == _LF)  # line i (0 = header) ends at ends[i]
    quote_at = np.flatnonzero(data == _QUOTE)
    quote_at = quote_at[~np.isin(quote_at, stray)]
    per_line = np.bincount(np.searchsorted(ends, quote_at), minlength=ends.size + 1)
    inside_after = np.cumsum(per_line) % 2 == 1  # inside a quoted value at the end of each line
    inside_before = np.concatenate([[False], inside_after[:-1]])
    row_of_line = np.cumsum(~inside_before) - 1  # data row (1-based) each line belongs to; the header is 0
    opening = np.flatnonzero(~inside_before & inside_after)
    last_quote = np.full(inside_after.size, -1, dtype=np.int64)
    np.maximum.at(last_quote, np.searchsorted(ends, quote_at), quote_at)
    at = last_quote[opening]
    prev = np.where(at > 0, data[np.maximum(at - 1, 0)], _LF)
    odd = opening[~np.isin(prev, [_LF] + ([sep] if sep is not None else []))]
    line = odd[0] if odd.size else opening[-1]
    return int(max(row_of_line[line], 1))
