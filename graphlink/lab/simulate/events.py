"""Vectorised event generation for one chunk of accounts.

Every event belongs to one of three behaviours:

* **diurnal** -- ordinary use: benign accounts, ad-hoc use by team members
  (office hours) and ring camouflage.  Local-daytime hour profile, fewer
  requests at weekends, home / NAT / mobile / IPv6 / travel addresses and
  generic prompts.
* **job** -- a team member's scheduled batch job: the team's job template at
  a fixed local minute, through the office NAT.
* **burst** -- ring traffic: a cell-wide burst (all of a cell's accounts
  within ``burst_window_seconds``), a rotating residential-proxy IP per
  request and a chain-of-thought extraction template of the operator.

All of it is array arithmetic over the chunk's events; Python loops only
run over the few prompt templates inside :func:`~graphlink.lab.simulate.text.render`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphlink.lab.simulate.config import SimulationConfig
from graphlink.lab.simulate.network import format_hex64, format_ipv4, format_ipv6, random_hosts
from graphlink.lab.simulate.population import DAY_US, US, Plan
from graphlink.lab.simulate.text import BENIGN_TEMPLATES, RING_TEMPLATES, TEAM_TEMPLATES, render
from graphlink.lab.simulate.vocab import HOUR_PROFILE

__all__ = ["EVENT_SCHEMA", "generate_chunk"]

EVENT_SCHEMA = pa.schema([
    ("account_id", pa.string()),
    ("timestamp", pa.timestamp("us", tz="UTC")),
    ("ip", pa.string()),
    ("payment_fingerprint", pa.string()),
    ("prompt", pa.string()),
    ("user_agent", pa.string()),
])

_HOUR_CDF = np.cumsum(HOUR_PROFILE) / np.sum(HOUR_PROFILE)
_OFFICE = np.array([0.0] * 8 + [0.5] + [1.0] * 9 + [0.4] + [0.0] * 5)
_OFFICE_CDF = np.cumsum(_OFFICE) / _OFFICE.sum()


def _pick(rng: np.random.Generator, n_options: np.ndarray) -> np.ndarray:
    """Uniform index in ``[0, n_options)`` per row (``n_options >= 1``)."""
    return np.minimum((rng.random(len(n_options)) * n_options).astype(np.int64),
                      np.maximum(n_options - 1, 0))


def _day_weights(cfg: SimulationConfig, weekend: float) -> np.ndarray:
    dow = (cfg.start.weekday() + np.arange(cfg.days)) % 7
    return np.where(dow >= 5, weekend, 1.0)


def _day_index(rng, created_day, weights):
    """Local day per event drawn from ``weights``, never before creation."""
    days = len(weights)
    cdf = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    lo = cdf[np.clip(created_day, 0, days - 1)]
    u = lo + rng.random(len(created_day)) * (1.0 - lo)
    return np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, days - 1)


def _local_to_utc(cfg, start_us, day, second_of_day, tz_min, created_us):
    end_us = start_us + cfg.days * DAY_US
    ts = start_us + day * DAY_US + second_of_day - tz_min * 60 * US
    ts = start_us + np.mod(ts - start_us, end_us - start_us)  # keep inside the log
    return np.minimum(np.maximum(ts, created_us + US), end_us - 1)


def _timestamps(rng, cfg, plan, a, mode, start_us):
    """UTC microsecond timestamp per event (``mode``: 0 diurnal, 1 job, 2 burst)."""
    ts = np.empty(len(a), np.int64)
    tz, created = plan.tz_min[a], plan.created_us[a]
    created_day = (created + tz * 60 * US - start_us) // DAY_US

    d = mode == 0
    office = plan.kind[a[d]] == 1
    u = rng.random(int(d.sum()))
    hour = np.where(office, np.searchsorted(_OFFICE_CDF, u, side="right"),
                    np.searchsorted(_HOUR_CDF, u, side="right"))
    hour = np.mod(np.minimum(hour, 23) + plan.hour_shift[a[d]], 24)
    day = np.where(office, _day_index(rng, created_day[d], _day_weights(cfg, 0.0)),
                   _day_index(rng, created_day[d], _day_weights(cfg, cfg.weekend_activity)))
    sec = hour * 3600 * US + (rng.random(len(hour)) * 3600 * US).astype(np.int64)
    ts[d] = _local_to_utc(cfg, start_us, day, sec, tz[d], created[d])

    j = mode == 1
    nightly = plan.team_nightly[plan.team[a[j]]]
    day = np.where(nightly, _day_index(rng, created_day[j], _day_weights(cfg, 1.0)),
                   _day_index(rng, created_day[j], _day_weights(cfg, 0.0)))
    sec = plan.job_minute[a[j]] * 60 * US + (rng.random(int(j.sum())) * 90 * US).astype(np.int64)
    ts[j] = _local_to_utc(cfg, start_us, day, sec, tz[j], created[j])

    b = mode == 2
    cell = plan.cell[a[b]]
    k = plan.burst_lo[cell] + _pick(rng, plan.burst_n[cell])
    jitter = (rng.random(int(b.sum())) * cfg.burst_window_seconds * US).astype(np.int64)
    ts[b] = np.minimum(plan.burst_us[k] + jitter, start_us + cfg.days * DAY_US - 1)
    return ts


def _ips(rng, cfg, plan, a, mode):
    """IP text per event."""
    n = len(a)
    ip4 = np.zeros(n, np.uint32)
    kind = plan.kind[a]
    u = rng.random((n, 4))
    camo = (kind == 2) & (mode == 0)
    travel = camo | ((mode != 2) & (u[:, 0] < cfg.travel_event_share))
    hub = plan.hub[a]
    via_hub = (mode != 2) & ~travel & (hub >= 0) & (u[:, 1] < plan.hub_share[a])
    car = plan.carrier[a]
    mobile = (mode != 2) & ~travel & ~via_hub & (car >= 0) & (u[:, 2] < cfg.mobile_event_share)
    v6 = ((mode != 2) & ~travel & ~via_hub & ~mobile & (plan.n_v6[a] > 0)
          & (u[:, 3] < cfg.ipv6_event_share))
    home = (mode != 2) & ~travel & ~via_hub & ~mobile & ~v6
    proxy = mode == 2

    res = plan.residential
    ip4[travel] = random_hosts(rng, res[rng.integers(0, len(res), int(travel.sum()))])
    h = hub[via_hub]
    ip4[via_hub] = plan.hub_ips[plan.hub_lo[h] + _pick(rng, plan.hub_n[h])]
    c = car[mobile]
    ip4[mobile] = plan.carrier_ips[c, rng.integers(0, plan.carrier_ips.shape[1], len(c))]
    ah = a[home]
    first = rng.random(len(ah)) < 0.7
    slot = np.where(first, 0, 1 + _pick(rng, np.maximum(plan.n_home[ah] - 1, 1)))
    slot = np.minimum(slot, plan.n_home[ah] - 1)
    ip4[home] = plan.home[ah, slot]
    cell = plan.cell[a[proxy]]
    ip4[proxy] = plan.proxy_ips[plan.proxy_lo[cell] + _pick(rng, plan.proxy_n[cell])]

    a6 = a[v6]
    hi = plan.v6[a6, _pick(rng, plan.n_v6[a6])]
    lo = np.where(plan.v6_small_iid[a6], rng.integers(1, 1 << 16, len(a6), dtype=np.uint64),
                  rng.integers(0, 2**63, len(a6), dtype=np.uint64) * np.uint64(2)
                  + rng.integers(0, 2, len(a6), dtype=np.uint64))
    uniq, inv = np.unique(ip4[~v6], return_inverse=True)
    text4 = format_ipv4(uniq).take(pa.array(inv.ravel()))
    return _scatter([(np.flatnonzero(~v6), text4), (np.flatnonzero(v6), format_ipv6(hi, lo))], n)


def _scatter(parts: list[tuple[np.ndarray, pa.Array]], n: int) -> pa.Array:
    """Combine arrays computed for disjoint row subsets into one of length ``n``."""
    parts = [(rows, arr) for rows, arr in parts if len(rows)]
    rows = np.concatenate([r for r, _ in parts])
    inverse = np.empty(n, np.int64)
    inverse[rows] = np.arange(n)
    return pa.concat_arrays([arr for _, arr in parts]).take(pa.array(inverse))


def _prompts(rng, cfg, plan, a, mode):
    d, j, b = (np.flatnonzero(mode == m) for m in (0, 1, 2))
    benign = render(BENIGN_TEMPLATES, rng.integers(0, len(BENIGN_TEMPLATES), len(d)), rng,
                    cfg.free_words)
    job = render(TEAM_TEMPLATES, plan.team_template[plan.team[a[j]]], rng, cfg.free_words)
    op = plan.cell_operator[plan.cell[a[b]]]
    tmpl = plan.op_templates[op, _pick(rng, plan.op_n_templates[op])]
    ring = render(RING_TEMPLATES, tmpl, rng, cfg.free_words)
    return _scatter([(d, benign), (j, job), (b, ring)], len(a))


def generate_chunk(
    plan: Plan, cfg: SimulationConfig, accounts: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    """Generate all events of ``accounts``.

    Parameters
    ----------
    plan : Plan
        The world's population.
    cfg : SimulationConfig
        World parameters.
    accounts : numpy.ndarray
        Positions (into ``plan``) of the accounts of this chunk.
    rng : numpy.random.Generator
        The chunk's own generator.

    Returns
    -------
    pyarrow.Table
        Events with :data:`EVENT_SCHEMA`, sorted by timestamp.
    """
    start_us = int(cfg.start.timestamp()) * US
    local = np.repeat(np.arange(len(accounts)), plan.n_events[accounts])
    a = accounts[local]
    kind = plan.kind[a]
    r = rng.random(len(a))
    mode = np.zeros(len(a), np.int8)
    mode[(kind == 1) & (r < cfg.team_job_share)] = 1
    mode[(kind == 2) & (r >= cfg.camouflage_share)] = 2
    ts = _timestamps(rng, cfg, plan, a, mode, start_us)
    order = np.argsort(ts, kind="stable")
    ts, a, local, mode, kind = ts[order], a[order], local[order], mode[order], kind[order]

    ua = np.where(mode == 2, plan.ua1[a], plan.ua2[a])  # ring: script vs camouflage
    ua = np.where(kind == 1, np.where(mode == 1, plan.ua1[a], plan.ua2[a]), ua)
    secondary = rng.random(len(a)) < cfg.secondary_ua_share
    ua = np.where(kind == 0, np.where(secondary, plan.ua2[a], plan.ua1[a]), ua)

    cards = plan.card[accounts]
    card_text = pc.if_else(pa.array(cards == 0), pa.nulls(len(cards), pa.string()),
                           format_hex64(cards, "pf_"))
    local_idx = pa.array(local)
    columns = [
        plan.account_id.take(pa.array(accounts)).take(local_idx),
        pa.array(ts, pa.timestamp("us", tz="UTC")),
        _ips(rng, cfg, plan, a, mode),
        card_text.take(local_idx),
        _prompts(rng, cfg, plan, a, mode),
        plan.user_agents.take(pa.array(ua)),
    ]
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)
