"""The per-row rewrite of campaign ids in whys (session 57, Python ``re``): the oracle the polars expressions of
:mod:`graphlink.stages.stable_campaigns` are checked against (tests/test_lead60.py, tests/test_break60.py)."""

from __future__ import annotations

import re

from graphlink.stages.campaign_flags import AS_A_WHOLE
from graphlink.stages.tie_words import LEAD_CAMPAIGN_PATTERN, THROUGH_PATTERN


def reference_why(text, ids, campaign_why):
    """Session 57's per-row rewrite (Python ``re``), the oracle for the expression."""
    if not text:
        return text
    sub = lambda m: str(ids.get(int(m.group(1)), m.group(1)))  # noqa: E731
    if campaign_why:
        m = re.match(THROUGH_PATTERN, text)
        if m:
            items = re.sub(r"\(campaign (\d+)\)", lambda n: f"(campaign {sub(n)})", m.group(2))
            text = text[:m.start(2)] + items + text[m.end(2):]
        return text
    m = re.match(LEAD_CAMPAIGN_PATTERN, text)
    if m and m.group(3):
        text = text[:m.start(3)] + str(ids.get(int(m.group(3)), m.group(3))) + text[m.end(3):]
    m = re.match(r"^campaign (\d+)" + re.escape(AS_A_WHOLE), text)
    if m:
        text = text[:m.start(1)] + sub(m) + text[m.end(1):]
    return text
