"""evaluate names the labelled accounts a run never saw (new-user review, session 51: labels of the whole fixture
against a run over a third of it read as recall 0.37 and no ring detected, with nothing saying why)."""

import polars as pl

from graphlink.lab.evaluate import evaluate, evaluation_rows


def test_labelled_accounts_missing_from_the_run_are_counted_and_explained():
    accounts = pl.DataFrame({"account_id": ["r1", "r2", "b1"], "cluster_id": [1, 1, None]},
                            schema_overrides={"cluster_id": pl.Int64})
    clusters = pl.DataFrame({"cluster_id": [1], "flagged": [True]})
    labels = pl.DataFrame({"account_id": ["r1", "r2", "r3", "r4", "b1", "b2"],
                           "kind": ["ring", "ring", "ring", "ring", "benign", "benign"],
                           "ring_id": [1, 1, 1, 1, None, None]})
    result = evaluate(accounts, clusters, labels)
    assert result["labelled_not_in_run"] == 3 and result["ring_not_in_run"] == 2
    assert result["recall"] == 0.5  # still counted as missed: the metric's meaning does not change
    row = dict(map(tuple, evaluation_rows(result)))["ring_not_in_run"]
    assert row.startswith("2 (") and "never saw" in row


def test_a_run_over_every_labelled_account_reports_none_missing():
    accounts = pl.DataFrame({"account_id": ["r1", "r2"], "cluster_id": [1, 1]})
    labels = pl.DataFrame({"account_id": ["r1", "r2"], "kind": ["ring", "ring"], "ring_id": [1, 1]})
    result = evaluate(accounts, pl.DataFrame({"cluster_id": [1], "flagged": [True]}), labels)
    assert result["labelled_not_in_run"] == 0 and result["ring_not_in_run"] == 0
    assert dict(map(tuple, evaluation_rows(result)))["ring_not_in_run"] == "0"
