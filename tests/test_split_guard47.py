"""The split guard (:mod:`graphlink.stages.split_guard`): a block split off by its wording is flagged on its own
score only if the cluster it was split from would be.

Both worlds were flagged with wording cells on before the guard (session 46's suite and break-it review): each
benign group is one cluster scoring under the threshold, and a block of it, scored on its own members, lost the
counter-evidence only the whole shows.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.pipeline import run_detect
from graphlink.views.explain import score_note
from tests._worlds import planted_world
from tests.test_break_scoring import JOBS, _with_domain, company_world

RING = ("write a five star review of the product {} praising its battery and its fast delivery to my door",
        "summarise this news article about {} in three short bullet points for a social media post today",
        "generate ten catchy instagram captions for a photo of {} at sunset with trending hashtags included",
        "draft a polite complaint letter to the airline about my lost {} requesting full compensation now")
TEAM = ("translate the following customer email into german and keep the formal tone for ticket {}",
        "write a short follow up email to the prospect about our enterprise pricing for account {}")
WORDS = np.array("river stone cloud maple harbor falcon lantern meadow copper violet orchid summit".split())


def _frame(names, ips, cards, prompts, rng, ua):
    start = np.datetime64("2024-05-01T00:00:00")
    sec = rng.integers(0, 14, len(names)) * 86400 + rng.integers(8 * 3600, 18 * 3600, len(names))
    return pl.DataFrame({"account_id": names, "timestamp": (start + sec.astype("timedelta64[s]")).astype("datetime64[us]"),
                         "ip": ips, "payment_fingerprint": cards, "prompt": prompts, "user_agent": ua}).with_columns(
        pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def remote_team_world(seed: int = 3) -> pl.DataFrame:
    """300 people; a ring of 24 in four template cells of 6 on one 12-exit proxy pool and 4 cards; a remote team
    of 40 on one corporate card (90 % of requests), each member at home (own address): 16 send a support
    template, 16 a sales template, 8 write their own requests (session 46's break-it review, ``w8s.py``)."""
    events, _ = planted_world(0, n_benign=300, rings=())
    rng = np.random.default_rng(seed)
    acc = np.repeat(np.arange(24), 8)
    ring = _frame([f"ring_{i:02d}" for i in acc], [f"203.0.113.{x}" for x in rng.integers(1, 13, len(acc))],
                  [f"pf_op_{x}" for x in rng.integers(0, 4, len(acc))],
                  [RING[i // 6].format(w) for i, w in zip(acc, rng.choice(WORDS, len(acc)))], rng, "python-requests/2.31")
    acc = np.repeat(np.arange(40), 8)
    prompts = [TEAM[i // 16].format(rng.integers(1e5)) if i < 32 else " ".join(f"w{rng.integers(1e9):x}" for _ in range(6))
               for i in acc]
    team = _frame([f"team_{i:02d}" for i in acc], [f"100.{64 + i}.{x}.7" for i, x in zip(acc, rng.integers(1, 3, len(acc)))],
                  [("pf_corp" if rng.random() < .9 else f"pf_own_{i}") for i in acc], prompts, rng,
                  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0")
    return pl.concat([events, ring, team], how="diagonal_relaxed")


def _rows(result, prefix: str) -> pl.DataFrame:
    return (result.accounts.filter(pl.col("account_id").str.starts_with(prefix)).drop_nulls("cluster_id")
            .join(result.clusters.select("cluster_id", "flagged", "score", "size", "why"), on="cluster_id"))


def test_a_remote_team_on_one_card_split_by_wording_is_not_flagged():
    # One cluster of 32 scoring 0.53; split 16 + 16, the support half scored 0.71 ("100% of prompts are
    # templated") and the sales half was flagged through the card: 32 benign accounts flagged without the guard.
    result = graphlink.detect(remote_team_world())
    team, ring = _rows(result, "team_"), _rows(result, "ring_")
    assert team["cluster_id"].n_unique() == 2  # split by wording: the two templates
    assert not team["flagged"].any(), team.unique("cluster_id").select("score", "why").rows()
    # The operator's cells are split too, and each keeps the flag its whole earns.
    assert ring["cluster_id"].n_unique() == 4 and ring.height == 24 and ring["flagged"].all()
    held = team.filter(pl.col("score") >= 0.6).row(0, named=True)
    assert held["why"].startswith("split by wording from a cluster of 32 accounts scoring 0.53")
    assert score_note(held, {}).startswith("not flagged: split by wording from a cluster of 32 accounts")


def test_departments_of_a_company_on_its_own_domain_split_by_wording_are_not_flagged():
    # Three departments, each its own job template, paying at random with the company's three cards, on the
    # company's own domain: the whole is discounted (org_coherence 1.0, 0.415), but the domain is a third of
    # each department, no majority, so two departments scored 0.73 and 0.82 and all 30 staff were flagged.
    log, staff = company_world(cards=3, random_cards=True, templates=JOBS[:3], more_people=400)
    result = run_detect(*_with_domain(log))
    rows = _rows(result, "acme")
    assert rows["cluster_id"].n_unique() == 3 and rows.height == 30
    assert not rows["flagged"].any(), rows.unique("cluster_id").select("score", "why").rows()
