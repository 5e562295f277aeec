#!/usr/bin/env python
"""Real-data check: YelpChi review spam (``DATA/yelpchi-ugfraud``, see its README.txt).

Users are linked only by the products they reviewed (``--signal product``);
there are no group labels, so the script reports what an investigator would
look at: how many users graphlink clusters and flags, and the share of spam
users (at least one Yelp-filtered review) among them against the base rate.
Defaults, no per-dataset settings.

Examples::

    python benchmarks/yelpchi.py
    python benchmarks/yelpchi.py --data /path/to/shared/data
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphlink.config import build_config  # noqa: E402
from graphlink.pipeline import run_detect  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    path = args.data / "yelpchi-ugfraud" / "metadata.gz"
    if not path.is_file():
        print(f"error: {path}: file not found (use --data)", file=sys.stderr)
        return 2
    raw = pl.read_csv(path, separator=" ", has_header=False,
                      new_columns=["user", "product", "rating", "label", "date"],
                      schema_overrides={"user": pl.String, "product": pl.String})
    users = raw.group_by("user").agg((pl.col("label") == -1).any().alias("spam")).rename({"user": "account_id"})
    start = time.perf_counter()
    result = run_detect(raw.select(pl.col("user").alias("account_id"), "product"), None,
                        build_config(signals=["product"]))
    wall = time.perf_counter() - start
    frame = users.join(result.accounts.select("account_id", "cluster_id"), on="account_id").join(
        result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    clustered = frame.filter(pl.col("cluster_id").is_not_null())
    flagged = frame.filter(pl.col("flagged").fill_null(False))
    print("| users | spam share | clustered | spam share among clustered | clusters | flagged users | wall s |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {frame.height:,} | {frame['spam'].mean():.3f} | {clustered.height:,} | "
          f"{(clustered['spam'].mean() or 0.0):.3f} | {result.clusters.height:,} | {flagged.height:,} | {wall:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
