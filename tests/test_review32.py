"""Session 32's new-user review of the investigator's views (issue 17): hints name the user's folder, every export
of a flagged cluster says why it is flagged (the score note too), case-file evidence strongest first, one row per
timing signature, a tie names every kind of value that carried it, and what ``show --evidence 0`` leaves out.

World: :func:`tests.test_tie_evidence.tame_world` (a loud cell flagged on its own evidence and a tame cell of the
same operator, flagged through the template tie, 100 people).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.store.outputs import write_outputs
from tests.test_detection_classes import cluster_row, run
from tests.test_tie_evidence import tame_world

runner = CliRunner()


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    log, loud, tame = tame_world()
    result = run(log)
    out = tmp_path_factory.mktemp("review32") / "out"
    write_outputs(result, out)
    return out, cluster_row(result, loud[0]), cluster_row(result, tame[0])


# -- 1. hints name the folder the user ran on ------------------------------------------------------------------------

def test_report_hints_name_the_users_folder_not_a_placeholder(tied, tmp_path):
    from graphlink.views.report import ReportOptions, write_report

    out, loud, tame = tied
    folder = Path(shutil.copytree(out, tmp_path / "day 2"))  # a space: the command quotes it
    info = write_report(folder, options=ReportOptions(max_sections=1, max_unflagged_sections=0, max_members=2,
                                                      plots=False, interactive=False, events=False))
    page = html.unescape(info.path.read_text())
    quoted = f"'{folder}'"
    assert f"graphlink show {quoted} ID (e.g. graphlink show {quoted} {tame['cluster_id']})" in page
    assert f"graphlink report {quoted} --max-sections N" in page
    assert f"graphlink export {quoted} --format csv --clusters {loud['cluster_id']}" in page  # more members than shown
    warned = " ".join(info.warnings)
    assert f"graphlink show {quoted} ID" in warned
    for text in (page, warned):
        assert not re.search(r"graphlink (show|export|report) DIR\b", text)
    done = runner.invoke(app, ["report", str(folder), "--max-sections", "1", "--no-plots", "--static", "--no-events"])
    assert f"graphlink show {quoted} ID" in " ".join(done.output.split()) and " DIR " not in done.output
