"""Input rules both engines apply the same way: column checks, float spellings, NDJSON lines.

The polars engine (:func:`graphlink.stages.ingest.load_events`) and the Spark
engine (:func:`graphlink.engines.spark.ingest.read_events`) read the same
files with different readers; every rule on *which* input is accepted and
*how* a value is spelled as text is defined here once, with a polars and a
Spark expression for the value rules, so that the same input gives the same
tables, or the same one-line error, in both.

Rules
-----
* Column names: ``account_id`` must exist (:func:`check_columns`), and so
  must one event column besides it (``timestamp``, ``ip``,
  ``payment_fingerprint``, ``prompt``, ``user_agent`` or a ``--signal``)
  unless ``account_id`` is the source's only column (an empty log): an
  accounts file given as the events is an error naming what it lacks, not
  an empty run; a ``--signal`` column must exist and not be a built-in column; a used column
  (``account_id``, ``timestamp``, ``ip`` ... or a ``--signal``) may not share
  its name up to case with another column (``Account_ID`` next to
  ``account_id``): Spark and most warehouses do not tell such names apart,
  so which one is meant is not knowable.
* Floating-point identifier columns (:func:`float_text`): ids, IPs, tokens
  and ``--signal`` values are compared as text, and floats have no single
  text form (polars writes ``1e+18``, Spark ``1.0E18``; 1e18 and 1e18 + 1
  are the same double). A float column is accepted when every value is a
  whole number of magnitude at most 2**53 (integers stored as floats, the
  pandas way of writing an integer column with gaps): each is spelled as the
  integer (``12.0`` -> ``12``), NaN is missing. Any other value (``0.25``,
  ``1e18``, infinity) is an error naming the column and the first such row.
* Datetime columns are not identifiers (:func:`check_not_a_time`): the engines
  print them differently; as a ``--signal`` or identifier column they are an
  error (dates are read as ``YYYY-MM-DD`` by both).
* NDJSON: a line that is not a JSON object is an error naming the line
  (:func:`first_bad_json_line`), rather than read by one engine and refused
  by the other.

Errors are :class:`~graphlink.errors.InputError` (one line, exit code 2 in
the CLI) and never quote input values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.config import EVENT_COLUMNS
from graphlink.errors import InputError
from graphlink.views.words import first_rows_text

__all__ = ["MAX_EXACT_FLOAT", "check_columns", "check_not_a_time", "first_bad_json_line", "float_bad", "float_error",
           "float_text", "is_float", "json_line_error", "check_json_keys", "missing_id_warning",
           "opens_json_array", "spark_column", "spark_float_bad", "spark_float_text", "starts_with_json_object"]

#: Columns of an accounts file (``--accounts``) that an events file does not have: named in the hint when
#: a file with them and no event column is given as the events.
ACCOUNT_EVENT_HINTS = ("created_at", "email_domain", "email")
#: Whole numbers up to this magnitude are exact in a double (IEEE 754 binary64: 53-bit significand).
MAX_EXACT_FLOAT = 2 ** 53


def check_columns(columns: Sequence[str], file_columns: Sequence[str], extra_signals: Iterable[str],
                  path: str) -> list[str]:
    """Check the column names of an events source; return the columns graphlink uses, in output order.

    Parameters
    ----------
    columns : sequence of str
        The source's column names after ``--map`` renames.
    file_columns : sequence of str
        The names as in the file (for the message when ``account_id`` is missing).
    extra_signals : iterable of str
        ``--signal`` columns.
    path : str
        The source, for messages.

    Returns
    -------
    list of str
        The canonical columns present (:data:`graphlink.config.EVENT_COLUMNS` order), then the
        ``--signal`` columns.

    Raises
    ------
    InputError
        No ``account_id`` column; no event column besides it (``timestamp``, ``ip``,
        ``payment_fingerprint``, ``prompt``, ``user_agent`` or a ``--signal``) in a source that has
        other columns (an accounts file given as the events: the message names the missing
        columns); a ``--signal`` column missing or built in; a used column whose name equals
        another column's up to case.
    """
    extra = list(dict.fromkeys(extra_signals))
    if "account_id" not in columns:
        hint = "map one with --map account_id=COLUMN"
        if len(file_columns) == 1 and any(sep in file_columns[0] for sep in ";|\t,"):
            hint = "the file has a single column: pass its field separator with --separator"
        elif len(file_columns) == 1 and not str(path).lower().endswith(".parquet"):  # a list of ids without a header
            hint = ("map one with --map account_id=COLUMN; a list of ids needs a header line, account_id (its first "
                    "line is read as the header)")
        raise InputError(f"no account_id column (columns in the file: {', '.join(file_columns) or 'none'}); {hint}",
                         file=path)
    for name in extra:
        if name not in columns:
            raise InputError(f"signal column {name!r} not found; columns are: {', '.join(columns)}", file=path)
        if name in EVENT_COLUMNS:
            raise InputError(f"{name!r} is already a built-in signal; --signal is for other columns", file=path)
    keep = [c for c in EVENT_COLUMNS if c in columns] + extra
    named = [c for c in file_columns if c.strip()]  # a trailing comma's unnamed column is no column
    if len(keep) == 1 and len([c for c in columns if c.strip()]) > 1:
        # Columns, none of which graphlink reads as events: another table (an accounts file, labels) given as the
        # log. An ``account_id`` column alone is an empty log's scan (nothing to misread) and stays valid.
        hint = ("it looks like an accounts file: give the events log here and this file with --accounts"
                if set(columns) & set(ACCOUNT_EVENT_HINTS) else
                "map one with --map CANONICAL=COLUMN, or declare a column with --signal NAME")
        raise InputError(f"no event column: missing {', '.join(EVENT_COLUMNS[1:])} (at least one is needed besides "
                         f"account_id; columns in the file: {', '.join(named)}); {hint}", file=path)
    for name in keep:
        twins = [c for c in columns if c != name and c.casefold() == name.casefold()]
        if twins:
            raise InputError(f"columns {name!r} and {twins[0]!r} differ only in case, which Spark and most "
                             f"warehouses cannot tell apart; rename or drop one", file=path)
    return keep


def is_float(dtype: Any) -> bool:
    """True for a polars or Spark floating-point type (Float32/Float64, FloatType/DoubleType)."""
    if isinstance(dtype, pl.DataType) or (isinstance(dtype, type) and issubclass(dtype, pl.DataType)):
        return dtype in (pl.Float32, pl.Float64)
    return type(dtype).__name__ in ("FloatType", "DoubleType")


def check_not_a_time(name: str, dtype: Any, path: str) -> None:
    """Refuse a datetime column used as an identifier or ``--signal`` column (not ``timestamp``).

    The engines print times differently (polars ``2024-05-03 08:47:56 UTC``, Spark
    ``2024-05-03 08:47:56``), and an exact instant is no shared identifier; dates are fine.

    Raises
    ------
    InputError
        ``holds datetimes``, naming the column.
    """
    kind = type(dtype).__name__ if not isinstance(dtype, type) else dtype.__name__
    if kind in ("Datetime", "Time", "TimestampType", "TimestampNTZType"):
        raise InputError("holds datetimes, which are not identifiers (the engines print them differently); "
                         "store the column as text", file=path, column=name)


def float_text(name: str) -> pl.Expr:
    """A float column as identifier text (polars): whole numbers as integers, NaN null, others null.

    Use with :func:`float_bad` (the values this maps to null though present).
    """
    x = pl.col(name).cast(pl.Float64)
    whole = x.is_not_nan() & (x.abs() <= MAX_EXACT_FLOAT) & (x.floor() == x)
    return pl.when(whole).then(x.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(None).alias(name)


def float_bad(name: str) -> pl.Expr:
    """True where a float column holds a value :func:`float_text` cannot spell: fractions, huge, infinite."""
    x = pl.col(name).cast(pl.Float64)
    whole = (x.abs() <= MAX_EXACT_FLOAT) & (x.floor() == x)
    return x.is_not_null() & x.is_not_nan() & ~whole


def spark_column(name: str) -> Any:
    """``F.col`` of a Spark column by its literal name: backquoted, so a ``.`` or a backtick is part of the
    name (``dev.id`` is a column, not a struct's field)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def spark_float_text(name: str) -> Any:
    """:func:`float_text` as a Spark column."""
    from pyspark.sql import functions as F

    x = spark_column(name).cast("double")
    whole = ~F.isnan(x) & (F.abs(x) <= float(MAX_EXACT_FLOAT)) & (x.cast("long").cast("double") == x)
    return F.when(whole, x.cast("long").cast("string")).alias(name)


def spark_float_bad(name: str) -> Any:
    """:func:`float_bad` as a Spark column (Spark's NaN compares equal to itself and above all numbers,
    so NaN is excluded first)."""
    from pyspark.sql import functions as F

    x = spark_column(name).cast("double")
    whole = (F.abs(x) <= float(MAX_EXACT_FLOAT)) & (x.cast("long").cast("double") == x)
    return x.isNotNull() & ~F.isnan(x) & ~whole


def float_error(path: str, column: str, row: int | None) -> InputError:
    """The error for a float identifier column with a value that is not a whole number up to 2**53."""
    return InputError("floating-point values that are not whole numbers up to 2**53 (such as 0.25 or 1e18) have "
                      "no exact spelling as an identifier; store the column as text or integers",
                      file=path, column=column, row=row)


def first_bad_json_line(path: str | Path) -> int | None:
    """The 1-based number of the first non-blank line of an NDJSON file that is not a JSON object, else None.

    Read line by line (only called once a reader has failed); a UTF-8 byte-order mark is skipped.
    """
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.lstrip(b"\xef\xbb\xbf") if number == 1 else line
            if not text.strip():
                continue
            try:  # NaN, Infinity (Python's json.dumps writes them) are no JSON: polars refuses them, so here too
                value = json.loads(text, parse_constant=_no_constant)
            except ValueError:
                return number
            if not isinstance(value, dict):
                return number
    return None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def opens_json_array(path: str | Path) -> bool:
    """Whether a local file's first non-blank character (after a byte-order mark) is ``[``: one JSON array of
    records (``json.dump(records)``, a ``.json`` export), not NDJSON (:func:`json_line_error` says so)."""
    with open(path, "rb") as handle:
        return handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip().startswith(b"[")


def starts_with_json_object(path: str | Path) -> bool:
    """Whether the first non-blank character of a local NDJSON file (after a byte-order mark) is ``{``
    (or it is blank): a JSON array file (``json.dump(records)``) is not NDJSON."""
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    return not head or head.startswith(b"{")


def json_line_error(path: str, line: int, array: bool = False) -> InputError:
    """The error for an NDJSON line that is not a JSON object; ``array``: the file opens with ``[``, one JSON
    array of records (a ``.json`` export, ``json.dump(records)``), which is said with the conversion -- at whatever
    line the ``[`` stands: the lines before it are blank, so the first line that is no object is the array's (brk63)."""
    if array:
        return InputError("cannot read as ndjson: the file is one JSON array, not one JSON object per line; "
                          "write one record per line (jq -c '.[]' FILE > FILE.ndjson)", file=path)
    return InputError(f"cannot read as ndjson: line {line:,} is not a JSON object (NDJSON needs one object "
                      "per line; NaN and Infinity are not JSON, write null); fix or remove it", file=path)


def missing_id_warning(accounts: pl.LazyFrame, rows: int, missing: int, path: str) -> list[str]:
    """The accounts file's rows without an account id (``accounts``: its cleaned ``account_id`` column), ignored:
    one warning naming the first (they were counted in ``run.json`` only, unsaid).

    Raises
    ------
    InputError
        Every row lacks one, or the file has no rows (it would add nothing, silently), as for an events file.
    """
    if not rows:  # (a header alone: none of its rows has an id either, and it would add nothing as silently)
        raise InputError("the accounts file has no rows, so it adds nothing; check the file or leave --accounts out",
                         file=path)
    if not missing:
        return []
    if missing >= rows:
        raise InputError(f"every row ({rows:,}) has an empty account_id, so the file adds nothing; check the column "
                         "(--map account_id=COLUMN)", file=path, column="account_id")
    first = accounts.with_row_index("__row", offset=1).filter(pl.col("account_id").is_null()).select("__row")
    row = int(first.head(1).collect().item())
    were = "row has" if missing == 1 else "rows have"
    return [f"{missing:,} {were} no account_id in {path} ({first_rows_text([row], missing)}); ignored"]


#: NDJSON lines whose keys are checked for repeats (a log writes every record alike).
JSON_KEY_PROBE = 100


def check_json_keys(source: str | Path | bytes) -> None:
    """Refuse an NDJSON file whose first records repeat a key (``{"ip": "a", "ip": "b"}``): JSON readers keep one of
    the two silently, as a repeated CSV header name would be (an error too).

    Raises
    ------
    InputError
        ``duplicate key(s)`` naming them and the line.
    """
    if isinstance(source, bytes):
        lines = source.splitlines()[:JSON_KEY_PROBE]
    else:
        with open(source, "rb") as handle:
            lines = [line for _, line in zip(range(JSON_KEY_PROBE), handle)]
    for number, line in enumerate(lines, start=1):
        repeated: list[str] = []

        def pairs(items: list[tuple[str, Any]]) -> dict:
            keys = [k for k, _ in items]
            repeated.extend(k for k in dict.fromkeys(keys) if keys.count(k) > 1)
            return dict(items)

        try:
            json.loads(line.lstrip(b"\xef\xbb\xbf") if number == 1 else line, object_pairs_hook=pairs)
        except ValueError:
            continue  # a broken line is the reader's to name
        if repeated:
            raise InputError(f"duplicate key(s) in line {number}: {', '.join(repeated[:5])}; a record must name each "
                             "column once", file=str(source) if not isinstance(source, bytes) else None)
