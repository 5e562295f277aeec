"""A template burst is of what the senders wrote, not of a framework's system prompt they all send.

Failure (issue 17, agent-fleet worlds; BENCHMARKS.md thirty-first pass): an operator wraps its one-off
accounts' extraction template in a public agent framework's long system prompt, and the framework's ordinary
users send that system prompt before their own questions. The burst test read each prompt's first five words --
the system prompt's -- so the framework's users active in the fleet's ten minutes joined its burst cluster and
were flagged with it (dev ind_s2_224000 ``--agent-fleets``: 13 framework users in five burst clusters of 8-63
accounts). A prompt read past a shared head opens with the first words after it: the fleet's template for the
fleet, each user's own question for the users.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl

import graphlink
from graphlink.stages.burst_templates import prompt_openings

SYSTEM = (
    "You are OrbitAgent, an autonomous assistant running inside the OrbitKit framework. You can call tools by "
    "emitting a JSON block with the fields tool and arguments. Always reason about which tool fits the user's goal, "
    "never invent tool names, keep answers under three hundred words unless asked otherwise, cite the tool output "
    "you used, and ask a clarifying question when the request is ambiguous. Available tools: search, calculator, "
    "calendar, notes.")
TEMPLATE = ("You are an expert tutor. Explain step by step, showing all of your reasoning and every intermediate "
            "result, how {topic} works, then give three worked examples and a short quiz.")
QUESTIONS = ["explain {t} simply", "can you help me with {t}", "summarize {t} in a few bullets",
             "give me an example of {t} with salt", "quiz me on {t}", "tell me a fun fact about {t}",
             "what are the risks of {t}", "write a haiku about {t}"]
TOPICS = ["black holes", "css grid", "inflation", "jazz chords", "git rebase", "the stoics", "vitamin d", "rust",
          "photosynthesis", "compound interest", "plate tectonics", "binary search"]
START = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
AT_BURST = START + dt.timedelta(days=1, hours=14, minutes=7)


def _log(seed: int = 0, n_fleet: int = 40, n_users: int = 40, in_window: int = 6, n_people: int = 600,
         own_head: bool = False, templates: list[str] | None = None) -> pl.DataFrame:
    """A fleet of one-off accounts (two requests each within three minutes of the burst, own exit, own card) wrapping
    its template in the framework's system prompt; framework users asking their own questions through it over three
    days, ``in_window`` of them also inside the fleet's minutes; people asking short questions of their own.
    ``own_head``: the fleet sends the system prompt's words as its own instruction, then a problem of its own;
    ``templates``: the fleet's templates after the system prompt (``TEMPLATE`` alone by default)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_fleet):
        first = AT_BURST + dt.timedelta(seconds=rng.randrange(180))
        for j in range(2):
            rows.append((f"fleet{i:03d}", first + dt.timedelta(seconds=40 * j + rng.randrange(20)),
                         f"203.0.{i}.{10 + j}", f"card-f{i:03d}",
                         f"{SYSTEM}\n\nUser: " + ((templates or [TEMPLATE])[i % len(templates or [TEMPLATE])].format(
                             topic=rng.choice(TOPICS)) if not own_head else
                                                   f"compare {rng.choice(TOPICS)} with {rng.choice(TOPICS)} in "
                                                   f"{rng.choice(QUESTIONS).format(t=rng.choice(TOPICS))}")))
    for u in range(n_users):
        for j in range(rng.randrange(3, 8)):
            when = (AT_BURST + dt.timedelta(seconds=rng.randrange(240)) if u < in_window and j == 0
                    else START + dt.timedelta(seconds=rng.randrange(3 * 86400)))
            rows.append((f"user{u:03d}", when, f"10.1.{u}.1", f"card-u{u:03d}",
                         f"{SYSTEM}\n\nUser: " + rng.choice(QUESTIONS).format(t=rng.choice(TOPICS))
                         + f" ({rng.randrange(10**6)})"))
    for i in range(n_people):
        for _ in range(rng.randrange(2, 9)):
            rows.append((f"p{i:03d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)), f"10.2.{i // 250}.{i % 250}",
                         f"card-p{i:03d}", rng.choice(QUESTIONS).format(t=rng.choice(TOPICS)) + f" {rng.randrange(10**6)}"))
    return pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
                                      "payment_fingerprint": pl.String, "prompt": pl.String}, orient="row")


def test_the_burst_holds_the_wrapped_fleet_and_none_of_the_framework_users_in_its_minutes(tmp_path):
    path = tmp_path / "events.parquet"
    _log().write_parquet(path)
    result = graphlink.detect(path)
    acc = result.accounts.with_columns(pl.col("account_id").str.extract(r"^([a-z]+)").alias("group"))
    fleet = acc.filter(pl.col("group") == "fleet")
    # The fleet is one burst cluster ...
    assert fleet["cluster_id"].null_count() == 0 and fleet["cluster_id"].n_unique() == 1
    cluster = fleet["cluster_id"][0]
    why = result.clusters.filter(pl.col("cluster_id") == cluster)["why"][0]
    # ... named by its own template's opening, not by the system prompt every framework user sends ...
    assert "you are an expert tutor @ 2026-03-03T14:" in why
    assert "you are orbitagent" not in why.lower()
    # ... and no framework user is in it, though six sent the system prompt inside the fleet's minutes.
    users = acc.filter(pl.col("group") == "user")
    assert users.filter(pl.col("cluster_id") == cluster).height == 0


def test_a_fleet_sending_several_templates_behind_the_framework_keeps_its_minutes_to_itself(tmp_path):
    # Eight templates after the system prompt, two accounts each: none bursts by itself (three holders at least),
    # so the head's burst is the only one; its holders who go on as another holder does are the fleet, the two
    # framework users in its minutes (as many as chance puts there) ask their own questions and leave it.
    openers = ["Explain", "Describe", "Walk me through", "Teach", "Break down", "Derive", "Unpack", "Reconstruct"]
    templates = [f"{o} step by step, with every intermediate result, how {{topic}} works." for o in openers]
    path = tmp_path / "events.parquet"
    _log(n_fleet=16, in_window=2, templates=templates).write_parquet(path)
    result = graphlink.detect(path)
    acc = result.accounts.with_columns(pl.col("account_id").str.extract(r"^([a-z]+)").alias("group"))
    fleet = acc.filter(pl.col("group") == "fleet")
    assert fleet["cluster_id"].null_count() == 0 and fleet["cluster_id"].n_unique() == 1
    assert acc.filter(pl.col("group") == "user", pl.col("cluster_id") == fleet["cluster_id"][0]).height == 0


def test_a_fleet_whose_own_template_is_longer_than_the_budget_still_bursts(tmp_path):
    # No framework: the fleet's own instruction (the system prompt's 70 words, as its own template) is the shared
    # head, and each account continues with its own problem. The head's burst is the fleet's: nothing after it
    # bursts, so it stands (reading only what follows the head lost dev world s2's Japanese cell, 36 accounts).
    frame = _log(n_users=0, in_window=0, own_head=True)
    path = tmp_path / "events.parquet"
    frame.write_parquet(path)
    result = graphlink.detect(path)
    fleet = result.accounts.filter(pl.col("account_id").str.starts_with("fleet"))
    assert fleet["cluster_id"].null_count() == 0 and fleet["cluster_id"].n_unique() == 1
    why = result.clusters.filter(pl.col("cluster_id") == fleet["cluster_id"][0])["why"][0]
    assert why.startswith("40 accounts opened their prompts with one template") and " @ 2026-03-03T14:" in why
    assert why.lower().replace(" ", "").count("youareorbitagentan@") == 1  # named by the head


def test_openings_of_a_prompt_read_past_a_shared_head_are_the_head_and_what_follows_it():
    # Texts read whole (null start) open at word 0; a text read past a shared head (start 40, 2 head words
    # kept) opens with its head and with the first shingle after the cut.
    texts = pl.DataFrame({"text_hash": [1, 2, 3], "norm": ["a b c d e f", "a b … x y z w", "a b … x y z q"],
                          "start": [None, 40, 40]}, schema_overrides={"start": pl.UInt32})
    shingles = pl.DataFrame({"text_hash": [1, 1, 2, 2, 3, 3], "pos": [0, 1, 0, 3, 0, 3],
                             "shingle_hash": [10, 11, 20, 21, 20, 21]}, schema_overrides={"pos": pl.UInt32})
    keys = pl.DataFrame({"key": [100, 200, 300], "text_hash": [1, 2, 3]})
    openings, texts_out = prompt_openings(shingles, keys, texts, 3, kept=2)
    assert openings.rows() == [(100, 10), (200, 20), (200, 21), (300, 20), (300, 21)]
    assert sorted(texts_out.rows()) == [(10, "a b c", False), (20, "a b …", True), (21, "x y z", False)]
    # Without the reader's head count the first shingle is the only opening, as before the reader existed.
    assert prompt_openings(shingles, keys, texts, 3)[0].rows() == [(100, 10), (200, 20), (300, 20)]
