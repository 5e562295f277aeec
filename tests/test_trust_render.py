"""Rendering attacker-chosen text: the terminal shows invisible characters; piped (tab-separated) output
keeps ids exact but for control and invisible characters, spelled as on the terminal and read back, so scripts can
feed them back; CSV exports neutralise spreadsheet formulas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from graphlink.views.safety import csv_safe, csv_safe_expr, spell_invisible, terminal_safe, unspelled
from graphlink.views.terminal import tsv_cell
from tests._worlds import planted_world

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u061c", "\u00ad", "\u2060",
                                  "\ufeff", "\u202e", "\u2066", "\U000e0041", "\u3164", "\u115f", "\ufe0f"])
def test_the_terminal_spells_out_every_invisible_character(char):
    assert terminal_safe(f"a{char}b") == f"a⟨U+{ord(char):04X}⟩b"


def test_the_terminal_cuts_before_spelling_and_keeps_visible_text():
    assert terminal_safe("\u200b" * 10 + "a", limit=5) == "⟨U+200B ×4⟩…"  # a run spelled once (session 41)
    assert terminal_safe("مرحبا user ✓ 日本") == "مرحبا user ✓ 日本"
    assert terminal_safe("x\x1b]0;pwned\x07") == "x⟨U+001B⟩]0;pwned⟨U+0007⟩"  # U+FFFD both until session 47


def test_tsv_cells_are_exact_but_for_layout_and_control_characters():
    for value in ("-42", "+15551234567", "@alice", "=1+1", "یک شنبه"):
        assert tsv_cell(value) == value
    # spelled as on the terminal (session 47: a raw bidi override or zero-width space was written as it was)
    assert (tsv_cell("acc\u200bount"), tsv_cell("یک\u200cشنبه")) == ("acc⟨U+200B⟩ount", "یک⟨U+200C⟩شنبه")
    assert tsv_cell("a\tb\nc\x1b[2J") == "a b c⟨U+001B⟩[2J"
    assert csv_safe("=1+1") == "'=1+1"  # spreadsheets get the neutralised CSV export


def test_piped_expand_ids_round_trip_into_seeds(tmp_path):
    """Ids that start like formulas or carry invisible characters come out of piped output exactly (an invisible
    character spelled, as read back), so ``cut -f2`` of expand's rows is a valid ``--seeds`` file."""
    events, _ = planted_world(seed=5, n_benign=40, rings=(8,))
    hostile = {a: (f"=cmd|'/C calc'!A{i}\u200b" if i % 3 == 0 else f"-{i}" if i % 3 == 1 else f"@user{i}")
               for i, a in enumerate(sorted(set(events["account_id"])))}
    write_outputs(run_detect(events.with_columns(pl.col("account_id").replace_strict(hostile))), tmp_path / "out")
    accounts = pl.read_parquet(tmp_path / "out" / "accounts.parquet").drop_nulls("cluster_id")
    assert accounts.height, "the planted ring should be clustered"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def expand(*seeds: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "graphlink", "expand", str(tmp_path / "out"), "--seeds", *seeds],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)

    first = expand(accounts["account_id"][0])
    assert first.returncode == 0, first.stderr
    rows = [line.split("\t") for line in first.stdout.splitlines() if line and not line.startswith("#")]
    column = rows[0].index("account")
    ids = [row[column] for row in rows[1:]]
    assert {unspelled(i) for i in ids} <= set(hostile.values()) and len(ids) > 1
    (tmp_path / "seeds.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    again = expand(str(tmp_path / "seeds.txt"))
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("cell", ["＝HYPERLINK(\"http://x\")", "＋1", "－1", "＠SUM(A1)", "\ufeff=1", "\u200b+1",
                                  " =1", "\u00a0@x", "\u2060-2"])
def test_csv_neutralises_full_width_and_hidden_formula_starts(cell):
    # A spreadsheet may drop a BOM or zero-width space on import, and East Asian locales convert full-width signs.
    frame = pl.DataFrame({"c": [cell]})
    # behind an invisible character: spelled (session 47), so the cell opens with a visible ⟨, no formula
    safe = spell_invisible(cell) if cell[0] in "\ufeff\u200b\u2060" else "'" + cell
    assert csv_safe(cell) == safe and not safe.startswith(("=", "+", "-", "@", "\ufeff", "\u200b", "\u2060"))
    assert frame.select(csv_safe_expr("c"))["c"].to_list() == [safe]


@pytest.mark.parametrize("cell", ["a=1", "ok-", "名前＝1", "\u200bplain", "1+1"])
def test_csv_leaves_cells_that_do_not_open_with_a_formula_sign(cell):
    frame = pl.DataFrame({"c": [cell]})
    assert csv_safe(cell) == spell_invisible(cell)  # no guard; an invisible character spelled (session 47)
    assert frame.select(csv_safe_expr("c"))["c"].to_list() == [spell_invisible(cell)]
