#!/usr/bin/env python
"""Quality sweep: detect in-process on many worlds, evaluate, print per-world figures and means.

The harness behind BENCHMARKS.md's tenth pass. Each world folder holds ``events.parquet``,
``labels.parquet`` and (for ``acc``) ``accounts.parquet`` (``graphlink simulate --scenario`` or
``benchmarks/independent_world.py``). ``WT`` picks the checkout whose code runs (side by side runs of
two versions); flat overrides are :func:`graphlink.config.build.build_config` names.

Usage::

    WT=/path/to/checkout J=2 python benchmarks/quality_sweep.py "/tmp/tl/*" ['{"co_timing_weight": 0}'] [acc] [--tag T]

The 18 dev worlds of session 10: ``python benchmarks/independent_world.py --seed S --accounts N --out
/tmp/tl/ind_sS_N`` for S in 1-3, N in 4500 and 11000, and ``python -m graphlink simulate /tmp/tl/SC_SEED
--scenario SC --seed SEED -q`` for SEED 1000-1001 and each scenario.

Prints F1, precision, recall, ordinary (``benign``) and linked-but-benign (teams, NATs, families) accounts flagged, ARI by cell and by campaign per world and their
means; writes ``/tmp/sweep_<tag>.json``.
"""

import glob, json, os, sys, time
from concurrent.futures import ProcessPoolExecutor
WT = os.environ.get("WT", str(__import__("pathlib").Path(__file__).resolve().parent.parent))
sys.path.insert(0, WT)

def one(args):
    w, over, acc = args
    import sys
    sys.path.insert(0, WT)
    import polars as pl
    from graphlink.pipeline import run_detect
    from graphlink.config.build import build_config
    from graphlink.lab.evaluate import evaluate
    cfg = build_config(**over) if over else None
    t = time.perf_counter()
    r = run_detect(f"{w}/events.parquet", f"{w}/accounts.parquet" if acc else None, cfg)
    secs = time.perf_counter() - t
    labels = pl.read_parquet(f"{w}/labels.parquet")
    ev = evaluate(r.accounts, r.clusters, labels)
    return dict(world=os.path.basename(w), secs=round(secs, 1), f1=ev["f1"], precision=ev["precision"], recall=ev["recall"],
                benign=ev["benign_flagged"], linked=ev["benign_linked_flagged"], ari_cell=ev["ari_cell"], ari_campaign=ev["ari_campaign"],
                co=r.run.get("co_timed_pairs"), linked_by_type=ev["benign_linked_flagged_by_type"])

if __name__ == "__main__":
    pat = sys.argv[1]
    over = json.loads(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].startswith("{") else {}
    acc = "acc" in sys.argv[2:]
    tag = sys.argv[sys.argv.index("--tag") + 1] if "--tag" in sys.argv else "x"
    worlds = sorted(glob.glob(pat))
    with ProcessPoolExecutor(int(os.environ.get("J", "2"))) as ex:
        rows = list(ex.map(one, [(w, over, acc) for w in worlds]))
    f3 = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731 -- labels without operators have no campaign ARI
    for r in rows:
        print(f"{r['world']:22s} F1 {r['f1']:.3f} P {r['precision']:.3f} R {r['recall']:.3f} benign {r['benign']:4d} linked {r['linked']:4d} ARIc {f3(r['ari_cell'])} ARIk {f3(r['ari_campaign'])} {r['secs']}s co={r['co']} linked by type {r['linked_by_type']}")
    n = len(rows)
    m = lambda k: None if any(r[k] is None for r in rows) else sum(r[k] for r in rows) / n  # noqa: E731
    print(f"MEAN n={n} F1 {m('f1'):.3f} P {m('precision'):.3f} benign(sum) {sum(r['benign'] for r in rows)} linked(sum) {sum(r['linked'] for r in rows)} ARIc {f3(m('ari_cell'))} ARIk {f3(m('ari_campaign'))}")
    json.dump(rows, open(f"/tmp/sweep_{tag}.json", "w"), indent=1)
