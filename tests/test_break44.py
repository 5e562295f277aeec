"""Break-it review, session 44: shorter runs of words read against a vocabulary (match), and the campaign client veto."""
import polars as pl

from graphlink.stages.match_templates import words_of


def _shingles(*templates: str, n: int = 5) -> pl.Series:
    out = set()
    for t in templates:
        w = t.split()
        out |= {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}
    return pl.Series("word", sorted(out))


def test_an_exact_copy_of_a_known_template_reads_as_its_shingles_whatever_phrases_other_templates_write():
    # One known template writes "into" and "around" whole; another writes "log in to" and "a round": detect read each
    # token alike everywhere, so the first template's words are no runs. ff0eb5c read a newcomer's exact copy of it
    # as "go in to the settings and look a round the page", breaking every shingle over both words.
    mine = "please go into the settings and look around the page now"
    other = "log in to the portal and sit at a round table with friends"
    read = words_of(pl.DataFrame({"prompt": [mine]}), "prompt", vocabulary=_shingles(mine, other))["value"].to_list()
    assert read == [mine]


def test_a_cell_whose_agent_one_member_sends_has_no_client_signature():
    # A log recording user agents for some requests only: one member of each six-account cell on curl, the others
    # none. ff0eb5c took the one member's agent as each cell's signature (concentration 1.0) and vetoed the cells'
    # template tie; a scheduler's clients are sent by most of its accounts.
    from test_campaign_clients44 import CELL, campaigns

    assert campaigns([[["curl/8.0"]] + [[]] * (CELL - 1), [["curl/7.0"]] + [[]] * (CELL - 1)]) == [1, 1]
    # ... while cells whose members do send their own clients are still two campaigns
    assert len(set(campaigns([["toolA/1.0"] * 3 + [[]] * 3, ["toolB/1.0"] * 3 + [[]] * 3]))) == 2


def test_a_short_run_stands_beside_the_word_after_it_however_short():
    # ff0eb5c read a token's right neighbour after dropping the words under three letters: "youare a tutor" stood
    # beside "tutor", where "you are a tutor" stands beside "a", and the phrase written twice in its place was not read.
    from graphlink.stages.signals.runs import read_short_runs

    texts = ["so you are a tutor"] * 2 + ["now youare a tutor"]
    assert read_short_runs(pl.DataFrame({"norm": texts}))["norm"].to_list()[2] == "now you are a tutor"


def test_a_word_is_not_read_as_a_contraction_split_at_its_apostrophe():
    # "we're" normalises to "we re", "she'll" to "she ll": ff0eb5c read "were" as "we re" wherever the log wrote
    # "we're going" as often as "were going" (as it never read "users" as "user s").
    from graphlink.stages.signals.runs import read_short_runs

    texts = ["we re going to the park"] * 5 + ["they were going home"] * 3 + ["she ll be fine"] * 2 + ["a shell be"]
    assert read_short_runs(pl.DataFrame({"norm": texts}))["norm"].to_list() == texts
