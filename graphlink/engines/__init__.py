"""Execution engines besides the default single-machine polars pipeline (:mod:`graphlink.pipeline`).

:mod:`graphlink.engines.spark` runs the same detection on Apache Spark. Engines
import their heavy dependencies lazily, so ``import graphlink`` never needs them.
"""
