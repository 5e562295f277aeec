"""A score a private e-mail domain discounted says so (new-user review nu38, session 38).

A 711-account bulk sign-up fleet on its own domain scored 0.401 with the accounts file and 0.716 without it, and
nothing beside the score said why: the reasons listed only what makes it suspicious.
"""

from __future__ import annotations

import math

import polars as pl

from graphlink.store.outputs import load_outputs
from graphlink.views.explain import discount_note, flag_explanation, score_note
from graphlink.views.terminal import cluster_tables


def test_the_note_gives_the_factor_and_the_score_before_it():
    row = {"score": 0.3, "coordination": 0.64, "evasion": 0.25, "org_coherence": 0.8, "flagged": False, "size": 40}
    full = math.sqrt(0.64 * 0.25)
    assert discount_note(row) == f"score discounted ×{0.3 / full:.2f} from {full:.3f} for a private e-mail domain (organisation coherence 0.80)"
    assert score_note(row, {}) == discount_note(row)  # an unflagged cluster under the threshold: only the discount


def test_no_note_without_a_discount_or_without_the_accounts_file():
    base = {"score": 0.4, "coordination": 0.64, "evasion": 0.25, "flagged": False, "size": 40}
    assert discount_note(base | {"org_coherence": None}) == ""  # events only: no domains known
    assert discount_note(base | {"org_coherence": 0.0}) == ""
    assert discount_note(base | {"org_coherence": 0.9, "score": 0.4}) == ""  # proxies or a card pool outweighed it
    assert discount_note({"score": 0.0, "coordination": 0.0, "evasion": 0.0, "org_coherence": 1.0}) == ""


def test_show_and_the_flag_explanation_carry_it(fixture_outputs):
    clusters = pl.read_parquet(fixture_outputs / "clusters.parquet")
    full = (pl.col("coordination") * pl.col("evasion")).sqrt()
    clusters.with_columns(pl.when(pl.col("cluster_id") == 1).then(1.0).otherwise(pl.col("org_coherence"))
                          .cast(clusters.schema["org_coherence"]).alias("org_coherence"),
                          pl.when(pl.col("cluster_id") == 1).then(full * 0.5).otherwise(pl.col("score")).alias("score")
                          ).write_parquet(fixture_outputs / "clusters.parquet")
    outputs = load_outputs(fixture_outputs, [1])
    heading, _ = cluster_tables(outputs, 1)
    assert "score discounted ×0.50 from " in str(heading[1])
    row = outputs.cluster_row(1)
    assert "score discounted ×0.50" in flag_explanation(row, outputs.run, outputs.campaigns)["score_note"]
