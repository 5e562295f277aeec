"""Account population: who exists, how they connect, pay and behave.

:func:`build_plan` draws every per-account attribute (kind, ring cell, team,
time zone, home networks, NAT hub, carrier, card, user agents, volume) and
the shared structures (NAT egress IPs, proxy pools, burst schedules,
templates) as numpy arrays in a :class:`Plan`.  Event generation
(:mod:`graphlink.simulate.events`) only reads the plan, so chunks of
accounts can be generated independently.

Account kinds: ``0`` benign, ``1`` benign_linked (enterprise team member),
``2`` ring.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphlink.simulate.config import SimulationConfig
from graphlink.simulate.network import (
    format_hex64,
    ipv6_prefixes,
    random_hosts,
    residential_prefixes,
)
from graphlink.simulate.text import RING_TEMPLATES, TEAM_TEMPLATES
from graphlink.simulate.vocab import (
    COMPANY_STEMS,
    COMPANY_SUFFIXES,
    COMPANY_TLDS,
    DISPOSABLE_DOMAINS,
    FREE_MAIL_DOMAINS,
    POPULAR_USER_AGENTS,
    SCRIPTED_USER_AGENTS,
    TIME_ZONES,
    UNIVERSITY_PATTERNS,
    UNIVERSITY_PLACES,
)

__all__ = ["Plan", "build_plan", "KIND_NAMES", "US", "DAY_US", "HOUR_US"]

US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
KIND_NAMES = ("benign", "benign_linked", "ring")


@dataclass
class Plan:
    """Per-account attributes (arrays of length ``n``) and shared tables.

    Per-account fields come first; their order is the output order of
    ``accounts.parquet``.  ``-1`` marks "not applicable" in index arrays.
    """

    account_id: pa.Array
    kind: np.ndarray
    ring_id: np.ndarray
    created_us: np.ndarray
    domain: np.ndarray
    n_events: np.ndarray
    tz_min: np.ndarray
    hour_shift: np.ndarray
    card: np.ndarray
    ua1: np.ndarray
    ua2: np.ndarray
    home: np.ndarray
    n_home: np.ndarray
    v6: np.ndarray
    n_v6: np.ndarray
    v6_small_iid: np.ndarray
    hub: np.ndarray
    hub_share: np.ndarray
    carrier: np.ndarray
    team: np.ndarray
    job_minute: np.ndarray
    cell: np.ndarray
    # --- shared tables (not per account) ---
    domains: pa.Array
    user_agents: pa.Array
    hub_lo: np.ndarray
    hub_n: np.ndarray
    hub_ips: np.ndarray
    carrier_prefixes: np.ndarray
    residential: np.ndarray
    team_nightly: np.ndarray
    team_template: np.ndarray
    cell_operator: np.ndarray
    burst_lo: np.ndarray
    burst_n: np.ndarray
    burst_us: np.ndarray
    proxy_lo: np.ndarray
    proxy_n: np.ndarray
    proxy_ips: np.ndarray
    op_templates: np.ndarray
    op_n_templates: np.ndarray

    @property
    def n(self) -> int:
        """Number of accounts."""
        return len(self.kind)

    def take(self, order: np.ndarray) -> "Plan":
        """Reorder the per-account fields by ``order``."""
        values = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "domains":
                break
            values[f.name] = v.take(pa.array(order)) if f.name == "account_id" else v[order]
        rest = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in values}
        return Plan(**values, **rest)


def _u(rng: np.random.Generator, rng_range: tuple[int, int], size: int) -> np.ndarray:
    return rng.integers(rng_range[0], rng_range[1] + 1, size=size)


def _weighted(rng: np.random.Generator, weights: list[float], size: int) -> np.ndarray:
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(cdf / cdf[-1], rng.random(size), side="right")


def _sizes(rng: np.random.Generator, total: int, rng_range: tuple[int, int]) -> np.ndarray:
    """Group sizes drawn from ``rng_range`` summing exactly to ``total``."""
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    draws = _u(rng, rng_range, total // max(rng_range[0], 1) + 1)
    cum = np.cumsum(draws)
    k = int(np.searchsorted(cum, total)) + 1
    sizes = draws[:k].copy()
    sizes[-1] -= int(cum[k - 1] - total)
    if len(sizes) > 1 and sizes[-1] < rng_range[0]:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


def _domain_table(rng: np.random.Generator, cfg: SimulationConfig) -> tuple[pa.Array, dict]:
    """Build the email-domain table and the index ranges of its sections."""
    ns, nx, nt = len(COMPANY_STEMS), len(COMPANY_SUFFIXES), len(COMPANY_TLDS)
    combos = (ns + 1) * ns * nx * nt
    pick = rng.choice(combos, size=min(cfg.n_company_domains, combos), replace=False)
    stem2, rest = np.divmod(pick, ns * nx * nt)
    stem1, rest = np.divmod(rest, nx * nt)
    suffix, tld = np.divmod(rest, nt)
    stems2 = pa.array([""] + [s + "-" for s in COMPANY_STEMS])
    company = pc.binary_join_element_wise(
        stems2.take(pa.array(stem2)), pa.array(COMPANY_STEMS).take(pa.array(stem1)),
        pa.array(COMPANY_SUFFIXES).take(pa.array(suffix)), pa.scalar("."),
        pa.array(COMPANY_TLDS).take(pa.array(tld)), "")
    uni_all = [p.format(c) for p in UNIVERSITY_PATTERNS for c in UNIVERSITY_PLACES]
    uni_pick = rng.permutation(len(uni_all))[: cfg.n_university_domains]
    universities = pa.array(uni_all).take(pa.array(uni_pick))
    free = pa.array([d for d, _ in FREE_MAIL_DOMAINS])
    disposable = pa.array(DISPOSABLE_DOMAINS)
    sections = {}
    pos = 0
    for name, arr in [("free", free), ("disposable", disposable),
                      ("company", company), ("university", universities)]:
        sections[name] = (pos, len(arr))
        pos += len(arr)
    return pa.concat_arrays([free, disposable, company, universities]), sections


def _ua_table(rng: np.random.Generator, cfg: SimulationConfig, companies: pa.Array,
              team_company: np.ndarray) -> tuple[pa.Array, dict]:
    """Popular, scripted, long-tail and per-team batch-job user agents."""
    n_rare = cfg.n_rare_user_agents
    kinds = np.array(["client", "bot", "sdk", "agent", "app", "cli", "worker"])
    stems = pa.array(COMPANY_STEMS).take(pa.array(rng.integers(0, len(COMPANY_STEMS), n_rare)))
    ver = [pc.cast(pa.array(rng.integers(0, 20, n_rare)), pa.string()) for _ in range(3)]
    rare = pc.binary_join_element_wise(
        stems, pa.scalar("-"), pa.array(kinds[rng.integers(0, len(kinds), n_rare)]),
        pa.scalar("/"), ver[0], pa.scalar("."), ver[1], pa.scalar("."), ver[2], "")
    nt = len(team_company)
    team_names = pc.replace_substring_regex(companies.take(pa.array(team_company)),
                                            r"\..*$", "")
    team_ver = pc.cast(pa.array(rng.integers(1, 5, nt)), pa.string())
    team_ua = pc.binary_join_element_wise(team_names, pa.scalar("-batch/"), team_ver,
                                          pa.scalar(".0"), "")
    parts = [("popular", pa.array([u for u, _ in POPULAR_USER_AGENTS])),
             ("scripted", pa.array(SCRIPTED_USER_AGENTS)), ("rare", rare), ("team", team_ua)]
    sections, pos = {}, 0
    for name, arr in parts:
        sections[name] = (pos, len(arr))
        pos += len(arr)
    return pa.concat_arrays([p for _, p in parts]), sections


def _popular_or_rare(rng, n, ua_sec, rare_share=0.2):
    pop = ua_sec["popular"][0] + _weighted(rng, [w for _, w in POPULAR_USER_AGENTS], n)
    rare = ua_sec["rare"][0] + rng.integers(0, max(ua_sec["rare"][1], 1), n)
    return np.where(rng.random(n) < rare_share, rare, pop)


def build_plan(cfg: SimulationConfig, seed_seq: np.random.SeedSequence) -> Plan:
    """Draw the account population of a world.

    Parameters
    ----------
    cfg : SimulationConfig
        World parameters.
    seed_seq : numpy.random.SeedSequence
        Seed for this component; child generators are spawned from it per
        sub-population so adding a knob to one does not shift the others.

    Returns
    -------
    Plan
        Per-account arrays in final (shuffled) output order.
    """
    r_net, r_dom, r_ben, r_team, r_ring, r_ids = (
        np.random.default_rng(s) for s in seed_seq.spawn(6))
    start_us = int(cfg.start.timestamp()) * US
    end_us = start_us + cfg.days * DAY_US
    domains, dsec = _domain_table(r_dom, cfg)

    # ---- networks: residential /24s plus fresh ones for hubs, offices, proxies
    nb, n_teams, n_ops = cfg.n_benign, cfg.n_teams, cfg.n_operators
    n_hubs = cfg.n_university_nats + cfg.n_corporate_nats
    n_carrier_pfx = cfg.n_carriers * cfg.carrier_prefixes
    op_nets = _u(r_net, cfg.proxy_networks, n_ops)
    op_overlap = np.round(op_nets * cfg.proxy_benign_overlap).astype(np.int64)
    n_fresh = n_hubs + n_teams + n_carrier_pfx + int((op_nets - op_overlap).sum())
    prefixes = residential_prefixes(r_net, cfg.residential_networks + n_fresh)
    residential, fresh = prefixes[: cfg.residential_networks], prefixes[cfg.residential_networks:]
    hub_pfx, fresh = fresh[:n_hubs], fresh[n_hubs:]
    office_pfx, fresh = fresh[:n_teams], fresh[n_teams:]
    carrier_prefixes = fresh[:n_carrier_pfx].reshape(cfg.n_carriers, cfg.carrier_prefixes)
    op_fresh = fresh[n_carrier_pfx:]

    # ---- teams (benign_linked)
    team_size = _u(r_team, cfg.team_size, n_teams)
    nt = int(team_size.sum())
    team_of = np.repeat(np.arange(n_teams), team_size)
    team_company = dsec["company"][0] + r_team.permutation(dsec["company"][1])[:n_teams]
    user_agents, usec = _ua_table(r_dom, cfg, domains, team_company)
    tz_choices = np.array([z for z, _ in TIME_ZONES])
    tz_w = [w for _, w in TIME_ZONES]
    team_tz = tz_choices[_weighted(r_team, tz_w, n_teams)]
    team_nightly = r_team.random(n_teams) < cfg.team_nightly_share
    team_hour = np.where(team_nightly, r_team.integers(1, 5, n_teams),
                         r_team.integers(8, 18, n_teams))
    team_template = r_team.integers(0, len(TEAM_TEMPLATES), n_teams)
    team_card = r_team.integers(1, 2**63, n_teams, dtype=np.uint64)
    office_n = _u(r_team, cfg.team_office_ips, n_teams)
    team_shared = r_team.random(n_teams) < cfg.team_shared_nat_share
    coworkers = np.where(team_shared, _u(r_team, cfg.team_nat_coworkers, n_teams), 0)

    # ---- NAT hubs: universities, corporate offices, then team offices
    hub_n = np.concatenate([_u(r_net, cfg.university_nat_ips, cfg.n_university_nats),
                            _u(r_net, cfg.corporate_nat_ips, cfg.n_corporate_nats), office_n])
    hub_lo = np.concatenate([[0], np.cumsum(hub_n)[:-1]]).astype(np.int64)
    hub_ips = random_hosts(r_net, np.repeat(np.concatenate([hub_pfx, office_pfx]), hub_n))

    # ---- benign accounts
    n_ben = nb
    kind = [np.zeros(n_ben, np.int8)]
    b_events = np.clip(np.round(r_ben.lognormal(np.log(cfg.benign_events_median),
                                                 cfg.benign_events_sigma, n_ben)),
                       1, cfg.benign_events_max).astype(np.int64)
    during = r_ben.random(n_ben) < cfg.benign_created_during_share
    span_before = int(cfg.benign_created_years * 365 * DAY_US)
    b_created = np.where(
        during, start_us + (r_ben.random(n_ben) * max(end_us - DAY_US - start_us, 1)),
        start_us - r_ben.random(n_ben) * span_before).astype(np.int64)
    fm = _weighted(r_ben, [w for _, w in FREE_MAIL_DOMAINS], n_ben)
    kind_of_mail = r_ben.random(n_ben)
    b_domain = np.where(
        kind_of_mail < 0.75, dsec["free"][0] + fm,
        np.where(kind_of_mail < 0.95,
                 dsec["company"][0] + r_ben.integers(0, dsec["company"][1], n_ben),
                 dsec["university"][0] + r_ben.integers(0, dsec["university"][1], n_ben)))
    b_hub = np.full(n_ben, -1, np.int64)
    b_share = np.zeros(n_ben)
    perm = r_ben.permutation(n_ben)
    hub_members = np.concatenate([_u(r_ben, cfg.university_nat_accounts, cfg.n_university_nats),
                                  _u(r_ben, cfg.corporate_nat_accounts, cfg.n_corporate_nats),
                                  coworkers])
    # never assign more hub members than benign accounts exist
    hub_members = np.minimum(hub_members, np.maximum(
        n_ben - np.concatenate([[0], np.cumsum(hub_members)[:-1]]), 0))
    members = perm[: int(hub_members.sum())]
    member_hub = np.repeat(np.arange(len(hub_members)), hub_members)
    b_hub[members] = member_hub
    b_share[members] = np.where(member_hub >= n_hubs, cfg.team_office_ip_share,
                                cfg.nat_event_share)
    n_univ = cfg.n_university_nats
    uni_dom = dsec["university"][0] + r_ben.integers(0, max(dsec["university"][1], 1), n_hubs)
    corp_dom = dsec["company"][0] + r_ben.integers(0, dsec["company"][1], n_hubs)
    hub_domain = np.concatenate([np.where(np.arange(n_hubs) < n_univ, uni_dom, corp_dom),
                                 team_company])
    keep_own = r_ben.random(len(members)) < np.where(member_hub < n_univ, 0.4, 0.1)
    b_domain[members] = np.where(keep_own, b_domain[members], hub_domain[member_hub])

    # cards: own card, none (free tier) or a shared family card
    b_card = r_ben.integers(1, 2**63, n_ben, dtype=np.uint64)
    b_card[r_ben.random(n_ben) < cfg.no_card_share] = 0
    fam_total = int(round(cfg.family_share * n_ben))
    fam_sizes = _sizes(r_ben, fam_total, cfg.family_size)
    fam_members = r_ben.permutation(n_ben)[:fam_total]
    fam_of = np.repeat(np.arange(len(fam_sizes)), fam_sizes)
    fam_card = r_ben.integers(1, 2**63, len(fam_sizes), dtype=np.uint64)
    b_card[fam_members] = fam_card[fam_of]

    # ---- ring cells
    cell_size = _sizes(r_ring, cfg.n_ring_accounts, cfg.ring_cell_size)
    n_cells, nr = len(cell_size), int(cell_size.sum())
    cell_of = np.repeat(np.arange(n_cells), cell_size)
    cell_operator = r_ring.permutation(np.arange(n_cells) % max(n_ops, 1))
    cell_t0 = start_us + ((r_ring.random(n_cells) * (cfg.ring_precreate_days + cfg.days / 3))
                          - cfg.ring_precreate_days) * DAY_US
    r_created = (cell_t0[cell_of] + r_ring.random(nr) * cfg.ring_creation_hours * HOUR_US
                 ).astype(np.int64)
    r_events = _u(r_ring, cfg.ring_events, nr)
    disposable = r_ring.random(nr) < cfg.disposable_email_share
    r_domain = np.where(disposable,
                        dsec["disposable"][0] + r_ring.integers(0, dsec["disposable"][1], nr),
                        dsec["free"][0] + _weighted(r_ring, [w for _, w in FREE_MAIL_DOMAINS], nr))
    r_card = np.zeros(nr, np.uint64)
    burst_n = np.zeros(n_cells, np.int64)
    bursts, proxies = [], []
    proxy_n = _u(r_ring, cfg.proxy_pool_size, n_cells)
    op_pfx, pos = [], 0
    for op in range(n_ops):  # operators' proxy provider networks
        n_over, n_new = int(op_overlap[op]), int(op_nets[op] - op_overlap[op])
        op_pfx.append(np.concatenate([residential[r_ring.integers(0, len(residential), n_over)],
                                      op_fresh[pos: pos + n_new]]))
        pos += n_new
    for c in range(n_cells):  # a handful of cells: cards, proxies, bursts
        lo = int(cell_size[:c].sum())
        members_c = lo + r_ring.permutation(int(cell_size[c]))
        unique = r_ring.random(len(members_c)) < cfg.ring_unique_card_share
        pooled = members_c[~unique]
        pool_sizes = _sizes(r_ring, len(pooled), cfg.card_pool_size)
        pool_card = r_ring.integers(1, 2**63, len(pool_sizes), dtype=np.uint64)
        r_card[pooled] = pool_card[np.repeat(np.arange(len(pool_sizes)), pool_sizes)]
        r_card[members_c[unique]] = r_ring.integers(1, 2**63, int(unique.sum()), dtype=np.uint64)
        pfx = op_pfx[cell_operator[c]]
        proxies.append(random_hosts(r_ring, pfx[r_ring.integers(0, len(pfx), proxy_n[c])]))
        active = max(start_us, int(r_created[lo: lo + cell_size[c]].max()) + HOUR_US)
        window = max(end_us - active - cfg.burst_window_seconds * US, HOUR_US)
        mean_ev = float(r_events[lo: lo + cell_size[c]].mean())
        burst_n[c] = max(int(np.ceil(mean_ev / cfg.burst_participation)), 1)
        bursts.append(np.sort(active + (r_ring.random(burst_n[c]) * window).astype(np.int64)))
    op_k = _u(r_ring, cfg.ring_templates_per_operator, n_ops).clip(1, len(RING_TEMPLATES))
    op_templates = np.stack([r_ring.permutation(len(RING_TEMPLATES)) for _ in range(n_ops)])
    op_common = r_ring.random(n_ops) < cfg.ring_common_ua_share
    op_ua = np.where(op_common[:, None],
                     usec["popular"][0] + r_ring.integers(0, 4, (n_ops, 2)),
                     usec["scripted"][0] + r_ring.integers(0, usec["scripted"][1], (n_ops, 2)))
    op_of = cell_operator[cell_of]
    r_ua1 = op_ua[op_of, r_ring.integers(0, 2, nr)]

    # ---- assemble in construction order: benign, team, ring
    kind = np.concatenate([np.zeros(n_ben, np.int8), np.ones(nt, np.int8),
                           np.full(nr, 2, np.int8)])
    n = len(kind)
    rng = r_ids
    tz = tz_choices[_weighted(rng, tz_w, n)]
    tz[n_ben: n_ben + nt] = team_tz[team_of]
    shift = rng.integers(-2, 3, n)
    shift[n_ben: n_ben + nt] = 0
    n_home = _u(rng, cfg.home_ips, n)
    home = random_hosts(rng, residential[rng.integers(0, len(residential), 3 * n)]).reshape(n, 3)
    fam_home = home[fam_members[np.searchsorted(fam_of, np.arange(len(fam_sizes)))], 0]
    home[fam_members, 0] = fam_home[fam_of]  # a family shares its home router
    is_v6 = (rng.random(n) < cfg.ipv6_share) & (kind == 0)
    v6 = ipv6_prefixes(rng, n)[:, None] | rng.integers(0, 1 << 16, (n, 2), dtype=np.uint64)
    n_v6 = np.where(is_v6, _u(rng, cfg.ipv6_subnets, n), 0)
    carrier = np.where((rng.random(n) < cfg.mobile_share) & (kind == 0),
                       rng.integers(0, max(cfg.n_carriers, 1), n), -1)
    team_hub = n_hubs + team_of
    ua1 = _popular_or_rare(rng, n, usec)
    ua1[n_ben: n_ben + nt] = usec["team"][0] + team_of
    ua1[n_ben + nt:] = r_ua1
    ua2 = _popular_or_rare(rng, n, usec)
    ua2[n_ben + nt:] = usec["popular"][0] + _weighted(
        rng, [w for _, w in POPULAR_USER_AGENTS], nr)
    t_created = start_us - ((0.01 + rng.random(nt) * 0.99) * cfg.team_created_days
                            * DAY_US).astype(np.int64)
    job_minute = np.full(n, -1, np.int64)
    job_minute[n_ben: n_ben + nt] = team_hour[team_of] * 60 + rng.integers(0, 60, nt)

    ids = rng.integers(0, 2**63, n, dtype=np.uint64)
    while len(np.unique(ids)) < n:  # astronomically rare
        ids = rng.integers(0, 2**63, n, dtype=np.uint64)
    cards = np.concatenate([b_card, np.repeat(team_card, team_size), r_card])
    plan = Plan(
        account_id=format_hex64(ids, "acct_"),
        kind=kind,
        ring_id=np.concatenate([np.full(n_ben + nt, -1), cell_of + 1]).astype(np.int64),
        created_us=np.concatenate([b_created, t_created, r_created]),
        domain=np.concatenate([b_domain, team_company[team_of], r_domain]).astype(np.int64),
        n_events=np.concatenate([b_events, _u(rng, cfg.team_events, nt), r_events]),
        tz_min=tz.astype(np.int64),
        hour_shift=shift,
        card=cards,
        ua1=ua1.astype(np.int64),
        ua2=ua2.astype(np.int64),
        home=home,
        n_home=n_home,
        v6=v6,
        n_v6=n_v6,
        v6_small_iid=rng.random(n) < 0.5,
        hub=np.concatenate([b_hub, team_hub, np.full(nr, -1)]).astype(np.int64),
        hub_share=np.concatenate([b_share, np.full(nt, cfg.team_office_ip_share), np.zeros(nr)]),
        carrier=carrier,
        team=np.concatenate([np.full(n_ben, -1), team_of, np.full(nr, -1)]).astype(np.int64),
        job_minute=job_minute,
        cell=np.concatenate([np.full(n_ben + nt, -1), cell_of]).astype(np.int64),
        domains=domains,
        user_agents=user_agents,
        hub_lo=hub_lo,
        hub_n=hub_n,
        hub_ips=hub_ips,
        carrier_prefixes=carrier_prefixes,
        residential=residential,
        team_nightly=team_nightly,
        team_template=team_template,
        cell_operator=cell_operator,
        burst_lo=np.concatenate([[0], np.cumsum(burst_n)[:-1]]).astype(np.int64),
        burst_n=burst_n,
        burst_us=np.concatenate(bursts) if bursts else np.zeros(0, np.int64),
        proxy_lo=np.concatenate([[0], np.cumsum(proxy_n)[:-1]]).astype(np.int64),
        proxy_n=proxy_n,
        proxy_ips=np.concatenate(proxies) if proxies else np.zeros(0, np.uint32),
        op_templates=op_templates,
        op_n_templates=op_k,
    )
    return plan.take(rng.permutation(n))
