"""Card pool or one card per organisation (:mod:`graphlink.stages.card_pools`).

The statistic is checked against a brute-force oracle over every pair of members, and
the scoring rule on hand-built logs of the same shape: families behind one campus
NAT (each family's card and home address its own) must not read as a card pool, an
operator paying at random from a pool of the same size must -- when its accounts do
scripted work, camouflaged or not, and not when a few busy accounts do it for the rest.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.pipeline import run_detect
from graphlink.stages.card_pools import UNIT_COVER, card_alignment, card_units
from tests.test_detection_classes import T0, Log, _private_ip, _words, add_people


def pooled_card_of(members: list[int], holders: dict[int, list[int]], kind: dict[int, str]) -> dict[int, int]:
    """Each member on a card paying for three or more members: its most used such card (then the lowest)."""
    cards = {s: [a for a in hs if a in members] for s, hs in holders.items() if kind[s] == "payment"}
    pooled = {s: hs for s, hs in cards.items() if len(hs) >= 3}
    card = {}
    for a in members:
        mine = sorted((-len(hs), s) for s, hs in pooled.items() if a in hs)
        if mine:
            card[a] = mine[0][1]
    return card


def clusters_on_pooled_cards(cluster_of: dict[int, int], affiliations: list[tuple[int, int]], kind: dict[int, str]):
    """``(cluster, holders of every value, pooled card of each member)`` for each cluster with two or more pooled cards."""
    holders: dict[int, list[int]] = {}
    for a, s in affiliations:
        holders.setdefault(s, []).append(a)
    for c in sorted(set(cluster_of.values())):
        card = pooled_card_of([a for a, k in cluster_of.items() if k == c], holders, kind)
        if len(set(card.values())) >= 2:
            yield c, holders, card


def oracle(cluster_of: dict[int, int], affiliations: list[tuple[int, int]], kind: dict[int, str],
           weight: dict[int, float]) -> dict[int, float]:
    """Every pair of members, counted one by one (no aggregation shared with the code under test);
    only values at least half of whose holders are members count."""
    out = {}
    for c, holders, card in clusters_on_pooled_cards(cluster_of, affiliations, kind):
        members = [a for a, k in cluster_of.items() if k == c]
        on = sorted(card)
        pairs = list(itertools.combinations(on, 2))
        e_same = sum(card[a] == card[b] for a, b in pairs) / len(pairs)
        same = total = text_same = text_total = 0.0
        for s, hs in holders.items():
            inside = [h for h in hs if h in members]
            if kind[s] == "payment" or weight[s] <= 0 or 2 * len(inside) < len(hs):
                continue
            for a, b in itertools.combinations([h for h in hs if h in card], 2):
                total += weight[s]
                same += weight[s] * (card[a] == card[b])
                if kind[s] == "prompt":
                    text_total += weight[s]
                    text_same += weight[s] * (card[a] == card[b])
        if total:
            value = max(-1.0, min(1.0, (same / total - e_same) / (1 - e_same)))
            if text_total:  # shared phrasing across cards cancels the alignment
                value *= max(0.0, min(1.0, (text_same / text_total - e_same) / (1 - e_same)))
            out[c] = value
    return out


def frames(cluster_of: dict[int, int], affiliations: list[tuple[int, int]], kind: dict[int, str],
           weight: dict[int, float]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The random world as the functions under test take it: ``(members, memberships, signals)``."""
    members = pl.DataFrame({"cluster_id": list(cluster_of.values()), "account_idx": list(cluster_of)},
                           schema={"cluster_id": pl.Int64, "account_idx": pl.UInt32})
    memberships = pl.DataFrame(affiliations, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    df = {s: sum(1 for _, t in affiliations if t == s) for s in kind}
    signals = pl.DataFrame({"signal_idx": list(kind), "kind": list(kind.values()), "weight": list(weight.values()),
                            "df": [df[s] for s in kind]},
                           schema={"signal_idx": pl.UInt32, "kind": pl.String, "weight": pl.Float64, "df": pl.UInt32})
    return members, memberships, signals


@pytest.mark.parametrize("seed", range(6))
def test_card_alignment_matches_a_pair_by_pair_oracle(seed):
    rng = np.random.default_rng(seed)
    n, n_signals = 40, 25
    cluster_of = {a: int(rng.integers(0, 3)) for a in range(n)}
    kind = {s: ("payment" if s < 6 else str(rng.choice(["ip", "prompt", "timing"]))) for s in range(n_signals)}
    weight = {s: float(rng.choice([0.0, 0.3, 1.0, 2.5])) for s in range(n_signals)}
    affiliations = sorted({(a, int(rng.integers(0, 6))) for a in range(n) if rng.random() < 0.9}
                          | {(int(rng.integers(0, n)), s) for s in range(6, n_signals) for _ in range(8)})
    members, memberships, signals = frames(cluster_of, affiliations, kind, weight)
    got = {r["cluster_id"]: r["card_alignment"] for r in card_alignment(members, memberships, signals).iter_rows(named=True)}
    want = oracle(cluster_of, affiliations, kind, weight)
    assert set(want) <= set(got)
    for c, value in want.items():
        assert got[c] == pytest.approx(value, abs=1e-9)
    assert all(got[c] is None for c in set(got) - set(want))


def units_oracle(cluster_of: dict[int, int], affiliations: list[tuple[int, int]], kind: dict[int, str],
                 weight: dict[int, float]) -> dict[int, float]:
    """Card by card: does a non-text linking value held by two or more of the card's members, and by
    at least half of its holders in the whole log, cover UNIT_COVER of them? Share of members on such cards."""
    out = {}
    for c, holders, card in clusters_on_pooled_cards(cluster_of, affiliations, kind):
        on_unit = 0
        for k in set(card.values()):
            mine = [a for a in card if card[a] == k]
            own = []
            for s, hs in holders.items():
                h = sum(a in mine for a in hs)
                if kind[s] not in ("payment", "prompt") and weight[s] > 0 and h >= 2 and 2 * h >= len(hs):
                    own.append(h)
            if own and max(own) >= UNIT_COVER * len(mine):
                on_unit += len(mine)
        out[c] = on_unit / len(card)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_card_units_match_a_card_by_card_oracle(seed):
    rng = np.random.default_rng(100 + seed)
    n, n_signals = 60, 40
    cluster_of = {a: int(rng.integers(0, 3)) for a in range(n)}
    kind = {s: ("payment" if s < 8 else str(rng.choice(["ip", "ip_net", "prompt", "timing"]))) for s in range(n_signals)}
    weight = {s: float(rng.choice([0.0, 0.3, 1.0, 2.5])) for s in range(n_signals)}
    card = {a: int(rng.integers(0, 8)) for a in range(n)}
    affiliations = sorted({(a, card[a]) for a in range(n) if rng.random() < 0.9}
                          # the first four cards' holders mostly share a value of their own (an office) ...
                          | {(a, 8 + card[a]) for a in range(n) if card[a] < 4 and rng.random() < 0.7}
                          # ... and values spread at random
                          | {(int(rng.integers(0, n)), s) for s in range(16, n_signals) for _ in range(6)})
    members, memberships, signals = frames(cluster_of, affiliations, kind, weight)
    got = dict(card_units(members, memberships, signals).iter_rows())
    want = units_oracle(cluster_of, affiliations, kind, weight)
    assert set(got) == set(want)
    assert want  # the draw has groups with pooled cards
    for c, value in want.items():
        assert got[c] == pytest.approx(value, abs=1e-12)


def campus_world(pooled: bool, seed: int = 6, nat_share: int = 2, students: int = 100, askers: int = 0,
                 template: str | None = None, scripting: int = 16, script_tenths: int = 10,
                 script_requests: int = 30) -> tuple[Log, list[str]]:
    """Four families of four behind one campus NAT (the campus's ``students`` use it too), asking
    the stock questions everyone asks. With ``pooled`` the same sixteen accounts are an operator's:
    each account pays with a card drawn at random from four and goes out through a random one of
    the four home addresses, so neither card nor address marks a group. ``template`` (with a ``{}``
    for the fill-in): the first ``scripting`` of the sixteen send it instead of stock questions
    (scripted traffic) in ``script_tenths`` of every ten requests, and send ``script_requests``
    requests each (the others 30). The defaults (all sixteen, every request, 30) draw the same log
    as before these three existed."""
    rng = np.random.default_rng(seed)
    log = Log()
    nat = "203.0.113.7"
    stock = ("what are the pros and cons of {}", "can you help me with a {} plan", "give me 9 ideas for {}")
    family = []
    for f in range(4):
        for i in range(4):
            acc = f"fam{f}x{i}"
            family.append(acc)
            scripts = template is not None and len(family) <= scripting
            for k in range(script_requests if scripts else 30):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(0, 24)),
                                    minutes=int(rng.integers(0, 60)))
                g = int(rng.integers(0, 4)) if pooled else f
                ip = nat if k % nat_share == 0 else f"198.51.{100 + (int(rng.integers(0, 4)) if pooled else f)}.9"
                prompt = stock[int(rng.integers(0, 3))].format(_words(rng, 3))
                if scripts and k % 10 < script_tenths:
                    prompt = template.format(prompt)
                log.add(acc, ts, ip, f"family-card-{g}", prompt)
    for i in range(students):  # the campus
        for _ in range(int(rng.integers(2, 6))):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                minutes=int(rng.integers(0, 60)))
            log.add(f"student{i}", ts, nat if rng.random() < 0.7 else _private_ip(i), f"student-card-{i}",
                    stock[int(rng.integers(0, 3))].format(_words(rng, 3)) if rng.random() < 0.5
                    else f"how do I {_words(rng, 6)}")
    add_people(log, rng, 100)
    # People elsewhere asking the same stock questions (drawn apart: the campus above is unchanged).
    other = np.random.default_rng(seed + 1000)
    for i in range(askers):
        for _ in range(int(other.integers(2, 6))):
            ts = T0 + timedelta(days=int(other.integers(0, 5)), hours=int(other.integers(8, 22)),
                                minutes=int(other.integers(0, 60)))
            log.add(f"asker{i}", ts, _private_ip(1000 + i), f"asker-card-{i}",
                    stock[int(other.integers(0, 3))].format(_words(other, 3)))
    return log, family


def _row(result, account):
    cid = result.accounts.filter(pl.col("account_id") == account)["cluster_id"][0]
    return result.clusters.filter(pl.col("cluster_id") == cid).row(0, named=True)


def test_families_behind_one_campus_nat_are_not_a_card_pool():
    """Fails before card alignment: three families merged by the NAT (score 0.82): their three
    cards, each paying for four, read as a pool of 0.67."""
    log, family = campus_world(pooled=False)
    result = run_detect(log.frame())
    in_clusters = result.accounts.filter(pl.col("account_id").is_in(family)).drop_nulls("cluster_id")
    for cid in in_clusters["cluster_id"].unique():
        row = result.clusters.filter(pl.col("cluster_id") == cid).row(0, named=True)
        assert not row["flagged"], row["why"]
        assert (row["card_pool"] or 0) < 0.2


SCRIPT = ("Solve the following problem and show every step of your reasoning in full detail before "
          "giving the final answer, then check each step again: {}")


def test_the_same_accounts_paying_from_a_pool_at_random_are_one():
    """The sixteen paying from four cards at random and sending one script: a fleet's card pool."""
    log, family = campus_world(pooled=True, template=SCRIPT)
    result = run_detect(log.frame())
    row = _row(result, family[0])
    assert row["template_share"] >= 0.9
    assert row["card_pool"] >= 0.5
    assert row["flagged"], row["why"]


def test_a_card_pool_paying_for_stock_questions_is_not_a_fleets():
    """The same pool, but the accounts ask the stock questions people ask (no script): the cards pay
    for no scripted traffic, so they are no fleet's pool (``card_pool`` times the members' mean
    template share) -- staff on a card per office or department look like this, and so would an
    operator that writes no template, which other evidence must then show."""
    log, family = campus_world(pooled=True)
    result = run_detect(log.frame())
    row = _row(result, family[0])
    assert row["template_share"] < 0.2
    assert row["card_pool"] < 0.2
    assert not row["flagged"], row["why"]


def test_a_pool_whose_scripted_traffic_is_a_few_service_accounts_is_not_a_fleets():
    """The same pool where three of the sixteen are service accounts sending the script 200 times
    each and the other thirteen ask stock questions: over half the cluster's *prompts* are scripted
    (the service accounts' volume), but the typical account sends none. A company's cron accounts
    look like this beside staff on a card per department; a fleet's accounts all do the scripted job.
    Fails with the share of prompts (session 12: flagged at 0.655, card pool 0.45): the cards count
    only as far as the members' own traffic is scripted, account by account (mean 3 / 16)."""
    log, family = campus_world(pooled=True, template=SCRIPT, scripting=3, script_requests=200)
    result = run_detect(log.frame())
    row = _row(result, family[0])
    assert _row(result, family[-1])["cluster_id"] == row["cluster_id"]  # staff and service accounts together
    assert row["template_share"] >= 0.5
    assert row["card_pool"] < 0.3
    assert not row["flagged"], row["why"]


def test_a_camouflaged_fleet_keeps_its_card_pool():
    """Control: all sixteen send the script in six of every ten requests and ask stock questions in
    the rest (camouflage). The share of scripted prompts is about that of the service accounts
    above, but here every account does the scripted job: the pool still counts and the fleet is
    flagged."""
    log, family = campus_world(pooled=True, template=SCRIPT, script_tenths=6)
    result = run_detect(log.frame())
    row = _row(result, family[0])
    assert 0.5 <= row["template_share"] <= 0.7
    assert row["card_pool"] >= 0.4
    assert row["flagged"], row["why"]
