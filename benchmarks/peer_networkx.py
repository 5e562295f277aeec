"""Peer comparison: the route a user would take without graphlink.

networkx's bipartite weighted projection of accounts and their identifiers
(exact IP, payment fingerprint, user agent) followed by networkx's Louvain, on
a simulated world of about 100k events, against ``graphlink detect`` on the
same world. Records wall time and peak RSS of each (each runs in its own
process) and prints a Markdown row for BENCHMARKS.md.

Usage: python benchmarks/peer_networkx.py [--events 100000] [--seed 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NX_SCRIPT = r"""
import json, sys, time, resource
import networkx as nx
import polars as pl
from networkx.algorithms import bipartite
events = pl.read_parquet(sys.argv[1])
t0 = time.perf_counter()
edges = set()
for column in ("ip", "payment_fingerprint", "user_agent"):
    pairs = events.select("account_id", column).drop_nulls().unique()
    edges.update((a, (column, v)) for a, v in pairs.iter_rows())
graph = nx.Graph()
accounts = events["account_id"].unique().to_list()
graph.add_nodes_from(accounts, bipartite=0)
graph.add_edges_from(edges)
projected = bipartite.weighted_projected_graph(graph, accounts)
t1 = time.perf_counter()
communities = nx.community.louvain_communities(projected, weight="weight", seed=0)
t2 = time.perf_counter()
print(json.dumps({"projection_s": t1 - t0, "louvain_s": t2 - t1, "total_s": t2 - t0,
                  "edges": projected.number_of_edges(), "communities": len(communities),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def timed(cmd: list[str], timeout: float) -> tuple[float, float, str]:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed: {proc.stderr[-2000:]}")
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return wall, peak, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    from graphlink.lab.simulate import PRESETS, write_world

    small = PRESETS["small"]
    scale = args.events / 75_000  # the small preset writes about 75k events
    config = small.replace(n_benign=int(small.n_benign * scale), n_ring_accounts=int(small.n_ring_accounts * scale))
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        info = write_world(world, config, seed=args.seed)
        nx_runs, gl_runs = [], []
        for _ in range(args.runs):
            wall, peak, out = timed([sys.executable, "-c", NX_SCRIPT, str(world / "events.parquet")], args.timeout)
            nx_runs.append((wall, json.loads(out)))
            gl_wall, gl_peak, _ = timed([sys.executable, "-m", "graphlink", "detect", str(world / "events.parquet"),
                                         "--accounts", str(world / "accounts.parquet"), "--out", str(Path(tmp) / "out"),
                                         "-q"], args.timeout)
            gl_runs.append(gl_wall)
        nx_median = statistics.median(w for w, _ in nx_runs)
        gl_median = statistics.median(gl_runs)
        detail = nx_runs[0][1]
        print(json.dumps({"events": info["n_events"], "accounts": info["n_accounts"],
                          "networkx_median_s": round(nx_median, 2), "graphlink_median_s": round(gl_median, 2),
                          "ratio": round(nx_median / gl_median, 1), "networkx_detail": detail}, indent=2))
        print(f"| {info['n_events']:,} events, {info['n_accounts']:,} accounts | networkx projection + Louvain "
              f"{nx_median:.1f} s (projection {detail['projection_s']:.1f} s, {detail['edges']:,} edges) | "
              f"graphlink detect {gl_median:.1f} s (whole pipeline) | {nx_median / gl_median:.1f}x |")


if __name__ == "__main__":
    main()
