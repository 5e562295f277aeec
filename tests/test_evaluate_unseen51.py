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


def test_detects_table_says_when_a_private_domain_discounted_an_unflagged_score(fixture_detected):
    """A ring on its own e-mail domain at 0.495, unflagged, listed only its suspicious reasons in detect's table
    (new-user review, session 51): the discount is said before them, as ``show`` says it beside the score."""
    from graphlink.store.outputs import load_outputs
    from graphlink.views.terminal import cluster_rows

    outputs = load_outputs(fixture_detected)
    clusters = outputs.clusters.with_columns(
        pl.when(pl.col("cluster_id") == pl.col("cluster_id").min()).then(pl.lit(False)).otherwise(pl.col("flagged"))
        .alias("flagged"),
        pl.when(pl.col("cluster_id") == pl.col("cluster_id").min())
        .then(pl.lit(1.0)).otherwise(pl.col("org_coherence")).alias("org_coherence"),
        pl.when(pl.col("cluster_id") == pl.col("cluster_id").min())
        .then((pl.col("coordination") * pl.col("evasion")).sqrt() * 0.7).otherwise(pl.col("score")).alias("score"))
    first = int(clusters["cluster_id"].min())
    rows = {r[0]: r for r in cluster_rows(clusters, 50, outputs.run)}
    assert rows[first][6].startswith("score discounted ×0.70 from ")
    why = dict(clusters.select("cluster_id", "why").iter_rows())
    assert all(r[6].endswith(why[c] or "") for c, r in rows.items())  # reasons kept, after the note
    assert all("discounted" not in r[6] for r in rows.values() if r[3])  # a flagged cluster's row: no note


def test_expand_counts_the_campaigns_of_seed_groups_with_no_link(fixture_detected):
    """Seeds from every flagged cluster of the fixture fall in groups with no link between them, but those groups
    are fewer campaigns: "5 unrelated groups" read as five operators (new-user review, session 51)."""
    from typer.testing import CliRunner

    from graphlink.cli import app

    accounts = pl.read_parquet(fixture_detected / "accounts.parquet")
    flagged = pl.read_parquet(fixture_detected / "clusters.parquet").filter("flagged")["cluster_id"]
    seeds = (accounts.filter(pl.col("cluster_id").is_in(flagged.implode())).group_by("cluster_id")
             .agg(pl.col("account_id").sort().head(2)).explode("account_id")["account_id"].sort().to_list())
    campaigns = accounts.filter(pl.col("account_id").is_in(seeds))["campaign_id"].n_unique()
    result = CliRunner().invoke(app, ["expand", str(fixture_detected), "--seeds", ",".join(seeds), "--top", "5"])
    assert result.exit_code == 0, result.output
    line = result.output.splitlines()[0]
    assert campaigns < flagged.len()  # the fixture's flagged clusters: 5 in 2 campaigns
    assert "groups with no link between them" in line and f"(in {campaigns} campaigns)" in line
    assert "unrelated" not in line
