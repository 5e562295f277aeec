"""Prompt phrases read as passages (session 38): a tying table listed one templated sentence five words at a time.

The new-user review of session 37 found "tied to flagged cluster 1 by 59 prompt phrases" where 21 of the 59 rows
were overlapping shingles of one sentence. ``graphlink.views.passages`` chains them back; the oracle here builds
shingles of known sentences independently (split on spaces) and checks the passages are the sentences.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import polars as pl
import pytest

from graphlink.store.outputs import load_outputs
from graphlink.views.explain import tying_values, why_text
from graphlink.views.passages import passage_summary, phrase_passages, with_passages
from graphlink.views.report import ReportOptions, write_report
from graphlink.views.terminal import cluster_tables

VOCABULARY = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
              "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform"]


def shingles(sentence: str, n: int = 5) -> list[str]:
    """The sentence's n-word shingles, by spaces (independent of graphlink's tokeniser)."""
    words = sentence.split(" ")
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


def sentence(rng: random.Random, length: int) -> str:
    """Distinct words (so no 4 words repeat), some with punctuation and capitals as written."""
    words = rng.sample(VOCABULARY, length)
    return " ".join(w.capitalize() + "." if rng.random() < 0.2 else w for w in words)


def cjk_shingles(text: str, n: int = 5) -> list[str]:
    """Five-character shingles of a text without spaces as the evidence quotes them (punctuation between kept)."""
    spots = [i for i, c in enumerate(text) if c.isalnum()]
    return [text[spots[i]:spots[i + n - 1] + 1] for i in range(len(spots) - n + 1)]


def test_templates_sharing_a_clause_are_not_stitched_into_a_text_nobody_sent():
    """New-user review (session 38): three Chinese templates sharing four-character pieces ("下面的问题") read as one
    28-phrase passage that no prompt holds."""
    templates = ["任务115：请逐步推理并回答下面的问题：题目内容是什么",
                 "请一步一步地思考下面的问题，写出完整的推理过程，最后给出答案。问题",
                 "题目：给出完整的推导和最终答案。题目内容：一些东西"]
    phrases = sorted({p for t in templates for p in cjk_shingles(t)})
    got = phrase_passages(phrases)
    masked = [re.sub(r"\d+", "⟨#⟩", t) for t in templates]
    for text in set(got["text"]):
        assert any(text in t for t in masked), text  # every passage is a piece of one template
    assert got["passage"].n_unique() < len(phrases)  # and the unshared runs still fold


@pytest.mark.parametrize("seed", range(20))
def test_the_shingles_of_a_sentence_chain_back_into_the_sentence(seed):
    rng = random.Random(seed)
    text = sentence(rng, rng.randint(6, 18))
    phrases = shingles(text)
    rng.shuffle(phrases)
    passages = phrase_passages(phrases)
    assert passages["passage"].n_unique() == 1
    assert passages["text"][0] == text  # the spelling as written, punctuation and capitals kept
    # each phrase's place in the passage is its place in the sentence
    assert [text.split(" ").index(p.split(" ")[0]) for p in phrases] == passages["position"].to_list()


def test_two_sentences_are_two_passages_whatever_the_order():
    rng = random.Random(7)
    first, second = sentence(rng, 12), sentence(random.Random(8), 9)
    phrases = shingles(first) + shingles(second)
    expected = {first, second}
    for seed in range(5):
        random.Random(seed).shuffle(phrases)
        got = phrase_passages(phrases)
        assert set(got["text"]) == expected and got["passage"].n_unique() == 2
        by_phrase = dict(zip(phrases, got["text"]))
        assert all(by_phrase[p] == first for p in shingles(first))


def test_variants_sharing_a_head_keep_every_phrase_and_are_deterministic():
    a = "you are a careful tutor explain every step"
    b = "you are a careful tutor answer in one word"
    phrases = sorted(set(shingles(a) + shingles(b)))
    results = set()
    for seed in range(6):
        random.Random(seed).shuffle(phrases)
        got = phrase_passages(phrases)
        assert got.height == len(phrases)  # every phrase is in some passage
        results.add(tuple(sorted(zip(phrases, got["text"]))))
    assert len(results) == 1  # the same passages whatever the input order
    texts = set(dict(results.pop()).values())
    # the head the variants share is a passage of its own: neither variant is read as the template
    assert texts == {"you are a careful tutor", "are a careful tutor explain every step",
                     "are a careful tutor answer in one word"}


def test_a_repeated_word_ends_instead_of_looping():
    phrases = ["go go go go go"] * 3 + ["go go go go stop"]
    got = phrase_passages(phrases)  # "go go go go go" can follow itself or be followed by "stop": a branch
    assert got.height == 4 and set(got["text"]) == {"go go go go go", "go go go go stop"}


def test_look_alike_spellings_of_one_phrase_are_one_passage_and_numbers_do_not_split_it():
    plain = ["Think out loud before answering", "out loud before answering now"]
    tricked = ["Ｔｈｉｎｋ out loud before answering",  # full-width letters (NFKC folds them)
               "Thi\u200bnk out loud before answering",  # a zero-width space inside a word
               "THINK OUT LOUD BEFORE ANSWERING"]
    got = phrase_passages(plain + tricked)
    assert got["passage"].n_unique() == 1
    numbered = phrase_passages(["Task 29283: solve it now", "29283: solve it now please", "Task 17: solve it now"])
    assert numbered["passage"].n_unique() == 1  # digit runs compare as one number, as detection reads them
    # and are not quoted: each phrase is quoted from some prompt in the log, maybe none of the cluster's
    assert set(numbered["text"]) == {"Task ⟨#⟩: solve it now please"}


def test_with_passages_folds_prompt_rows_and_keeps_the_rest_in_place():
    text = "Ignore brevity. Think out loud. Before answering, write"
    phrases = shingles(text)
    table = pl.DataFrame({
        "kind": ["payment", *(["prompt"] * len(phrases)), "ip"],
        "value": ["pf_1", *phrases, "1.2.3.4"],
        "accounts_sharing": [4, *range(10, 10 + len(phrases)), 2],
        "df": [4, *([50] * len(phrases)), 9],
        "outside_flagged": [0, *([None] * (len(phrases) - 1)), 3, 1],
    })
    folded = with_passages(table)
    assert folded["kind"].to_list() == ["payment", "prompt", "ip"]
    row = folded.row(1, named=True)
    assert row["value"] == text and row["phrases"] == len(phrases)
    # the counts of the least-held phrase, all three from that phrase (no more accounts hold the whole passage)
    assert (row["accounts_sharing"], row["df"], row["outside_flagged"]) == (10, 50, None)
    assert folded["phrases"].sum() == table.height
    assert passage_summary(folded) == f"{table.height} values: {len(phrases)} prompt phrases in 1 passage"
    assert with_passages(table.filter(pl.col("kind") != "prompt"))["phrases"].to_list() == [1, 1]


#: Three overlapping five-word phrases as an attacker might write them: a spreadsheet formula, a terminal escape, a
#: right-to-left override and markup.
HOSTILE = ["=think out loud now please", "out loud now please \x1b answer", "loud now please answer fast \u202e</>"]


@pytest.fixture
def phrase_tied(fixture_outputs) -> Path:
    """The fixture's output with cluster 3 flagged through a tie to cluster 1 by hostile overlapping phrases."""
    clusters = pl.read_parquet(fixture_outputs / "clusters.parquet")
    clusters.with_columns(pl.when(pl.col("cluster_id") == 3).then(
        pl.lit(f"tied to flagged cluster 1 (campaign 1) by {len(HOSTILE)} prompt phrases; ") + pl.col("why"))
        .otherwise(pl.col("why")).alias("why")).write_parquet(fixture_outputs / "clusters.parquet")
    evidence = pl.read_parquet(fixture_outputs / "evidence.parquet")
    row = evidence.filter(pl.col("cluster_id") == 3).head(1)
    added = pl.concat([row.with_columns(pl.lit("prompt").alias("kind"), pl.lit(v).alias("value"),
                                        pl.lit(True).alias("ties"), pl.lit(0, pl.UInt32).alias("outside_flagged"))
                       for v in HOSTILE])
    pl.concat([evidence, added.cast(evidence.schema)]).write_parquet(fixture_outputs / "evidence.parquet")
    return fixture_outputs


def test_show_the_report_and_why_list_one_escaped_passage(phrase_tied, tmp_path):
    outputs = load_outputs(phrase_tied, [3])
    _, tables = cluster_tables(outputs, 3)
    tie = next(t for t in tables if str(t[0].title).startswith("Values that tied it"))
    assert str(tie[0].title).endswith(f"({len(HOSTILE)} prompt phrases in 1 passage)")
    assert len(tie[1]) == 1 and tie[1][0][0] == "prompt"
    cells = [str(c._cells[0]) for c in tie[0].columns]
    assert cells[0] == "prompt passage (3 phrases)" and "\x1b" not in cells[1] and "\u202e" not in cells[1]
    page = Path(write_report(phrase_tied, tmp_path / "r.html", options=ReportOptions(
        plots=False, workers=0, events=False)).path).read_text()
    table = re.search(r'<table[^>]*id="ties-3".*?</table>', page, flags=re.S).group(0)
    assert table.count("<tr") == 2 and "prompt passage (3 phrases)" in table
    assert "\x1b" not in table and "\u202e" not in table and "</>" not in table and "&lt;/&gt;" in table
    assert "(3 prompt phrases in 1 passage)" in page
    view_rows = tying_values(outputs.cluster_evidence(3))
    assert view_rows.height == len(HOSTILE)  # the notebook's ties() and --json keep every phrase
    text = why_text(outputs.cluster_row(3), outputs.cluster_evidence(3), 0.6, 5)
    assert "(3 prompt phrases in 1 passage)" in text and "\x1b" not in text


def test_thousands_of_phrases_chain_in_well_under_a_second_each():
    """A campaign's tying values run to thousands of phrases (1,658 on a dev world): the chaining is linear, not a
    rescan of every phrase left per passage."""
    import string
    import time

    rng = random.Random(3)
    vocabulary = ["".join(rng.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(4000)]
    unrelated = [" ".join(rng.sample(vocabulary, 5)) for _ in range(5000)]
    words = [rng.choice(vocabulary) for _ in range(5004)]
    long_text = [" ".join(words[i:i + 5]) for i in range(5000)]
    for phrases, passages in ((unrelated, 5000), (long_text, 1)):
        # CPU time, not wall: 0.26-0.35 s on an idle machine, 3.05 s of wall in a CI run at load 9 (session 41)
        started = time.process_time()
        got = phrase_passages(phrases)
        assert time.process_time() - started < 2.0
        assert got["passage"].n_unique() == passages


def test_phrases_spelled_with_look_alikes_or_controls_chain_as_detection_reads_them():
    """Words are keyed with detection's own normalisation (session 39): a phrase spelled with Cyrillic look-alike
    letters, full-width letters or a control character inside a word is the value detection counted, so it takes
    its place in the passage instead of starting one of its own."""
    phrases = ["think out loud now please", "out l\u043eud now please answer",  # Cyrillic o
               "loud now ｐｌｅａｓｅ answer fast", "now please an\x07swer fast today"]
    p = phrase_passages(phrases)
    assert p["passage"].n_unique() == 1
    assert p["position"].to_list() == [0, 1, 2, 3]
    assert p["text"][0] == "think out loud now please answer fast today"  # each phrase adds its last word as written
    assert phrase_passages(["think out loud now please", "out l\u043eud now please answer"])["passage"].n_unique() == 1
