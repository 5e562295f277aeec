"""The copier check of the operator ties at any copier size, read on the senders' signatures first (session 50).

:func:`graphlink.stages.tie_weights.weighed` drops a prompt phrase tying a cluster to an operator when every operator
cluster sending it runs another client than the cluster's. Session 49 let copiers of any size in and joined every
small cluster's phrases to every sender of them (224k peak memory 4 -> 11 GB), and was reverted to copiers of
:data:`~graphlink.stages.campaign_clients.MIN_SIGNATURE_SIZE` or more. Now the senders' signatures are read first and
only phrases every sender of which is signed are compared: a team of three on its browsers copying the ring's phrase
is split off, while a phrase a rotating operator cell (no signature) also sends is kept.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_clients import client_profiles
from graphlink.stages.tie_weights import weighed

U32 = pl.UInt32


def copier_world() -> dict[str, pl.DataFrame]:
    # Ring cell 1: six accounts on the ring's client. Operator cell 2: six accounts each on a stock browser of its own
    # (no signature). Team 3: three staff on one office browser.
    clusters = [1] * 6 + [2] * 6 + [3] * 3
    agents = [100] * 6 + list(range(101, 107)) + [107] * 3
    values = {100: "python-requests/2.31.0", 107: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"}
    values |= {v: f"Mozilla/5.0 (X11; Linux x86_64) Firefox/{v}.0" for v in range(101, 107)}
    return {
        "partition": pl.DataFrame({"account_idx": range(15), "cluster_id": clusters}, schema_overrides={"account_idx": U32}),
        "affiliations": pl.DataFrame({"account_idx": range(15), "signal_idx": agents}, schema={"account_idx": U32, "signal_idx": U32}),
        "signals": pl.DataFrame({"signal_idx": list(values), "kind": ["user_agent"] * len(values), "value": list(values.values())},
                                schema_overrides={"signal_idx": U32}),
        # Phrase 200 is sent by the ring cell alone, phrase 201 by the ring cell and the rotating cell.
        "aside": pl.DataFrame({"cluster_id": [1, 1, 2], "signal_idx": [200, 201, 201]}, schema_overrides={"signal_idx": U32}),
        "rows": pl.DataFrame({"cluster_id": [3, 3], "signal_idx": [200, 201], "private": [False] * 2, "text": [True] * 2,
                              "contact": [False] * 2, "lead": [1, 1]}, schema_overrides={"signal_idx": U32}),
    }


def test_a_team_of_three_copying_a_ring_cells_phrase_from_its_browser_is_split_off_by_the_phrase_alone():
    w = copier_world()
    near = pl.DataFrame({"cluster_id": [3], "signal_idx": [200]}, schema_overrides={"signal_idx": U32})
    rows, split = weighed(w["rows"], near, w["aside"], w["partition"], w["affiliations"], w["signals"], pl.Series([1, 2]))
    # 200: its one sender is signed and runs another client (copied); 201: the rotating cell can disagree with no one.
    assert rows["signal_idx"].to_list() == [201]
    assert split.rows() == [(3, 200)]


def test_only_clusters_of_signature_size_with_a_concentrated_profile_are_signed():
    w = copier_world()
    node_of = w["partition"].select("account_idx", pl.col("cluster_id").cast(U32).alias("node"),
                                    pl.len().over("cluster_id").cast(U32).alias("size"))
    _, profiled, signed = client_profiles(node_of, w["affiliations"], w["signals"], any_size=True)
    assert sorted(profiled["node"].to_list()) == [1, 2, 3] and signed["node"].to_list() == [1]
