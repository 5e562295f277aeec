"""The investigator report: one self-contained HTML file per detect output folder.

:func:`write_report` is the function behind ``graphlink report``; the HTML is
built by :mod:`graphlink.views.report.html` and the plots by
:mod:`graphlink.views.plots` (shared with the notebook).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from graphlink.store.atomic import write_atomic
from graphlink.store.targets import check_file_target
from graphlink.store.outputs import load_outputs
from graphlink.views.report.html import ReportOptions, planned_sections, render_report, section_ids
from graphlink.views.report.members import MemberEvents, member_events
from graphlink.views.report.tables import left_out_note

__all__ = ["ReportInfo", "ReportOptions", "render_report", "write_report"]


@dataclass(frozen=True)
class ReportInfo:
    """What :func:`write_report` wrote; ``warnings``: what it could not show (e.g. the events file is gone)."""

    path: Path
    bytes: int
    sections: int
    flagged: int
    clusters: int
    redacted: bool
    seconds: float
    warnings: tuple[str, ...] = ()


def write_report(out_dir: str | Path, out: str | Path | None = None, *, redact: bool = False,
                 redact_key: str | None = None, options: ReportOptions | None = None,
                 generated_at: datetime | None = None) -> ReportInfo:
    """Write the HTML report of a detect output folder, atomically.

    Parameters
    ----------
    out_dir : str or Path
        The ``--out`` folder of ``graphlink detect``.
    out : str or Path, optional
        Report file (default ``out_dir / "report.html"``).
    redact : bool
        Replace payment fingerprints, e-mails and IPs with keyed hashes
        (:mod:`graphlink.store.redact`).
    redact_key : str, optional
        HMAC key for ``redact`` (default: ``GRAPHLINK_REDACT_KEY``, else random).
    options : ReportOptions, optional
        Size limits, plots, and whether to read the original events (for
        schedules and example prompts; the events file recorded in ``run.json``).
    generated_at : datetime, optional
        Timestamp shown in the report (default: now).

    Raises
    ------
    GraphlinkError
        ``out_dir`` is not a detect output folder.
    """
    start = time.perf_counter()
    options = options or ReportOptions()
    out_dir = Path(out_dir)
    target = check_file_target(Path(out) if out is not None else out_dir / "report.html", "report", "report.html")
    # Read only the clusters that get a section.
    # Read only the clusters that get a section: the top flagged ones, then the top unflagged ones.
    wanted = planned_sections(out_dir, options)
    outputs = load_outputs(out_dir, wanted, redact=redact, redact_key=redact_key)
    events = member_events(outputs, prompts=not outputs.redaction) if options.events else None
    html = render_report(outputs, options, generated_at, events=events).encode("utf-8")
    write_atomic(target, html)
    ids = section_ids(outputs, options)
    flagged = outputs.clusters.filter("flagged")
    shown = int(flagged["cluster_id"].is_in(ids).sum())
    left = [left_out_note(flagged, set(ids), shown, out_dir)] if shown < flagged.height else []  # the page says it too
    return ReportInfo(path=target, bytes=len(html), sections=len(ids), flagged=flagged.height,
                      clusters=outputs.clusters.height, redacted=outputs.redaction is not None,
                      seconds=round(time.perf_counter() - start, 3),
                      warnings=tuple(left) + ((events.note,) if events is not None and events.missing else ()))
