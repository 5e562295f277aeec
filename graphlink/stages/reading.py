"""Reading input files: format from the extension, encoding checks, CSV separator sniffing, lazy scans.

Used by :mod:`graphlink.stages.ingest`; every read error becomes an
:class:`~graphlink.errors.InputError` naming the file.
"""

from __future__ import annotations

import glob
from pathlib import Path

import polars as pl

from graphlink.config.columns import ACCOUNT_COLUMNS
from graphlink.errors import InputError, safe_reason
from graphlink.stages.csv_bytes import csv_source, literal_quotes
from graphlink.stages.text_bytes import read_escaped

__all__ = ["BLANK_PROBE", "COMPRESSED_MAGIC", "COMPRESSED_SUFFIXES", "EXTENSIONS", "apply_column_map",
           "check_compressed", "check_folder", "compressed_reason", "check_parquet_magic", "clean_header", "collect_frame",
           "detect_format", "header_separator", "is_blank", "normalise_header", "raw_header", "read_schema", "scan", "sniff_encoding", "sniff_separator"]

#: File extension -> format.
EXTENSIONS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".csv": "csv", ".tsv": "tsv",
    ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson",
}
# A text file whose first bytes are all whitespace and which is no longer than this is empty.
BLANK_PROBE = 1 << 16
#: Compressed files and archives graphlink does not read: their first bytes (and extensions) -> their kind.
#: A log exported as ``events.csv.gz`` is common; read as text it failed with a quoting error on row 1 (readme63).
#: bzip2's "BZh" must be followed by a digit and the block magic 1AY&SY (a CSV header may open "BZh").
COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz",
                    b"\x28\xb5\x2f\xfd": "zstd"}
COMPRESSED_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".tgz": "gzip", ".zip": "zip", ".bz2": "bzip2", ".xz": "xz",
                       ".zst": "zstd", ".xlsx": "spreadsheet", ".xls": "spreadsheet", ".ods": "spreadsheet"}
_UNPACK = {"gzip": "gzip -dk FILE", "zip": "unzip FILE", "bzip2": "bzip2 -dk FILE", "xz": "xz -dk FILE",
           "zstd": "zstd -d FILE"}


def detect_format(path: str | Path, override: str | None = None) -> str:
    """Return ``parquet``, ``csv``, ``tsv`` or ``ndjson`` for ``path``.

    Examples
    --------
    >>> detect_format("log.PARQUET"), detect_format("x.jsonl"), detect_format("x.txt", "csv")
    ('parquet', 'ndjson', 'csv')
    """
    if override:
        fmt = override.lower()
        if fmt not in {"parquet", "csv", "tsv", "ndjson"}:
            raise InputError(f"unknown format {override!r}; use parquet, csv, tsv or ndjson", file=str(path))
        return fmt
    fmt = EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is None and Path(path).suffix.lower() in COMPRESSED_SUFFIXES:
        raise InputError(compressed_reason(COMPRESSED_SUFFIXES[Path(path).suffix.lower()]), file=str(path))
    if fmt is None:
        raise InputError(
            "unknown file format (expected .parquet, .csv, .tsv, .ndjson or .jsonl); pass --format",
            file=str(path),
        )
    return fmt


def compressed_reason(kind: str) -> str:
    """The error for a compressed file or archive of ``kind`` (a :data:`COMPRESSED_SUFFIXES` value): what it is
    and how to unpack it, as graphlink reads Parquet, CSV/TSV and NDJSON files as they are.

    Examples
    --------
    >>> compressed_reason("gzip")
    'is gzip-compressed; graphlink reads uncompressed Parquet, CSV/TSV or NDJSON: decompress it first (gzip -dk FILE)'
    """
    if kind == "spreadsheet":
        return "is a spreadsheet workbook; save the sheet as CSV (UTF-8) and give that file"
    how = _UNPACK[kind] + (": an .xlsx workbook is a zip file too, save its sheet as CSV" if kind == "zip" else "")
    return f"is {kind}-compressed; graphlink reads uncompressed Parquet, CSV/TSV or NDJSON: decompress it first ({how})"


def check_compressed(path: Path) -> None:
    """Refuse a compressed file or archive (:data:`COMPRESSED_MAGIC`, by its first bytes) with one line saying so.

    Raises
    ------
    InputError
        The file opens with a gzip, zip, bzip2, xz or zstd signature.
    """
    with open(path, "rb") as handle:
        head = handle.read(10)
    for magic, kind in COMPRESSED_MAGIC.items():
        if head.startswith(magic) and (kind != "bzip2" or head[3:4].isdigit() and head[4:10] == b"1AY&SY"):
            raise InputError(compressed_reason(kind), file=str(path))


def sniff_encoding(path: Path, fmt: str) -> bytes | None:
    """Check the start of a text file; return NDJSON bytes to parse from memory, if any.

    Raises for UTF-16/32 files (common from spreadsheet exports) instead of
    reading them as garbage. A UTF-8 byte-order mark is fine: polars skips it
    in CSV, and an NDJSON file with one is parsed from memory without it.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise InputError("file is UTF-16 or UTF-32 encoded; convert it to UTF-8", file=str(path))
        if fmt == "ndjson" and head[:3] == b"\xef\xbb\xbf":
            handle.seek(3)
            return handle.read()
    return None


def is_blank(path: Path) -> bool:
    """True for an empty or whitespace-only file (no header, no records)."""
    with open(path, "rb") as handle:
        head = handle.read(BLANK_PROBE + 1)
    return len(head) <= BLANK_PROBE and not head.lstrip(b"\xef\xbb\xbf").strip()


def sniff_separator(path: str | Path, fmt: str = "csv", override: str | None = None) -> str:
    """The field separator of a CSV/TSV file: ``override``, tab for TSV, else sniffed from the header.

    The header line (up to 64 KiB) is checked for ``,``, ``;``, tab and ``|``
    outside double quotes; the most frequent wins, ``,`` on a tie or when none
    occurs. European spreadsheet exports write ``;``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write('account_id;"ip, as logged";ts\\na;1.2.3.4;2024-01-01\\n')
    >>> sniff_separator(f.name); os.unlink(f.name)
    ';'
    """
    if override:
        return override
    if fmt == "tsv":
        return "\t"
    with open(path, "rb") as handle:
        head = handle.read(BLANK_PROBE)
    return header_separator(head)


def header_separator(head: bytes) -> str:
    """:func:`sniff_separator`'s choice from the first bytes of a file (its header line)."""
    line = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    unquoted = b"".join(line.split(b'"')[0::2])
    counts = {sep: unquoted.count(sep.encode()) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def scan(path: str | Path, fmt: str | None = None, columns: tuple[str, ...] = (),
         separator: str | None = None) -> pl.LazyFrame:
    """Lazily scan ``path``; text formats are read as strings so junk never fails inference.

    An empty (or whitespace-only) CSV/TSV/NDJSON file is an empty log: it scans
    to zero rows with only an ``account_id`` column. NDJSON values are read as
    text too (numbers in canonical form, ``true``/``false``, nested values as
    their JSON text), so one record's ``"ip": [..]`` cannot break another's
    ``"ip": "1.2.3.4"``; if the keys themselves cannot be inferred, the
    ``columns`` graphlink can use are read, those that occur kept.
    """
    path = Path(path)
    if path.is_dir():
        check_folder(path)
        raise InputError("is a folder: the polars engine reads one file (--engine spark reads a folder of "
                         "part files)", file=str(path))
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    fmt = detect_format(path, fmt)
    check_compressed(path)  # read as text, a .csv.gz was "a double quote opens a value ..." on row 1
    try:
        if fmt == "parquet":
            check_parquet_magic(path)
            return pl.scan_parquet(path, glob=False)  # a path, never a pattern: 'runs[2]/x.parquet'
        if is_blank(path):
            return pl.LazyFrame(schema={"account_id": pl.String})
        unmarked = sniff_encoding(path, fmt)
        if fmt in ("csv", "tsv"):
            sep = sniff_separator(path, fmt, separator)
            source = csv_source(path, sep)  # literal quotes inside values replaced (graphlink.stages.csv_bytes)
            lf = pl.scan_csv(source.source, glob=False, separator=sep, infer_schema=False, encoding="utf8-lossy",
                             truncate_ragged_lines=True)
            return literal_quotes(lf, source)
        from graphlink.stages.validation import check_json_keys

        check_json_keys(path)
        source = glob.escape(str(path)) if unmarked is None else unmarked  # scan_ndjson has no glob=False
        try:
            return _scan_ndjson(source, columns)
        except pl.exceptions.PolarsError:
            escaped = read_escaped(path, json=True)  # bytes that are not UTF-8: U+FFFD and \xNN, as in CSV
            if escaped is None:
                raise
            return _scan_ndjson(escaped.removeprefix("\ufeff".encode()), columns)
    except (pl.exceptions.PolarsError, OSError) as exc:
        if fmt == "ndjson":  # a broken line: named, as the Spark engine names it
            from graphlink.stages.validation import first_bad_json_line, json_line_error, opens_json_array

            line = first_bad_json_line(path)
            if line is not None:  # a JSON array of records (a .json export) is said as such
                raise json_line_error(str(path), line, opens_json_array(path)) from None
        raise InputError(f"cannot read as {fmt}: {safe_reason(exc)}", file=str(path)) from None


def _scan_ndjson(source: str | bytes, columns: tuple[str, ...]) -> pl.LazyFrame:
    """:func:`scan` of NDJSON: every key's values as text (see there)."""
    try:
        names = pl.scan_ndjson(source, infer_schema_length=None).collect_schema().names()
    except pl.exceptions.PolarsError:
        if not columns:
            raise
        names = None
    if names is not None:
        return pl.scan_ndjson(source, schema={name: pl.String for name in names})
    # No common type for some key: read the usable columns, keep those that occur.
    as_text = pl.scan_ndjson(source, schema={name: pl.String for name in dict.fromkeys(columns)})
    present = as_text.select(pl.all().is_not_null().any()).collect().row(0, named=True)
    return as_text.select([name for name, seen in present.items() if seen])


def read_schema(lf: pl.LazyFrame, path: str) -> pl.Schema:
    """The frame's schema, read errors as an :class:`InputError` naming the file."""
    try:
        return lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read: {safe_reason(exc)}", file=path) from None


def collect_frame(lf: pl.LazyFrame, path: str) -> pl.DataFrame:
    """Collect, turning read/compute errors into an :class:`InputError` naming the file."""
    try:
        return lf.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read: {safe_reason(exc)}", file=path) from None


def normalise_header(lf: pl.LazyFrame, schema: pl.Schema, path: Path, fmt: str | None,
                      separator: str | None = None) -> pl.LazyFrame:
    """Reject duplicate column names; trim whitespace (and stray BOMs) around names.

    polars silently renames a repeated CSV header to ``NAME_duplicated_0``, so the
    header is read raw. Repeated empty names (trailing commas) are harmless.
    """
    names = list(schema.names())
    if detect_format(path, fmt) in ("csv", "tsv") and names and not is_blank(path):
        raw = raw_header(path, sniff_separator(path, detect_format(path, fmt), separator))
    else:
        raw = names
    clean = clean_header(raw, str(path))
    if len(clean) != len(names):
        return lf
    renames = {old: new for old, new in zip(names, clean) if new and old != new}
    # Unnamed columns (trailing commas) are no columns: polars names the second "_duplicated_0", which made a list of
    # ids with two trailing commas "no event column" (brk41).
    unnamed = [old for old, new in zip(names, clean) if not new]
    lf = lf.drop(unnamed) if unnamed else lf
    return lf.rename(renames) if renames else lf


def raw_header(path: str | Path, separator: str) -> list[str]:
    """The first line of a CSV/TSV file as written (polars renames repeated names when it reads a header)."""
    try:
        raw = pl.read_csv(csv_source(path, separator).source, separator=separator, has_header=False, n_rows=1,
                          infer_schema=False, glob=False,
                          encoding="utf8-lossy", truncate_ragged_lines=True).row(0)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read the header: {safe_reason(exc)}", file=str(path)) from None
    return [name or "" for name in raw]


def clean_header(raw: list[str], path: str) -> list[str]:
    """Column names trimmed (white space, stray byte-order marks); a repeated name is an error.

    Raises
    ------
    InputError
        ``duplicate column name(s)``; repeated empty names (trailing commas) are harmless. ``line
        endings``: a carriage return inside the header line means the file's lines end in CR only
        (classic Mac OS), so the "header" is the whole file; refused without quoting it (its
        "names" would be the log's values).
    """
    if any("\r" in name.rstrip("\r") for name in raw):
        raise InputError("its lines end in a carriage return only (classic Mac OS line endings), so no header "
                         "line can be told apart; convert the line endings to LF or CRLF", file=path)
    clean = [name.strip().lstrip("\ufeff").strip() for name in raw]
    seen: dict[str, int] = {}
    for name in clean:
        if name:
            seen[name] = seen.get(name, 0) + 1
    dup = [name for name, n in seen.items() if n > 1]
    if dup:
        raise InputError(f"duplicate column name(s): {', '.join(dup)}; rename or drop the repeated columns", file=path)
    return clean


def check_folder(path: str | Path) -> None:
    """Refuse a folder holding no data files (only names starting with ``_`` or ``.``, as Spark skips).

    Raises
    ------
    InputError
        ``is an empty folder``, the same for both engines.
    """
    if not any(not name.startswith(("_", ".")) for name in __import__("os").listdir(path)):
        raise InputError("is an empty folder (no data files in it)", file=str(path))


def check_parquet_magic(path: str | Path) -> None:
    """Refuse a local file that lacks Parquet's ``PAR1`` markers at its start and end (a CSV named
    ``.parquet``), with one message for both engines.

    Raises
    ------
    InputError
        ``not a Parquet file``.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    if size < 12 or head != b"PAR1" or tail != b"PAR1":
        raise InputError("not a Parquet file (no PAR1 markers at its start and end); check the file, or pass "
                         "--format if it is CSV, TSV or NDJSON", file=str(path))


def apply_column_map(lf: pl.LazyFrame, schema: pl.Schema, mapping, path: str) -> pl.LazyFrame:
    """``lf`` with the ``(canonical, source)`` pairs of ``mapping`` applied as renames (``--map``).

    A source the file lacks is an :class:`InputError` naming the columns it has, except an accounts-file column
    (``created_at``, ``email_domain``, ``email``: the events file need not have it) and an ``account_id`` source
    when another ``account_id`` source is in the file (one id column per file). A column already named like a
    target is replaced by the mapped one.
    """
    renames, ids = {}, [s for c, s in mapping if c == "account_id" and s in schema]  # one id column per file
    if len(ids) > 1:
        raise InputError(f"account_id is mapped to {len(ids)} columns of this file ({', '.join(map(repr, ids))}); "
                         "map it to one", file=path)
    for canonical, source in mapping:
        if canonical == "account_id" and source not in schema and ids:  # another file's id column (--accounts)
            continue
        if source not in schema and canonical in ACCOUNT_COLUMNS[1:]:  # the accounts file's column (brk41: the
            continue  # events file lacked --map created_at=signup's column, which the error's own hint told to map)
        if source not in schema:
            raise InputError(
                f"column {source!r} (mapped to {canonical}) not found; columns are: {', '.join(schema.names())}",
                file=path,
            )
        if source != canonical:
            renames[source] = canonical
    if not renames:
        return lf
    # A column already named like a mapping target is replaced by the mapped one.
    clashes = [c for c in renames.values() if c in schema and c not in renames]
    return lf.drop(clashes).rename(renames)
