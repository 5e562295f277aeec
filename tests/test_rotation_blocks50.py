"""Rotation ties only inside a rotation block (session 50, rot50).

``[signals] rotation_ties`` ties accounts that rotated /64s in one IPv6 network. A carrier's /48 holds a hundred
phones, and a few whose /64 was renewed between close requests (a phone in poor coverage reconnecting on every
request) read as rotating there: tied by the carrier's /48, unrelated phones became one strong-tied group. A network
ties its rotators only when they are most of the accounts seen there with close requests (an operator's rented /48).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.encode import encode_frame
from graphlink.stages.signals.ip import ip_pairs

START = np.datetime64("2024-05-06T00:00:00")


def _rows() -> list[tuple]:
    rng = np.random.default_rng(50)
    rows = []
    for i in range(30):  # phones: a /64 per 3-hour connection of the carrier's /48, requests 10-30 minutes apart
        for d in range(3):
            for s in d * 86400 + 12 * 3600 + np.cumsum(rng.integers(600, 1800, 6)):
                rows.append((f"phone_{i}", int(s), f"2607:fb90:1:{(i * 977 + int(s) // 10800 * 31) % 65536 + 1:x}::{i + 1:x}"))
    for i in range(2):  # two phones in poor coverage: a new connection (and /64) on every request, minutes apart
        for d in range(3):
            for k, s in enumerate(d * 86400 + 15 * 3600 + np.cumsum(rng.integers(200, 400, 6))):
                rows.append((f"flaky_{i}", int(s), f"2607:fb90:1:{40000 + i * 1000 + d * 10 + k:x}::{i + 1:x}"))
    for i in range(6):  # a ring: a fresh /64 of its rented /48 per request
        for d in range(3):
            for s in d * 86400 + 10 * 3600 + np.cumsum(rng.integers(60, 600, 6)):
                rows.append((f"ring_{i}", int(s), f"2a0c:5bc0:17:{int(rng.integers(1, 65536)):x}::{i + 1:x}"))
    return rows


def test_rotation_ties_hold_a_rented_block_and_not_a_carriers_48():
    frame = pl.DataFrame(_rows(), schema=["account_id", "seconds", "ip"], orient="row").with_columns(
        (pl.lit(START).dt.cast_time_unit("us").dt.replace_time_zone("UTC") + pl.duration(seconds=pl.col("seconds")))
        .alias("timestamp")).drop("seconds")
    enc = encode_frame(frame.lazy())
    pairs, _, _, counts = ip_pairs(enc, 24, 48, rotation_ties=True)
    names = enc.index.select("account_idx", "account_id")
    tied = pairs.filter(pl.col("kind") == "ip_rotation").join(names, on="account_idx")["account_id"].sort().to_list()
    assert tied == [f"ring_{i}" for i in range(6)]  # old: the two flaky phones tied by the carrier's /48 too
    # the flaky phones still read as rotating in the score (ip_lines): only the tie needs the block
    lines = counts.filter(pl.col("kind") == "ip_lines").join(names, on="account_idx")
    assert set(lines.filter(pl.col("n_values") > 3)["account_id"].str.extract(r"^([a-z]+)_")) == {"ring", "flaky"}
