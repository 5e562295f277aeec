"""Templated prompts count only where the phrasing is linked groups'
(:mod:`graphlink.stages.specific_templates`): stock questions people linked to nobody ask
are no template, an operator's template sent from several cells is."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphlink.pipeline import run_detect
from graphlink.stages.specific_templates import SPECIFIC_SHARE, group_shingles, specific_template_ratio
from tests.test_card_pools import campus_world
from tests.test_detection_classes import campaign_world, cluster_row


@pytest.mark.parametrize("seed", range(5))
def test_group_shingles_and_ratio_match_an_account_by_account_oracle(seed):
    rng = np.random.default_rng(seed)
    n, n_signals = 40, 15
    cluster_of = {a: (int(rng.integers(0, 3)) if rng.random() < 0.5 else None) for a in range(n)}
    kind = {s: ("prompt" if s < 12 else "ip") for s in range(n_signals)}
    count = {(a, int(s)): int(rng.integers(1, 6))
             for a in range(n) for s in rng.choice(n_signals, size=int(rng.integers(1, 6)), replace=False)}
    holders = {s: {a for (a, t) in count if t == s} for s in range(n_signals)}
    # Oracle: shingle by shingle, then account by account.
    group = {s for s in range(n_signals) if kind[s] == "prompt"
             and len({a for a in holders[s] if cluster_of[a] is not None}) >= max(2, SPECIFIC_SHARE * len(holders[s]))}
    part = pl.DataFrame({"account_idx": list(cluster_of), "cluster_id": list(cluster_of.values())},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    aff = pl.DataFrame([(a, s, c) for (a, s), c in sorted(count.items())],
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "count": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": list(kind), "kind": list(kind.values()),
                        "df": [len(holders[s]) for s in kind]}, schema={"signal_idx": pl.UInt32, "kind": pl.String,
                                                                        "df": pl.UInt32})
    got = group_shingles(part, aff, sig)
    assert got["signal_idx"].to_list() == sorted(group)
    prompts = aff.filter(pl.col("signal_idx") < 12)
    ratio = dict(specific_template_ratio(prompts, got).iter_rows())
    for a in {a for (a, s) in count if s < 12}:
        mine = {s: c for (b, s), c in count.items() if b == a and s < 12}
        assert ratio[a] == pytest.approx(max((c for s, c in mine.items() if s in group), default=0) / max(mine.values()))


def test_stock_questions_are_no_template():
    """Fails before: the campus families' cluster read 98% of its prompts as templated
    ("what are the pros and"), phrasing 300 people elsewhere, linked to nobody, use too."""
    log, family = campus_world(pooled=False, askers=300)
    result = run_detect(log.frame())
    for cid in result.accounts.filter(pl.col("account_id").is_in(family)).drop_nulls("cluster_id")["cluster_id"].unique():
        row = result.clusters.filter(pl.col("cluster_id") == cid).row(0, named=True)
        assert row["template_share"] < 0.2, row["why"]
        assert "pros and" not in (row["why"] or "")


def test_an_operators_template_from_two_cells_is_a_template():
    log, cell1, cell2, other = campaign_world()
    result = run_detect(log.frame())
    for cell in (cell1, cell2, other):
        row = cluster_row(result, cell[0])
        assert row["template_share"] >= 0.9, row["why"]
        assert row["flagged"]
