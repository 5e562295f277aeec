"""Break-it review of the flag spread (session 46): benign offices flagged through :func:`operator_ties`.

* Two accounts of a ring paid once each with an office's corporate card, which the office's 40 accounts pay with
  every day: the card tied the office to the ring ("same operator ... by 1 payment card"), though the card is the
  office's own and the ring's use of it a sliver of theirs (:func:`graphlink.stages.tie_weights.card_slivers`).
* Three office teams sending a ring's public prompt half the time, from their browsers, were "tied to flagged
  cluster N by 14 prompt phrases": the text was all they shared, and their client is not the ring's scripted one
  (:func:`graphlink.stages.tie_weights.client_split_texts`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.stages.campaign_flags import operator_ties
from tests._worlds import planted_world

START = np.datetime64("2024-05-01T00:00:00")
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"


def frame(names: list[str], seconds: np.ndarray, ips: list[str], cards: list[str], prompts: list[str], ua: str) -> pl.DataFrame:
    return pl.DataFrame({
        "account_id": names, "timestamp": (START + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": ips, "payment_fingerprint": cards, "prompt": prompts, "user_agent": ua,
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def flagged_groups(events: pl.DataFrame) -> dict[str, bool]:
    """Whether any account of each group (the name before ``_``) is in a flagged cluster."""
    result = graphlink.detect(events)
    out = (result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
           .group_by(pl.col("account_id").str.extract(r"^([a-z]+\d*)_").alias("group"))
           .agg(pl.col("flagged").fill_null(False).any()))
    return dict(out.rows())


def card_world(ring_uses: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Partition, affiliations (with ``count``), signals and campaigns: a flagged ring (cluster 1, 6 accounts, pool
    card 10) two of whose accounts paid ``ring_uses`` times each with card 11, the card an office (cluster 2,
    10 accounts) pays with 8 times each; a user agent each."""
    part = pl.DataFrame({"account_idx": list(range(16)), "cluster_id": [1] * 6 + [2] * 10},
                        schema_overrides={"account_idx": pl.UInt32})
    rows = [(a, 10, 5) for a in range(6)] + [(0, 11, ring_uses), (1, 11, ring_uses)] + [(a, 11, 8) for a in range(6, 16)]
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "count": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": [10, 11], "kind": ["payment"] * 2, "linked": [True] * 2, "df": [6, 12]},
                       schema_overrides={"signal_idx": pl.UInt32})
    return part, aff, sig, pl.DataFrame({"cluster_id": [1, 2], "campaign_id": [1, 2]})


def test_a_card_two_ring_accounts_used_once_does_not_tie_the_office_whose_card_it_is():
    part, aff, sig, camp = card_world(ring_uses=1)
    assert operator_ties(camp, part, aff, sig, pl.Series([1])).is_empty()
    # The ring paying with it as the office does (16 of 96 payments): the operator's reuse, the office tied.
    part, aff, sig, camp = card_world(ring_uses=8)
    assert operator_ties(camp, part, aff, sig, pl.Series([1]))["cluster_id"].to_list() == [2]


def template_world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A flagged ring (cluster 1) and two cells of 6 (clusters 2, 3) sending its 6 template phrases (values 30-35):
    the ring and cell 3 on the scripted client (value 20), cell 2 on a browser (value 21)."""
    part = pl.DataFrame({"account_idx": list(range(18)), "cluster_id": [1] * 6 + [2] * 6 + [3] * 6},
                        schema_overrides={"account_idx": pl.UInt32})
    rows = [(a, v) for a in range(18) for v in range(30, 36)] + [(a, 21 if 6 <= a < 12 else 20) for a in range(18)]
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": [20, 21, *range(30, 36)], "kind": ["user_agent"] * 2 + ["prompt"] * 6,
                        "linked": [False] * 2 + [True] * 6, "df": [12, 6] + [18] * 6}, schema_overrides={"signal_idx": pl.UInt32})
    return part, aff, sig, pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 2, 3]})


def test_a_template_sent_from_another_client_and_nothing_else_shared_ties_no_cell():
    part, aff, sig, camp = template_world()
    tied = operator_ties(camp, part, aff, sig, pl.Series([1]))
    assert tied["cluster_id"].to_list() == [3]  # the cell on the ring's client; not the browser cell
    # No user agents in the log: nothing tells the copier apart, both cells are tied as before.
    no_ua = aff.filter(pl.col("signal_idx") >= 30)
    assert operator_ties(camp, part, no_ua, sig.filter(pl.col("signal_idx") >= 30), pl.Series([1]))["cluster_id"].to_list() == [2, 3]


def ring_and_office(stolen: int, rng: np.random.Generator) -> pl.DataFrame:
    """A 24-account ring on a proxy pool and 4 pool cards, ``stolen`` of whose accounts pay once with the office's
    corporate card, and a 40-account office: two addresses, the corporate card 90% of the time, browsers."""
    acc = np.repeat(np.arange(24), 8)
    m = len(acc)
    cards = [("pf_corp" if i < stolen and k % 8 == 0 else f"pf_op_{x}") for k, (i, x) in enumerate(zip(acc, rng.integers(0, 4, m)))]
    ring = frame([f"ring_{i:02d}" for i in acc], rng.integers(0, 14, m) * 86400 + rng.integers(8 * 3600, 18 * 3600, m),
                 [f"203.0.113.{x}" for x in rng.integers(1, 13, m)], cards,
                 [f"write a five star review of the product {w} praising its battery and its fast delivery to my door"
                  for w in rng.choice(["river", "stone", "cloud", "maple", "harbor", "falcon"], m)], "python-requests/2.31")
    acc = np.repeat(np.arange(40), 8)
    m = len(acc)
    words = np.array("how do i fix my python import error explain lists tuples recipe dinner roman empire spanish".split())
    office = frame([f"office_{i:02d}" for i in acc], rng.integers(0, 14, m) * 86400 + rng.integers(8 * 3600, 18 * 3600, m),
                   [f"198.51.100.{x}" for x in rng.integers(1, 3, m)],
                   [("pf_corp" if rng.random() < .9 else f"pf_own_{i}") for i in acc],
                   [" ".join(rng.choice(words, 9)) for _ in range(m)], BROWSER)
    return pl.concat([ring, office])


def test_an_office_whose_card_two_ring_accounts_paid_with_once_is_not_flagged():
    events, _ = planted_world(0, n_benign=300, rings=())
    out = flagged_groups(pl.concat([events, ring_and_office(2, np.random.default_rng(3))]))
    assert out["ring"] and not out["office"]


def public_template_world(rng: np.random.Generator) -> pl.DataFrame:
    """A ring of 10 scripted cells of 6 (bursts, a proxy pool each) sending two templates, and three office teams of
    6 sending the first one (a public prompt) half the time from their browsers, each behind its office address."""
    x = "please rewrite the following paragraph in formal academic english keeping all technical terms intact and the citations unchanged"
    y = "summarize the key findings of this quarterly report in five short bullet points for an executive audience with numbers"
    vocab = np.array("the a cat dog model water river light code bread music train glass paper stone north south".split())
    frames = []
    for c, tpls in enumerate([[x], [y]] + [[x, y]] * 8):
        for i in range(6):
            seconds = np.arange(25) * 7 * 3600 + rng.integers(0, 30, 25)
            frames.append(frame([f"ring_c{c}_{i}"] * 25, seconds, [f"185.{40 + c}.{p}.{p % 7 + 2}" for p in rng.integers(0, 60, 25)],
                                [f"pf_ring_{(c + i) % 4}"] * 25,
                                [tpls[k % len(tpls)] + " " + " ".join(rng.choice(vocab, 3)) for k in range(25)], "python-requests/2.31"))
    for o in range(3):
        for i in range(6):
            frames.append(frame([f"office{o}_{i}"] * 20, rng.integers(0, 14 * 86400, 20), [f"98.{60 + o}.1.1"] * 20,
                                [f"pf_office_{o}_{i}"] * 20,
                                [(x + " " + " ".join(rng.choice(vocab, 3))) if k % 2 == 0 else " ".join(rng.choice(vocab, 8))
                                 for k in range(20)], BROWSER))
    return pl.concat(frames)


def test_office_teams_sending_a_rings_public_template_from_browsers_are_not_flagged():
    events, _ = planted_world(0, n_benign=300, rings=())
    out = flagged_groups(pl.concat([events, public_template_world(np.random.default_rng(0))]))
    assert out["ring"] and not any(out[f"office{o}"] for o in range(3))
