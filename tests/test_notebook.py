"""The example notebook: stored clean, and runs top to bottom in a fresh kernel."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore_rings.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count"


def test_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = dict(os.environ)
    # The kernel imports graphlink from this checkout and writes its exports under tmp_path.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["TMPDIR"] = str(tmp_path)
    client = NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute(env=env)  # raises CellExecutionError on the first failing cell

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3, "the timeline, hour-profile and network figures render"
    assert list(tmp_path.glob("graphlink-notebook-*/case-cluster-*/cluster-*.json")), "the ring was exported"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    matched = re.search(r"(\d+) of \d+ matched: (\d+) to flagged clusters", printed)
    assert re.search(r"\d+ accounts tied to 3 seeds", printed) and matched, "the pivot section ran"
    assert int(matched.group(2)) >= int(matched.group(1)) // 2, "the top ring's new accounts matched it, flagged"
