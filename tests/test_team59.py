"""Session 59 (team59): a stock phrase keeps no address bystander.

Failure (dev independent 176 at 224,000 accounts, ``--orgs --agent-fleets``, events only): 45 ordinary people
flagged, each a VPN user sharing an exit address with a few ring accounts. 19 of them were kept in their cluster by
the address-bystander rule only because they held a prompt phrase with a ring account on the script -- a stock
phrase ("me a fun fact about", "make a study plan for") that the ring account's camouflage prompts write as tens
of thousands of people do (about 78,000 writers, a tenth of them in flagged clusters). Sharing such a phrase with
a fleet's account is chance, not a tie. With ``[scoring] public_phrases`` a prompt phrase keeps a member only when
it is the flagged clusters' own: at least ``SPECIFIC_SHARE`` of its writers in the whole log are their members, as
for fleet outsiders' cards and templates.
"""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.config import ScoringConfig, build_config
from graphlink.stages.campaign_flags import SPECIFIC_SHARE
from graphlink.stages.outsiders import address_bystanders, set_apart_members

U32 = {"account_idx": pl.UInt32}
CARD, TEMPLATE, EXIT, PHRASE = 10, 11, 12, 13
ON = ScoringConfig(public_phrases=True)


def piece(phrase_df: int = 60, phrase_holders=(1, 3), flagged: bool = True, outside=()):
    """Cluster 1: ring accounts 0-2 on one card and one template (9 of 10 prompts scripted); account 3, a person
    (1 of 10), shares the exit address account 0 used and holds ``PHRASE`` (written by ``phrase_df`` accounts in
    the log) with ``phrase_holders``. ``outside``: accounts of a second cluster (2, flagged) holding the phrase."""
    n = 4 + len(outside)
    clusters = pl.DataFrame({"account_idx": list(range(n)), "cluster_id": [1] * 4 + [2] * len(outside)},
                            schema_overrides=U32)
    rows = ([(a, CARD) for a in (0, 1, 2)] + [(a, TEMPLATE) for a in (0, 1, 2)] + [(0, EXIT), (3, EXIT)]
            + [(a, PHRASE) for a in phrase_holders] + [(a, PHRASE) for a in range(4, n)])
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [CARD, TEMPLATE, EXIT, PHRASE], "kind": ["payment", "prompt", "ip", "prompt"],
                            "df": [3, 3, 40, phrase_df]}, schema_overrides={"signal_idx": pl.UInt32})
    stats = pl.DataFrame({"account_idx": list(range(n)), "prompts_sampled": [10] * n,
                          "prompts_scripted": [9, 9, 9, 1] + [9] * len(outside)}, schema_overrides=U32)
    scored = pl.DataFrame({"cluster_id": [1, 2], "flagged": [flagged, True], "ip_spread": [0.0, 0.0]})
    return clusters, scored, memberships, signals, stats


def apart(args, config=ON):
    clusters, scored, memberships, signals, stats = args
    return set_apart_members(clusters, scored, None, config, memberships, signals, account_stats=stats).rows()


def test_a_stock_phrase_shared_with_a_ring_account_keeps_the_person_only_without_the_switch():
    # Sixty writers, two of them in the flagged cluster: the phrase is public, the exit address its only tie.
    assert apart(piece()) == [(3, 1, "bystander")]
    assert apart(piece(), ScoringConfig(public_phrases=False)) == []  # the rule before: any shared phrase keeps
    assert ScoringConfig().public_phrases is True  # on by default since session 60 (def60: the whole dev sweep held)


def test_the_flagged_clusters_own_phrase_keeps_the_member():
    # Most of its writers are the flagged clusters' members (here 3 of 4): the operator's, a tie.
    assert apart(piece(phrase_df=4, phrase_holders=(1, 2, 3))) == []
    # Its writers in another flagged cluster of the operator count too (2 here + 3 there of 6).
    assert apart(piece(phrase_df=6, outside=(4, 5, 6))) == []


@pytest.mark.parametrize("inside, df, public", [(2, 4, False), (2, 5, True), (3, 6, False), (3, 7, True)])
def test_public_means_fewer_than_the_specific_share_of_writers_in_flagged_clusters(inside, df, public):
    # ``inside`` writers in flagged clusters (1 and 3 in cluster 1, the rest in cluster 2) of ``df`` in the log.
    args = piece(phrase_df=df, outside=tuple(range(4, 4 + inside - 2)))
    assert (inside < SPECIFIC_SHARE * df) is public
    assert apart(args) == ([(3, 1, "bystander")] if public else [])


def test_a_phrase_written_in_the_members_own_cluster_is_its_own_before_the_cluster_is_flagged():
    # The same piece, not flagged (yet), its three writers all in the member's own cluster: the piece's own passage
    # (session 60, def60: the member's cluster counts beside the flagged ones; session 59 called it public).
    assert apart(piece(phrase_df=3, phrase_holders=(1, 2, 3), flagged=False)) == []
    # Written in that cluster by 3 of 60 writers in the log: public, flagged clusters or not.
    assert apart(piece(phrase_df=60, phrase_holders=(1, 2, 3), flagged=False)) == [(3, 1, "bystander")]
    assert apart(piece(phrase_df=3, phrase_holders=(1, 2, 3), flagged=False), ScoringConfig(public_phrases=False)) == []


def test_the_switch_changes_nothing_for_a_member_on_the_card_and_exit_or_on_the_script():
    clusters, scored, memberships, signals, stats = piece()
    on_card = pl.concat([memberships, pl.DataFrame({"account_idx": [3], "signal_idx": [CARD]}, schema=memberships.schema)])
    assert apart((clusters, scored, on_card, signals, stats)) == []  # card + exit: two independent links
    scripted = stats.with_columns(pl.when(pl.col("account_idx") == 3).then(8).otherwise(pl.col("prompts_scripted"))
                                  .alias("prompts_scripted"))
    assert apart((clusters, scored, memberships, signals, scripted)) == []  # phrasing like the piece


def test_address_bystanders_reads_public_phrases_only_when_given_the_flagged_clusters():
    clusters, scored, memberships, signals, stats = piece()
    flagged = scored.filter("flagged").select("cluster_id")
    assert address_bystanders(clusters, memberships, signals, stats).rows() == []
    assert address_bystanders(clusters, memberships, signals, stats, flagged=flagged).rows() == [(3, 1)]
    # Without writer counts (no ``df``) no phrase can be judged public: as without the flagged clusters.
    assert address_bystanders(clusters, memberships, signals.drop("df"), stats, flagged=flagged).rows() == []


def test_the_switch_is_a_scoring_setting(tmp_path):
    toml = tmp_path / "on.toml"
    toml.write_text("[scoring]\npublic_phrases = true\n")
    assert build_config(toml=toml).scoring.public_phrases is True
