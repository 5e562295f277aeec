#!/bin/bash
# Session 35's worlds (BENCHMARKS.md, thirty-fifth pass): test worlds first (generated before any design), then dev.
# The second test set: --seed 123 --agent-fleets, --seed 124 --orgs --agent-fleets, --seed 125 (11000 accounts, /tmp/t35b).
cd /work/main
set -x
python benchmarks/independent_world.py --seed 119 --accounts 11000 --agent-fleets --out /tmp/t35/ind_s119_11000
python benchmarks/independent_world.py --seed 121 --accounts 11000 --out /tmp/t35/ind_s121_11000
python benchmarks/independent_world.py --seed 120 --accounts 11000 --orgs --agent-fleets --out /tmp/t35/orgs_s120_11000
for s in 1 2 3; do python benchmarks/independent_world.py --seed $s --accounts 11000 --agent-fleets --out /tmp/agent/ind_s${s}_11000; done
python benchmarks/independent_world.py --seed 1 --accounts 11000 --out /tmp/tl/ind_s1_11000
python benchmarks/independent_world.py --seed 122 --accounts 224000 --agent-fleets --out /tmp/t35big/ind_s122_224000
echo DONE
