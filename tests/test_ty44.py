"""Session 44: misspelt words are read as the log's words (graphlink.stages.signals.typos.read_typos, after words run
together in read_camel). A ring putting a typo in every word of its template's copies was not flagged (session 43:
template share 0.00)."""
import random
import re

import polars as pl

import graphlink
from _rings import ring_cluster, ring_world
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt

# Words the fixture log writes hundreds to thousands of times (other people's prompts), never in this order.
TEMPLATE = ("Explain your reasoning for each step of this problem, check the result with the previous answer, then "
            "write the final answer in simple terms: {}")
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(word: str, rng: random.Random) -> str:
    """``word`` with one typo (a letter deleted, inserted, substituted, or two adjacent letters swapped)."""
    i, kind = rng.randrange(len(word)), rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i] + rng.choice(LETTERS) + word[i:]
    if kind == 2:
        return word[:i] + rng.choice(LETTERS.replace(word[i].lower(), "")) + word[i + 1:]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if word[i] != word[i + 1] else word[:i] + word[i + 1:]


def _misspelt(text: str, rng: random.Random) -> str:
    """``text`` with a typo in every word of three letters or more (punctuation kept)."""
    out = []
    for token in text.split(" "):
        core = token.rstrip(",.:")
        out.append((_typo(core, rng) if len(core) >= 3 and core.isalpha() else core) + token[len(core):])
    return " ".join(out)


def _read(texts: list[str]) -> list[str]:
    frame = pl.DataFrame({"norm": texts}).select(normalise_prompt(pl.col("norm"), MARK))
    return read_camel(frame)["norm"].to_list()


def test_a_ring_misspelling_every_word_of_its_template_stays_templated_and_flagged():
    row = ring_cluster(graphlink.detect(ring_world(lambda rng: _misspelt(TEMPLATE.format(rng.randint(1, 10**6)), rng))))
    # 63bfd93: template share 0.00, not flagged (every shingle of every copy its own)
    assert row["template_share"] >= 0.8
    assert row["flagged"]


def _log(rng: random.Random) -> list[str]:
    """Ordinary texts writing words one edit apart at English-like rates ("the" 60 times "then", "from" 15 times
    "form"), and a ring's 60 copies of a template misspelling every word (so that "the", "then", "from" and "for" are
    misspelt many ways in the log, as a typo'd template makes them)."""
    rows = (["tell me the story of the city"] * 600 + ["first do this then do that"] * 10
            + ["this one is better than the other one"] * 4 + ["please fill in the form for me"] * 2
            + ["a letter from my bank for the rent"] * 30 + ["what is the plan for the day"] * 60
            + ["they said them and their friends"] * 6)
    template = "then write the answer from the text for the class and check it"
    return rows + [_misspelt(template, rng) for _ in range(60)]


def test_words_one_edit_apart_that_the_log_writes_are_not_merged_so_strangers_stay_apart():
    rng = random.Random(5)
    texts = _log(rng)
    # strangers writing one sentence with a word one edit from another the log writes far more often
    strangers = ["i did it better then the other one", "i did it better than the other one",
                 "send me the form for the payment", "send me the from for the payment",
                 "send me the fro for the payment"]
    read = _read(texts + strangers)
    # ("fro" is "for" swapped and "from" with a letter deleted, and the log writes them within a factor of 10: a tie)
    assert read[-5:] == strangers
    assert len(set(read[-5:])) == 5  # (no two strangers' texts read alike)
    # while the ring's misspellings of "the" (written 600 times as often) are read as "the"
    ring = read[len(texts) - 60:len(texts)]
    assert sum(r.split(" ").count("the") for r in ring) >= 0.6 * 3 * 60


def test_identifiers_and_hashes_are_read_as_written_next_to_misspelt_words():
    rng = random.Random(9)
    texts = _log(rng)
    ids = ["key sk_live_4eC39HqLyjWDarjtT1zdp7dc for teh api", "hash d41d8cd98f00b204e9800998ecf8427e from teh text",
           "user thex0 and frm2 then sh1 teh class", "acct_0004bac1430 answer checkit teh12 teh"]
    written = _read(ids)
    # every token as written, but the misspelling "teh" of "the", which the log misspells many ways
    assert _read(texts + ids)[-4:] == [re.sub("(?<![^ ])teh(?![^ ])", "the", w) for w in written]
    assert all(" teh" in w for w in written)


def test_the_scenario_family_draws_operators_that_misspell_their_templates(tmp_path):
    # The measuring stick learns the disguise: a quarter of operators give each word of their templates a typo with
    # probability 0.3-1.0, on a stream of its own (worlds without it byte-identical to 63bfd93's: templates 1000, 1001).
    from graphlink.lab.simulate.scenarios import draw_params, write_scenario

    typos = [op["typos"] for seed in range(40) for op in draw_params("mixed", seed, "tiny")["operators"]]
    assert all(t == 0.0 or 0.3 <= t <= 1.0 for t in typos) and 0.1 < sum(t > 0 for t in typos) / len(typos) < 0.45
    ops = draw_params("mixed", 4, "tiny")["operators"]
    assert [op["typos"] for op in ops] == [0.0, 0.605]
    write_scenario(tmp_path, "mixed", 4, "tiny")
    events = pl.read_parquet(tmp_path / "events.parquet").join(pl.read_parquet(tmp_path / "labels.parquet"), on="account_id")
    words = pl.col("prompt").str.to_lowercase().str.extract_all("[a-z]{3,}")
    ordinary = events.filter(pl.col("kind") == "benign").select(words.explode().unique())["prompt"]
    unknown = (events.filter(pl.col("campaign_id").is_not_null()).select("campaign_id", words.alias("w")).explode("w")
               .group_by("campaign_id").agg((~pl.col("w").is_in(ordinary.implode())).mean()).sort("campaign_id"))
    # (words no ordinary person writes: the template's own and, of the misspelling operator, its typos)
    assert unknown["w"][0] < 0.3 and unknown["w"][1] > 0.45


def test_the_template_view_reads_misspelt_words_as_detection_does():
    from graphlink.views.tokens import keyed_tokens

    spaced = "Reason through every step and check each intermediate calculation."
    rng = random.Random(2)
    texts = [spaced] * 100 + [_misspelt(spaced, rng) for _ in range(12)]  # (each word misspelt about 12 ways)
    words = [[w for w, _, _ in t] for t in keyed_tokens(texts)]
    # 63bfd93: each copy keyed its misspellings (none as the spaced copies); a letter inserted into "and" is kept
    read = [sum(a == b for a, b in zip(w, words[0])) for w in words[-12:]]
    assert all(n >= 8 for n in read) and sum(n == 9 for n in read) >= 8


def test_match_finds_ring_newcomers_misspelling_the_templates_words(tmp_path):
    from test_break_match16 import day_two, known_run, templated

    known, ring = known_run(tmp_path / "known", templated)
    found = graphlink.match(known, day_two("typo", lambda rng: _misspelt(templated(rng), rng))).matches["cluster_id"]
    # 63bfd93: 0 of 10 matched (every shingle of every copy its own)
    assert found.to_list().count(ring) >= 8
