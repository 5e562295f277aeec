"""How each group of accounts behaves in the scenario family.

Adds ordinary people, enterprise teams, NAT/CGNAT hubs, families, resellers,
framework users and the ring operators with their cells to a
:class:`~graphlink.lab.simulate.family.Builder`, following a world
description drawn by :func:`graphlink.lab.simulate.scenarios.draw_params`.
The behaviours model what operators and ordinary users do (see the
``scenarios`` module docstring for the ranges); prompt texts and names are
written for this generator.
"""

from __future__ import annotations

import numpy as np

from graphlink.lab.simulate import family as F
from graphlink.lab.simulate import ipv6_lines as IP6
from graphlink.lab.simulate.network import ipv6_prefixes, random_hosts, residential_prefixes
from graphlink.lab.simulate.vocab import (
    COMPANY_STEMS, COMPANY_SUFFIXES, COMPANY_TLDS, DISPOSABLE_DOMAINS, FREE_MAIL_DOMAINS,
    POPULAR_USER_AGENTS, SCRIPTED_USER_AGENTS, TIME_ZONES,
)

__all__ = ["START_US", "build_groups", "loguniform", "draw_tz", "randint_incl"]

START_US = 1_736_121_600 * F.US  # Monday 2025-01-06 00:00 UTC
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


def loguniform(rng: np.random.Generator, lo: float, hi: float, n: int | None = None):
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


def draw_tz(rng, n=None):
    return _TZ[rng.choice(len(_TZ), n, p=_TZ_W)]


def randint_incl(rng, lo_hi) -> int:
    return int(rng.integers(lo_hi[0], lo_hi[1] + 1))


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
    # 15% on IPv6 (dual stack: a share of requests over IPv6, the rest from the IPv4 home), in ISP /48s shared
    # by many homes or a carrier's /48 (ipv6_lines); not where the group gives the home (a family's line)
    v6 = ((rng.random(n) < 0.15) | over.pop("v6_all", False)) & ("home_off" not in over)
    lines = {}
    if v6.any():
        drawn = (over.pop("v6_lines", None) or IP6.home_lines)(b, rng, int(v6.sum()))
        lines = {k: np.zeros(n, col.dtype) for k, col in drawn.items()}
        for k, col in drawn.items():
            lines[k][v6] = col
    cards = np.where(rng.random(n) < 0.7, b.cards(n), -1)
    ev = np.minimum(np.ceil(rng.lognormal(np.log(sc["benign_median"]), 1.3, n)), 3000)
    ua = np.array([b.user_agent(u) for u in _POP_UA])[rng.choice(len(_POP_UA), n, p=_POP_UA_W)]
    ua2 = np.array([b.user_agent(u) for u in _POP_UA])[rng.choice(len(_POP_UA), n, p=_POP_UA_W)]
    created = b.start_us - (rng.random(n) * 3 * 365 * F.DAY).astype(np.int64)
    attrs = dict(kind=kind, created=created, n_ev=ev.astype(np.int64), tz=draw_tz(rng, n),
                 home_off=home_off, home_n=home_n, card=cards, ua=ua, ua2=ua2,
                 free_lo=3, free_hi=40, **lines)
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
        size = int(np.round(loguniform(rng, 3, 60)))
        domain = _domain(rng, t)
        card = b.cards(1)[0]
        multi = rng.random() < p["team_multi_office_share"]
        n_off = int(rng.integers(2, 4)) if multi else 1
        office = rng.integers(0, n_off, size)
        tzs = draw_tz(rng, n_off)
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
        size = randint_incl(rng, sc["hub_size"])
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
    tz = draw_tz(rng, nf)[fam]
    _add_ordinary(b, rng, n, p, sc, group=groups, kind=1, home_off=off + fam, home_n=1,
                  card=cards[fam], tz=tz)


def _add_resellers(b, rng, p, sc):
    for r in range(p["n_resellers"]):
        size = randint_incl(rng, sc["reseller_size"])
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
        size = randint_incl(rng, sc["fw_users"])
        ua = b.user_agent(f"agentkit{f}/0.{int(rng.integers(1, 9))}.{int(rng.integers(0, 20))}")
        _add_ordinary(b, rng, size, p, sc, group=f"fw{f:04d}", kind=1,
                      tmpl_off=t, tmpl_n=1, task_p=float(rng.uniform(0.5, 1.0)),
                      mode=F.DIURNAL, fill_lo=3, fill_hi=40, ua=ua)


def _add_campus(b, rng, p, sc):
    """A university or large office on one /48: 3% of the ordinary people's number (at least 40), all on its
    IPv6 (ipv6_lines.campus_lines), otherwise ordinary people (free mail, own cards, own requests)."""
    n = max(40, int(0.03 * p["ordinary"]))
    _add_ordinary(b, rng, n, p, sc, v6_lines=IP6.campus_lines, v6_all=True)


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
                  tmpl_n=t_n, fill_lo=8, fill_hi=60, ua=uas[0], ua2=uas[1], case_p=op.get("case_flip", 0.0),
                  join_p=op.get("run_together", 0.0), typo_p=op.get("typos", 0.0))
            cell_id += 1


def build_groups(params: dict, scale: dict, rng: np.random.Generator) -> F.Plan:
    """Build every group of the world described by ``params``.

    Parameters
    ----------
    params : dict
        A description from :func:`graphlink.lab.simulate.scenarios.draw_params`.
    scale : dict
        The scale's sizes (:data:`graphlink.lab.simulate.scenarios.SCALES`).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    Plan
        Per-account behaviour with shuffled account order and random ids.
    """
    b = F.Builder(start_us=START_US, days=params["days"])
    _add_ordinary(b, rng, params["ordinary"], params, scale)
    _add_teams(b, rng, params, scale)
    _add_hubs(b, rng, params, scale)
    _add_families(b, rng, params, scale)
    _add_resellers(b, rng, params, scale)
    _add_frameworks(b, rng, params, scale)
    _add_operators(b, rng, params, scale)
    _add_campus(b, rng, params, scale)
    return b.finish(rng)
