"""Crash safety: a run killed at any point (SIGKILL) leaves no partial output, and rerunning works."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.store.atomic import cleanup_stale, pid_alive
from graphlink.contract import OUTPUT_FILES
from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from tests._worlds import planted_world

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash")
    old, _ = planted_world(seed=1, n_benign=400, rings=(12,))
    new, _ = planted_world(seed=2, n_benign=3000, rings=(25, 15, 10))  # ~3 s through the CLI
    old.write_parquet(folder / "old.parquet")
    new.write_parquet(folder / "new.parquet")
    # The previous output each kill test starts from: one CLI run here, copied by the tests (was one each).
    assert _detect(folder / "old.parquet", folder / "old-out").returncode == 0
    return folder


def _start(*args, code: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-c", code, *map(str, args)] if code else \
        [sys.executable, "-m", "graphlink", *map(str, args)]
    return subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _detect(events: Path, out: Path, *extra) -> subprocess.CompletedProcess:
    """A run that is not killed (the previous output, the next run after a kill), in this process: the same
    ``detect`` command through typer's CliRunner, its exit code and stderr. The process boundary these tests check
    is the killed run's (:func:`_start`: a real process, killed); the next run's cleanup of what it left (stale
    folders of dead pids, the moved-aside output) is the command's own code either way. Was a ``python -m
    graphlink`` process each: ~1-2 CPU-s of start-up, five a run."""
    result = CliRunner().invoke(app, ["detect", str(events), "--out", str(out), "-q", *map(str, extra)])
    return subprocess.CompletedProcess(["graphlink", "detect"], result.exit_code, result.stdout, result.stderr)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


def _assert_complete(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    for name in OUTPUT_FILES:
        if name.endswith(".parquet"):
            pl.read_parquet(out / name)
    json.loads((out / "run.json").read_text())


def _visible(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


def test_sigkill_at_any_moment_leaves_previous_or_new_output(inputs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(inputs / "old-out", out)  # the previous output
    before = _snapshot(out)
    states = []
    for delay in (0.2, 0.6, 1.2, 2.2, 2.8, 3.4):
        proc = _start("detect", inputs / "new.parquet", "--out", out, "-q")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if not out.exists():  # the kill fell between the two renames (a microsecond window)
            assert (tmp_path / f".out.old-{proc.pid}").is_dir()
            cleanup_stale(out, OUTPUT_FILES)  # what the next run does first
        _assert_complete(out)
        snapshot = _snapshot(out)
        source = json.loads(snapshot["run.json"])["inputs"]["events"]["path"]
        states.append("previous" if snapshot == before else "new")
        assert states[-1] == "previous" or source.endswith("new.parquet")
        assert _visible(tmp_path) == {"out"}
        before = snapshot
    print("states after kills:", states)
    assert states[0] == "previous"  # an early kill keeps the previous output
    # A clean rerun works and removes every leftover of the killed runs.
    assert _detect(inputs / "new.parquet", out).returncode == 0
    _assert_complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_kill_while_writing_leaves_previous_output_and_a_stale_temp_that_is_cleaned(inputs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(inputs / "old-out", out)  # the previous output
    before = _snapshot(out)
    proc = _start("detect", inputs / "new.parquet", "--out", out, "-q")
    temp = tmp_path / f".out.tmp-{proc.pid}"
    deadline = time.monotonic() + 120
    while not temp.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if not temp.exists():
        pytest.skip("the run finished before the kill landed")
    assert _snapshot(out) == before  # the previous output, untouched
    assert not pid_alive(proc.pid)
    # The stale temp folder is never read as output, and the next run removes it.
    assert _detect(inputs / "old.parquet", tmp_path / "other").returncode == 0
    assert temp.exists()  # another output folder's run leaves it alone
    assert _detect(inputs / "old.parquet", out).returncode == 0
    assert not temp.exists()
    _assert_complete(out)


KILL_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
renames = []
real = Path.rename
def rename(self, target):
    result = real(self, target)
    renames.append(target)
    if ".old-" in str(target):  # the previous output was just moved aside
        os.kill(os.getpid(), signal.SIGKILL)
    return result
Path.rename = rename
sys.argv = ["graphlink", *sys.argv[1:]]
from graphlink.cli import app
app()
"""


def test_kill_between_the_two_renames_is_recovered_by_the_next_run(inputs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(inputs / "old-out", out)  # the previous output
    before = _snapshot(out)
    proc = _start("detect", inputs / "old.parquet", "--out", out, "-q", code=KILL_BETWEEN_RENAMES)
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    # Allowed state: no output folder at all (never a partial one) ...
    assert not out.exists()
    assert (tmp_path / f".out.old-{proc.pid}").is_dir()
    # ... and the next run, even one reading it with --previous, gets the previous output back.
    proc = _detect(inputs / "old.parquet", out, "--previous", out)
    assert proc.returncode == 0, proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["previous"]["new"] == 0 and run["previous"]["vanished"] == 0
    assert (out / "accounts.parquet").read_bytes() == before["accounts.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_folders_of_live_processes_are_kept_dead_ones_removed(tmp_path):
    events, _ = planted_world(seed=0, n_benign=30, rings=(6,))
    result = run_detect(events)
    out = tmp_path / "out"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        live_tmp = tmp_path / f".out.tmp-{sleeper.pid}"
        dead_tmp = tmp_path / f".out.tmp-{dead.pid}"
        dead_old_other = tmp_path / f".other.old-{dead.pid}"
        for folder in (live_tmp, dead_tmp, dead_old_other):
            folder.mkdir()
            (folder / "run.json").write_text("{}")
        write_outputs(result, out)
        assert live_tmp.exists() and not dead_tmp.exists()
        assert dead_old_other.exists()  # belongs to another output folder
        _assert_complete(out)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_complete_temp_folder_is_never_promoted_to_output(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    temp = tmp_path / f".out.tmp-{dead.pid}"
    temp.mkdir()
    for name in OUTPUT_FILES:
        (temp / name).write_text("x")
    done = cleanup_stale(tmp_path / "out", OUTPUT_FILES)
    assert not (tmp_path / "out").exists() and not temp.exists()
    assert done == [f"removed {temp.name} (left by a killed run)"]
