"""The drawings of the report's cluster sections, a share of them drawn in helper processes.

Drawing is the report's main cost: on the bundled fixture (16 sections, 48 PNGs) matplotlib's
layout and rasterising (3.3 s of CPU), building the figures (2.6 s) and the PNG palette reduction
and compression (2.0 s) were three quarters of ``graphlink report``'s 10.5 s of CPU (the rest:
imports 1.5 s, everything else 1 s). Building the figures is now done once per process and kind
(:mod:`graphlink.views.plot_canvas`: kept figures, helper rep39). The sections' drawings are
independent, so
:func:`start_section_plots` gives a share of them to helper processes on idle CPUs while this
process draws the rest and builds the other parts of each section; :meth:`SectionPlots.get`
collects them in report order.

A helper is ``python -m graphlink.views.report.figures``: a fresh interpreter reading its jobs
(pickled polars frames) on standard input and writing the drawings on standard output -- never a
fork of a process running polars' threads, and never a re-run of the caller's main module (as
``multiprocessing`` would do with a script that lacks a ``__main__`` guard). The same functions
draw the same bytes in a helper as here, so the report is byte for byte the same either way; a
helper that fails is replaced by drawing its share here.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.store.folder import Outputs
from graphlink.views import plots
from graphlink.views.report.tables import figure

__all__ = ["MIN_SECTIONS_PER_PROCESS", "SectionPlots", "plot_workers", "section_plots", "start_section_plots"]

#: Each process (this one and every helper) draws at least this many sections: starting a helper
#: costs about a second of CPU (importing matplotlib and polars), drawing a section about half that.
MIN_SECTIONS_PER_PROCESS = 4

Drawn = tuple[list[dict[str, Any]], list[str]]


def plot_workers(sections: int, requested: int | None = None) -> int:
    """Helper processes to draw ``sections`` sections besides this process.

    ``requested`` when given; else one per idle CPU (CPUs this process may use less the
    one-minute load average, rounded, less this process: one helper on an idle two-CPU machine),
    while every process keeps :data:`MIN_SECTIONS_PER_PROCESS` sections: on a busy machine a
    helper would only compete for a CPU.

    Examples
    --------
    >>> plot_workers(3), plot_workers(100, requested=0), plot_workers(100, requested=3)
    (0, 0, 3)
    """
    if requested is not None:
        return max(int(requested), 0)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    idle = round(cpus - load) - 1
    return max(min(idle, sections // MIN_SECTIONS_PER_PROCESS - 1), 0)


def section_plots(cluster_id: int, activity: pl.DataFrame | None, memberships: pl.DataFrame | None,
                  max_nodes: int = 150, seed: int = 0) -> Drawn:
    """The figures of one cluster section (hour of day, timeline, network) and notes on what is missing."""
    figures, notes = [], []
    if activity is None:
        notes.append("No activity.parquet in this output folder (written by an older graphlink): "
                     "rerun detect for the hour-of-day and timeline plots.")
    else:
        figures.append(figure(plots.hour_of_day(activity), f"Events by hour of day (UTC), cluster {cluster_id}"))
        figures.append(figure(plots.timeline(activity), f"Events and active accounts over time, cluster {cluster_id}"))
    if memberships is None:
        notes.append("No memberships.parquet in this output folder: rerun detect for the network drawing.")
    else:
        figures.append(figure(plots.network(memberships, max_nodes=max_nodes, seed=seed),
                              f"Network of accounts and shared signals, cluster {cluster_id}") | {"network": True})
    return figures, notes


def _draw(jobs: list[tuple]) -> dict[int, Drawn]:
    return {job[0]: section_plots(*job) for job in jobs}


def _helper(jobs: list[tuple]) -> dict[int, Drawn]:
    """Draw ``jobs`` in a helper process; here if it fails (cannot start, import error, killed)."""
    root = str(Path(__file__).resolve().parents[3])  # the folder this graphlink is imported from
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    try:
        done = subprocess.run([sys.executable, "-m", "graphlink.views.report.figures"], input=pickle.dumps(jobs),
                              capture_output=True, env=env, check=True)
        drawn = pickle.loads(done.stdout)
        if isinstance(drawn, dict) and set(drawn) == {job[0] for job in jobs}:
            return drawn
    except (OSError, subprocess.SubprocessError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
        pass
    return _draw(jobs)


class SectionPlots:
    """The report sections' drawings, being drawn (see :func:`start_section_plots`); a context manager."""

    def __init__(self, jobs: list[tuple], helpers: int) -> None:
        self._jobs = {job[0]: job for job in jobs}
        self._threads: ThreadPoolExecutor | None = None
        self._shares: dict[int, Future] = {}
        if helpers > 0 and jobs:
            # Contiguous shares in report order: this process draws the first while the helpers draw
            # the later ones, so it never waits for a helper before its own share is done.
            bounds = [round(i * len(jobs) / (helpers + 1)) for i in range(helpers + 2)]
            self._threads = ThreadPoolExecutor(helpers)
            for start, end in zip(bounds[1:-1], bounds[2:]):
                share = self._threads.submit(_helper, jobs[start:end])
                self._shares.update({job[0]: share for job in jobs[start:end]})

    def get(self, cluster_id: int) -> Drawn:
        """The figures and notes of one section (waiting for its helper, or drawn here)."""
        if cluster_id in self._shares:
            return self._shares[cluster_id].result()[cluster_id]
        return section_plots(*self._jobs[cluster_id]) if cluster_id in self._jobs else ([], [])

    def close(self) -> None:
        """Wait for the helpers."""
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None

    def __enter__(self) -> SectionPlots:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_section_plots(outputs: Outputs, ids: list[int], *, enabled: bool = True, max_nodes: int = 150,
                        seed: int = 0, workers: int | None = None) -> SectionPlots:
    """Start drawing the report sections ``ids`` (a share in helper processes, :func:`plot_workers`;
    ``workers``: how many, default by idle CPUs); nothing is drawn when ``enabled`` is false."""
    jobs = [(c, outputs.cluster_activity(c), outputs.cluster_memberships(c), max_nodes, seed)
            for c in ids] if enabled else []
    return SectionPlots(jobs, plot_workers(len(jobs), workers))


if __name__ == "__main__":  # a helper: jobs (pickled) on standard input, drawings (pickled) on standard output
    sys.stdout.buffer.write(pickle.dumps(_draw(pickle.loads(sys.stdin.buffer.read()))))
