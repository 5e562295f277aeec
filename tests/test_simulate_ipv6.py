"""The scenario family's benign IPv6 is assigned as real networks do (graphlink.lab.simulate.ipv6_lines, session 49).

Until session 48 every benign IPv6 user had a /48 of its own and one fixed address; now ISP homes share regional
/48s (a /56 each, a privacy address a day), phones share a carrier's /48 (a /64 per connection) and a campus puts
its people on one /48 (a /64 per VLAN).
"""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.lab.simulate.scenarios import simulate_scenario


@pytest.fixture(scope="module")
def v6():
    ev, _, lab, _ = simulate_scenario("templates", 1001, "tiny")
    parts = pl.col("ip").str.split(":")
    return (ev.filter(pl.col("ip").str.contains(":")).join(lab, on="account_id")
            .with_columns(parts.list.slice(0, 3).list.join(":").alias("net48"),
                          parts.list.slice(0, 4).list.join(":").alias("net64"),
                          pl.col("timestamp").dt.date().alias("day")))


def test_benign_ipv6_users_share_isp_carrier_and_campus_48s(v6):
    benign = v6.filter(pl.col("kind") != "ring")
    per48 = benign.group_by("net48").agg(pl.col("account_id").n_unique().alias("accounts"),
                                         pl.col("net64").n_unique().alias("lines"))
    assert per48["accounts"].max() >= 40  # the campus (or a carrier): many unrelated people in one /48
    assert (per48["accounts"] >= 2).sum() >= 0.5 * per48.height  # ISP /48s are shared by homes
    # a campus / carrier /48 holds many /64s; no benign account shares an exact address with another
    assert per48["lines"].max() >= 20
    assert benign.group_by("ip").agg(pl.col("account_id").n_unique())["account_id"].max() == 1


def test_a_home_keeps_its_64_and_rotates_its_privacy_address_daily(v6):
    benign = v6.filter(pl.col("kind") != "ring")
    per = benign.group_by("account_id").agg(pl.col("net64").n_unique().alias("lines"), pl.col("ip").n_unique().alias("ips"),
                                            pl.col("day").n_unique().alias("days"), pl.len().alias("n"))
    homes = per.filter(pl.col("lines") == 1)
    assert homes.height >= 0.4 * per.height  # stable homes (and one-request users) are the commonest
    busy = homes.filter(pl.col("n") > pl.col("days"))
    assert (busy["ips"] == busy["days"]).all()  # one address a day, whatever the requests


def test_ring_rotation_is_a_fresh_64_per_request(v6):
    ring = v6.filter(pl.col("kind") == "ring").group_by("account_id").agg(pl.len().alias("n"), pl.col("net64").n_unique())
    if ring.height:
        assert (ring["net64"] >= 0.9 * ring["n"]).mean() > 0.9
