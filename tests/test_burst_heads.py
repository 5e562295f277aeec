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

import polars as pl

import graphlink
from graphlink.stages.burst_templates import prompt_openings

from tests.framework_world import QUESTIONS, SYSTEM, TEMPLATE, TOPICS, events


def _log(seed: int = 0, n_fleet: int = 40, n_users: int = 40, in_window: int = 6, n_people: int = 600,
         own_head: bool = False, templates: list[str] | None = None) -> pl.DataFrame:
    """tests/framework_world.py's log: a fleet wrapping its template in the framework's system prompt, the
    framework's users (``in_window`` of them inside the fleet's minutes), people.
    ``own_head``: the fleet sends the system prompt's words as its own instruction, then a problem of its own;
    ``templates``: the fleet's templates after the system prompt (``TEMPLATE`` alone by default)."""
    templates = templates or [TEMPLATE]

    def fleet(rng, i):
        if own_head:
            return (f"{SYSTEM}\n\nUser: compare {rng.choice(TOPICS)} with {rng.choice(TOPICS)} in "
                    f"{rng.choice(QUESTIONS).format(t=rng.choice(TOPICS))}")
        return f"{SYSTEM}\n\nUser: " + templates[i % len(templates)].format(topic=rng.choice(TOPICS))
    return events(fleet, n_fleet=n_fleet, n_users=n_users, in_window=in_window, n_people=n_people, seed=seed)


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
