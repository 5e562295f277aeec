"""Investigator-view leftovers of session 42 (helper ev43): evidence quotes every template of a cluster (up to
``evidence_per_kind`` of them, 3 phrases each), ``show --json`` lists the templates, a template of exactly ``ngram``
words is found, two templates sharing a clause are not chained into one. Each test failed on main 8a41cfc."""
import random
import re

import polars as pl

from graphlink.stages.evidence import top_per_kind

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def template(k: int, words: int = 10) -> str:
    """A template of ``words`` words no other ``k`` writes (its own first word)."""
    rng = random.Random(k)
    return " ".join([f"t{k}", *rng.sample(WORDS, words - 1)])


def shingles(text: str) -> list[str]:
    w = text.split()
    return [" ".join(w[i:i + 5]) for i in range(len(w) - 4)]


def frames(values: list[tuple[str, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``shared, signals`` of one cluster whose members share the prompt ``values`` (value, holders), weight 0.2."""
    order = list(range(len(values)))
    random.Random(5).shuffle(order)  # numbered as by hash: not along the templates
    signals = pl.DataFrame({"signal_idx": order, "kind": ["prompt"] * len(values), "value": [v for v, _ in values],
                            "weight": [0.2] * len(values), "df": [12] * len(values)},
                           schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    shared = pl.DataFrame({"cluster_id": [1] * len(values), "signal_idx": order, "accounts_sharing": [n for _, n in values]},
                          schema_overrides={"signal_idx": pl.UInt32, "accounts_sharing": pl.UInt32})
    return shared, signals


def test_each_of_five_templates_is_quoted_by_three_phrases():
    texts = [template(k) for k in range(5)]
    values = [(s, 10 - k) for k, t in enumerate(texts) for s in shingles(t)]  # the fifth held by fewest
    shared, signals = frames(values)
    kept = top_per_kind(shared, 10, signals)["value"].to_list()
    # got on main: 10 rows, 3 + 3 + 3 + 1 phrases of the first four templates, the fifth unquoted
    assert [sum(v in shingles(t) for v in kept) for t in texts] == [3, 3, 3, 3, 3]
    # A cluster of many templates quotes per_kind of them (30 rows by default), the strongest; cut again, the same.
    texts = [template(k) for k in range(12)]
    shared, signals = frames([(s, 20 - k) for k, t in enumerate(texts) for s in shingles(t)])
    whole = top_per_kind(shared, 10, signals)
    assert [sum(v in shingles(t) for v in whole["value"]) for t in texts] == [3] * 10 + [0, 0]
    again = top_per_kind(top_per_kind(shared, 50, signals), 10, signals)
    assert again["value"].to_list() == whole["value"].to_list()


#: A ring's four templates, one with a right-to-left override and one with an ANSI escape (attacker text).
RING_TEMPLATES = ["Think step by step and show all of your reasoning about {} in detail please",
                  "Translate into formal French \u202e and keep every proper name of {} unchanged",
                  "Write a short poem with \x1b[2J rhymes about the {} and the sea tonight",
                  "Summarise the following news story about {} in three plain sentences now"]


def test_show_json_lists_the_templates_escaped_and_says_more_were_found(tmp_path):
    import json

    from conftest import planted_world
    from typer.testing import CliRunner

    import graphlink
    from graphlink.cli import app

    events, rings = planted_world(3, n_background=30)
    ring = pl.col("account_id").is_in(rings["template"])
    sent = events.filter(ring).with_row_index("k")
    topics = sent["prompt"].str.extract(r"about (\w+) in").to_list()
    prompts = [RING_TEMPLATES[k % 4].format(w) for k, w in enumerate(topics)]
    events = pl.concat([events.filter(~ring), sent.drop("k").with_columns(pl.Series("prompt", prompts))])
    events.write_parquet(tmp_path / "events.parquet")
    graphlink.detect(tmp_path / "events.parquet").save(tmp_path / "out")
    accounts = pl.read_parquet(tmp_path / "out" / "accounts.parquet")
    cid = accounts.filter(pl.col("account_id") == "tmpl00")["cluster_id"][0]
    shown = CliRunner().invoke(app, ["show", str(tmp_path / "out"), str(cid), "--json", "--members", "0",
                                     "--evidence", "0"]).output
    # got on main: no templates in the JSON (the terminal listed them)
    case = json.loads(shown)
    assert case["templates_listed"] == 3 and case["templates_more"] is True and len(case["templates"]) == 3
    french = [t for t in case["templates"] if t["text"].startswith("Translate")]
    assert french and french[0]["text"] == "Translate into formal French ⟨U+202E⟩ and keep every proper name of ⟨…⟩ unchanged"
    assert "".join(p if not v else "" for p, v in french[0]["parts"]).startswith("Translate into formal French \u202e")
    assert "\u202e" not in shown and "\x1b" not in shown and "\\u202e" in shown  # escaped, parsed back as written
    # nu43: export's case files carried no templates; they list what show --json lists
    exported = CliRunner().invoke(app, ["export", str(tmp_path / "out"), "-f", "json", "--clusters", str(cid)])
    assert exported.exit_code == 0, exported.output
    filed = json.loads((tmp_path / "out" / "cases" / f"cluster-{cid}.json").read_text(encoding="utf-8"))
    assert [t["text"] for t in filed["templates"]] == [t["text"] for t in case["templates"]]
    assert filed["templates_more"] is True and list(filed).index("templates") == list(filed).index("evidence") + 1
    # nu43: the templates past the third could not be reached from the CLI
    four = json.loads(CliRunner().invoke(app, ["show", str(tmp_path / "out"), str(cid), "--json", "--members", "0",
                                               "--evidence", "0", "--max-templates", "4"]).output)
    assert four["templates_listed"] == 4 and four["templates_more"] is False and len(four["templates"]) == 4
    plain = CliRunner().invoke(app, ["show", str(tmp_path / "out"), str(cid), "--json", "--no-templates"]).output
    assert "templates" not in json.loads(plain)
    # nu43: the report's sentence saying more templates were found ran on from the phrase count with no full stop
    report = CliRunner().invoke(app, ["report", str(tmp_path / "out"), "--out", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert re.search(r"[.!?] The 3 templates most accounts follow are listed", html)
    assert not re.search(r"[\w)] The 3 templates most accounts follow", html)


def test_two_templates_sharing_a_four_word_clause_are_two():
    from graphlink.stages.evidence import prompt_templates
    from graphlink.views.templates import reconstruct_templates

    tutor = "You are a careful tutor who will read the question twice before answering in formal English"
    poem = "Write me a short poem and then read the question twice then reply with rhyming couplets"
    a, b = shingles(tutor), shingles(poem)
    got = prompt_templates(pl.DataFrame({"cluster_id": [1] * (len(a) + len(b)), "value": a + b}))
    # got on main: one template of all 24 phrases (chained through "read the question twice")
    assert not set(got.filter(pl.col("value").is_in(a))["template"]) & set(got.filter(pl.col("value").is_in(b))["template"])
    # Without prompts (a redacted view) each chain is a template: none reads one template's opening into the other's
    # ending (main: "write me a short poem and then read the question twice before answering in formal english").
    chains = [t.text() for t in reconstruct_templates(a + b, max_templates=10)]
    assert chains and all(c in tutor.lower() or c in poem.lower() for c in chains)


def test_a_template_of_ngram_words_is_found_and_a_shorter_one_is_not():
    """Pinned (not a fix): the template view knows phrases of ``ngram`` words (detection's shingles), so a template
    of 5 words is found at ngram 5 -- alone or after a varying request -- and one of 4 is not (it shares no shingle:
    "please answer now quickly", the case session 42 reported as a 5-word template)."""
    from graphlink.views.templates import reconstruct_templates

    asks = ["the weather", "cats and dogs", "x plus y", "my homework", "a riddle", "the news today"]
    for tail, found in (("please answer me now quickly", True), ("please answer now quickly", False)):
        prompts = [(f"a{i}", f"{ask} {tail}") for i, ask in enumerate(asks)]
        got = [t.text() for t in reconstruct_templates(prompts=prompts, ngram=5)]
        assert got == ([f"⟨…⟩ {tail}"] if found else [])


def test_the_template_view_normalises_each_written_word_once(monkeypatch):
    """Reading behind a shared head tokenised and normalised the same words again, a polars call each time (the
    view's CPU doubled in session 42); now each written word is normalised once, with the same templates."""
    import graphlink.views.tokens as tokens
    from graphlink.views.templates import reconstruct_templates

    calls = []
    real = tokens.normalise_prompt
    monkeypatch.setattr(tokens, "normalise_prompt", lambda *a, **k: calls.append(1) or real(*a, **k))
    head = ("You are OrbitAgent, a helpful assistant built on the orbit framework. Follow the user's instructions "
            "carefully and answer in plain words.")
    asks = ["cats", "dogs", "the weather", "rivers", "stones", "clouds", "gardens", "music"]
    prompts = [(f"a{i}", f"{head} Translate the following paragraph into formal French and keep every name: {w}")
               for i, w in enumerate(asks[:4])]
    prompts += [(f"b{i}", f"{head} Write a short poem with rhyming couplets about the sea and about {w} tonight")
                for i, w in enumerate(asks[4:])]
    got = sorted(t.text() for t in reconstruct_templates(prompts=prompts, max_templates=5))
    assert got == [f"{head} Translate the following paragraph into formal French and keep every name: ⟨…⟩",
                   f"{head} Write a short poem with rhyming couplets about the sea and about ⟨…⟩ tonight"]
    # got on main: 4 calls (the sample, then again for the text behind the head and the templates behind it)
    assert len(calls) <= 1
