"""Address bystanders in a cluster whose other members are mostly on a script (session 56).

A small cluster of ring accounts (on the operator's card and template) beside two people on one of its exit
addresses: the people write their own prompts, one of them many. Pooled over the other members, the ring's
rate of scripted prompts is diluted by the busy person's own prompts (under half), so on main the quiet person
was not judged (dev independent 1 with organisations: a person with 57 prompts beside two ring accounts kept a
person with 13 of her own prompts flagged). Most of the other members are on a script: they phrase -- an open
limit (strict xfail below): judging by the majority detached the person on dev, but at 224k dev it churned small
clusters' flags (ordinary people flagged 46 -> 48), so it did not land. The other tests hold on main.
"""

import polars as pl
import pytest

from graphlink.stages.outsiders import address_bystanders

U32 = {"account_idx": pl.UInt32}
CARD, TEMPLATE, EXIT = 10, 11, 12


def world(ring=2, people=((60, 6), (13, 0)), crowd=((10, 1),) * 50):
    """Cluster 1: ``ring`` accounts on one card and one template (10 of 10 prompts), then one account per
    ``people`` entry (sampled, scripted) holding only the exit address account 0 passed through."""
    n = ring + len(people)
    clusters = pl.DataFrame({"account_idx": list(range(n)), "cluster_id": [1] * n}, schema_overrides=U32)
    rows = [(a, CARD) for a in range(ring)] + [(a, TEMPLATE) for a in range(ring)] + [(0, EXIT)]
    rows += [(a, EXIT) for a in range(ring, n)]
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [CARD, TEMPLATE, EXIT], "kind": ["payment", "prompt", "ip"],
                            "df": [ring, ring, n]}, schema_overrides={"signal_idx": pl.UInt32})
    counts = [(10, 10)] * ring + list(people) + list(crowd)
    stats = pl.DataFrame({"account_idx": list(range(len(counts))), "prompts_sampled": [c[0] for c in counts],
                          "prompts_scripted": [c[1] for c in counts]}, schema_overrides=U32)
    return clusters, memberships, signals, stats


def detached(*args) -> list[int]:
    return sorted(address_bystanders(*args)["account_idx"].to_list())


@pytest.mark.xfail(strict=True, reason="open limit: the others' pooled rate, diluted by one busy person, keeps the quiet "
                   "person; the majority clause tried in session 56 moved dev 224k ind177big from 46 to 48 ordinary "
                   "people flagged (small clusters flagged through their campaign after members left) and was not landed")
def test_people_beside_a_ring_are_bystanders_though_one_writes_much():
    # Person 3 (13 prompts, none scripted): the others' pooled rate is (20 + 6) / (20 + 60) = 0.33, under half,
    # but two of the three others are on a script (main: only person 2, whose others' pooled rate is 20 / 33).
    assert detached(*world()) == [2, 3]


def test_a_ring_member_stays():
    # The ring's own accounts are on the script (10 of 10) and hold its card and template with each other.
    assert not {0, 1} & set(detached(*world()))


def test_as_many_colleagues_as_script_writers_stay():
    # Two accounts on a script beside three colleagues on one office address: for each colleague the others are
    # two on a script and two not -- half is not most, so nobody is detached (two groups, not a fleet and strays).
    assert detached(*world(people=((60, 6), (13, 0), (20, 1)))) == []


def test_free_writers_on_the_rings_card_keep_the_pooled_rate():
    # Three bots on the card and template beside three accounts paying with the same card and writing freely (50
    # prompts each, none scripted): an operator's camouflage or a company's staff, a card cannot tell. Pooled, the
    # others' rate is under half; the majority clause is for members paying with none of the others' cards, so
    # the card holders are judged as before (none detached; break-it review brk56).
    # They share no exit with the bots (each writes from a home address of its own): a card and nothing else.
    clusters, memberships, signals, stats = world(ring=3, people=((50, 0),) * 3)
    card = pl.DataFrame({"account_idx": [3, 4, 5], "signal_idx": [CARD] * 3},
                        schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    memberships = pl.concat([memberships.filter((pl.col("account_idx") < 3) | (pl.col("signal_idx") != EXIT)), card])
    assert detached(clusters, memberships, signals, stats) == []
