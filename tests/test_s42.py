"""Session 42: random letter case is not CamelCase (break-it review, session 41: 10 % of a Latin template's letters
flipped to upper case at random cut its template share from 1.0 to 0.42 and unflagged a 12-account ring, because the
CamelCase split cut every flipped word in two). A CamelCase token is read whole when the texts compared write its
lower-case form as a word (graphlink.stages.signals.camel.read_camel); a template written in CamelCase still splits.
"""
import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest

import graphlink
from _rings import ring_cluster, ring_world
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt
from test_break_match16 import day_two, known_run, templated

FIXTURES = Path(graphlink.__file__).resolve().parents[1] / "fixtures"
TEMPLATE = ("You are a meticulous tutor. Reason through the following problem step by step, writing out every "
            "intermediate thought before you answer. Problem: {}")


def _flip(text: str, rng: random.Random, share: float) -> str:
    return "".join(c.upper() if rng.random() < share else c.lower() for c in text)


@pytest.mark.parametrize("share", [0.1])  # (30-90 %: tests/test_brk42.py's grid, measured)
def test_a_ring_flipping_its_templates_letter_case_at_random_stays_templated_and_flagged(share, tmp_path):
    ring_world(lambda rng: _flip(TEMPLATE.format(rng.randint(1, 10**6)), rng, share)).write_parquet(tmp_path / "e.parquet")
    result = graphlink.detect(tmp_path / "e.parquet")  # (a file: the template view reads the prompts back)
    row = ring_cluster(result)
    # 39e29b3: template_share 0.42 and not flagged at 0.1 (0.23 at 0.3); 1.0 and flagged with no flips
    assert row["template_share"] >= 0.9
    assert row["flagged"]
    # the template view: one template of the ring's 12 accounts, its words in lower case where the prompts' case
    # varies (new-user review nu42: one prompt's random casing read as the template's, "You ARe An ExpeRT tutor")
    templates = result.cluster(row["cluster_id"]).templates()
    assert templates[0].accounts == 12
    assert "reason through the following problem step by step" in templates[0].text()


def test_a_ring_writing_its_template_in_camelcase_in_half_its_prompts_still_shares_it():
    camel = "".join(w.capitalize() for w in TEMPLATE.split(" ")[:12]) + " " + " ".join(TEMPLATE.split(" ")[12:])
    world = ring_world(lambda rng: (camel if rng.random() < 0.5 else TEMPLATE).format(rng.randint(1, 10**6)))
    row = ring_cluster(graphlink.detect(world))
    assert row["template_share"] >= 0.9 and row["flagged"]


def _marked(texts: list[str]) -> list[str]:
    frame = pl.DataFrame({"norm": texts}).select(normalise_prompt(pl.col("norm"), MARK))
    return read_camel(frame)["norm"].to_list()


def test_a_camelcase_token_is_read_whole_only_where_the_texts_write_it_whole():
    texts = ["a meTicuLous tutor", "the meticulous one", "YouAreAn expert", "JavaScript help", "iPhone fix"]
    assert _marked(texts) == ["a meticulous tutor", "the meticulous one", "you are an expert", "java script help",
                              "i phone fix"]
    # the same tokens once another text writes them whole
    assert _marked([*texts, "youarean", "javascript and iphone"])[2:5] == ["youarean expert", "javascript help",
                                                                           "iphone fix"]
    # pure normalisation (the views' per-word keys, the quotes' check) still splits every boundary
    assert pl.DataFrame({"p": ["meTicuLous"]}).select(normalise_prompt(pl.col("p")))["p"][0] == "me ticu lous"


def test_read_camel_keeps_rows_order_other_columns_and_nulls_and_handles_many_words():
    words = [f"w{i:04d}x" for i in range(600)]  # past the pre-filter's regex bound: the Aho-Corasick path
    flipped = [w[:2] + MARK + w[2:] for w in words]
    frame = pl.DataFrame({"k": list(range(603)), "norm": [*flipped, None, " ".join(words[:300]), f"q{MARK}r"]})
    out = read_camel(frame)
    assert out["k"].to_list() == frame["k"].to_list()
    assert out["norm"].to_list() == [*words[:300], *[w[:2] + " " + w[2:] for w in words[300:]], None,
                                     " ".join(words[:300]), "q r"]
    assert frame["norm"][0] == flipped[0]  # the caller's frame is not written to
    small = read_camel(frame.slice(0, 2).vstack(frame.slice(601, 1)))  # the regex path: the same reading
    assert small["norm"].to_list() == [*words[:2], " ".join(words[:300])]
    assert read_camel(frame.slice(300, 2))["norm"].to_list() == [w[:2] + " " + w[2:] for w in words[300:302]]


def test_match_finds_a_ring_newcomer_flipping_the_templates_case(tmp_path):
    known, ring = known_run(tmp_path / "known", templated)
    log = day_two("flp", lambda rng: _flip(templated(rng), rng, 0.2))
    # 39e29b3: 0 of 10 matched (every flipped word split in two); 10 of 10 without flips
    assert graphlink.match(known, log).matches["cluster_id"].to_list() == [ring] * 10


CYRILLIC = ("Ты внимательный репетитор. Рассуждай над следующей задачей шаг за шагом и записывай каждую "
            "промежуточную мысль перед ответом. Задача: {}")


def test_a_ring_writing_its_cyrillic_template_in_camelcase_in_half_its_prompts_still_shares_it():
    words = CYRILLIC.split(" ")
    camel = "".join(w.capitalize() for w in words[:10]) + " " + " ".join(words[10:])
    world = ring_world(lambda rng: (camel if rng.random() < 0.5 else CYRILLIC).format(rng.randint(1, 10**6)))
    row = ring_cluster(graphlink.detect(world))
    # 39e29b3 (a split after a Latin lower-case letter only): the CamelCase half read as one 10-word "word"
    assert row["template_share"] >= 0.9 and row["flagged"]


def test_the_scenario_family_draws_operators_that_flip_their_templates_letter_case(tmp_path):
    from graphlink.lab.simulate.scenarios import draw_params, write_scenario

    flips = [op["case_flip"] for seed in range(40) for op in draw_params("templates", seed, "tiny")["operators"]]
    assert all(f == 0.0 or 0.05 <= f <= 0.3 for f in flips) and 0.1 < sum(f > 0 for f in flips) / len(flips) < 0.45
    seed = next(s for s in range(40) if any(op["case_flip"] > 0 and op["lang"] == "en"
                                            for op in draw_params("templates", s, "tiny")["operators"]))
    write_scenario(tmp_path, "templates", seed, "tiny")
    events = pl.read_parquet(tmp_path / "events.parquet").join(pl.read_parquet(tmp_path / "labels.parquet"), on="account_id")
    inner = pl.col("prompt").str.contains(r"[a-z][A-Z][a-z]")  # a capital inside a word
    share = events.group_by("campaign_id").agg(inner.mean()).sort("campaign_id")
    params = draw_params("templates", seed, "tiny")["operators"]
    checked = 0
    for campaign, mean in share.drop_nulls("campaign_id").iter_rows():
        if params[campaign]["case_flip"] == 0:
            assert mean < 0.05, (campaign, mean)
        elif params[campaign]["lang"] == "en":  # (Chinese templates have no letters to flip)
            assert mean > 0.3, (campaign, mean)
            checked += 1
    assert checked


def test_ids_differing_only_in_control_characters_export_apart_and_are_found_again(tmp_path):
    import csv

    from graphlink.views.export import export

    ids = ["bob\x07", "bob\x1b", "bob\u2063", *[f"bob{i}" for i in range(5)]]
    rng = random.Random(3)
    # The fixture's first 6,000 events as others around the ring (was all 77,000: a fixture-sized detect, ~4 CPU-s
    # more, for ids whose export and lookup do not depend on how many others there are).
    background = pl.read_parquet(FIXTURES / "events.parquet").head(6000)
    t0 = dt.datetime(2025, 1, 8, tzinfo=dt.timezone.utc)
    rows = [dict(account_id=account, timestamp=t0 + dt.timedelta(minutes=rng.randint(0, 5000)),
                 ip=f"10.9.0.{rng.randint(1, 3)}", payment_fingerprint="pf_bob",
                 prompt=TEMPLATE.format(rng.randint(1, 10**6)), user_agent="custom-agent/1")
            for account in ids for _ in range(4)]
    log = pl.concat([background, pl.DataFrame(rows, schema=background.schema)])
    out = graphlink.detect(log).save(tmp_path / "out")
    members = export(out, "csv", "all", out=tmp_path / "csv").paths[0]
    with members.open(newline="", encoding="utf-8") as handle:
        cells = [row["account_id"] for row in csv.DictReader(handle) if row["account_id"].startswith("bob")]
    # 39e29b3: "bob\x07" and "bob\x1b" both written "bob\ufffd", one cell for two accounts, found by neither
    assert len(cells) == len(ids) and len(set(cells)) == len(ids)
    listed = tmp_path / "ids.csv"
    listed.write_text("account_id\n" + "\n".join(c for c in cells if "U+" in c) + "\n", encoding="utf-8")
    found = graphlink.match(out, listed).matches
    # bob\u2063 too: an invisible character is spelled in the CSV as a control character is (session 47)
    assert sorted(found["account_id"].to_list()) == sorted(ids[:3]) and found["cluster_id"].null_count() == 0


FIVE = ["You are a meticulous tutor. Reason through the following problem step by step before you answer. Problem: {}",
        "Act as a strict grader of student essays and list every flaw you can find in the essay below. Essay: {}",
        "Translate the passage below into formal French, keeping every technical term exactly as written. Passage: {}",
        "Summarise the following article in five bullet points for a busy executive reader. Article: {}",
        "Write unit tests in Python for the function below, covering every edge case you can think of. Code: {}"]


def test_show_and_the_notebook_say_when_a_cluster_has_more_templates_than_listed(tmp_path):
    from typer.testing import CliRunner

    from graphlink.cli import app

    rng = random.Random(5)
    background = pl.read_parquet(FIXTURES / "events.parquet")
    t0 = dt.datetime(2025, 1, 8, tzinfo=dt.timezone.utc)
    rows = [dict(account_id=f"five_{k:02d}", timestamp=t0 + dt.timedelta(minutes=rng.randint(0, 5000)),
                 ip=f"10.9.0.{rng.randint(1, 4)}", payment_fingerprint=f"pf_five_{k // 4}",
                 prompt=template.format(" ".join(rng.choice(["cats", "tides", "jazz", "entropy", "monads", "rust"])
                                                 for _ in range(4))), user_agent="custom-agent/1")
            for k in range(12) for template in FIVE]
    pl.concat([background, pl.DataFrame(rows, schema=background.schema)]).write_parquet(tmp_path / "events.parquet")
    out = graphlink.detect(tmp_path / "events.parquet").save(tmp_path / "out")  # (the views read the prompts back)
    accounts = pl.read_parquet(out / "accounts.parquet").filter(pl.col("account_id").str.starts_with("five_"))
    cluster = int(accounts["cluster_id"].mode()[0])
    assert len(graphlink.load(out).cluster(cluster).templates(max_templates=10)) >= 4
    shown = CliRunner().invoke(app, ["show", str(out), str(cluster)])
    assert shown.exit_code == 0, shown.output
    # 39e29b3 had no template view in show; tv42's listed 3 of 5 under "Prompt templates (3)", saying nothing of the rest
    assert "more not listed" in shown.output


def test_templates_known_only_by_their_phrases_are_listed_apart():
    from graphlink.views.templates import reconstruct_templates

    phrases = ["you are a meticulous tutor", "are a meticulous tutor reason", "act as a strict grader",
               "as a strict grader of", "summarise the following article in", "the following article in five"]
    found = reconstruct_templates(shingles=phrases, max_templates=10)
    # 0797a0f: one template, "act as a strict grader of ⟨…⟩ summarise the following ... ⟨…⟩ you are a meticulous ..."
    assert sorted(t.text() for t in found) == ["act as a strict grader of", "summarise the following article in five",
                                               "you are a meticulous tutor reason"]
