"""graphlink: find coordinated account rings in API logs.

The public surface is small and re-exported here; everything else is internal.

>>> import graphlink
>>> sorted(graphlink.PipelineConfig().graph.kinds)[:3]
['asn', 'created_hour', 'email_domain']
"""

from graphlink.api import ClusterView, Result, detect, load, override_names
from graphlink.config import (
    CommunityConfig,
    GraphConfig,
    IngestConfig,
    KindSpec,
    PipelineConfig,
    ScoringConfig,
    SignalConfig,
    load_config,
)
from graphlink.errors import ConfigError, GraphlinkError, InputError
from graphlink.pipeline import DetectResult, run_detect, write_outputs

__version__ = "0.1.0"

__all__ = [
    "ClusterView", "Result", "detect", "load", "override_names",
    "CommunityConfig", "ConfigError", "DetectResult", "GraphConfig", "GraphlinkError", "IngestConfig",
    "InputError", "KindSpec", "PipelineConfig", "ScoringConfig", "SignalConfig", "load_config",
    "run_detect", "write_outputs", "__version__",
]
