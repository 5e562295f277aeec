"""The cache-blocked numpy kernels give the bits of their whole-column definitions.

:func:`graphlink.stages.portable.xxhash64_arrays` and
:func:`graphlink.stages.signals.timing.minhash` process their columns in
blocks (and on two threads) for speed; these tests compare them with the
plain whole-column arithmetic on sizes that cross block and threading
boundaries, including one account larger than a block.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphlink.stages import portable
from graphlink.stages.signals import timing


def _xxhash_reference(*values):
    arrays = [np.asarray([v & (2**64 - 1)], dtype=np.uint64) if isinstance(v, int)
              else np.asarray(v).astype(np.int64, copy=False).view(np.uint64) for v in values]
    columns = [a for a, v in zip(arrays, values) if not isinstance(v, int)]
    n = len(columns[0]) if columns else 1
    h = np.full(n, portable.SPARK_SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for a in arrays:
            h = portable.hash_long(np.broadcast_to(a, (n,)), h)
    return h


@pytest.mark.parametrize("n", [0, 1, 7, portable.HASH_BLOCK, portable.HASH_BLOCK + 1, portable.THREADED_FROM + 3])
def test_xxhash64_blocks_match_whole_columns(n):
    rng = np.random.default_rng(n)
    a = rng.integers(-2**63, 2**63, n, dtype=np.int64)
    b = rng.integers(0, 2**32, n).astype(np.uint32)
    for args in [(a,), (7, a), (7, 3, b, a), (a, 5, b), (0, -1, a), (2**63, a, b)]:
        assert np.array_equal(portable.xxhash64_arrays(*args), _xxhash_reference(*args))
    assert np.array_equal(portable.xxhash64_arrays(0, -1, 5), _xxhash_reference(0, -1, 5))


def _minhash_reference(buckets: pl.DataFrame, n_hashes: int, seed: int) -> pl.DataFrame:
    x = buckets.select(pl.col("key").hash(seed + 1))["key"].to_numpy()
    account = buckets["account_idx"].to_numpy()
    starts = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    rng = np.random.default_rng(seed)
    mult = rng.integers(0, 2**63, n_hashes, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    add = rng.integers(0, 2**63, n_hashes, dtype=np.uint64)
    out = np.empty((len(starts), n_hashes), dtype=np.uint64)
    for i in range(n_hashes):
        out[:, i] = np.minimum.reduceat(x * mult[i] + add[i], starts) >> np.uint64(32)
    return pl.DataFrame({"account_idx": account[starts]}).with_columns(
        pl.DataFrame(out, schema=[f"m{i}" for i in range(n_hashes)]))


@pytest.mark.parametrize("n_accounts,huge", [(1, False), (3, False), (600, True), (2000, False)])
def test_minhash_blocks_match_whole_columns(n_accounts, huge):
    rng = np.random.default_rng(n_accounts)
    sizes = rng.integers(1, 200, n_accounts)
    if huge:
        sizes[n_accounts // 2] = 3 * timing.MINHASH_BLOCK  # one account wider than a block
    account = np.repeat(np.arange(n_accounts), sizes).astype(np.uint32)
    buckets = pl.DataFrame({"account_idx": account, "key": rng.integers(0, 2**40, len(account)).astype(np.uint64)})
    assert timing.minhash(buckets, 24, 5).equals(_minhash_reference(buckets, 24, 5))
