"""CPU seconds of a graphlink command by function: where a run's CPU goes, robust to a loaded machine.

Every function defined in ``graphlink.pipeline`` and ``graphlink.stages.*`` is wrapped (in every graphlink
module that imported it) with a timer reading ``time.process_time()`` -- the whole process's CPU, all of
polars' threads included -- around its outermost call (a recursive or nested call of the same function is
not counted twice), then the command runs in this process. A sampling profiler sees the main thread's
stack only (polars' worker threads carry no Python frames) and loses samples on a loaded machine; CPU
seconds by function do neither. Functions overlapping in threads (the drill-down indexes built beside
Leiden) count each other's CPU; Leiden's offloaded subprocess is not counted.

Usage (from a directory outside the checkout, with the checkout on ``PYTHONPATH``)::

    PYTHONPATH=/path/to/checkout python benchmarks/cpu_by_function.py /tmp/cpu.txt \\
        detect /tmp/camp28/events.parquet --accounts /tmp/camp28/accounts.parquet --out /tmp/out -q

writes ``TOTAL cpu S wall S`` and one line per function over 0.05 s: ``cpu_s wall_s calls module.name``,
most CPU first.
"""

from __future__ import annotations

import collections
import functools
import importlib
import inspect
import pkgutil
import sys
import time


def wrap_all() -> tuple[collections.Counter, collections.Counter, collections.Counter]:
    """Wrap every pipeline and stage function; returns the ``(cpu, wall, calls)`` counters they fill."""
    import graphlink.pipeline
    import graphlink.stages

    modules = [graphlink.pipeline]
    for info in pkgutil.walk_packages(graphlink.stages.__path__, "graphlink.stages."):
        modules.append(importlib.import_module(info.name))
    cpu, wall, calls, depth = (collections.Counter() for _ in range(4))

    def timed(function, name):
        @functools.wraps(function)
        def run(*args, **kwargs):
            if depth[name]:
                return function(*args, **kwargs)
            depth[name] += 1
            c0, t0 = time.process_time(), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth[name] -= 1
                cpu[name] += time.process_time() - c0
                wall[name] += time.perf_counter() - t0
                calls[name] += 1
        return run

    wrapped = {}
    for module in modules:
        for attr, value in list(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == module.__name__:
                wrapped[id(value)] = timed(value, f"{module.__name__.removeprefix('graphlink.stages.')}.{attr}")
    import graphlink.cli  # noqa: F401  (its imports too)

    for name, module in list(sys.modules.items()):
        if name.startswith("graphlink") and module is not None:
            for attr, value in list(vars(module).items()):
                if inspect.isfunction(value) and id(value) in wrapped:
                    setattr(module, attr, wrapped[id(value)])
    return cpu, wall, calls


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    cpu, wall, calls = wrap_all()
    from graphlink.cli import app

    c0, t0 = time.process_time(), time.perf_counter()
    try:
        app(argv, standalone_mode=False)
    finally:
        lines = [f"TOTAL cpu {time.process_time() - c0:.1f} wall {time.perf_counter() - t0:.1f}"]
        lines += [f"{c:8.2f} {wall[n]:8.2f} {calls[n]:6d} {n}" for n, c in cpu.most_common() if c > 0.05]
        with open(out, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
