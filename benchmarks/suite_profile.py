"""Where the test suite's time goes: CPU-s and idle share of every test's process tree (a pytest plugin).

Run the README's command with the plugin (from the checkout's root, so that ``benchmarks`` imports)::

    SUITE_PROFILE_DIR=/tmp/prof python -m pytest -n 2 -p benchmarks.suite_profile
    python benchmarks/suite_profile.py /tmp/prof          # per file, then the costliest tests

Why a plugin of its own (sessions 55-58 each wrote one in /tmp): on a shared 2-core machine a test's wall
time says more about the other users than about the test, and pytest's ``--durations`` gives only wall.
Each test (setup, call and teardown) is charged the CPU-s (user + system) its xdist worker's process tree
spent meanwhile: the worker, its live descendants (a Spark JVM, Spark's Python workers, CLI subprocesses)
and the ones it reaped. A descendant that dies unreaped (re-parented to init: the JVM of a killed CLI
process) leaves the tree, so such a test can show less, even negative, CPU. A sampler thread also looks at
the tree every :data:`SAMPLE_S` seconds and counts the samples in which no thread of it (other than the
sampler) is running, runnable or in uninterruptible I/O: time the test waited on nothing the machine's
load explains (timers, sleeps, the network), which a quiet machine waits too. Linux only (``/proc``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

#: Seconds between the idle sampler's looks: a look reads ``/proc`` for every process (~2-5 ms of CPU with
#: a few hundred processes), so 0.1 s keeps it near 3 % of a core while a 1 s wait still gets ~10 samples.
SAMPLE_S = 0.1

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
            text = file.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...


def tree(root: int) -> tuple[list[int], float]:
    """The live process tree under ``root`` and its CPU time.

    Parameters
    ----------
    root : int
        Process id of the tree's root (a pytest worker: ``os.getpid()``).

    Returns
    -------
    pids : list of int
        The live processes descending from ``root``, ``root`` included.
    cpu_s : float
        CPU-s (user + system) they, and the children they reaped, have used since they started.
    """
    parent, ticks = {}, {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (fields := _stat_fields(name)) is not None:
            parent[int(name)] = int(fields[1])
            ticks[int(name)] = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    pids = []
    for pid in ticks:
        p = pid
        while p not in (root, 0, 1) and p in parent:
            p = parent[p]
        if p == root:
            pids.append(pid)
    return pids, sum(ticks[p] for p in pids) / _TICK


def busy(pids: list[int], skip_thread: int | None = None) -> bool:
    """Whether any thread of ``pids`` is running, runnable or in uninterruptible sleep (``/proc`` R or D).

    Parameters
    ----------
    pids : list of int
        The processes to look at (a :func:`tree`'s ``pids``).
    skip_thread : int, optional
        A native thread id not to count: the sampler's own (it is running while it looks). None: count all.

    Returns
    -------
    bool
        True as soon as one such thread is found; False for no process or none busy.
    """
    for pid in pids:
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in threads:
            if int(tid) != skip_thread and (fields := _stat_fields(f"{pid}/task/{tid}")) and fields[0] in "RD":
                return True
    return False


class Recorder:
    """Per-test CPU-s, wall and idle samples of this process's tree (the plugin's state)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self._lock = threading.Lock()
        self._test: str | None = None
        self._samples = self._idle = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = threading.get_native_id()
        while True:
            time.sleep(SAMPLE_S)
            idle = not busy(tree(os.getpid())[0], me)
            with self._lock:
                if self._test is not None:
                    self._samples += 1
                    self._idle += idle

    def start(self, nodeid: str) -> tuple[float, float]:
        with self._lock:
            self._test, self._samples, self._idle = nodeid, 0, 0
        return tree(os.getpid())[1], time.time()

    def stop(self, nodeid: str, cpu0: float, wall0: float) -> None:
        with self._lock:
            samples, idle, self._test = self._samples, self._idle, None
        self.rows.append({"test": nodeid, "cpu_s": round(tree(os.getpid())[1] - cpu0, 2),
                          "wall_s": round(time.time() - wall0, 2), "samples": samples, "idle": idle})


_recorder: Recorder | None = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Charge the test (setup, call, teardown) its tree's CPU-s, wall and idle samples. The recorder and its
    sampler start with the first test, so a process that runs none (xdist's controller) has neither."""
    global _recorder
    if _recorder is None:
        _recorder = Recorder()
    cpu0, wall0 = _recorder.start(item.nodeid)
    yield
    _recorder.stop(item.nodeid, cpu0, wall0)


def pytest_sessionfinish(session) -> None:
    if _recorder is None:
        return
    folder = Path(os.environ.get("SUITE_PROFILE_DIR", "suite-profile"))
    folder.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (folder / f"{worker}-{os.getpid()}.json").write_text(json.dumps(_recorder.rows), encoding="utf-8")


def summarise(rows: list[dict]) -> list[dict]:
    """Per test file: its tests, CPU-s, wall and idle seconds, costliest first.

    Parameters
    ----------
    rows : list of dict
        The plugin's rows (``test``, ``cpu_s``, ``wall_s``, ``samples``, ``idle``), from any number of workers.

    Returns
    -------
    list of dict
        One entry per file (the node id before ``::``): ``file``, ``tests``, ``cpu_s``, ``wall_s`` and
        ``idle_s`` (idle samples times :data:`SAMPLE_S`), by CPU-s, largest first.
    """
    files: dict[str, dict] = defaultdict(lambda: {"tests": 0, "cpu_s": 0.0, "wall_s": 0.0, "idle_s": 0.0})
    for row in rows:
        entry = files[row["test"].split("::")[0]]
        entry["tests"] += 1
        entry["cpu_s"] += row["cpu_s"]
        entry["wall_s"] += row["wall_s"]
        entry["idle_s"] += row["idle"] * SAMPLE_S
    return sorted(({"file": name, **{k: round(v, 2) for k, v in entry.items()}} for name, entry in files.items()),
                  key=lambda entry: -entry["cpu_s"])


def main(folder: str, top: int = 40) -> None:
    rows = [row for path in sorted(Path(folder).glob("*.json")) for row in json.loads(path.read_text())]
    total = sum(row["cpu_s"] for row in rows) or 1.0
    print(f"{len(rows)} tests, {total:.1f} CPU-s, idle {sum(r['idle'] for r in rows) * SAMPLE_S:.1f} s")
    for entry in summarise(rows)[:top]:
        print(f"{entry['file']:55s} {entry['tests']:5d} {entry['cpu_s']:8.1f} CPU-s {entry['wall_s']:8.1f} s "
              f"idle {entry['idle_s']:7.1f} s {100 * entry['cpu_s'] / total:5.1f} %")
    for row in sorted(rows, key=lambda r: -r["cpu_s"])[:top]:
        print(f"{row['cpu_s']:7.1f} CPU-s {row['wall_s']:7.1f} s idle {row['idle'] * SAMPLE_S:6.1f} s {row['test']}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
