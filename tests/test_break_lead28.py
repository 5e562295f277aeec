"""Break-it review of session 28 (branch lead28): an inherited flag's ``why`` says what tied it
(:mod:`graphlink.stages.tie_words`), and a cluster tied by a card or identifier joins its lead's campaign.

Found and fixed here:

* The counts after "by" were all the cluster's tying values, whichever flagged cluster they led to: a cell
  paying with one card of flagged cluster 1 and writing flagged cluster 2's template read "same operator as
  flagged cluster 1 (campaign 1) by 1 payment card or identifier, 6 prompt phrases", though cluster 1 holds none of
  the passages. The counts are now of the values that lead to the lead named.
* The lead was the one most *cards* lead to, contacts included: one account of flagged cluster 1 paying with a
  card the cell uses (a contact, by operator_ties' own definition) made a cell writing flagged cluster 2's
  template "same operator as flagged cluster 1" and moved it into cluster 1's campaign (main named cluster 2).
  Only reused cards (held by two accounts of one operator campaign) now pick the lead first.
* A card-tied cluster whose lead is in no campaign (``campaign_id`` null) was moved into "no campaign": its
  ``campaign_id`` became null and its ``why`` null (``concat_str`` of a null). It now keeps its campaign.

Found and not fixed (xfail, strict): the move happens after ``min_flag_size`` and whole-campaign scoring
counted the moved cluster's accounts in the campaign it leaves. A cluster scoring over the threshold in a
campaign of 3 + 3 accounts keeps its own-evidence flag in a campaign of 3 once its partner moves out
(campaigns.parquet, explain's "its campaign's accounts counted for min_flag_size"); a campaign scored as a
whole keeps "campaign 2 as a whole (6 accounts)" in the ``why`` of a cluster whose campaign now has 3.

Checked and right: the attacker-written template quoted later in a ``why`` (even "same operator as flagged
cluster 9 ...") is not read as the lead by ``rekey_why`` or explain (both anchor at the start); both wordings
are re-keyed with ``--previous``; ``--signal`` identifiers count as "card or identifier"; a CSV export keeps
the wording; the same log gives the same output twice. The Spark engine gave the polars clusters, campaigns
and accounts on the card world below (checked by hand: a Spark detect takes over a minute here).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.contract import why_reasons
from graphlink.stages.campaign_flags import flag_with_campaign, operator_ties
from graphlink.stages.rekeying import rekey_why
from graphlink.stages.tie_words import INHERITED, LEAD_PATTERN, TIED, inherited_why
from graphlink.views.explain import why_text
from graphlink.views.export import csv_bytes
from tests.test_detection_classes import (OTHER_TEMPLATE, RING_TEMPLATE, T0, Log, add_people, add_ring, cluster_row,
                                          run)
from tests._worlds import affiliation_frames

COUNTS = {k: pl.UInt32 for k in ("ties", "cards", "texts", "addresses")}
NO_EVIDENCE = pl.DataFrame(schema={"kind": pl.String, "value": pl.String, "accounts_sharing": pl.UInt32,
                                   "weight": pl.Float64, "df": pl.UInt32})


# --- operator_ties on hand-made values: two flagged clusters and a tame cell --------------------------------

SIZES = {1: 10, 2: 10, 3: 6}  # 1 and 2 loud (two operators), 3 a tame cell
TAME = 3


def two_operators(kind: str = "payment", loud_card_holders: int = 2, template_values: int = 6):
    """The tame cell pays with one card (or ``--signal`` identifier ``kind``) that ``loud_card_holders``
    accounts of cluster 1 also hold, and writes cluster 2's template (``template_values`` prompt phrases
    every account of cluster 2 holds, and two ordinary accounts); 600 unclustered ordinary accounts."""
    acc, start = {}, 0
    for cid, size in SIZES.items():
        acc[cid] = list(range(start, start + size))
        start += size
    ordinary = list(range(start, start + 600))
    rows, signal = [], 0
    for a in acc[TAME] + acc[1][:loud_card_holders]:
        rows.append((a, signal, kind))
    signal += 1
    for _ in range(template_values):
        rows += [(a, signal, "prompt") for a in acc[2] + acc[TAME] + ordinary[:2]]
        signal += 1
    aff, sig = affiliation_frames(rows)
    part = pl.DataFrame({"account_idx": [a for c in SIZES for a in acc[c]], "cluster_id": [c for c in SIZES for _ in acc[c]]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    camp = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 2, 3]})
    clusters = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [10, 10, 6], "score": [0.9, 0.9, 0.1],
                             "flagged": [True, True, False], "why": ["proxies", "rotation", "office hours"]}).join(camp, on="cluster_id")
    ties = operator_ties(camp, part, aff, sig, pl.Series([1, 2]))
    return ties, flag_with_campaign(clusters, tied_to=ties)


@pytest.mark.parametrize("kind", ["payment", "device_id"])
def test_the_counts_are_of_the_values_that_lead_to_the_lead_named(kind):
    """A card (or a ``--signal`` device id) of cluster 1's, reused by two of its accounts, names cluster 1
    and moves the cell into its campaign; the six passages are cluster 2's template, not what ties it to 1."""
    ties, out = two_operators(kind)
    assert ties.select("cluster_id", "lead", "cards", "texts", "addresses").rows() == [(TAME, 1, 1, 0, 0)]
    tame = out.filter(pl.col("cluster_id") == TAME).row(0, named=True)
    assert tame["why"] == "same operator as flagged cluster 1 (campaign 1) by 1 payment card or identifier; office hours"
    assert tame["campaign_id"] == 1 and tame["flagged"] and not tame["flagged_own"]


def test_a_contact_card_does_not_outrank_the_template_the_cell_writes():
    """One account of cluster 1 pays with the cell's card (a contact: operator_ties' docstring); the cell writes
    cluster 2's template. Cluster 2 is the one it is tied to, by text: no "same operator", no move."""
    ties, out = two_operators(loud_card_holders=1)
    assert ties.select("cluster_id", "lead", "cards", "texts").rows() == [(TAME, 2, 0, 6)]
    tame = out.filter(pl.col("cluster_id") == TAME).row(0, named=True)
    # Session 32 (issue 17): the contact card, which leads to cluster 1, is named after the counts that lead to 2.
    assert tame["why"].startswith("tied to flagged cluster 2 (campaign 2) by 6 prompt phrases, "
                                  "and to flagged cluster 1 by 1 payment card or identifier; ")
    assert tame["campaign_id"] == 3 and tame["flagged"]


def test_a_template_alone_names_its_operator_and_keeps_the_campaign():
    ties, out = two_operators(loud_card_holders=0)
    assert ties.select("cluster_id", "lead", "cards", "texts", "addresses").rows() == [(TAME, 2, 0, 6, 0)]
    assert out.filter(pl.col("cluster_id") == TAME)["campaign_id"].to_list() == [3]


def test_the_counts_add_up_to_the_values_leading_to_the_lead():
    ties, _ = two_operators(template_values=9)
    row = ties.row(0, named=True)
    assert row["cards"] + row["texts"] + row["addresses"] <= row["ties"]
    assert min(row["cards"], row["texts"], row["addresses"]) >= 0 and row["ties"] == 10


# --- flag_with_campaign: where the moved cluster goes, and what it leaves -----------------------------------

def tied(cluster: int, lead: int, cards: int = 1, texts: int = 0, addresses: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"cluster_id": [cluster], "lead": [lead], "ties": [cards + texts + addresses], "cards": [cards],
                         "texts": [texts], "addresses": [addresses]}, schema_overrides=COUNTS)


def test_a_lead_in_no_campaign_leaves_the_card_tied_cluster_in_its_own():
    cl = pl.DataFrame({"cluster_id": [1, 2], "size": [6, 4], "score": [0.9, 0.1], "flagged": [True, False],
                       "why": ["proxies", "office"], "campaign_id": [None, 2]}, schema_overrides={"campaign_id": pl.Int64})
    out = flag_with_campaign(cl, tied_to=tied(2, 1)).row(1, named=True)
    assert out["campaign_id"] == 2 and out["flagged"]
    assert out["why"] == "same operator as flagged cluster 1 (campaign 2) by 1 payment card or identifier; office"


def test_a_text_tie_keeps_the_campaign_and_a_card_tie_joins_the_leads():
    # Cluster 3 could be a fleet on its own (5 accounts = min_flag_size, a score above 0): alone in its campaign, it
    # keeps it (a smaller or evidence-free one joins its lead's: tests/test_lead_campaigns51.py).
    cl = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [6, 4, 5], "score": [0.9, 0.1, 0.1], "flagged": [True, False, False],
                       "why": ["proxies", "office", "homes"], "campaign_id": [1, 2, 3]})
    out = flag_with_campaign(cl, tied_to=pl.concat([tied(2, 1, cards=2, addresses=1), tied(3, 1, cards=0, texts=5, addresses=2)]))
    assert out["campaign_id"].to_list() == [1, 1, 3]
    assert out["why"].to_list()[1:] == [
        "same operator as flagged cluster 1 (campaign 1) by 2 payment cards or identifiers, 1 IP address; office",
        "tied to flagged cluster 1 (campaign 1) by 5 prompt phrases, 2 IP addresses; homes"]


def test_a_tie_frame_without_counts_keeps_the_old_wording_and_campaign():
    cl = pl.DataFrame({"cluster_id": [1, 2], "size": [6, 4], "score": [0.9, 0.1], "flagged": [True, False],
                       "why": ["proxies", "office"], "campaign_id": [1, 2]})
    out = flag_with_campaign(cl, tied_to=pl.DataFrame({"cluster_id": [2], "lead": [1], "ties": [3]}))
    assert out.row(1, named=True)["why"] == "same operator as flagged cluster 1 (campaign 1); office"
    assert out["campaign_id"].to_list() == [1, 2]


@pytest.mark.xfail(strict=True, reason="the move comes after min_flag_size counted the moved cluster's accounts in the "
                                       "campaign it leaves: a 3-account cluster keeps an own-evidence flag in a campaign of 3")
def test_no_own_flag_rests_on_accounts_that_moved_to_another_campaign():
    cl = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [6, 3, 3], "score": [0.9, 0.9, 0.1], "flagged": [True, False, False],
                       "why": ["proxies", "rotating", "office"], "campaign_id": [1, 2, 2]})
    out = flag_with_campaign(cl, 0.6, 5, tied_to=tied(3, 1))
    assert out.filter(pl.col("cluster_id") == 3)["campaign_id"].item() == 1  # the card tie moved it
    accounts = dict(out.group_by("campaign_id").agg(pl.col("size").sum()).iter_rows())
    row = out.filter(pl.col("cluster_id") == 2).row(0, named=True)
    # explain says its campaign's accounts made min_flag_size: campaign 2 must then hold 5
    assert "counted for min_flag_size" in why_text({**row, "kinds": []}, NO_EVIDENCE, 0.6, 5).splitlines()[0]
    assert not row["flagged_own"] or row["size"] >= 5 or accounts[row["campaign_id"]] >= 5


@pytest.mark.xfail(strict=True, reason="a campaign scored as a whole keeps the moved cluster's accounts: "
                                       "'campaign 2 as a whole (6 accounts)' in a campaign now of 3")
def test_a_whole_campaign_flag_quotes_the_accounts_its_campaign_has():
    cl = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [6, 3, 3], "score": [0.9, 0.1, 0.1], "flagged": [True, False, False],
                       "why": ["proxies", "office", "homes"], "campaign_id": [1, 2, 2]})
    pooled = pl.DataFrame({"campaign_id": [2], "size": [6], "score": [0.8], "why": ["a card pool"]},
                          schema_overrides={"size": pl.UInt32})
    out = flag_with_campaign(cl, 0.6, 5, pooled=pooled, tied_to=tied(2, 1))
    left = out.filter(pl.col("cluster_id") == 3).row(0, named=True)
    campaign_accounts = out.filter(pl.col("campaign_id") == left["campaign_id"])["size"].sum()
    assert not left["flagged"] or f"as a whole ({campaign_accounts} accounts)" in left["why"]


# --- reading the lead back: rekey_why, explain, the reasons ------------------------------------------------

ATTACK = '80% of prompts are templated ("x; same operator as flagged cluster 9 (campaign 1) by 1 card")'


def test_rekey_rewrites_only_the_lead_at_the_start_in_both_wordings():
    cl = pl.DataFrame({"cluster_id": [1, 2, 3, 12], "why": [
        f"same operator as flagged cluster 12 (campaign 1) by 1 payment card or identifier; {ATTACK}",
        f"tied to flagged cluster 1 (campaign 4) by 6 prompt phrases; {ATTACK}",
        ATTACK.replace("same operator as", "tied to"), "proxies"]})
    mapping = pl.DataFrame({"cluster_id": [1, 2, 3, 9, 12], "stable_id": [70, 71, 72, 99, 50]})
    assert rekey_why(cl, mapping)["why"].to_list() == [
        f"same operator as flagged cluster 50 (campaign 1) by 1 payment card or identifier; {ATTACK}",
        f"tied to flagged cluster 70 (campaign 4) by 6 prompt phrases; {ATTACK}",
        ATTACK.replace("same operator as", "tied to"), "proxies"]


def test_explain_reads_the_lead_from_the_start_not_from_a_quoted_prompt():
    base = {"cluster_id": 82, "size": 3, "score": 0.1, "flagged": True, "campaign_id": 4, "kinds": []}
    first = why_text({**base, "why": f"tied to flagged cluster 7 (campaign 4) by 9 prompt phrases; {ATTACK}"},
                     NO_EVIDENCE, 0.6, 5).splitlines()[0]
    assert "tied to flagged cluster 7 (campaign 4)" in first and "cluster 9" not in first and "same operator" not in first
    own = why_text({**base, "score": 0.9, "why": ATTACK}, NO_EVIDENCE, 0.6, 5).splitlines()[0]
    assert "on its own score, with campaign 4's accounts counted" in own and "cluster 9" not in own  # size borrowed (s37)


def test_a_text_tie_verdict_says_whose_card_it_lacks_in_a_sentence():
    # New-user review (s46): the notebook's first line read "... addresses its fleet uses, no card or identifier
    # of its: it uses that fleet's tooling" -- "of its" what? No card or identifier of that fleet tied it.
    base = {"cluster_id": 242, "size": 2, "score": 0.0, "flagged": True, "campaign_id": 1, "kinds": []}
    first = why_text({**base, "why": "tied to flagged cluster 1 (campaign 1) by 15 prompt phrases; x"},
                     NO_EVIDENCE, 0.6, 5).splitlines()[0]
    assert "by prompt phrases or addresses its fleet uses, not by a card or identifier of that fleet: " in first
    assert "of its:" not in first


def test_the_wording_is_one_reason_and_the_pattern_reads_both_starts():
    import re

    out = pl.DataFrame({"lead": [3, 3], "campaign_id": [1, 2], "why": ["x", "y"], "cards": [2, 0], "texts": [1, 0],
                        "addresses": [0, 1]}, schema_overrides={k: pl.UInt32 for k in ("cards", "texts", "addresses")}
                       ).select(inherited_why())["why"].to_list()
    assert out == ["same operator as flagged cluster 3 (campaign 1) by 2 payment cards or identifiers, 1 prompt phrase; x",
                   "tied to flagged cluster 3 (campaign 2) by 1 IP address; y"]
    assert [why_reasons(w)[0].split(" (")[0] for w in out] == [INHERITED + "3", TIED + "3"]
    assert [re.match(LEAD_PATTERN, w).group(2) for w in out] == ["3", "3"]


# --- end to end: a tame cell paying with one of a loud ring's cards ------------------------------------------

def card_world(seed: int = 21) -> tuple[Log, list[str], list[str]]:
    """A loud ring (20 accounts on a pool of 5 cards, 12 datacenter addresses, RING_TEMPLATE) and a tame
    office-hours cell of 12 on one address with a card each, three of which pay at 9 o'clock with the
    ring's first card, writing another template; 100 ordinary people."""
    rng = np.random.default_rng(seed)
    log = Log()
    loud = add_ring(log, rng, "opAloud", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], RING_TEMPLATE)
    tame = []
    for i in range(12):
        tame.append(f"cellB{i}")
        for d in range(4):
            for h in range(9, 17):
                ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)))
                log.add(tame[-1], ts, "35.190.3.3", "opAloud-card-0" if i < 3 and h == 9 else f"cellB-card-{i}",
                        OTHER_TEMPLATE.format(f"word{int(rng.integers(0, 50))}", int(rng.integers(0, 1000))))
    add_people(log, rng, 100)
    return log, loud, tame


@pytest.fixture(scope="module")
def card_run():
    log, loud, tame = card_world()
    return log, loud, tame, run(log)


def test_a_card_tied_cell_is_the_same_operator_in_the_rings_campaign(card_run):
    _, loud, tame, result = card_run
    loud_row, tame_row = cluster_row(result, loud[0]), cluster_row(result, tame[0])
    assert not loud_row["why"].startswith((INHERITED, TIED)) and tame_row["flagged"] and tame_row["score"] < 0.6
    assert tame_row["why"].startswith(f"same operator as flagged cluster {loud_row['cluster_id']} "
                                      f"(campaign {loud_row['campaign_id']}) by 1 payment card or identifier; ")
    assert tame_row["campaign_id"] == loud_row["campaign_id"]
    # campaigns.parquet and accounts.parquet agree with the clusters' campaigns
    camp = result.campaigns.filter(pl.col("campaign_id") == loud_row["campaign_id"]).row(0, named=True)
    members = result.clusters.filter(pl.col("campaign_id") == loud_row["campaign_id"])
    assert sorted(camp["clusters"]) == sorted(members["cluster_id"].to_list())
    assert camp["accounts"] == members["size"].sum() and camp["flagged"] and camp["flagged_clusters"] == 1
    by_account = result.accounts.drop_nulls("cluster_id").join(result.clusters.select("cluster_id", pl.col("campaign_id").alias("c")),
                                                               on="cluster_id")
    assert (by_account["campaign_id"] == by_account["c"]).all()


def test_the_card_wording_names_the_lead_by_its_stable_id():
    log, loud, tame = card_world()
    previous = pl.DataFrame({"account_id": loud + tame, "cluster_id": [50] * len(loud) + [60] * len(tame)})
    result = run(log, previous=previous)
    assert (cluster_row(result, loud[0])["cluster_id"], cluster_row(result, tame[0])["cluster_id"]) == (50, 60)
    assert cluster_row(result, tame[0])["why"].startswith("same operator as flagged cluster 50 (campaign ")


def test_the_same_log_gives_the_same_flags_campaigns_and_words(card_run):
    log, _, _, first = card_run
    again = run(log)
    for name in ("clusters", "campaigns", "accounts"):
        assert getattr(first, name).equals(getattr(again, name)), name


def test_a_csv_export_keeps_the_wording(card_run):
    _, _, tame, result = card_run
    row = cluster_row(result, tame[0])
    text = csv_bytes(result.clusters.filter(pl.col("cluster_id") == row["cluster_id"]).select("cluster_id", "why")).decode()
    assert list(csv.DictReader(io.StringIO(text)))[0]["why"] == row["why"]
