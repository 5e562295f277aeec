"""Spark column expressions shared by the engine's stages: a column by its literal name, text trimmed
as the polars engine trims it."""

from __future__ import annotations

from typing import Any

from graphlink.stages.validation import spark_column as column_ref

__all__ = ["TRIM", "blank_to_null", "clean_text", "column_ref"]

#: Leading and trailing Unicode White_Space.
TRIM = r"(?U)^\s+|\s+$"


def _maybe_space(character: Any) -> Any:
    """Whether a one-character string could be Unicode White_Space (or is empty): every White_Space
    character is at most U+0020 or at least U+0085, so ordinary text skips the regular expression."""
    from pyspark.sql import functions as F

    code = F.ascii(character)  # the first code point, 0 for ""
    return (code <= 32) | (code >= 0x85)


def clean_text(column: str) -> Any:
    """The column as text, Unicode White_Space trimmed, empty as null (the polars engine's rule)."""
    from pyspark.sql import functions as F

    text = column_ref(column).cast("string")
    edges = _maybe_space(text) | _maybe_space(F.substring(text, -1, 1))
    trimmed = F.when(edges, F.regexp_replace(text, TRIM, "")).otherwise(text)
    return F.when(F.length(trimmed) > 0, trimmed).alias(column)


def blank_to_null(column: str) -> Any:
    """The column as text (untrimmed: prompts), null when it is only White_Space."""
    from pyspark.sql import functions as F

    text = column_ref(column).cast("string")
    # A search for one non-space character, not a rewrite of the whole prompt; most
    # prompts start with one.
    return F.when(~_maybe_space(text), text).when(text.rlike(r"(?U)\S"), text).alias(column)
