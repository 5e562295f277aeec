"""Break-it review of session 36 (helper brk36): inherited-flag marks, kind names, show's member table and the lower
median of per-member counts, attacked with hostile values and odd folders.

Fixed here (each test failed before its fix):

* ``report`` on a folder whose ``clusters.parquet`` has no ``why`` stopped with "unable to find column" (the ranked
  table's new ``flagged`` column read ``why``); main wrote the report.
* ``show`` and the report claimed "flagged on its own evidence" for a cluster whose ``why`` is unknown (no column, or
  null): the basis is read off the ``why``, so with none the views now say only "flagged" (``UNKNOWN_BASIS``).
* ``show``'s member table said "weakest tie first" on a folder without tie strengths (written before links.parquet /
  linking.parquet), where the rows stay in events order: it now says the order the rows are in.

Fixed by group_count (was a strict xfail under the lower median): a fleet with exactly half its accounts on one static address each and half rotating over
proxies scores ``ip_spread`` 0 under the lower median, and is no longer flagged where main flagged it.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from graphlink.store.outputs import load_outputs
from graphlink.views.explain import OWN_EVIDENCE, flag_basis, flag_basis_expr

UNKNOWN_BASIS = "flagged"  # graphlink.views.explain.UNKNOWN_BASIS
from graphlink.views.report import ReportOptions, write_report
from graphlink.views.terminal import cluster_tables, member_table
from _worlds import planted_world

FAST = dict(plots=False, max_unflagged_sections=0, workers=0, events=False)


def _without_why(folder: Path) -> Path:
    path = folder / "clusters.parquet"
    pl.read_parquet(path).drop("why").write_parquet(path)
    return folder


# -- a folder whose clusters.parquet has no why ------------------------------------------------------------------------

def test_report_of_a_folder_without_why_is_written_and_claims_no_basis(fixture_outputs, tmp_path):
    folder = _without_why(fixture_outputs)
    page = write_report(folder, tmp_path / "r.html", options=ReportOptions(**FAST)).path.read_text()
    assert "on its own evidence" not in page and ">own evidence<" not in page
    assert '<span class="flag badge">flagged</span>' in page


def test_show_of_a_folder_without_why_claims_no_basis(fixture_outputs):
    folder = _without_why(fixture_outputs)
    flagged = pl.read_parquet(folder / "clusters.parquet").filter("flagged")["cluster_id"][0]
    heading, _ = cluster_tables(load_outputs(folder, [flagged]), flagged, members=0, evidence=0)
    assert heading[0].plain == f"Cluster {flagged}  flagged"


def test_a_null_why_is_no_evidence_of_either_basis():
    frame = pl.DataFrame({"flagged": [True, True, False], "why": [None, "proxies", None]},
                         schema={"flagged": pl.Boolean, "why": pl.String})
    assert frame.select(flag_basis_expr())["flag"].to_list() == [UNKNOWN_BASIS, OWN_EVIDENCE, ""]
    assert flag_basis({"flagged": True}) == UNKNOWN_BASIS


# -- attacker-written text cannot move the mark -------------------------------------------------------------------------

SPOOF = "same operator as flagged cluster 1 (campaign 1); tied to flagged cluster 2"


@pytest.mark.parametrize("why", [
    f"42% of prompts are templated (\"{SPOOF}\")",  # the template quoted in its reason
    f"8 accounts opened their prompts with one template within 10 minutes, far beyond chance: {SPOOF}",  # a burst
    f"linked by {SPOOF} values",  # a --signal column named like the words
])
def test_values_quoted_in_a_why_never_read_as_an_inherited_flag(why):
    """Every reason of a cluster's own evidence opens with words or a number the pipeline writes, never a value, and
    only the start of ``why`` is read: a prompt, burst template or --signal name holding the inherited wording is
    quoted after it."""
    assert flag_basis({"flagged": True, "why": why}) == OWN_EVIDENCE


def test_a_fleet_whose_template_spells_an_inherited_flag_is_marked_own_evidence():
    import graphlink

    events, truth = planted_world(rings=(12,))
    events = events.with_columns(pl.when(pl.col("account_id").str.starts_with("ring"))
                                 .then(pl.lit(SPOOF + " ") + pl.col("prompt")).otherwise(pl.col("prompt")).alias("prompt"))
    result = graphlink.detect(events)
    ring = result.accounts.filter(pl.col("account_id").is_in(list(truth)))["cluster_id"].drop_nulls().unique()
    rows = result.clusters.filter(pl.col("cluster_id").is_in(ring.implode()) & pl.col("flagged"))
    assert rows.height and rows.select(flag_basis_expr())["flag"].to_list() == [OWN_EVIDENCE] * rows.height


# -- show's member table ----------------------------------------------------------------------------------------------

def _members(strengths: list[float | None]) -> pl.DataFrame:
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    n = len(strengths)
    return pl.DataFrame({"account_id": [f"acct_{i}" for i in range(n)], "events": [100 - i for i in range(n)],
                         "first_seen": [t] * n, "last_seen": [t] * n, "tie_strength": strengths,
                         "tied_by": ["payment card pf_1 (2 members)"] * n},
                        schema_overrides={"tie_strength": pl.Float64})


@pytest.mark.parametrize("width", [20, 80, None])
def test_member_table_without_tie_strengths_says_the_order_the_rows_are_in(width):
    table, rows, _ = member_table(None, 1, _members([None, None]), 25, "strength", width)
    assert "most active first" in str(table.title) and [r[0] for r in rows] == ["acct_0", "acct_1"]
    table, _, _ = member_table(None, 1, _members([0.2, 0.9]), 25, "strength", width)
    assert "weakest tie first" in str(table.title)


def test_member_table_of_one_member_at_any_width():
    for width in (1, 20, 80, 139, 140, 1000):
        table, rows, headers = member_table(None, 1, _members([None]), 25, "strength", width)
        assert len(rows) == 1 and len(table.columns) == (4 if width < 140 else 7)  # 7: shares (session 37)


# -- the lower median: a fleet half static, half rotating --------------------------------------------------------------

def _half_static_fleet(size: int = 8, static: int = 4, seed: int = 0) -> pl.DataFrame:
    """The planted world's background and one fleet of ``size`` accounts sharing 4 cards, a template and a schedule:
    ``static`` of them each on one home address, the rest rotating over 60 proxy networks."""
    events, _ = planted_world(seed=seed, rings=())
    rng = np.random.default_rng(seed + 1)
    start = np.datetime64("2024-05-01T00:00:00")
    vocab = np.array("the a cat dog model water river light code bread music train glass paper stone".split())
    acc = np.repeat(np.arange(size), 30)
    times = np.tile(start + (np.arange(30) * 7 * 3600).astype("timedelta64[s]"), size) + rng.integers(0, 30, len(acc)).astype("timedelta64[s]")
    fills = rng.choice(vocab, size=(len(acc), 3))
    ring = pl.DataFrame({
        "account_id": [f"fleet_{i:03d}" for i in acc], "timestamp": times.astype("datetime64[us]"),
        "ip": [f"77.{10 + i}.3.9" if i < static else f"185.100.{p}.{p % 7 + 1}"
               for i, p in zip(acc, rng.integers(1, 60, len(acc)))],
        "payment_fingerprint": [f"pf_fleet_{i % 4}" for i in acc],
        "prompt": ["solve the following problem and think step by step showing all reasoning " + " ".join(f) for f in fills],
        "user_agent": "python-requests/2.31",
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return pl.concat([events, ring])


def _fleet_rows(size: int, static: int) -> pl.DataFrame:
    import graphlink

    result = graphlink.detect(_half_static_fleet(size, static))
    ids = result.accounts.filter(pl.col("account_id").str.starts_with("fleet_"))["cluster_id"].drop_nulls().unique()
    return result.clusters.filter(pl.col("cluster_id").is_in(ids.implode()))


# Was a strict xfail under the lower median (maj36a): score 0.55, ip_spread 0; main and group_count 0.75, 0.56.
def test_a_fleet_half_static_half_rotating_is_still_flagged():
    rows = _fleet_rows(8, 4)
    assert rows.height == 1 and rows["flagged"].all()


def test_a_fleet_all_rotating_is_flagged():  # the control: the same fleet without static accounts
    rows = _fleet_rows(8, 0)
    assert rows.height == 1 and rows["flagged"].all() and rows["ip_spread"][0] > 0.5


# -- detect's table: kinds from the list, not the joined codes -------------------------------------------------------

def test_detect_table_names_a_signal_column_whose_name_holds_a_comma_as_one_kind():
    """``--signal 'ip, payment'`` (a CSV header may hold a comma): detect's table split the piped row's joined codes
    on ", " and named the column's values "IP addresses, payment cards" -- kinds the cluster may not share."""
    import io

    from rich.console import Console

    from graphlink.views.terminal import clusters_table

    clusters = pl.DataFrame({"cluster_id": [1], "size": [12], "score": [0.9], "flagged": [True], "campaign_id": [1],
                             "kinds": [["ip, payment"]], "why": ["100% of accounts act in the same minutes"]},
                            schema_overrides={"size": pl.UInt32})
    console = Console(file=io.StringIO(), width=300, record=True)
    console.print(clusters_table(clusters, 5, "Top clusters"))
    text = console.export_text()
    assert "ip, payment values" in text and "IP addresses" not in text and "payment cards" not in text
