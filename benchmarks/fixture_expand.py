#!/usr/bin/env python
"""``expand`` from k random members of each ring of a detect output, 20 draws per ring and k.

Usage::

    graphlink detect fixtures/events.parquet --accounts fixtures/accounts.parquet --out /tmp/fx
    python benchmarks/fixture_expand.py /tmp/fx fixtures/labels.parquet

Prints, per number of seeds (2, 3, 5), the draws whose list holds >= 90 % of the ring's other members at
precision >= 0.9, and the mean and worst recall (issue 15; BENCHMARKS.md, "expand, eleventh pass").
Labels: ``account_id, ring_id`` (null for accounts of no ring). Draws are seeded by ring and k.
"""

import random
import sys

import polars as pl

import graphlink

out, labels = sys.argv[1], sys.argv[2]
rings = pl.read_parquet(labels).drop_nulls("ring_id")
for k in (2, 3, 5):
    ok = n = 0
    recalls = []
    for rid, group in sorted(rings.group_by("ring_id"), key=lambda t: str(t[0])):
        members = sorted(group["account_id"].to_list())
        if len(members) < 5:
            continue
        rnd = random.Random(f"{rid}-{k}")
        for _ in range(20):
            seeds = rnd.sample(members, k)
            got = set(graphlink.expand(out, seeds)["account_id"].to_list()) - set(seeds)
            truth = set(members) - set(seeds)
            recall, precision = len(got & truth) / len(truth), len(got & truth) / max(len(got), 1)
            recalls.append(recall)
            n += 1
            ok += recall >= 0.9 and precision >= 0.9
    print(f"seeds {k}: {ok}/{n} rings found, mean recall {sum(recalls) / len(recalls):.3f}, worst {min(recalls):.2f}")
