"""Engine of the scenario family: per-account behaviour plans turned into events.

The scenario family (:mod:`graphlink.lab.simulate.scenarios`) describes a world as
*groups* of accounts -- ring cells of operators, enterprise teams, families,
NAT hubs, resellers, framework users, ordinary people -- each with a
behaviour: when it sends requests (schedule), from where (IP addresses),
paying with what (card), saying what (prompt), with which client (user
agent).  This module stores those behaviours as one row per account in numpy
arrays (:class:`Builder`) and turns them into events chunk by chunk, fully
vectorised (no Python loop over rows).

The model is written from how operators and ordinary users behave, not from
how any detector works.  Each account's requests are split into *task*
requests (the group's purpose: a ring's extraction traffic, a team's batch
job) and *other* requests (ordinary use; for a ring this is camouflage).

Schedules of task requests
--------------------------
``DIURNAL``  a person's day (hour profile of API traffic, local time zone);
``OFFICE``   working hours on weekdays (09:00-18:00 local);
``UNIFORM``  around the clock, uniformly over the active window;
``CRON``     a scheduled job: every ``cron_step`` hours (office hours or all
             day) at minute ``cron_minute`` of the job's time zone, a few
             seconds of queue jitter;
``BURST``    the cell's script fires in bursts: every request falls within
             ``burst_window`` seconds after one of the cell's burst instants.
*Other* requests follow ``DIURNAL`` (or ``OFFICE`` for team members) in the
account's time zone, clipped to the active window (``UNIFORM`` when the
window is shorter than two days).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from graphlink.lab.simulate.events import EVENT_SCHEMA
from graphlink.lab.simulate.ipv6_lines import benign_ipv6
from graphlink.lab.simulate.network import format_hex64, format_ipv4, format_ipv6
from graphlink.lab.simulate.vocab import HOUR_PROFILE, WORDS
from graphlink.lab.simulate.text import flip_case, misspell, run_together

__all__ = ["Builder", "DIURNAL", "OFFICE", "UNIFORM", "CRON", "BURST",
           "EVENT_SCHEMA", "KINDS", "generate_events", "ZH_CHARS"]

DIURNAL, OFFICE, UNIFORM, CRON, BURST = range(5)
KINDS = ("benign", "benign_linked", "ring")
US = 1_000_000
DAY = 86_400 * US

_HOUR_CDF = np.cumsum(HOUR_PROFILE) / np.sum(HOUR_PROFILE)
_WORDS = pa.array(WORDS, pa.string())
_WORD_CDF = np.cumsum(1.0 / np.arange(1, len(WORDS) + 1) ** 0.8)
_WORD_CDF /= _WORD_CDF[-1]
#: Zipf draw by table lookup (2^16 quantiles of the CDF): O(1) per word.
_WORD_TABLE = np.minimum(np.searchsorted(_WORD_CDF, (np.arange(1 << 16) + 0.5) / (1 << 16),
                                         side="right"), len(WORDS) - 1)
#: Common Chinese characters (fills of templates written in a script without spaces).
ZH_CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
            "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现"
            "实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样"
            "与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者"
            "最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图"
            "山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即"
            "保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单"
            "风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元"
            "况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近")
_ZH = pa.array(list(ZH_CHARS), pa.string())


def _take_words(rng: np.random.Generator, k: np.ndarray, zh: bool) -> pa.Array:
    """``len(k)`` snippets of ``k[i]`` Zipf words (English) or characters (Chinese)."""
    n = len(k)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k, out=offsets[1:])
    total = int(offsets[-1])
    if zh:
        values = _ZH.take(pa.array(rng.integers(0, len(_ZH), total)))
    else:
        values = _WORDS.take(pa.array(_WORD_TABLE[rng.integers(0, 1 << 16, total)]))
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    return pc.binary_join(lists, "" if zh else " ")


#: Per-account plan columns and their dtypes / defaults (see :class:`Builder`).
_COLUMNS: dict[str, tuple[type, object]] = {
    "kind": (np.int8, 0), "ring": (np.int64, -1), "campaign": (np.int64, -1),
    "created": (np.int64, 0), "n_ev": (np.int64, 1), "tz": (np.int64, 0),
    "t0": (np.int64, 0), "t1": (np.int64, 0),
    "mode": (np.int8, DIURNAL), "other_mode": (np.int8, DIURNAL),
    "cron_min": (np.int64, 0), "cron_step": (np.int64, 1), "cron_allday": (np.bool_, False),
    "cron_tz": (np.int64, 0), "b_off": (np.int64, 0), "b_n": (np.int64, 0),
    "b_win": (np.int64, 60), "task_p": (np.float64, 0.0),
    "home_off": (np.int64, 0), "home_n": (np.int64, 0),
    "pool_off": (np.int64, 0), "pool_n": (np.int64, 0), "pool_p": (np.float64, 0.0),
    "v6_hi": (np.uint64, 0), "v6_p": (np.float64, 0.0),
    "h6_hi": (np.uint64, 0), "h6_kind": (np.int8, 0), "h6_span": (np.int64, 1), "h6_p": (np.float64, 0.0),
    "card": (np.int64, -1), "tmpl_off": (np.int64, 0), "tmpl_n": (np.int64, 0), "case_p": (np.float64, 0.0),
    "join_p": (np.float64, 0.0), "typo_p": (np.float64, 0.0),
    "fill_lo": (np.int64, 4), "fill_hi": (np.int64, 20), "free_lo": (np.int64, 4),
    "free_hi": (np.int64, 25), "ua": (np.int64, 0), "ua2": (np.int64, 0),
}


@dataclass
class Builder:
    """Accumulates accounts, IP addresses, cards, templates and burst instants.

    Groups are added with :meth:`add`; shared resources (an office NAT, a
    proxy pool, a card, a template family) are allocated once and referenced
    by offset, so any number of accounts of any groups can share them.

    Parameters
    ----------
    start_us : int
        First instant of the log (µs since the epoch, UTC).
    days : int
        Length of the log in days.
    """

    start_us: int
    days: int
    cols: dict[str, list[np.ndarray]] = field(default_factory=dict)
    groups: list[np.ndarray] = field(default_factory=list)
    emails: list[np.ndarray] = field(default_factory=list)
    ip_parts: list[pa.Array] = field(default_factory=list)
    n_ip: int = 0
    n_card: int = 0
    bursts: list[np.ndarray] = field(default_factory=list)
    n_burst: int = 0
    templates: list[tuple[str, bool, str, bool]] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)
    n: int = 0
    v6_state: dict = field(default_factory=dict)  # ISP / carrier prefixes, homes numbered (ipv6_lines)

    @property
    def end_us(self) -> int:
        return self.start_us + self.days * DAY

    # --- shared resources -------------------------------------------------------
    def ipv4(self, addresses: np.ndarray) -> tuple[int, int]:
        """Register IPv4 addresses (uint32); returns ``(offset, count)``."""
        arr = format_ipv4(np.asarray(addresses, np.uint32))
        return self._ips(arr)

    def ipv6(self, hi: np.ndarray, lo: np.ndarray) -> tuple[int, int]:
        """Register fixed IPv6 addresses; returns ``(offset, count)``."""
        return self._ips(format_ipv6(hi, lo))

    def _ips(self, arr: pa.Array) -> tuple[int, int]:
        off = self.n_ip
        self.ip_parts.append(arr)
        self.n_ip += len(arr)
        return off, len(arr)

    def cards(self, n: int) -> np.ndarray:
        """Allocate ``n`` new payment cards; returns their indices."""
        out = np.arange(self.n_card, self.n_card + n)
        self.n_card += n
        return out

    def burst_times(self, times_us: np.ndarray) -> tuple[int, int]:
        """Register a cell's burst instants; returns ``(offset, count)``."""
        off = self.n_burst
        t = np.sort(np.asarray(times_us, np.int64))
        self.bursts.append(t)
        self.n_burst += len(t)
        return off, len(t)

    def template(self, head: str, numbered: bool = False, tail: str = "",
                 zh: bool = False) -> int:
        """Register a prompt template ``head [number ": "] fill tail``.

        ``head`` may contain ``{n}``, replaced by a job number (numbered job
        templates such as ``"Task {n}: "``).  Returns the template index.
        """
        self.templates.append((head, numbered, tail, zh))
        return len(self.templates) - 1

    def user_agent(self, text: str) -> int:
        """Register a user-agent string; returns its index."""
        if text in self.user_agents:
            return self.user_agents.index(text)
        self.user_agents.append(text)
        return len(self.user_agents) - 1

    # --- accounts ---------------------------------------------------------------
    def add(self, n: int, group, emails: np.ndarray, **attrs) -> np.ndarray:
        """Add ``n`` accounts; ``attrs`` are plan columns (scalars or length-``n`` arrays).

        ``group`` is the label group id (a string, an array of ``n`` strings, or
        None for ordinary accounts).

        Returns the new accounts' row indices.
        """
        if n <= 0:
            return np.zeros(0, np.int64)
        unknown = set(attrs) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown plan columns: {sorted(unknown)}")
        attrs.setdefault("t0", self.start_us)
        attrs.setdefault("t1", self.end_us)
        for name, (dtype, default) in _COLUMNS.items():
            value = attrs.get(name, default)
            arr = np.broadcast_to(np.asarray(value).astype(dtype), (n,)).copy()
            self.cols.setdefault(name, []).append(arr)
        if isinstance(group, np.ndarray):
            self.groups.append(group.astype(object))
        else:
            self.groups.append(np.full(n, group, dtype=object))
        self.emails.append(np.asarray(emails, dtype=object))
        rows = np.arange(self.n, self.n + n)
        self.n += n
        return rows

    def finish(self, rng: np.random.Generator) -> "Plan":
        """Freeze into a :class:`Plan` with shuffled account order and random ids."""
        cols = {k: np.concatenate(v) for k, v in self.cols.items()}
        groups = np.concatenate(self.groups)
        emails = np.concatenate(self.emails)
        perm = rng.permutation(self.n)
        cols = {k: v[perm] for k, v in cols.items()}
        # random-looking unique ids: an odd multiplier is a bijection mod 2^40
        mult = np.uint64(int(rng.integers(1, 1 << 39)) * 2 + 1)
        salt = np.uint64(int(rng.integers(0, 1 << 40)))
        code = (np.arange(self.n, dtype=np.uint64) * mult + salt) & np.uint64((1 << 40) - 1)
        ids = np.char.add("acct_", np.char.zfill(np.char.lower(
            np.array([f"{int(c):x}" for c in code])), 10)).astype(object)
        card_tokens = format_hex64(rng.integers(0, 2**63, max(self.n_card, 1), dtype=np.uint64), "pf_")
        ips = pa.concat_arrays(self.ip_parts) if self.ip_parts else pa.array([], pa.string())
        bursts = np.concatenate(self.bursts) if self.bursts else np.zeros(1, np.int64)
        return Plan(cols=cols, group=groups[perm], email=emails[perm], account_id=ids,
                    ips=ips, cards=card_tokens, bursts=bursts, templates=list(self.templates),
                    user_agents=pa.array(self.user_agents or ["python-requests/2.31.0"], pa.string()),
                    start_us=self.start_us, days=self.days)


@dataclass
class Plan:
    """A frozen world plan: one row per account plus the shared resource tables."""

    cols: dict[str, np.ndarray]
    group: np.ndarray
    email: np.ndarray
    account_id: np.ndarray
    ips: pa.Array
    cards: pa.Array
    bursts: np.ndarray
    templates: list[tuple[str, bool, str, bool]]
    user_agents: pa.Array
    start_us: int
    days: int

    @property
    def n(self) -> int:
        return len(self.account_id)

    def chunks(self, chunk_events: int) -> list[np.ndarray]:
        """Account index runs of about ``chunk_events`` events each."""
        cum = np.cumsum(self.cols["n_ev"])
        chunk_of = (cum - 1) // max(chunk_events, 1)
        cuts = np.flatnonzero(np.diff(chunk_of)) + 1
        return np.split(np.arange(self.n), cuts)


def _pick(rng: np.random.Generator, off: np.ndarray, n: np.ndarray) -> np.ndarray:
    return off + np.floor(rng.random(len(off)) * np.maximum(n, 1)).astype(np.int64)


def _times(rng, plan: Plan, a: np.ndarray, mode: np.ndarray, tz: np.ndarray) -> np.ndarray:
    """Event instants (µs UTC) for accounts ``a`` under schedule ``mode``."""
    c = plan.cols
    m = len(a)
    t0, t1 = c["t0"][a], c["t1"][a]
    span = np.maximum(t1 - t0, 1)
    out = t0 + (rng.random(m) * span).astype(np.int64)  # UNIFORM
    # local-day based schedules
    local_days = mode.copy()
    short = span < 2 * DAY
    local_days[short & ((mode == DIURNAL) | (mode == OFFICE))] = UNIFORM
    tz_us = tz * 60 * US
    day0 = (t0 + tz_us) // DAY
    ndays = np.maximum((t1 + tz_us) // DAY - day0 + 1, 1)
    day = day0 + np.floor(rng.random(m) * ndays).astype(np.int64)
    dow = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    sec = np.zeros(m, np.int64)
    d = local_days == DIURNAL
    hour = np.searchsorted(_HOUR_CDF, rng.random(m), side="right")
    sec[d] = (hour[d] * 3600 + rng.integers(0, 3600, m)[d])
    o = local_days == OFFICE
    sec[o] = (9 * 3600 + (rng.random(m) * 9 * 3600).astype(np.int64))[o]
    day[o & (dow >= 5)] -= (dow[o & (dow >= 5)] - 4)  # weekend work moves to Friday
    cr = local_days == CRON
    if cr.any():
        ctz = c["cron_tz"][a] * 60 * US
        cday0 = (t0 + ctz) // DAY
        cnd = np.maximum((t1 + ctz) // DAY - cday0 + 1, 1)
        cday = cday0 + np.floor(rng.random(m) * cnd).astype(np.int64)
        cdow = (cday + 3) % 7
        allday = c["cron_allday"][a]
        step = np.maximum(c["cron_step"][a], 1)
        slots = np.where(allday, (24 + step - 1) // step, (9 + step - 1) // step)
        h = np.where(allday, 0, 9) + step * np.floor(rng.random(m) * slots).astype(np.int64)
        cday = np.where(~allday & (cdow >= 5), cday - (cdow - 4), cday)
        jitter = np.minimum(rng.exponential(8.0, m), 120).astype(np.int64)
        cron_t = cday * DAY - ctz + (h * 3600 + c["cron_min"][a] * 60 + jitter) * US \
            + rng.integers(0, US, m)
        out[cr] = cron_t[cr]
    dl = d | o
    local_t = day * DAY - tz_us + sec * US + rng.integers(0, US, m)
    out[dl] = local_t[dl]
    b = local_days == BURST
    if b.any():
        k = _pick(rng, c["b_off"][a], c["b_n"][a])
        burst_t = plan.bursts[np.minimum(k, len(plan.bursts) - 1)] + \
            (rng.random(m) * c["b_win"][a] * US).astype(np.int64)
        out[b] = burst_t[b]
    # schedules drawn on local days can fall just outside the window: move them by
    # whole days (keeps the time of day), and draw what still lies outside uniformly
    for _ in range(2):
        out = np.where(out < t0, out + DAY, out)
        out = np.where(out >= t1, out - DAY, out)
    bad = (out < t0) | (out >= t1)
    if bad.any():
        out[bad] = (t0 + (rng.random(m) * span).astype(np.int64))[bad]
    return out


def generate_events(plan: Plan, accounts: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """Events of ``accounts`` (plan row indices), sorted by timestamp.

    Parameters
    ----------
    plan : Plan
        The frozen world plan.
    accounts : numpy.ndarray
        Plan row indices of the accounts whose events are generated.
    rng : numpy.random.Generator
        Source of randomness (one per chunk).

    Returns
    -------
    pyarrow.Table
        Columns of :data:`EVENT_SCHEMA`.
    """
    c = plan.cols
    a = np.repeat(accounts, c["n_ev"][accounts])
    m = len(a)
    if m == 0:
        return EVENT_SCHEMA.empty_table()
    task = rng.random(m) < c["task_p"][a]
    mode = np.where(task, c["mode"][a], c["other_mode"][a]).astype(np.int8)
    ts = _times(rng, plan, a, mode, c["tz"][a])

    # addresses: task requests go through the pool with pool_p, or rotate IPv6
    r = rng.random(m)
    use_v6 = task & (r < c["v6_p"][a]) & (c["v6_hi"][a] != 0)
    use_pool = task & ~use_v6 & (rng.random(m) < c["pool_p"][a]) & (c["pool_n"][a] > 0)
    home = ~use_v6 & ~use_pool
    ip_idx = np.where(use_pool, _pick(rng, c["pool_off"][a], c["pool_n"][a]),
                      _pick(rng, c["home_off"][a], c["home_n"][a]))
    ip_idx = np.minimum(ip_idx, max(len(plan.ips) - 1, 0))
    ips = plan.ips.take(pa.array(ip_idx))
    if isinstance(ips, pa.ChunkedArray):
        ips = ips.combine_chunks()
    # benign IPv6 (homes, phones, campus: ipv6_lines) for a share of the requests not over a ring's addresses
    line6 = home & (c["h6_kind"][a] > 0) & (rng.random(m) < c["h6_p"][a])
    for sel, six in ((np.flatnonzero(use_v6), True), (np.flatnonzero(line6), False)):
        if len(sel) and six:  # a ring's rotation: a new /64 of its /48 and interface id per request
            hi = c["v6_hi"][a[sel]] | rng.integers(0, 1 << 16, len(sel), dtype=np.uint64)
            lo = rng.integers(0, 2**63, len(sel), dtype=np.uint64) | np.uint64(1)
        elif len(sel):
            hi, lo = benign_ipv6(c["h6_hi"][a[sel]], c["h6_kind"][a[sel]], c["h6_span"][a[sel]],
                                 a[sel].astype(np.uint64), ts[sel] - plan.start_us, rng)
        if len(sel):
            where = np.arange(m)
            where[sel] = m + np.arange(len(sel))
            ips = pa.concat_arrays([ips, format_ipv6(hi, lo)]).take(pa.array(where))
    del home

    # cards (one per account, null without one)
    card = c["card"][a]
    cards = plan.cards.take(pa.array(np.maximum(card, 0)))
    cards = pc.if_else(pa.array(card < 0), pa.nulls(m, pa.string()), cards)

    # prompts: free text, or a template of the account's family with a fill
    free = ~task | (c["tmpl_n"][a] == 0)
    parts: list[pa.Array] = []
    where = np.empty(m, np.int64)
    sel = np.flatnonzero(free)
    k = rng.integers(c["free_lo"][a[sel]], c["free_hi"][a[sel]] + 1)
    parts.append(_take_words(rng, k, zh=False))
    where[sel] = np.arange(len(sel))
    done = len(sel)
    sel = np.flatnonzero(~free)
    if len(sel):
        tid = _pick(rng, c["tmpl_off"][a[sel]], c["tmpl_n"][a[sel]])
        tid = np.minimum(tid, len(plan.templates) - 1)
        pre = pa.array([t[0].split("{n}")[0] for t in plan.templates], pa.string())
        post = pa.array([t[0].split("{n}")[-1] if t[1] else "" for t in plan.templates], pa.string())
        tails = pa.array([t[2] for t in plan.templates], pa.string())
        numbered = np.array([t[1] for t in plan.templates])[tid]
        zh = np.array([t[3] for t in plan.templates])[tid]
        k = rng.integers(c["fill_lo"][a[sel]], c["fill_hi"][a[sel]] + 1)
        fill_parts, fill_where = [], np.empty(len(sel), np.int64)
        n_fill = 0
        for is_zh in (False, True):
            w = np.flatnonzero(zh == is_zh)
            if len(w):
                fill_parts.append(_take_words(rng, k[w], zh=is_zh))
                fill_where[w] = n_fill + np.arange(len(w))
                n_fill += len(w)
        fill = pa.concat_arrays(fill_parts).take(pa.array(fill_where))
        num = pc.if_else(pa.array(numbered),
                         pc.cast(pa.array(rng.integers(1, 1000, len(sel))), pa.string()), "")
        t_idx = pa.array(tid)
        parts.append(pc.binary_join_element_wise(
            pre.take(t_idx), num, post.take(t_idx), fill, tails.take(t_idx), ""))
        where[sel] = done + np.arange(len(sel))
    prompts = pa.concat_arrays(parts).take(pa.array(where))
    # user agents: 1 in 10 requests from the account's secondary client
    ua_idx = np.where(rng.random(m) < 0.1, c["ua2"][a], c["ua"][a])
    uas = plan.user_agents.take(pa.array(np.minimum(ua_idx, len(plan.user_agents) - 1)))
    # disguises of templated prompts, each drawn last in turn (worlds without them are unchanged): letters
    # upper-cased at random, then words misspelt at random, then words run together at random
    for disguise, share in ((flip_case, c["case_p"][a]), (misspell, c["typo_p"][a]), (run_together, c["join_p"][a])):
        rows = np.flatnonzero(~free & (share > 0))
        if len(rows):
            where = np.arange(m)
            where[rows] = m + np.arange(len(rows))
            changed = disguise(prompts.take(pa.array(rows)), share[rows], rng)
            prompts = pa.concat_arrays([prompts, changed]).take(pa.array(where))

    order = np.argsort(ts, kind="stable")
    table = pa.table({
        "account_id": pa.array(plan.account_id[a], pa.string()),
        "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "ip": ips,
        "payment_fingerprint": cards,
        "prompt": prompts,
        "user_agent": uas,
    }, schema=EVENT_SCHEMA)
    return table.take(pa.array(order))
