"""Tests of graphlink.lab.evaluate: hand-computed metrics and ARI references."""

from __future__ import annotations

import io
import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from graphlink.lab.evaluate import adjusted_rand_index, evaluate, evaluate_dir, format_evaluation


def ari(truth: list, pred: list) -> float:
    return adjusted_rand_index(pl.DataFrame({"t": truth, "p": pred}), "t", "p")


def brute_force_ari(truth: list, pred: list) -> float:
    """Pair-counting ARI (Hubert & Arabie) straight from the definition."""
    n = len(truth)
    if n < 2:
        return 1.0
    same_t = same_p = both = 0
    for i, j in itertools.combinations(range(n), 2):
        t, p = truth[i] == truth[j], pred[i] == pred[j]
        same_t += t
        same_p += p
        both += t and p
    pairs = n * (n - 1) / 2
    expected = same_t * same_p / pairs
    max_index = (same_t + same_p) / 2
    if max_index == expected:
        return 1.0
    return (both - expected) / (max_index - expected)


# ---------------------------------------------------------------- ARI -----

def test_ari_identical_and_relabelled_partitions():
    assert ari([0, 0, 1, 1, 2], [0, 0, 1, 1, 2]) == 1.0
    assert ari([0, 0, 1, 1, 2], [5, 5, 9, 9, 7]) == 1.0


def test_ari_textbook_examples():
    # scikit-learn user guide / docstring examples
    assert ari([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(0.24242424, abs=1e-7)
    assert ari([0, 0, 1, 2], [0, 0, 1, 1]) == pytest.approx(0.57142857, abs=1e-7)
    assert ari([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_ari_hand_computed():
    # truth {a,b,c},{d,e}; pred {a,b},{c,d,e}
    # sum C(nij,2) = C(2,2)+C(1,2)+C(2,2) = 2; A = 3+1 = 4; B = 1+3 = 4; N = 10
    # expected = 1.6; max = 4; ARI = (2-1.6)/(4-1.6) = 1/6
    assert ari([1, 1, 1, 2, 2], [1, 1, 2, 2, 2]) == pytest.approx(1 / 6)


def test_ari_degenerate_cases():
    assert ari([0], [3]) == 1.0
    assert ari([0, 1, 2], [0, 1, 2]) == 1.0  # both all singletons
    assert ari([0, 0, 0], [1, 1, 1]) == 1.0  # both one block
    assert ari([0, 0, 0, 0], [0, 1, 2, 3]) == 0.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=0, max_size=14))
def test_ari_matches_brute_force(pairs):
    truth = [t for t, _ in pairs]
    pred = [p for _, p in pairs]
    df = pl.DataFrame({"t": truth, "p": pred}, schema={"t": pl.Int64, "p": pl.Int64})
    assert adjusted_rand_index(df, "t", "p") == pytest.approx(brute_force_ari(truth, pred),
                                                                abs=1e-12)


# ---------------------------------------------------------- evaluate -----

@pytest.fixture()
def tiny():
    labels = pl.DataFrame({
        "account_id": ["r1", "r2", "r3", "r4", "r5", "b1", "b2", "t1", "t2", "t3"],
        "ring_id": [1, 1, 1, 2, 2, None, None, None, None, None],
        "kind": ["ring"] * 5 + ["benign"] * 2 + ["benign_linked"] * 3,
    }, schema={"account_id": pl.String, "ring_id": pl.Int64, "kind": pl.String})
    accounts = pl.DataFrame({
        # r5 missing from the output entirely; b2 unclustered
        "account_id": ["r1", "r2", "r3", "r4", "b1", "b2", "t1", "t2", "t3", "x9"],
        "cluster_id": [10, 10, 11, 11, 11, None, 12, 12, 13, 10],
    }, schema={"account_id": pl.String, "cluster_id": pl.Int64})
    clusters = pl.DataFrame({"cluster_id": [10, 11, 12, 13],
                             "flagged": [True, True, True, False]})
    return accounts, clusters, labels


def test_evaluate_hand_computed(tiny):
    r = evaluate(*tiny)
    # flagged: r1 r2 (10), r3 r4 b1 (11), t1 t2 (12)
    assert (r["true_positives"], r["false_positives"], r["false_negatives"]) == (4, 3, 1)
    assert r["precision"] == pytest.approx(4 / 7)
    assert r["recall"] == pytest.approx(4 / 5)
    assert r["f1"] == pytest.approx(2 * (4 / 7) * (4 / 5) / (4 / 7 + 4 / 5))
    assert r["benign_flagged"] == 1
    assert r["benign_linked_flagged"] == 2
    assert r["benign_linked_accounts"] == 3
    assert r["benign_linked_flagged_share"] == pytest.approx(2 / 3)
    assert r["ring_accounts"] == 5
    assert r["flagged_accounts"] == 7
    assert r["flagged_clusters"] == 3
    assert r["unlabelled_accounts"] == 1
    # ring accounts: truth 1,1,1,2,2 vs clusters 10,10,11,11,<singleton r5>
    assert r["ari"] == pytest.approx(brute_force_ari([1, 1, 1, 2, 2], [10, 10, 11, 11, -5]))
    assert r["per_ring"] == [
        {"ring_id": 1, "size": 3, "flagged_accounts": 3, "recall": 1.0},
        {"ring_id": 2, "size": 2, "flagged_accounts": 1, "recall": 0.5},
    ]
    assert r["rings"] == 2 and r["rings_detected"] == 2


def test_null_clusters_are_singletons():
    labels = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "ring_id": [1, 1, 2, 2],
                           "kind": ["ring"] * 4})
    accounts = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "cluster_id": [None] * 4},
                            schema={"account_id": pl.String, "cluster_id": pl.Int64})
    clusters = pl.DataFrame(schema={"cluster_id": pl.Int64, "flagged": pl.Boolean})
    r = evaluate(accounts, clusters, labels)
    assert r["ari"] == 0.0  # all singletons, not one "null" cluster
    assert r["recall"] == 0.0 and r["precision"] == 0.0 and r["f1"] == 0.0
    assert r["flagged_accounts"] == 0


def test_perfect_detection():
    labels = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"],
                           "ring_id": [1, 1, 2, 2, None],
                           "kind": ["ring"] * 4 + ["benign"]})
    accounts = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"],
                             "cluster_id": [0, 0, 1, 1, 2]})
    clusters = pl.DataFrame({"cluster_id": [0, 1, 2], "flagged": [True, True, False]})
    r = evaluate(accounts, clusters, labels)
    assert (r["precision"], r["recall"], r["f1"], r["ari"]) == (1.0, 1.0, 1.0, 1.0)
    assert r["benign_flagged"] == 0


def test_missing_label_accounts_unflagged():
    labels = pl.DataFrame({"account_id": ["a", "b"], "ring_id": [1, 1], "kind": ["ring"] * 2})
    accounts = pl.DataFrame({"account_id": ["a"], "cluster_id": [0]})
    clusters = pl.DataFrame({"cluster_id": [0], "flagged": [True]})
    r = evaluate(accounts, clusters, labels)
    assert r["recall"] == 0.5 and r["false_negatives"] == 1


def test_evaluate_dir_roundtrip(tmp_path, tiny):
    accounts, clusters, labels = tiny
    accounts.write_parquet(tmp_path / "accounts.parquet")
    clusters.with_columns(size=pl.lit(1), score=pl.lit(0.5)).write_parquet(
        tmp_path / "clusters.parquet")
    labels.write_parquet(tmp_path / "labels.parquet")
    assert evaluate_dir(tmp_path, tmp_path / "labels.parquet") == evaluate(*tiny)


def test_format_evaluation(tiny):
    table = format_evaluation(evaluate(*tiny))
    assert isinstance(table, Table)
    buf = io.StringIO()
    Console(file=buf, width=100).print(table)
    text = buf.getvalue()
    assert "precision" in text and "ring 2 (size 2)" in text


def test_evaluate_piped_prints_tab_separated_rows(tmp_path, tiny):
    """Like every table command, ``evaluate`` writes ``metric<TAB>value`` rows when stdout is not a terminal."""
    from typer.testing import CliRunner

    from graphlink.cli import app

    accounts, clusters, labels = tiny
    accounts.write_parquet(tmp_path / "accounts.parquet")
    clusters.with_columns(size=pl.lit(1), score=pl.lit(0.5)).write_parquet(tmp_path / "clusters.parquet")
    labels.write_parquet(tmp_path / "labels.parquet")
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path), str(tmp_path / "labels.parquet")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "metric\tvalue"
    rows = dict(line.split("\t") for line in lines[1:])
    assert float(rows["precision"]) == pytest.approx(evaluate(*tiny)["precision"], abs=1e-4)
    assert "ring 2 (size 2)" in rows and "┃" not in result.output
