"""Run graphlink on independent worlds (benchmarks/independent_world.py) and tabulate.

For each size and seed: generate the world (skipped when it exists), run
``nice -n 5 python -m graphlink detect`` with events only and with
``--accounts``, one at a time, then ``python -m graphlink evaluate --json``.
Writes ``WORK/results.json`` and prints a Markdown table.

Usage::

    python benchmarks/independent_bench.py --work /tmp/iw --sizes 4500,11000 --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


def row(size: int, seed: int, inp: str, ev: dict, secs: float) -> dict:
    team = ev["benign_linked_flagged_by_type"].get("team", 0)
    return {"size": size, "seed": seed, "input": inp, "precision": ev["precision"], "recall": ev["recall"],
            "f1": ev["f1"], "team_flagged": team, "other_benign_flagged": ev["false_positives"] - team,
            "ari_cell": ev["ari_cell"], "ari_campaign": ev["ari_campaign"], "seconds": round(secs, 1),
            "by_type": ev["benign_linked_flagged_by_type"], "benign_flagged": ev["benign_flagged"],
            "rings": ev["rings"], "rings_detected": ev["rings_detected"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/iw")
    ap.add_argument("--sizes", default="4500,11000")
    ap.add_argument("--seeds", default="1,2,3")
    a = ap.parse_args(argv)
    work = Path(a.work)
    rows = []
    for size in (int(x) for x in a.sizes.split(",")):
        for seed in (int(x) for x in a.seeds.split(",")):
            w = work / f"s{seed}_{size}"
            if not (w / "labels.parquet").exists():
                run([sys.executable, str(HERE / "independent_world.py"), "--seed", str(seed),
                     "--accounts", str(size), "--out", str(w)])
            for inp, out, extra in (("events only", w / "out", []),
                                    ("events + accounts", w / "out_acc", ["--accounts", str(w / "accounts.parquet")])):
                t = time.perf_counter()
                run(["nice", "-n", "5", sys.executable, "-m", "graphlink", "detect", "-q", str(w / "events.parquet"),
                     *extra, "--out", str(out)])
                secs = time.perf_counter() - t
                ev = json.loads(run([sys.executable, "-m", "graphlink", "evaluate", str(out),
                                     str(w / "labels.parquet"), "--json"]).stdout)
                (out.parent / f"eval_{out.name}.json").write_text(json.dumps(ev, indent=1))
                rows.append(row(size, seed, inp, ev, secs))
                r = rows[-1]
                print(f"{size} seed {seed} {inp}: P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} "
                      f"team {r['team_flagged']} other {r['other_benign_flagged']} ARI {r['ari_cell']:.3f}/"
                      f"{r['ari_campaign']:.3f} ({secs:.0f} s)", flush=True)
                (work / "results.json").write_text(json.dumps(rows, indent=1))
    print("| accounts | seed | input | P | R | F1 | benign-team flagged | other benign flagged | ARI cell | ARI campaign |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']:,} | {r['seed']} | {r['input']} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['f1']:.3f} | {r['team_flagged']} | {r['other_benign_flagged']} | {r['ari_cell']:.3f} | "
              f"{r['ari_campaign']:.3f} |")


if __name__ == "__main__":
    main()
