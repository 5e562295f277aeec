"""Campaigns tied by private values against chance (:mod:`graphlink.stages.campaign_ties`).

A hand-built log of 2,000 accounts: operator 1 runs cells 1 and 2, operator 2 cells 3 and 4 (ten
accounts each). Each cell pays with five cards of its own (two holders each); each operator moved
two cards between its cells (one holder in each). All four cells go out through one commercial
network whose exits each carry one account of each operator and one VPN user, and all of them send
one public template (five values) that 1,500 ordinary users send too.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.campaign_ties import chance_below, expected_shared, private_ties
from graphlink.stages.campaigns import cluster_campaigns

ACCOUNTS = 2_000
CELLS = {1: range(0, 10), 2: range(10, 20), 3: range(20, 30), 4: range(30, 40)}


def log(moved_kind: str = "payment", placeholder_holders: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``partition, affiliations, signals`` of the module's log; the moved cards are of ``moved_kind``
    and held besides by ``placeholder_holders`` unclustered accounts (a placeholder card number)."""
    rng = np.random.default_rng(7)
    holders: list[tuple[list[int], str]] = []
    for cell in CELLS.values():
        members = list(cell)
        holders += [(members[2 * i:2 * i + 2], "payment") for i in range(5)]
    outsiders = list(range(1_000, 1_000 + placeholder_holders))
    for a, b in ((1, 2), (3, 4)):
        holders += [([CELLS[a][i], CELLS[b][i]] + outsiders, moved_kind) for i in range(2)]
    vpn = 40
    for _ in range(200):
        op1, op2 = int(rng.integers(0, 20)), int(rng.integers(20, 40))
        holders.append(([op1, op2, vpn], "ip"))
        vpn += 1
    template_users = list(range(40)) + list(range(300, 1_800))
    holders += [(template_users, "prompt") for _ in range(5)]
    aff = pl.DataFrame({"account_idx": [a for accts, _ in holders for a in accts],
                        "signal_idx": [s for s, (accts, _) in enumerate(holders) for _ in accts]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    df = [len(accts) for accts, _ in holders]
    sig = pl.DataFrame({"signal_idx": list(range(len(holders))), "kind": [k for _, k in holders], "df": df,
                        "weight": [1.0 / np.sqrt(d) for d in df], "linked": [True] * len(holders)},
                       schema_overrides={"signal_idx": pl.UInt32})
    cluster = [next((c for c, r in CELLS.items() if a in r), None) for a in range(ACCOUNTS)]
    part = pl.DataFrame({"account_idx": list(range(ACCOUNTS)), "cluster_id": cluster},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    return part, aff, sig


def campaigns(**kwargs) -> dict[int, int]:
    part, aff, sig = log(**kwargs)
    return dict(cluster_campaigns(part, aff, sig, GraphConfig()).iter_rows())


def test_one_operators_cells_tied_by_moved_cards_are_one_campaign_and_operators_on_one_network_stay_two():
    camp = campaigns()
    assert camp[1] == camp[2]
    assert camp[3] == camp[4]
    # The shared network's exits and the public template do not tie the operators.
    assert camp[1] != camp[3]


def test_the_same_values_as_addresses_do_not_tie_cells():
    # Two moved addresses are no private tie (a shared network's exits are as rare pair by pair),
    # and the profile cosine of a cell's many values stays under the resolution.
    camp = campaigns(moved_kind="ip")
    assert len({camp[c] for c in CELLS}) == 4


def test_a_card_number_held_across_the_log_is_what_chance_gives():
    # The moved cards are also held by 1,500 unclustered accounts (a placeholder number).
    camp = campaigns(placeholder_holders=1_500)
    assert camp[1] != camp[2] and camp[3] != camp[4]


def test_private_tie_weights_fall_with_what_chance_gives():
    part, aff, sig = log()
    clustered = part.drop_nulls("cluster_id")
    node_of = clustered.select("account_idx", pl.col("cluster_id").cast(pl.UInt32).alias("node"), pl.lit(10).alias("size"))
    few = private_ties(node_of, aff, sig, ["payment"], ACCOUNTS)
    assert sorted(few.select("source", "target").rows()) == [(1, 2), (3, 4)]
    assert few["weight"].min() > 0.9
    # In a log of 40 accounts the same two shared cards are far likelier by chance.
    assert private_ties(node_of, aff, sig, ["payment"], 40)["weight"].max() < few["weight"].min()
    # No private kind: no tie.
    assert private_ties(node_of, aff, sig, ["device_id"], ACCOUNTS).is_empty()


def test_chance_below_rises_with_shared_values_and_falls_with_the_expected():
    expected = np.array([0.5, 0.5, 0.5, 3.0])
    w = chance_below(np.array([1, 2, 4, 4]), expected)
    assert w[0] < w[1] < w[2]
    assert w[3] < w[2]
    assert chance_below(np.array([0]), np.array([0.0]))[0] == 0.0
    assert np.all((w >= 0) & (w <= 1))


def test_expected_shared_against_a_direct_sum():
    # Oracle: direct sums over each cluster's values -- share x out where it is under 1, a count where not.
    rng = np.random.default_rng(5)
    nodes = rng.integers(0, 7, 300)
    out = rng.integers(0, 2_000, 300)
    outside = pl.DataFrame({"node": nodes, "out": out}).sort("node", "out")
    query = rng.integers(0, 8, 50)  # node 7 holds nothing: 0 and 0
    share = rng.uniform(1e-5, 0.2, 50)
    rare, common = expected_shared(outside, query, share)
    assert np.allclose(rare, [sum(s * o for n, o in zip(nodes, out) if n == q and s * o < 1) for q, s in zip(query, share)])
    assert common.tolist() == [sum(1 for n, o in zip(nodes, out) if n == q and s * o >= 1) for q, s in zip(query, share)]
