"""Campaign simulator: synthetic API logs with rings, teams and benign users.

Public API: :class:`SimulationConfig`, :data:`PRESETS`, :func:`simulate`,
:func:`write_world` and :class:`World`.

Examples
--------
>>> from graphlink.lab.simulate import PRESETS, simulate
>>> world = simulate(PRESETS["small"].replace(n_benign=30, n_ring_accounts=30,
...                                           n_teams=1), seed=3)
>>> world.events.columns
['account_id', 'timestamp', 'ip', 'payment_fingerprint', 'prompt', 'user_agent']
"""

from graphlink.lab.simulate.config import PRESETS, SimulationConfig
from graphlink.lab.simulate.world import World, iter_event_chunks, simulate, write_world

__all__ = ["PRESETS", "SimulationConfig", "World", "simulate", "write_world",
           "iter_event_chunks"]
