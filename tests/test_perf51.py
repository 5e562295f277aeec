"""Session 51 (perf51) CPU cuts give the frames their definitions give: values shared in clusters, burst openings."""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.burst_templates import prompt_openings
from graphlink.stages.evidence import shared_in_clusters


def test_shared_in_clusters_is_the_group_by_sorted_by_cluster_and_value():
    rng = np.random.default_rng(51)
    memberships = pl.DataFrame({"account_idx": rng.integers(0, 300, 4000).astype(np.uint32),
                                "signal_idx": rng.integers(0, 900, 4000).astype(np.uint32)}).unique()
    # Clusters numbered out of account order, a third of the accounts in none.
    clusters = pl.DataFrame({"account_idx": np.arange(300, dtype=np.uint32),
                             "cluster_id": [None if a % 3 == 0 else int(7 * (a % 11) + 3) for a in range(300)]},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    wanted = pl.Series("signal_idx", list(range(0, 900, 2)), pl.UInt32)
    for at_least, values in ((2, None), (1, None), (1, wanted)):
        rows = memberships if values is None else memberships.filter(pl.col("signal_idx").is_in(values.implode()))
        expected = (rows.join(clusters.drop_nulls("cluster_id"), on="account_idx")
                    .group_by("cluster_id", "signal_idx").agg(pl.len().cast(pl.UInt32).alias("accounts_sharing"))
                    .filter(pl.col("accounts_sharing") >= at_least).sort("cluster_id", "signal_idx"))
        got = shared_in_clusters(memberships, clusters, at_least, values)
        assert got.height > 100
        assert got.equals(expected)


def test_prompt_openings_are_the_shingles_at_each_opening():
    texts = pl.DataFrame({"text_hash": [1, 2, 3], "norm": ["a b c d e f", "x y z w v u", "a b c d q r"],
                          "start": [None, 2, None]}, schema_overrides={"text_hash": pl.UInt64, "start": pl.UInt32})
    words = texts["norm"].str.split(" ")
    # Every shingle of 2 words; texts 2 read past a shared head of 2 kept words: it opens at 0 and at 3.
    number: dict[tuple[str, str], int] = {}  # a shingle's hash: its words' number
    rows = [(t, p, number.setdefault((w[p], w[p + 1]), len(number)))
            for t, w in zip(texts["text_hash"], words) for p in range(len(w) - 1)]
    shingles = pl.DataFrame(rows, schema={"text_hash": pl.UInt64, "pos": pl.UInt32, "shingle_hash": pl.UInt64},
                            orient="row")
    keys = pl.DataFrame({"key": [10, 11, 20, 30], "text_hash": [1, 1, 2, 3]}, schema={"key": pl.UInt64,
                                                                                     "text_hash": pl.UInt64})
    openings, opening_texts = prompt_openings(shingles, keys, texts, 2, 2)
    at = dict(((t, p), h) for t, p, h in shingles.iter_rows())
    assert openings.rows() == sorted([(10, at[1, 0]), (11, at[1, 0]), (20, at[2, 0]), (20, at[2, 3]), (30, at[3, 0])])
    assert sorted(opening_texts.rows()) == sorted([(at[1, 0], "a b", False), (at[2, 0], "x y", True),
                                                   (at[2, 3], "w v", False)])
