"""Configuration: one frozen dataclass per pipeline stage (:mod:`graphlink.config.stages`)."""

from graphlink.config.stages import (
    ACCOUNT_COLUMNS,
    DEFAULT_CUSTOM_KIND,
    EVENT_COLUMNS,
    CommunityConfig,
    GraphConfig,
    IngestConfig,
    KindSpec,
    PipelineConfig,
    ScoringConfig,
    SignalConfig,
    load_config,
)

__all__ = ["ACCOUNT_COLUMNS", "DEFAULT_CUSTOM_KIND", "EVENT_COLUMNS", "CommunityConfig", "GraphConfig",
           "IngestConfig", "KindSpec", "PipelineConfig", "ScoringConfig", "SignalConfig", "load_config"]
