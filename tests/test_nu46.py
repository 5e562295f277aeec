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
