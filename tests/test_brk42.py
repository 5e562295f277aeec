"""Break-it review of session 42's CamelCase reading (graphlink.stages.signals.camel.read_camel)."""
import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest

import graphlink
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt
from test_break_match16 import day_two, known_run, templated

FIXTURES = Path(graphlink.__file__).resolve().parents[1] / "fixtures"
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


def _ring_world(prompt, accounts: int = 12, each: int = 4) -> pl.DataFrame:
    rng = random.Random(7)
    background = pl.read_parquet(FIXTURES / "events.parquet")
    t0 = dt.datetime(2025, 1, 8, tzinfo=dt.timezone.utc)
    rows = [dict(account_id=f"case_ring_{k:02d}", timestamp=t0 + dt.timedelta(minutes=rng.randint(0, 5000)),
                 ip=f"10.9.0.{rng.randint(1, 6)}", payment_fingerprint=f"pf_case_{k // 4}",
                 prompt=prompt(rng), user_agent=f"custom-agent/{k}.{j}")
            for k in range(accounts) for j in range(each)]
    return pl.concat([background, pl.DataFrame(rows, schema=background.schema)])


def _ring_cluster(result) -> dict:
    ring = result.accounts.filter(pl.col("account_id").str.starts_with("case_ring_"))
    cluster = ring["cluster_id"].drop_nulls().mode()[0]
    return result.clusters.filter(pl.col("cluster_id") == cluster).row(0, named=True)


def _read(texts: list[str]) -> list[str]:
    frame = pl.DataFrame({"norm": texts}).select(normalise_prompt(pl.col("norm"), MARK))
    return read_camel(frame)["norm"].to_list()


def test_a_word_marked_at_different_places_is_read_whole_though_no_text_writes_it_whole():
    assert _read(["a zorBlax", "the zorblAx", "zOrblax engine"]) == ["a zorblax", "the zorblax", "zorblax engine"]
    # CamelCase marks alike in every copy: still split where no text writes the joined word
    assert _read(["YouAreZorblax now", "YouAreZorblax then"]) == ["you are zorblax now", "you are zorblax then"]


def test_a_ring_putting_one_capital_inside_every_word_of_a_rare_template_stays_templated_and_flagged():
    world = _ring_world(lambda rng: _one_capital_inside_each_word(RARE.format(rng.randint(1, 10**6)), rng))
    row = _ring_cluster(graphlink.detect(world))
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
