"""CSV/TSV rows polars reads without a word: rows swallowed by a stray quote (and, from
:mod:`graphlink.stages.csv_bytes`, rows with a literal quote, too few or too many fields).

A stray quote opening one field and another closing a later one make the rows between them one quoted multi-line
value (quoted newlines are valid CSV), so those rows vanish from the count. :func:`csv_row_warnings` gives the
warnings of the pass over the file's bytes (:func:`graphlink.stages.csv_bytes.csv_source`, which the scan makes
anyway) and, only when a line inside a quoted value holds as many separators as a row (the pass tells), reads the
file once more to count swallowed rows, for ``run.json``'s warnings: partly bad input is counted and reported,
never dropped silently.

A value is taken for swallowed rows when lines after its first hold exactly as many separators as the header
(its field count less one): what a CSV row of the file looks like. A genuine multi-line prompt (prose, code)
rarely has lines with exactly that many separators, so it is read as before and not counted."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from graphlink.stages.csv_bytes import csv_source, literal_quotes, row_warnings
from graphlink.stages.reading import collect_frame, detect_format, is_blank, raw_header, sniff_separator

__all__ = ["csv_row_warnings", "swallowed_lines"]

_ROW = "__graphlink_row"


def swallowed_lines(name: str, separator: str, fields: int) -> pl.Expr:
    """Per value of column ``name``: how many of its lines after the first hold exactly ``fields - 1``
    separators (rows of the file read into it by a stray quote); 0 for a one-line value, null for null.

    Examples
    --------
    >>> frame = pl.DataFrame({"p": ["one", "a,b\\n1,2,3\\n4,5,6\\nc", "line one\\nline, two"]})
    >>> frame.select(swallowed_lines("p", ",", 3))["p"].to_list()
    [0, 2, 0]
    """
    lines = pl.col(name).str.split("\n").list.slice(1)
    fits = pl.element().str.count_matches(separator, literal=True) == fields - 1
    return lines.list.eval(fits).list.sum().cast(pl.Int64).alias(name)


def csv_row_warnings(path: str | Path, fmt: str | None = None, separator: str | None = None) -> list[str]:
    """Warnings for a CSV/TSV file's rows with more fields than its header and rows swallowed into a quoted
    value; ``[]`` for other formats, a blank file or a clean one."""
    path = Path(path)
    fmt = detect_format(path, fmt)
    if fmt not in ("csv", "tsv") or is_blank(path):
        return []
    sep = sniff_separator(path, fmt, separator)
    header = raw_header(path, sep)
    names = [f"__c{i}" for i in range(len(header))]
    source = csv_source(path, sep)  # rows with a literal quote, too few or too many fields: counted from the bytes
    warnings = row_warnings(source, str(path))
    if not source.row_like:  # no line inside a quoted value looks like a row: nothing to read again
        return warnings
    lf = pl.scan_csv(source.source, has_header=False, skip_rows=1, separator=sep, glob=False, encoding="utf8-lossy",
                     schema={name: pl.String for name in names}, missing_columns="insert", truncate_ragged_lines=True)
    lf = literal_quotes(lf, source)
    multi = pl.any_horizontal([pl.col(c).str.contains("\n", literal=True) for c in names])
    counted = [swallowed_lines(c, sep, len(names)).fill_null(0).alias(f"{c}_n") for c in names]
    rows = collect_frame(lf.with_row_index(_ROW, offset=1).filter(multi).with_columns(counted)
                         .filter(pl.sum_horizontal([f"{c}_n" for c in names]) > 0), str(path))
    if not rows.height:
        return warnings
    shapes = _fixed_shapes(collect_frame(lf.head(_SAMPLE), str(path)), names)
    rows = rows.with_columns(pl.Series(c, [_row_lines(v, sep, len(names), shapes) if n else 0
                                           for v, n in zip(rows[c], rows[f"{c}_n"])], dtype=pl.Int64)
                             for c in names)
    rows = rows.select(_ROW, *names).with_columns(pl.sum_horizontal(names).alias("swallowed"))
    return [*warnings, *_swallowed_warning(rows, str(path), header, names)]


#: Data rows whose fields' shapes (:func:`_shape`) tell what a row of the file looks like.
_SAMPLE = 200


def _shape(text: str) -> str:
    """A field's shape: digits as ``9``, letters as ``a``, runs of one symbol as one (``2026-03-01T10:00:00Z`` and
    ``2025-1-6T9:01:00.5Z`` alike: ``9-9-9a9:9:9a``; ``10.0.1.1``: ``9.9.9.9``)."""
    text = re.sub(r"[^\W\d_]", "a", re.sub(r"\d", "9", text.strip().strip('"')))
    return re.sub(r"(.)\1+", r"\1", text)


def _fixed_shapes(sample: pl.DataFrame, names: list[str]) -> dict[int, str]:
    """Column position -> the one shape every sampled value of it has (times, addresses, ids written alike), for
    the columns where the first rows agree (20 values or more); free text (prompts) has none."""
    fixed = {}
    for i, name in enumerate(names):
        values = [v for v in sample[name].to_list() if v is not None and v != "" and "\n" not in v]
        shapes = {_shape(v) for v in values}
        if len(values) >= 20 and len(shapes) == 1:
            fixed[i] = shapes.pop()
    return fixed


def _row_lines(value: str | None, separator: str, fields: int, shapes: dict[int, str]) -> int:
    """How many lines of ``value`` after its first read as rows of the file: exactly ``fields - 1`` separators and,
    where the file has columns of one shape (:func:`_fixed_shapes`), those fields of that shape. A CSV table or
    code pasted into a prompt has the separators but not the file's times and addresses where they belong."""
    if not value:
        return 0
    count = 0
    for line in value.split("\n")[1:]:
        parts = line.rstrip("\r").split(separator)
        if len(parts) == fields and all(parts[i].strip() in ("", '""') or _shape(parts[i]) == shape
                                        for i, shape in shapes.items()):
            count += 1
    return count


def _swallowed_warning(rows: pl.DataFrame, path: str, header: list[str], names: list[str]) -> list[str]:
    hits = rows.filter(pl.col("swallowed") > 0)
    if not hits.height:
        return []
    total = int(hits["swallowed"].sum())
    first = hits.row(0, named=True)
    column = next((h or f"#{i + 1}" for i, (h, c) in enumerate(zip(header, names)) if first[c]), "?")
    look = "line looks" if total == 1 else "lines look"
    return [f"{path}: {total:,} {look} like rows of the file inside quoted values (as many fields as its header; "
            f"the first in column {column.strip()}, row {first[_ROW]}): a stray double quote probably opened a value "
            "that a later one closed, and those rows were not read; check the file's quoting"]
