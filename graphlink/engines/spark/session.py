"""The Spark session of a run: found, created or refused with a clear error.

PySpark is an optional extra (``pip install 'graphlink[spark]'``); it is
imported here, on first use, never by ``import graphlink``.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from graphlink.errors import ConfigError

__all__ = ["require_pyspark", "get_session", "check_master", "spark_reason", "cancelled", "start_hint",
           "quiet_interrupt_log", "SPARK_EXTRA_HINT"]

SPARK_EXTRA_HINT = ("pip install 'graphlink[spark]' (from a source checkout: '.[spark]'; PySpark, with pandas and pyarrow "
                    "for the Leiden workers)")


def require_pyspark() -> Any:
    """Import and return :mod:`pyspark`.

    Raises
    ------
    ConfigError
        PySpark (or pandas/pyarrow, which ``applyInPandas`` needs) is not installed.
    """
    missing = []
    for name in ("pyspark", "pandas", "pyarrow"):  # pandas: applyInPandas; pyarrow: Arrow transfers
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:  # all of them named (PySpark first), not just the first import that failed
        raise ConfigError(f"the Spark engine needs {', '.join(missing)}: {SPARK_EXTRA_HINT}")
    return importlib.import_module("pyspark")


def get_session(spark: Any = None, master: str | None = None) -> Any:
    """The given session, else the active one, else a new one (``master``, default ``local[*]``).

    A new session gets ``spark.sql.execution.arrow.pyspark.enabled`` (Arrow
    transfers to the driver) and a small ``spark.sql.shuffle.partitions``
    in local mode (200 partitions of a few rows each cost more than the work).
    """
    require_pyspark()
    quiet_interrupt_log()
    from pyspark.sql import SparkSession

    if spark is not None:
        return spark
    if master is not None:
        check_master(master)
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    builder = SparkSession.builder.appName("graphlink").master(master or "local[*]")
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if (master or "local[*]").startswith("local"):
        # Local mode: one JVM holds driver and executors. Spark's 1 GiB default heap ran out on the
        # fixture's plans; 4 GiB covered the 1M-event world. The driver collects tables that grow
        # with accounts, distinct values and the accounts' (minute) rows (README, "Running on a
        # cluster"): on the campaign preset (232k accounts, 24M events) one collect of 8 tasks
        # came to 1.05 GiB, over Spark's default spark.driver.maxResultSize of 1 GiB, and the run
        # failed. Hence 8 GiB of heap and a 4 GiB result limit (a limit still: a runaway collect
        # fails with Spark's message instead of taking the machine's memory). Set
        # SPARK_DRIVER_MEMORY / SPARK_DRIVER_MAX_RESULT_SIZE to change them.
        builder = builder.config("spark.sql.shuffle.partitions", "8")
        builder = builder.config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "8g"))
        builder = builder.config("spark.driver.maxResultSize",
                                 os.environ.get("SPARK_DRIVER_MAX_RESULT_SIZE", "4g"))
        builder = builder.config("spark.sql.session.timeZone", "UTC")
    try:
        return builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: no Java, a bad master URL
        raise ConfigError(f"could not start Spark ({master or 'local[*]'}): {spark_reason(exc)}"
                          f"{start_hint(str(exc), master)}") from None


def start_hint(text: str, master: str | None) -> str:
    """What to check when a session could not start, from Spark's message (empty when nothing fits).

    Examples
    --------
    >>> start_hint("[JAVA_GATEWAY_EXITED] Java gateway process exited", None)
    '; is Java 17 or later installed (java on PATH or JAVA_HOME set)?'
    >>> start_hint("An error occurred while calling None.org.apache.spark.sql.SparkSession.", "spark://h:7077")
    '; is a Spark master running at spark://h:7077 and reachable from here?'
    """
    if "JAVA_GATEWAY_EXITED" in text or "Java gateway process exited" in text:
        return "; is Java 17 or later installed (java on PATH or JAVA_HOME set)?"
    if master and master.startswith("spark://"):
        return f"; is a Spark master running at {master} and reachable from here?"
    return ""


#: The master URLs Spark accepts (SparkSubmit: "Master must either be yarn or start with spark,
#: k8s, or local"); anything else makes the JVM exit before Python hears why.
_MASTER = r"local(\[\s*(\*|\d+)\s*(,\s*\d+\s*)?\])?|local-cluster\[.+\]|yarn|spark://.+|k8s://.+"


def check_master(master: str) -> None:
    """Refuse a master URL Spark would refuse, before Java starts, with Spark's rule on one line.

    Raises
    ------
    ConfigError
        ``master`` is not ``local``, ``local[N]``, ``local[*]``, ``local[N,F]``,
        ``local-cluster[...]``, ``yarn``, ``spark://...`` or ``k8s://...``.
    """
    import re

    if not re.fullmatch(_MASTER, master.strip()):
        raise ConfigError(f"could not start Spark: bad master URL {master!r}: Spark's master must be yarn or start "
                          "with spark://, k8s:// or local (e.g. local[4], spark://host:7077, yarn)")


def spark_reason(exc: BaseException) -> str:
    """Spark's own reason for a failure, on one line (at most 300 characters).

    Py4J wraps Java exceptions as "An error occurred while calling ...",
    followed by the Java stack trace; the reason is the message of the
    (first) Java exception in it, e.g. ``Could not parse Master URL: 'x'``.
    """
    import re

    text = str(exc)
    found = re.search(r"^\s*(?:Caused by: )?[\w$.]+(?:Exception|Error): (.+)$", text, re.MULTILINE)
    reason = found.group(1) if found else next((line for line in text.splitlines() if line.strip()), repr(exc))
    return " ".join(reason.split())[:300]


def cancelled(exc: BaseException) -> bool:
    """Whether a Spark failure is the cancellation of its jobs (``SPARK_JOB_CANCELLED``, or the
    ``Job N cancelled`` of older versions): what PySpark's SIGINT handler does to a running call.

    Examples
    --------
    >>> cancelled(RuntimeError("[SPARK_JOB_CANCELLED] Job 3 cancelled part of cancelled job group 1"))
    True
    >>> cancelled(RuntimeError("Could not parse Master URL: 'x'"))
    False
    """
    import re

    return re.search(r"SPARK_JOB_CANCELLED|\bJob \d+ cancelled\b", str(exc)) is not None


def _not_an_interrupt_report(record: logging.LogRecord) -> bool:
    """False for py4j's report of a call interrupted by Ctrl-C or SIGTERM (``logging.exception`` on the
    root logger: "ERROR:root:KeyboardInterrupt while sending command." and a traceback on stderr)."""
    return record.getMessage() != "KeyboardInterrupt while sending command."


def quiet_interrupt_log() -> None:
    """Drop py4j's traceback of an interrupted call (the CLI says "interrupted" or "terminated" and
    exits 130 or 143; the traceback told the user nothing); every other log record is kept.
    Installed once, by :func:`get_session`."""
    root = logging.getLogger()
    if _not_an_interrupt_report not in root.filters:
        root.addFilter(_not_an_interrupt_report)
