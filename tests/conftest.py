"""Shared test fixtures: a small, seeded world with planted rings."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

T0 = 1_714_550_400  # 2024-05-01T08:00:00Z
WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega apple river stone cloud garden window music paper").split()


def planted_world(seed: int = 0, n_background: int = 60, ring_size: int = 8) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Events of ``n_background`` independent accounts plus two rings.

    Ring ``card``: shares one payment fingerprint and a /24 of IPs.
    Ring ``template``: sends one templated prompt, in lock-step minutes, from a
    pool of three server addresses (a lock-step template ring that shares no
    infrastructure at all is not linked: prompts and timing only corroborate,
    see ``tests/test_detection_classes.py``).
    Returns ``(events, rings)`` with the ring members by name.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_background):
        n = int(rng.integers(3, 8))
        frames.append(pl.DataFrame({
            "account_id": [f"user{i:03d}"] * n,
            "timestamp": (T0 + rng.integers(0, 2 * 86_400, n)).tolist(),
            "ip": [f"10.{i}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 255))}" for _ in range(n)],
            "payment_fingerprint": [f"card-{i}"] * n,
            "prompt": [" ".join(rng.choice(WORDS, 7)) for _ in range(n)],
        }))
    rings = {"card": [f"card{i:02d}" for i in range(ring_size)],
             "template": [f"tmpl{i:02d}" for i in range(ring_size)]}
    for j, acc in enumerate(rings["card"]):
        frames.append(pl.DataFrame({
            "account_id": [acc] * 6,
            "timestamp": (T0 + 3600 * 20 + rng.integers(0, 86_400, 6)).tolist(),
            "ip": [f"203.0.113.{int(rng.integers(1, 255))}" for _ in range(6)],
            "payment_fingerprint": ["card-shared"] * 6,
            "prompt": [" ".join(rng.choice(WORDS, 7)) for _ in range(6)],
        }))
    minutes = T0 + 60 * np.sort(rng.choice(24 * 60, 12, replace=False))
    for j, acc in enumerate(rings["template"]):
        frames.append(pl.DataFrame({
            "account_id": [acc] * 12,
            "timestamp": (minutes + rng.integers(0, 30, 12)).tolist(),
            "ip": [f"198.51.100.{int(rng.integers(1, 4))}" for _ in range(12)],
            "payment_fingerprint": [f"tmpl-card-{j}"] * 12,
            "prompt": [f"Think step by step and show all of your reasoning about {w} in detail please"
                       for w in rng.choice(WORDS, 12)],
        }))
    events = pl.concat(frames).with_columns(pl.from_epoch("timestamp").dt.replace_time_zone("UTC"))
    return events, rings


@pytest.fixture(scope="session")
def world() -> tuple[pl.DataFrame, dict[str, list[str]]]:
    return planted_world()


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores) for every Spark test of the run: starting Java costs seconds."""
    pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")
    from graphlink.engines.spark.session import get_session

    session = get_session(None, "local[2]")
    session.sparkContext.setLogLevel("ERROR")
    session.conf.set("spark.sql.shuffle.partitions", "2")  # small worlds: few, busy partitions
    # Tiny worlds: compiling each query's whole-stage Java code costs more than running it. The fixture's
    # detect on one session, codegen on/off interleaved x3 (loaded machine): 173/131, 90/51, 48/39 s.
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    yield session
    session.stop()
