"""graphlink: find coordinated account rings in API logs.

The public surface is small and re-exported here; everything else is internal.

>>> import graphlink
>>> sorted(graphlink.PipelineConfig().graph.kinds)[:3]
['asn', 'created_hour', 'email_domain']
"""

import os as _os
import sys as _sys

if "polars" not in _sys.modules:
    # Polars allocates through jemalloc, which by default returns freed pages to the OS
    # within ~0.5 s; the pipeline frees and reallocates tens of millions of rows per
    # stage, so each new frame faulted its pages in again. Keeping freed pages for 5 s
    # (then releasing them at once) cut system time 27 s -> 17 s and wall time 6-12 s on
    # the 24M-event campaign preset, for ~0.5 GiB more peak RSS. Read once, when polars
    # loads; a value the user set wins (polars appends it after its own defaults).
    _os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:5000,muzzy_decay_ms:0")

from graphlink.views.api import ClusterView, Result, detect, load, override_names
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
