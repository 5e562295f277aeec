"""Execution engines besides the default single-machine polars pipeline (:mod:`graphlink.pipeline`).

:mod:`graphlink.engines.spark` runs the same detection on Apache Spark. Engines
import their heavy dependencies lazily, so ``import graphlink`` never needs them.
"""

from __future__ import annotations

from typing import Any

from graphlink.errors import ConfigError

__all__ = ["ENGINES", "run_engine", "require_leidenalg"]

#: The engines ``graphlink detect --engine`` and ``graphlink.detect(engine=...)`` accept.
ENGINES = ("polars", "spark")


def run_engine(engine: str, events: Any, accounts: Any = None, config: Any = None, progress: Any = None,
               previous: Any = None, spark: Any = None, master: str | None = None) -> Any:
    """Run detection on ``engine``: :func:`graphlink.pipeline.run_detect` or the Spark engine.

    ``spark`` (a SparkSession) and ``master`` (a Spark master URL) apply to
    the Spark engine only.

    Raises
    ------
    ConfigError
        An unknown engine, Spark options with the polars engine, PySpark missing, or the ``leidenalg``
        backend chosen without the package (checked before the log is read, not after minutes of ingest).
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; engines are {', '.join(ENGINES)}")
    if config is not None and config.communities.backend == "leidenalg":
        require_leidenalg()
    if engine == "polars":
        if spark is not None or master is not None:
            raise ConfigError("a Spark session or --spark-master needs --engine spark")
        from graphlink.pipeline import run_detect

        return run_detect(events, accounts, config, progress=progress, previous=previous)
    from graphlink.engines.spark import run_detect_spark

    return run_detect_spark(events, accounts, config, progress=progress, previous=previous, spark=spark,
                            master=master)


def require_leidenalg() -> Any:
    """Import and return :mod:`leidenalg` (the optional ``backend = "leidenalg"`` of Leiden).

    Raises
    ------
    ConfigError
        The package is not installed (``pip install 'graphlink[leidenalg]'``).
    """
    try:
        import leidenalg
    except ImportError:
        raise ConfigError("backend = 'leidenalg' needs the leidenalg package: "
                          "pip install 'graphlink[leidenalg]' (from a source checkout: '.[leidenalg]'; the default backend is igraph)") from None
    return leidenalg
