"""Break-it review (session 55, helper brk55) of two default-on candidates: address bystanders judged against
chance (branch prec55, ``graphlink.stages.outsiders.CHANCE_ALPHA``) and lone cells (branch opari55,
``graphlink.stages.lone_cells``).

Hand-built inputs. A break that holds on a branch and not on main is a plain test: it passes on main and fails on
that branch (a regression, for the lead to decide on); a break on main and branch alike is a strict xfail; the lone
cells tests skip where ``graphlink.stages.lone_cells`` is absent. Figures: BENCHMARKS.md, "Fifty-fifth pass
(session 55, helper brk55)".
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

import graphlink
from graphlink.stages.outsiders import address_bystanders
from tests.test_rotation_relay52 import DAYS, DESKTOP, T0, World, _text


U32 = {"account_idx": pl.UInt32}
TEMPLATE, EXIT = 100, 101


def flagged(result, prefix: str) -> set[str]:
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return set(acc.filter(pl.col("account_id").str.starts_with(prefix) & pl.col("flagged").fill_null(False))
               ["account_id"].to_list())


# --- address bystanders judged against chance (prec55) ---------------------------------------------------------------

def card_per_account_ring(n: int = 6, ring_prompts: tuple[int, int] = (1, 1), crowd=((10, 1),) * 50):
    """Cluster 1: ``n`` ring accounts (0..n-1), each paying with a card of its own (a stolen card per account: no card
    two members hold), all holding the ring's template passage and one exit address; each ring account's prompts
    ``ring_prompts`` = (sampled, scripted) -- (1, 1): a bot replaying one fixed prompt (its *distinct* prompts are what
    is sampled). ``crowd``: unclustered accounts writing their own, each (sampled, scripted)."""
    ring = list(range(n))
    clusters = pl.DataFrame({"account_idx": ring, "cluster_id": [1] * n}, schema_overrides=U32)
    rows = [(a, TEMPLATE) for a in ring] + [(a, EXIT) for a in ring] + [(a, 200 + a) for a in ring]  # own cards
    memberships = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame({"signal_idx": [TEMPLATE, EXIT, *[200 + a for a in ring]],
                            "kind": ["prompt", "ip", *["payment"] * n], "df": [n, n, *[1] * n]},
                           schema_overrides={"signal_idx": pl.UInt32})
    counts = [ring_prompts] * n + list(crowd)
    stats = pl.DataFrame({"account_idx": list(range(len(counts))), "prompts_sampled": [c[0] for c in counts],
                          "prompts_scripted": [c[1] for c in counts]}, schema_overrides=U32)
    return clusters, memberships, signals, stats


def detached(clusters, memberships, signals, stats) -> list[int]:
    return sorted(address_bystanders(clusters, memberships, signals, stats)["account_idx"].to_list())


# prec55 35cbefc: every member of the ring is detached. Each sends its one template prompt (1 of 1 scripted): at the
# log's rate of chance (0.1) P(X >= 1) = 0.1 > CHANCE_ALPHA, so each is "off the script" (it pays with none of the
# others' cards: each its own); then no member is on the script to vouch for the template passage they all hold, and
# all six are bystanders. main: 1 of 1 is not under a quarter of the others' 100 %, none detached.
def test_a_ring_of_one_prompt_bots_each_on_its_own_card_is_not_detached():
    assert detached(*card_per_account_ring()) == []


# The same with a crowd whose own prompts share a passage often (p0 0.4, each under half: not on a script): a ring
# replaying its template with 3 distinct fills, 3 of 3 scripted, is chance too (P 0.064).
def test_a_ring_of_three_prompt_bots_beside_a_wordy_crowd_is_not_detached():
    assert detached(*card_per_account_ring(ring_prompts=(3, 3), crowd=((10, 4),) * 50)) == []


def test_camouflaged_accounts_on_cards_of_their_own_holding_the_template_stay():
    # Four bots on one card send the template in 10 of 10; three camouflaged accounts of the operator, each on its own
    # card, send it in 3 of 10 (chance at a log rate of 0.3: P 0.62) and hold its passage with the bots: kept on both.
    clusters, memberships, signals, stats = card_per_account_ring(n=7, crowd=((10, 3),) * 50)
    stats = stats.with_columns(pl.when(pl.col("account_idx") < 4).then(10).when(pl.col("account_idx") < 7).then(3)
                               .otherwise(pl.col("prompts_scripted")).alias("prompts_scripted"),
                               pl.when(pl.col("account_idx") < 7).then(10).otherwise(pl.col("prompts_sampled"))
                               .alias("prompts_sampled"))
    card = pl.DataFrame({"account_idx": [0, 1, 2, 3], "signal_idx": [300] * 4},
                        schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    signals = pl.concat([signals, pl.DataFrame({"signal_idx": [300], "kind": ["payment"], "df": [4]},
                                               schema=signals.schema)])
    assert detached(clusters, pl.concat([memberships, card]), signals, stats) == []


def test_no_chance_rate_and_zero_rate_leave_the_ring():
    # No unclustered account (no rate to judge by) and a crowd that never shares a passage (p0 = 0): kept on both.
    assert detached(*card_per_account_ring(crowd=())) == []
    assert detached(*card_per_account_ring(crowd=((10, 0),) * 50)) == []


def card_per_account_world(seed: int = 1, n: int = 12, stock_share: float = 0.15) -> tuple[World, list[str]]:
    """End to end: 200 IPv4 users writing their own (``stock_share`` of their prompts opening with a stock request
    others send too: a rate of chance above 0); a ring of ``n`` bots on a proxy pool of 236 exits in 59 networks,
    each paying with a stolen card of its own and replaying one fixed template prompt in scheduled bursts (one
    distinct prompt per account)."""
    w = World(seed)
    stock = "Can you please help me write a short polite email to my landlord about the broken heating in my flat"
    for i in range(200):
        home = f"100.{64 + i // 200}.{i % 200}.{10 + i % 7}"
        prompt = lambda: (stock + " " + _text(w.rng, 6)) if w.rng.random() < stock_share else _text(w.rng)  # noqa: E731
        w.person(f"v4user{i}", lambda home=home: home, DESKTOP[i % 3], prompt)
    names = [f"ring{i}" for i in range(n)]
    fixed = "Rewrite this product review in a new voice and keep it under eighty words with five stars given"
    for day in range(DAYS):
        start = T0 + timedelta(days=day, hours=int(w.rng.integers(0, 24)))
        for step in range(6):
            for acc in names:
                ts = start + timedelta(minutes=7 * step, seconds=int(w.rng.integers(0, 5)))
                w.rows.append((acc, ts, f"185.{int(w.rng.integers(1, 60))}.{int(w.rng.integers(0, 4))}.7",
                               f"stolen-{acc}", fixed, DESKTOP[0]))
    return w, names


def signups(w: World, ring: list[str]) -> pl.DataFrame:
    """Accounts: the ring's made in one ten-minute burst on a throwaway domain, the users' over two years."""
    users = sorted({r[0] for r in w.rows} - set(ring))
    made = [T0 - timedelta(days=int(w.rng.integers(30, 730))) for _ in users] + [
        T0 - timedelta(days=2, seconds=int(w.rng.integers(0, 600))) for _ in ring]
    domains = [["gmail.com", "yahoo.com", "outlook.com"][i % 3] for i in range(len(users))] + ["mailbox.run"] * len(ring)
    return pl.DataFrame({"account_id": users + ring, "created_at": made, "email_domain": domains},
                        schema={"account_id": pl.String, "created_at": pl.Datetime("us", "UTC"), "email_domain": pl.String})


# prec55 35cbefc: the whole ring detached (12 of 12: each 1 of 1 scripted, chance at the log's 0.15), not flagged.
# main: the ring's cluster is kept whole and flagged.
def test_end_to_end_ring_of_one_prompt_bots_on_a_card_each():
    w, ring = card_per_account_world()
    result = graphlink.detect(w.frame(), accounts=signups(w, ring))
    assert flagged(result, "ring") == set(ring)
    assert flagged(result, "v4user") == set()


# A tiny log: the rate of chance is read off however few unclustered prompts there are. Two strangers writing their
# own, 1 of 3 prompts each sharing a stock phrase, put it at 1/3: a ring of bots on a card each sending 2 of 2 scripted
# (P 0.11) reads as chance and is detached whole (prec55 35cbefc). main: kept.
def test_two_strangers_do_not_set_the_rate_of_chance_for_a_ring():
    assert detached(*card_per_account_ring(ring_prompts=(2, 2), crowd=((3, 1),) * 2)) == []


# --- a second operator paying with a card resold to it (main and both branches) ---------------------------------------

STYLE = ("You are a senior marketing copywriter. Write in a warm friendly tone, avoid jargon, and keep every sentence "
         "short and clear for busy readers on their phones.")


def resold_world(seed: int = 1, b: int = 8, resold: int = 2) -> World:
    """Operator A: three cells (16, 10, 10 bots) each on its own proxy /16, clock and two cards, one template (a style
    preamble and a task);
    operator B: ``b`` bots on a /16 of their own, another clock and template, ``resold`` of them paying with a card of A's
    second cell (a carding shop sells one card twice). 300 IPv4 users writing their own."""
    w = World(seed)
    w.ipv4_users(300)

    def cell(prefix: str, n: int, text: str, pool: str, hour: int, resold_: int = 0) -> None:
        for day in range(DAYS):
            start = T0 + timedelta(days=day, hours=hour, minutes=int(w.rng.integers(0, 30)))
            for step in range(6):
                for i in range(n):
                    ts = start + timedelta(minutes=7 * step, seconds=int(w.rng.integers(0, 50)))
                    card = "opa1x-card-0" if i < resold_ else f"{prefix}-card-{i % 2}"
                    w.rows.append((f"{prefix}{i}", ts, f"{pool}.{int(w.rng.integers(0, 256))}.7", card,
                                   f"{text} {_text(w.rng, 8)}", DESKTOP[0]))
    for k, (pool, hour) in enumerate([("185.1", 3), ("185.2", 9), ("185.3", 15)]):
        cell(f"opa{k}x", 10 if k else 16, f"{STYLE} Rewrite this product review in a new voice:", pool, hour)
    cell("opbx", b, "Write a glowing five star review for this restaurant:", "91.4", 20, resold)
    return w


# main ea5d8b7 (and prec55, opari55 alike): A sending its style preamble, B's 8 bots are merged by Leiden with A's
# second cell over the card (an 18-account cluster) and then all 8 detached as fleet outsiders: B is not flagged at all (seeds 1-6). With one
# resold holder, or none, B is its own flagged cluster (8 of 8); A's 36 and the 300 users are right throughout.
@pytest.mark.xfail(strict=True, reason="open limit (main too): a card resold to a second operator detaches it whole")
def test_a_second_operator_paying_with_a_resold_card_is_still_flagged():
    result = graphlink.detect(resold_world().frame())
    assert len(flagged(result, "opbx")) == 8


# main ea5d8b7 (and opari55 alike): with 16 bots B stays its own flagged cluster, but the one card sold twice puts it
# in A's campaign (campaign 2 with no resold holder, 1 with two); the grouping ties a pair of clusters by a card.
@pytest.mark.xfail(strict=True, reason="open limit (main too): one card sold twice joins two operators' campaigns")
def test_a_card_sold_to_two_operators_does_not_join_their_campaigns():
    result = graphlink.detect(resold_world(b=16).frame())
    acc = result.accounts.select("account_id", "cluster_id").join(result.clusters.select("cluster_id", "campaign_id"),
                                                                   on="cluster_id", how="left")
    b = set(acc.filter(pl.col("account_id").str.starts_with("opbx"))["campaign_id"].to_list())
    a = set(acc.filter(pl.col("account_id").str.starts_with("opa"))["campaign_id"].to_list())
    assert len(flagged(result, "opbx")) == 16 and not a & b


# --- lone cells (opari55) ---------------------------------------------------------------------------------------------

def resold_frames(resold: int = 2, n: int = 1000, template: bool = True, holder: int = 2, first: int = 20):
    """``clusters, partition, affiliations, signals`` as the scoring stage holds them: operator A's campaign 1 of three
    flagged clusters (``first``, 10, 10 accounts, 12 template values each, two cards per cluster), operator B's lone flagged
    cluster 9 (campaign 2, 8 accounts, a template of its own, or with ``template`` False none: an office flagged
    wrongly, writing its own); ``resold`` of B's accounts pay with a card two of A's cluster ``holder`` pay with (a
    card sold twice, or an employee's card the ring stole)."""
    rows, part, acc = [], [], 0
    for k, s in enumerate((first, 10, 10)):
        for i in range(s):
            part.append((acc, k + 1))
            rows += [(acc, f"tA{j}") for j in range(12)] + [(acc, f"card-A{k}-{i % 2}")] + ([(acc, "card-X")] if k == holder - 1 and i < 2 else [])
            acc += 1
    for i in range(8):
        part.append((acc, 9))
        rows += [(acc, f"tB{j}") for j in range(12) if template] + [(acc, "card-X" if i < resold else f"card-B-{i % 2}")]
        acc += 1
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "value": pl.String}, orient="row")
    sig = (aff.group_by("value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("value").with_row_index("signal_idx")
           .with_columns(pl.col("signal_idx").cast(pl.UInt32), pl.lit(1.0).alias("weight"), (pl.col("df") >= 2).alias("linked"),
                         pl.when(pl.col("value").str.starts_with("card")).then(pl.lit("payment")).otherwise(pl.lit("prompt")).alias("kind")))
    aff = aff.join(sig.select("value", "signal_idx"), on="value").select("account_idx", "signal_idx")
    partition = pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    clusters = pl.DataFrame({"cluster_id": [1, 2, 3, 9], "flagged": [True] * 4, "campaign_id": [1, 1, 1, 2]})
    return clusters, partition, aff, sig.select("signal_idx", "kind", "df", "weight", "linked"), n


# opari55 bb4d9a5: B's lone cell joins A's campaign (tie 0.92 to A's whole, over 0.175): one card two of B's and two of
# A's accounts pay with -- a card sold twice by a carding shop -- is all they share; the same with B an office flagged
# wrongly (no template; the ring stole two employees' card): listed in the ring's campaign. opari55 3dbcf5a (the
# clusters tied must hold most of the campaign's flagged accounts; lone cells opt-in): stays when the card's holders
# are in cluster 2 (10 of 40) or a half-size cluster 1 (20 of 40), still joins when they are in the campaign's main
# cluster (30 of 50). Stage-level: end to end main's grouping already joins two operators by such a card
# (test_a_card_sold_to_two_operators_does_not_join_their_campaigns), so no end-to-end difference was found.
@pytest.mark.parametrize("holder,first", [(1, 20), (2, 20), pytest.param(1, 30, marks=pytest.mark.xfail(strict=True, reason=(
    "open limit (lead, session 55: lone cells on): one card held in the campaign's main cluster ties a lone cell to it; "
    "end to end main's grouping joins them by such a card already")))])
@pytest.mark.parametrize("template", [True, False])
def test_a_lone_cell_sharing_one_resold_card_with_a_campaign_stays_apart(template, holder, first):
    lone_cells = pytest.importorskip("graphlink.stages.lone_cells").lone_cells
    from graphlink.config import CommunityConfig, GraphConfig
    cl, part, aff, sig, n = resold_frames(template=template, holder=holder, first=first)
    assert lone_cells(cl, part, aff, sig, GraphConfig(), CommunityConfig(), n)["campaign_id"].to_list() == [1, 1, 1, 2]


def test_a_lone_cell_sharing_nothing_stays_apart():
    lone_cells = pytest.importorskip("graphlink.stages.lone_cells").lone_cells
    from graphlink.config import CommunityConfig, GraphConfig
    cl, part, aff, sig, n = resold_frames(resold=0)
    assert lone_cells(cl, part, aff, sig, GraphConfig(), CommunityConfig(), n)["campaign_id"].to_list() == [1, 1, 1, 2]
