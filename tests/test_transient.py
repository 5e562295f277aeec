"""Transient networks (session 12, issue 17): exits of a rotating network count only beyond chance.

A hand-computed excess, then one small bipartite input through :func:`project` with the setting on and
off: heavy users of one commercial network (three unrelated groups), a cell rotating over its own pool
(must keep its links) and a NAT (must link exactly as before).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphlink.config import GraphConfig
from graphlink.errors import ConfigError
from graphlink.stages.graph import project
from graphlink.stages.linking import WEIGHT_SCALE
from graphlink.stages.transient import excess_pairs, transient_exits

COMMERCIAL = range(0, 30)  # three groups of ten, nothing in common but the network
CELL = range(30, 36)  # one cell on its own pool of /24s
NAT = range(40, 52)  # everyone behind one address, all their traffic on it


def world(seed: int = 7) -> pl.DataFrame:
    """``account_idx, kind, value, count``: exact addresses and their /24s, as the ip signals give them."""
    rng = np.random.default_rng(seed)
    rows = []

    def visit(account: int, ips: list[str]) -> None:
        for ip in ips:
            rows.append((account, "ip", ip, 1))
        nets: dict[str, int] = {}
        for ip in ips:
            net = ip.rsplit(".", 1)[0] + ".0/24"
            nets[net] = nets.get(net, 0) + 1
        rows.extend((account, "ip_net", net, n) for net, n in nets.items())

    commercial = [f"10.{n // 256}.{n % 256}.{h}" for n in range(300) for h in range(1, 11)]  # 3,000 exits
    for a in COMMERCIAL:
        visit(a, [commercial[i] for i in rng.choice(len(commercial), 40, replace=False)])
    pool = [f"20.0.{n}.{h}" for n in range(30) for h in range(1, 3)]  # 60 exits of the cell's own
    for a in CELL:
        visit(a, [pool[i] for i in rng.choice(len(pool), 40, replace=False)])
    for a in NAT:
        rows.append((a, "ip", "30.0.0.1", 50))
        rows.append((a, "ip_net", "30.0.0.0/24", 50))
    return pl.DataFrame(rows, schema=["account_idx", "kind", "value", "count"], orient="row",
                        schema_overrides={"account_idx": pl.UInt32, "count": pl.UInt32})


def edges(config: GraphConfig) -> dict[tuple[int, int], float]:
    e = project(world(), 60, config).edges
    return {(s, t): w for s, t, w in e.iter_rows()}


def within(pairs: dict[tuple[int, int], float], accounts: range) -> dict[tuple[int, int], float]:
    return {k: w for k, w in pairs.items() if k[0] in accounts and k[1] in accounts}


def test_excess_matches_the_configuration_model_by_hand():
    # Accounts 0 and 1 share exits 5 (weight 1) and 6 (weight 0.5); 0 holds 3 exits, 1 holds 4, E = 10:
    # expected 3 * 4 / 10 = 1.2 shared by chance, 2 observed, so 1 - 1.2 / 2 = 0.4 of 1.5 is kept.
    mem = pl.DataFrame({"account_idx": [0, 1, 0, 1, 0, 1, 1], "signal_idx": [5, 5, 6, 6, 7, 8, 9],
                        "weight": [1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0], "damp": [1.0] * 7},
                       schema_overrides={"account_idx": pl.UInt32})
    out = excess_pairs(mem, 10)
    assert out["key"].to_list() == [1]  # (0, 1): 0 * 2**32 + 1
    assert out["weight"][0] / WEIGHT_SCALE == pytest.approx(0.6, abs=1e-6)
    # Sharing fewer exits than min_shared gives nothing; more exits in the network (E) keep more.
    assert excess_pairs(mem, 10, min_shared=3).height == 0
    assert excess_pairs(mem, 1000)["weight"][0] / WEIGHT_SCALE == pytest.approx(1.5 * (1 - 0.012 / 2), abs=1e-6)


def test_only_networks_no_one_lives_on_are_transient():
    pairs = world()
    projection = project(pairs, 60, GraphConfig())
    exits = transient_exits(projection.signals, projection.memberships, 0.05, 32)
    values = projection.signals.join(exits, on="signal_idx", how="semi")["value"].to_list()
    assert values and all(v.startswith(("10.", "20.0.")) for v in values)
    assert "30.0.0.1" not in values  # the NAT carries all of its users' traffic


def test_chance_sharing_stops_linking_unrelated_heavy_users():
    off = within(edges(GraphConfig()), COMMERCIAL)
    on = within(edges(GraphConfig(transient_share=0.05)), COMMERCIAL)
    assert len(off) >= 100  # the problem: 40 random exits of 3,000 each link ~40% of the 435 pairs
    assert len(on) <= len(off) // 3  # pairs sharing two or more by chance keep part of it
    assert set(on) <= set(off)  # no new pair, only fewer


def test_a_cell_on_its_own_pool_keeps_its_links():
    off = within(edges(GraphConfig()), CELL)
    on = within(edges(GraphConfig(transient_share=0.05)), CELL)
    assert len(off) == len(on) == 15  # all pairs of six
    assert all(on[k] >= 0.5 * off[k] for k in off)


def test_nat_users_link_exactly_as_before():
    off = within(edges(GraphConfig()), NAT)
    on = within(edges(GraphConfig(transient_share=0.05)), NAT)
    assert on == off and len(off) == len(NAT) * (len(NAT) - 1) // 2


def test_off_by_default_and_checked():
    assert GraphConfig().transient_share == 0
    with pytest.raises(ConfigError):
        GraphConfig(transient_share=1.5)
    with pytest.raises(ConfigError):
        GraphConfig(transient_min_shared=0)
