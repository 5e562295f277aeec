"""Build whole worlds: in memory (:func:`simulate`) or on disk (:func:`write_world`).

Randomness: ``SeedSequence(seed)`` spawns one child for the population and
one parent for the event chunks, which spawns one child per chunk.  Chunk
boundaries depend only on the population and ``chunk_events``, so
:func:`simulate` and :func:`write_world` produce identical data, and a
chunk's events do not depend on how many chunks came before it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from graphlink.lab.simulate.config import SimulationConfig
from graphlink.lab.simulate.events import EVENT_SCHEMA, generate_chunk
from graphlink.lab.simulate.population import KIND_NAMES, Plan, build_plan
from graphlink.store.atomic import write_files_atomically

__all__ = ["World", "simulate", "write_world", "iter_event_chunks",
           "accounts_table", "labels_table"]

#: zstd keeps the text-heavy events file small and is fast to decode.
_COMPRESSION = "zstd"


@dataclass(frozen=True)
class World:
    """A simulated world as polars DataFrames.

    Attributes
    ----------
    events : polars.DataFrame
        ``account_id, timestamp, ip, payment_fingerprint, prompt, user_agent``.
    accounts : polars.DataFrame
        ``account_id, created_at, email_domain``.
    labels : polars.DataFrame
        ``account_id, ring_id, kind``.
    """

    events: pl.DataFrame
    accounts: pl.DataFrame
    labels: pl.DataFrame


def accounts_table(plan: Plan) -> pa.Table:
    """The ``accounts.parquet`` table of a plan.

    Parameters
    ----------
    plan : Plan
        A population from :func:`~graphlink.lab.simulate.population.build_plan`.

    Returns
    -------
    pyarrow.Table
        ``account_id``, ``created_at`` (timestamp[us, UTC]), ``email_domain``.
    """
    return pa.table({
        "account_id": plan.account_id,
        "created_at": pa.array(plan.created_us, pa.timestamp("us", tz="UTC")),
        "email_domain": plan.domains.take(pa.array(plan.domain)),
    })


def labels_table(plan: Plan) -> pa.Table:
    """The ``labels.parquet`` table of a plan.

    Parameters
    ----------
    plan : Plan
        A population from :func:`~graphlink.lab.simulate.population.build_plan`.

    Returns
    -------
    pyarrow.Table
        ``account_id``, ``ring_id`` (int64, null unless ring) and ``kind``.
    """
    ring = plan.kind == 2
    return pa.table({
        "account_id": plan.account_id,
        "ring_id": pa.array(plan.ring_id, pa.int64(), mask=~ring),
        "kind": pa.array(np.array(KIND_NAMES, dtype=object)[plan.kind], pa.string()),
    })


def _chunks(plan: Plan, chunk_events: int) -> list[np.ndarray]:
    """Split accounts (in plan order) into runs of about ``chunk_events`` events."""
    cum = np.cumsum(plan.n_events)
    chunk_of = (cum - 1) // max(chunk_events, 1)
    cuts = np.flatnonzero(np.diff(chunk_of)) + 1
    return np.split(np.arange(plan.n), cuts)


def iter_event_chunks(
    config: SimulationConfig, seed: int
) -> tuple[Plan, Iterator[pa.Table]]:
    """Draw the population and lazily generate its events chunk by chunk.

    Parameters
    ----------
    config : SimulationConfig
        World parameters.
    seed : int
        Master seed.

    Returns
    -------
    tuple[Plan, Iterator[pyarrow.Table]]
        The population and an iterator of event tables (one per chunk).
    """
    root = np.random.SeedSequence(seed)
    pop_seq, events_seq = root.spawn(2)
    plan = build_plan(config, pop_seq)
    chunks = _chunks(plan, config.chunk_events)
    seqs = events_seq.spawn(len(chunks))

    def gen() -> Iterator[pa.Table]:
        for accounts, seq in zip(chunks, seqs):
            yield generate_chunk(plan, config, accounts, np.random.default_rng(seq))

    return plan, gen()


def simulate(config: SimulationConfig, seed: int = 0) -> World:
    """Simulate a world in memory (use for small and medium presets).

    The whole event table is held in memory (roughly 250 bytes per event),
    so for the ``campaign`` preset use :func:`write_world` instead.

    Parameters
    ----------
    config : SimulationConfig
        World parameters, e.g. ``PRESETS["small"]``.
    seed : int
        Master seed; the same seed gives identical frames.

    Returns
    -------
    World
        Events, accounts and labels.

    Examples
    --------
    >>> from graphlink.lab.simulate import PRESETS
    >>> w = simulate(PRESETS["small"].replace(n_benign=50, n_ring_accounts=40,
    ...                                       n_teams=1), seed=1)
    >>> sorted(w.labels["kind"].unique())
    ['benign', 'benign_linked', 'ring']
    """
    plan, chunks = iter_event_chunks(config, seed)
    tables = list(chunks)
    events = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    return World(
        events=pl.from_arrow(events),
        accounts=pl.from_arrow(accounts_table(plan)),
        labels=pl.from_arrow(labels_table(plan)),
    )


def write_world(out_dir: str | os.PathLike, config: SimulationConfig, seed: int = 0) -> dict:
    """Simulate a world and write it as Parquet, chunk by chunk.

    Events are generated and written one chunk (one row group) at a time, so
    memory stays bounded by ``config.chunk_events``.  Files are written into
    a temporary directory beside ``out_dir`` and moved into place at the
    end: a new ``out_dir`` is created by one rename; in an existing
    ``out_dir`` the three files are each atomically replaced and other files
    are left alone.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Destination directory.
    config : SimulationConfig
        World parameters.
    seed : int
        Master seed; the same seed gives byte-identical files.

    Returns
    -------
    dict
        ``paths`` (file name -> path), ``bytes`` (file name -> size),
        ``n_events``, ``n_accounts``, ``n_ring_accounts``, ``n_rings``,
        ``n_benign_linked``, ``seconds`` and ``seed``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    names = ("events.parquet", "accounts.parquet", "labels.parquet")
    plan, chunks = iter_event_chunks(config, seed)
    n_events = 0

    def write(tmp: Path) -> None:
        nonlocal n_events
        with pq.ParquetWriter(tmp / names[0], EVENT_SCHEMA, compression=_COMPRESSION) as w:
            for table in chunks:
                w.write_table(table, row_group_size=max(len(table), 1))
                n_events += len(table)
        pq.write_table(accounts_table(plan), tmp / names[1], compression=_COMPRESSION)
        pq.write_table(labels_table(plan), tmp / names[2], compression=_COMPRESSION)

    write_files_atomically(out, write, names)
    ring = plan.kind == 2
    return {
        "paths": {name: str(out / name) for name in names},
        "bytes": {name: (out / name).stat().st_size for name in names},
        "n_events": n_events,
        "n_accounts": plan.n,
        "n_ring_accounts": int(ring.sum()),
        "n_rings": int(len(np.unique(plan.ring_id[ring]))),
        "n_benign_linked": int((plan.kind == 1).sum()),
        "n_ring_events": int(plan.n_events[ring].sum()),
        "seconds": round(time.perf_counter() - t0, 3),
        "seed": seed,
    }
