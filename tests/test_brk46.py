"""Session 46 break-it review of wording cells (:mod:`graphlink.stages.wording_cells`)."""

import time

import numpy as np

from graphlink.stages.wording_cells import wording_blocks


def test_many_small_candidate_blocks_merge_back_in_bounded_time():
    """400 five-member groups that share four phrases and hold one of their own: the neighbour graph cuts
    them into 400 candidate blocks that all merge back one pair at a time. Recomputing the block sums over
    the whole member-by-member matrix at each merge took 10 s at 2,000 members (500 s at 3,999)."""
    k = 2000
    members = np.repeat(np.arange(k), 5)
    phrases = np.c_[np.tile(np.arange(4), (k, 1)), 100 + np.arange(k)[:, None] // 5].ravel()
    # CPU time of this process, not wall: the bound is the algorithm's, and a shared machine's wall is not
    # (session 59: 5.9 s of wall at load ~27, 0.35-1.1 CPU-s; the quadratic pass is CPU-bound).
    start = time.process_time()
    blocks = wording_blocks(members, phrases, k)
    assert time.process_time() - start < 5.0
    assert set(blocks.tolist()) == {0}
