"""Account population: who exists, how they connect, pay and behave.

:func:`build_plan` draws every per-account attribute (kind, ring cell, team,
time zone, home networks, NAT hub, carrier, card, user agents, volume) and
the shared structures (NAT egress IPs, proxy pools, burst schedules,
templates) as numpy arrays in a :class:`Plan`.  Event generation
(:mod:`graphlink.lab.simulate.events`) only reads the plan, so chunks of
accounts can be generated independently.

Account kinds: ``0`` benign, ``1`` benign_linked (enterprise team member),
``2`` ring.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphlink.lab.simulate.config import SimulationConfig
from graphlink.lab.simulate.draws import offsets, sizes, uniform, weighted
from graphlink.lab.simulate.network import (
    format_hex64,
    ipv6_prefixes,
    random_hosts,
    residential_prefixes,
)
from graphlink.lab.simulate.text import RING_TEMPLATES, TEAM_TEMPLATES
from graphlink.lab.simulate.vocab import (
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
_TZ = np.array([z for z, _ in TIME_ZONES], dtype=np.int64)
_TZ_W = [w for _, w in TIME_ZONES]


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
    carrier_ips: np.ndarray
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
    pop = ua_sec["popular"][0] + weighted(rng, [w for _, w in POPULAR_USER_AGENTS], n)
    rare = ua_sec["rare"][0] + rng.integers(0, max(ua_sec["rare"][1], 1), n)
    return np.where(rng.random(n) < rare_share, rare, pop)


def _networks(rng: np.random.Generator, cfg: SimulationConfig) -> SimpleNamespace:
    """Residential /24s plus fresh ones for NAT hubs, offices, carriers, proxies."""
    n_hubs = cfg.n_university_nats + cfg.n_corporate_nats
    n_carrier = cfg.n_carriers * cfg.carrier_prefixes
    op_nets = uniform(rng, cfg.proxy_networks, cfg.n_operators)
    op_overlap = np.round(op_nets * cfg.proxy_benign_overlap).astype(np.int64)
    n_fresh = n_hubs + cfg.n_teams + n_carrier + int((op_nets - op_overlap).sum())
    prefixes = residential_prefixes(rng, cfg.residential_networks + n_fresh)
    cuts = np.cumsum([cfg.residential_networks, n_hubs, cfg.n_teams, n_carrier])
    residential, hubs, offices, carriers, op_fresh = np.split(prefixes, cuts)
    # each operator's proxy provider: some benign home networks, some fresh ones
    op_prefixes, pos = [], 0
    for op in range(cfg.n_operators):  # a handful of operators
        n_over, n_new = int(op_overlap[op]), int(op_nets[op] - op_overlap[op])
        op_prefixes.append(np.concatenate([
            residential[rng.integers(0, len(residential), n_over)], op_fresh[pos: pos + n_new]]))
        pos += n_new
    # CGNAT egress addresses: a few distinct hosts in each carrier /24
    k = int(np.clip(cfg.carrier_egress_ips, 1, 254))
    hosts = np.argsort(rng.random((len(carriers), 254)), axis=1)[:, :k].astype(np.uint32) + 1
    carrier_ips = (carriers[:, None] | hosts).reshape(cfg.n_carriers, cfg.carrier_prefixes * k)
    return SimpleNamespace(residential=residential, hub_prefixes=hubs, office_prefixes=offices,
                           carrier_ips=carrier_ips,
                           op_prefixes=op_prefixes, n_hubs=n_hubs)


def _teams(rng: np.random.Generator, cfg: SimulationConfig, dsec: dict) -> SimpleNamespace:
    """Enterprise teams: size, company, card, office, schedule, job template."""
    n = cfg.n_teams
    size = uniform(rng, cfg.team_size, n)
    company = dsec["company"][0] + rng.permutation(dsec["company"][1])[:n]
    tz = _TZ[weighted(rng, _TZ_W, n)]
    nightly = rng.random(n) < cfg.team_nightly_share
    hour = np.where(nightly, rng.integers(1, 5, n), rng.integers(8, 18, n))
    template = rng.integers(0, len(TEAM_TEMPLATES), n)
    card = rng.integers(1, 2**63, n, dtype=np.uint64)
    office_ips = uniform(rng, cfg.team_office_ips, n)
    shared = rng.random(n) < cfg.team_shared_nat_share
    coworkers = np.where(shared, uniform(rng, cfg.team_nat_coworkers, n), 0)
    return SimpleNamespace(size=size, of=np.repeat(np.arange(n), size), company=company,
                           tz=tz, nightly=nightly, hour=hour, template=template, card=card,
                           office_ips=office_ips, coworkers=coworkers)


def _hubs(rng: np.random.Generator, cfg: SimulationConfig, net: SimpleNamespace,
          teams: SimpleNamespace) -> SimpleNamespace:
    """Egress IPs of NAT hubs: universities, corporate offices, team offices."""
    n = np.concatenate([uniform(rng, cfg.university_nat_ips, cfg.n_university_nats),
                        uniform(rng, cfg.corporate_nat_ips, cfg.n_corporate_nats), teams.office_ips])
    lo = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    ips = random_hosts(rng, np.repeat(np.concatenate([net.hub_prefixes, net.office_prefixes]), n))
    return SimpleNamespace(n=n, lo=lo, ips=ips)


def _benign(rng: np.random.Generator, cfg: SimulationConfig, dsec: dict, net: SimpleNamespace,
            teams: SimpleNamespace, start_us: int, end_us: int) -> SimpleNamespace:
    """Ordinary benign accounts, NAT membership, domains, cards and families."""
    n = cfg.n_benign
    events = np.clip(np.round(rng.lognormal(np.log(cfg.benign_events_median),
                                            cfg.benign_events_sigma, n)),
                     1, cfg.benign_events_max).astype(np.int64)
    during = rng.random(n) < cfg.benign_created_during_share
    before = int(cfg.benign_created_years * 365 * DAY_US)
    created = np.where(during, start_us + rng.random(n) * max(end_us - DAY_US - start_us, 1),
                       start_us - rng.random(n) * before).astype(np.int64)
    free = dsec["free"][0] + weighted(rng, [w for _, w in FREE_MAIL_DOMAINS], n)
    u = rng.random(n)
    domain = np.where(u < 0.75, free, np.where(
        u < 0.95, dsec["company"][0] + rng.integers(0, dsec["company"][1], n),
        dsec["university"][0] + rng.integers(0, max(dsec["university"][1], 1), n)))

    # NAT members: disjoint slices of a permutation (universities, corporate
    # offices, then co-workers behind team offices)
    hub = np.full(n, -1, np.int64)
    share = np.zeros(n)
    members_per_hub = np.concatenate([
        uniform(rng, cfg.university_nat_accounts, cfg.n_university_nats),
        uniform(rng, cfg.corporate_nat_accounts, cfg.n_corporate_nats), teams.coworkers])
    before_hub = np.concatenate([[0], np.cumsum(members_per_hub)[:-1]])
    members_per_hub = np.minimum(members_per_hub, np.maximum(n - before_hub, 0))
    members = rng.permutation(n)[: int(members_per_hub.sum())]
    member_hub = np.repeat(np.arange(len(members_per_hub)), members_per_hub)
    hub[members] = member_hub
    share[members] = np.where(member_hub >= net.n_hubs, cfg.team_office_ip_share,
                              cfg.nat_event_share)
    n_univ = cfg.n_university_nats
    uni = dsec["university"][0] + rng.integers(0, max(dsec["university"][1], 1), net.n_hubs)
    corp = dsec["company"][0] + rng.integers(0, dsec["company"][1], net.n_hubs)
    hub_domain = np.concatenate([np.where(np.arange(net.n_hubs) < n_univ, uni, corp),
                                 teams.company])
    keep_own = rng.random(len(members)) < np.where(member_hub < n_univ, 0.4, 0.1)
    domain[members] = np.where(keep_own, domain[members], hub_domain[member_hub])

    # cards: own card, none (free tier) or a shared family card
    card = rng.integers(1, 2**63, n, dtype=np.uint64)
    card[rng.random(n) < cfg.no_card_share] = 0
    fam_total = int(round(cfg.family_share * n))
    fam_sizes = sizes(rng, fam_total, cfg.family_size)
    fam_members = rng.permutation(n)[:fam_total]
    fam_of = np.repeat(np.arange(len(fam_sizes)), fam_sizes)
    card[fam_members] = rng.integers(1, 2**63, len(fam_sizes), dtype=np.uint64)[fam_of]
    fam_head = fam_members[np.searchsorted(fam_of, np.arange(len(fam_sizes)))]
    return SimpleNamespace(n=n, events=events, created=created, domain=domain, hub=hub,
                           share=share, card=card, fam_members=fam_members, fam_head=fam_head,
                           fam_of=fam_of)


def _rings(rng: np.random.Generator, cfg: SimulationConfig, dsec: dict, usec: dict,
           net: SimpleNamespace, start_us: int, end_us: int) -> SimpleNamespace:
    """Ring cells: creation bursts, card pools, proxy pools, burst schedules."""
    cell_size = sizes(rng, cfg.n_ring_accounts, cfg.ring_cell_size)
    n_cells, n = len(cell_size), int(cell_size.sum())
    cell_of = np.repeat(np.arange(n_cells), cell_size)
    cell_lo = np.concatenate([[0], np.cumsum(cell_size)[:-1]]).astype(np.int64)
    n_ops = cfg.n_operators
    operator = rng.permutation(np.arange(n_cells) % max(n_ops, 1))
    t0 = start_us + ((rng.random(n_cells) * (cfg.ring_precreate_days + cfg.days / 3))
                     - cfg.ring_precreate_days) * DAY_US
    created = (t0[cell_of] + rng.random(n) * cfg.ring_creation_hours * HOUR_US).astype(np.int64)
    events = uniform(rng, cfg.ring_events, n)
    disposable = rng.random(n) < cfg.disposable_email_share
    domain = np.where(disposable,
                      dsec["disposable"][0] + rng.integers(0, dsec["disposable"][1], n),
                      dsec["free"][0] + weighted(rng, [w for _, w in FREE_MAIL_DOMAINS], n))
    card = np.zeros(n, np.uint64)
    burst_n = np.zeros(n_cells, np.int64)
    bursts, proxies = [], []
    proxy_n = uniform(rng, cfg.proxy_pool_size, n_cells)
    for c in range(n_cells):  # tens to ~a hundred cells: cards, proxies, bursts
        lo, hi = int(cell_lo[c]), int(cell_lo[c] + cell_size[c])
        members = lo + rng.permutation(hi - lo)
        unique = rng.random(len(members)) < cfg.ring_unique_card_share
        pooled = members[~unique]
        pool_sizes = sizes(rng, len(pooled), cfg.card_pool_size)
        pool_card = rng.integers(1, 2**63, len(pool_sizes), dtype=np.uint64)
        card[pooled] = pool_card[np.repeat(np.arange(len(pool_sizes)), pool_sizes)]
        card[members[unique]] = rng.integers(1, 2**63, int(unique.sum()), dtype=np.uint64)
        pfx = net.op_prefixes[operator[c]]
        proxies.append(random_hosts(rng, pfx[rng.integers(0, len(pfx), proxy_n[c])]))
        active = max(start_us, int(created[lo:hi].max()) + HOUR_US)
        window = max(end_us - active - cfg.burst_window_seconds * US, HOUR_US)
        burst_n[c] = max(int(np.ceil(events[lo:hi].mean() / cfg.burst_participation)), 1)
        bursts.append(np.sort(active + (rng.random(burst_n[c]) * window).astype(np.int64)))
    op_k = uniform(rng, cfg.ring_templates_per_operator, n_ops).clip(1, len(RING_TEMPLATES))
    op_templates = np.stack([rng.permutation(len(RING_TEMPLATES)) for _ in range(n_ops)])
    common = rng.random(n_ops) < cfg.ring_common_ua_share
    op_ua = np.where(common[:, None], usec["popular"][0] + rng.integers(0, 4, (n_ops, 2)),
                     usec["scripted"][0] + rng.integers(0, usec["scripted"][1], (n_ops, 2)))
    ua1 = op_ua[operator[cell_of], rng.integers(0, 2, n)]
    return SimpleNamespace(
        n=n, cell_of=cell_of, created=created, events=events, domain=domain, card=card,
        ua1=ua1, operator=operator, op_templates=op_templates, op_k=op_k,
        burst_n=burst_n, bursts=bursts, proxy_n=proxy_n, proxies=proxies)


def build_plan(cfg: SimulationConfig, seed_seq: np.random.SeedSequence) -> Plan:
    """Draw the account population of a world.

    Parameters
    ----------
    cfg : SimulationConfig
        World parameters.
    seed_seq : numpy.random.SeedSequence
        Seed for this component; one child generator is spawned per
        sub-population (networks, domains, benign, teams, rings, per-account
        extras) so they do not shift each other's streams.

    Returns
    -------
    Plan
        Per-account arrays in final (shuffled) output order.
    """
    r_net, r_dom, r_ben, r_team, r_ring, rng = (
        np.random.default_rng(s) for s in seed_seq.spawn(6))
    start_us = int(cfg.start.timestamp()) * US
    end_us = start_us + cfg.days * DAY_US
    domains, dsec = _domain_table(r_dom, cfg)
    net = _networks(r_net, cfg)
    teams = _teams(r_team, cfg, dsec)
    user_agents, usec = _ua_table(r_dom, cfg, domains, teams.company)
    hubs = _hubs(r_net, cfg, net, teams)
    ben = _benign(r_ben, cfg, dsec, net, teams, start_us, end_us)
    ring = _rings(r_ring, cfg, dsec, usec, net, start_us, end_us)

    # ---- assemble in construction order: benign, team members, ring accounts
    nb, nt, nr = ben.n, len(teams.of), ring.n
    t_sl, r_sl = slice(nb, nb + nt), slice(nb + nt, None)
    kind = np.concatenate([np.zeros(nb, np.int8), np.ones(nt, np.int8), np.full(nr, 2, np.int8)])
    n = len(kind)
    tz = _TZ[weighted(rng, _TZ_W, n)]
    tz[t_sl] = teams.tz[teams.of]
    shift = rng.integers(-2, 3, n)  # early birds and night owls
    shift[t_sl] = 0
    n_home = uniform(rng, cfg.home_ips, n)
    res = net.residential
    home = random_hosts(rng, res[rng.integers(0, len(res), 3 * n)]).reshape(n, 3)
    home[ben.fam_members, 0] = home[ben.fam_head, 0][ben.fam_of]  # a family shares its router
    is_v6 = (rng.random(n) < cfg.ipv6_share) & (kind == 0)
    v6 = ipv6_prefixes(rng, n)[:, None] | rng.integers(0, 1 << 16, (n, 2), dtype=np.uint64)
    carrier = np.where((rng.random(n) < cfg.mobile_share) & (kind == 0),
                       rng.integers(0, max(cfg.n_carriers, 1), n), -1)
    ua1 = _popular_or_rare(rng, n, usec)
    ua1[t_sl] = usec["team"][0] + teams.of
    ua1[r_sl] = ring.ua1
    ua2 = _popular_or_rare(rng, n, usec)
    ua2[r_sl] = usec["popular"][0] + weighted(rng, [w for _, w in POPULAR_USER_AGENTS], nr)
    t_created = start_us - ((0.01 + rng.random(nt) * 0.99) * cfg.team_created_days
                            * DAY_US).astype(np.int64)
    job_minute = np.full(n, -1, np.int64)
    job_minute[t_sl] = teams.hour[teams.of] * 60 + rng.integers(0, 60, nt)
    ids = rng.integers(0, 2**63, n, dtype=np.uint64)
    while len(np.unique(ids)) < n:  # astronomically rare
        ids = rng.integers(0, 2**63, n, dtype=np.uint64)
    none = np.full
    plan = Plan(
        account_id=format_hex64(ids, "acct_"),
        kind=kind,
        ring_id=np.concatenate([none(nb + nt, -1), ring.cell_of + 1]).astype(np.int64),
        created_us=np.concatenate([ben.created, t_created, ring.created]),
        domain=np.concatenate([ben.domain, teams.company[teams.of], ring.domain]).astype(np.int64),
        n_events=np.concatenate([ben.events, uniform(rng, cfg.team_events, nt), ring.events]),
        tz_min=tz.astype(np.int64),
        hour_shift=shift,
        card=np.concatenate([ben.card, teams.card[teams.of], ring.card]),
        ua1=ua1.astype(np.int64),
        ua2=ua2.astype(np.int64),
        home=home,
        n_home=n_home,
        v6=v6,
        n_v6=np.where(is_v6, uniform(rng, cfg.ipv6_subnets, n), 0),
        v6_small_iid=rng.random(n) < 0.5,
        hub=np.concatenate([ben.hub, net.n_hubs + teams.of, none(nr, -1)]).astype(np.int64),
        hub_share=np.concatenate([ben.share, none(nt, cfg.team_office_ip_share), np.zeros(nr)]),
        carrier=carrier,
        team=np.concatenate([none(nb, -1), teams.of, none(nr, -1)]).astype(np.int64),
        job_minute=job_minute,
        cell=np.concatenate([none(nb + nt, -1), ring.cell_of]).astype(np.int64),
        domains=domains,
        user_agents=user_agents,
        hub_lo=hubs.lo,
        hub_n=hubs.n,
        hub_ips=hubs.ips,
        carrier_ips=net.carrier_ips,
        residential=net.residential,
        team_nightly=teams.nightly,
        team_template=teams.template,
        cell_operator=ring.operator,
        burst_lo=offsets(ring.burst_n),
        burst_n=ring.burst_n,
        burst_us=np.concatenate(ring.bursts) if ring.bursts else np.zeros(0, np.int64),
        proxy_lo=offsets(ring.proxy_n),
        proxy_n=ring.proxy_n,
        proxy_ips=np.concatenate(ring.proxies) if ring.proxies else np.zeros(0, np.uint32),
        op_templates=ring.op_templates,
        op_n_templates=ring.op_k,
    )
    return plan.take(rng.permutation(n))
