"""How ``graphlink match`` reads its new log: the earlier run's settings and column map, fitted to the new file.

A new log is read as the earlier run read its log (``run.json``'s parameters), with the user's ``--map`` on top; a
list of ids (one ``account_id`` column, such as an exported ``members.csv``) is read by its ids alone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.config import IngestConfig, PipelineConfig, build_config
from graphlink.contract import RUN_FILE
from graphlink.errors import ConfigError, GraphlinkError, InputError
from graphlink.stages.ingest import events_from_frame, load_events
from graphlink.stages.reading import normalise_header, read_schema, scan
from graphlink.store.folder import Outputs

__all__ = ["READ_OPTIONS", "id_list", "known_config", "new_log_columns", "read_events"]

#: How the new log is read, overriding the earlier run's settings: keyword -> the CLI option.
READ_OPTIONS = {"format": "--format", "timestamp_format": "--timestamp-format", "separator": "--separator"}


def known_config(outputs: Outputs, columns: tuple[tuple[str, str], ...] = (), events: Any = None,
                 **reading: str | None) -> PipelineConfig:
    """The earlier run's configuration (``run.json``), with ``columns`` (canonical, column) mapped on top: a column
    mapped here replaces the earlier run's map of it. A map kept from the earlier run (``account_id=user_id``) is
    dropped when the new log ``events`` (a path or frame) lacks its column: the log is read by the names it has (a
    list of ids headed ``account_id`` as graphlink's exports write it; a log already renamed), and a kind whose column
    it lacks is left out with a warning (:func:`graphlink.views.match.check_schema`). The ``account_id`` map stays
    when the file has no ``account_id`` column either, so the error names the earlier run's column.

    ``reading`` (``format``, ``timestamp_format``, ``separator``; None: the
    earlier run's) says how the new log is read.

    Raises
    ------
    GraphlinkError
        Unreadable ``run.json`` parameters (naming the file).
    ConfigError
        A bad reading setting (naming its option).
    """
    try:
        config = build_config(parameters=outputs.run.get("parameters") or {})
    except (TypeError, ValueError, ConfigError) as exc:
        raise GraphlinkError(f"{outputs.path / RUN_FILE}: unreadable parameters: {exc}") from None
    if columns:  # a --map of this log replaces the earlier run's map of the same column (build_config's layering)
        try:
            config = build_config(config, columns=columns)
        except (TypeError, ValueError, ConfigError) as exc:
            kept = ", ".join(f"{k}={v}" for k, v in config.ingest.column_map)
            message = str(exc).removeprefix("column mapping: ") + (f" (kept from the earlier run: {kept})" if kept else "")
            raise ConfigError(message if message.startswith("--map") else f"--map: {message}") from None
    for name, value in reading.items():
        if value is None:
            continue
        try:
            config = build_config(config, **{name: value})
        except (TypeError, ValueError, ConfigError) as exc:
            raise ConfigError(f"{READ_OPTIONS[name]}: {exc}") from None
    names = None if events is None else new_log_columns(events, config.ingest)
    if names is not None:
        given = {canonical for canonical, _ in columns}
        # The account column's map stays when the file has no account_id either: the error then names it.
        kept = tuple(p for p in config.ingest.column_map
                     if p[0] in given or p[1] in names or p == ("account_id", p[1]) and "account_id" not in names)
        config = replace(config, ingest=replace(config.ingest, column_map=kept))
    return config


def new_log_columns(events: Any, ingest: IngestConfig) -> set[str] | None:
    """The column names of the new log as reading it sees them (a header's stray spaces and byte-order mark
    trimmed), or None when it cannot be read (reading it says why)."""
    if isinstance(events, (pl.DataFrame, pl.LazyFrame)):
        return set(events.collect_schema().names())
    try:
        lf = scan(events, ingest.format, (), ingest.separator)
        lf = normalise_header(lf, read_schema(lf, str(events)), Path(events), ingest.format, ingest.separator)
        return set(read_schema(lf, str(events)).names())
    except InputError:
        return None


def read_events(events: str | Path | pl.DataFrame | pl.LazyFrame, ingest, extra: tuple[str, ...]):
    """The new log read (a file's path or a frame) with ``ingest`` and ``--signal`` columns ``extra``."""
    return (load_events(events, ingest, extra) if isinstance(events, (str, Path))
            else events_from_frame(events, ingest, extra_signals=extra))


def id_list(events: str | Path | pl.DataFrame | pl.LazyFrame, config: PipelineConfig, error: InputError):
    """``events`` read as a list of ids (its ``account_id`` column as mapped, else named so, as exports name it) and the
    map read with, or ``error`` (read with the earlier run's whole map and ``--signal`` columns) raised."""
    for column_map in dict.fromkeys((tuple(p for p in config.ingest.column_map if p[0] == "account_id"), ())):
        try:
            ev = read_events(events, replace(config.ingest, column_map=column_map), ())
        except InputError:
            continue
        if set(ev.columns) <= {"account_id"}:
            return ev, column_map
    raise error
