#!/usr/bin/env python
"""Benchmark ``graphlink detect`` and the peer baseline on simulated worlds.

For each selected world size this script

1. simulates the world with :func:`graphlink.lab.simulate.write_world` (or reuses
   an identical one from an earlier run with ``--reuse-worlds``),
2. runs ``python -m graphlink detect EVENTS --accounts ACCOUNTS --out DIR`` as
   a subprocess, measuring wall time and peak RSS (``/usr/bin/time -v`` when
   present, else ``getrusage(RUSAGE_CHILDREN)`` in a wrapper process), and
   reads the per-stage timings from ``DIR/run.json``,
3. scores the output with :func:`graphlink.lab.evaluate.evaluate_dir`,
4. runs the shared-identifier baseline (:mod:`graphlink.lab.baseline`) on the same
   world, measured the same way, and scores it,

then merges the figures into ``benchmarks/results.json`` and rewrites
``BENCHMARKS.md`` from it (sizes not run this time keep their last figures).

Examples::

    python benchmarks/run_benchmarks.py --sizes small          # quick check
    python benchmarks/run_benchmarks.py --sizes 1m,4m,campaign  # full run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphlink.lab.simulate import PRESETS, SimulationConfig, write_world  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.json"
ORDER = ["small", "1m", "4m", "campaign"]


def world_configs() -> dict[str, tuple[SimulationConfig, str]]:
    """World sizes: name -> (config, description)."""
    medium = PRESETS["medium"]
    four = medium.replace(
        n_benign=4 * medium.n_benign,
        residential_networks=4 * medium.residential_networks,
        n_university_nats=4 * medium.n_university_nats,
        n_corporate_nats=4 * medium.n_corporate_nats,
        n_company_domains=4 * medium.n_company_domains,
        n_rare_user_agents=4 * medium.n_rare_user_agents,
        n_teams=4 * medium.n_teams,
        n_ring_accounts=4 * medium.n_ring_accounts,
        n_operators=8,
    )
    return {
        "small": (PRESETS["small"], "preset small (fixtures scale)"),
        "1m": (medium, "preset medium (~1M events)"),
        "4m": (four, "preset medium x4 accounts (~4M events)"),
        "campaign": (PRESETS["campaign"], "preset campaign (>=24k ring accounts, >=22M events)"),
    }


# ----------------------------------------------------------------- measuring --

_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "json.dump({'rc': rc, 'wall': time.perf_counter() - t, 'maxrss_kb': ru.ru_maxrss},\n"
    "          open(sys.argv[1], 'w'))\n"
    "sys.exit(rc)\n"
)


def measure(cmd: list[str], log_dir: Path, timeout: float | None) -> dict:
    """Run ``cmd``; return exit code, wall seconds and peak RSS in MiB."""
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    stats = log_dir / "rusage.json"
    if gnu_time:
        full = [gnu_time, "-v", *cmd]
    else:
        full = [sys.executable, "-c", _WRAPPER, str(stats), *cmd]
    t0 = time.perf_counter()
    with open(log_dir / "stdout.txt", "w") as so, open(log_dir / "stderr.txt", "w") as se:
        try:
            rc = subprocess.call(full, stdout=so, stderr=se, cwd=ROOT, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.perf_counter() - t0
    rss_mib = None
    stderr = (log_dir / "stderr.txt").read_text(errors="replace")
    if gnu_time:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
        rss_mib = int(m.group(1)) / 1024 if m else None
        stderr = "\n".join(line for line in stderr.splitlines()
                           if not line.startswith("\t") and "Command exited" not in line)
    elif stats.exists():
        rss_mib = json.loads(stats.read_text())["maxrss_kb"] / 1024
    tail = [line for line in stderr.strip().splitlines() if line.strip()][-3:]
    return {"rc": rc, "wall_s": round(wall, 2),
            "peak_rss_mib": None if rss_mib is None else round(rss_mib, 1),
            "stderr_tail": tail, "command": shlex.join(cmd)}


# ----------------------------------------------------------------- stages --

def ensure_world(name: str, cfg: SimulationConfig, seed: int, work: Path, reuse: bool) -> dict:
    """Simulate (or reuse) a world; return its facts."""
    world = work / name / "world"
    meta_path = work / name / "world.json"
    key = repr(cfg) + f"|seed={seed}"
    if reuse and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == key and all(Path(p).exists() for p in meta["paths"].values()):
            meta["reused"] = True
            return meta
    if world.exists():
        shutil.rmtree(world)
    info = write_world(world, cfg, seed)
    info["key"] = key
    info["reused"] = False
    meta_path.write_text(json.dumps(info, indent=2))
    return info


def run_detect(world: dict, out: Path, extra: list[str], timeout: float | None) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "graphlink", "detect", world["paths"]["events.parquet"],
           "--accounts", world["paths"]["accounts.parquet"], "--out", str(out), *extra]
    res = measure(cmd, out.parent / (out.name + "-logs"), timeout)
    run_json = out / "run.json"
    if res["rc"] == 0 and run_json.exists():
        res["timings"] = json.loads(run_json.read_text()).get("timings", {})
    return res


def run_baseline(world: dict, out: Path, timeout: float | None) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-only",
           world["paths"]["events.parquet"], str(out)]
    res = measure(cmd, out.parent / (out.name + "-logs"), timeout)
    timing = out / "timing.json"
    if res["rc"] == 0 and timing.exists():
        res["timings"] = json.loads(timing.read_text())
    return res


def baseline_only(events: str, out: str) -> None:
    """Subprocess entry point: run the baseline on ``events`` into ``out``."""
    import polars as pl

    from graphlink.lab.baseline import BaselineConfig, baseline_detect

    t0 = time.perf_counter()
    accounts, clusters = baseline_detect(pl.scan_parquet(events), BaselineConfig())
    detect_s = time.perf_counter() - t0
    Path(out).mkdir(parents=True, exist_ok=True)
    accounts.write_parquet(Path(out) / "accounts.parquet")
    clusters.write_parquet(Path(out) / "clusters.parquet")
    (Path(out) / "timing.json").write_text(json.dumps({"baseline": round(detect_s, 3)}))


def score(out: Path, labels: str) -> dict | None:
    from graphlink.lab.evaluate import evaluate_dir

    if not (out / "accounts.parquet").exists() or not (out / "clusters.parquet").exists():
        return None
    r = evaluate_dir(out, labels)
    r.pop("per_ring", None)
    r.pop("flagged_not_ring", None)  # the accounts by name; the counts stay
    return r


# ----------------------------------------------------------------- report --

def _f(x, digits=3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{0.0 if round(x, digits) == 0 else x:.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f}"


def render_markdown(results: dict, notes: str = "") -> str:
    env = results.get("environment", {})
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run_benchmarks.py`; raw figures in "
        "`benchmarks/results.json`. Worlds come from the simulator "
        "(`graphlink.lab.simulate`), so ring, benign-linked and benign labels are exact.",
        "",
        "Commands that produced the rows below (run from the repository root):",
        "",
        *[f"* `{c}`" for c in dict.fromkeys(
            results["sizes"][s].get("command", results.get("command", ""))
            for s in ORDER if s in results.get("sizes", {}))],
        "",
        f"Machine: {env.get('cpus', '?')} CPUs, {env.get('memory_gib', '?')} GiB RAM, "
        f"Python {env.get('python', '?')}, polars {env.get('polars', '?')}, "
        f"{env.get('platform', '')}  ",
        f"Code: {results.get('code', 'unknown')}"
        + (f" — {results['note']}" if results.get("note") else ""),
        "",
        "## Worlds",
        "",
        "| size | description | seed | accounts | ring accounts (cells) | benign-linked "
        "| events | ring events | generate s | events.parquet MB | all files MB | run at |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sizes = [s for s in ORDER if s in results.get("sizes", {})]
    for s in sizes:
        r = results["sizes"][s]
        w = r["world"]
        gen = _f(w.get("seconds"), 1) + (" (reused)" if w.get("reused") else "")
        lines.append(
            f"| {s} | {r['description']} | {w['seed']} | {_f(w['n_accounts'])} | "
            f"{_f(w['n_ring_accounts'])} ({w['n_rings']}) | {_f(w['n_benign_linked'])} | "
            f"{_f(w['n_events'])} | {_f(w.get('n_ring_events'))} | {gen} | "
            f"{_mb(w['bytes']['events.parquet'])} | {_mb(sum(w['bytes'].values()))} | "
            f"{r['run_at']} |")
    for key, title in (("detect", "graphlink detect"),
                       ("baseline", "Baseline: shared card / exact IP, k=20, components >= 5")):
        lines += ["", f"## {title}", "",
                  "| size | status | wall s | peak RSS MiB | precision | recall | F1 | ARI "
                  "| benign flagged | benign-linked flagged (share) | flagged clusters "
                  "| seconds per stage |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in sizes:
            run = results["sizes"][s].get(key)
            if run is None:
                lines.append(f"| {s} | not run |" + " |" * 10)
                continue
            ev = results["sizes"][s].get(f"{key}_eval") or {}
            status = "ok" if run["rc"] == 0 else f"failed ({run['rc']})"
            stages = " · ".join(f"{k} {v:.1f}" for k, v in (run.get("timings") or {}).items())
            linked = ("–" if not ev else f"{ev['benign_linked_flagged']:,} "
                      f"({ev['benign_linked_flagged_share']:.1%})")
            lines.append(
                f"| {s} | {status} | {_f(run['wall_s'], 1)} | {_f(run['peak_rss_mib'], 0)} | "
                f"{_f(ev.get('precision'))} | {_f(ev.get('recall'))} | {_f(ev.get('f1'))} | "
                f"{_f(ev.get('ari'))} | {_f(ev.get('benign_flagged'))} | {linked} | "
                f"{_f(ev.get('flagged_clusters'))} | {stages or '–'} |")
        failures = [(s, results["sizes"][s][key]) for s in sizes
                    if results["sizes"][s].get(key) and results["sizes"][s][key]["rc"] != 0]
        for s, run in failures:
            lines.append(f"\n{s}: `{run['command']}` failed: "
                         f"{' / '.join(run['stderr_tail']) or 'no stderr'}")
    lines += ["", "Wall time and peak RSS are those of the whole subprocess "
              "(interpreter start-up and Parquet I/O included). ARI compares ring cells "
              "(`ring_id`) with clusters over ring accounts; unclustered accounts count as "
              "singletons.", ""]
    peer = results.get("peer")
    if peer:
        lines += ["## Peer: networkx weighted bipartite projection + Louvain", ""]
        if peer.get("rc"):
            lines.append(f"Failed: {' / '.join(peer.get('stderr_tail', []))}")
        else:
            nx_detail = peer.get("networkx_detail", {})
            lines += [
                "`python benchmarks/peer_networkx.py --runs 3` (also run by `run_benchmarks.py --peer`; medians of 3 runs, "
                f"{peer.get('run_at', '')}): the route a user would take without graphlink — project the "
                "account–IP/card/user-agent graph with networkx and run its Louvain.",
                "",
                "| world | networkx projection + Louvain | graphlink detect (whole pipeline) | ratio |",
                "|---|---|---|---|",
                f"| {_f(peer['events'])} events, {_f(peer['accounts'])} accounts | "
                f"{peer['networkx_median_s']:.1f} s (projection {nx_detail.get('projection_s', 0):.1f} s, "
                f"Louvain {nx_detail.get('louvain_s', 0):.1f} s, {_f(nx_detail.get('edges'))} edges) | "
                f"{peer['graphlink_median_s']:.1f} s | {peer['ratio']:.1f}× |",
                ""]
    lines += [NOTES_MARK]
    return "\n".join(lines) + (notes if notes else "\n")


def code_version() -> str:
    """``git describe`` of the checkout being benchmarked, if it is a git checkout."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def environment() -> dict:
    import polars as pl

    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gib": mem, "python": platform.python_version(),
            "polars": pl.__version__, "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1m,4m,campaign",
                        help=f"comma-separated world sizes from {ORDER} (default: 1m,4m,campaign)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench-out")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="JSON file the figures are merged into")
    parser.add_argument("--reuse-worlds", action="store_true",
                        help="reuse a world simulated earlier with the same config and seed")
    parser.add_argument("--skip-detect", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--detect-arg", action="append", default=[],
                        help="extra argument passed to graphlink detect (repeatable)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per subprocess")
    parser.add_argument("--peer", action="store_true",
                        help="also run benchmarks/peer_networkx.py (networkx projection + Louvain, ~100k events, "
                             "median of 3) and record graphlink's speed as a ratio")
    parser.add_argument("--note", default=None,
                        help="free text recorded in BENCHMARKS.md (e.g. which detect build ran)")
    parser.add_argument("--baseline-only", nargs=2, metavar=("EVENTS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_only:
        baseline_only(*args.baseline_only)
        return 0

    configs = world_configs()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in configs]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {ORDER}")
    results = (json.loads(args.results.read_text()) if args.results.exists()
               else {"sizes": {}})
    results["command"] = shlex.join(["python", "benchmarks/run_benchmarks.py",
                                     *(argv if argv is not None else sys.argv[1:])])
    results["environment"] = environment()
    results["code"] = code_version()
    if args.note is not None:
        results["note"] = args.note
    for name in sizes:
        cfg, description = configs[name]
        print(f"[{name}] simulating …", flush=True)
        world = ensure_world(name, cfg, args.seed, args.work_dir, args.reuse_worlds)
        entry = {"description": description, "command": results["command"], "world": {k: v for k, v in world.items()
                                                     if k not in ("key", "paths")},
                 "run_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
        labels = world["paths"]["labels.parquet"]
        if not args.skip_detect:
            print(f"[{name}] graphlink detect …", flush=True)
            out = args.work_dir / name / "detect"
            entry["detect"] = run_detect(world, out, args.detect_arg, args.timeout)
            entry["detect_eval"] = score(out, labels) if entry["detect"]["rc"] == 0 else None
        if not args.skip_baseline:
            print(f"[{name}] baseline …", flush=True)
            out = args.work_dir / name / "baseline"
            entry["baseline"] = run_baseline(world, out, args.timeout)
            entry["baseline_eval"] = score(out, labels) if entry["baseline"]["rc"] == 0 else None
        previous = results["sizes"].get(name, {})
        if previous.get("world", {}).get("seed") == args.seed:
            # A stage skipped this time keeps its last figures for the same world.
            for key in ("detect", "detect_eval", "baseline", "baseline_eval"):
                if key not in entry and key in previous:
                    entry[key] = previous[key]
        results["sizes"][name] = entry
        args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
        args.output.write_text(render_markdown(results, kept_notes(args.output)))
        print(f"[{name}] done", flush=True)
    if args.peer:
        print("[peer] networkx projection + Louvain …", flush=True)
        results["peer"] = run_peer(args.timeout)
        args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    args.output.write_text(render_markdown(results, kept_notes(args.output)))
    print(f"wrote {args.output} and {args.results}")
    return 0


def run_peer(timeout: float | None) -> dict:
    """Run ``benchmarks/peer_networkx.py`` and return its figures (or its failure)."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peer_networkx.py"), "--runs", "3"],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode:
        return {"rc": done.returncode, "stderr_tail": done.stderr.splitlines()[-3:]}
    text = done.stdout
    figures = json.loads(text[text.index("{"):text.rindex("}") + 1])
    figures["rc"] = 0
    figures["run_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return figures


NOTES_MARK = "<!-- Hand-written notes below this line are kept when run_benchmarks.py rewrites the file. -->"


def kept_notes(path: Path) -> str:
    """The hand-written part of an existing BENCHMARKS.md (after :data:`NOTES_MARK`)."""
    if not path.exists():
        return ""
    text = path.read_text()
    return text[text.index(NOTES_MARK) + len(NOTES_MARK):] if NOTES_MARK in text else ""


if __name__ == "__main__":
    sys.exit(main())
