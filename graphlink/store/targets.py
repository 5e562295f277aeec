"""Files a command writes at a path the user names (``report -o``, ``export -f gexf|graphml -o``): never over a
file graphlink did not write.

A slip such as ``graphlink report out -o events.csv`` (for ``-o report.html``) replaced the user's log with the
page, and ``-o out/run.json`` broke the output folder for every later command. An existing file is replaced only
if it is an earlier output of the same kind, known by its first bytes (the report's ``<title>``, the graph's root
element), as ``expand --out`` replaces only an earlier ranking and ``match --out`` only an earlier match folder.
"""

from __future__ import annotations

from pathlib import Path

from graphlink.contract import CSV_BOM
from graphlink.errors import GraphlinkError

__all__ = ["MARKERS", "check_csv_targets", "check_file_target"]

#: What the first :data:`HEAD_BYTES` of an earlier output of each kind hold.
MARKERS = {"report": (b"<title>graphlink report",), "gexf": (b"<gexf",), "graphml": (b"<graphml",)}
HEAD_BYTES = 64 * 1024


def check_file_target(path: str | Path, kind: str, example: str) -> Path:
    """``path`` if a ``kind`` output (``report``, ``gexf``, ``graphml``) may be written there: a new file, or an
    earlier output of that kind.

    Raises
    ------
    GraphlinkError
        ``path`` is a folder, or a file that is not an earlier ``kind`` output (nothing was written).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("account_id,ip\\n")
    >>> check_file_target(f.name, "report", "report.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    graphlink.errors.GraphlinkError: ....csv: exists and is not a graphlink report; nothing was written: choose another --out (e.g. report.html)
    >>> os.unlink(f.name)
    """
    path = Path(path)
    if path.is_dir():
        raise GraphlinkError(f"{path}: is a folder; give a file name such as {path / example}")
    if path.exists():
        try:
            with open(path, "rb") as handle:
                head = handle.read(HEAD_BYTES)
        except OSError:
            head = b""
        if not any(marker in head for marker in MARKERS[kind]):
            what = "a graphlink report" if kind == "report" else f"a {kind} graph export"
            raise GraphlinkError(f"{path}: exists and is not {what}; nothing was written: choose another --out "
                                 f"(e.g. {example})")
    return path


def check_csv_targets(files: dict[Path, bytes]) -> None:
    """Refuse to write CSV ``files`` (path -> content) over an existing file whose header line differs from the
    new content's: a ``members.csv`` of the user's in the folder named by ``export -f csv -o``; an earlier CSV
    export (the same header) is replaced.

    Raises
    ------
    GraphlinkError
        Naming the first such file (nothing was written).
    """
    for path, content in files.items():
        if path.is_dir():
            raise GraphlinkError(f"{path}: is a folder; nothing was written: choose another --out")
        if not path.exists():
            continue
        try:
            with open(path, "rb") as handle:
                header = handle.readline(HEAD_BYTES).rstrip(b"\r\n")
        except OSError:
            header = None
        # An earlier export with or without the byte-order mark (--bom) is the same export.
        if header is None or header.removeprefix(CSV_BOM) != content.split(b"\n", 1)[0].rstrip(b"\r").removeprefix(CSV_BOM):
            raise GraphlinkError(f"{path}: exists and is not an earlier graphlink CSV export (another header); "
                                 "nothing was written: choose another --out")
