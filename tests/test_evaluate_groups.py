"""Evaluate with cell and campaign labels, string or integer group ids, pairwise
scores, and error messages that name the file but hide cell values (issues 14, 17)."""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.errors import InputError
from graphlink.lab.evaluate import evaluate, evaluate_dir, pair_scores

from tests.test_evaluate import brute_force_ari


def brute_pairs(truth: list, pred: list) -> tuple[int, int, int]:
    both = t = p = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        st = truth[i] is not None and truth[i] == truth[j]
        sp = pred[i] is not None and pred[i] == pred[j]
        t += st
        p += sp
        both += st and sp
    return both, t, p


@pytest.fixture()
def world():
    # two operators: op 0 has cells c1 (3) and c2 (2); op 1 has cell c3 (2)
    labels = pl.DataFrame({
        "account_id": ["a1", "a2", "a3", "b1", "b2", "d1", "d2", "t1", "t2", "t3", "u1", "u2"],
        "kind": ["ring"] * 7 + ["benign_linked"] * 3 + ["benign"] * 2,
        "ring_id": [1, 1, 1, 2, 2, 3, 3] + [None] * 5,
        "campaign_id": [0] * 5 + [1] * 2 + [None] * 5,
        "group_id": ["cell0001"] * 3 + ["cell0002"] * 2 + ["cell0003"] * 2
        + ["team0000"] * 3 + [None] * 2,
    }, schema_overrides={"ring_id": pl.Int64, "campaign_id": pl.Int64})
    accounts = pl.DataFrame({
        "account_id": ["a1", "a2", "a3", "b1", "b2", "d1", "d2", "t1", "t2", "t3", "u1", "u2"],
        "cluster_id": [10, 10, 11, 11, 11, 12, 12, 13, 13, None, 14, 14],
        "campaign_id": [0, 0, 0, 0, 0, 1, 1, 2, 2, None, 3, 3],
    }, schema_overrides={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    clusters = pl.DataFrame({"cluster_id": [10, 11, 12, 13, 14],
                             "flagged": [True, True, True, True, False]})
    return accounts, clusters, labels


def test_cell_and_campaign_ari(world):
    accounts, clusters, labels = world
    r = evaluate(accounts, clusters, labels)
    cells = [1, 1, 1, 2, 2, 3, 3]
    assert r["ari_cell"] == pytest.approx(brute_force_ari(cells, [10, 10, 11, 11, 11, 12, 12]))
    # predicted campaigns from accounts.campaign_id: perfect operator recovery
    assert r["ari_campaign"] == 1.0 and r["campaigns"] == 2
    # without a campaign column in the output, clusters are the campaign prediction
    r2 = evaluate(accounts.drop("campaign_id"), clusters, labels)
    assert r2["ari_campaign"] == pytest.approx(
        brute_force_ari([0, 0, 0, 0, 0, 1, 1], [10, 10, 11, 11, 11, 12, 12]))
    assert r2["ari_cell"] == r["ari_cell"]
    # no campaign labels: no campaign ARI
    assert evaluate(accounts, clusters, labels.drop("campaign_id"))["ari_campaign"] is None


def test_string_and_integer_group_ids_agree(world):
    accounts, clusters, labels = world
    as_int = evaluate(accounts, clusters, labels.drop("group_id"))
    as_str = evaluate(accounts, clusters, labels.drop("ring_id").with_columns(
        pl.col("campaign_id").cast(pl.String).map_elements(lambda s: f"op{s}",
                                                           return_dtype=pl.String)))
    for key in ("precision", "recall", "f1", "ari_cell", "ari_campaign", "pair_f1",
                "benign_linked_flagged", "rings"):
        assert as_int[key] == pytest.approx(as_str[key]), key
    assert [r["ring_id"] for r in as_str["per_ring"]] == ["cell0001", "cell0002", "cell0003"]


def test_counts_by_kind_and_group_type(world):
    r = evaluate(*world)
    assert r["accounts_by_kind"] == {"benign": 2, "benign_linked": 3, "ring": 7}
    assert r["flagged_by_kind"] == {"benign": 0, "benign_linked": 2, "ring": 7}
    assert r["benign_linked_flagged"] == 2 and r["benign_linked_flagged_by_type"] == {"team": 2}
    assert r["precision"] == pytest.approx(7 / 9) and r["recall"] == 1.0


def test_pairwise_scores_hand_computed(world):
    accounts, clusters, labels = world
    r = evaluate(accounts, clusters, labels)
    cells = [1, 1, 1, 2, 2, 3, 3, None, None, None, None, None]
    preds = [10, 10, 11, 11, 11, 12, 12, 13, 13, None, 14, 14]
    both, t, p = brute_pairs(cells, preds)
    assert (both, t, p) == (3, 5, 7)  # a1-a2, b1-b2, d1-d2
    assert r["pair_precision"] == pytest.approx(both / p)
    assert r["pair_recall"] == pytest.approx(both / t)
    groups = ["c1"] * 3 + ["c2"] * 2 + ["c3"] * 2 + ["team"] * 3 + [None] * 2
    gb, gt, gp = brute_pairs(groups, preds)
    gprec, grec = gb / gp, gb / gt
    assert r["group_pair_f1"] == pytest.approx(2 * gprec * grec / (gprec + grec))


def test_pair_scores_match_brute_force():
    import random

    rnd = random.Random(7)
    for _ in range(30):
        n = rnd.randint(0, 15)
        truth = [rnd.choice([None, "a", "b", "c"]) for _ in range(n)]
        pred = [rnd.choice([None, 1, 2]) for _ in range(n)]
        df = pl.DataFrame({"t": truth, "p": pred}, schema={"t": pl.String, "p": pl.Int64})
        r = pair_scores(df, "t", "p")
        assert (r["correct_pairs"], r["true_pairs"], r["predicted_pairs"]) == brute_pairs(truth, pred)


def _write_out(tmp_path, accounts, clusters):
    out = tmp_path / "out"
    out.mkdir()
    accounts.write_parquet(out / "accounts.parquet")
    clusters.write_parquet(out / "clusters.parquet")
    return out


def test_evaluate_cli_with_string_ids_and_csv(tmp_path, world):
    accounts, clusters, labels = world
    out = _write_out(tmp_path, accounts, clusters)
    lab = labels.drop("ring_id").with_columns(pl.col("campaign_id").cast(pl.String))
    lab.write_parquet(tmp_path / "labels.parquet")
    lab.write_csv(tmp_path / "labels.csv")
    a = evaluate_dir(out, tmp_path / "labels.parquet")
    b = evaluate_dir(out, tmp_path / "labels.csv")
    assert a["ari_cell"] == pytest.approx(b["ari_cell"]) and a["ari_campaign"] == 1.0
    r = CliRunner().invoke(app, ["evaluate", str(out), str(tmp_path / "labels.csv")])
    assert r.exit_code == 0, r.output
    assert "ari_campaign" in r.output and "pair_f1" in r.output


SECRET = "s3cr3t-value-4711"


@pytest.mark.parametrize("make, expect", [
    # no kind column
    (lambda lab: lab.drop("kind"), ["labels", "missing kind", "account_id (String)"]),
    # kind is a number
    (lambda lab: lab.with_columns(pl.lit(7).alias("kind")), ["column kind", "Int32"]),
    # neither ring_id nor group_id
    (lambda lab: lab.drop("ring_id", "group_id"), ["ring_id or group_id"]),
])
def test_evaluate_errors_name_file_and_columns_not_values(tmp_path, world, make, expect):
    accounts, clusters, labels = world
    out = _write_out(tmp_path, accounts, clusters)
    bad = make(labels.with_columns(pl.lit(SECRET).alias("note")))
    path = tmp_path / "mylabels.parquet"
    bad.write_parquet(path)
    with pytest.raises(InputError) as exc:
        evaluate_dir(out, path)
    msg = str(exc.value)
    assert "mylabels.parquet" in msg and SECRET not in msg
    for e in expect:
        assert e in msg
    r = CliRunner().invoke(app, ["evaluate", str(out), str(path)])
    assert r.exit_code == 2 and "mylabels.parquet" in r.output and SECRET not in r.output
    assert "Traceback" not in r.output


def test_evaluate_unreadable_file_named(tmp_path, world):
    accounts, clusters, labels = world
    out = _write_out(tmp_path, accounts, clusters)
    path = tmp_path / "broken.parquet"
    path.write_text(f"not parquet {SECRET}\n")
    r = CliRunner().invoke(app, ["evaluate", str(out), str(path)])
    assert r.exit_code == 2 and "broken.parquet" in r.output and SECRET not in r.output
    assert "not a Parquet file" in r.output and "File out of specification" not in r.output
    csv = tmp_path / "ragged.csv"
    csv.write_text(f"account_id,kind,group_id\na,ring,x\nb,{SECRET},y,z,w\n")
    r = CliRunner().invoke(app, ["evaluate", str(out), str(csv)])
    assert r.exit_code == 2 and "ragged.csv" in r.output and SECRET not in r.output


def test_labels_that_cannot_be_right_are_refused():
    """Empty labels, an unknown kind, an account labelled twice and labels of another log
    are errors naming the file (ARI over no accounts would read as a perfect 1.0)."""
    from graphlink.errors import InputError
    from graphlink.lab.evaluate import evaluate

    accounts = pl.DataFrame({"account_id": ["a", "b", "c"], "cluster_id": [1, 1, None]},
                            schema_overrides={"cluster_id": pl.Int64})
    clusters = pl.DataFrame({"cluster_id": [1], "flagged": [True]}, schema_overrides={"cluster_id": pl.Int64})
    good = pl.DataFrame({"account_id": ["a", "b", "c"], "kind": ["ring", "ring", "benign"],
                         "group_id": ["g", "g", None]})
    assert evaluate(accounts, clusters, good, source="labels.parquet")["precision"] == 1.0
    cases = {
        "no rows": good.head(0),
        "kind other than": good.with_columns(pl.lit("bot").alias("kind")),
        "more than once": pl.concat([good, good.head(1)]),
        "no labelled account": good.with_columns((pl.lit("zz") + pl.col("account_id")).alias("account_id")),
    }
    for needle, labels in cases.items():
        with pytest.raises(InputError, match=needle) as err:
            evaluate(accounts, clusters, labels, source="labels.parquet")
        assert "labels.parquet" in str(err.value)
