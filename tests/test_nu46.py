"""New-user review, session 46 (an investigator's first run of the README): what ``show`` counts."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from graphlink.cli import app


def evidence_title(folder, cluster: int, evidence: int) -> str:
    shown = CliRunner().invoke(app, ["show", str(folder), str(cluster), "--members", "0", "--no-templates",
                                     "--evidence", str(evidence)], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    return next(line for line in shown.output.splitlines() if line.startswith("# Shared evidence"))


def test_shows_evidence_total_does_not_shrink_with_the_rows_printed(fixture_detected):
    # nu46: `show out 2 --evidence 5` titled its table "(5 of 53+ shared)", `--evidence 30` "(30 of 1,751+ shared)"
    # and 200 "(85 of 1,839+ shared)": the total counted only the kinds printed (cards and activity signatures at 5),
    # so a short listing read as a cluster sharing 53 values. The total is the cluster's, whatever is printed.
    totals = {n: re.search(r"\((\d+) of ([\d,]+\+?) shared\)", evidence_title(fixture_detected, 2, n)).groups()
              for n in (5, 30, 200)}
    assert {n: int(shown) for n, (shown, _) in totals.items()} == {5: 5, 30: 30, 200: 85}
    assert len({total for _, total in totals.values()}) == 1


def test_an_accounts_files_accounts_without_events_are_not_in_the_new_log():
    # nu46: detect --accounts lists every account of the accounts file in accounts.parquet, those without an event in
    # this log with events 0. --previous read them as "in this log": a flagged ring all of whose members went quiet
    # read "(not clustered in this log)", never "(none of its members in this log)", and its quiet members counted
    # against the overlap that keeps a ring's id (a full user table as the accounts file: every member "seen").
    import polars as pl

    from graphlink.stages.stable_ids import PreviousRun, match_clusters, summarise

    ring, gone = [f"r{i}" for i in range(10)], ["g0", "g1", "g2"]
    previous = pl.DataFrame({"account_id": ring + gone, "cluster_id": [1] * 10 + [2] * 3})
    now = pl.DataFrame({"account_id": ring + gone, "cluster_id": [5] * 5 + [None] * 8, "events": [9] * 5 + [0] * 8},
                       schema_overrides={"cluster_id": pl.Int64, "events": pl.Int64})
    mapping = match_clusters(previous, now, 0.3)
    assert mapping.filter(pl.col("previous_id") == 1)["jaccard"].item() == 1.0  # the 5 quiet members do not count
    out = summarise(mapping, PreviousRun(previous, 2, "<frame>", flagged=[1, 2]), now, [1])
    assert out["vanished_flagged_ids"] == [2] and out["vanished_flagged_absent"] == [2]


def test_counts_in_a_why_are_thousands_separated_throughout():
    # nu46: the fixture's cluster 1 read "1166 account pairs active in the same minutes" (a campaign: "4,143 IP addresses"),
    # and fmt_int wrote 1234567 as "1234,567" (only the first group of three from the right was separated).
    import polars as pl

    from graphlink.stages.components import fmt_int
    from graphlink.stages.cotiming import with_co_timing_reason

    values = pl.DataFrame({"n": [7, 1234, 1234567, 12345678]}).select(fmt_int(pl.col("n")))["n"].to_list()
    assert values == ["7", "1,234", "1,234,567", "12,345,678"]
    n = 48  # 48 accounts of one cluster, every pair co-timed: 1,128 pairs
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    partition = pl.DataFrame({"account_idx": list(range(n)), "cluster_id": [1] * n},
                             schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    co_timed = pl.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs], "weight": [1.0] * len(pairs)},
                            schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    why = with_co_timing_reason(pl.DataFrame({"cluster_id": [1], "why": ["a card"]}), partition, co_timed)["why"].item()
    assert why == "a card; 1,128 account pairs active in the same minutes again and again (co-timing)"
