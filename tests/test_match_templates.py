"""graphlink match by templates: a ring's templates corroborate one address or the ring's IPv6 site network.

Hand-built logs: a ring of 6 on one card writes its prompts from one template with varied fills;
100 ordinary people write free text. Day two's accounts hold one value of the ring's that is not enough
alone (the /48 of a hosting provider the ring rents from, or one address of its proxy pool) and either
send the ring's template or not.
"""

from __future__ import annotations

import datetime as dt
import random
from datetime import timedelta

import polars as pl
import pytest

import graphlink
from graphlink.stages.match_templates import known_templates, prompt_shingles, template_hits

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
TEMPLATE = "Think step by step and show all of your reasoning before you answer this question about {}"
WORDS = [f"w{i}" for i in range(400)] + ["the", "a", "of", "and", "to", "is", "in", "my", "how", "why"]
COLUMNS = ["account_id", "payment_fingerprint", "ip", "user_agent", "timestamp", "prompt"]
N_PEOPLE = 100


def free_text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14)))


def templated(rng: random.Random) -> str:
    return TEMPLATE.format(" ".join(rng.choice(WORDS) for _ in range(3)))


def known_run(tmp_path, ring_ip) -> tuple:
    """The earlier run: ring members ``ring{i}`` on ``ring_ip(i)``, card-ring, curl, 02:00-03:59 UTC for 3 days,
    templated prompts; people on their own IPv4 addresses, cards, a browser, spread hours, free text."""
    rng = random.Random(7)
    rows = [(a, "card-ring", ring_ip(i), "curl/8.0", T0 + timedelta(days=d, hours=h, minutes=i), templated(rng))
            for i, a in enumerate(f"ring{i}" for i in range(6)) for d in range(3) for h in (2, 3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i),
              free_text(rng)) for i, p in enumerate(f"person{i:02d}" for i in range(N_PEOPLE)) for d in range(3)]
    known = graphlink.detect(pl.DataFrame(rows, schema=COLUMNS, orient="row"), seed=1).save(tmp_path / "known")
    ring = pl.read_parquet(known / "accounts.parquet").filter(pl.col("account_id").str.starts_with("ring"))
    assert ring["cluster_id"].null_count() == 0 and ring["cluster_id"].n_unique() == 1
    return known, ring["cluster_id"][0]


@pytest.fixture(scope="module")
def ipv6_ring(tmp_path_factory):
    return known_run(tmp_path_factory.mktemp("v6"), lambda i: f"2001:db8:1:2::{i + 1:x}")


@pytest.fixture(scope="module")
def pool_ring(tmp_path_factory):
    return known_run(tmp_path_factory.mktemp("pool"), lambda i: f"203.0.113.{i % 3 + 1}")


def day_two(prefix: str, ip, hours: tuple[int, ...], send_template: bool, n: int = 10) -> pl.DataFrame:
    """``n`` new accounts, own cards, Go-http-client, one request at each of ``hours`` on day 5 through ``ip(i, k)``;
    the ring's template or free text."""
    rng = random.Random(11)
    rows = [(f"{prefix}{i:02d}", f"card-{prefix}{i}", ip(i, k), "Go-http-client/2.0",
             T0 + timedelta(days=5, hours=h, minutes=k), templated(rng) if send_template else free_text(rng))
            for i in range(n) for k, h in enumerate(hours)]
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


def v6(i: int, k: int) -> str:
    return f"2001:db8:1:{0x90 + i:x}::{k + 1:x}"  # new addresses (another /64 each) in the ring's /48


def once_through_the_pool(i: int, k: int) -> str:
    return f"203.0.113.{i % 3 + 1}" if k == 0 else f"100.64.{i}.{k}"


def test_ipv6_newcomers_sending_the_rings_template_are_matched(ipv6_ring):
    known, ring = ipv6_ring
    matches = graphlink.match(known, day_two("new", v6, (2, 3, 9, 15), send_template=True)).matches
    assert matches["cluster_id"].to_list() == [ring] * 10
    assert matches["why"].str.contains("templates").all()


def test_hosting_neighbours_on_the_rings_slash48_without_its_template_are_not_matched(ipv6_ring):
    known, _ = ipv6_ring
    matches = graphlink.match(known, day_two("vps", v6, (2, 3, 9, 15), send_template=False)).matches
    assert matches["cluster_id"].null_count() == matches.height == 10


def test_a_template_alone_matches_no_one(ipv6_ring):
    """The ring's template from addresses and cards of nobody's in the earlier run: a copied prompt, not the ring."""
    known, _ = ipv6_ring
    elsewhere = day_two("copy", lambda i, k: f"198.51.{i}.{k + 1}", (2, 3), send_template=True)
    assert graphlink.match(known, elsewhere).matches["cluster_id"].null_count() == 10


def test_one_pool_address_and_the_rings_template_is_matched(pool_ring):
    known, ring = pool_ring
    matches = graphlink.match(known, day_two("new", once_through_the_pool, (9, 15, 20), send_template=True)).matches
    assert matches["cluster_id"].to_list() == [ring] * 10


def test_one_pool_address_and_one_request_in_the_rings_hours_without_its_template_is_not_matched(pool_ring):
    """One of four requests at 02:00 (the ring's busy hours): a clock fit of 0.18, chance's, not the ring's clock."""
    known, _ = pool_ring
    matches = graphlink.match(known, day_two("ord", once_through_the_pool, (2, 9, 15, 20), send_template=False)).matches
    assert matches["cluster_id"].null_count() == matches.height == 10


def test_template_shingles_are_spelled_as_detect_spells_them():
    """Case, look-alike letters and punctuation do not hide a template; a stock phrase too many accounts send,
    or one held mostly outside the cluster, is not the cluster's."""
    rows = [(f"r{i}", 1, "Think STEP by step and", 4) for i in range(4)] + \
           [(f"r{i}", 1, "the usual stock phrase here", 500) for i in range(4)] + \
           [(f"r{i}", 1, "shared with many others now", 9) for i in range(4)]
    templates = pl.DataFrame(rows, schema=["account_id", "cluster_id", "shingle", "df"], orient="row")
    known = known_templates(templates, pl.DataFrame({"cluster_id": [1], "campaign_id": [1]}), 1000, 0.5)
    assert known["value"].to_list() == ["think step by step and"]
    sent = prompt_shingles(pl.DataFrame({"account_id": ["n", "n"], "prompt": ["thіnk  step BY step, and go", "x"]}),
                           5, 64, 200)
    campaign_of = pl.DataFrame({"cluster_id": [1], "_campaign": [1]})
    assert template_hits(sent, known, campaign_of, min_shingles=1)["_campaign"].to_list() == [1]
    assert template_hits(sent, known, campaign_of).height == 0  # one shingle: a phrase, not a template


def test_a_shingle_ordinary_people_of_the_earlier_run_sent_is_not_the_campaigns():
    """Four of a cluster's accounts and two unclustered ones sent it (a third of its holders: a public phrase);
    37 and 3 (the few ring accounts detect missed: 7.5 %) it is the cluster's."""
    campaigns = pl.DataFrame({"cluster_id": [1], "campaign_id": [1]})
    public = pl.DataFrame([(f"r{i}", 1, "answer the following questions as", 6) for i in range(4)],
                          schema=["account_id", "cluster_id", "shingle", "df"], orient="row")
    assert known_templates(public, campaigns, 1000, 0.5).height == 0
    assert known_templates(public, campaigns, 1000, 0.5, ordinary=False).height == 1  # the rule, not another
    own = pl.DataFrame([(f"r{i}", 1, "answer the following questions as", 40) for i in range(37)],
                       schema=["account_id", "cluster_id", "shingle", "df"], orient="row")
    assert known_templates(own, campaigns, 1000, 0.5)["value"].to_list() == ["answer the following questions as"]


def test_a_phrase_the_template_opens_with_is_a_fragment_the_whole_template_is_not():
    """The campaign's template is 'a b c d e f g h' (four shingles, each held by its 6 accounts); fill-ins follow,
    their first words held by 2 of them. A prompt stopping after 'f' where the template goes on is a fragment."""
    values = ["a b c d e", "b c d e f", "c d e f g", "d e f g h", "e f g h fill"]
    known = pl.DataFrame({"cluster_id": [1] * 5, "value": values, "members": [6, 6, 6, 6, 2], "df": [6] * 4 + [2],
                          "concentration": [1.0] * 5})
    campaign_of = pl.DataFrame({"cluster_id": [1], "_campaign": [1]})
    prompts = pl.DataFrame({"account_id": ["quote", "sender"], "prompt": ["a b c d e f mine own words", "a b c d e f g h x y"]})
    hits = template_hits(prompt_shingles(prompts, 5, 64, 200), known, campaign_of)
    assert hits["account_id"].to_list() == ["sender"] and hits["templates"].to_list() == [4]
    # The same quote of a template that ends there ('a b c d e f' and fill-ins) is the template sent.
    assert template_hits(prompt_shingles(prompts, 5, 64, 200), known.head(2), campaign_of)["account_id"].sort().to_list() == [
        "quote", "sender"]
