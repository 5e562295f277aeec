"""expand: the seeds' registration batch (issue 15, ninth pass).

A cell registered in a burst of consecutive hours that stand out from the run's typical hour: seeds of
it share the whole burst, not only the hours they fell in; the evidence also ends where it falls out of
the seeds' cluster measured from the seeds' best evidence.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

SCHEMA = {"account_id": pl.String, "kind": pl.String, "value": pl.String, "df": pl.UInt32, "weight": pl.Float64}
ACCOUNTS = {"account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64}


def hour(h: int) -> str:
    return f"2025-01-01T{h:02d}:00:00Z" if h < 24 else f"2025-01-02T{h - 24:02d}:00:00Z"


def batch_world(per_hour: int = 12, background: int = 1) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Cell ``z`` (48 accounts) registered ``per_hour`` an hour over 02:00-05:00 (``z00``-``z11`` at 02:00 ...),
    merged by Leiden (cluster 1) with cell ``y`` (48 accounts registered on another day): one clique on a
    shared pool, so links cannot tell them apart. 3,000 ordinary accounts are registered ``background``
    an hour around the clock on other days (the run's typical hour). Returns ``links, linking, accounts``.
    """
    cell_z = [f"z{i:02d}" for i in range(4 * per_hour)]
    cell_y = [f"y{i:02d}" for i in range(48)]
    block = cell_z + cell_y
    pairs = [(a, b) for i, a in enumerate(block) for b in block[i + 1:]]
    links = pl.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs],
                          "weight": [1.0] * len(pairs)})
    rows = [(a, "created_hour", hour(2 + i // per_hour), per_hour, 0.1) for i, a in enumerate(cell_z)]
    rows += [(a, "created_hour", f"2025-02-01T{i // 12:02d}:00:00Z", 12, 0.1) for i, a in enumerate(cell_y)]
    others = [f"other{i:04d}" for i in range(3000)]
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    rows += [(a, "created_hour", (start + timedelta(hours=i // background)).strftime("%Y-%m-%dT%H:00:00Z"),
              background, 0.3) for i, a in enumerate(others)]
    linking = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    accounts = pl.DataFrame({"account_id": block + others, "cluster_id": [1] * len(block) + [None] * len(others),
                             "campaign_id": [7] * len(block) + [None] * len(others)}, schema=ACCOUNTS)
    return links, linking, accounts


def test_seeds_of_one_hour_share_the_whole_registration_batch():
    """Three seeds registered at 02:00: their span was that hour alone (nothing to widen) and the list ended
    with its 12 accounts. The hours 02:00-05:00 each hold 12 registrations where the run's typical hour holds
    one: one batch, all of it the seeds'. The merged sibling (registered on another day) is not listed."""
    from graphlink.stages.expand import consensus_values, rank_accounts

    seeds = ["z00", "z01", "z02"]
    links, linking, accounts = batch_world()
    shared = consensus_values(linking, seeds, accounts.height)
    assert shared["value"].to_list() == [hour(h) for h in (2, 3, 4, 5)]
    listed = rank_accounts(links, linking, accounts, seeds).filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"]) == [f"z{i:02d}" for i in range(3, 48)]


def test_hours_as_busy_as_the_run_are_no_batch():
    """The same cell where every hour of the run holds as many registrations: the seeds' hours do not stand
    out, so the seeds share their hour only (and the list ends with it)."""
    from graphlink.stages.expand import consensus_values, rank_accounts

    seeds = ["z00", "z01", "z02"]
    links, linking, accounts = batch_world(background=12)
    assert consensus_values(linking, seeds, accounts.height)["value"].to_list() == [hour(2)]
    listed = rank_accounts(links, linking, accounts, seeds).filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"]) == [f"z{i:02d}" for i in range(3, 12)]


def test_the_fall_out_of_the_seeds_cluster_is_measured_from_their_best_evidence():
    """The cell's accounts hold the seeds' evidence 1.0 (one member only 0.45, half of it); outside the seeds'
    cluster the sibling cell holds 0.4. The step from 0.45 to 0.4 is no halving, but 0.4 is under half the
    seeds' best evidence: past the cell, the operator's value, so the list ends before the sibling."""
    from graphlink.stages.expand import sweep_cut

    ids = [f"s{i}" for i in range(3)] + [f"c{i}" for i in range(5)] + ["c5"] + [f"y{i}" for i in range(6)]
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]  # one clique: no conductance minimum
    links = pl.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs], "weight": 1.0})
    order = pl.DataFrame({"account_id": ids, "degree": [float(len(ids) - 1)] * len(ids),
                          "evidence": [0.0] * 3 + [1.0] * 5 + [0.45] + [0.4] * 6,
                          "rate": [0.1] * len(ids), "specific": [9] * 9 + [20] * 6,
                          "outside": [False] * 9 + [True] * 6})
    assert sweep_cut(order, links, min_size=3) == 9
    # Inside the seeds' cluster the same evidence is the cell's: the list runs on to the evidence's end.
    assert sweep_cut(order.with_columns(pl.lit(False).alias("outside")), links, min_size=3) == len(ids)


def batch_in_a_block() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Cell ``z`` (12 accounts, registered at 02:00, where the run's typical hour holds one sign-up) inside a
    block Leiden merged (cluster 1) with sibling cell ``y`` (12, registered a week later, at 12 an hour too).
    One clique on a shared pool. ``z00``-``z08`` pay with card ``k``; ``z09``-``z11`` with cards of their own;
    cell ``y`` and the seeds run the operator's client ``op/1`` (24 accounts), ``z09``-``z11`` run it too.
    3,000 ordinary accounts registered one an hour fill the run. Returns ``links, linking, accounts``.
    """
    cell_z, cell_y = [f"z{i:02d}" for i in range(12)], [f"y{i:02d}" for i in range(12)]
    block = cell_z + cell_y
    pairs = [(a, b) for i, a in enumerate(block) for b in block[i + 1:]]
    links = pl.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs],
                          "weight": [1.0] * len(pairs)})
    rows = [(a, "created_hour", hour(2), 12, 0.1) for a in cell_z]
    rows += [(a, "created_hour", "2025-01-08T02:00:00Z", 12, 0.1) for a in cell_y]
    rows += [(a, "payment", "k", 9, 2.0) for a in cell_z[:9]]
    rows += [(a, "payment", f"own-{a}", 1, 3.0) for a in cell_z[9:]]
    rows += [(a, "user_agent", "op/1", 24, 0.05) for a in block]
    others = [f"other{i:04d}" for i in range(3000)]
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    rows += [(a, "created_hour", (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:00:00Z"), 1, 0.3)
             for i, a in enumerate(others)]
    linking = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    accounts = pl.DataFrame({"account_id": block + others, "cluster_id": [1] * 24 + [None] * 3000,
                             "campaign_id": [7] * 24 + [None] * 3000}, schema=ACCOUNTS)
    return links, linking, accounts


def test_the_seeds_cluster_members_of_their_batch_join_the_list():
    """A list cut at the seeds' card holders (``z03``, in a minority of the merged block, which the cluster
    does not complete): the cell's other members were registered in the seeds' batch and the block's other
    cell was not, so ``z09`` joins and ``y00`` does not; unclustered accounts never join."""
    from graphlink.stages.seed_batch import fill_batch

    seeds = ["z00", "z01", "z02"]
    _, linking, accounts = batch_in_a_block()
    order = pl.DataFrame({"account_id": seeds + ["z03", "y00", "z09", "other0001"]})
    shared = pl.DataFrame({"kind": ["created_hour"], "value": [hour(2)]})
    out, keep = fill_batch(order, 4, accounts, linking, shared, seeds)
    assert (out["account_id"].to_list()[:keep], keep) == (seeds + ["z03", "z09"], 5)
    # Seeds in two clusters have no cluster of their own: nothing joins.
    split = accounts.with_columns(pl.when(pl.col("account_id") == "z02").then(2).otherwise(pl.col("cluster_id"))
                                  .alias("cluster_id"))
    assert fill_batch(order, 4, split, linking, shared, seeds) == (order, 4)


def test_listed_accounts_registered_far_from_the_seeds_batch_leave():
    """Seeds that hold no card share the batch and the operator's client: the walk and the client list the
    whole block. The sibling cell was registered a week after the seeds' batch: it leaves. Where the run's
    hours are as busy as the batch there is no batch, and nothing leaves; an account on a seed's card is
    never judged."""
    from graphlink.stages.expand import rank_accounts
    from graphlink.stages.seed_batch import hold_to_batch, seed_batch

    seeds = ["z09", "z10", "z11"]
    links, linking, accounts = batch_in_a_block()
    listed = rank_accounts(links, linking, accounts, seeds).filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"]) == [f"z{i:02d}" for i in range(9)]
    shared = pl.DataFrame({"kind": ["created_hour"], "value": [hour(2)]})
    assert seed_batch(linking, shared).rows() == [("created_hour", hour(2))]
    order = pl.DataFrame({"account_id": seeds + ["z00", "y00", "y01", "z01", "other0001"]})
    out, keep = hold_to_batch(order, 7, linking, shared, seeds)
    assert (out["account_id"].to_list()[:keep], keep) == (seeds + ["z00", "z01"], 5)
    # y01 pays with a seed's card: it stays whatever its registration.
    carded = pl.concat([linking, pl.DataFrame([("y01", "payment", "own-z09", 2, 3.0)], schema=SCHEMA, orient="row")])
    out, keep = hold_to_batch(order, 7, carded, shared, seeds)
    assert out["account_id"].to_list()[:keep] == seeds + ["z00", "y01", "z01"]
    # Every hour of the run as busy as the seeds': no batch, no veto.
    busy = linking.with_columns(pl.when(pl.col("kind") == "created_hour").then(pl.lit(12, pl.UInt32))
                                .otherwise(pl.col("df")).alias("df"))
    assert seed_batch(busy, shared) is None
    assert hold_to_batch(order, 7, busy, shared, seeds) == (order, 7)
