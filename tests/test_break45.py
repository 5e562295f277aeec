"""Break-it review of session 45's flag spread (dfcdeae, c69c521, reverted): benign teams must not inherit a ring's flag.

The change had :func:`graphlink.stages.campaign_flags.operator_ties` read which values are a flagged operator's from the
campaign grouping with the client veto ignored, so that cells copying a flagged ring's template on clients of their
own took its flag (dev templates 1021: F1 0.343 -> 0.815). Companies' developer teams -- each behind its office
address, a card per developer, office hours, its own SDK's user agent -- that prepend a public prompt (a framework's
system prompt) which a flagged ring also sends then looked the same and were flagged "tied to flagged cluster N"
(35 of 40; which of ten identical teams were flagged hung on the consensus grouping). A template tie across distinct
clients carries no flag: such a cell is flagged on its own evidence or not at all (the change was reverted).
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from tests._worlds import planted_world

#: The planted ring's template (tests/_worlds.py): here a public prompt that companies' code also prepends.
TEMPLATE = "solve the following problem and think step by step showing all reasoning"
#: The developers' own questions: a work vocabulary of their own, not the ordinary users' words.
WORDS = np.array(("alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega invoice report summary table "
                  "customer order refund shipping ticket deploy server cluster bucket query index schema migrate parse "
                  "render budget forecast quarter revenue churn cohort funnel signup login password reset email draft "
                  "translate").split())


def company(name: str, k: int, n: int, rng: np.random.Generator, share: float = 0.5, per: int = 8) -> pl.DataFrame:
    """``n`` developers of one company: one office address, a card each, office hours over two weeks, the company's own
    SDK user agent, ``share`` of their requests starting with :data:`TEMPLATE` followed by three words of their own."""
    start = np.datetime64("2024-05-01T00:00:00")
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    seconds = rng.integers(0, 14, m) * 86400 + rng.integers(9, 17, m) * 3600 + rng.integers(0, 3600, m)
    words = rng.choice(WORDS, size=(m, 3))
    templated = rng.random(m) < share
    return pl.DataFrame({
        "account_id": [f"{name}_{i:03d}" for i in acc],
        "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": f"198.18.{k}.4",
        "payment_fingerprint": [f"pf_{name}_{i}" for i in acc],
        "prompt": [(TEMPLATE + " " if t else "") + " ".join(w) for t, w in zip(templated, words)],
        "user_agent": f"corp{k}-sdk/3.{k}",
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def flags(events: pl.DataFrame) -> pl.DataFrame:
    """``account_id, group, flagged`` of every account (``group``: the name before ``_``)."""
    result = graphlink.detect(events)
    return (result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
            .select("account_id", group=pl.col("account_id").str.extract(r"^([a-z]+\d*)_"),
                    flagged=pl.col("flagged").fill_null(False)))


def test_company_teams_prepending_a_public_prompt_a_ring_sends_are_not_flagged():
    events, _ = planted_world(0, n_benign=300, rings=(20,))
    rng = np.random.default_rng(7)
    sizes = [8, 5, 7, 8, 7, 5]  # 40 developers in six companies
    out = flags(pl.concat([events, *(company(f"t{k}", k, n, rng) for k, n in enumerate(sizes))]))
    assert out.filter(pl.col("group") == "ring0")["flagged"].all()  # the ring is found on its own evidence
    teams = out.filter(pl.col("group").str.starts_with("t"))
    assert teams.height == sum(sizes)
    assert teams["flagged"].sum() == 0  # the reverted spread: 35 of 40


def test_identical_copier_teams_are_flagged_alike():
    events, _ = planted_world(0, n_benign=300, rings=(20,))
    rng = np.random.default_rng(5)
    out = flags(pl.concat([events, *(company(f"co{k}", k, 6, rng) for k in range(10))]))
    teams = out.filter(pl.col("group").str.starts_with("co")).group_by("group").agg(pl.col("flagged").mean())
    assert teams.height == 10
    # Ten teams built alike: all flagged or none (the reverted spread: 4 of 10 whole and one 5 of 6).
    assert teams["flagged"].n_unique() == 1
