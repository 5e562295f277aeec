"""graphlink: find coordinated account rings in API logs.

The public face: :func:`detect`, :func:`load`, :class:`Result`, :func:`expand`, :func:`match`,
:class:`ClusterView`, the stage configs with :func:`build_config`, and the
errors. Names load on first use, so ``import graphlink`` is quick and has no
side effects (the CLI entry point sets its allocator tuning before polars
loads; see :mod:`graphlink.cli`).

Layout: :mod:`graphlink.config` (settings, the one builder),
:mod:`graphlink.contract` (output files and schemas), :mod:`graphlink.pipeline`
(runs the stages in :mod:`graphlink.stages`), :mod:`graphlink.store` (atomic
writes, the one output-folder reader and writer, redaction),
:mod:`graphlink.views` (notebook objects, plots, report, export) and
:mod:`graphlink.lab` (simulator, evaluation, baseline).

>>> import graphlink
>>> sorted(graphlink.PipelineConfig().graph.kinds)[:3]
['asn', 'created_hour', 'email_domain']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "ClusterView": "graphlink.views.cluster",
    "Result": "graphlink.views.result",
    "detect": "graphlink.views.result",
    "expand": "graphlink.views.expand",
    "match": "graphlink.views.match",
    "load": "graphlink.views.result",
    "build_config": "graphlink.config",
    "override_names": "graphlink.config",
    "CommunityConfig": "graphlink.config",
    "DrilldownConfig": "graphlink.config",
    "GraphConfig": "graphlink.config",
    "IngestConfig": "graphlink.config",
    "KindSpec": "graphlink.config",
    "PipelineConfig": "graphlink.config",
    "ScoringConfig": "graphlink.config",
    "SignalConfig": "graphlink.config",
    "StableIdConfig": "graphlink.config",
    "ConfigError": "graphlink.errors",
    "GraphlinkError": "graphlink.errors",
    "InputError": "graphlink.errors",
    "DetectResult": "graphlink.pipeline",
    "run_detect": "graphlink.pipeline",
    "write_outputs": "graphlink.store.outputs",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from graphlink.config import (
        CommunityConfig,
        DrilldownConfig,
        GraphConfig,
        IngestConfig,
        KindSpec,
        PipelineConfig,
        ScoringConfig,
        SignalConfig,
        StableIdConfig,
        build_config,
        override_names,
    )
    from graphlink.errors import ConfigError, GraphlinkError, InputError
    from graphlink.pipeline import DetectResult, run_detect
    from graphlink.store.outputs import write_outputs
    from graphlink.views.cluster import ClusterView
    from graphlink.views.expand import expand
    from graphlink.views.match import match
    from graphlink.views.result import Result, detect, load


def __getattr__(name: str) -> Any:
    """Load a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'graphlink' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
