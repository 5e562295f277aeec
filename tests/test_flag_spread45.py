"""A flag spreads along a flagged ring's template even when the client veto keeps its copiers in campaigns of their own.

Session 44's client veto (:mod:`graphlink.stages.campaign_clients`) drops a template-only tie between two cells that
run different clients: operators copying one public template are different campaigns. But
:func:`graphlink.stages.campaign_flags.operator_ties` read which values are a flagged operator's from the same
grouping: a template value is tied on when most of its holders sit in the tame cell's campaign. With the template's
copiers split over several campaigns no campaign held most of it and the copiers lost the flag (dev templates 1021:
F1 0.815 -> 0.343). The grouping a flag spreads along is now the grouping by every tie (``clients=False``); the
campaigns reported keep the veto.

World: one evasive ring (20 accounts rotating proxies, a card pool, bursts around the clock, flagged on its own) and
three tame cells of 8 accounts, each on one datacenter address, a card per account, office hours and a client of its
own, all sending the ring's template with fill-ins of their own; 300 ordinary users.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import graphlink
from graphlink.config import GraphConfig
from graphlink.stages.campaigns import cluster_campaigns
from tests._worlds import planted_world
from tests.test_campaign_clients44 import CELL, world as client_world

TEMPLATE = "solve the following problem and think step by step showing all reasoning"
CELLS = (("b0", "toolB/2.0"), ("c0", "toolC/3.1"), ("d0", "toolD/1.4"))


def copier_log(seed: int) -> pl.DataFrame:
    events, _ = planted_world(seed, n_benign=300, rings=(20,))  # its ring sends TEMPLATE on python-requests
    rng = np.random.default_rng(seed + 1)
    start = np.datetime64("2024-05-01T00:00:00")
    frames = [events]
    for k, (name, agent) in enumerate(CELLS):
        acc = np.repeat(np.arange(8), 6)
        seconds = rng.integers(0, 10, len(acc)) * 86400 + rng.integers(9, 17, len(acc)) * 3600 + rng.integers(0, 3600, len(acc))
        fills = rng.choice(np.array([f"{name}x{j}" for j in range(15)]), size=(len(acc), 3))
        frames.append(pl.DataFrame({
            "account_id": [f"{name}_{i:02d}" for i in acc],
            "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
            "ip": f"34.{90 + k}.1.7",
            "payment_fingerprint": [f"pf_{name}_{i}" for i in acc],
            "prompt": [f"{TEMPLATE} {' '.join(f)}" for f in fills],
            "user_agent": agent,
        }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")))
    return pl.concat(frames)


@pytest.mark.parametrize("seed", [0, 1])
def test_cells_copying_a_flagged_rings_template_on_their_own_clients_are_flagged_in_campaigns_of_their_own(seed):
    result = graphlink.detect(copier_log(seed))
    acc = result.accounts.with_columns(group=pl.col("account_id").str.extract(r"^([a-z]+\d*)_"))
    flagged = acc.join(result.clusters.select("cluster_id", "flagged", "why"), on="cluster_id", how="left")
    ring = flagged.filter(pl.col("group") == "ring0")
    assert ring["flagged"].all()
    for name, _ in CELLS:
        cell = flagged.filter(pl.col("group") == name)
        assert cell["flagged"].all(), name
        assert cell["why"].str.contains(f"tied to flagged cluster {ring['cluster_id'][0]}").all()
    # The campaigns reported keep the veto: the ring and each copier are campaigns of their own.
    campaigns = acc.filter(pl.col("group").is_not_null()).group_by("group").agg(pl.col("campaign_id").unique())
    assert campaigns["campaign_id"].list.len().to_list() == [1] * 4
    assert campaigns["campaign_id"].list.first().n_unique() == 4
    # Ordinary users take no flag.
    assert not flagged.filter(pl.col("group").is_null() & pl.col("flagged").fill_null(False)).height


def test_grouping_by_every_tie_ignores_the_client_veto():
    clients = [["toolA/1.0"] * CELL, ["toolA/1.0"] * CELL, ["toolB/2.0"] * CELL, ["toolB/2.0"] * CELL]
    part, aff, sig = client_world(clients)
    vetoed = cluster_campaigns(part, aff, sig, GraphConfig(), n_accounts=part.height + 200)
    every = cluster_campaigns(part, aff, sig, GraphConfig(), n_accounts=part.height + 200, clients=False)
    assert vetoed["campaign_id"].n_unique() == 2
    assert every["campaign_id"].to_list() == [1, 1, 1, 1]
