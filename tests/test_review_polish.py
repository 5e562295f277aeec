"""Review items on what investigators read: README's score formula, wording, paths, rendering."""

from __future__ import annotations

import re
from pathlib import Path

from graphlink.config import ScoringConfig
from graphlink.contract import COORDINATION, EVASION

ROOT = Path(__file__).resolve().parent.parent


def test_readme_score_formula_states_the_code_weights():
    """README's score formula lists every component with the weight ScoringConfig gives it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    header = re.search(r"^\| component \| (`.*`) \|$", readme, re.M)
    weights = re.search(r"^\| weight `w` \| (.*) \|$", readme, re.M)
    assert header and weights, "README has no component weight table"
    names = [n.strip().strip("`") for n in header.group(1).split("|")]
    values = [float(v) for v in weights.group(1).split("|")]
    config = ScoringConfig()
    assert dict(zip(names, values)) == dict(config.component_weights)
    assert set(names) == set(COORDINATION) | set(EVASION)
    assert f"× (1 − {config.org_discount:g} × org_coherence × (1 − tooling))" in readme
