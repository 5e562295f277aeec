"""An operator's cells split over its template family are one campaign (:mod:`graphlink.stages.campaign_neighbours`).

Issue 17 (ARI by operator): an operator does not give every cell every template; one cell sends
template X, another Y, most send both, and each cell's profile also holds its members' own fill-ins.
Two cells of one operator may share nothing directly while both are tied to the same cells, and CPM
(mean pairwise similarity) cut the operator along its templates (dev independent a1: operator 2 over
51 campaigns). Ties through shared neighbours group them; another operator's cells, tied to none of
them, stay apart, and two cells whose clients disagree get no tie through their neighbours.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_neighbours import MIN_NEIGHBOUR_SIZE, neighbour_groups, neighbour_ties, with_neighbour_ties
from graphlink.stages.campaigns import cluster_campaigns

CELL = 5
SHINGLES = 10  # shingles per template
OWN = 6  # each cell's own fill-in values, held by all of its members


def world(cells: list[list[str]], clients: list[str | None] | None = None,
          cards: list[int | list[int] | None] | None = None):
    """Cells of ``CELL`` accounts; ``cells[c]``: the templates (names) cell ``c`` sends; ``clients[c]``: one user
    agent sent by every member (None: none); ``cards[c]``: a card one member of cell ``c`` pays with (one
    holder per cell: no card tie between two cells, :data:`graphlink.stages.campaign_ties.MIN_SIDE_HOLDERS`),
    or a list: member ``i`` pays with the ``i``-th. Each cell also holds ``OWN`` values of its own."""
    names = sorted({t for ts in cells for t in ts})
    rows, part = [], []
    for c, templates in enumerate(cells):
        for i in range(CELL):
            a = c * CELL + i
            part.append((a, c + 1))
            rows += [(a, 10_000 + names.index(t) * SHINGLES + s) for t in templates for s in range(SHINGLES)]
            rows += [(a, 20_000 + c * OWN + s) for s in range(OWN)]
            if clients and clients[c]:
                rows.append((a, 30_000 + sorted({u for u in clients if u}).index(clients[c])))
            paid = [] if not cards or cards[c] is None else cards[c] if isinstance(cards[c], list) else [cards[c]]
            if i < len(paid):
                rows.append((a, 40_000 + paid[i]))
    part = pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    kind = (pl.when(pl.col("signal_idx") < 30_000).then(pl.lit("prompt"))
            .when(pl.col("signal_idx") < 40_000).then(pl.lit("user_agent")).otherwise(pl.lit("payment")))
    sig = aff.group_by("signal_idx").len().select(
        "signal_idx", kind.alias("kind"), pl.col("len").cast(pl.UInt32).alias("df"),
        (0.3 * (2 / pl.col("len")) ** 0.5).alias("weight"), pl.lit(True).alias("linked"))
    return part, aff, sig


def campaigns(cells, clients=None, on: bool = True, cards=None) -> list[int]:
    part, aff, sig = world(cells, clients, cards)
    return cluster_campaigns(part, aff, sig, GraphConfig(), CommunityConfig(campaign_neighbours=on),
                             n_accounts=11_000).sort("cluster_id")["campaign_id"].to_list()


#: Operator 1's cards (two payers in each X-only or Y-only cell, one in each X+Y cell): the two payers of
#: cell ``o`` (0-3) pay with cards ``2o`` and ``2o + 1``, the payer of X+Y cell ``k`` with card ``k mod 8`` --
#: no two cells share two payers (no card tie), and each X-only or Y-only cell vouches for the X+Y cells
#: (:data:`graphlink.stages.campaign_neighbours.MIN_VOUCHERS`).
SPREAD = [[2 * o, 2 * o + 1] for o in range(4)] + [[k % 8] for k in range(12)]


def test_an_operators_cells_on_different_templates_of_its_family_are_one_campaign():
    # Operator 1: two cells on X only, two on Y only, twelve on X and Y. Operator 2: three cells on Z.
    # Operator 1's payers spread its cards over its cells (SPREAD); operator 2 pays with its own cards.
    cells = [["X"], ["X"], ["Y"], ["Y"]] + [["X", "Y"]] * 12 + [["Z"]] * 3
    cards = SPREAD + [[20, 21]] * 3
    labels = campaigns(cells, cards=cards)
    assert len(set(labels[:16])) == 1, labels  # main: the X-only and Y-only cells apart from the rest
    assert set(labels[16:]).isdisjoint(labels[:16])
    assert len(set(campaigns(cells, on=False, cards=cards)[:16])) > 1  # off: grouped as before


def test_operators_sharing_only_a_template_family_are_not_joined_through_neighbours():
    # The X-only and Y-only cells pay with cards no X+Y cell holds: their template family is all they share
    # with the X+Y cells (a family sold to several operators); each stays its own campaign.
    cells = [["X"], ["X"], ["Y"], ["Y"]] + [["X", "Y"]] * 8
    labels = campaigns(cells, cards=[10, 11, 12, 13] + [0] * 8)
    assert len(set(labels[4:])) == 1 and set(labels[:4]).isdisjoint(labels[4:]), labels


def test_cells_with_no_common_template_and_no_common_neighbour_stay_apart():
    labels = campaigns([["X"], ["X"], ["Y"], ["Y"]])
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]


def test_no_tie_through_neighbours_between_cells_whose_clients_disagree():
    # The X-only cell runs toolA, the Y-only cell toolB: their tie through the X+Y cells is vetoed;
    # the same cells sending no client are tied through them.
    cells = [["X"], ["Y"]] + [["X", "Y"]] * 8
    part, aff, sig = world(cells, ["toolA/1", "toolB/2"] + [None] * 8)
    node_of = part.with_columns(pl.col("cluster_id").sub(1).cast(pl.UInt32).alias("node"), pl.lit(CELL).alias("size"))
    edges = pl.DataFrame({"source": [0] * 8 + [1] * 8, "target": list(range(2, 10)) * 2, "weight": [0.6] * 16},
                         schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    tied = with_neighbour_ties(edges, node_of.select("account_idx", "node", "size"), aff, sig, 10)
    assert tied.filter((pl.col("source") == 0) & (pl.col("target") == 1)).is_empty()
    untied = with_neighbour_ties(edges, node_of.select("account_idx", "node", "size"),
                                 aff.filter(pl.col("signal_idx") < 30_000), sig, 10)
    assert untied.filter((pl.col("source") == 0) & (pl.col("target") == 1))["weight"].item() > 0.5


def test_neighbour_tie_needs_several_strong_common_neighbours():
    def tie(k: int, w: float) -> float:
        e = pl.DataFrame({"source": [0] * k + [1] * k, "target": list(range(2, 2 + k)) * 2, "weight": [w] * (2 * k)})
        return neighbour_ties(e, 2 + k).filter((pl.col("source") == 0) & (pl.col("target") == 1))["weight"].item()

    assert round(tie(1, 0.5), 3) == 0.2 and round(tie(5, 0.5), 3) == 0.556
    faint = pl.DataFrame({"source": [0] * 3 + [1] * 3, "target": [2, 3, 4] * 2, "weight": [0.05] * 6})
    assert neighbour_ties(faint, 5).is_empty()  # a few faint common ties (a stock phrase) count for nothing
    # Floored: ties below NEIGHBOUR_FLOOR are no neighbours.
    e = pl.DataFrame({"source": [0, 1], "target": [2, 2], "weight": [0.04, 0.04]})
    assert neighbour_ties(e, 3).is_empty()


def test_a_cluster_too_small_to_speak_for_itself_gets_no_tie_through_neighbours():
    # Nodes 0 and 1 tied only through 2-9; node 1 has 4 members: no tie (it keeps its direct ones).
    cells = [["X"], ["Y"]] + [["X", "Y"]] * 8
    part, aff, sig = world(cells)
    sizes = [CELL, MIN_NEIGHBOUR_SIZE - 1] + [CELL] * 8
    node_of = part.select("account_idx", pl.col("cluster_id").sub(1).cast(pl.UInt32).alias("node")).with_columns(
        pl.col("node").map_elements(lambda v: sizes[v], return_dtype=pl.Int64).alias("size"))
    edges = pl.DataFrame({"source": [0] * 8 + [1] * 8, "target": list(range(2, 10)) * 2, "weight": [0.6] * 16},
                         schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    tied = with_neighbour_ties(edges, node_of, aff, sig, 10)
    assert tied.filter((pl.col("source") == 0) & (pl.col("target") == 1)).is_empty()
    assert tied.filter(pl.col("source") == 1).height == 8  # its direct ties stay


def test_a_direct_group_of_small_clusters_keeps_its_grouping():
    # Nodes 0-7 of 5 members tied 0.6 to 8 and 9 (8 and 9 share nothing directly: tied through them);
    # nodes 10 and 11 (3 members each) are a direct group of their own: whatever the regrouping, it stays.
    sizes = [CELL] * 10 + [3, 3]
    node_of = pl.DataFrame({"account_idx": list(range(12)), "node": list(range(12)), "size": sizes},
                           schema={"account_idx": pl.UInt32, "node": pl.UInt32, "size": pl.Int64})
    src = [i for i in range(8) for _ in (8, 9)] + [10]
    tgt = [j for _ in range(8) for j in (8, 9)] + [11]
    edges = pl.DataFrame({"source": src, "target": tgt, "weight": [0.6] * 16 + [0.9]},
                         schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    empty_aff = pl.DataFrame(schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    empty_sig = pl.DataFrame(schema={"signal_idx": pl.UInt32, "kind": pl.String, "linked": pl.Boolean})
    base = [0] * 10 + [1, 1]
    labels = neighbour_groups(np.array(base), edges, node_of, empty_aff, empty_sig, CommunityConfig())
    assert labels[10] == labels[11] and labels[10] not in set(labels[:10])
    assert len(set(labels[:10])) == 1
