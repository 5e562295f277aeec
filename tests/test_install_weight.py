"""The core works without the optional extras (pyarrow: simulate; leidenalg: the other backend)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Make the optional packages unimportable, then run the CLI in this interpreter.
BLOCK = ("import sys; sys.modules['pyarrow'] = None; sys.modules['leidenalg'] = None; sys.modules['pyspark'] = None; "
         "from graphlink.cli import app; sys.argv = ['graphlink', *sys.argv[1:]]; app()")


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-c", BLOCK, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


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
    proc = _cli("detect", ROOT / "fixtures" / "events.parquet", "--accounts", ROOT / "fixtures" / "accounts.parquet",
                "--out", out, "-q")
    assert proc.returncode == 0, proc.stderr
    assert _cli("report", out, "--no-plots", "-q").returncode == 0
    assert _cli("export", out, "--format", "gexf", "-q").returncode == 0
    assert (out / "report.html").is_file() and (out / "graph.gexf").is_file()
    # evaluate is core: it must not import the simulator (which needs pyarrow)
    proc = _cli("evaluate", out, ROOT / "fixtures" / "labels.parquet", "-q")
    assert proc.returncode == 0, proc.stderr


def test_missing_extras_say_which_to_install(tmp_path):
    proc = _cli("simulate", tmp_path / "w")
    assert proc.returncode == 2 and proc.stderr.strip() == \
        "error: graphlink simulate needs pyarrow: pip install 'graphlink[simulate]' (from a source checkout: pip install '.[simulate]')"
    config = tmp_path / "graphlink.toml"
    config.write_text('[communities]\nbackend = "leidenalg"\n')
    proc = _cli("detect", ROOT / "fixtures" / "events.parquet", "--config", config, "--out", tmp_path / "o")
    assert proc.returncode == 2 and "pip install 'graphlink[leidenalg]'" in proc.stderr
    assert proc.stderr.count("\n") == 1
    # checked before the log is read (not after minutes of ingest): a log that is not there is not reached
    proc = _cli("detect", tmp_path / "not-there.parquet", "--config", config, "--out", tmp_path / "o")
    assert proc.returncode == 2 and "pip install 'graphlink[leidenalg]'" in proc.stderr, proc.stderr
    proc = _cli("detect", ROOT / "fixtures" / "events.parquet", "--engine", "spark", "--out", tmp_path / "s")
    assert proc.returncode == 2 and "pip install 'graphlink[spark]'" in proc.stderr
    assert "needs pyspark, pyarrow:" in proc.stderr  # every missing package named, PySpark first
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "s").exists()
