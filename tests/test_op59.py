"""Misplaced members (session 59, helper op59): a member paying only with another cluster's cards moves there.

Hand-built partitions: cluster 1 (accounts 0-5, operator X's cell on a rented address pool) and cluster 2 (accounts
10-14, operator Y's cell paying with its card pool). Account 5 sits in cluster 1 (it shares the pool's addresses)
but pays with cluster 2's card; each case changes one thing and says where account 5 must end.
"""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.config import CommunityConfig, GraphConfig, PipelineConfig
from graphlink.stages.join_notes import MISPLACED, member_notes, with_grouping_reason
from graphlink.stages.misplaced import MIN_HOME_HOLDERS, MIN_REMNANT, misplaced_members, misplaced_stage, moved_home

POOL = [100, 101, 102]  # cluster 1's rented addresses (ip)
CARD_Y = 200            # cluster 2's card
Y_ADDR = 300            # an address cluster 2's members use
KINDS = {**{v: "ip" for v in POOL}, CARD_Y: "payment", Y_ADDR: "ip", 201: "payment", 202: "payment", 203: "payment",
         400: "payment", 401: "payment", 500: "ip", 600: "payment", 601: "payment", 602: "payment",
         700: "prompt", 701: "prompt", 702: "prompt", 800: "timing"}


def _part(extra: dict[int, int] | None = None) -> pl.DataFrame:
    rows = {**{a: 1 for a in range(6)}, **{a: 2 for a in range(10, 15)}, **(extra or {})}
    return pl.DataFrame({"account_idx": list(rows), "cluster_id": list(rows.values())},
                        schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})


def _aff(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame({"account_idx": [a for a, _ in pairs], "signal_idx": [s for _, s in pairs]},
                        schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})


def _sig(df: int = 4) -> pl.DataFrame:
    return pl.DataFrame({"signal_idx": list(KINDS), "kind": list(KINDS.values()), "value": [str(v) for v in KINDS],
                         "df": [df] * len(KINDS), "weight": [1.0] * len(KINDS), "linked": [True] * len(KINDS)},
                        schema_overrides={"signal_idx": pl.UInt32})


def _base(card_payers_in_2: int = 3, shares_y_addr: bool = True) -> list[tuple[int, int]]:
    pairs = [(a, v) for a in range(6) for v in POOL]  # cluster 1: the pool
    pairs += [(a, CARD_Y) for a in range(10, 10 + card_payers_in_2)] + [(a, Y_ADDR) for a in range(10, 15)]
    pairs += [(5, CARD_Y)]
    if shares_y_addr:
        pairs += [(5, Y_ADDR)]
    return pairs


def _moved(part: pl.DataFrame, pairs: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    return misplaced_members(part, _aff(pairs), _sig(), GraphConfig()).select("account_idx", "cluster_id", "home").rows()


def test_member_paying_with_another_clusters_card_moves_there():
    assert _moved(_part(), _base()) == [(5, 1, 2)]


def test_card_alone_is_where_an_owner_meets_its_payers():
    # No address or passage shared with cluster 2 beside the card: a stolen card's owner, not a member.
    assert _moved(_part(), _base(shares_y_addr=False)) == []


def test_a_card_one_member_of_the_other_cluster_pays_with_is_no_home():
    assert MIN_HOME_HOLDERS == 2
    assert _moved(_part(), _base(card_payers_in_2=1)) == []
    assert _moved(_part(), _base(card_payers_in_2=2)) == [(5, 1, 2)]


def test_a_card_of_its_own_cluster_keeps_it():
    # Account 5 also pays with card 201, which account 4 of its own cluster pays with: it has a card of cluster 1's.
    assert _moved(_part(), _base() + [(5, 201), (4, 201)]) == []


def test_a_card_its_cluster_holds_as_much_is_not_carried():
    # Three of cluster 1's others pay with the card too (as many as cluster 2's three): the card is not cluster 2's.
    pairs = _base() + [(a, CARD_Y) for a in (2, 3, 4)]
    assert _moved(_part(), pairs) == []
    # In a cluster of nine, two others paying with it and two of cluster 2's: as many here as there, not carried ...
    big = _part({6: 1, 7: 1, 8: 1})
    # (cluster 2's payers also pay with card 203 among themselves: a card of their own keeps them in cluster 2).
    own2 = [(a, 203) for a in (10, 11, 12)]
    pairs = _base(card_payers_in_2=2) + [(a, v) for a in (3, 4) for v in (CARD_Y, Y_ADDR)] + own2
    assert _moved(big, pairs) == []
    # ... and with three of cluster 2's it is carried by all three (a minority of nine), who move.
    pairs = _base(card_payers_in_2=3) + [(a, v) for a in (3, 4) for v in (CARD_Y, Y_ADDR)] + own2
    assert [r[0] for r in _moved(big, pairs)] == [3, 4, 5]


def test_only_a_minority_of_a_cluster_is_misplaced():
    # Accounts 3, 4, 5 (half of cluster 1) pay with cluster 2's card and use its address: cluster 1 is its sibling.
    pairs = _base() + [(a, v) for a in (3, 4) for v in (CARD_Y, Y_ADDR)]
    assert _moved(_part(), pairs) == []
    pairs = _base() + [(a, v) for a in (4,) for v in (CARD_Y, Y_ADDR)]  # 2 of 6: a minority
    assert sorted(r[0] for r in _moved(_part(), pairs)) == [4, 5]


def test_a_move_leaves_a_bound_remnant():
    # Cluster 1 of three (accounts 3, 4, 5): account 5 leaving would leave a pair, joined perhaps only through it.
    assert MIN_REMNANT == 3
    small = _part().filter(~pl.col("account_idx").is_in([0, 1, 2]))
    assert _moved(small, _base()) == []
    # Of four, three stay behind: it moves.
    assert _moved(_part().filter(pl.col("account_idx") != 0), _base()) == [(5, 1, 2)]


def test_cells_trading_cards_keep_their_members():
    # Account 0 stays in cluster 1 (cards 201 with account 1) and pays with card 202 that accounts 11, 12 of cluster 2
    # pay with: the clusters' own members trade cards, so account 5 on cluster 2's card is no contamination.
    pairs = _base() + [(0, 201), (1, 201), (0, 202), (11, 202), (12, 202)]
    assert _moved(_part(), pairs) == []
    # The same card shared only with account 5's fellow misplaced member does not count as a trade.
    assert _moved(_part(), _base() + [(0, 201), (1, 201)]) == [(5, 1, 2)]


def test_what_it_writes_ties_it_to_its_own_cluster():
    # Account 5 writes two passages accounts 0 and 1 of its own cluster write, and one cluster 2's members write:
    # its template is its own cluster's, whoever's card it pays with.
    pairs = _base() + [(a, 700) for a in (0, 1, 5)] + [(a, 701) for a in (0, 5)] + [(a, 702) for a in (10, 11, 5)]
    assert _moved(_part(), pairs) == []
    # As many passages in common with cluster 2 as with its own: the pool is its only tie to its cluster.
    pairs = _base() + [(a, 700) for a in (0, 1, 5)] + [(a, 702) for a in (10, 11, 5)]
    assert _moved(_part(), pairs) == [(5, 1, 2)]
    # Its clock likewise (timing is behaviour too).
    assert _moved(_part(), _base() + [(a, 800) for a in (0, 5)]) == []


def test_clusters_one_campaign_without_it_keep_it():
    # Every member of both clusters (account 5 too) writes passages 700 and 701: without account 5 the two clusters
    # are tied by their template at the grouping's resolution, so they are one operator's cells and 5 stays.
    both = [a for a in range(6)] + [a for a in range(10, 15)]
    pairs = _base() + [(a, v) for a in both for v in (700, 701)]
    sig = _sig(df=len(both))
    assert misplaced_members(_part(), _aff(pairs), sig, GraphConfig(), CommunityConfig(), 15).height == 0
    # At a resolution above that similarity they are no campaign, and 5 moves.
    moved = misplaced_members(_part(), _aff(pairs), sig, GraphConfig(), CommunityConfig(campaign_resolution=0.999), 15)
    assert moved["account_idx"].to_list() == [5]


def test_home_is_the_cluster_holding_most_payers():
    # Cluster 3 (accounts 20-23) pays with card 400; account 5 pays with card 200 (3 payers in 2) and 400 (4 in 3).
    part = _part({20: 3, 21: 3, 22: 3, 23: 3})
    pairs = _base() + [(a, 400) for a in (20, 21, 22, 23, 5)] + [(20, 500), (5, 500)]
    assert _moved(part, pairs) == [(5, 1, 3)]


def test_unclustered_payers_and_singleton_cards_do_not_count():
    # The card's other payers are in no cluster: nothing is another cluster's.
    part = _part().filter(~pl.col("account_idx").is_in([10, 11, 12]))
    assert _moved(part, _base()) == []
    # A card no other account pays with.
    assert _moved(_part(), [(a, v) for a in range(6) for v in POOL] + [(5, 600)]) == []


def test_no_card_kind_no_move():
    sig = _sig().with_columns(pl.lit("ip").alias("kind"))
    assert misplaced_members(_part(), _aff(_base()), sig).height == 0


def test_moved_home_moves_member_and_its_whole():
    part = _part()
    wholes = part.with_columns(pl.when(pl.col("cluster_id") == 1).then(7).otherwise(9).alias("cluster_id"))
    moved = misplaced_members(part, _aff(_base()), _sig())
    new, new_wholes = moved_home(part, wholes, moved)
    assert dict(new.select("account_idx", "cluster_id").iter_rows())[5] == 2
    assert dict(new_wholes.select("account_idx", "cluster_id").iter_rows())[5] == 9
    assert new.height == part.height and new_wholes.height == wholes.height
    same, same_wholes = moved_home(part, None, moved.head(0))
    assert same.equals(part) and same_wholes is None


class _Projection:
    def __init__(self, memberships, signals, joins=None):
        self.memberships, self.signals, self.joins = memberships, signals, joins


def test_stage_moves_and_says_why():
    part, proj = _part(), _Projection(_aff(_base()), _sig())
    new, wholes, joins = misplaced_stage(part, None, proj, GraphConfig())
    assert wholes is None
    assert joins["account_idx"].to_list() == [5] and joins["step"].to_list() == [MISPLACED]
    home = int(new.filter(pl.col("account_idx") == 5)["cluster_id"].item())
    mates = new.filter(pl.col("account_idx").is_in([10, 11]))["cluster_id"].unique().to_list()
    assert mates == [home]  # with cluster 2's members (after renumbering)
    clusters = new.drop_nulls("cluster_id").select("cluster_id").unique().with_columns(pl.lit("shared cards").alias("why"))
    why = dict(with_grouping_reason(clusters, joins, new, _sig()).iter_rows())
    assert "moved in: 1 account" in why[home] and "(misplaced members)" in why[home] and "payment card 200" in why[home].lower()
    index = pl.DataFrame({"account_idx": list(range(15)), "account_id": [f"u{i}" for i in range(15)]},
                         schema_overrides={"account_idx": pl.UInt32})
    notes = member_notes(joins, new, _sig(), index)
    assert notes["account_id"].to_list() == ["u5"] and "(misplaced)" in notes["joined_by"].item()


def test_stage_keeps_earlier_joins_and_does_nothing_when_none_is_misplaced():
    earlier = pl.DataFrame({"account_idx": [0], "step": ["own values"], "values": [[100]], "owned": [1], "held": [1]},
                           schema_overrides={"account_idx": pl.UInt32, "values": pl.List(pl.UInt32), "owned": pl.UInt32,
                                             "held": pl.UInt32})
    new, _, joins = misplaced_stage(_part(), None, _Projection(_aff(_base()), _sig(), earlier), GraphConfig())
    assert joins["step"].to_list() == ["own values", MISPLACED]
    part = _part()
    same, _, joins = misplaced_stage(part, None, _Projection(_aff(_base(shares_y_addr=False)), _sig(), earlier), GraphConfig())
    assert same.equals(part) and joins.equals(earlier)


def test_off_by_default():
    assert CommunityConfig().misplaced_members is False
    assert PipelineConfig().communities.misplaced_members is False
    with pytest.raises(TypeError):
        CommunityConfig(misplaced=True)  # the switch's name is misplaced_members
