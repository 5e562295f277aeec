#!/usr/bin/env python
"""Generalisation benchmark: graphlink and the baseline on the scenario family.

For each scenario x seed (dev or test split, :mod:`graphlink.lab.simulate.seeds`)
this script

1. generates the world with ``graphlink.lab.simulate.scenarios.write_scenario``
   into a cache folder (reused when its ``params.json`` matches),
2. runs ``python -m graphlink detect`` as a subprocess twice -- with the
   accounts file (``--accounts``) and on events only -- measuring wall time
   and peak RSS (``/usr/bin/time -v``, else ``getrusage`` of the child),
3. runs the shared-card/IP connected-components baseline
   (:mod:`graphlink.lab.baseline`, events only) the same way,
4. scores every output with :func:`graphlink.lab.evaluate.evaluate_dir`,

and prints a table (one row per run) and a summary (mean and worst per
scenario x input x method), written as JSON and Markdown too.

Seeds: design and tune on ``--seeds dev`` only.  ``--seeds test`` is for the
final report; do not look at its figures while designing.

Examples::

    python benchmarks/generalisation.py --seeds dev --n-seeds 3            # quick
    python benchmarks/generalisation.py --seeds dev --scenarios mixed,pools --scale 1m
    python benchmarks/generalisation.py --seeds dev -- --resolution 0.5    # extra detect args
    python benchmarks/generalisation.py --render bench-out/generalisation/results-dev-small.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphlink.lab.simulate.scenarios import SCALES, SCENARIOS, draw_params, write_scenario  # noqa: E402
from graphlink.lab.simulate.seeds import seeds as seed_split  # noqa: E402

_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "json.dump({'rc': rc, 'maxrss_kb': ru.ru_maxrss}, open(sys.argv[1], 'w'))\n"
    "sys.exit(rc)\n"
)
COLUMNS = ("precision", "recall", "f1", "benign_linked_flagged", "benign_flagged",
           "ari_cell", "ari_campaign", "pair_f1", "wall_s", "peak_rss_mib")


def measure(cmd: list[str], log_dir: Path, timeout: float | None) -> dict:
    """Run ``cmd`` from the repository root; exit code, wall seconds, peak RSS (MiB)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    gnu_time = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
    stats = log_dir / "rusage.json"
    full = [gnu_time, "-v", *cmd] if gnu_time else [sys.executable, "-c", _WRAPPER, str(stats), *cmd]
    t0 = time.perf_counter()
    with open(log_dir / "stdout.txt", "w") as so, open(log_dir / "stderr.txt", "w") as se:
        try:
            rc = subprocess.call(full, stdout=so, stderr=se, cwd=ROOT, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.perf_counter() - t0
    stderr = (log_dir / "stderr.txt").read_text(errors="replace")
    rss = None
    if gnu_time:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
        rss = int(m.group(1)) / 1024 if m else None
    elif stats.exists():
        rss = json.loads(stats.read_text())["maxrss_kb"] / 1024
    tail = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("\t")][-2:]
    return {"rc": rc, "wall_s": round(wall, 2),
            "peak_rss_mib": None if rss is None else round(rss, 1), "stderr_tail": tail}


def ensure_world(work: Path, scenario: str, seed: int, scale: str) -> tuple[Path, dict]:
    """Generate (or reuse from the cache) one world; returns its folder and facts."""
    folder = work / "worlds" / f"{scenario}-{scale}-{seed}"
    params = draw_params(scenario, seed, scale)
    pj = folder / "params.json"
    facts_path = folder / "facts.json"
    names = ("events.parquet", "accounts.parquet", "labels.parquet")
    if pj.exists() and facts_path.exists() and all((folder / n).exists() for n in names) \
            and json.loads(pj.read_text()) == json.loads(json.dumps(params)):
        return folder, json.loads(facts_path.read_text())
    if folder.exists():
        shutil.rmtree(folder)
    info = write_scenario(folder, scenario, seed, scale)
    facts = {k: info[k] for k in ("n_events", "n_accounts", "n_ring_accounts", "n_cells",
                                  "n_campaigns", "n_benign_linked", "seconds")}
    facts_path.write_text(json.dumps(facts, indent=1))
    return folder, facts


def baseline_only(events: str, out: str) -> None:
    """Subprocess entry: the shared-identifier baseline on ``events`` into ``out``."""
    import polars as pl

    from graphlink.lab.baseline import BaselineConfig, baseline_detect

    accounts, clusters = baseline_detect(pl.scan_parquet(events), BaselineConfig())
    Path(out).mkdir(parents=True, exist_ok=True)
    accounts.write_parquet(Path(out) / "accounts.parquet")
    clusters.write_parquet(Path(out) / "clusters.parquet")


def score(out: Path, labels: Path) -> dict | None:
    from graphlink.lab.evaluate import evaluate_dir

    if not (out / "accounts.parquet").exists():
        return None
    r = evaluate_dir(out, labels)
    r.pop("per_ring", None)
    r.pop("flagged_not_ring", None)  # the accounts by name; the counts stay
    return r


def run_one(world: Path, out: Path, method: str, with_accounts: bool, extra: list[str],
            timeout: float | None) -> dict:
    if out.exists():
        shutil.rmtree(out)
    if method == "graphlink":
        cmd = [sys.executable, "-m", "graphlink", "detect", str(world / "events.parquet"),
               "--out", str(out), "-q", *extra]
        if with_accounts:
            cmd[5:5] = ["--accounts", str(world / "accounts.parquet")]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-only",
               str(world / "events.parquet"), str(out)]
    res = measure(cmd, out.parent / (out.name + "-logs"), timeout)
    res["metrics"] = score(out, world / "labels.parquet") if res["rc"] == 0 else None
    return res


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def row_values(r: dict) -> list[str]:
    m = r.get("metrics") or {}
    team = (f"{m['benign_linked_flagged']}/{m['benign_linked_accounts']}" if m else "-")
    return [_fmt(m.get("precision")), _fmt(m.get("recall")), _fmt(m.get("f1")), team,
            _fmt(m.get("benign_flagged")), _fmt(m.get("ari_cell")), _fmt(m.get("ari_campaign")),
            _fmt(m.get("pair_f1")), _fmt(r.get("wall_s"), 1), _fmt(r.get("peak_rss_mib"), 0)]


HEADER = ["scenario", "seed", "accounts", "method", "precision", "recall", "F1",
          "benign-team flagged", "benign flagged", "ARI cell", "ARI campaign", "pair F1",
          "wall s", "peak RSS MiB"]


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and worst of the main figures per scenario x input x method (and overall)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if not r.get("metrics"):
            continue
        for key in ((r["scenario"], r["accounts"], r["method"]), ("ALL", r["accounts"], r["method"])):
            groups.setdefault(key, []).append(r)
    out = []
    for (scen, acc, method), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] == "ALL", kv[0])):
        ms = [r["metrics"] for r in rs]

        def mean(k):
            vals = [m[k] for m in ms if m.get(k) is not None]
            return sum(vals) / len(vals) if vals else None

        def worst(k):
            vals = [m[k] for m in ms if m.get(k) is not None]
            return min(vals) if vals else None

        flagging = [m for m in ms if m.get("flagged_accounts", 1)]
        prec = [m["precision"] for m in flagging]
        out.append({
            "scenario": scen, "accounts": acc, "method": method, "runs": len(rs),
            "no_flags": len(ms) - len(flagging),
            # precision is undefined when nothing is flagged: mean over runs that flag
            "precision": sum(prec) / len(prec) if prec else None,
            "recall": mean("recall"), "f1": mean("f1"),
            "f1_worst": worst("f1"),
            "benign_linked_flagged": sum(m["benign_linked_flagged"] for m in ms),
            "benign_linked_accounts": sum(m["benign_linked_accounts"] for m in ms),
            "benign_flagged": sum(m["benign_flagged"] for m in ms),
            "ari_cell": mean("ari_cell"), "ari_campaign": mean("ari_campaign"),
            "ari_cell_worst": worst("ari_cell"), "pair_f1": mean("pair_f1"),
            "wall_s": max(r["wall_s"] for r in rs),
            "peak_rss_mib": max((r["peak_rss_mib"] or 0) for r in rs),
        })
    return out


def markdown(rows: list[dict], summary: list[dict], meta: dict) -> str:
    lines = [f"# Generalisation benchmark ({meta['split']} seeds {meta['seeds']}, scale "
             f"{meta['scale']}, code {meta['code']})", "",
             "Per scenario x input x method: runs, runs that flagged nothing, mean precision "
             "(over runs that flag), mean recall/F1 (worst F1), benign-team "
             "(benign_linked) and ordinary accounts flagged (summed over seeds), mean ARI by "
             "cell (worst) and by campaign, mean pairwise F1, slowest wall time and largest "
             "peak RSS.", "",
             "| scenario | accounts | method | runs | no flags | precision | recall | F1 | F1 worst | "
             "benign-team flagged | benign flagged | ARI cell | ARI cell worst | ARI campaign | "
             "pair F1 | wall s max | peak RSS MiB max |",
             "|" + "---|" * 17]
    for s in summary:
        lines.append("| " + " | ".join([
            s["scenario"], s["accounts"], s["method"], str(s["runs"]), str(s.get("no_flags", "-")),
            _fmt(s["precision"]),
            _fmt(s["recall"]), _fmt(s["f1"]), _fmt(s["f1_worst"]),
            f"{s['benign_linked_flagged']}/{s['benign_linked_accounts']}", str(s["benign_flagged"]),
            _fmt(s["ari_cell"]), _fmt(s["ari_cell_worst"]), _fmt(s["ari_campaign"]),
            _fmt(s["pair_f1"]), _fmt(s["wall_s"], 1), _fmt(s["peak_rss_mib"], 0)]) + " |")
    lines += ["", "## Every run", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        lines.append("| " + " | ".join([r["scenario"], str(r["seed"]), r["accounts"], r["method"],
                                        *row_values(r)]) + " |")
    return "\n".join(lines) + "\n"


def code_version() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--baseline-only"]:
        baseline_only(argv[1], argv[2])
        return 0
    if argv[:1] == ["--render"]:  # re-render the Markdown of a saved results JSON
        saved = json.loads(Path(argv[1]).read_text())
        print(markdown(saved["runs"], summarise(saved["runs"]), saved["meta"]), end="")
        return 0
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", choices=["dev", "test"], default="dev",
                    help="seed split (tune on dev only; test is for the final report)")
    ap.add_argument("--n-seeds", type=int, default=None, help="first N seeds of the split (all 20 by default)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated subset of {','.join(SCENARIOS)}")
    ap.add_argument("--scale", choices=list(SCALES), default="small")
    ap.add_argument("--inputs", choices=["both", "with", "without"], default="both",
                    help="detect with the accounts file, without it, or both")
    ap.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    ap.add_argument("--work", type=Path, default=ROOT / "bench-out" / "generalisation",
                    help="cache of worlds and outputs (default bench-out/generalisation)")
    ap.add_argument("--json", type=Path, default=None, help="results JSON (default WORK/results-SPLIT-SCALE.json)")
    ap.add_argument("--md", type=Path, default=None, help="results Markdown (default WORK/results-SPLIT-SCALE.md)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per subprocess")
    args = ap.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad:
        ap.error(f"unknown scenario(s) {', '.join(bad)}; choose from {', '.join(SCENARIOS)}")
    seed_list = seed_split(args.seeds, args.n_seeds)
    inputs = {"both": [True, False], "with": [True], "without": [False]}[args.inputs]
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    meta = {"split": args.seeds, "seeds": f"{seed_list[0]}-{seed_list[-1]}" if seed_list else "-",
            "scale": args.scale, "code": code_version(), "detect_args": extra,
            "scenarios": scenarios}
    stem = f"results-{args.seeds}-{args.scale}"

    def save(rows: list[dict]) -> str:
        summary = summarise(rows)
        md = markdown(rows, summary, meta)
        (args.json or work / f"{stem}.json").write_text(
            json.dumps({"meta": meta, "summary": summary, "runs": rows}, indent=1, default=str) + "\n")
        (args.md or work / f"{stem}.md").write_text(md)
        return md

    print("| " + " | ".join(HEADER) + " |", flush=True)
    for scenario in scenarios:
        for seed in seed_list:
            world, facts = ensure_world(work, scenario, seed, args.scale)
            runs = [("graphlink", w) for w in inputs]
            if not args.no_baseline:
                runs.append(("baseline", False))
            for method, with_acc in runs:
                tag = "with" if with_acc else "without"
                out = work / "runs" / f"{world.name}-{method}-{tag}"
                res = run_one(world, out, method, with_acc, extra if method == "graphlink" else [],
                              args.timeout)
                r = {"scenario": scenario, "seed": seed, "scale": args.scale,
                     "accounts": "events+accounts" if with_acc else "events only",
                     "method": method, "world": facts, **res}
                rows.append(r)
                print("| " + " | ".join([scenario, str(seed), r["accounts"], method,
                                         *row_values(r)]) + " |"
                      + ("" if res["rc"] == 0 else f"  FAILED rc={res['rc']}: {res['stderr_tail']}"),
                      flush=True)
            save(rows)  # after every world, so an interrupted run keeps what it measured
    md = save(rows)
    print()
    print(md.split("## Every run")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
