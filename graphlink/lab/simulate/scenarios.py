"""The scenario family: worlds whose parameters are drawn at random per seed.

``graphlink simulate OUT --scenario NAME --seed S --scale SCALE`` draws a
world description (:func:`draw_params`, JSON-able, written as
``params.json``) and builds it (:func:`build_plan`).  The description models
what real operators and real benign users do; it is written without regard to
how any detector works, so a detector can fail on it.

Scenarios
---------
``pools``      proxy pools smaller and larger than the cell; one residential
               pool behind thousands of accounts of several cells and
               operators; NAT/CGNAT hubs and enterprise teams.
``schedules``  office-hours fleets on a few datacenter IPs, short-lived
               (hours) rings, rings on a fixed cadence; enterprise batch jobs
               firing at the same minute past the hour (:00, :05) in several
               companies and time zones.
``templates``  operators that share nothing but a template family; English
               and Chinese (no spaces) chain-of-thought extraction templates;
               numbered job templates ("Task 17: ..."); camouflage up to 50%;
               IPv6 rotation and a card per account; framework users sharing a
               long system prompt; teams with numbered batch jobs.
``crowds``     benign-heavy: CGNAT hubs of thousands, families, resellers with
               many sub-accounts on one card, framework users; small cells.
``giant``      one very large cell (up to 5,000 accounts, capped by the scale)
               behind one residential pool, plus small cells.
``mixed``      every ring and benign behaviour above, each drawn at random.

Parameter ranges (per seed, inclusive)
--------------------------------------
Rings: operators 2-6 (``giant``: 2-3); cells per operator 2-12; cell sizes
log-uniform in 5-5,000, capped by the scale's ring budget; camouflage share
per operator 0-0.5 (``templates``: 0.2-0.5); lifetime short (3-48 h, share
0-0.5 of cells) or long (3 days to the whole log); schedule per cell: bursts
(10-120 s windows), around the clock, office hours (operator time zone) or a
fixed cadence; addresses per cell: residential proxy pool (0.05-20 x cell
size), 1-8 datacenter IPs, IPv6 rotation in one /48 or the shared
residential pool (1,000-20,000 IPs, scale-dependent); cards: each cell 1-6
cards from the operator's card pool (reused across cells with probability
0.3), 0-30% of accounts on a card of their own, 0-20% without one; emails:
free mail with random user names, the operator's random domains, or
disposable mail; languages en, zh or both; numbered templates in 0-100% of
an operator's templates.
Benign: ordinary users (free mail, 1-3 home IPs, 15% IPv6, 70% with a card,
log-normal requests); enterprise teams of 3-60 (own domain, one corporate
card, office NAT, batch job at minute 0 (45%), 5 (15%), 30 (15%), 15 (10%)
or any, every 1-4 hours, in UTC or office time, 30% of teams spread over 2-3
offices in other time zones); NAT/CGNAT hubs of 300-3,000 people on 1-8
egress IPs (scale-dependent); families of 2-6 (one card, one home IP);
resellers with 10-300 sub-accounts on one card behind 2-6 server IPs with
varied prompts; framework users (30-500 per framework) sharing a long system
prompt.

Labels
------
``labels.parquet``: ``account_id`` (str), ``kind`` (``ring`` |
``benign_linked`` | ``benign``), ``ring_id`` (int64, the cell; null unless
ring), ``campaign_id`` (int64, the operator; null unless ring), ``group_id``
(str: ``cell0003``, ``team0012``, ``nat0002``, ``fam0101``, ``res0004``,
``fw0001``; null for ordinary accounts) and ``scenario`` (str).
"""

from __future__ import annotations

import numpy as np

from graphlink.lab.simulate import family as F
from graphlink.lab.simulate.network import ipv6_prefixes, random_hosts, residential_prefixes
from graphlink.lab.simulate.vocab import (
    COMPANY_STEMS, COMPANY_SUFFIXES, COMPANY_TLDS, DISPOSABLE_DOMAINS, FREE_MAIL_DOMAINS,
    POPULAR_USER_AGENTS, SCRIPTED_USER_AGENTS, TIME_ZONES,
)

__all__ = ["SCENARIOS", "SCALES", "draw_params", "build_plan"]

SCENARIOS = ("pools", "schedules", "templates", "crowds", "giant", "mixed")

#: Size of a world per scale (``tiny`` is for tests).  ``ordinary``: ordinary benign people;
#: ``ring_budget``: ring accounts (approximate); ``ring_events``/``team_events``:
#: requests per account; ``hub_size``: people behind one NAT/CGNAT hub.
SCALES: dict[str, dict] = {
    # for tests: every group kind present, ~1.5k accounts, well under a second
    "tiny": dict(days=7, ordinary=600, ring_budget=300, ring_events=(10, 30),
                 team_events=(5, 20), benign_median=4.0, hub_size=(100, 250),
                 n_teams=(4, 8), n_hubs=(1, 2), n_families=(10, 30), n_resellers=(1, 2),
                 reseller_size=(10, 30), n_frameworks=(1, 2), fw_users=(20, 50),
                 shared_pool=(100, 300), max_cell=300),
    "small": dict(days=14, ordinary=6_000, ring_budget=1_500, ring_events=(20, 80),
                  team_events=(10, 60), benign_median=6.0, hub_size=(300, 1_500),
                  n_teams=(10, 30), n_hubs=(1, 3), n_families=(50, 200), n_resellers=(1, 3),
                  reseller_size=(10, 120), n_frameworks=(1, 3), fw_users=(30, 200),
                  shared_pool=(1_000, 3_000), max_cell=1_500),
    "1m": dict(days=21, ordinary=25_000, ring_budget=5_000, ring_events=(60, 140),
               team_events=(20, 120), benign_median=8.0, hub_size=(1_000, 3_000),
               n_teams=(40, 100), n_hubs=(2, 5), n_families=(200, 800), n_resellers=(2, 6),
               reseller_size=(20, 300), n_frameworks=(2, 4), fw_users=(50, 500),
               shared_pool=(2_000, 8_000), max_cell=5_000),
    "campaign": dict(days=30, ordinary=170_000, ring_budget=24_000, ring_events=(400, 900),
                     team_events=(20, 200), benign_median=10.0, hub_size=(1_000, 3_000),
                     n_teams=(300, 400), n_hubs=(8, 15), n_families=(2_000, 4_000),
                     n_resellers=(5, 15), reseller_size=(20, 300), n_frameworks=(3, 6),
                     fw_users=(100, 500), shared_pool=(5_000, 20_000), max_cell=5_000),
}

_START_US = 1_736_121_600 * F.US  # Monday 2025-01-06 00:00 UTC
_TZ = np.array([t for t, _ in TIME_ZONES])
_TZ_W = np.array([w for _, w in TIME_ZONES]) / sum(w for _, w in TIME_ZONES)
_FREE = [d for d, _ in FREE_MAIL_DOMAINS]
_FREE_W = np.array([w for _, w in FREE_MAIL_DOMAINS]) / sum(w for _, w in FREE_MAIL_DOMAINS)
_POP_UA = [u for u, _ in POPULAR_USER_AGENTS]
_POP_UA_W = np.array([w for _, w in POPULAR_USER_AGENTS]) / sum(w for _, w in POPULAR_USER_AGENTS)
_FIRST = ("anna ben chen david elena felix grace hiro ivan julia kai lena maria nina omar paul "
          "rosa sam tara umar vera wei xin yuki zoe li ming sofia lucas noah emma").split()
_LAST = ("smith kim garcia muller rossi tanaka wang novak silva jones brown lee martin "
         "dubois schmidt khan patel ivanova chen nguyen").split()

# --- prompt text (written for this generator) -------------------------------------
_COT_EN = [
    "Solve the following problem. Think step by step and write out every intermediate step of "
    "your reasoning in full before giving the final answer. Problem: ",
    "You are an expert tutor. Explain your complete chain of thought, verify each step, and only "
    "then state the answer on the last line. Question: ",
    "Reason carefully and show all of your work, including calculations you discard, then give "
    "the final answer in the form ANSWER: x. Task: ",
    "Break the question into sub-questions, answer each one with detailed reasoning, and combine "
    "them into a final answer. Input: ",
    "Let's think about this step by step. First restate the problem, then list what is known, "
    "then derive the answer with full justification. Problem statement: ",
    "Produce a detailed rationale for the following exercise, written as numbered reasoning "
    "steps, followed by the final result. Exercise: ",
    "Write a rigorous solution with every deduction made explicit. Do not skip steps. "
    "Then summarise the answer in one sentence. Prompt: ",
    "Act as a grader: solve the item yourself with a full step-by-step derivation, then give "
    "the correct option and explain why the others are wrong. Item: ",
]
_COT_ZH = [
    "请一步一步地思考下面的问题，写出完整的推理过程，最后给出答案。问题：",
    "你是一名资深老师。请详细解释每一个推理步骤，检查每一步是否正确，然后在最后一行写出答案。题目：",
    "请把问题拆分成若干小问题，逐一详细推理，最后综合得出结论。输入：",
    "请仔细推理并展示全部计算过程，最后以“答案：”的形式给出结果。任务：",
    "请先复述题目，再列出已知条件，然后给出完整的推导和最终答案。题目内容：",
]
_JOB_EN = [
    "Task {n}: extract the entities and the reasoning behind each label from the text below, "
    "step by step. Text: ",
    "Job #{n} - generate a worked solution with full reasoning for: ",
    "Item {n}. Answer the question and explain your reasoning in detail: ",
]
_JOB_ZH = ["任务{n}：请逐步推理并回答下面的问题：", "第{n}题：请写出详细的解题思路和答案："]
_TEAM_JOBS = [
    "Ticket {n}: classify the following customer message as billing, bug, feature request or "
    "other, and return JSON with fields label and confidence. Message: ",
    "Task {n}: summarise this support conversation in three bullet points for the weekly "
    "report. Conversation: ",
    "Row {n}: translate the product description into German, keep the formatting. Text: ",
    "Summarise the following document for the daily digest in under 100 words: ",
    "Extract invoice number, date, total and vendor from this OCR text as JSON: ",
    "Review this pull request diff and list potential bugs: ",
    "Doc {n}: generate five search keywords for this article: ",
    "Classify the sentiment of the following review as positive, negative or neutral: ",
]
_SYSTEM_WORDS = ("you are a helpful assistant for an application built on an open source "
                 "agent framework always answer in markdown use the tools provided when the user "
                 "asks about documents cite the retrieved passages never reveal these "
                 "instructions keep answers short and precise if you do not know say so the "
                 "current user is authenticated follow the safety policy format code blocks "
                 "with the language name respond in the language of the question").split()


def _loguniform(rng: np.random.Generator, lo: float, hi: float, n: int | None = None):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _emails_free(rng: np.random.Generator, n: int, style: str = "person") -> np.ndarray:
    dom = np.array(_FREE, dtype=object)[rng.choice(len(_FREE), n, p=_FREE_W)]
    if style == "person":
        first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
        last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
        num = rng.integers(1, 9999, n).astype(str).astype(object)
        sep = np.array([".", "_", ""], dtype=object)[rng.integers(0, 3, n)]
        user = first + sep + last + np.where(rng.random(n) < 0.6, num, "")
    else:  # scripted: random letters and digits
        user = np.array(["".join(r) for r in np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))[
            rng.integers(0, 36, (n, 10))]], dtype=object)
    return user + "@" + dom


def _domain(rng: np.random.Generator, i: int) -> str:
    stem = COMPANY_STEMS[int(rng.integers(0, len(COMPANY_STEMS)))]
    suf = COMPANY_SUFFIXES[int(rng.integers(0, len(COMPANY_SUFFIXES)))]
    tld = COMPANY_TLDS[int(rng.integers(0, len(COMPANY_TLDS)))]
    return f"{stem}{suf}{i}.{tld}" if rng.random() < 0.5 else f"{stem}-{suf}{i}.{tld}"


def _work_emails(rng, n: int, domain: str) -> np.ndarray:
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    num = np.arange(n).astype(str).astype(object)
    return first + "." + last + num + "@" + domain


def _tz(rng, n=None):
    return _TZ[rng.choice(len(_TZ), n, p=_TZ_W)]


def _ri(rng, lo_hi) -> int:
    return int(rng.integers(lo_hi[0], lo_hi[1] + 1))


# --- parameter draws ---------------------------------------------------------------
def _draw_cells(rng, n_ops: int, budget: int, max_cell: int, size_range=(5, 5000)):
    """Cell sizes per operator, log-uniform, rescaled to about ``budget`` accounts."""
    lo, hi = size_range[0], min(size_range[1], max_cell)
    n_cells = rng.integers(2, 13, n_ops)
    sizes = [np.round(_loguniform(rng, lo, hi, k)).astype(int) for k in n_cells]
    total = sum(int(s.sum()) for s in sizes)
    if total > budget:
        f = budget / total
        sizes = [np.maximum(lo, np.round(s * f)).astype(int) for s in sizes]
    return [[int(x) for x in s] for s in sizes]


def _draw_operator(rng, sizes: list[int], knobs: dict) -> dict:
    lang = str(rng.choice(["en", "zh", "both"], p=knobs.get("lang_p", [0.5, 0.25, 0.25])))
    cells = []
    for size in sizes:
        short = rng.random() < knobs["short_p"]
        life_h = float(rng.uniform(3, 48)) if short else float(rng.uniform(72, 24 * 60))
        cells.append(dict(
            size=size,
            lifetime_h=round(life_h, 2),
            schedule=str(rng.choice(["burst", "uniform", "office", "cadence"],
                                    p=knobs["schedule_p"])),
            burst_window_s=int(rng.integers(10, 121)),
            bursts_per_day=float(round(_loguniform(rng, 2, 200), 2)),
            cadence_minute=int(rng.choice([0, 5, 10, 15, 30, 45, int(rng.integers(0, 60))])),
            ip=str(rng.choice(["residential", "datacenter", "ipv6", "shared"], p=knobs["ip_p"])),
            pool_ratio=float(round(_loguniform(rng, 0.05, 20), 3)),
            datacenter_ips=int(rng.integers(1, 9)),
            n_cards=int(rng.integers(1, 7)),
            reuse_cards=bool(rng.random() < 0.3),
            precreate_days=float(round(rng.uniform(0, 30), 2)),
            creation_hours=float(round(rng.uniform(0.5, 6), 2)),
        ))
    return dict(
        tz=int(_tz(rng)), lang=lang,
        numbered_share=float(round(rng.uniform(*knobs.get("numbered", (0, 1))), 2)),
        n_templates=int(rng.integers(2, 6)),
        camouflage=float(round(rng.uniform(*knobs["camo"]), 3)),
        unique_card_share=float(round(rng.uniform(0, knobs.get("unique_card_max", 0.3)), 3)),
        no_card_share=float(round(rng.uniform(0, 0.2), 3)),
        email=str(rng.choice(["freemail", "domains", "disposable"], p=[0.5, 0.3, 0.2])),
        ua=str(rng.choice(["scripted", "popular"])),
        aged=bool(rng.random() < 0.25),
        family=-1, cells=cells)


def draw_params(scenario: str, seed: int, scale: str = "small") -> dict:
    """Draw the full description of one world.

    Parameters
    ----------
    scenario : str
        One of :data:`SCENARIOS`.
    seed : int
        Seed; the same ``(scenario, seed, scale)`` gives the same description.
    scale : str
        One of :data:`SCALES`.

    Returns
    -------
    dict
        JSON-able description: ``scenario``, ``seed``, ``scale``, ``days``,
        benign group counts and sizes, ``operators`` (each with its cells),
        ``shared_pool`` size and ``template_families``.

    Raises
    ------
    ValueError
        Unknown scenario or scale.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    sc = SCALES[scale]
    rng = np.random.default_rng(np.random.SeedSequence([seed, SCENARIOS.index(scenario), 17]))
    knobs = dict(short_p=float(rng.uniform(0, 0.5)), camo=(0.0, 0.5),
                 schedule_p=[0.4, 0.25, 0.2, 0.15], ip_p=[0.45, 0.2, 0.15, 0.2])
    benign = dict(n_teams=_ri(rng, sc["n_teams"]), n_hubs=_ri(rng, sc["n_hubs"]),
                  n_families=_ri(rng, sc["n_families"]), n_resellers=_ri(rng, sc["n_resellers"]),
                  n_frameworks=_ri(rng, sc["n_frameworks"]))
    budget = sc["ring_budget"]
    n_ops = int(rng.integers(2, 7))
    size_range = (5, 5000)
    shared_family = False
    if scenario == "pools":
        knobs["ip_p"] = [0.55, 0.05, 0.05, 0.35]
        benign["n_resellers"] = benign["n_frameworks"] = 0
    elif scenario == "schedules":
        knobs.update(short_p=float(rng.uniform(0.3, 0.7)), schedule_p=[0.2, 0.2, 0.35, 0.25],
                     ip_p=[0.25, 0.6, 0.1, 0.05])
        benign["n_teams"] = int(benign["n_teams"] * 2)
        benign["n_hubs"] = benign["n_frameworks"] = 0
    elif scenario == "templates":
        knobs.update(camo=(0.2, 0.5), numbered=(0.3, 1.0), lang_p=[0.34, 0.33, 0.33],
                     ip_p=[0.3, 0.1, 0.4, 0.2], unique_card_max=1.0)
        shared_family = True
        benign["n_hubs"] = 0
        benign["n_frameworks"] = max(2, benign["n_frameworks"])
    elif scenario == "crowds":
        size_range = (5, 40)
        budget = budget // 3
        benign["n_hubs"] = int(benign["n_hubs"] * 2) + 1
        benign["n_families"] = int(benign["n_families"] * 2)
        benign["n_resellers"] = int(benign["n_resellers"] * 2) + 1
    elif scenario == "giant":
        n_ops = int(rng.integers(2, 4))
        knobs["ip_p"] = [0.5, 0.1, 0.1, 0.3]
    ops_sizes = _draw_cells(rng, n_ops, budget, sc["max_cell"], size_range)
    if scenario == "giant":
        giant = int(min(5000, sc["max_cell"], budget * rng.uniform(0.5, 0.9)))
        ops_sizes[0][0] = giant
        ops_sizes[0][1:] = [max(5, s // 4) for s in ops_sizes[0][1:]]
    operators = [_draw_operator(rng, s, knobs) for s in ops_sizes]
    if scenario == "giant":
        operators[0]["cells"][0]["ip"] = "shared"
    n_families = 0
    if shared_family:
        # operators that share nothing but a template family: disjoint infrastructure
        n_families = max(1, n_ops // 2)
        operators[0]["lang"], operators[1]["lang"] = "zh", "en"  # both scripts present
        for i, op in enumerate(operators):
            op["family"] = i % n_families
            op["email"] = ["freemail", "domains", "disposable"][i % 3]
    # a shared residential pool is used by cells of at least two operators when drawn
    shared = [(i, j) for i, op in enumerate(operators) for j, c in enumerate(op["cells"])
              if c["ip"] == "shared"]
    if scenario in ("pools", "giant", "mixed") and len({i for i, _ in shared}) < 2:
        for i in range(min(2, n_ops)):
            operators[i]["cells"][-1]["ip"] = "shared"
    return dict(scenario=scenario, seed=int(seed), scale=scale, days=sc["days"],
                ordinary=int(sc["ordinary"] * rng.uniform(0.8, 1.2)),
                shared_pool=_ri(rng, sc["shared_pool"]),
                template_families=n_families, **benign, operators=operators,
                team_cron_minutes={"0": 0.45, "5": 0.15, "30": 0.15, "15": 0.10, "any": 0.15},
                team_multi_office_share=0.3)


# --- building ----------------------------------------------------------------------
def _resid_ips(b: F.Builder, rng, n: int) -> tuple[int, int]:
    return b.ipv4(random_hosts(rng, residential_prefixes(rng, n)))


def _dc_ips(b: F.Builder, rng, n: int) -> tuple[int, int]:
    """``n`` addresses in one or two datacenter /24s."""
    nets = residential_prefixes(rng, 2)
    which = nets[rng.integers(0, 2 if n > 3 else 1, n)]
    hosts = which | rng.choice(np.arange(1, 255, dtype=np.uint32), n, replace=False)
    return b.ipv4(hosts)


def _add_ordinary(b: F.Builder, rng, n: int, p: dict, sc: dict, group=None, kind=0,
                  emails=None, **over):
    """People: 1-3 home IPs (15% IPv6), 70% own card, diurnal, free-text prompts."""
    if n <= 0:
        return np.zeros(0, np.int64)
    off, _ = _resid_ips(b, rng, 3 * n)
    home_off = off + 3 * np.arange(n)
    home_n = rng.integers(1, 4, n)
    v6 = rng.random(n) < 0.15
    if v6.any():
        k = int(v6.sum())
        o6, _ = b.ipv6(ipv6_prefixes(rng, k) | rng.integers(0, 1 << 16, k, dtype=np.uint64),
                       rng.integers(1, 2**63, k, dtype=np.uint64))
        home_off = np.where(v6, 0, home_off)
        home_off[v6] = o6 + np.arange(k)
        home_n = np.where(v6, 1, home_n)
    cards = np.where(rng.random(n) < 0.7, b.cards(n), -1)
    ev = np.minimum(np.ceil(rng.lognormal(np.log(sc["benign_median"]), 1.3, n)), 3000)
    ua = np.array([b.user_agent(u) for u in _POP_UA])[rng.choice(len(_POP_UA), n, p=_POP_UA_W)]
    ua2 = np.array([b.user_agent(u) for u in _POP_UA])[rng.choice(len(_POP_UA), n, p=_POP_UA_W)]
    created = b.start_us - (rng.random(n) * 3 * 365 * F.DAY).astype(np.int64)
    attrs = dict(kind=kind, created=created, n_ev=ev.astype(np.int64), tz=_tz(rng, n),
                 home_off=home_off, home_n=home_n, card=cards, ua=ua, ua2=ua2,
                 free_lo=3, free_hi=40)
    attrs.update(over)
    if emails is None:
        emails = _emails_free(rng, n)
    return b.add(n, group, emails, **attrs)


def _add_teams(b, rng, p, sc):
    minutes = p["team_cron_minutes"]
    keys = list(minutes)
    w = np.array(list(minutes.values()))
    jobs = [b.template(t, numbered="{n}" in t) for t in _TEAM_JOBS]
    for t in range(p["n_teams"]):
        size = int(np.round(_loguniform(rng, 3, 60)))
        domain = _domain(rng, t)
        card = b.cards(1)[0]
        multi = rng.random() < p["team_multi_office_share"]
        n_off = int(rng.integers(2, 4)) if multi else 1
        office = rng.integers(0, n_off, size)
        tzs = _tz(rng, n_off)
        home_off = np.zeros(size, np.int64)
        home_n = np.zeros(size, np.int64)
        for o in range(n_off):
            off, k = _dc_ips(b, rng, int(rng.integers(1, 3)))
            home_off[office == o], home_n[office == o] = off, k
        key = keys[int(rng.choice(len(keys), p=w / w.sum()))]
        minute = int(rng.integers(0, 60)) if key == "any" else int(key)
        job = jobs[int(rng.integers(0, len(jobs)))]
        ua = b.user_agent(str(rng.choice(_POP_UA)) if rng.random() < 0.6
                          else f"{domain.split('.')[0]}-batch/{int(rng.integers(1, 5))}.{int(rng.integers(0, 10))}")
        created = b.start_us - (rng.random(size) * 180 * F.DAY).astype(np.int64)
        b.add(size, f"team{t:04d}", _work_emails(rng, size, domain), kind=1,
              created=created, n_ev=rng.integers(*sc["team_events"], size), tz=tzs[office],
              mode=F.CRON, other_mode=F.OFFICE, cron_min=minute,
              cron_step=int(rng.integers(1, 5)), cron_allday=bool(rng.random() < 0.3),
              cron_tz=0 if rng.random() < 0.5 else int(tzs[0]),
              task_p=float(rng.uniform(0.5, 0.9)), home_off=home_off, home_n=home_n,
              card=card, tmpl_off=job, tmpl_n=1, fill_lo=10, fill_hi=60, ua=ua, ua2=ua)


def _add_hubs(b, rng, p, sc):
    for h in range(p["n_hubs"]):
        size = _ri(rng, sc["hub_size"])
        off, k = _resid_ips(b, rng, int(rng.integers(1, 9)))
        _add_ordinary(b, rng, size, p, sc, group=f"nat{h:04d}", kind=1,
                      pool_off=off, pool_n=k, pool_p=1.0,
                      task_p=float(rng.uniform(0.5, 0.9)), mode=F.DIURNAL)


def _add_families(b, rng, p, sc):
    nf = p["n_families"]
    if nf <= 0:
        return
    sizes = rng.integers(2, 7, nf)
    fam = np.repeat(np.arange(nf), sizes)
    n = len(fam)
    off, _ = _resid_ips(b, rng, nf)
    cards = b.cards(nf)
    groups = np.array([f"fam{i:04d}" for i in range(nf)], dtype=object)[fam]
    tz = _tz(rng, nf)[fam]
    _add_ordinary(b, rng, n, p, sc, group=groups, kind=1, home_off=off + fam, home_n=1,
                  card=cards[fam], tz=tz)


def _add_resellers(b, rng, p, sc):
    for r in range(p["n_resellers"]):
        size = _ri(rng, sc["reseller_size"])
        off, k = _dc_ips(b, rng, int(rng.integers(2, 7)))
        domain = _domain(rng, 1000 + r)
        emails = np.array([f"client{i:03d}@{domain}" for i in range(size)], dtype=object) \
            if rng.random() < 0.5 else _emails_free(rng, size)
        ua = b.user_agent(f"{domain.split('.')[0]}-gateway/{int(rng.integers(1, 4))}.0")
        created = b.start_us - (rng.random(size) * 120 * F.DAY).astype(np.int64)
        _add_ordinary(b, rng, size, p, sc, group=f"res{r:04d}", kind=1, emails=emails,
                      home_off=off, home_n=k, card=b.cards(1)[0], ua=ua, ua2=ua,
                      created=created)


def _add_frameworks(b, rng, p, sc):
    for f in range(p["n_frameworks"]):
        k = int(rng.integers(60, 150))
        words = np.array(_SYSTEM_WORDS)[rng.integers(0, len(_SYSTEM_WORDS), k)]
        sys_prompt = f"SYSTEM: framework-{f} agent. " + " ".join(words) + "\n\nUSER: "
        t = b.template(sys_prompt)
        size = _ri(rng, sc["fw_users"])
        ua = b.user_agent(f"agentkit{f}/0.{int(rng.integers(1, 9))}.{int(rng.integers(0, 20))}")
        _add_ordinary(b, rng, size, p, sc, group=f"fw{f:04d}", kind=1,
                      tmpl_off=t, tmpl_n=1, task_p=float(rng.uniform(0.5, 1.0)),
                      mode=F.DIURNAL, fill_lo=3, fill_hi=40, ua=ua)


def _operator_templates(b, rng, op, cache):
    """Template indices of an operator (shared family: same templates for its members)."""
    key = ("family", op["family"]) if op["family"] >= 0 else None
    if key is not None and key in cache:
        return cache[key]
    pool = []
    if op["lang"] in ("en", "both"):
        pool += [(t, False) for t in _COT_EN] + [(t, True) for t in _JOB_EN]
    if op["lang"] in ("zh", "both"):
        pool += [(t, False) for t in _COT_ZH] + [(t, True) for t in _JOB_ZH]
    numbered = [x for x in pool if "{n}" in x[0]]
    plain = [x for x in pool if "{n}" not in x[0]]
    n = op["n_templates"]
    n_num = int(round(n * op["numbered_share"]))
    picks = [numbered[i] for i in rng.choice(len(numbered), min(n_num, len(numbered)), replace=False)]
    picks += [plain[i] for i in rng.choice(len(plain), min(n - len(picks), len(plain)), replace=False)]
    first = None
    for text, _ in picks:
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in text)
        tail = "" if zh else rng.choice(["", " Show your reasoning.", " Answer with steps."])
        idx = b.template(text, numbered="{n}" in text, tail=str(tail), zh=zh)
        first = idx if first is None else first
    out = (first, len(picks))
    if key is not None:
        cache[key] = out
    return out


def _add_operators(b, rng, p, sc):
    shared_off, shared_n = _resid_ips(b, rng, p["shared_pool"])
    cache: dict = {}
    cell_id = 0
    for o, op in enumerate(p["operators"]):
        t_off, t_n = _operator_templates(b, rng, op, cache)
        op_cards = b.cards(int(rng.integers(3, 20)))
        if op["ua"] == "scripted":
            uas = [b.user_agent(u) for u in rng.choice(SCRIPTED_USER_AGENTS, 2, replace=False)]
        else:
            uas = [b.user_agent(u) for u in rng.choice(_POP_UA, 2, replace=False)]
        domains = [f"{''.join(rng.choice(list('abcdefghijklmnopqrstuvwxyz'), 7))}."
                   f"{rng.choice(['top', 'xyz', 'online', 'site', 'club'])}" for _ in range(3)]
        for cell in op["cells"]:
            n = cell["size"]
            life = int(cell["lifetime_h"] * 3600 * F.US)
            span = b.end_us - b.start_us
            start = b.start_us + int(rng.random() * max(span - life, 0))
            end = min(start + life, b.end_us)
            # registration: in bulk shortly before the start, or aged accounts bought earlier
            if op["aged"]:
                created = start - (rng.uniform(30, 365, n) * F.DAY).astype(np.int64)
            else:
                reg = start - int(cell["precreate_days"] * F.DAY)
                created = reg + (rng.random(n) * cell["creation_hours"] * 3600 * F.US).astype(np.int64)
            # schedule
            mode = {"burst": F.BURST, "uniform": F.UNIFORM, "office": F.BURST,
                    "cadence": F.CRON}[cell["schedule"]]
            b_off = b_n = 0
            if mode == F.BURST:
                n_b = max(3, int(cell["bursts_per_day"] * (end - start) / F.DAY))
                t = start + (rng.random(n_b) * (end - start)).astype(np.int64)
                if cell["schedule"] == "office":  # bursts only in the operator's office hours
                    local = (t + op["tz"] * 60 * F.US) % F.DAY
                    day = (t + op["tz"] * 60 * F.US) // F.DAY
                    local = 9 * 3600 * F.US + (local % (9 * 3600 * F.US))
                    t = day * F.DAY + local - op["tz"] * 60 * F.US
                b_off, b_n = b.burst_times(t)
            # addresses
            pool_off = pool_n = 0
            v6_hi = 0
            v6_p = 0.0
            if cell["ip"] == "residential":
                pool_off, pool_n = _resid_ips(b, rng, max(1, int(round(n * cell["pool_ratio"]))))
            elif cell["ip"] == "datacenter":
                pool_off, pool_n = _dc_ips(b, rng, cell["datacenter_ips"])
            elif cell["ip"] == "ipv6":
                v6_hi = int(ipv6_prefixes(rng, 1)[0])
                v6_p = float(rng.uniform(0.6, 1.0))
                pool_off, pool_n = _resid_ips(b, rng, max(1, n // 5))
            else:
                pool_off, pool_n = shared_off, shared_n
            home_off, _ = _resid_ips(b, rng, n)  # sticky session used for camouflage
            # cards
            if cell["reuse_cards"]:
                cards_c = rng.choice(op_cards, min(cell["n_cards"], len(op_cards)), replace=False)
            else:
                cards_c = b.cards(cell["n_cards"])
            card = cards_c[rng.integers(0, len(cards_c), n)]
            u = rng.random(n)
            card = np.where(u < op["unique_card_share"], b.cards(n), card)
            card = np.where(u > 1 - op["no_card_share"], -1, card)
            if op["email"] == "freemail":
                emails = _emails_free(rng, n, style="scripted")
            elif op["email"] == "domains":
                user = _emails_free(rng, n, style="scripted")
                emails = np.array([e.split("@")[0] for e in user], dtype=object) + "@" + \
                    np.array(domains, dtype=object)[rng.integers(0, len(domains), n)]
            else:
                emails = np.array([e.split("@")[0] for e in _emails_free(rng, n, "scripted")],
                                  dtype=object) + "@" + np.array(DISPOSABLE_DOMAINS, dtype=object)[
                    rng.integers(0, len(DISPOSABLE_DOMAINS), n)]
            lo, hi = sc["ring_events"]
            ev = rng.integers(lo, hi + 1, n)
            if end - start < F.DAY:  # short-lived: the volume of one day at most
                ev = np.maximum(3, (ev * (end - start) / F.DAY).astype(np.int64))
            b.add(n, f"cell{cell_id:04d}", emails, kind=2, ring=cell_id, campaign=o,
                  created=np.minimum(created, start), n_ev=ev, tz=op["tz"], t0=start, t1=end,
                  mode=mode, other_mode=F.DIURNAL, cron_min=cell["cadence_minute"],
                  cron_step=1, cron_allday=True, cron_tz=0, b_off=b_off, b_n=b_n,
                  b_win=cell["burst_window_s"], task_p=1.0 - op["camouflage"],
                  home_off=home_off + np.arange(n), home_n=1, pool_off=pool_off, pool_n=pool_n,
                  pool_p=1.0, v6_hi=np.uint64(v6_hi), v6_p=v6_p, card=card, tmpl_off=t_off,
                  tmpl_n=t_n, fill_lo=8, fill_hi=60, ua=uas[0], ua2=uas[1])
            cell_id += 1


def build_plan(params: dict) -> F.Plan:
    """Build the world described by ``params`` (from :func:`draw_params`).

    Parameters
    ----------
    params : dict
        A description from :func:`draw_params`.

    Returns
    -------
    Plan
        Per-account behaviour with shuffled account order and random ids.
    """
    sc = SCALES[params["scale"]]
    seq = np.random.SeedSequence([params["seed"], SCENARIOS.index(params["scenario"]), 23])
    rng = np.random.default_rng(seq)
    b = F.Builder(start_us=_START_US, days=params["days"])
    _add_ordinary(b, rng, params["ordinary"], params, sc)
    _add_teams(b, rng, params, sc)
    _add_hubs(b, rng, params, sc)
    _add_families(b, rng, params, sc)
    _add_resellers(b, rng, params, sc)
    _add_frameworks(b, rng, params, sc)
    _add_operators(b, rng, params, sc)
    return b.finish(rng)


# --- tables and files ----------------------------------------------------------------
def labels_frame(plan: F.Plan, scenario: str):
    """``labels.parquet`` of a plan (see the module docstring for the schema)."""
    import pyarrow as pa

    c = plan.cols
    ring = c["kind"] == 2
    return pa.table({
        "account_id": pa.array(plan.account_id, pa.string()),
        "kind": pa.array(np.array(F.KINDS, dtype=object)[c["kind"]], pa.string()),
        "ring_id": pa.array(c["ring"], pa.int64(), mask=~ring),
        "campaign_id": pa.array(c["campaign"], pa.int64(), mask=~ring),
        "group_id": pa.array(plan.group, pa.string()),
        "scenario": pa.array(np.full(plan.n, scenario, dtype=object), pa.string()),
    })


def accounts_frame(plan: F.Plan):
    """``accounts.parquet`` of a plan: ``account_id``, ``created_at`` (UTC), ``email``."""
    import pyarrow as pa

    return pa.table({
        "account_id": pa.array(plan.account_id, pa.string()),
        "created_at": pa.array(plan.cols["created"], pa.timestamp("us", tz="UTC")),
        "email": pa.array(plan.email, pa.string()),
    })


def simulate_scenario(scenario: str, seed: int, scale: str = "small"):
    """Simulate a scenario world in memory.

    Returns
    -------
    tuple
        ``(events, accounts, labels, params)``: three polars DataFrames and
        the drawn description.
    """
    import pyarrow as pa
    import polars as pl

    params = draw_params(scenario, seed, scale)
    plan = build_plan(params)
    seqs = np.random.SeedSequence([seed, SCENARIOS.index(scenario), 29]).spawn(
        len(plan.chunks(1_000_000)))
    tables = [F.generate_events(plan, a, np.random.default_rng(s))
              for a, s in zip(plan.chunks(1_000_000), seqs)]
    events = pa.concat_tables(tables) if tables else F.EVENT_SCHEMA.empty_table()
    return (pl.from_arrow(events), pl.from_arrow(accounts_frame(plan)),
            pl.from_arrow(labels_frame(plan, scenario)), params)


def write_scenario(out_dir, scenario: str, seed: int, scale: str = "small",
                   chunk_events: int = 1_000_000) -> dict:
    """Simulate a scenario world and write it as Parquet, chunk by chunk.

    Writes ``events.parquet``, ``accounts.parquet``, ``labels.parquet`` and
    ``params.json`` (the drawn description) into a temporary folder beside
    ``out_dir`` and moves them into place at the end (no half-written
    output).  Memory is bounded by ``chunk_events``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Destination folder.
    scenario, seed, scale
        See :func:`draw_params`.
    chunk_events : int
        Events per chunk (one Parquet row group each).

    Returns
    -------
    dict
        ``n_events``, ``n_accounts``, ``n_ring_accounts``, ``n_cells``,
        ``n_campaigns``, ``n_benign_linked``, ``seconds``, ``paths``.
    """
    import json
    import os
    import shutil
    import tempfile
    import time
    from pathlib import Path

    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    params = draw_params(scenario, seed, scale)
    plan = build_plan(params)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, 0o755)
    names = ("events.parquet", "accounts.parquet", "labels.parquet", "params.json")
    n_events = 0
    try:
        chunks = plan.chunks(chunk_events)
        seqs = np.random.SeedSequence([seed, SCENARIOS.index(scenario), 29]).spawn(len(chunks))
        with pq.ParquetWriter(tmp / names[0], F.EVENT_SCHEMA, compression="zstd") as w:
            for a, s in zip(chunks, seqs):
                table = F.generate_events(plan, a, np.random.default_rng(s))
                w.write_table(table, row_group_size=max(len(table), 1))
                n_events += len(table)
        pq.write_table(accounts_frame(plan), tmp / names[1], compression="zstd")
        pq.write_table(labels_frame(plan, scenario), tmp / names[2], compression="zstd")
        (tmp / names[3]).write_text(json.dumps(params, indent=1) + "\n")
        if out.exists():
            for name in names:
                os.replace(tmp / name, out / name)
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    c = plan.cols
    ring = c["kind"] == 2
    return {
        "paths": {name: str(out / name) for name in names},
        "n_events": n_events,
        "n_accounts": plan.n,
        "n_ring_accounts": int(ring.sum()),
        "n_cells": int(len(np.unique(c["ring"][ring]))),
        "n_campaigns": int(len(np.unique(c["campaign"][ring]))),
        "n_benign_linked": int((c["kind"] == 1).sum()),
        "seconds": round(time.perf_counter() - t0, 3),
        "scenario": scenario, "seed": seed, "scale": scale,
    }
