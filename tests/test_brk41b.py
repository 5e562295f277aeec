"""Break-it review of session 41's changes (brk41b): template variants, spelled ids, CSV export, --map, timestamps."""

from __future__ import annotations

import graphlink
from graphlink.views.templates import reconstruct_templates

WORDS = "apple banana cherry delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()


def test_the_graphlink_under_test_is_this_checkout():
    assert graphlink.__file__


def test_a_weak_template_does_not_take_in_a_template_sharing_only_its_tail():
    # "⟨…⟩ you must answer" (7 prompts) listed "Summarise this article ...: ⟨…⟩ you must answer" as its variant:
    # its constant opening, 9 of its 12 words, vanished into a slot and its 3 accounts were counted as the other's.
    w = WORDS
    prompts = [(f"s{i}", f"Translate the following text into French carefully and with style: {w[i]} {w[i + 3]} "
                         f"{w[i + 5]} {w[i + 7]} you must answer") for i in range(3)]
    prompts += [(f"t{i}", f"Summarise this article for me in five bullet points: {w[i + 1]} {w[i + 4]} {w[i + 8]} "
                          f"{w[i + 2]} you must answer") for i in range(3)]
    prompts += [(f"w{i}", f"Hello there friend {w[i + 2]} {w[i + 6]} {w[i]} {w[i + 9]} you must answer")
                for i in range(4)]
    texts = {t.text(): t.accounts for t in reconstruct_templates(prompts=prompts, ngram=3, max_templates=5)}
    assert texts.get("Summarise this article for me in five bullet points: ⟨…⟩ you must answer") == 3, texts
