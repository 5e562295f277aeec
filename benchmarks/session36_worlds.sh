#!/bin/bash
# Session 36's test worlds (BENCHMARKS.md, thirty-sixth pass); dev worlds as in session35_worlds.sh.
# t36 was generated after the first change had been measured on dev only; t36b before any of it was opened.
cd "$(dirname "$0")/.."
set -x
python benchmarks/independent_world.py --seed 127 --accounts 11000 --agent-fleets --out /tmp/t36/ind_s127_11000
python benchmarks/independent_world.py --seed 128 --accounts 11000 --orgs --agent-fleets --out /tmp/t36/orgs_s128_11000
python benchmarks/independent_world.py --seed 129 --accounts 11000 --out /tmp/t36/ind_s129_11000
python benchmarks/independent_world.py --seed 130 --accounts 11000 --agent-fleets --out /tmp/t36b/ind_s130_11000
python benchmarks/independent_world.py --seed 131 --accounts 11000 --orgs --agent-fleets --out /tmp/t36b/orgs_s131_11000
python benchmarks/independent_world.py --seed 132 --accounts 11000 --out /tmp/t36b/ind_s132_11000
echo DONE
