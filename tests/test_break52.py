"""Break-it review (session 52, helper brk52) of session 52's changes on by default: own-value members
(stages/pendants), rotation ties, hub twins, the lock-step card pool.

Fixed here: own-value members joined an account holding nothing but one address of a flagged ring's proxy exit
(one request, no card, no prompt for the bystander test to read) to the ring, which flagged it; an address alone
no longer makes an account a cluster's (``pendants.ADDRESS_KIND``). Open (strict xfail): CPM itself still puts
such a no-prompt passer-by into the ring on some draws (as on main).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.stages.pendants import own_value_members

START = np.datetime64("2024-05-06T00:00:00")
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango").split()
TEMPLATE = "Write a five star review for product {} praising fast shipping and great quality"


def timed(rows: list[tuple], columns: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["account_id", "seconds", *columns], orient="row")
    return frame.with_columns((pl.lit(START).dt.cast_time_unit("us").dt.replace_time_zone("UTC")
                               + pl.duration(seconds=pl.col("seconds"))).alias("timestamp")).drop("seconds")


def exit_world(seed: int, crowd: bool = False) -> pl.DataFrame:
    """A ring of 20 on a proxy pool of 6 exits, 3 shared cards and a review template (flagged); 80 homes with their
    own address, card and words; and ``pass_0``-``pass_2``: one request each from one of the ring's exits, no card,
    no prompt (a VPN user passing through a commercial exit the ring also rents). ``crowd``: 12 more users of the
    exits writing their own prompts (3 with one request, 3 with two, 3 with a card of their own, 3 on the VPN
    every evening)."""
    rng = np.random.default_rng(seed)
    pool = [f"45.83.{seed}.{k}" for k in range(6)]
    rows = []
    for i in range(20):
        for d in range(4):
            for s in d * 86400 + 3 * 3600 + np.cumsum(rng.integers(30, 300, 10)):
                rows.append((f"ring_{i}", int(s), str(rng.choice(pool)), f"card_ring_{i % 3}",
                             TEMPLATE.format(int(rng.integers(1000))), "python-requests/2.31"))
    for i in range(80):
        for d in range(4):
            for s in d * 86400 + 18 * 3600 + np.sort(rng.integers(0, 4 * 3600, 3)):
                rows.append((f"home_{i}", int(s), f"81.{i}.{d % 2}.{i + 2}", f"card_home_{i}",
                             " ".join(rng.choice(WORDS, 12)), "Mozilla/5.0 Firefox/126.0"))
    for j in range(3 if crowd else 0):
        rows.append((f"one_{j}", 2 * 86400 + 5000 + 77 * j, pool[j], None, " ".join(rng.choice(WORDS, 12)), "Chrome"))
    for j in range(3 if crowd else 0):
        for k in range(2):
            rows.append((f"two_{j}", 86400 + 7000 + 500 * j + 60 * k, pool[(j + k) % 6], None,
                         " ".join(rng.choice(WORDS, 12)), "Chrome"))
    for j in range(3 if crowd else 0):
        rows.append((f"card_{j}", 3 * 86400 + 5000 + 77 * j, pool[j], f"card_c_{j}", " ".join(rng.choice(WORDS, 12)),
                     "Chrome"))
    for j in range(3 if crowd else 0):
        for d in range(4):
            for s in d * 86400 + 20 * 3600 + np.sort(rng.integers(0, 3600, 4)):
                rows.append((f"vpn_{j}", int(s), str(rng.choice(pool)), None, " ".join(rng.choice(WORDS, 12)), "Safari"))
    for j in range(3):
        rows.append((f"pass_{j}", 2 * 86400 + 9000 + 77 * j, pool[j], None, None, "Mozilla/5.0 Chrome/125"))
    return timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])


def flagged(result, prefix: str) -> set[str]:
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return set(acc.filter(pl.col("account_id").str.starts_with(prefix) & pl.col("flagged").fill_null(False))
               ["account_id"].to_list())


def test_an_account_holding_only_a_clusters_addresses_is_not_joined_but_one_holding_its_card_is():
    # Cluster 1 holds addresses a, b and card k. Account 3 holds address a only; account 4 address b and card k;
    # account 5 card k only. int52: 3 joined (1 of 1 values the cluster's).
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 1, None, None, None]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["ip", "ip", "payment"], "df": [4, 4, 5]},
                       schema_overrides={"signal_idx": pl.UInt32})
    mem = pl.DataFrame({"account_idx": [0, 1, 2, 3, 0, 1, 2, 4, 0, 1, 2, 4, 5],
                        "signal_idx": [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    counts = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "kind": ["ip"] * 5, "n_values": [2, 2, 2, 1, 1]},
                          schema={"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32})
    _, _, joined = own_value_members(part, None, mem, sig, value_counts=counts)
    assert joined["account_idx"].to_list() == [4, 5]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_passer_by_on_a_rings_exit_is_not_flagged(seed):
    # int52: own-value members joined pass_0-2 to the ring (each 1 of 1 values the ring's) on every seed 0-5.
    result = graphlink.detect(exit_world(seed))
    assert flagged(result, "ring_") == {f"ring_{i}" for i in range(20)}
    assert flagged(result, "home_") == set() and flagged(result, "pass_") == set()


@pytest.mark.parametrize("seed", [0, 2])
def test_own_values_flag_no_passer_by_beyond_cpm_among_a_crowd_on_the_exits(seed):
    # int52: seed 0 flagged two passers-by with own values on, none with them off; seed 2 three against one.
    events = exit_world(seed, crowd=True)
    on, off = graphlink.detect(events), graphlink.detect(events, own_values=False)
    assert flagged(on, "pass_") <= flagged(off, "pass_")
    for prefix in ("home_", "one_", "two_", "card_", "vpn_"):
        assert flagged(on, prefix) == set()


@pytest.mark.xfail(strict=True, reason="open (brk52): CPM itself takes a one-request account with no card and no "
                   "prompt on a ring's exit into the ring (the bystander test cannot judge an account without "
                   "prompts); seed 1 flags all three passers-by with own values off, as on main")
def test_a_one_request_passer_by_without_a_prompt_is_not_flagged_with_a_ring():
    assert flagged(graphlink.detect(exit_world(1, crowd=True)), "pass_") == set()
