"""Peak RSS and wall time of ``graphlink detect`` on one world, per stage, for checkouts side by side.

Runs ``python -m graphlink detect EVENTS [--accounts A] --out DIR -q`` as a
subprocess from each checkout given (cwd first on ``sys.path``, so each run
uses that checkout's code), alternating between them, ``--runs`` times each.
While a run goes, its resident memory is sampled from ``/proc/PID/status``
every 20 ms (polars allocates outside Python, so tracemalloc cannot see it);
afterwards ``run.json`` gives the stage timings and the peak RSS after each
stage. Prints one line per run and the medians per checkout, and the ratio of
each checkout's medians to the first's.

Usage (campaign preset, seed 505, generated once with
``python -m graphlink simulate /tmp/camp505 --preset campaign --seed 505``)::

    nice -n 5 python benchmarks/campaign_memory.py /tmp/camp505 --checkout base=/tmp/base \\
        --checkout new=. --runs 3 --json /tmp/mem.json

Linux only (``/proc``). Run one heavy process at a time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_once(checkout: Path, events: Path, accounts: Path | None, out: Path, interval: float = 0.02) -> dict:
    """One detect run from ``checkout``: wall s, peak RSS MiB (sampled and kernel), stage timings and peaks."""
    cmd = [sys.executable, "-m", "graphlink", "detect", str(events), "--out", str(out), "-q"]
    if accounts is not None:
        cmd += ["--accounts", str(accounts)]
    samples: list[tuple[float, float]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=checkout, stdout=subprocess.DEVNULL)

    done = threading.Event()

    def sample() -> None:
        # Not proc.poll(): it reaps the child, and os.wait4 below then fails (lost a run's figures).
        while not done.is_set():
            rss = _rss_mib(proc.pid)
            if rss is not None:
                samples.append((time.perf_counter() - start, rss))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"detect failed in {checkout} (exit {proc.returncode})")
    run = json.loads((out / "run.json").read_text())
    timings = run.get("timings", {})
    # Which stage the sampled peak fell in: stages run in order, so cumulative timings place it.
    peak_at, peak = max(samples, key=lambda s: s[1]) if samples else (0.0, 0.0)
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "sampled_peak_mib": round(peak, 1), "sampled_peak_at_s": round(peak_at, 2),
            "user_s": round(usage.ru_utime, 1), "sys_s": round(usage.ru_stime, 1), "minor_faults": usage.ru_minflt,
            "timings": timings, "peak_rss_mb_after_stage": run.get("peak_rss_mb", {}),
            "timings_signals": run.get("timings_signals", {}),
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "samples": [(round(t, 2), round(m)) for t, m in samples[::5]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path, help="folder with events.parquet (and accounts.parquet)")
    parser.add_argument("--checkout", action="append", required=True, metavar="NAME=PATH",
                        help="a source tree to run (repeatable); the first is the reference for ratios")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-accounts", action="store_true", help="events only")
    parser.add_argument("--keep", type=Path, help="keep each checkout's last output folder here (NAME/)")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    args = parser.parse_args()
    checkouts = [(name, Path(path).resolve()) for name, path in (c.split("=", 1) for c in args.checkout)]
    events = args.world / "events.parquet"
    accounts = None if args.no_accounts else args.world / "accounts.parquet"
    if accounts is not None and not accounts.is_file():
        accounts = None
    results: dict[str, list[dict]] = {name: [] for name, _ in checkouts}
    with tempfile.TemporaryDirectory(prefix="campmem-") as tmp:
        for i in range(args.runs):
            for name, path in checkouts:
                out = Path(tmp) / f"{name}-{i}"
                r = run_once(path, events, accounts, out)
                results[name].append(r)
                stages = " · ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
                after = " · ".join(f"{k} {v / 1024:.2f}" for k, v in r["peak_rss_mb_after_stage"].items() if v)
                print(f"{name} run {i + 1}: wall {r['wall_s']:.1f} s, peak {r['peak_rss_mib'] / 1024:.2f} GiB "
                      f"(sampled at {r['sampled_peak_at_s']:.1f} s), user {r['user_s']} s sys {r['sys_s']} s, "
                      f"minor faults {r['minor_faults'] / 1e6:.2f}M, "
                      f"load {r['loadavg_1m']}\n  stages: {stages}\n  peak GiB after: {after}", flush=True)
                if args.keep is not None and i == args.runs - 1:
                    dest = args.keep / name
                    shutil.rmtree(dest, ignore_errors=True)
                    shutil.copytree(out, dest)
                shutil.rmtree(out, ignore_errors=True)
    ref = None
    for name, _ in checkouts:
        wall = statistics.median(r["wall_s"] for r in results[name])
        peak = statistics.median(r["peak_rss_mib"] for r in results[name])
        ref = ref or (wall, peak)
        print(f"{name}: median wall {wall:.1f} s ({wall / ref[0]:.2f}x), median peak {peak / 1024:.2f} GiB "
              f"({peak / ref[1]:.2f}x) over {len(results[name])} runs")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
