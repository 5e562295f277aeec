"""Break-it tests of session 29: (1) strong_clusters without the flag threshold (first version: any unflagged
cluster with ``template_share >= 0.5`` could be tied by ``operator_ties(..., strong=...)``; merged: it also needs a
tooling sign of its own, ``small_cells.TOOLING``) and (2) a campaign flagged only
through inherited flags naming the flagged clusters elsewhere ("; flagged through cluster N (campaign M)") and
its ``--previous`` rekeying.

Unit level (like ``tests/test_small_cells.py``): each cluster a campaign of its own, every value a prompt phrase.
End to end (like ``tests/test_break_small_cells27.py``): a fleet rotating proxies on 3 cards that sends a public
prompt as camouflage, and benign groups sending that prompt. In small end-to-end worlds campaign grouping puts a
benign group holding the fleet's majority-held prompt into the fleet's campaign, and it is tied there by
specific values before change 1's path is reached: those failures are the same on main (pre-existing).
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

import graphlink
from burst_world import FRAMEWORK, START, TOPICS, burst_log
from graphlink.stages.campaign_flags import operator_ties
from graphlink.stages.campaigns import score_campaigns
from graphlink.stages.rekeying import rekey_campaigns, rekey_why
from graphlink.stages.small_cells import TOOLING, strong_clusters
from graphlink.stages.tie_words import THROUGH, flagged_through
from tests._worlds import affiliation_frames, prompt_holdings

V = range(6)  # six prompt phrases: one passage of a prompt


def ties_of(clusters: dict[int, int], holds: dict[int, dict[int, int]], unclustered: dict[int, int],
            loud: list[int], frame: pl.DataFrame, n_values: int = 6) -> dict[int, int]:
    """``operator_ties`` with ``strong=strong_clusters(frame)`` (the pipeline's chain). ``clusters``: {cluster:
    accounts}; ``holds``: {cluster: {value: holders}}; ``unclustered``: {value: holders in no cluster}."""
    part, aff, sig, camp = prompt_holdings(clusters, holds, unclustered, n_values)
    out = operator_ties(camp, part, aff, sig, pl.Series(loud, dtype=pl.Int64), strong=strong_clusters(frame))
    return dict(out.select("cluster_id", "lead").iter_rows())


def scored(rows: list[tuple]) -> pl.DataFrame:
    """``cluster_id, flagged, score, template_share[, ip_spread[, around_the_clock]]`` rows: ``ip_spread`` 0.3 (a
    trace of proxy rotation, so a guard other than tooling is what a case tests) and ``around_the_clock`` 0 when
    left out; the other evasion components null."""
    full = [(*r, *(0.3, 0.0)[len(r) - 4:]) for r in rows]
    frame = pl.DataFrame(full, schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "score": pl.Float64,
                                       "template_share": pl.Float64, "ip_spread": pl.Float64,
                                       "around_the_clock": pl.Float64}, orient="row")
    return frame.with_columns([pl.lit(None, pl.Float64).alias(t) for t in TOOLING if t not in frame.columns])


# -- change 1, unit level --------------------------------------------------------------------------------------

def test_a_class_pasting_a_viral_prompt_the_fleet_wrote_is_not_tied():
    # Broke the first version (no score bar): a class of 4 students pasting a viral prompt a fleet of 20 wrote
    # (fleet 20 of 34 holders), scoring 0.0 (own addresses and cards, ordinary pace) but sending the prompt in all
    # its requests, was tied. Text alone cannot tell a copied prompt from a tame cell: a cell needs a tooling sign.
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.0, 1.0, 0.0)])
    assert ties_of({1: 20, 2: 4}, {1: {v: 20 for v in V}, 2: {v: 4 for v in V}}, {v: 10 for v in V}, [1], frame) == {}
    with_proxies = scored([(1, True, 0.95, 1.0), (2, False, 0.2, 1.0, 0.2)])
    assert ties_of({1: 20, 2: 4}, {1: {v: 20 for v in V}, 2: {v: 4 for v in V}}, {v: 10 for v in V}, [1], with_proxies) == {2: 1}


def test_at_the_old_bar_the_class_is_not_tied():
    # Holds: the same world with session 27-28's score bar (main) leaves the class untied; the case above is new.
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.0, 1.0)])
    old_bar = frame.filter(pl.col("score") >= 0.6)
    assert ties_of({1: 20, 2: 4}, {1: {v: 20 for v in V}, 2: {v: 4 for v in V}}, {v: 10 for v in V}, [1], old_bar) == {}
    assert ties_of({1: 20, 2: 4}, {1: {v: 20 for v in V}, 2: {v: 4 for v in V}}, {v: 10 for v in V}, [1], frame) == {2: 1}


@pytest.mark.xfail(strict=True, reason="pre-existing (not the strong-cell path: the same with strong=[] or main's score "
                   "bar): a company's 30 batch accounts sending a public instruction a fleet of 40 copied (fleet 40 of 75 "
                   "holders) hold 30 of its 35 other holders, so the values are specific to the company's campaign and tie "
                   "it by values alone (operator_ties' first path); the strong-cell path no longer adds it (no tooling: "
                   "around the clock does not count)")
def test_a_large_tame_company_cluster_sending_a_copied_instruction_is_not_tied():
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.1, 1.0, 0.0, 0.33)])
    assert strong_clusters(frame).to_list() == []
    assert ties_of({1: 40, 2: 30}, {1: {v: 40 for v in V}, 2: {v: 30 for v in V}}, {v: 5 for v in V}, [1], frame) == {}


@pytest.mark.xfail(strict=True, reason="NEW with session 29's strong cells (by design, 'most of the members'): two ring "
                   "accounts on proxies and one bystander Leiden put in one tame cluster (score 0.1, template_share 0.8 "
                   "by request volume) are tied and the bystander flagged with them; main needed the trio to score 0.6")
def test_a_bystander_in_a_tame_trio_with_two_ring_accounts_is_not_flagged():
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.1, 0.8)])
    assert ties_of({1: 20, 2: 3}, {1: {v: 20 for v in V}, 2: {v: 2 for v in V}}, {v: 10 for v in V}, [1], frame) == {}


def test_two_heavy_template_senders_among_five_are_no_cell():
    # Holds: template_share 0.93 by volume (two members send the template in all their requests), but 2 of 5
    # members is not most of them.
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.0, 0.93)])
    assert ties_of({1: 20, 2: 5}, {1: {v: 20 for v in V}, 2: {v: 2 for v in V}}, {v: 10 for v in V}, [1], frame) == {}


def test_a_group_sending_the_prompt_in_under_half_its_requests_is_not_strong():
    # Holds: every member holds the fleet's template, but it is 49 % of their requests (people now and then).
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.0, 0.49), (3, False, 0.3, None)])
    assert strong_clusters(frame).to_list() == []
    assert ties_of({1: 20, 2: 4}, {1: {v: 20 for v in V}, 2: {v: 4 for v in V}}, {v: 10 for v in V}, [1], frame) == {}


def test_a_minority_held_public_prompt_ties_no_tame_group():
    # Holds: the fleet holds 20 of 44 holders (a public framework prompt many people send): no template.
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.0, 1.0)])
    assert ties_of({1: 20, 2: 4}, {1: {v: 20 for v in V}, 2: {v: 4 for v in V}}, {v: 20 for v in V}, [1], frame) == {}


def test_a_group_writing_four_of_the_template_values_is_not_tied():
    # Holds: MIN_TIE_VALUES (5) values of the template, not a passage's four shingles.
    frame = scored([(1, True, 0.95, 1.0), (2, False, 0.0, 1.0)])
    holds = {1: {v: 20 for v in V}, 2: {v: 4 for v in range(4)}}
    assert ties_of({1: 20, 2: 4}, holds, {v: 10 for v in V}, [1], frame) == {}


# -- change 1, end to end --------------------------------------------------------------------------------------

PUBLIC = ("You are a helpful research assistant built with the OpenAgents framework. Think carefully about the user's "
          "question, use the tools listed below when they help, cite every source you used, and answer in clear "
          "concise English. Question: {q}")
FLEET = ("You are a copywriter for discount pharmacy listings. Rewrite the following product blurb so that it ranks "
         "well, mention free shipping twice and end with a call to action. Product {n}")


def fleet_rows(rng: random.Random, camouflage: str, share: float, n: int = 25) -> list[tuple]:
    """A fleet of ``n`` rotating proxies on 3 cards, ``share`` of its 60 requests each ``camouflage``."""
    rows = []
    for i in range(n):
        for _ in range(60):
            p = (camouflage.format(q=f"{rng.choice(TOPICS)} {rng.randrange(10**6)}", n=rng.randrange(10**6))
                 if rng.random() < share else FLEET.format(n=rng.randrange(10**5)))
            rows.append((f"fleet{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)),
                         f"45.{rng.randrange(200)}.{rng.randrange(250)}.3", f"card-f{i % 3}", p))
    return rows


def team_log(seed: int = 0) -> pl.DataFrame:
    """People; the fleet (40 % the public framework prompt); 5 developers sending it; a team of 4 on one corporate
    card, own office addresses, office hours, 30 requests each, all the public prompt (the fleet is most of its
    holders)."""
    rng = random.Random(seed)
    base = burst_log(seed, n_ops=0, n_services=0, n_people=150)
    rows = fleet_rows(rng, PUBLIC, 0.4)
    for i in range(5):
        for _ in range(rng.randrange(3, 9)):
            rows.append((f"dev{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)), f"172.20.{i}.9",
                         f"card-dev{i:02d}", PUBLIC.format(q=f"{rng.choice(TOPICS)} {rng.randrange(10**6)}")))
    for i in range(4):
        for _ in range(30):
            t = START + dt.timedelta(days=rng.randrange(3), hours=9 + rng.randrange(8), seconds=rng.randrange(3600))
            rows.append((f"team{i}", t, f"81.2.{i}.7", "card-corp",
                         PUBLIC.format(q=f"{rng.choice(TOPICS)} {rng.randrange(10**6)}")))
    return pl.concat([base, pl.DataFrame(rows, schema=base.schema, orient="row")])


def service_log(seed: int = 0, corporate_card: bool = True) -> pl.DataFrame:
    """People; a company's 4 service accounts sending its framework's long instruction on the hour (burst_log's
    ``svc*``), on one corporate card or none; the fleet copies the instruction in 40 % of its requests."""
    rng = random.Random(seed)
    base = burst_log(seed, n_ops=0, n_services=4, n_people=150)
    if corporate_card:
        base = base.with_columns(pl.when(pl.col("account_id").str.starts_with("svc")).then(pl.lit("card-acme"))
                                 .otherwise(pl.col("payment_fingerprint")).alias("payment_fingerprint"))
    rows = fleet_rows(rng, FRAMEWORK, 0.4)
    return pl.concat([base, pl.DataFrame(rows, schema=base.schema, orient="row")])


def group(result, prefix: str) -> pl.DataFrame:
    return (result.accounts.filter(pl.col("account_id").str.starts_with(prefix))
            .join(result.clusters.select("cluster_id", "score", "flagged", "campaign_id", "why"), on="cluster_id", how="left"))


@pytest.fixture(scope="module")
def team_result():
    return graphlink.detect(team_log())


def test_the_fleet_is_flagged_in_the_team_world(team_result):
    fleet = group(team_result, "fleet")
    assert fleet["flagged"].all()


@pytest.mark.xfail(strict=True, reason="pre-existing (same on main): a team of 4 on one corporate card sending a "
                   "public framework prompt the fleet camouflages with and holds most of (score 0.0) is grouped into "
                   "the fleet's campaign and tied there by the prompt's values as specific to that campaign "
                   "('tied to flagged cluster 1 (campaign 1) by 36 prompt phrases'), not by change 1's path")
def test_a_team_on_one_corporate_card_sending_a_public_prompt_is_not_flagged(team_result):
    team = group(team_result, "team")
    assert team["cluster_id"].n_unique() == 1 and team["score"].max() < 0.6
    assert not team["flagged"].any()


@pytest.mark.xfail(strict=True, reason="pre-existing (same on main): a company's 4 service accounts on one corporate "
                   "card sending its framework's instruction on the hour, which a fleet of 25 copied (most holders), "
                   "score 0.55 and are grouped into the fleet's campaign and tied by 31 prompt phrases")
def test_a_companys_service_accounts_whose_instruction_a_fleet_copied_are_not_flagged():
    svc = group(graphlink.detect(service_log()), "svc")
    assert svc["cluster_id"].n_unique() == 1 and svc["score"].max() < 0.6
    assert not svc["flagged"].any()


def test_service_accounts_sharing_nothing_but_the_copied_instruction_stay_unflagged():
    # Holds: without the corporate card they are in no cluster.
    svc = group(graphlink.detect(service_log(corporate_card=False)), "svc")
    assert not svc["flagged"].fill_null(False).any()


# -- change 2 --------------------------------------------------------------------------------------------------

NO_TIES = affiliation_frames([(0, 0, "timing")])
BIG = 2**40


def clusters_frame(rows: list[tuple[int, int, int, bool, bool, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"cluster_id": pl.Int64, "size": pl.Int64, "campaign_id": pl.Int64,
                                      "flagged": pl.Boolean, "flagged_own": pl.Boolean, "why": pl.String}, orient="row")


def campaigns_of(clusters: pl.DataFrame) -> pl.DataFrame:
    part = pl.DataFrame({"account_idx": list(range(int(clusters["size"].sum()))),
                         "cluster_id": [c for c, n in zip(clusters["cluster_id"], clusters["size"]) for _ in range(n)]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    return score_campaigns(clusters.with_columns(pl.lit(0.5).alias("score")), part, *NO_TIES)


def why_of(campaigns: pl.DataFrame, campaign: int) -> str:
    return campaigns.filter(pl.col("campaign_id") == campaign)["why"].item()


def test_ids_past_two_to_the_31_are_named_and_rekeyed_whole():
    rows = [(1, 3, 1, True, False, f"tied to flagged cluster {BIG + 5} (campaign {2**33}) by 6 prompt phrases; a"),
            (BIG + 5, 6, 2**33, True, True, "proxies")]
    campaigns = campaigns_of(clusters_frame(rows))
    assert why_of(campaigns, 1).endswith(f"; flagged through cluster {BIG + 5} (campaign {2**33})")
    mapping = pl.DataFrame({"cluster_id": [1, BIG + 5], "stable_id": [BIG * 4, BIG * 8 + 1]})
    assert why_of(rekey_campaigns(campaigns, mapping), 1).endswith(
        f"; flagged through cluster {BIG * 8 + 1} (campaign {2**33})")


def test_attacker_text_in_an_inherited_why_shaped_like_the_phrase_is_not_rekeyed_or_named():
    # A prompt quoted in an inherited cluster's why spells the campaign phrase; only the start is read, and the
    # campaign why holds ids and counts only.
    quoted = '("x; flagged through cluster 9 (campaign 9), and 1 more")'
    rows = [(1, 3, 1, True, False, f"tied to flagged cluster 5 (campaign 2) by 6 prompt phrases; templated {quoted}"),
            (5, 6, 2, True, True, f"90% of prompts are templated {quoted}")]
    campaigns = campaigns_of(clusters_frame(rows))
    assert why_of(campaigns, 1).endswith("; flagged through cluster 5 (campaign 2)")
    assert THROUGH not in why_of(campaigns, 2)
    mapping = pl.DataFrame({"cluster_id": [1, 5, 9], "stable_id": [21, 25, 29]})
    assert why_of(rekey_campaigns(campaigns, mapping), 1).endswith("; flagged through cluster 25 (campaign 2)")
    assert "29" not in " ".join(rekey_campaigns(campaigns, mapping)["why"].to_list())


def test_the_campaign_phrase_and_the_cluster_whys_name_the_same_stable_ids():
    # Invariant across --previous: every cluster the campaign why names is the lead some rekeyed cluster why in
    # that campaign names, for five leads (three named, 'and 2 more').
    leads = [(20, 3), (21, 3), (22, 4), (23, 5), (24, 5)]
    rows = [(i + 1, 3, 1, True, False, f"tied to flagged cluster {lead} (campaign {camp}) by 6 prompt phrases; t")
            for i, (lead, camp) in enumerate(leads)]
    rows += [(lead, 5, camp, True, True, "proxies") for lead, camp in leads]
    cl = clusters_frame(rows)
    campaigns = campaigns_of(cl)
    mapping = pl.DataFrame({"cluster_id": [r[0] for r in rows], "stable_id": [1000 - r[0] for r in rows]})
    why = why_of(rekey_campaigns(campaigns, mapping), 1)
    assert why.endswith(", and 2 more")
    named = why.split(THROUGH)[1].removesuffix(", and 2 more").split(", ")
    rekeyed = rekey_why(cl.select("cluster_id", "why"), mapping)["why"].to_list()
    cited = {w.split(" by ")[0].removeprefix("tied to flagged ") for w in rekeyed if w.startswith("tied to")}
    assert len(named) == 3 and set(named) <= cited
    assert all(int(n.split()[1]) >= 976 for n in named)  # stable ids (1000 - 20..24), not the run's


def test_a_flagged_through_campaign_with_one_lead_in_two_wordings_names_it_once():
    rows = [(1, 3, 1, True, False, "tied to flagged cluster 5 (campaign 2) by 6 prompt phrases; a"),
            (2, 3, 1, True, False, "same operator as flagged cluster 5 (campaign 2) by 1 payment card or identifier; b"),
            (5, 6, 2, True, True, "proxies")]
    assert flagged_through(clusters_frame(rows))["through"].to_list() == ["cluster 5 (campaign 2)"]


def test_a_campaign_tied_to_a_flagged_cluster_keeps_todays_words_in_the_pipeline(team_result):
    # Holds end to end: the fleet's campaign has clusters flagged on their own evidence, so no phrase.
    fleet_campaigns = group(team_result, "fleet")["campaign_id"].unique().to_list()
    whys = team_result.outputs.campaigns.filter(pl.col("campaign_id").is_in(fleet_campaigns))["why"].to_list()
    assert whys and all(THROUGH not in w for w in whys)
