"""Break-it tests of session 27 for the "strong small cells" flag rule (``strong`` in ``operator_ties``).

Unit-level worlds (like ``tests/test_small_cells.py``): every cluster is a campaign of its own, every value a
prompt phrase. End-to-end: a fleet sending a public framework prompt as camouflage, ordinary developers sending it,
and three heavy users of a small shop behind a commercial VPN that rotates exits (``ip_spread``, ``volume``: they
score >= 0.6 with no template at all) who send the public prompt now and then.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

import graphlink
from graphlink.stages.campaign_flags import operator_ties
from burst_world import START, TOPICS, burst_log
from tests._worlds import prompt_holdings

V = range(6)  # six prompt phrases: one passage of a public prompt


def _ties(clusters, holds, unclustered, loud, strong, n_values):
    """``clusters``: {cluster: accounts}; ``holds``: {cluster: {value: holders}}; ``unclustered``: {value: holders in
    no cluster}. Each cluster is a campaign of its own. Returns {tied cluster: lead}."""
    part, aff, sig, camp = prompt_holdings(clusters, holds, unclustered, n_values)
    out = operator_ties(camp, part, aff, sig, pl.Series(loud, dtype=pl.Int64), strong=pl.Series(strong, dtype=pl.Int64))
    return dict(out.select("cluster_id", "lead").iter_rows())


def test_one_fleet_that_is_a_minority_holder_of_a_public_prompt_ties_no_strong_trio():
    # Holds (the rule works for one operator): fleet 10 of 28 holders.
    assert _ties({1: 10, 3: 3}, {1: {v: 10 for v in V}, 3: {v: 3 for v in V}}, {v: 15 for v in V}, [1], [3], 6) == {}


# Fixed (session 27, brk27b): the strong rule's template is one operator's (the campaign of the loud lead), not
# summed over every loud cluster: two unrelated fleets each holding a public prompt's passage with 10 of its 38
# holders made it 'the operator's template' together and tied a benign strong trio to fleet 1.
def test_two_unrelated_fleets_minority_holders_of_a_public_prompt_tie_no_strong_trio():
    holds = {1: {v: 10 for v in V}, 2: {v: 10 for v in V}, 3: {v: 3 for v in V}}
    assert _ties({1: 10, 2: 10, 3: 3}, holds, {v: 15 for v in V}, [1, 2], [3], 6) == {}


@pytest.mark.xfail(strict=True, reason="'most of whose holders' is `h >= SPECIFIC_SHARE * df` (half is enough): a "
                   "public prompt held by a fleet of 10 and by 10 others (7 ordinary, a benign strong trio) is the fleet's "
                   "template and ties the trio")
def test_a_prompt_the_fleet_holds_with_exactly_half_its_holders_is_not_its_template():
    holds = {1: {v: 10 for v in V}, 3: {v: 3 for v in V}}
    assert _ties({1: 10, 3: 3}, holds, {v: 7 for v in V}, [1], [3], 6) == {}


@pytest.mark.xfail(strict=True, reason="the template is re-measured each round with the tied clusters as the "
                   "operator's: a tame cell tied in round 1 (it writes the fleet's own template) that also sends a viral "
                   "prompt pushes the viral prompt over half (fleet 20 + cell 4 of 47 holders) and a benign strong trio "
                   "sending only the viral prompt is tied in round 2; without the cell it is not")
def test_a_tied_cells_camouflage_does_not_become_the_template_for_a_benign_trio():
    W = range(6, 12)  # the viral prompt
    holds = {1: {**{v: 20 for v in V}, **{v: 20 for v in W}}, 2: {**{v: 4 for v in V}, **{v: 4 for v in W}},
             3: {v: 3 for v in W}}
    without_cell = {1: holds[1], 3: holds[3]}
    assert _ties({1: 20, 3: 3}, without_cell, {v: 20 for v in W}, [1], [3], 12) == {}
    assert 3 not in _ties({1: 20, 2: 4, 3: 3}, holds, {v: 20 for v in W}, [1], [2, 3], 12)


# -- end to end ---------------------------------------------------------------------------------------------------

PUBLIC = ("You are a helpful research assistant built with the OpenAgents framework. Think carefully about the user's "
          "question, use the tools listed below when they help, cite every source you used, and answer in clear "
          "concise English. Question: {q}")
FLEET = ("You are a copywriter for discount pharmacy listings. Rewrite the following product blurb so that it ranks "
         "well, mention free shipping twice and end with a call to action. Product {n}")


def shop_log(seed: int = 0, fleet_n: int = 25, devs: int = 80, shop_share: float = 0.05) -> pl.DataFrame:
    """People (:func:`burst_log`); a fleet rotating proxies on a pool of 3 cards, 40% of its requests the public
    framework prompt (camouflage); ``devs`` ordinary developers on their own address and card sending the public
    prompt; three heavy users of one shop on their own cards behind a commercial VPN rotating 160 exits in 40
    networks, office hours, ``shop_share`` of their requests the public prompt, the rest their own questions."""
    rng = random.Random(seed)
    base = burst_log(seed, n_ops=0, n_services=0)
    rows = []
    for i in range(fleet_n):
        for _ in range(60):
            p = (FLEET.format(n=rng.randrange(10**5)) if rng.random() < 0.6
                 else PUBLIC.format(q=f"{rng.choice(TOPICS)} {rng.randrange(10**6)}"))
            rows.append((f"fleet{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)),
                         f"45.{rng.randrange(200)}.{rng.randrange(250)}.3", f"card-f{i % 3}", p))
    for i in range(devs):
        for _ in range(rng.randrange(3, 9)):
            rows.append((f"dev{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)), f"172.20.{i}.9",
                         f"card-dev{i:02d}", PUBLIC.format(q=f"{rng.choice(TOPICS)} {rng.randrange(10**6)}")))
    for i in range(3):
        for _ in range(80):
            t = START + dt.timedelta(days=rng.randrange(3), hours=8 + rng.randrange(10), seconds=rng.randrange(3600))
            p = (PUBLIC.format(q=f"{rng.choice(TOPICS)} {rng.randrange(10**6)}") if rng.random() < shop_share
                 else f"please explain {rng.choice(TOPICS)} {rng.randrange(10**6)}")
            rows.append((f"shop{i}", t, f"89.{rng.randrange(40)}.{rng.randrange(4)}.1", f"card-shop{i}", p))
    return pl.concat([base, pl.DataFrame(rows, schema=base.schema, orient="row")])


def _shop(result) -> pl.DataFrame:
    return (result.accounts.filter(pl.col("account_id").str.starts_with("shop"))
            .join(result.clusters.select("cluster_id", "score", "flagged", "campaign_id"), on="cluster_id", how="left"))


def test_the_shop_alone_scores_the_threshold_and_is_not_flagged():
    # Holds: no public prompt -> its own campaign, strong (VPN rotation, volume) but too small to flag.
    shop = _shop(graphlink.detect(shop_log(shop_share=0.0)))
    assert shop["cluster_id"].n_unique() == 1 and shop["score"].min() >= 0.6
    assert not shop["flagged"].any()


@pytest.mark.xfail(strict=True, reason="pre-existing (not the strong rule; flagged the same with strong=None): 12 of "
                   "the shop's 240 requests are a public framework prompt that 80 ordinary developers and a fleet of 25 "
                   "(a minority of its holders) send; campaign grouping puts the shop's cluster in the fleet's campaign "
                   "and min_flag_size counts the campaign, so the shop is flagged 'on its own evidence' (why: VPN "
                   "exits and volume, no operator named)")
def test_a_shop_sending_a_public_prompt_the_fleet_camouflages_with_is_not_flagged():
    shop = _shop(graphlink.detect(shop_log()))
    assert shop["score"].min() >= 0.6
    assert not shop["flagged"].any()
