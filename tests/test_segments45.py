"""Misspelt words run together are read as the log's words (graphlink.stages.signals.segments, session 45).

An operator stacking both disguises -- a typo in most words and most spaces dropped -- wrote runs no reader undid:
the run reader cuts only into words the log writes, the typo reader reads only one word one edit away. Dev scenario
crowds worlds with such an operator kept about half its recall. The scenario family's own disguises
(``graphlink.lab.simulate.text``: ``misspell``, ``run_together``) are applied to a template here.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from graphlink.lab.simulate.text import misspell, run_together
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt

TEMPLATE = ("produce a detailed rationale for the following exercise written as numbered reasoning steps followed by "
            "the final result and explain each step")


def disguised(n: int, typos: float, spaces: float, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = pa.array([TEMPLATE] * n)
    texts = misspell(texts, np.full(n, typos), rng)
    return run_together(texts, np.full(n, spaces), rng).to_pylist()


def read(texts: list[str]) -> list[str]:
    frame = pl.DataFrame({"prompt": texts}).select(normalise_prompt(pl.col("prompt"), MARK).alias("norm"))
    return read_camel(frame)["norm"].to_list()


def shingles(text: str, k: int = 5) -> set[str]:
    words = text.split(" ")
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def test_copies_with_typos_and_dropped_spaces_read_back_to_the_template():
    clean = [TEMPLATE] * 40  # other copies (and people) write the words as words
    texts = clean + disguised(60, typos=0.6, spaces=0.7)
    out = read(texts)[40:]
    template = shingles(TEMPLATE)
    share = np.mean([len(shingles(t) & template) / len(template) for t in out])
    # before: the runs stayed whole and this fails
    assert share >= 0.5, share
    assert sum(t == TEMPLATE for t in out) >= 10  # whole copies read back exactly (15 of 60 on dev)


def test_a_log_that_does_not_misspell_keeps_its_long_rare_tokens():
    # No typo read, so no segmentation: a rare long token (a name, a word run together once) stays as written.
    texts = [TEMPLATE] * 40 + ["please review thefollowingexercise for me", "ask antidisestablishmentarianism"]
    out = read(texts)
    assert "antidisestablishmentarianism" in out[-1]


def test_segmentation_is_bounded(monkeypatch):
    # Attacker-written text must not make a run last minutes: at most MAX_LETTERS letters over the distinct tokens are
    # segmented (those of the first texts first; letters are the work, not tokens), none longer than MAX_CHARS letters.
    from graphlink.stages.signals import segments

    monkeypatch.setattr(segments, "MAX_LETTERS", 100)
    texts = [TEMPLATE] * 40 + disguised(60, typos=0.6, spaces=0.7) + ["x " + "detailedrationale" * 20]
    frame = pl.DataFrame({"norm": [" ".join(t.lower().replace(",", " ").split()) for t in texts]})
    out = segments.read_segments(frame)["norm"].to_list()
    changed = sum(a != b for a, b in zip(out, frame["norm"].to_list()))
    assert 1 <= changed <= 2 * (100 // segments.MIN_CHARS)  # each token >= MIN_CHARS letters, held by <= 2 texts (RARE)
    assert out[-1] == frame["norm"][-1]  # 340 letters: read as written
