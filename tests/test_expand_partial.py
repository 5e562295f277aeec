"""expand: an address every seed used is one of its cell's several, so the seeds' cluster completes the list."""

from __future__ import annotations

import polars as pl

SCHEMA = {"account_id": pl.String, "kind": pl.String, "value": pl.String, "df": pl.UInt32, "weight": pl.Float64}


def one_cell(kind: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A cell of 12 accounts that Leiden found whole (cluster 1, no link leaving it), over four home addresses.

    ``c0``-``c3`` share the first address (or, with ``kind`` another kind, a value of that kind), the
    others one of three more; every pair of the cell is linked alike (the pool ties them all). 300
    unlinked accounts make the run large enough for a value four accounts hold to be no chance.
    Returns ``links, linking, accounts``.
    """
    cell = [f"c{i:02d}" for i in range(12)]
    pairs = [(a, b) for i, a in enumerate(cell) for b in cell[i + 1:]]
    links = pl.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs],
                          "weight": [2.0] * len(pairs)})
    rows = [(a, kind, "203.0.113.7" if kind == "ip" else "client-x/1.0", 4, 1.5) for a in cell[:4]]
    rows += [(a, "ip", f"198.51.100.{i % 3}", 3 if i < 2 else 2, 1.5) for i, a in enumerate(cell[4:])]
    rows += [(f"other{i:03d}", "ip", f"192.0.2.{i % 250}", 1, 2.0) for i in range(300)]
    linking = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    ids = cell + [f"other{i:03d}" for i in range(300)]
    accounts = pl.DataFrame({"account_id": ids, "cluster_id": [1] * 12 + [None] * 300,
                             "campaign_id": [7] * 12 + [None] * 300},
                            schema={"account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64})
    return links, linking, accounts


def test_partial_evidence_is_an_address_every_seed_used():
    from graphlink.stages.seed_cluster import partial_evidence

    assert partial_evidence(pl.DataFrame({"kind": ["ip_net", "created_hour"], "value": ["10.0.0.0/24", "h"]}))
    assert not partial_evidence(pl.DataFrame({"kind": ["payment", "user_agent"], "value": ["card", "curl"]}))
    assert not partial_evidence(pl.DataFrame(schema={"kind": pl.String, "value": pl.String}))


def test_an_address_every_seed_used_is_completed_from_a_minority_of_their_cluster():
    from graphlink.stages.expand import rank_accounts

    seeds = ["c00", "c01", "c02"]
    links, linking, accounts = one_cell("ip")
    listed = rank_accounts(links, linking, accounts, seeds).filter(pl.col("rank") > 0)
    # The address's holders (4 of 12: a third, under the majority rule) are a part of the cell;
    # the cluster, coherent and one block with them, completes the list.
    assert listed["account_id"].to_list()[0] == "c03"
    assert sorted(listed["account_id"].to_list()) == [f"c{i:02d}" for i in range(3, 12)]
    assert listed["score"].is_sorted(descending=True)
    # A client four accounts share is one fleet's, not a part of a cell: the majority rule stands.
    links, linking, accounts = one_cell("user_agent")
    listed = rank_accounts(links, linking, accounts, seeds).filter(pl.col("rank") > 0)
    assert listed["account_id"].to_list() == ["c03"]
