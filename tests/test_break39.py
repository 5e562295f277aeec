"""Break-it review of session 39 (helper brk39): the template view reads prompts as detection compares them."""

from __future__ import annotations

import datetime as dt
import random
import string

import polars as pl
import pytest

import graphlink
from graphlink.views.templates import reconstruct_templates

TEMPLATE = ("You are an expert analyst. Think step by step about {x} and explain every intermediate step of your "
            "reasoning in detail")


def _disguised(text: str, insert: str, rng: random.Random) -> str:
    """``insert`` dropped inside every word of two letters or more."""
    return " ".join(w[:(k := rng.randrange(1, len(w)))] + insert + w[k:] if len(w) > 1 else w for w in text.split(" "))


def _prompts(insert: str) -> list[tuple[str, str]]:
    rng = random.Random(1)
    return [(f"a{i}", _disguised(TEMPLATE.format(x=rng.choice(["cats", "dogs", "tax law", "rust"]) + f" case {i}"),
                                 insert, rng)) for i in range(30)]


@pytest.mark.parametrize("insert", ["\x07", "\x1b", "\x7f", "\x9b", "\x1c", "\u200b", "\u0301"])
def test_templates_see_through_what_detection_removes(insert):
    """Detection removes control, format and combining characters before comparing, and found the ring 100%
    templated; the template view tokenised the raw prompts and rebuilt nothing (a BEL, ESC, DEL, C1, a zero-width
    space or an accent inside every word), or garbled words (``\\x1c``-``\\x1f``, which Python's ``\\s`` splits at)."""
    clean = reconstruct_templates(prompts=_prompts(""))
    assert clean
    disguised = reconstruct_templates(prompts=_prompts(insert))
    assert disguised and len(disguised[0].parts) == len(clean[0].parts)
    assert [v for _, v in disguised[0].parts] == [v for _, v in clean[0].parts]  # constant and variable alike


def test_look_alike_letters_read_as_the_template():
    """Cyrillic look-alikes in half the copies: one template, as detection folds them (TR39 confusables)."""
    rng = random.Random(3)
    prompts = [(f"a{i}", TEMPLATE.format(x=f"cats case {i}").replace("e", "\u0435" if i % 2 else "e"))
               for i in range(30)]
    found = reconstruct_templates(prompts=prompts)
    assert found and found[0].accounts == 30, rng


def _ring_world(insert: str) -> pl.DataFrame:
    """40 accounts on 4 shared /24s and one client, sending one template (numbered fill); 300 others."""
    rng = random.Random(7)
    t0 = dt.datetime(2025, 1, 6, tzinfo=dt.timezone.utc)
    rows = []
    for a in range(40):
        for j in range(20):
            text = _disguised(TEMPLATE.format(x=rng.choice(["cats", "dogs", "tax law"]) + f" case {rng.randrange(1000)}"),
                              insert, rng)
            rows.append((f"ring_{a:03d}", t0 + dt.timedelta(hours=rng.random() * 300),
                         f"10.99.{j % 4}.{rng.randrange(256)}", f"pf_{a}", text, "ua-ring"))
    vocab = ["".join(rng.choice(string.ascii_lowercase) for _ in range(6)) for _ in range(5000)]
    for b in range(300):
        for j in range(10):
            rows.append((f"user_{b:04d}", t0 + dt.timedelta(hours=rng.random() * 300), f"172.{b}.{j}.1", f"pf_u{b}",
                         " ".join(rng.choice(vocab) for _ in range(12)), f"ua-{b % 17}"))
    return pl.DataFrame(rows, schema=["account_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent"],
                        orient="row")


def test_cluster_templates_with_a_bel_in_every_word():
    """End to end: ``ClusterView.templates()`` (the report's template view) of a ring with a BEL in every word."""
    result = graphlink.detect(_ring_world("\x07"))
    ring = result.accounts.filter(pl.col("account_id") == "ring_000")["cluster_id"][0]
    assert ring is not None
    templates = result.cluster(ring).templates()
    texts = [t.raw_text() for t in templates]
    # quoted as written (raw_text(); text() is made safe to print, session 41), read as the template
    assert texts and "You are an expert analyst. Think step by step about" in texts[0].replace("\x07", "")
    assert "\x07" not in templates[0].text() and "T⟨U+0007⟩hink" in templates[0].text()


def test_camel_case_with_look_alike_capitals_is_split_as_plain_camel_case():
    """``YouАreАnExpert`` (Cyrillic А at the word boundaries) normalised to ``youarean expert``: the CamelCase split
    ran on ASCII letters before look-alikes were folded, so copies varying which capitals are look-alikes read as
    different words (break-it review, session 39: template_share 1.0 -> 0.82 in its world). Detection, the quotes'
    words (written_words) and the views' tokens split alike."""
    from graphlink.stages.signals.normalise import normalise_prompt, written_words
    from graphlink.views.tokens import keyed_tokens

    texts = ["YouAreAnExpertAnalyst", "You\u0410re\u0410nExpertAnalyst", "YouAreAn\u0415xpertAnalyst",
             "\u0443\u043e\u0438\u0410re"]  # the last: Cyrillic lower-case letters before a Cyrillic capital
    frame = pl.DataFrame({"p": texts})
    assert frame.select(normalise_prompt(pl.col("p")))["p"].to_list()[:3] == ["you are an expert analyst"] * 3
    words = frame.select(normalise_prompt(pl.col("p")).str.split(" ").list.len().alias("n"),
                         written_words(pl.col("p")).list.len().alias("w"))
    assert words["n"].to_list() == words["w"].to_list()  # one written word per normalised word: quotes line up
    assert [[w for w, _, _ in t] for t in keyed_tokens(texts[:3])] == [["you", "are", "an", "expert", "analyst"]] * 3
