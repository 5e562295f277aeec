"""Session 60, helper def60: session 59's opt-in switches toward their defaults.

Hand-built inputs, each with the answer it must give:

* misplaced members (``[communities] misplaced_members``): a move must not leave a member that stays without what it
  does -- one that shares more behaviour values (passages, clock) with the movers than with the others staying was
  tied to its cluster through them (dev d304 / d305: a ring account whose template only the mover wrote beside it,
  left with two people on its exits, lost the flag it had where it stood);
* card campaigns' second tie (``[scoring] card_campaigns``): a value most flagged accounts hold (a stock bot client, a
  throwaway mail domain, cron's clock) is the bots' commonplace, no one operator's mark, and no second tie;
* public phrases (``[scoring] public_phrases``, on by default since this session): a phrase written mostly in the
  member's own cluster is its own even before that cluster is flagged.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.card_second_ties import STOCK_SHARE, own_ties, own_values
from graphlink.stages.misplaced import misplaced_members

# ---------------------------------------------------------------------------------------------------------------
# misplaced members: the member staying behind
# ---------------------------------------------------------------------------------------------------------------
#: Cluster 1 (accounts 0-5) on a rented pool (addresses 100-102); cluster 2 (accounts 10-14) paying with card 200 and
#: using address 300. Account 5 sits in cluster 1 but pays with card 200 and uses address 300 (test_op59's shape).
KINDS = {100: "ip", 101: "ip", 102: "ip", 200: "payment", 300: "ip", 700: "prompt", 701: "prompt", 702: "prompt"}


def moved(extra: list[tuple[int, int]]) -> list[int]:
    part = pl.DataFrame({"account_idx": list(range(6)) + list(range(10, 15)), "cluster_id": [1] * 6 + [2] * 5},
                        schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    pairs = [(a, v) for a in range(6) for v in (100, 101, 102)] + [(a, 200) for a in (10, 11, 12)]
    pairs += [(a, 300) for a in range(10, 15)] + [(5, 200), (5, 300)] + extra
    aff = pl.DataFrame(pairs, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": list(KINDS), "kind": list(KINDS.values()), "df": [4] * len(KINDS),
                        "weight": [1.0] * len(KINDS), "linked": [True] * len(KINDS)}, schema_overrides={"signal_idx": pl.UInt32})
    return misplaced_members(part, aff, sig, GraphConfig())["account_idx"].to_list()


def test_a_member_whose_only_writing_mate_is_the_mover_keeps_it():
    # Account 5 writes passage 700 with account 4 (no one else in cluster 1) and passage 702 with cluster 2: as many
    # with each, so by what it does alone it would move. But account 4 shares what it writes with account 5 only:
    # without 5 it is left among the others on the pool, so 5 stays.
    assert moved([(4, 700), (5, 700), (5, 702), (10, 702), (11, 702)]) == []


def test_a_member_with_writing_mates_left_lets_the_mover_go():
    # Account 3 writes passage 700 too: account 4 keeps a mate in its cluster (one value with the others staying,
    # one with the mover: not more with the mover), and account 5 moves.
    assert moved([(3, 700), (4, 700), (5, 700), (5, 702), (10, 702), (11, 702)]) == [5]
    # Without any passage in common with its cluster, account 5 moves (test_op59's base case).
    assert moved([]) == [5]


def test_the_staying_member_counts_values_not_mates():
    # Account 4 shares two passages with the mover (700, 701) and one with account 3 (702): more with the mover, so 5
    # stays -- though 5 itself writes no more with cluster 1 than with cluster 2 (702 is written there too).
    extra = [(4, 700), (5, 700), (4, 701), (5, 701), (3, 702), (4, 702), (5, 702), (10, 702), (11, 702)]
    assert moved(extra + [(a, 701) for a in (12, 13)]) == []


# ---------------------------------------------------------------------------------------------------------------
# card campaigns' second tie: stock values among the flagged
# ---------------------------------------------------------------------------------------------------------------
def flagged_log(holders: int, outside: int = 0, kind: str = "user_agent"):
    """Campaigns 1 (40 accounts) and 2 (20), 60 flagged accounts; value 0 of ``kind`` held by the first ``holders``
    of campaign 1 and of campaign 2 each, and by ``outside`` accounts in no campaign."""
    wh = pl.DataFrame({"account_idx": list(range(60)), "campaign_id": [1] * 40 + [2] * 20}, schema_overrides={"account_idx": pl.UInt32})
    acc = list(range(holders)) + list(range(40, 40 + holders))
    aff = pl.DataFrame({"account_idx": acc + list(range(1000, 1000 + outside)), "signal_idx": [0] * (len(acc) + outside)},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [0], "kind": [kind], "df": [len(acc) + outside], "linked": [True]},
                       schema_overrides={"signal_idx": pl.UInt32})
    return wh, aff, sig


def test_a_value_most_flagged_accounts_hold_is_no_own_value():
    assert STOCK_SHARE == 0.5
    # 20 + 20 of 60 flagged accounts (two thirds) send the agent: the bots' stock client, not one operator's.
    wh, aff, sig = flagged_log(20)
    assert own_values(wh, aff, sig).to_list() == []
    assert own_ties(wh, aff, sig, 224_000).height == 0
    # 14 + 14 (28 of 60, under half): rare among the flagged as in the log -- an operator's own client, a tie.
    wh, aff, sig = flagged_log(14)
    assert own_values(wh, aff, sig).to_list() == [0]
    assert sorted(own_ties(wh, aff, sig, 224_000).rows()) == [(1, 2, "user_agent"), (2, 1, "user_agent")]


def test_the_stock_share_is_asked_of_every_own_kind():
    # A mail domain, a clock band, an address block held by 40 of 60 flagged accounts alike: none is an own value.
    for kind in ("email_domain", "timing", "ip_net"):
        wh, aff, sig = flagged_log(20, kind=kind)
        assert own_values(wh, aff, sig).to_list() == [], kind
    # And the log's own test still stands: 14 + 14 flagged and 4 ordinary holders (28 of 32, under 90 %) is no own value.
    wh, aff, sig = flagged_log(14, outside=4)
    assert own_values(wh, aff, sig).to_list() == []


# ---------------------------------------------------------------------------------------------------------------
# public phrases: on by default; the member's own cluster counts beside the flagged ones
# ---------------------------------------------------------------------------------------------------------------
def bystander_piece(phrase_df: int, flagged: bool):
    """Cluster 1: ring accounts 0-2 on card 10 and template 11 (9 of 10 prompts scripted); account 3, a person (1 of
    10 scripted), on the exit 12 account 0 used, writing phrase 13 (``phrase_df`` writers in the log) with account 1."""
    u32 = {"account_idx": pl.UInt32}
    clusters = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1] * 4}, schema_overrides=u32)
    rows = [(a, 10) for a in (0, 1, 2)] + [(a, 11) for a in (0, 1, 2)] + [(0, 12), (3, 12), (1, 13), (3, 13)]
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [10, 11, 12, 13], "kind": ["payment", "prompt", "ip", "prompt"],
                            "df": [3, 3, 40, phrase_df]}, schema_overrides={"signal_idx": pl.UInt32})
    stats = pl.DataFrame({"account_idx": [0, 1, 2, 3], "prompts_sampled": [10] * 4, "prompts_scripted": [9, 9, 9, 1]},
                         schema_overrides=u32)
    scored = pl.DataFrame({"cluster_id": [1], "flagged": [flagged], "ip_spread": [0.0]})
    return clusters, scored, memberships, signals, stats


def set_apart(args, **config):
    from graphlink.config import ScoringConfig
    from graphlink.stages.outsiders import set_apart_members
    clusters, scored, memberships, signals, stats = args
    return set_apart_members(clusters, scored, None, ScoringConfig(**config), memberships, signals, account_stats=stats)["account_idx"].to_list()


def test_public_phrases_are_on_by_default():
    from graphlink.config import ScoringConfig
    assert ScoringConfig().public_phrases is True
    # A phrase sixty accounts of the log write, two of them here: chance, it keeps nobody (off: it kept the person).
    assert set_apart(bystander_piece(60, flagged=True)) == [3]
    assert set_apart(bystander_piece(60, flagged=True), public_phrases=False) == []


def test_a_phrase_only_the_members_own_cluster_writes_is_no_public_phrase_before_it_is_flagged():
    # Not flagged yet (flagged later through its campaign), the phrase's two writers in the log both in cluster 1:
    # its own passage, not strangers' -- it keeps the person as it did before public phrases (session 59 set it apart).
    assert set_apart(bystander_piece(2, flagged=False)) == []
    # Three writers in the log, two of them here (2 >= half of 3): still its own. Five (2 < 2.5): public.
    assert set_apart(bystander_piece(3, flagged=False)) == []
    assert set_apart(bystander_piece(5, flagged=False)) == [3]
