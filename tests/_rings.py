"""A 12-account ring planted in the bundled fixture log (sessions 40-42's prompt-disguise tests): the ring's prompts
from a callable, its accounts ``case_ring_NN`` on six addresses and three cards, four requests each."""
import datetime as dt
import random
from pathlib import Path

import polars as pl

import graphlink

FIXTURES = Path(graphlink.__file__).resolve().parents[1] / "fixtures"


def ring_world(prompt, accounts: int = 12, each: int = 4) -> pl.DataFrame:
    """The fixture's events with the ring's appended; ``prompt(rng)`` writes each of its prompts."""
    rng = random.Random(7)
    # the fixture's first 1,500 accounts (35k of its 77k events): ordinary people to hide among, at half the detect time
    events = pl.read_parquet(FIXTURES / "events.parquet")
    background = events.filter(pl.col("account_id").is_in(events["account_id"].unique().sort().head(1500).implode()))
    t0 = dt.datetime(2025, 1, 8, tzinfo=dt.timezone.utc)
    rows = [dict(account_id=f"case_ring_{k:02d}", timestamp=t0 + dt.timedelta(minutes=rng.randint(0, 5000)),
                 ip=f"10.9.0.{rng.randint(1, 6)}", payment_fingerprint=f"pf_case_{k // 4}",
                 prompt=prompt(rng), user_agent=f"custom-agent/{k}.{j}")
            for k in range(accounts) for j in range(each)]
    return pl.concat([background, pl.DataFrame(rows, schema=background.schema)])


def ring_cluster(result) -> dict:
    """The ``clusters`` row (a dict) of the cluster most of the ring's accounts are in."""
    ring = result.accounts.filter(pl.col("account_id").str.starts_with("case_ring_"))
    cluster = ring["cluster_id"].drop_nulls().mode()[0]
    return result.clusters.filter(pl.col("cluster_id") == cluster).row(0, named=True)
