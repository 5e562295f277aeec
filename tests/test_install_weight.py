"""The core works without the optional extras (pyarrow: simulate; leidenalg: the other backend)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Make the optional packages unimportable, then run the CLI in this interpreter: once per command given
# (commands separated by THEN), each as a fresh process would (``sys.argv`` set, ``app()`` called, its
# SystemExit turned into an exit code), each command's exit code written after its stderr on a MARK line.
# One interpreter for several commands: each ``python -c`` paid ~1.5-2 CPU-s of start-up and imports before
# the command did anything (eight of them in this file). An exception escaping ``app()`` ends the process
# with a traceback and no MARK for the later commands, so the test fails as it would have.
THEN, MARK = "--then--", "\x00exit "
BLOCK = ("import sys; sys.modules['pyarrow'] = None; sys.modules['leidenalg'] = None; sys.modules['pyspark'] = None\n"
         "from graphlink.cli import app\n"
         "commands = [[]]\n"
         "for arg in sys.argv[1:]:\n"
         "    commands.append([]) if arg == THEN else commands[-1].append(arg)\n"
         "for args in commands:\n"
         "    sys.argv = ['graphlink', *args]\n"
         "    try:\n"
         "        app()\n"
         "        code = 0\n"
         "    except SystemExit as done:\n"
         "        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1\n"
         "        if isinstance(done.code, str):\n"
         "            print(done.code, file=sys.stderr)\n"
         "    sys.stdout.flush()\n"
         "    print(MARK + str(code), file=sys.stderr, flush=True)\n").replace("THEN", repr(THEN)).replace(
    "MARK", repr(MARK))


class Done:
    """One command's exit code and stderr, as ``subprocess.CompletedProcess`` gives them."""

    def __init__(self, returncode: int, stderr: str):
        self.returncode, self.stderr = returncode, stderr


def _clis(*commands, cwd=ROOT) -> list[Done]:
    """Run each command (a tuple of CLI arguments) in turn in ONE fresh interpreter without the extras."""
    args = [str(a) for command in commands for a in (THEN, *command)][1:]
    proc = subprocess.run([sys.executable, "-c", BLOCK, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)
    parts = proc.stderr.split(MARK)
    assert proc.returncode == 0 and len(parts) == len(commands) + 1, proc.stderr
    done = [Done(int(part.split("\n", 1)[0]), "") for part in parts[1:]]
    for k, part in enumerate(parts[:-1]):
        done[k].stderr = part if k == 0 else part.split("\n", 1)[1]
    return done


def test_optional_parts_are_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "pyarrow" not in core and "leidenalg" not in core and "pyspark" not in core
    extras = project["optional-dependencies"]
    assert any(d.startswith("pyarrow") for d in extras["simulate"])
    assert any(d.startswith("leidenalg") for d in extras["leidenalg"])
    assert {"pyarrow", "leidenalg", "pyspark"} <= {d.split(">")[0].split("=")[0] for d in extras["test"]}
    assert any(d.startswith("pyspark") for d in extras["spark"])


def test_detect_report_export_without_pyarrow_or_leidenalg(tmp_path):
    out = tmp_path / "out"
    detect, report, export, evaluate = _clis(
        ("detect", ROOT / "fixtures" / "events.parquet", "--accounts", ROOT / "fixtures" / "accounts.parquet",
         "--out", out, "-q"),
        ("report", out, "--no-plots", "-q"),
        ("export", out, "--format", "gexf", "-q"),
        # evaluate is core: it must not import the simulator (which needs pyarrow)
        ("evaluate", out, ROOT / "fixtures" / "labels.parquet", "-q"))
    assert detect.returncode == 0, detect.stderr
    assert report.returncode == 0
    assert export.returncode == 0
    assert (out / "report.html").is_file() and (out / "graph.gexf").is_file()
    assert evaluate.returncode == 0, evaluate.stderr


def test_missing_extras_say_which_to_install(tmp_path):
    config = tmp_path / "graphlink.toml"
    config.write_text('[communities]\nbackend = "leidenalg"\n')
    simulate, leiden, not_there, spark = _clis(
        ("simulate", tmp_path / "w"),
        ("detect", ROOT / "fixtures" / "events.parquet", "--config", config, "--out", tmp_path / "o"),
        # checked before the log is read (not after minutes of ingest): a log that is not there is not reached
        ("detect", tmp_path / "not-there.parquet", "--config", config, "--out", tmp_path / "o"),
        ("detect", ROOT / "fixtures" / "events.parquet", "--engine", "spark", "--out", tmp_path / "s"))
    assert simulate.returncode == 2 and simulate.stderr.strip() == \
        "error: graphlink simulate needs pyarrow: pip install 'graphlink[simulate]' (from a source checkout: pip install '.[simulate]')"
    assert leiden.returncode == 2 and "pip install 'graphlink[leidenalg]'" in leiden.stderr
    assert leiden.stderr.count("\n") == 1
    assert not_there.returncode == 2 and "pip install 'graphlink[leidenalg]'" in not_there.stderr, not_there.stderr
    assert spark.returncode == 2 and "pip install 'graphlink[spark]'" in spark.stderr
    assert "needs pyspark, pyarrow:" in spark.stderr  # every missing package named, PySpark first
    assert spark.stderr.count("\n") == 1 and not (tmp_path / "s").exists()
