"""The generalisation and real-data benchmark scripts: summaries and scoring (no subprocess)."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import generalisation  # noqa: E402
import real_data  # noqa: E402


def _row(scenario, seed, acc, method, f1, linked, ari):
    return {"scenario": scenario, "seed": seed, "accounts": acc, "method": method,
            "wall_s": 1.0 + seed, "peak_rss_mib": 100.0 * seed,
            "metrics": {"precision": 1.0, "flagged_accounts": 5, "recall": f1, "f1": f1, "benign_linked_flagged": linked,
                        "benign_linked_accounts": 10, "benign_flagged": 0, "ari_cell": ari,
                        "ari_campaign": None, "pair_f1": 0.5}}


def test_summary_mean_worst_and_sums():
    rows = [_row("pools", 1, "events only", "graphlink", 0.5, 2, 0.4),
            _row("pools", 2, "events only", "graphlink", 0.9, 3, 0.8),
            _row("pools", 1, "events only", "baseline", 0.1, 9, 0.1),
            {**_row("pools", 3, "events only", "graphlink", 0.0, 0, 0.0), "metrics": None}]
    s = {(r["scenario"], r["method"]): r for r in generalisation.summarise(rows)}
    g = s[("pools", "graphlink")]
    assert g["runs"] == 2 and g["no_flags"] == 0  # the failed run is not averaged in
    assert g["f1"] == pytest.approx(0.7) and g["f1_worst"] == 0.5
    assert g["benign_linked_flagged"] == 5 and g["benign_linked_accounts"] == 20
    assert g["ari_cell_worst"] == 0.4 and g["ari_campaign"] is None
    assert g["wall_s"] == 3.0 and g["peak_rss_mib"] == 200.0
    assert s[("ALL", "baseline")]["f1"] == pytest.approx(0.1)
    md = generalisation.markdown(rows, generalisation.summarise(rows),
                                 {"split": "dev", "seeds": "1-3", "scale": "tiny", "code": "x"})
    assert "| pools | events only | graphlink | 2 | 0 | 1.000 | 0.700 |" in md
    assert md.count("\n| pools | ") == 4 + 2  # every run (the failed one too) + two summaries


def test_real_data_scoring(tmp_path):
    labels = pl.DataFrame({"account_id": ["a", "b", "c", "u1", "u2"],
                           "kind": ["bot", "bot", "bot", "user", "user"],
                           "trader": ["P", "P", "Q", None, None]})
    labels.write_parquet(tmp_path / "labels.parquet")
    out = tmp_path / "out"
    out.mkdir()
    pl.DataFrame({"account_id": ["a", "b", "c", "u1", "u2"], "cluster_id": [1, 1, 1, 2, 2]},
                 schema_overrides={"cluster_id": pl.Int64}).write_parquet(out / "accounts.parquet")
    pl.DataFrame({"cluster_id": [1, 2], "flagged": [True, False]}).write_parquet(
        out / "clusters.parquet")
    r = real_data.score(out, tmp_path / "labels.parquet")
    # predicted pairs: ab ac bc u1u2 = 4; true pairs: ab = 1; correct: ab
    assert (r["correct_pairs"], r["true_pairs"], r["predicted_pairs"]) == (1, 1, 4)
    assert r["pair_f1"] == pytest.approx(2 * 0.25 * 1 / 1.25)
    assert r["flag_precision"] == 1.0 and r["flag_recall"] == 1.0 and r["flagged_users"] == 0


def test_real_data_scores_campaigns_as_operators(tmp_path):
    labels = pl.DataFrame({"account_id": ["a", "b", "c", "d", "u1"],
                           "kind": ["bot"] * 4 + ["user"], "trader": ["P", "P", "P", "P", None]})
    labels.write_parquet(tmp_path / "labels.parquet")
    out = tmp_path / "out"
    out.mkdir()
    # two cells of trader P in one campaign; the user alone
    pl.DataFrame({"account_id": ["a", "b", "c", "d", "u1"], "cluster_id": [1, 1, 2, 2, 3],
                  "campaign_id": [7, 7, 7, 7, 8]},
                 schema_overrides={"cluster_id": pl.Int64, "campaign_id": pl.Int64}).write_parquet(out / "accounts.parquet")
    pl.DataFrame({"cluster_id": [1, 2, 3], "flagged": [False, False, False]}).write_parquet(out / "clusters.parquet")
    r = real_data.score(out, tmp_path / "labels.parquet")
    assert r["pair_recall"] == pytest.approx(2 / 6)          # ab, cd of P's six pairs
    assert r["campaign_pair_recall"] == 1.0 and r["campaign_pair_precision"] == 1.0
