"""An unclustered account more than half of whose strong values are one cluster's joins it (stages/pendants).

vk-bots (session 52): a bot whose own friend list is hidden holds one value, its own id, listed by a few
bots of its trader's block of hundreds; CPM asks ``resolution`` per member pair of it, so it stayed in no
cluster although everything it holds is the block's (87 of the 101 linkable PARIK bots main left in no cluster).
"""

import numpy as np
import polars as pl
import pytest

from graphlink.config.build import build_config
from graphlink.pipeline import run_detect
from graphlink.stages.pendants import own_value_members

BLOCK = 30


def friend_log(seed: int) -> pl.DataFrame:
    """``account_id, friend`` rows: a block of 30 accounts each listing 12 of 15 shared friends and its own id,
    and beside it

    * ``h0``-``h4``: each lists only itself, and two block members list it (a hidden friend list);
    * ``k0``-``k2``: each lists itself (listed by two block members too) and one friend of its own: half of
      its values are its own;
    * ``n0``: lists only ``nat``, a value one block member and the 60 ordinary accounts list too (too popular
      to make a cluster: ``(2 / 62) ** 0.5`` per pair, under the resolution 0.2);
    * ``o00``-``o59``: ordinary accounts, each listing itself and two friends of its own.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(BLOCK):
        rows += [(f"b{i:02d}", f"pool{f}") for f in rng.choice(15, 12, replace=False)] + [(f"b{i:02d}", f"b{i:02d}")]
    for tag, n in (("h", 5), ("k", 3)):
        for j in range(n):
            me = f"{tag}{j}"
            rows += [(me, me)] + [(f"b{i:02d}", me) for i in rng.choice(BLOCK, 2, replace=False)]
    rows += [(f"k{j}", f"k{j}-own") for j in range(3)]
    rows += [("n0", "nat"), ("b00", "nat")] + [(f"o{u:02d}", "nat") for u in range(60)]
    for u in range(60):
        rows += [(f"o{u:02d}", f"o{u:02d}"), (f"o{u:02d}", f"o{u:02d}-x"), (f"o{u:02d}", f"o{u:02d}-y")]
    return pl.DataFrame(rows, schema=["account_id", "friend"], orient="row")


def detect(seed: int, **overrides) -> pl.DataFrame:
    """``account_id, cluster_id, campaign_id`` after ``graphlink detect --signal friend``."""
    return run_detect(friend_log(seed), None, build_config(signals=("friend",), **overrides)).accounts.select(
        "account_id", "cluster_id", "campaign_id")


def where(accounts: pl.DataFrame, prefix: str) -> list:
    return accounts.filter(pl.col("account_id").str.starts_with(prefix)).sort("account_id")["cluster_id"].to_list()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_account_holding_only_a_clusters_value_joins_it_and_its_campaign(seed):
    accounts = detect(seed)
    block = set(where(accounts, "b"))
    assert len(block) == 1 and None not in block, "the block is one cluster"
    (cluster,) = block
    assert where(accounts, "h") == [cluster] * 5
    campaign = accounts.filter(pl.col("cluster_id") == cluster)["campaign_id"].unique().to_list()
    assert len(campaign) == 1 and campaign[0] is not None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_without_own_values_the_hidden_accounts_stay_out(seed):
    # CPM alone leaves them out: one value shared with 2 of 30 members is far under resolution * 30.
    accounts = detect(seed, own_values=False)
    assert where(accounts, "h") == [None] * 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_half_of_an_accounts_values_its_own_keeps_it_out(seed):
    accounts = detect(seed)
    assert where(accounts, "k") == [None] * 3


@pytest.mark.parametrize("seed", [0, 1])
def test_a_value_most_of_whose_holders_are_outside_the_cluster_is_not_the_clusters(seed):
    # n0's one value is held by one block member and 61 others: not the block's.
    accounts = detect(seed)
    assert where(accounts, "n0") == [None]
    assert set(where(accounts, "o")) == {None}


def frames(kind: str = "friend"):
    """A cluster {0, 1, 2} and unclustered 3, 4, 5: value 0 held by 0, 1, 3; value 1 by 2, 4, 5 and value 2
    by 4 alone; value 3 by 1 and 5."""
    partition = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [7, 7, 7, None, None, None]},
                             schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    held = [(0, 0), (1, 0), (3, 0), (2, 1), (4, 1), (5, 1), (4, 2), (1, 3), (5, 3)]
    memberships = pl.DataFrame(held, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    df = memberships.group_by("signal_idx").len().rename({"len": "df"})
    signals = df.with_columns(pl.lit(kind).alias("kind")).sort("signal_idx")
    return partition, memberships, signals


def test_unit_majority_of_the_accounts_values():
    partition, memberships, signals = frames()
    out, _, joined = own_value_members(partition, None, memberships, signals)
    # 3: its one value is the cluster's (both others inside). 4: value 1's other holders are 2 (inside) and 5
    # (outside): not more than half inside, and value 2 is its own. 5: values 1 and 3, each with one of two
    # others inside: neither is the cluster's.
    assert joined["account_idx"].to_list() == [3]
    assert out.sort("account_idx")["cluster_id"].to_list() == [7, 7, 7, 7, None, None]


def test_unit_weak_kinds_are_not_read():
    # The same values of a weak kind (an IP network) join nobody.
    partition, memberships, signals = frames("ip_net")
    _, _, joined = own_value_members(partition, None, memberships, signals)
    assert joined.is_empty()


def test_unit_values_counted_upstream_count():
    # A kind whose unshared values are only counted (value_counts; the signals stage counts IP addresses so):
    # account 3 holds the cluster's value and two of its own, so one value in three is the cluster's. (A strong
    # custom kind: one IP address of a cluster alone joins nobody since brk52, tests/test_break52.py.)
    partition, memberships, signals = frames("device")
    counts = pl.DataFrame({"account_idx": [3], "kind": ["device"], "n_values": [3]},
                          schema={"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32})
    _, _, alone = own_value_members(partition, None, memberships, signals)
    _, _, counted = own_value_members(partition, None, memberships, signals, value_counts=counts)
    assert alone["account_idx"].to_list() == [3]
    assert counted.is_empty()


def test_unit_joined_accounts_take_their_clusters_whole():
    partition, memberships, signals = frames()
    wholes = partition.with_columns(pl.when(pl.col("cluster_id").is_not_null()).then(pl.lit(3, pl.Int64)).alias("cluster_id"))
    _, wholes_out, _ = own_value_members(partition, wholes, memberships, signals)
    assert wholes_out.sort("account_idx")["cluster_id"].to_list() == [3, 3, 3, 3, None, None]


def test_spark_engine_joins_the_same_accounts_as_polars(spark, tmp_path):
    # The hidden accounts join the block on both engines; clusters, campaigns and run.json's count agree.
    pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")
    import graphlink

    path = tmp_path / "friends.parquet"
    friend_log(0).write_parquet(path)
    config = build_config(signals=("friend",))
    runs = [graphlink.detect(path, None, config=config),
            graphlink.detect(str(path), None, config=config, engine="spark", spark=spark)]
    a, b = (r.accounts.select("account_id", "cluster_id", "campaign_id").sort("account_id") for r in runs)
    assert a.equals(b)
    assert where(a, "h") == [where(a, "b00")[0]] * 5
    assert [r.run["counts"]["own_value_members"] for r in runs] == [5, 5]
