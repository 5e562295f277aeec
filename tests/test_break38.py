"""Breaking session 38's passages (helper brk38): prompt phrases folded into the passages they chain into.

Each test is a failure found by trying to break :mod:`graphlink.views.passages`; the ones fixed here failed before
their fix, the others are strict xfails naming what is left.
"""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.views.explain import tying_values
from graphlink.views.passages import phrase_passages, with_passages


def shingles(sentence: str, n: int = 5) -> list[str]:
    """The sentence's n-word shingles, by spaces (independent of graphlink's tokeniser)."""
    words = sentence.split(" ")
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


# --------------------------------------------------------------------------- passages quoting text in no prompt

#: Two operators' templates sharing a stock phrase of five words in the middle ("you are a helpful assistant"):
#: the shared shingle has two phrases before it and two after it.
CROSSED = ("yak yam you are a helpful assistant answer briefly", "xen xor you are a helpful assistant write code")


def test_a_passage_never_crosses_from_one_template_into_another_at_a_shared_phrase():
    """Before: the chain from "xen xor ..." ran through the shared phrase into the *other* template's branch (the
    follower first in sorted order) and quoted "xen xor you are a helpful assistant answer briefly", a sentence no
    prompt holds: a search of the log for the quoted passage found nothing, and it read as one operator's template
    when it was two. A phrase with more than one phrase before it now starts a passage of its own."""
    phrases = shingles(CROSSED[0]) + shingles(CROSSED[1])
    for order in (phrases, phrases[::-1], sorted(phrases)):
        got = phrase_passages(order)
        assert got.height == len(order)
        for text in set(got["text"]):
            assert any(text in template for template in CROSSED), text


# --------------------------------------------------------------------------- counts of a passage row

def test_a_passage_row_counts_are_one_phrases_not_a_mix_of_maxima():
    """Before: each count column took its own maximum over the passage's phrases, so a row could combine the
    members of one phrase with the input-wide holders of another: 50 members share it, 1,000 accounts hold it and
    990 of them are in no flagged cluster -- 50 + 990 > 1,000, which no single value can show (the members are in a
    flagged cluster). Now all three come from one phrase."""
    text = "alpha bravo charlie delta echo foxtrot"
    a, b = shingles(text)
    table = pl.DataFrame({"kind": ["prompt", "prompt"], "value": [a, b], "accounts_sharing": [50, 3],
                          "df": [50, 1000], "outside_flagged": [0, 990]},
                         schema_overrides={"accounts_sharing": pl.UInt32, "df": pl.UInt32, "outside_flagged": pl.UInt32})
    row = with_passages(table).row(0, named=True)
    assert row["value"] == text and row["phrases"] == 2
    # all three from one phrase: the least-held (session 38 final: no more members hold the whole passage)
    assert (row["accounts_sharing"], row["df"], row["outside_flagged"]) == (3, 1000, 990)


def test_a_passage_row_of_tying_values_keeps_one_phrases_counts():
    ev = pl.DataFrame({"cluster_id": [2, 2], "kind": ["prompt", "prompt"],
                       "value": ["alpha bravo charlie delta echo", "bravo charlie delta echo foxtrot"],
                       "accounts_sharing": [3, 50], "weight": [1.0, 1.0], "df": [1000, 50], "ties": [True, True],
                       "outside_flagged": [990, 0]})
    got = tying_values(ev, passages=True)
    assert got.select("accounts_sharing", "df", "outside_flagged", "phrases").rows() == [(3, 1000, 990, 2)]


# --------------------------------------------------------------------------- words compared as detection compares them

def test_digits_written_full_width_or_as_superscripts_compare_as_a_number():
    """Detection reads digits after NFKC (full-width "１２" and "²" are digits, so ``0``); the passages read digit runs
    before NFKC, so a phrase quoted from a prompt written with full-width digits did not chain with its neighbour
    quoted from one written with ASCII digits."""
    assert phrase_passages(["task １２ solve it now", "12 solve it now please"])["passage"].n_unique() == 1
    assert phrase_passages(["page ² solve it now", "7 solve it now please"])["passage"].n_unique() == 1


def test_a_null_phrase_is_not_quoted_as_the_word_None():
    """A null value was read as the text "None": a passage quoting a word no prompt holds."""
    got = phrase_passages([None, "alpha bravo charlie delta echo"])
    assert "None" not in "".join(got["text"]) and got.height == 2


def test_an_accent_written_or_left_out_compares_alike():
    """Detection drops nonspacing marks after NFKD (``café`` and ``cafe`` are one word to it); the passages kept
    precomposed letters, so a phrase quoted from a prompt written ``café`` did not chain with its neighbour quoted
    from one written ``cafe``: one sentence listed as two rows."""
    got = phrase_passages(["the café opens at dawn", "cafe opens at dawn today", "Thi\u0301nk out loud before now",
                           "out loud before now please"])
    assert got["passage"].n_unique() == 2


@pytest.mark.xfail(strict=True, reason="inherent to phrases alone: two texts sharing only four words chain into a "
                                       "passage no prompt holds (documented in graphlink.views.passages)")
def test_two_prompts_sharing_four_words_are_not_one_passage():
    first, second = "alpha bravo charlie delta echo", "bravo charlie delta echo foxtrot"  # two prompts, five words each
    assert phrase_passages([first, second])["passage"].n_unique() == 2


# --------------------------------------------------------------------------- scale

def test_many_repeated_prompts_chain_without_a_rescan_per_cycle():
    """A prompt repeating five words ("a b c d e a b c d e ...") makes a cycle of phrases that no start reaches:
    each cycle cost a pass over every phrase left (1,500 such prompts, 7,500 phrases: 3.7 s on two shared cores).
    The phrases ready to start are kept in a heap now; every phrase being a junction (a text of few words in every
    order) is as quick."""
    import itertools
    import random
    import string
    import time

    rng = random.Random(5)
    cycles: list[str] = []
    for _ in range(1500):
        words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(5)]
        text = (words * 3)[:12]
        cycles += [" ".join(text[i:i + 5]) for i in range(len(text) - 4)]
    cycles = list(dict.fromkeys(cycles))
    rng.shuffle(cycles)
    junctions = [" ".join(p) for p in itertools.product(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"],
                                                         repeat=5)]
    rng.shuffle(junctions)
    for phrases, passages in ((cycles, 1500), (junctions, len(junctions))):
        started = time.process_time()  # CPU, not wall: the suite's machine is shared (2.2 s wall at load 13, suite55)
        got = phrase_passages(phrases)
        assert time.process_time() - started < 2.0  # the quadratic pass took 3.7 s
        assert got["passage"].n_unique() == passages and got.height == len(phrases)


def test_a_variant_after_a_shared_head_is_not_counted_as_the_head():
    """A framework's public head followed by two operators' variants: the head's passage runs on into one variant
    and its row shows the head's counts (most held), so that variant reads as public text (held by 1,000 accounts,
    990 outside any flagged cluster) when its own phrases are held by 20, none outside. Seen on dev worlds: 3 of
    307 passages ran past such a branch (ind seed 140 cluster 29: the passage's phrases held by 27 to 140 accounts,
    shown 140). Fixed by the unitigs (f3a8d80): the head is a passage of its own."""
    head = "you are a careful tutor"
    a, b = f"{head} explain every step", f"{head} answer in one word"
    phrases = list(dict.fromkeys(shingles(a) + shingles(b)))
    public = {shingles(a)[0]}
    table = pl.DataFrame({"kind": ["prompt"] * len(phrases), "value": phrases,
                          "accounts_sharing": [5] * len(phrases),
                          "df": [1000 if p in public else 20 for p in phrases],
                          "outside_flagged": [990 if p in public else 0 for p in phrases]})
    folded = with_passages(table)
    for row in folded.iter_rows(named=True):
        if row["phrases"] > 1:  # a passage holding a variant's phrases does not take the public head's counts
            assert row["outside_flagged"] == 0, row
