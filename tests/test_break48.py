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


@pytest.mark.xfail(strict=True, reason="by design (tie_weights): a cluster under MIN_SIGNATURE_SIZE (5) has no client "
                   "signature and is never split off, so four staff copying a ring's public template from their browsers "
                   "are tied by the text alone (18 prompt phrases) and flagged")
def test_a_team_of_four_copying_a_rings_public_template_from_browsers_is_not_flagged():
    rng = np.random.default_rng(0)
    events, _ = planted_world(0, n_benign=300, rings=())
    small = office_team(rng, "small", "98.70.1.1", 0.7).filter(pl.col("account_id").str.extract(r"_(\d)$").cast(int) < 4)
    out = flagged_groups(pl.concat([events, *scripted_ring(rng, [[X], [Y]] + [[X, Y]] * 8), small]))
    assert out["ring"] and not out["small"], out
