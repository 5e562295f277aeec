"""What every graphlink command shares: the consoles, JSON and table output, error handling.

Imported by :mod:`graphlink.cli` (after it has set the allocator tuning) and by the
command modules beside it (:mod:`graphlink.cli_pivot`).
"""

from __future__ import annotations

import functools
import os
import re
import signal
import sys
import threading
from typing import Annotated, Optional

import polars as pl
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from graphlink.errors import GraphlinkError, safe_reason
from graphlink.views.explain import json_default
from graphlink.views.safety import json_escaped, terminal_safe
from graphlink.views.terminal import tsv_cell
from graphlink.views.words import plural, rejected_text

# A command's own exit and bad arguments found in its body (typer.BadParameter): typer prints those and exits 2.
# Named through typer, not click: typer >= 0.29 vendors its own click (typer._click) and no longer installs click,
# so `import click` fails on a fresh machine and click's classes would not match typer's. ClickException is the
# base of BadParameter / UsageError in either case.
_CLI_EXITS = (typer.Exit, typer.Abort,
              next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"))

__all__ = ["out", "err", "QuietOpt", "QuietJsonOpt", "emit_json", "print_table", "fail", "cli_errors", "read_summary",
           "print_warnings", "DEBUG_ENV", "debug_wanted", "unexpected", "FormatOpt", "TimestampFormatOpt",
           "SeparatorOpt", "separator_value", "RedactOpt", "RedactKeyOpt"]

# Soft wrap: a message is one line however long (the terminal wraps it on screen), so piped
# output and logs are not hard-wrapped at rich's 80 columns mid-sentence. Tables lay out as before.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
QuietJsonOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (--json output is still printed).")]
RedactOpt = Annotated[bool, typer.Option(
    "--redact",
    help="Replace payment fingerprints, e-mail addresses and IPs with keyed hashes "
         "(HMAC-SHA256; IP networks and e-mail domains are kept).")]
RedactKeyOpt = Annotated[Optional[str], typer.Option(
    "--redact-key", metavar="KEY", show_default=False,
    help="HMAC key for --redact (implies --redact). Default: $GRAPHLINK_REDACT_KEY, else a random key "
         "for this run only. Prefer the environment variable: command lines are visible to other users.")]

# How an events file is read (detect, match): the ingest settings a command line can override.
FormatOpt = Annotated[Optional[str], typer.Option(
    "--format", metavar="parquet|csv|tsv|ndjson", show_default=False,
    help="Read the events as this format whatever the extension [default: by extension].")]
TimestampFormatOpt = Annotated[Optional[str], typer.Option(
    "--timestamp-format", metavar="FORMAT", show_default=False,
    help="strftime format of the timestamp text, e.g. '%d/%m/%Y %H:%M' [default: ISO-8601 and epoch numbers].")]
SeparatorOpt = Annotated[Optional[str], typer.Option(
    "--separator", metavar="CHAR", show_default=False,
    help="CSV field separator (tab: 'tab') [default: sniffed from the header: , ; tab or |].")]


def separator_value(separator: str | None) -> str | None:
    """``--separator`` as given, ``tab`` or ``\\t`` read as a tab."""
    return "\t" if separator in ("\\t", "tab") else separator


def emit_json(data) -> None:
    """Print one JSON document to standard output (machine-readable results, ``--json``); control
    characters escaped (C0 by ``json.dumps``, DEL and C1 here: logged text, a burst's prompt opening, printed to a
    terminal must not drive it) and so are invisible ones (a bidi override: :func:`graphlink.views.safety.json_escaped`),
    so the same JSON is safe on a terminal. Times are
    written as the exports write them (:func:`graphlink.views.explain.json_default`: ``2025-01-06T04:33:46Z``)."""
    import json

    sys.stdout.write(json_escaped(json.dumps(data, indent=2, ensure_ascii=False, default=json_default)) + "\n")
    sys.stdout.flush()


def print_table(table: Table, rows: list[list], headers: list[str], titled: bool = False) -> None:
    """The rich table on a terminal; plain tab-separated rows (header first) when stdout is piped.

    ``titled``: precede the rows with a ``# title`` line (commands printing several tables).
    """
    if out.is_terminal:
        out.print(table)
        return
    if titled and table.title:
        caption = " ".join(f"; {table.caption}".split()) if table.caption else ""  # "(50); 20 more: --evidence 50", one line
        sys.stdout.write(f"# {table.title}{caption}\n")
    sys.stdout.write("\t".join(headers) + "\n")
    for row in rows:
        sys.stdout.write("\t".join(tsv_cell(v) for v in row) + "\n")
    sys.stdout.flush()


def read_summary(events: dict, n_accounts: int, invalid_ips: int = 0, noun: str = "event",
                 with_events: int | None = None) -> list[str]:
    """What was read: rows read, kept, rejected by reason (``run.json``/``match.json`` inputs.events), invalid IPs;
    ``noun`` names a row (``id`` for a list of ids to look up); ``with_events``: how many of the ``n_accounts`` sent an
    event, said when fewer (the accounts file adds accounts that sent none).

    Examples
    --------
    >>> read_summary({"rows_read": 10, "rows_kept": 8, "rejected": {"missing_account_id": 2}}, 3, 1)
    ['read 10 events (8 kept; rejected missing_account_id: 2) from 3 accounts', '1 event had an invalid IP (kept for other signals)']
    >>> read_summary({"rows_read": 9, "rows_kept": 7, "rejected": {"missing_account_id": 2},
    ...               "rejected_rows": {"missing_account_id": [4, 9]}}, 3)
    ['read 9 events (7 kept; rejected missing_account_id: 2 (rows 4, 9)) from 3 accounts']
    >>> read_summary({"rows_read": 9, "rows_kept": 9, "rejected": {}}, 5, with_events=3)
    ['read 9 events (9 kept; rejected none) from 3 accounts (5 accounts with the accounts file)']
    """
    rejected = rejected_text((events.get("rejected") or {}).items(), events.get("rejected_rows"))
    lines = [f"read {plural(events['rows_read'], noun)} ({events['rows_kept']:,} kept; rejected {rejected}) "
             f"from {plural(n_accounts if with_events is None else with_events, 'account')}"
             + (f" ({plural(n_accounts, 'account')} with the accounts file)" if with_events is not None and with_events < n_accounts else "")]
    if invalid_ips:
        lines.append(f"{plural(invalid_ips, 'event')} had an invalid IP (kept for other signals)")
    return lines


def print_warnings(warnings: list[str]) -> None:
    """Each warning on standard error, one line, attacker-written text neutralised."""
    for warning in warnings:
        err.print(Text(f"warning: {terminal_safe(warning)}", style="yellow"), soft_wrap=True)


def fail(message: str) -> None:
    """Print a one-line error and exit 2."""
    err.print(Text(f"error: {terminal_safe(message)}", style="bold red"), soft_wrap=True)
    raise typer.Exit(2)


def os_error_text(exc: OSError) -> str:
    """An operating-system error as ``FILE: what``, naming the path the user gave, not the hidden temporary
    sibling graphlink was writing (``.report.html.tmp-4242``: :mod:`graphlink.store.atomic`).

    >>> os_error_text(FileNotFoundError(2, "No such file or directory", "/proc/self/.r.html.tmp-7744"))
    '/proc/self/r.html: no such file or directory'
    >>> os_error_text(PermissionError(1, "Operation not permitted", "/sys/.out.tmp-7/run.json"))
    '/sys/out/run.json: operation not permitted'
    """
    if exc.filename is None or not exc.strerror:
        return str(exc)
    shown = re.sub(r"(^|/)\.([^/]+)\.(?:tmp|old)-\d+(?=/|$)", r"\1\2", os.fsdecode(exc.filename))
    return f"{shown}: {exc.strerror[:1].lower()}{exc.strerror[1:]}"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread while a command runs, so that its clean-up runs
    (``finally`` blocks: the Spark engine's scratch folder, half-written outputs) before it exits."""


#: Set by the SIGTERM handler. Python ignores an exception raised while a finaliser runs (a
#: py4j ``JavaObject`` collected during a Spark run: "Exception ignored in ..."), so the raise
#: alone can be lost and the run go on; commands check this before they publish outputs.
TERMINATED = threading.Event()


def on_sigterm(signum: int, frame: object) -> None:
    """The SIGTERM handler :func:`cli_errors` installs: set :data:`TERMINATED`, raise :class:`Terminated`."""
    TERMINATED.set()
    raise Terminated()


def check_terminated() -> None:
    """Raise :class:`Terminated` if SIGTERM arrived during this command, even when the exception
    the handler raised was swallowed by a finaliser: call before publishing outputs."""
    if TERMINATED.is_set():
        raise Terminated()


#: Set to 1 (or ``graphlink --debug``) to see the traceback of an unexpected error instead of its one-line message.
DEBUG_ENV = "GRAPHLINK_DEBUG"


def debug_wanted() -> bool:
    """Whether an unexpected error shows its traceback: :data:`DEBUG_ENV` set to anything but ``""``, ``0``,
    ``false`` or ``no`` (``graphlink --debug`` sets it)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def unexpected(exc: BaseException, command: str = "graphlink") -> None:
    """Print an unexpected error (a bug in graphlink or a library under it, not bad input) as one line naming the
    ``command`` and the error, with how to see the traceback, and exit 1 (bad input exits 2, :func:`fail`)."""
    name, reason = type(exc).__name__, safe_reason(exc)  # its first line, input values it may quote left out
    what = name if reason == name else f"{name}: {reason}"
    err.print(Text(f"error: {command} failed unexpectedly: {terminal_safe(what)} -- this is a "
                   f"bug; rerun with {DEBUG_ENV}=1 (or graphlink --debug ...) for the traceback", style="bold red"),
              soft_wrap=True)
    raise typer.Exit(1)


def cli_errors(func):
    """Turn library errors into clean CLI errors (no traceback, exit 2) and any other exception into one line and exit
    1 (:func:`unexpected`; the traceback with ``GRAPHLINK_DEBUG=1`` or ``graphlink --debug``); SIGINT exits 130,
    SIGTERM 143, both after the command's clean-up has run."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return handled(*args, **kwargs)
        except BaseException as exc:
            # SIGTERM arrived and what followed failed too (a Spark write whose folder the clean-up
            # removed under it): the run was terminated, whatever the error it ended in.
            if TERMINATED.is_set() and not (isinstance(exc, typer.Exit) and exc.exit_code == 143):
                err.print("terminated")
                raise typer.Exit(143) from None
            raise

    def handled(*args, **kwargs):
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, on_sigterm) if main else None
        TERMINATED.clear()
        try:
            result = func(*args, **kwargs)
            check_terminated()
            return result
        except Terminated:
            err.print("terminated")
            raise typer.Exit(143) from None
        except GraphlinkError as exc:
            fail(str(exc))
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
            fail(f"could not process the input: {safe_reason(exc)}")
        except BrokenPipeError:
            # The reader of piped output left early (``| head``): stop quietly, as Unix tools do
            # (Python docs, "Note on SIGPIPE"), with stdout pointed at devnull so the exit flush cannot fail.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except (OSError, UnicodeDecodeError) as exc:
            fail(os_error_text(exc) if isinstance(exc, OSError) else str(exc))
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130)
        except _CLI_EXITS:
            raise  # a command's own exit, or bad arguments found in its body (click prints those, exit 2)
        except Exception as exc:  # a bug, not bad input: one line and exit 1; the traceback when asked for
            if debug_wanted():
                raise
            unexpected(exc, f"graphlink {func.__name__.removesuffix('_command')}")
        finally:
            if main:  # (None: a handler not set from Python; the default is the closest)
                signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)

    return wrapper
