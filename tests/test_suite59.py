"""benchmarks/suite_profile.py: the suite's per-test CPU-s and idle samples (session 59, helper suite59)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks import suite_profile

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

SPIN = "import sys, time\nprint('ready', flush=True)\nend = time.process_time() + {s}\nwhile time.process_time() < end:\n    pass\n"
SLEEP = "import sys, time\nprint('ready', flush=True)\ntime.sleep(30)\n"


def _child(code: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


def test_a_childs_cpu_is_charged_to_the_tree_alive_and_once_reaped():
    _, before = suite_profile.tree(os.getpid())
    child = _child(SPIN.format(s=0.4))
    time.sleep(0.2)
    pids, alive = suite_profile.tree(os.getpid())
    assert child.pid in pids and os.getpid() in pids
    child.wait()
    pids, reaped = suite_profile.tree(os.getpid())
    assert child.pid not in pids
    assert reaped - before >= 0.35  # the child's 0.4 CPU-s, now in this process's cutime
    assert child.pid not in suite_profile.tree(child.pid + 10**7)[0]  # another root: not its tree


def test_a_sleeping_process_is_idle_and_a_spinning_one_busy():
    sleeper = _child(SLEEP)
    spinner = _child(SPIN.format(s=30))
    try:
        time.sleep(0.1)
        assert not suite_profile.busy([sleeper.pid])
        assert suite_profile.busy([spinner.pid])
        assert suite_profile.busy([sleeper.pid, spinner.pid])
        assert not suite_profile.busy([])
    finally:
        for child in (sleeper, spinner):
            child.kill()
            child.wait()


def test_summarise_adds_up_per_file_costliest_first():
    rows = [{"test": "tests/a.py::x", "cpu_s": 1.0, "wall_s": 2.0, "samples": 20, "idle": 5},
            {"test": "tests/b.py::y", "cpu_s": 3.0, "wall_s": 3.0, "samples": 30, "idle": 0},
            {"test": "tests/a.py::z[1]", "cpu_s": 0.5, "wall_s": 1.0, "samples": 10, "idle": 10}]
    assert suite_profile.summarise(rows) == [
        {"file": "tests/b.py", "tests": 1, "cpu_s": 3.0, "wall_s": 3.0, "idle_s": 0.0},
        {"file": "tests/a.py", "tests": 2, "cpu_s": 1.5, "wall_s": 3.0, "idle_s": 1.5}]


def test_the_plugin_charges_a_spinning_test_cpu_and_a_sleeping_test_idle(tmp_path):
    (tmp_path / "test_pair.py").write_text(textwrap.dedent("""
        import time

        def test_sleeps():
            time.sleep(1.5)

        def test_spins():
            end = time.process_time() + 0.5
            while time.process_time() < end:
                pass
    """))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_XDIST")}  # not a worker
    env.update(PYTHONPATH=str(ROOT), SUITE_PROFILE_DIR=str(tmp_path / "prof"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                           "benchmarks.suite_profile", str(tmp_path / "test_pair.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    [saved] = list((tmp_path / "prof").glob("main-*.json"))
    rows = {row["test"].split("::")[1]: row for row in json.loads(saved.read_text())}
    assert rows["test_spins"]["cpu_s"] >= 0.4 and rows["test_spins"]["idle"] <= rows["test_spins"]["samples"] // 2
    sleeps = rows["test_sleeps"]  # ~15 samples in 1.5 s on a quiet machine, fewer when the sampler waits for a core
    assert sleeps["cpu_s"] < 0.3 and sleeps["idle"] >= 3 and sleeps["idle"] >= sleeps["samples"] - 2
