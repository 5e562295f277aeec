"""Standard input spooled to a temporary file, so ``graphlink detect -`` reads it like any events file."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PARQUET_MAGIC", "stdin_file"]


#: The first bytes of a Parquet file (it ends with them too).
PARQUET_MAGIC = b"PAR1"


@contextlib.contextmanager
def stdin_file(fmt: str | None) -> Iterator[Path]:
    """Standard input copied to a temporary file, removed on exit: named for ``fmt``, else ``.parquet`` when it
    starts with Parquet's magic bytes (``cat log.parquet | graphlink detect -`` needs no ``--format``), else
    ``.csv``."""
    with tempfile.TemporaryDirectory(prefix="graphlink-stdin-") as tmp:
        path = Path(tmp) / "stdin"
        with open(path, "wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        if not fmt:
            with open(path, "rb") as handle:
                fmt = "parquet" if handle.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC else "csv"
        suffix = {"parquet": ".parquet", "tsv": ".tsv", "ndjson": ".ndjson"}.get(fmt.lower(), ".csv")
        yield path.rename(path.with_suffix(suffix))
