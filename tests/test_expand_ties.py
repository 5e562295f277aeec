"""expand: the seeds' narrowest common address ties the cell across detect's clusters (issue 15, tenth pass).

A cell holds an IPv6 /48 of its own; Leiden split it in two parts with no link between them (the /48 is too
weak a value to link on its own). The seeds' part also uses a proxy of the pool its operator shares with a
sibling cell, and pays with a card of its own. From three seeds of one part, the cell is the /48's holders,
not the proxy's, nor the card's (held by part A only, narrower than the /48, but a card is no address).
"""

from __future__ import annotations

import polars as pl

SCHEMA = {"account_id": pl.String, "kind": pl.String, "value": pl.String, "df": pl.UInt32, "weight": pl.Float64}
ACCOUNTS = {"account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64}
PART_A = [f"z{i:02d}" for i in range(6)]
PART_B = [f"z{i:02d}" for i in range(6, 12)]
SIBLING = [f"y{i:02d}" for i in range(10)]
SEEDS = ["z00", "z01", "z02"]
BLOCK = "2001:db8:1::/48"


def clique(ids: list[str], weight: float) -> list[tuple[str, str, float]]:
    return [(a, b, weight) for i, a in enumerate(ids) for b in ids[i + 1:]]


def split_cell_world(with_block: bool = True,
                     with_proxy: bool = True) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``links, linking, accounts``: cell z (12 accounts) split into clusters 1 (part A) and 2 (part B), no link
    across; sibling y (10 accounts, cluster 3) shares the pool proxy with part A (links of 0.3); part A pays with
    card ``zc``. Every z account holds the /48 (``with_block``) and runs client ``zcli/1`` (held by 12 of the
    run, too weak to link); without ``with_proxy`` the sibling shares nothing with part A. 3,000 ordinary
    accounts hold nothing."""
    pairs = clique(PART_A, 1.0) + clique(PART_B, 1.0) + clique(SIBLING, 1.0)
    pairs += [(a, y, 0.3) for a in PART_A for y in SIBLING]
    links = pl.DataFrame(pairs, schema={"source": pl.String, "target": pl.String, "weight": pl.Float64},
                         orient="row")
    rows = [(a, "payment", "zc", 6, 3.0) for a in PART_A]
    rows += [(a, "user_agent", "zcli/1", 12, 0.01) for a in PART_A + PART_B]
    if with_proxy:
        rows += [(a, "ip", "198.51.100.7", 16, 0.25) for a in PART_A + SIBLING]
    if with_block:
        rows += [(a, "ip_net", BLOCK, 12, 0.14) for a in PART_A + PART_B]
    linking = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    others = [f"o{i:04d}" for i in range(3000)]
    accounts = pl.DataFrame({"account_id": PART_A + PART_B + SIBLING + others,
                             "cluster_id": [1] * 6 + [2] * 6 + [3] * 10 + [None] * len(others),
                             "campaign_id": [7] * 22 + [None] * len(others)}, schema=ACCOUNTS)
    return links, linking, accounts


def test_the_seeds_block_lists_the_cell_across_clusters_and_beyond_the_walk():
    """Part B is in another cluster and the walk from part A never reaches it; it holds the /48 every seed used,
    the narrowest address they share: listed. The sibling holds only the broader proxy: not listed."""
    from graphlink.stages.expand import rank_accounts

    links, linking, accounts = split_cell_world()
    listed = rank_accounts(links, linking, accounts, SEEDS).filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"]) == sorted(PART_A[3:] + PART_B)


def test_without_an_address_of_their_own_the_list_stays_in_the_seeds_part():
    """The same world without the /48 and the proxy: part B still runs the seeds' client and the seeds pay with a
    card of part A, but neither is an address: an unreached account sharing a client (or a card) with every seed
    is not listed, and the list is part A."""
    from graphlink.stages.expand import rank_accounts

    links, linking, accounts = split_cell_world(with_block=False, with_proxy=False)
    listed = rank_accounts(links, linking, accounts, SEEDS).filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"]) == sorted(PART_A[3:])


def test_own_values_are_the_narrowest_address_and_never_a_card_or_client():
    """Of the addresses every seed used, the /48 (12 holders) is narrower than the proxy (16): its holders. A card
    (even a narrower one), a client or a creation hour every seed shares is no own value."""
    from graphlink.stages.seed_ties import own_value_holders

    _, linking, accounts = split_cell_world()
    shared = pl.DataFrame({"kind": ["ip", "ip_net", "payment"], "value": ["198.51.100.7", BLOCK, "zc"]})
    held, df, text = own_value_holders(linking, shared, accounts, SEEDS)
    assert sorted(held["account_id"]) == sorted(PART_A + PART_B) and (df, text) == (12, f"IP network {BLOCK}")
    held, df, _ = own_value_holders(linking, shared.filter(pl.col("kind") == "ip"), accounts, SEEDS)
    assert sorted(held["account_id"]) == sorted(PART_A + SIBLING) and df == 16
    weak = pl.DataFrame({"kind": ["payment", "user_agent", "created_hour"],
                         "value": ["zc", "curl/8", "2025-01-01T00:00:00Z"]})
    assert own_value_holders(linking, weak, accounts, SEEDS)[0].is_empty()


def test_a_network_alone_makes_no_holder_eligible():
    """Part B holds the /48 and the seeds' client (a second value every seed holds): eligible; with the /48 alone
    (a network) it is not, clustered or not (being a cluster of the /48's holders is no second tie: every
    family an ISP's /48 serves is one, break-it review of session 14), and only the seeds' cluster, part A, is. One address (the proxy, an ``ip``) links on its own in detect: its holders are
    eligible (the fill's share and the cluster stop judge them)."""
    from graphlink.stages.seed_ties import own_value_holders

    _, linking, accounts = split_cell_world()
    client = pl.DataFrame({"kind": ["user_agent"], "value": ["zcli/1"]})
    block = pl.DataFrame({"kind": ["ip_net"], "value": [BLOCK]})
    held = own_value_holders(linking, pl.concat([block, client]), accounts, SEEDS)[0]
    assert sorted(held.filter("eligible")["account_id"]) == sorted(PART_A + PART_B)
    held = own_value_holders(linking, block, accounts, SEEDS)[0]  # no second value: the seeds' cluster only
    assert sorted(held.filter("eligible")["account_id"]) == sorted(PART_A)
    loose = accounts.with_columns(pl.when(pl.col("cluster_id") == 2).then(None).otherwise(pl.col("cluster_id"))
                                  .alias("cluster_id"))
    held = own_value_holders(linking, block, loose, SEEDS)[0]
    assert sorted(held.filter("eligible")["account_id"]) == sorted(PART_A)
    mixed = accounts.with_columns(pl.when(pl.col("cluster_id") == 2).then(3).otherwise(pl.col("cluster_id"))
                                  .alias("cluster_id"))  # part B in the sibling's cluster: 6 of 16 hold the /48
    held = own_value_holders(linking, block, mixed, SEEDS)[0]
    assert sorted(held.filter("eligible")["account_id"]) == sorted(PART_A)
    proxy = pl.DataFrame({"kind": ["ip"], "value": ["198.51.100.7"]})
    held = own_value_holders(linking, proxy, accounts, SEEDS)[0]
    assert sorted(held.filter("eligible")["account_id"]) == sorted(PART_A + SIBLING)


def test_the_block_is_not_filled_when_the_list_is_a_corner_of_its_holders():
    """The same split cell, but 30 more accounts (unclustered, running the seeds' client) hold the /48: the list
    (part A, 6 of 42 holders) is a corner of the address, not the cell, and nothing unreached is listed."""
    from graphlink.stages.expand import rank_accounts

    links, linking, accounts = split_cell_world()
    extra = [f"o{i:04d}" for i in range(30)]
    linking = pl.concat([linking, pl.DataFrame(
        [(a, kind, value, 42, w) for a in extra for kind, value, w in (("ip_net", BLOCK, 0.14),
                                                                       ("user_agent", "zcli/1", 0.01))],
        schema=SCHEMA, orient="row")]).with_columns(
        pl.when(pl.col("value").is_in([BLOCK, "zcli/1"])).then(42).otherwise(pl.col("df")).cast(pl.UInt32).alias("df"))
    listed = rank_accounts(links, linking, accounts, SEEDS).filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"]) == sorted(PART_A[3:])


def test_an_account_the_fill_listed_says_so():
    """Part B, listed for the /48 without a link to the seeds, says so in ``why``; part A's members do not."""
    from graphlink.stages.expand import rank_accounts

    links, linking, accounts = split_cell_world()
    ranked = rank_accounts(links, linking, accounts, SEEDS).filter(pl.col("rank") > 0)
    why = dict(zip(ranked["account_id"], ranked["why"]))
    assert all(why[b].startswith(f"added for the seeds' narrowest common address IP network {BLOCK} (12 accounts), "
                                 "not reached through links: ") for b in PART_B)
    assert not any(why[a].startswith("added") for a in PART_A[3:])


def hosting_block(customers_clustered: bool,
                  customers_client: bool = False) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``links, linking, accounts``: a cell of 12 (cluster 1, a clique, 3 cards, client ``opbot/2``) on a hosting
    /24 with 40 other customers (each its own server address; with ``customers_clustered`` Leiden put them in
    one cluster 2, tied by a framework they all run, ``fw/1``; with ``customers_client`` they run the cell's
    client too); 3,000 ordinary accounts hold nothing. The /24 is held by 52 of 3,052 (three seeds by chance:
    5e-6)."""
    cell = [f"c{i:02d}" for i in range(12)]
    hosts = [f"h{i:02d}" for i in range(40)]
    pairs = clique(cell, 1.0) + (clique(hosts, 0.3) if customers_clustered else [])
    links = pl.DataFrame(pairs, schema={"source": pl.String, "target": pl.String, "weight": pl.Float64},
                         orient="row")
    rows = [(a, "ip_net", "34.90.12.0/24", 52, 0.1) for a in cell + hosts]
    rows += [(a, "payment", f"card{i % 3}", 4, 3.0) for i, a in enumerate(cell)]
    rows += [(a, "user_agent", "opbot/2", 52 if customers_client else 12, 0.05)
             for a in cell + (hosts if customers_client else [])]
    rows += [(a, "user_agent", "fw/1", 40, 0.02) for a in hosts] if customers_clustered else []
    linking = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    others = [f"o{i:04d}" for i in range(3000)]
    accounts = pl.DataFrame({"account_id": cell + hosts + others,
                             "cluster_id": [1] * 12 + ([2] * 40 if customers_clustered else [None] * 40)
                             + [None] * 3000, "campaign_id": [7] * 12 + [None] * 3040}, schema=ACCOUNTS)
    return links, linking, accounts


def test_customers_of_the_seeds_slash24_are_not_listed_clustered_or_not():
    """The cell's 9 other members are listed, none of the 40 customers: the /24 is all the seeds share with them,
    and the list (12) is a corner of its 52 holders, even where Leiden put the customers in a cluster of their
    own made of holders of the /24, or where they run the seeds' client too (a second value every seed holds:
    eligible, but the walk never reached them, so only the fill could list them, and 12 of 52 is no share)."""
    from graphlink.stages.expand import rank_accounts

    for clustered, client in ((False, False), (True, False), (False, True), (True, True)):
        links, linking, accounts = hosting_block(clustered, client)
        got = rank_accounts(links, linking, accounts, ["c00", "c01", "c02"]).filter(pl.col("rank") > 0)
        assert sorted(got["account_id"]) == [f"c{i:02d}" for i in range(3, 12)], (clustered, client)
