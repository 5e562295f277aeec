"""Break-it review of session 42's CamelCase reading (graphlink.stages.signals.camel.read_camel)."""
import random
import time

import polars as pl
import pytest

import graphlink
from _rings import ring_cluster, ring_world
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt
from test_break_match16 import day_two, known_run, templated

# Words no prompt of the fixture log writes: no copy need write them whole for the ring to hide them.
RARE = ("Zorblax hyperdimensional cognisance engine: decompose conundrums into axiomatic fragments, "
        "enumerate inferential lemmata, adjudicate syllogisms thereafter. Conundrum: {}")


def _one_capital_inside_each_word(text: str, rng: random.Random) -> str:
    out = []
    for word in text.split(" "):
        letters = [i for i, c in enumerate(word) if c.isalpha()]
        if len(letters) >= 2:
            i = rng.choice(letters[1:])
            word = word[:i].lower() + word[i].upper() + word[i + 1:].lower()
        out.append(word)
    return " ".join(out)


def _read(texts: list[str]) -> list[str]:
    frame = pl.DataFrame({"norm": texts}).select(normalise_prompt(pl.col("norm"), MARK))
    return read_camel(frame)["norm"].to_list()


def test_a_word_marked_at_different_places_is_read_whole_though_no_text_writes_it_whole():
    assert _read(["a zorBlax", "the zorblAx", "zOrblax engine"]) == ["a zorblax", "the zorblax", "zorblax engine"]
    # CamelCase marks alike in every copy: still split where no text writes the joined word
    assert _read(["YouAreZorblax now", "YouAreZorblax then"]) == ["you are zorblax now", "you are zorblax then"]


def test_a_ring_putting_one_capital_inside_every_word_of_a_rare_template_stays_templated_and_flagged():
    world = ring_world(lambda rng: _one_capital_inside_each_word(RARE.format(rng.randint(1, 10**6)), rng))
    row = ring_cluster(graphlink.detect(world))
    # 53e46b0: template share 0.12, not flagged (no copy writes a word whole, so each copy split differently)
    assert row["template_share"] >= 0.9
    assert row["flagged"]


@pytest.mark.parametrize("concentration", [None, 0.6])  # detect's index; templates.parquet counted again
def test_match_finds_ring_newcomers_whose_capitals_never_leave_a_word_of_the_template_whole(tmp_path, concentration):
    known, ring = known_run(tmp_path / "known", templated)
    log = day_two("cap", lambda rng: _one_capital_inside_each_word(templated(rng), rng))
    # every copy writes "bY", "oF" (one place for a capital inside a 2-letter word): the new log alone writes no
    # "by", so read "b y" where detect read "by". 53e46b0: 0 of 10 matched
    more = {} if concentration is None else {"min_concentration": concentration}
    assert graphlink.match(known, log, **more).matches["cluster_id"].to_list() == [ring] * 10


def _long_camel(rng: random.Random) -> str:
    letters = "".join(rng.choice("abcdefghij") for _ in range(1200))
    return letters[:600] + letters[600].upper() + letters[601:] + " please summarise"


def test_detect_reads_a_log_whose_prompts_open_with_long_camelcase_tokens():
    # 200 distinct 1,200-letter tokens with a capital inside, within the prompt heads detect reads (1,536 characters).
    # 53e46b0: polars refused the pre-filter's regex of their joined words (past 10 MB) and detect raised
    world = ring_world(_long_camel, accounts=40, each=5)
    result = graphlink.detect(world)
    assert result.accounts.filter(pl.col("account_id").str.starts_with("case_ring_")).height == 40


def test_read_camel_costs_little_on_pathological_tokens():
    rng = random.Random(5)
    long = ["".join(rng.choices("abcdefgh", k=100_000)) for _ in range(100)]
    texts = [w[:500] + MARK + w[500:] for w in long] + [MARK.join(["ab"] * 50_000)]
    start = time.perf_counter()
    out = read_camel(pl.DataFrame({"norm": texts}))["norm"].to_list()
    assert out[0] == long[0][:500] + " " + long[0][500:] and out[-1] == " ".join(["ab"] * 50_000)
    assert time.perf_counter() - start < 10  # 53e46b0: raised (regex past 10 MB)


def test_greek_written_in_capitals_reads_as_in_lower_case_final_sigma_too():
    texts = ["λόγος και πράξη οδός", "ΛΟΓΟΣ ΚΑΙ ΠΡΑΞΗ ΟΔΟΣ", "λόγοΣ καΙ πράξΗ οδόΣ"]
    # 39e29b3 and 53e46b0: "λoyoσ" (final sigma folded to σ) against "λoyoo" (Σ and σ fold to the look-alike "o")
    assert len(set(_read(texts))) == 1
    assert len(set(pl.DataFrame({"p": texts[:2]}).select(normalise_prompt(pl.col("p")))["p"])) == 1
