"""A hand-built log for template bursts (tests/test_bursts.py): one-off accounts of one operator, people, a company.

* ``op*``: an operator's one-off accounts. Each lives for one burst -- two requests within a few minutes of
  14:07 on day 2 -- through its own proxy exit and its own card, opening with the operator's tutoring
  template filled with a topic. Pairwise they share nothing strong and one or two minutes.
* ``p*``: people at random times over three days, own addresses and cards, free-form questions that
  often open alike ("can you help me ..."), some on the template's own opening words.
* ``svc*``: a company's service accounts sending one framework's long system prompt at :00 every hour
  (a schedule): co-active every hour by their scheduler, not by one hand.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl

START = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
TEMPLATE = ("You are an expert tutor. Explain step by step, showing all of your reasoning and every intermediate "
            "result, how {topic} works, then give three worked examples and a short quiz.")
FRAMEWORK = ("You are a helpful assistant for Acme Logistics. Answer only with valid JSON following the schema "
             "given below, never add commentary, and keep every field name exactly as written in the schema. "
             "Shipment report {n}:")
TOPICS = ["photosynthesis", "compound interest", "the krebs cycle", "public key cryptography", "plate tectonics",
          "binary search", "supply and demand", "the immune system", "electric motors", "neural networks",
          "the water cycle", "bayes theorem", "protein folding", "inflation", "black holes"]
OPENERS = ["can you help me", "what is the best way to", "please explain", "how do i", "You are an expert",
           "write a short poem about", "summarise this article about", "give me ideas for"]


def burst_log(seed: int = 0, n_ops: int = 40, n_people: int = 300, n_services: int = 12,
              burst: bool = True) -> pl.DataFrame:
    """The events (``account_id, timestamp, ip, payment_fingerprint, prompt``); ``burst=False`` spreads the
    operator's accounts over the three days instead (no burst: the null)."""
    rng = random.Random(seed)
    rows = []
    at_burst = START + dt.timedelta(days=1, hours=14, minutes=7)
    for i in range(n_ops):
        first = (at_burst + dt.timedelta(seconds=rng.randrange(180)) if burst
                 else START + dt.timedelta(seconds=rng.randrange(3 * 86400)))
        for j in range(2):
            rows.append((f"op{i:03d}", first + dt.timedelta(seconds=40 * j + rng.randrange(20)),
                         f"203.{i // 250}.{i % 250}.{10 + j}", f"card-op{i:03d}",
                         TEMPLATE.format(topic=rng.choice(TOPICS))))
    for i in range(n_people):
        for _ in range(rng.randrange(2, 9)):
            rows.append((f"p{i:03d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)),
                         f"10.{i // 250}.{i % 250}.1", f"card-p{i:03d}",
                         f"{rng.choice(OPENERS)} {rng.choice(TOPICS)} {rng.randrange(10**6)}"))
    for i in range(n_services):
        for hour in range(72):
            rows.append((f"svc{i:02d}", START + dt.timedelta(hours=hour, seconds=rng.randrange(40)),
                         f"198.51.{i}.1", None, FRAMEWORK.format(n=rng.randrange(10**6))))
    return pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
                                      "payment_fingerprint": pl.String, "prompt": pl.String}, orient="row")


def burst_accounts(seed: int = 0, n_ops: int = 40, n_people: int = 300, n_services: int = 12) -> pl.DataFrame:
    """The accounts file of :func:`burst_log`: the operator signed its accounts up in bulk in the hour before the
    burst (on free-mail addresses), people and the company over the months before."""
    rng = random.Random(seed + 1)
    at_burst = START + dt.timedelta(days=1, hours=13, minutes=10)
    rows = [(f"op{i:03d}", at_burst + dt.timedelta(seconds=rng.randrange(3000)), "gmail.com") for i in range(n_ops)]
    rows += [(f"p{i:03d}", START - dt.timedelta(seconds=rng.randrange(200 * 86400)),
              rng.choice(["gmail.com", "outlook.com", "yahoo.com"])) for i in range(n_people)]
    rows += [(f"svc{i:02d}", START - dt.timedelta(days=90, seconds=rng.randrange(86400)), "acme-logistics.com")
             for i in range(n_services)]
    return pl.DataFrame(rows, schema={"account_id": pl.String, "created_at": pl.Datetime("us", "UTC"),
                                      "email_domain": pl.String}, orient="row")
