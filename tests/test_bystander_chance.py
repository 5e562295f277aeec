"""Address bystanders judged against chance (session 55): a person on a ring's exit whose few prompts happen to
share a template's passage.

On dev independent 177 at 224,000 accounts main flagged 96 ordinary people, each in a small cluster of ring
accounts, one address and one event from one of them, with 2-17 prompts: two of six prompts sharing some
passage read as a third of its prompts, over a quarter of the ring's rate, so the person read "on the script".
At the rate accounts writing their own prompts share a passage (``background_rate``) two of six is chance.
"""

import polars as pl
import pytest

import graphlink.stages.outsiders as outsiders
from graphlink.stages.outsiders import CHANCE_ALPHA, PHRASING_SHARE, address_bystanders, background_rate

U32 = {"account_idx": pl.UInt32}
CARD, TEMPLATE, EXIT, HEAD = 10, 11, 12, 13
RING = (0, 1, 2, 3)
PERSON = 4


def world(person=(6, 2), crowd=((10, 1),) * 50, person_rows=((PERSON, EXIT),), extra_stats=()):
    """Cluster 1: four ring accounts (0-3) paying from one card and sending one template in all 10 sampled
    prompts; the person (4) shares the exit address account 0 passed through, ``person`` = (sampled,
    scripted). ``crowd``: accounts in no cluster (5, 6, ...), each (sampled, scripted)."""
    clusters = pl.DataFrame({"account_idx": [*RING, PERSON], "cluster_id": [1] * 5}, schema_overrides=U32)
    rows = [(a, CARD) for a in RING] + [(a, TEMPLATE) for a in RING] + [(0, EXIT), *person_rows]
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [CARD, TEMPLATE, EXIT, HEAD], "kind": ["payment", "prompt", "ip", "prompt"],
                            "df": [5, 4, 3, 400]}, schema_overrides={"signal_idx": pl.UInt32})
    counts = [(10, 10)] * 4 + [person] + list(crowd) + list(extra_stats)
    stats = pl.DataFrame({"account_idx": list(range(len(counts))), "prompts_sampled": [c[0] for c in counts],
                          "prompts_scripted": [c[1] for c in counts]}, schema_overrides=U32)
    return clusters, memberships, signals, stats


def bystanders(clusters, memberships, signals, stats):
    return address_bystanders(clusters, memberships, signals, stats)["account_idx"].to_list()


def test_a_person_with_two_chance_passages_in_six_prompts_is_a_bystander():
    # Two of six is over the quarter of the ring's rate: the quarter alone keeps the person.
    assert 2 / 6 >= PHRASING_SHARE * 1.0
    # The crowd writing its own prompts shares a passage in 1 of 10: two of six is chance (P ~ 0.11).
    assert bystanders(*world()) == [PERSON]
    # Without accounts outside the cluster there is no rate to judge chance by: the quarter rule alone.
    clusters, memberships, signals, stats = world(crowd=())
    assert bystanders(clusters, memberships, signals, stats) == []


def test_chance_is_measured_on_accounts_writing_their_own_prompts():
    crowd = ((10, 1),) * 50
    # A framework's users send its public system prompt in every prompt: on a script, not chance.
    framework = ((10, 10),) * 100
    clusters, memberships, signals, stats = world(crowd=crowd, extra_stats=framework)
    assert background_rate(stats, clusters) == pytest.approx(0.1)
    assert bystanders(clusters, memberships, signals, stats) == [PERSON]
    # If everyone outside writes a passage in half of their prompts, two of six is no evidence either way:
    # those accounts are on a script, so only the people writing their own are counted ...
    heavy = ((10, 4),) * 50
    clusters, memberships, signals, stats = world(crowd=heavy)
    assert background_rate(stats, clusters) == pytest.approx(0.4)
    # ... and at 40 % two of six is chance again: still a bystander.
    assert bystanders(clusters, memberships, signals, stats) == [PERSON]


@pytest.mark.parametrize("person", [(2, 2), (5, 3), (10, 4)])
def test_an_operator_account_beyond_chance_stays(person):
    # Two of two, three of five, four of ten (camouflaged: the template among ordinary prompts) are each
    # under CHANCE_ALPHA likely at 10 %: the account phrases like the ring.
    assert bystanders(*world(person=person)) == []


def test_a_member_on_the_others_card_keeps_the_quarter_rule():
    # One scripted prompt of one is chance (P 0.1), but the account pays with the ring's card: an operator's
    # short-lived account, judged by the quarter alone (dev independent 1: 40 such ring accounts).
    assert bystanders(*world(person=(1, 1), person_rows=((PERSON, EXIT), (PERSON, CARD)))) == []
    # Off the quarter, holding the card alone, it is the card's owner (stolen or bought), a bystander as before
    # (session 19); with the card and the ring's exit it is two links, kept as before.
    assert bystanders(*world(person=(10, 0), person_rows=((PERSON, CARD),))) == [PERSON]
    assert bystanders(*world(person=(10, 0), person_rows=((PERSON, EXIT), (PERSON, CARD)))) == []


def test_a_person_sharing_a_passage_with_another_bystander_only_goes_too():
    # Two people on the ring's exits sharing a stock phrase with each other (held by 400 accounts): neither
    # is on the script, so neither keeps the other.
    clusters, memberships, signals, stats = world()
    clusters = pl.concat([clusters, pl.DataFrame({"account_idx": [5], "cluster_id": [1]}, schema_overrides=U32)])
    rows = pl.DataFrame([(PERSON, HEAD), (5, HEAD), (5, EXIT)], schema=memberships.schema, orient="row")
    stats = stats.with_columns(pl.when(pl.col("account_idx") == 5).then(2).otherwise(pl.col("prompts_scripted"))
                               .alias("prompts_scripted"))
    assert 5 in stats["account_idx"].to_list()
    assert sorted(bystanders(clusters, pl.concat([memberships, rows]), signals, stats)) == [PERSON, 5]


def test_the_clause_turns_off(monkeypatch):
    assert CHANCE_ALPHA > 0
    monkeypatch.setattr(outsiders, "CHANCE_ALPHA", 0)
    assert bystanders(*world()) == []
