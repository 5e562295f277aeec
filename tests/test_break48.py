"""Break-it review of session 47's detection (main 30ea632): the weighed operator ties, the split guard, the flag rule.

* A team of six sharing two department cards, on its office address and browsers, sending a ring's public template
  most of the time is a *strong small cell* (mostly templated, a trace of a card pool): the strong-cell path of
  :func:`graphlink.stages.campaign_flags.operator_ties` tied it by the template without asking whose client sends it,
  so the client split session 47 added (:func:`graphlink.stages.tie_weights.client_split_texts`) was bypassed, and the
  offices tied that way then agreed on the client with the next office, which was tied by the phrases in turn.
* A campus behind eight NAT addresses (120 students, browsers, their own cards and questions) and a ring of 10 run
  from a dorm whose accounts went out through the NAT once or twice each (proxies otherwise): the campus was "tied to
  flagged cluster N by 6 IP addresses" and all 120 students flagged. The addresses are the campus's own, the ring's
  uses of them a sliver (:func:`graphlink.stages.tie_weights.card_slivers` weighs addresses as cards).
* A cascade through the client split: a team of four copying the ring's public template, too small for a client
  signature, is tied by the text (by design: a cluster without a signature is never split off); as a tied cluster it
  then *sent* the phrases for the operator, and a sender without a signature can disagree with nobody, so two offices
  of six copying the same text from the same browsers were tied through it. Only clusters flagged on their own or
  tied by a card or an address now vouch for a phrase's client.
* A company of three departments (10 staff each, its own job template, its own floor's addresses) paying with one
  corporate card 90 % of the time, which 12 ring accounts paid with 4 times each (8 % of the card's uses): wording
  cells part the departments, and each department's block makes a third of the company's payments, so the ring's
  uses were 21 % of "the block's and the ring's" -- no sliver -- and all 30 staff were flagged "same operator ... by 1
  payment card". The sliver is now of every use of the card.
* test_break47's offices sending a ring's public template half the time, with each of an office's six staff on a
  browser of their own: no office has a client signature (six agents), and a cluster without one was never split
  off, so all 18 were tied by the text. The copier needs no signature now, only the sender.
* With ``pool_campaigns`` on: a campaign holding a block the split guard holds (it scores the threshold, its whole
  does not) was not pooled, as though the block had flagged it already; it had not, and the campaign that would be
  pooled with wording cells off (the whole scoring under the threshold) was flagged by nothing.

A team of four copying the template from browsers: fixed in session 49 (brk49), reverted the same session (peak
memory at 224k), fixed again in session 50 (copy50: the copier check keyed by each phrase's set of senders).

Strict xfails (breaks left, the reasons say why): teams whose batch job sends a ring's public template on the
same stock client as the ring; an operator running each tame cell on a client of its own; a ring
absorbed by an office whose card it paid with; an operator padding its loud cell with its own tame accounts so that
the split guard holds the loud block.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests._worlds import planted_world
from tests.test_break47 import BROWSER, flagged_groups, frame

X = ("please rewrite the following paragraph in formal academic english keeping all technical terms intact and the "
     "citations unchanged")
Y = "summarize the key findings of this quarterly report in five short bullet points for an executive audience with numbers"
VOCAB = np.array("the a cat dog model water river light code bread music train glass paper stone north south".split())


def scripted_ring(rng: np.random.Generator, cells: list[list[str]], client: str = "python-requests/2.31",
                  name: str = "ring") -> list[pl.DataFrame]:
    """Scripted cells of 6 (bursts every 7 hours, a proxy pool each, 4 pool cards), each sending its templates."""
    frames = []
    for c, tpls in enumerate(cells):
        for i in range(6):
            seconds = np.arange(25) * 7 * 3600 + c * 600 + rng.integers(0, 30, 25)
            frames.append(frame([f"{name}_c{c}_{i}"] * 25, seconds, [f"185.{40 + c}.{p}.{p % 7 + 2}" for p in rng.integers(0, 60, 25)],
                                [f"pf_{name}_{(c + i) % 4}"] * 25,
                                [tpls[k % len(tpls)] + " " + " ".join(rng.choice(VOCAB, 3)) for k in range(25)], client))
    return frames


def office_team(rng: np.random.Generator, name: str, address: str, share: float, cards: int = 2,
                client: str = BROWSER) -> pl.DataFrame:
    """Six staff at office hours on one office address, paying with ``cards`` department cards, sending template X in
    ``share`` of their 20 requests each (their own words otherwise)."""
    frames = []
    for i in range(6):
        seconds = rng.integers(0, 14, 20) * 86400 + rng.integers(8 * 3600, 18 * 3600, 20)
        frames.append(frame([f"{name}_{i}"] * 20, seconds, [address] * 20, [f"pf_{name}_{i % cards}"] * 20,
                            [(X + " " + " ".join(rng.choice(VOCAB, 3))) if rng.random() < share else " ".join(rng.choice(VOCAB, 8))
                             for _ in range(20)], client))
    return pl.concat(frames)


def test_office_teams_on_department_cards_mostly_sending_a_rings_public_template_from_browsers_are_not_flagged():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    offices = [office_team(rng, f"office{o}", f"98.{60 + o}.1.1", 0.7) for o in range(3)]
    out = flagged_groups(pl.concat([events, *scripted_ring(rng, [[X], [Y]] + [[X, Y]] * 8), *offices]))
    assert out["ring"] and not any(out[f"office{o}"] for o in range(3)), out


def campus_world(rng: np.random.Generator, students: int = 120, nat_share: float = 0.05) -> pl.DataFrame:
    """``students`` on a campus's 8 NAT addresses (office hours, browsers, own cards, free questions) and a ring of 10
    (bursts, 3 pool cards, template X) sending ``nat_share`` of its requests through the NAT, proxies otherwise."""
    nat = [f"128.32.{x}.{x * 3}" for x in range(1, 9)]
    frames = []
    for i in range(10):
        seconds = np.arange(25) * 7 * 3600 + rng.integers(0, 30, 25)
        ips = [nat[p % 8] if rng.random() < nat_share else f"185.77.{p}.{p % 7 + 2}" for p in rng.integers(0, 60, 25)]
        frames.append(frame([f"ring_{i}"] * 25, seconds, ips, [f"pf_ring_{i % 3}"] * 25,
                            [X + " " + " ".join(rng.choice(VOCAB, 3)) for _ in range(25)], "python-requests/2.31"))
    for i in range(students):
        m = int(rng.integers(5, 20))
        seconds = rng.integers(0, 14, m) * 86400 + rng.integers(8 * 3600, 18 * 3600, m)
        frames.append(frame([f"student_{i}"] * m, seconds, [nat[p] for p in rng.integers(0, 8, m)], [f"pf_student_{i}"] * m,
                            [" ".join(rng.choice(VOCAB, 9)) for _ in range(m)], BROWSER))
    return pl.concat(frames)


def test_a_campus_whose_nat_addresses_a_dorm_ring_went_out_through_now_and_then_is_not_flagged():
    events, _ = planted_world(0, n_benign=300, rings=())
    out = flagged_groups(pl.concat([events, campus_world(np.random.default_rng(0))]))
    assert out["ring"] and not out["student"], out


def test_a_small_copier_team_tied_by_text_does_not_vouch_for_its_browsers():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    teams = [office_team(rng, f"office{o}", f"98.{60 + o}.1.1", 0.5, cards=1) for o in range(3)]
    small = office_team(rng, "small", "98.70.1.1", 0.7).filter(pl.col("account_id").str.extract(r"_(\d)$").cast(int) < 4)
    out = flagged_groups(pl.concat([events, *scripted_ring(rng, [[X], [Y]] + [[X, Y]] * 8), small, *teams]))
    assert out["ring"] and not any(out[f"office{o}"] for o in range(3)), out


def test_a_team_of_four_copying_a_rings_public_template_from_browsers_is_not_flagged():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    small = office_team(rng, "small", "98.70.1.1", 0.7).filter(pl.col("account_id").str.extract(r"_(\d)$").cast(int) < 4)
    out = flagged_groups(pl.concat([events, *scripted_ring(rng, [[X], [Y]] + [[X, Y]] * 8), small]))
    assert out["ring"] and not out["small"], out


DEPARTMENT_TEMPLATES = ["translate the following customer email into german and keep the formal tone for ticket {}",
                        "write a short follow up email to the prospect about our enterprise pricing for account {}",
                        "summarise the attached incident report for the weekly operations review meeting number {}"]


def test_a_company_split_into_departments_is_not_tied_by_its_card_a_ring_made_a_sliver_of_the_uses_of():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    ring = scripted_ring(rng, [[X]] * 3)
    ring = [f.with_columns(payment_fingerprint=pl.when(pl.int_range(pl.len()) % 8 == 0).then(pl.lit("pf_corp"))
                           .otherwise("payment_fingerprint")) if k < 12 else f for k, f in enumerate(ring)]
    staff = [frame([f"dept{d}_{i}"] * 20, rng.integers(0, 14, 20) * 86400 + rng.integers(8 * 3600, 18 * 3600, 20),
                   [f"198.51.{100 + d}.{x}" for x in rng.integers(1, 3, 20)],
                   [("pf_corp" if rng.random() < 0.9 else f"pf_own_{d}_{i}") for _ in range(20)],
                   [DEPARTMENT_TEMPLATES[d].format(rng.integers(100_000)) if rng.random() < 0.8 else " ".join(rng.choice(VOCAB, 9))
                    for _ in range(20)], BROWSER) for d in range(3) for i in range(10)]
    out = flagged_groups(pl.concat([events, *ring, *staff]))
    assert out["ring"] and not any(out[f"dept{d}"] for d in range(3)), out


def test_offices_whose_staff_each_run_their_own_browser_are_not_tied_by_a_rings_public_template():
    from tests.test_break47 import public_template_world

    browsers = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/17.1",
                "Mozilla/5.0 (Windows NT 10.0; rv:121.0) Firefox/121.0", "Mozilla/5.0 (X11; Linux x86_64) Chrome/119.0",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Chrome/120.0"]
    events, _ = planted_world(0, n_benign=300, rings=())
    world = public_template_world(np.random.default_rng(0)).with_columns(
        user_agent=pl.when(pl.col("account_id").str.starts_with("office"))
        .then(pl.col("account_id").str.extract(r"_(\d)$").cast(int).replace_strict(dict(enumerate(browsers))))
        .otherwise("user_agent"))
    out = flagged_groups(pl.concat([events, world]))
    assert out["ring"] and not any(out[f"office{o}"] for o in range(3)), out


def test_a_campaign_holding_a_held_block_is_still_pooled():
    from graphlink.stages.campaign_pool import pooled_partition
    from graphlink.stages.split_guard import HELD

    camp = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 1, 1]})
    part = pl.DataFrame({"account_idx": range(9), "cluster_id": [1] * 3 + [2] * 3 + [3] * 3},
                        schema_overrides={"account_idx": pl.UInt32})
    tied = pl.DataFrame({"campaign_id": [1], "substantial": [True], "infrastructure": [True]})
    clusters = pl.DataFrame({"cluster_id": [1, 2, 3], "score": [0.7, 0.2, 0.1],
                             HELD: ["6 accounts scoring 0.400", "6 accounts scoring 0.400", None]})
    assert pooled_partition(camp, part, clusters, tied)["account_idx"].to_list() == list(range(9))
    # A block scoring the threshold whose whole does too is flagged: its campaign is not pooled.
    assert pooled_partition(camp, part, clusters.with_columns(pl.lit(None, pl.String).alias(HELD)), tied).is_empty()


def tame_cells(rng: np.random.Generator, clients: list[str]) -> list[pl.DataFrame]:
    """Tame cells of 6 of the ring's operator, one per client: office hours, 3 addresses and 2 cards of their own,
    templates X and Y in half of their 20 requests each."""
    frames = []
    for t, client in enumerate(clients):
        for i in range(6):
            seconds = rng.integers(0, 14, 20) * 86400 + rng.integers(8 * 3600, 18 * 3600, 20)
            frames.append(frame([f"tame{t}_{i}"] * 20, seconds, [f"73.{10 + t}.9.{x}" for x in rng.integers(2, 5, 20)],
                                [f"pf_tame_{t}_{i % 2}"] * 20,
                                [([X, Y][k % 2] + " " + " ".join(rng.choice(VOCAB, 3))) if rng.random() < 0.5
                                 else " ".join(rng.choice(VOCAB, 9)) for k in range(20)], client))
    return frames


@pytest.mark.xfail(strict=True, reason="the client split's price: an operator whose tame cells each run a client of their "
                   "own (okhttp, Go, node-fetch, axios) and share only its template with its scripted cells is read as four "
                   "copiers; 24 of its 42 accounts unflagged (on their python-requests client all four are tied)")
def test_an_operators_tame_cells_each_on_a_client_of_its_own_are_tied_by_its_template():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    cells = tame_cells(rng, ["okhttp/4.12.0", "Go-http-client/2.0", "node-fetch/3.3.2", "axios/1.6.2"])
    out = flagged_groups(pl.concat([events, *scripted_ring(rng, [[X], [Y], [X, Y]]), *cells]))
    assert out["ring"] and all(out[f"tame{t}"] for t in range(4)), out


@pytest.mark.xfail(strict=True, reason="clustering, not the flag rule (also on 1668d9e, wording cells off): a ring of 10 "
                   "scoring 0.91 alone that pays once or twice per account with an office's corporate card is one Leiden "
                   "cluster with the office's 40 (0.45); the office's free writers stay with the ring's block (MIN_INNER), "
                   "and a split would not help: the guard holds a block whose whole scores under the threshold")
def test_a_ring_paying_now_and_then_with_an_offices_card_is_not_hidden_in_the_office():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    ring = [frame([f"ring_{i}"] * 25, np.arange(25) * 7 * 3600 + rng.integers(0, 30, 25),
                  [f"185.77.{p}.{p % 7 + 2}" for p in rng.integers(0, 60, 25)],
                  [("pf_corp" if rng.random() < 0.05 else f"pf_ring_{i % 3}") for _ in range(25)],
                  [X + " " + " ".join(rng.choice(VOCAB, 3)) for _ in range(25)], "python-requests/2.31") for i in range(10)]
    office = [frame([f"office_{i}"] * 10, rng.integers(0, 14, 10) * 86400 + rng.integers(8 * 3600, 18 * 3600, 10),
                    [f"198.51.100.{x}" for x in rng.integers(1, 3, 10)],
                    [("pf_corp" if rng.random() < 0.9 else f"pf_own_{i}") for _ in range(10)],
                    [" ".join(rng.choice(VOCAB, 9)) for _ in range(10)], BROWSER) for i in range(40)]
    out = flagged_groups(pl.concat([events, *ring, *office]))
    assert out["ring"] and not out["office"], out


@pytest.mark.xfail(strict=True, reason="the split guard's rule: an operator pads its loud cell (8 accounts, 0.90 alone: same "
                   "minutes, proxies, one template) with 40 of its own tame accounts on the same four pool cards; the wording "
                   "split parts them, but the whole scores 0.54, so the loud block is held and nothing is flagged (as with "
                   "wording cells off). The whole's score is diluted by the padding, not lowered by counter-evidence")
def test_an_operator_padding_its_loud_cell_with_tame_accounts_on_its_cards_is_flagged():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    loud = [frame([f"loud_{i}"] * 25, np.arange(25) * 7 * 3600 + rng.integers(0, 30, 25),
                  [f"185.40.{p}.{p % 7 + 2}" for p in rng.integers(0, 60, 25)], [f"pf_op_{x}" for x in rng.integers(0, 4, 25)],
                  [X + " " + " ".join(rng.choice(VOCAB, 3)) for _ in range(25)], "python-requests/2.31") for i in range(8)]
    pad = [frame([f"pad_{i}"] * 12, rng.integers(0, 14, 12) * 86400 + rng.integers(8 * 3600, 18 * 3600, 12), [f"73.{20 + i}.9.{i}"] * 12,
                 [f"pf_op_{x}" for x in rng.integers(0, 4, 12)],
                 [(Y + " " + " ".join(rng.choice(VOCAB, 3))) if rng.random() < 0.5 else " ".join(rng.choice(VOCAB, 9))
                  for _ in range(12)], BROWSER) for i in range(40)]
    out = flagged_groups(pl.concat([events, *loud, *pad]))
    assert out["loud"], out


@pytest.mark.xfail(strict=True, reason="by design: agreeing clients prove nothing, and a text-only tie stands when they agree; "
                   "three teams of six whose batch jobs send a ring's public template on python-requests (the ring's client "
                   "too) are tied by 18-22 prompt phrases and flagged. Requiring a tooling trace of text-only ties (as strong "
                   "cells do) was measured: main's dev outputs hold 36-187 ring accounts per world tied by text alone with none")
def test_teams_whose_batch_job_sends_a_rings_public_template_on_the_rings_stock_client_are_not_flagged():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    teams = [office_team(rng, f"office{o}", f"98.{60 + o}.1.1", 0.7, cards=1, client="python-requests/2.31") for o in range(3)]
    out = flagged_groups(pl.concat([events, *scripted_ring(rng, [[X], [Y]] + [[X, Y]] * 8), *teams]))
    assert out["ring"] and not any(out[f"office{o}"] for o in range(3)), out
