"""Configuration: the stage configs and the one builder.

* :mod:`graphlink.config.stages`: one frozen, self-validating dataclass per
  pipeline stage, each holding the settings that stage reads, with defaults
  and the reasons for them;
* :mod:`graphlink.config.build`: :func:`build_config`, the only way configs are
  built from ``graphlink.toml``, keyword overrides, CLI flags and ``run.json``.
"""

from graphlink.config.build import build_config, override_names, parse_column_maps
from graphlink.config.stages import (
    ACCOUNT_COLUMNS,
    DEFAULT_CUSTOM_KIND,
    EVENT_COLUMNS,
    FORMATS,
    STAGES,
    CommunityConfig,
    DrilldownConfig,
    GraphConfig,
    IngestConfig,
    KindSpec,
    PipelineConfig,
    ScoringConfig,
    SignalConfig,
    StableIdConfig,
    check_column_map,
)

__all__ = ["ACCOUNT_COLUMNS", "DEFAULT_CUSTOM_KIND", "EVENT_COLUMNS", "FORMATS", "STAGES", "CommunityConfig",
           "DrilldownConfig", "GraphConfig", "IngestConfig", "KindSpec", "PipelineConfig", "ScoringConfig",
           "SignalConfig", "StableIdConfig", "build_config", "check_column_map", "override_names",
           "parse_column_maps"]
