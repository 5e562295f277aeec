"""match on a shared address pool (session 16): the pool's addresses do not choose between the clusters riding it.

Hand-built earlier runs whose right answers follow from
:mod:`graphlink.stages.match_pools` and :mod:`graphlink.stages.match_coact`;
the rule before them (most evidence, the pool's biggest user) answers each
wrong, so each assertion can fail.
"""

import polars as pl

from graphlink.config import PipelineConfig
from graphlink.stages.match import cluster_values, match_accounts
from graphlink.stages.match_coact import riders_by_minutes
from graphlink.stages.match_pools import address_holdings, pool_mates


def linking_of(rows: list[tuple[str, str, str, int | None]]) -> pl.DataFrame:
    """``linking.parquet`` rows ``(account, kind, value, cluster)`` with ``df`` counted from them."""
    frame = pl.DataFrame(rows, schema=["account_id", "kind", "value", "cluster_id"], orient="row")
    df = frame.group_by("kind", "value").agg(pl.len().cast(pl.UInt32).alias("df"))
    return frame.join(df, on=["kind", "value"]).with_columns(pl.lit(1.0).alias("weight"))


def pool_world() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Campaigns 1 (cluster 1, 30 accounts) and 2 (cluster 2, 10 accounts) on one pool of 40 addresses.

    Cluster 1 went through addresses 0-39 three accounts each, cluster 2 through
    addresses 0-9 once each, so every address is cluster 1's by concentration
    (3 of 4 holders, or 3 of 3). Cluster 2's ten accounts all used card-2;
    cluster 3 (campaign 3) has proxies of its own.
    """
    one = [f"b{i:02d}" for i in range(30)]
    two = [f"c{i}" for i in range(10)]
    rows = [(one[(3 * j + k) % 30], "ip", f"10.0.{j}.1", 1) for j in range(40) for k in range(3)]
    rows += [(two[j], "ip", f"10.0.{j}.1", 2) for j in range(10)]
    rows += [(a, "payment", "card-2", 2) for a in two]
    rows += [(f"o{i}", "ip", f"192.0.2.{i // 2}", 3) for i in range(8)]
    clusters = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 2, 3], "size": [30, 10, 8]})
    return linking_of(rows), clusters


def match_new(linking: pl.DataFrame, clusters: pl.DataFrame, new: list[tuple[str, str]], pools: bool = True,
              **kw) -> tuple:
    known = cluster_values(linking, campaigns=clusters.select("cluster_id", "campaign_id"))
    values = pl.DataFrame([("new", k, v) for k, v in new], schema=["account_id", "kind", "value"], orient="row")
    out = match_accounts(values, pl.Series(["new"]), known, clusters, PipelineConfig(),
                         pools=linking if pools else None, **kw)
    return out.select("cluster_id", "campaign_id").row(0)


def test_a_rider_of_a_pool_is_its_mate_and_a_ring_with_its_own_proxies_is_not():
    linking, _ = pool_world()
    pairs = pl.DataFrame({"cluster_id": [2, 1, 3], "mate_id": [1, 2, 1]})
    mates = pool_mates(address_holdings(linking), pairs)
    shares = dict(zip(zip(mates["cluster_id"], mates["mate_id"]), mates["shared"]))
    assert shares == {(2, 1): 1.0}  # all of cluster 2's holdings are on cluster 1's addresses
    # Cluster 1's holdings on cluster 2's addresses: 30 of 120; a pair is judged in the order given.
    low = pool_mates(address_holdings(linking), pairs, min_share=0.25)
    assert low.filter(pl.col("cluster_id") == 1)["shared"].to_list() == [0.25]


def test_the_riders_card_decides_not_the_pools_biggest_user():
    # Ten pool addresses (cluster 1's by concentration) and card-2: without the pool rule cluster 1's ten
    # addresses (10.0) outvoted the card (3.0); with it both clusters have the addresses and the card decides.
    # Since session 33 the ten addresses, each also held by cluster 2's accounts, are one value for cluster 1 (shared
    # exits of a pool): alone they no longer qualify it, so the card decides without the pool rule too.
    linking, clusters = pool_world()
    new = [("payment", "card-2")] + [("ip", f"10.0.{j}.1") for j in range(10)]
    assert match_new(linking, clusters, new, pools=False) == (2, 2)
    assert match_new(linking, clusters, new) == (2, 2)


def test_without_a_value_that_differs_the_evidence_still_decides():
    linking, clusters = pool_world()
    new = [("ip", f"10.0.{j}.1") for j in range(10)]
    # Since session 33: ten exits of a pool two campaigns rode are one value (what any user of the pool gets), and one
    # value alone needs the cluster's corroboration: the account is left for a full run (it was cluster 1's).
    assert match_new(linking, clusters, new) == (None, None)
    # With an address only cluster 1 held beside them (two values), it is cluster 1's.
    extra = linking_of([(a, "ip", "10.0.99.1", 1) for a in ("b00", "b01")])
    both = pl.concat([linking, extra], how="vertical_relaxed")
    assert match_new(both, clusters, new + [("ip", "10.0.99.1")]) == (1, 1)


def test_own_proxies_are_not_shared_with_a_pool():
    # An account with four of cluster 3's own addresses and a card of the pool's rider: cluster 3's addresses
    # are its mark, and nothing of them is lent to the rider.
    linking, clusters = pool_world()
    new = [("ip", f"192.0.2.{j}") for j in range(4)] + [("payment", "card-2")]
    assert match_new(linking, clusters, new) == (3, 3)


def minutes_of(rows: list[tuple[str, int]]) -> pl.DataFrame:
    return (pl.DataFrame(rows, schema=["account_id", "m"], orient="row")
            .group_by("account_id", "m").agg(pl.len().cast(pl.Int64).alias("events")))


def riders_case(newcomer: list[int], together: bool = True) -> pl.DataFrame:
    """Cluster 2 (rider of cluster 1's pool) has earlier members firing in 1-minute bursts at minutes 100 + 97 k
    (``together=False``: only c0 does, c1 and c2 at minutes of their own); cluster 1's earlier members act every
    minute of the day (the pool's big user)."""
    linking, _ = pool_world()
    bursts = [100 + 97 * k for k in range(14)]
    rows = [(f"c{i}", b if together or i == 0 else b + 31 * i) for i in range(3) for b in bursts]
    rows += [(f"b{i:02d}", m) for i in range(3) for m in range(1440)]
    rows += [("new", m) for m in newcomer]
    settled = pl.DataFrame({"account_id": ["c0", "c1", "c2", "b00", "b01", "b02"], "cluster_id": [2, 2, 2, 1, 1, 1]})
    doubt = pl.DataFrame({"account_id": ["new"], "cluster_id": [1]})
    addresses = pl.DataFrame({"account_id": ["new"] * 3, "value": [f"10.0.{j}.1" for j in range(3)]})
    return riders_by_minutes(doubt, settled, minutes_of(rows), address_holdings(linking), addresses)


def test_an_account_in_doubt_moves_to_the_rider_it_fires_with():
    moved = riders_case([100 + 97 * k for k in range(0, 14, 2)])
    assert moved.select("account_id", "cluster_id").rows() == [("new", 2)]


def test_an_account_at_random_minutes_stays():
    assert riders_case([13 + 211 * k for k in range(7)]).height == 0


def test_an_account_firing_every_hour_at_the_riders_minutes_is_a_schedule_not_the_rider():
    # A job firing every hour hits the rider's bursts as often as the same minutes an hour or two away.
    hourly = [100 + 97 * k + 60 * h for k in range(0, 14, 2) for h in (-2, -1, 0, 1, 2)]
    assert riders_case([m for m in hourly if 0 <= m < 1440]).height == 0


def test_a_rider_whose_members_keep_no_clock_together_takes_no_one():
    # The same newcomer, in c0's bursts; but cluster 2's members do not fire together: its minutes are no clock.
    newcomer = [100 + 97 * k for k in range(0, 14, 2)]
    assert riders_case(newcomer, together=False).height == 0
