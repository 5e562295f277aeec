"""Session 59 review leftovers: one read-back of exported ids for ``account``, ``expand`` and ``match``; the
set-apart note as one polars expression (no Python call per row). Hand-built inputs; public names only."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.store.outputs import load_outputs
from graphlink.views.expand import exported_ids
from graphlink.views.safety import read_back_forms
from graphlink.views.set_apart import SET_APART_WORDS, set_apart_from, set_apart_note

runner = CliRunner()
ODD = "=x\u200by"  # a formula (guarded in CSV) holding an invisible character (spelled in every view)


def _reference_note(reason, cluster_id, flagged, judged=None):
    """The wording as session 58 wrote it, one Python call per row: the oracle for the expression."""
    where = ("a cluster that dissolved" if cluster_id is None
             else f"flagged cluster {cluster_id}" if flagged else f"cluster {cluster_id}")
    note = f"set apart from {where}: {SET_APART_WORDS.get(reason or '', reason or 'no reason recorded')}"
    if cluster_id is None or judged is None or flagged is None or bool(judged) == bool(flagged):
        return note
    return note + (f"; cluster {cluster_id} was flagged later in the run, not yet when this account was set apart"
                   if flagged else f"; cluster {cluster_id} was flagged when this account was set apart, not in the "
                                   "run's output")


def test_set_apart_note_matches_the_per_row_wording_for_every_case():
    reasons = [None, "", *SET_APART_WORDS, "<b>unknown</b>"]
    for case in itertools.product(reasons, [None, 0, 7], [None, True, False], [None, True, False]):
        assert set_apart_note(*case) == _reference_note(*case), case


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    rows = [{"account_id": f"ring{i}", "payment_fingerprint": "c", "user_agent": "curl/8"} for i in range(6)]
    rows += [{"account_id": a, "payment_fingerprint": f"own{i}", "user_agent": "curl/8"}
             for i, a in enumerate([ODD, "alone", "a\u200bb", "a⟨U+200B⟩b"])]
    folder = graphlink.detect(pl.DataFrame(rows)).save(tmp_path / "out")
    apart = [(ODD, 1, True, "bystander"), ("alone", 1, False, ""), ("a\u200bb", None, None, "remnant")]
    pl.DataFrame(apart, schema={"account_id": pl.String, "cluster_id": pl.Int64, "flagged": pl.Boolean,
                                "reason": pl.String}, orient="row").write_parquet(folder / "set_apart.parquet")
    return folder


def test_set_apart_rows_carry_the_note_of_their_own_row(odd_folder):
    outputs = load_outputs(odd_folder, "all", drilldown=False)
    rows = set_apart_from(outputs)
    now = dict(outputs.clusters.select("cluster_id", "flagged").iter_rows())
    assert rows.height == 3
    for r in rows.iter_rows(named=True):
        assert r["note"] == _reference_note(r["reason"], r["cluster_id"], now.get(r["cluster_id"]), r["flagged"])


def test_a_guarded_and_spelled_id_reads_back_alike_in_account_and_expand(odd_folder):
    assert runner.invoke(app, ["export", str(odd_folder), "-f", "csv", "--clusters", "all"]).exit_code == 0
    written = pl.read_csv(odd_folder / "csv" / "set_apart.csv")["account_id"].to_list()
    guarded = next(i for i in written if i.startswith("'=x") and "U+200B" in i)
    assert ODD in read_back_forms(guarded)
    outputs = load_outputs(odd_folder, "all", drilldown=False)
    assert exported_ids([guarded, "ring1", "nobody"], outputs) == {guarded: ODD}  # held ids and unknown ones stay
    done = runner.invoke(app, ["account", str(odd_folder), guarded, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["account_id"] == ODD
    # An id the run holds as written is itself, even when it reads as another's spelling.
    literal = "a⟨U+200B⟩b"
    assert exported_ids([literal], outputs) == {}
    assert json.loads(runner.invoke(app, ["account", str(odd_folder), literal, "--json"]).stdout)["account_id"] == literal
    assert graphlink.load(odd_folder).account(literal)["account_id"] == literal


CARD, ADDRESS, BOSS = "card-secret-4111", "10.9.8.7", "ring.boss@example.com"


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    """Six accounts on one card and one address (one named by an e-mail address), two people alone, saved."""
    members = [f"ring{i}" for i in range(5)] + [BOSS]
    rows = [{"account_id": a, "payment_fingerprint": CARD, "ip": ADDRESS, "user_agent": "curl/8",
             "prompt": "step by step, explain the proof of lemma 4 in full detail please"} for a in members]
    rows += [{"account_id": f"alone{i}", "payment_fingerprint": f"own{i}", "ip": f"10.0.0.{i}", "user_agent": "curl/8",
              "prompt": f"hello {i}"} for i in (1, 2)]
    return graphlink.detect(pl.DataFrame(rows)).save(tmp_path / "out")


def test_expand_redact_hashes_cards_addresses_and_e_mail_ids_in_the_table_json_and_file(ring, tmp_path):
    plain = runner.invoke(app, ["expand", str(ring), "-s", "ring0", "-s", "ring1", "--json"])
    assert plain.exit_code == 0, plain.output
    assert BOSS in plain.stdout and (CARD in plain.stdout or ADDRESS in plain.stdout)  # what --redact must hide
    out = tmp_path / "ranked.parquet"
    for args in (["--json"], [], ["-o", str(out)]):
        done = runner.invoke(app, ["expand", str(ring), "-s", "ring0", "-s", "ring1", "--redact-key", "k", *args],
                             env={"COLUMNS": "400"})
        assert done.exit_code == 0, done.output
        assert CARD not in done.output and ADDRESS not in done.output and "ring.boss" not in done.output
    listed = json.loads(runner.invoke(app, ["expand", str(ring), "-s", "ring0", "-s", "ring1", "--redact-key", "k",
                                            "--json"]).stdout)
    assert listed["redaction"] and len(listed["accounts"]) == len(json.loads(plain.stdout)["accounts"])
    assert any(a["account_id"].startswith("email#") and a["account_id"].endswith("@example.com")
               for a in listed["accounts"])
    written = pl.read_parquet(out)
    assert not written.select(pl.any_horizontal(pl.col("account_id", "why").str.contains(CARD, literal=True)
                                                | pl.col("account_id", "why").str.contains(BOSS, literal=True))).to_series().any()
