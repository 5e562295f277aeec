"""A hand-built log of a fleet wrapped in a public agent framework's system prompt (tests/test_burst_heads.py,
tests/test_break_bursts31.py, tests/test_shared_heads.py).

* ``fleet*``: an operator's one-off accounts, two requests each within three minutes of 14:07 on day 2, each
  through its own exit and on its own card; what they send is the caller's (``fleet(rng, i)``).
* ``user*``: the framework's ordinary users over three days, sending its system prompt before their own question;
  ``in_window`` of them also send one inside the fleet's minutes.
* ``p*``: people asking short questions of their own, no framework.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import polars as pl

# A public framework's system prompt of 70 words (benchmarks/independent_world.py, FRAMEWORK_PROMPTS[0]).
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


def framework_user(rng: random.Random) -> str:
    """A framework user's prompt: the system prompt, then an own question with a number of its own."""
    return f"{SYSTEM}\n\nUser: " + rng.choice(QUESTIONS).format(t=rng.choice(TOPICS)) + f" ({rng.randrange(10**6)})"


def events(fleet: Callable[[random.Random, int], str], user: Callable[[random.Random], str] = framework_user,
           n_fleet: int = 40, n_users: int = 40, in_window: int = 6, n_people: int = 300, seed: int = 0) -> pl.DataFrame:
    """The log (columns account_id, timestamp, ip, payment_fingerprint, prompt); ``fleet(rng, i)`` is fleet
    account ``i``'s prompt, ``user(rng)`` a framework user's."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_fleet):
        first = AT_BURST + dt.timedelta(seconds=rng.randrange(180))
        for j in range(2):
            rows.append((f"fleet{i:03d}", first + dt.timedelta(seconds=40 * j + rng.randrange(20)),
                         f"203.0.{i}.{10 + j}", f"card-f{i:03d}", fleet(rng, i)))
    for u in range(n_users):
        for j in range(rng.randrange(3, 8)):
            when = (AT_BURST + dt.timedelta(seconds=rng.randrange(240)) if u < in_window and j == 0
                    else START + dt.timedelta(seconds=rng.randrange(3 * 86400)))
            rows.append((f"user{u:03d}", when, f"10.1.{u}.1", f"card-u{u:03d}", user(rng)))
    for i in range(n_people):
        for _ in range(rng.randrange(2, 9)):
            rows.append((f"p{i:03d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)), f"10.2.{i // 250}.{i % 250}",
                         f"card-p{i:03d}", rng.choice(QUESTIONS).format(t=rng.choice(TOPICS)) + f" {rng.randrange(10**6)}"))
    return pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
                                      "payment_fingerprint": pl.String, "prompt": pl.String}, orient="row")
