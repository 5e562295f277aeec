"""Evidence quotes each prompt template of a cluster, templates told apart by chaining their phrases (helper ev42).

Break-it review of session 42: ``top_per_kind`` took "one template" to be "a run of equally strong phrases", so
* two templates every member sends (equally strong) were one run: the second was never quoted;
* a template whose phrases are held by 10, 10, 10, 9, 9, 9, 8 ... members got 3 slots per count: a template of 6
  holders was never quoted;
* past a template's first 3 phrases, the rest were listed by text ("a10" before "a3"), not along the template.
Each test failed on main (39e29b3) before the fix.
"""
import datetime as dt
import random
from pathlib import Path

import polars as pl

import graphlink
from graphlink.stages.evidence import top_per_kind

FIXTURES = Path(graphlink.__file__).resolve().parents[1] / "fixtures"

TUTOR = ("You are a meticulous tutor. Reason through the following problem step by step, writing out every "
         "intermediate thought before you answer, and then state the final result on its own line.")
TRANSLATE = "Translate the next paragraph into formal French and keep every proper name exactly unchanged please."


def shingles(text: str, upper_every: int = 0) -> list[str]:
    """The 5-word phrases of ``text`` as written, every ``upper_every``-th in capitals (quoted from another prompt)."""
    words = text.split()
    out = [" ".join(words[k:k + 5]) for k in range(len(words) - 4)]
    return [s.upper() if upper_every and k % upper_every == 1 else s for k, s in enumerate(out)]


def frames(values: list[tuple[str, int]], seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``shared, signals`` of one cluster whose members share the prompt ``values`` (value, holders), weight 0.2 each;
    signals numbered in a shuffled order (as by hash: not along the template) and one payment card."""
    order = list(range(len(values) + 1))
    random.Random(seed).shuffle(order)
    rows = [*[("prompt", v, n, 0.2) for v, n in values], ("payment", "card-1", 4, 3.0)]
    signals = pl.DataFrame({"signal_idx": order, "kind": [r[0] for r in rows], "value": [r[1] for r in rows],
                            "weight": [r[3] for r in rows], "df": [12] * len(rows)},
                           schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    shared = pl.DataFrame({"cluster_id": [1] * len(rows), "signal_idx": order, "accounts_sharing": [r[2] for r in rows]},
                          schema_overrides={"signal_idx": pl.UInt32, "accounts_sharing": pl.UInt32})
    return shared, signals


def quoted(values: list[tuple[str, int]], per_kind: int = 10) -> list[str]:
    shared, signals = frames(values)
    return top_per_kind(shared, per_kind, signals).filter(pl.col("kind") == "prompt")["value"].to_list()


def test_phrases_quoted_as_written_chain_on_their_words():
    from graphlink.stages.evidence import prompt_templates

    a, b = shingles(TUTOR, upper_every=2), shingles(TRANSLATE)
    got = prompt_templates(pl.DataFrame({"cluster_id": [1] * (len(a) + len(b)), "value": a + b}))
    steps = dict(zip(got["value"], got["step"]))
    assert got.filter(pl.col("value").is_in(a))["template"].n_unique() == 1  # capitals and punctuation chain
    assert got.filter(pl.col("value").is_in(b))["template"].n_unique() == 1
    assert got["template"].n_unique() == 2
    assert [steps[v] for v in a] == list(range(len(a))) and [steps[v] for v in b] == list(range(len(b)))


def test_two_templates_every_member_sends_are_both_quoted():
    a, b = shingles(TUTOR, upper_every=2), shingles(TRANSLATE)
    kept = quoted([(v, 10) for v in a + b])
    # got: the tutor's first 3 phrases, then 7 more of its own (one run of equal strength): the translation nowhere
    assert set(kept[:6]) == {a[0], a[1], a[2], b[0], b[1], b[2]} and len(kept) == 10
    # Past the first 3 phrases, each template along its chain: the phrases kept read as passages.
    assert [v for v in kept if v in a] == a[:5] and [v for v in kept if v in b] == b[:5]


def test_a_template_held_by_fewer_members_is_quoted_after_a_graded_one():
    a, b = shingles(TUTOR), shingles(TRANSLATE)
    held = [10 - k // 3 for k in range(len(a))]  # 10, 10, 10, 9, 9, 9, 8, 8, 8, 7 ...
    kept = quoted([(v, n) for v, n in zip(a, held)] + [(v, 6) for v in b])
    # got: 3 phrases held by 10 members, 3 by 9, 3 by 8, 1 by 7: the translation (6 members) nowhere
    assert kept == [a[0], a[1], a[2], b[0], b[1], b[2], a[3], a[4], a[5], a[6]]


def test_a_templates_phrases_past_the_first_three_are_listed_along_it():
    a = shingles(TUTOR, upper_every=3)
    kept = quoted([(v, 10) for v in a])
    # got: the first 3 (by signal number), then by text: "INTERMEDIATE THOUGHT ..." before "a meticulous tutor ..."
    assert kept == a[:10]


def test_a_ring_sending_two_templates_alike_has_both_quoted():
    rng = random.Random(11)
    background = pl.read_parquet(FIXTURES / "events.parquet")
    t0 = dt.datetime(2025, 1, 8, tzinfo=dt.timezone.utc)
    topics = ["tides", "jazz", "entropy", "glaciers", "opera", "lichens"]
    rows = [dict(account_id=f"twin_ring_{k:02d}", timestamp=t0 + dt.timedelta(minutes=rng.randint(0, 5000)),
                 ip=f"10.42.0.{rng.randint(1, 6)}", payment_fingerprint=f"pf_twin_{k // 4}",
                 prompt=(TUTOR if j % 2 else TRANSLATE) + f" Topic: {rng.choice(topics)} case {j}",
                 user_agent=f"custom-agent/{k}.{j}") for k in range(12) for j in range(24)]
    result = graphlink.detect(pl.concat([background, pl.DataFrame(rows, schema=background.schema)]))
    ring = result.accounts.filter(pl.col("account_id").str.starts_with("twin_ring_"))
    cluster = ring["cluster_id"].drop_nulls().mode()[0]
    prompts = result.evidence.filter((pl.col("cluster_id") == cluster) & (pl.col("kind") == "prompt"))["value"]
    words = prompts.str.to_lowercase().str.replace_all(r"[^a-z ]", "")
    # got: 10 phrases of one template (every member sends both, each phrase as strong as the other's)
    assert words.str.contains("french|proper name|paragraph").any()
    assert words.str.contains("tutor|step by step|intermediate").any()
