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
an operator's templates; a quarter of operators disguise their templates by
upper-casing 5-30% of their letters at random (``case_flip``; Latin letters
only, so an operator sending Chinese templates -- in ``templates`` worlds every
operator of the first, Chinese, template family -- has nothing to flip); a quarter
(drawn apart) run their templates' words together, each space between two
Latin letters dropped with probability 0.1-0.9 (``run_together``); a quarter
(drawn apart again) misspell their templates, each Latin word of three letters or more
given one typo (a letter deleted, inserted, substituted, or two swapped) with
probability 0.3-1.0 (``typos``).
Benign: ordinary users (free mail, 1-3 home IPs, 70% with a card,
log-normal requests; 15% also on IPv6, half to all of their requests, as real
networks assign it (:mod:`graphlink.lab.simulate.ipv6_lines`): homes a /56
each in ISP /48s shared by many homes, privacy addresses new daily, a tenth
renumbered daily; 30% phones, a /64 per 2-12 h connection in a carrier /48
every phone of the carrier shares); a campus of 3% of the ordinary people's
number (at least 40) on one /48, roaming 1-4 of its 200 VLAN /64s; enterprise teams of 3-60 (own domain, one corporate
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
from graphlink.lab.simulate.groups import build_groups, draw_tz, loguniform, randint_incl

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

# --- parameter draws ---------------------------------------------------------------
def _draw_cells(rng, n_ops: int, budget: int, max_cell: int, size_range=(5, 5000)):
    """Cell sizes per operator, log-uniform, rescaled to about ``budget`` accounts."""
    lo, hi = size_range[0], min(size_range[1], max_cell)
    n_cells = rng.integers(2, 13, n_ops)
    sizes = [np.round(loguniform(rng, lo, hi, k)).astype(int) for k in n_cells]
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
            bursts_per_day=float(round(loguniform(rng, 2, 200), 2)),
            cadence_minute=int(rng.choice([0, 5, 10, 15, 30, 45, int(rng.integers(0, 60))])),
            ip=str(rng.choice(["residential", "datacenter", "ipv6", "shared"], p=knobs["ip_p"])),
            pool_ratio=float(round(loguniform(rng, 0.05, 20), 3)),
            datacenter_ips=int(rng.integers(1, 9)),
            n_cards=int(rng.integers(1, 7)),
            reuse_cards=bool(rng.random() < 0.3),
            precreate_days=float(round(rng.uniform(0, 30), 2)),
            creation_hours=float(round(rng.uniform(0.5, 6), 2)),
        ))
    return dict(
        tz=int(draw_tz(rng)), lang=lang,
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
    benign = dict(n_teams=randint_incl(rng, sc["n_teams"]), n_hubs=randint_incl(rng, sc["n_hubs"]),
                  n_families=randint_incl(rng, sc["n_families"]), n_resellers=randint_incl(rng, sc["n_resellers"]),
                  n_frameworks=randint_incl(rng, sc["n_frameworks"]))
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
    # Disguise, drawn from its own stream (the draws above, and so every world drawn before it existed, unchanged):
    # a quarter of operators upper-case 5-30 % of their templates' letters at random.
    disguise = np.random.default_rng(np.random.SeedSequence([seed, SCENARIOS.index(scenario), 29]))
    for op in operators:
        op["case_flip"] = float(round(disguise.uniform(0.05, 0.3), 3)) if disguise.random() < 0.25 else 0.0
    # Its own stream again (worlds drawn before it unchanged): a quarter of operators run their templates' words
    # together, each space between two letters dropped with probability 0.1-0.9 (``run_together``).
    joins = np.random.default_rng(np.random.SeedSequence([seed, SCENARIOS.index(scenario), 31]))
    for op in operators:
        op["run_together"] = float(round(joins.uniform(0.1, 0.9), 3)) if joins.random() < 0.25 else 0.0
    # And again: a quarter of operators misspell their templates' words, each word of three letters or more given one
    # typo with probability 0.3-1.0 (``typos``).
    typos = np.random.default_rng(np.random.SeedSequence([seed, SCENARIOS.index(scenario), 41]))
    for op in operators:
        op["typos"] = float(round(typos.uniform(0.3, 1.0), 3)) if typos.random() < 0.25 else 0.0
    return dict(scenario=scenario, seed=int(seed), scale=scale, days=sc["days"],
                ordinary=int(sc["ordinary"] * rng.uniform(0.8, 1.2)),
                shared_pool=randint_incl(rng, sc["shared_pool"]),
                template_families=n_families, **benign, operators=operators,
                team_cron_minutes={"0": 0.45, "5": 0.15, "30": 0.15, "15": 0.10, "any": 0.15},
                team_multi_office_share=0.3)


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
    seq = np.random.SeedSequence([params["seed"], SCENARIOS.index(params["scenario"]), 23])
    return build_groups(params, SCALES[params["scale"]], np.random.default_rng(seq))


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
