"""Polars engine vs the Spark engine in local mode: wall time, peak memory, identical outputs.

Usage::

    python benchmarks/spark_engine.py WORLD [WORLD ...] [--master local[2]] [--json FILE]

Each WORLD is a folder written by ``graphlink simulate`` (``events.parquet``,
``accounts.parquet``). Each engine runs as its own ``graphlink detect``
process (``--engine polars`` / ``--engine spark --spark-master MASTER``),
timed with ``/usr/bin/time`` (wall seconds, peak RSS of the process tree's
largest process: for Spark the JVM). Afterwards the output tables of both are
compared (equal or not), and run.json's per-stage seconds are reported.

Results of the runs on this machine are in ``benchmarks/spark-results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("accounts", "clusters", "evidence", "campaigns", "memberships", "activity", "links", "linking")


def run(engine: str, world: Path, out: Path, master: str) -> dict:
    cmd = [sys.executable, "-m", "graphlink", "detect", str(world / "events.parquet"), "--accounts",
           str(world / "accounts.parquet"), "--out", str(out), "-q", "--engine", engine]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if engine == "spark":
        cmd += ["--spark-master", master]
        # Spark's event log beside the outputs (SPARK_CONF_DIR's spark-defaults.conf, read when the
        # JVM starts): every job's call site, times and task result sizes, also of a failed run.
        conf = out.parent / "spark-conf"
        (out.parent / "spark-events").mkdir(parents=True, exist_ok=True)
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "spark-defaults.conf").write_text(
            "spark.eventLog.enabled true\nspark.eventLog.compress false\n"
            f"spark.eventLog.dir file://{(out.parent / 'spark-events').resolve()}\n")
        env["SPARK_CONF_DIR"] = str(conf.resolve())
    timed = ["/usr/bin/time", "-f", "%e %M", *cmd]
    proc = subprocess.run(timed, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed on {world}: {proc.stderr[-2000:]}")
    seconds, rss_kb = proc.stderr.strip().splitlines()[-1].split()
    stages = json.loads((out / "run.json").read_text())["timings"]
    return {"seconds": float(seconds), "peak_rss_mb": round(int(rss_kb) / 1024), "stages": stages}


def same_outputs(a: Path, b: Path) -> dict[str, bool]:
    return {t: pl.read_parquet(a / f"{t}.parquet").equals(pl.read_parquet(b / f"{t}.parquet")) for t in TABLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worlds", nargs="+", type=Path)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="write both engines' outputs under this folder (kept)")
    args = parser.parse_args()
    results = []
    for world in args.worlds:
        events = pl.scan_parquet(world / "events.parquet").select(pl.len()).collect().item()
        with tempfile.TemporaryDirectory() as tmp:
            base = args.keep / world.name if args.keep else Path(tmp)
            polars_run = run("polars", world, base / "p", args.master)
            print(json.dumps({"world": str(world), "polars": polars_run}), flush=True)  # before Spark starts
            spark_run = run("spark", world, base / "s", args.master)
            equal = same_outputs(base / "p", base / "s")
        row = {"world": str(world), "events": events, "polars": polars_run, "spark": spark_run,
               "ratio": round(spark_run["seconds"] / polars_run["seconds"], 2), "identical_tables": equal}
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
