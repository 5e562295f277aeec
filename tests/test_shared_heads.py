"""A long prompt is read past the head it shares with other accounts' long prompts (a framework's system prompt):
the request behind it is read, and the shared passage gives a few values, not the whole word budget."""

import polars as pl

from graphlink.stages.signals.prompt import prompt_signals
from graphlink.stages.signals.shared_heads import CUT, read_past_shared_heads, shared_heads

from tests.framework_world import SYSTEM

TEMPLATE = ("Act as an expert in {d}. Before you answer, think aloud in a long numbered list covering definitions, "
            "edge cases, the method you choose and why the others fail; keep every thought. Task: {q}")
QUESTIONS = ["explain {t} simply", "can you help me with {t}", "summarize {t} in a few bullets",
             "give me an example of {t} with salt", "quiz me on {t}", "tell me a fun fact about {t}"]
TOPICS = ["black holes", "CSS grid", "inflation", "jazz chords", "git rebase", "the stoics", "vitamin D", "rust"]
DOMAINS = ["algebra", "chemistry", "contract law", "geometry", "statistics", "number theory"]


def _log() -> pl.DataFrame:
    """Four framework users asking their own questions; a fleet of four wrapping its template in the same system
    prompt."""
    rows = []
    for u in range(4):
        for j in range(6):
            rows.append((f"user{u}", f"{SYSTEM}\n\nUser: " + QUESTIONS[(u + j) % 6].format(t=TOPICS[(u * 3 + j) % 8])))
    for f in range(4):
        for j in range(6):
            q = f"A train number {f * 10 + j} splits every edge in the worst case. What is the minimum cost?"
            rows.append((f"fleet{f}", f"{SYSTEM}\n\nUser: " + TEMPLATE.format(d=DOMAINS[(f + j) % 6], q=q)))
    return pl.DataFrame(rows, schema=["account_id", "prompt"], orient="row")


def _word(i: int) -> str:
    """A distinct word for each ``i`` (letters only: digits read as 0)."""
    return "w" + "".join("abcdefghij"[int(c)] for c in str(i))


def _values(pairs: pl.DataFrame, account: str) -> set[str]:
    return set(pairs.filter(pl.col("account_id") == account)["value"])


def test_a_template_wrapped_in_a_public_system_prompt_is_read_and_the_prompt_ties_its_users_by_few_values():
    pairs, _, per_account = prompt_signals(_log().lazy(), 5, 20, 64, 0, min_share=0.1, min_templated=0.5,
                                           min_prompts=3)
    fleet = set.intersection(*(_values(pairs, f"fleet{f}") for f in range(4)))
    # The fleet's template behind the system prompt is read (reading the first 64 words, none of it was).
    assert {"think aloud in a long", "the method you choose and"} <= {v.lower() for v in fleet}
    assert "Before you answer, think aloud" in fleet  # quoted as written (as logged, session 31), past the system prompt too
    # A framework user shares with the fleet only the few values of the system prompt's first 16 words
    # (12 shingles), not the 60 of a budget spent on the system prompt.
    for u in range(4):
        shared = _values(pairs, f"user{u}") & fleet
        assert 5 <= len(shared) <= 12
        assert all(v.lower().split()[0] in SYSTEM.lower() for v in shared)
    # Both still read as sending a shared passage (templated).
    assert per_account.filter(pl.col("prompts_templated") == 0).is_empty()


def test_the_head_ends_where_the_long_prompts_opening_alike_first_differ():
    words = " ".join(_word(i) for i in range(40))
    texts = pl.DataFrame({"text_hash": [1, 2, 3, 4, 5], "norm": [
        f"{words} x a b c d e f g h i j k l m n o p q r s t u v w y z a b c",   # 70 words: read past 40
        f"{words} y a b c d e f g h i j k l m n o p q r s t u v w y z a b c",
        f"{words} z a b c d e f g h i j k l m n o p q r s t u v w y z a b c",   # the same account as text 3
        "solo " * 69 + "end",                                                  # nobody else opens so: whole
        "short text"]})
    sent = pl.DataFrame({"account_idx": [0, 1, 2, 2, 3], "text_hash": [1, 2, 3, 3, 4]})
    assert dict(shared_heads(texts, sent, 64).iter_rows()) == {1: 40, 2: 40, 3: 40}
    # An account's own long texts alone share no head with anyone (text 3 without 1 and 2).
    alone = shared_heads(texts.filter(pl.col("text_hash").is_in([3, 4, 5])), sent, 64)
    assert alone.is_empty()
    read = dict(read_past_shared_heads(texts, sent, 64).select("text_hash", "norm").iter_rows())
    assert read[1].split() == [_word(i) for i in range(16)] + [CUT] + "x a b c d e f g h i j k l m n o p q r s t u v w y z a b c".split()
    assert read[4] == texts["norm"][3] and read[5] == "short text"


def test_a_private_instruction_longer_than_the_budget_still_ties_its_fleet():
    # A fleet's own 80-word instruction followed by varied problems: read past it, its first 16 words still give
    # the fleet a template's passage (8 or more shared shingles in every prompt: scripted).
    instruction = " ".join(_word(i) for i in range(80))
    log = pl.DataFrame({"account_id": [f"f{i % 4}" for i in range(24)],
                        "prompt": [f"{instruction} problem about {_word(100 + i)} and {_word(200 + i)}" for i in range(24)]})
    pairs, _, per_account = prompt_signals(log.lazy(), 5, 20, 64, 0, min_share=0.1, min_templated=0.5,
                                           min_prompts=3)
    assert (per_account["prompts_scripted"] == per_account["prompts_sampled"]).all()
    assert pairs.group_by("account_id").len()["len"].min() >= 8
