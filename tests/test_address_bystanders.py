"""Address bystanders (session 14): an ordinary account linked into a small ring piece by one exit address.

On the independent dev worlds 39 of the 48 ordinary accounts flagged (events only) shared exactly one
address (and its /24) with their cluster, and nothing else: VPN users on the commercial proxy network
the ring's piece rotates through, in clusters of 2-9 accounts. The fleet-outsider rule never judged them:
their clusters were flagged later through their campaign (too small to be flagged on their own), or
did not rotate enough, and one bystander in a cluster of four puts the cover of the cluster's own values
at 3/4, under ``IDENTITY_COVER``.
"""

import polars as pl

from graphlink.stages.outsiders import (IDENTITY_COVER, MIN_FLEET_PHRASING, PHRASING_SHARE, address_bystanders,
                                        fleet_outsiders)

U32 = {"account_idx": pl.UInt32}
CARD, TEMPLATE, EXIT, STOCK = 10, 11, 12, 13


def piece(extra_rows=(), scripted=(9, 8, 9, 1), sampled=(10, 10, 10, 10)):
    """Cluster 1: three ring accounts (0-2) paying from one card and sending one template; account 3
    shares only the exit address 0 used. Not flagged, no rotation (a piece flagged later by its campaign)."""
    n = len(scripted)
    clusters = pl.DataFrame({"account_idx": list(range(n)), "cluster_id": [1] * n}, schema_overrides=U32)
    rows = ([(a, CARD) for a in (0, 1, 2)] + [(a, TEMPLATE) for a in (0, 1, 2)] + [(0, EXIT), (3, EXIT)]
            + list(extra_rows))
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [CARD, TEMPLATE, EXIT, STOCK], "kind": ["payment", "prompt", "ip", "prompt"],
                            "df": [3, 3, 40, 60]}, schema_overrides={"signal_idx": pl.UInt32})
    stats = pl.DataFrame({"account_idx": list(range(n)), "prompts_sampled": list(sampled),
                          "prompts_scripted": list(scripted)}, schema_overrides=U32)
    scored = pl.DataFrame({"cluster_id": [1], "flagged": [False], "ip_spread": [0.0]})
    return clusters, scored, memberships, signals, stats


def detached(clusters, scored, memberships, signals, stats, config=None):
    return fleet_outsiders(clusters, scored, None, config, memberships=memberships, signals=signals,
                           account_stats=stats).to_list()


def test_a_bystander_linked_by_one_exit_leaves_a_piece_bound_by_its_card_and_template():
    args = piece()
    # Over all four members the cover is 3/4: the bystander alone hid the piece's own values.
    assert 3 / 4 < IDENTITY_COVER <= 3 / 3
    assert 1 / 10 < PHRASING_SHARE * (26 / 30)
    assert detached(*args) == [3]
    assert address_bystanders(args[0], args[2], args[3], args[4]).rows() == [(3, 1)]


def test_members_holding_the_pieces_values_or_phrasing_like_it_stay():
    # Camouflaged: the template in 4 of its 10 prompts, too few for prompt phrases of its own.
    assert detached(*piece(scripted=(9, 8, 9, 4))) == []
    # No sampled prompt: its phrasing is unknown, not zero.
    assert detached(*piece(scripted=(9, 8, 9, 0), sampled=(10, 10, 10, 0))) == []


def test_nobody_is_judged_when_the_others_do_not_vouch_for_the_cluster():
    # A pair (one ring account, one bystander): no other member shows what the cluster is.
    clusters, scored, memberships, signals, stats = piece(scripted=(9, 1), sampled=(10, 10))
    assert detached(clusters, scored, memberships.filter(pl.col("account_idx") < 2), signals, stats) == []
    # The others write freely (under MIN_FLEET_PHRASING of their prompts scripted).
    assert 12 / 30 < MIN_FLEET_PHRASING
    assert detached(*piece(scripted=(4, 4, 4, 0))) == []
    # The others are held together by a stock phrase sixty strangers write: still values they share
    # (the rule only ever keeps more members for it). The bystander shares it too: it kept the bystander until
    # session 60; with public phrases (on by default since session 60, def60: ScoringConfig.public_phrases) a phrase
    # most of whose writers are outside the flagged clusters and the member's own is chance, and keeps no one.
    from graphlink.config import ScoringConfig
    assert detached(*piece(extra_rows=[(3, STOCK), (1, STOCK)])) == [3]
    assert detached(*piece(extra_rows=[(3, STOCK), (1, STOCK)]), ScoringConfig(public_phrases=False)) == []
    # Only two of the three others hold a value with another member (2/3): not known by them; nor by its
    # script, since two of the others send the template in only 4 of their 10 prompts.
    clusters, scored, memberships, signals, stats = piece(scripted=(9, 4, 4, 1))
    sparse = memberships.filter(~pl.col("signal_idx").is_in([CARD, TEMPLATE]) | (pl.col("account_idx") < 2))
    assert 2 / 3 < IDENTITY_COVER and 4 / 10 < MIN_FLEET_PHRASING
    assert detached(clusters, scored, sparse, signals, stats) == []


def test_a_piece_known_by_its_script_alone_loses_its_bystander():
    # Session 19: a sliver of a ring (accounts of several cells met on exit addresses, sharing no card or
    # passage with each other) with an ordinary user on one of its exits. Most other members send the
    # template in most of their prompts: the cluster is known by its script, and the off-script member
    # holding only the address stands out (dev ind s1-3 at 11k: 17 such ordinary accounts flagged).
    clusters, scored, memberships, signals, stats = piece()
    bare = memberships.filter(~pl.col("signal_idx").is_in([CARD, TEMPLATE]))
    assert detached(clusters, scored, bare, signals, stats) == [3]
    # One of the three others off the script (4 of 10) still leaves a majority on it: judged. Two of
    # three off it: the cluster does not vouch, nobody is judged.
    clusters, scored, memberships, signals, stats = piece(scripted=(9, 8, 4, 1))
    assert detached(clusters, scored, bare, signals, stats) == [3]
    clusters, scored, memberships, signals, stats = piece(scripted=(9, 4, 4, 1))
    assert 17 / 30 >= MIN_FLEET_PHRASING and 1 / 10 < PHRASING_SHARE * 17 / 30
    assert detached(clusters, scored, bare, signals, stats) == []


def test_the_setting_that_disables_outsiders_disables_bystanders():
    from graphlink.config import ScoringConfig

    clusters, scored, memberships, signals, stats = piece()
    off = ScoringConfig(outsider_network_share=0.0)
    assert fleet_outsiders(clusters, scored, None, off, memberships, signals, account_stats=stats).to_list() == []


# Session 19 (break18's household whose card a ring used): a card is not the fleet's mark for a member off
# its script -- a stolen card's owner pays with it too -- and values held only with other off-script
# members (a household's own phrasing) are not the fleet's either. Phrasing like the fleet, it stays.
def test_the_owner_of_a_card_the_piece_pays_with_is_judged_by_its_phrasing():
    def off_exit(args):  # account 3 not on the piece's exit: linked by the card alone
        clusters, scored, memberships, signals, stats = args
        return clusters, scored, memberships.filter((pl.col("account_idx") != 3) | (pl.col("signal_idx") != EXIT)), signals, stats
    assert detached(*off_exit(piece(extra_rows=[(3, CARD)]))) == [3]
    assert detached(*off_exit(piece(extra_rows=[(3, CARD)], scripted=(9, 8, 9, 8)))) == []
    # It also holds the template with the piece: the fleet's mark.
    assert detached(*off_exit(piece(extra_rows=[(3, CARD), (3, TEMPLATE)]))) == []
    # On the piece's card AND its exit (break19: an operator's free-writing accounts paying with the ring's
    # cards from its exits): two independent links, it stays.
    assert detached(*piece(extra_rows=[(3, CARD)])) == []


def test_a_household_sharing_its_own_phrasing_and_the_card_is_detached_whole():
    # Accounts 3-4: a household on the card the piece pays with, sharing a passage of their own (STOCK) and
    # their home address (HOME), not the piece's exit.
    home = 14
    rows = [(3, CARD), (4, CARD), (3, STOCK), (4, STOCK), (3, home), (4, home)]

    def world(extra):
        clusters, scored, memberships, signals, stats = piece(extra_rows=rows + extra, scripted=(9, 8, 9, 0, 1),
                                                            sampled=(10, 10, 10, 10, 10))
        memberships = memberships.filter((pl.col("account_idx") != 3) | (pl.col("signal_idx") != EXIT))
        signals = pl.concat([signals, pl.DataFrame({"signal_idx": [home], "kind": ["ip"], "df": [2]},
                                                   schema=signals.schema)])
        return clusters, scored, memberships, signals, stats
    assert detached(*world([])) == [3, 4]
    # A member on the script holding the same passage kept them until session 60; STOCK has sixty writers in the
    # log, so with public phrases (on since session 60) it is no tie. The piece's own passage (TEMPLATE) keeps them.
    from graphlink.config import ScoringConfig
    assert detached(*world([(1, STOCK)])) == [3, 4]
    assert detached(*world([(1, STOCK)]), ScoringConfig(public_phrases=False)) == []
    assert detached(*world([(3, TEMPLATE), (4, TEMPLATE)])) == []
