"""Development and test seeds of the scenario family (issue 17).

Design and tune detection on :data:`DEV_SEEDS` only.  :data:`TEST_SEEDS` are
for the final report (BENCHMARKS.md): do not look at results on them while
designing, and never choose a default because of them.  The two ranges do
not overlap, and the scenario generator derives every random draw from
``(seed, scenario)``, so a world of a test seed shares no draws with a world
of a dev seed.

Examples
--------
>>> from graphlink.lab.simulate.seeds import DEV_SEEDS, TEST_SEEDS, seeds
>>> len(DEV_SEEDS), DEV_SEEDS[0], TEST_SEEDS[0]
(20, 1000, 9000)
>>> set(DEV_SEEDS) & set(TEST_SEEDS)
set()
>>> seeds("dev", 3)
(1000, 1001, 1002)
"""

from __future__ import annotations

__all__ = ["DEV_SEEDS", "TEST_SEEDS", "seeds"]

#: Seeds for design and tuning.
DEV_SEEDS: tuple[int, ...] = tuple(range(1000, 1020))
#: Held-out seeds: reported at the end, never used to design or tune.
TEST_SEEDS: tuple[int, ...] = tuple(range(9000, 9020))


def seeds(split: str, n: int | None = None) -> tuple[int, ...]:
    """The first ``n`` seeds (all when None) of ``split`` (``"dev"`` or ``"test"``).

    Raises
    ------
    ValueError
        Unknown split.
    """
    if split not in ("dev", "test"):
        raise ValueError(f"unknown seed split {split!r}; choose dev or test")
    chosen = DEV_SEEDS if split == "dev" else TEST_SEEDS
    return chosen if n is None else chosen[:n]
