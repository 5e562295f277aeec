"""Review of the card pool x template share scoring (issue 17) now that it is the default.

Since session 12 a cluster's ``card_pool`` is multiplied by its ``template_share`` when the log has prompts
(:func:`graphlink.stages.components.component_exprs`): a pool of cards counts only as far as the traffic it
pays for is scripted. It stopped companies with one card per office or department from reading as a ring's
card pool. This review looks for inputs where the factor does harm: rings it lets escape, and benign worlds
it does not protect, or protects only by accident.

Each world is a small seeded log built with the helpers of ``test_detection_classes`` and run through
:func:`graphlink.pipeline.run_detect` with the defaults (events only). Where the question is what the factor
changed, the same log is also run with the factor removed in the test (:func:`unscaled`: the card pool of
main before ``a74e6ad``) -- graphlink code is not changed. Tests marked ``xfail(strict=True)`` show a defect
(they pass once it is fixed), with the measured numbers in their reason; plain tests are controls that pin
down each defect's edge.

Most worlds hold a bystander: a company team (one card, one office address) running a batch job template.
Any real log has some clustered template; without one the factor is not applied at all (the first defect).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import lru_cache

import numpy as np
import polars as pl
import pytest

import graphlink.stages.scoring as scoring
from graphlink.config import PipelineConfig
from graphlink.pipeline import run_detect
from graphlink.stages.components import component_exprs
from tests.test_break_pool import flagged
from tests.test_detection_classes import (RING_TEMPLATE, T0, Log, _private_ip, _words, add_people, add_ring, add_team,
                                          cluster_row, clusters_of)

#: A customer-service extraction job a company's cron account sends (17 fixed words: a template's).
LONG_JOB = ("Read the following customer email and extract the order number, the product, the complaint "
            "and the requested remedy as a JSON object with those four keys: {} ({})")
#: A company's in-house assistant wraps every employee question in its system prompt.
INTERNAL_TOOL = ("You are the internal assistant of Acme Logistics. Answer the employee's question using "
                 "company policy, be concise and cite the handbook section if you know it. Question: {}")
#: A public agent framework's default prompt (ReAct style): developers everywhere send it.
FRAMEWORK = ("Answer the following questions as best you can. You have access to the following tools: "
             "search, calculator. Use the following format: Question: the input question you must answer. {}")
#: A teacher's assignment pasted in front of each pupil's answer.
ASSIGNMENT = ("Homework for class {c}: read the chapter on the water cycle and explain in your own words how "
              "evaporation, condensation and precipitation work together. My answer: {a}")
#: A reseller's writing app wraps each customer's text in its system prompt.
RESELLER_APP = ("You are EssayPal, a friendly writing assistant. Improve the grammar and flow of the user's text "
                "without changing its meaning, and list the changes you made. Text: {}")

#: A distillation instruction sent as it is again and again: the model's sampling varies the answers.
REPEATED = ("You are an expert. Invent one hard competition problem, solve it and show every intermediate "
            "step of your reasoning before the final answer.")

VOCAB = ("river", "garden", "recipe", "holiday", "budget", "poem", "bicycle", "tax", "cat", "python",
         "history", "song", "paint", "moon", "train", "letter", "soup", "chess", "rain", "market",
         "violin", "castle", "desert", "lamp", "ocean", "forest", "window", "coffee", "mountain", "island")
DATACENTER = [f"34.{90 + k}.12.{k + 3}" for k in range(15)]
POOLED = replace(PipelineConfig(), scoring=replace(PipelineConfig().scoring, pool_campaigns=True, component_weights={
    **PipelineConfig().scoring.component_weights, "scripted_accounts": 0.0}))  # as in test_break_pool.py


def unscaled_exprs() -> dict[str, pl.Expr]:
    """:func:`component_exprs` with ``card_pool`` not multiplied by the template share (main before a74e6ad)."""
    out = component_exprs()
    c = pl.col
    out["card_pool"] = (pl.when(c("card_accounts").is_null()).then(None)
                        .otherwise((1 - 1 / c("shared_cards").fill_null(0).clip(1, None)).clip(0, 1)
                                   * (1 - c("card_alignment").fill_null(0).clip(0, 1))))
    return out


def unscaled(frame: pl.DataFrame, **kwargs):
    """``run_detect`` with the card pool not scaled by the template share."""
    mp = pytest.MonkeyPatch()
    mp.setattr(scoring, "component_exprs", unscaled_exprs)
    try:
        return run_detect(frame, **kwargs)
    finally:
        mp.undo()


def bystander(log: Log, seed: int) -> list[str]:
    """A company team elsewhere: one card, one office address, a batch job template (a clustered template)."""
    return add_team(log, np.random.default_rng(seed + 500), "corp", 12, "192.0.2.44", "corp-card")


def row(result, accounts: list[str]) -> dict:
    """The cluster row of the cluster holding most of ``accounts`` (they must be in one)."""
    held = clusters_of(result, accounts)
    assert held, "none of the accounts is clustered"
    cid = held.most_common(1)[0][0]
    return result.clusters.filter(pl.col("cluster_id") == cid).row(0, named=True)


def say(r: dict) -> str:
    return (f"score {r['score']:.3f}, card_pool {r['card_pool']}, template_share {r['template_share']}: "
            f"{r['why']}")


# --- Worlds ----------------------------------------------------------------------------------------

def office_world(seed: int = 21, depts: int = 5, per: int = 8, staff: str = "own", staff_requests: int = 20,
                 cron: int = 0, cron_per_hour: int = 6, ring: bool = False, framework_users: int = 0
                 ) -> tuple[Log, list[str], list[str], list[str]]:
    """One company office behind one NAT address (192.0.2.50), one corporate card per department, staff
    asking in office hours. ``staff``: what their requests carry -- ``own`` (their own questions), ``null``
    or ``empty`` (no prompt logged: an endpoint whose prompts are not kept), ``tool`` (the in-house
    assistant's system prompt around each question), ``framework`` (a public agent framework's prompt).
    ``cron`` accounts per department send :data:`LONG_JOB` ``cron_per_hour`` times an office hour. ``ring``:
    an unrelated operator's ring elsewhere in the log (30 accounts, 6 cards, its template).
    ``framework_users``: developers elsewhere sending the framework prompt. Ordinary people around.
    Returns ``(log, staff, cron accounts, ring)``."""
    rng = np.random.default_rng(seed)
    log = Log()
    names, bots = [], []
    for d in range(depts):
        for i in range(per):
            acc = f"acme{d}x{i}"
            names.append(acc)
            for _ in range(staff_requests):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(9, 17)),
                                    minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
                q = f"{_words(rng, 4)} please explain {_words(rng, 6)}"
                prompt = {"own": q, "null": None, "empty": "", "tool": INTERNAL_TOOL.format(q),
                          "framework": FRAMEWORK.format(q)}[staff]
                log.add(acc, ts, "192.0.2.50", f"acme-card-{d}", prompt)
        for b in range(cron):
            acc = f"acmebot{d}x{b}"
            bots.append(acc)
            for day in range(5):
                for h in range(9, 17):
                    for k in range(cron_per_hour):
                        ts = T0 + timedelta(days=day, hours=h, minutes=10 * k + d, seconds=int(rng.integers(0, 20)))
                        log.add(acc, ts, "192.0.2.50", f"acme-card-{d}",
                                LONG_JOB.format(_words(rng, 3), int(rng.integers(0, 100_000))))
    ring_names = add_ring(log, rng, "ring", 30, 6, DATACENTER, RING_TEMPLATE) if ring else []
    for u in range(framework_users):
        for _ in range(int(rng.integers(3, 8))):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                minutes=int(rng.integers(0, 60)))
            log.add(f"dev{u}", ts, _private_ip(4000 + u), f"dev-card-{u}", FRAMEWORK.format(_words(rng, 8)))
    add_people(log, rng, 100)
    return log, names, bots, ring_names


def ring_world(seed: int = 22, prompts: str = "template", camo: float = 0.0, per_account: int = 72,
               n: int = 30, cards: int = 6) -> tuple[Log, list[str]]:
    """``scoring_world``'s ring: ``n`` accounts paying from ``cards`` cards, each on 4 of 15 datacenter
    addresses, ``per_account`` requests in office hours. ``prompts``: ``template`` (its template; ``camo``
    of the requests free-form camouflage instead), ``dataset`` (a distillation ring sending a question
    set's questions, each once, no instruction around them), ``camel`` (its template written in CamelCase,
    no spaces), ``marks`` (a random combining mark inside every word), ``homoglyph`` (Cyrillic look-alikes),
    ``zw`` (a zero-width space in every word), ``null_half`` (half its requests carry no prompt),
    ``silent_accounts`` (half its accounts send no prompt at all). A bystander team; ordinary people."""
    rng = np.random.default_rng(seed)
    log = Log()
    names = []
    camel = "".join(w.capitalize() for w in RING_TEMPLATE.split(" ")[:-2]) + " {} ({})"
    for i in range(n):
        acc = f"ring{i}"
        names.append(acc)
        own = rng.choice(len(DATACENTER), size=4, replace=False)
        paraphrase = _words(np.random.default_rng([seed, i]), 14)
        for r in range(per_account):
            ts = T0 + timedelta(days=int(rng.integers(0, 4)), hours=int(rng.integers(9, 18)),
                                minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
            fill = (_words(rng, 3), int(rng.integers(0, 1000)))
            prompt = RING_TEMPLATE.format(*fill)
            if prompts == "template" and rng.random() < camo:
                prompt = _words(rng, 12)
            elif prompts == "repeat":  # one fixed instruction, resent (the model's sampling varies the answers)
                prompt = REPEATED if rng.random() >= camo else f"tell me about {_words(rng, 8)}"
            elif prompts == "per_account":  # its instruction paraphrased once per account
                prompt = f"{paraphrase} {fill[0]} {fill[1]}"
            elif prompts == "dataset":
                prompt = f"question {int(rng.integers(0, 10**9))}: {_words(rng, 14)}"
            elif prompts == "camel":
                prompt = camel.format(*fill)
            elif prompts in ("marks", "homoglyph", "zw", "controls"):
                prompt = perturb(prompt, rng, prompts)
            elif prompts == "null_half":
                prompt = prompt if r % 2 else None
            elif prompts == "silent_accounts":
                prompt = prompt if i % 2 else None
            log.add(acc, ts, DATACENTER[int(rng.choice(own))], f"ring-card-{i % cards}", prompt)
    bystander(log, seed)
    add_people(log, rng, 100)
    return log, names


COMBINING = [chr(c) for c in range(0x0300, 0x0370)]
CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0))]
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"}


def perturb(text: str, rng: np.random.Generator, how: str) -> str:
    """Per-request disguise of a template: ``marks`` puts a random combining mark (U+0300-U+036F) after a
    random letter of every word; ``homoglyph`` swaps half the letters with Cyrillic look-alikes; ``zw``
    puts a zero-width space in every word."""
    out = []
    for w in text.split(" "):
        if how == "marks" and len(w) > 1:
            k = int(rng.integers(1, len(w)))
            w = w[:k] + COMBINING[int(rng.integers(0, len(COMBINING)))] + w[k:]
        elif how == "homoglyph":
            w = "".join(CYRILLIC[ch] if ch in CYRILLIC and rng.random() < 0.5 else ch for ch in w)
        elif how == "zw":
            k = int(rng.integers(0, len(w) + 1))
            w = w[:k] + "\u200b" + w[k:]
        elif how == "controls":  # an invisible control character (C0 but whitespace, DEL, C1) inside every word
            k = int(rng.integers(0, len(w) + 1))
            w = w[:k] + CONTROLS[int(rng.integers(0, len(CONTROLS)))] + w[k:]
        out.append(w)
    return " ".join(out)


@lru_cache(maxsize=None)
def ground_camouflage(count: int, below: float, salt: int = 0) -> tuple[str, ...]:
    """``count`` distinct free-form prompts whose 64-bit polars hash with ``salt`` (graphlink hashes prompts
    with ``signals.seed``, 0 by default) falls in the lowest ``below`` of the hash range: what an operator
    grinds offline in seconds so that every account's prompt sample (its 200 distinct prompts with the
    smallest hash) holds camouflage only."""
    words = pl.lit(pl.Series(VOCAB))
    n = int(count / below * 1.3) + 1000
    i = pl.int_range(0, n, dtype=pl.Int64)
    parts = [words.gather((i // 30**k) % 30) for k in range(6)]
    candidates = pl.select(pl.concat_str([pl.lit("tell me about"), *parts], separator=" ").alias("p"))
    hits = candidates.filter(pl.col("p").hash(salt) < pl.lit(int(below * 2**64), pl.UInt64))["p"]
    assert hits.len() >= count
    return tuple(hits.head(count).to_list())


def heavy_ring_world(seed: int = 23, camouflage: str = "ground", template_n: int = 400, camo_n: int = 200,
                     n: int = 30, cards: int = 6) -> tuple[Log, list[str]]:
    """A heavy ring (:func:`ring_world`'s shape): each account sends ``template_n`` distinct template prompts
    and ``camo_n`` free-form camouflage prompts (a third of its traffic), drawn at random (``uniform``) or
    hash-ground (``ground``, :func:`ground_camouflage`). A bystander team; ordinary people."""
    rng = np.random.default_rng(seed)
    log = Log()
    names = []
    pool = ground_camouflage(n * camo_n, 1 / 1000) if camouflage == "ground" else ()
    for i in range(n):
        acc = f"ring{i}"
        names.append(acc)
        own = rng.choice(len(DATACENTER), size=4, replace=False)
        prompts = [RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 10**6))) for _ in range(template_n)]
        prompts += (list(pool[i * camo_n:(i + 1) * camo_n]) if camouflage == "ground"
                    else [f"tell me about {_words(rng, 6)}" for _ in range(camo_n)])
        for p in prompts:
            ts = T0 + timedelta(days=int(rng.integers(0, 4)), hours=int(rng.integers(9, 18)),
                                minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
            log.add(acc, ts, DATACENTER[int(rng.choice(own))], f"ring-card-{i % cards}", p)
    bystander(log, seed)
    add_people(log, rng, 100)
    return log, names


def group_world(seed: int = 25, kind: str = "class", groups: int = 3, per: int = 10, requests: int = 15
                ) -> tuple[Log, list[str]]:
    """Benign groups behind one address, one card per group: a school's classes (``class``: the
    teacher's assignment pasted before each pupil's answer, school hours), a reseller's customers on its
    backend (``reseller``: their own requests, around the clock; ``reseller_app``: the reseller's app wraps
    each request in its system prompt). A bystander team; ordinary people."""
    rng = np.random.default_rng(seed)
    log = Log()
    names = []
    ip = "192.0.2.77" if kind == "class" else "198.51.100.9"
    for g in range(groups):
        for i in range(per):
            acc = f"{kind}{g}x{i}"
            names.append(acc)
            for _ in range(requests):
                hours = (8, 15) if kind == "class" else (0, 24)
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(*hours)),
                                    minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
                own = f"{_words(rng, 4)} because {_words(rng, 5)}"
                prompt = {"class": ASSIGNMENT.format(c=g, a=own), "reseller": f"{_words(rng, 3)} please {own}",
                          "reseller_app": RESELLER_APP.format(own)}[kind]
                log.add(acc, ts, ip, f"{kind}-card-{g}", prompt)
    bystander(log, seed)
    add_people(log, rng, 100)
    return log, names


def cell_world(seed: int = 42, camo: float = 0.0) -> tuple[Log, list[str]]:
    """``card_group_cell_world`` (tests/test_detection_classes): an operator's cell of 12 card groups of 5,
    one datacenter address per account, adjacent groups tied by one address, its template in office
    hours; ``camo`` of each account's requests free-form camouflage instead. Three firms on one framework
    job; ordinary people."""
    from tests.test_detection_classes import FRAMEWORK_JOB

    rng = np.random.default_rng(seed)
    log = Log()
    ring = []
    for g in range(12):
        for i in range(5):
            acc = f"pool{g}x{i}"
            ring.append(acc)
            own = f"34.{150 + g}.{i}.9"
            tie = ([f"35.200.{g - 1}.1"] if i == 0 and g > 0 else []) + ([f"35.200.{g}.1"] if i == 4 and g < 11 else [])
            for d in range(4):
                for h in range(9, 17):
                    ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)),
                                        seconds=int(rng.integers(0, 60)))
                    ip = tie[0] if tie and h % 2 else own
                    prompt = RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000)))
                    if rng.random() < camo:
                        prompt = f"tell me about {_words(rng, 8)}"
                    log.add(acc, ts, ip, f"pool-card-{g}", prompt)
    for t in range(3):
        add_team(log, rng, f"firm{t}x", 12, f"192.0.2.{60 + t}", f"firm{t}-card", minute=5 * t, template=FRAMEWORK_JOB)
    add_people(log, rng, 100)
    return log, ring


# --- 1. The factor is applied only when some clustered account in the log shares a template ----------

def test_a_company_of_department_cards_alone_in_its_log_is_not_flagged():
    """A company of 5 department cards whose staff write their own questions, alone in its log, is
    not flagged: whether a cluster sent prompts is its members' fact, not whether any cluster of the
    run shares a shingle (was a strict xfail of the break-it review, fixed in session 13)."""
    log, staff, _, _ = office_world()
    r = row(run_detect(log.frame()), staff)
    assert not r["flagged"], say(r)


def test_the_same_company_next_to_an_unrelated_ring_is_not_flagged_control():
    """Control: the same company's rows, with an operator's ring elsewhere in the log: template share 0,
    card pool 0, unflagged; the ring is flagged. Without the factor (main before a74e6ad) the company was
    flagged here too (0.850)."""
    log, staff, _, ring = office_world(ring=True)
    result = run_detect(log.frame())
    r = row(result, staff)
    assert r["template_share"] == 0.0 and r["card_pool"] == 0.0
    assert not r["flagged"], say(r)
    assert flagged(result, ring) == 30
    assert row(unscaled(log.frame()), staff)["flagged"]


def test_a_company_is_not_newly_flagged_when_an_unrelated_ring_leaves_the_log():
    """The same through --previous: the company stays unflagged when the ring beside it leaves the
    log (was a strict xfail of the break-it review, fixed in session 13)."""
    log, staff, _, ring = office_world(ring=True)
    day1 = run_detect(log.frame())
    assert not row(day1, staff)["flagged"]
    today = log.frame().filter(~pl.col("account_id").is_in(ring))
    day2 = run_detect(today, previous=day1.accounts.select("account_id", "cluster_id"))
    r = row(day2, staff)
    mapping = day2.cluster_mapping.filter(pl.col("cluster_id") == r["cluster_id"])
    assert mapping["status"].to_list() == ["matched"]
    assert not r["flagged"], say(r)


# --- 2. Rings the factor lets escape -----------------------------------------------------------------

def test_a_ring_sending_its_template_is_flagged_control():
    """Control: the ring of the worlds below, sending its template: card pool 0.83, flagged (0.913)."""
    log, ring = ring_world()
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] == 1.0 and r["card_pool"] > 0.8
    assert r["flagged"], say(r)


@pytest.mark.xfail(strict=True, reason=(
    "a distillation ring sends a question set's questions as they are (each once, no instruction around "
    "them): nothing is scripted, template_share 0, so its 6-card pool counts 0 and the ring (30 accounts, 6 "
    "cards x 5, 4 datacenter addresses each, 12x typical volume) scores 0.335: missed. Without the factor "
    "0.861, flagged. A card pool is fleet tooling whatever the fleet asks; the factor makes it depend on "
    "how the operator writes its prompts, which the operator chooses"))
def test_a_distillation_ring_sending_a_question_set_is_flagged():
    log, ring = ring_world(prompts="dataset")
    r = row(run_detect(log.frame()), ring)
    assert r["flagged"], say(r)


def test_the_distillation_ring_was_flagged_before_the_factor_control():
    log, ring = ring_world(prompts="dataset")
    r = row(unscaled(log.frame()), ring)
    assert r["template_share"] == 0.0 and r["card_pool"] > 0.8
    assert r["flagged"], say(r)


@pytest.mark.parametrize("camo", [0.3, 0.5])
def test_a_ring_with_some_camouflage_is_still_flagged_control(camo):
    """Control: free-form camouflage in 30 % / 50 % of each account's requests: template share 0.69 / 0.51,
    card pool 0.58 / 0.43, still flagged (0.747 / 0.638)."""
    log, ring = ring_world(camo=camo)
    r = row(run_detect(log.frame()), ring)
    assert r["card_pool"] == pytest.approx(r["template_share"] * 5 / 6, abs=1e-9)
    assert r["flagged"], say(r)


@pytest.mark.xfail(strict=True, reason=(
    "camouflage dilutes the card pool in proportion: with 60 % of each account's requests free-form, "
    "template share 0.39, card pool 0.32, score 0.551: the ring of 30 is missed (0.884 without the factor; "
    "70 %: 0.492). The break-even is 55-60 % camouflage, about doubling the operator's request bill; every "
    "account still sends the template (the share of accounts sending it stays 100 %)"))
def test_a_ring_with_sixty_percent_camouflage_is_flagged():
    log, ring = ring_world(camo=0.6)
    r = row(run_detect(log.frame()), ring)
    assert r["flagged"], say(r)


def test_a_ring_resending_one_instruction_is_flagged_control():
    """Control: the ring resends one fixed instruction (no fill; the model's sampling varies the answers):
    template share 1.0, card pool 0.83, flagged (0.911)."""
    log, ring = ring_world(prompts="repeat")
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] == 1.0
    assert r["flagged"], say(r)


def test_a_ring_resending_one_instruction_with_a_tenth_camouflage_is_flagged():
    """The share is of requests (was a strict xfail: 1 template text against ~7 camouflage texts read
    0.118, card pool 0.098, the ring of 30 missed at 0.338 though 90 % of its traffic is the
    instruction). Each sampled prompt now weighs the account's events sending it (session 14)."""
    log, ring = ring_world(prompts="repeat", camo=0.1)
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] > 0.8, say(r)
    assert r["flagged"], say(r)


@pytest.mark.xfail(strict=True, reason=(
    "'scripted' means sharing a 12-word passage with ANOTHER account: an operator that has its instruction "
    "paraphrased once per account (one model call per account) and resends it with fills shares no passage "
    "across accounts: template share 0, card pool 0, score 0.335, the ring of 30 is missed (0.866 without "
    "the factor). Each account is visibly scripted on its own (one 14-word passage in all its prompts)"))
def test_a_ring_paraphrasing_its_instruction_per_account_is_flagged():
    log, ring = ring_world(prompts="per_account")
    r = row(run_detect(log.frame()), ring)
    assert r["flagged"], say(r)


def test_uniform_camouflage_of_a_third_leaves_a_heavy_ring_flagged_control():
    """Control for the next test: each account sends 400 template prompts and 200 free-form ones drawn at
    random (a third of its traffic): the 200-prompt sample holds two thirds template, share 0.66, flagged."""
    log, ring = heavy_ring_world(camouflage="uniform")
    r = row(run_detect(log.frame()), ring)
    assert 0.55 < r["template_share"] < 0.8
    assert r["flagged"], say(r)


def test_hash_ground_camouflage_does_not_hide_a_heavy_rings_template():
    """Prompts are hashed with a per-run salt (:func:`graphlink.stages.encode.prompt_salt`: the seed and a
    digest of the log's accounts), so camouflage ground against the public seed is a random draw in the
    sample (was a strict xfail: share 0.003, the heavy ring of 30 missed at 0.349; session 14)."""
    log, ring = heavy_ring_world(camouflage="ground")
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] > 0.5, say(r)
    assert r["flagged"], say(r)


def test_a_template_with_combining_marks_in_every_word_still_counts():
    """Nonspacing marks are removed before comparing (NFKD, drop \\p{Mn}, NFKC): a mark in every
    word no longer hides the template (was a strict xfail, fixed in session 13)."""
    log, ring = ring_world(prompts="marks")
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] > 0.5, say(r)
    assert r["flagged"], say(r)


def test_a_camel_case_template_still_counts():
    """CamelCase is split at each lower-to-upper ASCII letter before comparing: the template written
    without spaces reads as its words (was a strict xfail, fixed in session 13)."""
    log, ring = ring_world(prompts="camel")
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] > 0.5, say(r)
    assert r["flagged"], say(r)


def test_a_template_with_a_control_character_in_every_word_still_counts():
    """Control characters other than whitespace (NUL, BEL, ESC, DEL, C1) are invisible in most renderings and
    were kept inside words, so one in every word of every copy hid the template from the prompt signal; they are
    removed before comparing, as format characters are (session 39)."""
    log, ring = ring_world(prompts="controls")
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] == 1.0, say(r)
    assert r["flagged"], say(r)


@pytest.mark.parametrize("prompts", ["homoglyph", "zw", "null_half", "silent_accounts"])
def test_disguises_the_normaliser_undoes_and_prompt_gaps_leave_the_ring_flagged_control(prompts):
    """Controls: Cyrillic look-alikes and zero-width spaces are folded (template share 1.0); half the
    requests or half the accounts without a prompt do not dilute the share (it is of the prompts sent)."""
    log, ring = ring_world(prompts=prompts)
    r = row(run_detect(log.frame()), ring)
    assert r["template_share"] == 1.0 and r["card_pool"] > 0.8
    assert r["flagged"], say(r)


@pytest.mark.xfail(strict=True, reason=(
    "pool_campaigns (opt-in): the campaign scored as a whole is diluted the same way. The 12-card-group cell "
    "(card_group_cell_world) with 60 % camouflage stays one campaign of 60 (tied by 11 IP addresses and 9 prompt "
    "values) but scores 0.571 as a whole: no account flagged (0.957 with no camouflage)"))
def test_a_pooled_campaign_with_sixty_percent_camouflage_is_flagged():
    log, ring = cell_world(camo=0.6)
    result = run_detect(log.frame(), config=POOLED)
    assert flagged(result, ring) == 60


def test_a_pooled_campaign_without_camouflage_is_flagged_control():
    log, ring = cell_world(camo=0.0)
    result = run_detect(log.frame(), config=POOLED)
    assert len(set(result.accounts.filter(pl.col("account_id").is_in(ring))["campaign_id"])) == 1
    assert flagged(result, ring) == 60


# --- 3. Benign worlds the factor does not protect ---------------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "the share is of the prompts that were logged, not of the traffic: 40 staff on 5 department cards whose "
    "requests carry no prompt (an endpoint whose prompts are not kept) and one cron account per department "
    "sending a job template once an hour: template share 1.0 (the cron jobs are the only prompts), card "
    "pool 0.8, score 0.894, 45 benign accounts flagged. The same company with its staff's own questions "
    "logged is unflagged (0.387, control below)"))
def test_a_company_whose_staff_prompts_are_not_logged_is_not_flagged_for_its_cron_jobs():
    log, staff, bots, _ = office_world(staff="null", cron=1, cron_per_hour=1)
    r = row(run_detect(log.frame()), staff + bots)
    assert not r["flagged"], say(r)


def test_the_same_company_with_its_staff_prompts_logged_is_not_flagged_control():
    log, staff, bots, _ = office_world(staff="own", cron=1, cron_per_hour=1)
    r = row(run_detect(log.frame()), staff + bots)
    assert r["template_share"] == pytest.approx(0.2)
    assert not r["flagged"], say(r)
    assert row(unscaled(log.frame()), staff + bots)["flagged"]  # 0.865 before the factor


def test_a_company_with_a_busy_cron_account_per_department_is_not_flagged():
    """Fixed in session 13 (was a strict xfail): the card pool is scaled by the members' mean
    template share, so 5 busy cron accounts among 45 are 5 accounts (0.11), not 56 % of the prompts."""
    log, staff, bots, _ = office_world(cron=1, cron_per_hour=6)
    r = row(run_detect(log.frame()), staff + bots)
    assert not r["flagged"], say(r)


@pytest.mark.parametrize("world", [
    pytest.param("tool", marks=pytest.mark.xfail(strict=True, reason=(
        "not the factor (flagged before it too, 0.894): staff on 5 department cards whose in-house assistant "
        "wraps every question in its system prompt send 100 % scripted prompts, so the factor is 1; 40 flagged. "
        "With events alone this is an operator's shape (one template, several cards, one address)"))),
    # Fixed in session 14 (was a strict xfail, 0.894, 40 flagged): the public framework prompt that 60
    # developers whom nothing links also send is no one's template, so the card pool is not kept for it.
    "framework",
    pytest.param("class", marks=pytest.mark.xfail(strict=True, reason=(
        "not the factor (0.816 before it too): a school, 3 classes of 10 on one card each behind the school's "
        "address, pupils pasting the teacher's assignment before their answer: 100 % scripted, card pool 0.67, "
        "30 flagged"))),
    pytest.param("reseller_app", marks=pytest.mark.xfail(strict=True, reason=(
        "not the factor (0.816 before it too): a reseller's 30 customers on its backend address, paid by 3 "
        "reseller cards, each request wrapped in the reseller app's system prompt: 30 flagged"))),
])
def test_benign_groups_sharing_one_prompt_across_several_cards_are_not_flagged(world):
    if world in ("tool", "framework"):
        log, names, _, _ = office_world(staff=world, framework_users=60 if world == "framework" else 0)
    else:
        log, names = group_world(kind=world)
    r = row(run_detect(log.frame()), names)
    assert not r["flagged"], say(r)


def public_prompt_ring_world(seed: int = 31, devs: int = 60) -> tuple[Log, list[str]]:
    """:func:`ring_world`'s ring (30 accounts, 6 cards, datacenter addresses) whose template is the public
    agent framework's prompt around its questions, with no passage of its own; ``devs`` unrelated developers
    elsewhere send the same framework prompt. Ordinary people around."""
    rng = np.random.default_rng(seed)
    log = Log()
    ring = add_ring(log, rng, "ring", 30, 6, DATACENTER, FRAMEWORK.replace("{}", "{} ({})"))
    for u in range(devs):
        for _ in range(int(rng.integers(3, 8))):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(8, 22)),
                                minutes=int(rng.integers(0, 60)))
            log.add(f"dev{u}", ts, _private_ip(4000 + u), f"dev-card-{u}", FRAMEWORK.format(_words(rng, 8)))
    add_people(log, rng, 100)
    return log, ring


def test_a_ring_on_a_public_prompt_that_fewer_strangers_send_keeps_its_card_pool_control():
    """Control of the public-passage rule's edge: with 20 developers sending the framework prompt, the
    ring's 30 members outnumber its holders in no cluster: it is the ring's own, card pool 0.83, flagged."""
    log, ring = public_prompt_ring_world(devs=20)
    r = row(run_detect(log.frame()), ring)
    assert r["card_pool"] > 0.8 and r["flagged"], say(r)


@pytest.mark.xfail(strict=True, reason=(
    "the price of the public-passage rule (session 14): a ring whose template is a public framework prompt "
    "with no passage of its own, which 60 developers whom nothing links also send, owns no template, so its "
    "card pool counts 0 like the benign framework company's: score 0.353, the ring of 30 missed (0.905 "
    "without the factor). The card pool cannot tell the two apart; an operator's cells of 5 would need only "
    "more than 5 unlinked senders each"))
def test_a_ring_hiding_behind_a_public_prompt_is_flagged():
    log, ring = public_prompt_ring_world(devs=60)
    r = row(run_detect(log.frame()), ring)
    assert r["flagged"], say(r)


def test_a_resellers_customers_writing_their_own_requests_are_not_flagged_control():
    """Control, the factor's gain: the reseller's 30 customers on 3 reseller cards, each writing their own
    requests around the clock: template share 0, unflagged (0.525); without the factor flagged (0.783)."""
    log, names = group_world(kind="reseller")
    r = row(run_detect(log.frame()), names)
    assert r["template_share"] == 0.0
    assert not r["flagged"], say(r)
    assert row(unscaled(log.frame()), names)["flagged"]


# --- 4. Logs without prompts: the old behaviour ------------------------------------------------------

@pytest.mark.parametrize("variant", ["no_column", "all_null", "all_empty"])
def test_a_log_without_prompts_scores_the_card_pool_as_before_control(variant):
    """Controls: without a prompt column, or with one that is all null or all empty, the card pool is the
    unscaled one for both the ring and the company (the company is then flagged, as before the factor; no
    prompt evidence can excuse it)."""
    log, staff, _, ring = office_world(ring=True)
    frame = log.frame()
    frame = {"no_column": frame.drop("prompt"),
             "all_null": frame.with_columns(pl.lit(None, pl.String).alias("prompt")),
             "all_empty": frame.with_columns(pl.lit("").alias("prompt"))}[variant]
    now, before = run_detect(frame), unscaled(frame)
    for accounts in (staff, ring):
        a, b = row(now, accounts), row(before, accounts)
        assert a["template_share"] is None
        assert a["card_pool"] == pytest.approx(b["card_pool"]) and a["card_pool"] > 0.7
        assert a["flagged"] and b["flagged"]


# --- 5. Match and expand read no score; determinism; Spark ------------------------------------------

def test_match_and_expand_still_reach_the_unflagged_distillation_ring_control(tmp_path):
    """Controls: the missed distillation ring is one cluster; expand from two of its accounts ranks the
    other 28 first, and match sends new accounts on its cards to it -- but counts none as matched to a
    flagged cluster, since the ring is not flagged (the defect above, not match's)."""
    import graphlink

    log, ring = ring_world(prompts="dataset")
    result = graphlink.detect(log.frame())
    ranked = result.expand(ring[:2])
    top = ranked.filter(pl.col("rank") > 0).head(28)["account_id"].to_list()
    assert set(top) == set(ring[2:])
    known = result.save(tmp_path / "known")
    rng = np.random.default_rng(99)
    new = Log()
    for i in range(5):
        for _ in range(10):
            ts = T0 + timedelta(days=5, hours=int(rng.integers(9, 18)), minutes=int(rng.integers(0, 60)))
            new.add(f"newring{i}", ts, DATACENTER[int(rng.integers(0, 15))], f"ring-card-{i}",
                    f"question {int(rng.integers(0, 10**9))}: {_words(rng, 14)}")
    matched = graphlink.match(known, new.frame())
    cid = row(result, ring)["cluster_id"]
    assert matched.matches["cluster_id"].to_list() == [cid] * 5
    assert matched.run["counts"]["matched_to_flagged"] == 0


def test_shuffled_rows_give_the_same_template_share_card_pool_and_flags_control():
    """Control: the heavy ring's accounts have more than 200 distinct prompts (the sample is chosen by hash):
    shuffled rows give the same clusters table."""
    log, _ = heavy_ring_world(camouflage="uniform")
    frame = log.frame()
    a = run_detect(frame)
    b = run_detect(frame.sample(fraction=1.0, shuffle=True, seed=3))
    cols = ["cluster_id", "size", "template_share", "card_pool", "score", "flagged", "why"]
    assert a.clusters.select(cols).equals(b.clusters.select(cols))


def _parity_world(name: str):
    """One of the engine-parity worlds below: (log, accounts)."""
    if name == "beside":
        log, staff, _, ring = office_world(ring=True)
        return log, staff + ring
    if name == "framework":
        log, staff, _, _ = office_world(staff="framework", framework_users=60)
        return log, staff
    if name == "heavy":  # 300 distinct prompts per account: over the 200 sampled (was 600; suite time, session 54)
        return heavy_ring_world(camouflage="uniform", template_n=200, camo_n=100)
    return ring_world(camo=0.6) if name == "camo" else ring_world(prompts="repeat", camo=0.1)


# One world per case (was one test over six worlds, 80-115 s on one xdist worker at the end of the run). The
# company alone is not run on Spark (session 41, suite time): "beside" is the same company, the ring added; nor the
# ring resending one instruction (session 42, suite time: its request shares are the prompt stage's, which both engines
# run on the same sampled prompts; "heavy" covers the sample).
@pytest.mark.parametrize("name", ["beside", "heavy", "framework", "camo"])
def test_spark_engine_scales_the_card_pool_alike(spark, tmp_path, name):
    """Engine parity: the company next to a ring, the ring with 60 % camouflage
    (missed); session 14: the ring resending one instruction (shares of requests), the heavy ring
    (more than 200 distinct prompts per account: the sample under the per-run salt) and the framework
    company (public passages)."""
    import graphlink

    log, accounts = _parity_world(name)
    path = tmp_path / f"{name}.parquet"
    log.frame().write_parquet(path)
    a = graphlink.detect(path)
    b = graphlink.detect(str(path), engine="spark", spark=spark)
    cols = ["cluster_id", "size", "template_share", "card_pool", "flagged"]
    assert a.clusters.select(cols).equals(b.clusters.select(cols)), name
    if name == "camo":
        assert row(a, accounts)["flagged"] is False
