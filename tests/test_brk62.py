"""Break-it review of session 62's branches (helper brk62): passage ties, card cells, pool carriers.

Each test is a small hand-built input with the right answer. A strict xfail is a finding its author must fix;
a passing test pins what held. BENCHMARKS.md "Sixty-second pass (session 62, helper brk62)".
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.stages.card_cells import card_parts
from tests._worlds import planted_world

#: tie62's framework prompt (19 words), and two real-world shapes of a framework's stock system prompt.
HEAD = "you are a helpful assistant that answers concisely using the provided context and cites sources when unsure say so"
#: A passage that repeats a clause of four words with other words on both sides ("you do not know"): a long system
#: prompt repeats such clauses ("you must not", "the user asks") as a matter of course.
REPEATED = "you are a helpful assistant if you do not know the answer then say you do not know and stop there"
#: A framework prompt with a fill-in slot (the product's name): every user fills it with its own.
SLOT = "you are a helpful assistant for {} that answers concisely using the provided context and cites sources"
RING_WORDS = "review five star amazing product buy now discount best"
TEAM_WORDS = "invoice quarterly ledger payroll audit vendor budget forecast"


@lru_cache(maxsize=1)
def background() -> pl.DataFrame:
    return planted_world(2, n_benign=400)[0]


def group(name: str, n: int, rng: np.random.Generator, head: str, words: str, ips: list[str], cards,
          hours: tuple[int, int], per: int = 10) -> pl.DataFrame:
    """``n`` accounts sending ``per`` prompts each: ``head`` then 12 of their own ``words``, python-requests,
    between ``hours`` UTC over two weeks (tie62's builder, the head a parameter)."""
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    sec = rng.integers(0, 14, m) * 86400 + rng.integers(*hours, m) * 3600 + rng.integers(0, 3600, m)
    body = [" ".join(w) for w in rng.choice(np.array(words.split()), (m, 12))]
    return pl.DataFrame({
        "account_id": [f"{name}{i:03d}" for i in acc],
        "timestamp": (np.datetime64("2024-05-01T00:00:00") + sec.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": rng.choice(ips, m).tolist(), "payment_fingerprint": [cards(i) for i in acc],
        "prompt": [head + " " + b for b in body], "user_agent": "python-requests/2.31.0"})


def company_and_ring(team_head: str, ring_head: str) -> pl.DataFrame:
    """A company of 14 (a card each, two office addresses, office hours) and a ring of 20 (3 cards, 24 addresses,
    around the clock) beside planted_world's 400 users and two rings; each group opens every prompt with its head."""
    events = background()
    rng = np.random.default_rng(3)
    team = group("acme", 14, rng, team_head, TEAM_WORDS, ["203.0.113.5", "203.0.113.6"], lambda i: f"pf_acme{i}", (9, 17))
    ring = group("zrng", 20, rng, ring_head, RING_WORDS, [f"198.18.{i}.{j}" for i in range(3) for j in range(1, 9)],
                 lambda i: f"pf_zrng{i % 3}", (0, 24), per=25)
    return pl.concat([events] + [f.with_columns(pl.col("timestamp").cast(events.schema["timestamp"])) for f in (team, ring)],
                     how="diagonal_relaxed")


def flagged(log: pl.DataFrame, **settings) -> dict[str, int]:
    result = graphlink.detect(log, config=graphlink.build_config(**settings) if settings else None)
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    got = acc.group_by(pl.col("account_id").str.slice(0, 4).alias("g")).agg(pl.col("flagged").fill_null(False).sum())
    return dict(got.iter_rows())


# ---------------------------------------------------------------------------------------------------------------------
# passage ties (on by default): what held


def test_a_company_pasting_the_passage_in_look_alike_letters_and_zero_width_spaces_stays_unflagged():
    # Cyrillic a for every Latin a and a zero-width space after every space: normalised, still one passage
    tricked = HEAD.replace("a", "\u0430").replace(" ", " \u200b")
    got = flagged(company_and_ring(tricked, HEAD))
    assert got["zrng"] == 20 and got["acme"] == 0 and got["user"] == 0


def test_detection_with_the_new_defaults_is_deterministic():
    log = company_and_ring(HEAD, HEAD)
    a, b = graphlink.detect(log), graphlink.detect(log.sample(fraction=1.0, shuffle=True, seed=5))
    key = ["account_id"]
    assert a.accounts.sort(key).equals(b.accounts.sort(key))
    assert a.clusters.sort("cluster_id").equals(b.clusters.sort("cluster_id"))


# ---------------------------------------------------------------------------------------------------------------------
# passage ties: what broke -- "one passage" is read off chains of overlapping phrases, and a framework prompt is
# one passage only while no four-word clause repeats in it and it has no fill-in slot. Either makes it two or more
# chains, and the company is tied again by "N prompt phrases" (score 0.0), as on main before the fix.


@pytest.mark.xfail(strict=True, reason="brk62: a framework prompt repeating a four-word clause with other words on "
                   "both sides is a crossing in prompt_templates, so its phrases chain into several passages and the "
                   "quiet company pasting it is tied to the ring again (flagged 14 of 14, 'tied ... by 17 prompt "
                   "phrases'); the passages should be counted as what the company's prompts write together, not as "
                   "chains of account-level phrases")
def test_a_company_pasting_a_framework_prompt_that_repeats_a_clause_stays_unflagged():
    got = flagged(company_and_ring(REPEATED, REPEATED))
    assert got["zrng"] == 20 and got["acme"] == 0


@pytest.mark.xfail(strict=True, reason="brk62: a framework prompt with a fill-in slot (each user writes its own "
                   "product name) is two passages around the slot; the quiet company is tied to a ring using the same "
                   "framework by 8 prompt phrases and flagged 14 of 14 -- exactly the framework class passage_ties "
                   "was built for")
def test_a_company_filling_a_framework_prompts_slot_with_its_own_name_stays_unflagged():
    got = flagged(company_and_ring(SLOT.format("acme corporation"), SLOT.format("zeta holdings")))
    assert got["zrng"] == 20 and got["acme"] == 0


def test_the_slot_and_repeat_findings_are_the_passage_rule_not_the_input():
    # the same company with one unbroken passage is unflagged (tie62's fix), so the two xfails above can pass
    got = flagged(company_and_ring(HEAD, HEAD))
    assert got["zrng"] == 20 and got["acme"] == 0


def company_on_cards(cards, ring: bool = True) -> pl.DataFrame:
    """tie62's company (two office addresses, office hours, ``HEAD`` in every prompt) paying with ``cards(i)``, beside
    the ring of 20 pasting ``HEAD`` too (if ``ring``) and planted_world's users and rings."""
    events = background()
    rng = np.random.default_rng(3)
    frames = [group("acme", 14, rng, HEAD, TEAM_WORDS, ["203.0.113.5", "203.0.113.6"], cards, (9, 17))]
    ring_frame = group("zrng", 20, rng, HEAD, RING_WORDS, [f"198.18.{i}.{j}" for i in range(3) for j in range(1, 9)],
                       lambda i: f"pf_zrng{i % 3}", (0, 24), per=25)
    frames += [ring_frame] if ring else []
    return pl.concat([events] + [f.with_columns(pl.col("timestamp").cast(events.schema["timestamp"])) for f in frames],
                     how="diagonal_relaxed")


def test_a_team_on_one_corporate_card_pasting_the_framework_prompt_is_unflagged_alone():
    # control for the xfail below: alone, the team scores 0 (one card shared is no evasion)
    assert flagged(company_on_cards(lambda i: "pf_corp", ring=False))["acme"] == 0


@pytest.mark.xfail(strict=True, reason="brk62: passage_ties' quiet gate counts payment_reuse as a trace of a fleet, "
                   "so a team of 14 on one corporate card (score 0.0 alone, unflagged) pasting the ring's framework "
                   "prompt is not quiet and is tied by the one passage again: 'tied to flagged cluster 2 by 15 prompt "
                   "phrases', flagged 14 of 14 (as on main). A shared card is coordination, not evasion: the gate "
                   "could read the evasion components (or the score) rather than every component")
def test_a_team_on_one_corporate_card_pasting_a_rings_framework_prompt_stays_unflagged():
    got = flagged(company_on_cards(lambda i: "pf_corp"))
    assert got["zrng"] == 20 and got["acme"] == 0


@pytest.mark.xfail(strict=True, reason="brk62 (pre-existing on main 5252008, not this session's): a company of 14 on "
                   "two department cards whose in-house tool opens every request with a framework's stock system "
                   "prompt is flagged on its own, 14 of 14, score 0.93 ('14 of 14 accounts send mostly the cluster's "
                   "own template ... paid with 2 cards'): a public passage every member sends reads as the cluster's "
                   "own template for card_pool")
def test_a_company_on_two_department_cards_whose_tool_sends_a_framework_prompt_is_unflagged():
    assert flagged(company_on_cards(lambda i: f"pf_dept{i % 2}", ring=False))["acme"] == 0


# ---------------------------------------------------------------------------------------------------------------------
# card cells (on by default): card_parts as the pipeline calls it (pool=0, clock=2), on card62's inputs -- each
# member's cards, a pool's addresses, a template's phrases and the minutes it works in. Flags and campaigns cannot
# move (parts keep the judgement); what can go wrong is one cell cut into several (ARI by cell).

DAY = 1_440


def _units(groups: int, per: int) -> list[np.ndarray]:
    return [np.array([i // per]) for i in range(groups * per)]


def _pool(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [rng.choice(60, 6, replace=False) for _ in range(n)]


def _template(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [rng.choice(20, 8, replace=False) for _ in range(n)]


def _bursts(rng: np.random.Generator, hours: tuple[int, int], days, per_day: int = 30) -> np.ndarray:
    return np.concatenate([d * DAY + rng.choice(np.arange(hours[0] * 60, hours[1] * 60), per_day, replace=False)
                           for d in days])


def _members(rng: np.random.Generator, bursts: np.ndarray, n: int) -> list[np.ndarray]:
    return [rng.choice(bursts, int(0.8 * len(bursts)), replace=False) for _ in range(n)]


def _one_cell(first: list[np.ndarray], second: list[np.ndarray], rng: np.random.Generator):
    return card_parts(_units(4, 6), [_pool(rng, 24), _template(rng, 24), first + second], 5, pool=0, clock=2)


def test_one_cell_in_three_shifts_that_never_overlap_stays_whole():
    for seed in range(1, 4):
        rng = np.random.default_rng(seed)
        minutes = sum((_members(rng, _bursts(rng, h, range(10)), 8) for h in ((0, 8), (8, 16), (16, 24))), [])
        assert card_parts(_units(4, 6), [_pool(rng, 24), _template(rng, 24), minutes], 5, pool=0, clock=2) is None


def test_one_cell_whose_shifts_follow_the_cells_clock_stays_whole_overlapping_or_not():
    # one burst clock for the cell; each half takes the bursts of its hours (8-16 and 12-20: four hours of handover)
    for seed in range(1, 4):
        rng = np.random.default_rng(seed)
        bursts = _bursts(rng, (0, 24), range(10))
        hour = (bursts % DAY) // 60
        a, b = bursts[(hour >= 8) & (hour < 16)], bursts[(hour >= 12) & (hour < 20)]
        assert _one_cell(_members(rng, a, 12), _members(rng, b, 12), rng) is None


def test_one_cell_whose_shifts_each_add_a_task_template_to_the_common_one_stays_whole():
    # disjoint shifts, and each card group writes phrases of its own task beside the cell's template: the common
    # template ties them, the clock avoids -- one plan
    for seed in range(1, 4):
        rng = np.random.default_rng(seed)
        minutes = _members(rng, _bursts(rng, (0, 12), range(10)), 12) + _members(rng, _bursts(rng, (12, 24), range(10)), 12)
        phrases = [np.concatenate([t, rng.choice(10, 4, replace=False) + 200 + 20 * (i // 6)])
                   for i, t in enumerate(_template(rng, 24))]
        assert card_parts(_units(4, 6), [_pool(rng, 24), phrases, minutes], 5, pool=0, clock=2) is None


def test_card_parts_do_not_depend_on_the_order_of_members_or_the_ids_of_cards():
    for seed in range(1, 6):
        rng = np.random.default_rng(seed)
        minutes = (_members(rng, _bursts(rng, (0, 24), range(10)), 8) + _members(rng, _bursts(rng, (0, 24), range(10)), 8)
                   + _members(rng, _bursts(rng, (6, 18), range(10)), 8))
        cards, evidence = _units(6, 4), [_pool(rng, 24), _template(rng, 24), minutes]
        first = card_parts(cards, evidence, 3, pool=0, clock=2)
        order, ids = rng.permutation(24), rng.permutation(6)
        again = card_parts([ids[cards[i]] for i in order], [[kind[i] for i in order] for kind in evidence], 3,
                           pool=0, clock=2)
        assert (first is None) == (again is None)
        if first is not None:
            assert all((first[order[i]] == first[order[j]]) == (again[i] == again[j]) for i in range(24) for j in range(24))


@pytest.mark.xfail(strict=True, reason="brk62: the clock rule reads a shift plan only as clocks that avoid each "
                   "other; two shifts of one cell overlapping by two hours at handover (8-17 and 15-24, each keeping "
                   "its own bursts, one template, one pool) meet about as often as independent clocks and are parted "
                   "on 8 of 10 seeds (seed 1 here) -- whole on disjoint shifts, so the verdict turns on the handover")
def test_one_cell_in_two_shifts_overlapping_at_handover_stays_whole():
    rng = np.random.default_rng(1)
    first = _members(rng, _bursts(rng, (8, 17), range(10)), 12)
    second = _members(rng, _bursts(rng, (15, 24), range(10)), 12)
    assert _one_cell(first, second, rng) is None


@pytest.mark.xfail(strict=True, reason="brk62: 'a cell's shifts work the days their cell works' does not hold for a "
                   "weekend crew: one cell's weekday card groups (Mon-Fri) and weekend card groups (Sat-Sun), one "
                   "template, one pool, are on other days and parted (10 of 10 seeds; alternate-day crews too)")
def test_one_cell_with_a_weekend_crew_stays_whole():
    rng = np.random.default_rng(1)
    days = range(28)
    first = _members(rng, _bursts(rng, (0, 24), [d for d in days if d % 7 < 5]), 12)
    second = _members(rng, _bursts(rng, (0, 24), [d for d in days if d % 7 >= 5]), 12)
    assert _one_cell(first, second, rng) is None


def test_card_cells_moves_no_flag_and_no_campaign():
    log = company_and_ring(HEAD, HEAD)
    on, off = graphlink.detect(log), graphlink.detect(log, config=graphlink.build_config(card_cells=False))
    cols = ["account_id", "campaign_id"]
    flag = lambda r: r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left").select(
        "account_id", pl.col("flagged").fill_null(False)).sort("account_id")
    assert flag(on).equals(flag(off))
    assert on.accounts.select(cols).sort("account_id").equals(off.accounts.select(cols).sort("account_id"))


# ---------------------------------------------------------------------------------------------------------------------
# pool carriers (opt-in): its office guard asks most members to send most requests from one address most of the
# cluster sends most of theirs from. rec62's company (30 staff on three department cards, office hours, the in-house
# prompt in a third of their requests, two cron service accounts) beside 300 people -- behind one NAT address it holds.

import datetime as dt  # noqa: E402
import random  # noqa: E402

START = dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)
VOCAB = ("river garden budget engine letter window market planet silver doctor travel kitchen winter paper signal "
         "harbor forest museum ticket camera pocket bridge island rocket violin candle orange blanket mirror ladder "
         "jacket tunnel basket dragon pepper sugar thunder puzzle anchor velvet saddle marble canyon meadow lantern "
         "copper feather glacier harvest compass ribbon falcon").split()
IN_HOUSE = ("You are the internal assistant of our logistics company, answer in the house style, cite the shipment "
            "manual section and keep customer names out of the answer. Question: ")
DIGEST = ("Summarise the following shipment log for the hourly operations digest in under one hundred words, keep "
          "every figure as written: ")


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def _at(rng: random.Random, tz: int, first: int = 8, last: int = 22) -> dt.datetime:
    return START + dt.timedelta(days=rng.randrange(6), hours=rng.randrange(first, last) - tz, minutes=rng.randrange(60),
                                seconds=rng.randrange(60))


def logistics_company(office, seed: int = 5, rate: float = 0.3) -> pl.DataFrame:
    """rec62's busy company; ``office(rng)`` is the address of each of its requests (its egress)."""
    rng = random.Random(seed)
    rows = []
    for i in range(300):
        tz, home = rng.choice([-5, 0, 1, 8]), f"81.{i // 200}.{i % 200}.{rng.randrange(1, 250)}"
        rows += [(f"p{i:03d}", _at(rng, tz), home, f"card-p{i}", _text(rng, rng.randrange(6, 25)))
                 for _ in range(rng.randrange(4, 30))]
    for i in range(30):
        for _ in range(rng.randrange(30, 50)):
            text = IN_HOUSE + _text(rng, rng.randrange(6, 20)) if rng.random() < rate else _text(rng, rng.randrange(6, 25))
            rows.append((f"co{i:02d}", _at(rng, 1, 9, 18), office(rng), f"card-dept{i // 10}", text))
    rows += [(f"svc{i}", START + dt.timedelta(days=d, hours=h, seconds=rng.randrange(40)), office(rng), "card-dept0",
              DIGEST + _text(rng, 20)) for i in range(2) for d in range(6) for h in range(24)]
    schema = {"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
              "payment_fingerprint": pl.String, "prompt": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("timestamp")


def company_flagged(events: pl.DataFrame, **settings) -> int:
    result = graphlink.detect(events, config=graphlink.build_config(**settings))
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return int(acc.filter(pl.col("account_id").str.starts_with("co"))["flagged"].fill_null(False).sum())


def test_pool_carriers_office_guard_holds_behind_one_nat_address():
    events = logistics_company(lambda rng: "198.51.100.20")
    assert company_flagged(events, pool_carriers=True) == 0


def test_the_nat_pool_company_is_unflagged_with_pool_carriers_off():
    # the default: the company below is not flagged on main's card pool (so the xfail below is pool_carriers')
    events = logistics_company(lambda rng: f"198.51.100.{20 + rng.randrange(4)}")
    assert company_flagged(events, pool_carriers=False) == 0


# brk62's strict xfail, fixed by rec63 (session 63): an office is the addresses most members share carrying their own
# writing too (graphlink.stages.pool_carriers.office_based), not one address most members send most requests from.
def test_a_company_behind_a_nat_pool_of_four_addresses_stays_unflagged_with_pool_carriers():
    events = logistics_company(lambda rng: f"198.51.100.{20 + rng.randrange(4)}")
    assert company_flagged(events, pool_carriers=True) == 0


# ---------------------------------------------------------------------------------------------------------------------
# small logs and the output contract with every session-62 switch on


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_small_logs_run_with_every_session_62_switch_on(n):
    ts = [dt.datetime(2025, 1, 1, 9, m, tzinfo=dt.timezone.utc) for m in range(2 * n)]
    log = pl.DataFrame({"account_id": [f"a{i % n}" for i in range(2 * n)], "timestamp": ts,
                        "ip": ["198.51.100.9"] * (2 * n), "payment_fingerprint": ["card-1"] * (2 * n),
                        "prompt": [HEAD + " \u200bпривет 🙂"] * (2 * n)})
    config = graphlink.build_config(passage_ties=True, card_cells=True, pool_carriers=True)
    result = graphlink.detect(log, config=config)
    base = graphlink.detect(log, config=graphlink.build_config(passage_ties=False, card_cells=False, pool_carriers=False))
    assert result.accounts.height == n and set(result.accounts.columns) == set(base.accounts.columns)
    assert result.clusters.schema == base.clusters.schema
    assert not result.clusters["flagged"].any()  # never a flag below min_flag_size


# ---------------------------------------------------------------------------------------------------------------------
# signed templates (opt-in, [communities] signed_templates; op62's two gates not yet on int62 when this was written --
# the finding holds on op61's version and on op62's branch alike): two operators running one public script

from graphlink.stages.signed_templates import signed_template_ties  # noqa: E402

#: A public distillation script's template (a GitHub toolkit's): every account of whoever runs it sends it whole.
SCRIPT = ("break the question into sub questions answer each one with detailed reasoning and combine them into a final "
          "answer input")


def _shingles(text: str, k: int = 5) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + k]) for i in range(max(len(words) - k + 1, 1))]


def _signed_pairs(clusters: list[list[list[str]]], outsiders: int = 800, accounts: int = 3_000) -> list[tuple[int, int]]:
    """op62's grouping input by hand: each cluster a list of members, each member the passages it holds; every
    account (and ``outsiders`` unclustered ones) sends python-requests."""
    rows, nodes, a = [], [], 0
    for node, members in enumerate(clusters):
        for held in members:
            nodes.append((a, node))
            rows += [(a, "user_agent", "python-requests/2.31.0")] + [(a, "prompt", p) for p in held]
            a += 1
    rows += [(b, "user_agent", "python-requests/2.31.0") for b in range(a, a + outsiders)]
    held = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String}, orient="row").unique()
    sig = (held.group_by("kind", "value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("kind", "value")
           .with_row_index("signal_idx").with_columns(linked=pl.col("df") >= 2))
    aff = held.join(sig, on=["kind", "value"]).select("account_idx", "signal_idx")
    node = pl.DataFrame(nodes, schema={"account_idx": pl.UInt32, "node": pl.UInt32}, orient="row")
    node_of = node.join(node.group_by("node").len().rename({"len": "size"}), on="node")
    return signed_template_ties(node_of, aff, sig.select("signal_idx", "kind", "df", "linked", "value"), ["prompt"],
                                accounts).select("source", "target").rows()


@pytest.mark.xfail(strict=True, reason="brk62: two operators (or two companies) each running one public script -- its "
                   "template sent whole by every account, short questions of their own, python-requests -- share "
                   "passages no one else writes, written by all of each, and their skeletons agree (0.97 / 0.87 / "
                   "0.65 on questions of 3 / 5 / 8 words, op62's branch): signed templates ties them into one "
                   "campaign. Text and a stock client cannot tell a public toolkit's users apart; a tie needs a "
                   "second, non-text trace (card, address block, clock, private client). End to end the grouping's template "
                   "cosine already puts them in one campaign with the switch off (the next test): a limit of both paths")
def test_two_operators_running_one_public_script_are_not_signed_as_one():
    rng = np.random.default_rng(0)
    first = "invoice ledger payroll audit vendor budget forecast review".split()
    second = "product buy discount star amazing river garden engine".split()
    clusters = [[_shingles(SCRIPT + " " + " ".join(rng.choice(words, 5))) for _ in range(20)] for words in (first, second)]
    assert _signed_pairs(clusters) == []


def test_two_operators_with_their_own_scripts_are_not_signed_as_one():
    # the same two fleets writing scripts of their own: nothing shared, no tie (the xfail above can pass)
    rng = np.random.default_rng(0)
    own = ["compare the two passages and list every difference with a short justification for each one found here",
           SCRIPT]
    words = "invoice ledger payroll audit vendor budget forecast review".split()
    clusters = [[_shingles(t + " " + " ".join(rng.choice(words, 5))) for _ in range(20)] for t in own]
    assert _signed_pairs(clusters) == []


def _two_script_operators() -> pl.DataFrame:
    """Two rings of 20 (own 3 cards, own 19 addresses each), every account sending ``SCRIPT`` and a 5-word question of
    its ring's words around the clock, python-requests, beside planted_world's users and rings."""
    events, rng, frames = background(), np.random.default_rng(7), []
    for name, words, net in (("opaa", "invoice ledger payroll audit vendor budget forecast review", "198.18.1"),
                             ("opbb", "product buy discount star amazing river garden engine", "203.0.113")):
        acc = np.repeat(np.arange(20), 25)
        sec = rng.integers(0, 14, acc.size) * 86400 + rng.integers(0, 86400, acc.size)
        frames.append(pl.DataFrame({
            "account_id": [f"{name}{i:03d}" for i in acc],
            "timestamp": (np.datetime64("2024-05-01T00:00:00") + sec.astype("timedelta64[s]")).astype("datetime64[us]"),
            "ip": rng.choice([f"{net}.{j}" for j in range(1, 20)], acc.size).tolist(),
            "payment_fingerprint": [f"pf_{name}{i % 3}" for i in acc],
            "prompt": [SCRIPT + " " + " ".join(w) for w in rng.choice(np.array(words.split()), (acc.size, 5))],
            "user_agent": "python-requests/2.31.0"}).with_columns(pl.col("timestamp").cast(events.schema["timestamp"])))
    return pl.concat([events, *frames], how="diagonal_relaxed")


@pytest.mark.xfail(strict=True, reason="brk62: two operators sharing nothing but one public script's template (own "
                   "cards, own addresses) are one campaign -- with signed_templates off (main's template cosine) and "
                   "on alike; both flagged on their own, so no flag moves, but an investigator reads one operator")
def test_two_operators_running_one_public_script_are_two_campaigns():
    for switch in (False, True):
        result = graphlink.detect(_two_script_operators(), config=graphlink.build_config(signed_templates=switch))
        acc = result.accounts.filter(pl.col("account_id").str.starts_with("op"))
        got = acc.group_by(pl.col("account_id").str.slice(0, 4)).agg(pl.col("campaign_id").unique())
        assert got.height == 2 and acc["campaign_id"].n_unique() == 2
