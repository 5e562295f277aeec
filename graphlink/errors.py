"""Errors raised by graphlink's library code.

The library never prints or exits; the CLI turns :class:`GraphlinkError` into a
one-line message and exit code 2.
"""

from __future__ import annotations

import re


class GraphlinkError(Exception):
    """Base class for errors a user can fix (bad input, bad configuration)."""


class InputError(GraphlinkError):
    """Bad input data, located as precisely as possible.

    Parameters
    ----------
    message : str
        What is wrong.
    file, column : str, optional
        Where it is wrong.
    row : int, optional
        1-based data row (header excluded) of the first offending row.

    Examples
    --------
    >>> str(InputError("not a timestamp", file="log.csv", column="ts", row=3))
    'log.csv: column ts, row 3: not a timestamp'
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.column = column
        self.row = row
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.row is not None:
            where.append(f"row {self.row}")
        location = ", ".join(where)
        prefix = f"{self.file}: " if self.file else ""
        if location:
            prefix += f"{location}: "
        return f"{prefix}{self.message}"


class ConfigError(GraphlinkError):
    """An invalid configuration value or configuration file."""



# A quoted or bracketed span, or a lone delimiter (polars echoes cell values in
# such spans: "could not parse `x`", "values: [...]", "at character 0 ('x')").
_SPAN = re.compile(r"""`[^`]*`|'[^']*'|"[^"]*"|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}|[`'"\[\](){}]""")
_TAIL = re.compile(r"\b(values?|found|got)\b")


def safe_reason(exc: BaseException, limit: int = 120) -> str:
    """First line of a third-party error, with anything that may echo input values removed.

    Errors from polars or its JSON parser quote the offending cell; graphlink's
    messages must never carry raw input values (they end up in logs and
    tickets), so quoted and bracketed spans become ``…``, and the text is cut
    at a lone quote or where it starts listing values.

    Examples
    --------
    >>> safe_reason(ValueError("conversion from `str` to `i64` failed for 1 out of 1 values: [secret]"))
    'conversion from `…` to `…` failed for 1 out of 1'
    >>> safe_reason(ValueError("ExpectedNull at character 0 ('n')"))
    'ExpectedNull at character 0 (…)'
    >>> safe_reason(ValueError("bad 'quote"))
    'bad'
    >>> safe_reason(ValueError(""))
    'ValueError'
    """
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    tail = _TAIL.search(text)
    if tail:
        text = text[: tail.start()]
    parts, pos = [], 0
    for match in _SPAN.finditer(text):
        parts.append(text[pos: match.start()])
        span = match.group(0)
        if len(span) == 1:  # a lone quote: what follows may be a value
            pos = len(text)
            break
        parts.append(span[0] + "…" + span[-1])
        pos = match.end()
    parts.append(text[pos:])
    text = "".join(parts).rstrip(" :,;")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or type(exc).__name__
