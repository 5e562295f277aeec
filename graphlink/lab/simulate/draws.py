"""Small random draws shared by the population builder (:mod:`graphlink.lab.simulate.population`)."""

from __future__ import annotations

import numpy as np

__all__ = ["offsets", "sizes", "uniform", "weighted"]


def uniform(rng: np.random.Generator, rng_range: tuple[int, int], size: int) -> np.ndarray:
    """``size`` integers drawn uniformly from the closed range ``rng_range``."""
    return rng.integers(rng_range[0], rng_range[1] + 1, size=size)


def weighted(rng: np.random.Generator, weights: list[float], size: int) -> np.ndarray:
    """``size`` indices into ``weights`` drawn with those (unnormalised) weights."""
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(cdf / cdf[-1], rng.random(size), side="right")


def sizes(rng: np.random.Generator, total: int, rng_range: tuple[int, int]) -> np.ndarray:
    """Group sizes drawn from ``rng_range`` summing exactly to ``total``."""
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    draws = uniform(rng, rng_range, total // max(rng_range[0], 1) + 1)
    cum = np.cumsum(draws)
    k = int(np.searchsorted(cum, total)) + 1
    sizes = draws[:k].copy()
    sizes[-1] -= int(cum[k - 1] - total)
    if len(sizes) > 1 and sizes[-1] < rng_range[0]:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


def offsets(counts: np.ndarray) -> np.ndarray:
    """Start offset of each group of ``counts`` consecutive rows."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
