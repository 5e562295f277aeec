"""Session 43: words run together are read as the log's words (graphlink.stages.signals.runs.read_runs, after
CamelCase in read_camel). A ring writing its template's words without spaces in some copies (0.48 on 8a41cfc), or in
CamelCase sprinkled with more capitals on a rare-word template (0.58), was not flagged."""
import random
import time

import polars as pl

import graphlink
from _rings import ring_cluster, ring_world
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt

# Words no prompt of the fixture log writes: only the ring's spaced copies write them alone.
RARE = ("Zorblax hyperdimensional cognisance engine: decompose conundrums into axiomatic fragments, "
        "enumerate inferential lemmata, adjudicate syllogisms thereafter. Conundrum: {}")


def _read(texts: list[str]) -> list[str]:
    frame = pl.DataFrame({"norm": texts}).select(normalise_prompt(pl.col("norm"), MARK))
    return read_camel(frame)["norm"].to_list()


def _disguised(rng: random.Random) -> str:
    words, fill = RARE.split(" "), rng.randint(1, 10**6)
    way = rng.randrange(3)
    if way == 0:  # the whole template run together, capitals as written
        return "".join(words[:-1]).format() + " " + words[-1].format(fill)
    if way == 1:  # its first 12 words in CamelCase, 10 % more capitals at random
        camel = "".join(w.capitalize() for w in words[:12]) + " " + " ".join(words[12:])
        return "".join(c.upper() if c.islower() and rng.random() < 0.1 else c for c in camel.format(fill))
    return RARE.format(fill)


def test_a_ring_running_its_templates_words_together_stays_templated_and_flagged():
    row = ring_cluster(graphlink.detect(ring_world(_disguised)))
    # 8a41cfc: template share 0.33, not flagged (each disguise alone: 0.48 and 0.58)
    assert row["template_share"] >= 0.9
    assert row["flagged"]


def test_a_long_token_is_read_as_the_words_the_texts_write_alone_and_kept_where_they_do_not():
    texts = ["you are a meticulous tutor", "are you a tutor", "YouAreAMeticulousTutorNOw please",
             "youareameticuloustutor now", "zorblaxquintessential", "JavaScriptDeveloper"]
    assert _read(texts)[2:] == ["you are a meticulous tutor now please", "you are a meticulous tutor now",
                                "zorblaxquintessential", "java script developer"]


def test_rare_words_past_the_sampled_texts_cut_a_run_and_many_runs_cost_little():
    rng = random.Random(3)
    # 60,000 ordinary texts first (the words' frequencies are the first 50,000's), then a ring's copies with its rare
    # words spaced and run together, and 3,000 distinct 40-letter runs of random letters written once (no cut)
    noise = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=40)) for _ in range(3000)]
    texts = ([f"you are a helpful assistant give me an example of item {i}" for i in range(60_000)]
             + [f"you are zorblax a hyperdimensional cognisance engine {i}" for i in range(3)]
             + [f"youarezorblaxahyperdimensionalcognisanceengine {i}" for i in range(3)] + noise)
    start = time.perf_counter()
    out = read_camel(pl.DataFrame({"norm": texts}))["norm"]
    assert out.slice(60_000, 6).to_list() == texts[60_000:60_003] * 2
    assert out.tail(3000).to_list() == noise
    assert time.perf_counter() - start < 10  # (about 1 s)


def test_match_finds_ring_newcomers_running_the_templates_words_together(tmp_path):
    from test_break_match16 import day_two, known_run, templated

    def joined(rng: random.Random) -> str:
        words = templated(rng).split(" ")
        return "".join(words[:14]) + " " + " ".join(words[14:])

    known, ring = known_run(tmp_path / "known", templated)
    # 8a41cfc: 0 of 10 matched (the joined run is one word no known shingle holds)
    assert graphlink.match(known, day_two("run", joined)).matches["cluster_id"].to_list() == [ring] * 10
