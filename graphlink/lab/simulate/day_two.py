"""A second day of a scenario world: new accounts of known rings, teams and people.

``graphlink match`` assigns the accounts of a new log to the clusters of an
earlier run. To measure it, :func:`day_two_plan` continues a world
(:func:`graphlink.lab.simulate.scenarios.build_plan`) by one day with new
accounts only:

* each ring cell adds ``ring_share`` of its size (at least one) in new
  accounts that reuse the cell's behaviour row by row: its card pool, proxy
  pool, templates, schedule and burst clock (bursts keep their time of day),
  each with a fresh home address of its own;
* ``linked_share`` of the benign-linked accounts (teams, families, hubs,
  resellers, framework users) get a new colleague on the same office NAT,
  corporate card and tooling;
* ``ordinary_share`` of the ordinary accounts get a newcomer with the same
  habits (and the same popular values: a hub's NAT, a common client) but a
  card of their own;
* ``continuing_share`` of all day-one accounts stay active under their own
  ids (a day's log is mostly known accounts).

A new account's creation time is its model's moved on by day one's length: each kind keeps day one's spread (a
ring cell's registration burst, a team's months, a person's years), and no creation burst is made up.

New accounts have 12-hex-digit ids (day one's have 10), so ids never collide.
Labels keep ``kind``, ``ring_id``, ``campaign_id`` and ``group_id`` and add
``new`` (False for continuing accounts); every draw comes from
``SeedSequence([seed, 31])``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from graphlink.lab.simulate import family as F
from graphlink.lab.simulate.network import format_hex64, format_ipv4

__all__ = ["day_two_plan", "simulate_day_two", "write_day_two"]


def _pick_rows(rng: np.random.Generator, groups: np.ndarray, share: float) -> np.ndarray:
    """Rows drawn per group: ``max(1, round(share * size))`` of each group, without replacement."""
    if len(groups) == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((rng.random(len(groups)), groups))
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    sizes = np.diff(np.r_[starts, len(groups)])
    rank = np.arange(len(groups)) - np.repeat(starts, sizes)
    quota = np.maximum(1, np.round(share * sizes)).astype(np.int64)
    return np.sort(order[rank < np.repeat(quota, sizes)])


def day_two_plan(plan: F.Plan, seed: int, ring_share: float = 0.3, linked_share: float = 0.1,
                 ordinary_share: float = 0.1, continuing_share: float = 0.3) -> tuple[F.Plan, np.ndarray]:
    """The plan of the day after ``plan``'s log: new accounts only (see the module docstring).

    Parameters
    ----------
    plan : Plan
        Day one's plan.
    seed : int
        Seeds every draw.
    ring_share, linked_share, ordinary_share : float
        New accounts per ring cell, benign-linked and ordinary account.
    continuing_share : float
        Day-one accounts active again (same ids).

    Returns
    -------
    tuple
        ``(plan, new)``: the plan, one day long from where ``plan`` ends, and
        a boolean array, True for its new accounts.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    c = plan.cols
    kind = c["kind"]
    ring_rows = np.flatnonzero(kind == 2)
    rows = np.concatenate([
        ring_rows[_pick_rows(rng, c["ring"][ring_rows], ring_share)],
        np.flatnonzero((kind == 1) & (rng.random(plan.n) < linked_share)),
        np.flatnonzero((kind == 0) & (rng.random(plan.n) < ordinary_share)),
    ])
    continuing = np.flatnonzero(rng.random(plan.n) < continuing_share)
    new = np.r_[np.ones(len(rows), bool), np.zeros(len(continuing), bool)]
    rows = np.r_[rows, continuing]
    n = len(rows)
    cols = {name: values[rows].copy() for name, values in c.items()}
    start = plan.start_us + plan.days * F.DAY
    # One day of each account's activity: its events over its active window, per day.
    active_days = np.maximum((cols["t1"] - cols["t0"]) / F.DAY, 1.0)
    cols["n_ev"] = np.clip(np.round(cols["n_ev"] / active_days), 3, np.maximum(cols["n_ev"], 3)).astype(np.int64)
    cols["t0"] = np.full(n, start, np.int64)
    cols["t1"] = np.full(n, start + F.DAY, np.int64)
    # A new account is created as its model row was on day one, moved on by day one's length: the same draw for
    # its kind (an ordinary person's over three years, a team's over 180 days, a ring cell's registration burst).
    # Every new account created in the hour before the day faked a creation burst in every group with a newcomer,
    # a reseller's 18 of 44 accounts "created in 1 burst hour" (new-user review, session 56): the simulator is the
    # measuring stick, it must not manufacture evidence. Models are distinct rows, so no two copies share a time.
    # A ring account registered late on day one moves into day two: kept before the day's last hour.
    cols["created"] = np.minimum(cols["created"] + plan.days * F.DAY, start + F.DAY - 3600 * F.US)
    rng.random(n)  # the old draw of the creation hour, kept so every later draw (addresses, cards, ids) is as before
    ring = (cols["kind"] == 2) & new
    # New ring accounts: a fresh sticky home address each (their camouflage traffic).
    homes = format_ipv4(rng.integers(1 << 24, 223 << 24, int(ring.sum()), dtype=np.uint64).astype(np.uint32))
    cols["home_off"] = np.where(ring, len(plan.ips) + np.cumsum(ring) - 1, cols["home_off"])
    cols["home_n"] = np.where(ring, 1, cols["home_n"])
    # Ordinary newcomers pay with a card of their own.
    own_card = (cols["kind"] == 0) & (cols["card"] >= 0) & new
    cols["card"] = np.where(own_card, len(plan.cards) + np.cumsum(own_card) - 1, cols["card"])
    cards = format_hex64(rng.integers(0, 2**63, int(own_card.sum()), dtype=np.uint64), "pf_")
    # The cells' burst clocks, moved into the new day (same time of day).
    bursts = start + (plan.bursts - plan.start_us) % F.DAY
    code = rng.choice(1 << 47, n, replace=False).astype(np.uint64) + np.uint64(1 << 44)
    ids = np.char.add("acct_", np.array([f"{int(v):012x}" for v in code])).astype(object)
    domains = np.char.partition(plan.email[rows].astype(str), "@")[:, 2]
    email = np.char.add(np.char.add(np.char.replace(ids.astype(str), "acct_", ""), "@"), domains).astype(object)
    ids = np.where(new, ids, plan.account_id[rows])
    email = np.where(new, email, plan.email[rows])
    cols["created"] = np.where(new, cols["created"], plan.cols["created"][rows])
    return replace(plan, cols=cols, group=plan.group[rows], email=email, account_id=ids,
                   ips=pa.concat_arrays([plan.ips, homes]), cards=pa.concat_arrays([plan.cards, cards]),
                   bursts=np.sort(bursts), start_us=start, days=1), new


def simulate_day_two(scenario: str, seed: int, scale: str = "small", **shares: float):
    """Day two of a scenario world in memory: ``(events, accounts, labels)`` polars frames (labels with ``new``)."""
    import polars as pl

    from graphlink.lab.simulate.scenarios import accounts_frame, build_plan, draw_params, labels_frame

    plan, new = day_two_plan(build_plan(draw_params(scenario, seed, scale)), seed, **shares)
    events = F.generate_events(plan, np.arange(plan.n), np.random.default_rng(np.random.SeedSequence([seed, 37])))
    labels = pl.from_arrow(labels_frame(plan, scenario)).with_columns(pl.Series("new", new))
    return pl.from_arrow(events), pl.from_arrow(accounts_frame(plan)), labels


def write_day_two(out_dir: str | Path, scenario: str, seed: int, scale: str = "small", **shares: float) -> dict:
    """Write day two of a scenario world (``events.parquet``, ``accounts.parquet``, ``labels.parquet``) atomically.

    Returns
    -------
    dict
        ``n_events``, ``n_accounts``, ``n_new_accounts``, ``n_ring_accounts`` (new), ``paths``.
    """
    from graphlink.store.atomic import write_files_atomically

    events, accounts, labels = simulate_day_two(scenario, seed, scale, **shares)
    out = Path(out_dir)
    names = {"events.parquet": events, "accounts.parquet": accounts, "labels.parquet": labels}
    def write(tmp: Path) -> None:
        for name, frame in names.items():
            frame.write_parquet(tmp / name)

    write_files_atomically(out, write, names)
    return {"n_events": events.height, "n_accounts": accounts.height, "n_new_accounts": int(labels["new"].sum()),
            "n_ring_accounts": int(((labels["kind"] == "ring") & labels["new"]).sum()),
            "paths": {name: str(out / name) for name in names}}
