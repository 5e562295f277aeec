"""benchmarks/run_benchmarks.py rewrites BENCHMARKS.md but keeps the hand-written notes."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("run_benchmarks", ROOT / "benchmarks" / "run_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rewriting_keeps_notes_below_the_mark_and_renders_the_peer(tmp_path):
    rb = _module()
    peer = {"rc": 0, "events": 1000, "accounts": 50, "networkx_median_s": 10.0, "graphlink_median_s": 2.0,
            "ratio": 5.0, "networkx_detail": {"projection_s": 6.0, "louvain_s": 4.0, "edges": 1234}}
    first = rb.render_markdown({"sizes": {}, "peer": peer}, "\n\n## Scale\n\nmeasured by hand\n")
    assert "| 1,000 events, 50 accounts |" in first and "5.0×" in first
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(first)
    again = rb.render_markdown({"sizes": {}}, rb.kept_notes(path))
    assert again.count(rb.NOTES_MARK) == 1
    assert again.endswith("## Scale\n\nmeasured by hand\n")
    assert "5.0×" not in again  # no peer figures this time
