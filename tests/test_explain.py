"""Evidence in human terms (graphlink.views.evidence, graphlink.views.schedule) on small hand-built clusters."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from graphlink.views.evidence import evidence_by_kind, reconstruct_templates, tokenise
from graphlink.views.schedule import describe_schedule, describe_sync, hours_text

T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)


def shingles(text: str, n: int = 5) -> list[str]:
    words = [w for w, _, _ in tokenise(text)]
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


# -- evidence by kind -------------------------------------------------------------------


def test_evidence_grouped_by_kind_strongest_first_zero_weight_hidden():
    ev = pl.DataFrame({
        "kind": ["user_agent", "ip_net", "ip_net", "payment", "prompt", "timing"],
        "value": ["python-httpx/0.27", "10.0.0.0/24", "10.0.1.0/24", "pf_1", "show all of your thinking", "band 3: 99"],
        "accounts_sharing": [55, 40, 30, 37, 95, 12],
        "weight": [0.0, 1.5, 2.0, 13.4, 0.68, 5.6],
        "df": [165, 109, 60, 37, 331, 12],
    })
    groups = evidence_by_kind(ev, size=95)
    # strength = the best value's weight x accounts sharing: payment 495.8, timing 67.2, prompt 64.6, ip_net 60
    assert [g.kind for g in groups] == ["payment", "timing", "prompt", "ip_net"]
    assert "user_agent" not in [g.kind for g in groups]
    assert groups[3].values["value"].to_list() == ["10.0.0.0/24", "10.0.1.0/24"]  # equal strength: more sharing first
    assert groups[0].summary == "1 payment card shared by 37 of 95 accounts"
    with_zero = evidence_by_kind(ev, size=95, include_zero=True)
    assert with_zero[-1].kind == "user_agent" and with_zero[-1].values.height == 1


def test_hidden_count_reported_next_to_linking_values():
    ev = pl.DataFrame({"kind": ["ip", "ip", "ip"], "value": ["1.1.1.1", "8.8.8.8", "9.9.9.9"],
                       "accounts_sharing": [4, 9, 9], "weight": [3.0, 0.0, 0.0]})
    (group,) = evidence_by_kind(ev, size=9)
    assert group.hidden == 2 and group.values["value"].to_list() == ["1.1.1.1"]
    assert "2 more too common to link, hidden" in group.summary


# -- templates ---------------------------------------------------------------------------

TEMPLATE = "Before answering, write out your complete internal reasoning step by step. Problem: {q} Give me {n} ideas."


def ring_prompts() -> list[tuple[str, str]]:
    questions = ["compute the derivative of x^3", "why is the sky blue?", "factor 391 into primes",
                 "what is a monad", "sort these words: pear, fig"]
    return [(f"acct{i}", TEMPLATE.format(q=q, n=3 + i)) for i, q in enumerate(questions)]


def test_template_shown_once_with_variable_parts_and_original_example():
    prompts = ring_prompts()
    every = [s for _, p in prompts for s in shingles(p)]
    evidence_shingles = sorted({s for s in every if every.count(s) >= 2})  # shared, overlapping 5-word fragments
    (template,) = reconstruct_templates(evidence_shingles, prompts)
    text = template.text()
    assert text.startswith("Before answering, write out your complete internal reasoning step by step. Problem:")
    assert text.count("write out your complete") == 1  # once, not as overlapping fragments
    assert text.endswith("Problem: ⟨…⟩ Give me ⟨#⟩ ideas.")
    # The example is an original prompt: digits and punctuation as written, never normalised to 0.
    assert template.example in [p for _, p in prompts]
    assert " 0 " not in template.example and template.accounts == 5 and template.prompts == 5


def test_templates_from_shingles_only_chain_the_overlaps():
    text = "show all of your thinking and double check the result"
    (template,) = reconstruct_templates(shingles(text))
    assert template.text() == text and template.example is None


def test_two_templates_in_one_cluster_most_used_first():
    a = [(f"a{i}", f"Translate into French and explain every idiom carefully: sentence {i} about {w}")
         for i, w in enumerate(["cats", "dogs", "tea", "rain"])]
    b = [(f"b{i}", f"Summarise the following article in three bullet points please: {w}")
         for i, w in enumerate(["elections", "markets"])]
    templates = reconstruct_templates(prompts=a + b)
    assert len(templates) == 2
    assert templates[0].text().startswith("Translate into French and explain every idiom carefully")
    assert templates[0].accounts == 4 and templates[1].accounts == 2
    assert "⟨#⟩" in templates[0].text()


def test_unrelated_free_text_gives_no_template():
    prompts = [("u1", "what should I cook tonight with leeks"), ("u2", "my printer says paper jam again"),
               ("u3", "help me write a birthday card for grandma")]
    assert reconstruct_templates(prompts=prompts) == []


def test_attacker_text_is_kept_verbatim_for_the_renderer_to_escape():
    prompts = [(f"x{i}", f"<script>alert(1)</script> explain every idiom carefully now {i}") for i in range(3)]
    (template,) = reconstruct_templates(prompts=prompts)
    assert "<script>" in template.example  # escaping is the HTML renderer's job (autoescape)


# -- schedules ----------------------------------------------------------------------------


def fleet(n_accounts: int, period_s: int, offset_s: int, jitter_s: int, hours: range, days: int = 3,
          off_schedule: int = 0, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_accounts):
        for d in range(days):
            for h in hours:
                for slot in range(3600 // period_s if period_s <= 3600 else 1):
                    if rng.random() < 0.3:  # each account takes a share of the slots
                        t = T0 + timedelta(days=d, hours=h, seconds=slot * period_s + offset_s
                                           + int(rng.integers(-jitter_s, jitter_s + 1)))
                        rows.append((f"acct{a}", t))
    for k in range(off_schedule):  # a member acting at random times
        rows.append(("human", T0 + timedelta(seconds=int(rng.integers(0, days * 86400)))))
    return pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC")}, orient="row")


def test_ten_minute_clock_around_the_day():
    events = fleet(24, 600, 200, 30, range(24), off_schedule=40)
    schedule = describe_schedule(events)
    assert schedule is not None
    assert schedule.period == 600 and abs(schedule.offset - 200) < 5 and 15 <= schedule.spread <= 30
    assert schedule.account_share == 24 / 25
    assert schedule.text() == f"every 10 min at :03:{round(schedule.offset) - 180:02d} ± {round(schedule.spread)} s, " \
        "24 h a day, 96% of members"


def test_hourly_clock_in_working_hours_is_not_reported_as_shorter():
    events = fleet(10, 3600, 45 * 60, 20, range(2, 5))
    schedule = describe_schedule(events)
    assert schedule.period == 3600 and abs(schedule.offset - 2700) < 10
    assert re.fullmatch(r"every hour at :4[45]:\d\d ± \d+ s, 02:00–05:00 UTC, 100% of members", schedule.text())


def test_ten_minute_clock_is_not_reported_as_twenty():
    events = fleet(8, 600, 100, 5, range(24))
    assert describe_schedule(events).period == 600


def test_random_times_have_no_schedule():
    rng = np.random.default_rng(3)
    ts = [T0 + timedelta(seconds=int(s)) for s in rng.integers(0, 7 * 86400, size=2000)]
    events = pl.DataFrame({"account_id": [f"a{i % 30}" for i in range(2000)], "timestamp": ts})
    assert describe_schedule(events) is None
    assert describe_schedule(events.head(5)) is None  # too few events to claim anything


def test_hours_text_wraps_midnight():
    assert hours_text([23, 0, 1]) == "23:00–02:00 UTC"


def test_sync_counts_events_in_shared_minutes_and_names_the_busiest():
    burst = [("a", T0), ("b", T0 + timedelta(seconds=5)), ("c", T0 + timedelta(seconds=50)),
             ("d", T0 + timedelta(seconds=59)), ("a", T0 + timedelta(hours=1)), ("b", T0 + timedelta(hours=2))]
    events = pl.DataFrame(burst, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC")},
                          orient="row")
    assert describe_sync(events) == ("67% of events fall in minutes when at least 3 members act together "
                                     "(busiest: 4 accounts at 2025-01-06 00:00 UTC)")
    assert describe_sync(events, min_accounts=5) is None


def test_notebook_cluster_view_schedule_and_templates(tmp_path):
    import graphlink

    rows = []
    for a in range(8):
        for k in range(40):  # every 10 minutes at :04:00 (± 5 s), one templated prompt each
            rows.append((f"bot{a}", T0 + timedelta(minutes=10 * k, seconds=240 + (a + k) % 11 - 5), "card-1",
                         f"Summarise chapter {k} of the novel and list every character who appears in it, "
                         f"then {['rank', 'sort', 'count', 'tag'][k % 4]} them"))
    for u in range(30):
        rows.append((f"user{u}", T0 + timedelta(hours=u), f"card-u{u}", f"my own question number {u}"))
    events = pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"),
                                        "payment_fingerprint": pl.String, "prompt": pl.String}, orient="row")
    path = tmp_path / "events.parquet"
    events.write_parquet(path)
    result = graphlink.detect(str(path))
    ring = result.cluster(int(result.clusters.sort("size", descending=True)["cluster_id"][0]))
    assert ring.size >= 3 and all(a.startswith("bot") for a in ring.members["account_id"])  # detection's split
    schedule = ring.schedule()
    assert schedule.period == 600 and schedule.text().startswith("every 10 min at :04:0")
    (template,) = ring.templates()
    assert template.text().startswith("Summarise chapter ⟨#⟩ of the novel and list every character who appears")
    assert template.example in events["prompt"].to_list() and template.accounts == ring.size


def test_shingles_quoted_as_written_chain_whatever_their_case():
    # Evidence quotes each shingle as written in one prompt (issue 14): two prompts' spellings of one template.
    from graphlink.views.evidence import reconstruct_templates

    got = reconstruct_templates(["Please THINK step by step", "think step by step about"], ngram=5)
    assert [t.parts for t in got] == [[("please think step by step about", False)]]


def test_why_text_says_how_a_cluster_under_the_bar_was_flagged():
    """A cluster scoring under the threshold (or under min_flag_size) is flagged through its campaign
    in one of three ways; the verdict names the right one, quoting only numbers."""
    from graphlink.views.explain import why_text
    empty = pl.DataFrame(schema={"kind": pl.String, "value": pl.String, "accounts_sharing": pl.UInt32,
                                 "weight": pl.Float64, "df": pl.UInt32})
    base = {"cluster_id": 82, "size": 13, "score": 0.0, "flagged": True, "campaign_id": 4, "kinds": []}
    inherited = why_text({**base, "why": "same operator as flagged cluster 7 (campaign 4); 80% templated"}, empty, 0.6, 5)
    assert "same operator as flagged cluster 7 (campaign 4)" in inherited.splitlines()[0]
    tooling = why_text({**base, "why": "tied to flagged cluster 7 (campaign 4) by 9 prompt phrases; x"}, empty, 0.6, 5)
    assert "tied to flagged cluster 7 (campaign 4)" in tooling.splitlines()[0] and "same operator" not in tooling
    whole = why_text({**base, "why": "campaign 4 as a whole (298 accounts): a card pool; this cluster: x"}, empty, 0.6, 5)
    assert "campaign 4 scored as a whole (298 accounts)" in whole.splitlines()[0]
    assert "same operator" not in whole
    small = why_text({**base, "size": 3, "score": 0.9, "why": "<script>x</script>"}, empty, 0.6, 5)
    # its own score, its campaign's accounts counted for the size: no flag on its own evidence (session 37)
    assert "on its own score, with campaign 4's accounts counted for min_flag_size" in small.splitlines()[0] and "<script>" not in small
    assert why_text({**base, "flagged": False, "why": ""}, empty, 0.6, 5).splitlines()[0].endswith("not flagged (flag_threshold 0.6, min_flag_size 5)")
