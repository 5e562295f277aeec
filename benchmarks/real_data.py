#!/usr/bin/env python
"""Real-data check: VKontakte bots of three bot traders, linked by shared friends.

Data: ``DATA/vk-bots`` (see its README.txt; default ``DATA`` is
``../shared/data`` relative to the repository root): ``events.parquet``
(``account_id, friend``) and ``labels.parquet`` (``account_id, kind`` bot |
user, ``trader``).

The script runs ``python -m graphlink detect events.parquet --signal friend``
as a subprocess with default settings (no per-dataset tuning), measures wall
time and peak RSS, and scores the partition the way the project's issues do:

* pairwise precision / recall / F1 of "same cluster" against "same trader"
  over all labelled accounts (users are singletons: two users in one cluster
  are a false pair; unclustered accounts are singletons), and the same of
  "same campaign" (a trader is one operator, whose cells are clusters);
* ARI of clusters against traders over all labelled accounts (users and
  unclustered accounts as singletons) and over bots only;
* precision / recall / F1 of *flagged* accounts against bots.

The shared-identifier baseline (connected components over shared friends,
values shared by more than 20 accounts dropped) is scored beside it.

Examples::

    python benchmarks/real_data.py
    python benchmarks/real_data.py --data /path/to/shared/data -- --resolution 0.5
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generalisation import measure  # noqa: E402


def baseline_only(events: str, out: str) -> None:
    """Subprocess entry: the baseline linking accounts by shared friends."""
    import polars as pl

    from graphlink.lab.baseline import BaselineConfig, baseline_detect

    accounts, clusters = baseline_detect(pl.scan_parquet(events),
                                         BaselineConfig(identifiers=("friend",)))
    Path(out).mkdir(parents=True, exist_ok=True)
    accounts.write_parquet(Path(out) / "accounts.parquet")
    clusters.write_parquet(Path(out) / "clusters.parquet")


def score(out: Path, labels_path: Path) -> dict:
    """Pairwise and ARI scores of a detect output against trader groups."""
    import polars as pl

    from graphlink.lab.evaluate import adjusted_rand_index, evaluate, pair_scores

    raw = pl.read_parquet(labels_path)
    labels = raw.select(
        "account_id",
        pl.when(pl.col("kind") == "bot").then(pl.lit("ring")).otherwise(pl.lit("benign")).alias("kind"),
        pl.col("trader").alias("group_id"),
        pl.col("trader").alias("campaign_id"),
    )
    accounts = pl.read_parquet(out / "accounts.parquet")
    clusters = pl.read_parquet(out / "clusters.parquet")
    flagged = evaluate(accounts, clusters, labels, source=str(labels_path))
    df = labels.join(accounts.select("account_id", pl.col("cluster_id").cast(pl.Int64)),
                     on="account_id", how="left")
    pairs = pair_scores(df, "group_id", "cluster_id")
    camp = {}
    if "campaign_id" in accounts.columns:  # a trader is one operator: a campaign, not a cell (baseline: none)
        by_campaign = labels.select("account_id", "group_id").join(
            accounts.select("account_id", pl.col("campaign_id").cast(pl.Int64)), on="account_id", how="left")
        camp = pair_scores(by_campaign, "group_id", "campaign_id")
    # singletons: users (no trader) and unclustered accounts get their own label
    df = df.with_columns(
        truth=pl.coalesce(pl.col("group_id"), pl.lit("user:") + pl.col("account_id")),
        pred=pl.coalesce(pl.col("cluster_id").cast(pl.String), pl.lit("none:") + pl.col("account_id")),
    )
    return {
        **{k: pairs[k] for k in ("pair_precision", "pair_recall", "pair_f1", "true_pairs",
                                 "predicted_pairs", "correct_pairs")},
        **{f"campaign_{k}": camp.get(k) for k in ("pair_precision", "pair_recall", "pair_f1")},
        "ari_all": adjusted_rand_index(df, "truth", "pred"),
        "ari_bots": flagged["ari_campaign"],
        "flag_precision": flagged["precision"], "flag_recall": flagged["recall"],
        "flag_f1": flagged["f1"], "flagged_users": flagged["benign_flagged"],
        "labelled": df.height, "bots": flagged["ring_accounts"],
        "clusters": int(accounts["cluster_id"].n_unique()),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--baseline-only"]:
        baseline_only(argv[1], argv[2])
        return 0
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                    help="folder holding vk-bots/ (default ../shared/data from the repo root)")
    ap.add_argument("--work", type=Path, default=ROOT / "bench-out" / "real-data")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="results JSON (default WORK/vk-bots.json)")
    ap.add_argument("--timeout", type=float, default=1800.0)
    args = ap.parse_args(argv)
    data = args.data / "vk-bots"
    events, labels = data / "events.parquet", data / "labels.parquet"
    for p in (events, labels):
        if not p.is_file():
            print(f"error: {p}: file not found (use --data)", file=sys.stderr)
            return 2
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    runs = [("graphlink", [sys.executable, "-m", "graphlink", "detect", str(events), "--signal",
                           "friend", "--out", "{out}", "-q", *extra])]
    if not args.no_baseline:
        runs.append(("baseline", [sys.executable, str(Path(__file__).resolve()), "--baseline-only",
                                  str(events), "{out}"]))
    print("| method | pair precision | pair recall | pair F1 | pair F1 by campaign (P / R) | ARI (all, users singletons) | "
          "ARI (bots) | flag precision | flag recall | users flagged | wall s | peak RSS MiB |")
    print("|" + "---|" * 12)
    for name, cmd in runs:
        out = args.work / f"vk-bots-{name}"
        if out.exists():
            shutil.rmtree(out)
        res = measure([c.replace("{out}", str(out)) for c in cmd],
                      args.work / f"vk-bots-{name}-logs", args.timeout)
        res["metrics"] = score(out, labels) if res["rc"] == 0 else None
        results[name] = res
        m = res["metrics"] or {}

        def f(k, d=3):
            v = m.get(k)
            return "-" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))

        print(f"| {name} | {f('pair_precision')} | {f('pair_recall')} | {f('pair_f1')} | "
              f"{f('campaign_pair_f1')} ({f('campaign_pair_precision')} / {f('campaign_pair_recall')}) | "
              f"{f('ari_all')} | {f('ari_bots')} | {f('flag_precision')} | {f('flag_recall')} | "
              f"{f('flagged_users')} | {res['wall_s']:.1f} | {res['peak_rss_mib']} |"
              + ("" if res["rc"] == 0 else f"  FAILED rc={res['rc']}: {res['stderr_tail']}"),
              flush=True)
    (args.json or args.work / "vk-bots.json").write_text(
        json.dumps({"detect_args": extra, "results": results}, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
