"""Session 53 (perf53) CPU cuts give the frames their definitions give: each value's cycle order, the signal hash."""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.linking import cycle_order, cycle_sorted
from graphlink.stages.portable import SIGNAL_SEED, kind_code, signal_hash, xxhash64, xxhash64_arrays, xxhash64_continued


def _memberships(rng: np.random.Generator, n: int, signals: np.ndarray, accounts: int) -> pl.DataFrame:
    """``signal_idx, account_idx, w``: distinct (value, account) rows sorted by value, with a payload column."""
    frame = pl.DataFrame({"signal_idx": rng.choice(signals, n).astype(np.uint32),
                          "account_idx": rng.integers(0, accounts, n).astype(np.uint32)}).unique()
    return frame.sort("signal_idx").with_columns(pl.Series("w", rng.random(frame.height)))


def test_cycle_sorted_is_the_sort_by_value_cycle_order_and_account():
    rng = np.random.default_rng(53)
    frame = _memberships(rng, 20_000, np.arange(0, 3_000, 7), 5_000)
    for seed, generator in ((0, 1), (0, 2), (11, 5)):
        got = cycle_sorted(frame, seed, generator)
        assert got.equals(frame.sort("signal_idx", cycle_order(seed, generator), "account_idx"))
        # The sort is by the cycle order, not by account: most values' accounts come out of account order.
        runs = got.group_by("signal_idx", maintain_order=True).agg(pl.col("account_idx").is_sorted().alias("s"))
        assert runs["s"].mean() < 0.5


def test_cycle_sorted_holds_when_order_keys_agree_in_their_top_bits():
    # One value of 120,000 accounts and a value numbered near 2**31: the packed key keeps 32 bits of each
    # account's order, so about two pairs of accounts agree there (birthday bound) -- the rows still come out
    # in the three-column order.
    rng = np.random.default_rng(530)
    big = pl.DataFrame({"signal_idx": np.zeros(120_000, dtype=np.uint32),
                        "account_idx": rng.permutation(200_000)[:120_000].astype(np.uint32)})
    frame = pl.concat([big, pl.DataFrame({"signal_idx": [2**31 - 1], "account_idx": [3]},
                                         schema=big.schema)]).with_columns(pl.Series("w", rng.random(120_001)))
    for generator in (1, 2):
        assert cycle_sorted(frame, 4, generator).equals(frame.sort("signal_idx", cycle_order(4, generator),
                                                                   "account_idx"))


def test_cycle_sorted_of_tiny_and_empty_frames():
    schema = {"signal_idx": pl.UInt32, "account_idx": pl.UInt32}
    empty = pl.DataFrame(schema=schema)
    assert cycle_sorted(empty, 0, 1).equals(empty)
    one = pl.DataFrame({"signal_idx": [4], "account_idx": [9]}, schema=schema)
    assert cycle_sorted(one, 0, 1).equals(one)


def test_signal_hash_is_the_chained_hash_of_seed_kind_code_and_value():
    rng = np.random.default_rng(5353)
    kinds = ["ip", "ip_net", "payment", "prompt"]
    n = 3_000
    frame = pl.DataFrame({"kind": rng.choice(kinds[:3], n),  # one listed kind absent from the rows
                          "value_key": rng.integers(0, 2**63, n, dtype=np.uint64) * 2 + rng.integers(0, 2, n).astype(np.uint64)})
    code = pl.col("kind").replace_strict({k: kind_code(k) for k in kinds}, return_dtype=pl.Int64)
    expected = frame.select(xxhash64(SIGNAL_SEED, code, pl.col("value_key")).alias("h"))["h"]
    for kind in (pl.String, pl.Enum(kinds)):
        got = frame.with_columns(pl.col("kind").cast(kind)).select(signal_hash(kinds).alias("h"))["h"]
        assert got.dtype == pl.UInt64 and got.equals(expected)
    assert expected.n_unique() == n


def test_xxhash64_continued_chains_as_one_hash():
    rng = np.random.default_rng(1)
    a, b, c = (rng.integers(-2**63, 2**63 - 1, 2_000_000, dtype=np.int64) for _ in range(3))  # (threaded length)
    assert np.array_equal(xxhash64_continued(xxhash64_arrays(7, a), b, c), xxhash64_arrays(7, a, b, c))
    assert len(xxhash64_continued(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))) == 0


def test_copied_head_is_the_visible_head_of_each_present_row():
    from graphlink.stages.signals.normalise import copied_head, visible_head
    rng = np.random.default_rng(7)
    pieces = ["Think step by step", "\u200b" * 400, " " * 300, "e\u0301" * 50, "word " * 120, "{\n  \"a\": 1}" * 60, ""]
    prompts = ["".join(rng.choice(pieces, int(rng.integers(1, 5)))) for _ in range(400)]
    for share in (0.0, 0.2, 1.0):  # none, some, every row present
        kept = [p if rng.random() < share else None for p in prompts]
        frame = pl.DataFrame({"prompt": kept}, schema={"prompt": pl.String})
        got = frame.select(copied_head(pl.col("prompt"), 96))["prompt"]
        assert got.to_list() == frame.select(visible_head(pl.col("prompt"), 96))["prompt"].to_list()
        assert got.null_count() == frame["prompt"].null_count()


def _verified_by_definition(candidates: list[tuple[int, int]], minutes: dict[int, set[int]], n_accounts: int) -> list[int]:
    """The module docstring's rules, pair by pair in Python (keys of the pairs kept)."""
    import math

    from graphlink.stages.cotiming import (MAX_MINUTES, MAX_PHASE_SHARE, MIN_MINUTE_JACCARD, MIN_PARTNERS, MIN_PHASES,
                                           MIN_SHARED_MINUTES)
    holders: dict[int, int] = {}
    for held in minutes.values():
        for m in held:
            holders[m] = holders.get(m, 0) + 1
    idf = {m: max(math.log(max(n_accounts, 2)) - math.log(d), 0.0) for m, d in holders.items()}
    agreed = []
    for a, b in set(candidates):
        ma, mb = minutes.get(a, set()), minutes.get(b, set())
        if min(len(ma), len(mb)) < MIN_SHARED_MINUTES or max(len(ma), len(mb)) > MAX_MINUTES:
            continue
        both = ma & mb
        shared = sum(idf[m] for m in both)
        union = sum(idf[m] for m in ma) + sum(idf[m] for m in mb) - shared
        phases = [m % 60 for m in both]
        top = max((phases.count(p) for p in set(phases)), default=0)
        if (len(both) >= MIN_SHARED_MINUTES and shared > 0 and shared >= MIN_MINUTE_JACCARD * union - 1e-9
                and len(set(phases)) >= min(MIN_PHASES, len(both)) and top <= MAX_PHASE_SHARE * len(both)):
            agreed.append((a, b))
    partners: dict[int, int] = {}
    for a, b in agreed:
        partners[a], partners[b] = partners.get(a, 0) + 1, partners.get(b, 0) + 1
    return sorted(a * 2**32 + b for a, b in agreed if min(partners[a], partners[b]) >= MIN_PARTNERS)


def test_verify_pairs_keeps_the_pairs_the_rules_keep():
    from graphlink.stages.cotiming import verify_pairs
    rng = np.random.default_rng(5300)
    for spread in (600, 10**8):  # minutes within hours (dense rarity table) or spread over centuries (grouped)
        # Groups of accounts active in the same minutes (a ring's bursts), with their own minutes besides.
        minutes: dict[int, set[int]] = {}
        for group in range(12):
            common = rng.integers(0, spread, 8)
            for account in range(group * 5, group * 5 + 5):
                own = rng.integers(0, spread, int(rng.integers(0, 12)))
                minutes[account] = set((rng.choice(common, int(rng.integers(2, 9)), replace=False)).tolist()) | set(own.tolist())
        minutes[60] = set(range(0, 60 * 40, 60))  # a cron at :00 beside group 0
        candidates = [(a, b) for a in range(61) for b in range(a + 1, 61) if rng.random() < 0.5 or (a // 5 == b // 5)]
        frame = pl.DataFrame([(a, m) for a, held in minutes.items() for m in sorted(held)],
                             schema={"account_idx": pl.UInt32, "minute": pl.UInt32}, orient="row").sort("account_idx", "minute")
        keys = pl.DataFrame({"key": [a * 2**32 + b for a, b in candidates]}, schema={"key": pl.UInt64})
        got = verify_pairs(keys, frame, 1_000, weight=1.0)["key"].to_list()
        expected = _verified_by_definition(candidates, minutes, 1_000)
        assert len(expected) >= 20
        assert got == expected


def test_weigh_signals_damps_each_membership_by_its_accounts_values_of_the_kind():
    import statistics

    from graphlink.config import GraphConfig
    from graphlink.stages.graph import weigh_signals
    rng = np.random.default_rng(99)
    n = 6_000
    kinds = ["ip", "payment", "prompt"]
    pairs = pl.DataFrame({"account_idx": (rng.zipf(1.4, n) % 500).astype(np.uint32), "kind": rng.choice(kinds, n),
                          "value_key": (rng.zipf(1.5, n) % 3_000).astype(np.uint64),
                          "count": np.ones(n, dtype=np.uint32)}).unique(["account_idx", "kind", "value_key"])
    values = pairs.select("kind", "value_key").unique().with_columns(pl.col("value_key").cast(pl.String).alias("value"))
    held = {(a, k): c for a, k, c in pairs.group_by("account_idx", "kind").len().iter_rows()}
    median = {k: statistics.median([c for (_, kk), c in held.items() if kk == k]) for k in kinds}
    for damping in (0.0, 0.5):
        signals, memberships = weigh_signals(pairs, 500, GraphConfig(damping=damping), values=values)
        rows = memberships.join(signals.select("signal_idx", "kind"), on="signal_idx")
        expected = [min(1.0, median[k] / held[a, k]) ** damping for a, k in rows.select("account_idx", "kind").iter_rows()]
        assert np.allclose(rows["damp"].to_numpy(), expected, rtol=1e-12)
        assert rows.height == pairs.height
    assert (rows["damp"] < 1).sum() > 100  # (damping 0.5: many accounts damped)
