"""Standard input spooled to a temporary file, so ``graphlink detect -`` reads it like any events file."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["stdin_file"]


@contextlib.contextmanager
def stdin_file(fmt: str | None) -> Iterator[Path]:
    """Standard input copied to a temporary file (``.csv`` unless ``fmt`` names another format), removed on exit."""
    suffix = {"parquet": ".parquet", "tsv": ".tsv", "ndjson": ".ndjson"}.get((fmt or "csv").lower(), ".csv")
    with tempfile.TemporaryDirectory(prefix="graphlink-stdin-") as tmp:
        path = Path(tmp) / f"stdin{suffix}"
        with open(path, "wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        yield path
