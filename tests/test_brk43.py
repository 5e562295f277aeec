"""Break-it review of session 43 (helper brk43): ``--json``'s escaping and the reading of words run together
(graphlink.stages.signals.runs.read_runs). Each test failed on main a85e85e (the xfail one on
both: a measured limit, left)."""
import json

import pytest

from graphlink.views.safety import json_escaped


def test_json_escapes_del_in_a_document_of_ascii_only():
    # a85e85e: a document of ASCII only was returned as is, DEL (0x7f, which json.dumps does not escape) raw
    doc = json_escaped(json.dumps({"prompt": "rm\x7f -rf"}, ensure_ascii=False))
    assert "\x7f" not in doc and "\\u007f" in doc
    assert json.loads(doc)["prompt"] == "rm\x7f -rf"


def test_a_log_writing_every_letter_alone_does_not_cut_names_and_hashes_into_letters():
    import polars as pl

    from graphlink.stages.signals.runs import read_runs

    # a quiz writes every letter alone ("a b c d ..."): a85e85e cut any token of letters into them
    # ("d o n a u d a m p f s c h i f f f a h r t s g e s e l l s c h a f t", a hash likewise), and strangers
    # writing one long word shared its ~30 letter shingles where they shared none
    quiz = "which answer is right " + " ".join("abcdefghijklmnopqrstuvwxyz")
    tokens = ["donaudampfschifffahrtsgesellschaft", "eszycidpyopumzgdpamn", "theexpertsexchange"]
    texts = [quiz, "you are a meticulous tutor", "the experts exchange ideas", "youareameticuloustutor now", *tokens]
    out = read_runs(pl.DataFrame({"norm": texts}))["norm"].to_list()
    assert out[3:] == ["you are a meticulous tutor now", *tokens[:2], "the experts exchange"]


@pytest.mark.xfail(strict=True, reason="read_runs cuts the 32,768 letters of distinct runs written most first: 436 "
                   "prompts of sock accounts, each with 5 of 128 distinct 256-letter runs (17 copies each, the ring's "
                   "joined copy 16), fill the budget and the ring's joined copies are read whole again (measured "
                   "brk43: 127 runs cut it, 128 not); counting distinct texts does not help, the socks' texts are")
def test_a_flood_of_long_runs_does_not_push_a_rings_runs_out_of_the_budget():
    import random

    import polars as pl

    from graphlink.stages.signals.runs import read_runs

    rng = random.Random(5)
    template = "you are zorblax a hyperdimensional cognisance engine decompose conundrums into axiomatic fragments"
    ring = [f"{template} {i}" for i in range(16)] + [f"{template.replace(' ', '')} {i}" for i in range(16)]
    runs = ["".join(rng.choices("bcdfghjklmnpqrstvwxz", k=256)) for _ in range(128)]
    flood = [" ".join(runs[(5 * i + j) % 128] for j in range(5)) for i in range(436)]
    out = read_runs(pl.DataFrame({"norm": ring + flood}))["norm"]
    assert out[16] == f"{template} 0"
