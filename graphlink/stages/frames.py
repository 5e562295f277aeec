"""In-memory frames (the notebook API) read as the files are: written to a temporary Parquet file, read by the
file route (:func:`graphlink.stages.ingest.load_events`, :func:`~graphlink.stages.ingest.load_accounts`), so a
frame gets the same column map, type checks, id spelling, timestamp parsing and counting as a file, and its
errors name ``<frame>``, never the temporary file the user never saw.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl

from graphlink.config import IngestConfig
from graphlink.errors import InputError, safe_reason
from graphlink.stages.ingest import AccountsInfo, load_accounts

__all__ = ["accounts_from_frame", "read_frame"]

T = TypeVar("T")


def read_frame(frame: object, read: Callable[[Path], T], name: str = "<frame>", what: str = "events") -> T:
    """``read`` of ``frame`` written to a temporary Parquet file; an :class:`InputError` naming that file
    names ``name`` instead.

    Raises
    ------
    InputError
        ``frame`` is not a polars DataFrame or LazyFrame (a pandas one: ``pl.from_pandas`` it first), cannot be
        written as Parquet, or ``read`` finds it malformed.
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        raise InputError(f"{what} must be a path or a polars DataFrame/LazyFrame, not {type(frame).__name__}"
                         + (" (convert it with polars.from_pandas)" if type(frame).__module__.startswith("pandas")
                            else ""))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"{what}.parquet"
        try:
            frame.lazy().sink_parquet(target)
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
            raise InputError(f"cannot read the {what} frame: {safe_reason(exc)}", file=name) from None
        try:
            return read(target)
        except InputError as exc:
            if exc.file != str(target):
                raise
            raise InputError(exc.message.replace(str(target), name), file=name, column=exc.column,
                             row=exc.row) from None


def accounts_from_frame(frame: object, config: IngestConfig | None = None, name: str = "<frame>") -> AccountsInfo:
    """Like :func:`graphlink.stages.ingest.load_accounts` for an in-memory accounts frame: ``email`` gives
    ``email_domain``, ids are spelled as the events' (integers as text), duplicate ids keep the earliest
    ``created_at``, text times are parsed and those that do not parse are counted in a warning.

    Examples
    --------
    >>> frame = pl.DataFrame({"account_id": [7, 7], "created_at": ["2024-05-01T10:00:00Z", "2024-04-01 09:00"],
    ...                       "email": ["a@Example.com", None]})
    >>> accounts_from_frame(frame).frame.rows()
    [('7', datetime.datetime(2024, 4, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'example.com')]
    """

    def read(path: Path) -> AccountsInfo:
        accounts = load_accounts(path, config)
        accounts.path = name
        accounts.warnings = [w.replace(str(path), name) for w in accounts.warnings]
        return accounts

    return read_frame(frame, read, name, "accounts")
