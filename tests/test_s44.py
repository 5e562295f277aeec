"""Session 44: shorter runs of words (under 16 letters: "youare", "fromthetext") are read as the phrase the log writes
spaced at least as often as joined (graphlink.stages.signals.runs.read_short_runs, after the long runs). An operator
dropping each space of its template at random leaves many; on 63bfd93 they were read as written."""
import random

import polars as pl

import graphlink
from _rings import FIXTURES, ring_cluster, ring_world
from graphlink.stages.signals.runs import read_short_runs

TEMPLATE = ("You are a careful math tutor. Read the problem below, think it through step by step, check each step, "
            "then give the final answer on the last line. Problem: {}")


def _dropping(p: float):
    def prompt(rng: random.Random) -> str:
        words = TEMPLATE.format(rng.randint(1, 10**6)).split(" ")
        out = words[0]
        for word in words[1:]:  # (each space dropped with probability p, as the scenario family's run_together)
            out += ("" if rng.random() < p else " ") + word
        return out
    return prompt


def test_a_ring_dropping_its_templates_spaces_at_random_stays_templated_and_flagged():
    row = ring_cluster(graphlink.detect(ring_world(_dropping(0.5), each=6)))
    # 63bfd93: template share 0.0, not flagged (its runs of 2-3 common words are under 16 letters)
    assert row["template_share"] >= 0.9
    assert row["flagged"]


def test_a_short_token_is_read_as_a_phrase_only_where_the_log_writes_the_phrase_as_often():
    texts = (["you are a tutor"] * 3 + ["youare a tutor"] * 2
             + ["together we go"] * 3 + ["to get her"]  # (a word of the language: its pieces written less)
             + ["the user s goal"] * 5 + ["users"]  # (a word split at an apostrophe ends in one letter)
             + ["fromthe text", "from the text", "fromthetext below"])
    out = read_short_runs(pl.DataFrame({"norm": texts}))["norm"].to_list()
    assert out[3:5] == ["you are a tutor"] * 2
    assert out[5:9] == ["together we go"] * 3 + ["to get her"]
    assert out[14] == "users"
    # a 2- and a 3-word run, each read where the log writes its phrase as often
    assert out[15:] == ["from the text", "from the text", "from the text below"]


def test_a_phrase_counts_only_where_it_stands_as_the_joined_token_does():
    # the campaign preset's fill: "a round" written as often as "around", never in its place (before the context
    # rule every such prompt read "sit a round a round table")
    texts = ["how many ways can 5 people sit around a round table"] * 4 + ["walk around the block"]
    assert read_short_runs(pl.DataFrame({"norm": texts}))["norm"].to_list() == texts


def test_reading_short_runs_keeps_rows_nulls_and_other_columns():
    frame = pl.DataFrame({"norm": ["you are", None, "youare", ""], "k": [1, 2, 3, 4]})
    out = read_short_runs(frame)
    assert out["k"].to_list() == [1, 2, 3, 4]
    assert out["norm"].to_list() == ["you are", None, "you are", ""]


def test_match_reads_newcomers_short_runs_against_the_known_templates_phrases(tmp_path):
    from test_break_match16 import day_two, free_text, known_run, templated

    def dropping(rng: random.Random) -> str:
        words = templated(rng).split(" ")
        return words[0] + "".join(("" if rng.random() < 0.3 else " ") + w for w in words[1:])

    known, ring = known_run(tmp_path / "known", templated)
    # 63bfd93: 0 of 10 matched (their runs of 2-3 words are no word of the known shingles); 8 now (the other two
    # write too few of the template's shingles whole)
    assert graphlink.match(known, day_two("run", dropping)).matches["cluster_id"].to_list().count(ring) >= 7
    # ordinary newcomers through the same pool address still are not
    assert graphlink.match(known, day_two("ord", free_text)).matches["cluster_id"].null_count() == 10


def test_the_template_view_reads_short_runs_as_detection_does():
    from graphlink.views.tokens import keyed_tokens

    texts = ["Youare a careful tutor.", "You are a careful tutor.", "You are acareful tutor!", "You are a careful tutor."]
    keys = [[w for w, _, _ in t] for t in keyed_tokens(texts)]
    # 63bfd93: "youare" and "acareful" were keys of their own, so the view split one template into its spellings
    assert keys == [["you", "are", "a", "careful", "tutor"]] * 4
    # each read word stands on the written word's span (quotes and examples are cut from the prompt as written)
    assert [(w, a, b) for w, a, b in keyed_tokens(texts)[0][:2]] == [("you", 0, 6), ("are", 0, 6)]


def test_short_runs_read_in_rounds_compose_into_whole_phrases():
    from graphlink.stages.signals.runs import short_runs

    # "stepbystep" is read first; its reading writes "step by" beside "step", which then reads "stepby"
    # (and as "step by step", the finest spacing written as often, not "stepby step", written more)
    texts = ["step by step now"] * 2 + ["stepbystep now"] + ["stepby step now"] * 4 + ["step by step"]
    assert dict(short_runs(pl.DataFrame({"norm": texts})).iter_rows()) == {"stepby": "step by", "stepbystep": "step by step"}


def test_an_accounts_file_of_a_header_alone_is_a_clean_error(tmp_path):
    from typer.testing import CliRunner

    from graphlink.cli import app

    accounts = tmp_path / "a.csv"
    accounts.write_text("account_id,created_at\n")
    out = CliRunner().invoke(app, ["detect", str(FIXTURES / "events.parquet"), "--accounts", str(accounts), "--out",
                                   str(tmp_path / "o")])
    # 63bfd93: exit 0, nothing said (the README: a file none of whose rows has an id is an error)
    assert out.exit_code == 2
    assert "no rows" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "o").exists()
