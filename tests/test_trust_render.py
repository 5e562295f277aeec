"""Piped (tab-separated) CLI output: attacker-chosen text cannot become a spreadsheet formula or hide
invisible characters from the investigator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from graphlink.views.safety import terminal_safe
from graphlink.views.terminal import tsv_cell
from tests._worlds import planted_world

ROOT = Path(__file__).resolve().parents[1]


def test_tsv_cells_neutralise_formulas_and_show_invisible_characters():
    assert tsv_cell('=HYPERLINK("http://evil")').startswith("'=")
    assert tsv_cell("@SUM(A1)") == "'@SUM(A1)" and tsv_cell("+1") == "'+1"
    assert tsv_cell(-3) == "-3" and tsv_cell(0.25) == "0.25"  # numbers are numbers
    assert tsv_cell("acc\u200bount\ufeff") == "acc⟨U+200B⟩ount⟨U+FEFF⟩"
    assert terminal_safe("a\u2060b\u00adc") == "a⟨U+2060⟩b⟨U+00AD⟩c"


def test_piped_expand_output_has_no_formula_and_no_hidden_character(tmp_path):
    events, _ = planted_world(seed=5, n_benign=40, rings=(8,))
    hostile = {a: f"=cmd|'/C calc'!A{i}\u200b" for i, a in enumerate(sorted(set(events["account_id"])))}
    renamed = events.with_columns(pl.col("account_id").replace_strict(hostile))
    write_outputs(run_detect(renamed), tmp_path / "out")
    accounts = pl.read_parquet(tmp_path / "out" / "accounts.parquet").drop_nulls("cluster_id")
    assert accounts.height, "the planted ring should be clustered"
    seed = accounts["account_id"][0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "graphlink", "expand", str(tmp_path / "out"), "--seeds", seed],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines() if line and not line.startswith("#")]
    cells = [cell for row in rows[1:] for cell in row]
    assert any(cell.startswith("'=cmd") for cell in cells)  # the ids are there, neutralised
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    assert "\u200b" not in proc.stdout and "⟨U+200B⟩" in proc.stdout
