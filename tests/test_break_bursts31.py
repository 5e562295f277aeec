"""Break-it review of session 31's change: template bursts of prompts read past a shared head.

The change (tests/test_burst_heads.py) keeps a public framework's system prompt out of a wrapped fleet's burst.
But the shared-head reader cuts any head the long prompts (> ``max_words_per_prompt`` = 64 words) of two or more
accounts share -- a fleet's *own* long instruction is such a head too, followed by fills that vary per account.
The review found that the change's first version (openings after the cut only) lost such fleets, or split them
by fill, where main made each one burst cluster; the merged version tests the head's opening too and drops a
head's burst only when one burst after the cut holds half its holders. What held is checked too: "…" and
zero-width characters written by the sender, a spaceless script after the head, framework users asking one
stock question together (grouped as on main, never flagged).
"""

from __future__ import annotations

import random

import polars as pl
import pytest

import graphlink

from tests.framework_world import SYSTEM, TEMPLATE, TOPICS, events

# An operator's own instruction of 80 words, the fill last: no framework, no one else sends it.
LONG = ("You are an expert tutor working for a large online learning platform. Your job is to produce complete "
        "lesson material. Explain step by step, showing all of your reasoning and every intermediate result, then "
        "give three worked examples of increasing difficulty, a list of common mistakes students make, a short "
        "glossary of the key terms, five quiz questions with answers, and a one paragraph summary at the end. "
        "Write in plain English for a motivated high school student. Topic: {topic}")

def made_up(rng: random.Random) -> str:
    """A made-up two-word topic (letters only: digits normalise to 0 and would read alike)."""
    return " ".join("".join(rng.choice("bcdfghjklmnpqrstvwz") for _ in range(7)) for _ in range(2))


def detect(tmp_path, log: pl.DataFrame):
    path = tmp_path / "events.parquet"
    log.write_parquet(path)
    result = graphlink.detect(path)
    return result, result.accounts.with_columns(pl.col("account_id").str.extract(r"^([a-z]+)").alias("group"))


LONG_OWN = pytest.param(lambda rng, i: LONG.format(topic=made_up(rng)), 40, id="own-80-word-instruction")
WRAPPED_ALONE = pytest.param(lambda rng, i: f"{SYSTEM}\n\nUser: " + TEMPLATE.format(topic=made_up(rng)), 0,
                             id="framework-with-no-other-user-in-the-log")


# A fleet's own long instruction is a "shared head" too (its senders' long prompts open alike); reading only what
# follows it found every fill its own opening and never clustered the fleet (first version of the change). The
# head's opening is tested too, and its burst stands unless one burst after the cut holds half its holders.
@pytest.mark.parametrize(("fleet", "n_users"), [LONG_OWN, WRAPPED_ALONE])
def test_a_fleet_whose_template_is_inside_a_long_head_only_it_sends_still_bursts(tmp_path, fleet, n_users):
    result, acc = detect(tmp_path, events(fleet, n_users=n_users))
    ids = acc.filter(pl.col("group") == "fleet")["cluster_id"]
    assert ids.null_count() == 0 and ids.n_unique() == 1
    # named by the instruction (main names the wrapped fleet by the framework's opening), not by a fill
    assert "opened their prompts with one template within 10 minutes, far beyond chance: you are " in \
        result.clusters.filter(pl.col("cluster_id") == ids[0])["why"][0]


def test_a_long_instruction_with_a_long_fill_is_one_burst_cluster_not_one_per_fill(tmp_path):
    fill = LONG.replace("Topic: {topic}", "Topic: {topic}, for students of {aud} who prefer {style} examples")

    def fleet(rng, i):
        return fill.format(topic=rng.choice(TOPICS), aud=rng.choice(["biology", "history", "art", "physics", "music"]),
                           style=rng.choice(["visual", "verbal", "numeric"]))
    _, acc = detect(tmp_path, events(fleet, n_users=0))
    ids = acc.filter(pl.col("group") == "fleet")["cluster_id"]
    assert ids.null_count() == 0 and ids.n_unique() == 1


@pytest.mark.parametrize("after", [
    pytest.param(lambda t: "\u200b\u200b" + t, id="zero-width-right-after-the-head"),
    pytest.param(lambda t: "… " + t.replace(". ", " … "), id="sender-written-ellipsis"),
])
def test_characters_the_sender_writes_at_the_cut_change_nothing(tmp_path, after):
    # "…" is punctuation to the normaliser (never a word, so never the reader's cut) and a zero-width space a word
    # break: the fleet still opens with its template and no framework user joins it.
    result, acc = detect(tmp_path, events(lambda rng, i: f"{SYSTEM}\n\nUser:" + after(TEMPLATE.format(topic=rng.choice(TOPICS)))))
    ids = acc.filter(pl.col("group") == "fleet")["cluster_id"]
    assert ids.null_count() == 0 and ids.n_unique() == 1
    assert "you are an expert tutor" in result.clusters.filter(pl.col("cluster_id") == ids[0])["why"][0]
    assert acc.filter((pl.col("group") == "user") & (pl.col("cluster_id") == ids[0])).height == 0


def test_a_japanese_template_after_a_latin_head_opens_with_its_own_characters(tmp_path):
    ja = "あなたは専門の家庭教師です。{t}について、すべての推論と途中結果を示しながら段階的に説明し、三つの例題と小テストを出してください。"
    result, acc = detect(tmp_path, events(
        lambda rng, i: f"{SYSTEM}\n\nUser: " + ja.format(t=rng.choice(["ブラックホール", "光合成", "インフレ", "二分探索"]))))
    ids = acc.filter(pl.col("group") == "fleet")["cluster_id"]
    assert ids.null_count() == 0 and ids.n_unique() == 1
    # named as the prompt evidence quotes it, no spaces between the characters (review33)
    assert "あなたは専" in result.clusters.filter(pl.col("cluster_id") == ids[0])["why"][0]
    assert acc.filter((pl.col("group") == "user") & (pl.col("cluster_id") == ids[0])).height == 0


def test_framework_users_asking_one_stock_question_together_are_never_flagged(tmp_path):
    # Fifteen framework users open their questions with "can you help me with" in one ten minutes, no fleet. The
    # phrase joins the shared head and nothing after it bursts, so the head's burst stands and groups them, as on
    # main (the head is all the text can see; an operator's own long template looks the same): a burst is
    # grouping, and without tooling evidence it flags no one.
    def user(rng):
        return f"{SYSTEM}\n\nUser: can you help me with {rng.choice(TOPICS)} {made_up(rng)}"
    result, acc = detect(tmp_path, events(lambda rng, i: "", user=user, n_fleet=0, in_window=15))
    assert result.clusters.height <= 1
    assert not result.clusters["flagged"].any()
