#!/bin/bash
# Session 37's test worlds (BENCHMARKS.md, thirty-seventh pass), generated after the campaign change had been
# measured on dev only and not opened until it was decided; dev worlds as in session35_worlds.sh.
cd "$(dirname "$0")/.."
set -x
python benchmarks/independent_world.py --seed 134 --accounts 11000 --agent-fleets --out /tmp/t37/ind_s134_11000
python benchmarks/independent_world.py --seed 135 --accounts 11000 --out /tmp/t37/ind_s135_11000
python benchmarks/independent_world.py --seed 136 --accounts 11000 --orgs --agent-fleets --out /tmp/t37/orgs_s136_11000
echo DONE
