"""Errors raised by graphlink's library code.

The library never prints or exits; the CLI turns :class:`GraphlinkError` into a
one-line message and exit code 2.
"""

from __future__ import annotations


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
