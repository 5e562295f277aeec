#!/usr/bin/env python
"""Benchmark ``graphlink expand`` and ``graphlink match`` (issue 15) on simulated worlds.

For each world (scenario ``--scenario``, seeds of the ``--split``):

1. simulate day one (:func:`graphlink.lab.commands.simulate_scenario_world`), run
   detect on it, and simulate day two (:func:`graphlink.lab.simulate.day_two.write_day_two`:
   new accounts of known cells, teams and people, plus continuing accounts);
2. **expand**: from 3 random members of every cell of at least 5 accounts, score the
   ranked list against the cell (:func:`graphlink.lab.pivot_eval.evaluate_expand`);
3. **match**: assign day two's accounts to day one's clusters and score the new ones
   (:func:`graphlink.lab.pivot_eval.evaluate_match`);
4. **time**: ``graphlink match`` against ``graphlink detect`` on the same day-two log,
   both as subprocesses (wall time, interpreter start included) and in-process
   (:func:`graphlink.match` against :func:`graphlink.pipeline.run_detect`),
   interleaved, medians of ``--repeat`` (3) runs.

Writes ``benchmarks/pivot_results.json`` and prints a Markdown summary for BENCHMARKS.md.

Examples::

    python benchmarks/pivot.py --split dev --n 3          # while designing
    python benchmarks/pivot.py --split test --n 10        # the reported figures
    python benchmarks/pivot.py --split test --n 10 --no-timing   # quality only (expand, match)
    python benchmarks/pivot.py --seeds 9020-9029 --no-timing      # an explicit seed range (fresh test seeds)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

import graphlink  # noqa: E402
from graphlink.lab.commands import simulate_scenario_world  # noqa: E402
from graphlink.lab.pivot_eval import evaluate_expand, evaluate_match  # noqa: E402
from graphlink.lab.simulate.day_two import write_day_two  # noqa: E402
from graphlink.lab.simulate.seeds import seeds as split_seeds  # noqa: E402
from graphlink.pipeline import run_detect  # noqa: E402

RESULTS = ROOT / "benchmarks" / "pivot_results.json"


def cli(*args: str, quiet: bool = True) -> float:
    """Wall seconds of ``python -m graphlink ARGS -q``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "graphlink", *args, *(["-q"] if quiet else [])], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def world(root: Path, scenario: str, seed: int, repeat: int, scale: str = "small", quality: bool = True) -> dict:
    """Every figure of one world (``quality=False``: timings only)."""
    day1, day2 = root / "day1", root / "day2"
    simulate_scenario_world(day1, scenario, seed=seed, scale=scale)
    graphlink.detect(day1 / "events.parquet", day1 / "accounts.parquet").save(day1 / "out")
    info2 = write_day_two(day2, scenario, seed, scale)
    labels1 = pl.read_parquet(day1 / "labels.parquet")
    cells = evaluate_expand(day1 / "out", labels1, seed=seed, min_cell=5 if quality else 10**9)
    result = graphlink.match(day1 / "out", day2 / "events.parquet", day2 / "accounts.parquet")
    matching = evaluate_match(result.matches, pl.read_parquet(day2 / "labels.parquet"), day1 / "out", labels1)
    events, accounts = str(day2 / "events.parquet"), str(day2 / "accounts.parquet")
    times: dict[str, list[float]] = {"cli_match": [], "cli_detect": [], "lib_match": [], "lib_detect": [],
                                     "cli_start": []}
    for i in range(repeat):  # interleaved, so load on the shared machine hits both alike
        times["cli_match"].append(cli("match", str(day1 / "out"), events, "--accounts", accounts,
                                      "--out", str(root / f"match{i}")))
        times["cli_detect"].append(cli("detect", events, "--accounts", accounts, "--out", str(root / f"detect{i}")))
        times["lib_match"].append(timed(lambda: graphlink.match(day1 / "out", events, accounts)))
        times["lib_detect"].append(timed(lambda: run_detect(events, accounts)))
        times["cli_start"].append(cli("--version", quiet=False))  # interpreter and imports, paid by both
    medians = {k: round(statistics.median(v), 3) for k, v in times.items() if v}  # --no-timing: none
    if cells.is_empty():
        cells = pl.DataFrame(schema={"recall": pl.Float64, "precision": pl.Float64, "purity": pl.Float64,
                                     "precision_operator": pl.Float64, "found": pl.Int64, "size": pl.Int64,
                                     "listed": pl.Int64})
    good = (pl.col("recall") >= 0.9) & (pl.col("precision") >= 0.9)
    ok = cells.filter(good).height
    pure = cells.filter(pl.col("purity") >= 0.9)
    return {
        "scenario": scenario, "seed": seed, "scale": scale, "day2_events": info2["n_events"], "day2_accounts": info2["n_accounts"],
        "day2_new_accounts": info2["n_new_accounts"],
        "expand": {"cells": cells.height, "cells_recall90_precision90": ok,
                   "pure_cells": pure.height, "pure_cells_recall90_precision90": pure.filter(good).height,
                   "cells_recall90_operator_precision90": cells.filter(
                       (pl.col("recall") >= 0.9) & (pl.col("precision_operator") >= 0.9)).height,
                   "mean_recall": round(float(cells["recall"].mean() or 0.0), 4),
                   "mean_precision": round(float(cells["precision"].mean() or 0.0), 4),
                   "mean_precision_operator": round(float(cells["precision_operator"].mean() or 0.0), 4),
                   "micro_recall": round(cells["found"].sum() / max(int((cells["size"] - 3).sum()), 1), 4),
                   "micro_precision": round(cells["found"].sum() / max(int(cells["listed"].sum()), 1), 4)},
        "match": {k: round(v, 4) if isinstance(v, float) else v for k, v in matching.items()},
        "seconds": medians, "runs": times,
        "ratio_cli": round(medians["cli_match"] / medians["cli_detect"], 3) if medians else None,
        "ratio_cli_after_start": round((medians["cli_match"] - medians["cli_start"])
                                       / max(medians["cli_detect"] - medians["cli_start"], 1e-9), 3) if medians else None,
        "ratio_lib": round(medians["lib_match"] / medians["lib_detect"], 3) if medians else None,
    }


def markdown(rows: list[dict], split: str) -> str:
    lines = [f"| world ({split}) | expand cells ≥0.9/0.9 | of cells detect kept apart | expand recall / precision "
             "(micro) | match recall | match precision (cluster / campaign) | benign matched to rings | day-2 events | match / detect CLI s "
             "| ratio (after start-up) | match / detect in-process s | ratio |", "|" + "---|" * 12]
    timed_rows = [r for r in rows if r["seconds"]]
    for r in rows:
        e, m, s = r["expand"], r["match"], r["seconds"]
        if not s:  # --no-timing
            s = {k: float("nan") for k in ("cli_match", "cli_detect", "lib_match", "lib_detect")}
            r = {**r, "ratio_cli": float("nan"), "ratio_cli_after_start": float("nan"), "ratio_lib": float("nan")}
        lines.append(
            f"| {r['scenario']} {r['seed']} | {e['cells_recall90_precision90']}/{e['cells']} | "
            f"{e['pure_cells_recall90_precision90']}/{e['pure_cells']} | "
            f"{e['micro_recall']:.3f} / {e['micro_precision']:.3f} | {m['ring_matched']}/{m['ring_accounts']} "
            f"({m['recall']:.3f}) | {m['precision']:.3f} / {m['campaign_precision']:.3f} | "
            f"{m['benign_linked_flagged'] + m['benign_flagged']} | "
            f"{r['day2_events']:,} | {s['cli_match']:.2f} / {s['cli_detect']:.2f} | {r['ratio_cli']:.2f} "
            f"({r['ratio_cli_after_start']:.2f}) | "
            f"{s['lib_match']:.2f} / {s['lib_detect']:.2f} | {r['ratio_lib']:.2f} |")
    cells = sum(r["expand"]["cells"] for r in rows)
    ok = sum(r["expand"]["cells_recall90_precision90"] for r in rows)
    pure = sum(r["expand"]["pure_cells"] for r in rows)
    pure_ok = sum(r["expand"]["pure_cells_recall90_precision90"] for r in rows)
    op_ok = sum(r["expand"]["cells_recall90_operator_precision90"] for r in rows)
    ring = sum(r["match"]["ring_accounts"] for r in rows)
    hit = sum(r["match"]["ring_matched"] for r in rows)
    matched = sum(r["match"]["matched"] for r in rows)
    correct = sum(r["match"]["correct"] for r in rows)
    by_campaign = sum(round(r["match"]["campaign_precision"] * r["match"]["matched"]) for r in rows)
    benign = sum(r["match"]["benign_linked_flagged"] + r["match"]["benign_flagged"] for r in rows)
    mean_p = sum(r["expand"]["mean_precision"] * r["expand"]["cells"] for r in rows) / max(cells, 1)
    mean_r = sum(r["expand"]["mean_recall"] * r["expand"]["cells"] for r in rows) / max(cells, 1)
    lines.append(f"\nAll worlds: expand {ok}/{cells} cells at recall ≥ 0.9 and precision ≥ 0.9 (mean precision "
                 f"{mean_p:.3f}, mean recall {mean_r:.3f}; {pure_ok}/{pure} "
                 f"of the cells detect kept apart, purity ≥ 0.9; {op_ok}/{cells} counting the operator's other "
                 f"cells as right); match recall "
                 f"{hit}/{ring} = {hit / max(ring, 1):.3f}, precision {correct}/{matched} = "
                 f"{correct / max(matched, 1):.3f} (campaign right: {by_campaign / max(matched, 1):.3f}), {benign} benign accounts matched to a ring's cluster; "
                 + (f"median ratio match/detect {statistics.median(r['ratio_cli'] for r in timed_rows):.2f} (CLI; "
                    f"{statistics.median(r['ratio_cli_after_start'] for r in timed_rows):.2f} after the "
                    f"{statistics.median(r['seconds']['cli_start'] for r in timed_rows):.2f} s start-up both pay), "
                    f"{statistics.median(r['ratio_lib'] for r in timed_rows):.2f} (in-process)."
                    if timed_rows else "no timings (--no-timing)."))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--n", type=int, default=10, help="worlds (seeds of the split, in order)")
    parser.add_argument("--seeds", default=None, metavar="FIRST-LAST",
                        help="an explicit inclusive seed range (e.g. 9020-9029) instead of --split/--n; "
                             "reported under the split given (test seeds lie at 9000 and above)")
    parser.add_argument("--out", default=None, help="results JSON (default: benchmarks/pivot_results*.json)")
    parser.add_argument("--scenario", default="mixed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", default="small", help="world scale: small (~10k accounts) or 1m (~1M events)")
    parser.add_argument("--timing-only", action="store_true", help="skip the expand quality figures")
    parser.add_argument("--no-timing", action="store_true",
                        help="quality figures only (no match/detect timing; written to pivot_results_quality.json)")
    args = parser.parse_args()
    if args.seeds:
        first, _, last = args.seeds.partition("-")
        chosen = tuple(range(int(first), int(last or first) + 1))
    else:
        chosen = split_seeds(args.split, args.n)
    rows = []
    for seed in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(world(Path(tmp), args.scenario, seed, 0 if args.no_timing else args.repeat, args.scale,
                              not args.timing_only))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "runs"}), flush=True)
    target = RESULTS if args.scale == "small" else RESULTS.with_name(f"pivot_results_{args.scale}.json")
    if args.no_timing:  # the timed record stays as it was
        target = target.with_name(target.stem + "_quality.json")
    if args.out:
        target = Path(args.out)
    target.write_text(json.dumps({"split": args.split, "seeds": list(chosen), "scenario": args.scenario,
                                  "scale": args.scale, "worlds": rows},
                                 indent=1) + "\n")
    print(markdown(rows, args.split))


if __name__ == "__main__":
    main()
