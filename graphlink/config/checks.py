"""Validation helpers of the stage configs (:mod:`graphlink.config.stages`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from graphlink.errors import ConfigError


def check(ok: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``ok``."""
    if not ok:
        raise ConfigError(message)


def at_least(config: Any, minimum: float, *names: str) -> None:
    """Each named setting of ``config`` is at least ``minimum``."""
    for name in names:
        value = getattr(config, name)
        check(value >= minimum, f"{name} must be at least {minimum}, got {value!r}")
        check(math.isfinite(value), f"{name} must be finite, got {value!r}")


#: Seeds are integers from 0 to this (a 64-bit signed integer: every hash and random generator takes it).
MAX_SEED = 2**63 - 1


def seed_range(config: Any, name: str = "seed") -> None:
    """The named seed of ``config`` is an integer from 0 to :data:`MAX_SEED`, as ``simulate --seed`` and
    ``detect --seed`` take (a negative hashing seed was a traceback; a negative Leiden seed was taken)."""
    value = getattr(config, name)
    check(isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED,
          f"{name} must be an integer from 0 to 2**63 - 1, got {value!r}")


def share(config: Any, *names: str) -> None:
    """Each named setting of ``config`` is a share in [0, 1]."""
    for name in names:
        value = getattr(config, name)
        check(0.0 <= value <= 1.0, f"{name} must be between 0 and 1, got {value!r}")


def frozen_mapping(config: Any, name: str) -> None:
    """Replace a dict field by a read-only copy (frozen dataclasses must not hold mutable values)."""
    value = getattr(config, name)
    check(isinstance(value, Mapping), f"{name}: expected a mapping, got {value!r}")
    object.__setattr__(config, name, MappingProxyType(dict(value)))


def plain(value: Any) -> Any:
    """Plain-data (JSON-ready) form of a config: dataclasses and mappings become dicts, tuples lists stay tuples.

    Examples
    --------
    >>> from types import MappingProxyType
    >>> plain({'a': MappingProxyType({'b': (1, 2)})})
    {'a': {'b': (1, 2)}}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(plain(v) for v in value)
    return value
