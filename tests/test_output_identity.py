"""The public API and the CLI write byte-identical outputs for the same input.

The before/after check of a refactor is ``benchmarks/output_hashes.py`` (hashes
of the fixture and a simulated world, compared across commits); this fast test
guards the two entry points against drifting apart.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import graphlink
from graphlink.contract import OPTIONAL_FILES, OUTPUT_FILES, RUN_FILE

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures"


def test_api_and_cli_detect_write_identical_tables(tmp_path, fixture_outputs):
    api_out = fixture_outputs  # graphlink.detect(FIXTURE / "events.parquet", FIXTURE / "accounts.parquet").save(...)
    subprocess.run([sys.executable, "-m", "graphlink", "detect", str(FIXTURE / "events.parquet"),
                    "--accounts", str(FIXTURE / "accounts.parquet"), "--out", str(tmp_path / "cli"), "--quiet"],
                   cwd=ROOT, check=True)
    tables = [name for name in OUTPUT_FILES if name != RUN_FILE]
    assert set(OPTIONAL_FILES) <= set(tables)
    for name in tables:
        assert (api_out / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    loaded = graphlink.load(tmp_path / "cli")
    assert loaded.clusters.height > 0 and loaded.clusters.equals(graphlink.load(api_out).clusters)


def test_every_reader_loads_a_folder_without_the_drilldown_tables(tmp_path, fixture_outputs):
    from typer.testing import CliRunner

    from graphlink.cli import app
    from graphlink.store.outputs import load_outputs

    out = fixture_outputs  # graphlink.detect(FIXTURE / "events.parquet", FIXTURE / "accounts.parquet").save(...)
    for name in OPTIONAL_FILES:
        (out / name).unlink()
    loaded = graphlink.load(out)  # the notebook
    cid = int(loaded.top(1)["cluster_id"][0])
    assert loaded.cluster(cid).size > 0 and "Cluster" in loaded.cluster(cid).why()
    assert load_outputs(out, "all").memberships is None  # report / export / show
    result = CliRunner().invoke(app, ["show", str(out), str(cid)])
    assert result.exit_code == 0, result.output
    paths = loaded.cluster(cid).export(tmp_path / "case")
    assert paths["json"].is_file()
