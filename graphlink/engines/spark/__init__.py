"""The Spark engine: ``graphlink detect --engine spark`` (optional extra ``graphlink[spark]``).

The heavy stages — ingest, signal extraction, rarity weighting and the
account projection — run as PySpark DataFrame operations (built-in hash,
window and array functions; no Python UDFs on the event path), connected
components on Spark and Leiden per component on the workers
(``applyInPandas`` with igraph). Scoring, campaigns and drill-down reuse the
polars engine's functions on the clustered accounts' tables. Keys, hashes and
thresholds are the polars engine's own definitions
(:mod:`graphlink.stages.portable`, :mod:`graphlink.stages.graph`,
:mod:`graphlink.stages.linking`), so both engines write the same outputs.

PySpark is imported on first use; ``import graphlink`` never needs it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_detect_spark"]


def run_detect_spark(*args: Any, **kwargs: Any) -> Any:
    """:func:`graphlink.engines.spark.run.run_detect_spark` (imported on first call)."""
    from graphlink.engines.spark.session import require_pyspark

    require_pyspark()
    from graphlink.engines.spark.run import run_detect_spark as run

    return run(*args, **kwargs)
