"""Batch members' shared values counted again only where members moved (session 55, memb55).

After :func:`graphlink.stages.batch_cells.member_moves` the pipeline needs the values shared in each cluster of the new
partition. :func:`graphlink.stages.batch_judgement.carry_shared` keeps the rows of every cluster the moves left alone
and counts again only the clusters that took or gave members (a second count over every clustered membership, ~0.3 GB
more at 224,000 accounts). The oracle: the same count and cut made from scratch on the new partition.
Hand-built frames: prompt shingles that chain into templates, cards, a cluster renumbered without changing, one that
took, one that gave and one whose remnant dissolves.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.batch_cells import moved_partition
from graphlink.stages.batch_judgement import carry_shared, cluster_origins
from graphlink.stages.communities import renumber
from graphlink.stages.evidence import shared_in_clusters, top_per_kind

# values: 0-5 prompt shingles of two templates (0-2 chain, 3-5 chain), 6-9 cards, 10 a common address (weight 0)
WORDS = ["we sell the best shoes", "sell the best shoes online", "the best shoes online today",
         "please rate my hotel stay", "rate my hotel stay honestly", "my hotel stay honestly now"]
SIGNALS = pl.DataFrame({
    "signal_idx": list(range(11)),
    "kind": ["prompt"] * 6 + ["payment"] * 4 + ["ip"],
    "value": WORDS + ["card-a", "card-b", "card-c", "card-d", "10.0.0.1"],
    "df": [6, 6, 5, 5, 5, 4, 4, 4, 3, 3, 90],
    "weight": [1.0, 0.9, 0.8, 1.0, 0.7, 0.7, 2.0, 1.5, 1.5, 1.2, 0.0],
}, schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})

# accounts 0-3: a batch (cluster 5); 4-8: a long-lived cluster (9) holding two batch accounts (6, 7);
# 9-11: a cluster (2) that gives one (10) and dissolves under the minimum size of 3; 12-14 and 15-17: clusters (7, 3)
# the moves leave alone (renumbered all the same)
BEFORE = pl.DataFrame({"account_idx": list(range(18)), "cluster_id": [5] * 4 + [9] * 5 + [2] * 3 + [7] * 3 + [3] * 3},
                      schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
MOVES = pl.DataFrame({"account_idx": [6, 7, 10], "to": [5, 5, 5]}, schema={"account_idx": pl.UInt32, "to": pl.Int64})
HOLDS = {0: [0, 1, 2, 6, 10], 1: [0, 1, 2, 6], 2: [0, 1, 7], 3: [1, 2, 7, 10],
         4: [3, 4, 8], 5: [3, 4, 5, 8], 6: [0, 1, 2, 8], 7: [0, 1, 6, 8], 8: [3, 5, 9, 10],
         9: [9, 10], 10: [0, 1, 2, 9, 3], 11: [9, 3],
         12: [3, 4, 5, 9], 13: [3, 4, 5, 9, 10], 14: [4, 5, 10],
         15: [6, 7, 0, 1], 16: [6, 7, 1, 2], 17: [6, 0, 2]}
MEMBERSHIPS = pl.DataFrame([(a, s) for a, vs in HOLDS.items() for s in vs], schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32},
                           orient="row")


def _cut(shared: pl.DataFrame) -> pl.DataFrame:
    return top_per_kind(shared, 2, SIGNALS)


def _moved(min_size: int = 3):
    after = renumber(moved_partition(BEFORE, MOVES), min_size)
    return after, cluster_origins(BEFORE, after, MOVES)


def _templates_as_groups(frame: pl.DataFrame) -> list:
    """Each cluster's prompt values grouped by template: the numbers themselves are arbitrary."""
    prompts = frame.filter(pl.col("template").is_not_null())
    return sorted(prompts.group_by("cluster_id", "template").agg(pl.col("signal_idx").sort()).select("cluster_id", "signal_idx").rows())


def test_carried_values_equal_a_count_from_scratch_on_the_moved_partition():
    after, origins = _moved()
    assert origins.filter((pl.col("took") > 0) | (pl.col("gave") > 0)).height == 2  # the batch took, cluster 9 gave
    assert after.filter(pl.col("account_idx") == 9)["cluster_id"][0] is None         # cluster 2's remnant dissolved
    carried = carry_shared(_cut(shared_in_clusters(MEMBERSHIPS, BEFORE)), origins, MEMBERSHIPS, after, _cut)
    oracle = _cut(shared_in_clusters(MEMBERSHIPS, after))
    assert carried.drop("template").equals(oracle.drop("template"))  # same rows, same order
    assert _templates_as_groups(carried) == _templates_as_groups(oracle)
    assert set(carried["cluster_id"]) == set(after["cluster_id"].drop_nulls())


def test_without_a_cut_the_raw_counts_equal_a_count_from_scratch():
    after, origins = _moved()
    carried = carry_shared(shared_in_clusters(MEMBERSHIPS, BEFORE), origins, MEMBERSHIPS, after)
    assert carried.equals(shared_in_clusters(MEMBERSHIPS, after))


def test_only_the_changed_clusters_are_counted_again_and_the_others_keep_their_rows():
    after, origins = _moved()
    seen = []

    def cut(shared: pl.DataFrame) -> pl.DataFrame:
        seen.append(sorted(set(shared["cluster_id"])))
        return _cut(shared)

    before = _cut(shared_in_clusters(MEMBERSHIPS, BEFORE))
    # a row no count would make, in a cluster the moves left alone: carried as it is, not counted again
    marker = before.filter(pl.col("cluster_id") == 7).head(1).with_columns(pl.lit(99, pl.UInt32).alias("accounts_sharing"))
    carried = carry_shared(pl.concat([before, marker]).sort("cluster_id", maintain_order=True), origins, MEMBERSHIPS, after, cut)
    changed = sorted(origins.filter((pl.col("took") > 0) | (pl.col("gave") > 0))["cluster_id"])
    assert seen == [changed]
    now = origins.filter(pl.col("was") == 7)["cluster_id"][0]
    assert carried.filter((pl.col("cluster_id") == now) & (pl.col("accounts_sharing") == 99)).height == 1


def test_with_no_cluster_changed_the_rows_are_the_old_ones_under_the_new_ids():
    after = renumber(BEFORE.with_columns(pl.col("cluster_id") * 10), 3)
    origins = cluster_origins(BEFORE.with_columns(pl.col("cluster_id") * 10), after, MOVES.clear())
    before = _cut(shared_in_clusters(MEMBERSHIPS, BEFORE.with_columns(pl.col("cluster_id") * 10)))
    calls = []
    carried = carry_shared(before, origins, MEMBERSHIPS, after, lambda s: calls.append(1) or _cut(s))
    assert not calls
    assert carried.drop("template").equals(_cut(shared_in_clusters(MEMBERSHIPS, after)).drop("template"))
