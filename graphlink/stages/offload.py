"""Leiden on one large component in a second Python process, while the caller works beside it.

python-igraph's Leiden holds the GIL from start to end (it draws its random numbers from a
Python ``random.Random``, :func:`graphlink.stages.communities.leiden_membership`), and polars
needs the GIL to make progress: measured, a 0.26 s polars query started in a thread just before
a 5.5 s Leiden call finished only after it. So work that does not depend on the partition cannot
run beside Leiden in a thread; it can beside a second process. On the campaign preset one
component holds 2.52M of the 2.53M edges and its Leiden takes ~7 s of CPU on one core, while the
drill-down's link tables (:func:`graphlink.stages.drilldown.link_table`,
:func:`graphlink.stages.drilldown.linking_order`) take ~3 s that need only the projection.

The second process runs :func:`graphlink.stages.communities.partition_component` on the same
arrays with the same config; Leiden installs ``random.Random(config.seed)`` for every component
(a component's partition depends on that component alone), so the labels are the ones the
calling process would have found. Should the process fail to start or finish, the component is
partitioned in the calling process instead: the result never depends on which process ran it.

A trade for wall time on an idle machine: the second process costs ~0.6-1 s of CPU (its
interpreter and imports), which a machine with no core to spare pays without gaining anything
(measured on the saved campaign projection at load ~3: 10.24 s inline, 9.57 s offloaded).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphlink.config import CommunityConfig

#: A component with at least this many edges is partitioned in a second process when the caller
#: has work to do beside it. Starting the process (interpreter, igraph, numpy) costs ~0.6 s of CPU
#: and ~1 s of wall on a loaded 2-core machine, and writing the arrays ~16 bytes an edge: worth it
#: for the campaign preset's 2.5M-edge component (~7 s of Leiden), not for the 1M world's (~0.4 s).
OFFLOAD_EDGES = 1_000_000

_CHILD = "from graphlink.stages.offload import serve; serve()"


@dataclass
class Offloaded:
    """A component being partitioned in a second process (``process`` None: it could not start)."""

    arrays: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_vertices: int
    config: CommunityConfig
    folder: tempfile.TemporaryDirectory
    process: subprocess.Popen | None


def spawn() -> subprocess.Popen | None:
    """Start the second process early: it loads igraph (~0.6 s of CPU) while the caller finds the
    components, then waits on its stdin for :func:`start`'s folder (or stops at end of input)."""
    # The child imports the same graphlink as this process, wherever that was imported from.
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    try:
        return subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def dismiss(process: subprocess.Popen | None) -> None:
    """Stop a spawned process that got no component (end of its input)."""
    if process is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
        process.wait()


def start(source: np.ndarray, target: np.ndarray, weight: np.ndarray, n_vertices: int,
          config: CommunityConfig, process: subprocess.Popen | None = None) -> Offloaded:
    """Save one component (:func:`graphlink.stages.communities.component_edges`'s arrays) and have
    a second process (``process`` from :func:`spawn`, or a new one) partition it; :func:`finish`
    returns its labels."""
    folder = tempfile.TemporaryDirectory(prefix="graphlink-leiden-")
    path = Path(folder.name)
    for name, array in (("source", source), ("target", target), ("weight", weight)):
        np.save(path / f"{name}.npy", array)
    (path / "config.pickle").write_bytes(pickle.dumps((n_vertices, config)))
    process = process if process is not None else spawn()
    if process is not None:
        try:
            process.stdin.write(f"{path}\n".encode())
            process.stdin.close()
        except OSError:  # the process is gone: finish() partitions here
            pass
    return Offloaded((source, target, weight), n_vertices, config, folder, process)


def finish(job: Offloaded) -> np.ndarray:
    """The component's labels: read from the second process, or computed here if it failed."""
    from graphlink.stages.communities import partition_component

    try:
        labels = None
        if job.process is not None and job.process.wait() == 0:
            try:
                labels = np.load(Path(job.folder.name) / "labels.npy")
            except (OSError, ValueError):
                labels = None
        if labels is None or len(labels) != job.n_vertices:
            labels = partition_component(*job.arrays, job.n_vertices, job.config)
        return labels
    finally:
        job.folder.cleanup()


def cancel(job: Offloaded) -> None:
    """Stop the second process (the caller failed beside it) and remove its files."""
    if job.process is not None and job.process.poll() is None:
        job.process.kill()
        job.process.wait()
    job.folder.cleanup()


def serve() -> None:
    """The second process: load the partitioning code, wait for a folder on stdin, partition the
    component saved there and save its labels (``labels.npy``); nothing at end of input."""
    # igraph loads before the wait, while the caller finds the components (communities.py imports it only where a
    # graph is built: on the job's arrival, ~0.8 s on the path to the labels). Its drawing modules would load
    # matplotlib (~0.7 s), which this process never draws with: it reads as not installed here.
    sys.modules.setdefault("matplotlib", None)  # type: ignore[arg-type]
    import igraph  # noqa: F401

    from graphlink.stages.communities import partition_component

    folder = sys.stdin.readline().strip()
    if not folder:
        return
    path = Path(folder)
    n_vertices, config = pickle.loads((path / "config.pickle").read_bytes())
    arrays = [np.load(path / f"{name}.npy") for name in ("source", "target", "weight")]
    labels = partition_component(*arrays, n_vertices, config)
    np.save(path / "labels.tmp.npy", labels)
    os.replace(path / "labels.tmp.npy", path / "labels.npy")
