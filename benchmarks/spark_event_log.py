"""Summarise a Spark event log: each job's call site, start, seconds, and bytes returned to the driver.

Usage::

    python benchmarks/spark_event_log.py EVENT_LOG [--top N]

EVENT_LOG is a file (or Spark 4's ``eventlog_v2_*`` folder) written with ``spark.eventLog.enabled`` (``spark_engine.py
--keep DIR`` writes them under ``DIR/WORLD/spark-events``). Prints one line per
job in start order (wall clock, seconds, the summed ``Result Size`` of its
tasks, i.e. what its collect sent to the driver, and the Python call site),
then the ``--top`` jobs by result size. Works on the log of a failed run too
(a job without an end is shown as unfinished).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path


def summarise(path: Path) -> list[dict]:
    jobs: dict[int, dict] = {}
    stage_job: dict[int, int] = {}
    result = defaultdict(int)
    if path.suffix == ".zstd":  # Spark 4 compresses event logs by default (spark.eventLog.compress)
        import io
        import subprocess

        # zstd -dc tolerates the unfinished last frame of a log still being written
        raw = subprocess.run(["zstd", "-dcq", str(path)], capture_output=True).stdout
        lines = io.StringIO(raw.decode("utf-8", errors="replace"))
    else:
        lines = path.open(encoding="utf-8")
    with lines as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:  # the last line of a log still being written
                continue
            kind = event.get("Event")
            if kind == "SparkListenerJobStart":
                props = event.get("Properties") or {}
                name = props.get("spark.job.description") or props.get("callSite.short") or (event.get("Stage Infos") or [{}])[0].get("Stage Name", "")
                jobs[event["Job ID"]] = {"job": event["Job ID"], "start": event["Submission Time"] / 1000,
                                         "end": None, "site": name, "result_bytes": 0}
                for stage in event.get("Stage IDs", []):
                    stage_job[stage] = event["Job ID"]
            elif kind == "SparkListenerJobEnd" and event["Job ID"] in jobs:
                jobs[event["Job ID"]]["end"] = event["Completion Time"] / 1000
            elif kind == "SparkListenerTaskEnd":
                metrics = event.get("Task Metrics") or {}
                result[event["Stage ID"]] += int(metrics.get("Result Size", 0))
    for stage, size in result.items():
        if stage in stage_job and stage_job[stage] in jobs:
            jobs[stage_job[stage]]["result_bytes"] += size
    return sorted(jobs.values(), key=lambda j: j["start"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    log = args.log
    if log.is_dir():  # Spark 4's event log folder (eventlog_v2_*): its events_N_* file(s)
        log = sorted(log.glob("events_*"), key=lambda p: int(p.name.split("_")[1]))[-1]
    jobs = summarise(log)
    for j in jobs:
        seconds = f"{j['end'] - j['start']:8.1f}" if j["end"] else "unfinished"
        print(f"{time.strftime('%H:%M:%S', time.gmtime(j['start']))} {seconds} s "
              f"{j['result_bytes'] / 2**20:9.1f} MiB  job {j['job']:4d}  {j['site']}")
    print("largest results:")
    for j in sorted(jobs, key=lambda j: -j["result_bytes"])[:args.top]:
        print(f"  {j['result_bytes'] / 2**20:9.1f} MiB  job {j['job']}  {j['site']}")


if __name__ == "__main__":
    main()
